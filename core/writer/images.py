"""Images of an article: list, edit (prompt, alt text, caption), ask for regeneration, delete; uploads checked with
Pillow (size, format, decompression bombs); derivatives made once (thumbnail ≤ 320 px, preview ≤ 1024 px); files
served only to their account, from inside data_dir/images/<account id>/; figures placed in the article HTML.

Files are written before their row is flushed. A new file is removed if its transaction rolls back, and a file that a
committed change replaced or deleted is removed after the commit (session events), so no row points to a missing
file; a crash between the write and the commit can leave an orphan file, never a broken row.
"""
from __future__ import annotations

import base64
import html
import io
import logging
import re
import uuid
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image
from sqlalchemy import case, event, func, select
from sqlalchemy.orm import Session, SessionTransaction

from core import tenancy
from core.common.text import one_of
from core.config import settings as app_settings
from core.errors import AccessDenied, NotFound, ValidationFailed
from core.tenancy import Actor
from core.writer.html import sanitize_html
from db.base import utcnow
from db.enums import ImageStatus, ImageType
from db.models import Content, Images

log = logging.getLogger("igny8.images")

MB = 1024 * 1024
MAX_UPLOAD = 20 * MB
THUMBNAIL_EDGE, PREVIEW_EDGE = 320, 1024
MAX_ALT, MAX_CAPTION, MAX_PROMPT, MAX_IDS = 255, 1000, 4000, 200
FORMATS = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp", "GIF": "gif"}
SIZES = ("thumbnail", "preview", "full")
_FILES = "core.writer.images.files"  # session.info: the files of each open transaction (new, replaced)
_COMMITTED = "core.writer.images.committed"


@dataclass(frozen=True)
class ImageRow:
    id: int
    type: str
    prompt: str
    alt_text: str
    caption: str
    status: str
    position: int
    source: str  # ai | upload
    has_file: bool
    has_thumbnail: bool
    url: str  # the provider's link when only that is kept


@dataclass(frozen=True)
class Figure:
    src: str  # an http(s) URL or a data:image/… URI
    alt: str
    caption: str = ""


# --- files: paths, cleanup with the transaction ---------------------------------------------------------------

def _data() -> Path:
    return app_settings().data_dir


def _folder(account_id: int, content_id: int) -> Path:
    return Path("images") / str(account_id) / str(content_id)


def _remove(paths: Iterable[str]) -> None:
    for relative in paths:
        try:
            (_data() / relative).unlink(missing_ok=True)
        except OSError:
            log.warning("Could not remove the image file %s.", relative, exc_info=True)


def _current(session: Session) -> SessionTransaction:
    tx = session.get_nested_transaction() or session.get_transaction()
    if tx is None:
        session.connection()  # begins the transaction the files belong to
        tx = session.get_transaction()
    assert tx is not None
    return tx


def _state(session: Session) -> dict[SessionTransaction, dict[str, list[str]]]:
    state = session.info.get(_FILES)
    if state is None:
        state = session.info[_FILES] = {}
        session.info[_COMMITTED] = set()
        event.listen(session, "after_commit", _committed)
        event.listen(session, "after_transaction_end", _ended)
    return state


def _committed(session: Session) -> None:
    session.info[_COMMITTED].add(_current(session))  # the transaction committing now (a savepoint or the root)


def _ended(session: Session, tx: SessionTransaction) -> None:
    """A savepoint released hands its files to its parent; the root committed removes the replaced files; any
    transaction ended without commit (rolled back, closed) removes its new files."""
    files = session.info[_FILES].pop(tx, None)
    committed = tx in session.info[_COMMITTED]
    session.info[_COMMITTED].discard(tx)
    if files is None:
        return
    if not committed:
        _remove(files["new"])
    elif tx.parent is not None:
        parent = session.info[_FILES].setdefault(tx.parent, {"new": [], "old": []})
        parent["new"] += files["new"]
        parent["old"] += files["old"]
    else:
        _remove(files["old"])


def track_files(session: Session, *, new: Iterable[str] = (), old: Iterable[str] = ()) -> None:
    """Files of this transaction: `new` ones are removed unless it commits, `old` ones once it has committed."""
    files = _state(session).setdefault(_current(session), {"new": [], "old": []})
    files["new"].extend(p for p in new if p)
    files["old"].extend(p for p in old if p)


# --- Pillow: checks and derivatives ---------------------------------------------------------------------------

def _check_pixels(size: tuple[int, int], name: str) -> None:
    limit = Image.MAX_IMAGE_PIXELS
    if limit is not None and size[0] * size[1] > limit:
        raise ValidationFailed(f"{name} is {size[0]:,} × {size[1]:,} pixels; images of more than {limit:,} pixels "
                               "are refused.")


def _inspect(data: bytes, name: str) -> str:
    """The file extension of an acceptable upload, or ValidationFailed saying what is wrong with it."""
    if len(data) > MAX_UPLOAD:
        raise ValidationFailed(f"{name} is {len(data) / MB:.1f} MB; the limit is {MAX_UPLOAD // MB} MB.")
    not_image = ValidationFailed(f"{name} is not an image (PNG, JPEG, WebP or GIF).")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # refused just below, with a message
            with Image.open(io.BytesIO(data)) as im:
                ext = FORMATS.get(im.format or "")
                if ext is None:
                    raise not_image
                _check_pixels(im.size, name)
                im.verify()
        with Image.open(io.BytesIO(data)) as im:
            im.load()  # verify() reads no pixels: a truncated body shows only here
    except Image.DecompressionBombError as exc:
        raise ValidationFailed(f"{name} has too many pixels to be a safe image (a decompression bomb).") from exc
    except ValidationFailed:
        raise
    except Exception as exc:  # Pillow raises many kinds (OSError, SyntaxError, ValueError …) on a damaged file
        raise not_image from exc
    return ext


def _resized(source: Path, edge: int) -> tuple[bytes, str]:
    """The picture at `source` fitted in edge × edge: PNG when it has transparency, else JPEG."""
    with Image.open(source) as im:
        _check_pixels(im.size, f"“{source.name}”")
        im.seek(0)  # an animated GIF: its first frame
        im.draft("RGB", (edge, edge))
        alpha = im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info
        small = im.convert("RGBA" if alpha else "RGB")
    small.thumbnail((edge, edge))
    out = io.BytesIO()
    small.save(out, "PNG" if alpha else "JPEG", **({} if alpha else {"quality": 85}))
    return out.getvalue(), "png" if alpha else "jpg"


def _derive(relative_path: str, edge: int, kind: str) -> str:
    source = _data() / relative_path
    data, ext = _resized(source, edge)
    target = source.with_name(f"{source.stem}.{kind}.{ext}")
    if not target.exists():  # made once: the name follows the (randomly named) source
        scratch = target.with_name(f".{target.name}.{uuid.uuid4().hex[:6]}")
        scratch.write_bytes(data)
        scratch.replace(target)
    return target.relative_to(_data()).as_posix()


def _derived(relative_path: str, edge: int, suffix: str, what: str) -> str:
    try:
        return _derive(relative_path, edge, suffix)
    except ValidationFailed:
        raise
    except Exception as exc:
        raise ValidationFailed(f"No {what} for {Path(relative_path).name}: it cannot be read as a picture "
                               f"({exc}).") from exc


def make_thumbnail(relative_path: str) -> str:
    """The thumbnail (≤ 320 px on the long side) of a stored file, made once; ValidationFailed when Pillow cannot
    read the file."""
    return _derived(relative_path, THUMBNAIL_EDGE, "thumb", "thumbnail")


def make_preview(relative_path: str) -> str:
    """The preview (≤ 1024 px) of a stored file, made once; ValidationFailed when Pillow cannot read the file."""
    return _derived(relative_path, PREVIEW_EDGE, "preview", "preview")


def derivatives(relative_path: str) -> tuple[str, str, str]:
    """Thumbnail and preview of a stored file, and why they are missing when Pillow cannot read it ('' if fine)."""
    try:
        return make_thumbnail(relative_path), make_preview(relative_path), ""
    except ValidationFailed as exc:
        return "", "", str(exc)


# --- reads ----------------------------------------------------------------------------------------------------

def _to_row(r: Images) -> ImageRow:
    return ImageRow(r.id, str(r.image_type), r.prompt, r.alt_text, r.caption, str(r.status), r.position, r.source,
                    bool(r.image_path), bool(r.thumbnail_path), r.image_url)


def list_images(session: Session, actor: Actor, *, content_id: int) -> list[ImageRow]:
    """An article's images: the featured first, then by position."""
    content = tenancy.get(session, actor, Content, content_id)
    featured_first = case((Images.image_type == ImageType.featured, 0), else_=1)
    rows = session.scalars(tenancy.scoped(select(Images).where(Images.content_id == content.id), Images, actor)
                           .order_by(featured_first, Images.position, Images.id))
    return [_to_row(r) for r in rows]


def sniff(data: bytes) -> tuple[str, str]:
    """The file extension and MIME type of image bytes by their signature (not a name); ("bin",
    "application/octet-stream") when they are none of the four kinds stored."""
    if data.startswith(b"\x89PNG"):
        return "png", "image/png"
    if data.startswith(b"\xff\xd8"):
        return "jpg", "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp", "image/webp"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "gif", "image/gif"
    return "bin", "application/octet-stream"


def _account_file(row: Images, relative: str) -> Path:
    """The path of a row's file, refused unless it lies inside data_dir/images/<the row's account>/."""
    base = (_data() / "images" / str(row.account_id)).resolve()
    path = (_data() / relative).resolve()
    if not path.is_relative_to(base):
        raise AccessDenied(f"The file of image #{row.id} lies outside its account's image folder; it is not served.")
    return path


def image_file(session: Session, actor: Actor, *, image_id: int, size: str = "thumbnail") -> tuple[bytes, str]:
    """The bytes and MIME type of an image at a size (thumbnail, preview, full) the actor may see."""
    if size not in SIZES:
        raise ValidationFailed(f"Image size must be one of {', '.join(SIZES)}, not “{size}”.")
    row = tenancy.get(session, actor, Images, image_id)
    if not row.image_path:
        kept = " (only the provider's link is kept)" if row.image_url else ""
        raise NotFound(f"Image #{row.id} has no stored file{kept}.")
    derived = {"thumbnail": row.thumbnail_path, "preview": row.preview_path, "full": row.image_path}[size]
    path = _account_file(row, derived or row.image_path)
    if not path.is_file():
        raise NotFound(f"The file of image #{row.id} is missing; upload or generate it again.")
    if derived:
        data = path.read_bytes()
        return data, sniff(data)[1]
    try:  # no stored derivative (Pillow could not make one): fitted in memory, nothing written by a read
        data, ext = _resized(path, THUMBNAIL_EDGE if size == "thumbnail" else PREVIEW_EDGE)
        return data, "image/png" if ext == "png" else "image/jpeg"
    except Exception as exc:
        raise NotFound(f"Image #{row.id} cannot be shown: its file is not a readable picture.") from exc


# --- writes ---------------------------------------------------------------------------------------------------

def _text(value: str, what: str, limit: int, *, one_line: bool = False, required: bool = False) -> str:
    if "\0" in value:
        raise ValidationFailed(f"{what} cannot contain the NUL character (\\0).")
    text = " ".join(value.split()) if one_line else value.strip()
    if required and not text:
        raise ValidationFailed(f"{what} is required.")
    if len(text) > limit:
        raise ValidationFailed(f"{what} is too long ({len(text):,} characters; at most {limit:,}).")
    return text


def update_image(session: Session, actor: Actor, *, image_id: int, prompt: str | None = None,
                 alt_text: str | None = None, caption: str | None = None) -> Images:
    """Change an image's prompt, alt text or caption (plain text, escaped wherever it is shown)."""
    row = tenancy.get_for_write(session, actor, Images, image_id)
    if prompt is not None:
        row.prompt = _text(prompt, "The prompt", MAX_PROMPT, required=True)
    if alt_text is not None:
        row.alt_text = _text(alt_text, "The alt text", MAX_ALT, one_line=True)
    if caption is not None:
        row.caption = _text(caption, "The caption", MAX_CAPTION)
    session.flush()
    return row


def request_regenerate(session: Session, actor: Actor, *, image_ids: list[int]) -> list[int]:
    """Mark images pending so generate_images makes them again (each keeps its file until the new one arrives)."""
    ids = list(dict.fromkeys(image_ids))
    if not ids:
        raise ValidationFailed("Choose at least one image to regenerate.")
    if len(ids) > MAX_IDS:
        raise ValidationFailed(f"Regenerate at most {MAX_IDS} images at once ({len(ids)} chosen).")
    rows = [tenancy.get_for_write(session, actor, Images, i) for i in ids]
    no_prompt = [f"#{r.id}" for r in rows if not r.prompt.strip()]
    if no_prompt:
        raise ValidationFailed(f"Image {', '.join(no_prompt)} has no prompt to generate from; write one first.")
    for r in rows:
        r.status = ImageStatus.pending
    session.flush()
    return ids


def delete_image(session: Session, actor: Actor, *, image_id: int) -> None:
    """Delete an image; its files are removed once the deletion is committed."""
    row = tenancy.get_for_write(session, actor, Images, image_id)
    track_files(session, old=[row.image_path, row.thumbnail_path, row.preview_path])
    row.deleted_at = utcnow()
    row.image_path = row.thumbnail_path = row.preview_path = ""
    session.flush()


def _display_name(filename: str) -> str:
    name = Path((filename or "").replace("\\", "/").replace("\0", "")).name.strip()
    return f"“{name[:120]}”" if name else "The file"


def _target(session: Session, actor: Actor, content: Content, image_id: int | None) -> Images | None:
    if image_id is None:
        return None
    row = tenancy.get_for_write(session, actor, Images, image_id)
    if row.content_id != content.id:
        raise ValidationFailed(f"Image #{row.id} is not an image of “{content.title}”.")
    return row


def _store(content: Content, data: bytes, ext: str, stem: str) -> list[str]:
    """Write the file and its derivatives; their paths relative to data_dir."""
    relative = _folder(content.account_id, content.id) / f"{stem}-{uuid.uuid4().hex[:12]}.{ext}"
    target = _data() / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    try:
        return [relative.as_posix(), make_thumbnail(relative.as_posix()), make_preview(relative.as_posix())]
    except Exception:  # the file passed _inspect, so this is rare (a full disk): leave nothing behind
        _remove([relative.as_posix(), *(p.relative_to(_data()).as_posix()
                                        for p in target.parent.glob(f"{target.stem}.*"))])
        raise


def upload(session: Session, actor: Actor, *, content_id: int, data: bytes, filename: str,
           image_type: str = "in_article", image_id: int | None = None, alt_text: str = "",
           caption: str = "") -> Images:
    """Store an uploaded picture for an article, as a new image or replacing image `image_id` (which keeps its
    type, and its alt text and caption unless new ones are given)."""
    content = tenancy.get_for_write(session, actor, Content, content_id)
    kind = one_of(ImageType, image_type, "Image type")
    alt = _text(alt_text or "", "The alt text", MAX_ALT, one_line=True)
    cap = _text(caption or "", "The caption", MAX_CAPTION)
    ext = _inspect(data, _display_name(filename))
    row = _target(session, actor, content, image_id)
    paths = _store(content, data, ext, str(row.id) if row else "upload")
    track_files(session, new=paths)
    if row is None:
        last = session.scalar(select(func.max(Images.position)).where(
            Images.content_id == content.id, Images.deleted_at.is_(None)))
        row = Images(account_id=content.account_id, site_id=content.site_id, sector_id=content.sector_id,
                     content_id=content.id, task_id=content.task_id, image_type=kind, prompt="",
                     alt_text=alt or content.title[:MAX_ALT], caption=cap,
                     position=0 if last is None else last + 1)
        session.add(row)
    else:
        track_files(session, old=[row.image_path, row.thumbnail_path, row.preview_path])
        row.alt_text, row.caption = alt or row.alt_text, cap or row.caption
    row.image_path, row.thumbnail_path, row.preview_path = paths
    row.image_url, row.status, row.source = "", ImageStatus.generated, "upload"
    session.flush()
    return row


# --- placement in the article ---------------------------------------------------------------------------------

_H2 = re.compile(r"<h2[\s>]", re.I)
_P_END = re.compile(r"</p\s*>", re.I)
_URL = re.compile(r"https?://[^\s\"'<>]+", re.I)
_DATA = re.compile(r"data:image/(png|jpeg|webp|gif);base64,[A-Za-z0-9+/]+=*")


def figure_html(fig: Figure) -> str:
    """One <figure>: the source checked (http(s) or data:image), alt text and caption escaped."""
    if not (_URL.fullmatch(fig.src) or _DATA.fullmatch(fig.src)):
        raise ValidationFailed("An image source must be an http(s) URL or a data: URI of an image.")
    caption = f"<figcaption>{html.escape(fig.caption)}</figcaption>" if fig.caption else ""
    return f'<figure><img src="{html.escape(fig.src)}" alt="{html.escape(fig.alt)}">{caption}</figure>'


def _spots(text: str, count: int) -> list[int]:
    """Where figure k goes: the end of H2 section k, or (no H2) after every few paragraphs; else the end."""
    heads = [m.start() for m in _H2.finditer(text)]
    if heads:
        ends = heads[1:] + [len(text)]
    else:
        paras = [m.end() for m in _P_END.finditer(text)]
        step = max(1, len(paras) // (count + 1))
        ends = [paras[(k + 1) * step - 1] for k in range(count) if (k + 1) * step <= len(paras)]
    return [ends[k] if k < len(ends) else len(text) for k in range(count)]


def place(html_text: str, figures: list[Figure]) -> str:
    """The article with in-article figures placed: figure k at the end of H2 section k, extra ones at the end, and
    without H2s after every few paragraphs. Give it sanitized HTML: the figures are added after."""
    out, last = [], 0
    for spot, fig in zip(_spots(html_text, len(figures)), figures, strict=True):
        out += [html_text[last:spot], figure_html(fig)]
        last = spot
    return "".join(out) + html_text[last:]


def _figure(row: ImageRow, src: Callable[[ImageRow], str]) -> Figure | None:
    link = src(row)
    return Figure(link, row.alt_text, row.caption) if link else None


def article_html(session: Session, actor: Actor, *, content_id: int, src: Callable[[ImageRow], str]) -> str:
    """The sanitized article with its featured image on top and in-article images placed; `src` gives each image's
    URL or data: URI ('' leaves the image out)."""
    content = tenancy.get(session, actor, Content, content_id)
    rows = [r for r in list_images(session, actor, content_id=content.id) if r.has_file or r.url]
    featured = next((f for r in rows if r.type == ImageType.featured and (f := _figure(r, src))), None)
    inline = [f for r in rows if r.type == ImageType.in_article and (f := _figure(r, src))]
    body = place(sanitize_html(content.content_html or ""), inline)
    return (figure_html(featured) if featured else "") + body


def preview_html(session: Session, actor: Actor, *, content_id: int) -> str:
    """The article as a reader sees it, images embedded as data: URIs of their preview size."""
    def embedded(row: ImageRow) -> str:
        try:
            data, mime = image_file(session, actor, image_id=row.id, size="preview")
        except (NotFound, AccessDenied):
            return row.url if _URL.fullmatch(row.url or "") else ""
        if not mime.startswith("image/"):
            return ""
        return f"data:{mime};base64,{base64.b64encode(data).decode()}"
    return article_html(session, actor, content_id=content_id, src=embedded)
