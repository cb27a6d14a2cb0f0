"""Fit the span choice (rag.answer.span_choice: which cited sentence of an answer gives the
short answer) on the dev sets, one held apart each way.

It replays the recording of bench/fit_ranker.py (every answerable question of CMRC 2018 dev
and DRCD dev, every candidate sentence with its features) through the shipped decision: the
sentence ranker, rag.answer.choose (with the neighbour model) and, for each chosen sentence,
the span model's pick and its confidence (rag.span_rank.sure_span). Each chosen sentence with
a span is a row, labelled by whether its span equals a gold answer (rag.evaluate.span_scores);
a logistic regression (L2, standardised features, bench/fit_neighbours.fit_logit) is fitted
on the rows of the questions with two spans or more of one set, and the short answers' exact
match and F1 over every answerable question of the other set are reported, against the rule
without it (the best-scored sentence's span). The shipped model, fitted on both sets, goes
into the `span_choice` section of rag/answer/policy.json when it gains exact match on both
held-apart sets by at least --min-gain; the figures under `fitted.span_choice`.

    .venv/bin/python bench/fit_span_choice.py --features FILE   # FILE: bench/fit_ranker.py's recording
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.fit_neighbours import fit_logit  # noqa: E402
from bench.fit_policy import best_of  # noqa: E402
from bench.fit_ranker import recording_arguments, replayed_sets  # noqa: E402
from bench.recording import SETS, SHARED, Replayed  # noqa: E402
from rag.answer import (  # noqa: E402
    SPAN_CHOICE_FEATURES,
    LinearModel,
    Policy,
    Sentence,
    choose,
    choose_span,
    ordered,
    sentence_spans,
    span_choice_features,
    write_policy,
)
from rag.evaluate import load_qa, span_scores  # noqa: E402


@dataclasses.dataclass
class Spans:
    """One answerable question: its answer's sentences and each one's span."""

    r: Replayed
    cited: list[Sentence]  # the answer's sentences
    found: list[tuple[Sentence, float]]  # those with a span, best-scored first, with its confidence
    em: list[bool]  # per found: its span equals a gold answer
    f1: list[float]


def spans(policy: Policy, data: list[Replayed], golds: dict[str, list[str]]) -> list[Spans]:
    out = []
    for r in data:
        if not r.answerable or not r.sents:
            continue
        best_of(policy, r)
        cited = choose(policy, r.q, r.sents)
        found, em, f1 = [], [], []
        for i, (a, b), sure in sentence_spans(policy, r.q, cited):  # as rag.answer.stage picks
            e, f = span_scores(cited[i].text[a:b], golds[r.q.text])
            found.append((cited[i], sure))
            em.append(e)
            f1.append(f)
        out.append(Spans(r, cited, found, em, f1))
    return out


def scores(model: LinearModel, data: list[Spans]) -> dict[str, float]:
    """Short answers' exact match and F1 over the questions (0 for a question without a span)."""
    em, f1 = [], []
    for d in data:
        if not d.found:
            em.append(False)
            f1.append(0.0)
            continue
        i = choose_span(model, d.r.q, d.cited, d.found)
        em.append(d.em[i])
        f1.append(d.f1[i])
    return {"exact": round(float(np.mean(em)), 4), "f1": round(float(np.mean(f1)), 4), "questions": len(data)}


def fit(train: list[Spans], l2: float) -> LinearModel:
    x, y = [], []
    for d in train:
        if len(d.found) < 2:
            continue
        best = ordered(d.cited)[0]
        for (s, sure), e in zip(d.found, d.em, strict=True):
            x.append(span_choice_features(d.r.q, best, s, sure))
            y.append(e)
    w, b = fit_logit(np.array(x, float), np.array(y, bool), l2)
    return LinearModel(SPAN_CHOICE_FEATURES, tuple(float(v) for v in w), b)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    recording_arguments(ap)  # --index, --features (bench/fit_ranker.py's recording), --out, --dry-run
    ap.add_argument("--l2", type=float, default=1e-3, help="L2 penalty per row, on standardised features")
    ap.add_argument(
        "--min-gain", type=float, default=0.005, help="held-apart exact-match gain needed in both directions"
    )
    args = ap.parse_args()
    policy = Policy.load(Path(args.out))
    replays = replayed_sets(args, policy)
    if replays is None:
        return 0
    data = {}
    for s, fname in SETS.items():
        golds = {it.question: it.answers for it in load_qa(SHARED / "eval" / fname)}
        data[s] = spans(policy, replays[s], golds)
    names = list(SETS)
    table: list[dict[str, Any]] = []
    for train, test in (names, names[::-1]):
        model = fit(data[train], args.l2)
        row = {
            "fitted_on": train,
            "reported_on": test,
            "best_scored": scores(LinearModel(), data[test]),
            "model": scores(model, data[test]),
            "model_on_train": scores(model, data[train]),
            "two_spans_or_more": sum(len(d.found) > 1 for d in data[test]),
        }
        table.append(row)
        print(
            f"fit {train} -> {test}: short answers EM / F1, best-scored sentence "
            f"{row['best_scored']['exact']:.4f} / {row['best_scored']['f1']:.4f}, span choice "
            f"{row['model']['exact']:.4f} / {row['model']['f1']:.4f} ({row['two_spans_or_more']} of "
            f"{row['model']['questions']} answers with two spans or more)"
        )
    gains = [row["model"]["exact"] - row["best_scored"]["exact"] for row in table]
    move = min(gains) >= args.min_gain
    shipped = fit(data[names[0]] + data[names[1]], args.l2) if move else policy.span_choice
    by_set = {s: scores(shipped, data[s]) for s in SETS}
    fitted = {
        "command": "bench/fit_span_choice.py " + " ".join(sys.argv[1:]),
        "data": f"{sum(len(d) for d in data.values())} answerable questions (CMRC 2018 dev, DRCD dev)",
        "cross_dataset": table,
        "moved": move,
        "shipped": by_set,
    }
    print(
        f"held-apart exact-match gains {[round(g, 4) for g in gains]}: "
        + ("fitted on both sets" if move else f"below {args.min_gain} in a direction, model kept")
        + f"; shipped, per set: {by_set}"
    )
    if not args.dry_run:
        out = dataclasses.replace(policy, span_choice=shipped)
        write_policy(
            dataclasses.replace(out, fitted={**policy.fitted, "span_choice": fitted}), Path(args.out)
        )
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
