"""The "not found" boundary of bench/fit_policy.py: shifted to keep the asked share of each
dev set's answerable questions, not of both pooled (where the set whose answers look less sure
would keep less)."""

from __future__ import annotations

import random

from bench.fit_policy import decide, fit_boundary, others_kept
from bench.recording import Replayed, replayed
from rag.answer import RECORDED_FEATURES, Policy


def _set(name: str, answerable_cov: tuple[float, float], n: int, seed: int) -> list[Replayed]:
    """`n` answerable questions whose one candidate's passage covers the question by a share
    drawn from `answerable_cov`, and `n` deleted-source ones covered by 0.0-0.5."""
    rng = random.Random(seed)
    rows = []
    for label, (lo, hi) in (("answerable", answerable_cov), ("unanswerable", (0.0, 0.5))):
        for _ in range(n):
            cov = rng.uniform(lo, hi)
            features = {**dict.fromkeys(RECORDED_FEATURES, 0.0), "own_cov": 1.0, "ctx_cov": cov, "cov": cov}
            rows.append(
                {
                    "set": name,
                    "label": label,
                    "question": "学堂招募了哪些志愿者？",
                    "kind": "other",
                    "script": "zh-Hans",
                    "has_terms": True,
                    "terms": ["学堂", "志愿者"],
                    "sentences": [
                        {
                            **features,
                            "hit_rank": 0,
                            "article": "a",
                            "text": "学堂招募志愿者。",
                            "start": 0,
                            "gold": True,
                        }
                    ],
                }
            )
    return replayed(rows)


def test_the_boundary_keeps_the_share_of_each_set() -> None:
    sure = _set("sure", (0.6, 1.0), 60, 1)
    unsure = _set("unsure", (0.35, 0.9), 60, 2)
    policy = Policy.load()
    keep = 0.9
    pooled = fit_boundary(policy, sure + unsure, keep)
    each = fit_boundary(policy, sure + unsure, keep, each=[sure, unsure])
    # pooled, the set whose answers look less sure keeps less than the share asked for
    assert decide(pooled, unsure)[0] < keep
    # held to it set by set, both keep it
    assert decide(each, unsure)[0] >= keep and decide(each, sure)[0] >= keep
    # and the weights are the same regression's: only the shift moves
    assert pooled.not_found.ctx_cov == each.not_found.ctx_cov
    assert each.not_found.bias > pooled.not_found.bias  # (a lower margin passes)


def test_the_other_commands_fitted_entries_are_kept() -> None:
    """Fitting the boundary again keeps what bench/transliteration.py and the other fitting
    commands wrote into the policy's `fitted` section (it once dropped `en_name_classes`)."""
    before = {
        "command": "bench/fit_policy.py (earlier)",
        "not_found_curve": [{"target_keep": 0.9}],
        "en_name_classes": {"chance_at_most": 0.05},
        "span_model": {"fitted_on": "both"},
    }
    own = {"command": "bench/fit_policy.py --keep 0.95", "not_found_curve": [{"target_keep": 0.95}]}
    got = others_kept(own, before)
    assert got["command"] == own["command"] and got["not_found_curve"] == own["not_found_curve"]
    assert got["en_name_classes"] == before["en_name_classes"] and got["span_model"] == before["span_model"]
