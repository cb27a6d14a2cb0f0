"""Fit the answer policy (rag/answer/policy.json) on the dev sets, held apart.

1. Records, for dev questions asked of the dev indexes of bench/devsets.py, every candidate
   sentence with its features (rag.answer.features, the shipped extractor; the answer-type
   feature for every candidate) and whether it holds the gold answer. Negatives: other
   questions of the same sets asked after their source articles were deleted from a copy
   of the index (the honest response is "not found"), and look-alike questions
   (bench/lookalikes.py: a question's subject swapped for another the index holds, its other
   words still fitting its own article; --no-lookalikes leaves them out).
2. Fits the sentence-scoring weights (coordinate ascent on the share of questions whose
   best-scored sentence holds the gold answer) and then the "not found" boundary (shifted to
   keep --keep of the answerable questions of each set), with the shipped
   decision functions (rag.answer.full_score, rag.answer.rank_sentences — the sentence
   ranker of bench/fit_ranker.py, run that one first —, rag.answer.answerable).
3. Cross-dataset protocol: fitted on CMRC 2018, reported on DRCD, and the reverse; the
   shipped policy is then fitted on both. Writes the policy with the table and the
   "not found" curve of the shipped policy in its `fitted` section.

    .venv/bin/python bench/fit_policy.py --index .zhiwen/dev --limit 600 --lookalikes /tmp/lookalikes.jsonl
    .venv/bin/python bench/fit_policy.py --features /tmp/features.jsonl   # refit from a recording

A new boundary moves the margin English questions are held to (`not_found.min_margin_en`):
run bench/english.py --fit --write after writing one.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import random
import shutil
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.lookalikes import LABEL as LOOKALIKE  # noqa: E402
from bench.lookalikes import lookalike_arguments, with_lookalikes  # noqa: E402
from bench.recording import (  # noqa: E402
    SETS,
    SHARED,
    Replayed,
    record,
    recording,
    recording_policy,
    replayed,
    require_later_features,
)
from rag import Index, get_embedder  # noqa: E402
from rag.answer import (  # noqa: E402
    BOUNDARY_INPUTS,
    POLICY_FILE,
    Policy,
    answerable,
    choose,
    full_score,
    ordered,
    rank_sentences,
    write_policy,
)
from rag.answer import boundary_inputs as best_inputs  # noqa: E402
from rag.errors import NotFoundError  # noqa: E402
from rag.evaluate import load_qa  # noqa: E402

WEIGHTS = (
    "title_credit",
    "ctx_cov",
    "retrieval",
    "rank",
    "dense",
    "type_ok",
    "type_ok_list",
)  # cov stays: scale
STEPS = (0.0, 0.5, 0.67, 0.8, 1.25, 1.5, 2.0)  # multiplicative moves of one weight
TITLE_CREDITS = (0.0, 0.25, 0.5, 0.75, 1.0)  # a share, searched over its whole range
# Added since the weights were last fitted, with the value that turns each off: every fit
# starts them from there and fits them first, alone (so the record shows what each brings).
NEW_FEATURES = ("title_credit",)
NEUTRAL = {"title_credit": 0.0}
COVERAGE_ONLY = (0.45, 0.5, 0.525, 0.55, 0.6)  # v1's "not found" rule, for comparison
KEEP_CURVE = (0.8, 0.85, 0.9, 0.92, 0.94, 0.95, 0.96, 0.97, 0.98, 0.99)  # the "not found" curve's points


def collect(root: Path, limit: int, policy: Policy) -> list[dict[str, Any]]:
    """Features of every candidate of `limit` answerable and `limit` deleted-source
    questions per set."""
    recording = recording_policy(policy)
    emb = get_embedder("use")
    rng = random.Random(0)
    rows: list[dict[str, Any]] = []
    copy = root / "fit-policy-copy"
    for set_name, fname in SETS.items():
        items = load_qa(SHARED / "eval" / fname)
        rng.shuffle(items)
        pos, neg = items[:limit], items[limit : 2 * limit]
        index = Index.open(root / set_name, emb)
        for it in pos:
            if (r := record(index, it, "answerable", set_name, recording)) is not None:
                rows.append(r)
        index.close()
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(root / set_name, copy)
        neg_index = Index.open(copy, emb)
        for sid in sorted({it.source for it in neg if it.source}):
            with contextlib.suppress(NotFoundError):
                neg_index.delete(sid)
        for it in neg:
            if (r := record(neg_index, it, "unanswerable", set_name, recording)) is not None:
                rows.append(r)
        neg_index.close()
        shutil.rmtree(copy, ignore_errors=True)
        print(f"{set_name}: recorded {len(pos)} + {len(neg)} questions", file=sys.stderr)
    return rows


def best_of(policy: Policy, r: Replayed) -> int:
    """The best sentence under the policy's weights and sentence ranker; every sentence's
    `score` and `rank` set, as the stage does before deciding."""
    for s in r.sents:
        s.score = full_score(policy.score, r.q, s)
    rank_sentences(policy, r.q, r.sents)
    best = ordered(r.sents)[0]
    return next(i for i, s in enumerate(r.sents) if s is best)


def top1(policy: Policy, data: list[Replayed]) -> float:
    pos = [r for r in data if r.answerable]
    return sum(bool(r.sents) and r.gold[best_of(policy, r)] for r in pos) / max(1, len(pos))


def decide(policy: Policy, data: list[Replayed]) -> tuple[float, float]:
    """(answerable kept, deleted-source refused) with the shipped decision function."""
    kept = decisions(policy, data, "answerable")
    answered_deleted = decisions(policy, data, "unanswerable")
    return kept or 0.0, 0.0 if answered_deleted is None else 1.0 - answered_deleted


def decisions(policy: Policy, data: list[Replayed], label: str) -> float | None:
    """The share of the Chinese questions labelled `label` the shipped decision function
    answers (None when there are none)."""
    answered = [
        bool(r.sents) and answerable(policy, r.q, r.sents[best_of(policy, r)], r.sents)
        for r in data
        if r.label == label and r.q.script != "en"
    ]
    return sum(answered) / len(answered) if answered else None


def lookalikes_refused(policy: Policy, data: list[Replayed]) -> float | None:
    """The share of the look-alike questions (bench/lookalikes.py) refused; None without any."""
    answered = decisions(policy, data, LOOKALIKE)
    return None if answered is None else round(1.0 - answered, 4)


def with_weights(policy: Policy, **w: float) -> Policy:
    return dataclasses.replace(policy, score=dataclasses.replace(policy.score, **w))


# the boundary's inputs, as rag.answer.answerable weighs them (BOUNDARY_BEFORE: before
# `named_miss` was one)
BOUNDARY = BOUNDARY_INPUTS
BOUNDARY_BEFORE = ("ctx_cov", "dense", "type_miss", "score", "type_ok", "rank")


def with_boundary(policy: Policy, bias: float, **w: float) -> Policy:
    """The policy with the boundary's weights `w` (the others 0) and `bias`."""
    weights = {n: round(w.get(n, 0.0), 5) for n in BOUNDARY}
    nf = dataclasses.replace(policy.not_found, bias=round(bias, 5), **weights)
    return dataclasses.replace(policy, not_found=nf)


def boundary_inputs(policy: Policy, data: list[Replayed]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The BOUNDARY inputs of each Chinese question's best sentence, whether it is
    answerable, and its label."""
    zh = [r for r in data if r.q.script != "en" and r.q.terms and r.sents]
    x = np.array([best_inputs(r.q, r.sents[best_of(policy, r)], r.sents) for r in zh])
    return x, np.array([r.answerable for r in zh]), np.array([r.label for r in zh])


def logistic(
    x: np.ndarray, y: np.ndarray, iters: int = 3000, rate: float = 0.1, weights: np.ndarray | None = None
) -> np.ndarray:
    """Coefficients (per column of x, then the intercept) of a logistic regression, by
    gradient descent on standardised columns (numpy only; a few features), each row weighing
    `weights` (default 1)."""
    mu, sd = x.mean(0), x.std(0) + 1e-9
    z = np.c_[(x - mu) / sd, np.ones(len(x))]
    sw = np.ones(len(y)) if weights is None else weights
    w = np.zeros(z.shape[1])
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-z @ w))
        w -= rate * (z.T @ (sw * (p - y)) / sw.sum() + 1e-3 * w)
    coef = w[:-1] / sd
    return np.r_[coef, w[-1] - float(coef @ mu)]


def fit_boundary(
    policy: Policy,
    data: list[Replayed],
    keep: float,
    inputs: tuple[str, ...] = BOUNDARY,
    lookalike_weight: float = 1.0,
    each: Sequence[list[Replayed]] = (),
) -> Policy:
    """The logistic boundary over `inputs`, shifted so that `keep` of the answerable
    questions pass: of `data`, or of each part of `each` (the dev sets `data` is made of, in
    order, each read once: a share kept of them pooled lets one set keep less than it, as DRCD
    kept 0.942 when both kept 0.95). Its negatives are every unanswerable question of `data`:
    deleted-source and look-alike ones, each look-alike weighing `lookalike_weight`."""
    if each and sum(len(part) for part in each) != len(data):
        raise ValueError("fit_boundary: `each` must be the parts `data` is made of")
    cols = [BOUNDARY.index(n) for n in inputs]
    parts = [boundary_inputs(policy, part) for part in each] or [boundary_inputs(policy, data)]
    x, y, labels = (np.concatenate(column) for column in zip(*parts, strict=True))
    x = x[:, cols]
    w = logistic(x, y.astype(float), weights=np.where(labels == LOOKALIKE, lookalike_weight, 1.0))
    shift = min(float(np.quantile((px[:, cols] @ w[:-1] + w[-1])[py], 1.0 - keep)) for px, py, _ in parts)
    return with_boundary(policy, w[-1] - shift, **dict(zip(inputs, w[:-1], strict=True)))


def refused_at(
    policy: Policy, data: list[Replayed], keep: float, label: str = "unanswerable"
) -> float | None:
    """A point of the held-apart set's own curve: the share of its `label` questions (deleted
    source; or look-alike) refused by `policy`'s boundary moved (weights kept) to keep `keep`
    of its answerable ones; None without any (a NaN would not survive the policy file's JSON)."""
    x, y, labels = boundary_inputs(policy, data)
    nf = policy.not_found
    margin = x @ np.array([getattr(nf, n) for n in BOUNDARY])
    cut = float(np.quantile(margin[y], 1.0 - keep))
    return round(float((margin[labels == label] < cut).mean()), 4) if (labels == label).any() else None


def fit_weights(
    policy: Policy, data: list[Replayed], names: tuple[str, ...] = WEIGHTS, rounds: int = 3
) -> Policy:
    best, best_acc = policy, top1(policy, data)
    for _ in range(rounds):
        improved = False
        for name in names:
            base = getattr(best.score, name)
            values = TITLE_CREDITS if name == "title_credit" else [round(base * step, 4) for step in STEPS]
            for value in values:
                cand = with_weights(best, **{name: value})
                acc = top1(cand, data)
                if acc > best_acc + 1e-9:
                    best, best_acc, improved = cand, acc, True
        if not improved:
            break
    return best


def composed(policy: Policy, data: list[Replayed], *, not_found: bool = False) -> dict[str, float]:
    """Answer accuracy (a chosen sentence holds the gold answer) and the median answer length
    of the answerable questions, with the shipped composition (rag.answer.choose). With
    `not_found`, a question the shipped decision (rag.answer.answerable) refuses counts as a
    miss and has no answer length, and the share answered is given too."""
    hits, chars = [], []
    for r in data:
        if not r.answerable:
            continue
        if not r.sents:  # no candidate left (rag.answer.counts_in): "not found"
            hits.append(False)
            continue
        best = r.sents[best_of(policy, r)]
        if not_found and not answerable(policy, r.q, best, r.sents):
            hits.append(False)
            continue
        chosen = choose(policy, r.q, r.sents)
        hits.append(any(r.gold[i] for i, s in enumerate(r.sents) if any(s is c for c in chosen)))
        chars.append(sum(len(c.text) for c in chosen))
    out = {
        "accuracy": round(sum(hits) / max(1, len(hits)), 4),
        "median_chars": statistics.median(chars or [0]),
    }
    if not_found:
        out["answered"] = round(len(chars) / max(1, len(hits)), 4)
        out["questions"] = len(hits)
    return out


def fit(
    policy: Policy,
    data: list[Replayed],
    keep: float,
    lookalike_weight: float = 1.0,
    each: Sequence[list[Replayed]] = (),
) -> Policy:
    return fit_boundary(fit_weights(policy, data), data, keep, lookalike_weight=lookalike_weight, each=each)


def others_kept(own: dict[str, Any], before: dict[str, Any]) -> dict[str, Any]:
    """This command's `fitted` section (`own`) with every entry of the policy's section
    `before` that it does not write itself: the other fitting commands' (`span_model` of
    bench/fit_spans.py, `sentence_model`, `neighbour_model`, `span_choice`, `en_name_classes` of
    bench/transliteration.py, …) and `compose_cross_dataset` of an earlier version of this one."""
    return {**own, **{k: v for k, v in before.items() if k not in own}}


def summary(policy: Policy, data: list[Replayed]) -> dict[str, float | None]:
    kept, refused = decide(policy, data)
    return {
        "top1_gold": round(top1(policy, data), 4),
        "kept": round(kept, 4),
        "refused": round(refused, 4),
        "lookalikes_refused": lookalikes_refused(policy, data),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--index", default=str(ROOT / ".zhiwen" / "dev"), help="the dev indexes of bench/devsets.py"
    )
    ap.add_argument(
        "--limit", type=int, default=600, help="answerable (and as many deleted-source) questions per set"
    )
    ap.add_argument("--keep", type=float, default=0.95, help="share of answerable questions to keep")
    ap.add_argument(
        "--min-gain",
        type=float,
        default=0.005,
        help="held-apart top-1 gain needed (both directions) to move weights",
    )
    ap.add_argument("--features", default=None, help="JSONL recording: read it if it exists, else write it")
    lookalike_arguments(ap)
    ap.add_argument("--out", default=str(POLICY_FILE), help="where to write the fitted policy")
    ap.add_argument("--dry-run", action="store_true", help="report only, write nothing")
    args = ap.parse_args()
    base = Policy.load(Path(args.out))
    rows = recording(args.features, args.index, lambda root: collect(root, args.limit, base))
    if rows is None:
        return 0
    require_later_features(rows, args.features or "the recording")
    lw = args.lookalike_weight
    if (rows := with_lookalikes(rows, args, base)) is None:
        return 0
    data = {s: replayed([r for r in rows if r["set"] == s]) for s in SETS}
    base = with_weights(base, **NEUTRAL)
    names = list(SETS)
    both = data[names[0]] + data[names[1]]
    # Two stages, each held apart both ways. 1: the features added since the weights were
    # last fitted (NEW_FEATURES), alone; they move when they lose in neither direction and
    # gain in one. 2: every weight, from there; they move only when that gains in both.
    table = []
    for train, test in (names, names[::-1]):
        first = fit_weights(base, data[train], NEW_FEATURES)
        fitted = fit(first, data[train], args.keep, lw)
        table.append(
            {
                "fitted_on": train,
                "reported_on": test,
                "before": summary(base, data[test]),
                "new_features": summary(first, data[test]),
                "new_feature_values": {n: getattr(first.score, n) for n in NEW_FEATURES},
                "after": summary(fitted, data[test]),
                "refused_at_keep": {
                    "inputs_before": refused_at(
                        fit_boundary(fitted, data[train], args.keep, BOUNDARY_BEFORE, lw),
                        data[test],
                        args.keep,
                    ),
                    "inputs": refused_at(fitted, data[test], args.keep),
                    "lookalikes": refused_at(fitted, data[test], args.keep, LOOKALIKE),
                },
                "not_found": dataclasses.asdict(fitted.not_found),
                "weights": dataclasses.asdict(fitted.score),
            }
        )
    new_gains = [row["new_features"]["top1_gold"] - row["before"]["top1_gold"] for row in table]
    new_move = min(new_gains) >= 0 and max(new_gains) >= args.min_gain
    start = fit_weights(base, both, NEW_FEATURES) if new_move else base
    gains = [row["after"]["top1_gold"] - row["new_features"]["top1_gold"] for row in table]
    weights_move = min(gains) >= args.min_gain
    sets = [data[n] for n in names]  # each keeps --keep of its answerable questions
    shipped = (
        fit(start, both, args.keep, lw, sets)
        if weights_move
        else fit_boundary(start, both, args.keep, lookalike_weight=lw, each=sets)
    )
    print(
        f"new features {list(NEW_FEATURES)}: held-apart top-1 gains {[round(g, 4) for g in new_gains]}: "
        + ("fitted on both sets" if new_move else "kept")
    )
    print(
        f"all weights: held-apart top-1 gains {[round(g, 4) for g in gains]}: "
        + (
            "weights refitted on both sets"
            if weights_move
            else f"below {args.min_gain} in a direction, weights kept"
        )
    )
    curve = []
    for k in KEEP_CURVE:
        at_k = fit_boundary(shipped, both, k, lookalike_weight=lw, each=sets)
        kept, refused = decide(at_k, both)
        curve.append(
            {
                "target_keep": k,
                "kept": round(kept, 4),
                "refused": round(refused, 4),
                "lookalikes_refused": lookalikes_refused(at_k, both),
                "per_set": {
                    n: dict(
                        zip(("kept", "refused"), (round(v, 4) for v in decide(at_k, data[n])), strict=True)
                    )
                    for n in names
                },
            }
        )
    # for comparison: v1's rule, passage coverage alone against a threshold, on the same recording
    coverage_only = []
    for t in COVERAGE_ONLY:
        kept, refused = decide(with_boundary(shipped, -t, ctx_cov=1.0), both)
        coverage_only.append({"min_coverage": t, "kept": round(kept, 4), "refused": round(refused, 4)})
    n_pos = sum(r.answerable for r in both)
    n_look = sum(r.label == LOOKALIKE for r in both)
    fitted_info = {
        "command": "bench/fit_policy.py " + " ".join(sys.argv[1:]),
        "data": f"{n_pos} answerable + {len(both) - n_pos - n_look} deleted-source + {n_look} look-alike "
        "questions (CMRC 2018 dev, DRCD dev; look-alikes: bench/lookalikes.py)",
        "new_features_fitted": new_move,
        "weights_refitted": weights_move,
        "fitted": [
            "score.title_credit first, alone (moves unless it loses a held-apart set)",
            "score (coordinate ascent on top-1 sentence holds the gold answer; kept unless it helps both held-apart sets)",
            "not_found.ctx_cov/dense/type_miss/score/type_ok/rank/named_miss/bias (logistic regression against "
            "deleted-source and look-alike questions, shifted to keep --keep of each set)",
        ],
        "set_by_hand": "compose, evidence, terms, types, follow_up, not_found.min_own_coverage/_en/dense_only; "
        "spans as measured with bench/spans.py on CMRC 2018 (DRCD held apart)",
        "cross_dataset": table,
        "shipped_compose": composed(shipped, both),
        "not_found_curve": curve,
        "coverage_only_curve": coverage_only,
        "shipped": summary(shipped, both),
    }
    fitted_info = others_kept(fitted_info, base.fitted)
    if "compose_cross_dataset" in base.fitted:
        fitted_info["fitted"].append(
            "compose.next_chars: an earlier version of this command (compose_cross_dataset)"
        )
        fitted_info["set_by_hand"] = str(fitted_info["set_by_hand"]).replace(
            "compose,", "compose (but next_chars),"
        )
    out = dataclasses.replace(shipped, fitted=fitted_info)
    for row in table:
        print(
            f"fit {row['fitted_on']} -> {row['reported_on']}: top-1 gold {row['before']['top1_gold']:.3f} -> "
            f"{row['new_features']['top1_gold']:.3f} (new features {row['new_feature_values']}) -> "
            f"{row['after']['top1_gold']:.3f} (all weights); kept {row['before']['kept']:.3f} -> {row['after']['kept']:.3f}, "
            f"refused {row['before']['refused']:.3f} -> {row['after']['refused']:.3f}; "
            f"refused at {args.keep} kept on {row['reported_on']}'s own curve: {row['refused_at_keep']['inputs_before']:.3f} "
            f"({', '.join(BOUNDARY_BEFORE)}) -> {row['refused_at_keep']['inputs']:.3f} ({', '.join(BOUNDARY)}); "
            f"look-alikes refused {row['before']['lookalikes_refused']} -> {row['after']['lookalikes_refused']} "
            f"(own curve {row['refused_at_keep']['lookalikes']})"
        )
    print(
        "| boundary set to keep (each set) | answerable kept | deleted-source refused | look-alikes refused | "
        + " | ".join(f"{n} kept / refused" for n in names)
        + " |"
    )
    print("|---" * (4 + len(names)) + "|")
    for c in curve:
        mark = " (shipped)" if c["target_keep"] == args.keep else ""
        each = " | ".join(f"{c['per_set'][n]['kept']:.3f} / {c['per_set'][n]['refused']:.3f}" for n in names)
        print(
            f"| {c['target_keep']:.2f}{mark} | {c['kept']:.3f} | {c['refused']:.3f} | {c['lookalikes_refused']} | {each} |"
        )
    print(
        "| coverage-only rule (v1): least coverage | answerable kept | deleted-source refused |\n|---|---|---|"
    )
    for c in coverage_only:
        print(f"| {c['min_coverage']:.3f} | {c['kept']:.3f} | {c['refused']:.3f} |")
    print(
        f"shipped, on both sets: {fitted_info['shipped']}; median candidates {statistics.median(len(r.sents) for r in both)}"
    )
    if not args.dry_run:
        write_policy(out, Path(args.out))
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
