"""rag.span_rank: the span model's pick among the candidates (sentences written for these tests)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from rag.answer import Policy
from rag.normalize import to_traditional
from rag.span import SpanRules, short_answer
from rag.span_features import FEATURE_NAMES, TREE_FEATURE_NAMES, candidates
from rag.span_rank import SpanModel, best_span, sure_span, tree_rows
from rag.trees import TreeEnsemble
from tests.rag.test_span_features import QUESTION, RULES, SENTENCE
from tests.rag.tree_helpers import one_split_text

SHIPPED = Policy.load().span_model


def only(min_confidence: float = 0.0, **weights: float) -> SpanModel:
    """A model that weighs the named features only."""
    return SpanModel(FEATURE_NAMES, tuple(weights.get(n, 0.0) for n in FEATURE_NAMES), min_confidence)


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


def test_a_number_question_is_answered_with_a_count() -> None:
    """A pick without a numeral (the unit 平方千米 of 3平方千米, the shipped model's pick among
    all) gives way to the best candidate that holds one; a magnitude alone (the 千 of 千米) is
    no numeral."""
    question, sentence = "古镇核心景区面积有多大？", "古镇历史悠久，核心景区面积3平方千米。"
    shipped = Policy.load()
    a, b = best_span(question, "number", sentence, shipped.spans, SHIPPED)
    assert sentence[a:b] == "3平方千米"
    # a model that prefers the unit: still the count
    unit = only(**{"rule_exact": -5.0})
    got = candidates(question, "number", sentence, RULES)
    assert [got.ss[x:y] for x, y in got.counted().spans] and all(
        any(c.isdigit() for c in got.ss[x:y]) for x, y in got.counted().spans
    )
    picked = best_span(question, "number", sentence, RULES, unit)
    assert picked is not None and any(c.isdigit() for c in sentence[picked[0] : picked[1]])


@pytest.mark.parametrize(
    ("question", "sentence", "expected"),
    [
        # a count in a measure news writes (级, 处): the count with it, not another number
        ("青山县的地震是几级？", "河北某市青山县发生4.7级地震，震源深度12公里。", "4.7级"),
        ("这次行动拆除了多少处广告牌？", "原标题：某路段拆除违规广告牌60余处执法人员正在拆除。", "60余处"),
        ("这棵老树今年结了多少颗果子？", "今年这棵老树结了300颗果子，比去年多了一倍。", "300颗"),
        # a currency beside the yuan and the dollar (卢比, 新台币): the amount with it
        ("这款手机在当地预计售价低于多少卢比？", "这款手机在当地的售价预计将低于30000卢比。", "30000卢比"),
    ],
)
def test_a_count_in_the_measure_asked_is_whole(question: str, sentence: str, expected: str) -> None:
    shipped = Policy.load()
    picked = best_span(question, "number", sentence, shipped.spans, SHIPPED)
    assert picked is not None and sentence[picked[0] : picked[1]] == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("巡查持续了两个小时。", "两个小时"),  # 个 before the unit
        ("搜救进行了三个多月。", "三个多月"),
        ("经过1小时零1分钟的飞行，飞机降落。", "1小时零1分钟"),  # a length of time in two units
        ("他用了2分30秒跑完。", "2分30秒"),
        ("两国谈判历时13年零8个月。", "13年零8个月"),
        ("当地气温达38摄氏度。", "38摄氏度"),
        ("中心气压975百帕。", "975百帕"),  # a magnitude (百) before the unit
        ("共拆除标牌70余处。", "70余处"),
        ("发生5.5级地震。", "5.5级"),
        ("今年已发生12起事故。", "12起"),
        ("高雄厂以 2 纳米的制程生产。", "2 纳米"),  # a space before the unit, as some sites write
        ("投资总金额预估超过 100 亿欧元。", "100 亿欧元"),
        ("调查结果要等4—6个月才能知道。", "4—6个月"),  # a range
        ("预计有5至8级大风。", "5至8级"),
        ("新款平板内置5000mAh电池，支持65W快充。", "5000mAh"),  # a Latin unit
        ("新款平板内置5000mAh电池，支持65W快充。", "65W"),
        ("新车最高时速120km/h。", "120km/h"),
        ("列车时速可达300公里每小时。", "300公里每小时"),  # a speed: a length a time
        ("今年这棵老树结了300颗果子。", "300颗"),  # classifiers of things counted one by one
        ("他一口气喝了7瓶啤酒。", "7瓶"),
        ("售价预计将低于 30000 卢比。", "30000 卢比"),  # currencies
        ("门票为每人500新台币。", "500新台币"),
        ("总共投入了40 亿美金。", "40 亿美金"),
        ("小麦期货最高报到730.75美分/蒲式耳。", "730.75美分/蒲式耳"),  # a rate, with its "per"
        ("原油期货报82.17美元/桶。", "82.17美元/桶"),
        ("村里新栽了200棵桂花树。", "200棵"),
        ("经检测，其血液中乙醇含量为104mg/100ml。", "104mg/100ml"),  # a concentration
        ("呼气检测结果为89毫克/100毫升。", "89毫克/100毫升"),
    ],
)
def test_number_expressions_hold_their_measure(text: str, expected: str) -> None:
    from rag.span import NUMBER

    assert expected in [m.group(0) for m in NUMBER.finditer(text)]


def test_a_latin_unit_is_a_whole_word_and_a_speed_counts_in_its_length() -> None:
    from rag.span import NUMBER, counts_in_units

    assert [m.group(0) for m in NUMBER.finditer("首批5G基站") if m.group(0)] == ["5"]  # G is no unit
    assert counts_in_units("列车时速可达300公里每小时。", ("公里",))
    assert not counts_in_units("列车时速可达300公里每小时。", ("小时",))  # no length of time
    assert counts_in_units("发行价为61.72元/股。", ("元",))  # a rate counts in its first unit


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("该厂预定 2024 年下半年建厂。", "2024 年下半年"),
        ("IT之家 8 月 16 日消息，新版本发布。", "8 月 16 日"),
        ("新系统将于2025年第一季度上线。", "2025年第一季度"),
        ("决定于2023年8月4日23时启动响应。", "2023年8月4日23时"),
    ],
)
def test_date_expressions_are_whole(text: str, expected: str) -> None:
    from rag.span import DATE

    assert expected in [m.group(0) for m in DATE.finditer(text)]


def test_an_english_questions_count_or_date_is_a_whole_expression_it_does_not_write() -> None:
    """An English question's words place no span in a Chinese sentence: its number (date) is a
    whole number (date) expression of the sentence, not one the question writes (2022)."""
    question = "What share of reserves did the dollar account for in Q4 2022?"
    sentence = "数据显示，2022年第四季度美元储备占所有外汇储备的54%。"
    got = candidates(question, "number", sentence, RULES).expressions(question)
    texts = [got.ss[a:b] for a, b in got.spans]
    assert "54%" in texts and not any("2022" in t for t in texts)
    assert all(got.ss[a:b] in ("54%", "四") for a, b in got.spans)  # 四 of 第四季度: a numeral
    picked = sure_span(question, "number", sentence, RULES, SHIPPED, expressions_only=True)
    assert picked is not None and sentence[slice(*picked[0])] == "54%"
    when = candidates("When did it open?", "date", "该馆于2021年5月18日开馆，共投资3亿元。", RULES)
    assert [when.ss[x:y] for x, y in when.expressions("When did it open?").spans] == ["2021年5月18日"]
    # a count is no day of the calendar: not the 8月 of 8月1日, nor 25日; a count of years is one
    many = "How many shops joined?"
    shops = candidates(many, "number", "8月1日，共有90多家商户在25日加入，历时3年。", RULES).expressions(many)
    assert {shops.ss[x:y] for x, y in shops.spans} <= {"90多家", "3年"} and shops.spans


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


@pytest.mark.parametrize(
    ("question", "sentence", "quoted"),
    [
        (
            "当天接走“海燕”号货轮船员的是哪艘救援船？",
            "当天下午，救援船“远望9”号抵达现场，接走了“海燕”号货轮的全部船员。",
            "海燕",
        ),
        (
            "在东海上空拦截“信天翁”侦察机的是哪一型战机？",
            "一架歼-11战斗机紧急起飞，在东海上空拦截了一架正在接近领空的“信天翁”侦察机。",
            "信天翁",
        ),
    ],
)
def test_a_name_the_question_quotes_is_not_its_short_answer(
    question: str, sentence: str, quoted: str
) -> None:
    """The shipped model weighs `q_whole` (fitted: on the dev sets a gold answer is written
    whole in its question for 0.5% and 1.1% of the questions): a quoted name of the question,
    the most likely pick before, is what it asks about, not its answer."""
    span = best_span(question, "other", sentence, RULES, SHIPPED)
    assert span is None or sentence[span[0] : span[1]] != quoted


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


def test_a_count_asked_in_a_measure_is_answered_in_it_where_a_candidate_is() -> None:
    """多少名运动员 asks a count in 名: 3000名, not the 48个 the model would pick; 多少人 is
    answered by a count of people in 名 too; without a measure the pick is the model's."""
    question = "运动会共有多少名运动员参赛？"
    sentence = "运动会共有48个国家和地区的3000名运动员参赛。"
    picked = sure_span(question, "number", sentence, RULES, SHIPPED, measure="名")
    assert picked is not None and sentence[slice(*picked[0])] == "3000名"
    people = sure_span(
        "现场观众有多少人？", "number", "现场来了3个代表团，共2000多名观众。", RULES, SHIPPED, measure="人"
    )
    assert people is not None and "2000多名".startswith(
        "现场来了3个代表团，共2000多名观众。"[slice(*people[0])]
    )
    found = candidates(question, "number", sentence, RULES)
    assert {found.ss[a:b] for a, b in found.measured("名").spans} == {"3000名"}
    assert found.measured("") is found
    # 多少钱 asks an amount of money: in a currency (元), not the count of things bought
    money = "王女士上周花86.5元网购了一件外套，并用信用卡付了款。"
    paid = sure_span("王女士网购外套花了多少钱？", "number", money, RULES, SHIPPED, measure="钱")
    assert paid is not None and money[slice(*paid[0])] == "86.5元"


def test_what_a_change_reached_is_the_count_after_it() -> None:
    """提高到了多少 asks what the reward reached: 10万元 after 增加至为, not the 3万元 it rose from
    (the model's pick); asked otherwise, the model's pick stands."""
    sentence = "两人的悬赏金额由此前的3万元增加至为10万元。"
    reached = sure_span("悬赏金额提高到了多少？", "number", sentence, RULES, SHIPPED)
    assert reached is not None and sentence[slice(*reached[0])] == "10万元"
    before = sure_span("悬赏金额此前是多少？", "number", sentence, RULES, SHIPPED)
    assert before is not None and sentence[slice(*before[0])].startswith("3万元")
    found = candidates("悬赏金额提高到了多少？", "number", sentence, RULES)
    assert {found.ss[a:b] for a, b in found.reached().spans} == {"10万元"}
    # a count with a unit the number pattern does not know stays whole (25公分, not 25)
    grown = "这种幼苗要长到15公分以上才能移栽。"
    length = sure_span("这种幼苗要长到多少公分以上才能移栽？", "number", grown, RULES, SHIPPED)
    assert length is not None and grown[slice(*length[0])] == "15公分"
    # the 至 of a range is no change: 降价至 18至28元, not the 68元 of 32元至68元
    prices = "大部分发型将从目前的32元至68元不等永久降价至18至28元。"
    lowered = sure_span("大部分发型的价格降至多少？", "number", prices, RULES, SHIPPED)
    assert lowered is not None and prices[slice(*lowered[0])] == "18至28元"


def test_who_holds_a_title_is_the_name_after_it_not_the_next_persons() -> None:
    """副司令员是谁: a pick running from the name after that title on into the next person's
    title and name (王建军和市政府秘书长孟庆松) is cut to the name; one joining only names, or
    asked 有哪些, stays."""
    sentence = "警备区副司令员王建军和市政府秘书长孟庆松参加活动。"
    found = candidates("参加活动的警备区副司令员是谁？", "person", sentence, RULES)
    whole = (sentence.index("王建军"), sentence.index("参加"))
    a, b = found.first_of_joined(whole, "警备区副司令员")
    assert sentence[a:b] == "王建军"
    assert found.first_of_joined(whole, "市长") == whole  # a title the sentence does not write there
    names = "警备区副司令员王建军和孟庆松参加活动。"
    both = candidates("参加活动的警备区副司令员是谁？", "person", names, RULES)
    span = (names.index("王建军"), names.index("参加"))
    assert both.first_of_joined(span, "警备区副司令员") == span  # two names, as written


def test_a_pick_that_holds_a_count_in_the_measure_stays() -> None:
    """An ordinal (第五届 asked 第几届) or a pick that holds the count among more (两天两夜, 3岁时)
    is already written in the measure: no other candidate replaces it."""
    found = candidates("他当选了第几届常委？", "number", "1998年他当选第五届县政协常委。", RULES)
    assert {found.ss[a:b] for a, b in found.measured("届").spans} >= {"第五届"}
    nights = candidates("大雨连下了几天几夜？", "number", "大雨连下了两天两夜。", RULES)
    span = next((a, b) for a, b in nights.spans if nights.ss[a:b] == "两天两夜")
    assert nights.counts_in(span, "天") and not nights.counts_in((0, 2), "天")


@pytest.mark.parametrize(
    ("sentence", "question", "name"),
    [
        ("俱乐部主教练彼得·科斯费尔德说，球队状态正在恢复。", "俱乐部主教练是谁？", "彼得·科斯费尔德"),
        ("乐团指挥安娜·科斯特尔曼表示，巡演将在下月开始。", "乐团指挥是谁？", "安娜·科斯特尔曼"),
    ],
)
def test_a_transliterated_name_is_answered_whole(sentence: str, question: str, name: str) -> None:
    """jieba cuts these names inside (科 a noun): the short answer was the last piece
    (斯费尔德), now the name across its middle dot."""
    picked = sure_span(question, "person", sentence, RULES, SHIPPED)
    assert picked is not None and sentence[slice(*picked[0])] == name


def test_a_count_in_ge_is_a_count_of_the_noun_asked() -> None:
    """多少个州 counts states: 6个州, not the 50个 of 50个目击者报告 that the question's words
    around it point at; the noun is the question's word after 个 (none where 个 begins a word)."""
    from rag.span_text import counted_noun

    assert counted_noun("美国有多少个州收到了报告？") == "州"
    assert counted_noun("这座车站有几个出入口？") == "出入口"
    assert counted_noun("有多少个人参加？") == ""  # 个人: no noun counted in 个
    question = "多少个州收到了流星的目击者报告？"
    sentence = (
        "已知的情况是有——包含了甲州、乙州在内的6个州，总计收到超过50个目击者报告，看来看到的人还是很多。"
    )
    picked = best_span(question, "number", sentence, Policy.load().spans, SHIPPED)
    assert picked is not None and sentence[picked[0] : picked[1]].startswith("6个")


def test_an_english_count_is_picked_in_the_units_it_asks() -> None:
    """An English question's units (rag.answer.english_asked.counted_in) work as a Chinese
    question's measure: the count of people, not the sentence's other count."""
    sentence = "医院组织了为期两天的急救培训，共50名护士参加。"
    args = ("How many nurses took part?", "number", sentence, RULES, SHIPPED)
    plain = sure_span(*args, expressions_only=True)
    people = sure_span(*args, expressions_only=True, measure=("人", "名", "位"))
    assert plain is not None and sentence[slice(*plain[0])] == "两天"  # what the model alone takes
    assert people is not None and sentence[slice(*people[0])] == "50名"


def test_a_question_asking_a_day_is_answered_with_a_date_that_names_one() -> None:
    """哪一天 asks a day: the whole 2021年11月23日, not its year, which the model preferred; 几日
    (often "how many days") asks no day."""
    question = "深交所于哪一天受理了该公司的上市申请？"
    sentence = "深交所于2021年11月23日依法受理了该公司首次公开发行股票并在创业板上市的申请文件，并依法依规进行了审核。"
    picked = best_span(question, "date", sentence, Policy.load().spans, SHIPPED)
    assert picked is not None and sentence[picked[0] : picked[1]] == "2021年11月23日"
    from rag.span import ASKS_DAY

    assert ASKS_DAY.search("会议在哪天召开？") and not ASKS_DAY.search("上映期间不得少于几日？")


def test_a_day_is_not_the_stamp_a_page_is_headed_with() -> None:
    """A news page's text may open with its publication stamp (a day and a clock time): 哪一天
    asks the day of what it tells, 7月26日, not the stamp's 2023年07月28日."""
    question = "市委书记在市里会见考察团一行是在哪一天？"
    sentence = (
        "来源：某某日报  |  2023年07月28日 11:01:23，正文：  本报讯（记者 甲乙）7月26日上午，"
        "市委书记在市里会见了考察团一行。"
    )
    picked = best_span(question, "date", sentence, Policy.load().spans, SHIPPED)
    assert picked is not None and sentence[picked[0] : picked[1]].startswith("7月26日")


def test_a_day_asked_is_answered_without_its_hour() -> None:
    """哪一天 asks the day: 7月28日, not the 7月28日20点 the model prefers."""
    question = "运动会在哪一天开幕？"
    sentence = "本报成都7月28日电 7月28日20点，运动会在体育公园开幕。"
    picked = best_span(question, "date", sentence, Policy.load().spans, SHIPPED)
    assert picked is not None and sentence[picked[0] : picked[1]] == "7月28日"


def test_a_day_of_the_calendar_is_no_count() -> None:
    """News opens with the day (8月17日，…): a number question's sentence that holds no other
    numeral has no count to answer with, so no span; a year is a count only where the question
    asks one (西元几年: the 1949 of 1949年12月7日); an amount in yen (日元) is one."""
    shipped = Policy.load()
    sentence = "8月17日，某汽车公司官方发布了新车的更多官方图片。"
    got = candidates("新车的轴距是多少？", "number", sentence, shipped.spans)
    assert got.spans and not got.counted().spans
    assert sure_span("新车的轴距是多少？", "number", sentence, shipped.spans, SHIPPED) is None
    year = candidates("政府于西元几年迁往该市？", "number", "政府于1949年12月7日迁往该市。", shipped.spans)
    assert "1949年" in [year.ss[a:b] for a, b in year.counted(asks_year=True).spans]
    assert "1949年" not in [year.ss[a:b] for a, b in year.counted().spans]  # 多少台 asks no year
    yen = candidates("新版最高卖到多少钱？", "number", "新版最高卖到14800日元。", shipped.spans)
    assert "14800日元" in [yen.ss[a:b] for a, b in yen.counted().spans]


def test_a_numeral_inside_a_proper_name_is_no_count() -> None:
    """一汽集团 and 四川 are names (jieba: nt, ns), not counts: a number question's sentence that
    holds no other numeral has no span; a count beside a name is one."""
    shipped = Policy.load()
    sentence = "一汽集团近日发布了新车的官方图片。"
    got = candidates("新车的轴距是多少？", "number", sentence, shipped.spans)
    assert got.spans and not got.counted().spans
    assert sure_span("新车的轴距是多少？", "number", sentence, shipped.spans, SHIPPED) is None
    picked = sure_span("四川有多少人？", "number", "四川有8000万人。", shipped.spans, SHIPPED)
    assert picked is not None and "四川有8000万人。"[picked[0][0] : picked[0][1]] == "8000万人"
    # an ordinal in a body's name (jieba: 第八届全国政协, nt) is a count still
    sentence = "他1993年当选为第八届全国政协常委。"
    picked = sure_span("他1993年当选了第几届全国政协常委？", "number", sentence, shipped.spans, SHIPPED)
    assert picked is not None and "八" in sentence[picked[0][0] : picked[0][1]]


def test_a_short_answer_that_opens_a_bracket_closes_it() -> None:
    sentence = "房山、门头沟等6个区调整为防汛黄色(三级)预警响应。"
    picked = sure_span("6个区的防汛预警响应调整为什么级别？", "other", sentence, RULES, SHIPPED)
    assert picked is not None
    text = sentence[slice(*picked[0])]
    assert text.count("(") == text.count(")"), text


def test_a_question_counting_days_is_answered_by_a_day_alone() -> None:
    """几天 counts days: 拘留10日 answers it (a day alone, no day of the month there), while
    the 8月3日 that opens the story stays a date."""
    sentence = "8月3日，警方依法对王某处以行政拘留10日的处罚。"
    picked = sure_span("王某被行政拘留几天？", "number", sentence, RULES, SHIPPED, measure="天")
    assert picked is not None and sentence[slice(*picked[0])] == "10日"


def test_who_holds_a_title_is_the_person_named_right_after_it() -> None:
    """…党组书记是谁: the name the sentence writes right after the title (李明远), not a word
    jieba also tags as a name elsewhere in the sentence (令人, nrt); a title's name that runs on
    (亚历山大六世) stays whole."""
    sentence = "在昨天召开的座谈会上，市委统战部副部长、市工商联党组书记李明远表示全市的发展情况令人欣喜。"
    question = "在昨天召开的座谈会上介绍全市情况的市委统战部副部长、市工商联党组书记是谁？"
    picked = sure_span(question, "person", sentence, RULES, SHIPPED)
    assert picked is not None and sentence[slice(*picked[0])] == "李明远"


def test_a_lone_zero_inside_a_word_is_no_count() -> None:
    """零售价 holds no count: a number question's sentence with no other numeral has no span,
    so the short answer comes from a sentence that counts (上调80元/吨)."""
    sentence = "本市将于明天启动汽油零售价的调整。"
    assert sure_span("下周汽油价格每吨上调多少？", "number", sentence, RULES, SHIPPED) is None
    counted = "预计汽油价格将上调80元/吨。"
    picked = sure_span("下周汽油价格每吨上调多少？", "number", counted, RULES, SHIPPED)
    assert picked is not None and counted[slice(*picked[0])] == "80元/吨"


def test_a_which_x_answer_is_carried_to_the_end_of_the_noun_x() -> None:
    """哪家律师事务所: a pick that stops inside the sentence's 律师事务所 runs to its end; a
    question whose words after the noun run on with a verb (哪家书店开幕) names no such noun."""
    from rag.span_rank import nominal_head, through_head

    question = "接受采访的律师王某担任哪家律师事务所的主任？"
    sentence = "王某是河北明远律师事务所的主任。"
    a = sentence.index("河北")
    assert sentence[a : through_head(question, sentence, a, sentence.index("事务所"))] == "河北明远律师事务所"
    assert nominal_head("展览在哪家书店拉开帷幕？") == ""
    assert nominal_head("他是哪个消防救援支队的队员？") == "消防救援支队"


def test_a_count_of_the_noun_asked_is_answered_without_the_noun() -> None:
    """多少个县: the question writes 县, the answer is the count (21个), not 21个县."""
    from rag.span_rank import before_counted_noun
    from rag.span_text import counted_noun

    noun = counted_noun("全省有多少个县遭受洪涝灾害？")
    sentence = "全省共有21个县遭受洪涝灾害。"
    a, b = sentence.index("21"), sentence.index("遭")
    assert sentence[a : before_counted_noun(noun, sentence, a, b)] == "21个"
    assert before_counted_noun(noun, "全省8县受灾。", 2, 4) == 4  # no 个: as it is
    picked = sure_span("全省有多少个县遭受洪涝灾害？", "number", sentence, RULES, SHIPPED)
    assert picked is not None and sentence[slice(*picked[0])] in ("21个", "21")
