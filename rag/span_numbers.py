"""The numbers and dates of a sentence as short-answer candidates see them: which number is a
whole count or date (not a model's code, not a day of the calendar), which parts of a text are
calendar dates or pieces of a length or a range, and the units a count is asked in.
`rag.span_features` narrows its candidates with these; `rag.answer.choose` reads whole
expressions for questions in another language.
"""

from __future__ import annotations

import functools
import re

from rag.span import DATE, DURATION, DURATION_UNITS, NUMBER, Span, in_units, is_unit, measures_like

# a date that names a month, a day or a year of the calendar (not a count of years: 3年)
CALENDAR = re.compile(r"[月日号]|\d{4}年")
DAY = re.compile(r"[日号]")
# a clock time after a day: the stamp of a page's publication, which news heads its text with
# ("来源：X日报 | 2023年07月28日 11:01:23，正文："), not the day of what it tells
CLOCK = re.compile(r"\s*\d{1,2}:\d{2}")
_RANGE = re.compile(r"\d[^\d]*(?:至|到|—|~)")  # a range of two numbers (3—5个月)
# a digit or a numeral below ten (a magnitude alone is none: the 千 of 千米, the 百 of 百分)
NUMERAL = re.compile(r"[\d零〇○一二两三四五六七八九十半]")


def in_code(ss: str, a: int, b: int) -> bool:
    """Whether the number `ss[a:b]` is part of a code of Latin letters and digits, a digit of it
    touching a letter (the 9950 of 9950HX, the 5 of DDR5 or 5G), or is bare digits after a
    Latin word and a space (the 4 of HarmonyOS 4, the 5 of Galaxy Z Flip 5): a model's name or
    version, no count (not 300亿美元 of a title run into its text, 300亿美元Apex; not 64 个核心)."""
    return (
        (a > 0 and ss[a].isdigit() and ss[a - 1].isascii() and ss[a - 1].isalpha())
        or (b < len(ss) and ss[b - 1].isdigit() and ss[b].isascii() and ss[b].isalpha())
        or (
            a >= 2
            and ss[a - 1] == " "
            and ss[a - 2].isascii()
            and ss[a - 2].isalpha()
            and ss[a:b].isdecimal()
        )
    )


# a day of the month alone (25日, 十日), which a question counting days reads as a count
# (拘留十日); after a month (8月25日) it is a day of the calendar whatever is asked
_DAY_ALONE = re.compile(r"(?:\d+|[零〇○一二两三四五六七八九十百千]+)\s*日")


def counts_days(units: tuple[str, ...]) -> bool:
    """Whether a count asked in `units` may be one of days written in 日 (`units_of`: 天, 日)."""
    return "日" in units


def _calendar_days(ss: str, days_counted: bool) -> tuple[Span, ...]:
    """The calendar dates of `ss` (DATE matches naming a month, a day or a year), but for a day
    alone where days are counted (`days_counted`: 拘留10日 is a count)."""
    return tuple(
        m.span()
        for m in DATE.finditer(ss)
        if CALENDAR.search(m.group(0)) and not (days_counted and _DAY_ALONE.fullmatch(m.group(0)))
    )


_BARE_NUMERAL = re.compile(r"[零〇○一二两三四五六七八九十百千]+")
_BARE_YEAR = re.compile(r"(?:19|20)\d\d")  # a year written without 年 (WAIC 2023, 2023中国…)


def no_count(number: str) -> bool:
    """Whether a NUMBER match reads as no count: Chinese numerals without a unit (the 三 of
    三星, the 两 of 两岸), a year without its 年 (WAIC 2023), or 一 and a unit, which is mostly
    "a" (一名男子, 一起事故, 新一代), but for a length of time (一个多月, 一天)."""
    text = number.replace(" ", "")
    one = text.startswith("一") and is_unit(text[1:]) and text[1:] not in DURATION_UNITS
    return one or bool(_BARE_NUMERAL.fullmatch(text) or _BARE_YEAR.fullmatch(text))


# an English question's number written as a length of time ("in 20 days", "for 3 hours")
_TIMED = re.compile(r"(\d+)\s*(?:days?|hours?|minutes?|weeks?|months?|years?)\b", re.IGNORECASE)


def whole_expressions(
    question: str, kind: str, ss: str, *, days_counted: bool = False, units: tuple[str, ...] = ()
) -> list[Span]:
    """The whole number (`kind` "number") or date ("date") expressions of the Simplified text
    `ss` that `question` does not write (its digits; a date that adds to them is not written),
    but for a count in one of the `units` it asks in whose digits the question writes only as a
    length of time (an English question's "how much weight did he lose in 20 days" does not
    write the 20斤 it asks): a number is no day of the calendar (the 8月 of 8月1日, 25日; but for a day alone where the
    question counts days, `days_counted`); a count of years (3年) is one, an ordinal (第三届)
    none, nor `no_count`'s."""
    asked = set(re.findall(r"\d+", question))
    timed = set(_TIMED.findall(question)) if units and not set(units) & set(DURATION_UNITS) else set()
    whole = [
        m.span()
        for m in (NUMBER if kind == "number" else DATE).finditer(ss)
        if m.group(0)
        and (
            not (shared := (digits := set(re.findall(r"\d+", m.group(0)))) & asked)
            or (shared <= timed and in_units(m.group(0), units))
            # a date that tells more than the question writes ("on what date in 2023": 2023年5月12日)
            or (kind == "date" and not digits <= asked)
        )
        and not in_code(ss, *m.span())
        and not (kind == "number" and (ss[max(0, m.start() - 1) : m.start()] == "第" or no_count(m.group(0))))
    ]
    if kind == "number":
        days = _calendar_days(ss, days_counted)
        whole = [(a, b) for a, b in whole if not within(days, a, b)]
    return whole


@functools.lru_cache(maxsize=1_024)
def calendar_parts(ss: str, days_counted: bool = False) -> tuple[Span, ...]:
    """The calendar dates of the sentence `ss` (a month, a day or a year of four digits:
    8月15日, 16时37分 after a day, 2023年), no part of which is a count (the 37分 of 16时37分);
    and the parts of a length of time in two units or of a range (the 1分钟 of 1小时零1分钟, the
    5个月 of 3—5个月); a day alone is a count where days are (`days_counted`). Asked for twice of
    a sentence (`SpanCandidates.measured`, `counts_in`)."""
    dates = _calendar_days(ss, days_counted)
    whole = [m for m in NUMBER.finditer(ss) if DURATION.match(m.group(0)) or _RANGE.search(m.group(0))]
    parts = [(a, b) for m in whole for a, b in ((m.start(), m.end() - 1), (m.start() + 1, m.end()))]
    return (*dates, *parts)


def within(spans: tuple[Span, ...], a: int, b: int) -> bool:
    """Whether `a`..`b` lies within one of `spans` (`calendar_parts`'s: a part of a date or a range;
    the converse of `_inside`)."""
    return any(c <= a and b <= d for c, d in spans)


def units_of(measure: str | tuple[str, ...]) -> tuple[str, ...]:
    """The units a count asked in `measure` is written in: a Chinese question's measure and its
    like (`measures_like`: 人 → 人, 名, 位), or the units themselves (an English question's,
    rag.answer.english_asked.counted_in); none for ""."""
    if isinstance(measure, tuple):
        return measure
    return measures_like(measure) if measure else ()
