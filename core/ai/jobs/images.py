"""AI function generate_images: the article's pending image prompts become image files under data_dir/images, on
the image model of the account's quality tier; each image succeeds or fails on its own. Provider links expire, so
an image answered as a link is downloaded at once; only when that fails is the link kept (and the result says so).
Each saved file gets its thumbnail and preview (core.writer.images) when recorded; the file an image had before is
removed once the new one is committed. With image_ids only those rows are filled (made again when generated)."""
from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import tenancy
from core.ai import client, prompts, providers
from core.ai import models as ai_models
from core.ai import settings as ai_settings
from core.ai.base import Job, Outcome, Progress, Quantities, floor_credits
from core.ai.errors import AIProviderError
from core.ai.limits import Limits
from core.ai.providers import ProviderConnection
from core.ai.schemas import ImagesInput
from core.billing import pricing
from core.billing.credits import Usage
from core.config import settings as app_settings
from core.errors import NotFound, ValidationFailed
from core.tenancy import Actor
from core.writer import images as writer_images
from db.enums import ImageStatus
from db.models import Content, Images

TYPE_LABELS = {"featured": "featured", "in_article": "in-article", "desktop": "desktop", "mobile": "mobile"}


@dataclass(frozen=True)
class _Planned:
    image_id: int
    prompt: str


@dataclass
class _Made:
    url: str = ""  # only when the download failed: the provider's link, which may expire
    path: str = ""  # relative to data_dir
    error: str = ""
    note: str = ""  # why only the link is kept


class GenerateImages(Job):
    """Fill an article's pending (or failed) Images rows."""

    function, operation, object_type, input_schema = "generate_images", "image_generation", "content", ImagesInput
    params: ImagesInput

    def __init__(self, params: ImagesInput):
        super().__init__(params)
        self.planned: list[_Planned] = []
        self.made: dict[int, _Made] = {}
        self.conn: ProviderConnection | None = None
        self.b64_json: bool | None = None  # the model's capability; None: the client decides by model name

    @property
    def steps(self) -> int:
        return max(len(self.planned), 1)

    def _rows(self, session: Session, actor: Actor, content: Content) -> list[Images]:
        """The rows to fill: the waiting ones, or exactly those asked for (made again when generated)."""
        ids = self.params.image_ids
        stmt = select(Images).where(Images.content_id == content.id)
        stmt = stmt.where(Images.id.in_(ids)) if ids else stmt.where(
            Images.status.in_([ImageStatus.pending, ImageStatus.failed]))
        rows = list(session.scalars(tenancy.scoped(stmt, Images, actor).order_by(Images.position, Images.id)))
        if ids:
            missing = [f"#{i}" for i in dict.fromkeys(ids) if i not in {r.id for r in rows}]
            if missing:
                raise ValidationFailed(f"Image {', '.join(missing)} is not an image of “{content.title}”.")
            no_prompt = [f"#{r.id}" for r in rows if not r.prompt.strip()]
            if no_prompt:
                raise ValidationFailed(f"Image {', '.join(no_prompt)} has no prompt to generate from; write one "
                                       "first.")
        if not rows:
            raise ValidationFailed(f"“{content.title}” has no image prompts waiting. Generate image prompts first.")
        return rows

    def prepare(self, session: Session, actor: Actor) -> None:
        content = tenancy.get_for_write(session, actor, Content, self.params.content_id)
        rows = self._rows(session, actor, content)
        self.account_id = tenancy.require_account(actor)
        s = ai_settings.effective(session, account_id=self.account_id)
        model = ai_models.model_for_tier(session, tier=s.image_quality_tier)
        self.conn = providers.connection(session, provider_id=model.provider)
        self.site_id, self.model_name, self.title = content.site_id, model.model_name, content.title
        self.b64_json = (model.capabilities or {}).get("b64_json")
        self.size, self.quality = s.image_size, s.image_quality
        style = ai_settings.IMAGE_STYLES.get(s.image_style, s.image_style)
        self.negative = prompts.render(session, account_id=self.account_id, prompt_type="negative_prompt", values={})
        self.planned = [_Planned(r.id, prompts.render(
            session, account_id=self.account_id, prompt_type="image_prompt_template",
            values={"image_type": TYPE_LABELS.get(str(r.image_type), str(r.image_type)), "prompt": r.prompt,
                    "style": style})) for r in rows]

    def _credits(self, session: Session, images: int) -> int:
        model = ai_models.get_by_name(session, model_name=self.model_name)
        return max(pricing.image_credits(model, images=images),
                   floor_credits(session, self.operation, Quantities(requests=images, images=images)))

    def estimate_credits(self, session: Session) -> int:
        return self._credits(session, len(self.planned))

    def _make(self, item: _Planned) -> _Made:
        assert self.conn is not None
        try:
            got = client.image(self.conn, model=self.model_name, prompt=item.prompt, size=self.size,
                               quality=None if client.is_runware(self.conn) else self.quality,
                               negative_prompt=self.negative, b64_json=self.b64_json)
        except AIProviderError as exc:
            return _Made(error=str(exc))
        if got.data is None:
            return _Made(url=got.url or "", note=got.download_error)
        relative = Path("images") / str(self.account_id) / str(self.params.content_id) / (
            f"{item.image_id}-{uuid.uuid4().hex[:8]}.{writer_images.sniff(got.data)[0]}")
        target = app_settings().data_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(got.data)
        return _Made(path=relative.as_posix())

    def call(self, progress: Progress) -> None:
        assert self.conn is not None
        # Images are independent: several in parallel, within the provider's concurrency limit (the limiter
        # holds the line; the pool only avoids idle threads). Progress is reported from this thread only.
        workers = min(len(self.planned), Limits.from_config(self.conn.config).max_concurrency)
        with ThreadPoolExecutor(max_workers=max(workers, 1), thread_name_prefix="ai-image") as pool:
            futures = {pool.submit(self._make, item): item for item in self.planned}
            for done, future in enumerate(as_completed(futures), start=1):
                self.made[futures[future].image_id] = future.result()
                progress(done, self.steps, f"Image {done} of {self.steps}")

    def discard(self) -> None:
        for made in self.made.values():
            if made.path:
                (app_settings().data_dir / made.path).unlink(missing_ok=True)

    def spent(self, session: Session) -> Usage | None:
        made = sum(1 for m in self.made.values() if not m.error)  # the provider bills the images it made
        if not made:
            return None
        model = ai_models.get_by_name(session, model_name=self.model_name)
        return Usage(operation_type=self.operation, model_used=self.model_name, site_id=self.site_id,
                     cost_usd=pricing.image_cost_usd(model, images=made), related_object_type="content",
                     related_object_id=self.params.content_id, metadata={"calls": len(self.planned), "generated": made})

    @staticmethod
    def _fill(session: Session, row: Images, made: _Made) -> str:
        """Store a made image on its row with its thumbnail and preview; the files it replaces go once this
        commits, the new ones if it rolls back. Returns why the thumbnail is missing ('' when made)."""
        thumb, preview, why = writer_images.derivatives(made.path) if made.path else ("", "", "")
        writer_images.track_files(session, new=[made.path, thumb, preview],
                                  old=[row.image_path, row.thumbnail_path, row.preview_path])
        row.status, row.image_url, row.image_path, row.source = ImageStatus.generated, made.url, made.path, "ai"
        row.thumbnail_path, row.preview_path = thumb, preview
        return why

    def record(self, session: Session, actor: Actor) -> Outcome:
        ok, failed, failures, linked, notes, unread = [], [], [], [], [], []
        for item in self.planned:
            made = self.made.get(item.image_id) or _Made(error="not generated")
            try:
                row = tenancy.get(session, actor, Images, item.image_id, write=True)
            except NotFound:  # deleted meanwhile: nothing to fill, its file is not kept
                if made.path:
                    (app_settings().data_dir / made.path).unlink(missing_ok=True)
                continue
            if made.error:
                row.status = ImageStatus.failed
                failed.append(row.id)
                failures.append(made.error)
            else:
                why = self._fill(session, row, made)
                if why:
                    unread.append(why)
                ok.append(row.id)
                if made.note:
                    linked.append(row.id)
                    notes.append(made.note)
        session.flush()
        model = ai_models.get_by_name(session, model_name=self.model_name)
        usage = Usage(operation_type=self.operation, model_used=self.model_name, site_id=self.site_id,
                      cost_usd=pricing.image_cost_usd(model, images=len(ok)), related_object_type="content",
                      related_object_id=self.params.content_id,
                      metadata={"calls": len(self.planned), "generated": len(ok), "failed": len(failed),
                                "link_only": len(linked), "download_errors": notes, "thumbnail_errors": unread})
        message = f"Generated {len(ok)} of {len(self.planned)} image(s) for “{self.title}”."
        if linked:
            message += (f" {len(linked)} could not be downloaded and {'is' if len(linked) == 1 else 'are'} kept only "
                        "as the provider's link, which may expire.")
        if unread:
            message += f" {len(unread)} got no thumbnail: {unread[0]}"
        return Outcome(self._credits(session, len(ok)) if ok else 0, usage,
                       {"images": ok, "failed": failed, "link_only": linked},
                       message, chargeable=bool(ok), error=None if ok else (failures[0] if failures else None),
                       failures=failures)
