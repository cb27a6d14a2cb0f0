"""Retrieval legs compared on the dev sets: BM25 alone, dense alone, plain RRF (k=60) and
zhiwen's fusion (weighted, per-leg scores scaled over the candidate pool).

Article-level hit@1 / hit@5 / MRR of the question's source article. Uses the dev index
built by bench/devsets.py.

    .venv/bin/python bench/retrieval.py                  # every question of the 4 files
    .venv/bin/python bench/retrieval.py --limit 500 --grid   # also scan the fusion weight
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT))

from rag import Index, get_embedder, to_simplified  # noqa: E402
from rag.evaluate import load_qa  # noqa: E402
from rag.retrieve import CANDIDATES, Candidate, candidates, fuse  # noqa: E402

FILES = [  # (name, QA file, the dev index of bench/devsets.py it is asked of)
    ("cmrc2018_dev", "cmrc2018_dev_qa.jsonl", "cmrc2018_dev"),
    ("cmrc2018_dev cross-script", "cmrc2018_dev_qa_crossscript.jsonl", "cmrc2018_dev"),
    ("drcd_dev", "drcd_dev_qa.jsonl", "drcd_dev"),
    ("drcd_dev cross-script", "drcd_dev_qa_crossscript.jsonl", "drcd_dev"),
]


def article_rank(order: list[int], state, source_rowid: int | None) -> int | None:  # type: ignore[no-untyped-def]
    seen: list[int] = []
    for pos in order:
        art = int(state.article_rowids[pos])
        if art not in seen:
            seen.append(art)
            if art == source_rowid:
                return len(seen)
        if len(seen) >= 10:
            break
    return None


def metrics(ranks: list[int | None]) -> tuple[float, float, float]:
    n = max(1, len(ranks))
    return (
        sum(r == 1 for r in ranks) / n,
        sum(r is not None and r <= 5 for r in ranks) / n,
        sum(1 / r for r in ranks if r) / n,
    )


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--index", default=str(ROOT / ".zhiwen" / "dev"), help="the dev indexes of bench/devsets.py"
    )
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--grid", action="store_true", help="also report the fusion at other BM25 weights")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    root = Path(args.index)
    if not (SHARED / "eval").is_dir() or not all((root / f[2] / "BUILT").exists() for f in FILES):
        print("skipped: needs ../shared and the dev indexes (run bench/devsets.py first)")
        return 0
    emb = get_embedder("use")
    weights = [0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9] if args.grid else []
    table: dict[str, dict[str, tuple[float, float, float]]] = {}
    for name, fname, set_dir in FILES:
        index = Index.open(root / set_dir, emb)
        items = [it for it in load_qa(SHARED / "eval" / fname, limit=args.limit) if it.source]
        t = time.perf_counter()
        qvecs = index.embedder.encode_queries([to_simplified(it.question) for it in items])
        ranks: dict[str, list[int | None]] = {k: [] for k in ["bm25", "dense", "rrf", "zhiwen"]}
        for w in weights:
            ranks[f"fusion w={w}"] = []
        for it, qv in zip(items, qvecs, strict=True):
            with index.reading() as state:
                src = state.rowids_of([it.source or ""]).get(it.source or "")
                cands = candidates(index, state, it.question, query_vec=qv)
                ranks["zhiwen"].append(article_rank([c.pos for c in cands], state, src))
                by_bm = sorted((c for c in cands if c.bm25 > 0), key=lambda c: -c.bm25)[:CANDIDATES]
                by_dense = sorted(cands, key=lambda c: -c.dense)[:CANDIDATES]
                ranks["bm25"].append(article_rank([c.pos for c in by_bm], state, src))
                ranks["dense"].append(article_rank([c.pos for c in by_dense], state, src))
                rrf: dict[int, float] = {}
                for lst in (by_bm, by_dense):
                    for r, c in enumerate(lst, 1):
                        rrf[c.pos] = rrf.get(c.pos, 0.0) + 1.0 / (60 + r)
                ranks["rrf"].append(article_rank(sorted(rrf, key=lambda p: -rrf[p]), state, src))
                for w in weights:
                    cs = [Candidate(c.pos, c.bm25, c.dense) for c in cands]
                    fuse(cs, w, 1 - w)
                    cs.sort(key=lambda c: -c.score)
                    ranks[f"fusion w={w}"].append(article_rank([c.pos for c in cs], state, src))
        index.close()
        table[name] = {k: metrics(v) for k, v in ranks.items()}
        print(f"{name}: {len(items)} questions in {time.perf_counter() - t:.0f}s", file=sys.stderr)
    methods = list(next(iter(table.values())).keys())
    print("hit@1 of the source article (hit@5 / MRR in the JSON)\n")
    print("| method | " + " | ".join(table) + " |")
    print("|---|" + "---|" * len(table))
    for m in methods:
        print(f"| {m} | " + " | ".join(f"{table[s][m][0]:.3f}" for s in table) + " |")
    if args.json:
        Path(args.json).write_text(json.dumps(table, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
