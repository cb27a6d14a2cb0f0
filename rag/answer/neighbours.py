"""Whether an answer reads back into the sentence before it, or on into the one after it.

The sentence that best matches a question often restates it and leaves the fact to a
neighbour: the sentence before names what a pronoun points at (「1563年，它成为了……的首都。」
after 「杜林曾经是……。」), or the one after holds the figure the restatement announces. Which
neighbour to add is a logistic model over general features of the best sentence, the
neighbour and the question: how each sentence starts (the part-of-speech class of its first
word: a pronoun, a conjunction, an adverb, a verb with no subject before it …), whether a
pronoun is among its first words, the answer-type feature of both for a question that asks
for a name, place, date or number, the neighbour's coverage, cosine and ranker score against
the best one's, and lengths. The weights are fitted on the dev sets by
`bench/fit_neighbours.py` and read from the policy (`neighbour_model`); a neighbour is added
when its margin is positive. No word of any kind is a feature: only part-of-speech classes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from rag.answer.candidates import Sentence, words_of
from rag.answer.question import Query
from rag.sentence_words import Tags

# the part-of-speech classes a sentence's first word is told apart by (jieba's flags, by prefix)
LEAD_CLASSES = ("r", "c", "d", "v", "p", "t", "m", "n", "f", "q", "u")
TYPED_KINDS = ("person", "place", "date", "number")  # kinds whose answer-type feature names the thing asked
KINDS = ("other", "list", *TYPED_KINDS)
LEAD_CHARS = 16  # a word starting in the first this many characters counts for how a sentence starts
LEAD_WORDS = 3  # a pronoun among this many first words counts as a pronoun lead
NO_RANK = -3.0  # the ranker-score gap of a neighbour outside the ranker's shortlist

NEIGHBOUR_FEATURES: tuple[str, ...] = (
    "before",
    "after",
    *(f"best_lead_{c}" for c in (*LEAD_CLASSES, "other")),
    *(f"next_lead_{c}" for c in (*LEAD_CLASSES, "other")),
    "best_pronoun_lead",
    "next_pronoun_lead",
    "typed_best_untyped",
    "typed_neighbour_type",
    "typed_best_type",
    "neighbour_cov",
    "best_cov",
    "neighbour_dense",
    "best_dense",
    "rank_gap",
    "no_rank",
    "neighbour_chars",
    "best_chars",
    "one_sentence",
    *(f"kind_{k}" for k in KINDS),
)


def lead(tags: Tags) -> tuple[str, bool]:
    """How a sentence starts, from its part-of-speech words (`rag.sentence_words`): the class
    (one of LEAD_CLASSES, or "other") of its first word, and whether a pronoun is among its
    first LEAD_WORDS words; punctuation is skipped. Only words starting in the first
    LEAD_CHARS characters count."""
    words = [flag for a, _, flag in tags if a < LEAD_CHARS and flag != "x"]
    first = next((c for c in LEAD_CLASSES if words and words[0].startswith(c)), "other")
    return first, any(f.startswith("r") for f in words[:LEAD_WORDS])


def neighbour_features(
    q: Query, best: Sentence, neighbour: Sentence, before: bool, n_chosen: int
) -> list[float]:
    """The features (NEIGHBOUR_FEATURES, in order) of adding `neighbour`, the sentence just
    before (`before`) or just after the `n_chosen` sentences an answer is made of, whose best
    is `best`. Sentences need `rank` set (rag.answer.rank_sentences)."""
    best_lead, best_pronoun = lead(words_of(best).tags)
    next_lead, next_pronoun = lead(words_of(neighbour).tags)
    typed = float(q.kind in TYPED_KINDS)
    gap, unranked = rank_gap(neighbour, best)
    b, a = float(before), float(not before)
    return [
        b,
        a,
        *(b * (best_lead == c) for c in (*LEAD_CLASSES, "other")),
        *(a * (next_lead == c) for c in (*LEAD_CLASSES, "other")),
        b * best_pronoun,
        a * next_pronoun,
        typed * (best.type_ok == 0),
        typed * neighbour.type_ok,
        typed * best.type_ok,
        neighbour.cov,
        best.cov,
        neighbour.dense,
        best.dense,
        gap,
        unranked,
        len(neighbour.text) / 100,
        len(best.text) / 100,
        float(n_chosen == 1),
        *(float(q.kind == k) for k in KINDS),
    ]


def rank_gap(s: Sentence, best: Sentence) -> tuple[float, float]:
    """The sentence ranker's score of `s` less that of `best`, and 0; (NO_RANK, 1) when either
    is outside the ranker's shortlist."""
    if math.isfinite(s.rank) and math.isfinite(best.rank):
        return s.rank - best.rank, 0.0
    return NO_RANK, 1.0


def margin(weights: Sequence[float], bias: float, x: Sequence[float]) -> float:
    """The model's margin for features `x`: positive means the neighbour is added."""
    return bias + sum(w * v for w, v in zip(weights, x, strict=True))


def adjacent(first: Sentence, second: Sentence, gap: int) -> bool:
    """Whether `second` follows `first` in the same article with at most `gap` characters between."""
    return first.hit.article_id == second.hit.article_id and 0 <= second.start - first.end <= gap
