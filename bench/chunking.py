"""Choosing the chunk size: hit@1 and answer accuracy at several chunk targets/overlaps.

For each (target, overlap), indexes articles of each dev set (those the first N questions
of its same-script file are about, plus the set's first `--articles` articles as
distractors; no CRUD news, to keep it quick) and evaluates those questions.

    .venv/bin/python bench/chunking.py --limit 300 --articles 400
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT))

from rag import Index, get_embedder, parse_records  # noqa: E402
from rag.evaluate import evaluate, load_qa  # noqa: E402

SETS = [("cmrc2018_dev", "cmrc2018_dev.articles.jsonl", "cmrc2018_dev_qa.jsonl"),
        ("drcd_dev", "drcd_dev.articles.jsonl", "drcd_dev_qa.jsonl")]  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=300)
    ap.add_argument("--articles", type=int, default=400, help="distractor articles of the same set")
    ap.add_argument("--variants", default="160:40,320:80,640:120")
    args = ap.parse_args()
    if not (SHARED / "eval").is_dir():
        print("skipped: ../shared is absent")
        return 0
    emb = get_embedder("use")
    rows = []
    print("| target / overlap | set | articles | chunks | hit@1 | answer acc. |\n|---|---|---|---|---|---|")
    for variant in args.variants.split(","):
        target, overlap = (int(x) for x in variant.split(":"))
        for name, articles, qa in SETS:
            items = load_qa(SHARED / "eval" / qa, limit=args.limit)
            wanted = {it.source for it in items}
            with open(SHARED / "corpora" / articles, encoding="utf-8") as f:
                records = [json.loads(line) for line in f if line.strip()]
            records = [r for i, r in enumerate(records) if r["id"] in wanted or i < args.articles]
            with tempfile.TemporaryDirectory() as tmp:
                index = Index.open(Path(tmp) / "ix", emb, chunk_target=target, chunk_overlap=overlap)
                stats = index.add(parse_records(records, articles).articles)
                r = evaluate(index, items, name=name)
                index.close()
            rows.append({"target": target, "overlap": overlap, "set": name, "chunks": stats.chunks,
                         "hit1": r.hit1, "answer_accuracy": r.answer_accuracy, "p50_ms": r.latency_p50_ms})  # fmt: skip
            print(f"| {target} / {overlap} | {name} | {len(records)} | {stats.chunks} | {r.hit1:.3f} "
                  f"| {r.answer_accuracy:.3f} |", flush=True)  # fmt: skip
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "chunking.json").write_text(json.dumps(rows, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
