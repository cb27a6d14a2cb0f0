"""zhiwen (知闻): question answering over Chinese news with verified citations.

Stages, one module each: ingest -> normalize -> chunk -> embed -> index -> retrieve -> answer.
"""

from rag import errors
from rag.answer import ask, search
from rag.chunk import chunk_article, split_sentences
from rag.embed import Embedder, FakeEmbedder, SentenceTransformerEmbedder, USEEmbedder, get_embedder
from rag.index import Index
from rag.ingest import decode_text, parse_bytes, parse_records, read_paths
from rag.normalize import detect_script, to_simplified, to_traditional
from rag.records import (
    AddStats,
    Answer,
    Article,
    Chunk,
    Citation,
    FileError,
    Filters,
    Hit,
    IngestResult,
    ShortAnswer,
    Turn,
    Upgraded,
    answer_to_dict,
    hits_to_dict,
)
from rag.retrieval_policy import RetrievalPolicy, retrieval_policy
from rag.sentence_words import SentenceWords
from rag.span import SpanRules, short_answer
from rag.span_rank import SpanModel, best_span

__all__ = [
    "AddStats",
    "Answer",
    "Article",
    "Chunk",
    "Citation",
    "Embedder",
    "FakeEmbedder",
    "FileError",
    "Filters",
    "Hit",
    "Index",
    "IngestResult",
    "RetrievalPolicy",
    "SentenceTransformerEmbedder",
    "SentenceWords",
    "ShortAnswer",
    "SpanModel",
    "SpanRules",
    "Turn",
    "USEEmbedder",
    "Upgraded",
    "answer_to_dict",
    "ask",
    "best_span",
    "chunk_article",
    "decode_text",
    "detect_script",
    "errors",
    "get_embedder",
    "hits_to_dict",
    "parse_bytes",
    "parse_records",
    "read_paths",
    "retrieval_policy",
    "search",
    "short_answer",
    "split_sentences",
    "to_simplified",
    "to_traditional",
]
