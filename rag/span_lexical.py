"""Lexical features of a candidate short answer: which words and characters stand at its edges.

A span is preceded and followed by something (是, 为, 由, 的, a comma, the sentence's end) and
starts and ends with words; which ones, alone and crossed with the question's wh-word, says
much about whether it is the answer (是什么 → the words after 是; 谁 → before 所, 提出). Each
such fact is a string ("word_before:是", "wh_char_after:谁|所") hashed with CRC-32 into one
of `BUCKETS` buckets; the span model (rag.span_rank) gives every bucket a weight fitted on the
dev sets by `bench/fit_spans.py` (the weights are data, `span_lexical.npy` beside the policy).

Words of the kinds that name things (person, place and organisation names, nouns, Latin
words, numbers) enter as their part-of-speech class only, never as themselves, so no weight
belongs to an entity; grammar words, verbs, adjectives and single characters enter as they are.
The noun a question asks for (学校 in 毕业于什么学校, 国王 in 由哪一个国王) is crossed with the
span's last character and last word (学校|院, 国王|<name>): which endings answer which asked-for
noun is learned, not listed.
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Sequence

import numpy as np

from rag.span import WH

POS_CLASSES = ("name", "noun", "verb", "num", "time", "adj", "function", "latin")
# words of these classes are hashed as their class: what they name is never a feature
_AS_CLASS = frozenset({"name", "noun", "latin", "num"})
TEMPLATES = (
    "char_before",
    "char_after",
    "word_before",
    "word_after",
    "first_word",
    "last_word",
    "wh_char_before",
    "wh_char_after",
    "wh_word_before",
    "wh_word_after",
    "wh_first_word",
    "wh_last_word",
    "q_char_before_wh_char_before",
    "type_last_char",
    "type_last_word",
)
BUCKETS = 1 << 15  # hash buckets of the fitted weights (`span_lexical.npy` holds one per bucket)
_START, _END, _CUT = "^", "$", "~"  # the sentence's start or end; an edge inside a word


def pos_class(flag: str) -> str:
    """The coarse class (one of POS_CLASSES) of a jieba part-of-speech flag."""
    if flag.startswith(("nr", "ns", "nt")):
        return "name"
    if flag == "eng":
        return "latin"
    if flag.startswith("n") or flag in ("j", "b", "l", "i"):
        return "noun"
    if flag.startswith("v"):
        return "verb"
    if flag.startswith(("m", "q")):
        return "num"
    if flag.startswith(("t", "f", "s")):
        return "time"
    if flag.startswith(("a", "z")):
        return "adj"
    return "function"


def _word(text: str, flag: str) -> str:
    c = pos_class(flag)
    return f"<{c}>" if c in _AS_CLASS else text


@functools.lru_cache(maxsize=1 << 16)  # the same edges and words come back sentence after sentence
def bucket(feature: str) -> int:
    """The bucket of a feature string (CRC-32: the same in every process, unlike `hash`)."""
    return zlib.crc32(feature.encode("utf-8")) % BUCKETS


def asked_noun(wh: str, after_wh: Sequence[tuple[str, str]]) -> str:
    """The noun a question asks for: the first word after its wh-word `wh` (`after_wh`: the
    words and flags of the question past it) when the wh-word is a determiner (什么, 哪, 哪个…;
    not 哪里, whose 哪里人 asks for a place, not a person),
    which makes that word a noun whatever jieba tags it (决定 in 通过了什么决定, 会 in 开了什么会,
    both read as verbs); after another wh-word (谁, 多少…) only a common noun of two characters
    or more (谁是学校的校长: none). Never a grammar word, nor a name, which never enters as
    itself; "" where there is none."""
    if not after_wh:
        return ""
    word, flag = after_wh[0]
    kind = pos_class(flag)
    if kind in ("function", "name", "latin", "num"):
        return ""
    if wh.startswith(("什么", "哪")) and not wh.startswith(("哪里", "哪儿")):  # 哪里人 asks for a place
        return word
    return word if kind == "noun" and len(word) >= 2 else ""


def keys(
    qs: str,
    ss: str,
    spans: Sequence[tuple[int, int]],
    words: Sequence[tuple[int, int, str]],
    asked: str = "",
) -> np.ndarray:
    """Per span of `ss` (Simplified sentence; `words` its jieba words with flags, in order)
    for the question `qs` (Simplified; `asked` the noun it asks for, see `asked_noun`): the
    bucket of each of TEMPLATES, as an int64 array (len(spans), len(TEMPLATES))."""
    m = WH.search(qs)
    wh = m.group(0) if m else "-"
    q_before = qs[m.start() - 1] if m and m.start() > 0 else _START
    ending = {y: k for k, (_, y, _) in enumerate(words)}
    starting = {x: k for k, (x, _, _) in enumerate(words)}
    n = len(ss)

    def ends_at(i: int) -> str:  # the word ending at position i
        k = ending.get(i)
        return _word(ss[words[k][0] : i], words[k][2]) if k is not None else (_START if i == 0 else _CUT)

    def starts_at(i: int) -> str:  # the word starting at position i
        k = starting.get(i)
        return _word(ss[i : words[k][1]], words[k][2]) if k is not None else (_END if i == n else _CUT)

    # what stands at a span's start depends on its start only, and likewise its end: the
    # buckets of each start and each end are hashed once, then gathered for all spans
    out = np.zeros((len(spans), len(TEMPLATES)), dtype=np.int64)
    if not spans:
        return out
    a = np.array([x for x, _ in spans], dtype=np.int64)
    b = np.array([y for _, y in spans], dtype=np.int64)
    starts, a_at = np.unique(a, return_inverse=True)
    ends, b_at = np.unique(b, return_inverse=True)
    # per start: the character and the word before it, the word it begins with
    before = [(ss[i - 1] if i > 0 else _START, ends_at(i), starts_at(i)) for i in starts.tolist()]
    # per end: the character and the word after it, the word it ends with
    after = [(ss[i] if i < n else _END, starts_at(i), ends_at(i)) for i in ends.tolist()]
    for values, at, names in (
        (before, a_at, ("char_before", "word_before", "first_word")),
        (after, b_at, ("char_after", "word_after", "last_word")),
    ):
        for k, name in enumerate(names):
            plain = [bucket(f"{name}:{v[k]}") for v in values]
            crossed = [bucket(f"wh_{name}:{wh}|{v[k]}") for v in values]
            out[:, TEMPLATES.index(name)] = np.array(plain, dtype=np.int64)[at]
            out[:, TEMPLATES.index(f"wh_{name}")] = np.array(crossed, dtype=np.int64)[at]
    q_cross = "q_char_before_wh_char_before"
    crossed = [bucket(f"{q_cross}:{q_before}|{v[0]}") for v in before]
    out[:, TEMPLATES.index(q_cross)] = np.array(crossed, dtype=np.int64)[a_at]
    noun = asked or "-"
    last_chars = [ss[i - 1] for i in ends.tolist()]  # a span is never empty
    last_words = [v[2] for v in after]
    for name, ends_with in (("type_last_char", last_chars), ("type_last_word", last_words)):
        typed = [bucket(f"{name}:{noun}|{v}") for v in ends_with]
        out[:, TEMPLATES.index(name)] = np.array(typed, dtype=np.int64)[b_at]
    return out
