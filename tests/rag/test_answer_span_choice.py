"""Which cited sentence gives the short answer (rag.answer.span_choice, the policy's
span_choice model, bench/fit_span_choice.py)."""

from __future__ import annotations

import dataclasses

import pytest

from rag.answer import (
    RECORDED_FEATURES,
    SPAN_CHOICE_FEATURES,
    LinearModel,
    Policy,
    Query,
    Sentence,
    choose_span,
    recorded_sentence,
    span_choice_features,
)
from rag.answer.stage import pick_short_answer
from rag.records import Citation

BEFORE = "杜林曾经是欧洲重要的政治中心。"
BEST = "1563年，它成为了萨伏依公国的首都。"


def query() -> Query:
    return Query(
        "萨伏依公国的首都是哪里？",
        "zh-Hans",
        "萨伏依公国的首都是哪里？",
        "萨伏依公国的首都是哪里？",
        "place",
        terms=["萨伏依", "公国", "首都"],
    )


def answer() -> list[Sentence]:
    """The sentence a pronoun points at, then the best one (ranked and scored first)."""
    out = []
    for start, text, score, rank in ((0, BEFORE, 0.3, -1.0), (len(BEFORE), BEST, 0.9, 2.0)):
        s = recorded_sentence("a", 0, dict.fromkeys(RECORDED_FEATURES, 0.0), text, start)
        s.score, s.rank = score, rank
        out.append(s)
    return out


def model(**weights: float) -> LinearModel:
    w = dict.fromkeys(SPAN_CHOICE_FEATURES, 0.0) | weights
    return LinearModel(SPAN_CHOICE_FEATURES, tuple(w[f] for f in SPAN_CHOICE_FEATURES), 0.0)


def test_the_model_decides_and_without_one_the_best_scored_sentence_does() -> None:
    before, best = answer()
    found = [(best, 0.4), (before, 0.6)]  # best-scored first
    assert choose_span(LinearModel(), query(), [before, best], found) == 0
    assert choose_span(model(before_best=1.0), query(), [before, best], found) == 1
    assert choose_span(model(is_best=1.0), query(), [before, best], found) == 0
    assert choose_span(model(log_confidence=1.0), query(), [before, best], found) == 1
    assert choose_span(model(before_best=1.0), query(), [before, best], found[:1]) == 0  # one span: no choice


def test_features_are_in_the_declared_order_and_a_mismatch_is_refused() -> None:
    before, best = answer()
    named = dict(zip(SPAN_CHOICE_FEATURES, span_choice_features(query(), best, before, 0.5), strict=True))
    assert named["before_best"] == 1 and named["is_best"] == 0 and named["after_best"] == 0
    assert named["rank_gap"] == -3.0 and named["score_gap"] == pytest.approx(-0.6)
    assert named["is_best_kind_place"] == 0
    again = dict(zip(SPAN_CHOICE_FEATURES, span_choice_features(query(), best, best, 0.5), strict=True))
    assert again["is_best_kind_place"] == 1 and again["is_best"] == 1
    wrong = LinearModel(("is_best",), (1.0,), 0.0)
    with pytest.raises(ValueError, match="fit_span_choice"):
        choose_span(wrong, query(), [before, best], [(best, 0.4), (before, 0.6)])


def cited(sents: list[Sentence]) -> list[tuple[Sentence, Citation]]:
    return [
        (s, Citation(i + 1, "a", "a#0", "", None, None, s.text, s.start, s.end, 1.0))
        for i, s in enumerate(sents)
    ]


def test_the_short_answer_comes_from_the_sentence_the_model_chooses() -> None:
    """With a model that prefers the sentence before the best one, the span is taken there
    (and cited with that sentence's number); without a model, from the best-scored one."""
    shipped = Policy.load()
    q = query()
    rule = pick_short_answer(dataclasses.replace(shipped, span_choice=LinearModel()), q, cited(answer()))
    back = pick_short_answer(
        dataclasses.replace(shipped, span_choice=model(before_best=5.0)), q, cited(answer())
    )
    assert rule is not None and back is not None
    assert rule.n == 2 and rule.text in BEST
    assert back.n == 1 and back.text in BEFORE and back.end <= len(BEFORE)


def test_the_shipped_model_is_fitted() -> None:
    m = Policy.load().span_choice
    assert m.features == SPAN_CHOICE_FEATURES and len(m.weights) == len(SPAN_CHOICE_FEATURES), (
        "the shipped policy has a span choice model (bench/fit_span_choice.py)"
    )
