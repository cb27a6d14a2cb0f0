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
_COLUMN = {name: k for k, name in enumerate(TEMPLATES)}
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
    out = np.zeros((len(spans), len(TEMPLATES)), dtype=np.int64)
    if not spans:
        return out
    n = len(ss)
    # each word as the features show it (a name or a noun as its class), worked out once
    shown = [_word(ss[x:y], flag) for x, y, flag in words]
    ending = {y: w for (_, y, _), w in zip(words, shown, strict=True)}  # the word ending at a position
    starting = {x: w for (x, _, _), w in zip(words, shown, strict=True)}  # the word starting there
    # what stands at a span's start depends on its start only, and likewise its end: the
    # buckets of each start and each end are hashed once, then gathered for all spans
    a = np.array([x for x, _ in spans], dtype=np.int64)
    b = np.array([y for _, y in spans], dtype=np.int64)
    starts, a_at = np.unique(a, return_inverse=True)
    ends, b_at = np.unique(b, return_inverse=True)
    at_start, at_end = starts.tolist(), ends.tolist()
    word_before = [ending.get(i, _START if i == 0 else _CUT) for i in at_start]
    last_word = [ending.get(i, _CUT) for i in at_end]  # a span is never empty: it ends past 0
    edges = {  # per start: the character and the word before it, the word it begins with; per end, after
        "char_before": ([ss[i - 1] if i > 0 else _START for i in at_start], a_at),
        "word_before": (word_before, a_at),
        "first_word": ([starting.get(i, _END if i == n else _CUT) for i in at_start], a_at),
        "char_after": ([ss[i] if i < n else _END for i in at_end], b_at),
        "word_after": ([starting.get(i, _END if i == n else _CUT) for i in at_end], b_at),
        "last_word": (last_word, b_at),
    }
    for name, (values, at) in edges.items():
        plain, crossed = f"{name}:", f"wh_{name}:{wh}|"
        out[:, _COLUMN[name]] = np.array([bucket(plain + v) for v in values], dtype=np.int64)[at]
        out[:, _COLUMN[f"wh_{name}"]] = np.array([bucket(crossed + v) for v in values], dtype=np.int64)[at]
    q_cross = f"q_char_before_wh_char_before:{q_before}|"
    chars_before = edges["char_before"][0]
    out[:, _COLUMN["q_char_before_wh_char_before"]] = np.array(
        [bucket(q_cross + v) for v in chars_before], dtype=np.int64
    )[a_at]
    noun = asked or "-"
    last_chars = [ss[i - 1] for i in at_end]
    for name, ends_with in (("type_last_char", last_chars), ("type_last_word", last_word)):
        typed = f"{name}:{noun}|"
        out[:, _COLUMN[name]] = np.array([bucket(typed + v) for v in ends_with], dtype=np.int64)[b_at]
    return out
