"""What an English question asks for, beyond its words (rag.answer.english_question): the noun
a "what / which / how many X" question asks for, in Chinese; whether it asks who ("which
senator") or an amount of money ("how much did it cost"); and the units its count is written in
("how many trains": 列, 节, 班, 趟; "how fast": 公里), as a Chinese sentence writes them.
"""

from __future__ import annotations

import functools
import re

from rag.cedict_table import table
from rag.english import render, translations
from rag.span import DURATION_UNITS, LENGTH_UNITS, MONEY_UNITS, is_unit


def is_noun(word: str) -> bool:
    """Whether the English `word` can be a noun (lemminflect's tables: "meeting" can, "held" not)."""
    from lemminflect import getAllLemmas

    return "NOUN" in getAllLemmas(word.lower())


_ASKED_NOUN = re.compile(
    r"\b(?:what|which|how many|how much)\s+(?:(?:kind|sort|type)s?\s+of\s+)?([a-z]+)(?:\s+([a-z]+))?",
    re.IGNORECASE,
)
_NOT_NOUNS = frozenset(
    "is was are were be been do does did has have had can could will would shall should may might must"
    " more less".split()
)


# after "which / what / how many": the words of the noun phrase asked for, up to its head
_AFTER_WH = re.compile(
    r"\b(which|what|how many)\s+(?:(?:kind|sort|type)s?\s+of\s+)?((?:[A-Za-z][A-Za-z'-]*\s*){1,6})",
    re.IGNORECASE,
)
_PHRASE_ENDS = frozenset(
    "of in on at to by for from with about into after before since during than as that who which whose"
    " the a an this these those his her its their".split()
)
_MOST_PHRASE_WORDS = 5


@functools.lru_cache(maxsize=1_024)
def asked_head(question: str, wh: tuple[str, ...] = ("which", "what", "how many")) -> str:
    """The head of the noun phrase a "which / what / how many X" question asks for, lower case:
    its last word before a verb, an auxiliary or a preposition ("which Republican congressman
    said": congressman; "how many new energy vehicles did": vehicles; "how many people
    attended": people), a word lemminflect does not know counting as a noun (a name, BYD); ""
    where none follows (`wh`: the question words looked after)."""
    from lemminflect import getAllLemmas

    m = _AFTER_WH.search(question)
    if m is None or m.group(1).lower() not in wh:
        return ""
    head = ""
    words = [word.lower() for word in m.group(2).split()[:_MOST_PHRASE_WORDS]]
    for k, w in enumerate(words):
        kinds = getAllLemmas(w)
        if w in _NOT_NOUNS or w in _PHRASE_ENDS:
            break
        if w.endswith("ed") and "NOUN" not in kinds:
            after = words[k + 1] if k + 1 < len(words) else ""
            if "-" in w and after and after not in _PHRASE_ENDS and is_noun(after):
                continue  # an adjective before a noun, not the head ("which state-owned bank")
            break  # a verb ("which company launched", "which academy co-founded the institute")
        if kinds and not {"NOUN", "ADJ", "PROPN"} & set(kinds):
            break  # a verb or an adverb ends the phrase
        if w.endswith("ing") and "VERB" in kinds and head:
            break  # ("trains passing")
        if "VERB" in kinds and kinds["VERB"][0] != w and not w.endswith("s"):
            break  # a verb's past ("which congressman spoke": not the spoke of a wheel)
        if not kinds or "NOUN" in kinds:
            head = w
    return head


def asks_a_person(question: str) -> bool:
    """Whether a "which / what X" question's X is a word for people ("Which senator", "which
    Republican congressman": 参议员, 国会议员, a Chinese word for people, `PEOPLE_ENDINGS`): it asks
    who, as 哪位 does. Its head (`asked_head`) decides ("what new name": name, no person)."""
    head = asked_head(question, ("which", "what"))
    first = translations(head, 1) if head else []
    return bool(first and first[0]) and first[0][0].endswith(PEOPLE_ENDINGS)


@functools.lru_cache(maxsize=1_024)
def asked_noun_in_chinese(question: str) -> str:
    """The Chinese word (CC-CEDICT's commonest) of the noun a "what / which / how many X"
    question asks for ("What crime did he commit?" → 犯罪, "How many employees…" → 员工; the
    next word too where the two are one entry: "how many young people" → 年轻人), "" where the
    question word is followed by no noun ("What did she say?", "How much did…"). The noun is
    the phrase's head (`asked_head`: "which state news agency" → 机构, not its first word).
    Cached: the span choice asks it again for every cited sentence it reads."""
    nouns = asked_nouns_in_chinese(question)
    return nouns[0] if nouns else ""


@functools.lru_cache(maxsize=1_024)
def asked_nouns_in_chinese(question: str) -> tuple[str, ...]:
    """Every Chinese word CC-CEDICT gives for the noun `asked_noun_in_chinese` reads, commonest
    first ("which court": 朝廷, 宫廷, 法院, …): a sentence that writes one of them names what is
    asked in its own word (rag.answer.span_choice). () where no noun is asked."""
    m = _ASKED_NOUN.search(question)
    if m is None or m.group(1).lower() in _NOT_NOUNS:
        return ()
    head = asked_head(question)
    found = render(head or m.group(1).lower(), _ALL_SENSES)
    # (the two words as one entry only where the second is the head: "young people", 年轻人)
    if m.group(2) and m.group(2).lower() not in _NOT_NOUNS and head in ("", m.group(2).lower()):
        both = render(f"{m.group(1)} {m.group(2)}".lower(), _ALL_SENSES)
        if len(both) == 1 and [r.heads[:1] for r in both] != [r.heads[:1] for r in found]:
            found = both  # one dictionary entry for the two words
    if not found or not found[0].heads:
        return ()
    # the head and the word before it as one entry ("which town primary school": 小学, not
    # the 学院 of "school"; "which medical school": 医学院), its words first, then the head's
    prev = _before_head(question, head)
    compound = render(f"{prev} {head}", _ALL_SENSES) if prev and prev not in _NOT_NOUNS else []
    whole = compound[0] if len(compound) == 1 and compound[0].words.lower() == f"{prev} {head}" else None
    first = [*whole.heads, *whole.more] if whole is not None else []
    return tuple(dict.fromkeys([*first, *found[0].heads, *found[0].more]))


def _before_head(question: str, head: str) -> str:
    """The word right before `head` in the noun phrase a "which / what / how many" question
    asks for (`asked_head`), lower case; "" where the head opens it."""
    m = _AFTER_WH.search(question)
    if m is None or not head:
        return ""
    words = [word.lower() for word in m.group(2).split()[:_MOST_PHRASE_WORDS]]
    k = words.index(head) if head in words else 0
    return words[k - 1] if k > 0 else ""


# "how old" (or "at what age") asks an age or how long ago something was made: a count of
# years (93岁, 150年)
_HOW_OLD = re.compile(r"\bhow old\b|\bwhat age\b", re.IGNORECASE)
# "how long" asks a length of time or of a thing
_HOW_LONG = re.compile(r"\bhow long\b", re.IGNORECASE)
# "how fast", "what is its top speed": a speed, written as a length a time (300公里每小时, 时速300公里,
# 120km/h) or in a speed's own unit
_HOW_FAST = re.compile(r"\bhow fast\b|\bspeed\b", re.IGNORECASE)
SPEED_UNITS = ("公里", "千米", "米", "km/h", "马赫", "节")
# a length, a height, a distance ("how far is the nebula", "how tall", "what is the bridge's
# length"): in a length's unit (公里, 米, 光年, km)
_HOW_FAR = re.compile(
    r"\bhow (?:far|tall|high|deep|wide|thick)\b|\b(?:distance|height|altitude|elevation|depth|width|length)\b",
    re.IGNORECASE,
)
DISTANCE_UNITS = (*LENGTH_UNITS, "光年", "海里", "km", "cm", "mm")
# a weight ("how heavy", "what is its weight"): in a weight's unit
_HOW_HEAVY = re.compile(r"\bhow heavy\b|\bweight\b", re.IGNORECASE)
WEIGHT_UNITS = ("吨", "公斤", "千克", "克", "斤", "毫克", "kg", "mg")
# a temperature ("how hot", "what was the highest temperature"): in degrees (38度, 38℃)
_HOW_HOT = re.compile(r"\bhow (?:hot|cold|warm)\b|\btemperature\b", re.IGNORECASE)
TEMPERATURE_UNITS = ("度", "℃")
# an area ("what is the area of the park"): in an area's unit (平方公里, 亩, 公顷)
_AREA = re.compile(r"\barea\b", re.IGNORECASE)
AREA_UNITS = ("平方公里", "平方千米", "平方米", "亩", "公顷")
# a share ("what percentage", "what proportion"): a percentage (35%)
_SHARE = re.compile(r"\b(?:percentage|percent|proportion)\b", re.IGNORECASE)
SHARE_UNITS = ("%", "％")
# a size ("how big is the screen", "what size"): a screen's or a thing's length (6.1英寸), or an
# area (a park's, a fire's)
_SIZE = re.compile(r"\bhow (?:big|large)\b|\bsize\b", re.IGNORECASE)
SIZE_UNITS = ("英寸", "寸", *AREA_UNITS, *LENGTH_UNITS)
# a rainfall: in millimetres
_RAINFALL = re.compile(r"\b(?:rainfall|precipitation)\b", re.IGNORECASE)
RAINFALL_UNITS = ("毫米", "mm")
# each measure an English number question may name, with the units a Chinese sentence gives it
# in, the first that the question names taken (after "how many", which counts its own noun)
_MEASURES = (
    (_HOW_FAR, DISTANCE_UNITS),
    (_HOW_HEAVY, WEIGHT_UNITS),
    (_HOW_HOT, TEMPERATURE_UNITS),
    (_AREA, AREA_UNITS),
    (_SHARE, SHARE_UNITS),
    (_RAINFALL, RAINFALL_UNITS),
    (_SIZE, SIZE_UNITS),
)
# an earthquake's magnitude, a wind's or a typhoon's force: counted in 级 (5.5级)
_MAGNITUDE = re.compile(r"\bmagnitude\b|\bwhat (?:level|force|grade)\b", re.IGNORECASE)
# "how much" asks an amount of money where a verb follows it or it names money ("how much did
# they pay", "how much does it cost", "how much prize money"), not where a noun follows ("how
# much rainfall") or the question asks by how much something changed ("how much has it fallen")
_HOW_MUCH_MONEY = re.compile(
    r"\bhow much\s+(?:(?:[a-z-]+\s+)?money\b|(?:did|does|do|is|was|were|are|has|have|had|will|would|could|can|should)\b)",
    re.IGNORECASE,
)
_CHANGE = re.compile(
    r"\b(?:rise|rose|risen|rising|fall|fell|fallen|falling|grow|grew|grown|increased?|decreased?|drop(?:ped)?"
    r"|declined?|lose|lost|gain(?:ed)?|shrink|shrank|expand(?:ed)?|weigh|cut|reduced?)\b",
    re.IGNORECASE,
)


# "what was the total investment / the city's revenue / the direct economic loss": an amount
# of money too (not "price" or "value", which a stock index gives in points)
_WHAT_MONEY = re.compile(
    r"\bwhat\b[^?]*?\b(?:cost|costs|revenue|budget|income|investment|loss|losses|salary|fee|fees|valuation|gdp)\b",
    re.IGNORECASE,
)


def asks_money(question: str) -> bool:
    """Whether an English question asks an amount of money (`_HOW_MUCH_MONEY`, `_WHAT_MONEY`),
    as 多少钱 does."""
    return bool(_HOW_MUCH_MONEY.search(question) or _WHAT_MONEY.search(question)) and not _CHANGE.search(
        question
    )


# the endings of a Chinese word for people (工人, 人员, 投资者, 护士, 教师, 居民, 学生, 职工, 士兵,
# 选手): counted in 人, 名 or 位
PEOPLE_ENDINGS = ("人", "员", "者", "士", "师", "民", "生", "工", "兵", "手")
_PEOPLE_UNITS = ("人", "名", "位")
_COUNTED_SENSES = 4  # the commonest Chinese words of the noun counted whose units count
_ALL_SENSES = 1_000  # (every sense of it: one that is a unit itself comes last, 天 of "days")


def counted_in(question: str, kind: str) -> tuple[str, ...]:
    """The units an English question asking a number counts in, as a Chinese sentence writes
    them: "how old", 岁 or 年; "how long", a length of time or of a thing; "how fast", a speed's
    (公里 of 300公里每小时); a magnitude, 级; "how much" asking money, a currency's; a measure
    it names outside "how many" (`_MEASURES`: "how far", a length's, 光年 too; a weight's, a
    temperature's, an area's, a percentage, a rainfall's); "how many X", those of X's Chinese words (CC-CEDICT's senses of
    the one or two words after "many"): a word that is a unit itself (days: 天, 日), the
    classifiers the dictionary counts a word with (trains, 火车: 列, 节, 班, 趟; 个, which
    counts anything, left out), and 人, 名, 位 for a word for people (staff: 人员). None
    otherwise, or where the dictionary gives none."""
    if kind != "number":
        return ()
    if _HOW_OLD.search(question):
        return ("岁", "年")
    if _HOW_LONG.search(question):
        return DURATION_UNITS + LENGTH_UNITS
    if _HOW_FAST.search(question):
        return SPEED_UNITS
    if _MAGNITUDE.search(question):
        return ("级",)
    if asks_money(question):
        return MONEY_UNITS
    if not re.search(r"\bhow many\b", question, re.IGNORECASE):
        # a measure named: a distance, a weight, a temperature, an area, a share, a rainfall
        named = [(m.start(), units) for pattern, units in _MEASURES if (m := pattern.search(question))]
        if named:
            return min(named)[1]
    # the noun counted: the head of the words after "how many" ("medical staff", "computer
    # monitors", "new energy vehicles"), not a verb's form ("trains passing", "people attended")
    noun = asked_head(question, ("how many",))
    if not noun:
        return ()
    senses = [h for r in render(noun, _ALL_SENSES) for h in r.heads]  # commonest first
    heads = senses[:_COUNTED_SENSES]
    tab = table()
    units: list[str] = [h for h in senses if is_unit(h)]
    if any(h.endswith(PEOPLE_ENDINGS) for h in heads):
        units += _PEOPLE_UNITS
    units += [cl for cls in tab.classifiers(heads).values() for cl in cls if cl != "个"]
    return tuple(dict.fromkeys(units))
