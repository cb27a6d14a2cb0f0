"""Golden answer choices over the project's seed articles with the fake embedder (no model).

Each question's recorded choice (answered or not, and which spans are cited) must not change
unnoticed: a change to scoring, list merging, the year rule or the "not found" threshold
shows up here. The questions are written for these tests (none comes from an evaluation set).
After an intended change, look at the differences and record them again:

    ZHIWEN_UPDATE_GOLDEN=1 .venv/bin/pytest tests/rag/test_answer_golden.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from rag import ask

GOLDEN = Path(__file__).parent / "fixtures" / "answers_golden.json"
QUESTIONS = [
    "全会审议通过了什么决定？",
    "全会有哪些市领导出席？",
    "胡衡华是哪里人？",
    "碧桂园集团总裁叫什么名字？",
    "长沙连续多少年获评中国最具幸福感城市？",
    "出席全会的市委候补委员有多少人？",
    "胡衡华哪年出生？",
    # coverage between 0.2 and 0.55 of the question's weighted terms: "not found"
    "李洪波的妻子叫什么名字？",
    "全会的主持人毕业于哪所大学？",
]


def choice(index, question: str) -> dict:
    a = ask(index, question)
    return {
        "answered": a.answered,
        "citations": [[c.article_id, c.start, c.end] for c in a.citations],
    }


def test_answer_choices_match_the_golden_record(fake_index) -> None:
    got = {q: choice(fake_index, q) for q in QUESTIONS}
    if os.environ.get("ZHIWEN_UPDATE_GOLDEN"):
        GOLDEN.write_text(json.dumps(got, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        pytest.skip("golden answers recorded")
    want = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert got == want


def test_the_golden_record_holds_both_answers_and_refusals() -> None:
    want = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert set(want) == set(QUESTIONS)
    assert sum(w["answered"] for w in want.values()) >= 5
    assert not want["李洪波的妻子叫什么名字？"]["answered"]
    assert not want["全会的主持人毕业于哪所大学？"]["answered"]
    assert len(want["全会有哪些市领导出席？"]["citations"]) >= 1
