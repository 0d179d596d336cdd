"""AI functions of the writer: generate_content (a sanitized HTML article for a task) and generate_image_prompts."""
from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from core import tenancy
from core.ai import prompts
from core.ai import settings as ai_settings
from core.ai.base import Outcome, Progress, Quantities, TextJob, ask_json, reject
from core.ai.schemas import ArticleOut, ContentInput, ImagePromptsInput, ImagePromptsOut
from core.errors import Conflict, ValidationFailed
from core.tenancy import Actor
from core.writer import review, revisions
from core.writer.html import plain_text, sanitize_html, word_count
from db.base import utcnow
from db.enums import ContentStatus, IdeaStatus, ImageStatus, ImageType, TaskStatus
from db.models import Clusters, Content, ContentIdeas, Images, Tasks

ARTICLE_TEXT_FOR_PROMPTS = 12_000  # characters of the article the image-prompt call reads


def _content_of_task(session: Session, task_id: int) -> int | None:
    # Content.task_id is unique across soft-deleted rows too, so every row counts.
    return session.scalar(select(Content.id).where(Content.task_id == task_id))


class GenerateContent(TextJob):
    """An article for a writer task: HTML (sanitized), meta title and description, keywords; words counted by us."""

    function, operation, object_type, input_schema = "generate_content", "content_generation", "task", ContentInput
    params: ContentInput

    def prepare(self, session: Session, actor: Actor) -> None:
        task = tenancy.get_for_write(session, actor, Tasks, self.params.task_id)
        existing = _content_of_task(session, task.id)
        if existing is not None:
            raise Conflict(f"Task “{task.title}” has an article already (content #{existing}).")
        cluster = session.execute(select(Clusters.name, Clusters.deleted_at).where(Clusters.id == task.cluster_id)
                                  ).first()
        if cluster is None or cluster.deleted_at is not None:
            raise ValidationFailed(f"The cluster of task “{task.title}”"
                                   + (f" (“{cluster.name}”)" if cluster is not None else "")
                                   + " was deleted: give the task another cluster on the Writer queue (Edit a task), "
                                   "or restore the cluster on the Clusters screen, then generate it.")
        voice = {**prompts.author_values(session, actor, author_profile_id=self.params.author_profile_id),
                 **prompts.strategy_values(session, actor, strategy_id=self.params.strategy_id,
                                           prompt_type="content_generation", sector_id=task.sector_id)}
        keywords = task.keywords
        if not keywords and task.idea_id:
            idea = session.get(ContentIdeas, task.idea_id)
            keywords = idea.target_keywords if idea else ""
        if not keywords:
            keywords = session.scalar(select(Clusters.name).where(Clusters.id == task.cluster_id)) or task.title
        self.prepare_model(session, actor)
        self.site_id, self.title, self.target_words = task.site_id, task.title, task.word_count
        self.prompts.append(prompts.render(session, account_id=self.account_id, prompt_type="content_generation",
                                           values={"title": task.title, "description": task.description or task.title,
                                                   "keywords": keywords, "word_count": task.word_count,
                                                   **voice}))

    def planned(self) -> Quantities:
        return Quantities(requests=1, words=self.target_words)

    def actual(self) -> Quantities:
        return Quantities(requests=1, words=self.words)

    @staticmethod
    def _check(out: ArticleOut) -> ArticleOut:
        out.content_html = sanitize_html(out.content_html)
        if word_count(out.content_html) == 0:
            raise reject("the article has no text")
        return out

    def call(self, progress: Progress) -> None:
        self.answers.append(ask_json(self.setup, self.prompts[0], ArticleOut, f"the article “{self.title}”",
                                     self._check))
        self.words = word_count(self.answers[0].output.content_html)  # type: ignore[attr-defined]
        progress(1, 1, "Article received")

    def record(self, session: Session, actor: Actor) -> Outcome:
        task = tenancy.get(session, actor, Tasks, self.params.task_id, write=True)
        existing = _content_of_task(session, task.id)
        if existing is not None:
            raise Conflict(f"Task “{task.title}” got an article meanwhile (content #{existing}); this one was "
                           "not saved and nothing was charged.")
        out: ArticleOut = self.answers[0].output  # type: ignore[assignment]
        content = Content(account_id=task.account_id, site_id=task.site_id, sector_id=task.sector_id,
                          task_id=task.id, title=task.title, content_html=out.content_html, word_count=self.words,
                          meta_title=out.meta_title, meta_description=out.meta_description,
                          primary_keyword=out.primary_keyword, secondary_keywords=out.secondary_keywords,
                          cluster_id=task.cluster_id, content_type=task.content_type,
                          content_structure=task.content_structure, status=ContentStatus.draft)
        session.add(content)
        session.flush()
        revisions.record_generated(session, actor, content=content)  # revision 1: what the AI wrote
        review.after_generation(session, actor, content=content)  # approved at once where the site wants that
        task.status = TaskStatus.completed
        if task.idea_id:
            session.execute(update(ContentIdeas).where(ContentIdeas.id == task.idea_id,
                                                       ContentIdeas.account_id == task.account_id)
                            .values(status=IdeaStatus.completed))
        session.flush()
        credits, usage = self.usage(session, related_type="task", related_id=task.id)
        return Outcome(credits, usage, {"content": [content.id]},
                       f"Wrote “{task.title}” ({self.words:,} words) "
                       + ("and approved it (the site approves generated articles at once)."
                          if content.status == ContentStatus.approved else "as a draft."))


class GenerateImagePrompts(TextJob):
    """A featured-image prompt and up to N in-article prompts for an article (N = the account's max images);
    they become pending Images rows that generate_images fills."""

    function, operation, object_type = "generate_image_prompts", "image_prompt_extraction", "content"
    input_schema = ImagePromptsInput
    params: ImagePromptsInput

    def prepare(self, session: Session, actor: Actor) -> None:
        content = tenancy.get_for_write(session, actor, Content, self.params.content_id)
        settings = self.prepare_model(session, actor)
        self.site_id, self.title, self.max_images = content.site_id, content.title, settings.max_images
        self.prompts.append(prompts.render(session, account_id=self.account_id, prompt_type="image_prompt_extraction",
                                           values={"title": content.title, "max_images": settings.max_images,
                                                   "content": plain_text(content.content_html)[
                                                       :ARTICLE_TEXT_FOR_PROMPTS],
                                                   "style": ai_settings.IMAGE_STYLES.get(settings.image_style,
                                                                                         settings.image_style)}))

    def _check(self, out: ImagePromptsOut) -> ImagePromptsOut:
        out.in_article_prompts = out.in_article_prompts[:self.max_images]
        return out

    def call(self, progress: Progress) -> None:
        self.answers.append(ask_json(self.setup, self.prompts[0], ImagePromptsOut,
                                     f"the image prompts of “{self.title}”", self._check))
        progress(1, 1, "Image prompts received")

    def record(self, session: Session, actor: Actor) -> Outcome:
        content = tenancy.get(session, actor, Content, self.params.content_id, write=True)
        out: ImagePromptsOut = self.answers[0].output  # type: ignore[assignment]
        # New prompts replace the article's images that were not generated yet; generated ones stay.
        session.execute(update(Images).where(
            Images.content_id == content.id, Images.account_id == content.account_id, Images.deleted_at.is_(None),
            Images.status.in_([ImageStatus.pending, ImageStatus.failed])).values(deleted_at=utcnow()))
        last = session.scalar(select(func.max(Images.position)).where(
            Images.content_id == content.id, Images.deleted_at.is_(None)))
        start = 0 if last is None else last + 1
        planned = [(ImageType.featured, out.featured_prompt)] + [(ImageType.in_article, p)
                                                                 for p in out.in_article_prompts]
        rows = [Images(account_id=content.account_id, site_id=content.site_id, sector_id=content.sector_id,
                       content_id=content.id, task_id=content.task_id, image_type=kind, prompt=prompt,
                       alt_text=(content.title if kind == ImageType.featured else prompt)[:255],
                       status=ImageStatus.pending, position=start + i) for i, (kind, prompt) in enumerate(planned)]
        session.add_all(rows)
        session.flush()
        credits, usage = self.usage(session, related_type="content", related_id=content.id)
        return Outcome(credits, usage, {"images": [r.id for r in rows]},
                       f"Planned {len(rows)} image(s) for “{content.title}” (1 featured, "
                       f"{len(rows) - 1} in the article).")
