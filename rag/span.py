"""Short answers: the span of an answer sentence that answers the question (no model).

Alignment (Chinese questions): the question is cut at its wh-word (什么, 哪, 谁, 多少 …); the longest suffix
of the left part and prefix of the right part found in the sentence (anchors) frame the answer: 《X》是由哪两个
公司合作开发的 over …是由甲公司和乙公司合作开发… gives 甲公司和乙公司 (one anchor: up to the clause mark). Type
rules (person `nr`, number with unit, date, place `ns`, enumeration) refine the span or, without one, take
the kind's expression nearest the anchors. None rather than a long guess; every threshold is in SpanRules.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from rag.cedict_table import common_word
from rag.normalize import fold_width, simplified_question, simplify_with_map, to_simplified
from rag.postag import PERSON_FLAG, PERSON_FLAGS, tagged
from rag.sentence_words import Tags

logger = logging.getLogger(__name__)
Span = tuple[int, int]


@dataclass(frozen=True, slots=True)
class SpanRules:
    max_chars: int  # longest short answer kept (else None)
    max_list_chars: int  # longest enumeration kept
    min_anchor: int  # shortest question piece that counts as an anchor in the sentence
    left_skip: int  # question characters next to the wh-word that the left anchor may skip
    right_skip: int  # same for the right anchor (the type noun: 哪两个[公司]合作)
    min_name_chars: int  # shortest person or place name taken by the type rules
    max_item_chars: int  # longest item of an enumeration
    min_items: int  # fewest items an enumeration needs
    candidate_words: int  # span candidates (rag.span_features): most words in a candidate inside a clause
    candidate_clauses: int  # span model: most whole clauses in a candidate
    anchor_chars: int  # span model: characters of the question on either side of a candidate compared


# Wh-words (Simplified); a classifier right after one belongs to it (哪一年, 几个, 哪两家).
WH = re.compile(
    r"(?:为什么|为何|什么|哪些|哪个|哪里|哪儿|哪|谁|多少|何时|何地|何处|何人|何种|怎样|怎么|如何|多久|多长|多大|多高|"
    r"多远|多重|(?<![任如为])何(?!况)|几(?!乎))(?:[一二两三四五六七八九十\d]*[个位家种项条座所名年次件部本只届类支样份间首]|时候|时间|地方)?"
)
CLAUSE = "，。；！？,;!?：:\n"
# the units an amount of money is written in (4000元, 320亿美元, 5块钱, 1.5万新台币)
MONEY_UNITS = ("元", "人民币", "币", "镑", "美金", "美分", "卢比", "卢布", "泰铢", "比索", "法郎", "块", "钱")
# measures written for one another: people (多少人 is answered by 2000多名 or 3位), the hour
# of the day (几点 by 12时 or 12点), days (几天 by 拘留10日), money (多少钱 by 249.2元)
_LIKE_MEASURES = (
    ("人", "名", "位"),
    ("点", "时"),
    ("天", "日"),
    ("度", "摄氏度", "华氏度", "℃", "°C", "°F"),
    MONEY_UNITS,
)


def measures_like(measure: str) -> tuple[str, ...]:
    """The measures a count asked in `measure` may be written in (人: 人, 名 or 位)."""
    return next((family for family in _LIKE_MEASURES if measure in family), (measure,))


_EDGE = " \t\r\n，。；！？,;!?：:、.…·-—"
# the brackets and quotes that open and close a piece of text
PAIRS = {"「": "」", "『": "』", "“": "”", "‘": "’", "《": "》", "（": "）", "(": ")", "【": "】", '"': '"'}
_CLOSE = {v: k for k, v in PAIRS.items()}
_ASIDE = {"（": "）", "(": ")"}
_RUN = re.compile(rf"(?:（[^（）]*）|\([^()]*\)|[^{CLAUSE}])+")
# Grammar words that open a clause before its answer (又名X, 是X, 因X): dropped at a span's start.
_GLUE = """又名 又称 又叫 也称 亦称 简称 别称 称为 名为 叫做 意思是 即是 就是 也是 亦是 是 为 了 在 于 由 被 即
    因为 由于 因 乃 属于 属 用作 用于 位于 以 又译 译为 生于 出生于 设有 可以 可 会 它 其"""
_PREPOSITIONS = frozenset("由被在于从向以用对给跟与和为")
LEADING_GLUE = tuple(sorted(_GLUE.split(), key=len, reverse=True))
_TRAILING_GLUE = "的了"
# The count closing an enumeration (鼓、锣和板四类, 甲与乙两种) is not one of its items.
_LIST_COUNT = re.compile(
    r"(?<=[^\s、])(?:[一二两三四五六七八九十]+|\d+个)[个种类项位家条名座所大]?[\u4e00-\u9fff]*$"
)
# Where a place is given (哪里: the clause after 位于) and a reason (为什么: the clause after 因为).
_PLACE_S = re.compile(r"位于|坐落于|地处|座落于")
REASON_Q = re.compile(r"为什么|为何|原因|何故|怎么会")
_REASON_S = re.compile(r"因为|由于|因(?!此|而)")
_DIGITS = r"(?:\d[\d,.]*|[零〇○一二两三四五六七八九十百千]+)"
_MAGNITUDE = r"(?:多|余|十|百|千|万|亿)"
# the words a count is written in; a longer one before a shorter one it begins with (个小时
# before 个: the first that matches is taken), a magnitude left out (百帕 is 百 and 帕)
_UNIT_WORDS = """平方公里 平方千米 平方米 公里 千米 厘米 毫米 英里 英尺 光年 海里 公顷 公斤 千克 美元
    港元 欧元 日元 人民币 英镑 韩元 卢比 卢布 港币 美金 美分 澳元 加元 新台币 台币 泰铢 比索 法郎 元 % ％ 倍 个多小时 个小时 个多月 个月 个星期 个
    人次 人 名 位 家 座 部 种 项 场 届 条 件 岁 年 月 天 日 小时 分钟 秒
    次 吨 米 克 度 里 亩 户 册 卷 集 首 本 台 辆 架 艘 层 所 株 只 支
    篇 章 款 代 周 世纪 分 票 球 局 枚 头 匹 班 级 处 例 起 批 轮 期 份
    栋 间 张 块 根 道 遍 趟 番 摄氏度 ℃ 帕 兆瓦 瓦时 瓦 毫升 升 英寸 纳米 微米
    颗 粒 棵 瓶 杯 碗 盒 箱 袋 套 双 片 扇 盏 斤 桶 幅 幢 节 门 笔 顿 餐 针 剂 尊 副 封 则 帧 列 毫克"""
# and the Latin ones news writes for devices and speeds (5000mAh, 65W, 120km/h, 256GB), each a
# whole word (the G of 5G is none); the longer first
_LATIN_UNIT_WORDS = "km/h kWh mAh kW MW GW Wh W TB GB MB GHz MHz Hz nm mm cm km kg mg ml mL dB Mbps Gbps"
_UNITS = f"(?:{'|'.join(_UNIT_WORDS.split())}|(?:{'|'.join(_LATIN_UNIT_WORDS.split())})(?![A-Za-z]))"
_UNIT_SET = frozenset(_UNIT_WORDS.split()) | frozenset(_LATIN_UNIT_WORDS.lower().split())


UNIT_AHEAD = re.compile(_UNITS)  # a unit word starting here (364.6|公里)
# A length of time in two units or more (1小时零1分钟, 2小时30分, 3年零5个月, 1分30秒).
_DURATION = rf"{_DIGITS}(?:个多?)?(?:小时|年|天|分钟?)(?:零?{_DIGITS}(?:个多?)?(?:分钟?|秒|个月|天|小时))+"
DURATION = re.compile(_DURATION)
# A number with its magnitude, unit and a trailing 前/后/左右 or a speed's time (364.6公里, 三百多户,
# 6000年前, 300公里每小时).
# (a space may stand between a number and its magnitude or unit, as some sites write them: 2 纳米)
# (and a range of two: 4—6个月, 5至8级, 10到15人)
# (a rate's "per" too: 82.17美元/桶, 61.72元/股, 730.75美分/蒲式耳, 104mg/100ml)
_ONE_NUMBER = rf"{_DIGITS}(?: ?{_MAGNITUDE}+)?(?: ?{_UNITS}(?:人民币|前|后|左右|每小时|每秒|/(?:\d+ ?)?(?:{_UNITS}|[\u4e00-\u9fff]{{1,3}}))?)?"
NUMBER = re.compile(rf"(?:约|近|超过|逾|多达)?(?:{_DURATION}|{_ONE_NUMBER}(?:(?:至|到|—|~){_ONE_NUMBER})?)")


_PER = re.compile(r"(?:每小时|每秒|/[^/]+)$")  # a rate's "per" (每小时, /小时, /股)


def in_units(count: str, units: tuple[str, ...]) -> bool:
    """Whether the count `count` (a NUMBER) is written in one of `units` (3000名 for 名; a speed
    in its length's unit, 300公里每小时 for 公里, not in 小时; a rate in its first, 61.72元/股 in 元)."""
    return _PER.sub("", count).endswith(units)


def counts_in_units(text: str, units: tuple[str, ...]) -> bool:
    """Whether `text` (Simplified) holds a count written in one of `units` (3000名 for 名)."""
    return any(in_units(m.group(0), units) for m in NUMBER.finditer(text) if m.group(0))


# what a length of time is counted in (持续了多长时间: 三个小时, 1小时零1分钟, 3年)
# (not 月, 日 or 分, which news writes dates and times of day in: 6日 is a day of the month)
DURATION_UNITS = ("年", "个月", "个多月", "周", "星期", "天", "小时", "分钟", "秒")
# and a length (how long is the bridge: 1.2公里)
LENGTH_UNITS = ("公里", "千米", "米", "厘米", "毫米", "英里", "英尺")
# a question asking for a day (哪一天, 几号): answered with a date that names one (8月3日, not 8月)
ASKS_DAY = re.compile(r"哪一?天|几号|哪一?日|何日|什么日子")  # (几日 often asks how many days)
# a question asking a year (西元几年, 哪一年: a count of years, 3年, is no year of the calendar,
# so 几年 and 多少年 asking one let no wrong year in)
ASKS_YEAR = re.compile(r"[几幾]年|哪一?年|多少年|何年")
# a question asking for more than one person (哪些人, 哪几位, 都有谁, 分别是谁)
ASKS_PEOPLE = re.compile(r"哪些|哪几|都有谁|都是谁|分别|有谁")
# who holds a title: the words before 是谁 (…的副司令员是谁)
ASKS_WHO_IS = re.compile(r"([^\s，。、的；：,]{2,})(?:分别)?是谁")
# the last character of a verb of change before its 至 or 到 (增至, 增加到, 提高到, 下降到, 达到)
CHANGE_ENDINGS = "增加高升涨降低少减跌大小长达"
# what a change reached (提高到了多少, 增至多少, 下降到几, 达到多少): the count after the change
ASKS_REACHED = re.compile(rf"[{CHANGE_ENDINGS}](?:至|到)了?(?:多少|几)")
YEAR = re.compile(r"(?<!\d)\d{4}\s*年")  # a year of the calendar
# a month, or a month and its day, or a day, of the calendar (8月17日, 12月, 3日; not the year
# of 2023年8月, nor the 日 of 日元)
MONTH_DAY = re.compile(
    r"(?<![\d.])\d{1,2}\s*月(?:\s*\d{1,2}\s*[日号](?!元))?|(?<![\d.])\d{1,2}\s*[日号](?!元)"
)
# a question asking how long something lasted (多长时间, 多久)
ASKS_DURATION = re.compile(r"多长时间|多久|多少时间|多长的时间|多少天时间")


def is_unit(word: str) -> bool:
    """Whether `word` is one a count is written in (公里, 天, 吨)."""
    return word in _UNIT_SET


NUM_CORE = re.compile(rf"\d|[零〇○一二两三四五六七八九十百千万亿]{_MAGNITUDE}*{_UNITS}")
# (a space may stand between a date's numbers and their units: 2024 年 8 月 16 日)
_DATE_ONE = (
    rf"(?:公元前?)?(?:{_DIGITS} ?(?:年|世纪)(?:代)?(?: ?{_DIGITS} ?月(?: ?{_DIGITS} ?[日号])?)?"
    rf"|{_DIGITS} ?月(?: ?{_DIGITS} ?[日号])?"
    rf"|(?<![\d第]){_DIGITS} ?日)"  # a day alone (13日下午): news gives the month only when it is not the current one
    r"(?:初|中|末|底|初期|中期|末期|早期|晚期|后期|前期|上半叶|下半叶|上半年|下半年|第[一二三四]季度)?"
    rf"(?:{_DIGITS}[时点](?:{_DIGITS}分)?)?"
)
DATE = re.compile(rf"{_DATE_ONE}(?:(?:至|到|－|-|—|~|～){_DATE_ONE})?(?:间)?")
# a clause that ends in one of these tells a time (出征时, 引入军制后, 东汉时期, 战国时代)
_TIME_ENDINGS = tuple("时后前期间代初末")


def reads_as_time(text: str) -> bool:
    """Whether a short answer to a date question reads as a time: it holds a date (`DATE`), a
    word jieba tags as one of time (春节, 清末, 当天: "t"), or ends in a word of time."""
    return (
        DATE.search(text) is not None
        or text.endswith(_TIME_ENDINGS)
        or any(flag == "t" for _, _, flag in tagged(text))
    )


_TAGS = {"person": PERSON_FLAGS, "place": ("ns",)}  # jieba POS flags
# The noun a "what X" question names (开了什么会, 哪个委员会的驻地): the answer is a noun phrase
# headed by it. Nominal words (jieba POS) make up such a phrase.
_HEAD_NOUN = re.compile(
    r"(?:什么|哪一?[个种类家所座条项部位只]?)(?![里儿])([\u4e00-\u9fff]{1,6}?)(?=[？?，,。！!的]|$)"
)
# A span of grammar words only (之一, 等, 并) answers nothing: no short answer rather than that
# (`hollow`; rag.span_text counts these characters to tell it for every candidate at once).
HOLLOW_CHARS = frozenset(
    "一之其等并且而及与和或的了着过也都就又还再被把将对向从在于以为是有个些这那此该各每某"
)
_HOLLOW = re.compile(f"[{''.join(sorted(HOLLOW_CHARS))}]+")
_NOMINAL = ("n", "j", "m", "q", "b", "eng")


def _names(ss: str, words: Tags, tags: tuple[str, ...], rules: SpanRules) -> list[Span]:
    """Words (`words`: `ss`'s, tagged) with one of `tags`, joined across a middle dot (威廉·琼斯);
    never a word tagged a person's name that CC-CEDICT knows only as a common word, standing
    alone (jieba tags 安静 a name; the 二世 of 狄奥多西二世, transliterated, stays)."""
    spans: list[Span] = []
    named = [(a, b, flag) for a, b, flag in words if flag in tags]
    starts, ends = {a for a, _, _ in named}, {b for _, b, _ in named}
    for start, end, flag in named:
        alone = start not in ends and end not in starts
        if flag == PERSON_FLAG and alone and common_word(ss[start:end]):
            continue
        joined = spans and ss[spans[-1][-1] : start] in ("·", "•", "・")
        spans[-1:] = [(spans[-1][0], end)] if joined else [*spans[-1:], (start, end)]
    return [(s, e) for s, e in spans if e - s >= rules.min_name_chars]


def _anchor(context: str, ss: str, rules: SpanRules, *, left: bool) -> tuple[str, int]:
    """Longest suffix (left) / prefix (right) of `context` in `ss` after the fewest skipped characters."""
    skip = rules.left_skip if left else rules.right_skip
    for k in range(min(skip, len(context)) + 1):
        ctx = context[: len(context) - k] if left else context[k:]
        for n in range(len(ctx), rules.min_anchor - 1, -1):
            piece = ctx[len(ctx) - n :] if left else ctx[:n]
            if piece in ss:
                return piece, k
    return "", 0


def _clean(ss: str, a: int, b: int) -> Span | None:
    """Without edge punctuation, unpaired quotes, leading grammar words (是, 又名) and a final 的."""
    while a < b:
        glue = next((g for g in LEADING_GLUE if ss.startswith(g, a) and a + len(g) < b), "")
        if ss[a] in _EDGE or (ss[a] in PAIRS and PAIRS[ss[a]] not in ss[a + 1 : b]):
            a += 1
        elif ss[b - 1] in _EDGE + _TRAILING_GLUE or (
            ss[b - 1] in _CLOSE and _CLOSE[ss[b - 1]] not in ss[a:b]
        ):
            b -= 1
        elif glue and ss[a + len(glue)] not in _EDGE:
            a += len(glue)
        else:
            break
    return (a, b) if a < b else None


def _clause(ss: str, i: int) -> tuple[int, int]:
    """The clause (between clause marks, a bracket never cut) holding offset `i`."""
    return next(((m.start(), m.end()) for m in _RUN.finditer(ss) if m.start() <= i < m.end()), (i, i))


def _skip_aside(ss: str, a: int) -> int:
    """Past brackets and punctuation right after an anchor: 王涛（…），中国篮球教练."""
    while a < len(ss) and (ss[a] in _EDGE or (ss[a] in _ASIDE and _ASIDE[ss[a]] in ss[a:])):
        a = ss.index(_ASIDE[ss[a]], a) + 1 if ss[a] in _ASIDE else a + 1
    return a


def found_literal(literal: str, ss: str) -> list[Span]:
    """The occurrences of a literal string in `ss`, left to right, none overlapping the one
    before (as `re.finditer` of its escaped pattern finds them, without making a pattern of
    every anchor and question word: they would crowd constant patterns out of `re`'s cache);
    none for an empty one."""
    out: list[Span] = []
    if not literal:
        return out
    i = ss.find(literal)
    while i >= 0:
        out.append((i, i + len(literal)))
        i = ss.find(literal, i + len(literal))
    return out


def _align(qs: str, ss: str, rules: SpanRules, longest: int) -> tuple[Span | None, int | None]:
    """The aligned span (cleaned) and a position near the answer (for the type rules)."""
    m = WH.search(qs)
    if not m:
        return None, None
    left, right = qs[: m.start()], re.sub(r"[？?。.！!\s]+$", "", qs[m.end() :])
    la, _ = _anchor(left, ss, rules, left=True)
    ra, rk = _anchor(right, ss, rules, left=False)
    # the noun opening the right part (哪家[公司]管理) belongs to the answer
    _, noun_end, flag = tagged(right)[0] if ra and not rk else (0, 0, "")
    noun = right[:noun_end] if flag.startswith("n") else ""
    lefts = [e for _, e in found_literal(la, ss)]
    rights = [a for a, _ in found_literal(ra, ss)]
    pairs = sorted(
        (r - e, e, r) for e in lefts for r in rights if r > e and _clause(ss, _skip_aside(ss, e))[1] >= r
    )
    # (start, end, near) in order of trust: both anchors, then the longer single anchor
    tries = [(_skip_aside(ss, e), r, e) for _, e, r in pairs[:1]]
    singles = [(len(la), (a, _clause(ss, a)[1], e)) for e in lefts[:1] for a in [_skip_aside(ss, e)]]
    singles += [(len(ra) + 1, (_clause(ss, r)[0], r, r)) for r in rights[:1]]
    tries += [t for _, t in sorted(singles, reverse=True)]
    # a preposition right before the question word (由哪个公司, 在哪一年, 被谁) heads the answer
    # in the sentence too: 于1990年代由北辰置业开发 -> 北辰置业
    prep = left[-1:] if left[-1:] in _PREPOSITIONS else ""
    for a, b, near in tries:
        if noun and ss.startswith(noun, b):
            b += len(noun)
        cut = ss.rfind(prep, a, b - 1) if prep else -1
        if cut >= 0:
            a = cut + 1
        span = _clean(ss, a, b)
        if span is not None and span[1] - span[0] <= longest:
            return span, near
    return None, None


def head_noun(qs: str) -> str:
    m = _HEAD_NOUN.search(qs)
    return m.group(1) if m else ""


def _headed(head: str, qs: str, ss: str, words: Tags) -> Span | None:
    """The noun phrase of `ss` (its tagged `words`) holding `head`, the noun a "what X"
    question names (中共…第八次全体会议 for 开了什么会), when the question does not already
    hold that phrase."""
    nominal = [flag.startswith(_NOMINAL) for _, _, flag in words]
    for i, (a, b, _) in enumerate(words):
        if head not in ss[a:b] or not nominal[i]:
            continue
        lo, hi = i, i
        while lo > 0 and nominal[lo - 1]:
            lo -= 1
        while hi + 1 < len(words) and nominal[hi + 1]:
            hi += 1
        (start, _, _), (_, end, _) = words[lo], words[hi]
        span = _clean(ss, start, end)
        if span is not None and ss[span[0] : span[1]] not in qs:
            return span
    return None


def _candidates(kind: str, qs: str, ss: str, words: Tags, rules: SpanRules) -> list[Span]:
    """Expressions of the kind in the sentence, leaving out those the question names."""
    if kind in ("person", "place"):
        found = _names(ss, words, _TAGS[kind], rules)
    elif kind in ("number", "date"):
        ordinal_ok = kind == "date" or "第" in qs  # 第一场 is no count unless 第几 is asked
        found = [
            m.span()
            for m in (NUMBER if kind == "number" else DATE).finditer(ss)
            if m.group(0) and (kind == "date" or NUM_CORE.search(m.group(0)))
            if ordinal_ok or not ss[: m.start()].endswith("第")
        ]
    else:
        item = rf"[^{CLAUSE}、和及与]{{1,{rules.max_item_chars}}}"
        enum = rf"{item}(?:(?:、|和|及|与|以及){item}){{{max(rules.min_items - 1, 1)},}}"
        found = [m.span() for m in re.finditer(enum, ss)] if kind == "list" else []
    return [(s, e) for s, e in found if ss[s:e] not in qs]


def _typed(
    kind: str, qs: str, ss: str, words: Tags, span: Span | None, near: int | None, rules: SpanRules
) -> Span | None:
    """In the aligned span: a number or date becomes its whole expression (364.6 -> 364.6公里), a person
    the name, a list loses its closing count; else the span stays. Without a span (or, for a number or
    a 哪年 date, without the expression in it): the kind's expression nearest `near`."""
    cands = _candidates(kind, qs, ss, words, rules)
    wh = WH.search(qs)
    year_only = kind == "date" and wh is not None and wh.group(0).endswith("年")
    chosen: Span | None = None
    if span is not None:
        a, b = span
        inside = [(s, e) for s, e in cands if s < b and e > a]
        cut = _LIST_COUNT.search(ss, a, b) if kind == "list" else None
        if cut and re.search(r"、|和|及|与", ss[a : cut.start()]):
            return a, cut.start()
        if kind in ("number", "date", "person") and inside:
            chosen = inside[-1] if kind == "person" else inside[0]
        elif kind not in ("number", "date") or (not year_only and kind == "date" and not cands):
            return span
    if chosen is None and kind == "number" and wh is not None:
        # 多少名 / 几个: a number in another unit answers another question
        unit = re.match(_UNITS, qs[wh.end() :]) or re.search(rf"{_UNITS}$", wh.group(0))
        cands = [(s, e) for s, e in cands if not unit or unit.group(0) in ss[s:e]]
    if chosen is None and cands:
        at = near or 0  # without an anchor: the first one
        chosen = min(cands, key=lambda c: min(abs(c[0] - at), abs(c[1] - at)))
    if chosen is not None and year_only and "年" in ss[chosen[0] : chosen[1]]:
        chosen = chosen[0], ss.index("年", chosen[0]) + len("年")
    return chosen


def _whole_words(words: Tags, span: Span, left_only: bool) -> Span:
    """`span` widened to the word boundaries (jieba's `words`) of the sentence around its ends;
    a number or date keeps its end, which its own pattern found (jieba glues 9月24日 to the
    dateline's 讯 as 日讯)."""
    a, b = span
    for start, end, _ in words:
        if start < a < end:
            a = start
        if start < b < end and not left_only:
            b = end
    return a, b


def rule_span(qs: str, kind: str, ss: str, rules: SpanRules, words: Tags | None = None) -> Span | None:
    """The rules' span in `ss` (Simplified, width-folded) for the question `qs` (same form), or
    None. `words`: `ss`'s part-of-speech words when stored (else tagged here)."""
    if not qs.strip() or not ss.strip():
        return None
    words = tagged(ss) if words is None else words
    chinese = bool(re.search(r"[\u4e00-\u9fff]", qs))
    longest = rules.max_list_chars if kind == "list" else rules.max_chars
    span, near = None, None
    marker = _REASON_S if REASON_Q.search(qs) else _PLACE_S if kind == "place" else None
    if chinese and marker and (m := marker.search(ss)):  # the clause after 因为 / 位于
        end = _clause(ss, m.end())[1]
        cause = ss.find("而", m.end(), end) if marker is _REASON_S else -1  # 因X而Y: the reason is X
        span, near = _clean(ss, m.end(), cause if cause > m.end() else end), m.end()
    if span is None and chinese:
        span, near = _align(qs, ss, rules, longest)
    if chinese and kind in ("other", "place") and (head := head_noun(qs)):
        # a span without the noun asked for (什么会 -> …全体会议) gives way to the phrase it heads
        if span is None or head not in ss[span[0] : span[1]]:
            span = _headed(head, qs, ss, words) or span
    if kind in ("person", "number", "date", "place", "list"):
        span = _typed(kind, qs, ss, words, span, near, rules)
    if span is not None:
        span = _whole_words(words, span, kind in ("number", "date"))  # a rule may cut a word (常委|会)
    if span is None or span[1] - span[0] > longest or hollow(ss[span[0] : span[1]]):
        return None
    return span


def hollow(text: str) -> bool:
    """Grammar words only (之一, 等, 并): such a span answers nothing."""
    return bool(_HOLLOW.fullmatch(text))


def to_original(sentence: str, ss: str, mapping: list[int], span: Span) -> Span | None:
    """A span of `ss` (from `simplify_with_map(sentence)`) as offsets into `sentence`, or None
    when the mapped text is not the same span."""
    a, b = span
    if len(ss) == len(sentence):
        return a, b
    start, end = mapping[a], mapping[b - 1] + 1
    if fold_width(to_simplified(sentence[start:end])) != ss[a:b]:
        logger.debug("span %r not mapped back to the original sentence", ss[a:b])
        return None
    return start, end


def short_answer(question: str, kind: str, sentence: str, rules: SpanRules) -> Span | None:
    """Offsets [start, end) into `sentence` (the text as published: Simplified OR Traditional) of the
    span the rules pick answering `question`, or None when no span fits."""
    if not question.strip() or not sentence.strip():
        return None
    ss, mapping = simplify_with_map(sentence)
    span = rule_span(fold_width(simplified_question(question)), kind, ss, rules)
    return None if span is None else to_original(sentence, ss, mapping, span)
