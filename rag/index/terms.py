"""Making the chunks' BM25 terms again from the stored text, when the way terms are made has
changed (`rag.bm25.TERMS_FORMAT`, kept in the store's meta as `terms_format`; `zhiwen upgrade`).

A question's terms are made by this code; an index whose chunks were cut by an earlier form
still answers, but a term made differently on the two sides no longer meets (the first open
logs that `zhiwen upgrade` makes them again). Nothing is re-embedded. The run:

1. a batch of articles per transaction: each chunk's terms made from its article's stored
   text exactly as indexing makes them (`rag.prepare.tokenize_plan`: the title line's tokens
   and those of the stored sentences the chunk is made of), written to a side table
   `chunk_terms_new` (new terms join the vocabulary). Readers still search the committed
   terms; an interrupted run keeps its batches and the next one goes on from there;
2. one transaction: the chunks take their new terms, the side table goes, and the persisted
   segment is let go (its postings hold the old terms): every chunk is read from the store
   until
3. a checkpoint writes a segment of the new terms (`Index.upgrade` does it at once).

Killed between 2 and 3, the index opens with every chunk read from the store: correct,
slower to open, until the next checkpoint (`zhiwen index --checkpoint`, `zhiwen upgrade`).
"""

from __future__ import annotations

import bisect
import logging
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

import numpy as np

from rag.bm25 import TERMS_FORMAT, tokenize
from rag.chunk import context_header
from rag.index.store import TERMS_FORMAT_KEY as FORMAT_KEY
from rag.index.store import Store
from rag.records import Article

logger = logging.getLogger(__name__)

_SIDE = "chunk_terms_new"
# an index from before the key was kept made its terms in the first format
_UNNAMED_FORMAT = "1"


def terms_current(conn: sqlite3.Connection) -> bool:
    """Whether the stored chunks' terms are made the way this code makes a question's."""
    row = conn.execute("SELECT value FROM meta WHERE key=?", (FORMAT_KEY,)).fetchone()
    return (row[0] if row is not None else _UNNAMED_FORMAT) == str(TERMS_FORMAT)


# one article's chunks to make again: (chunk rowid, term ids, term counts)
_Terms = list[tuple[int, np.ndarray, np.ndarray]]


def chunk_tokens(
    article: Article, chunks: list[tuple[int, int]], sentences: list[tuple[int, int]]
) -> list[list[str]]:
    """The BM25 tokens of an article's stored chunks (start, end), as indexing made them: the
    title line's tokens, then those of each stored sentence inside the chunk (the chunk's own
    text where the article has no stored sentences)."""
    header = context_header(article)
    head = tokenize(header) if header else []
    if not sentences:
        return [head + tokenize(article.text[a:b]) for a, b in chunks]
    per_sentence = [tokenize(article.text[a:b]) for a, b in sentences]
    starts = [a for a, _ in sentences]
    ends = [b for _, b in sentences]
    out = []
    for a, b in chunks:
        lo, hi = bisect.bisect_left(starts, a), bisect.bisect_right(ends, b)
        out.append(head + [t for tokens in per_sentence[lo:hi] for t in tokens])
    return out


def _todo(conn: sqlite3.Connection, after: int, limit: int) -> list[tuple[int, Article]]:
    rows = conn.execute(
        f"SELECT rowid, id, title, text, published, source FROM articles a WHERE rowid > ? AND EXISTS"
        f" (SELECT 1 FROM chunks c WHERE c.article_rowid=a.rowid AND c.rowid NOT IN (SELECT chunk_rowid FROM {_SIDE}))"
        " ORDER BY rowid LIMIT ?",
        (after, limit),
    ).fetchall()
    return [(int(r[0]), Article(id=r[1], title=r[2], text=r[3], published=r[4], source=r[5])) for r in rows]


def _batches(conn: sqlite3.Connection, batch_articles: int) -> Iterator[list[tuple[int, Article]]]:
    after = 0
    while todo := _todo(conn, after, batch_articles):
        after = todo[-1][0]
        yield todo


def refresh_terms(
    conn: sqlite3.Connection,
    write: Callable[[], AbstractContextManager[sqlite3.Connection]],
    batch_articles: int = 256,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Steps 1 and 2 above (`write`: the store's write transaction). Returns how many articles' chunks were made again; 0 when the terms
    are current. The caller holds the writer's lock and checkpoints afterwards."""
    if terms_current(conn):
        return 0
    with write() as c:
        c.execute(
            f"CREATE TABLE IF NOT EXISTS {_SIDE} (chunk_rowid INTEGER PRIMARY KEY, term_ids BLOB NOT NULL, term_counts BLOB NOT NULL)"
        )
    done = 0
    for todo in _batches(conn, batch_articles):
        made: list[tuple[int, list[str]]] = []
        for rowid, article in todo:
            chunks = conn.execute(
                "SELECT rowid, start_off, end_off FROM chunks WHERE article_rowid=? ORDER BY n", (rowid,)
            ).fetchall()
            sentences = conn.execute(
                "SELECT start_off, end_off FROM sentences WHERE article_rowid=? ORDER BY start_off", (rowid,)
            ).fetchall()
            tokens = chunk_tokens(article, [(a, b) for _, a, b in chunks], [(a, b) for a, b in sentences])
            made.extend((int(r[0]), toks) for r, toks in zip(chunks, tokens, strict=True))
        with write() as c:
            ids = Store.term_ids(c, [t for _, toks in made for t in toks], create=True)
            rows = []
            for chunk_rowid, toks in made:
                tids, counts = np.unique(
                    np.fromiter((ids[t] for t in toks), np.int32, len(toks)), return_counts=True
                )
                rows.append(
                    (chunk_rowid, tids.astype(np.int32).tobytes(), counts.astype(np.float32).tobytes())
                )
            c.executemany(f"INSERT OR REPLACE INTO {_SIDE} VALUES (?, ?, ?)", rows)
        done += len(todo)
        if progress is not None:
            progress(len(todo))
    with write() as c:
        c.execute(
            f"UPDATE chunks SET term_ids=n.term_ids, term_counts=n.term_counts FROM {_SIDE} n"
            " WHERE n.chunk_rowid=chunks.rowid"
        )
        c.execute(f"DROP TABLE {_SIDE}")
        c.execute("DELETE FROM tombstones")  # no segment left for them to correct
        c.executemany(
            "INSERT OR REPLACE INTO meta VALUES (?, ?)",
            [("segment", ""), ("segment_max_rowid", "0"), (FORMAT_KEY, str(TERMS_FORMAT))],
        )
        Store.bump_generation(c)
    logger.info("made the terms of %d articles' chunks again", done)
    return done
