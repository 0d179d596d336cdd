"""Images of an article through the engine against the loopback server: every saved file gets its thumbnail and
preview, one image is made again (its old files go once the new one is committed), image files follow their
transaction, and the `generate-images` / `images` commands."""
from __future__ import annotations

import base64
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select

from core.ai import engine
from core.ai import settings as ai_settings
from core.ai.errors import AIProviderError
from core.cli.main import build_parser
from core.config import settings
from core.errors import ValidationFailed
from core.writer import images
from db.enums import ImageStatus, ImageType
from db.models import Account, Images
from tests.ai.helpers import content
from tests.fakes.openai_server import Reply

ROOT = Path(__file__).resolve().parents[2]


def picture(width: int, height: int, color: str = "navy") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "PNG")
    return out.getvalue()


def answer(fake, data: bytes, times: int = 1) -> None:
    for _ in range(times):
        fake.images.append(Reply(body={"created": 0, "data": [{"b64_json": base64.b64encode(data).decode()}]}))


def planned(rt, fake, world, n: int = 1) -> int:
    """An article with a featured and n in-article image prompts waiting (on the quality tier)."""
    with rt.transaction() as s:
        ai_settings.save(s, world.actor, max_images=n, image_quality_tier="quality")
    cid = content(rt, world, html="<h2>Grip</h2><p>Lugs.</p><h2>Fit</h2><p>Snug.</p>")
    fake.reply_json({"featured_prompt": "A runner at dawn", "in_article_prompts": [f"Scene {i}" for i in range(n)]})
    engine.generate_image_prompts(rt, world.actor, content_id=cid)
    fake.reset()
    return cid


def rows(rt, cid: int) -> dict[str, Images]:
    with rt.transaction() as s:
        return {str(r.image_type): r for r in s.scalars(select(Images).where(
            Images.content_id == cid, Images.deleted_at.is_(None)))}


def on_disk(*paths: str) -> list[bool]:
    return [(settings().data_dir / p).is_file() for p in paths]


def test_generated_images_get_a_thumbnail_and_a_preview(rt, fake, world):
    cid = planned(rt, fake, world)
    answer(fake, picture(1600, 800), times=2)
    res = engine.generate_images(rt, world.actor, content_id=cid)
    assert res.message == "Generated 2 of 2 image(s) for “Trail shoes guide”."
    for row in rows(rt, cid).values():
        assert row.status == ImageStatus.generated and row.source == "ai"
        assert Image.open(settings().data_dir / row.thumbnail_path).size == (320, 160)
        assert Image.open(settings().data_dir / row.preview_path).size == (1024, 512)
    with rt.transaction() as s:
        listed = images.list_images(s, world.actor, content_id=cid)
        html = images.preview_html(s, world.actor, content_id=cid)
    assert [r.type for r in listed] == ["featured", "in_article"] and all(r.has_thumbnail for r in listed)
    assert html.count('<img src="data:image/jpeg;base64,') == 2 and html.index("<figure>") == 0


def test_regenerating_one_image_replaces_only_its_files(rt, fake, world):
    cid = planned(rt, fake, world)
    engine.generate_images(rt, world.actor, content_id=cid)
    before = rows(rt, cid)
    old = before["in_article"]
    with rt.transaction() as s:
        images.request_regenerate(s, world.actor, image_ids=[old.id])
    fake.reset()
    answer(fake, picture(400, 200, "green"))
    res = engine.generate_images(rt, world.actor, content_id=cid)
    assert len(fake.posts("/images/generations")) == 1 and res.created["images"] == [old.id]
    after = rows(rt, cid)
    new = after["in_article"]
    assert new.image_path != old.image_path and new.status == ImageStatus.generated
    assert on_disk(old.image_path, old.thumbnail_path, old.preview_path) == [False] * 3  # gone after the commit
    assert on_disk(new.image_path, new.thumbnail_path, new.preview_path) == [True] * 3
    assert Image.open(settings().data_dir / new.image_path).size == (400, 200)
    assert after["featured"].image_path == before["featured"].image_path and on_disk(after["featured"].image_path)


def test_image_ids_make_a_generated_image_again_and_refuse_others(rt, fake, world):
    cid = planned(rt, fake, world)
    engine.generate_images(rt, world.actor, content_id=cid)
    featured = rows(rt, cid)["featured"]
    fake.reset()
    res = engine.generate_images(rt, world.actor, content_id=cid, image_ids=[featured.id])
    assert res.created["images"] == [featured.id] and len(fake.posts("/images/generations")) == 1
    assert rows(rt, cid)["featured"].image_path != featured.image_path
    other = planned(rt, fake, world)
    foreign = rows(rt, other)["featured"].id  # an image of another article
    with pytest.raises(ValidationFailed, match=f"Image #{foreign} is not an image of “Trail shoes guide”"):
        engine.generate_images(rt, world.actor, content_id=cid, image_ids=[foreign])
    assert fake.posts("/images/generations") == []


def test_a_file_pillow_cannot_read_keeps_no_thumbnail_and_the_result_says_why(rt, fake, world):
    cid = planned(rt, fake, world)
    answer(fake, b"these bytes are no picture", times=2)
    res = engine.generate_images(rt, world.actor, content_id=cid)
    assert res.message.startswith("Generated 2 of 2 image(s) for “Trail shoes guide”. 2 got no thumbnail: No "
                                  "thumbnail for ")
    for row in rows(rt, cid).values():
        assert row.status == ImageStatus.generated and on_disk(row.image_path) == [True]
        assert (row.thumbnail_path, row.preview_path) == ("", "")


def test_every_image_failing_keeps_the_old_file(rt, fake, world):
    cid = planned(rt, fake, world)
    engine.generate_images(rt, world.actor, content_id=cid)
    old = rows(rt, cid)["featured"]
    fake.reset()
    fake.images.append(Reply(status=400, body={"error": {"message": "content policy", "type": "invalid_request"}}))
    with pytest.raises(AIProviderError):
        engine.generate_images(rt, world.actor, content_id=cid, image_ids=[old.id])
    row = rows(rt, cid)["featured"]
    assert row.status == ImageStatus.failed and row.image_path == old.image_path and on_disk(row.image_path)


def test_upload_files_follow_their_transaction(rt, fake, world):
    cid = content(rt, world)
    folder = settings().data_dir / "images" / str(world.account_id) / str(cid)
    with pytest.raises(RuntimeError), rt.transaction() as s:
        images.upload(s, world.actor, content_id=cid, data=picture(50, 50), filename="a.png")
        raise RuntimeError("the page failed after the upload")
    assert not folder.exists() or list(folder.iterdir()) == []  # rolled back: no row, and no file
    with rt.transaction() as s:
        first = images.upload(s, world.actor, content_id=cid, data=picture(50, 50), filename="a.png")
        old = (first.id, first.image_path, first.thumbnail_path, first.preview_path)
    with rt.transaction() as s:
        again = images.upload(s, world.actor, content_id=cid, data=picture(60, 60), filename="b.png",
                              image_id=old[0])
        new = (again.image_path, again.thumbnail_path, again.preview_path)
        assert on_disk(*old[1:]) == [True] * 3  # still served until the replacement is committed
    assert on_disk(*old[1:]) == [False] * 3 and on_disk(*new) == [True] * 3
    with rt.transaction() as s:
        images.delete_image(s, world.actor, image_id=old[0])
    assert on_disk(*new) == [False] * 3


# --- the commands ------------------------------------------------------------------------------------------------

def cli(rt, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IGNY8_") and k != "DATABASE_URL"}
    env.update(DATABASE_URL=rt.engine.url.render_as_string(hide_password=False),
               IGNY8_SECRET_KEY=os.environ["IGNY8_SECRET_KEY"], IGNY8_DATA_DIR=str(tmp_path / "data"))
    done = subprocess.run([sys.executable, "-m", "core.cli", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    assert "Traceback" not in done.stderr, done.stderr
    return done


def run(rt, *argv: str) -> list:
    """A command in this process (parsed by the real parser, its handler given the test's runtime)."""
    args = build_parser().parse_args(list(argv))
    if args.own_transactions:
        return args.handler(rt, args)
    with rt.transaction() as s:
        return args.handler(s, args)


def test_generate_images_command_plans_prompts_first_then_lists(rt, fake, world, tmp_path):
    with rt.transaction() as s:
        ai_settings.save(s, world.actor, max_images=1, image_quality_tier="quality")
        slug = s.get(Account, world.account_id).slug
    cid = content(rt, world)
    base = ["--account", slug, "--content", str(cid)]
    [est] = run(rt, "generate-images", *base, "--estimate")
    assert est.startswith("Image prompts: up to ") and est.endswith("priced once their prompts exist.")
    assert fake.requests == []
    fake.reply_json({"featured_prompt": "A runner at dawn", "in_article_prompts": ["Mud on lugs"]})
    done = cli(rt, tmp_path, "generate-images", *base, "--job-key", "k1")  # one real process: the whole path
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0].startswith("Planned 2 image(s) for “Trail shoes guide”")
    assert done.stdout.splitlines()[1].startswith("Generated 2 of 2 image(s) for “Trail shoes guide”.")
    listed = run(rt, "images", *base, "--json")
    assert [(r["type"], r["status"], r["file"], r["thumbnail"]) for r in listed] == [
        ("featured", "generated", "yes", "yes"), ("in_article", "generated", "yes", "yes")]
    with rt.transaction() as s:
        stored = s.scalars(select(Images).where(Images.content_id == cid, Images.image_type == ImageType.featured,
                                                Images.deleted_at.is_(None))).one()
    assert (tmp_path / "data" / stored.thumbnail_path).is_file()  # made by the command, in its data_dir
    fake.reset()
    [est] = run(rt, "generate-images", *base, "--estimate", "--only", str(listed[1]["id"]))
    assert est.startswith("Images (1): up to ")
    [line] = run(rt, "generate-images", *base, "--only", str(listed[1]["id"]))
    assert line.startswith("Generated 1 of 1 image(s)") and len(fake.posts("/images/generations")) == 1
    assert fake.posts("/chat/completions") == []  # prompts exist: none asked again
    with pytest.raises(ValidationFailed, match="--only takes image ids separated by commas, not “x”."):
        run(rt, "generate-images", *base, "--only", "1,x")
