"""Fit the sentence ranker (rag.answer.policy.SentenceModel, features rag.answer.rank) on the
dev sets, one held apart each way.

Every answerable question of CMRC 2018 dev and DRCD dev is asked of its dev index (its
articles and 2,000 news distractors, as bench/devsets.py builds them), and its candidate
sentences are recorded with their features, as bench/fit_policy.py records them. For each
question the `--shortlist` best candidates of the linear score (the ones with an answer-type
feature) are the ranker's group; those holding a gold answer are its positives. LightGBM
LambdaRank is fitted on one set and the share of questions whose best sentence holds the gold
is reported on the other, against the linear score alone, through the shipped decision
(`rag.answer.rank_sentences`); then the reverse. The shipped ranker is fitted on both sets:
its trees go into rag/answer/sentence_trees.txt (LightGBM's text format, read with numpy by
rag.trees), its features and shortlist into the `sentence_model` section of
rag/answer/policy.json, the figures under `fitted.sentence_model`.

Then run bench/fit_neighbours.py and bench/fit_span_choice.py (on this recording: reading into
a neighbour, and which cited sentence gives the short answer) and bench/fit_policy.py (the
"not found" boundary): each is fitted on the choices the ranker makes.

    .venv/bin/python bench/fit_ranker.py --index DIR --features FILE   # DIR: bench/devsets.py --index DIR
    .venv/bin/python bench/fit_ranker.py --features FILE --dry-run     # refit from the recording, report only
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

from bench.fit_policy import composed  # noqa: E402
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
    POLICY_FILE,
    RANK_FEATURES,
    LinearModel,
    Policy,
    SentenceModel,
    full_score,
    rank_features,
    shortlist,
    write_policy,
)
from rag.answer.policy import SENTENCE_TREES_FILE  # noqa: E402
from rag.evaluate import load_qa  # noqa: E402
from rag.trees import TreeEnsemble  # noqa: E402


def collect(root: Path, policy: Policy) -> list[dict[str, Any]]:
    """The candidates of every answerable question of both sets, with their features."""
    recording = recording_policy(policy)
    emb = get_embedder("use")
    rows = []
    for set_name, fname in SETS.items():
        index = Index.open(root / set_name, emb, create=False)
        for item in load_qa(SHARED / "eval" / fname):
            if (r := record(index, item, "answerable", set_name, recording)) is not None:
                rows.append(r)
        index.close()
        print(f"{set_name}: recorded {sum(r['set'] == set_name for r in rows)} questions", file=sys.stderr)
    return rows


@dataclasses.dataclass
class Groups:
    x: list[np.ndarray]  # per question: its shortlist's RANK_FEATURES
    gold: list[np.ndarray]  # per question: which of its shortlist hold a gold answer
    linear_top1: float  # the share whose best sentence by the linear score alone holds the gold
    misses: dict[str, int]  # the linear score's misses, by where the best-placed gold sentence was


def groups(policy: Policy, data: list[Replayed], n: int) -> Groups:
    """The ranker's groups of the Chinese questions of `data` (as rag.answer.rank_sentences
    forms them)."""
    xs, golds, linear = [], [], []
    misses = dict.fromkeys(
        ("same article, 2nd-5th", "same article, 6th or later", "another article", "none"), 0
    )
    for r in data:
        if r.q.script == "en" or not r.answerable or not r.sents:
            continue
        for s in r.sents:
            s.score = full_score(policy.score, r.q, s)
        short, partial = shortlist(policy.score, r.sents, n)
        xs.append(rank_features(r.q, r.sents, short, partial, policy.evidence.adjacent_chars))
        golds.append(np.array([r.gold[i] for i in short], dtype=np.int32))
        order = sorted(range(len(r.sents)), key=lambda i: -r.sents[i].score)
        linear.append(r.gold[order[0]])
        if not r.gold[order[0]]:
            place = next((k for k, i in enumerate(order) if r.gold[i]), None)
            best = r.sents[order[0]].hit.article_id
            if place is None:
                misses["none"] += 1
            elif r.sents[order[place]].hit.article_id != best:
                misses["another article"] += 1
            else:
                misses["same article, 2nd-5th" if place < 5 else "same article, 6th or later"] += 1
    return Groups(xs, golds, float(np.mean(linear)), misses)


def fit(sets: list[Groups], args: argparse.Namespace) -> tuple[TreeEnsemble, str]:
    """The trees fitted on the groups of `sets` together, and their LightGBM text model."""
    import lightgbm  # only here: fitting needs it, serving reads the text model with numpy

    xs = [x for g in sets for x in g.x]
    golds = [gold for g in sets for gold in g.gold]
    data = lightgbm.Dataset(np.vstack(xs), np.concatenate(golds), group=[len(x) for x in xs])
    params = {
        "objective": "lambdarank",
        "num_leaves": args.leaves,
        "learning_rate": args.learning_rate,
        "min_data_in_leaf": args.min_data_in_leaf,
        "lambdarank_truncation_level": 10,
        "deterministic": True,
        "num_threads": 2,
        "seed": 0,
        "verbose": -1,
    }
    booster = lightgbm.train(params, data, num_boost_round=args.rounds)
    text = booster.model_to_string()
    return TreeEnsemble.from_text(text), text


def top1(trees: TreeEnsemble, g: Groups) -> float:
    """The share of questions whose best sentence by the trees holds the gold answer."""
    return float(
        np.mean([gold[int(np.argmax(trees.predict(x)))] for x, gold in zip(g.x, g.gold, strict=True)])
    )


def recording_arguments(ap: argparse.ArgumentParser) -> None:
    """The options of the commands that fit on this command's recording: --index, --features,
    --out, --dry-run."""
    ap.add_argument(
        "--index", default=str(ROOT / ".zhiwen" / "dev"), help="the dev indexes of bench/devsets.py"
    )
    ap.add_argument("--features", default=None, help="JSONL recording: read it if it exists, else write it")
    ap.add_argument("--out", default=str(POLICY_FILE))
    ap.add_argument("--dry-run", action="store_true", help="report only, write nothing")


def replayed_sets(
    args: argparse.Namespace, policy: Policy, *, decided: bool = False
) -> dict[str, list[Replayed]] | None:
    """The recording (`--features`, recorded from `--index` when missing) replayed, per set;
    None (and a message) when ../shared or the dev indexes are missing. `decided`: the
    "not found" decision is replayed on it, so it must hold every feature that weighs."""
    rows = recording(args.features, args.index, lambda root: collect(root, policy))
    if rows is None:
        return None
    if decided:
        require_later_features(rows, args.features or "the recording")
    return {s: replayed([r for r in rows if r["set"] == s]) for s in SETS}


def tree_arguments(ap: argparse.ArgumentParser) -> None:
    """The ranker's tree options (`fit` reads them): --leaves, --rounds, --learning-rate,
    --min-data-in-leaf."""
    ap.add_argument("--leaves", type=int, default=7, help="leaves per tree (at most 64)")
    ap.add_argument("--rounds", type=int, default=300, help="boosting rounds")
    ap.add_argument("--learning-rate", type=float, default=0.05)
    ap.add_argument("--min-data-in-leaf", type=int, default=50)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    recording_arguments(ap)
    ap.add_argument(
        "--shortlist", type=int, default=None, help="candidates ranked (default: evidence.type_shortlist)"
    )
    tree_arguments(ap)
    args = ap.parse_args()
    policy = Policy.load(Path(args.out))
    n_short = args.shortlist or policy.evidence.type_shortlist
    if n_short > policy.evidence.type_shortlist:
        ap.error(f"--shortlist is at most evidence.type_shortlist ({policy.evidence.type_shortlist})")
    replays = replayed_sets(args, policy)
    if replays is None:
        return 0
    data = {s: groups(policy, replays[s], n_short) for s in SETS}
    names = list(SETS)
    table = []
    # the linear score alone composes without the neighbour model, which weighs the ranker's
    # scores (without a ranker they are all 0 and every neighbour looks as good as the best)
    linear_only = dataclasses.replace(policy, sentence_model=SentenceModel(), neighbour_model=LinearModel())
    for train, test in (names, names[::-1]):
        trees, _ = fit([data[train]], args)
        ranked = dataclasses.replace(policy, sentence_model=SentenceModel(RANK_FEATURES, n_short, "", trees))
        row = {
            "fitted_on": train,
            "reported_on": test,
            "questions": len(data[test].x),
            "linear": round(data[test].linear_top1, 4),
            "ranker": round(top1(trees, data[test]), 4),
            "ranker_on_train": round(top1(trees, data[train]), 4),
            "gold_in_shortlist": round(float(np.mean([g.any() for g in data[test].gold])), 4),
            "linear_misses": data[test].misses,
            # the answer as composed (rag.answer.choose), before "not found": a chosen sentence holds the gold
            "answer_accuracy_linear": composed(linear_only, replays[test]),
            "answer_accuracy_ranker": composed(ranked, replays[test]),
        }
        table.append(row)
        print(
            f"fit {train} -> {test} ({row['questions']} questions): best sentence holds the gold "
            f"{row['linear']:.4f} (linear score) -> {row['ranker']:.4f} (ranker; on {train} itself "
            f"{row['ranker_on_train']:.4f}); a gold sentence in the shortlist for {row['gold_in_shortlist']:.4f}; "
            f"the linear score's misses, by where the first gold sentence was: {row['linear_misses']}; "
            f"answer accuracy before 'not found' (median characters) {row['answer_accuracy_linear']['accuracy']:.4f} "
            f"({row['answer_accuracy_linear']['median_chars']}) -> {row['answer_accuracy_ranker']['accuracy']:.4f} "
            f"({row['answer_accuracy_ranker']['median_chars']})",
            flush=True,
        )
    trees, text = fit([data[n] for n in names], args)
    model = SentenceModel(RANK_FEATURES, n_short, SENTENCE_TREES_FILE, trees)
    fitted = dict(policy.fitted)
    fitted["sentence_model"] = {
        "command": "bench/fit_ranker.py " + " ".join(sys.argv[1:]),
        "data": "every answerable question of CMRC 2018 dev and DRCD dev, asked of its dev index: "
        + ", ".join(f"{n} {len(data[n].x)} questions" for n in names),
        "trees": {k: getattr(args, k) for k in ("leaves", "rounds", "learning_rate", "min_data_in_leaf")},
        "shortlist": n_short,
        "cross_dataset": table,
        "shipped_on_both": {n: round(top1(trees, data[n]), 4) for n in names},
    }
    if not args.dry_run:
        write_policy(
            dataclasses.replace(policy, sentence_model=model, fitted=fitted),
            Path(args.out),
            sentence_trees_text=text,
        )
        print(f"wrote {args.out} and {Path(args.out).with_name(SENTENCE_TREES_FILE)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
