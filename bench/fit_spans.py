"""Fit the short-answer span model (rag.span_rank) on the dev sets, one held apart each way.

For every dev question whose gold answer is in its article, the oracle sentence (the one
holding the gold answer, as in bench/spans.py) gives the candidates (rag.span_features); those
that equal a gold answer (after `span_norm`) are the positives. The model is a conditional
logit: per question, a softmax over its candidates, maximising the probability of the
positives, with an L2 penalty, over the features and the lexical buckets of rag.span_lexical
(their weights go into rag/answer/span_lexical.npy; `--no-lexical` fits without them); then
gradient-boosted trees (LightGBM LambdaRank, `--rounds` rounds, 300 by default, 0 for none) rank again the `--shortlist` best candidates of that
linear score for the kinds of answer named by `--tree-kinds` (the others keep the linear
pick). Each kind of pick gets its own least confidence. Fitted on CMRC 2018 dev and reported
on DRCD dev, then the reverse, each against the rules alone (rag.span), the linear score
alone and the trees for every kind, always through the shipped decision (`SpanModel.pick`);
the shipped model is then fitted on both: its weights go into the `span_model` section of
rag/answer/policy.json, its trees into rag/answer/span_trees.txt (LightGBM's text format,
read with numpy by rag.trees).

    .venv/bin/python bench/fit_spans.py              # report both directions, write the policy and trees
    .venv/bin/python bench/fit_spans.py --dry-run --limit 800
    .venv/bin/python bench/fit_spans.py --rounds 0 --dry-run   # the linear score alone
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
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
from rag.answer import POLICY_FILE, Policy, analyse, policy_from_dict, write_policy  # noqa: E402
from rag.answer.policy import SPAN_LEXICAL_FILE, SPAN_TREES_FILE  # noqa: E402
from rag.evaluate import span_norm, span_scores  # noqa: E402
from rag.normalize import fold_width, simplify_with_map, to_simplified  # noqa: E402
from rag.span import rule_span  # noqa: E402
from rag.span_features import FEATURE_NAMES, KINDS, candidates_simplified  # noqa: E402
from rag.span_lexical import BUCKETS, TEMPLATES  # noqa: E402
from rag.span_rank import SpanModel, tree_rows  # noqa: E402
from rag.trees import TreeEnsemble  # noqa: E402

# The kinds whose candidates the trees rank again by default: the typed answers (a date, a
# number, a person, a place, a list). Not "other" (what X, what is) and "reason": since the
# trees see the linear score (rag.span_rank.tree_rows) they gain there too on both Wikipedia
# dev sets held apart, but on news sentences they still cut a name into fragments where the
# linear score takes it whole (全体会议 or 委员会 for 开了什么会, README "Short answers"); the
# dev sets hold no news to fit or check that on. `--tree-kinds` moves it.
TREE_KINDS = ("date", "number", "person", "place", "list")


@dataclasses.dataclass
class Group:
    """One question: its candidates' features, which are right, their scores against the gold."""

    x: np.ndarray
    keys: np.ndarray  # the candidates' lexical buckets (rag.span_lexical)
    positive: np.ndarray  # bool per candidate
    em: np.ndarray  # exact match of each candidate
    f1: np.ndarray  # best character F1 of each candidate
    rule: tuple[float, float]  # (EM, F1) of the rules' span
    source: str  # the article: folds never split one
    kind: str  # the kind of answer asked for (rag.span_features.KINDS)


def base_policy(path: Path = POLICY_FILE) -> Policy:
    """The policy file with its span model reset: the features may have changed since it was fitted."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    raw["span_model"] = {
        "features": list(FEATURE_NAMES),
        "weights": [0.0] * len(FEATURE_NAMES),
        "min_confidence": 0.0,
        "shortlist": 0,
        "trees_file": "",
        "tree_kinds": [],
        "tree_min_confidence": 0.0,
        "lexical_file": "",
        "lexical_templates": [],
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
            groups.append(
                Group(
                    x,
                    found.keys,
                    np.zeros(0, bool),
                    np.zeros(0),
                    np.zeros(0),
                    rule_scores,
                    qa["source"],
                    found.kind,
                )
            )
            continue
        scored = [span_scores(ss[a:b], golds) for a, b in found.spans]
        gold_norm = {span_norm(g) for g in golds}
        positive = np.array([span_norm(ss[a:b]) in gold_norm for a, b in found.spans])
        groups.append(
            Group(
                x,
                found.keys,
                positive,
                np.array([float(e) for e, _ in scored]),
                np.array([f for _, f in scored]),
                (float(rule_scores[0]), rule_scores[1]),
                qa["source"],
                found.kind,
            )
        )
    return groups


def fit(groups: list[Group], l2: float, lexical_l2: float | None) -> tuple[np.ndarray, np.ndarray | None]:
    """Weights maximising sum over questions of log P(a positive) under a softmax of
    x @ w + v[keys].sum(): `w` over the features, `v` over the lexical buckets (each with its
    own L2 penalty; no `v` when `lexical_l2` is None)."""
    train = [g for g in groups if g.positive.any()]
    x = np.vstack([g.x for g in train]).astype(np.float64)
    keys = np.vstack([g.keys for g in train])
    d = x.shape[1]
    n_lex = BUCKETS if lexical_l2 is not None else 0
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

    def loss(p: np.ndarray) -> tuple[float, np.ndarray]:
        w, v = p[:d], p[d:]
        s = x @ w + (v[keys].sum(axis=1) if n_lex else 0.0)
        all_lse, p_all = lse(s, None)
        pos_lse, p_pos = lse(s, pos)
        value = float(np.sum(all_lse - pos_lse)) / len(train) + l2 * float(w @ w)
        r = (p_all - p_pos) / len(train)
        grad = [x.T @ r + 2 * l2 * w]
        if lexical_l2 is not None:  # n_lex buckets
            value += lexical_l2 * float(v @ v)
            per_key = np.repeat(r, keys.shape[1])
            grad.append(np.bincount(keys.ravel(), weights=per_key, minlength=n_lex) + 2 * lexical_l2 * v)
        return value, np.concatenate(grad)

    res = minimize(loss, np.zeros(d + n_lex), jac=True, method="L-BFGS-B", options={"maxiter": 500})
    return np.asarray(res.x[:d]), (np.asarray(res.x[d:]) if n_lex else None)


def out_of_fold_scores(groups: list[Group], args: argparse.Namespace) -> list[np.ndarray]:
    """Per question, its candidates' linear scores from a linear model fitted on the other half
    of `groups` (two halves by article, split apart from `fold_of`): what the trees learn to
    refine must be as wrong as the linear score is on questions it was not fitted on."""
    scores: list[np.ndarray] = [np.zeros(0)] * len(groups)
    for k in (0, 1):
        w, lexical = fit([g for g in groups if inner_fold(g) != k], args.l2, lexical_l2(args))
        linear = model_of(w, lexical, None, 0)
        for i, g in enumerate(groups):
            if inner_fold(g) == k and len(g.positive):
                scores[i] = linear.linear_scores(g.x, g.keys)
    return scores


def fit_trees(groups: list[Group], scores: list[np.ndarray], shortlist: int, args: argparse.Namespace) -> str:
    """LambdaRank trees over the `shortlist` best candidates of each question by its linear
    `scores` (out of fold), seeing those scores (rag.span_rank.tree_rows), fitted on the
    questions whose shortlist holds a right one, as LightGBM's text model; "" with `--rounds 0`."""
    if args.rounds <= 0:
        return ""
    import lightgbm  # only here: fitting needs it, serving reads the text model with numpy

    xs, ys, sizes = [], [], []
    for g, s in zip(groups, scores, strict=True):
        if len(g.positive):
            best = np.argsort(-s, kind="stable")[:shortlist]
            if g.positive[best].any():
                xs.append(tree_rows(g.x[best], s[best]))
                ys.append(g.positive[best].astype(int))
                sizes.append(len(best))
    params = {
        "objective": "lambdarank",
        "learning_rate": args.learning_rate,
        "num_leaves": args.leaves,
        "min_data_in_leaf": args.min_data_in_leaf,
        "feature_fraction": 0.8,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "lambdarank_truncation_level": 10,
        "deterministic": True,
        "force_row_wise": True,
        "num_threads": 2,
        "verbose": -1,
    }
    data = lightgbm.Dataset(np.vstack(xs), np.concatenate(ys), group=sizes)
    return str(lightgbm.train(params, data, args.rounds).model_to_string())


def model_of(
    w: np.ndarray,
    lexical: np.ndarray | None,
    trees: TreeEnsemble | None,
    shortlist: int,
    tree_kinds: tuple[str, ...] = (),
) -> SpanModel:
    """A span model of weights `w` and `lexical` (and `trees` over the `shortlist` for
    `tree_kinds`), no least confidence yet."""
    return SpanModel(
        FEATURE_NAMES,
        tuple(float(v) for v in w),
        0.0,
        shortlist if trees else 0,
        "",
        trees,
        tree_kinds if trees else (),
        lexical_file="",
        lexical_templates=TEMPLATES if lexical is not None else (),
        lexical=lexical.astype(np.float32) if lexical is not None else None,
    )


def picked(groups: list[Group], model: SpanModel) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per question, by the shipped decision (`SpanModel.pick`): the model's confidence in its
    pick (0 without candidates), and the pick's EM and F1."""
    conf, em, f1 = np.zeros(len(groups)), np.zeros(len(groups)), np.zeros(len(groups))
    for i, g in enumerate(groups):
        if len(g.positive):
            k, conf[i] = model.pick(g.x, g.kind, g.keys)
            em[i], f1[i] = g.em[k], g.f1[k]
    return conf, em, f1


def fit_cut(groups: list[Group], model: SpanModel, max_withheld_em: float) -> float:
    """The least confidence for a span to be given: the highest on the grid (steps of 0.01)
    at which the spans it withholds would have been exactly right at most `max_withheld_em`
    of the time; 0 where it decides no question."""
    if not groups:
        return 0.0
    conf, em, _ = picked(groups, model)
    cut = 0.0
    for t in np.arange(0.01, 1.0, 0.01):
        withheld = conf < t
        if withheld.any() and em[withheld].mean() > max_withheld_em:
            break
        cut = round(float(t), 2)
    return cut


def report(groups: list[Group], model: SpanModel | None) -> dict[str, float]:
    """EM and F1 of the picked span over every question (0 where none is given; the rules'
    span when `model` is None; none below the model's least confidence)."""
    n = max(1, len(groups))
    reachable = sum(bool(g.positive.any()) for g in groups) / n
    out = {"n": len(groups), "reachable": round(reachable, 4)}
    if model is None:
        em = np.array([g.rule[0] for g in groups])
        f1 = np.array([g.rule[1] for g in groups])
    else:
        conf, em, f1 = picked(groups, model)
        given = (conf > 0) & (conf >= np.array([model.least_confidence(g.kind) for g in groups]))
        em, f1 = em * given, f1 * given
        out["given"] = round(float(given.mean()), 4)
        out["em_of_given"] = round(float(em[given].mean()) if given.any() else 0.0, 4)
    return {**out, "em": round(float(em.sum()) / n, 4), "f1": round(float(f1.sum()) / n, 4)}


def by_kind(groups: list[Group], linear: SpanModel, model: SpanModel) -> dict[str, dict[str, float]]:
    """Per kind of answer: questions, and EM of the linear pick and of the trees' pick (the
    model with its trees for every kind), no least confidence."""
    _, em_linear, _ = picked(groups, linear)
    _, em_trees, _ = picked(groups, dataclasses.replace(model, tree_kinds=KINDS) if model.trees else model)
    out = {}
    for kind in sorted({g.kind for g in groups}):
        rows = np.array([g.kind == kind for g in groups])
        out[kind] = {
            "n": int(rows.sum()),
            "linear": round(float(em_linear[rows].mean()), 3),
            "trees": round(float(em_trees[rows].mean()), 3),
        }
    return out


def fold_of(g: Group) -> int:
    return zlib.crc32(g.source.encode("utf-8")) % 2


def inner_fold(g: Group) -> int:
    """A second split by article, independent of `fold_of` (whose halves are fitted on whole;
    CRC-32 of the article with a prefix would not do: CRC is affine, its low bit would follow)."""
    return hashlib.blake2b(g.source.encode("utf-8"), digest_size=1).digest()[0] % 2


def lexical_l2(args: argparse.Namespace) -> float | None:
    return None if args.no_lexical else args.lexical_l2


def pooled(rows: list[dict[str, float]]) -> dict[str, float]:
    n = sum(r["n"] for r in rows)
    return {
        "n": n,
        "em": round(sum(r["em"] * r["n"] for r in rows) / max(1, n), 4),
        "f1": round(sum(r["f1"] * r["n"] for r in rows) / max(1, n), 4),
        "given": round(sum(r.get("given", 1.0) * r["n"] for r in rows) / max(1, n), 4),
    }


def fitted(groups: list[Group], args: argparse.Namespace) -> tuple[SpanModel, SpanModel, str]:
    """(the linear score alone, the shipped model: linear + trees, the trees' text model)
    fitted on `groups`, each model with its least confidence fitted on the same groups."""
    w, lexical = fit(groups, args.l2, lexical_l2(args))
    linear = model_of(w, lexical, None, 0)
    linear = dataclasses.replace(linear, min_confidence=fit_cut(groups, linear, args.max_withheld_em))
    kinds = tuple(args.tree_kinds)
    # no kind to rank: no trees to fit
    text = (
        fit_trees(groups, out_of_fold_scores(groups, args), args.shortlist, args)
        if kinds and args.rounds > 0
        else ""
    )
    if not text:
        return linear, linear, ""
    model = model_of(w, lexical, TreeEnsemble.from_text(text), args.shortlist, kinds)
    # each least confidence on the questions it decides: the linear one where the trees do not rank
    by_trees = [g for g in groups if g.kind in kinds]
    by_linear = [g for g in groups if g.kind not in kinds]
    return (
        linear,
        dataclasses.replace(
            model,
            min_confidence=fit_cut(by_linear, linear, args.max_withheld_em),
            tree_min_confidence=fit_cut(by_trees, model, args.max_withheld_em),
        ),
        text,
    )


def without_cut(model: SpanModel) -> SpanModel:
    """The model with neither least confidence: every question given its pick."""
    return dataclasses.replace(model, min_confidence=0.0, tree_min_confidence=0.0)


def tree_kinds(value: str) -> tuple[str, ...]:
    """`--tree-kinds`: comma-separated kinds of answer, each one of KINDS."""
    kinds = tuple(k for k in value.split(",") if k)
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown kinds {unknown}; choose among {','.join(KINDS)}")
    return kinds


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=int, default=100000, help="questions per set (default: all)")
    ap.add_argument("--l2", type=float, default=1e-3, help="L2 penalty per question (linear score)")
    ap.add_argument(
        "--lexical-l2", type=float, default=1e-3, help="L2 penalty per question of the lexical weights"
    )
    ap.add_argument(
        "--no-lexical",
        action="store_true",
        help="no lexical features (rag.span_lexical): the model without them",
    )
    ap.add_argument("--shortlist", type=int, default=24, help="candidates the trees rank again")
    ap.add_argument("--rounds", type=int, default=300, help="boosting rounds of the trees (0: no trees)")
    ap.add_argument(
        "--tree-kinds",
        type=tree_kinds,
        default=TREE_KINDS,
        help="kinds of answer whose candidates the trees rank again (comma-separated, of "
        f"{','.join(KINDS)}; the others keep the linear pick); default: %(default)s",
    )
    ap.add_argument("--leaves", type=int, default=31, help="leaves per tree (at most 64)")
    ap.add_argument("--learning-rate", type=float, default=0.05)
    ap.add_argument("--min-data-in-leaf", type=int, default=50)
    ap.add_argument(
        "--max-withheld-em",
        type=float,
        default=0.1,
        help="withhold the short answer below the confidence where at most this share of the "
        "withheld spans would have been exactly right",
    )
    ap.add_argument(
        "--fit-on",
        choices=SETS,
        help="fit the written model on this set alone and report nothing (for a policy held apart "
        "from the other set, e.g. to replay its short answers with bench/fit_span_choice.py --out)",
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
    pairs = [] if args.fit_on else [names, names[::-1]]
    for train, test in pairs:
        linear, model, _ = fitted(data[train], args)
        row = {
            "fitted_on": train,
            "reported_on": test,
            "rules": report(data[test], None),
            "linear": report(data[test], without_cut(linear)),
            "model": report(data[test], without_cut(model)),
            "trees_for_every_kind": report(
                data[test], without_cut(dataclasses.replace(model, tree_kinds=KINDS))
            )
            if model.trees
            else None,
            "model_on_train": report(data[train], without_cut(model)),
            "em_by_kind": by_kind(data[test], without_cut(linear), without_cut(model)),
            "min_confidence": model.min_confidence,
            "tree_min_confidence": model.tree_min_confidence,
            "model_with_cut": report(data[test], model),
        }
        table.append(row)
        cr = row["model_with_cut"]
        print(
            f"fit {train} -> {test}: rules EM/F1 {row['rules']['em']:.3f}/{row['rules']['f1']:.3f}, "
            f"linear {row['linear']['em']:.3f}/{row['linear']['f1']:.3f}, "
            f"model {row['model']['em']:.3f}/{row['model']['f1']:.3f} "
            f"(on {train} itself {row['model_on_train']['em']:.3f}/{row['model_on_train']['f1']:.3f}; "
            f"a right candidate exists for {row['model']['reachable']:.3f}); "
            + (
                f"trees for every kind {row['trees_for_every_kind']['em']:.3f}/{row['trees_for_every_kind']['f1']:.3f}; "
                if row["trees_for_every_kind"]
                else ""
            )
            + f"with the cuts fitted on {train} ({model.min_confidence}, trees {model.tree_min_confidence}): "
            f"given {cr['given']:.3f}, "
            f"EM/F1 {cr['em']:.3f}/{cr['f1']:.3f}, "
            f"EM of those given {row['model']['em_of_given']:.3f} -> {cr['em_of_given']:.3f}",
            flush=True,
        )
        print(
            f"  EM by kind on {test}, linear -> trees: "
            + ", ".join(
                f"{k} {v['linear']:.3f} -> {v['trees']:.3f} (n={v['n']})"
                for k, v in row["em_by_kind"].items()
            ),
            flush=True,
        )
    # the shipped setting, fitted on both sets, measured on articles it was not fitted on:
    # two folds by article, each fitted on the other fold of both sets
    folds: dict[str, list[dict[str, float]]] = {n: [] for n in names}
    folds_linear: dict[str, list[dict[str, float]]] = {n: [] for n in names}
    for k in (0, 1) if not args.fit_on else ():
        linear, model, _ = fitted([g for n in names for g in data[n] if fold_of(g) != k], args)
        for n in names:
            held = [g for g in data[n] if fold_of(g) == k]
            folds[n].append(report(held, model))
            folds_linear[n].append(report(held, linear))
    by_article = {n: pooled(folds[n]) for n in names}
    by_article_linear = {n: pooled(folds_linear[n]) for n in names}
    for n in names if not args.fit_on else ():
        print(
            f"fit on both, other articles -> {n}: model EM/F1 {by_article[n]['em']:.3f}/{by_article[n]['f1']:.3f}"
            f" (linear alone {by_article_linear[n]['em']:.3f}/{by_article_linear[n]['f1']:.3f}; "
            f"with the cut fitted on the other fold; given {by_article[n]['given']:.3f})"
        )
    fit_on = [args.fit_on] if args.fit_on else names
    _, model, text = fitted([g for n in fit_on for g in data[n]], args)
    out = Path(args.out)
    trees_file = out.with_name(SPAN_TREES_FILE) if model.trees else None
    model = dataclasses.replace(
        model,
        weights=tuple(round(float(v), 5) for v in model.weights),
        trees_file=trees_file.name if trees_file else "",
        lexical_file=SPAN_LEXICAL_FILE if model.lexical is not None else "",
    )
    fitted_info = dict(policy.fitted)
    fitted_info["span_model"] = {
        "command": "bench/fit_spans.py " + " ".join(sys.argv[1:]),
        "data": "oracle sentences of CMRC 2018 dev and DRCD dev: "
        + ", ".join(f"{n} {len(data[n])} questions" for n in names),
        "lexical": "none"
        if args.no_lexical
        else {"templates": list(TEMPLATES), "buckets": BUCKETS, "l2": args.lexical_l2},
        "trees": {
            k: getattr(args, k)
            for k in ("shortlist", "rounds", "leaves", "learning_rate", "min_data_in_leaf", "tree_kinds")
        },
        "cross_dataset": table,
        "both_sets_two_folds_by_article": by_article,
        "both_sets_two_folds_by_article_linear_alone": by_article_linear,
        "min_confidence": f"highest (steps of 0.01) withholding spans exactly right at most "
        f"{args.max_withheld_em} of the time, on the questions each decides: {model.min_confidence} "
        f"(linear picks), {model.tree_min_confidence} (picks of the trees)",
        "shipped_on_both": {n: report(data[n], model) for n in names},
    }
    if not args.dry_run:
        write_policy(
            dataclasses.replace(policy, span_model=model, fitted=fitted_info),
            out,
            trees_text=text if trees_file is not None else None,
            lexical_weights=model.lexical,
        )
        print(
            f"wrote {args.out}"
            + (f" and {trees_file}" if trees_file else "")
            + (f" and {out.with_name(SPAN_LEXICAL_FILE)}" if model.lexical is not None else "")
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
