"""Which cited sentence gives the short answer, when several have a span.

An answer of two or three sentences has a span in each (rag.span_rank, each above its least
confidence); the best-scored sentence's is not always the right one: a sentence read back
into because the best one points at it (rag.answer.neighbours) often holds the name the best
one only refers to. The span model's probabilities do not compare across sentences (each is a
softmax over its own sentence's candidates), so the choice is a logistic score of its own,
fitted on the dev sets by `bench/fit_span_choice.py` (the policy's `span_choice`), over
general features of each sentence and its span: whether it is the best sentence (and for
which kind of question), before or after it, the span's confidence, the sentence's answer
type, coverage, cosine, ranker score and length. The highest score gives the short answer.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from rag.answer.agreement import counts_in
from rag.answer.candidates import Sentence, words_of
from rag.answer.choose import ordered
from rag.answer.english_asked import asked_noun_in_chinese, asked_nouns_in_chinese, counted_in
from rag.answer.english_question import asked_in_chinese, asked_in_sentence
from rag.answer.neighbours import KINDS, margin, rank_gap
from rag.answer.policy import LinearModel, Policy
from rag.answer.question import Query
from rag.normalize import fold_width, to_simplified
from rag.span import ASKS_DURATION, DURATION_UNITS, Span, counts_in_units, reads_as_time
from rag.span_rank import sure_span

_LEAST = 1e-6  # the confidence below which all count alike (its log stays finite)
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
    *(f"is_best_kind_{k}" for k in KINDS),
)


def span_choice_features(q: Query, best: Sentence, s: Sentence, confidence: float) -> list[float]:
    """The features (SPAN_CHOICE_FEATURES, in order) of taking the short answer from `s`,
    whose span has `confidence`, in an answer whose best sentence is `best`."""
    is_best = float(s is best)
    gap, unranked = rank_gap(s, best)
    return [
        is_best,
        float(s.start < best.start),
        float(s.start > best.start),
        math.log(max(confidence, _LEAST)),
        s.type_ok,
        s.cov,
        s.dense,
        gap,
        unranked,
        s.score - best.score,
        math.log(max(len(s.text), 1)),
        *(is_best * (q.kind == k) for k in KINDS),
    ]


def sentence_spans(
    policy: Policy, q: Query, sents: Sequence[Sentence], *, units: tuple[str, ...] | None = None
) -> list[tuple[int, Span, float]]:
    """The sentences of an answer that have a span (rag.span_rank), best-scored first: each
    one's index in `sents`, its span and the span model's confidence in it. `units`: the
    question's (`_units`), where the caller has them already."""
    found = []
    # an English question's frame, where it is its own (not a follow-up's), in each sentence's words
    noun = asked_noun_in_chinese(q.text) if q.script == "en" else ""
    nouns = asked_nouns_in_chinese(q.text) if noun else ()
    framed = _framed(q, noun)
    # what the count is written in ("how many trains", 列, 趟…; 多长时间); a follow-up read
    # against an earlier question's frame (涉案金额多少支) asks in no measure of its own
    units = _units(q, framed) if units is None else units
    for i in sorted(range(len(sents)), key=lambda i: -sents[i].score):
        # (the noun asked in the sentence's own word, as a term is: 法院 of "which court")
        asks = (
            asked_in_sentence(q.text, q.kind, q.terms, q.more, to_simplified(sents[i].text), noun, nouns)
            if framed
            else q.asks or q.text
        )
        got = sure_span(
            asks,
            q.kind,
            sents[i].text,
            policy.spans,
            policy.span_model,
            words_of(sents[i]).tags,
            expressions_only=q.script == "en",
            measure=units or (q.measure if asks == q.text else ""),
        )
        if got is not None:
            found.append((i, *got))
    return found


def _framed(q: Query, noun: str) -> bool:
    """Whether `q` is an English question read in its own Chinese frame (`asked_in_chinese`,
    with the asked `noun`), not a follow-up's."""
    return q.script == "en" and q.asks == asked_in_chinese(q.text, q.kind, q.terms, noun)


def _units(q: Query, framed: bool) -> tuple[str, ...]:
    """The units the count a question asks for is written in: an English question's
    (`counted_in`), where it is read in its own frame (`framed`); a Chinese one's asking how
    long something lasted (多长时间, 多久: a length of time), where it names no measure of its
    own; none otherwise."""
    if q.script == "en":
        return counted_in(q.text, q.kind) if framed else ()
    if q.kind == "number" and not q.measure and ASKS_DURATION.search(q.asks or q.text):
        return DURATION_UNITS
    return ()


def picked_span(policy: Policy, q: Query, sents: Sequence[Sentence]) -> tuple[int, Span, float] | None:
    """What `choose_span` picks among `sentence_spans(policy, q, sents)` (the sentence's index
    in `sents`, its span and confidence; None where no sentence has a span), finding spans only
    where they can change the pick: a sentence whose score with the highest confidence a span
    can have (1) does not beat the best found so far cannot be chosen (the score grows with the
    confidence, a tie goes to the earlier sentence), so its candidates are never built. The
    same pick as choosing among all. A question whose count is asked in units (`_units`) reads
    every sentence's span, and chooses among those that count in them where any does; a
    Chinese date question among those that read as a time (`rag.span.reads_as_time`)."""
    model = policy.span_choice
    _check(model)
    best = ordered(sents)[0]

    def scored(i: int, sure: float) -> float:
        """The span choice's margin for taking the span of `sents[i]` with confidence `sure`."""
        return margin(model.weights, model.bias, span_choice_features(q, best, sents[i], sure))

    # the confidence that scores highest: 1 for a model that weighs it up, the least otherwise
    weight = dict(zip(model.features, model.weights, strict=True)).get("log_confidence", 0.0)
    highest = 1.0 if weight >= 0 else _LEAST
    top: tuple[int, Span, float] | None = None
    top_margin = -math.inf
    units = _units(q, q.script == "en" and _framed(q, asked_noun_in_chinese(q.text)))
    several = len(sents) > 1
    dated = q.kind == "date" and q.script != "en" and several
    # a Chinese count in the measure its question names (多少张, 多少户)
    measured = q.kind == "number" and q.script != "en" and bool(q.measure) and several
    given = question_numbers(q.text) if q.kind == "number" and several else frozenset()
    # an English "how many" of no time and no units (how many of them were new): not a length
    # of time, nor an age
    untimed = (
        q.script == "en"
        and q.kind == "number"
        and several
        and not units
        and _UNTIMED.search(q.text) is not None
    )
    # a Chinese question asking what something is called (叫什么名字, 笔名叫什么)
    asked_simplified = to_simplified(q.text) if q.script != "en" and several else ""
    called = _ASKS_NAME.search(asked_simplified) is not None
    if units or dated or measured or given or untimed or called:
        # a count in units: the sentences whose span counts in what is asked ("how many
        # staff": 50名, not the 两天 of another cited sentence; 多长时间: 三个小时, not 3时), where
        # one does, as a Chinese question's candidates all count in its measure
        # (rag.answer.agreement.counts_in), and a Chinese question's count in its measure (多少张:
        # 2000余张, not the 一台 of the best sentence); a date: those whose span reads as a time
        # (8月2日, not the name of the bus line the best sentence is about), where one does; a
        # count: not one the question writes itself (奖金3亿的那一期…中奖号码是多少: not 3亿元);
        # a name asked (笔名叫什么): a span right after 叫 or 名为 (他的笔名叫“山风”)
        found = sentence_spans(policy, q, sents, units=units)

        def asked(i: int, span: Span) -> bool:
            """Whether the span of `sents[i]` is what is asked: a count in the units, or a time;
            not a number the question gives."""
            text = to_simplified(sents[i].text[slice(*span)])
            if given and (numbers := question_numbers(text)) and numbers <= given:
                return False
            if units:
                return counts_in_units(text, units)
            if untimed and counts_in_units(text, _UNTIMED_UNITS):
                return False
            if measured:
                return counts_in(text, q.measure)
            if called:
                # (not what the question names itself: 正殿在当地被称为什么 is not 正殿)
                before = to_simplified(sents[i].text[max(0, span[0] - 4) : span[0]])
                return _NAMED_AS.search(before) is not None and text not in asked_simplified
            return reads_as_time(text) if dated else True

        what = [f for f in found if asked(f[0], f[1])]
        for i, span, sure in what or found:  # (without a model, the first: ties keep it)
            m = scored(i, sure) if model.weights else 0.0
            if top is None or m > top_margin:
                top, top_margin = (i, span, sure), m
        return top
    for i in sorted(range(len(sents)), key=lambda i: -sents[i].score):
        if top is not None:
            if not model.weights:
                break  # without a model, the first sentence with a span
            if scored(i, highest) <= top_margin:
                continue
        got = sentence_spans(policy, q, [sents[i]], units=units)
        if not got:
            continue
        _, span, sure = got[0]
        m = scored(i, sure) if model.weights else 0.0
        if top is None or m > top_margin:
            top, top_margin = (i, span, sure), m
    return top


# a Chinese question asking what something is called, and what a sentence writes right before
# the name it gives (叫“…”, 名为, 称为, 取名)
_ASKS_NAME = re.compile(r"叫什么|叫做什么|什么名字|名为什么|称为什么|名称是什么|叫啥")
_NAMED_AS = re.compile(r"(?:叫|名为|称为|名叫|叫做|称作|取名为?|命名为|名字是|名称是)[“\"「『《]?$")
# an English question asking "how many" that names no length of time, nor an age, anywhere
_UNTIMED = re.compile(
    r"^(?!.*\b(?:days?|nights?|weeks?|months?|years?|hours?|minutes?|seconds?|decades?|centur(?:y|ies)|long"
    r"|old|age|aged|ages)\b)"
    r".*\bhow many\b",
    re.IGNORECASE | re.DOTALL,
)
# what such a question's count is not written in: a length of time, an age (19岁 of "how many events")
_UNTIMED_UNITS = (*DURATION_UNITS, "岁")
# a number written in digits (4,200; 3.5; 2023), its thousands' commas aside
_DIGITS = re.compile(r"(?<![\d.])\d+(?:,\d{3})*(?:\.\d+)?(?![\d.])")


def question_numbers(text: str) -> frozenset[str]:
    """The numbers `text` writes in digits, without thousands' commas (4,200 → 4200)."""
    return frozenset(m.replace(",", "") for m in _DIGITS.findall(fold_width(text)))


def _check(model: LinearModel) -> None:
    if model.weights and model.features != SPAN_CHOICE_FEATURES:
        raise ValueError(
            "span choice model: its features are not the ones this code computes; run bench/fit_span_choice.py"
        )


def choose_span(
    model: LinearModel, q: Query, cited: Sequence[Sentence], found: Sequence[tuple[Sentence, float]]
) -> int:
    """Which of `found` (cited sentences with a span, and its confidence; best-scored first)
    gives the short answer: the highest margin of `model`; without a model, the first."""
    if not model.weights or len(found) < 2:
        return 0
    _check(model)
    best = ordered(cited)[0]
    margins = [margin(model.weights, model.bias, span_choice_features(q, best, s, sure)) for s, sure in found]
    return margins.index(max(margins))
