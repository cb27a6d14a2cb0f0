"""rag.span_features: candidate spans and their features (sentences written for these tests)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from rag.answer import Policy
from rag.span import short_answer
from rag.span_features import FEATURE_NAMES, candidates
from rag.span_text import dates_apart

RULES = Policy.load().spans

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
    # a head noun of five characters or six (律师事务所) is the noun asked for too
    sentence = "河南某某律师事务所主任付某告诉记者，游客可要求检查。"
    found = candidates("律师付某担任哪家律师事务所的主任？", "other", sentence, RULES)
    row = found.expanded()[found.spans.index((0, sentence.index("主任")))]
    assert row[FEATURE_NAMES.index("other:has_head_noun")] == 1.0


def test_a_span_the_question_writes_whole_is_marked() -> None:
    """`q_whole`: the question writes the span whole (a name it quotes: what it asks about, not
    its answer); a span holding more than the question's words is not."""
    question = "当天接走“海燕”号货轮船员的是哪艘救援船？"
    sentence = "当天下午，救援船“远望9”号抵达现场，接走了“海燕”号货轮的全部船员。"
    found = candidates(question, "other", sentence, RULES)
    col = FEATURE_NAMES.index("q_whole")
    marked = {found.ss[a:b] for (a, b), x in zip(found.spans, found.expanded()[:, col], strict=True) if x}
    assert "海燕" in marked and all(m in question for m in marked)
    assert {found.ss[a:b] for a, b in found.spans} - marked >= {"远望9", "全部船员"}


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


def test_no_candidate_cuts_a_count_from_its_unit() -> None:
    """A span ending after a digit inside a number or date expression (the 21 of 21时, the 10
    of 10公里) is no candidate; a code before a comma (编号L2，) is whole."""
    from rag.span import DATE
    from rag.span_text import matches, whole_counts

    ss = "决定于2022年7月9日21时启动,震源深度10公里,编号L2,为"
    spans = [(3, 14), (3, 15), (22, 24), (22, 26), (29, 31)]  # …21, …21时, 10, 10公里, L2
    assert whole_counts(ss, spans, matches(DATE, ss)) == [(3, 15), (22, 26), (29, 31)]
    # and the pick that follows: the time with its unit
    question = "指挥部在几时启动防汛应急响应？"
    sentence = "为做好防汛工作，市防汛指挥部决定于2022年7月9日21时启动防汛Ⅳ级应急响应。"
    shipped = Policy.load()
    from rag.span_rank import best_span

    picked = best_span(question, "date", sentence, shipped.spans, shipped.span_model)
    assert picked is not None and sentence[picked[0] : picked[1]] == "2022年7月9日21时"
