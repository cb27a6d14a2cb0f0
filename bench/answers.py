"""The answer stage on the dev sets: answer accuracy, short-answer exact match and F1, answer
length, citation validity (each quote checked against the article fetched again from the
index) and latency, with the cross-dataset protocol.

    .venv/bin/python bench/answers.py --cross --limit 500     # each set with the policy fitted on the other
    .venv/bin/python bench/answers.py --limit 500             # the shipped policy (fitted on both)

Needs the dev indexes of `bench/devsets.py` and, for --cross, the one-set policies that
`python -m rag.answer.train fit` writes to .zhiwen/bench/policies/.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT))

from rag import Index, get_embedder, to_simplified  # noqa: E402
from rag.answer import ask  # noqa: E402
from rag.answer import policy as policy_mod  # noqa: E402
from rag.evaluate import gold_found, load_qa  # noqa: E402

SETS = {
    "cmrc2018_dev": ["cmrc2018_dev_qa.jsonl", "cmrc2018_dev_qa_crossscript.jsonl"],
    "drcd_dev": ["drcd_dev_qa.jsonl", "drcd_dev_qa_crossscript.jsonl"],
}
_STRIP = re.compile(r"[\s\W_]+", re.UNICODE)


def norm(text: str) -> str:
    return _STRIP.sub("", to_simplified(text).lower())


def char_f1(pred: str, gold: str) -> float:
    p, g = Counter(norm(pred)), Counter(norm(gold))
    same = sum((p & g).values())
    if not same:
        return 0.0
    prec, rec = same / sum(p.values()), same / sum(g.values())
    return 2 * prec * rec / (prec + rec)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index", default=str(ROOT / ".zhiwen" / "bench" / "dev"))
    ap.add_argument("--policies", default=str(ROOT / ".zhiwen" / "bench" / "policies"))
    ap.add_argument("--cross", action="store_true", help="each set with the policy fitted on the other set")
    ap.add_argument("--limit", type=int, default=None, help="first N questions of each QA file")
    ap.add_argument("--sets", nargs="*", default=list(SETS))
    ap.add_argument("--details", default=None, help="per-question JSONL")
    args = ap.parse_args()
    if not (SHARED / "eval").is_dir():
        print("skipped: needs ../shared")
        return 0
    logging.basicConfig(level=logging.WARNING)
    emb = get_embedder("use")
    details = open(args.details, "w", encoding="utf-8") if args.details else None
    print(
        "| set | policy fitted on | questions | answered | answer acc. | short EM | short F1 | short given "
        "| median answer chars | citation validity (citations) | ask p50 ms |\n|---|---|---|---|---|---|---|---|---|---|---|"
    )
    for set_name in args.sets:
        if args.cross:
            other = next(s for s in SETS if s != set_name)
            os.environ["ZHIWEN_ANSWER_POLICY"] = str(Path(args.policies) / f"{other}.json")
            fitted = other
        else:
            os.environ.pop("ZHIWEN_ANSWER_POLICY", None)
            fitted = "both (shipped)"
        policy_mod.load.cache_clear()
        index = Index.open(Path(args.index) / set_name, emb)
        for fname in SETS[set_name]:
            items = load_qa(SHARED / "eval" / fname, limit=args.limit)
            answered = correct = em_n = given = cites = cites_ok = 0
            f1s: list[float] = []
            lengths: list[int] = []
            lat: list[float] = []
            for it in items:
                t = time.perf_counter()
                a = ask(index, it.question)
                lat.append((time.perf_counter() - t) * 1000)
                golds = it.answers or it.answers_all
                for c in a.citations:
                    cites += 1
                    cites_ok += index.get_article(c.article_id).text[c.start : c.end] == c.quote
                em = f1 = 0.0
                if a.answered:
                    answered += 1
                    correct += gold_found(it, a.answer)
                    lengths.append(len(re.sub(r"\[\d+\]", "", a.answer)))
                    if a.short_answer:
                        given += 1
                        em = float(any(norm(a.short_answer) == norm(g) for g in golds))
                        f1 = max((char_f1(a.short_answer, g) for g in golds), default=0.0)
                em_n += int(em)
                f1s.append(f1)
                if details:
                    details.write(json.dumps({"set": fname, "id": it.id, "question": it.question, "gold": golds,
                                              "answered": a.answered, "answer": a.answer,
                                              "short": a.short_answer, "em": em, "f1": f1}, ensure_ascii=False) + "\n")  # fmt: skip
            n = max(1, len(items))
            name = Path(fname).stem.removesuffix("_qa").replace("_qa_crossscript", " cross-script")
            print(
                f"| {name} | {fitted} | {len(items)} | {answered / n:.3f} | {correct / n:.3f} | {em_n / n:.3f} | "
                f"{sum(f1s) / n:.3f} | {given / n:.3f} | {statistics.median(lengths) if lengths else 0:.0f} | "
                f"{cites_ok / max(1, cites):.3f} ({cites}) | {statistics.median(lat):.0f} |",
                flush=True,
            )
        index.close()
    if details:
        details.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
