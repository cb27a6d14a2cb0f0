from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from rag.bm25 import tokenize, tokenize_query
from rag.normalize import (
    _ABBREVIATIONS,
    canonical_terms,
    canonical_texts,
    chinese_to_int,
    detect_script,
    expand_query,
    fold_question_words,
    fold_width,
    numerals_to_arabic,
    simplified_question,
    simplify_with_map,
    to_simplified,
    to_traditional,
)


def test_opencc_both_ways_phrase_level():
    assert to_simplified("長沙晚報這篇報道的記者是誰") == "长沙晚报这篇报道的记者是谁"
    assert to_traditional("十三届八次全会") == "十三屆八次全會"


def test_script_detection():
    assert detect_script("十三届八次全会有哪些人出席？") == "zh-Hans"
    assert detect_script("十三屆八次全會有哪些市領導出席？") == "zh-Hant"
    assert detect_script("Who attended the plenary session?") == "en"
    assert detect_script("2019") == "zh-Hans"


def test_full_width_folds_to_ascii_and_keeps_length():
    assert fold_width("ＧＤＰ１２３！") == "GDP123!"
    s = "Ａ　Ｂ"
    assert len(fold_width(s)) == len(s)


def test_chinese_numerals():
    assert chinese_to_int("十三") == 13
    assert chinese_to_int("八") == 8
    assert chinese_to_int("二十") == 20
    assert chinese_to_int("一百零五") == 105
    assert chinese_to_int("二〇三五") == 2035
    assert chinese_to_int("长沙") is None
    assert numerals_to_arabic("第十三届委员会第八次全体会议") == "第13届委员会第8次全体会议"
    # words that merely contain a numeral character are left alone
    assert numerals_to_arabic("统一思想，一些问题") == "统一思想，一些问题"


def test_numbers_in_wan_keep_their_size():
    # a 万 after Arabic digits is not a numeral of its own (it was read as 0: 3万元 -> 30元)
    assert numerals_to_arabic("投入3万元，1.5万人参加") == "投入3万元，1.5万人参加"
    assert canonical_terms("3万元") != canonical_terms("30元")
    # nor is the tail of a longer numeral (3千万元 -> 3千10000元)
    assert numerals_to_arabic("3千万元") == "3千万元"
    assert chinese_to_int("万") == 10000 and numerals_to_arabic("万人") == "10000人"
    assert numerals_to_arabic("三万元，十万人，一千万元，两万人") == "30000元，100000人，10000000元，20000人"
    assert chinese_to_int("一万二千") == 12000


def test_meeting_abbreviations_fold_to_one_form():
    long = canonical_terms("中共长沙市第十三届委员会第八次全体会议")
    short = canonical_terms("十三届八次全会")
    arabic = canonical_terms("13届8次全会")
    assert "13届8次全会" in long
    assert short == arabic == "13届8次全会"
    assert canonical_terms("市人民代表大会常务委员会") == "市人大常委会"
    assert canonical_terms("政治协商会议") == "政协"
    assert canonical_terms("第十三次党代表大会") == "第13次党代会"
    assert canonical_terms("十九届中央委员会第五次全体会议") == "19届5中全会"


def test_query_expansion_of_names_that_stand_for_several_bodies():
    assert "人大" in expand_query("今年两会有什么新提案")
    assert "政协" in expand_query("今年两会有什么新提案")


def test_query_and_document_tokens_meet_across_forms():
    doc = set(tokenize("今天，中共长沙市第十三届委员会第八次全体会议召开。"))
    for q in ("十三届八次全会", "十三屆八次全會", "13届8次全会"):
        assert set(tokenize_query(q)) & doc >= {"13届8次全会", "全会"}


def test_question_words_fold_to_their_usual_spelling_in_questions_only():
    assert simplified_question("為甚麼要建這座橋？") == "为什么要建这座桥？"
    assert fold_question_words("甚么时候") == "什么时候"
    assert tokenize_query("這座橋是甚麼時候建成的？") == tokenize_query("这座桥是什么时候建成的？")
    # an article's text is not folded: its quotes, offsets and stored words stay as written
    assert to_simplified("他問：甚麼？") == "他问：甚么？"
    assert "甚么" in canonical_terms("他問：甚麼？")


def test_question_words_do_not_become_terms():
    toks = tokenize_query("胡衡华是哪年出生的？")
    assert "胡衡华" in toks and "出生" in toks
    assert not any("哪" in t or t == "华是" for t in toks)


def test_a_question_word_takes_the_shi_and_preposition_before_it():
    """是在哪天 / 是由谁 / 是从何时: without the 是 and the preposition, an unknown name before
    them is not glued to 是 (赵衡 / 华是); a preposition that is part of a word stays (位于)."""
    from rag.bm25 import query_terms

    for question in (
        "赵衡华是在哪一天接受采访的？",
        "赵衡华是由谁推荐的？",
        "赵衡华是从什么时候开始写作的？",
    ):
        terms = query_terms(question)
        assert "赵衡华" in terms and not any(t.endswith("是") for t in terms), (question, terms)
    assert "位于" in query_terms("赵家村位于哪里？")


def test_a_question_word_takes_its_one_and_classifier_with_it():
    """哪一个城市: 一 (a digit by then) and 个 go with 哪, and literary 何年 is a question word
    too; neither becomes a term a passage must cover."""
    from rag.bm25 import query_terms

    terms = query_terms("青石镇的北边与哪一个城市相邻？")
    assert {"北边", "城市", "相邻"} <= set(terms) and "1" not in terms and "个" not in terms
    terms = query_terms("这座桥于何年建成？")
    assert "建成" in terms and not any("何" in t for t in terms)
    assert "1" not in query_terms("他是哪一年出生的？")
    assert "国家" in query_terms("他们跟哪一国家打过仗？")  # 国 starts a word: it stays
    assert query_terms("哪一家公司生产的？") == ["公司", "生产"]


def test_rare_names_split_by_jieba_still_match_as_bigrams():
    toks = tokenize("全媒体记者凌晴报道")
    assert "凌晴" in toks


@given(st.text(alphabet="長沙晚報這篇報道的記者是誰發展頭髮乾燥後來ＡＢ１２，。 \n", max_size=60))
def test_simplify_map_points_into_the_original(text):
    out, mapping = simplify_with_map(text)
    assert len(mapping) == len(out)
    assert all(0 <= m < len(text) for m in mapping)
    assert mapping == sorted(mapping)


def test_canonical_texts_converts_together_as_one_by_one():
    texts = [
        "第十三屆委員會第八次全體會議",  # numerals and abbreviations folded
        "三",  # a numeral at the end: the next text's counter must not make it a number
        "年後",
        "第",
        "十二屆人民代表大會",
        "頭髮\n乾燥",  # a line break of its own
        "ＧＤＰ１２３",
        "",
    ]
    assert canonical_texts(texts) == [canonical_terms(t) for t in texts]
    assert canonical_texts([]) == []


@given(
    st.lists(
        st.text(alphabet="一二三十年月日第屆届次全體會議長沙發展頭髮乾燥ＡＢ１２，。 \n", max_size=12),
        max_size=8,
    )
)
def test_canonical_texts_matches_canonical_terms(texts):
    assert canonical_texts(texts) == [canonical_terms(t) for t in texts]


_FOLD_ALPHABET = "长沙，。！？：；（）ＡＢｚ１２　 \n abc1\uff5e\uff5f\u3001"


@given(st.text(alphabet=_FOLD_ALPHABET, max_size=40))
def test_fold_width_translates_every_full_width_character(text):
    expected = "".join(
        " " if c == "\u3000" else chr(ord(c) - 0xFEE0) if "\uff01" <= c <= "\uff5e" else c for c in text
    )
    assert fold_width(text) == expected


def _canonical_every_step(text: str) -> str:
    """canonical_terms as first written: every step over every text, no shortcut."""
    import re

    t = numerals_to_arabic(fold_width(to_simplified(text)).lower())
    for long, short in _ABBREVIATIONS:
        t = t.replace(long, short)
    t = re.sub(r"第?(\d+)届中央委员会第?(\d+)次全会", r"\1届\2中全会", t)
    return re.sub(r"第?(\d+)届(?:[\u4e00-\u9fff]{0,6}?委员会)?第?(\d+)次全会", r"\1届\2次全会", t)


_PIECES = [
    "第",
    "十三",
    "八",
    "届",
    "屆",
    "次",
    "中央",
    "委员会",
    "委員會",
    "全体会议",
    "全會",
    "长沙市",
    "Ａ１",
    "，",
    " ",
]


@given(st.lists(st.sampled_from(_PIECES), max_size=12).map("".join))
def test_canonical_terms_takes_every_step_where_it_matters(text):
    assert canonical_terms(text) == _canonical_every_step(text)


def test_plenum_names_fold_with_and_without_the_count_word():
    assert canonical_terms("中共长沙市第十三届委员会第八次全体会议") == "中共长沙市13届8次全会"
    assert canonical_terms("十九届中央委员会第五次全体会议") == "19届5中全会"
    assert canonical_terms("长沙市第十三届委员会第八次全体会议") == "长沙市13届8次全会"
    assert canonical_terms("第八次全体会议") == "第8次全会"


def test_an_english_question_quoting_chinese_is_english() -> None:
    """An English question with a Chinese gloss is English (its answer and messages too); a
    Chinese question naming a product in English stays Chinese."""
    assert (
        detect_script("How many science and technology commissioners (科技特派员) did the county have?")
        == "en"
    )
    assert detect_script("2023年兆彩（Mega Millions）开出的头奖是多少？") == "zh-Hans"
    assert detect_script("法拉第未来FF 91 2.0 Futurist Alliance在全球限量发售多少台？") == "zh-Hans"
    assert detect_script("索尼PS5 Pro遊戲主機的最低價格是多少？") == "zh-Hant"
