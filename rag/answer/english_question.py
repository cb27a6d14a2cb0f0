"""An English question's side of the analysis (rag.answer.question): the dates it names as
Chinese articles write them, its words and names rendered in Chinese (CC-CEDICT's senses,
romanized names spelled as the index holds them), and the question written as the span
model reads a Chinese one. An English word's Chinese words are alternatives of one term,
joined by `ALTERNATIVES`. What it asks for beyond its words (the noun asked, who, money, the
units of a count) is rag.answer.english_asked.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from rag.answer.english_asked import is_noun
from rag.answer.policy import Policy
from rag.bm25 import is_word
from rag.cedict_table import table
from rag.english import (
    Rendering,
    codes,
    pinyin_spellings,
    proper_names,
    reads_as_pinyin,
    render,
    romanized_names,
    romanized_runs,
    translations,
)
from rag.normalize import canonical_terms, chinese_runs

ALTERNATIVES = "|"  # joins the Chinese alternatives of one English word into one term

_LATIN_NAME = re.compile(r"[a-z][a-z' .-]*")  # a name term kept in Latin letters (no Chinese word)
# "how old / how long / how tall …" asks how much of a measure (多大, 多长, 多高): a number; and
# so does "at what age", as "how old" (几岁)
HOW_MEASURE = (
    r"\bhow (?:old|long|far|big|large|tall|high|deep|wide|heavy|often|fast|hot|cold|thick)\b|\bwhat age\b"
)
_HOW_MUCH = re.compile(HOW_MEASURE, re.IGNORECASE)
# the noun of "what date / which year / what time / which day of the week" is the question
# word of a date question, as 哪天, 哪一年 are: no term an answer holds (a date answers it)
_ASKED_WHEN = re.compile(
    r"\b(?:what|which)\s+(?:year|date|month|time|day(?:\s+of\s+the\s+(?:week|month))?)\b", re.IGNORECASE
)

EN_YEAR = re.compile(r"(?<![\d.,])(1[89]\d\d|20\d\d)(?![\d.,]\d)")  # "in 2019", "the 2019 session"

# English dates as Chinese articles write them (July 25 → 7月25日, in July → 7月): calendar
# grammar; month names are capitalised, so the modal "may" is no month
_EN_MONTHS = {
    name: n
    for n, names in enumerate(
        (
            "January Jan",
            "February Feb",
            "March Mar",
            "April Apr",
            "May",
            "June Jun",
            "July Jul",
            "August Aug",
            "September Sep Sept",
            "October Oct",
            "November Nov",
            "December Dec",
        ),
        start=1,
    )
    for name in names.split()
}
_MONTH = "(" + "|".join(sorted(_EN_MONTHS, key=len, reverse=True)) + r")\b\.?"
_DAY = r"(\d{1,2})(?:st|nd|rd|th)?\b"
_EN_DATE = re.compile(
    rf"\b{_MONTH}\s+{_DAY}(?!\s*(?:st|nd|rd|th)?\s*\d)|\b{_DAY}\s+(?:of\s+)?{_MONTH}|\b{_MONTH}"
)


# capitalised words beside a month that are no name: a question's first word, a year's "In"
_NOT_NAMES = frozenset(
    "in on since by until before after during from of what when who which how did was is".split()
)


def _name_part(word: str) -> bool:
    """Whether `word`, beside a month, may be the other part of a person's name (Theresa,
    Carter): in title case, not in capitals (WTI) nor a possessive (Reserve's)."""
    w = word.strip(",.?!")
    return w[:1].isupper() and not w.isupper() and not w.endswith(("'s", "’s"))


def english_dates(question: str) -> tuple[list[str], str]:
    """The dates an English question names, written as Chinese articles write them (July 25,
    25 July, the 25th of July: 7月25日; July alone: 7月), and the question without them."""
    dates: list[str] = []

    def written(m: re.Match[str]) -> str:
        if m[0].startswith("May") and not question[: m.start()].strip():
            return m[0]  # "May I ask …": the modal opening a question
        name = m[1] or m[4] or m[5]
        day = m[2] or m[3]
        if day and 1 <= int(day) <= 31:
            dates.append(f"{_EN_MONTHS[name]}月{int(day)}日")
            return " "
        # a month alone is written out, and no part of a name (Theresa May, June Carter, Jan Koum):
        # a name's other part is a word in title case, not an acronym ("the WTI September
        # contract") nor a possessive ("the Federal Reserve's September meeting")
        before = question[: m.start()].split()[-1:]
        after = question[m.end() :].split()[:1]
        if (len(name) <= 4 and name not in ("May", "June", "July")) or any(
            _name_part(w) and w.lower().strip(",.?!") not in _NOT_NAMES for w in before + after
        ):
            return m[0]
        dates.append(f"{_EN_MONTHS[name]}月")
        return " "

    rest = _EN_DATE.sub(written, question)
    return list(dict.fromkeys(dates)), rest


# the units a place's name is written with (Binzhou: 滨州市; a town the dictionary lacks is one
# word with its unit, 青岚镇)
PLACE_UNITS = ("市", "县", "镇", "区", "省", "村", "乡", "州")


# the Chinese question word each kind of answer is asked with, as the span model reads it
ASKED_WITH = {
    "person": "谁",
    "place": "哪里",
    "number": "多少",
    "date": "什么时候",
    "list": "哪些",
    "other": "什么",
}
# before the noun a "what / which / how many X" question asks for (What crime → 什么罪, Which city →
# 哪个城市, How many employees → 多少员工)
ASKED_BEFORE_NOUN = {"other": "什么", "place": "哪个", "person": "哪个", "list": "哪些", "number": "多少"}
_WHY = re.compile(r"\bwhy\b|\bhow come\b", re.IGNORECASE)


def asked_in_chinese(
    question: str, kind: str, terms: Sequence[str], noun: str = "", written: frozenset[str] = frozenset()
) -> str:
    """An English question as the span model reads a Chinese one: the first Chinese word of
    each of its terms (and the numbers it writes, which its answer is not), then the Chinese
    question word of its `kind` (为什么 for a "why"), and after it the Chinese `noun` it asks
    for, where it asks for one (`asked_noun_in_chinese`: 什么犯罪, 哪个城市), as a Chinese
    question writes it (Who is the chief economist of X? → 首席经济学家X谁？). The model places a
    span by the question's words around it, which an English question's own words, in no
    sentence, do not give it: it took the organisation, not the economist's name, and among a
    sentence's numbers the first, not the one next to the words asked about; and the noun after
    the question word says what the span is (a crime ends in 罪). "" without a Chinese term.
    `written`: words in Latin letters kept as the sentence writes them (Pioneer)."""
    words = [t.split(ALTERNATIVES)[0] for t in terms if _CJK_CHAR.search(t) or t.isdigit() or t in written]
    if not any(_CJK_CHAR.search(w) for w in words):
        return ""
    if noun and kind in ASKED_BEFORE_NOUN:
        return "".join(w for w in words if w != noun) + ASKED_BEFORE_NOUN[kind] + noun + "？"
    wh = "为什么" if kind == "other" and _WHY.search(question) else ASKED_WITH.get(kind, ASKED_WITH["other"])
    if kind == "date":  # "what year" is 哪一年, "what date" 哪一天: a year, a day, not any time
        wh = next((zh for pattern, zh in _DATE_ASKED if pattern.search(question)), wh)
    return "".join(words) + wh + "？"


# an English date question asking a year or a day, and how a Chinese one asks it
_DATE_ASKED = (
    (re.compile(r"\b(?:what|which)\s+year\b", re.IGNORECASE), "哪一年"),
    (re.compile(r"\b(?:what|which)\s+(?:date|day)\b(?!\s+of\s+the\s+week)", re.IGNORECASE), "哪一天"),
)


_CJK_CHAR = re.compile(r"[\u3400-\u9fff]")
# the words that name a part of a place before its name ("Southern California", "North Jeolla")
_COMPASS = frozenset("southern northern eastern western central south north east west".split())


def asked_in_sentence(
    question: str,
    kind: str,
    terms: Sequence[str],
    more: Mapping[str, Sequence[str]],
    sentence: str,
    noun: str = "",
    nouns: Sequence[str] = (),
) -> str:
    """`asked_in_chinese` (with the asked `noun`) in the words of the `sentence` it is read
    against (Simplified): each term as the first of its Chinese words (or of the dictionary's
    further ones, `more`) the sentence writes, else its first ("meet", searched as 遇到|满足, is
    会见 in a sentence that says 会见; a word in Latin letters as the sentence writes it,
    Pioneer for "pioneer"), and the noun likewise among all its words, `nouns`
    (`asked_nouns_in_chinese`: "which court" is 法院 where the sentence writes it, not 朝廷): the
    span model places a span by the question's words around it."""
    used = []
    latin: set[str] = set()
    folded = sentence.lower()
    for t in terms:
        w = _written((*t.split(ALTERNATIVES), *more.get(t, ())), sentence, folded)
        if not w:
            used.append(t)
            continue
        used.append(w)
        if not _CJK_CHAR.search(w):
            latin.add(w)
    return asked_in_chinese(question, kind, used, _written(nouns, sentence, folded) or noun, frozenset(latin))


def _written(words: Sequence[str], sentence: str, folded: str) -> str:
    """The first of `words` that `sentence` writes (a word in Latin letters in any case,
    `folded` being the sentence in lower case), as the sentence writes it; "" where none. Only
    a word of two characters or more: a single one, 会 of "meet", is inside many words."""
    for w in words:
        if len(w) >= 2 and (k := (sentence if _CJK_CHAR.search(w) else folded).find(w)) >= 0:
            return sentence[k : k + len(w)]
    return ""


def _pinyin_names(word: str, spelled_as: Sequence[str]) -> list[str]:
    """The dictionary's proper names of `word` that read as it in pinyin (`spelled_as`, its
    `pinyin_spellings`): Rizhao: 日照, 日照市."""
    return [h for h in proper_names(table(), word) if any(h.startswith(w) for w in spelled_as)]


def pinyin_name(word: str) -> bool:
    """Whether the dictionary has a proper name that reads as the capitalised `word` in pinyin
    (Hangzhou: 杭州; not Rice, Market)."""
    return word[:1].isupper() and bool(_pinyin_names(word, pinyin_spellings(word)))


def _spelled(word: str, known: Callable[[Sequence[str]], list[bool]], *, latin: bool = True) -> list[str]:
    """The spellings of one word of a name ("Rizhao", "Bozhong") the index holds: the
    dictionary's names that read as the word in pinyin (日照, 日照市), else its pinyin
    spellings (two or three syllables) alone or with a place's unit (a town the dictionary
    lacks is written with its 镇), else (`latin`) the word in Latin letters."""
    spelled_as = pinyin_spellings(word)
    named = _pinyin_names(word, spelled_as)
    if named:
        return [w for w, ok in zip(named, known(named), strict=True) if ok] or named
    for read in (
        spelled_as,
        [w + unit for unit in PLACE_UNITS for w in spelled_as],
        [word.lower()] if latin else [],
    ):
        if found := [w for w, ok in zip(read, known(read), strict=True) if ok]:
            return found
    return []


def known_spellings(spellings: Sequence[str], known: Callable[[Sequence[str]], list[bool]]) -> list[str]:
    """Those Chinese spellings of a romanized name (`romanized_names`) the index knows as a
    word; where it knows none, those of a one-character surname and a given name the index
    knows as a word of jieba's dictionary (`split_spellings`)."""
    return held_spellings(spellings, known) or split_spellings(spellings, known)


def held_spellings(spellings: Sequence[str], known: Callable[[Sequence[str]], list[bool]]) -> list[str]:
    """Those Chinese spellings of a romanized name the index knows whole, as a word."""
    return [w for w, ok in zip(spellings, known(spellings), strict=True) if ok]


def split_spellings(spellings: Sequence[str], known: Callable[[Sequence[str]], list[bool]]) -> list[str]:
    """Those spellings of a romanized name of a one-character surname and a given name the
    index knows as a word of jieba's dictionary: jieba cuts a name whose given name is a word
    of its dictionary after the surname (李|建国), so the whole name is no word of the index,
    while a given name outside the dictionary is joined to its surname by jieba's HMM and
    known whole. A guess: the given name may be a common word (友邻 of "Jian Youlin") and the
    surname one the dictionary lacks (简)."""
    split = [w for w in spellings if len(w) == 3 and is_word(w[1:])]
    return [w for w, ok in zip(split, known([w[1:] for w in split]), strict=True) if ok]


def named_parts(name: str, per_word: int) -> list[list[str]]:
    """The dictionary's proper names among the words of a several-word `name` that is no
    romanized Chinese name, where some of its words are such names and others are not ("Hangzhou
    Asiad": 杭州, 杭州市; the dictionary lacks "Asiad"): the name is read from those, as an
    article writing it in Chinese holds them, not kept whole in Latin letters that no Chinese
    article holds. Nothing otherwise."""
    words = name.split()
    if len(words) < 2 or reads_as_pinyin(name):
        return []
    tab = table()
    parts = [proper_names(tab, w) for w in words]
    if all(parts) or not any(parts):
        return []
    out = []
    for heads in filter(None, parts):
        freq = tab.freq(heads)
        out.append(sorted(dict.fromkeys(heads), key=lambda h: -freq.get(h, 0))[:per_word])
    return out


def syllable_places(
    words: Sequence[str], per_word: int, known: Callable[[Sequence[str]], list[bool]]
) -> list[list[str]]:
    """A name of one pinyin syllable and a common noun ("Nen River", "Tai Lake"), which the
    dictionary lacks: each character read as the syllable joined to each one-character sense
    of the noun (嫩 + 江), as a Chinese article names the place, those the index holds (嫩江);
    nothing otherwise (a syllable alone is too often found by chance to be spelled by itself)."""
    if len(words) != 2:
        return []
    chars = table().readings(words[0].lower())[0]
    senses = next(iter(render(words[1].lower(), per_word)), None)
    if not chars or senses is None:
        return []
    made = sorted(c + h for c in chars for h in (*senses.heads, *senses.more) if len(h) == 1)
    found = [w for w, ok in zip(made, known(made), strict=True) if ok]
    return [found] if found else []


def compounds(
    question: str, rendered: list[Rendering], known: Callable[[Sequence[str]], list[bool]]
) -> list[Rendering]:
    """Two adjacent words rendered by single characters that make a word together ("new car":
    新 + 车, 新车): the word is added to both, as a Chinese article writes the pair."""
    out = list(rendered)
    for k in range(len(rendered) - 1):
        a, b = rendered[k], rendered[k + 1]
        if a.name or b.name or not re.search(rf"\b{re.escape(a.words)}\s+{re.escape(b.words)}\b", question):
            continue
        if not is_noun(b.words):
            continue  # a compound ends with a noun: "the meeting held" makes none
        firsts = [h for h in (*a.heads, *a.more) if len(h) == 1]
        seconds = [h for h in (*b.heads, *b.more) if len(h) == 1]
        made = [x + y for x in firsts for y in seconds if is_word(x + y)]
        made = [w for w, ok in zip(made, known(made), strict=True) if ok and w not in a.heads + b.heads]
        if made:
            out[k] = Rendering([*out[k].heads, *made], a.name, a.words, a.more)
            out[k + 1] = Rendering([*out[k + 1].heads, *made], b.name, b.words, b.more)
    return out


@dataclass(frozen=True, slots=True)
class EnglishTerms:
    """What `english_terms` reads from an English question."""

    search: str  # the search text: the question and its terms' Chinese words
    terms: list[str]  # one per English word or name: its Chinese words are alternatives
    names: set[str]  # the terms that name whom or what it asks about
    foreign: frozenset[str]  # those of them that are foreign names in Latin letters (Query.foreign)
    # those that are romanized Chinese names the index spells in no word (Query.pinyin)
    pinyin: frozenset[str]
    more: dict[str, tuple[str, ...]]  # the further Chinese words of its terms (Query.more)
    sounds: dict[str, str] = field(default_factory=dict)  # (Query.sounds)


def _latin_forms(words: str) -> list[str]:
    """The Latin-letter forms an article may write an English word in, lower case as the index
    holds them: the word, and a plural's singular (UFOs: ufo); none for a phrase."""
    w = words.lower()
    if not w.isalpha():
        return []
    return [w, w[:-1]] if w.endswith("s") and len(w) > 3 else [w]


def english_terms(
    search: str, policy: Policy, known: Callable[[Sequence[str]], list[bool]] | None
) -> EnglishTerms:
    """An English question's search text, terms, names and their kinds (`EnglishTerms`)."""
    # English words never occur in Chinese articles: search with their Chinese words too, and
    # judge coverage by English word (one term per word: its translations are alternatives)
    names_left: list[str] = []
    # a date is one term as articles write it (January 1: 1月1日, not 一月 and 1)
    dates, undated = english_dates(search)
    # the word of "how old / how long / how far" asks how much, like 多大, 多长: no term
    # and so does the noun of "what date", "which year"
    asked = _ASKED_WHEN.sub(" ", _HOW_MUCH.sub(" ", undated))
    rendered = render(asked, policy.terms.en_words_per_term, names_left)
    if known is not None:
        # a name is also found as written where an article keeps it in Latin letters
        # ("Parker", rendered 派克, is written Parker in an article quoting him), and so is a
        # capitalised word Chinese news writes in Latin letters where the index holds it so: a
        # product's or a firm's name ("Pioneer", rendered 先锋), an acronym ("UFOs": UFO). (Not a
        # lower-case word: "speed" or "event" held from an English passage covers the wrong one.)
        forms = [_latin_forms(r.words) if r.name or r.words[:1].isupper() else [] for r in rendered]
        asked_forms = [f for fs in forms for f in fs]
        held = dict(zip(asked_forms, known(asked_forms), strict=True))
        rendered = [
            Rendering([*r.heads, w], r.name, r.words, r.more)
            if (w := next((f for f in fs if held[f]), ""))
            else r
            for r, fs in zip(rendered, forms, strict=True)
        ]
    if known is not None:
        rendered = compounds(asked, rendered, known)
    groups = [r.heads for r in rendered] + [[d] for d in dates]
    # Chinese the question quotes ("the 'smart rice cooker' (智能电饭煲)") is a term as
    # the article writes it
    groups += [[t] for run in chinese_runs(search) if len(t := canonical_terms(run)) > 1]
    # the names asked about ("Beijing", "Hu Henghua", "Messi"): an answer's passage holds each
    named = [r.heads for r in rendered if r.name]
    guessed: list[str] = []  # romanized names whose spellings are guesses (found by sound too)
    if known is not None:
        spelled: list[list[str]] = []
        for written, spellings in romanized_runs(search):
            if found := held_spellings(spellings, known):
                spelled.append(found)
            elif found := split_spellings(spellings, known):
                # a guess (`split_spellings`): the name is also found where a text writes it
                # in any characters read so (简佑霖 for "Jian Youlin"), as a name with no
                # spelling the index holds is (Query.pinyin)
                spelled.append([*found, written.lower()])
                guessed.append(written.lower())
        # a name neither the dictionary nor its pinyin spellings render ("Messi") is still
        # asked about: it stays a term, found only where an article writes it so, rather
        # than leaving the question's other words to be covered by any article
        plain: list[list[str]] = []  # words of a name the dictionary renders ("Port")
        per_word = policy.terms.en_words_per_term
        for name in names_left:
            bare = name.removesuffix("'s")
            if len(bare) == 1 and re.search(rf"\b{re.escape(bare)}\.", search):
                continue  # an initial ("T. Rowe Price"): no name found in a Chinese text (Z of Z Flip is)
            spellings = [w for ws in romanized_names(bare) for w in ws]
            if known_spellings(spellings, known):
                continue
            # a part of a named place ("Southern California"): the place, as the dictionary
            # names it (加州), which an article writing 南加州 or 美国加州 holds
            first, _, place = bare.partition(" ")
            if place and first.lower() in _COMPASS:
                named_place = [r for r in render(place, per_word) if r.name and r.heads]
                if len(named_place) == 1:
                    spelled.append(named_place[0].heads)
                    continue
            # a name of a pinyin word and a common one ("Rizhao Port": 日照, 港口|港), word by
            # word: the pinyin word gives the spellings the index holds (pinyin alone cannot
            # tell 滨州 from 宾州), the common word its dictionary senses. A name of pinyin words
            # alone ("Hu Henghua") is a person's, spelled whole above or not at all; a name of
            # one word is spelled as the index holds it ("Binzhou")
            words = bare.split()
            # a word of the name the dictionary has as a name read as its pinyin ("Hangzhou" in
            # "Hangzhou Rice Market": 杭州) is that name, spelled below, not its lower-case senses,
            # which are the entries whose definitions mention it (孤山, a hill in Hangzhou)
            common = [
                translations(w.lower(), per_word)[:1] if len(words) > 1 and not pinyin_name(w) else []
                for w in words
            ]
            if len(words) > 1 and not any(common):
                spelled += named_parts(bare, per_word) or [[bare.lower()]]
                continue
            # a word the dictionary has a sense of is read as that word, not spelled: "Senate"
            # reads as pinyin too (塞纳特), but "Senate Majority Leader" is an office
            read = [[] if c else _spelled(w, known) for w, c in zip(words, common, strict=True)]
            pairs = list(zip(read, common, strict=True))
            if (
                bool(read[0])
                if len(words) == 1
                else all(r or c for r, c in pairs) and any(c and not r for r, c in pairs)
            ):
                spelled += [r for r in read if r]
                # its common words read together where their characters make a word the index
                # holds ("Qinglan New Area": 新 + 区, 新区, as `compounds` reads "new book")
                commons = [(w.lower(), c[0]) for (r, c), w in zip(pairs, words, strict=True) if c and not r]
                senses = [next(iter(render(w, per_word)), Rendering([], False, w)) for w, _ in commons]
                joined = compounds(" ".join(w for w, _ in commons), senses, known)
                plain += [
                    j.heads if j.heads != s.heads else heads
                    for j, s, (_, heads) in zip(joined, senses, commons, strict=True)
                ]
            else:
                spelled += (
                    named_parts(bare, per_word) or syllable_places(words, per_word, known) or [[bare.lower()]]
                )
        groups += spelled + plain
        named += spelled
        # a code the index holds (T123, G15) is a term, as written; one it does not (Q4, which
        # news writes 第四季度) is none
        held_codes = codes(search)
        groups += [[c] for c, ok in zip(held_codes, known(held_codes), strict=True) if ok]
    # one Chinese word once: a name the dictionary has ("Xi Jinping") is found again among
    # the romanized names, and would weigh twice
    seen: set[str] = set()
    unique: list[list[str]] = []
    for g in groups:
        if not set(g) <= seen:
            unique.append(g)
            seen.update(g)
    groups = unique
    if groups:
        search = f"{search} {' '.join(zh for g in groups for zh in g)}"
    terms = [ALTERNATIVES.join(g) for g in groups]
    names = {ALTERNATIVES.join(g) for g in named} & set(terms)
    more = {t: r.more for r in rendered if r.more and (t := ALTERNATIVES.join(r.heads)) in terms}
    latin = [n for n in names if _LATIN_NAME.fullmatch(n)]
    # a name the dictionary renders whose word reads as pinyin ("Xiling": 西陵), by that word
    sounds = {
        t: r.words
        for r in rendered
        if r.name and (t := ALTERNATIVES.join(r.heads)) in names and pinyin_name(r.words)
    }
    return EnglishTerms(
        search,
        terms,
        names,
        frozenset(n for n in latin if not reads_as_pinyin(n)),
        frozenset(n for n in latin if reads_as_pinyin(n)) | frozenset(guessed),
        more,
        sounds,
    )
