"""English question words to Chinese through CC-CEDICT (rag.english)."""

from __future__ import annotations

from rag import ask
from rag.answer import analyse
from rag.english import romanized_names, translations
from rag.normalize import to_simplified


def flat(question: str) -> list[str]:
    return [zh for group in translations(question, 2) for zh in group]


def test_phrases_are_looked_up_before_their_words() -> None:
    assert ["连续"] == [w for w in flat("How many days in a row did it rain?") if w == "连续"]
    assert "全会" in flat("Who spoke at the plenary session?")
    assert "党委" in flat("the party committee met")
    assert "一排" not in flat("How many days in a row did it rain?")  # "row" alone is not used


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


def test_only_the_spellings_the_index_knows_become_a_term() -> None:
    question = "What did Hu Henghua say about manufacturing?"
    assert not any("胡衡华" in t for t in analyse(question).terms)
    q = analyse(question, known=lambda words: [w == "胡衡华" for w in words])
    assert "胡衡华" in q.terms and "胡衡华" in q.search_text


def test_an_english_question_about_a_person_cites_the_article_about_him(fake_index) -> None:
    # the plenary report also speaks of manufacturing; the interview is the one with Hu Henghua
    a = ask(fake_index, "What did Hu Henghua say about manufacturing?")
    assert a.citations and all("胡衡华" in to_simplified(c.quote) for c in a.citations)
