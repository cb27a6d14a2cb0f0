"""rag.span_rank: candidate spans, their features, and the pick (sentences written for these tests)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from rag.answer import Policy
from rag.normalize import to_traditional
from rag.span import SpanRules, short_answer
from rag.span_rank import (
    FEATURE_NAMES,
    TREE_FEATURE_NAMES,
    SpanModel,
    best_span,
    candidates,
    dates_apart,
    tree_rows,
)
from rag.trees import TreeEnsemble
from tests.rag.tree_helpers import one_split_text

RULES = Policy.load().spans
SHIPPED = Policy.load().span_model


def only(min_confidence: float = 0.0, **weights: float) -> SpanModel:
    """A model that weighs the named features only."""
    return SpanModel(FEATURE_NAMES, tuple(weights.get(n, 0.0) for n in FEATURE_NAMES), min_confidence)


QUESTION = "这条地铁线由哪家公司负责运营？"
SENTENCE = "这条地铁线由城东轨道交通公司负责运营，全长约二十公里。"


def test_the_anchor_features_count_the_policys_anchor_length() -> None:
    """`spans.anchor_chars` is how many question characters next to a candidate are compared:
    the candidate after 由 matches the 5 characters 这条地铁线由 ends with (6 with 由) — all of
    them counted with 8, capped with 4."""
    col = FEATURE_NAMES.index("left_anchor")
    at = (SENTENCE.index("城东"), SENTENCE.index("负责"))

    def left_anchor(chars: int) -> float:
        found = candidates(QUESTION, "other", SENTENCE, dataclasses.replace(RULES, anchor_chars=chars))
        return float(found.expanded()[found.spans.index(at), col])

    assert left_anchor(8) == pytest.approx(6 / 8)
    assert left_anchor(4) == pytest.approx(1.0)
    assert RULES.anchor_chars == 8


def test_candidates_lie_in_the_sentence_and_hold_the_rules_pick() -> None:
    found = candidates(QUESTION, "other", SENTENCE, RULES)
    assert found.expanded().shape == (len(found.spans), len(FEATURE_NAMES))
    assert all(0 <= a < b <= len(found.ss) for a, b in found.spans)
    rule = short_answer(QUESTION, "other", SENTENCE, RULES)
    assert rule in found.spans
    col = FEATURE_NAMES.index("rule_exact")
    assert [found.spans[i] for i in np.flatnonzero(found.expanded()[:, col])] == [rule]
    # the number with its unit is a candidate even where jieba cuts it elsewhere
    assert (SENTENCE.index("约二十公里"), SENTENCE.index("。")) in found.spans


def test_anchor_features_see_the_question_around_the_span() -> None:
    found = candidates(QUESTION, "other", SENTENCE, RULES)
    row = found.expanded()[found.spans.index((6, 14))]  # 城东轨道交通公司: 由 … 负责运营
    names = dict(zip(FEATURE_NAMES, row, strict=True))
    # 由 before it; 负责运营 after it once the question's type noun (公司) is inside the answer
    assert names["left_anchor"] > 0 and names["right_anchor_past_noun"] > 0
    assert names["q_word_inside"] == 1.0  # 公司 is a question word
    row = candidates("运营这条线的是哪家公司？", "other", SENTENCE, RULES).expanded()[0]
    assert row[FEATURE_NAMES.index("other:last_word_has_head_noun")] == 0.0  # 这条 is no 公司
    found = candidates("运营这条线的是哪家公司？", "other", SENTENCE, RULES)
    row = found.expanded()[found.spans.index((6, 14))]
    assert row[FEATURE_NAMES.index("other:last_word_has_head_noun")] == 1.0  # the answer is a 公司


def test_the_pick_is_the_best_scored_candidate() -> None:
    assert best_span(QUESTION, "other", SENTENCE, RULES, only(rule_exact=1.0)) == short_answer(
        QUESTION, "other", SENTENCE, RULES
    )
    a, b = best_span(QUESTION, "number", SENTENCE, RULES, only(**{"number:number_whole": 1.0}))
    assert SENTENCE[a:b] == "约二十公里"


def test_no_span_is_given_where_the_model_is_not_confident_in_any() -> None:
    """A model that cannot tell the candidates apart (every score equal: each has probability
    1/n) gives no span once its least confidence is above that; one sure of its pick gives it."""
    n = len(candidates(QUESTION, "other", SENTENCE, RULES).spans)
    assert n > 2
    assert best_span(QUESTION, "other", SENTENCE, RULES, only(min_confidence=0.0)) is not None
    assert best_span(QUESTION, "other", SENTENCE, RULES, only(min_confidence=1.5 / n)) is None
    sure = only(min_confidence=0.5, rule_exact=50.0)
    assert best_span(QUESTION, "other", SENTENCE, RULES, sure) == short_answer(
        QUESTION, "other", SENTENCE, RULES
    )
    assert 0.0 < SHIPPED.min_confidence < 0.5  # fitted by bench/fit_spans.py


def one_split(feature: str, n_features: int = len(TREE_FEATURE_NAMES)) -> TreeEnsemble:
    """A one-tree model: +1 where `feature` is above 0.5, -1 elsewhere."""
    return TreeEnsemble.from_text(one_split_text(TREE_FEATURE_NAMES.index(feature), n_features))


def test_the_trees_rank_the_linear_shortlist_again() -> None:
    """The linear score prefers the rules' pick; trees that prefer a whole number move the
    pick to the number with its unit, but only if the linear shortlist holds it."""
    n = len(candidates(QUESTION, "number", SENTENCE, RULES).spans)
    linear = only(rule_exact=1.0)
    rule = best_span(QUESTION, "number", SENTENCE, RULES, linear)
    assert rule is not None and SENTENCE[rule[0] : rule[1]] != "约二十公里"
    trees = dataclasses.replace(
        linear, shortlist=n, trees=one_split("number:number_whole"), tree_kinds=("number",)
    )
    a, b = best_span(QUESTION, "number", SENTENCE, RULES, trees)
    assert SENTENCE[a:b] == "约二十公里"
    assert best_span(QUESTION, "number", SENTENCE, RULES, dataclasses.replace(trees, shortlist=1)) == rule


def test_the_trees_rank_only_the_kinds_they_are_given() -> None:
    """Trees given for dates leave a number question to the linear pick; each kind of pick is
    held to its own least confidence (a one-split tree scores every candidate it does not
    prefer alike: its confidence in the pick is about 1/2 when one candidate is preferred)."""
    n = len(candidates(QUESTION, "number", SENTENCE, RULES).spans)
    linear = only(rule_exact=1.0)
    rule = best_span(QUESTION, "number", SENTENCE, RULES, linear)
    trees = dataclasses.replace(
        linear, shortlist=n, trees=one_split("number:number_whole"), tree_kinds=("date",)
    )
    assert best_span(QUESTION, "number", SENTENCE, RULES, trees) == rule
    numbers = dataclasses.replace(trees, tree_kinds=("number",))
    assert best_span(QUESTION, "number", SENTENCE, RULES, numbers) != rule
    # the linear pick is sure of itself (rule_exact weighs 50); the trees' pick is not: held to
    # the trees' least confidence, the number question gets no span, the date question (linear) does
    sure_linear = dataclasses.replace(numbers, weights=only(rule_exact=50.0).weights, min_confidence=0.9)
    assert best_span(QUESTION, "number", SENTENCE, RULES, sure_linear) is not None
    assert (
        best_span(
            QUESTION, "number", SENTENCE, RULES, dataclasses.replace(sure_linear, tree_min_confidence=0.9)
        )
        is None
    )
    assert (
        best_span(
            QUESTION, "date", SENTENCE, RULES, dataclasses.replace(sure_linear, tree_min_confidence=0.9)
        )
        is not None
    )
    with pytest.raises(ValueError, match="tree_kinds"):
        best_span(QUESTION, "number", SENTENCE, RULES, dataclasses.replace(trees, tree_kinds=("numbers",)))


def test_trees_fitted_on_other_features_are_refused_with_the_fix() -> None:
    # trees fitted before they saw the linear score: one feature short
    stale = dataclasses.replace(only(), shortlist=4, trees=one_split("rule_exact", len(FEATURE_NAMES)))
    with pytest.raises(ValueError, match="fit_spans"):
        best_span(QUESTION, "other", SENTENCE, RULES, stale)


def test_the_trees_see_each_candidates_linear_score_against_the_best() -> None:
    """The trees' last input is the linear score less the shortlist's best (0 for the linear
    pick, negative for the others): trees that only trust it keep the linear pick, whichever
    candidate the linear score prefers."""
    n = len(candidates(QUESTION, "number", SENTENCE, RULES).spans)
    trust = TreeEnsemble.from_text(one_split_text(len(FEATURE_NAMES), len(TREE_FEATURE_NAMES), -0.5))
    for linear in (only(rule_exact=1.0), only(**{"number:number_whole": 1.0})):
        trees = dataclasses.replace(linear, shortlist=n, trees=trust, tree_kinds=("number",))
        assert best_span(QUESTION, "number", SENTENCE, RULES, trees) == best_span(
            QUESTION, "number", SENTENCE, RULES, linear
        )
    assert best_span(QUESTION, "number", SENTENCE, RULES, only(rule_exact=1.0)) != best_span(
        QUESTION, "number", SENTENCE, RULES, only(**{"number:number_whole": 1.0})
    )
    rows = tree_rows(np.zeros((3, 2), dtype=np.float32), np.array([2.0, 0.5, 1.0]))
    assert rows[:, -1].tolist() == [0.0, -1.5, -1.0]


def test_a_date_is_a_span_of_whole_words_even_where_jieba_joins_it_to_the_next() -> None:
    """jieba reads 日讯 (a dateline's 9月24日讯) as one word; the words are cut where the date
    ends, so the date alone is a candidate that cuts no word, and 讯 keeps its own tag."""
    sentence = "晚报9月24日讯，今天召开全会。"
    found = candidates("全会是哪天召开的？", "date", sentence, RULES)
    date = (sentence.index("9"), sentence.index("讯"))
    assert date in found.spans
    assert found.expanded()[found.spans.index(date), FEATURE_NAMES.index("cuts_word")] == 0.0
    words = [(0, 2, "n"), (2, 3, "m"), (3, 4, "m"), (4, 6, "m"), (6, 8, "nz")]  # 晚报 9 月 24 日讯
    assert dates_apart(words, [(2, 7)]) == [*words[:4], (6, 7, "t"), (7, 8, "nz")]
    assert dates_apart(words, []) == words


def test_offsets_point_into_the_text_as_published() -> None:
    sentence = to_traditional(SENTENCE)
    span = best_span(QUESTION, "other", sentence, RULES, only(rule_exact=1.0))
    assert span is not None and sentence[span[0] : span[1]] == to_traditional("城东轨道交通公司")


def test_a_model_fitted_on_other_features_is_refused_with_the_fix() -> None:
    stale = dataclasses.replace(SHIPPED, features=(*FEATURE_NAMES[:-1], "gone"))
    with pytest.raises(ValueError, match="fit_spans"):
        best_span(QUESTION, "other", SENTENCE, RULES, stale)


def test_no_sentence_no_span() -> None:
    assert best_span(QUESTION, "other", "", RULES, SHIPPED) is None
    assert best_span("", "other", SENTENCE, RULES, SHIPPED) is None


@pytest.mark.parametrize(
    ("question", "kind", "sentence", "expected"),
    [
        # a what-X question: the noun phrase headed by X (fitted weights, not a rule of their own)
        (
            "昨天开了什么会？",
            "other",
            "东江日报3月2日讯（记者 林青）昨天，东江市第五届委员会第三次全体会议召开。",
            "东江市第五届委员会第三次全体会议",
        ),
        # a number keeps its unit
        ("这座桥全长多少米？", "number", "这座桥全长1280米，宽32米，于去年通车。", "1280米"),
        ("谁主持了昨天的座谈会？", "person", "昨天下午，副校长王建国主持了座谈会并讲话。", "王建国"),
    ],
)
def test_the_shipped_model_on_plain_cases(question: str, kind: str, sentence: str, expected: str) -> None:
    span = best_span(question, kind, sentence, RULES, SHIPPED)
    assert span is not None and sentence[span[0] : span[1]] == expected


def test_the_model_answers_where_the_rules_find_no_frame() -> None:
    # 有什么爱好 has no anchor in 喜欢钓鱼: the rules give nothing, the fitted model the object
    # (followed by another clause, 每个周末都去水库, it now picks that clause: README, "Short answers")
    question, sentence = "李明有什么爱好？", "此外，他非常喜欢钓鱼。"
    assert short_answer(question, "other", sentence, RULES) is None
    span = best_span(question, "other", sentence, RULES, SHIPPED)
    assert span is not None and sentence[span[0] : span[1]] == "钓鱼"


def test_rules_stay_a_separate_proposal() -> None:
    # the rules' signature is unchanged: they still answer on their own
    assert isinstance(RULES, SpanRules)
    assert short_answer(QUESTION, "other", SENTENCE, RULES) is not None


@pytest.mark.parametrize(
    ("question", "sentence"),
    [
        (QUESTION, SENTENCE),
        (
            "《星河》是由哪两家公司联合出品的？",
            "《星河》是由北辰影业和南山传媒联合出品的一部科幻电影（2019年上映）。",
        ),
        (
            "青石镇的特产是什么？",
            "青石镇的特产（当地人称为“石饼”）是芝麻酥饼，每年吸引大量游客、商人和学者。",
        ),
    ],
)
def test_features_of_all_candidates_at_once_match_one_by_one(question: str, sentence: str) -> None:
    """The per-position tables against a plain computation for each candidate (brute-force oracle)."""
    from rag.normalize import fold_width, to_simplified
    from rag.postag import tagged
    from rag.span import CLAUSE

    found = candidates(question, "other", sentence, RULES)
    ss, qs = found.ss, fold_width(to_simplified(question))
    q_chars = {ch for ch in qs if "\u4e00" <= ch <= "\u9fff"} - set("什么哪谁几多少何时怎样如")
    bounds = {x for x, _, _ in tagged(ss)} | {y for _, y, _ in tagged(ss)}
    col = {n: FEATURE_NAMES.index(n) for n in FEATURE_NAMES}
    x = found.expanded()
    for row, (a, b) in zip(x, found.spans, strict=True):
        text = ss[a:b]
        cjk = [ch for ch in text if "\u4e00" <= ch <= "\u9fff"]
        share = sum(ch in q_chars for ch in cjk) / len(cjk) if cjk else 0.0
        assert row[col["q_char_share"]] == pytest.approx(share)
        assert row[col["starts_clause"]] == float(a == 0 or ss[a - 1] in CLAUSE)
        assert row[col["ends_clause"]] == float(b == len(ss) or ss[b] in CLAUSE)
        assert row[col["crosses_clause"]] == float(any(ch in CLAUSE for ch in text))
        assert row[col["cuts_word"]] == float(a not in bounds or b not in bounds)
        assert row[col["bracketed"]] == float(
            0 < a and b < len(ss) and (ss[a - 1], ss[b]) in {("《", "》"), ("“", "”")}
        )
        assert row[col["in_parens"]] == float(
            0 < a and b < len(ss) and (ss[a - 1], ss[b]) in {("（", "）"), ("(", ")")}
        )
        assert row[col["all:has_enum"]] == float(any(m in text for m in ("、", "和", "及", "与")))
        assert row[col["position"]] == pytest.approx(a / len(ss))
        assert row[col["all:len_log"]] == pytest.approx(np.log(b - a))
