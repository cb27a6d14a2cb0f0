"""Short-answer spans on the dev sets, with the answer sentence given (oracle).

For each question the oracle sentence is the sentence of its source article that holds the
first gold answer; the shipped pick (`rag.span_rank.best_span`, the span model of
rag/answer/policy.json) and the rules alone (`rag.span.short_answer`) each pick a span inside
it. Reports, per set and per question kind: how many questions, the share with a span, exact
match (the span equals a gold answer after conversion to Simplified and stripping whitespace
and punctuation) and SQuAD-style character F1 (best over the gold answers), for both.

Held apart: the rules were tuned on CMRC 2018 only. The span model is fitted on both sets
(bench/fit_spans.py reports it held apart), so its figures here are on data it was fitted on.
`--rule name=value` tries other rules.

    .venv/bin/python bench/spans.py                  # both sets, first 1000 questions each
    .venv/bin/python bench/spans.py --set cmrc2018 --limit 500 --failures 40
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT))

from rag.answer import Policy, analyse  # noqa: E402
from rag.chunk import split_sentences  # noqa: E402
from rag.evaluate import span_scores  # noqa: E402
from rag.normalize import to_simplified  # noqa: E402
from rag.span import SpanRules, short_answer  # noqa: E402
from rag.span_rank import best_span  # noqa: E402

SETS = {
    "cmrc2018": ("cmrc2018_dev_qa.jsonl", "cmrc2018_dev.articles.jsonl"),
    "drcd": ("drcd_dev_qa.jsonl", "drcd_dev.articles.jsonl"),
}


def oracle_sentence(text: str, answer: str) -> str | None:
    pos = text.find(answer)
    if pos < 0:
        pos = to_simplified(text).find(to_simplified(answer))
    if pos < 0:
        return None
    for s, e in split_sentences(text):
        if s <= pos < e:
            return text[s:e]
    return None


def oracle_items(name: str) -> Iterator[tuple[dict[str, Any], list[str], str | None]]:
    """Each question of the set (its record, its gold answers, its oracle sentence or None)."""
    qa_file, art_file = SETS[name]
    articles: dict[str, str] = {}
    with open(SHARED / "corpora" / art_file, encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            articles[rec["id"]] = rec["text"]
    with open(SHARED / "eval" / qa_file, encoding="utf-8") as f:
        for line in f:
            qa = json.loads(line)
            golds = qa.get("answers") or []
            text = articles.get(qa.get("source", ""))
            yield qa, golds, oracle_sentence(text, golds[0]) if text and golds else None


def run_set(name: str, limit: int, rules: SpanRules, failures: int) -> dict:
    model = Policy.load().span_model
    total: dict[str, list[float]] = defaultdict(lambda: [0, 0, 0.0, 0.0, 0.0, 0.0])
    shown = 0
    skipped = 0
    t0 = time.perf_counter()
    for qa, golds, sentence in oracle_items(name):
        if sum(v[0] for k, v in total.items() if k != "all") >= limit:
            break
        if sentence is None:
            skipped += 1
            continue
        kind = analyse(qa["question"]).kind
        span = best_span(qa["question"], kind, sentence, rules, model)
        pred = sentence[span[0] : span[1]] if span else ""
        exact, f1 = span_scores(pred, golds)
        em = float(exact)
        rule = short_answer(qa["question"], kind, sentence, rules)
        rule_em, rule_f1 = span_scores(sentence[rule[0] : rule[1]] if rule else "", golds)
        for key in (kind, "all"):
            row = total[key]
            row[0] += 1
            row[1] += bool(span)
            row[2] += em
            row[3] += f1
            row[4] += float(rule_em)
            row[5] += rule_f1
        if failures and shown < failures and not em:
            shown += 1
            print(f"--- [{kind}] {qa['question']}\n    gold: {golds[0]!r}  got: {pred!r}\n    in: {sentence}")
    elapsed = time.perf_counter() - t0
    result = {"set": name, "skipped_no_sentence": skipped, "seconds": round(elapsed, 1), "kinds": {}}
    for key in sorted(total, key=lambda k: (k != "all", k)):
        n, spans, em, f1, rule_em, rule_f1 = total[key]
        result["kinds"][key] = {
            "n": int(n),
            "with_span": round(spans / n, 3),
            "em": round(em / n, 3),
            "f1": round(f1 / n, 3),
            "rules_em": round(rule_em / n, 3),
            "rules_f1": round(rule_f1 / n, 3),
        }
    return result


def print_table(result: dict) -> None:
    print(
        f"\n{result['set']}  ({result['seconds']}s, {result['skipped_no_sentence']} without oracle sentence)"
    )
    print(f"{'kind':<8} {'n':>5} {'span':>6} {'EM':>6} {'F1':>6} {'rules EM':>9} {'rules F1':>9}")
    for key, row in result["kinds"].items():
        print(
            f"{key:<8} {row['n']:>5} {row['with_span']:>6.3f} {row['em']:>6.3f} {row['f1']:>6.3f}"
            f" {row['rules_em']:>9.3f} {row['rules_f1']:>9.3f}"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=int, default=1000, help="questions per set")
    ap.add_argument("--set", choices=[*SETS, "all"], default="all")
    ap.add_argument("--failures", type=int, default=0, help="print this many misses (CMRC only!)")
    ap.add_argument("--rule", action="append", default=[], help="override a rule: name=value")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    if not SHARED.is_dir():
        print(f"skipped: {SHARED} not found (the dev sets live there)")
        return
    values = dataclasses.asdict(Policy.load().spans)  # the shipped rules (rag/answer/policy.json)
    for item in args.rule:
        key, _, val = item.partition("=")
        if key not in values:
            raise SystemExit(f"unknown rule {key!r}; known: {', '.join(values)}")
        values[key] = int(val)
    rules = SpanRules(**values)
    results = []
    for name in SETS if args.set == "all" else [args.set]:
        # misses are shown only for the tuning set: DRCD stays held apart
        shown = args.failures if name == "cmrc2018" else 0
        results.append(run_set(name, args.limit, rules, shown))
        print_table(results[-1])
    print(f"\nrules: {json.dumps(values)}")
    if args.json:
        args.json.write_text(json.dumps({"rules": values, "results": results}, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
