"""Indexing throughput: the local pipeline against Ray with 1 and 2 embedding actors.

Each run indexes the same N CRUD articles (default 2,000, written once to a JSONL file)
into a fresh index, end to end: reading and parsing the file, splitting, tokenising,
embedding and committing. The Ray runs start their own local Ray instance (`num_cpus`
of this machine, default 2), so their time includes Ray's start-up; it is also reported
on its own: `ray.init` alone, and from `ray.init` to the first committed batch on a
10-article input (reading, actor start, embedder load, the first embedding call).

    .venv/bin/python bench/ray_ingest.py                  # 2,000 articles, local + Ray 1 and 2 actors
    .venv/bin/python bench/ray_ingest.py --articles 200   # a quick look
    .venv/bin/python bench/ray_ingest.py --writer-only    # the single writer's ceiling

Results: bench/results/ray_ingest.json (ray_ingest_writer.json for --writer-only).
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

from rag import Index, get_embedder, read_paths  # noqa: E402
from rag.distributed import RayOptions, ray_index  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpora" / "crud_news_2023.jsonl.gz"
RESULTS = ROOT / "bench" / "results"


def write_input(n: int, path: Path) -> None:
    with gzip.open(CORPUS, "rt", encoding="utf-8") as src, path.open("w", encoding="utf-8") as out:
        for line in itertools.islice(src, n):
            out.write(line)


def dir_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def local_run(data: Path, work: Path, spec: str) -> dict[str, object]:
    t = time.perf_counter()
    index = Index.open(work / "local", get_embedder(spec))
    articles = read_paths([data]).articles
    stats = index.add(articles)
    total = time.perf_counter() - t
    index.close()
    return {
        "run": "local",
        "articles": len(articles),
        "chunks": stats.chunks,
        "total_s": total,
        "articles_per_s": len(articles) / total,
        "chunks_per_s": stats.chunks / total,
        "index_mb": dir_mb(work / "local"),
        "load_average_1min": os.getloadavg()[0],
    }


def ray_run(data: Path, work: Path, spec: str, actors: int, cpus: int, name: str) -> dict[str, object]:
    t = time.perf_counter()
    index = Index.open(work / name, get_embedder(spec))  # the writer loads the embedder too (name check)
    run = ray_index(index, [data], options=RayOptions(num_cpus=cpus, actors=actors))
    total = time.perf_counter() - t
    index.close()
    return {
        "run": f"ray, {actors} actor{'s' if actors > 1 else ''}",
        "actors": actors,
        "articles": run.articles,
        "chunks": run.stats.chunks,
        "total_s": total,
        "articles_per_s": run.articles / total,
        "chunks_per_s": run.stats.chunks / total,
        "ray_init_s": run.start_s,
        "first_batch_s": run.first_batch_s,
        "index_mb": dir_mb(work / name),
        "load_average_1min": os.getloadavg()[0],
    }


def writer_run(data: Path, work: Path) -> dict[str, object]:
    """The single writer alone: `add_prepared` on articles prepared beforehand (with the fake
    embedder at USE's 512 dimensions, so no model time): the ceiling of any number of actors."""
    from rag.embed import FakeEmbedder
    from rag.prepare import prepare_articles

    emb = FakeEmbedder(512)
    index = Index.open(work / "writer", emb)
    articles = read_paths([data]).articles
    prepared = prepare_articles(articles, emb, target=index.chunk_target, overlap=index.chunk_overlap)
    t = time.perf_counter()
    stats = index.add_prepared([prepared[i : i + 128] for i in range(0, len(prepared), 128)])
    total = time.perf_counter() - t
    index.close()
    return {
        "run": "writer alone (add_prepared)",
        "articles": len(articles),
        "chunks": stats.chunks,
        "total_s": total,
        "articles_per_s": len(articles) / total,
        "chunks_per_s": stats.chunks / total,
        "load_average_1min": os.getloadavg()[0],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--articles", type=int, default=2000)
    ap.add_argument("--embedder", default="use")
    ap.add_argument("--cpus", type=int, default=2, help="num_cpus of the local Ray instance")
    ap.add_argument("--actors", default="1,2", help="embedding actor counts to run")
    ap.add_argument("--skip-local", action="store_true")
    ap.add_argument("--writer-only", action="store_true", help="only time the single writer")
    args = ap.parse_args()
    if not CORPUS.exists():
        sys.exit(f"{CORPUS} is absent: the shared corpora live in ../shared beside the project")
    rows: list[dict[str, object]] = []
    out: dict[str, object] = {
        "articles": args.articles,
        "embedder": args.embedder,
        "cpus": args.cpus,
        "machine_cpus": os.cpu_count(),
        "load_average_at_start": os.getloadavg(),
        "runs": rows,
    }

    def save() -> None:  # after every run, so a long run that is stopped keeps what it measured
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "ray_ingest.json").write_text(json.dumps(out, indent=2), encoding="utf-8")

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        data, small = work / "crud.jsonl", work / "crud10.jsonl"
        write_input(args.articles, data)
        write_input(10, small)
        if args.writer_only:
            row = writer_run(data, work)
            print(row)
            RESULTS.mkdir(parents=True, exist_ok=True)
            (RESULTS / "ray_ingest_writer.json").write_text(json.dumps(row, indent=2), encoding="utf-8")
            return
        # fixed cost: Ray start-up to the first committed batch on a tiny input
        start = ray_run(small, work, args.embedder, 1, args.cpus, "startup")
        print(f"ray start-up: init {start['ray_init_s']:.1f} s, first batch {start['first_batch_s']:.1f} s")
        out["startup"] = {k: start[k] for k in ("ray_init_s", "first_batch_s", "total_s")}
        save()
        if not args.skip_local:
            rows.append(local_run(data, work, args.embedder))
            print(rows[-1])
            save()
        for k in (int(x) for x in args.actors.split(",")):
            rows.append(ray_run(data, work, args.embedder, k, args.cpus, f"ray{k}"))
            print(rows[-1])
            save()
    out["load_average_at_end"] = os.getloadavg()
    save()
    print("\n| run | articles | chunks | time s | articles/s | chunks/s | ray.init s | first batch s |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        init = f"{r['ray_init_s']:.1f}" if "ray_init_s" in r else "—"
        first = f"{r['first_batch_s']:.1f}" if r.get("first_batch_s") is not None else "—"
        print(
            f"| {r['run']} | {r['articles']} | {r['chunks']} | {r['total_s']:.0f} | {r['articles_per_s']:.2f} "
            f"| {r['chunks_per_s']:.1f} | {init} | {first} |"
        )
    print(
        f"\nRay fixed start-up (10 articles): ray.init {start['ray_init_s']:.1f} s, first batch committed "
        f"after {start['first_batch_s']:.1f} s, whole run {start['total_s']:.1f} s"
    )


if __name__ == "__main__":
    main()
