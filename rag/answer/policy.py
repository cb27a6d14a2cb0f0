"""The answer policy: every learned weight and threshold, read from `policy.json`.

`policy.json` is written by `python -m rag.answer.train` (never by hand). It holds:

* `ranker`: a LightGBM LambdaRank model over the candidate features, stored as plain
  decision trees (LightGBM's own JSON dump), evaluated here without importing LightGBM;
* `not_found`: logistic-regression coefficients over the best candidate's features, and the
  probability threshold under which the question is answered "not found";
* `params`: the remaining choices (how many passages, when a second sentence or more list
  sentences join the answer, the follow-up prefer bonus, ...), each with how it was set.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.answer.features import FEATURES

logger = logging.getLogger(__name__)

POLICY_PATH = Path(__file__).with_name("policy.json")
NOT_FOUND_FEATURES: tuple[str, ...] = (
    "score",
    "margin",
    "cov",
    "ctx_cov",
    "win_cov",
    "matched_share",
    "dense",
    "type_match",
    "year_agree",
    "hit_dense",
    "log_terms",
)


@dataclass(frozen=True, slots=True)
class Tree:
    feature: tuple[int, ...]  # per internal node
    threshold: tuple[float, ...]
    left: tuple[int, ...]  # child index; negative = ~leaf index
    right: tuple[int, ...]
    leaf: tuple[float, ...]

    def predict(self, x: Sequence[float]) -> float:
        if not self.feature:
            return self.leaf[0]
        node = 0
        while node >= 0:
            node = self.left[node] if x[self.feature[node]] <= self.threshold[node] else self.right[node]
        return self.leaf[~node]


def _tree(structure: dict[str, Any]) -> Tree:
    feature: list[int] = []
    threshold: list[float] = []
    left: list[int] = []
    right: list[int] = []
    leaf: list[float] = []

    def walk(n: dict[str, Any]) -> int:
        if "leaf_value" in n:
            leaf.append(float(n["leaf_value"]))
            return ~(len(leaf) - 1)
        if n.get("decision_type", "<=") != "<=":
            raise ValueError(f"unsupported split {n.get('decision_type')}")
        i = len(feature)
        feature.append(int(n["split_feature"]))
        threshold.append(float(n["threshold"]))
        left.append(0)
        right.append(0)
        left[i] = walk(n["left_child"])
        right[i] = walk(n["right_child"])
        return i

    walk(structure)
    return Tree(tuple(feature), tuple(threshold), tuple(left), tuple(right), tuple(leaf))


@dataclass(frozen=True, slots=True)
class Policy:
    version: str
    features: tuple[str, ...]
    trees: tuple[Tree, ...]
    nf_features: tuple[str, ...]
    nf_coef: tuple[float, ...]
    nf_intercept: float
    nf_mean: tuple[float, ...]
    nf_scale: tuple[float, ...]
    nf_threshold: float
    params: dict[str, float]

    linear: tuple[tuple[float, float, float], ...] = ()  # (coef, mean, scale) per feature, if linear

    def rank_score(self, x: Sequence[float]) -> float:
        if self.linear:
            return sum(c * (v - m) / sd for v, (c, m, sd) in zip(x, self.linear, strict=True))
        return sum(t.predict(x) for t in self.trees)

    def answer_probability(self, z: dict[str, float]) -> float:
        s = self.nf_intercept
        for name, c, m, sd in zip(self.nf_features, self.nf_coef, self.nf_mean, self.nf_scale, strict=True):
            s += c * (z[name] - m) / sd
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, s))))

    def p(self, name: str) -> float:
        return float(self.params[name])


def from_dict(d: dict[str, Any]) -> Policy:
    if tuple(d["features"]) != FEATURES:
        raise ValueError("policy.json was trained on other features; retrain: python -m rag.answer.train")
    nf = d["not_found"]
    return Policy(
        version=str(d["version"]),
        features=tuple(d["features"]),
        trees=tuple(_tree(t["tree_structure"]) for t in d["ranker"].get("tree_info", [])),
        nf_features=tuple(nf["features"]),
        nf_coef=tuple(float(x) for x in nf["coef"]),
        nf_intercept=float(nf["intercept"]),
        nf_mean=tuple(float(x) for x in nf["mean"]),
        nf_scale=tuple(float(x) for x in nf["scale"]),
        nf_threshold=float(nf["threshold"]),
        params={k: float(v["value"]) for k, v in d["params"].items()},
        linear=tuple(
            (float(c), float(m), float(sd))
            for c, m, sd in zip(
                d["ranker"].get("coef", []),
                d["ranker"].get("mean", []),
                d["ranker"].get("scale", []),
                strict=True,
            )
        ),
    )


@functools.cache
def load(path: str | None = None) -> Policy:
    """The policy at `path` (default: env ZHIWEN_ANSWER_POLICY, else the shipped policy.json)."""
    p = Path(path or os.environ.get("ZHIWEN_ANSWER_POLICY") or POLICY_PATH)
    policy = from_dict(json.loads(p.read_text(encoding="utf-8")))
    logger.debug("answer policy %s from %s", policy.version, p)
    return policy
