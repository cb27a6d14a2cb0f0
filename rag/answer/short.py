"""The short answer: the span of the chosen sentence that answers (a name, a number with its
unit, a date, a short phrase), or None where no span fits.

The span is anchored on the question: the words before the question word (什么/谁/多少...) are
looked for in the sentence and the span starts after them; the words after it end the span
(else the clause ends it). For a person, place, organisation, number or date question, the
entity of that kind (jieba part of speech, number and date patterns) inside or nearest the
anchored span is the answer.
"""

from __future__ import annotations

import re

from rag.answer.features import Candidate
from rag.answer.query import WH, Query
from rag.normalize import simplify_with_map

_PUNCT = re.compile(r"[，。；：！？,;:!?\s（）()「」『』“”\"《》]")
_CLAUSE_END = re.compile(r"[，。；！？,;!?]")
_CLAUSE_END_LIST = re.compile(r"[。；！？;!?]")
_LEAD = "是为在于了即乃有约共"
_TRAIL = "的了等是"
_KIND_FLAGS = {"person": ("nr",), "place": ("ns",), "number": ("m",), "date": ("t",)}


def _longest_suffix(needle: str, hay: str, start: int = 0) -> tuple[int, int]:
    """(position in hay, length) of the longest piece (>= 2 chars) of needle found in hay[start:],
    preferring pieces nearer the end of needle (the words right before the question word)."""
    for n in range(min(len(needle), 12), 1, -1):  # suffixes first
        j = hay.find(needle[-n:], start)
        if j >= 0:
            return j, n
    for n in range(min(len(needle), 12), 2, -1):  # then any piece of 3+ characters, nearest the end
        for i in range(len(needle) - n, -1, -1):
            j = hay.find(needle[i : i + n], start)
            if j >= 0:
                return j, n
    return -1, 0


_OPEN = {"《": "》", "〈": "〉", "“": "”", "「": "」", "『": "』", "（": "）", "(": ")", "‘": "’"}


def _balance(s: str, a: int, b: int) -> tuple[int, int]:
    """Widen [a, b) so a quote or title mark opened inside it is closed, and one just before it
    is included with its closer (《熊猫家族》, “虚衔”)."""
    if a > 0 and s[a - 1] in _OPEN:
        close = s.find(_OPEN[s[a - 1]], a)
        if close >= 0 and close + 1 - (a - 1) <= 40:
            a, b = a - 1, max(b, close + 1)
    for i in range(a, b):
        if s[i] in _OPEN:
            close = s.find(_OPEN[s[i]], i)
            if close >= b:
                b = close + 1
    return a, b


def _longest_prefix(needle: str, hay: str, start: int) -> int:
    for n in range(min(len(needle), 12), 1, -1):
        i = hay.find(needle[:n], start)
        if i >= 0:
            return i
    return -1


def anchored_span(q: Query, sentence_simplified: str) -> tuple[int, int] | None:
    m = WH.search(q.simplified)
    if not m:
        return None
    left = _PUNCT.sub("", q.simplified[: m.start()])
    right = _PUNCT.sub("", re.sub(r"[吗呢啊]?[？?。！!]*$", "", q.simplified[m.end() :]))
    s = sentence_simplified
    li, ln = _longest_suffix(left, s) if left else (-1, 0)
    if li >= 0:
        a = li + ln
        ri = _longest_prefix(right, s, a) if right else -1
        if ri > a:
            b = ri
        else:
            end = (_CLAUSE_END_LIST if q.kind == "list" else _CLAUSE_END).search(s, a)
            b = end.start() if end else len(s)
    elif right:
        ri = _longest_prefix(right, s, 0)
        if ri <= 0:
            return None
        b = ri
        prev = [x.end() for x in _CLAUSE_END.finditer(s, 0, b)]
        a = prev[-1] if prev else 0
    else:
        return None
    while a < b and (s[a] in _LEAD or _PUNCT.match(s[a])):
        a += 1
    while b > a and (s[b - 1] in _TRAIL or _PUNCT.match(s[b - 1])):
        b -= 1
    return _balance(s, a, b) if b > a else None


_RUN_SPLIT = re.compile(r"[，。；：！？,;:!?（）()「」『』“”\"\s]")


def uncovered_span(q: Query, s: str, keep_enumerations: bool) -> tuple[int, int] | None:
    """The longest stretch of the sentence that the question does not already say, between
    clause marks, next to words it does say (the answer sits beside the question's context)."""
    wh = WH.search(q.simplified)
    ctx = _PUNCT.sub("", q.simplified[: wh.start()] + " " + q.simplified[wh.end() :] if wh else q.simplified)
    covered = [False] * len(s)
    for n in range(min(len(ctx), 12), 1, -1):
        for i in range(len(ctx) - n + 1):
            piece = ctx[i : i + n]
            j = s.find(piece)
            while j >= 0:
                for k in range(j, j + n):
                    covered[k] = True
                j = s.find(piece, j + 1)
    if not any(covered):
        return None
    best: tuple[int, int] | None = None
    best_key = (-1, 0)
    i = 0
    while i < len(s):
        if covered[i] or _RUN_SPLIT.match(s[i]) or (s[i] == "、" and not keep_enumerations):
            i += 1
            continue
        j = i
        while (
            j < len(s)
            and not covered[j]
            and not _RUN_SPLIT.match(s[j])
            and (s[j] != "、" or keep_enumerations)
        ):
            j += 1
        touches = (i > 0 and covered[i - 1]) + (j < len(s) and covered[j])
        key = (touches, j - i)
        if touches and key > best_key:
            best, best_key = (i, j), key
        i = j
    if best is None:
        return None
    a, b = best
    while a < b and s[a] in _LEAD:
        a += 1
    while b > a and s[b - 1] in _TRAIL:
        b -= 1
    return _balance(s, a, b) if b > a else None


def short_answer(q: Query, c: Candidate, max_chars: int) -> tuple[int, int] | None:
    """[start, end) of the short answer in the article's stored text, or None."""
    simp, mapping = simplify_with_map(c.text)
    span = anchored_span(q, simp)
    if span is None or span[1] - span[0] > max_chars:
        span = uncovered_span(q, simp, q.kind == "list")
    flags = _KIND_FLAGS.get(q.kind)
    if flags:
        ents = [
            (a - c.start, b - c.start)
            for a, b, f in c.record.entities
            if f in flags
            and simp[_local(mapping, a - c.start) : _local(mapping, b - c.start - 1) + 1] not in q.simplified
        ]
        if q.kind == "date" and not ents:
            ents = [
                (a - c.start, b - c.start)
                for a, b, f in c.record.entities
                if f == "m" and "年" in c.text[a - c.start : b - c.start]
            ]
        if ents:
            if span:
                sa, sb = mapping[span[0]], mapping[span[1] - 1] + 1
                inside = [e for e in ents if sa <= e[0] and e[1] <= sb]
                if inside and q.kind == "place" and sb - sa <= max_chars:
                    return c.start + sa, c.start + sb  # the whole place phrase (a country and its town)
                pick = inside[0] if inside else min(ents, key=lambda e: abs(e[0] - sa))
            else:
                pick = ents[0]
            return c.start + pick[0], c.start + pick[1]
    if span and span[1] - span[0] <= max_chars:
        return c.start + mapping[span[0]], c.start + mapping[span[1] - 1] + 1
    return None


def _local(mapping: list[int], original: int) -> int:
    """Index in the simplified text of the character that came from `original`."""
    for i, o in enumerate(mapping):
        if o >= original:
            return i
    return len(mapping) - 1
