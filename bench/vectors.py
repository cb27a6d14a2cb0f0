"""Where exact vector search stops being cheap: FAISS flat vs HNSW at growing sizes.

Random unit vectors of the default embedder's dimension (512); per size, the query
latency of exact inner-product search (what the index uses below
`rag.index.HNSW_THRESHOLD`), and of HNSW (M=32, efSearch=128) with its build time and
recall@10 against the exact result.

    .venv/bin/python bench/vectors.py
    .venv/bin/python bench/vectors.py --sizes 20000,100000,300000 --hnsw-max 300000
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import faiss
import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"


def unit(n: int, dim: int, rng: np.random.Generator) -> np.ndarray:
    v = rng.standard_normal((n, dim), dtype=np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return v


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="20000,100000,300000,600000")
    ap.add_argument("--hnsw-max", type=int, default=300000, help="largest size at which HNSW is built")
    ap.add_argument("--dim", type=int, default=512)
    ap.add_argument("--queries", type=int, default=200)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    queries = unit(args.queries, args.dim, rng)
    rows = []
    print("| vectors | flat p50 ms | HNSW build s | HNSW p50 ms | HNSW recall@10 |\n|---|---|---|---|---|")
    for n in (int(s) for s in args.sizes.split(",")):
        data = unit(n, args.dim, rng)
        flat = faiss.IndexFlatIP(args.dim)
        flat.add(data)
        times = []
        exact = []
        for q in queries:
            t = time.perf_counter()
            _, ids = flat.search(q[None, :], 10)
            times.append((time.perf_counter() - t) * 1000)
            exact.append(set(ids[0].tolist()))
        row: dict[str, float | None] = {"n": n, "flat_p50_ms": float(np.median(times))}
        if n <= args.hnsw_max:
            h = faiss.IndexHNSWFlat(args.dim, 32, faiss.METRIC_INNER_PRODUCT)
            h.hnsw.efConstruction = 80
            h.hnsw.efSearch = 128
            t = time.perf_counter()
            h.add(data)
            row["hnsw_build_s"] = time.perf_counter() - t
            times, recall = [], []
            for q, ex in zip(queries, exact, strict=True):
                t = time.perf_counter()
                _, ids = h.search(q[None, :], 10)
                times.append((time.perf_counter() - t) * 1000)
                recall.append(len(ex & set(ids[0].tolist())) / 10)
            row["hnsw_p50_ms"] = float(np.median(times))
            row["hnsw_recall10"] = float(np.mean(recall))
        rows.append(row)

        def fmt(key: str, spec: str, _row: dict = row) -> str:
            v = _row.get(key)
            return "—" if v is None else format(v, spec)

        print(
            f"| {n} | {row['flat_p50_ms']:.1f} | {fmt('hnsw_build_s', '.0f')} | {fmt('hnsw_p50_ms', '.2f')} "
            f"| {fmt('hnsw_recall10', '.3f')} |",
            flush=True,
        )
        del data, flat
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "vectors.json").write_text(json.dumps(rows, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
