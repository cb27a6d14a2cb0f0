"""English question words to Chinese through CC-CEDICT (rag.english)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import pytest

from rag import Article, ask
from rag.answer import analyse
from rag.answer.english_question import ALTERNATIVES
from rag.english import pinyin_spellings, romanized_names, translations
from rag.normalize import to_simplified


def flat(question: str) -> list[str]:
    return [zh for group in translations(question, 2) for zh in group]


def test_phrases_are_looked_up_before_their_words() -> None:
    assert ["连续"] == [w for w in flat("How many days in a row did it rain?") if w == "连续"]
    assert "全会" in flat("Who spoke at the plenary session?")
    assert "党委" in flat("the party committee met")
    assert "一排" not in flat("How many days in a row did it rain?")  # "row" alone is not used


def test_a_phrase_is_found_with_its_verb_in_any_form_and_never_from_an_article() -> None:
    """CC-CEDICT writes a phrase's verb plain ("take part": 参加); the question may not."""
    for question in ("Who took part in the race?", "Who is taking part?", "How many people take part?"):
        assert "参加" in flat(question)
        assert "部分" not in flat(question)  # not "part" alone
    assert "公司" in flat("Who set up a company?")  # "a company" is no phrase (侪)
    assert "侪" not in flat("Who set up a company?")


def test_function_words_give_nothing_and_names_are_looked_up() -> None:
    assert translations("What is the of and", 2) == []
    assert "长沙" in flat("What is the population of Changsha?")
    assert "人口" in flat("What is the population of Changsha?")


def test_an_english_word_is_one_coverage_term_with_its_translations_as_alternatives() -> None:
    info = analyse("What is the population of Changsha?")
    assert info.script == "en"
    assert any("人口" in t.split("|") for t in info.terms)
    assert len(info.terms) == 2  # population, Changsha: not one term per translation


def test_english_questions_answered_and_refused(fake_index) -> None:
    a = ask(fake_index, "Who attended the 13th 8th plenary session of the Changsha party committee?")
    assert a.answered and "朱健" in a.answer
    assert not ask(fake_index, "What is the population of Changsha?").answered


def test_english_words_outside_any_fixed_list_find_their_article(fake_index) -> None:
    # no cue list names "manufacturing": the dictionary maps it (制造), and it is answered
    a = ask(fake_index, "What did Hu Henghua say about manufacturing?")
    assert a.answered and "制造业" in to_simplified(a.answer)


def test_a_romanized_name_is_spelled_in_chinese_either_order() -> None:
    for question in ("What did Hu Henghua say?", "What did Henghua Hu say?"):
        (spellings,) = romanized_names(question)
        assert "胡衡华" in spellings
    assert romanized_names("Did Michael Jordan play in Changsha?") == []  # not pinyin
    assert romanized_names("What did Hu say?") == []  # a surname alone is no name
    # a possessive closes the name: "Henghua's" is the given name
    (spellings,) = romanized_names("Where was Hu Henghua's speech given in Changsha?")
    assert "胡衡华" in spellings
    assert romanized_names("Where is Hu's Changsha office?") == []


def test_only_the_spellings_the_index_knows_become_a_term() -> None:
    question = "What did Hu Henghua say about manufacturing?"
    assert not any("胡衡华" in t for t in analyse(question).terms)
    q = analyse(question, known=lambda words: [w == "胡衡华" for w in words])
    assert "胡衡华" in q.terms and "胡衡华" in q.search_text


def test_an_english_question_about_a_person_cites_the_article_about_him(fake_index) -> None:
    # the plenary report also speaks of manufacturing; the interview is the one with Hu Henghua
    a = ask(fake_index, "What did Hu Henghua say about manufacturing?")
    assert a.citations and all("胡衡华" in to_simplified(c.quote) for c in a.citations)


def test_a_name_the_dictionary_has_and_its_romanization_is_one_term() -> None:
    # "Xi Jinping" is a CC-CEDICT headword and reads as a romanized name: one term, weighed once
    q = analyse("Which companies did Xi Jinping visit?", known=lambda words: [w == "习近平" for w in words])
    assert [t for t in q.terms if "习近平" in t.split("|")] == ["习近平"]


def test_an_english_phrase_pointing_at_the_context_weighs_light() -> None:
    # "this time" is 此次: like the Chinese pointer word, it says which event, not what happened
    q = analyse("Which companies did they visit this time?")
    (term,) = [t for t in q.terms if "此次" in t.split("|")]
    assert term in q.light
    assert not any("公司" in t.split("|") for t in q.light)


def test_a_capitalised_word_the_dictionary_has_as_a_name_gives_that_name_only() -> None:
    # CC-CEDICT's county entries end "..., Shaanxi": a plain lookup of the word finds them
    (group,) = [g for g in translations("What happened in Shaanxi?", 2) if "陕西" in g]
    assert "武功" not in group


def test_names_the_dictionary_cannot_render_are_reported() -> None:
    left: list[str] = []
    translations("How many goals did Messi score for Paris Saint-Germain?", 2, left)
    assert left == ["Messi", "Paris Saint-Germain"]
    left.clear()
    translations("What happened in Changsha?", 2, left)
    assert left == []


def test_a_code_of_letters_and_digits_is_no_name_the_answer_must_hold() -> None:
    # Q4 was read as the name "Q" (the letters before its digits), required in the answer
    left: list[str] = []
    translations("What did the company earn in Q4 2022?", 2, left)
    assert left == []
    q = analyse("What did Fenghua Motors earn in Q4 2022?", known=lambda words: [False] * len(words))
    assert not any(n.startswith("q") for n in q.names)


def test_a_name_without_a_chinese_spelling_stays_a_term_the_answer_must_name() -> None:
    q = analyse("What did Wang Jianhua say about manufacturing?", known=lambda words: [False] * len(words))
    assert "wang jianhua" in q.terms and q.names == {"wang jianhua"}
    q = analyse(
        "What did Hu Henghua say about manufacturing?", known=lambda words: [w == "胡衡华" for w in words]
    )
    assert q.names == {"胡衡华"}


def answered_from_the_first(index_of, question: str, about: tuple[str, str], other: tuple[str, str]) -> bool:
    """`question` over an index of two articles (title, text) is answered, citing only the first."""
    index = index_of(
        Article(id="about", title=about[0], text=about[1]), Article(id="other", title=other[0], text=other[1])
    )
    a = ask(index, question)
    return a.answered and all(c.article_id == "about" for c in a.citations)


_SPORTS = ("体育新闻", "本周，足球队在主场迎战客队，比赛十分激烈。")


def refused_over(index_of, question: str, article: tuple[str, str]) -> bool:
    """`question` over an index of the one article (title, text) is refused ("not found")."""
    return not ask(index_of(Article(id="other", title=article[0], text=article[1])), question).answered


def test_one_word_that_reads_as_pinyin_is_spelled_as_the_index_knows_it(use_index_of) -> None:
    """A place the dictionary lacks ("Qinglan"): its pinyin spellings the index holds are the
    term's alternatives, so the article about 青岚 answers; no spelling of it held, it stays a
    Latin term that no article covers."""
    assert "青岚" in pinyin_spellings("Qinglan") and "清蓝" in pinyin_spellings("Qinglan")
    assert pinyin_spellings("Messi") == []  # no pinyin
    # three syllables of many readings each (bai-yun-shan: 30,135 spellings) are still tried
    assert "白云山" in pinyin_spellings("Baiyunshan")
    q = analyse("How many people live in Qinglan?", known=lambda words: [w == "青岚" for w in words])
    assert "青岚" in q.terms and "青岚" in q.names
    q = analyse("How many people live in Qinglan?", known=lambda words: [False] * len(words))
    assert "qinglan" in q.terms
    assert answered_from_the_first(
        use_index_of,
        "How many people live in Qinglan?",
        ("青岚镇概况", "青岚镇位于山区，常住人口约三万人。"),
        ("白石镇概况", "白石镇位于平原，常住人口约五万人。"),
    )


def test_a_name_of_a_pinyin_word_and_a_common_word_is_read_word_by_word(index_of) -> None:
    """ "Qinglan Port": 青岚 as the index spells it (a name the answer's passage must hold) and
    the dictionary's senses of "port"; a name of pinyin words alone ("Wang Jianhua") is a
    person's, spelled whole or kept whole."""
    q = analyse("How many berths has Qinglan Port built?", known=lambda words: [w == "青岚" for w in words])
    assert "青岚" in q.terms and q.names == {"青岚"}
    assert any("港口" in t.split("|") for t in q.terms)
    q = analyse("What did Wang Jianhua say?", known=lambda words: [w in ("王", "建华") for w in words])
    # not 王 and 建华 as two words: the whole name, jieba's cut (王|建华) being no word of the index
    (name,) = q.names
    spelled = [w for w in name.split("|") if not w.isascii()]
    assert "王建华" in spelled and all(len(w) == 3 for w in spelled)
    assert "wang jianhua" in name.split("|")  # a guess: found by its sound too
    q = analyse("What did Wang Jianhua say?", known=lambda words: [w == "王" for w in words])
    assert "wang jianhua" in q.terms  # no spelling the index knows: kept whole, in Latin letters
    assert answered_from_the_first(
        index_of,
        "How many berths has Qinglan Port built?",
        ("青岚港口建设", "目前，青岚港口已建成生产性泊位12个。"),
        ("白石港口建设", "目前，白石港口已建成生产性泊位30个。"),
    )


def test_a_name_of_common_words_is_read_as_those_words_even_where_one_reads_as_pinyin() -> None:
    """ "Senate" also reads as pinyin (se-na-te: 塞纳特, which some article may hold), but in
    "Senate Majority Leader" it is the dictionary's word: an office, no name the answer must
    hold spelled as nobody writes it."""
    assert "塞纳特" in pinyin_spellings("Senate")
    q = analyse(
        "Which Senate Majority Leader backs the bill?", known=lambda words: [w == "塞纳特" for w in words]
    )
    assert not any("塞纳特" in t.split("|") for t in q.terms)
    assert any("参议院" in t.split("|") for t in q.terms)
    assert q.names == set()


def test_a_foreign_name_is_named_by_a_passage_that_spells_it_by_sound(index_of) -> None:
    """ "Vivek Ramaswamy" has no Chinese spelling the dictionary knows and is no pinyin: a
    passage names him when it writes him by sound (拉马斯瓦米); one that does not is about
    someone else, and the question is refused. A romanized Chinese name is spelled as the
    index holds it instead, never by sound (王建华 is not 王剑华)."""
    q = analyse("Where did Vivek Ramaswamy campaign?", known=lambda words: [False] * len(words))
    assert q.foreign == {"vivek ramaswamy"} and "vivek ramaswamy" in q.names
    assert analyse("What did Wang Jianhua say?", known=lambda words: [False] * len(words)).foreign == set()
    question = "Where did Vivek Ramaswamy campaign this week?"
    assert answered_from_the_first(
        index_of,
        question,
        ("竞选活动", "本周，共和党总统竞选人维韦克·拉马斯瓦米在艾奥瓦州开展竞选活动。"),
        _SPORTS,
    )
    assert refused_over(index_of, question, ("竞选活动", "本周，共和党总统竞选人在艾奥瓦州开展竞选活动。"))


def test_an_english_question_about_someone_no_article_names_is_refused(fake_index) -> None:
    # the seed interview speaks of manufacturing, but not of this person
    assert not ask(fake_index, "What did Wang Jianhua say about manufacturing?").answered
    assert ask(fake_index, "What did Hu Henghua say about manufacturing?").answered


def test_an_english_answer_must_name_whom_the_question_asks_about() -> None:
    from rag.answer import Policy
    from rag.answer.candidates import recorded_sentence
    from rag.answer.choose import answerable

    policy = Policy.load()
    q = analyse("What did Wang Jianhua say about manufacturing?", known=lambda words: [False] * len(words))
    features = {"cov": 1.0, "title_only": 0.0, "ctx_cov": 0.9, "own_cov": 1.0, "retrieval": 1.0, "dense": 0.5}
    s = recorded_sentence("a", 0, {**features, "type_ok": 1.0}, "他说制造业很重要。")
    assert answerable(policy, q, s, [s])  # well covered, and its passage names him
    s.names_cov = 0.0
    assert not answerable(policy, q, s, [s])  # as well covered, but about someone else


@pytest.mark.parametrize(
    ("question", "expected", "not_expected"),
    [
        ("Who led the delegation?", "率领", "发光二极管"),  # lead, not LED
        ("Who won the league?", "赢得", "韩元"),  # win, not the Korean won
        ("Who spoke at the meeting?", "说话", "辐条"),  # speak, not a wheel's spoke
        ("Where was the plenary session held?", "举行", None),  # hold: "held" has no entry
        ("What was built in Changsha?", "建设", None),
    ],
)
def test_an_irregular_verb_form_is_looked_up_as_its_verb(question, expected, not_expected) -> None:
    words = flat(question)
    assert expected in words and not_expected not in words


def test_a_mark_between_two_names_keeps_them_apart() -> None:
    left: list[str] = []
    together = translations("Which river flooded Shangzhi Heilongjiang?", 2, left)
    apart = translations("Which river flooded Shangzhi, Heilongjiang?", 2)
    assert left == ["Shangzhi Heilongjiang"] and ["黑龙江", "黑龙江省"] not in together  # one unknown name
    assert ["黑龙江", "黑龙江省"] in apart  # two: the province is read as the dictionary's
    assert romanized_names("Which river flooded Shangzhi, Heilongjiang?") == []  # no one two-word name


def test_a_name_made_of_a_common_word_and_a_noun_is_also_that_word() -> None:
    # CC-CEDICT names Apple only as "Apple computer" (苹果电脑) and "Apple iPhone"; news: 苹果
    (apple,) = translations("Apple", 2)
    assert apple[0] == "苹果" and "苹果电脑" in apple
    assert translations("Beijing", 2) == [["北京", "北京市"]]  # a name of its own is unchanged


def test_an_abbreviation_in_capitals_is_no_surname() -> None:
    assert "艾" not in flat("How is AI used in hospitals?")  # not the surname Ai
    assert "艾" in flat("What did Ai say?")


def test_a_regular_form_keeps_its_own_senses() -> None:
    assert "会议" in flat("Who spoke at the meeting?")  # meeting: the noun, not only "meet"


def test_chinese_an_english_question_quotes_is_a_term_as_written() -> None:
    q = analyse("How many science and technology commissioners (科技特派员) did the county have?")
    assert q.script == "en" and "科技特派员" in q.terms


def test_a_british_spelling_is_read_in_the_american_one_the_dictionary_defines_in() -> None:
    # CC-CEDICT writes "center": "centre" alone gave 基点, a sense that mentions it
    assert "中心" in flat("Which research centre released the report?")
    assert translations("the labour bureau", 2) == translations("the labor bureau", 2)
    assert "组织" in flat("Which organisation hosted it?")  # organization
    # words that only look British keep their own senses: hour is no "hor", four no "for"
    assert "小时" in flat("How many hours?") and "四" in flat("the four teams")


def test_a_passive_or_a_state_reads_the_dictionary_be_sense_first() -> None:
    (born,) = translations("When was he born?", 2)
    assert "出生" in born  # "be born"; "born" alone is no sense, and "bear" would give 负担
    assert translations("Who was elected mayor?", 2)[0][0] == "当选"
    assert "当选" not in flat("Who elected the mayor?")  # no "be": the verb's own senses


def test_a_possessive_or_an_abbreviation_ends_a_name() -> None:
    # "Changsha's GDP" is a place and an abbreviation, not a two-word person's name left to
    # the dense leg: Changsha is looked up, GDP stays a term as written (articles write GDP)
    left: list[str] = []
    assert ["长沙", "长沙市"] in translations("What was Changsha's GDP in 2021?", 2, left)
    assert left == ["GDP"]
    assert "长沙" in flat("Changsha population?")  # a name may open the question


def test_the_questions_own_wh_phrase_gives_the_kind_and_how_old_is_no_term() -> None:
    q = analyse("How old was Chen Jiang when he died?")
    assert q.kind == "number"  # not "date" from the later "when"
    assert not any(w in t.split("|") for t in q.terms for w in ("古老", "久远", "老"))  # "old" asks how much
    assert analyse("When did he die?").kind == "date"
    assert analyse("Who spoke when the session opened?").kind == "person"
    # any wh-word of the question's own comes before a clause's "when"
    assert analyse("What did the mayor say when the session opened?").kind == "other"
    assert analyse("In which state was she campaigning when she spoke?").kind == "place"
    assert analyse("Which county does the river flow through?").kind == "place"
    assert analyse("What share of the reserves did the dollar account for?").kind == "number"
    q = analyse("At what age did the pianist win her first prize?")  # as "how old"
    assert q.kind == "number" and not any("时代" in t.split("|") for t in q.terms)  # no era


def test_what_was_a_named_owners_measure_asks_a_number() -> None:
    """ "What was X's total export value", the owner two words long, and "what were … sales"
    ask an amount; "what is the reason for the price rise" does not."""
    assert analyse("What was Jiangxi province's total import and export value last year?").kind == "number"
    assert analyse("What were the retailer's group sales in the second quarter?").kind == "number"
    assert analyse("What was the carmaker's net profit in 2022?").kind == "number"
    assert analyse("What is the reason for the price rise?").kind == "other"


def test_an_english_cardinal_is_searched_as_its_digits_and_numeral() -> None:
    """ "three" is 3 or 三 as the article writes it, not the idiom the dictionary ranks first
    (三下五除二); "one", as often a pronoun, is left to the dictionary."""
    from rag.english import chinese_numeral, render

    (three,) = (r for r in render("the three months to June", 2) if r.words == "three")
    assert three.heads == ["3", "三"]
    (two,) = (r for r in render("its two hidden worries", 2) if r.words == "two")
    assert two.heads == ["2", "两", "二"]  # 两 where a count is written in words
    assert [chinese_numeral(n) for n in (2, 10, 12, 40, 47)] == ["二", "十", "十二", "四十", "四十七"]
    assert not any(r.heads == ["1", "一"] for r in render("one of the factories", 2))


def test_a_place_the_question_names_must_be_in_the_answers_passage(fake_index) -> None:
    from rag.english import render

    beijing, mayor = (
        next(r for r in render("Who is the mayor of Beijing?", 2) if w in r.heads) for w in ("北京", "市长")
    )
    assert beijing.name and not mayor.name
    # the seeds name a mayor of Changsha, and no one of Beijing
    assert ask(fake_index, "Who is the mayor of Changsha?").answered
    assert not ask(fake_index, "Who is the mayor of Beijing?").answered


def test_a_peoples_adjective_is_its_countrys_name_and_not_a_name_the_answer_must_hold() -> None:
    from rag.english import demonym_country, render

    assert "中国" in demonym_country("Chinese") and "俄罗斯" in demonym_country("Russian")
    assert "以色列" in demonym_country("Israeli") and "意大利" in demonym_country("Italian")
    assert demonym_country("Hunan") == [] and demonym_country("Parker") == []  # no such country
    (chinese,) = [r for r in render("Who will lead the Chinese delegation?", 2) if r.words == "Chinese"]
    assert "中国" in chinese.heads and not chinese.name  # not 中文 / 汉语, the language
    q = analyse("Who will lead the Chinese delegation?", known=lambda words: [True] * len(words))
    assert not any("中国" in n.split("|") for n in q.names)  # 代表团 alone in an article is no mismatch


def test_according_to_gives_no_term() -> None:
    # "according" read as the verb "accord" gave 给予 / 协定, words the answer had to cover
    assert not any(
        w in flat("What is the chance of a recession according to Parker?") for w in ("给予", "协定")
    )


def test_a_name_is_also_found_as_written_in_latin_letters() -> None:
    # the dictionary renders Parker as 派克; an article quoting him writes Parker
    q = analyse(
        "What did Parker say about rates?", known=lambda words: [w in ("派克", "parker") for w in words]
    )
    (name,) = q.names
    assert set(name.split("|")) >= {"派克", "parker"}
    q = analyse("What did Parker say about rates?", known=lambda words: [w != "parker" for w in words])
    assert "parker" not in next(iter(q.names)).split("|")  # only where the index has it so


def test_an_english_date_is_one_term_as_articles_write_it() -> None:
    from rag.answer.english_question import english_dates

    assert english_dates("What was the population as of January 1?")[0] == ["1月1日"]
    assert english_dates("What happened on the 25th of July, 2023?")[0] == ["7月25日"]
    assert english_dates("What did he say on Sept. 3?")[0] == ["9月3日"]
    assert english_dates("Who spoke in March?")[0] == ["3月"]
    assert english_dates("May I ask who won?")[0] == []  # the modal, not the month
    assert english_dates("Did the march start?")[0] == []  # a month is capitalised
    # a month alone is no part of a name, nor an abbreviation (Jan is also a given name)
    assert english_dates("What did Theresa May say in May?")[0] == ["5月"]
    assert english_dates("What did June Carter sing?")[0] == []
    # beside an acronym or a possessive a month is the month (the WTI September contract)
    assert english_dates("What was the WTI September contract's price?")[0] == ["9月"]
    assert english_dates("When was the Federal Reserve's September meeting?")[0] == ["9月"]
    assert english_dates("Who is Jan Koum?")[0] == [] and english_dates("What happened on Jan 5?")[0] == [
        "1月5日"
    ]
    terms = analyse("What meeting was held on September 24?").terms
    assert "9月24日" in terms  # not 九月 and 24, which the articles do not write
    assert not any(w in t.split("|") for t in terms for w in ("九月", "24"))


def test_an_english_question_finds_the_date_as_written(use_index) -> None:
    a = ask(use_index, "Which plenary session was held in Changsha on September 24?")
    assert a.answered and "9月24日" in to_simplified(a.answer)


def test_an_english_who_questions_short_answer_is_read_as_a_chinese_who_question(tmp_path) -> None:
    """The span model reads the words around a question's 谁; an English question gave it none,
    and it took the start of the sentence (澳洲第二大养老) over the economist's name."""
    from rag import Article, Index, get_embedder

    assert analyse("Who is the chief economist of the fund?").asks.endswith("经济学家基金谁？")
    assert "多少" in analyse("How many came?").asks  # every kind, its own question word
    index = Index.open(tmp_path / "ix", get_embedder("use"), create=True)
    try:
        index.add(
            [
                Article(
                    id="a",
                    title="",
                    text="澳洲第二大养老基金首席经济学家Brian Parker表示，利率可能在高位维持到2025年。",
                ),
                Article(id="b", title="", text="市长李明在会上宣布，新的地铁线路将于明年开通。"),
            ]
        )
        a = ask(index, "Who is the chief economist of the pension fund?")
        assert a.answered and a.short_answer is not None and a.short_answer.text == "Brian Parker"
        b = ask(index, "Who announced the new subway line?")
        assert b.short_answer is not None and b.short_answer.text == "李明"
    finally:
        index.close()


def test_a_further_dictionary_word_counts_where_the_retrieved_passages_use_it(use_index_of) -> None:
    """ "save" is searched as its commonest senses (保存|存储); 节省, further down the
    dictionary's list, covers the term in a passage that writes it, with the credit of its
    rarity against the words searched with."""
    from rag.answer import Policy, gather_evidence, known_words
    from rag.answer.features import coverage, widened

    q = analyse("How much can residents save each year?")
    save = next(t for t in q.terms if "保存" in t.split("|"))
    assert "节省" in q.more[save] and "节省" not in save
    text = "改革后，居民每年可节省300元以上。城乡居民基本医保实现全覆盖。"
    index = use_index_of(Article(id="m", title="医保改革", text=text))
    asked = analyse("How much can residents save each year?", known=known_words(index))

    def best_cov(query) -> float:
        return max(s.cov for s in gather_evidence(index, query).sentences if s.text.startswith("改革后"))

    assert best_cov(asked) > best_cov(dataclasses.replace(asked, more={}))
    a = ask(index, "How much can residents save each year?", policy=Policy.load())
    assert a.answered and "300元" in a.answer

    # the credit: a word commoner than those searched with counts for its share of their rarity
    idf = {"保存": 4.0, "存储": 2.0, "节省": 3.0, "说": 1.0}.__getitem__
    groups, credit = widened(
        q,
        [t.split("|") for t in q.terms],
        ["居民每年可节省300元，他说"],
        lambda ws: [idf(w) if w in ("保存", "存储", "节省", "说") else 5.0 for w in ws],
    )
    assert "节省" in groups[q.terms.index(save)] and credit["节省"] == 0.75
    assert coverage([["保存", "节省"]], [2.0], "每年可节省", lambda: frozenset(), credit) == 0.75
    assert coverage([["保存", "节省"]], [2.0], "每年可节省", lambda: frozenset()) == 1.0


def test_an_english_how_many_question_is_not_answered_by_a_sentence_without_a_count(index_of) -> None:
    """Asked "how many", a sentence whose only numbers are days of the calendar (8月1日) counts
    nothing: "not found", where the same passage with a count is answered."""
    dated = index_of(Article(id="d", title="体育中心", text="8月1日，泉州体育中心顶棚受损，主办方正在评估。"))
    assert not ask(dated, "How many seats does the Quanzhou sports center have?").answered
    counted = index_of(
        Article(id="c", title="体育中心", text="8月1日，泉州体育中心共有3万个座位，顶棚受损。")
    )
    a = ask(counted, "How many seats does the Quanzhou sports center have?")
    assert a.answered and "3万" in a.answer


def test_an_english_question_is_read_by_the_span_model_as_a_chinese_one_of_its_terms() -> None:
    """The span model places a span by the question's words around it: read as written, an
    English question gives it none, and the short answer of "What did the museum open?" was the
    whole sentence; read as its terms' Chinese words and 什么, the hall the museum opened."""
    from rag.answer import Policy
    from rag.span_rank import sure_span

    policy = Policy.load()
    sentence = "博物馆昨天开放了新的展厅，展出了明代瓷器。"
    q = analyse("What did the museum open?", policy=policy)
    assert q.asks.endswith("什么？") and "博物馆" in q.asks
    picked = sure_span(q.asks, q.kind, sentence, policy.spans, policy.span_model, expressions_only=True)
    assert picked is not None and sentence[slice(*picked[0])] == "新的展厅"
    as_written = sure_span(q.text, q.kind, sentence, policy.spans, policy.span_model, expressions_only=True)
    assert as_written is not None and sentence[slice(*as_written[0])] != "新的展厅"
    # the question word of its kind; a "why" asks 为什么; the numbers it writes are kept
    assert analyse("Where was the factory built?", policy=policy).asks.endswith("哪里？")
    assert analyse("Why did the bridge close?", policy=policy).asks.endswith("为什么？")
    assert "2023" in analyse("How many people joined in 2023?", policy=policy).asks
    assert analyse("Who is the chief economist of the fund?", policy=policy).asks.endswith("谁？")


def test_a_question_asking_a_year_or_a_day_is_read_as_a_chinese_one_asking_it() -> None:
    """ "In what year" is 哪一年 and "on what date" 哪一天 in the Chinese frame the span model
    reads (a year, a day: `rag.span.ASKS_YEAR`, `ASKS_DAY`), not any time (什么时候)."""
    from rag.answer.english_question import asked_in_chinese

    terms = ["博物馆", "建立"]
    assert asked_in_chinese("In what year was the museum founded?", "date", terms).endswith("哪一年？")
    assert asked_in_chinese("On what date was the museum founded?", "date", terms).endswith("哪一天？")
    assert asked_in_chinese("When was the museum founded?", "date", terms).endswith("什么时候？")
    assert asked_in_chinese("On which day of the week was it founded?", "date", terms).endswith("什么时候？")


def test_the_noun_a_what_question_asks_for_follows_its_question_word() -> None:
    """ "What crime…?" is read as a Chinese question writes it, 什么 then the crime's word: the
    span model reads that noun after the question word (a crime's name ends in 罪). Without it
    the frame got the sentence's prison term for the crime asked."""
    from rag.answer import Policy
    from rag.answer.english_asked import asked_noun_in_chinese, asked_nouns_in_chinese
    from rag.answer.english_question import asked_in_chinese
    from rag.span_rank import sure_span

    policy = Policy.load()
    assert asked_noun_in_chinese("What crime was he sentenced for?") == "犯罪"
    assert asked_noun_in_chinese("Which kind of weapon did they use?") == "武器"
    assert asked_noun_in_chinese("What did she say?") == asked_noun_in_chinese("Who is he?") == ""
    # what a count is of: "how many X" (two words where the dictionary has them as one)
    assert asked_noun_in_chinese("How many employees does the company have?") == "员工"
    assert asked_noun_in_chinese("How many young people took part?") == "年轻人"
    assert asked_noun_in_chinese("How much did they spend?") == ""
    # every word the dictionary gives for it, commonest first: a sentence may write another
    assert asked_nouns_in_chinese("Which court sentenced them?")[:3] == ("朝廷", "宫廷", "法院")
    # a hyphenated "-ed" adjective inside the phrase does not end it
    assert asked_noun_in_chinese("Which state-owned bank has launched the service?") == "银行"
    assert asked_noun_in_chinese("Which company launched the service?") == "公司"
    # ... nor one after a proper adjective; one after the noun is the verb, not the head
    assert asked_noun_in_chinese("Which Bolivian state-owned bank opened it?") == "银行"
    assert asked_noun_in_chinese("Which academy co-founded the institute?") == "院校"
    # the head with the word before it, where the two are one entry: "primary school" (小学), then
    # the head's own words ("school": 学校)
    school = asked_nouns_in_chinese("Which village primary school did she teach at?")
    assert school[0] == "小学" and "学校" in school
    assert asked_noun_in_chinese("Which medical school did she teach at?") != "小学"
    assert analyse("How many employees does the company have?", policy=policy).asks.endswith("多少员工？")
    cases = [
        (
            "What crime was the defendant sentenced for?",
            "法院以故意伤害罪判处被告有期徒刑六年，被告当庭表示将提起上诉。",
            "故意伤害罪",
        ),
        (
            "Which stadium was damaged by the typhoon?",
            "台风过境后，市区多处树木倒伏，海峡体育中心的屋顶被大风掀开。",
            "海峡体育中心",
        ),
    ]
    for question, sentence, answer in cases:
        q = analyse(question, policy=policy)
        assert "什么" + asked_noun_in_chinese(question) in q.asks
        picked = sure_span(q.asks, q.kind, sentence, policy.spans, policy.span_model, expressions_only=True)
        assert picked is not None and sentence[slice(*picked[0])] == answer
        plain = asked_in_chinese(question, q.kind, q.terms)  # without the noun after 什么
        missed = sure_span(plain, q.kind, sentence, policy.spans, policy.span_model, expressions_only=True)
        assert missed is None or sentence[slice(*missed[0])] != answer


def test_a_capitalised_common_word_is_not_read_as_the_longer_names_it_opens() -> None:
    """ "CICC International": CC-CEDICT's names that open with "International" (International
    Olympic Committee: 国际奥委会, International Labour Day: 劳动节) are no sense of the word; a
    word with no sense of its own is still read as the names it opens ("Parker": 派克)."""
    (group,) = [g for g in translations("What did CICC International say?", 2) if "国际" in g]
    assert group[0] == "国际" and not {"国际奥委会", "劳动节"} & set(group)
    assert flat("What did Parker say?")[0] == "派克"
    assert "湖北" in flat("How many stores are in Hubei?")  # "Hubei Province (Hupeh) …": its own pinyin


def test_a_surname_alone_is_read_as_that_surname() -> None:
    """News in English names a person by the surname alone ("Zhang", "Xu"): the surname's
    characters, not a famous bearer (张居正) nor a county spelled so (漳县)."""
    assert "张" in flat("How much did Zhang pay?") and "徐" in flat("What did Xu demand?")
    assert not {"张居正", "张献忠", "漳县"} & set(flat("How much did Zhang pay?"))


def test_a_phrase_is_found_with_its_last_word_plural_and_accents_are_folded() -> None:
    assert "金牌" in flat("How many gold medals did they win?")
    assert "车牌" in flat("How many cars had no license plates?")
    assert flat("Who won the épée final?") == flat("Who won the epee final?") and "重剑" in flat(
        "Who won the epee final?"
    )
    assert "微信" in flat("How much was paid via WeChat?")  # "Weixin or WeChat": each a sense


def test_a_plural_in_es_is_read_so_only_after_a_hiss_or_an_o() -> None:
    rates = flat("How did the bank change its rates?")
    assert "比率" in rates and "老鼠" not in rates  # rates: rate, not rat
    assert "盒子" in flat("How many boxes were sold?")  # boxes: box


def test_a_romanized_name_jieba_cuts_after_the_surname_is_spelled_whole() -> None:
    """jieba cuts 孙建国 into 孙|建国 (建国 is a word of its dictionary), so the whole name is no
    word of the index: the spelling of a surname and a given name the index knows as a word
    stands for it."""
    q = analyse("How old is Sun Jianguo?", known=lambda words: [w in ("孙", "建国") for w in words])
    assert any("孙建国" in n.split("|") for n in q.names)
    assert not any("太阳" in t.split("|") for t in q.terms)  # "Sun" is his surname, not the sun


def test_a_romanized_name_spelled_by_a_guess_is_also_found_by_its_sound() -> None:
    """ "Jian Youlin": the dictionary has no surname 简 and 友邻 is a word, so the spellings of a
    surname and that word (剪友邻…) are a guess; a passage that writes the name in other
    characters read so (简佑霖) names him too, and one that writes no such name does not."""
    from rag.answer.features import heard

    q = analyse("How many students had tutor Jian Youlin taught?", known=lambda ws: [w == "友邻" for w in ws])
    assert "jian youlin" in q.pinyin and any("jian youlin" in n.split("|") for n in q.names)
    assert "jian youlin" in heard(q, "培训教师简佑霖教过800多名学生。", 2, 2)
    assert "jian youlin" not in heard(q, "培训教师李明教过800多名学生。", 2, 2)
    held = analyse(
        "How many students had tutor Jian Youlin taught?", known=lambda ws: [w == "蹇友邻" for w in ws]
    )
    assert not held.pinyin  # a spelling the index holds whole is no guess


def test_a_name_joined_to_a_participle_is_the_name_and_that_word() -> None:
    """ "a Fudan-trained PhD": 复旦 and 博士, not one name "Fudan-trained PhD" in Latin letters
    that no Chinese article writes; a name's own hyphenated syllable (Wen-je) stays in it."""
    q = analyse("Who was accused by a Fudan-trained PhD assistant?", known=lambda w: [False] * len(w))
    assert any("复旦" in n.split("|") for n in q.names)
    assert not any("fudan" in t for t in q.terms)
    from rag.english import render

    left: list[str] = []
    render("What did President Ko Wen-je say?", 2, left)
    assert left == ["President Ko Wen-je"]
    listed = render("Where does the Hong Kong-listed firm drill?", 2)
    assert [r.heads[0] for r in listed if r.name] == ["香港"]  # Hong Kong whole, then "listed"


def test_a_part_of_a_place_is_named_by_the_place_and_an_initial_is_no_name() -> None:
    """ "Southern California": 加州 (an article writes 南加州 or 美国加州), not the whole in Latin
    letters; the T of "T. Rowe Price" is an initial that no Chinese text writes, while the Z
    of "Galaxy Z Flip" is a letter an article does write."""
    unknown = lambda words: [False] * len(words)  # noqa: E731
    q = analyse("How old was the woman who went missing in Southern California?", known=unknown)
    assert any("加州" in n.split("|") for n in q.names) and "southern california" not in q.names
    assert "t" not in analyse("According to T. Rowe Price, what share do rents make up?", known=unknown).names
    assert "z" in analyse("How much does the Galaxy Z Flip 5 cost?", known=unknown).names


def test_a_name_of_a_dictionary_name_and_a_word_it_lacks_is_read_from_the_name() -> None:
    """ "Hangzhou Asiad": the dictionary has Hangzhou (杭州), not Asiad; the name kept whole in
    Latin letters would be found in no Chinese article."""
    q = analyse("How many gold medals were awarded at the Hangzhou Asiad?", known=lambda w: [False] * len(w))
    assert "hangzhou asiad" not in q.terms
    assert any("杭州" in n.split("|") for n in q.names)


@pytest.mark.parametrize("measure", ["old", "tall", "high", "deep", "heavy", "long", "far", "fast"])
def test_how_and_a_measure_asks_for_a_number(measure: str) -> None:
    assert analyse(f"How {measure} is the statue?").kind == "number"


def test_an_english_search_finds_the_chinese_article_through_the_dictionary(index_of) -> None:
    """`search` reads an English query as `ask` does: its English words are in no Chinese
    article, and the fake embedder's dense leg cannot bridge the languages."""
    from rag import search

    index = index_of(
        Article(id="medals", title="运动会", text="本届运动会共产生12枚金牌，击剑项目在体育馆举行。"),
        Article(id="other", title="天气", text="明天多云转晴，气温回升，适合出行。"),
    )
    hits = search(index, "gold medals in fencing", top_k=2)
    assert hits and hits[0].article_id == "medals" and hits[0].scores["bm25"] > 0  # found by its words


def test_a_code_the_index_holds_is_a_term_as_written() -> None:
    """T123 (a train), G15 (a road): Chinese articles write them so; Q4, which the index does not
    hold (news writes 第四季度), is no term."""
    q = analyse(
        "Who was the attendant of train T123 in Q4?", known=lambda words: [w == "t123" for w in words]
    )
    assert "t123" in q.terms and "q4" not in q.terms and "t123" not in q.names


def test_at_what_time_asks_for_a_date() -> None:
    assert analyse("At what time did the response start?").kind == "date"
    assert analyse("What time did the meeting open?").kind == "date"


def test_a_phrase_whose_chinese_is_no_word_of_jiebas_dictionary_is_read_word_by_word() -> None:
    # CC-CEDICT's "organ transplant" is 器官移殖, which news does not write: 器官 and 移植 find 器官移植
    words = flat("How many organ transplants were done?")
    assert "器官移殖" not in words and {"器官", "移植"} <= set(words)


def test_an_english_questions_frame_is_read_in_the_words_of_the_sentence() -> None:
    """ "meet" is searched as 遇到|满足; a sentence that says 会晤 frames the question with 会晤, the
    word the span model finds around the answer (a single character, 会, is inside too many words)."""
    from rag.answer.english_asked import asked_noun_in_chinese
    from rag.answer.english_question import asked_in_sentence

    q = analyse(
        "Whom did Li Qiang meet in Xiamen?", known=lambda words: [w in ("李强", "厦门") for w in words]
    )
    noun = asked_noun_in_chinese(q.text)
    framed = asked_in_sentence(q.text, q.kind, q.terms, q.more, "李强在厦门会晤来访的客人。", noun)
    assert "会晤" in framed and "遇到" not in framed and framed.endswith("谁？")
    assert "遇到" in asked_in_sentence(q.text, q.kind, q.terms, q.more, "李强在厦门会见来访的客人。", noun)


def test_two_words_whose_characters_make_a_word_are_read_as_that_word() -> None:
    """ "new book" is no sense of CC-CEDICT's, but 新 (new) and 书 (book) make 新书, the word an
    article writes: it joins both words' terms, so a sentence holding it covers both. Only a
    word the index holds, and only before a noun: a verb after its noun ("held") makes none."""
    every = analyse("Where was the new book launched?", known=lambda words: [True] * len(words))
    assert [t for t in every.terms if "新书" in t.split(ALTERNATIVES)] == every.terms[:2]
    unheld = analyse("Where was the new book launched?", known=lambda words: [w != "新书" for w in words])
    assert not any("新书" in t.split(ALTERNATIVES) for t in unheld.terms)
    # "book held": 书 + 包 (held, as in 包 "to hold") and 定 + 做 are words, but "held" is no noun
    held = analyse("Where was the new book held?", known=lambda words: [True] * len(words))
    assert not {"书包", "定做"} & {w for t in held.terms for w in t.split(ALTERNATIVES)}


def test_a_city_inside_a_longer_name_is_that_city() -> None:
    """In "Hangzhou Rice Market" the word Hangzhou is the dictionary's name 杭州 (read as its
    pinyin), not its lower-case senses: the entries whose definitions mention Hangzhou (孤山,
    a hill there), which no article about the market holds."""
    q = analyse("Where is the Hangzhou Rice Market?", known=lambda words: [True] * len(words))
    assert any("杭州" in t.split(ALTERNATIVES) for t in q.terms)
    assert not any("孤山" in t.split(ALTERNATIVES) for t in q.terms)


def test_a_possessive_ends_a_phrase_the_dictionary_has() -> None:
    """ "New Zealand's minister": the phrase is "New Zealand" (新西兰), not a name kept whole in
    Latin letters that no Chinese article holds, which refused every such question."""
    assert translations("Who is New Zealand's trade minister?", 2)[0][0] == "新西兰"


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("How old is the retired teacher?", ("岁", "年")),
        ("At what age did the pianist win her first prize?", ("岁", "年")),  # as "how old"
        ("How long did the flight last?", ("年", "个月")),  # a length of time (or of a thing)
        ("How many helicopters flew to the village?", ("架",)),  # the dictionary's classifier
        ("How many nurses took part in the training?", ("人", "名", "位")),  # a word for people
        ("How many tons of rice were shipped?", ("吨",)),  # a unit itself
        ("How many factory workers joined?", ("人", "名", "位")),  # the second word is the noun
        ("How many people attended the meeting?", ("人", "名", "位")),  # not "attended"
        ("How many students does the school have?", ("人", "名", "位")),  # not "does" (a doe's plural)
        ("How many new energy trains were built?", ("列", "节")),  # the head of the noun phrase
        ("How fast can the new train run?", ("公里", "千米")),  # a speed: a length a time
        ("What was the magnitude of the earthquake?", ("级",)),  # not the 37.16度 of its place
        (
            "How much did the city pay for the land?",
            ("元", "人民币"),
        ),  # an amount of money (元 ends 美元 too)
        ("How much prize money does the winner get?", ("元", "人民币")),
        ("How far is the nebula from Earth?", ("公里", "千米", "米")),  # a distance
        ("What is the height of the tower?", ("公里", "千米", "米")),  # a measure named
        ("What was the weight of the satellite?", ("吨", "公斤")),
        ("What was the highest temperature on Monday?", ("度", "℃")),
        ("What percentage of the votes did she win?", ("%", "％")),
        ("What is the area of the new park?", ("平方公里",)),
        ("How many people live in the area?", ("人", "名", "位")),  # "how many" counts its noun
        ("How much rainfall fell in the city?", ("毫米",)),
        ("How big is the phone's outer screen?", ("英寸", "寸")),  # a size
        ("What did the mayor say?", ()),
    ],
)
def test_an_english_count_is_written_in_the_units_of_what_it_counts(question, expected) -> None:
    from rag.answer.english_asked import counted_in

    kind = "other" if question == "What did the mayor say?" else "number"
    assert (
        counted_in(question, kind)[: len(expected)] == expected
        if expected
        else not counted_in(question, kind)
    )


@pytest.mark.parametrize(
    "question",
    [
        "What is the expected starting price of the new phone?",
        "What was the maximum takeoff weight of the aircraft?",
        "What was the city's GDP in the first half of the year?",
        "What is the battery capacity of the tablet?",
        "What price did the company set?",
        "What target price did the bank set?",  # a word before the measure
        "What was the province's general public budget revenue in 2022?",
    ],
)
def test_what_and_a_measure_named_with_a_few_words_before_it_asks_for_a_number(question: str) -> None:
    assert analyse(question).kind == "number"


def test_what_and_a_noun_that_is_no_measure_asks_for_no_number() -> None:
    assert analyse("What is the main theme of the book fair?").kind == "other"
    assert analyse("What was the official reason for the delay?").kind == "other"
    assert analyse("What is the reason for the price rise?").kind == "other"  # no preposition before


def test_a_capitalised_common_word_the_index_holds_in_latin_letters_is_found_so_too() -> None:
    """ "Pioneer" is 先锋 in the dictionary, but an article on a product of that name writes it
    in Latin letters: where the index holds the word so, it is one more alternative of the term
    (not a name the answer must hold); a lower-case word is only ever its senses."""
    held = analyse("What is the price of the Pioneer tablet?", known=lambda words: [True] * len(words))
    (term,) = [t for t in held.terms if "先锋" in t.split(ALTERNATIVES)]
    assert "pioneer" in term.split(ALTERNATIVES) and term not in held.names
    lower = analyse("Who is the pioneer of the tablet?", known=lambda words: [True] * len(words))
    assert not any("pioneer" in t.split(ALTERNATIVES) for t in lower.terms)
    # a plural acronym is found as its singular (UFOs: ufo), as an article writes it
    ufos = analyse("Who has seen UFOs this year?", known=lambda words: [w == "ufo" for w in words])
    assert any("ufo" in t.split(ALTERNATIVES) for t in ufos.terms)
    unheld = analyse(
        "What is the price of the Pioneer tablet?", known=lambda words: [w != "pioneer" for w in words]
    )
    assert not any("pioneer" in t.split(ALTERNATIVES) for t in unheld.terms)


def test_a_latin_word_of_the_question_frames_it_as_the_sentence_writes_it() -> None:
    """The span model places a span by the question's words around it: a term the sentence
    writes in Latin letters ("Pioneer", its case as written) frames the question too, beside
    the Chinese ones, so 5000mAh (next to 电池) is read as the answer, not a number far off."""
    from rag.answer.english_question import asked_in_sentence

    q = analyse(
        "What is the battery capacity of the Pioneer tablet?", known=lambda words: [True] * len(words)
    )
    sentence = "新款Pioneer平板内置5000mAh电池，支持65W快充。"
    framed = asked_in_sentence(q.text, q.kind, q.terms, q.more, sentence)
    assert "Pioneer" in framed and "pioneer" not in framed and "电池" in framed


def test_a_romanized_name_no_word_of_the_index_spells_is_found_by_its_syllables_characters(index_of) -> None:
    """ "Jinshilong" reads as pinyin, but jieba cuts 金石|龙, so no spelling of it is a word of
    the index and it stays a Latin term. A passage naming it writes characters read jin, shi,
    long in a row: it names the thing asked about, and the question is answered from it; a
    passage that does not is about something else, and the question is refused."""
    from rag.english import pinyin_sound

    sound = pinyin_sound("jinshilong", 2)
    assert sound is not None and sound.search("新型金石龙飞行器") and not sound.search("新型金石飞行器")
    assert pinyin_sound("jinshilong", 4) is None  # three syllables only
    assert pinyin_sound("long jinshi", 2).search("金石龙")  # a surname last or first
    q = analyse(
        "How many people can the Jinshilong aircraft carry?", known=lambda words: [False] * len(words)
    )
    assert q.pinyin == {"jinshilong"} and "jinshilong" in q.names and not q.foreign
    question = "How many people can the Jinshilong aircraft carry?"
    assert answered_from_the_first(
        index_of, question, ("新型飞行器", "这款金石龙航空器最多可运输5人，最大起飞重量2吨。"), _SPORTS
    )
    assert refused_over(index_of, question, ("新型飞行器", "这款新型航空器最多可运输5人，最大起飞重量2吨。"))


@pytest.mark.parametrize(
    ("question", "money"),
    [
        ("How much did the city pay for the land?", True),
        ("How much was the driver fined?", True),
        ("How much does the new phone cost?", True),
        ("How much prize money does the winner get?", True),
        ("How much rainfall did the city receive?", False),  # a noun after "how much"
        ("By how much did the river's level fall?", False),  # a change, often a share
        ("How much has the price risen this year?", False),
        ("What was the total investment in the new hospital?", True),  # a sum of money named
        ("What was the county's direct economic loss from the floods?", True),
        ("What was the closing price of the index?", False),  # an index closes in points
    ],
)
def test_how_much_with_a_verb_asks_an_amount_of_money_as_duoshaoqian_does(question: str, money: bool) -> None:
    """An English "how much" asking money has the measure of 多少钱: only a sentence holding an
    amount (4000元, 3万美元) or a number standing alone answers it, not one whose only count is
    一位 (a person) or 5楼."""
    from rag.answer.question import MONEY

    assert (analyse(question).measure == MONEY) is money


@pytest.mark.parametrize(
    ("question", "asked_word"),
    [
        ("In which year were the bones found near the tomb?", "年度"),
        ("On what date did the bank cut its rate?", "日期"),
        ("What time did the meeting open?", "何许"),
        ("On which day of the week is the tally made?", "星期"),
    ],
)
def test_the_noun_of_what_date_or_which_year_is_the_question_word_not_a_term(
    question: str, asked_word: str
) -> None:
    """ "which year" asks a date as 哪一年 does: a date question ("which year were they found" is
    no list), and "year" (年度), "date" (日期, and 交往, "to date"), "what time" (何许) or "day of
    the week" is no term an answer's sentence must hold, which lowered every such question's
    coverage."""
    q = analyse(question)
    assert q.kind == "date"
    assert not any(asked_word in t.split(ALTERNATIVES) for t in q.terms)


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("Which senator is blocking the bill?", "person"),  # 参议员: a word for people
        ("Which player scored the winning goal?", "person"),  # 选手
        ("Which company built the bridge?", "other"),
        ("What new name did the firm take?", "other"),  # "new" is no noun (新生: a student)
        ("Which Republican congressman spoke?", "person"),  # the phrase's head, not its first word
    ],
)
def test_which_and_a_word_for_people_asks_who(question: str, kind: str) -> None:
    """ "Which senator" asks who, as 哪位 does: its short answer is the name (约翰·史密斯),
    not a phrase around the word (共和党参议员)."""
    assert analyse(question).kind == kind


def test_the_common_words_of_a_name_are_read_together_where_their_characters_make_a_word() -> None:
    """ "Qinglan New Area": 青岚 as the index spells it, and "New Area" the word 新区 (新 + 区) an
    article writes, as "new book" is 新书; not only 新生 and 地区, which it does not write."""
    q = analyse(
        "How many firms are in the Qinglan New Area?",
        known=lambda words: [w in ("青岚", "新区") for w in words],
    )
    assert "青岚" in q.names
    assert any("新区" in t.split(ALTERNATIVES) for t in q.terms)
    unheld = analyse(
        "How many firms are in the Qinglan New Area?", known=lambda words: [w == "青岚" for w in words]
    )
    assert not any("新区" in t.split(ALTERNATIVES) for t in unheld.terms)


def test_a_roman_numeral_is_no_name_the_answer_must_hold() -> None:
    """ "level III" is a number (Ⅲ级, 三级), not a foreign name an answer's passage must spell:
    as a name it refused every question whose article writes the level in Chinese numerals."""
    q = analyse("When did the city start its level III emergency response?", known=lambda w: [True] * len(w))
    assert not any("iii" in n.split(ALTERNATIVES) for n in q.names) and not q.foreign


def test_the_noun_a_which_question_asks_for_is_its_phrases_head_in_the_frame() -> None:
    """The span model reads "什么 + noun" after an English question's words: the noun is the
    phrase's head ("which … news agency": 机关-like, not 朝鲜人 of its first words "North Korean";
    "which … unit": 单位), two words one entry only where the second is the head (年轻人)."""
    from rag.answer.english_asked import asked_noun_in_chinese

    assert asked_noun_in_chinese("Which North Korean state news agency reported it?") != "朝鲜人"
    assert asked_noun_in_chinese("Which US Air Force unit had he served in?") == "单位"
    assert asked_noun_in_chinese("How many young people came?") == "年轻人"


def test_a_capitalised_compound_the_dictionary_lacks_is_read_part_by_part() -> None:
    """ "Chinese-developed": no sense as a whole. Kept whole, it was a name in Latin letters that
    the answer's passage had to hold, and no Chinese article writes it: its parts are read as
    words of their own (the people's adjective its country, not a name the answer must hold)."""
    from rag.english import render

    names_left: list[str] = []
    got = {r.words: r for r in render("What is the Chinese-developed seabed equipment?", 2, names_left)}
    assert names_left == [] and "Chinese-developed" not in got
    assert "中国" in got["Chinese"].heads and not got["Chinese"].name and got["developed"].heads
    q = analyse("What is the Chinese-developed seabed equipment?", known=lambda words: [True] * len(words))
    assert not q.foreign and "chinese-developed" not in q.terms
    assert "国有" in flat("Which state-owned bank was it?")  # a compound the dictionary has is read whole


def test_a_name_of_common_english_words_is_read_word_by_word() -> None:
    """The 'Zero-Carbon Future' exhibition: a name made of common English words, none a pinyin
    syllable, is translated word by word in Chinese news (零碳未来); left whole, it was a name in
    Latin letters (with the closing quote) that the answer's passage had to hold. A name with
    a word that is no English word (Lujiazui Center) or that pinyin spells (Long) stays one."""
    from rag.english import render

    names_left: list[str] = []
    question = "Which foundation funded the 'Zero-Carbon Future' youth art exhibition?"
    got = {r.words: r for r in render(question, 2, names_left)}
    assert names_left == [] and "未来" in got["future"].heads and not got["future"].name
    assert "碳" in got["carbon"].heads
    q = analyse(question, known=lambda words: [True] * len(words))
    assert not q.foreign and not any("zero" in t or "'" in t for t in q.terms)
    for kept in ("What did Lujiazui Center announce?", "What did Long Xiang say?"):
        names_left = []
        render(kept, 2, names_left)
        assert names_left == [kept.split()[2] + " " + kept.split()[3]]


def test_a_capitalised_english_word_whose_names_are_none_of_its_senses_is_no_name() -> None:
    """ "Economy Minister": CC-CEDICT's names whose definition opens with "Minister" are titles
    of ancient China (司徒), "Court" opens 太仆寺: none is a sense of the word, so the word is
    read by its senses, not as a name the answer's passage must hold. A place whose lower-case
    "senses" are the entries that mention it (Fujian: 厦) is no English word and stays a name;
    so does a word one of whose senses its names are made from (Apple: 苹果, 苹果电脑)."""
    from rag.cedict_table import table
    from rag.english import proper_names, render

    tab = table()
    assert proper_names(tab, "Minister") == [] and proper_names(tab, "Court") == []
    (minister,) = [r for r in render("What did the Minister say?", 2) if r.words == "Minister"]
    assert "部长" in (*minister.heads, *minister.more) and not minister.name
    assert "福建" in proper_names(tab, "Fujian") and "苹果" in proper_names(tab, "Apple")
    (apple,) = [r for r in render("Who supplies Apple's phones?", 2) if r.words == "Apple's"]
    assert apple.name


def test_a_title_before_a_surname_is_read_with_it_as_news_writes_them() -> None:
    """ "Ms. Zhang" is 张女士 in Chinese news, one word of jieba's, in which 张 stands as no word
    of its own: the surname's term holds the pair; "Ms." is no term of its own, nor a name in
    Latin letters the answer must hold."""
    from rag.english import render

    names_left: list[str] = []
    got = render("How much did Ms. Zhang borrow?", 2, names_left)
    (zhang,) = [r for r in got if r.words == "Zhang"]
    assert "张女士" in zhang.heads and "张" in zhang.heads and zhang.name
    assert not any(r.words == "Ms" for r in got) and names_left == []
    (ma,) = [r for r in render("What did Mr. Ma say?", 2) if r.words == "Ma"]
    assert "马先生" in ma.heads
    (zhang,) = [r for r in render("How much did Zhang borrow?", 2) if r.words == "Zhang"]
    assert "张女士" not in zhang.heads


def test_china_is_also_our_country_as_chinese_news_writes_it() -> None:
    """An article of China's news writes "China's largest ball mill" as 我国…最大的球磨机."""
    from rag.english import render

    (china,) = [
        r for r in render("Where was China's largest ball mill delivered?", 2) if r.words == "China's"
    ]
    assert "我国" in china.heads and "中国" in china.heads
    (chinese,) = [r for r in render("Who led the Chinese delegation?", 2) if r.words == "Chinese"]
    assert "我国" in chinese.heads
    (russia,) = [r for r in render("Where was Russia's largest mill?", 2) if r.words == "Russia's"]
    assert "我国" not in russia.heads


def test_a_place_of_one_syllable_and_a_common_noun_is_spelled_as_the_index_holds_it() -> None:
    """ "Nen River": the dictionary lacks it, and one syllable alone is too often found by
    chance to be spelled; read with its noun's one-character senses (河, 江…) it is 嫩江, where
    the index holds that word: a name the answer's passage must hold, not "nen river" in Latin
    letters that no Chinese article writes."""
    from rag.answer.english_question import syllable_places

    held = {"嫩江", "太湖"}

    def known(words: Sequence[str]) -> list[bool]:
        return [w in held for w in words]

    assert syllable_places(["Nen", "River"], 2, known) == [["嫩江"]]
    assert syllable_places(["Tai", "Lake"], 2, known) == [["太湖"]]
    assert syllable_places(["Nen", "River"], 2, lambda words: [False] * len(words)) == []
    assert syllable_places(["Nen", "River", "Basin"], 2, known) == []
    q = analyse("What was the water level on the Nen River?", known=known)
    assert "嫩江" in q.names and not q.foreign


def test_a_dictionary_name_is_also_found_written_in_other_characters_read_as_its_word() -> None:
    """ "Xiling": CC-CEDICT's 西陵 (a district of Yichang), while the article writes the gold
    mine 西岭. The passage that writes characters read as the question's word names it, as a
    romanized name the dictionary lacks is found (`Query.pinyin`); one that does not, does not."""
    from rag.answer import Policy
    from rag.answer.features import heard

    q = analyse("How much gold was found at the Xiling mine?", known=lambda words: [True] * len(words))
    ((term, word),) = q.sounds.items()
    assert word == "Xiling" and "西陵" in term.split("|") and term in q.names
    syllables = Policy.load().terms.en_pinyin_syllables
    found = heard(q, "山东黄金集团在西岭金矿探明金资源量580吨", 3, syllables)
    assert "西陵" in found.split("\n")[1:]
    assert (
        heard(q, "山东黄金集团在某金矿探明金资源量580吨", 3, syllables)
        == "山东黄金集团在某金矿探明金资源量580吨"
    )
    assert not analyse("What did the Fed say?", known=lambda words: [True] * len(words)).sounds
