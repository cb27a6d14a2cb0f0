"""Short answers, learned: every plausible span of the answer sentence is scored by a linear
model over general features, and the best one is the short answer.

Candidates are runs of jieba words inside a clause, runs of whole clauses, the numbers and
dates of the sentence, and the rules' own pick (rag.span), so the model can only do as well
as the rules or better on what it was fitted on. Features say how a span sits against the
question (the question's words right before and right after its wh-word found around the
span, distance to question words in the sentence), what it is (jieba part of speech of its
first and last words, a name, a number, a date, a title in 《》, the noun a "what X"
question names), its shape (length, clause edges, grammar words at its ends) and whether it
is the rules' pick, each also crossed with the kind of answer asked for. No feature names an
entity; the weights are fitted by `bench/fit_spans.py` (conditional logit over each
question's candidates, one dev set held apart) and read from the policy file.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rag.normalize import fold_width, simplify_with_map, to_simplified
from rag.span import (
    CLAUSE,
    DATE,
    LEADING_GLUE,
    NUM_CORE,
    NUMBER,
    REASON_Q,
    UNIT_AHEAD,
    WH,
    Span,
    SpanRules,
    head_noun,
    hollow,
    rule_span,
    tagged,
    to_original,
)

KINDS = ("person", "place", "number", "date", "list", "other", "reason")
_POS_CLASSES = ("name", "noun", "verb", "num", "time", "adj", "function", "latin")
_LEN_BUCKETS = (1, 2, 4, 7, 12, 20)  # a span of at most this many characters falls in that bucket
_NEAR_BUCKETS = (0, 2, 6, 15)  # characters between the span and the nearest question word
_ANCHOR_CAP = 8  # characters of an anchor that count
_MAX_WORDS = 12  # words in a candidate inside one clause
_MAX_CLAUSES = 3  # clauses in a candidate made of whole clauses
_OPEN_CLOSE = {"《": "》", "「": "」", "『": "』", "“": "”", '"': '"'}  # titles and quotes
_PARENS = {"（": "）", "(": ")"}  # asides: a byline, a gloss
_PUNCT = set(CLAUSE) | set(" \t\r、…·—-()（）《》「」『』“”\"'‘’【】[]")
_ENUM = re.compile(r"、|和|及|与|以及")
_TRAILING = "的了"
_WH_CHARS = set("什么哪谁几多少何时怎样如")


def _pos_class(flag: str) -> str:
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


PLAIN = (
    "rule_exact",
    "rule_f1",
    "rule_inside",
    "rule_covers",
    "rule_none",
    *(f"len<={n}" for n in _LEN_BUCKETS),
    "len>max_bucket",
    "q_char_share",
    "q_word_inside",
    "left_anchor",
    "left_anchor_gap",
    "right_anchor",
    "right_anchor_gap",
    "right_anchor_past_noun",
    *(f"near<={n}" for n in _NEAR_BUCKETS),
    "near_none",
    "q_word_left_in_clause",
    "q_word_right_in_clause",
    "starts_clause",
    "ends_clause",
    "starts_glue",
    "ends_trailing",
    "after_glue",
    "before_de",
    "crosses_clause",
    "has_enum",
    "bracketed",
    "in_parens",
    "position",
    "cuts_word",
)


TYPED = (
    "has_name",
    "all_names",
    "number_whole",
    "number_inside",
    "date_whole",
    "date_inside",
    "has_head_noun",
    "last_word_has_head_noun",
    *(f"first_{c}" for c in _POS_CLASSES),
    *(f"last_{c}" for c in _POS_CLASSES),
    "has_enum",
    "bracketed",
    "len_log",
    "rule_exact",
    "crosses_clause",
    "before_unit",
)


_PLAIN_INDEX = {name: k for k, name in enumerate(PLAIN)}
# the typed features are given once for every kind ("all:") and once more for the kind asked
FEATURE_NAMES = (*PLAIN, *(f"{k}:{t}" for k in ("all", *KINDS) for t in TYPED))


@dataclass(frozen=True, slots=True)
class SpanModel:
    """Weights of the span features (`FEATURE_NAMES`, in that order), fitted by bench/fit_spans.py."""

    features: tuple[str, ...]
    weights: tuple[float, ...]

    def for_kind(self, kind: str) -> np.ndarray:
        """The weights of the compact features (`PLAIN`, then `TYPED`) for questions of `kind`."""
        w = np.asarray(self.weights, dtype=np.float32)
        typed = len(PLAIN) + len(TYPED) * (1 + KINDS.index(kind))
        return np.concatenate(
            [w[: len(PLAIN)], w[len(PLAIN) : len(PLAIN) + len(TYPED)] + w[typed : typed + len(TYPED)]]
        )

    def check(self) -> None:
        if tuple(self.features) != FEATURE_NAMES or len(self.weights) != len(FEATURE_NAMES):
            raise ValueError(
                "span model: its features are not the ones this code computes; run bench/fit_spans.py"
            )


@dataclass(frozen=True, slots=True)
class SpanCandidates:
    """The candidate spans of one sentence (offsets into the Simplified text `ss`) and their features."""

    ss: str
    spans: list[Span]
    compact: np.ndarray  # (len(spans), len(PLAIN) + len(TYPED)), float32
    kind: str  # one of KINDS: the kind of answer asked for (a reason question is its own kind)

    def expanded(self) -> np.ndarray:
        """The features as `FEATURE_NAMES` orders them: the typed ones under "all" and the kind."""
        n_plain, n_typed = len(PLAIN), len(TYPED)
        out = np.zeros((len(self.spans), len(FEATURE_NAMES)), dtype=np.float32)
        out[:, :n_plain] = self.compact[:, :n_plain]
        out[:, n_plain : n_plain + n_typed] = self.compact[:, n_plain:]
        at = n_plain + n_typed * (1 + KINDS.index(self.kind))
        out[:, at : at + n_typed] = self.compact[:, n_plain:]
        return out


def _common_suffix(a: str, b: str) -> int:
    n = 0
    while n < min(len(a), len(b), _ANCHOR_CAP) and a[len(a) - 1 - n] == b[len(b) - 1 - n]:
        n += 1
    return n


def _common_prefix(a: str, b: str) -> int:
    n = 0
    while n < min(len(a), len(b), _ANCHOR_CAP) and a[n] == b[n]:
        n += 1
    return n


def _char_f1(a: Span, b: Span) -> float:
    inter = min(a[1], b[1]) - max(a[0], b[0])
    if inter <= 0:
        return 0.0
    p, r = inter / (a[1] - a[0]), inter / (b[1] - b[0])
    return 2 * p * r / (p + r)


def _question_parts(qs: str) -> tuple[str, str, str]:
    """(text before the wh-word, text after it, kind suffix), punctuation at the end dropped."""
    qs = re.sub(r"[？?。.！!\s]+$", "", qs)
    m = WH.search(qs)
    if not m:
        return re.sub(r"(吗|呢|么)$", "", qs), "", ""
    return qs[: m.start()], qs[m.end() :], m.group(0)


def _spans(ss: str, words: Sequence[tuple[int, int, str]], rule: Span | None, longest: int) -> list[Span]:
    found: set[Span] = set()
    n = len(words)
    for i in range(n):
        a, _, _ = words[i]
        if ss[a] in _PUNCT:
            continue
        for j in range(i, min(n, i + _MAX_WORDS)):
            _, b, _ = words[j]
            if any(ch in CLAUSE for ch in ss[words[j][0] : b]) or b - a > longest:
                break
            if ss[b - 1] not in _PUNCT:
                found.add((a, b))
    clauses = [m.span() for m in re.finditer(rf"[^{CLAUSE}]+", ss)]
    for i in range(len(clauses)):
        for j in range(i + 1, min(len(clauses), i + _MAX_CLAUSES)):
            a, b = clauses[i][0], clauses[j][1]
            if b - a <= longest:
                found.add((a, b))
    for pattern in (NUMBER, DATE):
        found.update(m.span() for m in pattern.finditer(ss) if m.group(0))
    if rule is not None:
        found.add(rule)
    out = []
    for a, b in sorted(found):
        while a < b and ss[a] in " \t\r":
            a += 1
        while b > a and ss[b - 1] in " \t\r" + "，。；！？,;!?：:":
            b -= 1
        if a < b and not hollow(ss[a:b]):
            out.append((a, b))
    return sorted(set(out))


def candidates(question: str, kind: str, sentence: str, rules: SpanRules) -> SpanCandidates:
    """Every candidate span of `sentence` for `question` (both as written) with its features."""
    qs = fold_width(to_simplified(question))
    ss, _ = simplify_with_map(sentence)
    return candidates_simplified(qs, kind, ss, rules)


def candidates_simplified(qs: str, kind: str, ss: str, rules: SpanRules) -> SpanCandidates:
    longest = rules.max_list_chars if kind == "list" else rules.max_chars
    rule = rule_span(qs, kind, ss, rules)
    words = tagged(ss)
    spans = _spans(ss, words, rule, longest)
    ext_kind = "reason" if REASON_Q.search(qs) else kind
    left_q, right_q, _ = _question_parts(qs)
    q_words = {qs[a:b] for a, b, _ in tagged(qs) if b - a >= 2 and not set(qs[a:b]) & _WH_CHARS}
    q_chars = {ch for ch in qs if "\u4e00" <= ch <= "\u9fff" and ch not in _WH_CHARS}
    hits = sorted((m.start(), m.end()) for w in q_words for m in re.finditer(re.escape(w), ss))
    head = head_noun(qs)
    q_after = tagged(right_q) if right_q else ()
    right_rest = right_q[q_after[0][1] :] if q_after else ""  # past the type noun (哪家[公司]负责)
    starts = {a: k for k, (a, _, _) in enumerate(words)}
    ends = {b: k for k, (_, b, _) in enumerate(words)}
    index = _PLAIN_INDEX
    clause_of = [0] * (len(ss) + 1)
    c = 0
    for i, ch in enumerate(ss):
        clause_of[i] = c
        if ch in CLAUSE:
            c += 1
    clause_of[len(ss)] = c
    n = len(ss)
    # per position, computed once: prefix counts (question characters, CJK characters, clause
    # marks) and where grammar words start and end
    cjk_before, q_before, marks_before = [0], [0], [0]
    for ch in ss:
        cjk = "\u4e00" <= ch <= "\u9fff"
        cjk_before.append(cjk_before[-1] + cjk)
        q_before.append(q_before[-1] + (cjk and ch in q_chars))
        marks_before.append(marks_before[-1] + (ch in CLAUSE))
    glue_from: dict[int, int] = {}  # position -> length of the shortest grammar word starting there
    glue_to: set[int] = set()  # positions where a grammar word ends
    for g in LEADING_GLUE:
        for m in re.finditer(re.escape(g), ss):
            glue_from[m.start()] = min(len(g), glue_from.get(m.start(), len(g)))
            glue_to.add(m.end())
    word_starts = [w[0] for w in words]
    classes_of = [_pos_class(flag) for _, _, flag in words]
    rows: list[list[float]] = []
    for a, b in spans:
        f = [0.0] * len(PLAIN)
        text = ss[a:b]
        length = b - a

        def put(name: str, value: float, f: list[float] = f) -> None:
            f[index[name]] = value

        if rule is not None:
            put("rule_exact", float((a, b) == rule))
            put("rule_f1", _char_f1((a, b), rule))
            put("rule_inside", float(rule[0] <= a and b <= rule[1] and (a, b) != rule))
            put("rule_covers", float(a <= rule[0] and rule[1] <= b and (a, b) != rule))
        else:
            put("rule_none", 1.0)
        bucket = next((k for k in _LEN_BUCKETS if length <= k), None)
        put(f"len<={bucket}" if bucket else "len>max_bucket", 1.0)
        cjk_n = cjk_before[b] - cjk_before[a]
        put("q_char_share", (q_before[b] - q_before[a]) / cjk_n if cjk_n else 0.0)
        put("q_word_inside", float(any(a <= s0 and e0 <= b for s0, e0 in hits)))
        put("left_anchor", _common_suffix(left_q, ss[max(0, a - _ANCHOR_CAP) : a]) / _ANCHOR_CAP)
        after = ss[b : b + len(right_q)]
        put("right_anchor", _common_prefix(right_q, after) / _ANCHOR_CAP)
        put("right_anchor_past_noun", _common_prefix(right_rest, after) / _ANCHOR_CAP)
        k = ends.get(a)  # one word between the anchor and the span (是, 为, 在)
        if k is not None:
            w0 = words[k][0]
            put("left_anchor_gap", _common_suffix(left_q, ss[max(0, w0 - _ANCHOR_CAP) : w0]) / _ANCHOR_CAP)
        k = starts.get(b)
        if k is not None:
            put("right_anchor_gap", _common_prefix(right_q, ss[words[k][1] :]) / _ANCHOR_CAP)
        gaps = [max(s0 - b, a - e0, 0) for s0, e0 in hits if e0 <= a or s0 >= b]
        near = min(gaps) if gaps else None
        bucket = next((k for k in _NEAR_BUCKETS if near is not None and near <= k), None)
        put(f"near<={bucket}" if bucket is not None else "near_none", 1.0)
        put("q_word_left_in_clause", float(any(e0 <= a and clause_of[s0] == clause_of[a] for s0, e0 in hits)))
        put(
            "q_word_right_in_clause",
            float(any(s0 >= b and clause_of[s0] == clause_of[b - 1] for s0, _ in hits)),
        )
        put("starts_clause", float(a == 0 or ss[a - 1] in CLAUSE))
        put("ends_clause", float(b == n or ss[b] in CLAUSE))
        put("starts_glue", float(glue_from.get(a, length) < length))
        put("ends_trailing", float(text[-1] in _TRAILING))
        put("after_glue", float(a in glue_to))
        put("before_de", float(ss.startswith("的", b)))
        crosses = float(marks_before[b] > marks_before[a])
        put("crosses_clause", crosses)
        enum = float(bool(_ENUM.search(text)))
        put("has_enum", enum)
        bracketed = float(a > 0 and b < n and _OPEN_CLOSE.get(ss[a - 1]) == ss[b])
        put("bracketed", bracketed)
        put("in_parens", float(a > 0 and b < n and _PARENS.get(ss[a - 1]) == ss[b]))
        put("position", a / max(1, n))
        put("cuts_word", float(a not in starts or b not in ends))
        lo = max(0, bisect_right(word_starts, a) - 1)
        hi = max(lo + 1, bisect_left(word_starts, b))
        classes = classes_of[lo:hi] or ["function"]
        has_num = bool(NUM_CORE.search(text))
        typed = [
            float("name" in classes),
            float(all(c in ("name", "latin") for c in classes)),
            float(has_num and bool(NUMBER.fullmatch(text))),
            float(has_num),
            float(bool(DATE.fullmatch(text))),
            float(bool(DATE.search(text))),
            float(bool(head) and head in text),
            float(bool(head) and head in ss[words[hi - 1][0] : words[hi - 1][1]]) if words else 0.0,
            *(float(c == classes[0]) for c in _POS_CLASSES),
            *(float(c == classes[-1]) for c in _POS_CLASSES),
            enum,
            bracketed,
            math.log(length),
            float((a, b) == rule),
            crosses,
            float(bool(UNIT_AHEAD.match(ss, b))),
        ]
        rows.append(f + typed)
    out = np.array(rows, dtype=np.float32).reshape(len(spans), len(PLAIN) + len(TYPED))
    return SpanCandidates(ss, spans, out, ext_kind if ext_kind in KINDS else "other")


def best_span(question: str, kind: str, sentence: str, rules: SpanRules, model: SpanModel) -> Span | None:
    """Offsets [start, end) into `sentence` (as published) of the best-scored candidate span,
    or None when the sentence has none."""
    model.check()
    if not question.strip() or not sentence.strip():
        return None
    qs = fold_width(to_simplified(question))
    ss, mapping = simplify_with_map(sentence)
    found = candidates_simplified(qs, kind, ss, rules)
    if not found.spans:
        return None
    scores = found.compact @ model.for_kind(found.kind)
    return to_original(sentence, ss, mapping, found.spans[int(np.argmax(scores))])
