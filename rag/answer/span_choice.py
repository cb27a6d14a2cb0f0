"""Which cited sentence gives the short answer, when several have a span.

An answer of two or three sentences has a span in each (rag.span_rank, each above its least
confidence); the best-scored sentence's is not always the right one: a sentence read back
into because the best one points at it (rag.answer.neighbours) often holds the name the best
one only refers to. The span model's probabilities do not compare across sentences (each is a
softmax over its own sentence's candidates), so the choice is a logistic score of its own,
fitted on the dev sets by `bench/fit_span_choice.py` (the policy's `span_choice`), over
general features of each sentence and its span: whether it is the best sentence (and for
which kind of question), before or after it, the span's confidence, the sentence's answer
type, coverage, cosine, ranker score and length, and whether the span is of the kind a
person, place, date or number question asks for. The highest score gives the short answer.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from rag.answer.features import Sentence
from rag.answer.neighbours import KINDS, margin
from rag.answer.policy import LinearModel
from rag.answer.question import Query
from rag.normalize import to_simplified
from rag.postag import pos_tags
from rag.span import DATE, NUM_CORE
from rag.span_lexical import pos_class

NO_RANK = -3.0  # the ranker-score gap of a sentence outside the ranker's shortlist

SPAN_CHOICE_FEATURES: tuple[str, ...] = (
    "is_best",
    "before_best",
    "after_best",
    "log_confidence",
    "type_ok",
    "cov",
    "dense",
    "rank_gap",
    "no_rank",
    "score_gap",
    "log_chars",
    "span_of_kind",
    "span_not_of_kind",
    *(f"is_best_kind_{k}" for k in KINDS),
)


def of_kind(kind: str, span: str) -> bool | None:
    """Whether `span` is the kind of thing a person, place, date or number question asks for
    (a name by jieba's part of speech, a date, a number); None for other questions."""
    if kind in ("person", "place"):
        return any(pos_class(flag) == "name" for _, flag in pos_tags(to_simplified(span)))
    if kind == "date":
        return DATE.search(to_simplified(span)) is not None
    if kind == "number":
        return NUM_CORE.search(to_simplified(span)) is not None
    return None


def span_choice_features(q: Query, best: Sentence, s: Sentence, span: str, confidence: float) -> list[float]:
    """The features (SPAN_CHOICE_FEATURES, in order) of taking the short answer `span` from
    `s`, with the span model's `confidence`, in an answer whose best sentence is `best`."""
    is_best = float(s is best)
    ranked = math.isfinite(s.rank) and math.isfinite(best.rank)
    typed = of_kind(q.kind, span)
    return [
        is_best,
        float(s.start < best.start),
        float(s.start > best.start),
        math.log(max(confidence, 1e-6)),
        s.type_ok,
        s.cov,
        s.dense,
        s.rank - best.rank if ranked else NO_RANK,
        float(not ranked),
        s.score - best.score,
        math.log(max(len(s.text), 1)),
        float(typed is True),
        float(typed is False),
        *(is_best * (q.kind == k) for k in KINDS),
    ]


def best_of(sents: Sequence[Sentence]) -> Sentence:
    """The best of an answer's sentences (the ranker's first, then the score's)."""
    return min(sents, key=lambda s: (-s.rank, -s.score))


def choose_span(
    model: LinearModel, q: Query, cited: Sequence[Sentence], found: Sequence[tuple[Sentence, str, float]]
) -> int:
    """Which of `found` (cited sentences with a span: the sentence, the span's text and the
    span model's confidence; best-scored first) gives the short answer: the highest margin of
    `model`; without a model, the first."""
    if not model.weights or len(found) < 2:
        return 0
    if model.features != SPAN_CHOICE_FEATURES:
        raise ValueError(
            "span choice model: its features are not the ones this code computes; run bench/fit_span_choice.py"
        )
    best = best_of(cited)
    margins = [
        margin(model.weights, model.bias, span_choice_features(q, best, s, span, sure))
        for s, span, sure in found
    ]
    return margins.index(max(margins))
