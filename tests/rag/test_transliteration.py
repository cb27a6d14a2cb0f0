from __future__ import annotations

from rag.bm25 import cut
from rag.transliteration import latin_skeleton, pinyin_skeleton, spells


def test_latin_and_pinyin_spellings_of_a_name_share_a_skeleton() -> None:
    assert latin_skeleton("Ramaswamy") == "LMSWM"
    assert "".join(pinyin_skeleton(s) for s in ("la", "ma", "si", "wa", "mi")) == "LMSWM"
    assert latin_skeleton("Dimon") == "TMN" == pinyin_skeleton("dai") + pinyin_skeleton("meng")
    assert latin_skeleton("Messi") == "MS"  # a doubled letter is heard once
    assert latin_skeleton("Barcelona") == "PSLN"  # the r before a consonant is unheard: 巴塞罗那
    assert pinyin_skeleton("ci") == "S" and pinyin_skeleton("er") == "L"  # 茨 for "tz", 尔 for "r"


def test_a_foreign_name_is_spelled_by_whole_words_that_read_as_it() -> None:
    assert spells("Vivek Ramaswamy", cut("共和党竞选人维韦克·拉马斯瓦米称"), 3)
    assert spells("Jamie Dimon", cut("首席执行官杰米·戴蒙表示"), 3)  # the surname, the last of equals
    assert not spells("Jamie Dimon", cut("首席执行官杰米表示"), 3)
    assert not spells("Dimon", cut("中国经济发展迅速，市场活跃"), 3)


def test_a_short_skeleton_or_a_common_word_spells_nothing() -> None:
    assert spells("Messi", cut("梅西在比赛中进球"), 2)
    assert not spells("Messi", cut("梅西在比赛中进球"), 3)  # MS: too short to tell from chance
    # 发展 reads W-K-N as 瓦金 does, but it is a common word, no transliteration
    assert spells("Wakin", cut("瓦金表示"), 3)
    assert not spells("Wakin", cut("经济发展"), 3)


def test_kh_is_heard_as_k() -> None:
    # kh is one sound, heard as k (Khartoum: 喀土穆), not k then h
    assert latin_skeleton("Khartoum") == latin_skeleton("Kartoum")
