"""The typed rows that go into the article store and come out of it (`rag.index.store`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rag.sentence_words import SentenceWords


@dataclass(frozen=True, slots=True)
class ArticleMeta:
    """What a hit shows of its article (no text)."""

    rowid: int
    id: str
    title: str
    published: str | None
    source: str | None
    parent_id: str | None


@dataclass(frozen=True, slots=True)
class ChunkRows:
    """Chunks read from the store, in rowid order; `term_ids[i]`/`term_counts[i]` per chunk."""

    rowids: np.ndarray  # int64
    article_rowids: np.ndarray  # int64
    n: np.ndarray  # int32, chunk number within its article
    starts: np.ndarray  # int64
    ends: np.ndarray  # int64
    vectors: np.ndarray  # (k, dim) float32
    term_ids: list[np.ndarray]
    term_counts: list[np.ndarray]

    @classmethod
    def empty(cls, dim: int) -> ChunkRows:
        z = np.zeros(0, dtype=np.int64)
        return cls(z, z, np.zeros(0, np.int32), z, z, np.zeros((0, dim), np.float32), [], [])

    def __len__(self) -> int:
        return int(self.rowids.shape[0])


@dataclass(frozen=True, slots=True)
class SentenceRows:
    """Sentences read from the store, ordered by (article rowid, start)."""

    article_rowids: np.ndarray  # int64
    starts: np.ndarray  # int64
    ends: np.ndarray  # int64
    vectors: np.ndarray  # (k, dim) float16
    words: tuple[SentenceWords | None, ...] = ()  # per sentence; None where not stored
    title: SentenceWords | None = None  # the article title's

    @classmethod
    def empty(cls, dim: int) -> SentenceRows:
        z = np.zeros(0, dtype=np.int64)
        return cls(z, z, z, np.zeros((0, dim), np.float16))

    def words_at(self, i: int) -> SentenceWords | None:
        return self.words[i] if i < len(self.words) else None

    def __len__(self) -> int:
        return int(self.starts.shape[0])


@dataclass(frozen=True, slots=True)
class NewChunk:
    start: int
    end: int
    vector: np.ndarray
    term_ids: np.ndarray  # int32
    term_counts: np.ndarray  # float32
