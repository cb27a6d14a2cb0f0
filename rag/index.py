"""The index: one folder of plain files.

    manifest.json   format version, embedder, dimension, counts, generation (human-readable)
    store.sqlite    articles (stored text), chunks (offsets, vector, BM25 term counts), vocabulary
    .lock           held by the one process writing
    vectors.hnsw    (large indexes only) the HNSW graph, a cache rebuilt when it does not match

SQLite is the source of truth and the commit point: every batch of an `add` and every
`delete` is one transaction, so a crash or kill leaves the last committed state loadable.
In memory the index keeps the vectors (FAISS), the BM25 postings and article metadata;
writers prepare work (chunking, tokens, embeddings) outside any lock, then commit and
apply it under an exclusive lock, so readers see the previous state until the new one is
complete. No pickle anywhere.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rag.bm25 import BM25Postings, Vocabulary, term_counts
from rag.chunk import DEFAULT_OVERLAP, DEFAULT_TARGET
from rag.embed import Embedder
from rag.errors import (
    EmbedderMismatchError,
    IndexCorruptError,
    IndexLockedError,
    IndexMissingError,
    InputError,
    NotFoundError,
)
from rag.prepare import PreparedArticle
from rag.records import AddStats, Article, Filters

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
# Above this many vectors, "auto" switches from exact (flat) search to HNSW.
# Measured with bench/bench_vectors.py: see README ("Vector index").
HNSW_THRESHOLD = 300_000
BATCH_ARTICLES = 128
HNSW_FILE = "vectors.hnsw"  # faiss's own binary format (no pickle); a cache of the graph
HNSW_ROWIDS_FILE = "vectors.hnsw.rowids.npy"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS articles (
    rowid INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT UNIQUE NOT NULL, title TEXT NOT NULL, text TEXT NOT NULL,
    published TEXT, source TEXT, url TEXT, parent_id TEXT, path TEXT,
    hash TEXT NOT NULL, added_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS articles_parent ON articles(parent_id);
CREATE TABLE IF NOT EXISTS chunks (
    rowid INTEGER PRIMARY KEY AUTOINCREMENT,
    article_rowid INTEGER NOT NULL, n INTEGER NOT NULL,
    start_off INTEGER NOT NULL, end_off INTEGER NOT NULL,
    vec BLOB NOT NULL, term_ids BLOB NOT NULL, term_counts BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS chunks_article ON chunks(article_rowid);
CREATE TABLE IF NOT EXISTS vocab (id INTEGER PRIMARY KEY, term TEXT UNIQUE NOT NULL);
"""


class RWLock:
    """Many readers or one writer; a waiting writer blocks new readers."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writer = False
        self._waiting = 0

    @contextlib.contextmanager
    def read(self) -> Iterator[None]:
        with self._cond:
            while self._writer or self._waiting:
                self._cond.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                self._cond.notify_all()

    @contextlib.contextmanager
    def write(self) -> Iterator[None]:
        with self._cond:
            self._waiting += 1
            while self._writer or self._readers:
                self._cond.wait()
            self._waiting -= 1
            self._writer = True
        try:
            yield
        finally:
            with self._cond:
                self._writer = False
                self._cond.notify_all()


@dataclass(slots=True)
class ArticleMeta:
    rowid: int
    id: str
    title: str
    published: str | None
    source: str | None
    parent_id: str | None
    positions: list[int] = field(default_factory=list)


@dataclass(slots=True)
class _Prepared:
    article: Article
    replaces: int | None  # rowid of the version it replaces
    spans: list[tuple[int, int]]
    vectors: np.ndarray
    terms: list[tuple[np.ndarray, np.ndarray]]


class _State:
    """Everything a reader needs, for positions 0..n-1."""

    def __init__(self, dim: int) -> None:
        import faiss

        self.n = 0
        self.vectors = np.zeros((1024, dim), dtype=np.float32)
        self.faiss = faiss.IndexFlatIP(dim)
        self.rowids = np.zeros(0, dtype=np.int64)  # position -> chunk rowid
        self.art = np.zeros(0, dtype=np.int64)  # position -> article rowid
        self.starts = np.zeros(0, dtype=np.int64)
        self.ends = np.zeros(0, dtype=np.int64)
        self.chunk_n = np.zeros(0, dtype=np.int32)
        self.bm25 = BM25Postings()
        self.articles: dict[int, ArticleMeta] = {}  # article rowid -> meta
        self.by_id: dict[str, int] = {}  # article id -> rowid
        self.generation = 0

    @property
    def alive(self) -> np.ndarray:
        return self.bm25.alive

    def append(
        self,
        vectors: np.ndarray,
        rowids: np.ndarray,
        art: np.ndarray,
        starts: np.ndarray,
        ends: np.ndarray,
        chunk_n: np.ndarray,
        terms: Sequence[tuple[np.ndarray, np.ndarray]],
        n_terms: int,
    ) -> None:
        k = vectors.shape[0]
        need = self.n + k
        if need > self.vectors.shape[0]:
            cap = max(need, 2 * self.vectors.shape[0])
            grown = np.zeros((cap, self.vectors.shape[1]), dtype=np.float32)
            grown[: self.n] = self.vectors[: self.n]
            self.vectors = grown
        self.vectors[self.n : need] = vectors
        if k:
            self.faiss.add(vectors)
        self.rowids = np.concatenate([self.rowids, rowids])
        self.art = np.concatenate([self.art, art])
        self.starts = np.concatenate([self.starts, starts])
        self.ends = np.concatenate([self.ends, ends])
        self.chunk_n = np.concatenate([self.chunk_n, chunk_n])
        self.bm25.add(terms, n_terms)
        self.n = need


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _vec_blob(v: np.ndarray) -> bytes:
    return np.ascontiguousarray(v, dtype=np.float32).tobytes()


class Index:
    """Hybrid (FAISS + BM25) index over articles, stored in one folder."""

    def __init__(
        self,
        path: Path,
        embedder: Embedder,
        *,
        chunk_target: int = DEFAULT_TARGET,
        chunk_overlap: int = DEFAULT_OVERLAP,
        vector_index: str = "auto",
        hnsw_threshold: int = HNSW_THRESHOLD,
    ) -> None:
        if vector_index not in ("auto", "flat", "hnsw"):
            raise InputError(f"vector_index {vector_index!r} is not one of auto, flat, hnsw")
        self.path = Path(path)
        self.embedder = embedder
        self.chunk_target = chunk_target
        self.chunk_overlap = chunk_overlap
        self.vector_index = vector_index
        self.hnsw_threshold = hnsw_threshold
        self.vocab = Vocabulary()
        self._rw = RWLock()
        self._write_mutex = threading.RLock()
        self._local = threading.local()
        self._conns: list[sqlite3.Connection] = []
        self._conns_lock = threading.Lock()
        self._state = _State(embedder.dim)
        self._hnsw = None  # faiss.IndexHNSWFlat when in use
        self._hnsw_dirty = False
        self._closed = False

    # ------------------------------------------------------------------ opening
    @classmethod
    def open(cls, path: str | Path, embedder: Embedder, *, create: bool = True, **options: object) -> Index:
        """Open the index at `path` (creating it when `create`)."""
        path = Path(path)
        db = path / "store.sqlite"
        if not db.exists():
            if not create:
                raise IndexMissingError(
                    f"no index at {path}; build one with `zhiwen index PATH...` (or pass --index DIR)"
                )
            path.mkdir(parents=True, exist_ok=True)
        index = cls(path, embedder, **options)  # type: ignore[arg-type]
        index._init_db()
        index._reload()
        return index

    def _connect(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            if self._closed:
                raise IndexMissingError(f"the index at {self.path} was closed; open it again")
            conn = sqlite3.connect(
                self.path / "store.sqlite", timeout=30.0, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
            with self._conns_lock:
                self._conns.append(conn)
        return conn

    def _init_db(self) -> None:
        conn = self._connect()
        try:
            conn.executescript(_SCHEMA)
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        except sqlite3.DatabaseError as exc:
            raise IndexCorruptError(
                f"{self.path / 'store.sqlite'} is not a readable index ({exc}); move it away and rebuild "
                "with `zhiwen index PATH...`"
            ) from exc
        if not meta:
            with self._transaction(conn):
                conn.executemany(
                    "INSERT OR REPLACE INTO meta VALUES (?, ?)",
                    [
                        ("format_version", str(FORMAT_VERSION)),
                        ("embedder", self.embedder.name),
                        ("dim", str(self.embedder.dim)),
                        ("generation", "0"),
                        ("chunk_target", str(self.chunk_target)),
                        ("chunk_overlap", str(self.chunk_overlap)),
                        ("created", _now()),
                    ],
                )
            self._write_manifest()
            return
        if int(meta.get("format_version", "0")) != FORMAT_VERSION:
            raise IndexCorruptError(
                f"index at {self.path} has format {meta.get('format_version')}, this zhiwen reads "
                f"{FORMAT_VERSION}; rebuild it: `rm -rf {self.path} && zhiwen index PATH...`"
            )
        if meta["embedder"] != self.embedder.name or int(meta["dim"]) != self.embedder.dim:
            raise EmbedderMismatchError(
                f"the index at {self.path} was built with embedder {meta['embedder']!r} "
                f"(dim {meta['dim']}), not {self.embedder.name!r} (dim {self.embedder.dim}). Open it with "
                f"the embedder that built it, or rebuild: `rm -rf {self.path} && zhiwen index PATH... "
                f"--embedder SPEC`"
            )
        self.chunk_target = int(meta.get("chunk_target", self.chunk_target))
        self.chunk_overlap = int(meta.get("chunk_overlap", self.chunk_overlap))

    @contextlib.contextmanager
    def _transaction(self, conn: sqlite3.Connection) -> Iterator[None]:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _db_generation(self, conn: sqlite3.Connection) -> int:
        row = conn.execute("SELECT value FROM meta WHERE key='generation'").fetchone()
        return int(row[0]) if row else 0

    def _reload(self) -> None:
        """Build the in-memory state from the store (at open, and when another process wrote)."""
        conn = self._connect()
        state = _State(self.embedder.dim)
        conn.execute("BEGIN")  # one consistent snapshot
        try:
            state.generation = self._db_generation(conn)
            vocab = Vocabulary(t for (t,) in conn.execute("SELECT term FROM vocab ORDER BY id"))
            for rowid, aid, title, published, source, parent in conn.execute(
                "SELECT rowid, id, title, published, source, parent_id FROM articles"
            ):
                state.articles[rowid] = ArticleMeta(rowid, aid, title, published, source, parent)
                state.by_id[aid] = rowid
            rows = conn.execute(
                "SELECT rowid, article_rowid, n, start_off, end_off, vec, term_ids, term_counts "
                "FROM chunks ORDER BY rowid"
            ).fetchall()
        finally:
            conn.execute("COMMIT")
        dim = self.embedder.dim
        if rows:
            vecs = np.frombuffer(b"".join(r[5] for r in rows), dtype=np.float32).reshape(len(rows), dim)
            terms = [
                (np.frombuffer(r[6], dtype=np.int32), np.frombuffer(r[7], dtype=np.float32)) for r in rows
            ]
            state.append(
                vecs,
                np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows)),
                np.fromiter((r[1] for r in rows), dtype=np.int64, count=len(rows)),
                np.fromiter((r[3] for r in rows), dtype=np.int64, count=len(rows)),
                np.fromiter((r[4] for r in rows), dtype=np.int64, count=len(rows)),
                np.fromiter((r[2] for r in rows), dtype=np.int32, count=len(rows)),
                terms,
                len(vocab),
            )
            state.bm25.merge()
            for pos, art in enumerate(state.art.tolist()):
                meta = state.articles.get(art)
                if meta is None:
                    raise IndexCorruptError(
                        f"chunk of unknown article in {self.path}; rebuild with `zhiwen index PATH...`"
                    )
                meta.positions.append(pos)
        hnsw = self._build_hnsw(state)
        with self._rw.write():
            self.vocab = vocab
            self._state = state
            self._hnsw = hnsw
        logger.info("loaded index %s: %d articles, %d chunks", self.path, len(state.articles), state.n)

    def _use_hnsw(self, n: int) -> bool:
        return self.vector_index == "hnsw" or (self.vector_index == "auto" and n >= self.hnsw_threshold)

    def _build_hnsw(self, state: _State):  # type: ignore[no-untyped-def]
        """HNSW over the state's vectors: from the on-disk cache when it matches, else built."""
        if not self._use_hnsw(state.n):
            return None
        import faiss

        cache, cache_rows = self.path / HNSW_FILE, self.path / HNSW_ROWIDS_FILE
        if cache.exists() and cache_rows.exists():
            try:
                rows = np.load(cache_rows, allow_pickle=False)
                if np.array_equal(rows, state.rowids[: state.n]):
                    h = faiss.read_index(str(cache))
                    if h.ntotal == state.n:
                        h.hnsw.efSearch = 128  # type: ignore[attr-defined]
                        logger.info("HNSW loaded from %s", cache)
                        return h
            except (OSError, ValueError, RuntimeError) as exc:
                logger.warning("ignoring the HNSW cache %s (%s); rebuilding it", cache, exc)
        logger.info("building HNSW over %d vectors", state.n)
        h = faiss.IndexHNSWFlat(self.embedder.dim, 32, faiss.METRIC_INNER_PRODUCT)
        h.hnsw.efConstruction = 80
        h.hnsw.efSearch = 128
        h.add(state.vectors[: state.n])
        self._hnsw_dirty = True
        return h

    def _save_hnsw(self) -> None:
        """Write the HNSW graph and the chunk rowids it covers (a cache: checked at load)."""
        if self._hnsw is None or not self._hnsw_dirty:
            return
        import faiss

        tmp_rows = self.path / (HNSW_ROWIDS_FILE + ".tmp")
        tmp_index = self.path / (HNSW_FILE + ".tmp")
        with open(tmp_rows, "wb") as f:
            np.save(f, self._state.rowids[: self._state.n], allow_pickle=False)
        faiss.write_index(self._hnsw, str(tmp_index))
        os.replace(tmp_rows, self.path / HNSW_ROWIDS_FILE)
        os.replace(tmp_index, self.path / HNSW_FILE)
        self._hnsw_dirty = False

    def _check_fresh(self) -> None:
        """Reload if another process committed since we loaded."""
        if not self._write_mutex.acquire(blocking=False):
            return  # a write of ours is under way; it keeps the state current
        try:
            if self._db_generation(self._connect()) != self._state.generation:
                logger.info("index %s changed on disk; reloading", self.path)
                self._init_db()
                self._reload()
        finally:
            self._write_mutex.release()

    # ------------------------------------------------------------------ locking
    @contextlib.contextmanager
    def _process_lock(self) -> Iterator[None]:
        lock_path = self.path / ".lock"
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip() or "another process"
                raise IndexLockedError(
                    f"the index at {self.path} is being written by pid {holder}; wait for that "
                    "`zhiwen index` (or server upload) to finish, then retry"
                ) from None
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
            try:
                yield
            finally:
                os.ftruncate(fd, 0)
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    @contextlib.contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        with self._write_mutex, self._process_lock():
            conn = self._connect()
            if self._db_generation(conn) != self._state.generation:
                self._reload()
            yield conn

    # ------------------------------------------------------------------ writing
    def pending(self, articles: Sequence[Article]) -> tuple[list[Article], int]:
        """The articles that need indexing (new or changed, last version of each id) and how
        many are unchanged. Raises InputError for an article without id or text."""
        latest: dict[str, Article] = {}
        for a in articles:
            if not a.id or not a.text.strip():
                raise InputError(f"article {a.id!r} has no id or no text; give every article an id and text")
            latest[a.id] = a
        conn = self._connect()
        todo: list[Article] = []
        for a in latest.values():
            row = conn.execute("SELECT hash FROM articles WHERE id=?", (a.id,)).fetchone()
            if not (row and row[0] == a.content_hash):
                todo.append(a)
        return todo, len(latest) - len(todo)

    def add(
        self,
        articles: Sequence[Article],
        *,
        progress: bool = False,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> AddStats:
        """Add or replace articles (keyed by id); unchanged ones are skipped.

        Work is committed in batches; a crash loses at most the batch under way.
        """
        from rag.prepare import prepare_articles

        todo, unchanged = self.pending(articles)
        batches = (
            prepare_articles(
                todo[i : i + BATCH_ARTICLES],
                self.embedder,
                target=self.chunk_target,
                overlap=self.chunk_overlap,
            )
            for i in range(0, len(todo), BATCH_ARTICLES)
        )
        return self.add_prepared(
            batches,
            total=len(todo) + unchanged,
            skipped=unchanged,
            progress=progress,
            on_progress=on_progress,
        )

    def add_prepared(
        self,
        batches: Iterable[Sequence[PreparedArticle]],
        *,
        total: int | None = None,
        skipped: int = 0,
        progress: bool = False,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> AddStats:
        """Commit prepared articles (`rag.prepare`), one transaction per batch, as they arrive.

        `skipped` unchanged articles count as done for progress. A prepared article whose
        stored version already has the same content hash is skipped (a resumed run)."""
        added = updated = n_chunks = 0
        unchanged = skipped
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=total, unit="article", desc="indexing", initial=skipped)
        done = skipped
        if on_progress:
            on_progress(done, total or 0)
        with self._writing() as conn:
            for batch in batches:
                todo: list[tuple[PreparedArticle, int | None]] = []
                for p in batch:
                    row = conn.execute(
                        "SELECT rowid, hash FROM articles WHERE id=?", (p.article.id,)
                    ).fetchone()
                    if row and row[1] == p.article.content_hash:
                        unchanged += 1
                    else:
                        todo.append((p, row[0] if row else None))
                vocab_len = len(self.vocab)
                try:
                    prepared = [self._with_term_ids(p, rid) for p, rid in todo]
                    self._commit_batch(conn, prepared, vocab_len)
                except BaseException:
                    self._truncate_vocab(vocab_len)
                    raise
                for q in prepared:
                    n_chunks += len(q.spans)
                    if q.replaces is None:
                        added += 1
                    else:
                        updated += 1
                done += len(batch)
                if bar:
                    bar.update(len(batch))
                if on_progress:
                    on_progress(done, total or done)
            self._write_manifest()
            self._save_hnsw()
        if bar:
            bar.close()
        return AddStats(added=added, updated=updated, unchanged=unchanged, chunks=n_chunks)

    def _with_term_ids(self, p: PreparedArticle, replaces: int | None) -> _Prepared:
        terms = [term_counts(list(t), self.vocab) for t in p.tokens]
        return _Prepared(p.article, replaces, list(p.spans), p.vectors, terms)

    def _truncate_vocab(self, length: int) -> None:
        for term in self.vocab.terms[length:]:
            del self.vocab.ids[term]
        del self.vocab.terms[length:]

    def _commit_batch(self, conn: sqlite3.Connection, prepared: list[_Prepared], vocab_len: int) -> None:
        now = _now()
        new_rows: list[tuple[int, list[int], _Prepared]] = []
        dead: list[tuple[int, np.ndarray]] = []
        replaced: list[int] = []

        def write() -> None:
            for p in prepared:
                if p.replaces is not None:
                    dead.extend(self._delete_rows(conn, [p.replaces]))
                    replaced.append(p.replaces)
                a = p.article
                cur = conn.execute(
                    "INSERT INTO articles (id, title, text, published, source, url, parent_id, path, hash,"
                    " added_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (a.id, a.title, a.text, a.published, a.source, a.url, a.parent_id, a.path,
                     a.content_hash, now),
                )  # fmt: skip
                art_rowid = int(cur.lastrowid or 0)
                chunk_rowids = []
                for n, ((s, e), vec, (ids, counts)) in enumerate(
                    zip(p.spans, p.vectors, p.terms, strict=True)
                ):
                    c = conn.execute(
                        "INSERT INTO chunks (article_rowid, n, start_off, end_off, vec, term_ids, term_counts)"
                        " VALUES (?,?,?,?,?,?,?)",
                        (art_rowid, n, s, e, _vec_blob(vec), ids.tobytes(), counts.tobytes()),
                    )
                    chunk_rowids.append(int(c.lastrowid or 0))
                new_rows.append((art_rowid, chunk_rowids, p))
            conn.executemany(
                "INSERT INTO vocab (id, term) VALUES (?, ?)",
                [(i, self.vocab.terms[i]) for i in range(vocab_len, len(self.vocab))],
            )

        def apply() -> None:
            self._apply_delete(dead, replaced)
            self._apply_add(new_rows)

        self._commit(conn, write, apply)

    def _commit(self, conn: sqlite3.Connection, write: Callable[[], None], apply: Callable[[], None]) -> None:
        """Run `write` in one transaction that also bumps the generation; then, under the
        exclusive lock, commit and `apply` the same change in memory, so readers see either
        the old state or the new one."""
        conn.execute("BEGIN IMMEDIATE")
        try:
            write()
            generation = self._state.generation + 1
            conn.execute("UPDATE meta SET value=? WHERE key='generation'", (str(generation),))
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        with self._rw.write():
            conn.execute("COMMIT")
            apply()
            self._state.generation = generation

    def _delete_rows(self, conn: sqlite3.Connection, art_rowids: list[int]) -> list[tuple[int, np.ndarray]]:
        """Delete articles and their chunks inside the open transaction; return (position, term ids)."""
        state = self._state
        out: list[tuple[int, np.ndarray]] = []
        for rid in art_rowids:
            for crow, tids in conn.execute(
                "SELECT rowid, term_ids FROM chunks WHERE article_rowid=?", (rid,)
            ):
                pos = int(np.searchsorted(state.rowids, crow))  # rowids ascend with position
                if pos < state.n and state.rowids[pos] == crow:
                    out.append((pos, np.frombuffer(tids, dtype=np.int32)))
            conn.execute("DELETE FROM chunks WHERE article_rowid=?", (rid,))
            conn.execute("DELETE FROM articles WHERE rowid=?", (rid,))
        return out

    def _apply_delete(self, dead: list[tuple[int, np.ndarray]], art_rowids: list[int]) -> None:
        state = self._state
        state.bm25.delete(dead)
        for rid in art_rowids:
            meta = state.articles.pop(rid, None)
            if meta is not None and state.by_id.get(meta.id) == rid:
                del state.by_id[meta.id]

    def _apply_add(self, new_rows: list[tuple[int, list[int], _Prepared]]) -> None:
        state = self._state
        if not new_rows:
            return
        vecs = np.concatenate([p.vectors for _, _, p in new_rows]).astype(np.float32, copy=False)
        rowids, art, starts, ends, ns = [], [], [], [], []
        terms: list[tuple[np.ndarray, np.ndarray]] = []
        pos = state.n
        for art_rowid, chunk_rowids, p in new_rows:
            a = p.article
            meta = ArticleMeta(art_rowid, a.id, a.title, a.published, a.source, a.parent_id)
            for n, (crow, (s, e)) in enumerate(zip(chunk_rowids, p.spans, strict=True)):
                rowids.append(crow)
                art.append(art_rowid)
                starts.append(s)
                ends.append(e)
                ns.append(n)
                meta.positions.append(pos)
                pos += 1
            terms.extend(p.terms)
            state.articles[art_rowid] = meta
            state.by_id[a.id] = art_rowid
        state.append(
            vecs,
            np.array(rowids, dtype=np.int64),
            np.array(art, dtype=np.int64),
            np.array(starts, dtype=np.int64),
            np.array(ends, dtype=np.int64),
            np.array(ns, dtype=np.int32),
            terms,
            len(self.vocab),
        )
        if self._hnsw is not None:
            self._hnsw.add(vecs)
            self._hnsw_dirty = True
        elif self._use_hnsw(state.n):
            self._hnsw = self._build_hnsw(state)

    def delete(self, article_id: str) -> int:
        """Delete an article, and the related items split off it, from every index.

        Returns how many articles were removed."""
        with self._writing() as conn:
            rowid = self._state.by_id.get(article_id)
            if rowid is None:
                raise NotFoundError(
                    f"no article with id {article_id!r}; list ids with `zhiwen articles list` or GET /v1/articles"
                )
            children = [r for r, m in self._state.articles.items() if m.parent_id == article_id]
            rowids = [rowid, *children]
            dead: list[tuple[int, np.ndarray]] = []
            self._commit(
                conn,
                lambda: dead.extend(self._delete_rows(conn, rowids)),
                lambda: self._apply_delete(dead, rowids),
            )
            self._write_manifest()
            state = self._state
            if state.n > 2000 and state.bm25.n_alive < 0.7 * state.n:
                self._reload()  # compact: drop the dead positions
        return len(rowids)

    def _write_manifest(self) -> None:
        state = self._state
        manifest = {
            "format": "zhiwen-index",
            "format_version": FORMAT_VERSION,
            "embedder": self.embedder.name,
            "dim": self.embedder.dim,
            "articles": len(state.articles),
            "chunks": int(state.bm25.n_alive),
            "generation": state.generation,
            "chunk_target": self.chunk_target,
            "chunk_overlap": self.chunk_overlap,
            "vector_index": "hnsw" if self._hnsw is not None else "flat",
            "updated": _now(),
            "files": {"store.sqlite": "articles, chunks (offsets, vectors, BM25 term counts), vocabulary"},
        }
        tmp = self.path / "manifest.json.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(manifest, f, ensure_ascii=False, indent=2)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path / "manifest.json")

    # ------------------------------------------------------------------ reading
    @contextlib.contextmanager
    def reading(self) -> Iterator[_State]:
        """A consistent view for one query (used by `rag.retrieve`)."""
        self._check_fresh()
        with self._rw.read():
            yield self._state

    def allowed_mask(self, state: _State, filters: Filters | None) -> np.ndarray | None:
        """Positions allowed by the filters (None = all)."""
        if filters is None or filters.is_empty():
            return None
        sources = {s.strip() for s in filters.sources if s.strip()}
        since = filters.since or ""
        until = (filters.until or "") + "\uffff" if filters.until else ""
        ok = []
        for rid, m in state.articles.items():
            if sources and (m.source or "") not in sources:
                continue
            pub = m.published or ""
            if since and (not pub or pub < since):
                continue
            if until and (not pub or pub > until):
                continue
            ok.append(rid)
        return np.isin(state.art, np.array(ok, dtype=np.int64)) & state.alive

    def dense_search(
        self, state: _State, query_vec: np.ndarray, k: int, mask: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(positions, cosine scores) of the k best alive (and allowed) chunks."""
        alive = state.alive
        if state.n == 0 or k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        q = query_vec.reshape(1, -1).astype(np.float32)
        if mask is not None:  # filtered: exact search over the allowed subset
            pos = np.flatnonzero(mask)
            sims = state.vectors[pos] @ q[0]
            top = np.argsort(-sims)[:k]
            return pos[top], sims[top]
        n_dead = state.n - int(alive.sum())
        kk = min(state.n, k + n_dead if n_dead < 4 * k else 4 * k + n_dead // 4 + 16)
        searcher = self._hnsw if self._hnsw is not None else state.faiss
        sims, ids = searcher.search(q, kk)
        ids, sims = ids[0], sims[0]
        keep = (ids >= 0) & (ids < state.n)
        ids, sims = ids[keep], sims[keep]
        keep = alive[ids]
        ids, sims = ids[keep], sims[keep]
        if ids.size < min(k, int(alive.sum())):  # too many dead among the nearest: exact fallback
            pos = np.flatnonzero(alive)
            all_sims = state.vectors[pos] @ q[0]
            top = np.argsort(-all_sims)[:k]
            return pos[top], all_sims[top]
        return ids[:k].astype(np.int64), sims[:k]

    def texts(self, article_rowids: Sequence[int]) -> dict[int, str]:
        """Stored texts of articles by rowid."""
        ids = sorted(set(int(r) for r in article_rowids))
        if not ids:
            return {}
        conn = self._connect()
        marks = ",".join("?" * len(ids))
        return dict(
            conn.execute(f"SELECT rowid, text FROM articles WHERE rowid IN ({marks})", ids).fetchall()
        )

    def get_article(self, article_id: str) -> Article:
        row = (
            self._connect()
            .execute(
                "SELECT id, title, text, published, source, url, parent_id, path FROM articles WHERE id=?",
                (article_id,),
            )
            .fetchone()
        )
        if row is None:
            raise NotFoundError(
                f"no article with id {article_id!r}; list ids with `zhiwen articles list` or GET /v1/articles"
            )
        return Article(*row)

    def list_articles(
        self,
        offset: int = 0,
        limit: int = 50,
        source: str | None = None,
        since: str | None = None,
        until: str | None = None,
        q: str | None = None,
    ) -> tuple[list[Article], int]:
        """A page of articles (newest first) and the total matching the filters."""
        if offset < 0 or limit < 0:
            raise InputError("offset and limit must be 0 or more")
        where, args = [], []
        if source:
            where.append("source = ?")
            args.append(source)
        if since:
            where.append("published >= ?")
            args.append(since)
        if until:
            where.append("published <= ?")
            args.append(until + "\uffff")
        if q:
            where.append("(title LIKE ? OR id LIKE ?)")
            args.extend([f"%{q}%", f"%{q}%"])
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        conn = self._connect()
        total = conn.execute(f"SELECT COUNT(*) FROM articles {clause}", args).fetchone()[0]
        rows = conn.execute(
            "SELECT id, title, text, published, source, url, parent_id, path FROM articles "
            f"{clause} ORDER BY published IS NULL, published DESC, id LIMIT ? OFFSET ?",
            [*args, limit, offset],
        ).fetchall()
        return [Article(*r) for r in rows], int(total)

    def stats(self) -> dict[str, object]:
        state = self._state
        return {
            "articles": len(state.articles),
            "chunks": int(state.bm25.n_alive),
            "embedder": self.embedder.name,
            "generation": state.generation,
            "vector_index": "hnsw" if self._hnsw is not None else "flat",
        }

    def __len__(self) -> int:
        return len(self._state.articles)

    def close(self) -> None:
        with contextlib.suppress(OSError, RuntimeError):
            self._save_hnsw()
        self._closed = True
        with self._conns_lock:
            for c in self._conns:
                with contextlib.suppress(Exception):
                    c.close()
            self._conns.clear()
        self._local = threading.local()

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
