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

`--fit` sets the numbers of the answer policy only English questions use, which no dev set can
fit (their questions are Chinese). First how many Chinese words of each English word are
searched with (`terms.en_words_per_term`) and how many times longer an English question's
shortlists are (`evidence.shortlist_en_factor`): each pair of a small grid is asked over both
indexes, and the pair with the most good outcomes (a right answer over "with", a refusal over
"without") is kept, ties going to the shipped pair; only pairs (and, below, values) under which
the English questions of ../shared/eval/seeds_qa.jsonl are answered right, or refused where
unanswerable, over the seeds are tried, and the answers issue's English question ("What did Hu
Henghua say about manufacturing?") answered from the interview: the issue requires them. Then
the least share of the question's names an English question's best passage must name
(`not_found.min_names_en`: one of two may be missing, one of three, one of four, or none; a
name the dictionary renders as no word the article writes, an acronym or a company's own
rendering, need not refuse a question whose other names are there), at the shipped coverage
and margin, fitted as the coverage is. Then the least coverage an English
question's best sentence needs to be answered (`not_found.min_coverage_en`). For
each value of a grid it asks every English question over both indexes with the shipped policy
at that value (`ask`, the real decision): right answers over "with", refusals over "without".
The value chosen is the highest that keeps at least `--keep` (0.95) of the most right answers
any value of the grid gives, as the "not found" target of the dev sets keeps 0.95 of the
answerable questions: the most refusals a kept answer allows. Held apart: fitted on
`news68k_first`, reported on the other English sets, and the reverse, and with `--newest SET`
fitted on every set but SET and reported on it (the newest set, written after the code it
measures: `--newest news68k_twentieth`); `--write` puts the value
fitted on all of them into rag/answer/policy.json (the grid's table under
`fitted.min_coverage_en`). The coverage is fitted with the next number left out; then, at the
coverage chosen, the same way, the least margin of the Chinese questions' "not found" boundary
an English question's best sentence needs (`not_found.min_margin_en`; the boundary's weighted
sum plus its bias, which a Chinese question needs at 0): run this again after
bench/fit_policy.py writes a new boundary.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import shutil
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.devsets import SHARED, build, read_jsonl  # noqa: E402
from rag import get_embedder, read_paths  # noqa: E402
from rag.answer import Policy, ask  # noqa: E402
from rag.answer.policy import POLICY_FILE, write_policy  # noqa: E402
from rag.evaluate import QAItem, evaluate, gold_found, load_qa, report_table  # noqa: E402
from rag.index import Index  # noqa: E402
from rag.normalize import detect_script  # noqa: E402

SETS = sorted((ROOT / "bench" / "english").glob("news68k_*.jsonl"))


GRID = [round(0.2 + 0.05 * i, 2) for i in range(13)]  # 0.20 … 0.80
# the least margin of the "not found" boundary an English question's best sentence needs; the
# first value leaves it out (no boundary margin is that low)
MARGIN_GRID = [-10.0, -3.0, -2.5, -2.0, -1.75, -1.5, -1.25, -1.0, -0.75, -0.5, -0.25, 0.0]
# the least share of an English question's names its best passage names: one of two, of three,
# of four missing, or none
NAMES_GRID = [0.5, 0.66, 0.75, 1.0]
# the answers issue's English question over the seeds, answered from the 2020 interview (its
# sentences on 制造业) as the issue states
ISSUE_QUESTIONS = [
    QAItem(id="issue-en", question="What did Hu Henghua say about manufacturing?", answers=["制造"])
]
WORDS = (1, 2, 3, 4)  # terms.en_words_per_term tried
FACTORS = (1, 2, 3)  # evidence.shortlist_en_factor tried


def answered_well(p: Policy, with_: Index, without: Index, items: list[QAItem]) -> list[bool]:
    """One good-or-not per question and index, asked with policy `p`: right over `with_`,
    refused over `without`."""
    good = []
    for it in items:
        a = ask(with_, it.question, policy=p)
        good.append(a.answered and gold_found(it, a.answer))
        good.append(not ask(without, it.question, policy=p).answered)
    return good


def seeds_hold(p: Policy, seeds: Index, items: list[QAItem]) -> bool:
    """Whether policy `p` answers every answerable question of `items` right over the seeds
    and refuses every other."""
    for it in items:
        a = ask(seeds, it.question, policy=p)
        if not ((a.answered and gold_found(it, a.answer)) if it.answerable else not a.answered):
            return False
    return True


def seeds_index(path: Path) -> Index:
    """The index of the project's seeds (seeds/), built once at `path`."""
    done = path / "BUILT"
    if not done.exists():
        shutil.rmtree(path, ignore_errors=True)
    index = Index.open(path, get_embedder("use"))
    if not done.exists():
        index.add(read_paths([ROOT / "seeds"]).articles)
        done.write_text("complete\n", encoding="utf-8")
    return index


def with_values(
    policy: Policy,
    words: int | None = None,
    factor: int | None = None,
    coverage: float | None = None,
    margin: float | None = None,
    names: float | None = None,
) -> Policy:
    """`policy` with the English values given."""
    terms = policy.terms if words is None else dataclasses.replace(policy.terms, en_words_per_term=words)
    ev = (
        policy.evidence
        if factor is None
        else dataclasses.replace(policy.evidence, shortlist_en_factor=factor)
    )
    nf = policy.not_found
    if coverage is not None:
        nf = dataclasses.replace(nf, min_coverage_en=coverage)
    if margin is not None:
        nf = dataclasses.replace(nf, min_margin_en=margin)
    if names is not None:
        nf = dataclasses.replace(nf, min_names_en=names)
    return dataclasses.replace(policy, terms=terms, evidence=ev, not_found=nf)


def outcomes(
    policy: Policy, with_: Index, without: Index, items: list[QAItem], grid: list[float], value: str
) -> dict[float, list[bool]]:
    """For each value of `grid`, `answered_well` with the policy's `value` ("coverage" or
    "margin") set to it."""
    return {v: answered_well(with_values(policy, **{value: v}), with_, without, items) for v in grid}


def best_search(
    table: dict[tuple[int, int], list[bool]], keys: list[int], shipped: tuple[int, int]
) -> tuple[int, int]:
    """The (words per term, shortlist factor) with the most good outcomes over the questions
    `keys` (ties: nearest the shipped pair, then the fewer words)."""
    return max(
        table,
        key=lambda c: (
            sum(table[c][2 * k] + table[c][2 * k + 1] for k in keys),
            -abs(c[0] - shipped[0]) - abs(c[1] - shipped[1]),
            -c[0],
        ),
    )


def best(table: dict[float, list[bool]], keys: list[int], keep: float, allowed: list[float]) -> float:
    """The highest of the `allowed` values whose right answers over the questions `keys` are at
    least `keep` of the most any value of `table` gives; where none is, the highest of those
    that give the most of them."""
    right = {v: sum(table[v][2 * k] for k in keys) for v in table}
    kept = [v for v in allowed if right[v] >= keep * max(right.values())]
    most = max(right[v] for v in allowed)
    return max(kept or [v for v in allowed if right[v] == most])


# a held-apart protocol: fitted on the questions of one part, reported on the other's
Split = tuple[str, str, list[int], list[int]]


def held_apart(owner: list[str], newest: str | None) -> list[Split]:
    """The held-apart fits: on `news68k_first`, reported on the other sets, and the reverse;
    with `newest` (a set's name), also on every set but it, reported on it."""
    first = [k for k, o in enumerate(owner) if o.endswith("_first")]
    rest = [k for k, o in enumerate(owner) if not o.endswith("_first")]
    splits = [("first", "the others", first, rest), ("the others", "first", rest, first)]
    if newest:
        if newest not in owner:
            raise SystemExit(f"--newest {newest}: no English set of that name in bench/english/")
        older = [k for k, o in enumerate(owner) if o != newest]
        splits.append(("all but " + newest, newest, older, [k for k, o in enumerate(owner) if o == newest]))
    return splits


@dataclasses.dataclass
class Threshold:
    """One English threshold fitted over a grid: the value chosen on all questions, the grid's
    outcomes and the two held-apart fits."""

    chosen: float
    table: dict[float, list[bool]]
    apart: list[dict[str, Any]]

    def record(self, keep: float, questions: dict[str, int]) -> dict[str, Any]:
        """What `--write` keeps under the policy's `fitted`."""
        return {
            "written_by": "bench/english.py --fit --write",
            "keep": keep,
            "grid_right_refused": {
                str(v): [sum(self.table[v][0::2]), sum(self.table[v][1::2])] for v in self.table
            },
            "held_apart": self.apart,
            "questions": questions,
        }


def threshold(
    name: str,
    value: str,
    grid_all: list[float],
    policy: Policy,
    shipped: float,
    seeds: Index,
    seed_items: list[QAItem],
    keep: float,
    with_: Index,
    without: Index,
    items: list[QAItem],
    owner: list[str],
    splits: list[Split],
) -> Threshold:
    """Fit the policy's `value` ("coverage": `min_coverage_en`, "margin": `min_margin_en`, or
    "names": `min_names_en`) over `grid_all`: among the values under which the seed and issue
    questions hold, the highest that keeps `keep` of the most right answers (`best`); on all
    questions, and held apart (`splits`). Prints the grid's table."""
    english = list(dict.fromkeys(owner))
    grid = [v for v in grid_all if seeds_hold(with_values(policy, **{value: v}), seeds, seed_items)]
    print(f"\n{name}: values under which the seed and issue questions hold: {grid}")
    table = outcomes(policy, with_, without, items, grid_all, value)

    def share(v: float, keys: list[int]) -> str:
        right = sum(table[v][2 * k] for k in keys)
        refused = sum(table[v][2 * k + 1] for k in keys)
        return f"{right}/{len(keys)} right, {refused}/{len(keys)} refused"

    print(f"| {name} | " + " | ".join(english) + " |\n|---|" + "---|" * len(english))
    for v in table:
        cells = [share(v, [k for k, o in enumerate(owner) if o == n]) for n in english]
        held = "" if v in grid else " (seed or issue questions fail)"
        print(f"| {v:.2f}{' (shipped)' if v == shipped else ''}{held} | " + " | ".join(cells) + " |")
    apart = []
    for fit_on, report_on, a, b in splits:
        v = best(table, a, keep, grid)
        apart.append({"fitted_on": fit_on, "value": v, "reported_on": report_on,
                      "at_fitted": share(v, b), "at_shipped": share(shipped, b)})  # fmt: skip
        print(
            f"fitted on {fit_on}: {v:.2f}; on {report_on}: {share(v, b)} (at {shipped:.2f}: {share(shipped, b)})"
        )
    everyone = list(range(len(items)))
    chosen = best(table, everyone, keep, grid)
    print(f"fitted on all: {chosen:.2f} ({share(chosen, everyone)})")
    return Threshold(chosen, table, apart)


def fit(args: argparse.Namespace, files: dict[str, list[QAItem]], with_: Index, without: Index) -> int:
    english = {n: items for n, items in files.items() if items and detect_script(items[0].question) == "en"}
    items = [it for its in english.values() for it in its]
    owner = [n for n, its in english.items() for _ in its]
    policy = Policy.load(Path(args.out))
    splits = held_apart(owner, args.newest)
    _, _, first, rest = splits[0]  # (news68k_first, the others: the pair table's columns)
    everyone = list(range(len(items)))
    # what an English question is searched and weighed with: the Chinese words per English
    # word (the rest count only where a retrieved passage holds them) and how much longer its
    # shortlists are; each pair asked at the shipped least coverage
    pair0 = (policy.terms.en_words_per_term, policy.evidence.shortlist_en_factor)
    seed_items = [
        it for it in load_qa(SHARED / "eval" / "seeds_qa.jsonl") if detect_script(it.question) == "en"
    ] + ISSUE_QUESTIONS
    seeds = seeds_index(Path(args.index) / "seeds")
    allowed = [
        (w, f)
        for w in WORDS
        for f in FACTORS
        if seeds_hold(with_values(policy, words=w, factor=f), seeds, seed_items)
    ]
    print(f"pairs under which the {len(seed_items)} English seed and issue questions hold: {allowed}")
    pairs = {
        (w, f): answered_well(with_values(policy, words=w, factor=f), with_, without, items)
        for w, f in allowed
    }

    def good(c: tuple[int, int], keys: list[int]) -> int:
        return sum(pairs[c][2 * k] + pairs[c][2 * k + 1] for k in keys)

    print("| words per term, shortlist factor | good outcomes (right + refused), all | first | the others |")
    print("|---|---|---|---|")
    for c in pairs:
        print(
            f"| {c}{' (shipped)' if c == pair0 else ''} | {good(c, everyone)} | {good(c, first)} | {good(c, rest)} |"
        )
    search_apart = []
    for fit_on, report_on, a, b in splits:
        c = best_search(pairs, a, pair0)
        search_apart.append({"fitted_on": fit_on, "value": list(c), "reported_on": report_on,
                             "good_at_fitted": good(c, b), "good_at_shipped": good(pair0, b), "of": 2 * len(b)})  # fmt: skip
        print(
            f"fitted on {fit_on}: {c}; on {report_on}: {good(c, b)} good (at {pair0}: {good(pair0, b)}) of {2 * len(b)}"
        )
    pair = best_search(pairs, everyone, pair0)
    print(f"fitted on all: {pair} ({good(pair, everyone)} good of {2 * len(everyone)})\n")
    # the least share of the names, at the shipped coverage and margin; then the least
    # coverage, the boundary's margin left out; then the least margin at that coverage
    policy = with_values(policy, words=pair[0], factor=pair[1])
    names = threshold(
        "min_names_en", "names", NAMES_GRID, policy, policy.not_found.min_names_en,
        seeds, seed_items, args.keep, with_, without, items, owner, splits,
    )  # fmt: skip
    policy = with_values(policy, names=names.chosen)
    coverage = threshold(
        "min_coverage_en", "coverage", GRID, with_values(policy, margin=MARGIN_GRID[0]),
        policy.not_found.min_coverage_en, seeds, seed_items, args.keep, with_, without, items, owner, splits,
    )  # fmt: skip
    policy = with_values(policy, coverage=coverage.chosen)
    margin = threshold(
        "min_margin_en", "margin", MARGIN_GRID, policy, policy.not_found.min_margin_en,
        seeds, seed_items, args.keep, with_, without, items, owner, splits,
    )  # fmt: skip
    seeds.close()
    if args.write:
        questions = {n: len(its) for n, its in english.items()}
        fitted = {
            **policy.fitted,
            "min_names_en": names.record(args.keep, questions),
            "min_coverage_en": coverage.record(args.keep, questions),
            "min_margin_en": margin.record(args.keep, questions),
            "en_search": {
                "written_by": "bench/english.py --fit --write",
                "good_outcomes": {f"{w},{f}": good((w, f), everyone) for w, f in pairs},
                "excluded_by_the_seed_and_issue_questions": [
                    [w, f] for w in WORDS for f in FACTORS if (w, f) not in pairs
                ],
                "held_apart": search_apart,
            },
        }
        chosen = with_values(policy, margin=margin.chosen)
        write_policy(dataclasses.replace(chosen, fitted=fitted), Path(args.out))
        print(f"written: {args.out}")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--index", default=str(ROOT / ".zhiwen" / "bench" / "english"), help="folder for the indexes"
    )
    ap.add_argument("--distractors", type=int, default=2000)
    ap.add_argument("--json", default=None, help="write the reports as JSON here")
    ap.add_argument(
        "--fit", action="store_true", help="fit the English numbers of the answer policy (see above)"
    )
    ap.add_argument("--write", action="store_true", help="with --fit: write them into the policy")
    ap.add_argument("--keep", type=float, default=0.95, help="with --fit: share of right answers kept")
    ap.add_argument("--out", default=str(POLICY_FILE))
    ap.add_argument(
        "--newest",
        default=None,
        help="with --fit: a set's name (news68k_twentieth) to hold apart too: fitted on the others, reported on it",
    )
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
    # "with" is built from a copy of "without", which must be closed while it is copied
    build(root / f"without-{args.distractors}", distractors).close()
    with_ = build(root / f"with-{args.distractors}", articles, root / f"without-{args.distractors}")
    without = build(root / f"without-{args.distractors}", distractors)
    try:
        if args.fit:
            return fit(args, files, with_, without)
        answered = [evaluate(with_, items, name=name) for name, items in files.items()]
        unanswerable = {
            name: [dataclasses.replace(it, answerable=False) for it in items] for name, items in files.items()
        }
        refused = [evaluate(without, items, name=f"{name} (without)") for name, items in unanswerable.items()]
    finally:
        with_.close()
        without.close()
    print(f"{len(articles)} articles asked about, {len(distractors)} distractors\n")
    print(report_table(answered + refused))
    if args.json:
        Path(args.json).write_text(
            json.dumps([dataclasses.asdict(r) for r in answered + refused], indent=2), encoding="utf-8"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
