"""How much of a question's wording a sentence repeats (rag.answer.wording), against
brute-force oracles, and what the sentence ranker makes of it."""

from __future__ import annotations

import random

import pytest

from rag.answer import RANK_FEATURES, Policy, Query, ordered, rank_features, rank_sentences
from rag.answer import wording as wording_module
from rag.answer.wording import question_wording, warm_up, wording_matches
from tests.rag.test_answer_rank import candidates, scored


def _subsequence(a: str, b: str) -> int:
    prev = [0] * (len(b) + 1)
    for ca in a:
        cur = [0]
        for j, cb in enumerate(b):
            cur.append(prev[j] + 1 if ca == cb else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


def _stretch(a: str, b: str) -> int:
    return max((n for n in range(len(a) + 1) for i in range(len(a) - n + 1) if a[i : i + n] in b), default=0)


def _end_in(a: str, b: str) -> int:
    return next((n for n in range(len(a), 0, -1) if a[-n:] in b), 0)


def _start_in(a: str, b: str) -> int:
    return next((n for n in range(len(a), 0, -1) if a[:n] in b), 0)


def test_the_matches_agree_with_brute_force_on_random_texts() -> None:
    rng = random.Random(7)
    for _ in range(400):
        wording = "".join(rng.choice("abcd") for _ in range(rng.randint(0, 12)))
        at = rng.randint(0, len(wording))
        sentences = [
            "".join(rng.choice("abcde") for _ in range(rng.randint(0, 30))) for _ in range(rng.randint(1, 5))
        ]
        got = wording_matches(wording, at, sentences)
        assert got.shape == (len(sentences), 4)
        for row, s in zip(got.tolist(), sentences, strict=True):
            expected = [
                _subsequence(wording, s),
                _stretch(wording, s),
                _end_in(wording[:at], s),
                _start_in(wording[at:], s),
            ]
            assert row == expected, (wording, at, s)


def test_the_wording_drops_the_question_word_and_punctuation_and_is_canonical() -> None:
    assert question_wording("新工厂由哪家企业投资建设？") == ("新工厂由企业投资建设", 4)
    # Traditional, full-width: read as the canonical Simplified a sentence's `canon` is in
    assert question_wording("新工廠由哪家企業投資建設？") == ("新工厂由企业投资建设", 4)
    assert question_wording("谁创办了这家公司？") == ("创办了这家公司", 0)
    wording, at = question_wording("请介绍这家公司。")  # no question word: all of it is before
    assert at == len(wording) and wording == "请介绍这家公司"


@pytest.mark.parametrize(
    "sentence, expected",
    [
        ("新工厂由华丰集团投资建设。", [8, 4, 4, 0]),
        ("由企业投资建设新工厂。", [7, 7, 1, 6]),
        ("工厂。", [2, 2, 0, 0]),
    ],
)
def test_the_matches_of_a_question(sentence: str, expected: list[float]) -> None:
    wording, at = question_wording("新工厂由哪家企业投资建设？")
    assert wording_matches(wording, at, [sentence]).tolist() == [expected]


def test_the_shipped_ranker_prefers_the_sentence_that_restates_the_question_around_the_answer() -> None:
    """Two sentences of one article, alike in every recorded feature, holding the same
    question characters and character pairs at the same length: one says 新工厂由 X 投资建设 as
    the question asks it, the other has the words in another order. The shipped ranker puts
    the first first; given first, the other would lead on a tie (made-up sentences)."""
    p = Policy.load()
    q = Query(
        "新工厂由哪家企业投资建设？", "zh-Hans", "q", "q", "other", terms=["新工厂", "企业", "投资", "建设"]
    )
    feats = {"cov": 0.75, "ctx_cov": 1.0, "retrieval": 1.0, "dense": 0.5, "type_ok": 1.0}
    scattered = "投资建设新工厂的华丰集团，由明年起投产。"
    restated = "新工厂由华丰集团投资建设，预计明年投产。"
    sents = candidates([("a", 0, scattered, feats), ("a", 40, restated, feats)])
    partial = scored(p, q, sents)
    x = rank_features(q, sents, [0, 1], partial, 2)
    wording = [
        RANK_FEATURES.index(n)
        for n in ("in_order", "in_order_gap", "run", "run_gap", "wh_before", "wh_after")
    ]
    others = [i for i in range(len(RANK_FEATURES)) if i not in wording]
    assert x[0, others].tolist() == x[1, others].tolist()  # only the wording tells them apart
    rank_sentences(p, q, sents)
    assert ordered(sents)[0] is sents[1]


def test_warm_up_loads_the_compiled_kernel() -> None:
    """What the server's preload calls before forking (server.workers.preload): the kernel
    compiled or read from numba's cache, once, for every later question."""
    wording_module._kernel.cache_clear()
    warm_up()
    assert wording_module._kernel.cache_info().currsize == 1
