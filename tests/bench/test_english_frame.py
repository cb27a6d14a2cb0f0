"""bench/english_frame.py: each way of reading a dev question is what its row says it is."""

from __future__ import annotations

import re

from bench.english_frame import MODES, read_as
from rag.answer import analyse

CJK = re.compile(r"[\u4e00-\u9fff]")


def test_each_mode_reads_the_question_as_its_row_says() -> None:
    q = analyse("2019年长沙市的地区生产总值是多少？")
    assert read_as(q, "as_written", "x") == q.text
    none = read_as(q, "no_chinese", "x")
    assert not CJK.search(none) and "2019" in none  # only the numbers it writes
    frame = read_as(q, "frame", "x")
    assert frame.endswith("多少？") and "长沙" in frame
    half = read_as(q, "frame_half", "x")
    assert half == read_as(q, "frame_half", "x")  # seeded by the question
    kept = {read_as(q, "frame_half", str(seed)) for seed in range(20)}
    assert len(kept) > 1 and all(len(k) <= len(frame) for k in kept)  # terms dropped, none added
    assert set(MODES) == {"no_chinese", "frame", "frame_half", "as_written"}


def test_a_reason_question_is_framed_with_why() -> None:
    assert read_as(analyse("长沙为什么获评幸福城市？"), "frame", "x").endswith("为什么？")
