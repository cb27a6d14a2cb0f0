"""Making the chunks' BM25 terms again from the stored text, when the way terms are made has
changed (`rag.bm25.TERMS_FORMAT`, kept in the store's meta as `terms_format`; `zhiwen upgrade`).

A question's terms are made by this code; an index whose chunks were cut by an earlier form
still answers, but a term made differently on the two sides no longer meets (the first open
logs that `zhiwen upgrade` makes them again). Nothing is re-embedded. The run
(`Index.upgrade`):

1. `refresh_terms`: a batch of articles per transaction, each chunk's terms made from its
   article's stored text exactly as indexing makes them (the title line's tokens and those of
   the stored sentences the chunk is made of), written to a side table `chunk_terms_new` (new
   terms join the vocabulary). Readers still search the committed terms; an interrupted run
   keeps its batches and the next one goes on from there;
2. `new_chunk_rows`: every chunk with its new terms, from which the index writes a new
   persisted segment beside the current one (readers do not see it yet);
3. `switch_terms`, one transaction: the chunks take their new terms, the side table goes, and
   the meta names the new segment. Readers go from the old segment to the new one between two
   questions; no reader ever scores chunks from the store in memory meanwhile.

Killed before 3, the index opens as it was (old terms, old segment) and the next run goes on.
"""

from __future__ import annotations

import dataclasses
import logging
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager

import numpy as np

from rag.bm25 import TERMS_FORMAT, tokenize
from rag.chunk import context_header
from rag.index.rows import ChunkRows
from rag.index.store import TERMS_FORMAT_KEY as FORMAT_KEY
from rag.index.store import Store
from rag.prepare import ChunkPlan, tokenize_plan
from rag.records import Article

logger = logging.getLogger(__name__)

_SIDE = "chunk_terms_new"


def stored_terms_format(meta: Mapping[str, str]) -> int:
    """The terms format a store's meta names (an index from before the key was kept made its
    terms in the first)."""
    return int(meta.get(FORMAT_KEY, "1"))


def terms_current(conn: sqlite3.Connection) -> bool:
    """Whether the stored chunks' terms are made the way this code makes a question's."""
    meta = dict(conn.execute("SELECT key, value FROM meta WHERE key=?", (FORMAT_KEY,)).fetchall())
    return stored_terms_format(meta) == TERMS_FORMAT


def chunk_tokens(
    article: Article, chunks: list[tuple[int, int]], sentences: list[tuple[int, int]]
) -> list[list[str]]:
    """The BM25 tokens of an article's stored chunks (start, end), as indexing made them
    (`rag.prepare.tokenize_plan` over the stored chunk and sentence spans: the title line's
    tokens, then those of each stored sentence inside the chunk; the chunk's own text where the
    article has no stored sentences)."""
    header = context_header(article)
    if not sentences:
        head = tokenize(header) if header else []
        return [head + tokenize(article.text[a:b]) for a, b in chunks]
    texts = tuple(article.text[a:b] for a, b in sentences)
    plan = ChunkPlan(
        article, tuple(chunks), (), tuple(sentences), ((header,) if header else ()) + texts, bool(header)
    )
    return [list(t) for t in tokenize_plan(plan, words=False).chunk_tokens]


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
    """Step 1 above (`write`: the store's write transaction): the new terms of every chunk not
    yet in the side table. Returns how many articles' chunks it made (0 when the terms are
    current, or all were made by an earlier run). The caller holds the writer's lock."""
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
    if done:
        logger.info("made the terms of %d articles' chunks again", done)
    return done


def new_chunk_rows(conn: sqlite3.Connection, dim: int) -> ChunkRows:
    """Step 2 above: every chunk, in rowid order, with the terms `refresh_terms` made for it
    (run it first; a chunk it has not made is an error)."""
    rows = Store.chunks_after(conn, 0, dim)
    made = {
        int(r[0]): (np.frombuffer(r[1], dtype=np.int32), np.frombuffer(r[2], dtype=np.float32))
        for r in conn.execute(f"SELECT chunk_rowid, term_ids, term_counts FROM {_SIDE}")
    }
    missing = [int(r) for r in rows.rowids if int(r) not in made]
    if missing:
        raise RuntimeError(
            f"{len(missing)} chunks have no new terms (first rowid {missing[0]}); run refresh_terms"
        )
    new = [made[int(r)] for r in rows.rowids]
    return dataclasses.replace(rows, term_ids=[t for t, _ in new], term_counts=[c for _, c in new])


def switch_terms(conn: sqlite3.Connection, segment: str, max_rowid: int) -> None:
    """Step 3 above, inside a write transaction: the chunks take their new terms, and the meta
    names `segment` (written from `new_chunk_rows`, holding every chunk up to `max_rowid`)."""
    conn.execute(
        f"UPDATE chunks SET term_ids=n.term_ids, term_counts=n.term_counts FROM {_SIDE} n"
        " WHERE n.chunk_rowid=chunks.rowid"
    )
    conn.execute(f"DROP TABLE {_SIDE}")
    conn.execute("DELETE FROM tombstones")  # the new segment holds only live chunks
    conn.executemany(
        "INSERT OR REPLACE INTO meta VALUES (?, ?)",
        [("segment", segment), ("segment_max_rowid", str(max_rowid)), (FORMAT_KEY, str(TERMS_FORMAT))],
    )
    Store.bump_generation(conn)
