"""A persisted segment: the search structures of every chunk up to a rowid, in one folder.

    segments/seg-<generation>/
        segment.json        format, counts, the highest chunk rowid covered, the ANN kind
        chunks_rowid.npy    int64  position -> chunk rowid in the store
        chunks_article.npy  int64  position -> article rowid
        chunks_n.npy        int32  position -> chunk number within its article
        chunks_start.npy    int64  offsets into the article's stored text
        chunks_end.npy      int64
        vectors.npy / vectors.faiss   (rag.index.vectors)
        bm25_*.npy                    (rag.index.lexical)

A segment is written to a temporary folder, flushed, then renamed into place; the store
names the current one in the same transaction that clears the tombstones it absorbed.
Nothing in a segment is ever modified: later changes live in the store until the next
checkpoint writes a new segment.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag.index import vectors as vec
from rag.index.lexical import Postings
from rag.index.vectors import Vectors

SEGMENT_FORMAT = 1
SEGMENTS_DIR = "segments"
_ARRAYS = ("rowid", "article", "n", "start", "end")


@dataclass(frozen=True, slots=True)
class Segment:
    name: str  # "" for the empty segment of a new index
    chunk_rowids: np.ndarray
    article_rowids: np.ndarray
    chunk_n: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    vectors: Vectors
    postings: Postings
    max_rowid: int
    ann_kind: str | None

    @property
    def n(self) -> int:
        return int(self.chunk_rowids.shape[0])

    @classmethod
    def empty(cls, dim: int) -> Segment:
        z = np.zeros(0, dtype=np.int64)
        return cls(
            "",
            z,
            z,
            np.zeros(0, np.int32),
            z,
            z,
            Vectors(np.zeros((0, dim), np.float32)),
            Postings.from_docs([], []),
            0,
            None,
        )

    @classmethod
    def load(cls, index_path: Path, name: str, dim: int) -> Segment:
        if not name:
            return cls.empty(dim)
        folder = index_path / SEGMENTS_DIR / name
        info = json.loads((folder / "segment.json").read_text(encoding="utf-8"))
        if info.get("format") != SEGMENT_FORMAT:
            raise ValueError(f"{folder} has segment format {info.get('format')}, not {SEGMENT_FORMAT}")
        arrays = [np.load(folder / f"chunks_{a}.npy", mmap_mode="r", allow_pickle=False) for a in _ARRAYS]
        vectors = Vectors.load(folder, info.get("ann"))
        if vectors.matrix.shape[1] != dim or vectors.n != arrays[0].shape[0]:
            raise ValueError(f"{folder}: vectors of shape {vectors.matrix.shape}, expected (n, {dim})")
        rowid, article, n, start, end = arrays
        return cls(
            name,
            rowid,
            article,
            n,
            start,
            end,
            vectors,
            Postings.load(folder),
            int(info["max_rowid"]),
            info.get("ann"),
        )


def write_segment(
    index_path: Path,
    name: str,
    *,
    chunk_rowids: np.ndarray,
    article_rowids: np.ndarray,
    chunk_n: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    vectors: np.ndarray,
    postings: Postings,
    ann_kind: str | None,
) -> None:
    """Write a segment folder atomically (temporary folder, fsync, rename)."""
    parent = index_path / SEGMENTS_DIR
    parent.mkdir(exist_ok=True)
    tmp = parent / f"{name}.tmp"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    for a, arr in zip(_ARRAYS, (chunk_rowids, article_rowids, chunk_n, starts, ends), strict=True):
        with open(tmp / f"chunks_{a}.npy", "wb") as f:
            np.save(f, np.ascontiguousarray(arr), allow_pickle=False)
    vec.save(tmp, vectors, ann_kind)
    postings.save(tmp)
    info = {
        "format": SEGMENT_FORMAT,
        "chunks": int(chunk_rowids.shape[0]),
        "dim": int(vectors.shape[1]),
        "max_rowid": int(chunk_rowids.max()) if chunk_rowids.size else 0,
        "ann": ann_kind,
        "terms": postings.n_terms,
    }
    (tmp / "segment.json").write_text(json.dumps(info, indent=2), encoding="utf-8")
    for written in tmp.iterdir():
        with open(written, "rb") as fh:
            os.fsync(fh.fileno())
    final = parent / name
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    dir_fd = os.open(parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def remove_other_segments(index_path: Path, keep: str) -> None:
    """Delete segment folders other than `keep` (readers that mapped them keep their pages)."""
    parent = index_path / SEGMENTS_DIR
    if not parent.is_dir():
        return
    for d in parent.iterdir():
        if d.name != keep and d.is_dir():
            shutil.rmtree(d, ignore_errors=True)
