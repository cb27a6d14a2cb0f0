"""Typed records passed between the pipeline stages.

Every offset (`start`, `end`) is a character offset into `Article.text`, the text
as stored: the original script, never converted.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Article:
    """One article (or one related item split off an article)."""

    id: str
    title: str
    text: str
    published: str | None = None  # ISO 8601: "2019-09-25T12:55:03" or "2020-12-05"
    source: str | None = None  # outlet, e.g. "华夏经纬网"
    url: str | None = None
    parent_id: str | None = None  # set on related items: the article they were listed under
    path: str | None = None  # the file it was read from, if any

    @property
    def content_hash(self) -> str:
        """Hash of everything that changes what is indexed; equal hash = unchanged article."""
        h = hashlib.sha256()
        for part in (self.title, self.text, self.published or "", self.source or "", self.url or ""):
            h.update(part.encode("utf-8"))
            h.update(b"\x1f")
        h.update((self.parent_id or "").encode("utf-8"))
        return h.hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Chunk:
    """A span of an article's stored text: `text == article.text[start:end]`."""

    id: str  # f"{article_id}#c{n}"
    article_id: str
    n: int
    start: int
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class FileError:
    """A file (or a line of one) that could not be ingested, and why."""

    path: str
    reason: str
    line: int | None = None


@dataclass(slots=True)
class IngestResult:
    articles: list[Article] = field(default_factory=list)
    errors: list[FileError] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class AddStats:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    chunks: int = 0


@dataclass(frozen=True, slots=True)
class Upgraded:
    """What `Index.upgrade` did: articles whose sentence words it stored, articles whose
    chunks' search terms it made again."""

    words: int = 0
    terms: int = 0


@dataclass(frozen=True, slots=True)
class Filters:
    """Restrict retrieval to a date range (inclusive, ISO dates) and/or outlets."""

    since: str | None = None
    until: str | None = None
    sources: tuple[str, ...] = ()

    def is_empty(self) -> bool:
        return not (self.since or self.until or self.sources)


@dataclass(slots=True)
class Hit:
    """A retrieved chunk with its per-leg scores (`scores` has `dense` and `bm25`)."""

    chunk_id: str
    article_id: str
    title: str
    text: str
    start: int
    end: int
    score: float
    scores: dict[str, float] = field(default_factory=dict)
    source: str | None = None
    published: str | None = None
    parent_id: str | None = None


@dataclass(frozen=True, slots=True)
class Citation:
    """A verbatim quote: `quote == stored_text(article_id)[start:end]`, checked before emitting."""

    n: int
    article_id: str
    chunk_id: str
    title: str
    source: str | None
    published: str | None
    quote: str
    start: int
    end: int
    score: float


@dataclass(frozen=True, slots=True)
class ShortAnswer:
    """The span of the evidence that answers (a name, a number with its unit, a date, a short
    phrase), quoted from citation `n`: `start`/`end` are offsets into that article's text."""

    text: str  # in the question's script, like the answer
    n: int
    start: int
    end: int


@dataclass(slots=True)
class Answer:
    question: str
    answered: bool
    answer: str
    script: str  # "zh-Hans", "zh-Hant" or "en": the script of the question
    citations: list[Citation] = field(default_factory=list)
    suggestions: list[Hit] = field(default_factory=list)
    took_ms: float = 0.0
    rewritten_question: str | None = None
    mode: str = "extractive"  # or "generated"
    message: str | None = None  # why there is no answer, or why generation fell back
    short_answer: ShortAnswer | None = None  # None when no span of the evidence fits


@dataclass(frozen=True, slots=True)
class Turn:
    """One earlier message of a conversation."""

    role: str  # "user" or "assistant"
    content: str
    citations: tuple[Citation, ...] = ()


def hit_to_dict(hit: Hit) -> dict[str, object]:
    return {
        "chunk_id": hit.chunk_id,
        "article_id": hit.article_id,
        "title": hit.title,
        "text": hit.text,
        "start": hit.start,
        "end": hit.end,
        "score": hit.score,
        "scores": dict(hit.scores),
        "source": hit.source,
        "published": hit.published,
    }


def hits_to_dict(query: str, hits: list[Hit]) -> dict[str, object]:
    """The JSON of `zhiwen search --json` and `POST /v1/search`."""
    return {"query": query, "hits": [hit_to_dict(h) for h in hits]}


def citation_to_dict(c: Citation) -> dict[str, object]:
    return {
        "n": c.n,
        "article_id": c.article_id,
        "chunk_id": c.chunk_id,
        "title": c.title,
        "source": c.source,
        "published": c.published,
        "quote": c.quote,
        "start": c.start,
        "end": c.end,
        "score": c.score,
    }


def answer_to_dict(a: Answer) -> dict[str, object]:
    """The JSON of `zhiwen ask --json` and `POST /v1/ask`."""
    return {
        "question": a.question,
        "answered": a.answered,
        "answer": a.answer,
        "script": a.script,
        "citations": [citation_to_dict(c) for c in a.citations],
        "suggestions": [hit_to_dict(h) for h in a.suggestions],
        "took_ms": a.took_ms,
        "rewritten_question": a.rewritten_question,
        "mode": a.mode,
        "message": a.message,
        "short_answer": None
        if a.short_answer is None
        else {
            "text": a.short_answer.text,
            "n": a.short_answer.n,
            "start": a.short_answer.start,
            "end": a.short_answer.end,
        },
    }
