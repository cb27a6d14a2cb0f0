"""Short answers, learned: the candidate spans of the answer sentence (rag.span_features)
are scored by a fitted model, and the best one is the short answer, given only where the
model is sure enough of it.

A linear score (the features' weights and, hashed, the lexical buckets of rag.span_lexical)
ranks every candidate; for the kinds of answer the policy names, gradient-boosted trees rank
the best few again. The weights, trees and least confidences are fitted by
`bench/fit_spans.py` (conditional logit over each question's candidates, then LightGBM
LambdaRank, one dev set held apart) and read from the policy file.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np

from rag.normalize import fold_width, simplified_question, simplify_with_map
from rag.postag import tagged
from rag.sentence_words import Tags
from rag.span import (
    ASKS_DAY,
    ASKS_PEOPLE,
    ASKS_REACHED,
    ASKS_WHO_IS,
    ASKS_YEAR,
    NUMBER,
    Span,
    SpanRules,
    found_literal,
    head_noun,
    to_original,
)
from rag.span_features import (
    FEATURE_NAMES,
    KINDS,
    TREE_FEATURE_NAMES,
    SpanCandidates,
    candidates_simplified,
)
from rag.span_lexical import BUCKETS, TEMPLATES
from rag.span_numbers import counts_days, units_of
from rag.span_text import closed_end, counted_noun
from rag.trees import TreeEnsemble


@dataclass(frozen=True, slots=True)
class SpanModel:
    """How candidate spans are ranked, all fitted by bench/fit_spans.py: a linear score
    (`weights` over `FEATURE_NAMES`, in that order, plus, where there is `lexical`, the
    weights of the span's lexical buckets: rag.span_lexical) ranks every candidate; where there are
    `trees` (gradient-boosted, rag.trees) and the question asks for one of `tree_kinds`, the
    `shortlist` best by that score are ranked again by them. A span is given only when the
    softmax probability of the pick among the candidates of the last ranking is at least
    `min_confidence` (a linear pick) or `tree_min_confidence` (a pick of the trees)."""

    features: tuple[str, ...]
    weights: tuple[float, ...]
    min_confidence: float
    shortlist: int = 0  # candidates the trees rank again (0: the linear score decides)
    trees_file: str = ""  # the LightGBM text model of the trees, beside the policy file
    trees: TreeEnsemble | None = field(default=None, compare=False, repr=False)
    tree_kinds: tuple[str, ...] = ()  # the kinds of answer (KINDS) whose candidates the trees rank
    tree_min_confidence: float = 0.0
    lexical_file: str = ""  # the weights of the lexical buckets (.npy), beside the policy file
    lexical_templates: tuple[str, ...] = ()  # the templates they were fitted for (rag.span_lexical)
    lexical: np.ndarray | None = field(default=None, compare=False, repr=False)

    def check(self) -> None:
        if tuple(self.features) != FEATURE_NAMES or len(self.weights) != len(FEATURE_NAMES):
            raise ValueError(
                "span model: its features are not the ones this code computes; run bench/fit_spans.py"
            )
        if self.trees is not None and (
            self.trees.n_features != len(TREE_FEATURE_NAMES) or self.shortlist < 1
        ):
            raise ValueError(
                "span model: its trees do not fit this code's features (or no shortlist); run bench/fit_spans.py"
            )
        if self.lexical is not None and (
            tuple(self.lexical_templates) != TEMPLATES or self.lexical.shape != (BUCKETS,)
        ):
            raise ValueError(
                "span model: its lexical weights do not fit this code's templates and buckets; "
                "run bench/fit_spans.py"
            )
        if not set(self.tree_kinds) <= set(KINDS):
            raise ValueError(
                f"span model: tree_kinds {sorted(set(self.tree_kinds) - set(KINDS))} are not among {KINDS}; "
                "run bench/fit_spans.py"
            )

    def uses_trees(self, kind: str) -> bool:
        """Whether the trees rank the candidates of a question asking for `kind`."""
        return self.trees is not None and kind in self.tree_kinds

    def least_confidence(self, kind: str) -> float:
        """The least confidence for a span to be given, for a question asking for `kind`."""
        return self.tree_min_confidence if self.uses_trees(kind) else self.min_confidence

    def linear_scores(self, x: np.ndarray, keys: np.ndarray | None) -> np.ndarray:
        """The linear score of every candidate: rows of `x` (as `SpanCandidates.expanded` gives
        them) and of `keys` (their lexical buckets, `SpanCandidates.keys`)."""
        scores = x @ np.asarray(self.weights, dtype=np.float32)
        if self.lexical is not None:
            if keys is None:
                raise ValueError("span model: it weighs lexical features, and no keys were given")
            scores = scores + self.lexical[keys].sum(axis=1)
        return scores

    def pick(self, x: np.ndarray, kind: str, keys: np.ndarray | None = None) -> tuple[int, float]:
        """The best candidate among the rows of `x` (candidates x `FEATURE_NAMES`, as
        `SpanCandidates.expanded` gives them; `keys` their lexical buckets) and the model's
        confidence in it (see `confidence`). The linear score ranks them all; the trees, for
        `tree_kinds`, the shortlist."""
        scores = self.linear_scores(x, keys)
        if self.trees is None or not self.uses_trees(kind):
            return int(np.argmax(scores)), confidence(scores)
        best = np.argsort(-scores, kind="stable")[: self.shortlist]
        again = self.trees.predict(tree_rows(x[best], scores[best]))
        return int(best[int(np.argmax(again))]), confidence(again)


def tree_rows(x: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """What the trees see of a shortlist: its candidates' features (rows of `x`) and, last, each
    one's linear score less the best one's, so the trees refine the linear ranking (which
    alone weighs the lexical buckets) instead of starting over."""
    gap = (scores - scores.max()).astype(np.float32) if len(scores) else scores.astype(np.float32)
    return np.column_stack([x, gap])


def best_span(question: str, kind: str, sentence: str, rules: SpanRules, model: SpanModel) -> Span | None:
    """Offsets [start, end) into `sentence` (as published) of the best-scored candidate span,
    or None when the sentence has none or the model is not confident enough in any (its
    probability among the candidates below `model.least_confidence`): no span fits."""
    got = sure_span(question, kind, sentence, rules, model)
    return None if got is None else got[0]


def sure_span(
    question: str,
    kind: str,
    sentence: str,
    rules: SpanRules,
    model: SpanModel,
    tags: Tags | None = None,
    *,
    expressions_only: bool = False,
    measure: str | tuple[str, ...] = "",
) -> tuple[Span, float] | None:
    """`best_span` with the model's confidence in it (its probability among the sentence's
    candidates), which is at least `model.least_confidence`. `tags`: the sentence's stored
    part-of-speech words (`rag.sentence_words`), else it is tagged here. `expressions_only`
    (an English question): a number or date question is answered by a whole number or date
    expression of the sentence (`SpanCandidates.expressions`). `measure`: what a number
    question asks its count in (`rag.answer.Query.measure`, or the units an English question
    counts in): a pick that holds no count in it
    gives way to the best candidate that is one, as a pick without a numeral does (`counted`)."""
    model.check()
    if not question.strip() or not sentence.strip():
        return None
    qs = fold_width(simplified_question(question))
    ss, mapping = simplify_with_map(sentence)
    found = candidates_simplified(qs, kind, ss, rules, tags)
    units = units_of(measure)
    days_counted = counts_days(units)  # (拘留几天: 10日 is a count, no day of the month)
    if expressions_only:
        found = found.expressions(qs, days_counted=days_counted, units=units)
    if not found.spans:
        return None
    best, sure = model.pick(found.expanded(), found.kind, found.keys)
    if sure < model.least_confidence(found.kind):
        return None
    counted = found.counted(asks_year=bool(ASKS_YEAR.search(qs)), days_counted=days_counted)
    if found.spans[best] not in counted.spans:
        # a number question's pick that holds no numeral (平方千米 of 3平方千米): the best of
        # those that do, if the model is sure enough of it among them
        if not counted.spans:
            return None
        found = counted
        best, sure = model.pick(found.expanded(), found.kind, found.keys)
        if sure < model.least_confidence(found.kind):
            return None
    # the pick gives way to the best of the candidates that are what is asked, where it is not
    # one of them and the model is sure enough of that one: a date naming the day asked for
    # (2022年12月27日 over its 2022年, 哪一天); a count of the noun asked (8个 of 8个州 over 70个
    # of 70个目击者, 多少个州); a count in the measure asked (3000名 over 48个, 多少名运动员)
    if ASKS_DAY.search(qs):
        found, best, sure = _narrowed(model, found, best, sure, found.dated())
    if ASKS_REACHED.search(qs):
        # what a change reached (提高到了多少): the count after its 至 or 到, not the one it rose from
        found, best, sure = _narrowed(model, found, best, sure, found.reached())
    titled = None if ASKS_PEOPLE.search(qs) else ASKS_WHO_IS.search(qs)
    if titled is not None:
        # who holds a title (党组书记是谁): the name the sentence writes right after it, not
        # another word read as a name (令人, which jieba may tag as one)
        found, best, sure = _narrowed(model, found, best, sure, found.after_title(titled.group(1)))
    noun = counted_noun(qs)
    found, best, sure = _narrowed(model, found, best, sure, found.counting(noun))
    measured = found.measured(measure)
    if measured is not found and not found.counts_in(found.spans[best], measure):
        found, best, sure = _narrowed(model, found, best, sure, measured)
    # (a pick that opens a bracket closes it, as read: 黄色(三级 of 黄色(三级)预警 is 黄色(三级);
    # the candidates and their features stay as the model was fitted on)
    a, b = found.spans[best]
    if titled is not None:
        # who holds a title (副司令员是谁): the name after it, not the next person's title and name
        a, b = found.first_of_joined((a, b), titled.group(1))
    b = through_head(qs, ss, a, b)
    b = before_counted_noun(noun, ss, a, b)
    span = to_original(sentence, ss, mapping, (a, closed_end(ss, a, b, rules.max_list_chars)))
    return None if span is None else (span, sure)


def through_head(qs: str, ss: str, a: int, b: int) -> int:
    """The end of the span `ss[a:b]`, carried to the end of the noun a "which X" question names
    (`rag.span.head_noun`, two characters or more) where the span stops inside the sentence's
    writing of it (某区街道办 of 某区街道办事处, asked 哪个街道办事处): the answer is headed by
    that noun; `b` otherwise."""
    head = nominal_head(qs)
    if len(head) < 2:
        return b
    for x, y in found_literal(head, ss):
        if a <= x < b < y:
            return y
    return b


def before_counted_noun(noun: str, ss: str, a: int, b: int) -> int:
    """The end of a count `ss[a:b]` before `noun`, the noun the question counts in 个
    (`rag.span_text.counted_noun`: 17个乡镇 → 17个, asked 多少个乡镇): the question writes the
    noun, the answer is the count; `b` otherwise."""
    cut = b - len(noun)
    if noun and cut > a and ss.endswith("个" + noun, a, b) and NUMBER.fullmatch(ss, a, cut):
        return cut
    return b


_NOMINAL_FLAGS = ("vn", "j", "eng", "b")  # (and every noun's, n…)


@functools.lru_cache(maxsize=1024)
def nominal_head(qs: str) -> str:
    """The noun a "which X" question names (`rag.span.head_noun`: 街道办事处 of
    哪个街道办事处？) where the question's own words there (jieba's) are all nominal; "" where
    a verb or another word runs on after the noun (礼堂举行 of 在哪个礼堂举行？)."""
    head = head_noun(qs)
    if not head:
        return ""
    start = qs.find(head)
    end = start + len(head)
    words = [(x, y, f) for x, y, f in tagged(qs) if x < end and y > start]
    if not words or words[0][0] != start or words[-1][1] != end:
        return ""
    # (a person's name is none: jieba reads 拉开帷幕 as one; and the last word is a noun proper,
    # not a verb's noun use: 公司承建施工 of 由哪家公司承建施工)
    nominal = all((f.startswith("n") and not f.startswith("nr")) or f in _NOMINAL_FLAGS for _, _, f in words)
    last = words[-1][2]
    return head if nominal and last.startswith("n") and not last.startswith("nr") else ""


def _narrowed(
    model: SpanModel, found: SpanCandidates, best: int, sure: float, among: SpanCandidates
) -> tuple[SpanCandidates, int, float]:
    """`(found, best, sure)`, or the best of `among` (a subset of `found`) with the model's
    confidence in it, where the pick is not one of them, `among` has any, and the model is sure
    enough of its best."""
    if not among.spans or found.spans[best] in among.spans:
        return found, best, sure
    b, s = model.pick(among.expanded(), among.kind, among.keys)
    return (among, b, s) if s >= model.least_confidence(among.kind) else (found, best, sure)


def confidence(scores: np.ndarray) -> float:
    """The softmax probability of the best of a sentence's candidate scores."""
    return float(1.0 / np.exp(scores - scores.max()).sum())
