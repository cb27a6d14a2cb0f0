"""The article store: one SQLite file, the source of truth and the commit point.

    articles     stored text (original script) and metadata, one row per article version
    chunks       offsets into the stored text, the chunk's vector and BM25 term counts
    sentences    sentence offsets and vectors (float16), for the answer stage, with their
                 words (`rag.index.sentences` reads and writes them)
    vocab        term <-> id (ids dense, never reused)
    tombstones   term counts of deleted chunks that the persisted lexical segment still
                 counts, so document frequencies stay exact until the next checkpoint
    meta         format version, embedder, generation, the current segment

Every write is one transaction that also bumps `generation`; readers in any process
notice a new generation and build a new snapshot. SQLite in WAL mode gives each read
transaction a consistent view.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

from rag.bm25 import TERMS_FORMAT
from rag.errors import IndexClosedError, IndexCorruptError, InputError, NotFoundError
from rag.index.rows import ArticleMeta, ChunkRows, NewChunk
from rag.index.sentences import FORMAT_KEY, add_word_columns, has_word_columns
from rag.records import Article, Filters
from rag.sentence_words import WORDS_FORMAT

STORE_FILE = "store.sqlite"
TERMS_FORMAT_KEY = "terms_format"  # how the chunks' terms were made (rag.index.terms)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS articles (
    rowid INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT UNIQUE NOT NULL, title TEXT NOT NULL, text TEXT NOT NULL,
    published TEXT, source TEXT, url TEXT, parent_id TEXT, path TEXT,
    hash TEXT NOT NULL, added_at TEXT NOT NULL,
    title_canon TEXT, title_words TEXT, title_tags TEXT);
CREATE INDEX IF NOT EXISTS articles_parent ON articles(parent_id);
CREATE INDEX IF NOT EXISTS articles_published ON articles(published);
CREATE INDEX IF NOT EXISTS articles_source ON articles(source);
CREATE TABLE IF NOT EXISTS chunks (
    rowid INTEGER PRIMARY KEY AUTOINCREMENT,
    article_rowid INTEGER NOT NULL, n INTEGER NOT NULL,
    start_off INTEGER NOT NULL, end_off INTEGER NOT NULL,
    vec BLOB NOT NULL, term_ids BLOB NOT NULL, term_counts BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS chunks_article ON chunks(article_rowid);
CREATE TABLE IF NOT EXISTS sentences (
    rowid INTEGER PRIMARY KEY AUTOINCREMENT,
    article_rowid INTEGER NOT NULL, start_off INTEGER NOT NULL, end_off INTEGER NOT NULL,
    vec BLOB NOT NULL, canon TEXT, words TEXT, tags TEXT);
CREATE INDEX IF NOT EXISTS sentences_article ON sentences(article_rowid, start_off);
CREATE TABLE IF NOT EXISTS vocab (id INTEGER PRIMARY KEY, term TEXT UNIQUE NOT NULL);
CREATE TABLE IF NOT EXISTS tombstones (
    chunk_rowid INTEGER PRIMARY KEY, term_ids BLOB NOT NULL, term_counts BLOB NOT NULL);
"""

_ARTICLE_COLS = "id, title, text, published, source, url, parent_id, path"


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class Store:
    """SQLite access: one connection per thread, explicit transactions."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.file = self.path / STORE_FILE
        self._local = threading.local()
        self._conns: list[sqlite3.Connection] = []
        self._conns_lock = threading.Lock()
        self._closed = False

    # ------------------------------------------------------------ connections
    def conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            if self._closed:
                raise IndexClosedError(f"the index at {self.path} was closed; open it again with Index.open")
            conn = sqlite3.connect(self.file, timeout=30.0, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
            with self._conns_lock:
                self._conns.append(conn)
        return conn

    def init_schema(self, initial_meta: dict[str, str]) -> dict[str, str]:
        """Create the tables if needed; return the meta table (written from `initial_meta` when new)."""
        conn = self.conn()
        try:
            conn.executescript(_SCHEMA)
            if not has_word_columns(conn):  # an index from before they were stored
                with self.write() as c:
                    add_word_columns(c)
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        except sqlite3.DatabaseError as exc:
            raise IndexCorruptError(
                f"{self.file} is not a readable index ({exc}); move it away and rebuild "
                "with `zhiwen index PATH...`"
            ) from exc
        if not meta:
            initial_meta = {
                **initial_meta,
                FORMAT_KEY: str(WORDS_FORMAT),
                TERMS_FORMAT_KEY: str(TERMS_FORMAT),
            }
            with self.write() as c:
                c.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", list(initial_meta.items()))
            meta = dict(initial_meta)
        return meta

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE ... COMMIT, rolled back on any error)."""
        conn = self.conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    @contextlib.contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """One read transaction: every query inside sees the same committed state."""
        conn = self.conn()
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")

    def close(self) -> None:
        self._closed = True
        with self._conns_lock:
            for c in self._conns:
                with contextlib.suppress(Exception):
                    c.close()
            self._conns.clear()
        self._local = threading.local()

    # ------------------------------------------------------------ meta
    def meta(self, conn: sqlite3.Connection | None = None) -> dict[str, str]:
        return dict((conn or self.conn()).execute("SELECT key, value FROM meta").fetchall())

    def generation(self) -> int:
        row = self.conn().execute("SELECT value FROM meta WHERE key='generation'").fetchone()
        return int(row[0]) if row else 0

    @staticmethod
    def set_meta(conn: sqlite3.Connection, **values: str) -> None:
        conn.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", list(values.items()))

    @staticmethod
    def bump_generation(conn: sqlite3.Connection) -> int:
        row = conn.execute("SELECT value FROM meta WHERE key='generation'").fetchone()
        generation = (int(row[0]) if row else 0) + 1
        Store.set_meta(conn, generation=str(generation))
        return generation

    # ------------------------------------------------------------ articles
    def hashes(self, ids: Sequence[str]) -> dict[str, tuple[int, str]]:
        """article id -> (rowid, content hash) for the ids that are stored."""
        out: dict[str, tuple[int, str]] = {}
        conn = self.conn()
        for i in range(0, len(ids), 500):
            part = list(ids[i : i + 500])
            marks = ",".join("?" * len(part))
            for aid, rowid, h in conn.execute(
                f"SELECT id, rowid, hash FROM articles WHERE id IN ({marks})", part
            ):
                out[aid] = (int(rowid), h)
        return out

    def get_article(self, article_id: str) -> Article:
        row = (
            self.conn().execute(f"SELECT {_ARTICLE_COLS} FROM articles WHERE id=?", (article_id,)).fetchone()
        )
        if row is None:
            raise NotFoundError(
                f"no article with id {article_id!r}; list ids with `zhiwen articles list` or GET /v1/articles"
            )
        return Article(*row)

    def texts(self, article_rowids: Iterable[int]) -> dict[int, str]:
        """Stored texts by article rowid (a rowid names one version of an article)."""
        ids = sorted({int(r) for r in article_rowids})
        out: dict[int, str] = {}
        conn = self.conn()
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            marks = ",".join("?" * len(part))
            out.update(conn.execute(f"SELECT rowid, text FROM articles WHERE rowid IN ({marks})", part))
        return out

    def metas(self, article_rowids: Iterable[int]) -> dict[int, ArticleMeta]:
        ids = sorted({int(r) for r in article_rowids})
        out: dict[int, ArticleMeta] = {}
        conn = self.conn()
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            marks = ",".join("?" * len(part))
            for row in conn.execute(
                f"SELECT rowid, id, title, published, source, parent_id FROM articles WHERE rowid IN ({marks})",
                part,
            ):
                out[int(row[0])] = ArticleMeta(int(row[0]), *row[1:])
        return out

    def rowids_of(self, article_ids: Iterable[str]) -> dict[str, int]:
        ids = list(dict.fromkeys(article_ids))
        out: dict[str, int] = {}
        conn = self.conn()
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            marks = ",".join("?" * len(part))
            out.update(conn.execute(f"SELECT id, rowid FROM articles WHERE id IN ({marks})", part))
        return out

    def allowed_rowids(self, filters: Filters) -> np.ndarray:
        """Article rowids that pass the date and outlet filters."""
        where, args = self._filter_clause(
            sources=[s.strip() for s in filters.sources if s.strip()],
            since=filters.since,
            until=filters.until,
        )
        rows = self.conn().execute(f"SELECT rowid FROM articles {where}", args).fetchall()
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))

    @staticmethod
    def _filter_clause(
        *,
        sources: Sequence[str] = (),
        since: str | None = None,
        until: str | None = None,
        q: str | None = None,
    ) -> tuple[str, list[object]]:
        where: list[str] = []
        args: list[object] = []
        if sources:
            where.append(f"source IN ({','.join('?' * len(sources))})")
            args.extend(sources)
        if since:
            where.append("published >= ?")
            args.append(since)
        if until:
            where.append("published <= ?")
            args.append(until + "\uffff")
        if q:
            where.append("(title LIKE ? OR id LIKE ?)")
            args.extend([f"%{q}%", f"%{q}%"])
        return (f"WHERE {' AND '.join(where)}" if where else ""), args

    def list_articles(
        self,
        offset: int = 0,
        limit: int = 50,
        source: str | None = None,
        since: str | None = None,
        until: str | None = None,
        q: str | None = None,
    ) -> tuple[list[Article], int]:
        if offset < 0 or limit < 0:
            raise InputError("offset and limit must be 0 or more")
        clause, args = self._filter_clause(sources=[source] if source else [], since=since, until=until, q=q)
        conn = self.conn()
        total = conn.execute(f"SELECT COUNT(*) FROM articles {clause}", args).fetchone()[0]
        rows = conn.execute(
            f"SELECT {_ARTICLE_COLS} FROM articles {clause} "
            "ORDER BY published IS NULL, published DESC, id LIMIT ? OFFSET ?",
            [*args, limit, offset],
        ).fetchall()
        return [Article(*r) for r in rows], int(total)

    def count_articles(self) -> int:
        return int(self.conn().execute("SELECT COUNT(*) FROM articles").fetchone()[0])

    def family(self, article_id: str) -> list[int]:
        """Rowids of an article and of the related items split off it (raises when unknown)."""
        conn = self.conn()
        row = conn.execute("SELECT rowid FROM articles WHERE id=?", (article_id,)).fetchone()
        if row is None:
            raise NotFoundError(
                f"no article with id {article_id!r}; list ids with `zhiwen articles list` or GET /v1/articles"
            )
        children = [r for (r,) in conn.execute("SELECT rowid FROM articles WHERE parent_id=?", (article_id,))]
        return [int(row[0]), *children]

    # ------------------------------------------------------------ writing (inside `write()`)
    @staticmethod
    def insert_article(conn: sqlite3.Connection, a: Article, added_at: str) -> int:
        cur = conn.execute(
            f"INSERT INTO articles ({_ARTICLE_COLS}, hash, added_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                a.id,
                a.title,
                a.text,
                a.published,
                a.source,
                a.url,
                a.parent_id,
                a.path,
                a.content_hash,
                added_at,
            ),
        )
        return int(cur.lastrowid or 0)

    @staticmethod
    def insert_chunks(conn: sqlite3.Connection, article_rowid: int, chunks: Sequence[NewChunk]) -> None:
        conn.executemany(
            "INSERT INTO chunks (article_rowid, n, start_off, end_off, vec, term_ids, term_counts)"
            " VALUES (?,?,?,?,?,?,?)",
            [
                (
                    article_rowid,
                    n,
                    c.start,
                    c.end,
                    np.ascontiguousarray(c.vector, dtype=np.float32).tobytes(),
                    np.ascontiguousarray(c.term_ids, dtype=np.int32).tobytes(),
                    np.ascontiguousarray(c.term_counts, dtype=np.float32).tobytes(),
                )
                for n, c in enumerate(chunks)
            ],
        )

    @staticmethod
    def delete_articles(
        conn: sqlite3.Connection, article_rowids: Sequence[int], segment_max_rowid: int
    ) -> None:
        """Delete articles and their chunks; chunks the persisted segment holds leave a tombstone."""
        for rid in article_rowids:
            conn.execute(
                "INSERT OR REPLACE INTO tombstones SELECT rowid, term_ids, term_counts FROM chunks"
                " WHERE article_rowid=? AND rowid<=?",
                (rid, segment_max_rowid),
            )
            conn.execute("DELETE FROM chunks WHERE article_rowid=?", (rid,))
            conn.execute("DELETE FROM sentences WHERE article_rowid=?", (rid,))
            conn.execute("DELETE FROM articles WHERE rowid=?", (rid,))

    @staticmethod
    def term_ids(conn: sqlite3.Connection, terms: Sequence[str], *, create: bool) -> dict[str, int]:
        """Ids of `terms`; with `create`, new terms get the next ids (inside a write transaction)."""
        out: dict[str, int] = {}
        uniq = list(dict.fromkeys(terms))
        for i in range(0, len(uniq), 500):
            part = uniq[i : i + 500]
            marks = ",".join("?" * len(part))
            out.update(conn.execute(f"SELECT term, id FROM vocab WHERE term IN ({marks})", part))
        if create:
            missing = [t for t in uniq if t not in out]
            if missing:
                row = conn.execute("SELECT COALESCE(MAX(id), -1) FROM vocab").fetchone()
                first = int(row[0]) + 1
                new = {t: first + i for i, t in enumerate(missing)}
                conn.executemany(
                    "INSERT INTO vocab (id, term) VALUES (?, ?)", [(i, t) for t, i in new.items()]
                )
                out.update(new)
        return out

    @staticmethod
    def vocab_size(conn: sqlite3.Connection) -> int:
        row = conn.execute("SELECT COALESCE(MAX(id), -1) FROM vocab").fetchone()
        return int(row[0]) + 1

    # ------------------------------------------------------------ reading chunks (inside `read()`)
    @staticmethod
    def chunks_after(conn: sqlite3.Connection, rowid: int, dim: int) -> ChunkRows:
        """Every chunk with a rowid above `rowid`, in rowid order."""
        rows = conn.execute(
            "SELECT rowid, article_rowid, n, start_off, end_off, vec, term_ids, term_counts "
            "FROM chunks WHERE rowid > ? ORDER BY rowid",
            (rowid,),
        ).fetchall()
        if not rows:
            return ChunkRows.empty(dim)
        k = len(rows)
        vecs = np.frombuffer(b"".join(r[5] for r in rows), dtype=np.float32)
        if vecs.size != k * dim:
            raise IndexCorruptError(
                "stored vectors do not match the index's dimension; rebuild with `zhiwen index PATH...`"
            )
        return ChunkRows(
            rowids=np.fromiter((r[0] for r in rows), dtype=np.int64, count=k),
            article_rowids=np.fromiter((r[1] for r in rows), dtype=np.int64, count=k),
            n=np.fromiter((r[2] for r in rows), dtype=np.int32, count=k),
            starts=np.fromiter((r[3] for r in rows), dtype=np.int64, count=k),
            ends=np.fromiter((r[4] for r in rows), dtype=np.int64, count=k),
            vectors=vecs.reshape(k, dim),
            term_ids=[np.frombuffer(r[6], dtype=np.int32) for r in rows],
            term_counts=[np.frombuffer(r[7], dtype=np.float32) for r in rows],
        )

    @staticmethod
    def changed_since(conn: sqlite3.Connection, rowid: int) -> int:
        """Chunks added after `rowid` plus persisted chunks deleted since (tombstones)."""
        row = conn.execute(
            "SELECT (SELECT COUNT(*) FROM chunks WHERE rowid > ?) + (SELECT COUNT(*) FROM tombstones)",
            (rowid,),
        ).fetchone()
        return int(row[0])

    @staticmethod
    def tombstones(conn: sqlite3.Connection) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
        rows = conn.execute(
            "SELECT chunk_rowid, term_ids, term_counts FROM tombstones ORDER BY chunk_rowid"
        ).fetchall()
        rowids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        return (
            rowids,
            [np.frombuffer(r[1], dtype=np.int32) for r in rows],
            [np.frombuffer(r[2], dtype=np.float32) for r in rows],
        )
