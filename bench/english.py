"""English questions: answered where their article is indexed, refused where it is not.

There is no English dev set. `bench/english/news68k_*.jsonl` are English questions written by
hand about CRUD news articles (`source`: the article's id in
../shared/corpora/crud_news_2023.jsonl.gz), gold spans copied from the articles;
`news68k_first` is the set the English changes of the thirty-fourth session were made on, the
others were written after them. This builds two indexes, as bench/devsets.py does for the dev
sets: the first 2,000 CRUD articles as distractors plus the questions' articles ("with"), and
the distractors alone ("without": the deleted-source protocol of the "not found" calibration),
then evaluates every file on both (`rag.evaluate`): on "with" the answer accuracy, hit@k and
short answers; on "without" the share refused, each question being unanswerable there.

    .venv/bin/python bench/english.py                      # every set
    .venv/bin/python bench/english.py --index /tmp/english # index folder of your choosing
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.devsets import SHARED, build, read_jsonl  # noqa: E402
from rag.evaluate import evaluate, load_qa, report_table  # noqa: E402

SETS = sorted((ROOT / "bench" / "english").glob("news68k_*.jsonl"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--index", default=str(ROOT / ".zhiwen" / "bench" / "english"), help="folder for the indexes"
    )
    ap.add_argument("--distractors", type=int, default=2000)
    ap.add_argument("--json", default=None, help="write the reports as JSON here")
    args = ap.parse_args()
    corpus = SHARED / "corpora" / "crud_news_2023.jsonl.gz"
    if not corpus.exists():
        print(f"skipped: {corpus} is absent (the articles live in ../shared)")
        return 0
    logging.basicConfig(level=logging.WARNING)
    files = {f.stem: load_qa(f) for f in SETS}
    sources = {it.source for items in files.values() for it in items if it.source}
    records = read_jsonl(corpus)
    distractors = [r for r in records if r["id"] not in sources][: args.distractors]
    articles = [r for r in records if r["id"] in sources]
    missing = sources - {r["id"] for r in articles}
    if missing:
        print(f"the corpus lacks the questions' articles {sorted(missing)}; is ../shared up to date?")
        return 1
    root = Path(args.index)
    without = build(root / f"without-{args.distractors}", distractors)
    refused = [
        evaluate(
            without, [dataclasses.replace(it, answerable=False) for it in items], name=f"{name} (without)"
        )
        for name, items in files.items()
    ]
    without.close()
    with_ = build(root / f"with-{args.distractors}", articles, root / f"without-{args.distractors}")
    answered = [evaluate(with_, items, name=name) for name, items in files.items()]
    with_.close()
    print(f"{len(articles)} articles asked about, {len(distractors)} distractors\n")
    print(report_table(answered + refused))
    if args.json:
        Path(args.json).write_text(
            json.dumps([dataclasses.asdict(r) for r in answered + refused], indent=2), encoding="utf-8"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
