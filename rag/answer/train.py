"""Write `rag/answer/policy.json`: learn the sentence ranker and the "not found" decision.

    python -m rag.answer.train dump --set cmrc2018_dev --out .zhiwen/bench/train/cmrc2018_dev.jsonl
    python -m rag.answer.train dump --set drcd_dev --out .zhiwen/bench/train/drcd_dev.jsonl
    python -m rag.answer.train fit .zhiwen/bench/train/cmrc2018_dev.jsonl .zhiwen/bench/train/drcd_dev.jsonl

`dump` asks a sample of a dev set's questions of its index (`bench/devsets.py` builds them:
the set's articles plus 2,000 CRUD news articles) and records every candidate sentence's
features and whether it holds the gold answer; a disjoint sample is asked with the source
article hidden from the results (as if deleted), where the honest response is "not found".
`fit` runs the cross-dataset protocol (fit on one set, report on the other, both ways), then
fits on both and writes the policy (plus the two one-set policies, for `bench/devsets.py
--policy`). LightGBM and scikit-learn are imported only here.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import random
import statistics
import sys
from pathlib import Path
from typing import Any

import numpy as np

from rag.answer import policy as policy_mod
from rag.answer.features import FEATURES

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
SETS = {"cmrc2018_dev": "cmrc2018_dev_qa.jsonl", "drcd_dev": "drcd_dev_qa.jsonl"}
# Choices not fitted by this command (no data here measures them); recorded in the policy as such.
FIXED: dict[str, tuple[float, str]] = {
    "passages": (6, "fixed: passages whose sentences are candidates (v1 value)"),
    "light_weight": (0.3, "fixed: weight of answer-type nouns and carried terms (v1 value)"),
    "prefer_bonus": (0.15, "fixed: follow-ups; no follow-up dev set (v1 value)"),
    "min_own_coverage": (0.3, "fixed: least coverage of a follow-up's own words"),
    "dense_shortlist": (
        12,
        "fixed: candidates whose dense similarity is computed (embedding is the slow part)",
    ),
    "en_translations": (3, "fixed: dictionary words tried per English word"),
    "max_answer_chars": (200, "fixed: longest answer of two sentences"),
    "fragment_chars": (12, "fixed: a shorter best sentence is completed by its neighbour"),
    "list_window": (5, "fixed: ranked sentences looked at for list merging"),
    "list_max_sentences": (4, "fixed"),
    "short_max_chars": (30, "fixed: longest short answer"),
}
# A prior on the direction only (never a size): more of the question covered, a better
# retrieved passage, a closer dense match, the kind of answer asked for never make a sentence
# worse; a later passage, a teaser, a heading or a question never make it better. It keeps the
# ranker sensible on text unlike the dev sets' (news rather than encyclopaedia).
MONOTONE: dict[str, int] = {
    **dict.fromkeys(
        ("cov", "cov_local", "ctx_cov", "win_cov", "matched_share", "proximity", "dense", "dense_gap",
         "cov_gap", "type_match", "year_agree", "number_agree", "hit_score", "hit_bm25", "hit_dense"),
        1,
    ),
    **dict.fromkeys(("dense_rank", "hit_rank", "teaser", "question_mark", "heading"), -1),
}  # fmt: skip
PAIRS_PER_QUESTION = 30
RANKER = "linear"  # or "lambdarank" (LightGBM); chosen by the cross-dataset and seed results in README
TARGET_KEPT = 0.98  # share of answerable training questions kept (the issue asks >= 0.95 on unseen data)


def _say(text: str) -> None:
    """The command's report, on stdout (this module is a command, not library code)."""
    sys.stdout.write(text + "\n")


def bootstrap_policy() -> policy_mod.Policy:
    return policy_mod.from_dict(_policy_dict({"tree_info": []}, _nf_dummy(), {}, {}))


def _nf_dummy() -> dict[str, Any]:
    n = len(policy_mod.NOT_FOUND_FEATURES)
    return {
        "features": list(policy_mod.NOT_FOUND_FEATURES),
        "coef": [0.0] * n,
        "intercept": 0.0,
        "mean": [0.0] * n,
        "scale": [1.0] * n,
        "threshold": 0.5,
    }


def _policy_dict(
    ranker: dict[str, Any], nf: dict[str, Any], learned: dict[str, tuple[float, str]], info: dict[str, Any]
) -> dict[str, Any]:
    params = {k: {"value": v, "how": how} for k, (v, how) in {**FIXED, **learned}.items()}
    params.setdefault("second_margin", {"value": 0.0, "how": "bootstrap"})
    params.setdefault("list_margin", {"value": 0.0, "how": "bootstrap"})
    return {
        "version": info.get("version", "bootstrap"),
        "trained": info,
        "features": list(FEATURES),
        "ranker": ranker,
        "not_found": nf,
        "params": params,
    }


# ------------------------------------------------------------------ dump


def dump(
    set_name: str, out: Path, n_pos: int, n_neg: int, index_root: Path, seed: int, offset: int = 0
) -> None:
    from rag import Index, get_embedder
    from rag.answer import gather_evidence
    from rag.evaluate import gold_found, load_qa

    items = load_qa(SHARED / "eval" / SETS[set_name])
    random.Random(seed).shuffle(items)
    items = items[offset:]
    index = Index.open(index_root / set_name, get_embedder("use"))
    pol = bootstrap_policy()
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as f:
        for i, it in enumerate(items[: n_pos + n_neg]):
            neg = i >= n_pos
            src = it.source

            def hidden(h: Any, _src: str | None = src) -> bool:
                return bool(_src) and (h.article_id == _src or h.parent_id == _src)

            ev = gather_evidence(index, it.question, policy=pol, exclude=hidden if neg else None)
            row = {
                "set": set_name,
                "id": it.id,
                "question": it.question,
                "answers": it.answers or it.answers_all,
                "negative": neg,
                "kind": ev.query.kind,
                "n_terms": len(ev.query.terms),
                "cands": [
                    {
                        "x": [round(v, 5) for v in c.x],
                        "label": int(gold_found(it, c.text)),
                        "article": c.hit.article_id,
                        "start": c.start,
                        "text": c.text,
                        "own_cov": c.own_cov,
                    }
                    for c in ev.candidates
                ],
            }
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
            if i % 50 == 0:
                logger.info("%s: %d/%d", set_name, i, n_pos + n_neg)
    index.close()


# ------------------------------------------------------------------ fit


def _load(paths: list[Path]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    seen: set[tuple[str, str, bool]] = set()
    for p in paths:
        with p.open(encoding="utf-8") as f:
            for line in f:
                if not line.strip():
                    continue
                r = json.loads(line)
                key = (r["set"], r["id"], r["negative"])
                if key not in seen:  # dumps of overlapping samples
                    seen.add(key)
                    rows.append(r)
    return rows


def _fit_linear_ranker(rows: list[dict[str, Any]], seed: int) -> dict[str, Any]:
    """Logistic regression on standardised features (does the candidate hold the gold?): one
    weight per feature, which carries from encyclopaedia questions to news better than trees."""
    from sklearn.linear_model import LogisticRegression

    groups = [r for r in rows if not r["negative"] and any(c["label"] for c in r["cands"])]
    x = np.array([c["x"] for r in groups for c in r["cands"]], dtype=np.float64)
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    # pairwise (RankNet-like): within one question, which of a gold and a non-gold sentence wins
    rng = random.Random(seed)
    diffs: list[np.ndarray] = []
    for r in groups:
        pos = [np.array(c["x"]) for c in r["cands"] if c["label"]]
        neg = [np.array(c["x"]) for c in r["cands"] if not c["label"]]
        pairs = [(p, n) for p in pos for n in neg]
        rng.shuffle(pairs)
        diffs.extend((p - n) / scale for p, n in pairs[:PAIRS_PER_QUESTION])
    d = np.array(diffs)
    lr = LogisticRegression(C=0.1, max_iter=5000, fit_intercept=False, random_state=seed)
    lr.fit(np.vstack([d, -d]), np.array([1] * len(d) + [0] * len(d)))
    return {
        "type": "linear (logistic regression on standardised features)",
        "coef": [float(v) for v in lr.coef_[0]],
        "mean": [float(v) for v in mean],
        "scale": [float(v) for v in scale],
    }


def _fit_ranker(rows: list[dict[str, Any]], seed: int) -> dict[str, Any]:
    if RANKER == "linear":
        return _fit_linear_ranker(rows, seed)
    import lightgbm as lgb

    groups = [r for r in rows if not r["negative"] and any(c["label"] for c in r["cands"])]
    x = np.array([c["x"] for r in groups for c in r["cands"]], dtype=np.float64)
    y = np.array([c["label"] for r in groups for c in r["cands"]])
    sizes = [len(r["cands"]) for r in groups]
    model = lgb.LGBMRanker(
        objective="lambdarank",
        n_estimators=200,
        learning_rate=0.05,
        num_leaves=15,
        min_child_samples=20,
        subsample=0.8,
        subsample_freq=1,
        colsample_bytree=0.8,
        lambdarank_truncation_level=5,
        monotone_constraints=[MONOTONE.get(f, 0) for f in FEATURES],
        monotone_constraints_method="advanced",
        random_state=seed,
        verbose=-1,
    )
    model.fit(x, y, group=sizes, feature_name=list(FEATURES))
    d = model.booster_.dump_model()
    keep = ("split_feature", "threshold", "decision_type", "leaf_value")

    def slim(n: dict[str, Any]) -> dict[str, Any]:
        out = {k: n[k] for k in keep if k in n}
        for child in ("left_child", "right_child"):
            if child in n:
                out[child] = slim(n[child])
        return out

    trees = [{"tree_structure": slim(t["tree_structure"])} for t in d["tree_info"]]
    return {"type": "lightgbm-lambdarank (LightGBM's JSON dump, decision nodes only)", "tree_info": trees}


def _scored(rows: list[dict[str, Any]], pol: policy_mod.Policy) -> list[dict[str, Any]]:
    """Each question with its candidates ranked by the policy and the not-found features."""
    out = []
    for r in rows:
        cands = list(r["cands"])
        qyears = cands and cands[0]["x"][FEATURES.index("q_has_year")] > 0
        if qyears:
            cands = [c for c in cands if c["x"][FEATURES.index("year_agree")] >= 0]
        for c in cands:
            c["score"] = pol.rank_score(c["x"])
        cands.sort(key=lambda c: -c["score"])
        z = None
        if cands:
            b = cands[0]
            x = b["x"]

            def g(name: str, _x: list[float] = x) -> float:
                return float(_x[FEATURES.index(name)])

            second = cands[1]["score"] if len(cands) > 1 else b["score"] - 1.0
            z = {
                "score": b["score"],
                "margin": b["score"] - second,
                "cov": g("cov"),
                "ctx_cov": min(g("ctx_cov"), b["own_cov"]),
                "win_cov": min(g("win_cov"), b["own_cov"]),
                "matched_share": g("matched_share"),
                "dense": g("dense"),
                "type_match": g("type_match"),
                "year_agree": g("year_agree"),
                "hit_dense": g("hit_dense"),
                "log_terms": float(np.log1p(r["n_terms"])),
            }
        out.append({**r, "ranked": cands, "z": z})
    return out


def _fit_not_found(scored: list[dict[str, Any]]) -> dict[str, Any]:
    from sklearn.linear_model import LogisticRegression

    names = list(policy_mod.NOT_FOUND_FEATURES)
    rows = [r for r in scored if r["z"] is not None]
    x = np.array([[r["z"][n] for n in names] for r in rows])
    y = np.array([0 if r["negative"] else 1 for r in rows])
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    lr = LogisticRegression(C=1.0, max_iter=2000)
    lr.fit((x - mean) / scale, y)
    p = lr.predict_proba((x - mean) / scale)[:, 1]
    pos = np.sort(p[y == 1])
    # the largest threshold that keeps TARGET_KEPT of the answerable training questions
    threshold = float(pos[int(np.floor((1 - TARGET_KEPT) * len(pos)))]) if len(pos) else 0.5
    return {
        "features": names,
        "coef": [float(v) for v in lr.coef_[0]],
        "intercept": float(lr.intercept_[0]),
        "mean": [float(v) for v in mean],
        "scale": [float(v) for v in scale],
        "threshold": threshold,
        "how": f"logistic regression; threshold keeps {TARGET_KEPT:.2f} of answerable training questions",
    }


def evaluate(rows: list[dict[str, Any]], pol: policy_mod.Policy) -> dict[str, float]:
    """Offline: top-1 sentence holds the gold; answerable kept; hidden-source refused."""
    scored = _scored(rows, pol)
    pos = [r for r in scored if not r["negative"]]
    neg = [r for r in scored if r["negative"]]

    def answered(r: dict[str, Any]) -> bool:
        return r["z"] is not None and pol.answer_probability(r["z"]) >= pol.nf_threshold

    top1 = [bool(r["ranked"]) and r["ranked"][0]["label"] == 1 for r in pos]
    reachable = [any(c["label"] for c in r["ranked"]) for r in pos]
    return {
        "questions": len(pos),
        "top1_holds_gold": float(np.mean(top1)) if pos else 0.0,
        "any_candidate_holds_gold": float(np.mean(reachable)) if pos else 0.0,
        "answerable_kept": float(np.mean([answered(r) for r in pos])) if pos else 0.0,
        "answered_and_gold": float(np.mean([answered(r) and t for r, t in zip(pos, top1, strict=True)]))
        if pos
        else 0.0,
        "hidden_source_refused": float(np.mean([not answered(r) for r in neg])) if neg else 0.0,
        "median_top1_chars": float(
            statistics.median([len(r["ranked"][0]["text"]) for r in pos if r["ranked"]] or [0])
        ),
    }


def fit(rows: list[dict[str, Any]], seed: int, version: str, info: dict[str, Any]) -> dict[str, Any]:
    ranker = _fit_ranker(rows, seed)
    partial = policy_mod.from_dict(_policy_dict(ranker, _nf_dummy(), {}, {}))
    nf = _fit_not_found(_scored(rows, partial))
    scored = _scored(rows, partial)
    gaps = [r["ranked"][0]["score"] - r["ranked"][1]["score"] for r in scored if len(r["ranked"]) > 1]
    # a second sentence joins only when it is about as good as the best: the gap the closest
    # tenth of training questions have (a quantile of the data, not a hand-typed score)
    second = float(np.quantile(gaps, 0.1)) if gaps else 0.0
    learned = {
        "second_margin": (second, "fitted: 10% quantile of best-vs-second ranker score gaps"),
        "list_margin": (float(np.quantile(gaps, 0.5)) if gaps else 0.0, "fitted: median best-vs-second gap"),
    }
    return _policy_dict(ranker, nf, learned, {**info, "version": version})


def golden(rows: list[dict[str, Any]], out: Path, seed: int) -> None:
    """Recorded cases for `make unit`: questions whose gold sentence the shipped policy ranks
    first (the test expects it to stay first), and not-found decisions on both sides of the
    threshold, nearest first (the test expects them to stay)."""
    pol = policy_mod.load(str(policy_mod.POLICY_PATH))
    scored = _scored(rows, pol)
    rng = random.Random(seed)
    rng.shuffle(scored)
    cases: list[dict[str, Any]] = []
    right = [
        r
        for r in scored
        if not r["negative"]
        and len(r["ranked"]) > 3
        and r["ranked"][0]["label"]
        and not all(c["label"] for c in r["ranked"])
    ]
    for r in right[:20]:
        cases.append({"kind": "choice", "question": r["question"], "expected": r["ranked"][0]["text"],
                      "candidates": [{"x": c["x"], "text": c["text"], "own_cov": c["own_cov"]} for c in r["ranked"][:12]]})  # fmt: skip
    with_z = [r for r in scored if r["z"] is not None]
    for r in with_z:
        r["p"] = pol.answer_probability(r["z"])
    below = sorted((r for r in with_z if r["negative"] and r["p"] < pol.nf_threshold), key=lambda r: -r["p"])[
        :10
    ]
    above = sorted(
        (r for r in with_z if not r["negative"] and r["p"] >= pol.nf_threshold), key=lambda r: r["p"]
    )[:10]
    for r in below + above:
        cases.append({"kind": "not_found", "question": r["question"], "answered": bool(r["p"] >= pol.nf_threshold),
                      "p": r["p"], "z": r["z"]})  # fmt: skip
    out.write_text(
        json.dumps({"policy": pol.version, "cases": cases}, ensure_ascii=False, indent=0), encoding="utf-8"
    )
    _say(f"wrote {out}: {len(cases)} cases")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("dump")
    d.add_argument("--set", required=True, choices=sorted(SETS))
    d.add_argument("--out", required=True, type=Path)
    d.add_argument("--positives", type=int, default=600)
    d.add_argument("--negatives", type=int, default=300)
    d.add_argument("--index", type=Path, default=ROOT / ".zhiwen" / "bench" / "dev")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--offset", type=int, default=0, help="skip the first N questions of the shuffled set")
    f = sub.add_parser("fit")
    f.add_argument("dumps", nargs="+", type=Path)
    f.add_argument("--out", type=Path, default=policy_mod.POLICY_PATH)
    f.add_argument("--cross-out", type=Path, default=ROOT / ".zhiwen" / "bench" / "policies")
    f.add_argument("--seed", type=int, default=0)
    gd = sub.add_parser("golden", help="write the golden test fixtures from the dumps and the shipped policy")
    gd.add_argument("dumps", nargs="+", type=Path)
    gd.add_argument("--out", type=Path, default=ROOT / "tests" / "rag" / "fixtures" / "answer_golden.json")
    gd.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    if args.cmd == "dump":
        dump(args.set, args.out, args.positives, args.negatives, args.index, args.seed, args.offset)
        return 0
    rows = _load(args.dumps)
    if args.cmd == "golden":
        golden(rows, args.out, args.seed)
        return 0
    sets = sorted({r["set"] for r in rows})
    report: dict[str, Any] = {}
    args.cross_out.mkdir(parents=True, exist_ok=True)
    for train_set in sets:
        for test_set in sets:
            if test_set == train_set:
                continue
            pd = fit(
                [r for r in rows if r["set"] == train_set],
                args.seed,
                f"fit-{train_set}",
                {"sets": [train_set]},
            )
            (args.cross_out / f"{train_set}.json").write_text(json.dumps(pd), encoding="utf-8")
            m = evaluate([r for r in rows if r["set"] == test_set], policy_mod.from_dict(pd))
            report[f"fit {train_set} -> {test_set}"] = m
            _say(f"fit on {train_set}, measured on {test_set}: {json.dumps(m)}")
    version = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M")
    counts = {s: sum(1 for r in rows if r["set"] == s) for s in sets}
    info = {
        "sets": sets,
        "questions": counts,
        "command": "python -m rag.answer.train fit " + " ".join(map(str, args.dumps)),
        "cross_dataset": report,
    }
    pd = fit(rows, args.seed, version, info)
    args.out.write_text(json.dumps(pd, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    _say(f"wrote {args.out} ({args.out.stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
