"""The dense leg: chunk vectors in a `.npy` file and, for large segments, an approximate
nearest-neighbour index in FAISS's own file format.

    vectors.npy     float32 (n, dim), L2-normalised; memory-mapped, shared between processes
    vectors.faiss   (optional) the ANN structure over the same rows (kind in segment.json),
                    its codes memory-mapped too (FAISS's IO_FLAG_MMAP_IFC)

Exact search is a matrix-vector product over the mapped rows; the ANN, when present,
returns candidates whose scores are then taken from the exact rows.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

VECTORS_FILE = "vectors.npy"
ANN_FILE = "vectors.faiss"
# The ANN structures on offer: FAISS factory string ({nlist} filled from the size) and
# search-time parameters. Which one `auto` uses, and from what size, is measured by
# bench/vectors.py on real vectors and written to POLICY_FILE.
ANN_SPECS: dict[str, tuple[str, str]] = {
    "hnsw": ("HNSW32,Flat", "efSearch=128"),
    "hnsw-sq8": ("HNSW32,SQ8", "efSearch=128"),
    "ivf": ("IVF{nlist},Flat", "nprobe=24"),
    "ivf-sq8": ("IVF{nlist},SQ8", "nprobe=24"),
    "ivf-pq": ("IVF{nlist},PQ64", "nprobe=24"),
}
POLICY_FILE = Path(__file__).with_name("vector_policy.json")


def ann_policy() -> tuple[str, int]:
    """(ANN kind, size from which `auto` builds it) as measured by bench/vectors.py."""
    policy = json.loads(POLICY_FILE.read_text(encoding="utf-8"))
    return str(policy["ann_kind"]), int(policy["ann_threshold"])


def _tune(index: Any, kind: str) -> None:
    import faiss

    for param in ANN_SPECS[kind][1].split(","):
        name, value = param.split("=")
        faiss.ParameterSpace().set_index_parameter(index, name, float(value))


def build_ann(vectors: np.ndarray, kind: str) -> Any:
    import faiss

    if kind not in ANN_SPECS:
        raise ValueError(f"unknown vector index kind {kind!r}; use one of {', '.join(ANN_SPECS)}")
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    n, dim = vectors.shape
    nlist = max(1, min(int(math.sqrt(max(n, 1))), n // 39 if n >= 39 else 1))
    index = faiss.index_factory(dim, ANN_SPECS[kind][0].format(nlist=nlist), faiss.METRIC_INNER_PRODUCT)
    if hasattr(index, "hnsw"):
        index.hnsw.efConstruction = 80
    if not index.is_trained:
        rng = np.random.default_rng(0)
        sample = vectors[rng.choice(n, size=min(n, 64 * nlist), replace=False)] if n else vectors
        index.train(sample)
    index.add(vectors)
    _tune(index, kind)
    return index


def save(folder: Path, vectors: np.ndarray, ann_kind: str | None) -> None:
    with open(folder / VECTORS_FILE, "wb") as f:
        np.save(f, np.ascontiguousarray(vectors, dtype=np.float32), allow_pickle=False)
    if ann_kind:
        import faiss

        logger.info("building the %s index over %d vectors", ann_kind, vectors.shape[0])
        faiss.write_index(build_ann(vectors, ann_kind), str(folder / ANN_FILE))


@dataclass(frozen=True, slots=True)
class Vectors:
    matrix: np.ndarray  # (n, dim), memory-mapped
    ann: Any | None = None

    @property
    def n(self) -> int:
        return int(self.matrix.shape[0])

    @classmethod
    def load(cls, folder: Path, ann_kind: str | None) -> Vectors:
        matrix = np.load(folder / VECTORS_FILE, mmap_mode="r", allow_pickle=False)
        ann = None
        if ann_kind:
            import faiss

            # codes memory-mapped from the file (shared by every process), not copied in
            ann = faiss.read_index(str(folder / ANN_FILE), faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY)
            if ann.ntotal != matrix.shape[0]:
                raise ValueError(f"{folder / ANN_FILE} holds {ann.ntotal} vectors, not {matrix.shape[0]}")
            _tune(ann, ann_kind)
        return cls(matrix, ann)

    def scores(self, q: np.ndarray, positions: np.ndarray) -> np.ndarray:
        if positions.size == 0:
            return np.zeros(0, dtype=np.float32)
        return np.asarray(self.matrix[np.sort(positions)] @ q, dtype=np.float32)[
            np.argsort(np.argsort(positions))
        ]

    def search(self, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(positions, cosines) of about the k nearest rows (approximate when an ANN is present)."""
        if self.n == 0 or k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        if self.ann is not None:
            _, ids = self.ann.search(q.reshape(1, -1).astype(np.float32), min(k, self.n))
            pos = ids[0][ids[0] >= 0].astype(np.int64)
            return pos, self.scores(q, pos)
        sims = np.asarray(self.matrix @ q, dtype=np.float32)
        return top_k(sims, k)


def top_k(sims: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and values of the k largest entries, best first."""
    k = min(k, sims.shape[0])
    if k <= 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    idx = np.argpartition(-sims, k - 1)[:k] if k < sims.shape[0] else np.arange(sims.shape[0])
    idx = idx[np.argsort(-sims[idx], kind="stable")]
    return idx.astype(np.int64), sims[idx]
