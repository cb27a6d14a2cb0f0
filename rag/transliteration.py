"""Whether Chinese text spells a foreign name written in Latin letters in a question.

Chinese news writes a foreign name by sound, one character a syllable: Ramaswamy is 拉马斯瓦米,
Dimon 戴蒙, Vivek 维韦克. CC-CEDICT holds the best known of them (rag.english looks those up);
for the rest an English question's name would have to appear in Latin letters, which a Chinese
article seldom does. Both spellings are brought to a skeleton of consonant sounds, in classes
wide enough for the way transliteration hears them (r and l alike, v and w alike, voiced and
voiceless stops alike, a final -n or -ng of a syllable kept as n), vowels dropped: Ramaswamy
and 拉马斯瓦米 are both ``LMSWM``. A name is spelled in a text when a run of whole Chinese
characters there reads as the skeleton of one of the name's words. Phonetics of Latin
spelling and of pinyin, not a list of names.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

from rag.cedict_table import common_word, table

# Latin spellings read as one sound, longest first (sch as in Schumer, ph as in Philip)
_LATIN_GROUPS = (
    ("sch", "s"),
    ("tch", "k"),
    ("sh", "s"),
    ("ch", "k"),
    ("ng", "n"),
    ("ph", "w"),
    ("th", "t"),
    ("ck", "k"),
    ("kh", "k"),
    ("gh", ""),
    ("qu", "kw"),
    ("x", "ks"),
)
_SOFT_C = re.compile(r"c(?=[eiy])")
# a sound class for each consonant letter, Latin or pinyin: stops voiced or not alike, f v w
# alike, r and l alike, the affricates and velars alike (查 cha for "chu", 基 ji for "ki")
_CLASSES = str.maketrans(
    {
        "b": "P",
        "p": "P",
        "d": "T",
        "t": "T",
        "g": "K",
        "k": "K",
        "c": "K",
        "q": "K",
        "j": "K",
        "f": "W",
        "v": "W",
        "w": "W",
        "l": "L",
        "r": "L",
        "m": "M",
        "n": "N",
        "s": "S",
        "z": "S",
        "x": "S",
        "h": "H",
    }
)
_VOWELS = re.compile(r"[aeiouy]+")
_PINYIN_INITIAL = re.compile(r"^(zh|ch|sh|[bpmfdtnlgkhjqxrzcsyw])?(.*)$")
# pinyin's own letters: c and z are ts and dz (茨 ci for "tz"), x is s (西 xi for "si")
_PINYIN_INITIALS = {"zh": "k", "ch": "k", "sh": "s", "c": "s", "z": "s", "x": "s", "y": ""}
# an r or a w after a vowel and before a consonant (or at the end) is unheard: Barcelona 巴塞罗那,
# Newton 牛顿
_SILENT = re.compile(r"(?<=[aeiouy])[rw](?=[^aeiouy]|$)")
_CJK = re.compile(r"[\u3400-\u9fff]")


def _collapsed(classes: str) -> str:
    """Doubled classes once (Messi: MS, as 梅西)."""
    return re.sub(r"(.)\1+", r"\1", classes)


def latin_skeleton(word: str) -> str:
    """The consonant classes of a Latin-letter word (Ramaswamy: LMSWM); a final r or l, which
    transliteration often leaves unsaid (Schumer: 舒默), is kept: see `spells`."""
    w = _SOFT_C.sub("s", word.lower())
    for group, sound in _LATIN_GROUPS:
        w = w.replace(group, sound)
    w = _SILENT.sub("", re.sub(r"[^a-z]", "", w))
    return _collapsed(_VOWELS.sub("", w).translate(_CLASSES))


def pinyin_skeleton(sound: str) -> str:
    """The consonant classes of one toneless pinyin syllable: its initial, and an n for a
    final -n or -ng (蒙 meng: MN; 艾 ai: nothing; 尔 er: L, as transliteration uses it)."""
    if sound in ("er", "r"):
        return "L"
    m = _PINYIN_INITIAL.match(sound)
    if m is None:  # pragma: no cover - the pattern matches any string
        return ""
    initial, final = m.group(1) or "", m.group(2)
    head = _PINYIN_INITIALS.get(initial, initial).translate(_CLASSES)
    return head + ("N" if final.endswith(("n", "ng")) else "")


@functools.cache
def _char_skeletons() -> dict[str, str]:
    """Each Chinese character of the dictionary -> its sound's skeleton (`pinyin_skeleton`)."""
    return {ch: pinyin_skeleton(s) for ch, s in table().sounds().items() if _CJK.match(ch)}


def spells(name: str, words: Sequence[str], min_classes: int) -> bool:
    """Whether the text cut into `words` (jieba's) spells the Latin `name`: holds a run of whole
    words, two characters or more, none a word CC-CEDICT knows only as a common word (发展 is no
    transliteration), that reads as the skeleton of the name's longest-sounding word; or as that
    skeleton less a final L (Schumer: 舒默). A skeleton of fewer than `min_classes` classes
    is too short to tell a name from chance and spells nothing."""
    # the word of the longest skeleton, the last of equals (a surname, in Western order)
    target = max(
        (latin_skeleton(w) for w in reversed(re.findall(r"[a-z]+", name.lower()))), key=len, default=""
    )
    wanted = {t for t in (target, target[:-1] if target.endswith("L") else "") if len(t) >= min_classes}
    if not wanted:
        return False
    most = max(len(t) for t in wanted)
    skeletons = _char_skeletons()
    readable = [all(c in skeletons for c in w) and not (len(w) > 1 and common_word(w)) for w in words]
    sounds = ["".join(skeletons.get(c, "") for c in w) for w in words]
    for i in range(len(words)):
        built, chars = "", 0
        for j in range(i, len(words)):
            if not readable[j]:
                break
            built, chars = _collapsed(built + sounds[j]), chars + len(words[j])
            if len(built) > most:
                break
            if chars >= 2 and built in wanted:
                return True
    return False
