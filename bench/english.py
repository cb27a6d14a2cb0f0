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
    .venv/bin/python bench/english.py --fit [--write]      # the English "not found" coverage

`--fit` sets the least coverage an English question's best sentence needs to be answered
(`not_found.min_coverage_en`, which no dev set can fit: their questions are Chinese). For
each value of a grid it asks every English question over both indexes with the shipped policy
at that value (`ask`, the real decision): right answers over "with", refusals over "without".
The value chosen is the highest that keeps at least `--keep` (0.95) of the right answers the
grid's lowest value gives, as the "not found" target of the dev sets keeps 0.95 of the
answerable questions: the most refusals a kept answer allows. Held apart: fitted on
`news68k_first`, reported on the other English sets, and the reverse; `--write` puts the value
fitted on all of them into rag/answer/policy.json (the grid's table under
`fitted.min_coverage_en`).
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
from rag.answer import Policy, ask  # noqa: E402
from rag.answer.policy import POLICY_FILE, write_policy  # noqa: E402
from rag.evaluate import QAItem, evaluate, gold_found, load_qa, report_table  # noqa: E402
from rag.index import Index  # noqa: E402
from rag.normalize import detect_script  # noqa: E402

SETS = sorted((ROOT / "bench" / "english").glob("news68k_*.jsonl"))


GRID = [round(0.2 + 0.05 * i, 2) for i in range(13)]  # 0.20 … 0.80


def outcomes(policy: Policy, with_: Index, without: Index, items: list[QAItem]) -> dict[float, list[bool]]:
    """For each value of GRID, one good-or-not per question and index: right over `with_`,
    refused over `without`."""
    out: dict[float, list[bool]] = {}
    for value in GRID:
        nf = dataclasses.replace(policy.not_found, min_coverage_en=value)
        p = dataclasses.replace(policy, not_found=nf)
        good = []
        for it in items:
            a = ask(with_, it.question, policy=p)
            good.append(a.answered and gold_found(it, a.answer))
            good.append(not ask(without, it.question, policy=p).answered)
        out[value] = good
    return out


def best(table: dict[float, list[bool]], keys: list[int], keep: float) -> float:
    """The highest grid value whose right answers over the questions `keys` are at least `keep`
    of those at the lowest value."""
    right = {v: sum(table[v][2 * k] for k in keys) for v in GRID}
    return max(v for v in GRID if right[v] >= keep * right[GRID[0]])


def fit(args: argparse.Namespace, files: dict[str, list[QAItem]], with_: Index, without: Index) -> int:
    english = {n: items for n, items in files.items() if items and detect_script(items[0].question) == "en"}
    items = [it for its in english.values() for it in its]
    owner = [n for n, its in english.items() for _ in its]
    policy = Policy.load(Path(args.out))
    shipped = policy.not_found.min_coverage_en
    table = outcomes(policy, with_, without, items)

    def share(v: float, keys: list[int]) -> str:
        right = sum(table[v][2 * k] for k in keys)
        refused = sum(table[v][2 * k + 1] for k in keys)
        return f"{right}/{len(keys)} right, {refused}/{len(keys)} refused"

    print("| min_coverage_en | " + " | ".join(english) + " |\n|---|" + "---|" * len(english))
    for v in GRID:
        cells = [share(v, [k for k, o in enumerate(owner) if o == n]) for n in english]
        print(f"| {v:.2f}{' (shipped)' if v == shipped else ''} | " + " | ".join(cells) + " |")
    first = [k for k, o in enumerate(owner) if o.endswith("_first")]
    rest = [k for k, o in enumerate(owner) if not o.endswith("_first")]
    apart = []
    for fit_on, report_on, a, b in (
        ("first", "the others", first, rest),
        ("the others", "first", rest, first),
    ):
        v = best(table, a, args.keep)
        apart.append({"fitted_on": fit_on, "value": v, "reported_on": report_on,
                      "at_fitted": share(v, b), "at_shipped": share(shipped, b)})  # fmt: skip
        print(
            f"fitted on {fit_on}: {v:.2f}; on {report_on}: {share(v, b)} (at {shipped:.2f}: {share(shipped, b)})"
        )
    chosen = best(table, list(range(len(items))), args.keep)
    print(f"fitted on all: {chosen:.2f} ({share(chosen, list(range(len(items))))})")
    if args.write:
        fitted = {
            **policy.fitted,
            "min_coverage_en": {
                "written_by": "bench/english.py --fit --write",
                "keep": args.keep,
                "grid_right_refused": {str(v): [sum(table[v][0::2]), sum(table[v][1::2])] for v in GRID},
                "held_apart": apart,
                "questions": {n: len(its) for n, its in english.items()},
            },
        }
        nf = dataclasses.replace(policy.not_found, min_coverage_en=chosen)
        write_policy(dataclasses.replace(policy, not_found=nf, fitted=fitted), Path(args.out))
        print(f"written: {args.out}")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--index", default=str(ROOT / ".zhiwen" / "bench" / "english"), help="folder for the indexes"
    )
    ap.add_argument("--distractors", type=int, default=2000)
    ap.add_argument("--json", default=None, help="write the reports as JSON here")
    ap.add_argument("--fit", action="store_true", help="fit not_found.min_coverage_en (see above)")
    ap.add_argument("--write", action="store_true", help="with --fit: write it into the policy")
    ap.add_argument("--keep", type=float, default=0.95, help="with --fit: share of right answers kept")
    ap.add_argument("--out", default=str(POLICY_FILE))
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
    if args.fit:
        without.close()
        with_ = build(root / f"with-{args.distractors}", articles, root / f"without-{args.distractors}")
        without = build(root / f"without-{args.distractors}", distractors)
        try:
            return fit(args, files, with_, without)
        finally:
            with_.close()
            without.close()
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
