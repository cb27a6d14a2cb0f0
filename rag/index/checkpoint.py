"""Checkpoints: a new persisted segment (rag.index.segment) written from a snapshot, and the
store switched to it in one transaction.

Each write of the index commits to the store alone; reading those chunks back from the store
when a snapshot is built is cheap while they are few, so a checkpoint is written only once the
chunks committed or deleted since the persisted segment reach
max(CHECKPOINT_MIN_CHUNKS, min(CHECKPOINT_FRACTION x segment size, CHECKPOINT_MAX_CHUNKS)):
below that, rewriting the segment costs more than the read; the cap bounds that read (and so
the time to open the index, and to see a new commit) whatever the index's size.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np

from rag.index.lexical import Postings
from rag.index.segment import remove_other_segments, write_segment
from rag.index.snapshot import Snapshot
from rag.index.store import Store
from rag.index.terms import new_chunk_rows, switch_terms
from rag.index.vectors import ann_policy

logger = logging.getLogger(__name__)

CHECKPOINT_MIN_CHUNKS = 4096
CHECKPOINT_FRACTION = 0.5
CHECKPOINT_MAX_CHUNKS = 20_000

AnnKind = Callable[[int], str | None]  # the ANN structure a segment of n chunks gets (None: exact)


def due(changed: int, segment_chunks: int) -> bool:
    """Whether `changed` chunks committed or deleted since a segment of `segment_chunks` call
    for a checkpoint."""
    return changed >= max(
        CHECKPOINT_MIN_CHUNKS, min(CHECKPOINT_FRACTION * segment_chunks, CHECKPOINT_MAX_CHUNKS)
    )


def ann_kind_for(vector_index: str, ann_threshold: int | None) -> AnnKind:
    """The ANN structure a segment of n chunks gets under the index's `vector_index` setting:
    `auto` follows the measured policy (rag/index/vector_policy.json, written by
    bench/vectors.py; `ann_threshold` overrides its size); below that size, exact."""

    def kind(n: int) -> str | None:
        if vector_index == "flat":
            return None
        if vector_index != "auto":
            return vector_index
        policy_kind, threshold = ann_policy()
        return policy_kind if n >= (ann_threshold if ann_threshold is not None else threshold) else None

    return kind


def write_checkpoint(path: Path, store: Store, snap: Snapshot, ann_kind: AnnKind) -> str:
    """Persist every live chunk of `snap` as a new segment, switch the store to it (dropping
    the tombstones it makes moot) and remove the others; the new segment's name."""
    seg, delta = snap.segment, snap.delta
    keep = np.asarray(snap.alive[: seg.n])
    live = np.flatnonzero(keep)
    n = int(live.size) + len(delta)
    name = f"seg-{snap.generation + 1:010d}"
    logger.info("checkpoint: writing %s (%d chunks)", name, n)
    chunk_rowids = np.concatenate([np.asarray(seg.chunk_rowids)[live], delta.rowids])
    write_segment(
        path,
        name,
        chunk_rowids=chunk_rowids,
        article_rowids=np.concatenate([np.asarray(seg.article_rowids)[live], delta.article_rowids]),
        chunk_n=np.concatenate([np.asarray(seg.chunk_n)[live], delta.n]),
        starts=np.concatenate([np.asarray(seg.starts)[live], delta.starts]),
        ends=np.concatenate([np.asarray(seg.ends)[live], delta.ends]),
        vectors=np.concatenate([np.asarray(seg.vectors.matrix[live]), delta.vectors]),
        postings=Postings.concat(
            [seg.postings.keep(keep), Postings.from_docs(delta.term_ids, delta.term_counts)]
        ),
        ann_kind=ann_kind(n),
    )
    with store.write() as conn:
        conn.execute("DELETE FROM tombstones")
        Store.set_meta(
            conn,
            segment=name,
            segment_max_rowid=str(int(chunk_rowids.max()) if chunk_rowids.size else 0),
        )
        Store.bump_generation(conn)
    remove_other_segments(path, keep=name)
    return name


def write_with_new_terms(path: Path, store: Store, dim: int, ann_kind: AnnKind) -> str:
    """Write a segment of every chunk with the terms `refresh_terms` made, then switch the
    store to them and to it in one transaction (rag.index.terms, steps 2 and 3); its name."""
    with store.read() as conn:
        rows = new_chunk_rows(conn, dim)
        generation = int(store.meta(conn).get("generation", "0"))
    name = f"seg-{generation + 1:010d}"
    logger.info("upgrade: writing %s (%d chunks) with the new terms", name, len(rows))
    write_segment(
        path,
        name,
        chunk_rowids=rows.rowids,
        article_rowids=rows.article_rowids,
        chunk_n=rows.n,
        starts=rows.starts,
        ends=rows.ends,
        vectors=rows.vectors,
        postings=Postings.from_docs(rows.term_ids, rows.term_counts),
        ann_kind=ann_kind(len(rows)),
    )
    with store.write() as conn:
        switch_terms(conn, name, int(rows.rowids.max()) if len(rows) else 0)
    remove_other_segments(path, keep=name)
    return name
