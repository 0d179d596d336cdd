"""Typed inputs and validated outputs of the AI functions (articles are sanitized by core.writer.html)."""
from __future__ import annotations

import json
import re
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from core.errors import ValidationFailed
from core.writer.html import plain_text
from db.enums import ContentStructure, ContentType

MAX_KEYWORDS_PER_JOB = 1000

# --- inputs ---------------------------------------------------------------------------------------------------


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ClusterInput(_Input):
    sector_id: int
    keyword_ids: list[int] = Field(min_length=1, max_length=MAX_KEYWORDS_PER_JOB)
    batch_size: int = Field(default=60, ge=5, le=300)


class IdeasInput(_Input):
    cluster_id: int
    count: int = Field(default=5, ge=1, le=20)
    strategy_id: int | None = None


class ContentInput(_Input):
    task_id: int
    author_profile_id: int | None = None
    strategy_id: int | None = None


class ImagePromptsInput(_Input):
    content_id: int


class ImagesInput(_Input):
    content_id: int
    image_ids: list[int] | None = Field(default=None, min_length=1, max_length=200)  # None: every waiting image


def parse_input(schema: type[_Input], values: dict) -> _Input:
    """Validated input, or ValidationFailed saying which field is wrong."""
    try:
        return schema.model_validate(values)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'input'}: {e['msg']}" for e in exc.errors())
        raise ValidationFailed(f"Invalid input: {problems}.") from exc


# --- outputs (what the AI must return) ---------------------------------------------------------------------------


def _text(value: object) -> object:
    return " ".join(value.split()) if isinstance(value, str) else value


def _choice(value: object) -> object:
    # "Landing page" / "landing-page" → "landing_page": the AI's spelling, not its meaning, varies.
    return re.sub(r"[\s\-]+", "_", value.strip().lower()) if isinstance(value, str) else value


Line = Annotated[str, BeforeValidator(_text)]
Name = Annotated[str, BeforeValidator(_text), Field(min_length=1, max_length=255)]


class _Output(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ClusterOut(_Output):
    name: Name
    description: Line = ""
    keywords: list[Line] = Field(default_factory=list)  # an empty cluster is dropped, not an error


class ClusteringOut(_Output):
    clusters: list[ClusterOut] = Field(min_length=1)


class IdeaOut(_Output):
    title: Name
    description: str = ""
    content_type: Annotated[ContentType, BeforeValidator(_choice)] = ContentType.post
    content_structure: Annotated[ContentStructure, BeforeValidator(_choice)]
    target_keywords: list[Line] = Field(default_factory=list)
    estimated_word_count: int = Field(ge=100, le=20_000)

    @field_validator("target_keywords")
    @classmethod
    def _few(cls, value: list[str]) -> list[str]:
        return [k for k in value if k][:20]


class IdeasOut(_Output):
    ideas: list[IdeaOut] = Field(min_length=1)


class ArticleOut(_Output):
    content_html: str = Field(min_length=1)
    meta_title: Line = Field(min_length=1)
    meta_description: Line = ""
    primary_keyword: Line = ""
    secondary_keywords: list[Line] = Field(default_factory=list)

    @field_validator("meta_title", "meta_description", "primary_keyword")
    @classmethod
    def _plain(cls, value: str, info: ValidationInfo) -> str:
        # Meta fields are plain text: tags removed; over-long values cut rather than rejected.
        limit = {"meta_title": 255, "meta_description": 1000, "primary_keyword": 500}[info.field_name or ""]
        text = plain_text(value)[:limit]
        if info.field_name == "meta_title" and not text:
            raise ValueError("the meta title has no text")
        return text

    @field_validator("secondary_keywords")
    @classmethod
    def _few(cls, value: list[str]) -> list[str]:
        return [k[:200] for k in value if k][:20]


class ImagePromptsOut(_Output):
    featured_prompt: Line = Field(min_length=3, max_length=2000)
    in_article_prompts: list[Annotated[Line, Field(min_length=3, max_length=2000)]] = Field(default_factory=list)


def parse_json_object(text: str) -> object:
    """The JSON of an answer, tolerating a ```json fence around it (some models add one)."""
    body = text.strip()
    fenced = re.fullmatch(r"```(?:json)?\s*(.*?)\s*```", body, flags=re.S)
    return json.loads(fenced.group(1) if fenced else body)


def describe(exc: ValidationError) -> str:
    """A short description of what was wrong with an answer."""
    first = exc.errors()[0]
    where = ".".join(map(str, first["loc"])) or "answer"
    return f"{where}: {first['msg']}" + (f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else "")
