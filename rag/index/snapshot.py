"""A public, read-only view of the index at one committed generation.

Positions 0..segment.n-1 are the persisted segment's chunks (memory-mapped), positions
segment.n onward the chunks committed since (read from the store). A snapshot never
changes: a commit makes a new one, so a query holding a snapshot sees one state from
start to end. Retrieval and answering use only this class.

Article metadata and texts are read from the store on demand, by article rowid; a rowid
names one version of an article, so a text read later still matches the offsets here
(an article replaced or deleted since simply has no text any more).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from rag.index.lexical import Lexical, Postings
from rag.index.rows import ArticleMeta, ChunkRows, SentenceRows
from rag.index.segment import Segment
from rag.index.sentences import read_articles_sentences, read_sentences
from rag.index.store import Store
from rag.index.vectors import top_k
from rag.records import Filters


@dataclass(frozen=True, slots=True)
class Snapshot:
    generation: int
    segment: Segment
    delta: ChunkRows
    article_rowids: np.ndarray  # position -> article rowid
    starts: np.ndarray
    ends: np.ndarray
    chunk_n: np.ndarray
    alive: np.ndarray  # position -> not deleted
    lexical: Lexical
    store: Store

    @classmethod
    def build(
        cls,
        store: Store,
        generation: int,
        segment: Segment,
        delta: ChunkRows,
        tomb_rowids: np.ndarray,
        tomb_terms: Sequence[np.ndarray],
        tomb_counts: Sequence[np.ndarray],
    ) -> Snapshot:
        alive = np.ones(segment.n + len(delta), dtype=bool)
        if tomb_rowids.size and segment.n:
            dead = np.isin(np.asarray(segment.chunk_rowids), tomb_rowids)
            alive[: segment.n] = ~dead
        lexical = Lexical.build(
            segment.postings,
            Postings.from_docs(delta.term_ids, delta.term_counts),
            alive,
            tomb_terms,
            float(sum(float(c.sum()) for c in tomb_counts)),
        )
        return cls(
            generation=generation,
            segment=segment,
            delta=delta,
            article_rowids=np.concatenate([np.asarray(segment.article_rowids), delta.article_rowids]),
            starts=np.concatenate([np.asarray(segment.starts), delta.starts]),
            ends=np.concatenate([np.asarray(segment.ends), delta.ends]),
            chunk_n=np.concatenate([np.asarray(segment.chunk_n), delta.n]),
            alive=alive,
            lexical=lexical,
            store=store,
        )

    # ------------------------------------------------------------ sizes
    @property
    def n(self) -> int:
        """Positions, live or not."""
        return int(self.alive.shape[0])

    @property
    def n_alive(self) -> int:
        return self.lexical.n_alive

    # ------------------------------------------------------------ lexical leg
    def term_ids(self, terms: Sequence[str]) -> list[int]:
        """Vocabulary ids of `terms` (-1 for a term no chunk holds)."""
        ids = Store.term_ids(self.store.conn(), terms, create=False)
        return [ids.get(t, -1) for t in terms]

    def bm25_scores(self, term_ids: Sequence[int]) -> np.ndarray:
        return self.lexical.scores(term_ids)

    def idf(self, term_ids: Sequence[int]) -> np.ndarray:
        return self.lexical.idf(term_ids)

    # ------------------------------------------------------------ dense leg
    def vectors(self, positions: np.ndarray) -> np.ndarray:
        positions = np.asarray(positions, dtype=np.int64)
        out = np.empty((positions.shape[0], self.delta.vectors.shape[1]), dtype=np.float32)
        in_seg = positions < self.segment.n
        if in_seg.any():
            p = positions[in_seg]
            order = np.argsort(p)
            rows = np.asarray(self.segment.vectors.matrix[p[order]])
            seg_out = np.empty_like(rows)
            seg_out[order] = rows
            out[in_seg] = seg_out
        if (~in_seg).any():
            out[~in_seg] = self.delta.vectors[positions[~in_seg] - self.segment.n]
        return out

    def dense_scores(self, query_vec: np.ndarray, positions: np.ndarray) -> np.ndarray:
        if len(positions) == 0:
            return np.zeros(0, dtype=np.float32)
        return self.vectors(positions) @ query_vec.astype(np.float32)

    def dense_search(
        self, query_vec: np.ndarray, k: int, mask: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(positions, cosines) of the k best live (and allowed) chunks, best first."""
        q = np.ascontiguousarray(query_vec, dtype=np.float32).reshape(-1)
        if self.n == 0 or k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        if mask is not None:  # filtered: exact over the allowed subset
            pos = np.flatnonzero(mask)
            return _best(pos, self.dense_scores(q, pos), k)
        seg = self.segment
        n_dead = seg.n - int(self.alive[: seg.n].sum())
        want = k + n_dead if n_dead < 4 * k else 4 * k + n_dead // 4 + 16
        seg_pos, seg_sims = seg.vectors.search(q, want)
        keep = self.alive[seg_pos]
        seg_pos, seg_sims = seg_pos[keep], seg_sims[keep]
        if seg.vectors.ann is None and seg_pos.size < min(k, int(self.alive[: seg.n].sum())):
            live = np.flatnonzero(self.alive[: seg.n])
            seg_pos, seg_sims = live, self.dense_scores(q, live)
        d_live = np.flatnonzero(self.alive[seg.n :])
        d_sims = self.delta.vectors[d_live] @ q if d_live.size else np.zeros(0, np.float32)
        pos = np.concatenate([seg_pos, d_live + seg.n])
        sims = np.concatenate([seg_sims, d_sims]).astype(np.float32)
        return _best(pos, sims, k)

    # ------------------------------------------------------------ articles
    def allowed_mask(self, filters: Filters | None) -> np.ndarray | None:
        """Live positions allowed by the filters (None = no filter)."""
        if filters is None or filters.is_empty():
            return None
        ok = self.store.allowed_rowids(filters)
        return np.isin(self.article_rowids, ok) & self.alive

    def sentences(self, article_rowid: int, start: int = 0, end: int | None = None) -> SentenceRows:
        """The stored sentences (offsets, float16 vectors, words) of one article lying in
        [start, end), read from the store on demand (a few rows per hit)."""
        return read_sentences(self.store.conn(), self.delta.vectors.shape[1], article_rowid, start, end)

    def articles_sentences(self, article_rowids: Iterable[int]) -> dict[int, SentenceRows]:
        """`sentences` of several whole articles, read together, by article rowid."""
        return read_articles_sentences(self.store.conn(), self.delta.vectors.shape[1], list(article_rowids))

    def metas(self, article_rowids: Iterable[int]) -> dict[int, ArticleMeta]:
        return self.store.metas(article_rowids)

    def texts(self, article_rowids: Iterable[int]) -> dict[int, str]:
        return self.store.texts(article_rowids)

    def rowids_of(self, article_ids: Iterable[str]) -> dict[str, int]:
        return self.store.rowids_of(article_ids)


def _best(pos: np.ndarray, sims: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    idx, vals = top_k(np.asarray(sims, dtype=np.float32), k)
    return pos[idx].astype(np.int64), vals
