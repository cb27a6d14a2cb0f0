"""The text side of the span features (rag.span_features): the candidate spans of a sentence
(runs of jieba words inside a clause, runs of whole clauses, its numbers and dates, and the
rules' pick), jieba's words cut where a date begins or ends, the occurrences of a pattern
(a literal's: rag.span's `found_literal`), and for every position how many characters run as
a question's text begins or ends (its anchors), all positions at once.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence

import numpy as np

from rag.postag import PERSON_FLAGS, tagged
from rag.span import CLAUSE, DATE, HOLLOW_CHARS, NUMBER, PAIRS, Span, SpanRules

_PUNCT = set(CLAUSE) | set(" \t\r、…·—-()（）《》「」『』“”\"'‘’【】[]")
_CLAUSE = frozenset(CLAUSE)
_SPACE = " \t\r"  # trimmed from a span's start
_TRIMMED = _SPACE + "，。；！？,;!?：:"  # and these from its end


def suffix_runs(q: str, ss: str, cap: int) -> np.ndarray:
    """For every position i of `ss` (0..len(ss)): how many characters before it, at most `cap`,
    end as `q` ends (the common suffix of `q` and `ss[:i]`). Only where `ss` holds `q`'s last
    character is there a run to count (a sentence holds it a few times at most)."""
    run = np.zeros(len(ss) + 1, dtype=np.int64)
    most = min(cap, len(q))
    if most == 0:
        return run
    i = ss.find(q[-1])
    while i >= 0:
        k = 1
        while k < most and k <= i and ss[i - k] == q[-1 - k]:
            k += 1
        run[i + 1] = k
        i = ss.find(q[-1], i + 1)
    return run


def prefix_runs(q: str, ss: str, cap: int) -> np.ndarray:
    """For every position i of `ss` (0..len(ss)): how many characters from it, at most `cap`,
    begin as `q` begins (the common prefix of `q` and `ss[i:]`), counted only where `ss` holds
    `q`'s first character."""
    run = np.zeros(len(ss) + 1, dtype=np.int64)
    most = min(cap, len(q))
    if most == 0:
        return run
    n = len(ss)
    i = ss.find(q[0])
    while i >= 0:
        k = 1
        while k < most and i + k < n and ss[i + k] == q[k]:
            k += 1
        run[i] = k
        i = ss.find(q[0], i + 1)
    return run


def candidate_spans(
    ss: str, words: Sequence[tuple[int, int, str]], rule: Span | None, longest: int, rules: SpanRules
) -> list[Span]:
    """The candidate spans of `ss` (Simplified; `words` its jieba words with flags, dates cut
    out: `dates_apart`): runs of up to `rules.candidate_words` words inside a clause, runs of
    up to `rules.candidate_clauses` whole clauses, the numbers and dates, and the rules' pick
    `rule`; each at most `longest` characters, trimmed of spaces and closing punctuation, and
    none of grammar words only (rag.span.hollow). Sorted, each once."""
    found: set[Span] = set()
    n = len(words)
    marked = [not _CLAUSE.isdisjoint(ss[x:y]) for x, y, _ in words]
    for i in range(n):
        a, _, _ = words[i]
        if ss[a] in _PUNCT:
            continue
        for j in range(i, min(n, i + rules.candidate_words)):
            b = words[j][1]
            if marked[j] or b - a > longest:
                break
            if ss[b - 1] not in _PUNCT:
                found.add((a, b))
    clauses = [m.span() for m in re.finditer(rf"[^{CLAUSE}]+", ss)]
    for i in range(len(clauses)):
        for j in range(i + 1, min(len(clauses), i + rules.candidate_clauses)):
            a, b = clauses[i][0], clauses[j][1]
            if b - a <= longest:
                found.add((a, b))
    for pattern in (NUMBER, DATE):
        found.update(m.span() for m in pattern.finditer(ss) if m.group(0))
    if rule is not None:
        found.add(rule)
    # characters up to each position that are not a grammar word's: a span with none is hollow
    solid = [0]
    for ch in ss:
        solid.append(solid[-1] + (ch not in HOLLOW_CHARS))
    out = set()
    for a, b in found:
        while a < b and ss[a] in _SPACE:
            a += 1
        while b > a and ss[b - 1] in _TRIMMED:
            b -= 1
        if a < b and solid[b] > solid[a]:
            out.add((a, b))
    return sorted(out)


def closed_end(ss: str, a: int, b: int, longest: int) -> int:
    """The end of the span `ss[a:b]`, past the closing bracket or quote of one it opens and
    stops inside (`rag.span.PAIRS`), where that closes before the clause ends and within
    `longest` characters (黄色(三 and 黄色(三级 of 黄色(三级)预警: 黄色(三级))."""
    for opener, closer in PAIRS.items():
        if opener != closer and ss.count(opener, a, b) > ss.count(closer, a, b):
            end = ss.find(closer, b)
            if end != -1 and end + 1 - a <= longest and _CLAUSE.isdisjoint(ss[b:end]):
                b = end + 1
    return b


def dates_apart(words: Sequence[tuple[int, int, str]], dates: Sequence[Span]) -> list[tuple[int, int, str]]:
    """`words` (jieba's, with flags) cut where a date begins or ends inside one: jieba reads
    the 日讯 of a dateline (…9月24日讯) or the 日电 of 3月5日电 as one word, which would make the
    date alone a span that cuts a word. A piece inside the date is tagged a time word (t)."""
    if not dates:
        return list(words)
    cuts = sorted({c for span in dates for c in span})
    out: list[tuple[int, int, str]] = []
    for x, y, flag in words:
        inner = cuts[bisect.bisect_right(cuts, x) : bisect.bisect_left(cuts, y)]
        for a, b in zip([x, *inner], [*inner, y], strict=True):
            in_date = any(d0 <= a and b <= d1 for d0, d1 in dates)
            out.append((a, b, "t" if inner and in_date else flag))
    return out


NAME_DOTS = frozenset("·•・‧")  # the middle dots between the parts of a transliterated name


def names_joined(ss: str, words: Sequence[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """`words` (jieba's, with flags) with each transliterated name written across a middle dot
    made one word, tagged a transliterated name (nrt): jieba cuts such names apart and tags a
    part a common word (卡斯滕·科 / 斯费尔德: the 科 a noun), so a span could end or begin inside
    the name and the short answer be a piece of it. A name is parts joined by middle dots, each
    a run of words tagged a person's name or single characters tagged a noun, one of them at
    least a person's name (a part tagged a place's name, or a word run together with a
    conjunction, 曼和, ends it: two names joined by 和 stay two); anything else next to a dot
    leaves it alone."""
    if not any(ch in NAME_DOTS for ch in ss):
        return list(words)

    def part(k: int, step: int) -> tuple[int, bool]:
        """From word k, going by `step`: the last word of the run of name-like words, and
        whether the run holds a person's name; k - step where the run is empty."""
        last, person = k - step, False
        while 0 <= k < len(out):
            x, y, flag = out[k]
            if flag.startswith(PERSON_FLAGS) or (
                y - x == 1 and flag.startswith("n") and "\u4e00" <= ss[x] <= "\u9fff"
            ):
                last, person = k, person or flag.startswith(PERSON_FLAGS)
                k += step
            else:
                break
        return last, person

    out = list(words)
    k = 0
    while k < len(out):
        x, y, _ = out[k]
        if not (y - x == 1 and ss[x] in NAME_DOTS) or k == 0:
            k += 1
            continue
        first, before = part(k - 1, -1)
        last, after, j = k, False, k
        # each dot and the part after it, as long as the name goes on
        while j < len(out) and out[j][1] - out[j][0] == 1 and ss[out[j][0]] in NAME_DOTS:
            end, person = part(j + 1, 1)
            if end < j + 1:
                break
            last, after, j = end, after or person, end + 1
        if first <= k - 1 and last > k and (before or after):
            out[first : last + 1] = [(out[first][0], out[last][1], "nrt")]
            k = first + 1
        else:
            k += 1
    return out


def matches(pattern: re.Pattern[str] | str, ss: str) -> list[Span]:
    """The spans of the non-empty matches of `pattern` in `ss`, left to right."""
    return [m.span() for m in re.finditer(pattern, ss) if m.end() > m.start()]


def with_title_marks(text: str, a: int, b: int) -> Span:
    """The span `text[a:b]` with the title marks around it where it is a whole title
    (《山城旧事》: a work's title is written with its marks, as the dev sets' gold keeps them,
    84 to 1 on CMRC 2018); a part of a title, or a quote in 「」, stays as it is."""
    inner = text[a:b]
    if (
        0 < a
        and b < len(text)
        and text[a - 1] == "《"
        and text[b] == "》"
        and "《" not in inner
        and "》" not in inner
    ):
        return a - 1, b + 1
    return a, b


_COUNTED = re.compile(r"(?:多少|几)个([\u4e00-\u9fff]+)")


def counted_noun(qs: str) -> str:
    """The noun a Chinese question counts in 个 (多少个州 → 州, 几个出入口 → 出入口: the first
    word after it, as jieba cuts the question `qs`, Simplified), "" where it counts none so."""
    m = _COUNTED.search(qs)
    if m is None:
        return ""
    word = next(((a, b) for a, b, _ in tagged(qs) if a <= m.start(1) < b), None)
    if word is None or word[0] != m.start(1):
        return ""  # 个 and the next character are one word (个人): no noun counted
    return qs[word[0] : word[1]]


def whole_counts(ss: str, spans: list[Span], dates: list[Span]) -> list[Span]:
    """`spans` without those ending after a digit inside a number or date expression of `ss`
    (`dates`: its DATE matches): 2023年8月4日23 of 2023年8月4日23时, 10 of 10公里, which
    cut the count from its unit."""
    inside = [False] * (len(ss) + 1)
    for a, b in [*dates, *matches(NUMBER, ss)]:
        for p in range(a + 1, b):
            inside[p] = True
    # (a number's pattern runs on over a comma or a full stop after it: 编号L2，为 is no cut)
    return [(a, b) for a, b in spans if not (inside[b] and ss[b - 1].isdigit() and ss[b] not in ",.")]
