"""bench/indexing.py: what the answer stage adds to the search, split by answered and refused."""

from __future__ import annotations

import math

from bench.indexing import answer_stage


def test_the_answer_stage_is_the_median_of_ask_less_search_per_question() -> None:
    ask = [10.0, 12.0, 20.0, 22.0, 30.0]
    search = [8.0, 9.0, 10.0, 11.0, 12.0]
    got = answer_stage(ask, search, [False, False, True, True, True])
    assert got["answer_stage_p50_ms"] == 10.0  # 2, 3, 10, 11, 18
    assert got["answer_stage_p50_refused_ms"] == 2.5
    assert got["answer_stage_p50_answered_ms"] == 11.0
    none_refused = answer_stage([5.0], [4.0], [True])
    assert none_refused["answer_stage_p50_answered_ms"] == 1.0
    assert math.isnan(none_refused["answer_stage_p50_refused_ms"])
