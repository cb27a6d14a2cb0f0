"""The lexical (BM25) leg: term-major postings in plain `.npy` arrays.

A persisted segment keeps, for positions 0..n-1:

    bm25_indptr.npy     int64 (n_terms + 1,)   postings of term t: [indptr[t], indptr[t+1])
    bm25_positions.npy  int32 (nnz,)           positions holding the term
    bm25_tf.npy         float32 (nnz,)         term frequency there
    bm25_doc_len.npy    float32 (n,)           tokens per position
    bm25_df.npy         int32 (n_terms,)       positions holding each term

all loadable with `mmap_mode="r"`, so opening costs nothing and pages are shared between
processes. Recent chunks not yet in a segment get the same structure in memory. Scores
are BM25 (Lucene idf, k1 = 1.2, b = 0.75) over every live position of both parts, with
document frequencies corrected for deleted chunks, so they equal a from-scratch BM25.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag.retrieval_policy import retrieval_policy

FILES = ("bm25_indptr.npy", "bm25_positions.npy", "bm25_tf.npy", "bm25_doc_len.npy", "bm25_df.npy")


@dataclass(frozen=True, slots=True)
class Postings:
    """Term-major postings over local positions 0..n-1."""

    indptr: np.ndarray
    positions: np.ndarray
    tf: np.ndarray
    doc_len: np.ndarray
    df: np.ndarray

    @property
    def n(self) -> int:
        return int(self.doc_len.shape[0])

    @property
    def n_terms(self) -> int:
        return int(self.indptr.shape[0]) - 1

    @classmethod
    def from_docs(cls, term_ids: Sequence[np.ndarray], term_counts: Sequence[np.ndarray]) -> Postings:
        n = len(term_ids)
        if n == 0:
            z = np.zeros(0, dtype=np.int32)
            return cls(np.zeros(1, np.int64), z, np.zeros(0, np.float32), np.zeros(0, np.float32), z)
        import scipy.sparse as sp  # building only: opening and scoring use numpy

        rows = np.concatenate(term_ids).astype(np.int64, copy=False)
        vals = np.concatenate(term_counts).astype(np.float32, copy=False)
        cols = np.repeat(np.arange(n, dtype=np.int64), [len(t) for t in term_ids])
        n_terms = int(rows.max()) + 1 if rows.size else 0
        m = sp.csr_matrix((vals, (rows, cols)), shape=(n_terms, n), dtype=np.float32)
        m.sum_duplicates()
        doc_len = np.fromiter((float(c.sum()) for c in term_counts), dtype=np.float32, count=n)
        df = np.diff(m.indptr).astype(np.int32)
        return cls(m.indptr.astype(np.int64), m.indices.astype(np.int32), m.data, doc_len, df)

    def keep(self, alive: np.ndarray) -> Postings:
        """The postings of the live positions only, renumbered 0..alive.sum()-1."""
        if alive.all():
            return self
        import scipy.sparse as sp  # building only: opening and scoring use numpy

        m = sp.csr_matrix(
            (np.asarray(self.tf), np.asarray(self.positions), np.asarray(self.indptr)),
            shape=(self.n_terms, self.n),
        )
        m = m[:, np.flatnonzero(alive)].tocsr()
        m.sort_indices()
        return Postings(
            m.indptr.astype(np.int64),
            m.indices.astype(np.int32),
            m.data.astype(np.float32),
            np.asarray(self.doc_len)[alive],
            np.diff(m.indptr).astype(np.int32),
        )

    @staticmethod
    def concat(parts: Sequence[Postings]) -> Postings:
        """Positions of `parts[1]` follow those of `parts[0]`, and so on."""
        import scipy.sparse as sp  # building only: opening and scoring use numpy

        n_terms = max((p.n_terms for p in parts), default=0)
        mats = []
        for p in parts:
            indptr = np.asarray(p.indptr)
            if p.n_terms < n_terms:
                indptr = np.concatenate([indptr, np.full(n_terms - p.n_terms, indptr[-1], dtype=np.int64)])
            mats.append(
                sp.csr_matrix((np.asarray(p.tf), np.asarray(p.positions), indptr), shape=(n_terms, p.n))
            )
        m = (
            sp.hstack(mats, format="csr", dtype=np.float32)
            if mats
            else sp.csr_matrix((0, 0), dtype=np.float32)
        )
        m.sort_indices()
        return Postings(
            m.indptr.astype(np.int64),
            m.indices.astype(np.int32),
            m.data.astype(np.float32),
            np.concatenate([np.asarray(p.doc_len) for p in parts]) if parts else np.zeros(0, np.float32),
            np.diff(m.indptr).astype(np.int32),
        )

    def save(self, folder: Path) -> None:
        for name, arr in zip(
            FILES, (self.indptr, self.positions, self.tf, self.doc_len, self.df), strict=True
        ):
            with open(folder / name, "wb") as f:
                np.save(f, np.ascontiguousarray(arr), allow_pickle=False)

    @classmethod
    def load(cls, folder: Path) -> Postings:
        arrays = [np.load(folder / name, mmap_mode="r", allow_pickle=False) for name in FILES]
        return cls(*arrays)

    def df_of(self, term_id: int) -> int:
        return int(self.df[term_id]) if 0 <= term_id < self.n_terms else 0


def idf(df: np.ndarray, n_alive: int) -> np.ndarray:
    n = float(n_alive)
    return np.log(1.0 + (n - df + 0.5) / (df + 0.5))


@dataclass(frozen=True, slots=True)
class Lexical:
    """BM25 over a persisted part and an in-memory part (positions `base.n` onward), with
    the term counts of deleted persisted positions subtracted from the statistics."""

    base: Postings
    delta: Postings
    doc_len: np.ndarray  # both parts, dead positions included
    alive: np.ndarray
    df_removed: np.ndarray  # per term id: dead persisted positions holding it
    n_alive: int
    total_len: float
    # per position, BM25's length normalisation k1 * (1 - b + b * len / avgdl): computed once
    # per snapshot instead of for every posting of every query term
    norm: np.ndarray
    k1: float  # k1 and b: the retrieval policy's (rag/retrieval_policy.json)

    @classmethod
    def build(
        cls,
        base: Postings,
        delta: Postings,
        alive: np.ndarray,
        dead_term_ids: Sequence[np.ndarray],
        dead_lens: float,
    ) -> Lexical:
        ids = np.concatenate(dead_term_ids) if dead_term_ids else np.zeros(0, np.int64)
        removed = np.bincount(ids.astype(np.int64), minlength=0) if ids.size else np.zeros(0, np.int64)
        doc_len = np.concatenate([np.asarray(base.doc_len), delta.doc_len])
        total = (
            float(np.asarray(base.doc_len, dtype=np.float64).sum()) - dead_lens + float(delta.doc_len.sum())
        )
        n_alive = int(alive.sum())
        avgdl = max(total / max(1, n_alive), 1e-9)
        policy = retrieval_policy()
        k1, b = policy.bm25_k1, policy.bm25_b
        norm = (k1 * (1.0 - b) + (k1 * b / avgdl) * doc_len).astype(np.float32)
        return cls(base, delta, doc_len, alive, removed, n_alive, total, norm, k1)

    def df(self, term_ids: np.ndarray) -> np.ndarray:
        out = np.zeros(term_ids.shape[0], dtype=np.float64)
        for i, t in enumerate(term_ids.tolist()):
            removed = int(self.df_removed[t]) if t < self.df_removed.shape[0] else 0
            out[i] = self.base.df_of(t) + self.delta.df_of(t) - removed
        return out

    def idf(self, term_ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """idf of each id; an unknown id (-1 or never seen) gets the idf of a term in no document."""
        ids = np.asarray(term_ids, dtype=np.int64)
        df = self.df(np.where(ids >= 0, ids, 0))
        df[ids < 0] = 0.0
        return idf(df, self.n_alive)

    def scores(self, term_ids: Sequence[int]) -> np.ndarray:
        """BM25 score of every position for a bag of query term ids (dead positions score 0)."""
        n = self.doc_len.shape[0]
        out = np.zeros(n, dtype=np.float32)
        ids = np.array(sorted({int(t) for t in term_ids if t >= 0}), dtype=np.int64)
        if ids.size == 0 or self.n_alive == 0:
            return out
        weights = self.idf(ids) * (self.k1 + 1.0)
        offset = self.base.n
        for term, w in zip(ids.tolist(), weights.tolist(), strict=True):
            for part, off in ((self.base, 0), (self.delta, offset)):
                if term >= part.n_terms:
                    continue
                lo, hi = int(part.indptr[term]), int(part.indptr[term + 1])
                if lo == hi:
                    continue
                pos = part.positions[lo:hi].astype(np.intp)  # numpy indexes by intp
                if off:
                    pos += off
                tf = part.tf[lo:hi]
                x = np.take(self.norm, pos)
                x += tf
                np.divide(tf, x, out=x)
                x *= w  # idf * (k1 + 1) * tf / (tf + norm)
                out[pos] += x
        out[~self.alive] = 0.0
        return out
