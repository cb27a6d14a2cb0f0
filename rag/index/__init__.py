"""The index: one folder of plain files, in parts that each own one format.

    manifest.json        (manifest) what the folder holds, human-readable
    store.sqlite         (store) articles, chunks, vocabulary: the source of truth
    segments/<name>/     (segment, vectors, lexical) persisted search structures, mapped
    .lock                (lock) held by the one process writing

`Index` (core) coordinates them; `Snapshot` is the read-only view queries use.
No pickle anywhere.
"""

from rag.index.core import BATCH_ARTICLES, VECTOR_INDEX_KINDS, Index
from rag.index.manifest import FORMAT_VERSION
from rag.index.rows import ArticleMeta, SentenceRows
from rag.index.snapshot import Snapshot

__all__ = [
    "BATCH_ARTICLES",
    "FORMAT_VERSION",
    "VECTOR_INDEX_KINDS",
    "ArticleMeta",
    "Index",
    "SentenceRows",
    "Snapshot",
]
