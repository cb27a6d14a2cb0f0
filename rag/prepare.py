"""Index-time work on one article, done outside any lock: chunk, tokenise, embed.

The same functions serve a local `zhiwen index` run and a distributed one (Ray), so both
give identical chunks and tokens, and vectors equal within float tolerance. The result
is a `PreparedArticle`; the index writer only assigns term ids and commits it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rag.bm25 import tokenize
from rag.chunk import DEFAULT_OVERLAP, DEFAULT_TARGET, chunk_text, context_header
from rag.embed import Embedder
from rag.records import Article


@dataclass(frozen=True, slots=True)
class ChunkPlan:
    """An article's chunk spans and the texts that get embedded and tokenised for them."""

    article: Article
    spans: tuple[tuple[int, int], ...]
    texts: tuple[str, ...]  # context header + chunk text, one per span


@dataclass(frozen=True, slots=True)
class PreparedArticle:
    """Everything the writer needs for one article: `vectors[i]` and `tokens[i]` belong to
    `spans[i]`, a span of `article.text`."""

    article: Article
    spans: tuple[tuple[int, int], ...]
    vectors: np.ndarray  # (len(spans), dim) float32, L2-normalised
    tokens: tuple[tuple[str, ...], ...]


def plan_chunks(
    article: Article, *, target: int = DEFAULT_TARGET, overlap: int = DEFAULT_OVERLAP
) -> ChunkPlan:
    """Chunk an article (no model needed: this part fans out freely)."""
    spans = tuple(chunk_text(article.text, target=target, overlap=overlap))
    header = context_header(article)
    texts = tuple(f"{header}\n{article.text[a:b]}" for a, b in spans)
    return ChunkPlan(article, spans, texts)


def tokenize_plan(plan: ChunkPlan) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(tokenize(t)) for t in plan.texts)


def finish(plan: ChunkPlan, vectors: np.ndarray, tokens: Sequence[Sequence[str]]) -> PreparedArticle:
    """Join a plan with its vectors and tokens, checking the shapes agree."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(plan.spans), -1)
    if len(tokens) != len(plan.spans):
        raise ValueError(
            f"article {plan.article.id!r}: {len(tokens)} token lists for {len(plan.spans)} chunks"
        )
    return PreparedArticle(plan.article, plan.spans, vectors, tuple(tuple(t) for t in tokens))


def embed_plans(plans: Sequence[ChunkPlan], embedder: Embedder) -> list[np.ndarray]:
    """One embedder call for all chunks of `plans`, split back per article."""
    texts = [t for p in plans for t in p.texts]
    if not texts:
        return [np.zeros((0, embedder.dim), np.float32) for _ in plans]
    vecs = embedder.encode_documents(texts)
    out, i = [], 0
    for p in plans:
        out.append(vecs[i : i + len(p.texts)])
        i += len(p.texts)
    return out


def prepare_articles(
    articles: Sequence[Article],
    embedder: Embedder,
    *,
    target: int = DEFAULT_TARGET,
    overlap: int = DEFAULT_OVERLAP,
) -> list[PreparedArticle]:
    """Chunk, tokenise and embed a batch of articles on this machine."""
    plans = [plan_chunks(a, target=target, overlap=overlap) for a in articles]
    vectors = embed_plans(plans, embedder)
    return [finish(p, v, tokenize_plan(p)) for p, v in zip(plans, vectors, strict=True)]
