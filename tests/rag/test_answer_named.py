"""Whether a candidate's article names the question's proper words (rag.answer.named)."""

from __future__ import annotations

from rag.answer.named import names, sounded
from rag.answer.question import proper_heads, proper_tails


def named(word: str, canon: str) -> bool:
    return names(word, canon, lambda: sounded(canon))


def test_a_compound_name_is_named_by_its_head() -> None:
    """杭州市政府 (one dictionary word) is named by an article about 杭州."""
    assert proper_heads("杭州市政府") == ("杭州", "杭州市")
    assert proper_heads("桦林") == ()
    assert named("杭州市政府", "杭州今年新建道路十二条。")
    assert not named("杭州市政府", "桦林今年新建道路十二条。")


def test_a_name_is_named_by_a_spelling_read_the_same() -> None:
    """Transliterations and variant forms: 赛维纳 and 塞维纳 are both read sai wei na."""
    assert sounded("赛维纳") == sounded("塞维纳") != sounded("波音")
    assert named("赛维纳", "塞维纳公司生产的飞机。")
    assert named("徐州", "徐洲今年新建道路十二条。")
    assert not named("赛维纳", "波音公司生产的飞机。")
    assert sounded("A股2023") == "A" + sounded("股") + "2023"  # what it does not read stays: A is no 阿
    assert sounded("A") != sounded("阿")


def test_a_compound_name_is_named_by_the_abbreviation_it_ends_with() -> None:
    """中国证监会 is named by an article that writes 证监会 (news of the country leaves the
    country out); a common word ending a name (杭州市政府's 市政府) names nothing."""
    assert proper_tails("中国证监会") == ("证监会",)
    assert proper_tails("杭州市政府") == ()
    assert named("中国证监会", "证监会表示，今年以来共发行上市32个项目。")
    assert not named("中国证监会", "银保监会表示，今年以来共发行上市32个项目。")
    assert not named("杭州市政府", "市政府表示，今年新建道路十二条。")
