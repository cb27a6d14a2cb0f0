"""Quality on the dev sets: CMRC 2018 and DRCD, same-script and cross-script.

For each set, builds (or reuses) an index of that set's articles plus the first 2,000
CRUD news articles as distractors, then runs `rag.evaluate` on its same-script and
cross-script QA files and prints the README's table.

    .venv/bin/python bench/devsets.py                 # full sets (about 13,500 questions)
    .venv/bin/python bench/devsets.py --limit 300     # quicker, first 300 of each
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import itertools
import json
import logging
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT))

from rag import Index, get_embedder, parse_records  # noqa: E402
from rag.evaluate import evaluate, load_qa, report_dict, report_table  # noqa: E402

SETS = {
    "cmrc2018_dev": (
        "cmrc2018_dev.articles.jsonl",
        ["cmrc2018_dev_qa.jsonl", "cmrc2018_dev_qa_crossscript.jsonl"],
    ),
    "drcd_dev": ("drcd_dev.articles.jsonl", ["drcd_dev_qa.jsonl", "drcd_dev_qa_crossscript.jsonl"]),
}


def read_jsonl(path: Path, limit: int | None = None) -> list[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in itertools.islice(f, limit) if line.strip()]


def build(path: Path, records: list[dict], base: Path | None = None) -> Index:
    """Open the index at `path`; unless a previous run completed it, (re)build it from a copy
    of `base` plus `records`. One completed for other records (a set added since: its
    articles would be missing, every question of it a miss) gets the records it lacks (those
    it holds unchanged are skipped)."""
    done = path / "BUILT"
    mark = f"complete {_digest(records)}\n"
    if not done.exists():
        shutil.rmtree(path, ignore_errors=True)
        if base is not None:
            shutil.copytree(base, path)
            (path / "BUILT").unlink()
    index = Index.open(path, get_embedder("use"))
    if not done.exists() or done.read_text(encoding="utf-8") != mark:
        t = time.perf_counter()
        stats = index.add(parse_records(records, str(path)).articles, progress=True)
        print(f"{path.name}: {stats} in {time.perf_counter() - t:.0f}s", file=sys.stderr)
        done.write_text(mark, encoding="utf-8")
    return index


def _digest(records: list[dict]) -> str:
    """A digest of the records' ids and texts, in order: what a completed index was built from."""
    h = hashlib.sha256()
    for r in records:
        h.update(f"{r.get('id', '')}\x00{r.get('text', '')}\x01".encode())
    return h.hexdigest()[:16]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index", default=str(ROOT / ".zhiwen" / "dev"), help="folder for the dev indexes")
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
    root = Path(args.index)
    base = root / f"crud{args.distractors}"
    build(base, read_jsonl(SHARED / "corpora" / "crud_news_2023.jsonl.gz", args.distractors)).close()
    details = open(args.details, "w", encoding="utf-8") if args.details else None
    reports = []
    for set_name, (articles, qa_files) in SETS.items():
        if args.sets and set_name not in args.sets:
            continue
        records = read_jsonl(SHARED / "corpora" / articles)
        index = build(root / set_name, records, base)
        for fname in qa_files:
            items = load_qa(SHARED / "eval" / fname, limit=args.limit)
            name = Path(fname).stem.removesuffix("_qa").replace("_qa_crossscript", " cross-script")
            sink = None
            if details:

                def sink(d: dict, _name: str = name) -> None:
                    details.write(json.dumps({"set": _name, **d}, ensure_ascii=False) + "\n")

            reports.append(evaluate(index, items, name=name, details=sink, progress=True))
        index.close()
    if details:
        details.close()
    print(report_table(reports))
    if args.json:
        Path(args.json).write_text(json.dumps([report_dict(r) for r in reports], indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
