"""Fit the answer policy (rag/answer/policy.json) on the dev sets, held apart.

1. Records, for dev questions asked of the dev indexes of bench/devsets.py, every candidate
   sentence with its features (rag.answer.features, the shipped extractor; the answer-type
   feature for every candidate) and whether it holds the gold answer. Negatives: other
   questions of the same sets asked after their source articles were deleted from a copy
   of the index (the honest response is "not found").
2. Fits the sentence-scoring weights (coordinate ascent on the share of questions whose
   best-scored sentence holds the gold answer) and then the "not found" threshold (the
   highest coverage that keeps --keep of the answerable questions), with the shipped
   decision functions (rag.answer.full_score, rag.answer.rank_sentences — the sentence
   ranker of bench/fit_ranker.py, run that one first —, rag.answer.answerable).
3. Cross-dataset protocol: fitted on CMRC 2018, reported on DRCD, and the reverse; the
   shipped policy is then fitted on both. Writes the policy with the table and the
   "not found" curve of the shipped policy in its `fitted` section.

    .venv/bin/python bench/fit_policy.py --index .zhiwen/dev --limit 600
    .venv/bin/python bench/fit_policy.py --features /tmp/features.jsonl   # refit from a recording
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import random
import shutil
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT))

from rag import Index, get_embedder  # noqa: E402
from rag.answer import (  # noqa: E402
    LATER_FEATURES,
    POLICY_FILE,
    RECORDED_FEATURES,
    Policy,
    Query,
    Sentence,
    analyse,
    answerable,
    choose,
    full_score,
    gather_evidence,
    ordered,
    rank_sentences,
    recorded_sentence,
    type_miss,
    write_policy,
)
from rag.errors import NotFoundError  # noqa: E402
from rag.evaluate import QAItem, gold_found, load_qa  # noqa: E402

SETS = {"cmrc2018_dev": "cmrc2018_dev_qa.jsonl", "drcd_dev": "drcd_dev_qa.jsonl"}
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


def record(index: Index, item: QAItem, label: str, set_name: str, policy: Policy) -> dict[str, Any] | None:
    q = analyse(item.question, policy=policy)
    ev = gather_evidence(index, q, policy=policy)
    if not ev.sentences:
        return None
    return {
        "set": set_name,
        "label": label,
        "question": item.question,
        "kind": q.kind,
        "script": q.script,
        "has_terms": bool(q.terms),
        "terms": q.terms,
        "sentences": [
            {
                **{f: getattr(s, f) for f in RECORDED_FEATURES},
                "hit_rank": s.hit_rank,
                "article": s.hit.article_id,
                "text": s.text,
                "start": s.start,
                "gold": label == "answerable" and gold_found(item, s.text),
            }
            for s in ev.sentences
        ],
    }


def recording(
    path: str | None, index: str, collect_rows: Callable[[Path], list[dict[str, Any]]]
) -> list[dict[str, Any]] | None:
    """The rows of the JSONL recording at `path` when it exists; else `collect_rows(root)` over
    the dev indexes in `index`, written to `path` when one is given. None (and a message) when
    ../shared or the dev indexes are missing."""
    rec = Path(path) if path else None
    if rec is not None and rec.exists():
        return [json.loads(line) for line in rec.read_text(encoding="utf-8").splitlines() if line.strip()]
    root = Path(index)
    if not (SHARED / "eval").is_dir() or not all((root / s / "BUILT").exists() for s in SETS):
        print("skipped: needs ../shared and the dev indexes (run bench/devsets.py --index DIR first)")
        return None
    rows = collect_rows(root)
    if rec is not None:
        rec.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return rows


def recording_policy(policy: Policy) -> Policy:
    """`policy` computing the answer-type feature for every candidate, so that any weights
    can be replayed."""
    return dataclasses.replace(policy, evidence=dataclasses.replace(policy.evidence, type_shortlist=10**6))


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


def replay(row: dict[str, Any]) -> tuple[Query, list[Sentence]]:
    if "terms" not in row:
        raise SystemExit(
            "this recording has no question terms (recorded before the sentence ranker): record it again"
        )
    q = Query(row["question"], row["script"], "", "", row["kind"], terms=row["terms"])
    return q, [
        recorded_sentence(d["article"], d["hit_rank"], d, d.get("text", ""), d.get("start", 0))
        for d in row["sentences"]
    ]


@dataclasses.dataclass(slots=True)
class Replayed:
    q: Query
    sents: list[Sentence]
    gold: list[bool]
    answerable: bool


def require_later_features(rows: list[dict[str, Any]], what: str) -> None:
    """Exit, saying what to do, when a recording predates a feature the decision weighs
    (`LATER_FEATURES`: replayed as 0, it would be fitted and measured as absent)."""
    first = next((r["sentences"][0] for r in rows if r["sentences"]), {})
    missing = [f for f in LATER_FEATURES if first and f not in first]
    if missing:
        raise SystemExit(
            f"{what} has no {', '.join(missing)} (recorded before it was a feature): record it again "
            "(a new --features file)"
        )


def replayed(rows: list[dict[str, Any]]) -> list[Replayed]:
    out = []
    for r in rows:
        q, sents = replay(r)
        out.append(Replayed(q, sents, [d["gold"] for d in r["sentences"]], r["label"] == "answerable"))
    return out


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
    return sum(r.gold[best_of(policy, r)] for r in pos) / max(1, len(pos))


def decide(policy: Policy, data: list[Replayed]) -> tuple[float, float]:
    """(answerable kept, deleted-source refused) with the shipped decision function."""
    kept = refused = n_pos = n_neg = 0
    for r in data:
        if r.q.script == "en":
            continue
        ok = answerable(policy, r.q, r.sents[best_of(policy, r)])
        if r.answerable:
            n_pos += 1
            kept += bool(ok)
        else:
            n_neg += 1
            refused += not bool(ok)
    return kept / max(1, n_pos), refused / max(1, n_neg)


def with_weights(policy: Policy, **w: float) -> Policy:
    return dataclasses.replace(policy, score=dataclasses.replace(policy.score, **w))


# the boundary's inputs, as rag.answer.answerable weighs them (BOUNDARY_BEFORE: before the
# sentence ranker's score was one)
BOUNDARY = ("ctx_cov", "dense", "type_miss", "score", "type_ok", "rank", "named_miss")
BOUNDARY_BEFORE = ("ctx_cov", "dense", "type_miss", "score", "type_ok", "rank")


def with_boundary(policy: Policy, bias: float, **w: float) -> Policy:
    """The policy with the boundary's weights `w` (the others 0) and `bias`."""
    weights = {n: round(w.get(n, 0.0), 5) for n in BOUNDARY}
    nf = dataclasses.replace(policy.not_found, bias=round(bias, 5), **weights)
    return dataclasses.replace(policy, not_found=nf)


def boundary_inputs(policy: Policy, data: list[Replayed]) -> tuple[np.ndarray, np.ndarray]:
    """The BOUNDARY inputs of each Chinese question's best sentence, and whether it is
    answerable."""
    zh = [r for r in data if r.q.script != "en" and r.q.terms]
    x = np.array(
        [
            [b.ctx_cov, b.dense, type_miss(r.q, b), b.score, b.type_ok, b.rank, b.named_miss]
            for r in zh
            for b in [r.sents[best_of(policy, r)]]
        ]
    )
    return x, np.array([r.answerable for r in zh])


def logistic(x: np.ndarray, y: np.ndarray, iters: int = 3000, rate: float = 0.1) -> np.ndarray:
    """Coefficients (per column of x, then the intercept) of a logistic regression, by
    gradient descent on standardised columns (numpy only; a three-feature problem)."""
    mu, sd = x.mean(0), x.std(0) + 1e-9
    z = np.c_[(x - mu) / sd, np.ones(len(x))]
    w = np.zeros(z.shape[1])
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-z @ w))
        w -= rate * (z.T @ (p - y) / len(y) + 1e-3 * w)
    coef = w[:-1] / sd
    return np.r_[coef, w[-1] - float(coef @ mu)]


def fit_boundary(
    policy: Policy, data: list[Replayed], keep: float, inputs: tuple[str, ...] = BOUNDARY
) -> Policy:
    """The logistic boundary over `inputs`, shifted so that `keep` of the answerable
    questions pass."""
    x, y = boundary_inputs(policy, data)
    x = x[:, [BOUNDARY.index(n) for n in inputs]]
    w = logistic(x, y.astype(float))
    margin = x @ w[:-1] + w[-1]
    shift = float(np.quantile(margin[y], 1.0 - keep))
    return with_boundary(policy, w[-1] - shift, **dict(zip(inputs, w[:-1], strict=True)))


def refused_at(policy: Policy, data: list[Replayed], keep: float) -> float:
    """A point of the held-apart set's own curve: the share of its deleted-source questions
    refused by `policy`'s boundary moved (weights kept) to keep `keep` of its answerable ones."""
    x, y = boundary_inputs(policy, data)
    nf = policy.not_found
    margin = x @ np.array([getattr(nf, n) for n in BOUNDARY])
    cut = float(np.quantile(margin[y], 1.0 - keep))
    return round(float((margin[~y] < cut).mean()), 4)


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
        best = r.sents[best_of(policy, r)]
        if not_found and not answerable(policy, r.q, best):
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


def fit(policy: Policy, data: list[Replayed], keep: float) -> Policy:
    return fit_boundary(fit_weights(policy, data), data, keep)


def summary(policy: Policy, data: list[Replayed]) -> dict[str, float]:
    kept, refused = decide(policy, data)
    return {"top1_gold": round(top1(policy, data), 4), "kept": round(kept, 4), "refused": round(refused, 4)}


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
    ap.add_argument("--out", default=str(POLICY_FILE), help="where to write the fitted policy")
    ap.add_argument("--dry-run", action="store_true", help="report only, write nothing")
    args = ap.parse_args()
    base = Policy.load(Path(args.out))
    rows = recording(args.features, args.index, lambda root: collect(root, args.limit, base))
    if rows is None:
        return 0
    require_later_features(rows, args.features or "the recording")
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
        fitted = fit(first, data[train], args.keep)
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
                        fit_boundary(fitted, data[train], args.keep, BOUNDARY_BEFORE), data[test], args.keep
                    ),
                    "inputs": refused_at(fitted, data[test], args.keep),
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
    shipped = fit(start, both, args.keep) if weights_move else fit_boundary(start, both, args.keep)
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
        kept, refused = decide(fit_boundary(shipped, both, k), both)
        curve.append({"target_keep": k, "kept": round(kept, 4), "refused": round(refused, 4)})
    # for comparison: v1's rule, passage coverage alone against a threshold, on the same recording
    coverage_only = []
    for t in COVERAGE_ONLY:
        kept, refused = decide(with_boundary(shipped, -t, ctx_cov=1.0), both)
        coverage_only.append({"min_coverage": t, "kept": round(kept, 4), "refused": round(refused, 4)})
    n_pos = sum(r.answerable for r in both)
    fitted_info = {
        "command": "bench/fit_policy.py " + " ".join(sys.argv[1:]),
        "data": f"{n_pos} answerable + {len(both) - n_pos} deleted-source questions (CMRC 2018 dev, DRCD dev)",
        "new_features_fitted": new_move,
        "weights_refitted": weights_move,
        "fitted": [
            "score.title_credit first, alone (moves unless it loses a held-apart set)",
            "score (coordinate ascent on top-1 sentence holds the gold answer; kept unless it helps both held-apart sets)",
            "not_found.ctx_cov/dense/type_miss/score/type_ok/rank/named_miss/bias (logistic regression, shifted to keep --keep)",
        ],
        "set_by_hand": "compose, evidence, terms, types, follow_up, not_found.min_own_coverage/_en/dense_only; "
        "spans as measured with bench/spans.py on CMRC 2018 (DRCD held apart)",
        "cross_dataset": table,
        "shipped_compose": composed(shipped, both),
        "not_found_curve": curve,
        "coverage_only_curve": coverage_only,
        "shipped": summary(shipped, both),
    }
    # written by bench/fit_spans.py, bench/fit_ranker.py, bench/fit_neighbours.py,
    # bench/fit_span_choice.py, and (compose.next_chars) by an earlier version of this command
    for kept in ("span_model", "sentence_model", "neighbour_model", "span_choice", "compose_cross_dataset"):
        if kept in base.fitted:
            fitted_info[kept] = base.fitted[kept]
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
            f"({', '.join(BOUNDARY_BEFORE)}) -> {row['refused_at_keep']['inputs']:.3f} ({', '.join(BOUNDARY)})"
        )
    print("| boundary set to keep | answerable kept | deleted-source refused |\n|---|---|---|")
    for c in curve:
        mark = " (shipped)" if c["target_keep"] == args.keep else ""
        print(f"| {c['target_keep']:.2f}{mark} | {c['kept']:.3f} | {c['refused']:.3f} |")
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
