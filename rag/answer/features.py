"""Candidate sentences and their features, read from a retrieval result.

Features (each in [0, 1] except the rank): coverage of the question's weighted terms by the
sentence (`cov`, terms rare among the candidates weigh more) and by its passage and title
(`ctx_cov`), the passage's retrieval score and rank, the cosine of the sentence's stored
vector and the question's (`dense`), whether the sentence holds the kind of thing asked
for (`type_ok`: a person for 谁, a place for 哪里, a number for 多少, …) and whether its article
lacks one of the question's proper words (`named_miss`, rag.answer.named). How they are weighed
is the policy's business (rag.answer.choose); nothing here names a weight.
"""

from __future__ import annotations

import functools
import logging
import math
import re
from collections.abc import Callable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

import numpy as np

from rag.answer.policy import TypeCredit
from rag.answer.question import ALTERNATIVES, PLACE_UNITS, Query, days_named, years_named
from rag.bm25 import cut
from rag.bylines import asks_about_credits, credits, outside_credits
from rag.cedict_table import common_word
from rag.chunk import split_long, split_sentences
from rag.index import Index, SentenceRows
from rag.normalize import canonical_terms, canonical_texts, detect_script, fold_width, simplify_with_map
from rag.postag import PERSON_FLAG, PERSON_FLAGS
from rag.records import Hit
from rag.retrieve import term_idf
from rag.sentence_words import SentenceWords, all_stored, analyse, lone_in
from rag.span import measures_like
from rag.transliteration import spells

logger = logging.getLogger(__name__)

_NUMBER = re.compile(r"\d|[零〇一二两三四五六七八九十百千万亿]+[个条人名项位年岁家所座件批种倍亿元万份次]")
_DATE = re.compile(
    r"\d{1,4}年|\d{1,2}月|\d{1,2}[日号]|[一二三四五六七八九十〇]+[年月日]|今天|昨天|前天|明天|上午|下午|当天|日前"
)
_YEAR = re.compile(r"\d{4}年|[一二三四五六七八九〇○零]{4}年")
_ENUM = re.compile(r"[、]")


@dataclass(slots=True)
class Sentence:
    hit: Hit
    hit_rank: int
    start: int  # offsets into the stored article text
    end: int
    text: str
    canon: str
    vec: np.ndarray | None = None  # stored at index time (float16), None on an index without them
    words: SentenceWords | None = None  # stored at index time; see `words_of`
    passage: Passage | None = None  # the passage it was read from (shared by its sentences)
    cov: float = 0.0
    title_only: float = 0.0  # share of the terms found in the article's title, not in the sentence
    ctx_cov: float = 0.0
    own_cov: float = 1.0  # coverage of a follow-up's own terms (without the carried context)
    names_cov: float = 1.0  # share of the names the question asks about (Query.names) in the passage
    named_miss: float = 0.0  # 1 when its article lacks one of the question's proper words (Query.proper)
    retrieval: float = 0.0  # the passage's score over the best passage's
    dense: float = 0.0
    type_ok: float = 0.0
    score: float = 0.0
    rank: float = 0.0  # the sentence ranker's score (rag.answer.rank); -inf outside its shortlist


# The features a recording of candidates keeps (bench/fit_policy.py, the golden decisions):
# with the passage's rank, all a decision needs besides the sentence's place and text.
RECORDED_FEATURES = ("cov", "title_only", "ctx_cov", "own_cov", "retrieval", "dense", "type_ok", "named_miss")
# recorded since: a recording made before lacks them (replayed as 0; a fit that weighs one
# asks for a new recording, see bench/fit_policy.py)
LATER_FEATURES = ("named_miss",)


def recorded_sentence(
    article: str, rank: int, features: Mapping[str, float], text: str = "", start: int = 0
) -> Sentence:
    """A candidate rebuilt from recorded features (no index, no model), for replaying decisions."""
    hit = Hit(chunk_id=article, article_id=article, title="", text="", start=0, end=0, score=1.0)
    s = Sentence(hit, rank, start, start + len(text), text, canonical_terms(text))
    for f in RECORDED_FEATURES:
        setattr(s, f, features.get(f, 0.0) if f in LATER_FEATURES else features[f])
    return s


@dataclass(slots=True)
class Passage:
    """A retrieved passage as its sentences' context: the canonical text of its article's
    title, its publication date written out and its sentences (`canon`, which question terms
    are looked for in), and the characters standing as words of their own there."""

    hit: Hit
    title: SentenceWords | None  # stored at index time, else worked out when first needed
    sentences: list[tuple[str, SentenceWords | None]]  # its sentences' texts and stored words
    canon: str = ""
    _lone: frozenset[str] | None = None

    @property
    def complete(self) -> bool:
        """Whether every sentence's words (and the title's, when there is a title) are stored."""
        return all_stored((w for _, w in self.sentences), self.title, bool(self.hit.title))

    def title_words(self) -> SentenceWords:
        """The title's words (their word lengths checked: lone characters are what is read of
        them): stored, or worked out now (once)."""
        self.title = _checked(self.title, self.hit.title, f"{self.hit.article_id} (title)", tags=False)
        return self.title

    def title_canon(self) -> str:
        """The title's canonical text (stored, else converted now)."""
        return self.title.canon if self.title is not None else canonical_terms(self.hit.title)

    def lone_chars(self) -> frozenset[str]:
        if self._lone is None:
            found = set(self.title_words().lone_chars) | lone_in(written_date(self.hit))
            for text, words in self.sentences:
                found |= _checked(words, text, self.hit.article_id, tags=False).lone_chars
            self._lone = frozenset(found)
        return self._lone


def words_of(s: Sentence, *, tags: bool = True) -> SentenceWords:
    """The sentence's words: stored at index time, or (an index without them, a recording, or
    stored words that do not fit the text) computed now, once. Without `tags`, only the word
    lengths are checked (the tags are, when a caller asks with them)."""
    words = _checked(s.words, s.text, f"{s.hit.article_id} [{s.start}:{s.end}]", tags=tags)
    if words is not s.words:
        s.words, s.canon = words, words.canon
    return words


def _checked(stored: SentenceWords | None, text: str, where: str, *, tags: bool = True) -> SentenceWords:
    """`stored`, parsed (without `tags`: its word lengths only); else (none stored, or a damaged
    row, which `zhiwen upgrade` does not rewrite: said in a warning) the words of `text`
    computed now."""
    if stored is not None:
        try:
            return stored.check(tags=tags)
        except ValueError as exc:
            logger.warning("%s: %s; computed from the text instead", where, exc)
    return analyse(text)


def candidates(
    hits: Sequence[Hit], texts: dict[str, str], stored: dict[str, SentenceRows] | None, max_chars: int
) -> list[Sentence]:
    """The candidate sentences of the passages: the sentences stored at index time (with
    their vectors and words) lying inside each passage, or, for an article stored without
    them, the passage split again here (sentences longer than `max_chars` cut at clause
    marks). A sentence in two passages is taken from the first."""
    out: list[Sentence] = []
    seen: set[tuple[str, int]] = set()
    passages: list[Passage] = []
    for rank, h in enumerate(hits):
        text = texts[h.article_id]
        rows = (stored or {}).get(h.article_id)
        spans: list[tuple[int, int, np.ndarray | None, SentenceWords | None]]
        if rows is not None and len(rows):
            lo = int(np.searchsorted(rows.starts, h.start))
            hi = int(np.searchsorted(rows.starts, h.end))
            spans = [
                (int(rows.starts[i]), int(rows.ends[i]), rows.vectors[i], rows.words_at(i))
                for i in range(lo, hi)
                if rows.ends[i] <= h.end
            ]
        else:
            spans = [
                (s, e, None, None)
                for a, b in split_sentences(text[h.start : h.end])
                for s, e in split_long(text, h.start + a, h.start + b, max_chars)
            ]
        spans = [x for x in spans if text[x[0] : x[1]].strip()]
        passage = Passage(
            h, rows.title if rows is not None else None, [(text[s:e], w) for s, e, _, w in spans]
        )
        passages.append(passage)
        for s, e, vec, words in spans:
            if (h.article_id, s) in seen:
                continue
            seen.add((h.article_id, s))
            out.append(Sentence(h, rank, s, e, text[s:e], words.canon if words else "", vec, words, passage))
    todo = [x for x in out if x.words is None]
    if todo and stored:
        _suggest_upgrade()
    for sent, canon in zip(todo, canonical_texts([x.text for x in todo]), strict=True):
        sent.canon = canon
    _passage_texts(passages)
    return out


@functools.cache
def _suggest_upgrade() -> None:
    logger.warning(
        "this index was built without sentence words; answers compute them from the text at "
        "query time (the same answers, slower). Store them once with `zhiwen upgrade --index DIR`"
    )


def _passage_texts(passages: Sequence[Passage]) -> None:
    """Set each passage's canonical context: joined from the stored canonical texts, or,
    where some are not stored, converted here in one call for those passages."""
    todo = []
    for p in passages:
        if p.complete:
            title = p.title.canon if p.title is not None else ""
            p.canon = "\n".join(
                [title, canonical_terms(written_date(p.hit)), *(w.canon for _, w in p.sentences if w)]
            )
        else:
            todo.append(p)
    texts = canonical_texts([f"{p.hit.title}\n{written_date(p.hit)}\n{p.hit.text}" for p in todo])
    for p, t in zip(todo, texts, strict=True):
        p.canon = t


# years news names by their distance from the year it is published in (去年亏损…, 今年以来…),
# as the first characters of a word (如今|年轻 holds 今年 across two words: not a year)
_RELATIVE_YEARS = {"前年": -2, "去年": -1, "今年": 0, "明年": 1, "后年": 2}


def relative_years(words: SentenceWords, published: str | None) -> set[str]:
    """The years a sentence names relative to its article's publication (`published`, ISO):
    去年 in an article of 2023 is 2022; none when the article has no date."""
    m = _ISO_DATE.match(published or "")
    if m is None:
        return set()
    out: set[str] = set()
    at = 0
    for n in words.word_lengths:
        shift = _RELATIVE_YEARS.get(words.canon[at : at + 2]) if n >= 2 else None
        if shift is not None:
            out.add(str(int(m[1]) + shift))
        at += n
    return out


def sentence_years(s: Sentence) -> set[str]:
    """The years a sentence names: written, or relative to its article's date (`relative_years`)."""
    return years_named(s.canon) | relative_years(words_of(s, tags=False), s.hit.published)


def other_years(q: Query, s: Sentence) -> bool:
    """The sentence names years, none of them one the question names."""
    named = sentence_years(s)
    return bool(named) and not named & q.years


def article_of_other_years(q: Query, article: str, sents: Sequence[Sentence]) -> bool:
    """A dated article (news) neither published in a year the question names nor naming one,
    in its title and text (`article`; written anywhere: 1848 in 1848的选举) or its candidate
    sentences (`sents`, relative to its date: 去年): it is about its own year or the others it
    names, and none of its sentences answers (an undated one neither). An
    undated article (a reference text, which writes years more freely: 20世纪50年代 for 1950年代)
    is judged sentence by sentence only (`other_years`)."""
    published = _ISO_DATE.match(sents[0].hit.published or "") if sents else None
    if published is None or published[1] in q.years:
        return False
    text = fold_width(article)
    named = years_named(text).union(*(sentence_years(s) for s in sents))
    return not named & q.years and not any(re.search(rf"(?<!\d){y}(?!\d)", text) for y in q.years)


# a day followed by a range or more days (8月4日至6日, 8月4日—8月6日, 8月4日、5日): the days it
# covers are not all written as month and day
_MORE_DAYS = re.compile(r"[日号]\s*(?:至|到|—|–|-|~|～|、|和|与|及|或)\s*\d")
# a day as news writes one of this month (5日，; 5日上午), not a count of days (近5日, 5日内)
_BARE_DAY = re.compile(r"(?<![\d月近前后每数满隔])(\d{1,2})日(?![内以来])")


def names_day(q: Query, text: str) -> bool:
    """`text` names a day the question names (8月5日, or just 5日), or a range of days that may hold it."""
    asked = {d for _, d in q.days}
    return (
        bool(days_named(text) & q.days)
        or any(int(d) in asked for d in _BARE_DAY.findall(text))
        or bool(_MORE_DAYS.search(text))
    )


def other_days(q: Query, article: str) -> bool:
    """The article names days (8月4日) but never one the question names: it is about other days.
    (Where it names the asked day, a sentence dated otherwise may tell what led to it, and stays.)"""
    text = fold_width(article)
    return bool(days_named(text)) and not names_day(q, text)


# a number (digits, or numerals as written), "多/余/几" after it, and a power of ten (2000多名,
# 30余人, 1.5万人, 三千余人)
_COUNT = r"(?:\d[\d.,]*|[零〇一二两三四五六七八九十百千万亿]+)\s*[多余几]?\s*[万亿千百十]?\s*"
# a number standing alone: at a clause's end or before a Latin unit (约有80万，; 25km; 28℃),
# not a score, a time or an ordinal (4:1, 8:00, 第2。), nor a share (100%)
_BARE_COUNT = re.compile(rf"(?<![\d.,:：第]){_COUNT}(?=[，。；！？、,;!?）)\s]|[a-zA-Z℃°]|$)")
# 多少钱 asks an amount of money: a number in a currency (4000元, 3万美元, 9800日元, 5块钱) or
# after a currency's sign (¥120, $5)
_MONEY = "钱"
_AMOUNT = re.compile(rf"{_COUNT}(?:[美欧日港韩台澳加]?元|英?镑|港币|美金|卢布|法郎|块)|[¥￥$€£]\s*\d")


def counts_in(canon: str, measure: str) -> bool:
    """Whether a sentence's canonical text holds a number counted in `measure` (`Query.measure`:
    多少人 → 36万人, 2000多名; 几岁 → 9岁; 多少钱 → 4000元, $5), or a number standing alone, which
    may be one (约有80万，)."""
    if _BARE_COUNT.search(canon):
        return True
    if measure == _MONEY:
        return bool(_AMOUNT.search(canon))
    return any(re.search(_COUNT + re.escape(m), canon) for m in measures_like(measure))


def term_weights(index: Index, q: Query, light_weight: float) -> list[float]:
    """Each term's BM25 idf (alternatives: the rarest), times `light_weight` for light terms."""
    alts = [t.split(ALTERNATIVES) for t in q.terms]
    idf = iter(term_idf(index, [a for group in alts for a in group]))
    best = [max(next(idf) for _ in group) for group in alts]
    return [w * (light_weight if t in q.light else 1.0) for t, w in zip(q.terms, best, strict=True)]


def coverage(
    groups: Sequence[Sequence[str]],
    weights: Sequence[float],
    canon: str,
    lone: Callable[[], AbstractSet[str]],
    credit: Mapping[str, float] | None = None,
) -> float:
    """Weighted share of the terms found in `canon`, each term given as its alternatives (see
    `alternatives`), the first found counting (times its `credit`, where it has one: see
    `widened`). A one-character term counts only as a word of its own (水 is not found in the
    name 李水生): `lone()` gives the characters that stand alone in `canon`, asked for only when
    such a term is there."""
    total = sum(weights)
    if total <= 0:
        return 0.0
    found = 0.0
    for group, w in zip(groups, weights, strict=True):
        for a in group:
            if a in canon and (len(a) > 1 or a.isdigit() or a in lone()):
                found += w * (credit.get(a, 1.0) if credit else 1.0)
                break
    return found / total


def alternatives(terms: Sequence[str]) -> list[list[str]]:
    """Each term's alternatives (an English word's Chinese renderings), split once per question."""
    return [t.split(ALTERNATIVES) for t in terms]


def widened(
    q: Query, groups: list[list[str]], passages: Sequence[str], idf: Callable[[Sequence[str]], list[float]]
) -> tuple[list[list[str]], dict[str, float]]:
    """`groups` (`alternatives(q.terms)`), each English term's with those of its further
    Chinese words (`Query.more`) that one of the retrieved `passages` (canonical) holds: a
    dictionary has many words for a sense and the passages say which of them news uses here
    ("save" money: 节省; "deputy": 副). And the credit (`coverage`) of each word added: as rare
    as the words searched with (`idf`) or rarer, 1; commoner, its share of their rarity (说 for
    "say", searched as 说道|说话, is no such rare find)."""
    if not q.more:
        return groups, {}
    held = {p for p in passages if p}
    searched = {a for g in groups for a in g}
    added = [
        [a for a in q.more.get(t, ()) if a not in searched and any(a in p for p in held)] for t in q.terms
    ]
    found = [a for more in added for a in more]
    if not found:
        return groups, {}
    rarity = dict(zip(found, idf(found), strict=True))
    base = idf([a for g in groups for a in g])
    credit: dict[str, float] = {}
    at = 0
    for g, more in zip(groups, added, strict=True):
        top = max(base[at : at + len(g)], default=0.0)
        at += len(g)
        for a in more:
            credit[a] = min(credit.get(a, 1.0), 1.0 if top <= 0 else min(1.0, rarity[a] / top))
    return [g + more for g, more in zip(groups, added, strict=True)], credit


_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


def written_date(hit: Hit) -> str:
    """The article's publication date written as in Chinese text (2019年9月25日), so that a
    question naming the date or year of the report finds it in the passage's context."""
    m = _ISO_DATE.match(hit.published or "")
    return f"{m[1]}年{int(m[2])}月{int(m[3])}日" if m else ""


_DISAMBIGUATION = re.compile(r"\s*[（(][^）)]*[）)]\s*$")


def subject(title: str, asked: str) -> str:
    """The title (canonical, without a trailing "(…)" that tells namesakes apart) when the
    question names it whole, else ""."""
    t = _DISAMBIGUATION.sub("", title).strip()
    return t if t and t in asked else ""


def heard(q: Query, canon: str, min_classes: int) -> str:
    """`canon` with the question's foreign names (`Query.foreign`) it spells by sound written
    after it (拉马斯瓦米…: "vivek ramaswamy"), so that coverage finds them as it finds any term;
    `canon` itself when it spells none."""
    missing = [n for n in q.foreign if n not in canon]
    if not missing:
        return canon
    words = cut(canon)
    spelled = [n for n in missing if spells(n, words, min_classes)]
    return "\n".join([canon, *spelled])


def lexical_features(
    q: Query,
    sents: Sequence[Sentence],
    weights: Sequence[float],
    name_classes: int,
    idf: Callable[[Sequence[str]], list[float]],
) -> None:
    """Set cov, ctx_cov, own_cov, names_cov, title_only, retrieval on every sentence
    (`name_classes`: the policy's `terms.en_name_classes`: a foreign name is found where it is
    spelled by sound, see `heard`; `idf`: words' rarity in the index, for `widened`)."""
    top_hit = max((s.hit.score for s in sents), default=1.0) or 1.0
    # Within the candidate sentences a term found in many of them (usually the subject, e.g. the
    # person the article is about) says little about which sentence answers: weigh terms by
    # their sentence-level rarity as well when choosing the sentence.
    n_s = len(sents)
    alone = [s for s in sents if s.passage is None]  # rebuilt sentences: their own passage
    for s in alone:
        s.passage = Passage(s.hit, None, [(s.hit.text, None)])
    _passage_texts([s.passage for s in alone if s.passage is not None])
    canons = [s.passage.canon for s in sents if s.passage is not None]
    groups, credit = widened(q, alternatives(q.terms), canons, idf)
    texts = [s.canon for s in sents]
    local = [
        w * math.log(1.0 + n_s / (1.0 + _holding(g, texts))) for g, w in zip(groups, weights, strict=True)
    ]
    own = [(g, w) for t, g, w in zip(q.terms, groups, weights, strict=True) if t not in q.carried]
    names = [g for t, g in zip(q.terms, groups, strict=True) if t in q.names]
    by_chunk: dict[str, tuple[float, float, float]] = {}  # the passage's coverages, once per passage
    titles: dict[str, str] = {}
    spelled_in: dict[str, bool] = {}  # chunk id: whether its passage spells a foreign name
    asked = canonical_terms(q.simplified)
    for s in sents:
        p = s.passage
        assert p is not None
        got = by_chunk.get(s.hit.chunk_id)
        if got is None:
            canon = heard(q, p.canon, name_classes)
            spelled_in[s.hit.chunk_id] = canon != p.canon
            own_cov = 1.0
            # a follow-up: its own words must be covered too, not just the carried context
            if q.carried and own:
                own_cov = coverage([g for g, _ in own], [w for _, w in own], canon, p.lone_chars)
            names_cov = coverage(names, [1.0] * len(names), canon, p.lone_chars) if names else 1.0
            got = by_chunk[s.hit.chunk_id] = (
                coverage(groups, weights, canon, p.lone_chars, credit),
                own_cov,
                names_cov,
            )
        s.ctx_cov, s.own_cov, s.names_cov = got

        def lone(s: Sentence = s) -> frozenset[str]:
            return words_of(s, tags=False).lone_chars

        # (a sentence spells a foreign name only where its passage does)
        s_canon = heard(q, s.canon, name_classes) if spelled_in.get(s.hit.chunk_id) else s.canon
        s.cov = coverage(groups, local, s_canon, lone, credit)
        # an article whose title the question names is about that subject, and every sentence
        # of it speaks of it, named or not (本鱼栖息在…): the terms of the title a sentence
        # lacks are credited to it by the policy's share
        title = titles.get(s.hit.article_id)
        if title is None:  # once per article
            title = titles[s.hit.article_id] = subject(p.title_canon(), asked)
        if title:

            def both(s: Sentence = s, p: Passage = p) -> frozenset[str]:
                return words_of(s, tags=False).lone_chars | p.title_words().lone_chars

            s.title_only = coverage(groups, local, f"{title}\n{s_canon}", both, credit) - s.cov
        else:
            s.title_only = 0.0
        s.retrieval = s.hit.score / top_hit


def _holding(group: Sequence[str], texts: Sequence[str]) -> int:
    """How many of `texts` hold one of the alternatives `group` (most terms have one)."""
    if len(group) == 1:
        a = group[0]
        return sum(a in t for t in texts)
    return sum(1 for t in texts if any(a in t for a in group))


def _traditional_passages(sents: Sequence[Sentence]) -> set[str]:
    """The chunks among the sentences' passages written in Traditional (each judged once)."""
    seen: dict[str, bool] = {}
    for s in sents:
        if s.hit.chunk_id not in seen:
            seen[s.hit.chunk_id] = detect_script(s.hit.text[:_SCRIPT_SAMPLE]) == "zh-Hant"
    return {c for c, traditional in seen.items() if traditional}


_SCRIPT_SAMPLE = 200  # characters of a passage enough to tell its script


def dense_features(
    index: Index, sents: Sequence[Sentence], qvec: np.ndarray, shortlist: int, written: str = ""
) -> None:
    """Set dense: from the stored sentence vectors (no embedding at query time); sentences of
    an index stored without them are embedded, the first `shortlist` of `sents` only (the
    caller orders them best first), the rest get the lowest cosine found. `qvec` is the
    question's Simplified form embedded; `written`, a Traditional question as written
    (`rag.retrieve.written_form`): a sentence of a Traditional passage is compared with it
    instead, embedded once and only when such a passage is among `sents`."""
    traditional = _traditional_passages(sents) if written else set()
    wvec = index.embedder.encode_queries([written])[0] if traditional else qvec

    def cosines(vectors: np.ndarray, of: Sequence[Sentence]) -> np.ndarray:
        vectors = vectors.astype(np.float32)
        out = vectors @ qvec.astype(np.float32)
        if traditional:
            rows = np.array([s.hit.chunk_id in traditional for s in of], dtype=bool)
            out[rows] = vectors[rows] @ wvec.astype(np.float32)
        return out

    with_vec = [s for s in sents if s.vec is not None]
    if with_vec:
        dense = cosines(np.stack([s.vec for s in with_vec if s.vec is not None]), with_vec)
        for s, d in zip(with_vec, dense, strict=True):
            s.dense = float(d)
    rest = [s for s in sents if s.vec is None]
    if rest:
        got = cosines(index.embedder.encode_queries([s.text for s in rest[:shortlist]]), rest[:shortlist])
        for s, d in zip(rest, got, strict=False):
            s.dense = float(d)
        for s in rest[shortlist:]:
            s.dense = float(got.min())


def people(s: Sentence, exclude: str, min_chars: int) -> list[str]:
    """Person names in the sentence that `exclude` (the question) does not contain; a credit's
    only where the question asks about the credits (rag.bylines); none that CC-CEDICT knows
    only as a common word (jieba's dictionary tags 安静, 祝福 and 毛巾 as person names)."""
    return [
        w
        for w in _names(s, PERSON_FLAG, min_chars, asks_about_credits(exclude))
        if w not in exclude and not common_word(w)
    ]


def places(s: Sentence, exclude: str, min_chars: int) -> list[str]:
    """Place names in the sentence that `exclude` (the question) does not contain."""
    return [w for w in _names(s, _PLACE_FLAG, min_chars, asks_about_credits(exclude)) if w not in exclude]


_PLACE_FLAG = "ns"


def _names(s: Sentence, flag: str, min_chars: int, with_credits: bool = False) -> list[str]:
    """The words of a sentence tagged `flag` (jieba POS: nr a person, ns a place), each
    `min_chars` characters or more, in order, in the Simplified text its tags are of (a
    person's name, nr or nrt, that a place's unit ends is a place's: 艾奥瓦州); none
    of an article's credits (记者 张明, rag.bylines: they name who wrote it) unless
    `with_credits`."""
    ss = ""
    found: list[str] = []
    tags = words_of(s).tags
    credited: list[tuple[int, int]] | None = None
    for a, b, f in tags:
        if b - a < min_chars or (f != flag and f not in PERSON_FLAGS):
            continue
        ss = ss or simplify_with_map(s.text)[0]
        # a name tagged as a person's that a place's unit ends is a place's (艾奥瓦州)
        place = f == _PLACE_FLAG or (f in PERSON_FLAGS and b - a > min_chars and ss[b - 1] in PLACE_UNITS)
        if not (place if flag == _PLACE_FLAG else f == flag and not place):
            continue
        if credited is None:
            credited = [] if with_credits else credits(ss, tags)
        if ss[a:b] not in found and outside_credits([(a, b)], credited):
            found.append(ss[a:b])
    return found


def type_feature(q: Query, s: Sentence, types: TypeCredit) -> float:
    """How well the sentence holds the kind of thing asked for, in [0, 1]."""
    if q.kind == "number":
        return 1.0 if _NUMBER.search(s.canon) else 0.0
    if q.kind == "date":
        if q.asks_year:
            return 1.0 if _YEAR.search(s.text) else types.other_date_for_year if _DATE.search(s.text) else 0.0
        return 1.0 if _DATE.search(s.text) else 0.0
    if q.kind == "person":
        return 1.0 if people(s, q.simplified, types.min_name_chars) else 0.0
    if q.kind == "place":
        return 1.0 if places(s, q.simplified, types.min_name_chars) else 0.0
    if q.kind == "list":
        if q.list_of_people:
            return min(1.0, len(people(s, q.simplified, types.min_name_chars)) / types.people_per_list)
        return min(1.0, len(_ENUM.findall(s.text)) / types.marks_per_list)
    return 0.0
