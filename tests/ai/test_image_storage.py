"""Generated images are stored as files whatever the provider answers (base64, or a link fetched at once); only a
link that cannot be fetched is kept as a link, and the result says so."""
from __future__ import annotations

from sqlalchemy import select

from core.ai import engine
from core.ai import settings as ai_settings
from core.config import settings
from db.enums import ImageStatus
from db.models import CreditUsageLog, Images
from tests.ai.helpers import content
from tests.fakes.openai_server import PNG_1X1, FakeAI, File, Reply


def _plan_images(rt, fake, world, n: int) -> int:
    """An article with n + 1 pending image prompts (featured and n in-article), on the quality tier (dall-e-3)."""
    with rt.transaction() as s:
        ai_settings.save(s, world.actor, max_images=n, image_quality_tier="quality")
    cid = content(rt, world)
    fake.reply_json({"featured_prompt": "A runner at dawn", "in_article_prompts": [f"Scene {i}" for i in range(n)]})
    engine.generate_image_prompts(rt, world.actor, content_id=cid)
    fake.reset()
    return cid


def _rows(rt, cid: int) -> list[Images]:
    with rt.transaction() as s:
        return list(s.scalars(select(Images).where(Images.content_id == cid).order_by(Images.position, Images.id)))


def _link_answer(fake: FakeAI, name: str) -> None:
    """A compatible server that ignores response_format and answers with a link."""
    fake.images.append(Reply(body={"created": 0, "data": [{"url": fake.file_url(name)}]}))


def test_dall_e_is_asked_for_base64_and_stored_as_files(rt, fake, world):
    cid = _plan_images(rt, fake, world, n=1)
    fake.image_mode = "url"  # DALL·E's own default: asking for b64_json is what makes the file
    res = engine.generate_images(rt, world.actor, content_id=cid)
    assert [r.json["response_format"] for r in fake.posts("/images/generations")] == ["b64_json"] * 2
    assert [r.method for r in fake.requests] == ["POST", "POST"]  # nothing to download
    rows = _rows(rt, cid)
    assert all(r.status == ImageStatus.generated and r.image_url == "" for r in rows)
    assert [(settings().data_dir / r.image_path).read_bytes() for r in rows] == [PNG_1X1, PNG_1X1]
    assert res.created["link_only"] == [] and res.message == "Generated 2 of 2 image(s) for “Trail shoes guide”."


def test_a_link_answer_is_downloaded_and_stored_as_a_file(rt, fake, world):
    cid = _plan_images(rt, fake, world, n=1)
    _link_answer(fake, "a.png")
    _link_answer(fake, "b.png")
    engine.generate_images(rt, world.actor, content_id=cid)
    assert sorted(r.path for r in fake.requests if r.method == "GET") == ["/files/a.png", "/files/b.png"]
    rows = _rows(rt, cid)
    assert all(r.status == ImageStatus.generated and r.image_url == "" and r.image_path.endswith(".png")
               for r in rows)
    assert all((settings().data_dir / r.image_path).read_bytes() == PNG_1X1 for r in rows)


def test_a_link_that_cannot_be_downloaded_is_kept_and_the_result_says_so(rt, fake, world):
    cid = _plan_images(rt, fake, world, n=1)
    fake.files["gone.png"] = File(status=404, data=b"gone", content_type="text/plain")
    _link_answer(fake, "gone.png")
    _link_answer(fake, "fine.png")
    res = engine.generate_images(rt, world.actor, content_id=cid)
    rows = _rows(rt, cid)
    linked = [r for r in rows if r.image_url]
    assert [r.image_url for r in linked] == [fake.file_url("gone.png")] and linked[0].image_path == ""
    assert all(r.status == ImageStatus.generated for r in rows)
    stored = next(r for r in rows if r.image_path)
    assert (settings().data_dir / stored.image_path).read_bytes() == PNG_1X1
    assert res.created["link_only"] == [linked[0].id]
    assert res.message == ("Generated 2 of 2 image(s) for “Trail shoes guide”. 1 could not be downloaded and is "
                           "kept only as the provider's link, which may expire.")
    with rt.transaction() as s:
        meta = s.get(CreditUsageLog, res.usage_log_id).metadata_
    assert meta["link_only"] == 1 and meta["download_errors"] == [
        "The image could not be downloaded from 127.0.0.1 (HTTP 404); only the provider's link is kept, and it "
        "may expire."]
