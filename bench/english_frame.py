"""Short answers of questions known only by their terms, as an English question is known.

There is no English dev set. What an English question gives the span model is its terms'
Chinese words (CC-CEDICT's renderings, rag.answer.english_question), never the Chinese
sentence a Chinese question writes around its question word; the span model places a span by
those words around it. So the dev sets' questions are read here as an English one would be, from
their own terms: for each question whose gold answer is in its article, the oracle sentence (as
bench/spans.py finds it) and the shipped span model (`rag.span_rank.sure_span`, a number or date
question answered by a whole expression, as for English questions) pick a span, the question
given as

- `no_chinese`: no Chinese words at all, only the numbers it writes (how an English question was
  read before, the question word aside);
- `frame`: `asked_in_chinese` over the question's terms (what an English question is read as
  now: the terms' first Chinese words, then the question word of its kind and, where the
  question asks "what / which X", X: the noun the span model reads as the one it asks for,
  `rag.span_features.asked_in`);
- `frame_half`: the same with each term, and the noun, kept with probability 1/2 (seeded by the
  question), for translations that miss the article's words;
- `as_written`: the Chinese question itself (the reference: a Chinese question's figure).

Exact match and character F1 (rag.evaluate.span_scores) per set and per kind of question. The
span model is fitted on both sets (bench/fit_spans.py), so every row is on data it was fitted on;
the rows differ only in the question the model reads.

    .venv/bin/python bench/english_frame.py
    .venv/bin/python bench/english_frame.py --limit 500
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT))

from bench.spans import SETS, oracle_items  # noqa: E402
from rag.answer import Policy, Query, analyse  # noqa: E402
from rag.answer.english_question import asked_in_chinese  # noqa: E402
from rag.evaluate import span_scores  # noqa: E402
from rag.normalize import fold_width, simplified_question  # noqa: E402
from rag.span import REASON_Q  # noqa: E402
from rag.span_features import asked_in  # noqa: E402
from rag.span_rank import sure_span  # noqa: E402

RESULTS = ROOT / "bench" / "results"
MODES = ("no_chinese", "frame", "frame_half", "as_written")


def read_as(q: Query, mode: str, seed: str) -> str:
    """The question the span model reads for `q` (a Chinese dev question) in `mode`."""
    if mode == "as_written":
        return q.text
    digits = re.findall(r"\d+", q.text)  # what an English question shares with the sentence
    if mode == "no_chinese":
        return " ".join(digits) + " ?"
    terms, noun = list(q.terms), asked_in(fold_width(simplified_question(q.text)))
    if mode == "frame_half":
        rng = random.Random(seed)
        terms = [t for t in terms if rng.random() < 0.5]
        noun = noun if rng.random() < 0.5 else ""
    # a Chinese reason question's English would ask "why"
    why = "why" if REASON_Q.search(q.simplified) else ""
    return asked_in_chinese(why, q.kind, terms, noun) or " ".join(digits) + " ?"


def run_set(name: str, policy: Policy, limit: int) -> dict[str, Any]:
    """EM and F1 per mode, for the whole set and per kind of question."""
    sums: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for qa, golds, sentence in oracle_items(name):
        if sentence is None:
            continue
        if sums["all"]["n"] >= limit:
            break
        q = analyse(qa["question"], policy=policy)
        for kind in ("all", q.kind):
            sums[kind]["n"] += 1
        for mode in MODES:
            got = sure_span(
                read_as(q, mode, str(qa.get("id", qa["question"]))),
                q.kind,
                sentence,
                policy.spans,
                policy.span_model,
                expressions_only=mode != "as_written",
            )
            em, f1 = span_scores(sentence[got[0][0] : got[0][1]] if got else None, golds)
            for kind in ("all", q.kind):
                sums[kind][f"{mode}_em"] += em
                sums[kind][f"{mode}_f1"] += f1
    return {
        kind: {"n": c["n"], **{k: round(v / c["n"], 3) for k, v in c.items() if k != "n"}}
        for kind, c in sorted(sums.items())
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=int, default=100000, help="questions per set (default: all)")
    ap.add_argument("--json", type=Path, default=RESULTS / "english_frame.json")
    args = ap.parse_args()
    if not SHARED.is_dir():
        print(f"skipped: {SHARED} not found (the dev sets live there)")
        return 0
    policy = Policy.load()
    out = {}
    for name in SETS:
        out[name] = run_set(name, policy, args.limit)
        print(f"{name}: EM / F1 by how the question is read")
        print(f"  {'kind':<8} {'n':>5}  " + "  ".join(f"{m:>13}" for m in MODES))
        for kind, row in out[name].items():
            cells = "  ".join(f"{row[m + '_em']:.3f} / {row[m + '_f1']:.3f}" for m in MODES)
            print(f"  {kind:<8} {row['n']:>5}  {cells}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(out, ensure_ascii=False, indent=2))
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
