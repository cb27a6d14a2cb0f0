"""Stage 1: read articles from files, uploads and JSON records.

Formats: `.txt` / `.md` (the seeds' layout: title line, an optional "date [time] outlet"
line, then the body, optionally followed by a related-items section), `.jsonl`,
`.jsonl.gz` and `.json` (a list of records or `{"articles": [...]}`).

Nothing here raises for one bad file or record: every failure becomes a `FileError`
(path, reason that says what to do, line) and the rest of the batch goes through.
`Article.text` is the body in its original script; citation offsets refer to it.

Parts: `files` (paths, uploads, duplicate ids), `reading` (limits and streaming reads),
`decode` (bytes to text), `json_records` and `text_layout` (the two kinds of content),
`fields` (ids, titles, dates), `skip` (how a file or record is refused).
"""

from rag.ingest.fields import MAX_ID_CHARS
from rag.ingest.files import (
    SUPPORTED_TYPES,
    decode_text,
    merge_results,
    parse_bytes,
    parse_records,
    read_paths,
    supported,
)
from rag.ingest.reading import ByteBudget, IngestLimits, shared_budget

__all__ = [
    "MAX_ID_CHARS",
    "SUPPORTED_TYPES",
    "ByteBudget",
    "IngestLimits",
    "decode_text",
    "merge_results",
    "parse_bytes",
    "parse_records",
    "read_paths",
    "shared_budget",
    "supported",
]
