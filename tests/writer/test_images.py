"""Images of an article without the AI: uploads checked by Pillow (size, format, bombs) with their thumbnail and
preview, edits, regeneration requests, files served only to their account, and the figures placed in the HTML."""
from __future__ import annotations

import base64
import io
import re
import struct
import zlib

import pytest
from PIL import Image
from sqlalchemy import select

from core.config import settings
from core.errors import AccessDenied, NotFound, ValidationFailed
from core.writer import images
from core.writer.images import MB, Figure
from db.enums import ImageStatus, ImageType, Role
from db.models import Content, Images, SiteUserAccess
from tests import factories as f

SCRIPT = '"><script>alert(1)</script>'


def png(width: int = 800, height: int = 400, color: str = "teal", fmt: str = "PNG") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, fmt)
    return out.getvalue()


def png_header(width: int, height: int) -> bytes:
    """A tiny PNG that claims width × height pixels (what a decompression bomb looks like to a reader)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


@pytest.fixture
def ws(session):
    w = f.workspace(session)
    w.content = _content(session, w, "<h2>One</h2><p>a</p><h2>Two</h2><p>b</p><h2>Three</h2><p>c</p>")
    return w


def _content(session, w, body: str, title: str = "Trail shoes guide") -> Content:
    c = Content(account_id=w.acct.id, site_id=w.site.id, sector_id=w.sector.id, title=title, content_html=body)
    session.add(c)
    session.flush()
    return c


def _files(w) -> set[str]:
    """The files of the account's image folder (the rolled-back tests before may have left some)."""
    folder = settings().data_dir / "images" / str(w.acct.id)
    return {str(p) for p in folder.rglob("*")} if folder.exists() else set()


def _prompted(session, w, kind: ImageType = ImageType.in_article, prompt: str = "A trail at dawn",
              position: int = 0) -> Images:
    row = Images(account_id=w.acct.id, site_id=w.site.id, sector_id=w.sector.id, content_id=w.content.id,
                 image_type=kind, prompt=prompt, alt_text=prompt, position=position, status=ImageStatus.generated)
    session.add(row)
    session.flush()
    return row


# --- uploads -----------------------------------------------------------------------------------------------------

def test_a_png_upload_is_stored_with_its_thumbnail_and_preview(session, ws):
    row = images.upload(session, ws.actor, content_id=ws.content.id, data=png(2000, 1000), filename="shoes.png",
                        alt_text="Red shoes", caption="On the trail")
    assert (row.source, row.status, row.alt_text, row.caption) == ("upload", ImageStatus.generated, "Red shoes",
                                                                    "On the trail")
    data_dir = settings().data_dir
    assert row.image_path.startswith(f"images/{ws.acct.id}/{ws.content.id}/upload-")
    assert (data_dir / row.image_path).read_bytes() == png(2000, 1000)
    with Image.open(data_dir / row.thumbnail_path) as thumb:
        assert max(thumb.size) <= 320 and thumb.size == (320, 160)
    with Image.open(data_dir / row.preview_path) as preview:
        assert preview.size == (1024, 512)
    again = images.upload(session, ws.actor, content_id=ws.content.id, data=png(10, 10), filename="b.png")
    assert again.image_path != row.image_path and again.position == row.position + 1  # a random part in the name
    assert again.alt_text == "Trail shoes guide"  # no alt given: the article's title, never empty


@pytest.mark.parametrize("fmt,ext", [("JPEG", "jpg"), ("WEBP", "webp"), ("GIF", "gif")])
def test_jpeg_webp_and_gif_are_accepted(session, ws, fmt, ext):
    row = images.upload(session, ws.actor, content_id=ws.content.id, data=png(400, 400, fmt=fmt),
                        filename=f"x.{ext}")
    assert row.image_path.endswith(f".{ext}")
    data, mime = images.image_file(session, ws.actor, image_id=row.id, size="thumbnail")
    assert mime == "image/jpeg" and Image.open(io.BytesIO(data)).size == (320, 320)


@pytest.mark.parametrize("data,name,message", [
    (b"%PDF-1.4 not a picture", "x.pdf", "“x.pdf” is not an image (PNG, JPEG, WebP or GIF)."),
    (b"just some words\n", "notes.txt", "“notes.txt” is not an image (PNG, JPEG, WebP or GIF)."),
    (png(fmt="BMP"), "old.bmp", "“old.bmp” is not an image (PNG, JPEG, WebP or GIF)."),
    (png()[:300], "cut.png", "“cut.png” is not an image (PNG, JPEG, WebP or GIF)."),
])
def test_what_is_not_an_image_is_refused_and_nothing_is_written(session, ws, data, name, message):
    before = _files(ws)
    f.refused(session, ValidationFailed, lambda: images.upload(
        session, ws.actor, content_id=ws.content.id, data=data, filename=name), match=re.escape(message))
    assert _files(ws) == before


def test_a_50_mb_file_is_refused_by_its_size(session, ws):
    before = _files(ws)
    blob = bytes(50 * MB)
    f.refused(session, ValidationFailed, lambda: images.upload(
        session, ws.actor, content_id=ws.content.id, data=blob, filename="x.png"),
        match=re.escape("“x.png” is 50.0 MB; the limit is 20 MB."))
    assert _files(ws) == before


@pytest.mark.parametrize("side", [10_000, 40_000])  # over Pillow's MAX_IMAGE_PIXELS, and over twice it
def test_decompression_bombs_are_refused(session, ws, side):
    before = _files(ws)
    exc = f.refused(session, ValidationFailed, lambda: images.upload(
        session, ws.actor, content_id=ws.content.id, data=png_header(side, side), filename="bomb.png"))
    assert "“bomb.png”" in str(exc) and "pixels" in str(exc)
    assert _files(ws) == before


def test_replacing_keeps_the_row_alt_and_caption_unless_given(session, ws):
    row = _prompted(session, ws)
    row.caption = "Dawn"
    images.upload(session, ws.actor, content_id=ws.content.id, data=png(50, 50), filename="mine.png",
                  image_id=row.id)
    assert (row.alt_text, row.caption, row.prompt, row.source) == ("A trail at dawn", "Dawn", "A trail at dawn",
                                                                   "upload")
    assert row.image_path.startswith(f"images/{ws.acct.id}/{ws.content.id}/{row.id}-")
    images.upload(session, ws.actor, content_id=ws.content.id, data=png(50, 50), filename="mine.png",
                  image_id=row.id, alt_text="New alt", caption="New caption")
    assert (row.alt_text, row.caption) == ("New alt", "New caption")
    other = _content(session, ws, "<p>x</p>", title="Other")
    f.refused(session, ValidationFailed, lambda: images.upload(
        session, ws.actor, content_id=other.id, data=png(5, 5), filename="a.png", image_id=row.id),
        match="is not an image of “Other”")


def test_a_viewer_and_another_account_cannot_upload(session, ws):
    before = _files(ws)
    user = f.user(session, ws.acct, role=Role.viewer)
    session.add(SiteUserAccess(account_id=ws.acct.id, site_id=ws.site.id, user_id=user.id))
    session.flush()
    viewer = f.actor(session, user)
    f.refused(session, AccessDenied, lambda: images.upload(
        session, viewer, content_id=ws.content.id, data=png(5, 5), filename="a.png"))
    stranger = f.owner_actor(session, f.account(session))
    f.refused(session, NotFound, lambda: images.upload(
        session, stranger, content_id=ws.content.id, data=png(5, 5), filename="a.png"))
    assert _files(ws) == before


# --- list, edit, regenerate, delete ------------------------------------------------------------------------------

def test_list_puts_the_featured_image_first_then_by_position(session, ws):
    second = _prompted(session, ws, position=2)
    first = _prompted(session, ws, position=1)
    featured = _prompted(session, ws, ImageType.featured, position=3)
    rows = images.list_images(session, ws.actor, content_id=ws.content.id)
    assert [r.id for r in rows] == [featured.id, first.id, second.id]
    assert (rows[0].type, rows[0].source, rows[0].has_file, rows[0].has_thumbnail) == ("featured", "ai", False,
                                                                                        False)


def test_update_checks_lengths_and_nul_and_writes_nothing_when_refused(session, ws):
    row = _prompted(session, ws)
    images.update_image(session, ws.actor, image_id=row.id, alt_text="  Runner \n at dawn ", caption=SCRIPT,
                        prompt="A new scene")
    assert (row.alt_text, row.caption, row.prompt) == ("Runner at dawn", SCRIPT, "A new scene")
    for kwargs, message in [({"alt_text": "a" * 256}, "alt text is too long"),
                            ({"caption": "c" * 1001}, "caption is too long"),
                            ({"prompt": "p" * 4001}, "prompt is too long"),
                            ({"prompt": "   "}, "prompt is required"),
                            ({"caption": "bad\0byte"}, "NUL")]:
        f.refused(session, ValidationFailed, lambda kw=kwargs: images.update_image(
            session, ws.actor, image_id=row.id, **kw), match=message)
    session.refresh(row)
    assert (row.alt_text, row.caption, row.prompt) == ("Runner at dawn", SCRIPT, "A new scene")


def test_regenerate_marks_pending_and_keeps_the_file_until_a_new_one_arrives(session, ws):
    row = images.upload(session, ws.actor, content_id=ws.content.id, data=png(5, 5), filename="a.png")
    f.refused(session, ValidationFailed, lambda: images.request_regenerate(session, ws.actor, image_ids=[row.id]),
              match="no prompt to generate from")
    images.update_image(session, ws.actor, image_id=row.id, prompt="A muddy trail")
    assert images.request_regenerate(session, ws.actor, image_ids=[row.id, row.id]) == [row.id]
    assert row.status == ImageStatus.pending and (settings().data_dir / row.image_path).is_file()
    f.refused(session, ValidationFailed, lambda: images.request_regenerate(session, ws.actor, image_ids=[]))


def test_delete_hides_the_row_and_leaves_no_path(session, ws):
    row = images.upload(session, ws.actor, content_id=ws.content.id, data=png(5, 5), filename="a.png")
    images.delete_image(session, ws.actor, image_id=row.id)
    assert images.list_images(session, ws.actor, content_id=ws.content.id) == []
    assert row.deleted_at is not None and (row.image_path, row.thumbnail_path) == ("", "")
    with pytest.raises(NotFound):
        images.image_file(session, ws.actor, image_id=row.id)


# --- serving files -----------------------------------------------------------------------------------------------

def test_files_are_served_by_size_only_to_their_account(session, ws):
    row = images.upload(session, ws.actor, content_id=ws.content.id, data=png(2000, 1000), filename="a.png")
    full, mime = images.image_file(session, ws.actor, image_id=row.id, size="full")
    assert (full, mime) == (png(2000, 1000), "image/png")
    preview, _ = images.image_file(session, ws.actor, image_id=row.id, size="preview")
    assert Image.open(io.BytesIO(preview)).size == (1024, 512)
    stranger = f.owner_actor(session, f.account(session))
    with pytest.raises(NotFound):
        images.image_file(session, stranger, image_id=row.id)
    with pytest.raises(ValidationFailed, match="Image size must be one of"):
        images.image_file(session, ws.actor, image_id=row.id, size="huge")


def test_a_crafted_path_outside_the_account_folder_is_refused(session, ws):
    secret = settings().data_dir / "secret.txt"
    secret.write_text("key")
    other = f.workspace(session)
    theirs = settings().data_dir / "images" / str(other.acct.id) / "1" / "x.png"
    theirs.parent.mkdir(parents=True, exist_ok=True)
    theirs.write_bytes(png(5, 5))
    row = _prompted(session, ws)
    for path in (f"images/{ws.acct.id}/../../secret.txt", str(secret), f"images/{other.acct.id}/1/x.png"):
        row.image_path = path
        session.flush()
        with pytest.raises(AccessDenied, match="outside its account's image folder"):
            images.image_file(session, ws.actor, image_id=row.id, size="full")
    row.image_path = f"images/{ws.acct.id}/{ws.content.id}/gone.png"
    session.flush()
    with pytest.raises(NotFound, match="is missing"):
        images.image_file(session, ws.actor, image_id=row.id, size="full")


# --- placement ---------------------------------------------------------------------------------------------------

def _fig(n: int) -> Figure:
    return Figure(f"https://cdn.example.com/{n}.png", f"alt {n}", f"cap {n}")


def _order(html: str) -> list[str]:
    return [m.group(1) or m.group(0) for m in re.finditer(r"<h2>\w+</h2>|<p>\w+</p>|/(\d)\.png", html)]


def test_figure_k_goes_at_the_end_of_section_k_and_extra_ones_at_the_end():
    body = "<p>intro</p><h2>One</h2><p>a</p><h2>Two</h2><p>b</p>"
    out = images.place(body, [_fig(1), _fig(2), _fig(3)])
    assert _order(out) == ["<p>intro</p>", "<h2>One</h2>", "<p>a</p>", "1", "<h2>Two</h2>", "<p>b</p>", "2", "3"]
    assert ('<figure><img src="https://cdn.example.com/1.png" alt="alt 1"><figcaption>cap 1</figcaption></figure>'
            '<h2>Two</h2>') in out
    assert images.place(body, []) == body


def test_without_h2_figures_are_spread_between_paragraphs():
    body = "".join(f"<p>p{i}</p>" for i in range(1, 7))
    assert _order(images.place(body, [_fig(1), _fig(2)])) == [
        "<p>p1</p>", "<p>p2</p>", "1", "<p>p3</p>", "<p>p4</p>", "2", "<p>p5</p>", "<p>p6</p>"]
    assert images.place("plain words", [_fig(1)]).startswith("plain words<figure>")


def test_alt_caption_and_src_are_escaped_and_unsafe_sources_refused():
    out = images.place("<h2>A</h2>", [Figure("https://x.example/a.png?b=1&c=2", SCRIPT, SCRIPT)])
    assert "<script>" not in out and 'alt="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in out
    assert "<figcaption>&quot;&gt;&lt;script&gt;" in out and 'src="https://x.example/a.png?b=1&amp;c=2"' in out
    for src in ("javascript:alert(1)", "data:text/html;base64,PHNjcmlwdD4=", 'https://x" onerror="y', ""):
        with pytest.raises(ValidationFailed, match="http"):
            images.place("<p>a</p>", [Figure(src, "a")])


def test_preview_embeds_previews_as_data_uris_featured_on_top_and_no_script(session, ws):
    ws.content.content_html = "<h2>One</h2><p>a<script>alert(2)</script></p><h2>Two</h2><p>b</p>"
    inline = images.upload(session, ws.actor, content_id=ws.content.id, data=png(2000, 1000, "red"),
                           filename="in.png", alt_text=SCRIPT, caption=SCRIPT)
    featured = images.upload(session, ws.actor, content_id=ws.content.id, data=png(30, 30, "blue"),
                             filename="top.png", image_type="featured", alt_text="Top")
    _prompted(session, ws, prompt="waiting, no file yet")  # placed only once it has a picture
    out = images.preview_html(session, ws.actor, content_id=ws.content.id)
    assert "<script" not in out and "alert(2)" not in out
    uris = re.findall(r'src="data:image/(\w+);base64,([^"]+)"', out)
    assert len(uris) == 2 and out.startswith('<figure><img src="data:image/')
    sizes = [Image.open(io.BytesIO(base64.b64decode(b))).size for _, b in uris]
    assert sizes == [(30, 30), (1024, 512)]  # the preview derivative, not the 2000 px file
    assert out.index("</p><figure>") < out.index("<h2>Two</h2>")  # the in-article image closes section 1
    assert out.count("<figure>") == 2 and featured.id != inline.id


def test_article_html_takes_the_callers_sources(session, ws):
    row = images.upload(session, ws.actor, content_id=ws.content.id, data=png(5, 5), filename="a.png")
    out = images.article_html(session, ws.actor, content_id=ws.content.id,
                              src=lambda r: f"https://example.com/wp/{r.id}.png")
    assert f'src="https://example.com/wp/{row.id}.png"' in out
    skipped = images.article_html(session, ws.actor, content_id=ws.content.id, src=lambda r: "")
    assert "<figure>" not in skipped and skipped.startswith("<h2>One</h2>")
    assert session.scalars(select(Images.id).where(Images.content_id == ws.content.id)).all() == [row.id]
