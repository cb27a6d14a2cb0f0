"""The store's sentence rows and the words kept with them (`rag.sentence_words`).

    sentences    article rowid, offsets into the stored text, float16 vector, and the
                 sentence's words: canonical text, jieba word lengths, part-of-speech tags
    articles     (three columns of it) the title's words, the same three

The words are plain text columns (see `SentenceWords.encoded`). An index made before they
existed gets the columns, empty, when it is opened; `fill_words` (the `zhiwen upgrade`
command) computes what is missing, a batch of articles per transaction, and can be stopped
and run again at any point. The meta key `words_format` names the format the stored words
were made in; words of another format are not read (the answer stage computes them).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any

import numpy as np

from rag.index.rows import SentenceRows
from rag.sentence_words import WORDS_FORMAT, SentenceWords, analyse_many

logger = logging.getLogger(__name__)

_WORD_COLUMNS = {
    "sentences": ("canon", "words", "tags"),
    "articles": ("title_canon", "title_words", "title_tags"),
}
FORMAT_KEY = "words_format"


def add_word_columns(conn: sqlite3.Connection) -> None:
    """Give a store made before the words were stored their (empty) columns (inside a write
    transaction; the first process to open it does it, the others find them there)."""
    if has_word_columns(conn):
        return
    for table, cols in _WORD_COLUMNS.items():
        have = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
        for col in cols:
            if col not in have:
                conn.execute(f"ALTER TABLE {table} ADD COLUMN {col} TEXT")
    conn.execute("INSERT OR IGNORE INTO meta VALUES (?, ?)", (FORMAT_KEY, str(WORDS_FORMAT)))
    logger.info("added the sentence-word columns to an older index; `zhiwen upgrade` fills them")


def has_word_columns(conn: sqlite3.Connection) -> bool:
    return all(
        set(cols) <= {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
        for table, cols in _WORD_COLUMNS.items()
    )


def words_readable(conn: sqlite3.Connection) -> bool:
    """Whether the stored words are in this code's format."""
    row = conn.execute("SELECT value FROM meta WHERE key=?", (FORMAT_KEY,)).fetchone()
    return row is None or row[0] == str(WORDS_FORMAT)


def insert_sentences(
    conn: sqlite3.Connection,
    article_rowid: int,
    spans: Sequence[tuple[int, int]],
    vectors: np.ndarray,
    words: Sequence[SentenceWords] = (),
) -> None:
    """One article's sentences; `words` one per span, or none."""
    vecs = np.ascontiguousarray(vectors, dtype=np.float16)
    enc: list[tuple[str | None, ...]] = [w.encoded() for w in words] or [(None, None, None)] * len(spans)
    conn.executemany(
        "INSERT INTO sentences (article_rowid, start_off, end_off, vec, canon, words, tags) VALUES (?,?,?,?,?,?,?)",
        [(article_rowid, s, e, vecs[i].tobytes(), *enc[i]) for i, (s, e) in enumerate(spans)],
    )


def set_title_words(conn: sqlite3.Connection, titles: Sequence[tuple[int, tuple[str, str, str]]]) -> None:
    """Store titles' words: (article rowid, `SentenceWords.encoded()`) each."""
    conn.executemany(
        "UPDATE articles SET title_canon=?, title_words=?, title_tags=? WHERE rowid=?",
        [(*enc, rowid) for rowid, enc in titles],
    )


def _decoded(row: Sequence[str | None]) -> SentenceWords | None:
    canon, words, tags = row
    if canon is None or words is None or tags is None:
        return None
    return SentenceWords.decoded(canon, words, tags)  # parsed when used: see rag.answer.candidates.words_of


def read_sentences(
    conn: sqlite3.Connection, dim: int, article_rowid: int, start: int = 0, end: int | None = None
) -> SentenceRows:
    """The sentences of one article version lying in [start, end), by start, with their
    words and the title's (None where not stored, or stored in another format)."""
    rows = conn.execute(
        "SELECT start_off, end_off, vec, canon, words, tags FROM sentences"
        " WHERE article_rowid=? AND start_off>=? AND end_off<=? ORDER BY start_off",
        (article_rowid, start, end if end is not None else 2**62),
    ).fetchall()
    if not rows:
        return SentenceRows.empty(dim)
    readable = words_readable(conn)
    title_row = conn.execute(
        "SELECT title_canon, title_words, title_tags FROM articles WHERE rowid=?", (article_rowid,)
    ).fetchone()
    return _rows(dim, article_rowid, rows, title_row, readable)


def read_articles_sentences(
    conn: sqlite3.Connection, dim: int, article_rowids: Sequence[int]
) -> dict[int, SentenceRows]:
    """`read_sentences` of several whole articles, in two queries (what a question's hits
    read: a few articles, each read once), by article rowid (empty rows for one without
    sentences)."""
    keys = sorted(set(article_rowids))
    if not keys:
        return {}
    marks = ",".join("?" * len(keys))
    by_article: dict[int, list[tuple[int, int, bytes, str | None, str | None, str | None]]] = {}
    for r in conn.execute(
        "SELECT article_rowid, start_off, end_off, vec, canon, words, tags FROM sentences"
        f" WHERE article_rowid IN ({marks}) ORDER BY article_rowid, start_off",
        keys,
    ):
        by_article.setdefault(r[0], []).append(r[1:])
    if not by_article:
        return {a: SentenceRows.empty(dim) for a in keys}
    readable = words_readable(conn)
    titles = {
        r[0]: r[1:]
        for r in conn.execute(
            f"SELECT rowid, title_canon, title_words, title_tags FROM articles WHERE rowid IN ({marks})", keys
        )
    }
    return {
        a: _rows(dim, a, rows, titles.get(a), readable)
        if (rows := by_article.get(a))
        else SentenceRows.empty(dim)
        for a in keys
    }


def _rows(
    dim: int,
    article_rowid: int,
    rows: Sequence[Sequence[Any]],
    title_row: Sequence[str | None] | None,
    readable: bool,
) -> SentenceRows:
    """One article's sentence rows (start, end, vector, canon, words, tags), by start, as read."""
    k = len(rows)
    return SentenceRows(
        np.full(k, article_rowid, dtype=np.int64),
        np.fromiter((r[0] for r in rows), dtype=np.int64, count=k),
        np.fromiter((r[1] for r in rows), dtype=np.int64, count=k),
        np.frombuffer(b"".join(r[2] for r in rows), dtype=np.float16).reshape(k, dim),
        tuple(_decoded(r[3:]) if readable else None for r in rows),
        _decoded(title_row) if readable and title_row is not None else None,
    )


def articles_without_words(conn: sqlite3.Connection, after: int, limit: int) -> list[tuple[int, str, str]]:
    """(rowid, title, text) of up to `limit` articles after rowid `after` that have a
    sentence or a title without stored words, by rowid."""
    return [
        (int(r[0]), r[1], r[2])
        for r in conn.execute(
            "SELECT rowid, title, text FROM articles a WHERE rowid > ? AND ((title_words IS NULL AND title != '')"
            " OR EXISTS (SELECT 1 FROM sentences s WHERE s.article_rowid=a.rowid AND s.words IS NULL))"
            " ORDER BY rowid LIMIT ?",
            (after, limit),
        )
    ]


# one article to fill: rowid, title, and its sentences' (rowid, text)
_Todo = tuple[int, str, list[tuple[int, str]]]
# what filling one batch writes: each sentence's (canon, words, tags, rowid), each title's
_Filled = tuple[list[tuple[str, str, str, int]], list[tuple[int, tuple[str, str, str]]]]


def _read_batch(conn: sqlite3.Connection, after: int, limit: int) -> list[_Todo]:
    out: list[_Todo] = []
    for rowid, title, text in articles_without_words(conn, after, limit):
        sents = conn.execute(
            "SELECT rowid, start_off, end_off FROM sentences WHERE article_rowid=? ORDER BY start_off",
            (rowid,),
        ).fetchall()
        out.append((rowid, title, [(int(r), text[a:b]) for r, a, b in sents]))
    return out


def analyse_batch(todo: Sequence[_Todo]) -> _Filled:
    """The words of a batch of articles, encoded as stored (runs in a worker process)."""
    updates: list[tuple[str, str, str, int]] = []
    titles: list[tuple[int, tuple[str, str, str]]] = []
    for rowid, title, sents in todo:
        got = analyse_many([t for _, t in sents] + ([title] if title else []))
        updates.extend((*w.encoded(), r) for (r, _), (w, _) in zip(sents, got, strict=False))
        if title:
            titles.append((rowid, got[-1][0].encoded()))
    return updates, titles


def fill_words(
    conn: sqlite3.Connection,
    write: Callable[[], AbstractContextManager[sqlite3.Connection]],
    batch_articles: int = 256,
    progress: Callable[[int], None] | None = None,
    workers: int = 1,
) -> int:
    """Compute and store the words of every sentence and title that has none (or has them in
    another format, which are cleared first), `batch_articles` articles per transaction
    (`write`: the store's write transaction), computed by `workers` processes (1: here).
    Batches are committed in order; an interrupted run keeps the ones committed. Returns how
    many articles were filled. The caller holds the writer's lock."""
    if not words_readable(conn):
        with write() as c:
            c.execute("UPDATE sentences SET canon=NULL, words=NULL, tags=NULL")
            c.execute("UPDATE articles SET title_canon=NULL, title_words=NULL, title_tags=NULL")
            c.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (FORMAT_KEY, str(WORDS_FORMAT)))
    filled = 0

    def store(todo: list[_Todo], done: _Filled) -> None:
        nonlocal filled
        updates, titles = done
        with write() as c:
            c.executemany("UPDATE sentences SET canon=?, words=?, tags=? WHERE rowid=?", updates)
            set_title_words(c, titles)
        filled += len(todo)
        if progress is not None:
            progress(len(todo))

    batches = _batches(conn, batch_articles)
    if workers <= 1:
        for todo in batches:
            store(todo, analyse_batch(todo))
        return filled
    import multiprocessing
    from collections import deque
    from concurrent.futures import Future, ProcessPoolExecutor

    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("forkserver")) as pool:
        pending: deque[tuple[list[_Todo], Future[_Filled]]] = deque()
        for todo in batches:  # at most two batches per worker read ahead
            pending.append((todo, pool.submit(analyse_batch, todo)))
            if len(pending) >= 2 * workers:
                first, fut = pending.popleft()
                store(first, fut.result())
        while pending:
            first, fut = pending.popleft()
            store(first, fut.result())
    return filled


def _batches(conn: sqlite3.Connection, batch_articles: int) -> Iterator[list[_Todo]]:
    after = 0
    while todo := _read_batch(conn, after, batch_articles):
        after = todo[-1][0]
        yield todo
