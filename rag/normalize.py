"""Normalisation shared by both retrieval legs.

* Script: OpenCC (phrase-level) converts Traditional to Simplified for search; the
  stored original is never changed. `simplify_with_map` keeps a map back to the
  original's offsets when OpenCC changes the length.
* Width: full-width letters, digits and the ideographic space fold to ASCII.
* Terms (BM25 only, applied to documents and queries alike): Chinese numerals before
  counters become Arabic (`十二届` -> `12届`), and the long forms of common news and
  political names fold to their usual abbreviations (`全体会议` -> `全会`,
  `人民代表大会` -> `人大`, `第十二届委员会第三次全体会议` -> `12届3次全会`), so a
  question using either form matches an article using the other.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
from collections.abc import Sequence

logger = logging.getLogger(__name__)

_lock = threading.Lock()


@functools.cache
def _converter(config: str):  # type: ignore[no-untyped-def]
    import opencc

    return opencc.OpenCC(config)


def _convert(config: str, text: str) -> str:
    if not text:
        return text
    with _lock:  # the OpenCC binding is not documented as thread-safe
        return str(_converter(config).convert(text))


def to_simplified(text: str) -> str:
    return _convert("t2s", text)


# Spellings of question words that OpenCC's t2s keeps as they are: 甚麼, the usual Taiwanese
# spelling of 什麼, becomes 甚么, which no question pattern (什么…) and no stop word knows, so
# 甚麼時候 asked no date and 甚么 was a term no passage covers. Each pair has one length, and
# only questions are folded: an article quoting 甚麼 keeps its text, offsets and stored words.
_QUESTION_VARIANTS: tuple[tuple[str, str], ...] = (("甚么", "什么"),)


def fold_question_words(simplified: str) -> str:
    """A Simplified question with its question words in their usual spelling (甚么 → 什么)."""
    for variant, usual in _QUESTION_VARIANTS:
        simplified = simplified.replace(variant, usual)
    return simplified


def simplified_question(text: str) -> str:
    """A question in Simplified (`to_simplified`) with its question words in their usual
    spelling (`fold_question_words`)."""
    return fold_question_words(to_simplified(text))


def to_traditional(text: str) -> str:
    return _convert("s2tw", text)


_FW_TABLE = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)}
_FW_TABLE[0x3000] = 0x20


_FULL_WIDTH_RUN = re.compile("[\uff01-\uff5e\u3000]+")


def _fold_run(m: re.Match[str]) -> str:
    return m.group().translate(_FW_TABLE)


def fold_width(text: str) -> str:
    """Full-width ASCII (Ａ１！) to half-width; length-preserving. Only the runs of full-width
    characters are translated: `str.translate` over a whole Chinese text (where they are the
    punctuation) is twice as slow."""
    return _FULL_WIDTH_RUN.sub(_fold_run, text)


def simplify_with_map(text: str) -> tuple[str, list[int]]:
    """Simplified, width-folded text plus, for each of its characters, the offset of the
    original character it came from. Identity when OpenCC kept the length (the usual
    case); otherwise aligned piece by piece so offsets never drift past a piece."""
    out = fold_width(to_simplified(text))
    if len(out) == len(text):
        return out, list(range(len(text)))
    pieces: list[str] = []
    mapping: list[int] = []
    for m in re.finditer(r"[^\s，。！？；：、,.!?;:]+|[\s，。！？；：、,.!?;:]+", text):
        seg = m.group(0)
        conv = fold_width(to_simplified(seg))
        pieces.append(conv)
        if len(conv) == len(seg):
            mapping.extend(range(m.start(), m.end()))
        else:  # proportional inside the piece
            for i in range(len(conv)):
                mapping.append(m.start() + min(len(seg) - 1, i * len(seg) // max(1, len(conv))))
    return "".join(pieces), mapping


# ---------------------------------------------------------------- script detection

_CJK_CLASS = (
    r"[\u3400-\u9fff\uf900-\ufaff]"  # a Chinese character (CJK ideographs and their compatibility forms)
)
_CJK = re.compile(_CJK_CLASS)
_CJK_RUN = re.compile(_CJK_CLASS + "+")
_LATIN = re.compile(r"[A-Za-z]")
_ENGLISH_WORD = re.compile(r"[A-Za-z]{2,}")
_LEAST_ENGLISH_WORDS = 4  # an English question that quotes Chinese has a sentence's words around it


def chinese_runs(text: str) -> list[str]:
    """The runs of Chinese characters in `text`, left to right (智能电饭煲 of an English question
    quoting it)."""
    return _CJK_RUN.findall(text)


def detect_script(text: str) -> str:
    """ "zh-Hans", "zh-Hant" or "en": a question with no Chinese characters and some Latin
    letters, or an English one quoting a Chinese term (more English words, at least four, than
    Chinese characters: "which firm makes the 'smart rice cooker' (智能电饭煲)
    they sell?"; a Chinese question naming a product in English, 兆彩（Mega Millions）的头奖是多少, stays
    Chinese)."""
    cjk = _CJK.findall(text)
    if not cjk:
        return "en" if _LATIN.search(text) else "zh-Hans"
    english = len(_ENGLISH_WORD.findall(text))
    if english >= _LEAST_ENGLISH_WORDS and english > len(cjk):
        return "en"
    han = "".join(cjk)
    simp = to_simplified(han)
    if simp == han:  # no character that t2s changes: Simplified, whatever s2t would change
        return "zh-Hans"
    trad = to_traditional(han)
    n_trad_only = sum(1 for a, b in zip(han, simp, strict=False) if a != b)  # chars that t2s changes
    n_simp_only = sum(1 for a, b in zip(han, trad, strict=False) if a != b)  # chars that s2t changes
    return "zh-Hant" if n_trad_only > n_simp_only else "zh-Hans"


def to_script(text: str, script: str) -> str:
    return to_traditional(text) if script == "zh-Hant" else text if script == "en" else to_simplified(text)


# ---------------------------------------------------------------- numerals

_DIGITS = {
    "零": 0,
    "〇": 0,
    "○": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10000}
_NUM_CHARS = "零〇○一二两三四五六七八九十百千万"
# Counters after which a Chinese numeral is a number (not part of a word such as 一些 or 统一).
_COUNTERS = "届次个年月日号条人名项位天岁家所座件批种大点轮期版章节级代任中倍周亿元万份台辆架艘场首篇部本张"
# A numeral is a whole run of numeral characters: never the tail of one (the 万 of 3千万元)
# nor a unit after Arabic digits (3万元 and 1.5万人 stay as written, not 30元 and 1.50人).
_NUMERAL_RE = re.compile(rf"(第?)(?<![\d{_NUM_CHARS}])([{_NUM_CHARS}]{{1,8}})(?=[{_COUNTERS}])")


def chinese_to_int(s: str) -> int | None:
    """`十三` -> 13, `二〇三五` -> 2035, `一百零五` -> 105; None if not a numeral."""
    if not s or any(c not in _DIGITS and c not in _UNITS for c in s):
        return None
    if all(c in _DIGITS for c in s) and len(s) > 1:  # digit by digit: 二〇三五
        return int("".join(str(_DIGITS[c]) for c in s))
    total, section, digit = 0, 0, None
    for c in s:
        if c in _DIGITS:
            digit = _DIGITS[c]
        else:
            unit = _UNITS[c]
            if unit == 10000:  # 万 alone, as in 万人, is one 万
                section = (section + (digit if digit is not None else 0 if section else 1)) * unit
                total += section
                section = 0
            else:
                section += (1 if digit is None else digit) * unit
            digit = None
    return total + section + (digit or 0)


def numerals_to_arabic(text: str) -> str:
    def repl(m: re.Match[str]) -> str:
        n = chinese_to_int(m.group(2))
        return m.group(0) if n is None else f"{m.group(1)}{n}"

    return _NUMERAL_RE.sub(repl, text)


# ---------------------------------------------------------------- abbreviations

# Long form -> the abbreviation news uses; applied to documents and queries alike.
_ABBREVIATIONS: tuple[tuple[str, str], ...] = (
    ("人民代表大会常务委员会", "人大常委会"),
    ("人民代表大会", "人大"),
    ("政治协商会议", "政协"),
    ("常务委员会", "常委会"),
    ("党代表大会", "党代会"),
    ("代表大会", "代会"),
    ("全体会议", "全会"),
    ("纪律检查委员会", "纪委"),
    ("监察委员会", "监委"),
)
# 第13届委员会第8次全会 / 13届委员会8次全会 -> 13届8次全会 ; ...中央委员会第5次全会 -> 5中全会
_PLENUM_RE = re.compile(r"第?(\d+)届(?:[\u4e00-\u9fff]{0,6}?委员会)?第?(\d+)次全会")
_CENTRAL_PLENUM_RE = re.compile(r"第?(\d+)届中央委员会第?(\d+)次全会")
# Query-only expansions: a short name that stands for several bodies.
_QUERY_EXPANSIONS: tuple[tuple[str, str], ...] = (
    ("两会", "人大 政协"),
    ("一府两院", "政府 法院 检察院"),
)


def canonical_terms(text: str) -> str:
    """Simplified, width-folded, lower-case text with numerals and abbreviations folded."""
    return canonical_of_folded(fold_width(to_simplified(text)))


def folded_texts(texts: Sequence[str]) -> list[str]:
    """`fold_width(to_simplified(t))` of each text, converted in one OpenCC call (see
    `canonical_texts`)."""
    if len(texts) < 2:
        return [fold_width(to_simplified(t)) for t in texts]
    lines = fold_width(to_simplified("\n".join(texts))).split("\n")
    counts = [t.count("\n") + 1 for t in texts]
    if len(lines) != sum(counts):  # pragma: no cover - no conversion adds or removes a line break
        return [fold_width(to_simplified(t)) for t in texts]
    return _regroup(lines, counts)


def canonical_of_folded(folded: str) -> str:
    """`canonical_terms` of a text already Simplified and width-folded."""
    t = numerals_to_arabic(folded.lower())
    for long, short in _ABBREVIATIONS:
        t = t.replace(long, short)
    if "届" not in t:  # both plenum patterns need it; searching for them is the slow part
        return t
    t = _CENTRAL_PLENUM_RE.sub(r"\1届\2中全会", t)
    return _PLENUM_RE.sub(r"\1届\2次全会", t)


def canonical_texts(texts: Sequence[str]) -> list[str]:
    """`canonical_terms` of each text, converted together: one OpenCC call for all, joined by
    line breaks (which no conversion crosses: OpenCC's phrases, the numeral and plenum patterns
    and the abbreviations hold none), instead of one per text."""
    if len(texts) < 2:
        return [canonical_terms(t) for t in texts]
    lines = canonical_terms("\n".join(texts)).split("\n")
    counts = [t.count("\n") + 1 for t in texts]
    if len(lines) != sum(counts):  # pragma: no cover - no conversion adds or removes a line break
        return [canonical_terms(t) for t in texts]
    return _regroup(lines, counts)


def _regroup(lines: list[str], counts: list[int]) -> list[str]:
    out: list[str] = []
    at = 0
    for n in counts:
        out.append("\n".join(lines[at : at + n]))
        at += n
    return out


def expand_query(query: str) -> str:
    """Canonical query text plus expansions of names that stand for several bodies."""
    t = fold_question_words(canonical_terms(query))
    extra = [exp for short, exp in _QUERY_EXPANSIONS if short in t]
    return " ".join([t, *extra]) if extra else t
