"""Fit the short-answer span model (rag.span_rank) on the dev sets, one held apart each way.

For every dev question whose gold answer is in its article, the oracle sentence (the one
holding the gold answer, as in bench/spans.py) gives the candidates (rag.span_rank); those
that equal a gold answer (after `span_norm`) are the positives. The model is a conditional
logit: per question, a softmax over its candidates, maximising the probability of the
positives, with an L2 penalty. Fitted on CMRC 2018 dev and reported on DRCD dev, then the
reverse, each against the rules alone (rag.span); the shipped weights are then fitted on
both and written into the `span_model` section of rag/answer/policy.json.

    .venv/bin/python bench/fit_spans.py              # report both directions, write the policy
    .venv/bin/python bench/fit_spans.py --dry-run --limit 800
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
import zlib
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT))

from bench.spans import SETS, oracle_items  # noqa: E402
from rag.answer import POLICY_FILE, Policy, analyse, policy_from_dict, write_policy  # noqa: E402  # noqa: E402
from rag.evaluate import span_norm, span_scores  # noqa: E402
from rag.normalize import fold_width, simplify_with_map, to_simplified  # noqa: E402
from rag.span import rule_span  # noqa: E402
from rag.span_rank import FEATURE_NAMES, SpanModel, candidates_simplified, confidence  # noqa: E402


@dataclasses.dataclass
class Group:
    """One question: its candidates' features, which are right, their scores against the gold."""

    x: np.ndarray
    positive: np.ndarray  # bool per candidate
    em: np.ndarray  # exact match of each candidate
    f1: np.ndarray  # best character F1 of each candidate
    rule: tuple[float, float]  # (EM, F1) of the rules' span
    source: str  # the article: folds never split one


def base_policy(path: Path = POLICY_FILE) -> Policy:
    """The policy file with its span model reset: the features may have changed since it was fitted."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    raw["span_model"] = {
        "features": list(FEATURE_NAMES),
        "weights": [0.0] * len(FEATURE_NAMES),
        "min_confidence": 0.0,
    }
    return policy_from_dict(raw, str(path))


def load(name: str, limit: int, policy: Policy) -> list[Group]:
    groups: list[Group] = []
    for qa, golds, sentence in oracle_items(name):
        if len(groups) >= limit:
            break
        if sentence is None:
            continue
        kind = analyse(qa["question"]).kind
        qs = fold_width(to_simplified(qa["question"]))
        ss, _ = simplify_with_map(sentence)
        found = candidates_simplified(qs, kind, ss, policy.spans)
        x = found.expanded()
        rule = rule_span(qs, kind, ss, policy.spans)
        rule_scores = span_scores(ss[rule[0] : rule[1]] if rule else "", golds)
        if not found.spans:
            groups.append(Group(x, np.zeros(0, bool), np.zeros(0), np.zeros(0), rule_scores, qa["source"]))
            continue
        scored = [span_scores(ss[a:b], golds) for a, b in found.spans]
        gold_norm = {span_norm(g) for g in golds}
        positive = np.array([span_norm(ss[a:b]) in gold_norm for a, b in found.spans])
        groups.append(
            Group(
                x,
                positive,
                np.array([float(e) for e, _ in scored]),
                np.array([f for _, f in scored]),
                (float(rule_scores[0]), rule_scores[1]),
                qa["source"],
            )
        )
    return groups


def fit(groups: list[Group], l2: float) -> np.ndarray:
    """Weights maximising sum over questions of log P(a positive) under a softmax of x @ w."""
    train = [g for g in groups if g.positive.any()]
    x = np.vstack([g.x for g in train]).astype(np.float64)
    pos = np.concatenate([g.positive for g in train])
    sizes = np.array([len(g.positive) for g in train])
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    owner = np.repeat(np.arange(len(train)), sizes)

    def lse(s: np.ndarray, mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        s = np.where(mask, s, -np.inf) if mask is not None else s
        m = np.maximum.reduceat(s, starts)
        e = np.exp(s - m[owner])
        tot = np.add.reduceat(e, starts)
        return np.log(tot) + m, e / tot[owner]

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        s = x @ w
        all_lse, p_all = lse(s, None)
        pos_lse, p_pos = lse(s, pos)
        value = float(np.sum(all_lse - pos_lse)) / len(train) + l2 * float(w @ w)
        grad = x.T @ (p_all - p_pos) / len(train) + 2 * l2 * w
        return value, grad

    res = minimize(loss, np.zeros(x.shape[1]), jac=True, method="L-BFGS-B", options={"maxiter": 500})
    return np.asarray(res.x)


def picked(groups: list[Group], w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per question: the model's confidence in its pick (0 without candidates), and the
    pick's EM and F1."""
    conf, em, f1 = np.zeros(len(groups)), np.zeros(len(groups)), np.zeros(len(groups))
    for i, g in enumerate(groups):
        if len(g.positive):
            scores = g.x @ w
            k = int(np.argmax(scores))
            conf[i], em[i], f1[i] = confidence(scores), g.em[k], g.f1[k]
    return conf, em, f1


def fit_cut(groups: list[Group], w: np.ndarray, max_withheld_em: float) -> float:
    """The least confidence for a span to be given: the highest on the grid (steps of 0.01)
    at which the spans it withholds would have been exactly right at most `max_withheld_em`
    of the time."""
    conf, em, _ = picked(groups, w)
    cut = 0.0
    for t in np.arange(0.01, 1.0, 0.01):
        withheld = conf < t
        if withheld.any() and em[withheld].mean() > max_withheld_em:
            break
        cut = round(float(t), 2)
    return cut


def report(groups: list[Group], w: np.ndarray | None, cut: float = 0.0) -> dict[str, float]:
    """EM and F1 of the picked span over every question (0 where none is given; the rules'
    span when `w` is None; none below confidence `cut`)."""
    n = max(1, len(groups))
    reachable = sum(bool(g.positive.any()) for g in groups) / n
    out = {"n": len(groups), "reachable": round(reachable, 4)}
    if w is None:
        em = np.array([g.rule[0] for g in groups])
        f1 = np.array([g.rule[1] for g in groups])
    else:
        conf, em, f1 = picked(groups, w)
        given = (conf > 0) & (conf >= cut)
        em, f1 = em * given, f1 * given
        out["given"] = round(float(given.mean()), 4)
        out["em_of_given"] = round(float(em[given].mean()) if given.any() else 0.0, 4)
    return {**out, "em": round(float(em.sum()) / n, 4), "f1": round(float(f1.sum()) / n, 4)}


def fold_of(g: Group) -> int:
    return zlib.crc32(g.source.encode("utf-8")) % 2


def pooled(rows: list[dict[str, float]]) -> dict[str, float]:
    n = sum(r["n"] for r in rows)
    return {
        "n": n,
        "em": round(sum(r["em"] * r["n"] for r in rows) / max(1, n), 4),
        "f1": round(sum(r["f1"] * r["n"] for r in rows) / max(1, n), 4),
        "given": round(sum(r.get("given", 1.0) * r["n"] for r in rows) / max(1, n), 4),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=int, default=100000, help="questions per set (default: all)")
    ap.add_argument("--l2", type=float, default=1e-3, help="L2 penalty per question")
    ap.add_argument(
        "--max-withheld-em",
        type=float,
        default=0.1,
        help="withhold the short answer below the confidence where at most this share of the "
        "withheld spans would have been exactly right",
    )
    ap.add_argument("--out", default=str(POLICY_FILE))
    ap.add_argument("--dry-run", action="store_true", help="report only, write nothing")
    args = ap.parse_args()
    if not (SHARED / "eval").is_dir():
        print(f"skipped: {SHARED}/eval not found (the dev sets live there)")
        return 0
    policy = base_policy()
    t0 = time.perf_counter()
    data = {name: load(name, args.limit, policy) for name in SETS}
    print(f"candidates built in {time.perf_counter() - t0:.0f} s; {len(FEATURE_NAMES)} features")
    table = []
    names = list(SETS)
    for train, test in (names, names[::-1]):
        w = fit(data[train], args.l2)
        cut = fit_cut(data[train], w, args.max_withheld_em)
        row = {
            "fitted_on": train,
            "reported_on": test,
            "rules": report(data[test], None),
            "model": report(data[test], w),
            "model_on_train": report(data[train], w),
            "min_confidence": cut,
            "model_with_cut": report(data[test], w, cut),
        }
        table.append(row)
        cr = row["model_with_cut"]
        print(
            f"fit {train} -> {test}: rules EM/F1 {row['rules']['em']:.3f}/{row['rules']['f1']:.3f}, "
            f"model {row['model']['em']:.3f}/{row['model']['f1']:.3f} "
            f"(on {train} itself {row['model_on_train']['em']:.3f}/{row['model_on_train']['f1']:.3f}; "
            f"a right candidate exists for {row['model']['reachable']:.3f}); "
            f"with the cut fitted on {train} ({cut}): given {cr['given']:.3f}, EM/F1 {cr['em']:.3f}/{cr['f1']:.3f}, "
            f"EM of those given {row['model']['em_of_given']:.3f} -> {cr['em_of_given']:.3f}"
        )
    # the shipped setting, fitted on both sets, measured on articles it was not fitted on:
    # two folds by article, each fitted on the other fold of both sets
    folds: dict[str, list[dict[str, float]]] = {n: [] for n in names}
    for k in (0, 1):
        train_fold = [g for n in names for g in data[n] if fold_of(g) != k]
        w = fit(train_fold, args.l2)
        cut = fit_cut(train_fold, w, args.max_withheld_em)
        for n in names:
            folds[n].append(report([g for g in data[n] if fold_of(g) == k], w, cut))
    by_article = {n: pooled(folds[n]) for n in names}
    for n in names:
        print(
            f"fit on both, other articles -> {n}: model EM/F1 {by_article[n]['em']:.3f}/{by_article[n]['f1']:.3f}"
            f" (with the cut fitted on the other fold; given {by_article[n]['given']:.3f})"
        )
    w = fit(data[names[0]] + data[names[1]], args.l2)
    cut = fit_cut(data[names[0]] + data[names[1]], w, args.max_withheld_em)
    model = SpanModel(FEATURE_NAMES, tuple(round(float(v), 5) for v in w), cut)
    fitted = dict(policy.fitted)
    fitted["span_model"] = {
        "command": "bench/fit_spans.py " + " ".join(sys.argv[1:]),
        "data": "oracle sentences of CMRC 2018 dev and DRCD dev: "
        + ", ".join(f"{n} {len(data[n])} questions" for n in names),
        "cross_dataset": table,
        "both_sets_two_folds_by_article": by_article,
        "min_confidence": f"highest (steps of 0.01) withholding spans exactly right at most "
        f"{args.max_withheld_em} of the time: {cut}",
        "shipped_on_both": {n: report(data[n], w, cut) for n in names},
    }
    if not args.dry_run:
        out = dataclasses.replace(policy, span_model=model, fitted=fitted)
        write_policy(out, Path(args.out))
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
