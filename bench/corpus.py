"""Index the whole CRUD news corpus (68,221 articles), resumably, and report the run.

Reads ../shared/corpora/crud_news_2023.jsonl.gz as a stream and adds it in slices; every
slice is committed in batches, and articles already committed with the same content are
skipped, so a run that was interrupted (Ctrl-C, kill -9) continues where it stopped when
started again. At the end: a checkpoint (persisted search structures), a consistency
check (the store, the vectors and BM25 agree on the live chunks), and the figures: wall
time of this run, articles/s and chunks/s, the raw embedder's rate on the same kind of
texts (a sample), size on disk and peak memory.

    .venv/bin/python bench/corpus.py                       # all 68,221 articles
    .venv/bin/python bench/corpus.py --limit 5000          # the first 5,000
"""

from __future__ import annotations

import argparse
import gzip
import json
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT))

from rag import Embedder, Index, get_embedder, parse_records  # noqa: E402
from rag.prepare import plan_chunks  # noqa: E402

CORPUS = SHARED / "corpora" / "crud_news_2023.jsonl.gz"
RESULTS = ROOT / "bench" / "results"


def records(limit: int | None):  # type: ignore[no-untyped-def]
    with gzip.open(CORPUS, "rt", encoding="utf-8") as f:
        for i, line in enumerate(f):
            if limit is not None and i >= limit:
                return
            if line.strip():
                yield json.loads(line)


class CountedEmbedder(Embedder):
    """The embedder, counting the characters of the documents it is asked to embed (the
    pipeline embeds a repeated text once: `rag.prepare.RecentVectors`)."""

    def __init__(self, inner: Embedder) -> None:
        self.inner, self.name, self.dim, self.chars = inner, inner.name, inner.dim, 0

    def encode(self, texts, *, kind="document"):  # type: ignore[no-untyped-def]
        return self.inner.encode(texts, kind=kind)

    def encode_documents(self, texts):  # type: ignore[no-untyped-def]
        self.chars += sum(map(len, texts))
        return self.inner.encode_documents(texts)


def dir_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def check_consistency(index: Index) -> dict[str, int]:
    """Live chunks as the store, the BM25 statistics and the vectors count them."""
    snap = index.snapshot()
    store_chunks = index.store.conn().execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
    vector_rows = snap.segment.vectors.n + snap.delta.vectors.shape[0]
    counts = {
        "store_chunks": int(store_chunks),
        "bm25_live": int(snap.lexical.n_alive),
        "vector_rows_live": int(vector_rows - (~snap.alive).sum()),
        "articles": index.store.count_articles(),
    }
    if not counts["store_chunks"] == counts["bm25_live"] == counts["vector_rows_live"]:
        raise SystemExit(f"inconsistent index: {counts}")
    return counts


def embedder_rate(emb, articles, n: int) -> float:  # type: ignore[no-untyped-def]
    """Texts/s of the raw embedder on exactly what the pipeline embeds for `n` articles."""
    texts = [t for a in articles[:n] for t in plan_chunks(a).embed_texts]
    emb.encode_documents(texts[:32])
    t = time.perf_counter()
    for i in range(0, len(texts), 256):
        emb.encode_documents(texts[i : i + 256])
    return len(texts) / (time.perf_counter() - t)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--index",
        type=Path,
        default=Path.home() / ".cache" / "zhiwen" / "bench" / "crud68k",
        help="outside the work tree by default, so a later checkout can resume the run",
    )
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--slice", type=int, default=4096, help="articles read and added per step")
    ap.add_argument("--sample", type=int, default=300, help="articles for the raw-embedder rate")
    args = ap.parse_args()
    if not CORPUS.exists():
        print(f"skipped: {CORPUS} is absent (the corpora live in ../shared)")
        return 0
    emb = get_embedder("use")
    counted = CountedEmbedder(emb)
    index = Index.open(args.index, counted)
    to_embed_chars = 0  # characters of the texts of the articles this run indexes
    t0 = time.perf_counter()
    added = chunks = unchanged = 0
    batch: list[dict] = []
    first_slice = None

    def flush() -> None:
        nonlocal added, chunks, unchanged, first_slice, to_embed_chars
        arts = parse_records(batch, CORPUS.name).articles
        if first_slice is None:
            first_slice = arts
        todo, _ = index.pending(arts)
        to_embed_chars += sum(len(t) for a in todo for t in plan_chunks(a).embed_texts)
        st = index.add(arts, progress=True)
        added, chunks, unchanged = added + st.added + st.updated, chunks + st.chunks, unchanged + st.unchanged
        rate = added / max(1e-9, time.perf_counter() - t0)
        print(f"{added + unchanged} read, {added} indexed, {unchanged} already there; {rate:.1f} articles/s",
              file=sys.stderr, flush=True)  # fmt: skip
        batch.clear()

    for r in records(args.limit):
        batch.append(r)
        if len(batch) >= args.slice:
            flush()
    if batch:
        flush()
    index.checkpoint()
    wall = time.perf_counter() - t0
    counts = check_consistency(index)
    stats = index.stats()
    index.close()
    t = time.perf_counter()
    Index.open(args.index, emb).close()
    open_s = time.perf_counter() - t
    raw = embedder_rate(emb, first_slice or [], args.sample)
    sample_texts = sum(len(plan_chunks(a).embed_texts) for a in (first_slice or [])[: args.sample])
    sample_chunks = sum(len(plan_chunks(a).spans) for a in (first_slice or [])[: args.sample])
    out = {
        "articles_indexed_this_run": added,
        "articles_already_there": unchanged,
        "chunks_this_run": chunks,
        "wall_s": wall,
        "articles_per_s": added / wall if added else None,
        "chunks_per_s": chunks / wall if added else None,
        "embedder_texts_per_s": raw,
        "embedder_articles_per_s": raw * args.sample / max(1, sample_texts),
        "texts_per_chunk": sample_texts / max(1, sample_chunks),
        "pipeline_over_embedder": (raw * args.sample / max(1, sample_texts)) / (added / wall)
        if added
        else None,
        # the share of the indexed articles' text characters the embedder was given: a text
        # repeated in the run (boilerplate) is embedded once while the index remembers it
        "embedded_chars_share": counted.chars / to_embed_chars if to_embed_chars else None,
        "index_mb": dir_mb(args.index),
        "open_s": open_s,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "vector_index": stats["vector_index"],
        **counts,
    }
    print(json.dumps(out, indent=2))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "corpus.json").write_text(json.dumps(out, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
