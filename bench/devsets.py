"""Quality on the dev sets: CMRC 2018 and DRCD, same-script and cross-script.

Builds (or reuses) one index holding the CMRC and DRCD dev articles plus the first
2,000 CRUD news articles as distractors, then runs `rag.evaluate` on each QA file and
prints the README's table.

    .venv/bin/python bench/devsets.py                 # full sets (about 13,500 questions)
    .venv/bin/python bench/devsets.py --limit 300     # quicker, first 300 of each
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import logging
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT))

from rag import Index, get_embedder, parse_records  # noqa: E402
from rag.evaluate import evaluate, load_qa, report_dict, report_table  # noqa: E402

QA_FILES = [
    ("cmrc2018_dev", "cmrc2018_dev_qa.jsonl"),
    ("cmrc2018_dev cross-script", "cmrc2018_dev_qa_crossscript.jsonl"),
    ("drcd_dev", "drcd_dev_qa.jsonl"),
    ("drcd_dev cross-script", "drcd_dev_qa_crossscript.jsonl"),
]


def dev_articles(distractors: int) -> list:
    records: list[dict] = []
    for name in ("cmrc2018_dev.articles.jsonl", "drcd_dev.articles.jsonl"):
        with open(SHARED / "corpora" / name, encoding="utf-8") as f:
            records.extend(json.loads(line) for line in f if line.strip())
    with gzip.open(SHARED / "corpora" / "crud_news_2023.jsonl.gz", "rt", encoding="utf-8") as f:
        records.extend(json.loads(line) for line in itertools.islice(f, distractors))
    result = parse_records(records, "dev corpus")
    if result.errors:
        print(f"{len(result.errors)} records skipped: {result.errors[:3]}")
    return result.articles


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index", default=str(ROOT / ".zhiwen" / "dev-index"))
    ap.add_argument("--embedder", default="use")
    ap.add_argument("--distractors", type=int, default=2000)
    ap.add_argument("--limit", type=int, default=None, help="first N questions of each file")
    ap.add_argument("--sets", nargs="*", default=None, help="subset of set names")
    ap.add_argument("--details", default=None, help="write per-question results (JSONL) here")
    ap.add_argument("--json", default=None, help="write the reports as JSON here")
    args = ap.parse_args()
    if not (SHARED / "eval").is_dir():
        print(f"skipped: {SHARED} is absent (the dev sets live in ../shared)")
        return 0
    logging.basicConfig(level=logging.WARNING)
    index = Index.open(args.index, get_embedder(args.embedder))
    if len(index) == 0:
        t = time.perf_counter()
        stats = index.add(dev_articles(args.distractors), progress=True)
        print(f"indexed {stats} in {time.perf_counter() - t:.0f}s")
    details = open(args.details, "w", encoding="utf-8") if args.details else None
    reports = []
    for name, fname in QA_FILES:
        if args.sets and name not in args.sets:
            continue
        items = load_qa(SHARED / "eval" / fname, limit=args.limit)
        sink = None
        if details:

            def sink(d: dict, _name: str = name) -> None:
                details.write(json.dumps({"set": _name, **d}, ensure_ascii=False) + "\n")

        reports.append(evaluate(index, items, name=name, details=sink, progress=True))
    if details:
        details.close()
    print(report_table(reports))
    if args.json:
        Path(args.json).write_text(json.dumps([report_dict(r) for r in reports], indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
