"""Question analysis, done once per question: one typed `Query` record.

Script, the Simplified search text, the content terms (and, once the index is known, their
weights), the kind of answer asked for, the years and other numbers the question names.
The kind patterns are the interrogative grammar of Chinese and English (谁 -> a person,
多少 -> a number, ...), not fitted to any data; everything tuned lives in `policy.json`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from dataclasses import dataclass

from rag.bm25 import query_terms
from rag.normalize import canonical_terms, chinese_to_int, detect_script, to_simplified

KINDS = ("other", "person", "number", "date", "place", "list")

_KIND_PATTERNS_ZH: tuple[tuple[str, str], ...] = (
    ("list", r"哪些|哪几|有谁|都有谁|哪[两三四五六七八九十\d]+[个项条位家种名所座]|列举|分别是"),
    (
        "date",
        r"哪天|哪一天|什么时候|何时|哪年|哪一年|几月|几号|几日|什么日子|日期|哪个月|什么时间|哪个年代|哪个朝代",
    ),
    ("person", r"谁|哪位|什么人|何人|哪个人"),
    ("number", r"多少|几|多大|多长|多高|多远|多重|多久|多快|百分之几"),
    ("place", r"哪里|哪儿|何地|什么地方|哪个城市|哪个国家|哪国|哪座|何处|在哪|哪个省|哪个地区"),
)
_KIND_PATTERNS_EN: tuple[tuple[str, str], ...] = (
    ("list", r"\bwhich\b.*\b(are|were)\b|\blist\b|\bwho (attended|were)\b|\bwhat are\b"),
    ("date", r"\bwhen\b|\bwhat (year|date|day|month)\b|\bwhich (year|day)\b"),
    ("person", r"\bwho\b|\bwhom\b"),
    ("number", r"\bhow (many|much|old|long|far|big|large)\b|\bwhat (percentage|number)\b"),
    ("place", r"\bwhere\b|\bwhich (city|country|province|place)\b"),
)
_PEOPLE_LIST = re.compile(r"出席|参加|列席|参会|到会|attend|present")
# Words about the article itself (这篇报道的记者), not its content.
META_WORDS = frozenset("这篇 本文 该文 文章 报道 报导 新闻 消息 采访 专访 记者 文中 稿件".split())
_TYPE_NOUN = re.compile(
    r"(?:什么|哪个|哪些|哪一?[个位家种项条座所]?|几[个位项名种条家所座])([\u4e00-\u9fff]{1,3}?)(?=[？?，,。的]|$)"
)
_YEAR_ARABIC = re.compile(r"(?<!\d)(1\d{3}|20\d{2})(?:年|\b)")
_YEAR_CHINESE = re.compile(r"([〇○零一二三四五六七八九]{4})年")
_EN_YEAR = re.compile(r"\b(1[5-9]\d{2}|20\d{2})\b")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
# The wh-word of a question, where a short answer would stand (for the span anchor).
WH = re.compile(
    r"为什么|为何|什么样的?|什么|哪一年|哪一天|哪年|哪天|哪些|哪个|哪位|哪里|哪儿|哪[两三四五六七八九十\d]+[个项条位家种名所座]|哪|谁|多少|"
    r"几[个位项名年次条种家所座月号日]?|如何|怎么样|怎样|怎么|何时|何地|何处|何人"
)


def years_in(text: str) -> tuple[int, ...]:
    """Years (as integers) named in `text`: 2019年, 二〇一九年, and bare 4-digit years 1000-2099."""
    simp = to_simplified(text)
    out: list[int] = []
    for m in _YEAR_ARABIC.finditer(simp):
        out.append(int(m.group(1)))
    for m in _YEAR_CHINESE.finditer(simp):
        n = chinese_to_int(m.group(1))
        if n is not None and 1000 <= n <= 2099:
            out.append(n)
    return tuple(dict.fromkeys(out))


@dataclass(frozen=True, slots=True)
class Query:
    """A question analysed once and passed down the answer stage."""

    text: str  # as asked
    script: str  # zh-Hans | zh-Hant | en
    search_text: str  # what retrieval uses (the rewritten question, plus translated English words)
    simplified: str  # Simplified, lower-case text of the question as asked (or rewritten)
    kind: str  # one of KINDS
    list_of_people: bool
    terms: tuple[str, ...]  # content terms (canonical)
    light: frozenset[str]  # terms that weigh less (answer-type nouns, meta words, carried context)
    carried: frozenset[str]  # terms carried over from earlier turns
    years: tuple[int, ...]  # years the question names
    numbers: tuple[str, ...]  # other numbers the question names
    weights: tuple[float, ...] = ()  # one per term, set by `weigh` (BM25 idf x lightness)

    def with_weights(self, idf: Iterable[float], light_weight: float) -> Query:
        w = tuple(
            float(x) * (light_weight if t in self.light else 1.0)
            for t, x in zip(self.terms, idf, strict=True)
        )
        return dataclasses.replace(self, weights=w)


def question_kind(simplified: str, script: str) -> tuple[str, bool]:
    kind = "other"
    for name, pat in _KIND_PATTERNS_EN if script == "en" else _KIND_PATTERNS_ZH:
        if re.search(pat, simplified):
            kind = name
            break
    people_list = bool(_PEOPLE_LIST.search(simplified)) and kind in ("list", "person")
    return ("list" if people_list else kind), people_list


def analyse_question(
    question: str,
    search_text: str | None = None,
    *,
    carried_words: Iterable[str] = (),
    extra_terms: Iterable[str] = (),
) -> Query:
    """The `Query` of `question` (as asked), searched as `search_text` (a rewritten follow-up)
    with `extra_terms` (Chinese words standing for an English question's words)."""
    script = detect_script(question)
    search = search_text or question
    simp = to_simplified(search).lower()
    kind, people_list = question_kind(simp, script)
    extra = [t for t in extra_terms if t]
    if extra:
        search = f"{search} {' '.join(extra)}"
    terms = [t for t in query_terms(search) if not re.fullmatch(r"[a-z]+", t)]
    if script == "en":  # English words never occur in Chinese articles: keep the Chinese ones
        terms = [t for t in terms if re.search(r"[\u4e00-\u9fff\d]", t)]
    light = {t for t in terms if t in META_WORDS}
    for m in _TYPE_NOUN.finditer(simp):  # 什么职务 / 哪些企业: the noun names the answer's kind
        light.update(t for t in terms if t and t in m.group(1))
    carried: set[str] = set()
    if carried_words:
        own = set(query_terms(question))
        from_context = {t for c in carried_words for t in query_terms(c)}
        carried = {t for t in terms if t in from_context and t not in own}
        light |= carried
    years = years_in(search) or tuple(int(y) for y in _EN_YEAR.findall(search))
    canon = canonical_terms(question)
    numbers = tuple(n for n in dict.fromkeys(_NUMBER.findall(canon)) if not (len(n) == 4 and int(n) in years))
    return Query(
        text=question,
        script=script,
        search_text=search,
        simplified=simp,
        kind=kind,
        list_of_people=people_list,
        terms=tuple(terms),
        light=frozenset(light),
        carried=frozenset(carried),
        years=years,
        numbers=numbers,
    )
