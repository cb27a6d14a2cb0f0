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
    picked_span,
    recorded_sentence,
    sentence_spans,
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


def sentences(*rows: tuple[str, float, float]) -> list[Sentence]:
    """Candidate sentences of one article, one after the other: (text, score, rank) each."""
    out = []
    start = 0
    for text, score, rank in rows:
        s = recorded_sentence("a", 0, dict.fromkeys(RECORDED_FEATURES, 0.0), text, start)
        s.score, s.rank = score, rank
        out.append(s)
        start += len(text)
    return out


def answer() -> list[Sentence]:
    """The sentence a pronoun points at, then the best one (ranked and scored first)."""
    return sentences((BEFORE, 0.3, -1.0), (BEST, 0.9, 2.0))


def model(**weights: float) -> LinearModel:
    w = dict.fromkeys(SPAN_CHOICE_FEATURES, 0.0) | weights
    return LinearModel(SPAN_CHOICE_FEATURES, tuple(w[f] for f in SPAN_CHOICE_FEATURES), 0.0)


def chinese(asked: str, kind: str, terms: list[str], **fields: str) -> Query:
    """A Simplified question as analysed, with its `kind` and `terms` given."""
    return Query(asked, "zh-Hans", asked, asked, kind, terms=terms, **fields)  # type: ignore[arg-type]


def picked_favouring_best(q: Query, best: str, *others: str) -> tuple[int, str] | None:
    """`picked_span` over the cited sentences `best` (ranked and scored first) and `others`,
    with a span choice that all but always takes the best sentence's span: where another
    sentence's is picked, a rule chose it. The sentence's index and its span's text."""
    policy = dataclasses.replace(Policy.load(), span_choice=model(is_best=5.0))
    texts = (best, *others)
    got = picked_span(policy, q, sentences((best, 0.9, 2.0), *((t, 0.5, 1.0) for t in others)))
    return None if got is None else (got[0], texts[got[0]][slice(*got[1])])


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


AFTER = "萨伏依公国后来迁都到杜林，当时人口约两万。"


def three() -> list[Sentence]:
    """The sentence before the best one, the best, and one after it (the lowest scored)."""
    before, best = answer()
    s = recorded_sentence("a", 0, dict.fromkeys(RECORDED_FEATURES, 0.0), AFTER, best.end)
    s.score, s.rank = 0.2, -1.0
    return [before, best, s]


def test_the_bounded_pick_is_the_choice_among_all_sentences_spans() -> None:
    """`picked_span` (which skips sentences that cannot win) picks what `choose_span` picks
    among every sentence's span, for models weighing the confidence up, down or not at all."""
    import random

    shipped = Policy.load()
    q, sents = query(), three()
    rng = random.Random(7)
    models = [
        LinearModel(),
        shipped.span_choice,
        model(is_best=5.0),
        model(log_confidence=-2.0, after_best=1.0),
    ]
    models += [model(**{f: rng.uniform(-3, 3) for f in SPAN_CHOICE_FEATURES}) for _ in range(30)]
    for m in models:
        policy = dataclasses.replace(shipped, span_choice=m)
        found = sentence_spans(policy, q, sents)
        assert len(found) >= 2
        want = found[choose_span(m, q, sents, [(sents[i], sure) for i, _, sure in found])]
        assert picked_span(policy, q, sents) == want


def test_a_sentence_that_cannot_be_chosen_is_not_read_for_spans(monkeypatch: pytest.MonkeyPatch) -> None:
    """With a model that weighs being the best sentence far above all else, once the best
    sentence has a span no other sentence's candidates are built (the speed of `ask`)."""
    import rag.answer.span_choice as span_choice

    read: list[str] = []
    real = span_choice.sentence_spans

    def counted(
        policy: Policy, q: Query, sents: list[Sentence], *, units: tuple[str, ...] | None = None
    ) -> list[tuple[int, tuple[int, int], float]]:
        read.extend(s.text for s in sents)
        return real(policy, q, sents, units=units)

    monkeypatch.setattr(span_choice, "sentence_spans", counted)
    policy = dataclasses.replace(Policy.load(), span_choice=model(is_best=50.0))
    got = picked_span(policy, query(), three())
    assert got is not None and got[0] == 1
    assert read == [BEST]
    read.clear()
    picked_span(dataclasses.replace(policy, span_choice=model(log_confidence=1.0)), query(), three())
    assert len(read) == 3  # a model the confidence decides: every sentence read


def test_an_english_count_comes_from_a_sentence_that_counts_what_is_asked() -> None:
    """ "How many nurses …?" asks a count of people: the cited sentence whose span is one (50名)
    gives the short answer, not the best one's count of days (两天), which the span choice
    would take; without such a sentence, the choice stands."""
    from rag.answer.english_asked import asked_noun_in_chinese
    from rag.answer.english_question import asked_in_chinese

    question = "How many nurses took part in the training?"
    terms = ["护士|护理", "培训|训练"]
    asks = asked_in_chinese(question, "number", terms, asked_noun_in_chinese(question))
    q = Query(question, "en", question, question, "number", terms=terms, asks=asks)
    days = "医院于7月27日起开展为期两天的急救培训。"
    people = "共有50名护士参加了本次培训。"
    sents = sentences((days, 0.9, 2.0), (people, 0.5, 1.0))
    shipped = Policy.load()
    picked = picked_span(dataclasses.replace(shipped, span_choice=model(is_best=5.0)), q, sents)
    assert picked is not None and picked[0] == 1 and people[slice(*picked[1])] == "50名"
    alone = picked_span(dataclasses.replace(shipped, span_choice=model(is_best=5.0)), q, sents[:1])
    assert alone is not None and alone[0] == 0


def test_a_length_of_time_is_answered_with_one_not_with_a_time_of_day() -> None:
    """多长时间 asks a length of time: the whole 1小时零1分钟, not the 37分 of the day's 16时37分
    nor the 1分钟 inside it; among the cited sentences, the one whose span is a length of time
    (两个小时), not a day of the month (6日)."""
    question = "这次试飞持续了多长时间？"
    q = Query(question, "zh-Hans", question, question, "number", terms=["试飞", "持续"])
    flight = "7月26日16时37分，经过1小时零1分钟的飞行，飞机成功完成首次试飞。"
    picked = picked_span(Policy.load(), q, sentences((flight, 0.9, 2.0)))
    assert picked is not None and flight[slice(*picked[1])] == "1小时零1分钟"

    search = "警方随即对机场进行了两个小时的搜查。"
    asked = "警方搜查了多长时间？"
    q2 = Query(asked, "zh-Hans", asked, asked, "number", terms=["警方", "搜查"])
    day = "据报道，警方6日再次接到报警。"
    sents = sentences((day, 0.9, 2.0), (search, 0.5, 1.0))
    got = picked_span(dataclasses.replace(Policy.load(), span_choice=model(is_best=5.0)), q2, sents)
    assert got is not None and got[0] == 1 and search[slice(*got[1])] == "两个小时"


def test_a_range_of_lengths_is_answered_whole() -> None:
    """多久 answered from a range (3—5个月): the whole range, not its second number."""
    asked = "法医的调查结果要多久才能知道？"
    q = Query(asked, "zh-Hans", asked, asked, "number", terms=["法医", "调查", "结果"])
    text = "家属则回应，现在法医的调查结果要等3—5个月才能知道。"
    picked = picked_span(Policy.load(), q, sentences((text, 0.9, 2.0)))
    assert picked is not None and text[slice(*picked[1])] == "3—5个月"


def test_a_date_comes_from_a_cited_sentence_whose_span_reads_as_a_time() -> None:
    """哪天 asked, the best sentence names no day: its span (the line's name) gives way to
    the cited sentence whose span is a date (8月2日); where no cited sentence's span reads as
    a time, the choice stands; a time without a numeral (春节时期) is one."""
    q = chinese("县里的公交线路开通仪式是在哪天举行的？", "date", ["公交", "线路", "开通", "仪式", "举行"])
    line = "日前，县里正式开通“东关—西桥”公交线路。"
    day = "8月2日，县里举行了公交线路开通仪式。"
    assert picked_favouring_best(q, line, day) == (1, "8月2日")
    alone = picked_favouring_best(q, line)
    assert alone is not None and alone[0] == 0 and "8月" not in alone[1]

    from rag.span import reads_as_time

    assert reads_as_time("春节时期") and reads_as_time("清末民初") and reads_as_time("出征陈友谅时")
    assert not reads_as_time("双方") and not reads_as_time("盛京、吉林、黑龙江")


def test_an_english_questions_noun_is_read_in_the_sentences_own_word(monkeypatch: pytest.MonkeyPatch) -> None:
    """ "Which court": CC-CEDICT's commonest sense is 朝廷; a sentence that writes 法院 is read
    with 什么法院, and its span is the court, not the sentence's other noun phrase."""
    from rag.answer import analyse, span_choice

    policy = Policy.load()
    q = analyse("Which court heard the case of the poisoned trees?", policy=policy)
    sents = sentences(("此案由某市中级人民法院审理，被告人当庭认罪。", 0.9, 2.0))
    ((_, span, _),) = sentence_spans(policy, q, sents)
    assert "法院" in sents[0].text[slice(*span)]
    # read with the commonest sense alone, the span is another
    monkeypatch.setattr(span_choice, "asked_nouns_in_chinese", lambda question: ())
    ((_, span, _),) = sentence_spans(policy, q, sents)
    assert "法院" not in sents[0].text[slice(*span)]


def test_a_chinese_count_comes_from_a_sentence_that_counts_in_the_measure_asked() -> None:
    """多少张 asks a count in 张: the cited sentence whose span counts in it (1.5万余张) gives the
    short answer, not the best sentence's 一款 of another thing; with no such sentence the
    choice stands."""
    q = chinese("嫌疑人累计张贴了多少张小广告？", "number", ["嫌疑人", "累计", "张贴", "广告"], measure="张")
    best = "一男子半夜扫了小广告上面的二维码，下载了一款软件。"
    counted = "案发时，嫌疑人累计张贴小广告1.5万余张，非法获利6000余元。"
    assert picked_favouring_best(q, best, counted) == (1, "1.5万余张")
    alone = picked_favouring_best(q, best)
    assert alone is not None and alone[0] == 0


def test_a_count_the_question_writes_is_not_its_answer() -> None:
    """开出15.8亿头奖的那一期…号码是多少 gives 15.8亿: a span whose numbers the question writes
    (15.8亿元) gives way to another cited sentence's (14); so does an English question's
    6,500 (6500人) to the count it asks."""
    q = chinese("开出15.8亿头奖的那一期，超级球号码是多少？", "number", ["头奖", "超级球", "号码"])
    prize = "头奖奖金高达15.8亿元的彩票周二晚开奖。"
    number = "当晚开出的中奖号码中，超级球号码为14。"
    assert picked_favouring_best(q, prize, number) == (1, "14")

    from rag.answer.span_choice import question_numbers

    assert question_numbers("guides past 6,500 in 2023") == {"6500", "2023"}
    assert question_numbers("１５.８亿和3.5%") == {"15.8", "3.5"}


def test_an_english_how_many_of_no_time_is_not_answered_with_a_length_of_time() -> None:
    """ "How many came with a kit?" names no time: the best sentence's 3天 gives way to the
    cited sentence's count; asking "how many days", the length of time stays."""
    from rag.answer import analyse

    days = "学院将于8月16日至18日举办为期3天的暑期研学班。"
    kits = "课程中有7堂配备手工材料包。"
    got = picked_favouring_best(
        analyse("Of the lessons of the summer class, how many came with a material kit?"), days, kits
    )
    assert got is not None and got[0] == 1 and "7" in got[1]
    lasted = picked_favouring_best(analyse("How many days did the summer class last?"), days, kits)
    assert lasted is not None and lasted[0] == 0


def test_an_english_how_many_of_no_age_is_not_answered_with_an_age() -> None:
    """ "In how many events did they compete" names no age: the best sentence's 19岁 gives way
    to the cited sentence's count; asking "how old", the age stays."""
    from rag.answer import analyse

    age = "对19岁的智利游泳运动员卡拉来说，能和哥哥同池竞技让她十分激动。"
    events = "这对智利兄妹一共参加了六项游泳赛事。"
    got = picked_favouring_best(
        analyse("In how many swimming events did the Chilean siblings compete in total?"), age, events
    )
    assert got is not None and got[0] == 1 and got[1] == "六项"
    old = picked_favouring_best(analyse("How old is the Chilean swimmer Carla?"), age, events)
    assert old is not None and old[0] == 0


def test_a_name_asked_comes_from_a_sentence_that_gives_it_after_jiao() -> None:
    """笔名叫什么 asks a name: the cited sentence whose span follows 叫 (她说自己的笔名叫“黄金狗”)
    gives the short answer, not the best sentence's; a name the question writes itself is none."""
    q = chinese("这本书作者的笔名叫什么？", "other", ["作者", "笔名"])
    best = "在书展现场，你会看到一个穿着充气鹦鹉服装的玩偶，手里拿着这本书。"
    named = "她说自己的笔名叫“黄金狗”。"
    got = picked_favouring_best(q, best, named)
    assert got is not None and got[0] == 1 and "黄金狗" in got[1]
    alone = picked_favouring_best(q, best)
    assert alone is not None and alone[0] == 0
    # what the question names itself is no name of it: 正殿在当地被称为什么 is not 正殿
    q2 = chinese("正殿在当地被称为什么？", "other", ["正殿", "当地"])
    hall = "寺院的主殿通常被称为正殿。"
    local = "正殿在当地被称为本堂、金殿。"
    assert picked_favouring_best(q2, hall, local) == (1, "本堂、金殿")
