"""Replaying recordings for the answer stage's fitting commands (bench/recording.py) and the
"fact removed" questions of bench/heldapart_answers.py."""

from __future__ import annotations

from bench.heldapart_answers import FACT_REMOVED, fact_removed
from bench.recording import replayed
from rag.answer import RECORDED_FEATURES


def _row(question: str, kind: str, sentences: list[tuple[str, bool]]) -> dict:
    return {
        "set": "cmrc2018_dev",
        "label": "answerable",
        "question": question,
        "kind": kind,
        "script": "zh-Hans",
        "has_terms": True,
        "terms": ["志愿者"],
        "sentences": [
            {
                **dict.fromkeys(RECORDED_FEATURES, 0.0),
                "hit_rank": 0,
                "article": "a",
                "text": t,
                "start": 0,
                "gold": g,
            }
            for t, g in sentences
        ],
    }


def test_a_replay_keeps_the_candidates_the_stage_keeps() -> None:
    """A recording made before the measure rule holds every candidate; the replay leaves out, as
    the stage now does, those of a count question that count nothing in its measure."""
    rows = [
        _row(
            "学堂招募了多少名志愿者？",
            "number",
            [("8月1日，学堂开始招募志愿者。", False), ("学堂共招募志愿者12名。", True)],
        ),
        _row("学堂招募了哪些志愿者？", "list", [("8月1日，学堂开始招募志愿者。", False)]),
    ]
    counted, listed = replayed(rows)
    assert counted.q.measure == "名"
    assert [s.text for s in counted.sents] == ["学堂共招募志愿者12名。"] and counted.gold == [True]
    assert listed.q.measure == "" and len(listed.sents) == 1


def test_fact_removed_takes_away_the_sentences_that_hold_the_answer() -> None:
    rows = [
        _row(
            "学堂有多少志愿者？", "number", [("学堂共招募志愿者12名。", True), ("学堂藏书5600余册。", False)]
        ),
        _row("学堂有多少志愿者？", "number", [("学堂共招募志愿者12名。", True)]),  # nothing would be left
    ]
    out = fact_removed(replayed(rows))
    assert len(out) == 1
    (r,) = out
    assert [s.text for s in r.sents] == ["学堂藏书5600余册。"]
    assert r.gold == [False] and not r.answerable and r.label == FACT_REMOVED
