"""`manifest.json`: a human-readable description of the index folder.

The store's `meta` table is authoritative (it commits with the data); the manifest is
rewritten after every change so a person (or a tool) can see what an index holds
without opening SQLite: format, embedder, counts, generation, the current segment.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rag.bm25 import TERMS_FORMAT
from rag.sentence_words import WORDS_FORMAT

FORMAT_VERSION = 2
MANIFEST_FILE = "manifest.json"


@dataclass(slots=True)
class Manifest:
    embedder: str
    dim: int
    articles: int
    chunks: int
    generation: int
    segment: str
    segment_chunks: int
    vector_index: str
    chunk_target: int
    chunk_overlap: int
    updated: str
    format: str = "zhiwen-index"
    format_version: int = FORMAT_VERSION
    # the format of the words stored with the sentences (rag.sentence_words)
    words_format: int = WORDS_FORMAT
    # how the chunks' search terms were made (rag.index.terms)
    terms_format: int = TERMS_FORMAT
    files: dict[str, str] = field(
        default_factory=lambda: {
            "store.sqlite": "articles (stored text), chunks (offsets, vectors, BM25 term counts), sentences (offsets, vectors, words), vocabulary",
            "segments/<name>/": "persisted search structures: vectors.npy (+ vectors.faiss), bm25_*.npy, chunks_*.npy",
        }
    )

    def write(self, index_path: Path) -> None:
        tmp = index_path / (MANIFEST_FILE + ".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(asdict(self), f, ensure_ascii=False, indent=2)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, index_path / MANIFEST_FILE)


def read_manifest(index_path: Path) -> dict[str, object]:
    return dict(json.loads((index_path / MANIFEST_FILE).read_text(encoding="utf-8")))
