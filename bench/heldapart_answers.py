"""Answers held apart end to end: every fitted part of the answer choice fitted on one dev set,
measured on the other.

The dev-set table (bench/devsets.py) runs the shipped policy, whose sentence ranker, neighbour
model and "not found" boundary are fitted on both dev sets, so its answer accuracy is partly
in-sample; the answers issue asks for the cross-dataset figure. This replays two recordings:
bench/fit_ranker.py's (every answerable question of both sets, its candidate sentences and
their features) and bench/fit_policy.py's (answerable and deleted-source questions; and
bench/lookalikes.py's look-alike questions, unless --no-lookalikes). For each
direction it fits, on one set only and in the order the shipped policy is fitted: the sentence
ranker (bench/fit_ranker.fit), the neighbour model on that ranker's choices
(bench/fit_neighbours.fit), and the "not found" boundary weighing both
(bench/fit_policy.fit_boundary, keeping --keep of that set's answerable questions). Then, on
every answerable question of the other set, through the shipped decision functions
(rag.answer.choose, rag.answer.answerable): answer accuracy (answered, and a sentence of the
answer holds a gold answer), the share answered and the median length of the answers given;
and on the other set's part of the fit_policy recording, the share of answerable questions
kept and of deleted-source (and look-alike) ones refused; and the share of "fact removed"
questions refused (`fact_removed`: every answerable question of the other set, its candidate
sentences that hold a gold answer taken away, so that its own article is still there but no
longer says what it asks). The shipped policy's own figures on the same
recordings are printed beside them (in-sample). The linear sentence-score weights and the
span models are the shipped ones (short answers held apart: bench/fit_span_choice.py).

    .venv/bin/python bench/heldapart_answers.py --features RANK.jsonl --policy-features POLICY.jsonl
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.fit_neighbours import fit as fit_neighbour_model  # noqa: E402
from bench.fit_neighbours import model_arguments  # noqa: E402
from bench.fit_neighbours import rows as neighbour_rows  # noqa: E402
from bench.fit_policy import (  # noqa: E402
    BOUNDARY,
    composed,
    decide,
    decisions,
    fit_boundary,
    lookalikes_refused,
)
from bench.fit_policy import collect as collect_policy  # noqa: E402
from bench.fit_ranker import fit as fit_ranker_trees  # noqa: E402
from bench.fit_ranker import groups, replayed_sets, tree_arguments  # noqa: E402
from bench.lookalikes import lookalike_arguments, with_lookalikes  # noqa: E402
from bench.recording import SETS, Replayed, recording, replayed, require_later_features  # noqa: E402
from rag.answer import RANK_FEATURES, LinearModel, Policy, SentenceModel  # noqa: E402

RESULTS = ROOT / "bench" / "results"


FACT_REMOVED = "fact_removed"


def fact_removed(data: list[Replayed]) -> list[Replayed]:
    """Each answerable question of `data` with its candidates holding a gold answer taken away
    (those with both kinds of candidates): the honest response is then "not found", its own
    article being found but no longer stating the fact. A hard negative, and an approximate
    one: the recorded passage-level features (ctx_cov) were computed with the removed sentences
    in their passage, and a remaining sentence may still say the fact in other words."""
    out = []
    for r in data:
        if r.answerable and any(r.gold) and not all(r.gold):
            keep = [i for i, g in enumerate(r.gold) if not g]
            out.append(Replayed(r.q, [r.sents[i] for i in keep], [False] * len(keep), False, FACT_REMOVED))
    return out


def held_apart(
    policy: Policy, train: list[Replayed], train_nf: list[Replayed], args: argparse.Namespace
) -> Policy:
    """`policy` with its ranker, neighbour model and "not found" boundary fitted on one set:
    `train` (its answerable questions, bench/fit_ranker.py's recording) and `train_nf` (its
    answerable and deleted-source questions, bench/fit_policy.py's)."""
    n_short = policy.evidence.type_shortlist
    trees, _ = fit_ranker_trees([groups(policy, train, n_short)], args)
    ranked = dataclasses.replace(
        policy,
        sentence_model=SentenceModel(RANK_FEATURES, n_short, "", trees),
        neighbour_model=LinearModel(),
    )
    neighbours = fit_neighbour_model(
        [neighbour_rows(ranked, train)], args.l2, args.max_median_chars, policy.compose.max_answer_chars
    )
    inputs = tuple(args.boundary_inputs.split(","))
    return fit_boundary(
        dataclasses.replace(ranked, neighbour_model=neighbours),
        train_nf,
        args.keep,
        inputs,
        args.lookalike_weight,
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--index", default=str(ROOT / ".zhiwen" / "dev"), help="the dev indexes of bench/devsets.py"
    )
    ap.add_argument(
        "--features", default=None, help="bench/fit_ranker.py's recording (made here when missing)"
    )
    ap.add_argument(
        "--policy-features", default=None, help="bench/fit_policy.py's recording (made here when missing)"
    )
    lookalike_arguments(ap)
    ap.add_argument(
        "--limit", type=int, default=600, help="fit_policy's recording: questions of each label per set"
    )
    ap.add_argument(
        "--keep", type=float, default=0.95, help="share of answerable questions the boundary keeps"
    )
    ap.add_argument(
        "--boundary-inputs",
        default=",".join(BOUNDARY),
        help=f"the boundary's inputs, a subset of {','.join(BOUNDARY)} (the others weigh 0)",
    )
    tree_arguments(ap)
    model_arguments(ap)
    args = ap.parse_args()
    if not set(args.boundary_inputs.split(",")) <= set(BOUNDARY):
        ap.error(f"--boundary-inputs: choose among {','.join(BOUNDARY)}")
    policy = Policy.load()
    data = replayed_sets(args, policy, decided=True)  # bench/fit_ranker.py's recording, per set
    nf_rows = recording(
        args.policy_features, args.index, lambda root: collect_policy(root, args.limit, policy)
    )
    if data is None or nf_rows is None:
        return 0
    require_later_features(nf_rows, args.policy_features or "the recording")
    if (nf_rows := with_lookalikes(nf_rows, args, policy)) is None:
        return 0
    nf = {s: replayed([r for r in nf_rows if r["set"] == s]) for s in SETS}
    removed = {s: fact_removed(data[s]) for s in SETS}
    names = list(SETS)
    table: list[dict[str, Any]] = []
    for train, test in (names, names[::-1]):
        fitted = held_apart(policy, data[train], nf[train], args)
        row = {"fitted_on": train, "reported_on": test}
        for name, p in (("held_apart", fitted), ("shipped", policy)):
            kept, refused = decide(p, nf[test])
            answered = decisions(p, removed[test], FACT_REMOVED)
            row[name] = {
                **composed(p, data[test], not_found=True),
                "kept": round(kept, 4),
                "refused": round(refused, 4),
                "lookalikes_refused": lookalikes_refused(p, nf[test]),
                "fact_removed_refused": None if answered is None else round(1.0 - answered, 4),
            }
        table.append(row)
        h, s = row["held_apart"], row["shipped"]
        print(
            f"fit {train} -> {test} ({h['questions']} answerable questions): answer accuracy "
            f"{h['accuracy']:.4f} (answered {h['answered']:.4f}, median {h['median_chars']} characters); "
            f"not found: kept {h['kept']:.4f}, refused {h['refused']:.4f}, look-alikes refused "
            f"{h['lookalikes_refused']}, fact removed refused {h['fact_removed_refused']} "
            f"({len(removed[test])} questions) — the shipped policy (in-sample): "
            f"{s['accuracy']:.4f} (answered {s['answered']:.4f}, median {s['median_chars']}), "
            f"kept {s['kept']:.4f}, refused {s['refused']:.4f}, look-alikes refused {s['lookalikes_refused']}, "
            f"fact removed refused {s['fact_removed_refused']}",
            flush=True,
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "heldapart_answers.json"
    out.write_text(json.dumps({"command": " ".join(sys.argv), "table": table}, indent=2, ensure_ascii=False))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
