"""rag.span: short answers inside a given sentence (questions and sentences written for these tests)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from rag.normalize import to_simplified, to_traditional
from rag.span import SpanRules, short_answer

RULES = SpanRules(
    max_chars=40,
    max_list_chars=80,
    min_anchor=2,
    left_skip=12,
    right_skip=4,
    min_name_chars=2,
    max_item_chars=12,
    min_items=2,
    candidate_words=12,
    candidate_clauses=3,
    anchor_chars=8,
)


def answer(question: str, kind: str, sentence: str, rules: SpanRules = RULES) -> str | None:
    span = short_answer(question, kind, sentence, rules)
    if span is None:
        return None
    start, end = span
    assert 0 <= start < end <= len(sentence)
    return sentence[start:end]


@pytest.mark.parametrize(
    ("question", "kind", "sentence", "expected"),
    [
        # both anchors: the text between 是由 and 联合出品
        (
            "《星河》是由哪两家公司联合出品的？",
            "list",
            "《星河》是由北辰影业和南山传媒联合出品的一部科幻电影。",
            "北辰影业和南山传媒",
        ),
        # the question's type noun (公司) belongs to the answer
        (
            "这条地铁线由哪家公司负责运营？",
            "other",
            "这条地铁线由城东轨道交通公司负责运营，全长约二十公里。",
            "城东轨道交通公司",
        ),
        # left anchor only: to the next clause mark, past a bracket and the copula
        (
            "青石镇的特产是什么？",
            "other",
            "青石镇的特产（当地人称为“石饼”）是芝麻酥饼，每年吸引大量游客。",
            "芝麻酥饼",
        ),
        # right anchor only: from the clause start
        ("谁主持了昨天的座谈会？", "person", "昨天下午，副校长王建国主持了座谈会并讲话。", "王建国"),
        # a number keeps its unit, found next to the anchor
        ("这座大桥全长多少米？", "number", "这座大桥于去年通车，全长1250米，是当地最长的桥梁。", "1250米"),
        ("这个村子有多少户人家？", "number", "这个村子共有三百多户人家，大多以种茶为生。", "三百多户"),
        # 哪一年 asks for the year only
        ("这家工厂是哪一年建成的？", "date", "这家工厂建成于1987年5月，当时只有三条生产线。", "1987年"),
        ("展览从什么时候开始？", "date", "展览将于2024年3月8日开始，为期一个月。", "2024年3月8日"),
        # place: the clause after 位于
        ("新校区在哪里？", "place", "学校的新校区位于城南开发区，占地八百亩。", "城南开发区"),
        # list: the enumeration without its count
        ("会议讨论了哪些议题？", "list", "会议讨论了教育、医疗和住房三项议题。", "教育、医疗和住房"),
        # reason: the clause after 因为, up to 而
        ("他为什么辞去了教练职务？", "other", "他因为身体原因而辞去了教练职务，转任球队顾问。", "身体原因"),
    ],
)
def test_short_answers(question: str, kind: str, sentence: str, expected: str) -> None:
    assert answer(question, kind, sentence) == expected


def test_traditional_sentence_offsets_into_the_original() -> None:
    sentence = "這座圖書館位於臺北市大安區，藏書超過一百萬冊。"
    assert answer("這座圖書館位於哪裡？", "place", sentence) == "臺北市大安區"
    # the number keeps its unit and a 超过 (more than) before it
    assert answer("這座圖書館藏書有多少冊？", "number", sentence) == "超過一百萬冊"


def test_simplified_question_over_traditional_sentence_and_back() -> None:
    simplified = "公园的设计者是来自杭州的园林师赵青山，他花了三年完成设计。"
    traditional = to_traditional(simplified)
    got_s = answer("公园花了多少年完成设计？", "number", simplified)
    got_t = answer("公园花了多少年完成设计？", "number", traditional)
    assert got_s == "三年"
    assert got_t is not None and to_simplified(got_t) == got_s


def test_too_long_or_nothing_gives_none() -> None:
    sentence = "该项目的目标是在十年内建成覆盖全省所有县市的高速铁路网络，同时改造旧站。"
    question = "该项目的目标是什么？"
    assert answer(question, "other", sentence) is not None
    short = SpanRules(**{**{f: getattr(RULES, f) for f in RULES.__slots__}, "max_chars": 10})
    assert answer(question, "other", sentence, short) is None
    # no anchor and no wh-word alignment: 'other' never guesses
    assert answer("火星上有水吗", "other", "今天天气晴朗，适合出游。") is None
    # the kind's expression is absent: no number to give
    assert answer("球队有多少名队员？", "number", "球队正在积极备战第一场比赛。") is None
    assert answer("", "other", "一句话。") is None
    assert answer("什么？", "other", "") is None


def test_english_question_uses_type_rules_only() -> None:
    sentence = "该厂目前共有职工3200人，年产值约五亿元。"
    assert answer("How many workers does the factory employ?", "number", sentence) == "3200人"
    assert answer("What does the factory make?", "other", sentence) is None


def test_a_word_the_dictionary_knows_only_as_a_common_word_is_no_persons_name() -> None:
    # jieba tags 毛巾 and 安静 as person names; CC-CEDICT knows them only as common words
    assert answer("谁在现场讲话？", "person", "现场很安静，王建国正在讲话。") == "王建国"


def test_type_answer_not_already_in_the_question() -> None:
    # the person named in the question is not the answer
    got = answer("张伟的导师是谁？", "person", "张伟的导师是物理学家陈志华教授。")
    assert got is not None and "张伟" not in got and "陈志华" in got


def test_no_behaviour_numbers_typed_in_the_module() -> None:
    """Every threshold comes from SpanRules: only 0 and 1 (indexing, steps) are typed."""
    source = Path(__file__).resolve().parents[2] / "rag" / "span.py"
    tree = ast.parse(source.read_text(encoding="utf-8"))
    cache_sizes = {
        id(kw.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        for kw in node.keywords
        if kw.arg == "maxsize"
    }
    literals = [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, int | float)
        and not isinstance(node.value, bool)
        and id(node) not in cache_sizes
    ]
    assert set(literals) <= {0, 1}, literals


def test_a_when_question_takes_the_date_over_an_aligned_clause_without_one() -> None:
    """何时 over a sentence where the question's words frame a clause with no date in it: the
    sentence's date answers, not the clause."""
    sentence = "自1850年起，这种文字被定为官方文字，沿用至今。"
    assert answer("这种文字在何时成为官方文字？", "date", sentence) == "1850年"
    # with no date in the sentence the aligned clause still answers
    assert answer("大桥在什么时候开始收费？", "date", "大桥在车流量超过设计能力之后开始收费。") is not None


def test_a_preposition_before_the_question_word_heads_the_answer() -> None:
    sentence = "这座大桥于2001年由甲路桥集团承建，全长两千米。"
    assert answer("这座大桥由哪家企业承建？", "other", sentence) == "甲路桥集团"


@pytest.mark.parametrize(
    ("question", "sentence", "expected"),
    [
        # the aligned span (after 3月5日) lacks the noun asked for: the phrase it heads wins
        (
            "3月5日开了什么会？",
            "新华社北京3月5日电 今天，第十四届全国人民代表大会第一次会议在北京开幕。",
            "第十四届全国人民代表大会第一次会议",
        ),
        (
            "5月8日召开了什么大会？",
            "本报5月8日讯 昨天，全市科技创新大会召开。",
            "全市科技创新大会",
        ),
    ],
)
def test_what_x_questions_answer_with_the_noun_phrase_x_heads(question, sentence, expected) -> None:
    span = short_answer(question, "other", sentence, RULES)
    assert span is not None and sentence[span[0] : span[1]] == expected


def test_a_span_of_grammar_words_only_is_no_short_answer() -> None:
    question, sentence = "全国最大的港口中哪一个在本省？", "本省的港口是全国最大的港口之一。"
    assert short_answer(question, "other", sentence, RULES) is None  # not "之一"


def test_a_span_never_ends_inside_a_word() -> None:
    # a rule cut the span inside the word 理事 (after 不是协会): it is widened to the whole word
    sentence = (
        "不是协会理事、协会候补理事的省体育局、省教育厅、省文化厅党员领导班子成员，各市体育局主要"
        "负责同志，各有关部门、单位、企业主要负责同志，各县（市）、省级以上园区主要负责同志，协会监事，"
        "会员代表中的部分基层一线代表列席会议。"
    )
    span = short_answer("谁没有当选理事但列席了会议？", "list", sentence, RULES)
    assert span is not None and sentence[span[0] : span[1]].endswith("理事")


@pytest.mark.parametrize(
    ("question", "sentence", "expected"),
    [
        (
            "市政府哪天召开了常务会议？",
            "15日上午，市政府召开常务会议，研究防汛工作。",
            "15日",
        ),  # the day alone
        ("大会是哪天开幕的？", "本报3月5日讯 大会今天在市会展中心开幕。", "3月5日"),  # not 3月5日讯
    ],
)
def test_news_dates_keep_their_own_bounds(question, sentence, expected) -> None:
    span = short_answer(question, "date", sentence, RULES)
    assert span is not None and sentence[span[0] : span[1]] == expected


def test_a_short_answer_that_is_a_whole_title_keeps_its_title_marks() -> None:
    from rag.span_text import with_title_marks

    text = "这部小说名为《山城旧事》，去年出版。"
    a = text.index("山城")
    assert with_title_marks(text, a, a + len("山城旧事")) == (a - 1, a + len("山城旧事") + 1)
    assert with_title_marks(text, a, a + len("山城")) == (a, a + len("山城"))  # part of a title
    quoted = "他说「不用宣传」。"
    b = quoted.index("不用")
    assert with_title_marks(quoted, b, b + 4) == (b, b + 4)  # 「」 stay out, as the gold has them
