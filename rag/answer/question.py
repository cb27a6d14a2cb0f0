"""The question, analysed once: script, the text retrieval searches with, its terms and their
weights' kind, the kind of answer asked for and the years it names (one `Query` record
passed to every later step of the answer stage)."""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from rag.answer.english_asked import PEOPLE_ENDINGS, asked_noun_in_chinese, asks_a_person, asks_money
from rag.answer.english_question import (
    ALTERNATIVES,
    EN_YEAR,
    HOW_MEASURE,
    asked_in_chinese,
    english_dates,
    english_terms,
)
from rag.answer.policy import Policy
from rag.bm25 import cut, cut_for_search, is_word, query_terms, tokenize_query
from rag.cedict_table import headword, table
from rag.normalize import canonical_terms, detect_script, simplified_question, to_simplified
from rag.postag import tagged
from rag.span import WH


@dataclass(slots=True)
class Query:
    text: str  # as asked
    script: str  # zh-Hans | zh-Hant | en
    search_text: str  # what retrieval and term coverage use
    simplified: str  # search_text in Simplified, lower case
    kind: str  # person | number | date | place | list | other
    list_of_people: bool = False
    terms: list[str] = field(default_factory=list)  # an English word's alternatives joined by "|"
    light: set[str] = field(default_factory=set)  # terms that weigh less (answer-type nouns, meta words)
    carried: set[str] = field(default_factory=set)  # terms carried over from earlier turns
    # terms naming whom or what the question is about: an English question's names, a
    # follow-up's people its pronouns stand for (他 → 陈江); an answer's passage names each
    names: set[str] = field(default_factory=set)
    # a Chinese question's proper words (`proper_words`: 王晓岚, 桦林, 日本), canonical: an
    # article lacking one is likely about a look-alike subject (a feature of "not found")
    proper: frozenset[str] = frozenset()
    # a place of `proper` the question writes right before another proper word, which it
    # places (上海 of 上海杨浦, 荆门 of 荆门市东宝区) -> that word: an article that names the
    # place within names the place too, as local news leaves out its own city
    within: dict[str, str] = field(default_factory=dict)
    # an English question's names kept in Latin letters that are no romanized Chinese name
    # ("vivek ramaswamy", "dimon"): a passage also names one by spelling it by sound (拉马斯瓦米)
    foreign: frozenset[str] = frozenset()
    # an English question's names that read as pinyin and that the index holds as no word
    # ("jinshilong": jieba cuts 金石|龙): a passage names one by writing characters read so
    pinyin: frozenset[str] = frozenset()
    # an English question's names the dictionary renders whose word reads as pinyin, by that
    # word ("西陵|西陵区": "Xiling"): a passage also names one by writing other characters read
    # so (西岭), as an article spells a place the dictionary spells otherwise
    sounds: dict[str, str] = field(default_factory=dict)
    years: frozenset[str] = frozenset()  # years the question names (2022年)
    days: frozenset[tuple[int, int]] = frozenset()  # (month, day) of the dates it names (8月5日)
    asks_year: bool = False  # 哪年 / what year: a year, not any date, answers
    # an English term's further Chinese words (the dictionary's senses past the commonest
    # `en_words_per_term`, which are searched with): alternatives where the retrieved passages
    # hold them (rag.answer.features.widened): "save" is 保存|存储, and 节省 in a passage on money
    more: dict[str, tuple[str, ...]] = field(default_factory=dict)
    measure: str = ""  # what a count is asked in (多少人 → 人, 几岁 → 岁; `asked_measure`), canonical
    tokens: list[str] = field(default_factory=list)  # BM25 tokens of search_text (rag.bm25)
    # the question a short answer is read against: `text`, or what an elliptical follow-up
    # asks in full (涉案金额呢 → 涉案金额多少支？, see rag.conversation.Rewrite.asks), or an
    # English question's Chinese words and question word (`asked_in_chinese`)
    asks: str = ""
    # search_text embedded in its Simplified form (rag.retrieve.query_vector): set once, by
    # the first search
    vector: np.ndarray | None = None


# Question words of the answer kinds (Chinese and English grammar, not vocabulary of any
# evaluation set); the first kind whose pattern matches wins.
_KIND_PATTERNS_ZH: tuple[tuple[str, str], ...] = (
    ("list", r"哪些|哪几|有谁|都有谁|哪[两三四五六七八九十\d]+[个项条位家种名所座]|列举|分别是"),
    (
        "date",
        # (日期 as a word: not the 日 of a day and a 期间 after it, 2月23日期间)
        r"哪一?天|什么时候|何时|几时|何年|何月|何日|哪一?年|几月|几号|几日|什么日子|(?<![\d一二三四五六七八九十])日期"
        r"|哪一?个月|什么时间|哪个年代|什么年代",
    ),
    ("person", r"谁|哪一?位|什么人|何人|哪一?个人"),
    ("number", r"多少|几|多大|多长|多高|多远|多重|多久|多快|百分之几"),
    (
        "place",
        r"哪里|哪儿|何地|何处|在哪|哪一?[国座省州县]|哪一?个?(?:国家|城市|省份|地区|地方|大洲|半岛)"
        r"|什么(?:地方|地区|国家|城市)",
    ),
)
# a Chinese question asking the name of someone named by a word for people (空勤员叫什么名字,
# 校长的名字是什么): who, as 谁 asks; a thing's name (主题曲叫什么名字) is no person
_NAME_ASKED = re.compile(f"[{''.join(PEOPLE_ENDINGS)}长](?:的?名字是什么|叫什么|叫做什么|名叫什么)")
_KIND_PATTERNS_EN: tuple[tuple[str, str], ...] = (
    # ("which year were they found" asks a date, not a list)
    (
        "list",
        r"\bwhich\b(?!\s+(?:year|date|day|month|time)\b).*\b(are|were)\b|\blist\b|\bwho (attended|were)\b"
        r"|\bwhat are\b",
    ),
    ("date", r"\bwhen\b|\bwhat (year|date|day|month|time)\b|\bwhich (year|day)\b"),
    ("person", r"\bwho\b|\bwhom\b"),
    (
        "number",
        rf"\bhow (many|much)\b|{HOW_MEASURE}"
        # "what (is the) price", and a measure named with up to four words before it, none a
        # preposition ("what is the expected starting price", "what target price", "what was
        # the city's GDP", "what was the river city's total export value"; not "what is the
        # reason for the price rise")
        r"|\bwhat (?:(?:is|was|are|were|will be) (?:the|its|their|(?:[a-z-]+ ){0,2}[a-z'-]+'s) )?"
        r"(?:(?!(?:of|for|in|on|at|to|with|by|from)\b)[a-z'-]+ ){0,4}"
        r"(percentage|percent|share|proportion|fraction|number|amount|sum|price|rate|magnitude|speed"
        r"|weight|capacity|pressure|height|length|distance|depth|width|altitude|area|size|volume"
        r"|population|temperature|cost|value|valuation|revenue|budget|income|output|salary|fee|rainfall|gdp|investment|loss|losses"
        r"|sales|turnover|profits?|earnings)\b",
    ),
    (
        "place",
        r"\bwhere\b|\b(which|what) (city|country|province|place|state|region|county|town|village|district"
        r"|island|continent|location)\b",
    ),
    # any other wh-word: a question's own, so a later "when" is a clause's ("What did she say
    # when …?" asks no date); last, so a more telling pattern at the same word wins
    ("other", r"\b(what|which|why|how|whose)\b"),
)
_COUNT_FLAGS = ("m", "q")  # jieba's numerals and measure words
_ASKS_YEAR = re.compile(r"哪一?年|何年|what year|which year")
_PEOPLE_LIST = re.compile(r"出席|参加|列席|参会|到会|attend|present")
_YEAR_NUMBER = re.compile(r"(?<!\d)(\d{4}) ?年")  # news may space it: 2021 年
# A written date (2019年9月24日, 9月24日, 2019年): kept whole as terms (a year and a month-day),
# since cutting it into words glues its last character to the next word (24日开).
_DATE_TERMS = re.compile(r"(?<!\d)(?:(\d{4}年)(?:(\d{1,2}月(?:\d{1,2}[日号])?))?|(\d{1,2}月\d{1,2}[日号]))")
# Words about the article itself (这篇报道的记者), not its content.
META_WORDS = frozenset("这篇 本文 该文 文章 报道 报导 新闻 消息 采访 专访 记者 文中 稿件".split())
# Words that point at the context or add a clause (这次全会, 而且), not content of their own.
POINTER_WORDS = frozenset("这次 此次 本次 那次 当时 这时 此时 这天 当天 而且 并且".split())
# Light verbs: they carry the voice or aspect of the real verb or noun (受到…处分 is written
# 给予…处分; 进行调查 is 调查), so the text often says them otherwise.
LIGHT_VERBS = frozenset("受到 遭到 得到 予以 给予 加以 进行 作出 做出".split())
# Negation followed by a contrast: "not A but B" (谁没有参加全会但列席了会议) asks about B; the
# words of A say what the answer is not. A plain negation (为什么不录用他) is part of what the
# answer sentence says, and stays.
NEGATORS = frozenset("不 没 没有 未 未曾 并未 从未 从没 尚未 不是 并非".split())
CONTRASTS = frozenset("但 但是 而 而是 然而 却 可是 只是".split())
CLAUSE_BREAKS = CONTRASTS | frozenset("， , 。 ？ ? ！ ! ； ;".split())
# the noun after a question word names the answer's kind (什么职务, 哪一家企业); after 哪年, 哪一天,
# 哪次 the unit is what is asked, and what follows is the question's verb (哪一年上映), no noun
_TYPE_NOUN = re.compile(
    r"(?:什么|哪个|哪些|哪(?!一?[年天月日次届])一?[个位家种项条座所]?|几[个位项名种条家所座])"
    r"([\u4e00-\u9fff]{1,3}?)(?=[？?，,。的]|$)"
)


def referent_terms(people: Sequence[str], terms: Sequence[str]) -> set[str]:
    """The terms that name `people`: each one's name as a term, or else the terms of two
    characters or more inside it (jieba may split a name: 姆巴 / 佩)."""
    out: set[str] = set()
    for person in people:
        name = to_simplified(person).lower()
        out |= {name} if name in terms else {t for t in terms if len(t) >= 2 and t in name}
    return out


def years_named(text: str) -> set[str]:
    """The four-digit years written as 2022年 (or 2022 年) in (canonical) text."""
    return set(_YEAR_NUMBER.findall(text))


_MONTH_DAY = re.compile(r"(?<!\d)(\d{1,2})月(\d{1,2})[日号]")


def days_named(text: str) -> set[tuple[int, int]]:
    """The days written as 8月5日 (or 8月5号) in (canonical) text, as (month, day)."""
    return {(int(m), int(d)) for m, d in _MONTH_DAY.findall(text)}


# numerals a measure word may carry in (几十个, 几千年): not part of the measure
_NUMERALS = "零〇一二两三四五六七八九十百千万亿"
# what may follow 多少 as a numeral-tagged word of its own and is an approximation, or the first
# character of the next noun, never a measure: 多少多|酚 (polyphenols), 多少多余, 多少余|人
_APPROXIMATE = "多余几"
# 个 is the counter Chinese drops most (1024个核心 is written 1024 核心): it says nothing of
# what the count must be written in (钱 does: an amount in a currency, rag.answer.counts_in)
_OPEN_MEASURES = frozenset({"个"})
# 这几年, 那几天, 前几名, 只有几座: 几 as "a few", not a question
_FEW = re.compile(r"(?:这|那|前|后|只有)$")


def _classifier(char: str) -> bool:
    """Whether jieba's dictionary tags `char`, alone, a classifier (张, 名, 位, 台)."""
    return tagged(char)[0][2] == "q"


def asked_measure(simplified: str) -> str:
    """What a Chinese question asks a count in, canonical: the measure word (jieba's classifier
    or numeral words, or a one-character noun) after its 多少 or 几 (多少人 → 人, 多少台 → 台,
    几岁 → 岁, 多少平方公里 → 平方公里, 几天几夜 → 天; 多少钱 → 钱, an amount of money in any
    currency); "" when it names none, or one `_OPEN_MEASURES` holds."""
    words = [(simplified[a:b], flag, a) for a, b, flag in tagged(simplified)]
    for i, (word, flag, at) in enumerate(words):
        wh = next((w for w in ("多少", "几多", "几") if word.startswith(w)), None)
        if flag != "m" or wh is None or (wh == "几" and _FEW.search(simplified[:at])):
            continue
        rest = word[len(wh) :].lstrip(_NUMERALS)
        if not rest and i + 1 < len(words):
            after, after_flag, _ = words[i + 1]
            if after_flag in ("q", "m") or (len(after) == 1 and after_flag.startswith("n")):
                rest = after.lstrip(_NUMERALS + (_APPROXIMATE if after_flag == "m" else ""))
            elif after_flag.startswith("nr") and _classifier(after[0]):
                # a surname that is a classifier, read into a name with what follows (多少|张王|海报:
                # 多少张王海报): no name is counted right after 多少, the classifier is the measure
                rest = after[0]
        rest = rest.split("几")[0]  # 几天几夜: the first measure
        return "" if not rest or rest in _OPEN_MEASURES else canonical_terms(rest).strip()
    return ""


# the measure of a question asking an amount of money (多少钱; an English "how much did it cost")
MONEY = "钱"


def query_measure(simplified: str, script: str, kind: str) -> str:
    """`Query.measure`: `asked_measure` of a Chinese question asking for a number; of an English
    one asking an amount of money (`asks_money`), 钱, as 多少钱 asks; else ""."""
    if kind != "number":
        return ""
    if script == "en":
        return MONEY if asks_money(simplified) else ""
    return asked_measure(simplified) or (MONEY if asks_an_amount(simplified) else "")


# the English senses of a word for an amount of money (CC-CEDICT's Chinese words for them:
# 价格, 资金, 收入, 投资, 费用…), none of them a sense of anything else ("fine" is also 好,
# "capital" 首都)
_MONEY_SENSES = (
    "price cost fee fees funds money revenue income investment salary budget profit donation payment"
)
# what may stand between the noun and its 多少 (价格是多少, 资金约为多少)
_TO_THE_COUNT = frozenset("是 为 约 约为 大约 达 达到 有 共 共计 总计 将 了".split())


@functools.lru_cache(maxsize=1)
def _money_words() -> frozenset[str]:
    tab = table()
    return frozenset(h for sense in _MONEY_SENSES.split() for h in tab.heads(sense))


def asks_an_amount(simplified: str) -> bool:
    """Whether a Chinese question asks an amount of money by its noun (价格是多少, 投放了多少资金:
    a noun CC-CEDICT gives for price, funds, income…, right after its 多少, or a word for one
    right before it where no noun follows), as 多少钱 does; not 花费多少时间 (a length of time), 花费多少越南盾
    (a currency the count is written in)."""
    words = [(simplified[a:b], flag) for a, b, flag in tagged(simplified)]
    money = _money_words()
    for k, (w, _) in enumerate(words):
        if w != "多少":
            continue
        if k + 1 < len(words) and words[k + 1][1].startswith("n"):
            return words[k + 1][0] in money  # the noun counted (多少资金; not 多少时间, 多少越南盾)
        before = k - 1
        while before >= 0 and words[before][0] in _TO_THE_COUNT:
            before -= 1
        return before >= 0 and words[before][0] in money
    return False


# jieba's part-of-speech flags of proper names: a person, a place, an organisation, another
# proper noun, a transliterated name, a foreign person's name
PROPER_FLAGS = frozenset({"nr", "ns", "nt", "nz", "nrt", "nrfg"})


# jieba's tags of words that join or qualify the content words rather than name them:
# conjunction (以及, 由于), preposition (对于), adverb (曾经, 通常), pronoun (其中), auxiliary,
# modal particle, interjection (each tag's first letter, with its sub-tags: uj, rr, dg; but
# "eng", a Latin word, is no interjection: GDP, CEO, iPhone name things)
FUNCTION_FLAGS = ("c", "p", "d", "r", "u", "y", "e")
_LATIN_FLAG = "eng"


def function_words(simplified: str) -> set[str]:
    """The canonical words of a Chinese question (Simplified) that jieba tags as function
    words (`FUNCTION_FLAGS`)."""
    return {
        canonical_terms(simplified[a:b]).strip()
        for a, b, flag in tagged(simplified)
        if flag.startswith(FUNCTION_FLAGS) and flag != _LATIN_FLAG
    }


def proper_words(
    simplified: str,
    known: Callable[[Sequence[str]], list[bool]] | None = None,
    common: Callable[[list[str]], frozenset[str]] | None = None,
) -> frozenset[str]:
    """The words of a Chinese question (Simplified) that name whom or what it is about, in
    canonical form: the words of jieba's dictionary it tags as proper names (a person, a
    place, an organisation, another proper noun), and the names its HMM finds for a run the
    dictionary does not hold (a person's full name, 王晓岚 or 郑澜; a brand's) that the
    index holds too (`known`; without it, all): a run the HMM joined across the question's
    words (X和浩泽's 和浩泽) is in no article. Numbers, the question's wh-phrase and
    the noun it asks about (什么东西's 东西, 哪个城市's 城市: jieba tags both as places) are none,
    and so is a word CC-CEDICT knows only as a common word (`common`, by default its table:
    jieba tags 范畴 and 籍贯 as person names)."""
    asked = [m.span() for m in WH.finditer(simplified)] + [m.span(1) for m in _TYPE_NOUN.finditer(simplified)]
    found: dict[str, bool] = {}  # canonical word: whether the dictionary holds it
    for a, b, flag in tagged(simplified):
        w = simplified[a:b]
        if flag not in PROPER_FLAGS or b - a < 2 or any(c.isdigit() for c in w):
            continue
        if any((x < b and a < y) or y == a for x, y in asked):  # inside a wh-phrase, or right after one
            continue
        canon = canonical_terms(w).strip()
        if len(canon) >= 2:
            found[canon] = found.get(canon, False) or is_word(w)
    if found:
        for w in (common or table().common_only)(list(found)):
            del found[w]
    unknown = [w for w, sure in found.items() if not sure]
    held = dict(zip(unknown, known(unknown), strict=True)) if known is not None and unknown else {}
    return frozenset(w for w, sure in found.items() if sure or held.get(w, known is None))


def places_within(simplified: str, proper: frozenset[str]) -> dict[str, str]:
    """The proper words of a Chinese question (Simplified; `proper`, canonical) that are
    places jieba tags (ns) written right before another of its proper words (上海杨浦,
    荆门市东宝区), each -> the word after it (`Query.within`)."""
    words = [(canonical_terms(simplified[a:b]).strip(), flag, a, b) for a, b, flag in tagged(simplified)]
    return {
        w: after
        for (w, flag, _, b), (after, _, a, _) in itertools.pairwise(words)
        if flag == "ns" and b == a and w in proper and after in proper and after != w
    }


@functools.lru_cache(maxsize=4096)
def proper_heads(word: str) -> tuple[str, ...]:
    """The proper names a compound proper word (canonical) starts with: its search-mode
    sub-words at its start, of two characters or more, that jieba tags as proper names on
    their own (杭州市政府: 杭州, 杭州市; 桦林: none)."""
    heads = []
    for part in cut_for_search(word):
        if 2 <= len(part) < len(word) and word.startswith(part):
            t = tagged(part)
            if len(t) == 1 and t[0][2] in PROPER_FLAGS:
                heads.append(part)
    return tuple(dict.fromkeys(heads))


@functools.lru_cache(maxsize=4096)
def proper_tails(word: str) -> tuple[str, ...]:
    """The abbreviations a compound proper word (canonical) ends with after a proper name it
    starts with (`proper_heads`): its search-mode sub-words at its end that jieba tags as an
    abbreviation on their own (中国证监会: 证监会, as news of the country writes it)."""
    heads = proper_heads(word)
    tails = []
    for part in cut_for_search(word):
        if 2 <= len(part) < len(word) and word.endswith(part) and word[: -len(part)] in heads:
            t = tagged(part)
            if len(t) == 1 and t[0][2] == _ABBREVIATION:
                tails.append(part)
    return tuple(dict.fromkeys(tails))


_ABBREVIATION = "j"  # jieba's tag of an abbreviation (证监会, 发改委)


def negated(text: str) -> list[str]:
    """The stretches of `text` (Simplified) a negator governs when a contrast follows them:
    A of "没有A但B", "不是A而是B"."""
    scopes: list[str] = []
    inside: list[str] | None = None
    for w in cut(text):
        if w in NEGATORS:
            inside = []
        elif w in CLAUSE_BREAKS:
            if inside and w in CONTRASTS:
                scopes.append("".join(inside))
            inside = None
        elif inside is not None:
            inside.append(w)
    return scopes


def _count_word(simplified: str, start: int, end: int) -> bool:
    """Whether the number question word at `start:end` of the question is one: not a piece of
    a word CC-CEDICT defines as something else (几乎 almost, 几何 geometry, 几内亚 Guinea, 几经,
    the 多大 across 多伦多|大学). A word jieba tags a numeral or a measure (几个, 第几, 多少) asks a
    count; so does an unknown one (几世纪, 几胜), and the question word as a word itself (多长)."""
    for a, b, flag in tagged(simplified):
        if a <= start < b:
            word = simplified[a:b]
            return flag in _COUNT_FLAGS or (a, b) == (start, end) or not headword(word)
    return False


def analyse(
    question: str,
    search_text: str | None = None,
    *,
    policy: Policy | None = None,
    known: Callable[[Sequence[str]], list[bool]] | None = None,
    carried: Sequence[str] = (),
    about: Sequence[str] = (),
    asks: str | None = None,
) -> Query:
    """Analyse `question` (searching with `search_text`, a follow-up's rewrite, when given).

    `known` tells which of some words the index holds: with it, a romanized Chinese name in an
    English question ("Wang Jianhua") becomes the indexed spellings of that name. `carried`: the
    words a follow-up's rewrite took from earlier turns; its terms from them find passages but
    weigh less when picking the sentence (the question's own words pick it). `about`: the
    people a follow-up's pronouns stand for; their terms become `names`. `asks`: what an
    elliptical follow-up asks in full, for its short answer."""
    policy = policy or Policy.load()
    script = detect_script(question)
    search = search_text or question
    simplified = simplified_question(search)
    q = simplified.lower()
    kind = "other"
    if script == "en":
        # the question's own wh-phrase, not a later clause's: "How old was he when he died?"
        # asks for a number, not a date
        starts = [(m.start(), k) for k, (_, pat) in enumerate(_KIND_PATTERNS_EN) if (m := re.search(pat, q))]
        if starts:
            kind = _KIND_PATTERNS_EN[min(starts)[1]][0]
        if kind == "other" and asks_a_person(q):
            kind = "person"  # "which senator": who
    else:
        for name, pat in _KIND_PATTERNS_ZH:
            if any(
                name != "number" or _count_word(simplified, m.start(), m.end()) for m in re.finditer(pat, q)
            ):
                kind = name
                break
        if kind == "other" and _NAME_ASKED.search(q):
            kind = "person"  # 空勤员叫什么名字: who
    people_list = bool(_PEOPLE_LIST.search(q)) and kind in ("list", "person")
    if people_list:
        kind = "list"
    names: set[str] = set()
    foreign: frozenset[str] = frozenset()
    pinyin: frozenset[str] = frozenset()
    more: dict[str, tuple[str, ...]] = {}
    sounds: dict[str, str] = {}
    if script == "en":
        en = english_terms(search, policy, known)
        search, terms, names, foreign, pinyin, more, sounds = (
            en.search,
            en.terms,
            en.names,
            en.foreign,
            en.pinyin,
            en.more,
            en.sounds,
        )
        terms += [t for t in query_terms(english_dates(question)[1]) if re.fullmatch(r"\d+", t)]
    else:
        # 3号 (spoken) or 3日 (written): either form covers the term
        dates = [
            f"{d}{ALTERNATIVES}{d[:-1]}日" if d.endswith("号") else d
            for m in _DATE_TERMS.finditer(q)
            for d in m.groups()
            if d
        ]
        # a Latin word in a Chinese question (GDP, CEO) is a term like any other; single letters are not
        terms = [t for t in query_terms(_DATE_TERMS.sub("，", q)) if not re.fullmatch(r"[a-z]", t)]
        terms += [d for d in dates if d not in terms]
    # light: words about the article or pointing at the context, and single characters (开, 做:
    # often a verb the text writes as another word, 召开, 作)
    # (an English word's term is light when one of its Chinese words is: "this time" is 此次|这下子)
    light = {
        t
        for t in terms
        if len(t) == 1
        or any(w in META_WORDS or w in POINTER_WORDS or w in LIGHT_VERBS for w in t.split(ALTERNATIVES))
    }
    if script != "en":  # conjunctions, prepositions, adverbs…: they join or qualify content words
        light |= function_words(simplified) & set(terms)  # tagged once, as proper_words tags it
    terms = [t for t in terms if t not in CLAUSE_BREAKS]  # 但, 而: they join clauses, hold no content
    # A of "not A but B" says what the answer is not: it still finds the passage (search text)
    # but no sentence is credited for holding it (unless it is all the question has)
    scopes = negated(q) if script != "en" else []  # Chinese negators: no cut of English text
    kept = [t for t in terms if not any(t in scope for scope in scopes)]
    if any(t not in light for t in kept):
        terms = kept
    if script != "en":  # (an English question's names come from its own words, above)
        names |= referent_terms(about, terms)
    for m in _TYPE_NOUN.finditer(q):  # 什么职务 / 哪些企业: the noun names the answer's kind
        light.update(t for t in terms if t and t in m.group(1))
    from_context: set[str] = set()
    if carried:
        own = set(tokenize_query(question))
        context = {t for c in carried for t in tokenize_query(c)}
        from_context = {t for t in terms if t in context and t not in own}
        light |= from_context
    return Query(
        question,
        script,
        search,
        q,
        kind,
        people_list,
        terms,
        light,
        from_context,
        names,
        proper=(proper := proper_words(simplified, known) if script != "en" else frozenset()),
        within=places_within(simplified, proper),
        foreign=foreign,
        pinyin=pinyin,
        sounds={t: w for t, w in sounds.items() if t in terms},
        years=frozenset(years_named(q) | (set(EN_YEAR.findall(q)) if script == "en" else set())),
        days=frozenset(
            days_named(q) | (days_named("".join(english_dates(question)[0])) if script == "en" else set())
        ),
        asks_year=bool(_ASKS_YEAR.search(q)),
        more={t: m for t, m in more.items() if t in terms},
        measure=query_measure(simplified, script, kind),
        tokens=tokenize_query(search),
        asks=asks
        or (
            asked_in_chinese(question, kind, terms, asked_noun_in_chinese(question)) if script == "en" else ""
        )
        or question,
    )
