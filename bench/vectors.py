"""Vector index choice on real data: exact (flat) vs HNSW vs IVF, with and without
compression, on the chunk vectors of a built index and real questions.

For each structure and growing prefixes of the index's vectors: build time, size in
memory (FAISS's serialised size), query p50/p95 and recall@10 against exact search.
Queries are real questions (the dev sets' and first sentences of indexed articles),
encoded with the index's embedder.

    .venv/bin/python bench/vectors.py --index .zhiwen/bench/crud68k
    .venv/bin/python bench/vectors.py --index .zhiwen/bench/crud68k --write-policy

`--write-policy` writes `rag/index/vector_policy.json`: the size from which `auto` builds an
ANN structure, and which one, chosen from this run's table (the smallest size at which
exact search's p50 exceeds `--exact-budget-ms`, and the fastest structure whose
recall@10 is at least `--min-recall`).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

import faiss
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT))

from rag import Index, get_embedder, to_simplified  # noqa: E402
from rag.index.vectors import ANN_SPECS, POLICY_FILE, build_ann  # noqa: E402

RESULTS = ROOT / "bench" / "results"


def questions(index: Index, n: int) -> list[str]:
    qs: list[str] = []
    for name in ("cmrc2018_dev_qa.jsonl", "drcd_dev_qa.jsonl"):
        p = SHARED / "eval" / name
        if p.exists():
            with open(p, encoding="utf-8") as f:
                qs += [json.loads(line)["question"] for line in itertools.islice(f, n // 4)]
    arts, _ = index.list_articles(limit=n)
    qs += [a.text.split("。")[0][:60] for a in arts if len(a.text) > 20]
    return [to_simplified(q) for q in qs[:n]]


def timed_search(ix: object, q: np.ndarray, k: int) -> tuple[np.ndarray, float]:
    t = time.perf_counter()
    _, ids = ix.search(q[None, :], k)  # type: ignore[attr-defined]
    return ids[0], (time.perf_counter() - t) * 1000


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--index", type=Path, required=True, help="an index built with `zhiwen index` (checkpointed)"
    )
    ap.add_argument("--sizes", default="20000,50000,100000,all")
    ap.add_argument("--queries", type=int, default=400)
    ap.add_argument("--kinds", default=",".join(ANN_SPECS))
    ap.add_argument("--exact-budget-ms", type=float, default=10.0)
    ap.add_argument("--min-recall", type=float, default=0.95)
    ap.add_argument("--write-policy", action="store_true")
    args = ap.parse_args()
    if not (args.index / "store.sqlite").exists():
        print(f"skipped: no index at {args.index} (build it with bench/corpus.py)")
        return 0
    threads = faiss.omp_get_max_threads()
    emb = get_embedder("use")
    index = Index.open(args.index, emb, vector_index="flat")
    index.checkpoint()
    snap = index.snapshot()
    data = np.asarray(snap.segment.vectors.matrix, dtype=np.float32)
    qv = emb.encode_queries(questions(index, args.queries))
    print(f"{data.shape[0]} real chunk vectors, {len(qv)} real questions", file=sys.stderr)
    sizes = [data.shape[0] if s == "all" else min(int(s), data.shape[0]) for s in args.sizes.split(",")]
    rows: list[dict[str, object]] = []
    print(
        "| vectors | structure | build s | memory MB | p50 ms | p95 ms | recall@10 |\n|---|---|---|---|---|---|---|"
    )
    for n in dict.fromkeys(sizes):
        sub = np.ascontiguousarray(data[:n])
        faiss.omp_set_num_threads(1)
        flat = faiss.IndexFlatIP(sub.shape[1])
        flat.add(sub)
        exact, times = [], []
        for q in qv:
            ids, ms = timed_search(flat, q, 10)
            exact.append(set(ids.tolist()))
            times.append(ms)
        rows.append(
            {"n": n, "kind": "flat", "build_s": 0.0, "memory_mb": sub.nbytes / 1e6, "recall10": 1.0,
             "p50_ms": float(np.percentile(times, 50)), "p95_ms": float(np.percentile(times, 95))}
        )  # fmt: skip
        for kind in args.kinds.split(","):
            faiss.omp_set_num_threads(threads)  # built with every core, as a checkpoint does
            t = time.perf_counter()
            ix = build_ann(sub, kind)
            build_s = time.perf_counter() - t
            faiss.omp_set_num_threads(1)  # searched one query at a time, as a server worker does
            times, recall = [], []
            for q, ex in zip(qv, exact, strict=True):
                ids, ms = timed_search(ix, q, 10)
                times.append(ms)
                recall.append(len(ex & set(ids.tolist())) / 10)
            rows.append(
                {"n": n, "kind": kind, "build_s": build_s, "memory_mb": faiss.serialize_index(ix).nbytes / 1e6,
                 "recall10": float(np.mean(recall)), "p50_ms": float(np.percentile(times, 50)),
                 "p95_ms": float(np.percentile(times, 95))}
            )  # fmt: skip
        for r in rows:
            if r["n"] == n:
                print(
                    f"| {n} | {r['kind']} | {r['build_s']:.1f} | {r['memory_mb']:.0f} | {r['p50_ms']:.2f} "
                    f"| {r['p95_ms']:.2f} | {r['recall10']:.3f} |",
                    flush=True,
                )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "vectors.json").write_text(json.dumps(rows, indent=2), encoding="utf-8")
    if args.write_policy:
        slow = [r["n"] for r in rows if r["kind"] == "flat" and float(r["p50_ms"]) > args.exact_budget_ms]  # type: ignore[arg-type]
        good = [r for r in rows if r["kind"] != "flat" and float(r["recall10"]) >= args.min_recall]  # type: ignore[arg-type]
        largest = max(int(r["n"]) for r in rows)  # type: ignore[call-overload]
        at_largest = [r for r in good if r["n"] == largest] or good
        best = min(at_largest, key=lambda r: float(r["p50_ms"]), default=None)  # type: ignore[arg-type]
        policy = {
            "ann_threshold": int(min(slow)) if slow else int(largest) * 4,  # type: ignore[call-overload]
            "ann_kind": best["kind"] if best else "hnsw",
            "measured_with": f"bench/vectors.py --index {args.index} (exact budget {args.exact_budget_ms} ms, "
            f"min recall@10 {args.min_recall})",
            "table": rows,
        }
        POLICY_FILE.write_text(json.dumps(policy, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {POLICY_FILE}: auto = {policy['ann_kind']} from {policy['ann_threshold']} vectors")
    index.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
