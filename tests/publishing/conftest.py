"""Publishing fixtures: the real loopback WordPress, its administrator, a fault proxy, and a migrated database per
module (the publisher commits between its phases, so the savepoint `session` fixture cannot be used)."""
from __future__ import annotations

import io
import uuid
from dataclasses import dataclass

import pytest
from PIL import Image

from core import tenancy
from core.publishing import connection
from core.runtime import Runtime
from core.writer import images
from db.enums import ContentStatus, ImageType
from db.models import Content
from tests import factories as f
from tests.fakes.wordpress import WP, Admin, Proxy, wordpress

BODY = ("<p>Opening paragraph about grinders.</p><h2>Burrs</h2><p>Conical and flat burrs.</p>"
        "<h2>Motors</h2><p>Torque matters.</p><h2>Price</h2><p>What to pay.</p>")


@pytest.fixture(scope="session")
def wp() -> WP:
    return wordpress()


@pytest.fixture(scope="session")
def admin(wp) -> Admin:
    return Admin(wp)


@pytest.fixture
def proxy(wp):
    p = Proxy(wp.url)
    yield p
    p.close()


@dataclass(frozen=True)
class World:
    acct_id: int
    site_id: int
    sector_id: int
    actor: tenancy.Actor
    marker: str  # a word in every title of this test: its posts are found by it


def png(width: int = 640, height: int = 360, color: str = "teal") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "PNG")
    return out.getvalue()


def make_world(rt: Runtime, wp: WP, *, url: str | None = None, password: str | None = None,
               username: str | None = None, timezone: str = "UTC") -> World:
    with rt.transaction() as s:
        acct = f.account(s)
        actor = f.owner_actor(s, acct)
        site = f.site(s, acct)
        site.timezone = timezone
        sector = f.sector(s, site)
        connection.set_wordpress(s, actor, site_id=site.id, url=url or wp.url, username=username or wp.user,
                                 app_password=password or wp.password)
        return World(acct.id, site.id, sector.id, actor, "m" + uuid.uuid4().hex[:10])


@pytest.fixture
def world(rt, wp) -> World:
    return make_world(rt, wp)


def article(rt: Runtime, w: World, *, title: str = "Best grinders", status: ContentStatus = ContentStatus.approved,
            with_images: bool = True, body: str = BODY, **fields) -> int:
    """An article of the world (its title carries the world's marker), with a featured and two in-article images."""
    with rt.transaction() as s:
        c = Content(account_id=w.acct_id, site_id=w.site_id, sector_id=w.sector_id, title=f"{title} {w.marker}",
                    content_html=body, meta_title=f"{title} meta", meta_description=f"All about {title.lower()}.",
                    status=status, **fields)
        s.add(c)
        s.flush()
        if with_images:
            images.upload(s, w.actor, content_id=c.id, data=png(color="orange"), filename="hero.png",
                          image_type=ImageType.featured.value, alt_text="A grinder on a bench")
            for k, color in enumerate(("navy", "olive")):
                images.upload(s, w.actor, content_id=c.id, data=png(color=color), filename=f"inline-{k}.png",
                              alt_text=f"Inline picture {k}", caption=f"Caption {k}")
        return c.id
