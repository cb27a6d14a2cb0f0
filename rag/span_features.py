"""Short-answer candidates and their features: every plausible span of an answer sentence,
described by general features for the span model (rag.span_rank) to score.

Candidates are runs of jieba words inside a clause, runs of whole clauses, the numbers and
dates of the sentence, and the rules' own pick (rag.span), so the rules' answer is always
one of the choices (rag.span_text finds them). Features say how a span sits against the
question (the question's words right before and right after its wh-word found around the
span, distance to question words in the sentence), what it is (jieba part of speech of its
first and last words, a name, a number, a date, a title in 《》, the noun a "what X"
question names), its shape (length, clause edges, grammar words at its ends) and whether it
is the rules' pick, each also crossed with the kind of answer asked for; and, hashed, the
grammar words and characters at its edges, alone and with the question's wh-word
(rag.span_lexical: a name or a noun enters as its class only). No feature names an entity.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from rag.bylines import asks_about_credits, credits, outside_credits
from rag.normalize import fold_width, simplified_question, simplify_with_map
from rag.postag import PERSON_FLAGS, tagged
from rag.sentence_words import Tags
from rag.span import (
    CHANGE_ENDINGS,
    CLAUSE,
    DATE,
    LEADING_GLUE,
    MONTH_DAY,
    NUM_CORE,
    NUMBER,
    REASON_Q,
    UNIT_AHEAD,
    WH,
    YEAR,
    Span,
    SpanRules,
    found_literal,
    head_noun,
    in_units,
    rule_span,
)
from rag.span_lexical import POS_CLASSES, TEMPLATES, asked_noun, pos_class
from rag.span_lexical import keys as lexical_keys
from rag.span_numbers import (
    CLOCK,
    DAY,
    NUMERAL,
    calendar_parts,
    counts_days,
    units_of,
    whole_expressions,
    within,
)
from rag.span_text import (
    candidate_spans,
    dates_apart,
    matches,
    names_joined,
    prefix_runs,
    suffix_runs,
    whole_counts,
)

KINDS = ("person", "place", "number", "date", "list", "other", "reason")
# what joins names in a list (张三和李四, 张三、李四)
JOINED = re.compile(r"以及|和|与|及|、")
# what a change reached, right before its count: 增加至8万元, 提高到了30%, 增至为5亿, 降价至20至30元,
# 达120万 (not the 至 of a range: 40元至90元)
REACHED = re.compile(rf"(?:[{CHANGE_ENDINGS}价整](?:至|到)|达)(?:了|为)?$")
_NAME, _LATIN = POS_CLASSES.index("name"), POS_CLASSES.index("latin")
# Feature definitions (bucket edges; the anchor length is the policy's spans.anchor_chars): they shape the features,
# the fitted weights decide.
_LEN_BUCKETS = (1, 2, 4, 7, 12, 20)  # a span of at most this many characters falls in that bucket
_NEAR_BUCKETS = (0, 2, 6, 15)  # characters between the span and the nearest question word
_OPEN_CLOSE = {"《": "》", "「": "」", "『": "』", "“": "”", '"': '"'}  # titles and quotes
_PARENS = {"（": "）", "(": ")"}  # asides: a byline, a gloss
# each pair numbered: quotes and titles first, then the parentheses
_OPENERS = {o: k for k, o in enumerate([*_OPEN_CLOSE, *_PARENS])}
_CLOSERS = {c: k for k, c in enumerate([*_OPEN_CLOSE.values(), *_PARENS.values()])}
_ENUM = re.compile(r"、|和|及|与|以及")
_TRAILING = "的了"
# a 零 beside no other numeral, inside a word (零售价, 零部件): no count
_LONE_ZERO = re.compile(
    r"(?<![\d零〇○一二两三四五六七八九十百千万亿])零(?![\d零〇○一二两三四五六七八九十百千万亿])"
)


def lone_zeros(ss: str) -> tuple[Span, ...]:
    """The 零 of `ss` that no other numeral stands beside (零售价: retail, not zero)."""
    return tuple(m.span() for m in _LONE_ZERO.finditer(ss))


_WH_CHARS = set("什么哪谁几多少何时怎样如")


PLAIN = (
    "rule_exact",
    "rule_f1",
    "rule_inside",
    "rule_covers",
    "rule_none",
    *(f"len<={n}" for n in _LEN_BUCKETS),
    "len>max_bucket",
    "q_char_share",
    "q_whole",  # the question writes the span whole (「波塞冬」巡逻机的是哪一型…: not its answer)
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
    "last_word_shares_asked_char",
    *(f"first_{c}" for c in POS_CLASSES),
    *(f"last_{c}" for c in POS_CLASSES),
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
# what the trees see of a candidate (`tree_rows`): its features, then its linear score less the best one's
TREE_FEATURE_NAMES = (*FEATURE_NAMES, "linear_gap")

_NAME_FLAGS = ("nr", "ns", "nt", "nz")  # jieba's proper names: a person's, a place's, a body's, others


@dataclass(frozen=True, slots=True)
class SpanCandidates:
    """The candidate spans of one sentence (offsets into the Simplified text `ss`) and their features."""

    ss: str
    spans: list[Span]
    compact: np.ndarray  # (len(spans), len(PLAIN) + len(TYPED)), float32
    keys: np.ndarray  # (len(spans), len(rag.span_lexical.TEMPLATES)): the lexical buckets
    kind: str  # one of KINDS: the kind of answer asked for (a reason question is its own kind)
    # the sentence's proper names (五菱, 四川), of a number, person or list question: no numeral
    # in one counts; a list of people joins only names
    names: tuple[Span, ...] = ()
    # the people the sentence names (jieba's person tags), of a person question: who holds a title
    people: tuple[Span, ...] = ()

    def counted(self, *, asks_year: bool = False, days_counted: bool = False) -> SpanCandidates:
        """For a number question, only the candidates that hold a numeral of no day of the
        calendar (a count answers it: `平方千米` without its 3 does not, nor 8月17日, which opens
        many a news story), of no proper name (the 五 of 五菱) and, unless it asks a year
        (`asks_year`: 西元几年, the 1949 of 1949年12月7日), of no year (2023年 answers no 多少台);
        any other kind's, all of them (`rag.span_rank.sure_span` picks among these when its
        pick among all holds no such numeral). A day alone (10日, not 8月10日) is a count of a
        question counting days (`days_counted`: 拘留几天). A 零 that no other numeral stands
        beside (零售价, 零部件) is none either."""
        if self.kind != "number":
            return self
        days = self.names + tuple(
            m.span() for m in MONTH_DAY.finditer(self.ss) if not days_counted or "月" in m.group(0)
        )
        days += lone_zeros(self.ss)
        if not asks_year:
            days += tuple(m.span() for m in YEAR.finditer(self.ss))
        # how many such numerals stand before each position, worked out once for all candidates
        before = list(
            itertools.accumulate(
                (bool(NUMERAL.match(ch)) and not within(days, k, k + 1) for k, ch in enumerate(self.ss)),
                initial=0,
            )
        )
        return self._only([i for i, (a, b) in enumerate(self.spans) if before[b] > before[a]])

    def measured(self, measure: str | tuple[str, ...]) -> SpanCandidates:
        """For a number question asking a count in `measure` (`rag.answer.Query.measure`:
        多少名运动员 → 名), only the candidates that are a whole count written in it (3000名, not
        48个; 第五届 asked 第几届; a count of people in 人, 名 or 位); any other kind's, or
        without a measure, all."""
        units = units_of(measure)
        if self.kind != "number" or not units:
            return self
        days = calendar_parts(self.ss, counts_days(units))
        return self._only(
            [
                i
                for i, (a, b) in enumerate(self.spans)
                if in_units(self.ss[a:b], units)
                and NUMBER.fullmatch(self.ss, a + self.ss.startswith("第", a), b)
                and not within(days, a, b)
            ]
        )

    def dated(self) -> SpanCandidates:
        """For a date question, only the candidates that are a whole date naming a day and ending
        with it (8月3日, 2022年12月27日, 3日; not 7月28日20点), for a question asking one
        (`rag.span.ASKS_DAY`); any other kind's, all."""
        if self.kind != "date":
            return self
        return self._only(
            [
                i
                for i, (a, b) in enumerate(self.spans)
                # ending with its day, not its hour (7月28日 of 7月28日20点), and no stamp's day
                # (2023年07月28日 11:01:23)
                if DATE.fullmatch(self.ss, a, b) and DAY.match(self.ss, b - 1) and not CLOCK.match(self.ss, b)
            ]
        )

    def first_of_joined(self, span: Span, titled: str) -> Span:
        """For a question asking who holds a title (`titled`: the words before its 是谁, 副司令员),
        a pick right after that title that joins its name to more than names (李明和市政府秘书长
        赵刚: another's title and name) cut to that first name (李明); a pick elsewhere, one
        that joins only names (李明和赵刚) or holds no name first, as it is."""
        a, b = span
        pieces = JOINED.split(self.ss[a:b])
        if len(pieces) == 1 or not self._right_after(titled, a):
            return span
        named = {self.ss[x:y] for x, y in self.names}
        if all(p in named for p in pieces) or pieces[0] not in named:
            return span
        return a, a + len(pieces[0])

    def after_title(self, titled: str) -> SpanCandidates:
        """For a question asking who holds a title (`titled`: the words before its 是谁, 党组书记),
        only the candidates that open with a person's name (jieba's tag) written right after
        that title's last two to six characters (党组书记王某: 王某, 王某二世; not another word
        of the sentence that jieba reads as a name, 令人); any other kind's, or without such a
        name, all."""
        if self.kind != "person" or not titled:
            return self
        ends = dict(self.people)
        return self._only(
            [
                i
                for i, (a, b) in enumerate(self.spans)
                if b >= ends.get(a, b + 1) and self._right_after(titled, a)
            ]
        )

    def _right_after(self, titled: str, a: int) -> bool:
        """Whether the sentence writes the last two to six characters of the title `titled`
        right before offset `a` (副司令员王某: 王某 is right after 副司令员)."""
        return any(self.ss.endswith(titled[-n:], 0, a) for n in range(2, min(len(titled), 6) + 1))

    def reached(self) -> SpanCandidates:
        """For a number question asking what a change reached (提高到多少, 增至多少), only the
        candidates opening with a count written right after 至, 到 or 达 (由2万元增加至为8万元: 8万元, not 2万元);
        any other kind's, all."""
        if self.kind != "number":
            return self
        return self._only(
            [
                i
                for i, (a, b) in enumerate(self.spans)
                # (a count and its unit, which the number pattern may not know: 15公分)
                if REACHED.search(self.ss, max(0, a - 3), a) and NUMBER.match(self.ss, a, b)
            ]
        )

    def counting(self, noun: str) -> SpanCandidates:
        """For a number question asking how many of `noun` in 个 (多少个州 → 州: `counted_noun`),
        only the candidates that are a whole count followed by the noun, or ending with it (8个
        of 8个州, or 8个州); any other kind's, or without a noun, all."""
        if self.kind != "number" or not noun:
            return self
        keep = []
        for i, (a, b) in enumerate(self.spans):
            count = b - len(noun) if self.ss.endswith(noun, a, b) else b
            if NUMBER.fullmatch(self.ss, a, count) and self.ss.startswith(noun, count):
                keep.append(i)
        return self._only(keep)

    def counts_in(self, span: Span, measure: str | tuple[str, ...]) -> bool:
        """Whether the text of `span` holds a count in `measure` (or its like: `measured`):
        四到五只, 两天两夜 and 3岁时 each hold one."""
        units = units_of(measure)
        counts = [m for m in NUMBER.finditer(self.ss, *span) if units and in_units(m.group(0), units)]
        days = calendar_parts(self.ss, counts_days(units)) if counts else ()
        return any(not within(days, *m.span()) for m in counts)

    def expressions(
        self, question: str, *, days_counted: bool = False, units: tuple[str, ...] = ()
    ) -> SpanCandidates:
        """For a number (date) question, only the candidates that are a whole number (date)
        expression (NUMBER, DATE) not written in `question` (an English question's `2022` is
        the sentence's 2022年): what answers one where the question's words, in another
        language, give the model no context to place a span by; any other kind's, all of them."""
        if self.kind not in ("number", "date"):
            return self
        whole = set(whole_expressions(question, self.kind, self.ss, days_counted=days_counted, units=units))
        return self._only([i for i, span in enumerate(self.spans) if span in whole])

    def _only(self, keep: list[int]) -> SpanCandidates:
        """These candidates with only the rows `keep`."""
        return dataclasses.replace(
            self, spans=[self.spans[i] for i in keep], compact=self.compact[keep], keys=self.keys[keep]
        )

    def expanded(self) -> np.ndarray:
        """The features as `FEATURE_NAMES` orders them: the typed ones under "all" and the kind."""
        n_plain, n_typed = len(PLAIN), len(TYPED)
        out = np.zeros((len(self.spans), len(FEATURE_NAMES)), dtype=np.float32)
        out[:, :n_plain] = self.compact[:, :n_plain]
        out[:, n_plain : n_plain + n_typed] = self.compact[:, n_plain:]
        at = n_plain + n_typed * (1 + KINDS.index(self.kind))
        out[:, at : at + n_typed] = self.compact[:, n_plain:]
        return out


def _question_parts(qs: str) -> tuple[str, str, str]:
    """(text before the wh-word, the wh-word, text after it), punctuation at the end dropped;
    without a wh-word, the question less a final 吗/呢/么 and two empty strings."""
    qs = re.sub(r"[？?。.！!\s]+$", "", qs)
    m = WH.search(qs)
    if not m:
        return re.sub(r"(吗|呢|么)$", "", qs), "", ""
    return qs[: m.start()], m.group(0), qs[m.end() :]


def _asked(wh: str, right_q: str, q_after: Tags) -> str:
    """`asked_noun` of the question part `right_q` after its wh-word `wh` (`q_after`: its words)."""
    return asked_noun(wh, [(right_q[x:y], flag) for x, y, flag in q_after])


def asked_in(qs: str) -> str:
    """The noun the question `qs` (Simplified, width-folded) asks for, as its candidates'
    features read it (`rag.span_lexical.asked_noun`: 什么罪 → 罪); "" where it asks for none."""
    _, wh, right_q = _question_parts(qs)
    return _asked(wh, right_q, tagged(right_q) if right_q else ())


def candidates(question: str, kind: str, sentence: str, rules: SpanRules) -> SpanCandidates:
    """Every candidate span of `sentence` for `question` (both as written) with its features."""
    qs = fold_width(simplified_question(question))
    ss, _ = simplify_with_map(sentence)
    return candidates_simplified(qs, kind, ss, rules)


def _inside(found: list[Span], a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per candidate [a, b): whether one of the `found` spans lies inside it."""
    if not found:
        return np.zeros(len(a), dtype=bool)
    fs, fe = np.array(found).T
    return ((a[:, None] <= fs) & (fe <= b[:, None])).any(axis=1)


def _is(found: list[Span], spans: list[Span]) -> np.ndarray:
    """Per candidate of `spans`: whether it is one of the `found` spans."""
    keys = set(found)
    return np.array([span in keys for span in spans], dtype=bool)


def _unit_ahead(ss: str, ends: np.ndarray) -> np.ndarray:
    """Per span end: whether a unit follows it (UNIT_AHEAD)."""
    match = UNIT_AHEAD.match
    return np.array([match(ss, i) is not None for i in range(len(ss) + 1)], dtype=bool)[ends]


def candidates_simplified(
    qs: str, kind: str, ss: str, rules: SpanRules, tags: Tags | None = None
) -> SpanCandidates:
    """The candidates of `ss` (Simplified, width-folded) for the question `qs` (same form), with
    their features computed for all candidates at once from per-position tables. `tags`:
    `ss`'s part-of-speech words when stored at index time (else tagged here)."""
    longest = rules.max_list_chars if kind == "list" else rules.max_chars
    # a transliterated name one word (卡斯滕·科斯费尔德, which jieba cuts into a name and a noun and
    # a name), for the rules' pick as for the candidates: no span a piece of it
    tags = tuple(names_joined(ss, tagged(ss) if tags is None else tags))
    # a reporter's byline answers nothing about the story, only a question about its credits
    credited = [] if asks_about_credits(qs) else credits(ss, tags)
    rule = rule_span(qs, kind, ss, rules, tags)
    if rule is not None and not outside_credits([rule], credited):
        rule = None
    dates = matches(DATE, ss)
    words = dates_apart(tags, dates)
    spans = outside_credits(candidate_spans(ss, words, rule, longest, rules), credited)
    spans = whole_counts(ss, spans, dates)
    ext_kind = "reason" if REASON_Q.search(qs) else kind
    ext_kind = ext_kind if ext_kind in KINDS else "other"
    out = np.zeros((len(spans), len(PLAIN) + len(TYPED)), dtype=np.float32)
    if not spans:
        return SpanCandidates(ss, spans, out, np.zeros((0, len(TEMPLATES)), dtype=np.int64), ext_kind)
    n = len(ss)
    a = np.array([x for x, _ in spans], dtype=np.int64)
    b = np.array([y for _, y in spans], dtype=np.int64)
    length = (b - a).astype(np.float32)

    def put(name: str, value: ArrayLike) -> None:
        out[:, _PLAIN_INDEX[name]] = value

    # the question: its frame around the wh-word, its words, its names, its "what X" noun
    left_q, wh, right_q = _question_parts(qs)
    q_tagged = tagged(qs)
    q_words = {qs[x:y] for x, y, _ in q_tagged if y - x >= 2 and not set(qs[x:y]) & _WH_CHARS}
    q_chars = {ch for ch in qs if "\u4e00" <= ch <= "\u9fff" and ch not in _WH_CHARS}
    q_after = tagged(right_q) if right_q else ()
    right_rest = right_q[q_after[0][1] :] if q_after else ""  # past the type noun (哪家[公司]负责)
    head = head_noun(qs)
    asked = _asked(wh, right_q, q_after)
    hits = sorted(h for w in q_words for h in found_literal(w, ss))

    # per position of the sentence
    def prefix(flags: list[bool]) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(flags)])

    is_cjk = ["\u4e00" <= ch <= "\u9fff" for ch in ss]
    cjk_before = prefix(is_cjk)
    q_before = prefix([c and ch in q_chars for c, ch in zip(is_cjk, ss, strict=True)])
    marks_before = prefix([ch in CLAUSE for ch in ss])
    clause_of = marks_before  # clause marks before a position: its clause's number
    cap = rules.anchor_chars  # characters of an anchor that count
    left_anchor = (suffix_runs(left_q, ss, cap) / cap).astype(np.float32)
    right_anchor = (prefix_runs(right_q, ss, cap) / cap).astype(np.float32)
    right_past = (prefix_runs(right_rest, ss, cap) / cap).astype(np.float32)
    w_from = np.array([x for x, _, _ in words], dtype=np.int64)  # where each word starts
    w_to = np.array([y for _, y, _ in words], dtype=np.int64)  # and ends
    # at a word's end, the left anchor at its start; at a word's start, the right anchor at its end
    left_gap = np.zeros(n + 1, dtype=np.float32)
    right_gap = np.zeros(n + 1, dtype=np.float32)
    left_gap[w_to] = left_anchor[w_from]
    right_gap[w_from] = right_anchor[w_to]
    glue_from = np.full(n + 1, n + 1, dtype=np.int64)  # shortest grammar word starting here
    glue_to = np.zeros(n + 1, dtype=bool)  # a grammar word ends here
    for g in LEADING_GLUE:
        for x, y in found_literal(g, ss):
            glue_from[x] = min(glue_from[x], y - x)
            glue_to[y] = True
    padded = ss + "\0"
    opens = np.array([-1, *(_OPENERS.get(ch, -1) for ch in ss)], dtype=np.float32)  # the character before
    closes = np.array([*(_CLOSERS.get(ch, -2) for ch in ss), -2], dtype=np.float32)  # the character at

    # the rules' pick
    if rule is not None:
        ra, rb = rule
        inter = np.clip(np.minimum(b, rb) - np.maximum(a, ra), 0, None).astype(np.float32)
        prec, rec = inter / length, inter / (rb - ra)
        exact = (a == ra) & (b == rb)
        put("rule_exact", exact)
        put("rule_f1", np.where(inter > 0, 2 * prec * rec / np.maximum(prec + rec, 1e-9), 0.0))
        put("rule_inside", (ra <= a) & (b <= rb) & ~exact)
        put("rule_covers", (a <= ra) & (rb <= b) & ~exact)
    else:
        exact = np.zeros(len(spans), dtype=bool)
        put("rule_none", 1.0)
    first = _PLAIN_INDEX[f"len<={_LEN_BUCKETS[0]}"]
    out[np.arange(len(spans)), first + np.searchsorted(_LEN_BUCKETS, length, side="left")] = 1.0
    cjk_n = cjk_before[b] - cjk_before[a]
    put("q_char_share", np.where(cjk_n > 0, (q_before[b] - q_before[a]) / np.maximum(cjk_n, 1), 0.0))
    put("q_whole", np.array([ss[x:y] in qs for x, y in spans]))
    put("left_anchor", left_anchor[a])
    put("right_anchor", right_anchor[b])
    put("right_anchor_past_noun", right_past[b])
    put("left_anchor_gap", left_gap[a])
    put("right_anchor_gap", right_gap[b])
    near = np.full(len(spans), np.inf)
    if hits:
        hs, he = (np.array(v)[None, :] for v in zip(*hits, strict=True))
        a2, b2 = a[:, None], b[:, None]
        put("q_word_inside", ((a2 <= hs) & (he <= b2)).any(axis=1))
        outside = (he <= a2) | (hs >= b2)
        gap = np.maximum(np.maximum(hs - b2, a2 - he), 0)
        near = np.where(outside, gap, np.inf).min(axis=1)
        put("q_word_left_in_clause", ((he <= a2) & (clause_of[hs] == clause_of[a2])).any(axis=1))
        put("q_word_right_in_clause", ((hs >= b2) & (clause_of[hs] == clause_of[b2 - 1])).any(axis=1))
    first = _PLAIN_INDEX[f"near<={_NEAR_BUCKETS[0]}"]
    out[np.arange(len(spans)), first + np.searchsorted(_NEAR_BUCKETS, near, side="left")] = 1.0
    is_clause = np.array([ch in CLAUSE for ch in padded[:-1]] + [True])
    put("starts_clause", (a == 0) | is_clause[np.maximum(a - 1, 0)])
    put("ends_clause", is_clause[b])
    put("starts_glue", glue_from[a] < length)
    put("ends_trailing", np.array([ch in _TRAILING for ch in ss], dtype=bool)[b - 1])
    put("after_glue", glue_to[a])
    put("before_de", np.array([ch == "的" for ch in padded], dtype=bool)[b])
    crosses = marks_before[b] > marks_before[a]
    put("crosses_clause", crosses)
    enum = _inside(matches(_ENUM, ss), a, b)
    put("has_enum", enum)
    pair = opens[a] == closes[b]
    bracketed = pair & (opens[a] < len(_OPEN_CLOSE))
    put("bracketed", bracketed)
    put("in_parens", pair & (opens[a] >= len(_OPEN_CLOSE)))
    put("position", a / max(1, n))
    starts = np.zeros(n + 1, dtype=bool)
    ends = np.zeros(n + 1, dtype=bool)
    starts[w_from] = True
    ends[w_to] = True
    put("cuts_word", ~starts[a] | ~ends[b])

    # what the span is: its words' part of speech, numbers, dates, the noun asked for
    word_of = np.zeros(n + 1, dtype=np.int64)
    for k, (x, y, _) in enumerate(words):
        word_of[x:y] = k
    classes = np.array([POS_CLASSES.index(pos_class(flag)) for _, _, flag in words], dtype=np.int64)
    name_words = prefix([c == _NAME for c in classes])
    namelike = prefix([c in (_NAME, _LATIN) for c in classes])
    lo, hi = word_of[a], word_of[b - 1] + 1  # the words the span touches: lo .. hi-1
    numbers = [m for m in matches(NUMBER, ss) if NUM_CORE.search(ss, m[0], m[1])]
    head_in_word = np.array([bool(head) and head in ss[x:y] for x, y, _ in words])
    asked_in_word = np.array([bool(set(asked) & set(ss[x:y])) for x, y, _ in words])
    t = len(PLAIN)
    typed = out[:, t:]
    typed[:, 0] = name_words[hi] > name_words[lo]
    typed[:, 1] = namelike[hi] - namelike[lo] == hi - lo
    typed[:, 2] = _is(numbers, spans)
    typed[:, 3] = _inside(matches(NUM_CORE, ss), a, b)
    typed[:, 4] = _is(dates, spans)
    typed[:, 5] = _inside(dates, a, b)
    typed[:, 6] = _inside(found_literal(head, ss), a, b) if head else 0.0
    typed[:, 7] = head_in_word[hi - 1]
    typed[:, 8] = asked_in_word[hi - 1]
    rows = np.arange(len(spans))
    typed[rows, 9 + classes[lo]] = 1.0
    typed[rows, 9 + len(POS_CLASSES) + classes[hi - 1]] = 1.0
    rest = 9 + 2 * len(POS_CLASSES)
    typed[:, rest : rest + 6] = np.stack(
        [enum, bracketed, np.log(length), exact, crosses, _unit_ahead(ss, b)], axis=1
    )
    # the proper names, whose numerals a number question's count excludes (`counted`); an
    # ordinal in a body's name counts (the 第N届 of a congress, asked 第几届)
    names = (
        tuple((x, y) for x, y, flag in tags if flag.startswith(_NAME_FLAGS) and "第" not in ss[x:y])
        if ext_kind in ("number", "person", "list")
        else ()
    )
    people = tuple((x, y) for x, y, flag in tags if flag in PERSON_FLAGS) if ext_kind == "person" else ()
    return SpanCandidates(ss, spans, out, lexical_keys(qs, ss, spans, words, asked), ext_kind, names, people)
