"""What a candidate sentence must agree with in the question (rag.answer.stage drops those
that do not): the years it names, written or relative to its article's date (a question about
2022 is not answered from a sentence about 2021); the days its article names; and, for a
question asking a count in a measure (多少人), a count in it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.answer.candidates import ISO_DATE, Sentence, words_of
from rag.answer.question import MONEY, Query, days_named, years_named
from rag.normalize import fold_width
from rag.sentence_words import SentenceWords
from rag.span import measures_like

# years news names by their distance from the year it is published in (去年亏损…, 今年以来…),
# as the first characters of a word (如今|年轻 holds 今年 across two words: not a year)
_RELATIVE_YEARS = {"前年": -2, "去年": -1, "今年": 0, "明年": 1, "后年": 2}


def relative_years(words: SentenceWords, published: str | None) -> set[str]:
    """The years a sentence names relative to its article's publication (`published`, ISO):
    去年 in an article of 2023 is 2022; none when the article has no date."""
    m = ISO_DATE.match(published or "")
    if m is None:
        return set()
    out: set[str] = set()
    at = 0
    for n in words.word_lengths:
        shift = _RELATIVE_YEARS.get(words.canon[at : at + 2]) if n >= 2 else None
        if shift is not None:
            out.add(str(int(m[1]) + shift))
        at += n
    return out


def sentence_years(s: Sentence) -> set[str]:
    """The years a sentence names: written, or relative to its article's date (`relative_years`)."""
    return years_named(s.canon) | relative_years(words_of(s, tags=False), s.hit.published)


def other_years(q: Query, s: Sentence) -> bool:
    """The sentence names years, none of them one the question names."""
    named = sentence_years(s)
    return bool(named) and not named & q.years


def article_of_other_years(q: Query, article: str, sents: Sequence[Sentence]) -> bool:
    """A dated article (news) neither published in a year the question names nor naming one,
    in its title and text (`article`; written anywhere: 1848 in 1848的选举) or its candidate
    sentences (`sents`, relative to its date: 去年): it is about its own year or the others it
    names, and none of its sentences answers (an undated one neither). An
    undated article (a reference text, which writes years more freely: 20世纪50年代 for 1950年代)
    is judged sentence by sentence only (`other_years`)."""
    published = ISO_DATE.match(sents[0].hit.published or "") if sents else None
    if published is None or published[1] in q.years:
        return False
    text = fold_width(article)
    named = years_named(text).union(*(sentence_years(s) for s in sents))
    return not named & q.years and not any(re.search(rf"(?<!\d){y}(?!\d)", text) for y in q.years)


# a day followed by a range or more days (8月4日至6日, 8月4日—8月6日, 8月4日、5日): the days it
# covers are not all written as month and day
_MORE_DAYS = re.compile(r"[日号]\s*(?:至|到|—|–|-|~|～|、|和|与|及|或)\s*\d")
# a day as news writes one of this month (5日，; 5日上午), not a count of days (近5日, 5日内)
_BARE_DAY = re.compile(r"(?<![\d月近前后每数满隔])(\d{1,2})日(?![内以来])")


def names_day(q: Query, text: str) -> bool:
    """`text` names a day the question names (8月5日, or just 5日), or a range of days that may hold it."""
    asked = {d for _, d in q.days}
    return (
        bool(days_named(text) & q.days)
        or any(int(d) in asked for d in _BARE_DAY.findall(text))
        or bool(_MORE_DAYS.search(text))
    )


def other_days(q: Query, article: str) -> bool:
    """The article names days (8月4日) but never one the question names: it is about other days.
    (Where it names the asked day, a sentence dated otherwise may tell what led to it, and stays.)"""
    text = fold_width(article)
    return bool(days_named(text)) and not names_day(q, text)


# a number (digits, or numerals as written), "多/余/几" after it, and a power of ten (2000多名,
# 30余人, 1.5万人, 三千余人)
_COUNT = r"(?:\d[\d.,]*|[零〇一二两三四五六七八九十百千万亿]+)\s*[多余几]?\s*[万亿千百十]?\s*"
# a number standing alone: at a clause's end or before a Latin unit (约有80万，; 25km; 28℃),
# not a score, a time or an ordinal (4:1, 8:00, 第2。), nor a share (100%), nor the end of a
# model's code (the 1 of M1A1，)
_BARE_COUNT = re.compile(rf"(?<![\d.,:：第A-Za-z]){_COUNT}(?=[，。；！？、,;!?）)\s]|[a-zA-Z℃°]|$)")
# 多少钱 asks an amount of money: a number in a currency (4000元, 3万美元, 9800日元, 5块钱) or
# after a currency's sign (¥120, $5)
_AMOUNT = re.compile(rf"{_COUNT}(?:[美欧日港韩台澳加]?元|英?镑|港币|美金|卢布|法郎|块)|[¥￥$€£]\s*\d")


def counts_in(canon: str, measure: str) -> bool:
    """Whether a sentence's canonical text holds a number counted in `measure` (`Query.measure`:
    多少人 → 36万人, 2000多名; 几岁 → 9岁; 多少钱 → 4000元, $5), or a number standing alone, which
    may be one (约有80万，)."""
    if _BARE_COUNT.search(canon):
        return True
    if measure == MONEY:
        return bool(_AMOUNT.search(canon))
    # (a count in 日 is no day of a month: 4月7日 counts no days)
    return any(
        re.search(("(?<![月\\d.,])" if m == "日" else "") + _COUNT + re.escape(m), canon)
        for m in measures_like(measure)
    )
