"""Retrieval legs compared on the dev sets: BM25 alone, dense alone, plain RRF (k=60) and
zhiwen's fusion (weighted, per-leg scores scaled over the candidate pool), and the fit of the
fusion's BM25 weight.

Article-level hit@1 / hit@5 / MRR of the question's source article. Uses the dev index
built by bench/devsets.py.

    .venv/bin/python bench/retrieval.py                  # every question of the 4 files
    .venv/bin/python bench/retrieval.py --limit 500 --grid   # also scan the fusion weight
    .venv/bin/python bench/retrieval.py --fit --write-policy # fit it, write rag/retrieval_policy.json

`--fit` scans the BM25 weight (the dense leg's is 1 minus it) for the one with the best MRR,
first on each set alone, measured on the other (held apart), then on both sets together. As
with the answer policy's weights (bench/fit_policy.py), the weight moves from the shipped one
only when the weight fitted on each set gains at least `--min-gain` MRR on the other, both
ways; then it is the one fitted on both. `--write-policy` writes the result, with the scan and
the held-apart figures, into `rag/retrieval_policy.json`, beside
the pool size (`--candidates`) and the reprint threshold (`--duplicate-jaccard`), which the
command carries as given (the dev sets hold no reprints to fit the latter on), and BM25's k1
and b, carried from the policy as they are (the textbook 1.2 and 0.75; the scan holds them,
since the BM25 leg's candidates change with them).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT))

from rag import Index, get_embedder, to_simplified  # noqa: E402
from rag.evaluate import load_qa  # noqa: E402
from rag.retrieval_policy import POLICY_FILE, POLICY_FORMAT, RetrievalPolicy, retrieval_policy  # noqa: E402
from rag.retrieve import Candidate, candidates, fuse  # noqa: E402

FILES = [  # (name, QA file, the dev index of bench/devsets.py it is asked of)
    ("cmrc2018_dev", "cmrc2018_dev_qa.jsonl", "cmrc2018_dev"),
    ("cmrc2018_dev cross-script", "cmrc2018_dev_qa_crossscript.jsonl", "cmrc2018_dev"),
    ("drcd_dev", "drcd_dev_qa.jsonl", "drcd_dev"),
    ("drcd_dev cross-script", "drcd_dev_qa_crossscript.jsonl", "drcd_dev"),
]


def metrics(ranks: list[int | None]) -> tuple[float, float, float]:
    n = max(1, len(ranks))
    return (
        sum(r == 1 for r in ranks) / n,
        sum(r is not None and r <= 5 for r in ranks) / n,
        sum(1 / r for r in ranks if r) / n,
    )


GRID = [round(0.5 + 0.05 * i, 2) for i in range(10)]  # 0.50 … 0.95


@dataclass
class Asked:
    """One question's fused pool, kept to fuse again at other weights without searching again."""

    cands: list[Candidate]
    articles: dict[int, int]  # candidate position -> article rowid
    source: int | None


def rank_of(order: list[int], asked: Asked) -> int | None:
    seen: list[int] = []
    for pos in order:
        art = asked.articles[pos]
        if art not in seen:
            seen.append(art)
            if art == asked.source:
                return len(seen)
        if len(seen) >= 10:
            break
    return None


def fused_ranks(asked: list[Asked], weight: float) -> list[int | None]:
    out = []
    for a in asked:
        cs = [Candidate(c.pos, c.bm25, c.dense) for c in a.cands]
        fuse(cs, weight, 1 - weight)
        cs.sort(key=lambda c: -c.score)
        out.append(rank_of([c.pos for c in cs], a))
    return out


def best_weight(ranks: dict[float, list[int | None]]) -> float:
    """The weight with the best MRR, then hit@1 (the lower weight on a tie)."""
    return max(ranks, key=lambda w: (round(metrics(ranks[w])[2], 6), round(metrics(ranks[w])[0], 6), -w))


def fit(ranks: dict[str, dict[float, list[int | None]]], shipped: float, min_gain: float) -> dict:
    """Each set's files held apart, then both, over `ranks` (per file, per scanned weight, the
    shipped one among them); returns the policy's `fitted` record. As the answer policy's
    weights (bench/fit_policy.py), the weight moves from the shipped one only when the weight
    fitted on one set gains at least `min_gain` MRR on the other, both ways."""
    names = list(ranks)
    sets = sorted({name.split()[0] for name in names})
    grid_weights = sorted(next(iter(ranks.values())))

    def pooled(names: list[str]) -> dict[float, list[int | None]]:
        return {w: [r for n in names for r in ranks[n][w]] for w in grid_weights}

    held = []
    for fit_set in sets:
        w = best_weight(pooled([n for n in names if n.split()[0] == fit_set]))
        for other in sets:
            if other == fit_set:
                continue
            on = pooled([n for n in names if n.split()[0] == other])
            mrr_w, mrr_shipped = metrics(on[w])[2], metrics(on[shipped])[2]
            held.append(
                {
                    "fitted_on": fit_set,
                    "measured_on": other,
                    "bm25_weight": w,
                    "hit1": round(metrics(on[w])[0], 4),
                    "mrr": round(mrr_w, 4),
                    "shipped_mrr": round(mrr_shipped, 4),
                    "gain": round(mrr_w - mrr_shipped, 4),
                }
            )
            print(
                f"fitted on {fit_set}: weight {w}; on {other}: hit@1 {metrics(on[w])[0]:.4f} MRR {mrr_w:.4f} "
                f"(shipped weight {shipped}: MRR {mrr_shipped:.4f})"
            )
    both = best_weight(pooled(names))
    moved = min(row["gain"] for row in held) >= min_gain
    print(
        f"fitted on both: weight {both}; held-apart MRR gains {[row['gain'] for row in held]}: "
        + (f"moves to {both}" if moved else f"below {min_gain} in a direction, {shipped} kept")
    )
    grid = {
        name: {str(w): [round(x, 4) for x in metrics(ranks[name][w])] for w in grid_weights} for name in names
    }
    return {
        "objective": "MRR of the source article among the fused candidates (then hit@1), all files of a set",
        "questions": {name: len(next(iter(r.values()))) for name, r in ranks.items()},
        "held_apart": held,
        "min_gain": min_gain,
        "best_on_both": both,
        "previous": shipped,
        "moved": moved,
        "bm25_weight": both if moved else shipped,
        "grid_hit1_hit5_mrr": grid,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--index", default=str(ROOT / ".zhiwen" / "dev"), help="the dev indexes of bench/devsets.py"
    )
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--grid", action="store_true", help="also report the fusion at other BM25 weights")
    ap.add_argument("--fit", action="store_true", help="fit the BM25 weight (each set held apart, then both)")
    ap.add_argument("--write-policy", action="store_true", help="with --fit: write rag/retrieval_policy.json")
    ap.add_argument("--candidates", type=int, default=None, help="each leg's top-k (default: the policy's)")
    ap.add_argument(
        "--duplicate-jaccard",
        type=float,
        default=None,
        help="reprint threshold to write (default: the policy's)",
    )
    ap.add_argument(
        "--min-gain",
        type=float,
        default=0.005,
        help="with --fit: held-apart MRR gain needed (both directions) to move the weight",
    )
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    if args.write_policy and not args.fit:
        ap.error("--write-policy needs --fit")
    root = Path(args.index)
    if not (SHARED / "eval").is_dir() or not all((root / f[2] / "BUILT").exists() for f in FILES):
        print("skipped: needs ../shared and the dev indexes (run bench/devsets.py first)")
        return 0
    if args.candidates is not None and args.candidates < 1:
        ap.error("--candidates must be at least 1")
    shipped = retrieval_policy()
    k = shipped.candidates if args.candidates is None else args.candidates
    emb = get_embedder("use")
    weights = sorted({*GRID, shipped.bm25_weight}) if args.fit else GRID if args.grid else []
    table: dict[str, dict[str, tuple[float, float, float]]] = {}
    by_weight: dict[str, dict[float, list[int | None]]] = {}  # per file: the fused ranks at each weight
    for name, fname, set_dir in FILES:
        index = Index.open(root / set_dir, emb)
        items = [it for it in load_qa(SHARED / "eval" / fname, limit=args.limit) if it.source]
        t = time.perf_counter()
        qvecs = index.embedder.encode_queries([to_simplified(it.question) for it in items])
        ranks: dict[str, list[int | None]] = {k: [] for k in ["bm25", "dense", "rrf", "zhiwen"]}
        asked: list[Asked] = []
        for it, qv in zip(items, qvecs, strict=True):
            with index.reading() as state:
                src = state.rowids_of([it.source or ""]).get(it.source or "")
                cands = candidates(index, state, it.question, query_vec=qv, k=k)
                a = Asked(
                    [Candidate(c.pos, c.bm25, c.dense) for c in cands],
                    {c.pos: int(state.article_rowids[c.pos]) for c in cands},
                    src,
                )
                asked.append(a)
                ranks["zhiwen"].append(rank_of([c.pos for c in cands], a))
                by_bm = sorted((c for c in cands if c.bm25 > 0), key=lambda c: -c.bm25)[:k]
                by_dense = sorted(cands, key=lambda c: -c.dense)[:k]
                ranks["bm25"].append(rank_of([c.pos for c in by_bm], a))
                ranks["dense"].append(rank_of([c.pos for c in by_dense], a))
                rrf: dict[int, float] = {}
                for lst in (by_bm, by_dense):
                    for r, c in enumerate(lst, 1):
                        rrf[c.pos] = rrf.get(c.pos, 0.0) + 1.0 / (60 + r)
                ranks["rrf"].append(rank_of(sorted(rrf, key=lambda p: -rrf[p]), a))
        by_weight[name] = {w: fused_ranks(asked, w) for w in weights}
        for w in weights:
            ranks[f"fusion w={w}"] = by_weight[name][w]
        index.close()
        table[name] = {m: metrics(v) for m, v in ranks.items()}
        print(f"{name}: {len(items)} questions in {time.perf_counter() - t:.0f}s", file=sys.stderr)
    methods = list(next(iter(table.values())).keys())
    print(
        f"hit@1 of the source article (hit@5 / MRR in the JSON); zhiwen = BM25 weight {shipped.bm25_weight}\n"
    )
    print("| method | " + " | ".join(table) + " |")
    print("|---|" + "---|" * len(table))
    for m in methods:
        print(f"| {m} | " + " | ".join(f"{table[s][m][0]:.3f}" for s in table) + " |")
    out: dict = {"table": table}
    if args.fit:
        fitted = fit(by_weight, shipped.bm25_weight, args.min_gain)
        out["fit"] = fitted
        if args.write_policy:
            w = fitted["bm25_weight"]
            policy = {
                "format_version": POLICY_FORMAT,
                "bm25_weight": w,
                "dense_weight": round(1 - w, 2),
                "candidates": k,
                "duplicate_jaccard": shipped.duplicate_jaccard
                if args.duplicate_jaccard is None
                else args.duplicate_jaccard,
                "bm25_k1": shipped.bm25_k1,
                "bm25_b": shipped.bm25_b,
                "written_by": "bench/retrieval.py --fit --write-policy"
                + (f" --limit {args.limit}" if args.limit else "")
                + f" --candidates {k}",
                "fitted": fitted,
            }
            RetrievalPolicy.from_dict(policy)  # what the code will read back
            POLICY_FILE.write_text(json.dumps(policy, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
            print(f"wrote {POLICY_FILE.relative_to(ROOT)}")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
