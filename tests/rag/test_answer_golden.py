"""Golden answer choices over the project's seed articles with the fake embedder (no model).

Each question's recorded choice (answered or not, which spans are cited, the short answer)
must not change unnoticed: a change to scoring, list merging, the year rule, the "not found"
threshold or the span model shows up here. The questions are written for these tests (none comes from an evaluation set).
A second record keeps, for the same questions, every candidate sentence with its features and
the policy's decision (answered or not, which candidates are chosen): replayed through
`rag.answer.rank_sentences`/`answerable`/`choose` with the shipped policy, no index or model needed, it catches
a change of the decision alone (weights, boundary, composition limits).
After an intended change, look at the differences and record them again:

    ZHIWEN_UPDATE_GOLDEN=1 .venv/bin/pytest tests/rag/test_answer_golden.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from rag import ask
from rag.answer import (
    RECORDED_FEATURES,
    Policy,
    Query,
    analyse,
    answerable,
    choose,
    full_score,
    gather_evidence,
    ordered,
    rank_sentences,
    recorded_sentence,
)

GOLDEN = Path(__file__).parent / "fixtures" / "answers_golden.json"
DECISIONS = Path(__file__).parent / "fixtures" / "decisions_golden.json"
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
        "short_answer": a.short_answer.text if a.short_answer else None,
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


def record_decision(index, question: str) -> dict:
    q = analyse(question)
    sents = gather_evidence(index, q).sentences
    policy = Policy.load()
    best = ordered(sents)[0]
    chosen = choose(policy, q, sents) if answerable(policy, q, best, sents) else []
    return {
        "query": {
            "text": q.text,  # the sentence ranker reads its wording (rag.answer.wording)
            "script": q.script,
            "kind": q.kind,
            "list_of_people": q.list_of_people,
            "terms": q.terms,
        },
        "candidates": [
            {"article": s.hit.article_id, "rank": s.hit_rank, "start": s.start, "text": s.text}
            | {f: round(getattr(s, f), 6) for f in RECORDED_FEATURES}
            for s in sents
        ],
        "chosen": [sents.index(s) for s in chosen],
    }


def replay(rec: dict) -> list[int]:
    """The shipped policy's decision on the recorded features (no index, no model)."""
    qd = rec["query"]
    q = Query(qd["text"], qd["script"], "", "", qd["kind"], qd["list_of_people"], qd["terms"])
    policy = Policy.load()
    sents = [recorded_sentence(c["article"], c["rank"], c, c["text"], c["start"]) for c in rec["candidates"]]
    for s in sents:
        s.score = full_score(policy.score, q, s)
    rank_sentences(policy, q, sents)
    best = ordered(sents)[0]
    if not answerable(policy, q, best, sents):
        return []
    return [sents.index(s) for s in choose(policy, q, sents)]


def test_recorded_features_replay_to_the_recorded_decisions(fake_index) -> None:
    if os.environ.get("ZHIWEN_UPDATE_GOLDEN"):
        got = {q: record_decision(fake_index, q) for q in QUESTIONS}
        DECISIONS.write_text(json.dumps(got, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        pytest.skip("golden decisions recorded")
    recorded = json.loads(DECISIONS.read_text(encoding="utf-8"))
    assert set(recorded) == set(QUESTIONS)
    assert {q: replay(r) for q, r in recorded.items()} == {q: r["chosen"] for q, r in recorded.items()}
    assert any(r["chosen"] for r in recorded.values()) and any(not r["chosen"] for r in recorded.values())
