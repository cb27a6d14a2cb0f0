"""The index coordinator: opens the parts, runs writes, hands out snapshots.

Parts, each owning one on-disk format (see their modules): `store` (SQLite: articles,
chunks, vocabulary; the commit point), `segment` (persisted search structures: `.npy`
arrays and a FAISS file, memory-mapped), `manifest` (manifest.json) and `lock` (the
writer lock). Retrieval and answering read through `Index.snapshot()` only.

Writes: each batch of an `add` and each `delete` is one store transaction that bumps the
generation, so a crash or kill leaves the last committed state loadable. When enough has
changed since the persisted segment, a checkpoint (`rag.index.checkpoint`) writes a new
segment (all live chunks) and switches the store to it in one transaction.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

from rag.bm25 import TERMS_FORMAT
from rag.chunk import DEFAULT_OVERLAP, DEFAULT_TARGET
from rag.embed import Embedder
from rag.errors import EmbedderMismatchError, IndexCorruptError, IndexMissingError, InputError
from rag.index.checkpoint import ann_kind_for, due, write_checkpoint, write_with_new_terms
from rag.index.lock import writer_lock
from rag.index.manifest import FORMAT_VERSION, Manifest
from rag.index.rows import NewChunk
from rag.index.segment import Segment
from rag.index.sentences import FORMAT_KEY as WORDS_FORMAT_KEY
from rag.index.sentences import fill_words, insert_sentences, set_title_words
from rag.index.snapshot import Snapshot
from rag.index.store import STORE_FILE, Store, now_iso
from rag.index.terms import refresh_terms, stored_terms_format, terms_current
from rag.index.vectors import ANN_SPECS
from rag.prepare import PreparedArticle, RecentVectors
from rag.records import AddStats, Article, Upgraded

logger = logging.getLogger(__name__)

VECTOR_INDEX_KINDS = ("auto", "flat", *ANN_SPECS)
BATCH_ARTICLES = 128
UPGRADE_BATCH = 256  # articles whose sentence words `upgrade` commits at a time


class Index:
    """Hybrid (dense + BM25) index over articles, stored in one folder."""

    def __init__(
        self,
        path: Path,
        embedder: Embedder,
        *,
        chunk_target: int = DEFAULT_TARGET,
        chunk_overlap: int = DEFAULT_OVERLAP,
        vector_index: str = "auto",
        ann_threshold: int | None = None,
        store_words: bool = True,
    ) -> None:
        if vector_index not in VECTOR_INDEX_KINDS:
            raise InputError(f"vector_index {vector_index!r} is not one of {', '.join(VECTOR_INDEX_KINDS)}")
        self.path = Path(path)
        self.embedder = embedder
        self.chunk_target = chunk_target
        self.chunk_overlap = chunk_overlap
        self.vector_index = vector_index
        self.ann_threshold = ann_threshold
        self._ann_kind = ann_kind_for(vector_index, ann_threshold)
        # store each sentence's words as it is indexed (rag.sentence_words); False indexes
        # faster and leaves them to `upgrade` (answers compute them meanwhile)
        self.store_words = store_words
        self.store = Store(self.path)
        self._write_mutex = threading.RLock()
        self._snap_mutex = threading.Lock()
        self._snapshot: Snapshot | None = None
        self._segment: Segment | None = None
        # vectors of the texts this index embedded last, so repeated boilerplate is embedded once
        self.recent = RecentVectors()

    # ------------------------------------------------------------------ opening
    @classmethod
    def open(cls, path: str | Path, embedder: Embedder, *, create: bool = True, **options: object) -> Index:
        """Open the index at `path` (creating it when `create`)."""
        path = Path(path)
        if not (path / STORE_FILE).exists():
            if not create:
                raise IndexMissingError(
                    f"no index at {path}; build one with `zhiwen index PATH...` (or pass --index DIR)"
                )
            path.mkdir(parents=True, exist_ok=True)
        index = cls(path, embedder, **options)  # type: ignore[arg-type]
        index._check_meta()
        index.snapshot()
        return index

    def _check_meta(self) -> None:
        meta = self.store.init_schema(
            {
                "format_version": str(FORMAT_VERSION),
                "embedder": self.embedder.name,
                "dim": str(self.embedder.dim),
                "generation": "0",
                "chunk_target": str(self.chunk_target),
                "chunk_overlap": str(self.chunk_overlap),
                "segment": "",
                "segment_max_rowid": "0",
                "created": now_iso(),
            }
        )
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
        if not (self.path / "manifest.json").exists():
            self._write_manifest()
        if stored_terms_format(meta) != TERMS_FORMAT:
            logger.warning(
                "the index at %s was cut into search terms by an earlier zhiwen (terms format %s, this one "
                "makes %s): a few question terms (numbers in 万) no longer meet the stored ones; "
                "`zhiwen upgrade --index %s` makes them again from the stored text (nothing is re-embedded)",
                self.path,
                stored_terms_format(meta),
                TERMS_FORMAT,
                self.path,
            )

    # ------------------------------------------------------------------ reading
    def snapshot(self) -> Snapshot:
        """The view of the last committed generation (built again only when it changed)."""
        snap = self._snapshot
        if snap is not None and snap.generation == self.store.generation():
            return snap
        with self._snap_mutex:
            snap = self._snapshot
            if snap is None or snap.generation != self.store.generation():
                snap = self._snapshot = self._load_snapshot()
        return snap

    @contextlib.contextmanager
    def reading(self) -> Iterator[Snapshot]:
        """A consistent view for one query."""
        yield self.snapshot()

    def _load_snapshot(self) -> Snapshot:
        dim = self.embedder.dim
        for attempt in range(3):
            with self.store.read() as conn:
                meta = self.store.meta(conn)
                name = meta.get("segment", "")
                try:
                    segment = self._segment_named(name)
                except FileNotFoundError:
                    if attempt == 2:
                        raise
                    continue  # a checkpoint replaced it while we looked: read the store again
                except (ValueError, OSError) as exc:
                    raise IndexCorruptError(
                        f"the search structures of {self.path} are unreadable ({exc}); rebuild with "
                        f"`rm -rf {self.path} && zhiwen index PATH...`"
                    ) from exc
                delta = Store.chunks_after(conn, segment.max_rowid, dim)
                tomb = Store.tombstones(conn)
                generation = int(meta.get("generation", "0"))
            snap = Snapshot.build(self.store, generation, segment, delta, *tomb)
            logger.debug("snapshot %d: %d chunks (%d persisted)", generation, snap.n_alive, segment.n)
            return snap
        raise AssertionError("unreachable")

    def _segment_named(self, name: str) -> Segment:
        if self._segment is None or self._segment.name != name:
            self._segment = Segment.load(self.path, name, self.embedder.dim)
        return self._segment

    def get_article(self, article_id: str) -> Article:
        return self.store.get_article(article_id)

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
        return self.store.list_articles(offset, limit, source, since, until, q)

    def stats(self) -> dict[str, object]:
        snap = self.snapshot()
        return {
            "articles": self.store.count_articles(),
            "chunks": snap.n_alive,
            "embedder": self.embedder.name,
            "generation": snap.generation,
            "vector_index": snap.segment.ann_kind or "flat",
        }

    def __len__(self) -> int:
        return self.store.count_articles()

    # ------------------------------------------------------------------ writing
    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        with self._write_mutex, writer_lock(self.path):
            yield

    def pending(self, articles: Sequence[Article]) -> tuple[list[Article], int]:
        """The articles that need indexing (new or changed, last version of each id) and how
        many are unchanged. Raises InputError for an article without id or text."""
        latest: dict[str, Article] = {}
        for a in articles:
            if not a.id or not a.text.strip():
                raise InputError(f"article {a.id!r} has no id or no text; give every article an id and text")
            latest[a.id] = a
        stored = self.store.hashes(list(latest))
        todo = [a for a in latest.values() if stored.get(a.id, (0, ""))[1] != a.content_hash]
        return todo, len(latest) - len(todo)

    def add(
        self,
        articles: Sequence[Article],
        *,
        progress: bool = False,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> AddStats:
        """Add or replace articles (keyed by id); unchanged ones are skipped.

        Work is committed in batches, the next one prepared while one is committed; a crash
        loses at most the two batches under way.
        """
        from rag.prepare import ahead, prepare_articles

        todo, unchanged = self.pending(articles)
        batches = ahead(
            prepare_articles(
                todo[i : i + BATCH_ARTICLES],
                self.embedder,
                target=self.chunk_target,
                overlap=self.chunk_overlap,
                recent=self.recent,
                words=self.store_words,
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
        try:
            with self._writing():
                for batch in batches:
                    a, u, s, c = self._commit_batch(batch)
                    added, updated, unchanged, n_chunks = added + a, updated + u, unchanged + s, n_chunks + c
                    done += len(batch)
                    if bar:
                        bar.update(len(batch))
                    if on_progress:
                        on_progress(done, total or done)
                    self._maybe_checkpoint()
                self._write_manifest()
        finally:
            if bar:
                bar.close()
        return AddStats(added=added, updated=updated, unchanged=unchanged, chunks=n_chunks)

    def _commit_batch(self, batch: Sequence[PreparedArticle]) -> tuple[int, int, int, int]:
        """One transaction: replace or insert the batch's articles. Returns (added, updated,
        unchanged, chunks)."""
        for p in batch:
            if p.vectors.shape != (len(p.spans), self.embedder.dim):
                raise InputError(
                    f"article {p.article.id!r}: vectors of shape {p.vectors.shape} for {len(p.spans)} chunks "
                    f"of dimension {self.embedder.dim}; prepare it with this index's embedder"
                )
        stored = self.store.hashes([p.article.id for p in batch])
        added = updated = unchanged = n_chunks = 0
        now = now_iso()
        with self.store.write() as conn:
            seg_max = int(self.store.meta(conn).get("segment_max_rowid", "0"))
            all_terms = [t for p in batch for toks in p.tokens for t in toks]
            ids = Store.term_ids(conn, all_terms, create=True)
            for p in batch:
                old = stored.get(p.article.id)
                if old is not None and old[1] == p.article.content_hash:
                    unchanged += 1
                    continue
                if old is not None:
                    Store.delete_articles(conn, [old[0]], seg_max)
                    updated += 1
                else:
                    added += 1
                art_rowid = Store.insert_article(conn, p.article, now)
                chunks = []
                for (s, e), v, toks in zip(p.spans, p.vectors, p.tokens, strict=True):
                    tids, counts = np.unique(
                        np.fromiter((ids[t] for t in toks), np.int32, len(toks)), return_counts=True
                    )
                    chunks.append(NewChunk(s, e, v, tids.astype(np.int32), counts.astype(np.float32)))
                Store.insert_chunks(conn, art_rowid, chunks)
                if p.sentence_vectors is not None and p.sentence_spans:
                    insert_sentences(conn, art_rowid, p.sentence_spans, p.sentence_vectors, p.sentence_words)
                if p.title_words is not None:
                    set_title_words(conn, [(art_rowid, p.title_words.encoded())])
                n_chunks += len(chunks)
            if added or updated:
                Store.bump_generation(conn)
        return added, updated, unchanged, n_chunks

    def delete(self, article_id: str) -> int:
        """Delete an article, and the related items split off it, from every index.

        Returns how many articles were removed."""
        with self._writing():
            rowids = self.store.family(article_id)
            with self.store.write() as conn:
                seg_max = int(self.store.meta(conn).get("segment_max_rowid", "0"))
                Store.delete_articles(conn, rowids, seg_max)
                Store.bump_generation(conn)
            self._maybe_checkpoint()
            self._write_manifest()
        return len(rowids)

    # ------------------------------------------------------------------ checkpoints
    def _maybe_checkpoint(self) -> None:
        # counted in the store: building a snapshot after every batch to count its delta read
        # every uncheckpointed chunk again (quadratic over a long run)
        with self.store.read() as conn:
            segment = self._segment_named(self.store.meta(conn).get("segment", ""))
            changed = Store.changed_since(conn, segment.max_rowid)
        if due(changed, segment.n):
            write_checkpoint(self.path, self.store, self.snapshot(), self._ann_kind)

    def checkpoint(self) -> None:
        """Persist every live chunk as a new segment now (`zhiwen index --checkpoint`)."""
        with self._writing():
            write_checkpoint(self.path, self.store, self.snapshot(), self._ann_kind)
            self._write_manifest()

    def upgrade(self, *, progress: bool = False, workers: int | None = None) -> Upgraded:
        """Bring what an earlier zhiwen stored up to this one's formats (`zhiwen upgrade`):
        store the words of every sentence and title indexed without them or in another
        format (`rag.sentence_words`), and make the chunks' search terms again where they
        were made another way (`rag.index.terms`, then a checkpoint). A batch of articles per
        transaction: an interrupted run keeps what it committed and the next one goes on.
        Nothing is re-embedded. `workers`: processes computing the words (default: one per
        core, or none beyond this one for an index of a few batches)."""
        with self._writing():
            total = self.store.count_articles()
            if workers is None:
                workers = (os.cpu_count() or 1) if total > 2 * UPGRADE_BATCH else 1
            bar = None
            if progress:
                from tqdm import tqdm

                bar = tqdm(total=total, unit="art", desc="terms", leave=False)
            try:
                terms = refresh_terms(
                    self.store.conn(),
                    self.store.write,
                    UPGRADE_BATCH,
                    progress=bar.update if bar is not None else None,
                )
                if not terms_current(self.store.conn()):
                    write_with_new_terms(self.path, self.store, self.embedder.dim, self._ann_kind)
                    # (an earlier, interrupted run may have made them all)
                    terms = terms or self.store.count_articles()
                if bar is not None:
                    bar.reset()
                    bar.set_description("words")
                filled = fill_words(
                    self.store.conn(),
                    self.store.write,
                    UPGRADE_BATCH,
                    progress=bar.update if bar is not None else None,
                    workers=workers,
                )
            finally:
                if bar is not None:
                    bar.close()
            self._write_manifest()
        logger.info("upgrade: made the terms of %d articles again, stored the words of %d", terms, filled)
        return Upgraded(words=filled, terms=terms)

    def _write_manifest(self) -> None:
        snap = self.snapshot()
        with self.store.read() as conn:
            meta = self.store.meta(conn)
            words_format = int(meta.get(WORDS_FORMAT_KEY, "0"))
            terms_format = stored_terms_format(meta)
        Manifest(
            embedder=self.embedder.name,
            dim=self.embedder.dim,
            articles=self.store.count_articles(),
            chunks=snap.n_alive,
            generation=snap.generation,
            segment=snap.segment.name,
            segment_chunks=snap.segment.n,
            vector_index=snap.segment.ann_kind or "flat",
            chunk_target=self.chunk_target,
            chunk_overlap=self.chunk_overlap,
            updated=now_iso(),
            words_format=words_format,
            terms_format=terms_format,
        ).write(self.path)

    # ------------------------------------------------------------------ closing
    def close(self) -> None:
        self.store.close()
        self._snapshot = None
        self._segment = None

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
