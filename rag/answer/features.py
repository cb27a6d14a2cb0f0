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

import numpy as np

from rag.answer.candidates import Passage, Sentence, passage_texts, words_of
from rag.answer.english_asked import asked_head, counted_in
from rag.answer.english_question import ALTERNATIVES, PLACE_UNITS
from rag.answer.policy import Terms, TypeCredit
from rag.answer.question import Query
from rag.bm25 import cut
from rag.bylines import asks_about_credits, credits, outside_credits
from rag.cedict_table import common_word
from rag.english import pinyin_sound
from rag.index import Index
from rag.normalize import canonical_terms, detect_script, simplify_with_map
from rag.postag import PERSON_FLAG, PERSON_FLAGS
from rag.retrieve import term_idf
from rag.span import in_units
from rag.span_numbers import counts_days, whole_expressions
from rag.transliteration import spells

logger = logging.getLogger(__name__)

_NUMBER = re.compile(r"\d|[零〇一二两三四五六七八九十百千万亿]+[个条人名项位年岁家所座件批种倍亿元万份次]")
_DATE = re.compile(
    r"\d{1,4}年|\d{1,2}月|\d{1,2}[日号]|[一二三四五六七八九十〇]+[年月日]|今天|昨天|前天|明天|上午|下午|当天|日前"
)
_YEAR = re.compile(r"\d{4}年|[一二三四五六七八九〇○零]{4}年")
_ENUM = re.compile(r"[、]")


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


_DISAMBIGUATION = re.compile(r"\s*[（(][^）)]*[）)]\s*$")


def subject(title: str, asked: str) -> str:
    """The title (canonical, without a trailing "(…)" that tells namesakes apart) when the
    question names it whole, else ""."""
    t = _DISAMBIGUATION.sub("", title).strip()
    return t if t and t in asked else ""


def heard(q: Query, canon: str, min_classes: int, min_syllables: int) -> str:
    """`canon` with the question's foreign names (`Query.foreign`) it spells by sound written
    after it (拉马斯瓦米…: "vivek ramaswamy"), and its romanized Chinese names (`Query.pinyin`)
    it writes in characters read so (金石龙: "jinshilong"; `pinyin_sound`), and the names the
    dictionary renders that it writes in other characters read as their word (西岭 for
    "Xiling", 西陵 in CC-CEDICT: `Query.sounds`), so that coverage
    finds them as it finds any term; `canon` itself when it spells none."""
    missing = [n for n in q.foreign if n not in canon]
    spelled = []
    if missing:
        words = cut(canon)
        spelled = [n for n in missing if spells(n, words, min_classes)]
    for n in q.pinyin:
        if n not in canon and (sound := pinyin_sound(n, min_syllables)) is not None and sound.search(canon):
            spelled.append(n)
    for t, word in q.sounds.items():
        heads = t.split(ALTERNATIVES)
        if not any(h in canon for h in heads) and (sound := pinyin_sound(word, min_syllables)) is not None:
            if sound.search(canon):
                spelled.append(heads[0])
    return "\n".join([canon, *spelled]) if spelled else canon


def lexical_features(
    q: Query,
    sents: Sequence[Sentence],
    weights: Sequence[float],
    terms: Terms,
    idf: Callable[[Sequence[str]], list[float]],
) -> None:
    """Set cov, ctx_cov, own_cov, names_cov, title_only, retrieval on every sentence
    (`terms`: the policy's, whose `en_name_classes` and `en_pinyin_syllables` say when a name
    is found where it is spelled by sound, see `heard`; `idf`: words' rarity in the index, for
    `widened`)."""
    name_classes, syllables = terms.en_name_classes, terms.en_pinyin_syllables
    top_hit = max((s.hit.score for s in sents), default=1.0) or 1.0
    # Within the candidate sentences a term found in many of them (usually the subject, e.g. the
    # person the article is about) says little about which sentence answers: weigh terms by
    # their sentence-level rarity as well when choosing the sentence.
    n_s = len(sents)
    alone = [s for s in sents if s.passage is None]  # rebuilt sentences: their own passage
    for s in alone:
        s.passage = Passage(s.hit, None, [(s.hit.text, None)])
    passage_texts([s.passage for s in alone if s.passage is not None])
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
            canon = heard(q, p.canon, name_classes, syllables)
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
        s_canon = heard(q, s.canon, name_classes, syllables) if spelled_in.get(s.hit.chunk_id) else s.canon
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
    question's Simplified form embedded; `written`, the question in Traditional (as written,
    or a Simplified question converted: `rag.retrieve.written_form`): a sentence of a
    Traditional passage is compared with it instead, embedded once and only when such a
    passage is among `sents`."""
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


def english_counts(q: Query, s: Sentence) -> list[str]:
    """For an English question asking a number, the whole counts of the sentence (Simplified)
    the question does not write and no day of the calendar (`whole_expressions`: not the 8月 of
    8月1日, which opens many a news story; a day alone where it counts days, 拘留十日)."""
    ss = simplify_with_map(s.text)[0]
    units = _counted_in(q.text, q.kind)
    return [
        ss[a:b]
        for a, b in whole_expressions(q.text, "number", ss, days_counted=counts_days(units), units=units)
    ]


def english_count(q: Query, s: Sentence) -> bool:
    """Whether the sentence holds one of `english_counts` in one of the units the question
    counts in where it names them (`counted_in`: "how many helicopters", 架; "how much money", a
    currency) or, for "how many" things, in 个, which counts anything (1068个 of "how many
    people")."""
    units = _counted_in(q.text, q.kind)
    if units and asked_head(q.text, ("how many",)):
        units += ("个",)
    return any(not units or in_units(count, units) for count in english_counts(q, s))


_counted_in = functools.lru_cache(maxsize=256)(counted_in)  # asked of each shortlisted sentence


def type_feature(q: Query, s: Sentence, types: TypeCredit) -> float:
    """How well the sentence holds the kind of thing asked for, in [0, 1]."""
    if q.kind == "number":
        if q.script == "en":
            return 1.0 if english_count(q, s) else 0.0
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
