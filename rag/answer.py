"""Extractive answers with verified citations (no LLM).

1. Retrieve passages (hybrid).
2. Split the best passages into sentences (offsets into the stored text) and score each
   one: how much of the question's weighted terms it covers (alone, and with its
   article's title and passage), its dense similarity to the question, whether it holds
   the kind of thing asked for (谁 -> a person, 多少/几 -> a number, 哪天 -> a date,
   哪些/出席 -> a list) and the passage's retrieval score.
3. Answer with the best one or two sentences (at most 200 characters, cut at clause
   marks when longer) or, for list questions, the list items merged across sentences.
4. Every citation is checked: `quote == stored_text[start:end]`, else it is dropped.
5. If the best evidence covers too little of the question, answer "not found" with the
   nearest passages. The thresholds were calibrated on the dev sets (see README).
"""

from __future__ import annotations

import functools
import logging
import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from rag.bm25 import query_terms, segmenter, tokenize_query
from rag.chunk import split_long, split_sentences
from rag.english import translations
from rag.errors import InputError, NotFoundError
from rag.index import Index, SentenceRows
from rag.normalize import canonical_terms, detect_script, to_script, to_simplified
from rag.records import Answer, Citation, Filters, Hit, Turn
from rag.retrieve import retrieve, term_idf, validate_top_k

if TYPE_CHECKING:
    from rag.generate import LLMClient

logger = logging.getLogger(__name__)

MAX_ANSWER_CHARS = 200
PASSAGES_FOR_ANSWER = 6
SECOND_SENTENCE = 0.8  # a second sentence is added when it scores at least this share of the best
PREFER_BONUS = 0.15  # fused-score bonus for articles the previous answer cited (follow-ups)
# Calibrated with bench/calibrate.py (see README, "Not found"): the least weighted share of
# the question's terms that the best sentence's passage and title must hold. 0.55 keeps 94%
# of answerable dev questions and refuses 78% of questions whose article was removed.
MIN_COVERAGE = 0.55
# English questions have only dictionary translations as terms (CC-CEDICT, rag.english), which
# miss some words, so they pass on a lower coverage. There is no English dev set: this one
# rests on the seed questions only. A question without any term passes on dense similarity.
MIN_COVERAGE_EN = 0.45
MIN_DENSE_ONLY = 0.42
EN_WORDS_PER_TERM = 2  # Chinese words added per English content word (commonest first)
ALTERNATIVES = "|"  # joins the Chinese alternatives of one English word into one term

NOT_FOUND = {
    "zh-Hans": "在已收录的文章中没有找到这个问题的答案。以下是最接近的段落，供参考。",
    "zh-Hant": "在已收錄的文章中沒有找到這個問題的答案。以下是最接近的段落，供參考。",
    "en": "The indexed articles do not answer this question. The nearest passages are listed below.",
}


@dataclass(slots=True)
class QuestionInfo:
    text: str  # as asked
    script: str
    search_text: str  # what retrieval and term coverage use
    kind: str  # person | number | date | place | list | other
    list_of_people: bool = False
    terms: list[str] = field(default_factory=list)
    light: set[str] = field(default_factory=set)  # terms that weigh less (answer-type nouns, meta words)
    carried: set[str] = field(default_factory=set)  # terms carried over from earlier turns
    years: frozenset[str] = frozenset()  # years the question names (2022年)


_KIND_PATTERNS_ZH: tuple[tuple[str, str], ...] = (
    ("list", r"哪些|哪几|有谁|都有谁|哪[两三四五六七八九十\d]+[个项条位家种名所座]|列举|分别是"),
    ("date", r"哪天|哪一天|什么时候|何时|哪年|哪一年|几月|几号|几日|什么日子|日期|哪个月|什么时间"),
    ("person", r"谁|哪位|什么人|何人|哪个人"),
    ("number", r"多少|几|多大|多长|多高|多远|多重|多久|多快|百分之几"),
    ("place", r"哪里|哪儿|何地|什么地方|哪个城市|哪个国家|哪国|哪座|何处|在哪"),
)
_KIND_PATTERNS_EN: tuple[tuple[str, str], ...] = (
    ("list", r"\bwhich\b.*\b(are|were)\b|\blist\b|\bwho (attended|were)\b|\bwhat are\b"),
    ("date", r"\bwhen\b|\bwhat (year|date|day|month)\b|\bwhich (year|day)\b"),
    ("person", r"\bwho\b|\bwhom\b"),
    ("number", r"\bhow (many|much|old|long|far|big|large)\b|\bwhat (percentage|number)\b"),
    ("place", r"\bwhere\b|\bwhich (city|country|province|place)\b"),
)
_PEOPLE_LIST = re.compile(r"出席|参加|列席|参会|到会|attend|present")

_NUMBER = re.compile(r"\d|[零〇一二两三四五六七八九十百千万亿]+[个条人名项位年岁家所座件批种倍亿元万份次]")
_DATE = re.compile(
    r"\d{1,4}年|\d{1,2}月|\d{1,2}[日号]|[一二三四五六七八九十〇]+[年月日]|今天|昨天|前天|明天|上午|下午|当天|日前"
)
_YEAR = re.compile(r"\d{4}年|[一二三四五六七八九〇○零]{4}年")
_YEAR_NUMBER = re.compile(r"(?<!\d)(\d{4})年")
_ENUM = re.compile(r"[、]")
# Words about the article itself (这篇报道的记者), not its content.
META_WORDS = frozenset("这篇 本文 该文 文章 报道 报导 新闻 消息 采访 专访 记者 文中 稿件".split())
_TYPE_NOUN = re.compile(
    r"(?:什么|哪个|哪些|哪一?[个位家种项条座所]?|几[个位项名种条家所座])([\u4e00-\u9fff]{1,3}?)(?=[？?，,。的]|$)"
)
LIGHT_WEIGHT = 0.3


def analyse(question: str, search_text: str | None = None) -> QuestionInfo:
    script = detect_script(question)
    search = search_text or question
    q = to_simplified(search).lower()
    kind = "other"
    patterns = _KIND_PATTERNS_EN if script == "en" else _KIND_PATTERNS_ZH
    for name, pat in patterns:
        if re.search(pat, q):
            kind = name
            break
    people_list = bool(_PEOPLE_LIST.search(q)) and kind in ("list", "person")
    if people_list:
        kind = "list"
    if script == "en":
        # English words never occur in Chinese articles: search with their Chinese words too, and
        # judge coverage by English word (one term per word: its translations are alternatives)
        groups = translations(search, EN_WORDS_PER_TERM)
        if groups:
            search = f"{search} {' '.join(zh for g in groups for zh in g)}"
        terms = [ALTERNATIVES.join(g) for g in groups]
        terms += [t for t in query_terms(question) if re.fullmatch(r"\d+", t)]
    else:
        terms = [t for t in query_terms(search) if not re.fullmatch(r"[a-z]+", t)]
    light = {t for t in terms if t in META_WORDS}
    for m in _TYPE_NOUN.finditer(q):  # 什么职务 / 哪些企业: the noun names the answer's kind
        light.update(t for t in terms if t and t in m.group(1))
    years = frozenset(_YEAR_NUMBER.findall(q))
    return QuestionInfo(question, script, search, kind, people_list, terms, light, years=years)


@dataclass(slots=True)
class Sentence:
    hit: Hit
    hit_rank: int
    start: int  # offsets into the stored article text
    end: int
    text: str
    canon: str
    vec: np.ndarray | None = None  # stored at index time (float16), None on an index without them
    cov: float = 0.0
    ctx_cov: float = 0.0
    own_cov: float = 1.0  # coverage of a follow-up's own terms (without the carried context)
    dense: float = 0.0
    type_ok: float = 0.0
    score: float = 0.0


def _coverage(
    terms: Sequence[str], weights: Sequence[float], canon: str, words: Callable[[str], set[str]]
) -> float:
    """Weighted share of the terms found in `canon`. A one-character term counts only as a
    word of its own (水 is not found in the name 程水泉); `words(canon)` gives the words."""
    total = sum(weights)
    if total <= 0:
        return 0.0
    found = 0.0
    for t, w in zip(terms, weights, strict=True):
        if not any(
            a in canon and (len(a) > 1 or a.isdigit() or a in words(canon)) for a in t.split(ALTERNATIVES)
        ):
            continue
        found += w
    return found / total


class _Words:
    """The words of each text, segmented once per question however often a coverage asks."""

    def __init__(self) -> None:
        self._seen: dict[str, set[str]] = {}

    def __call__(self, text: str) -> set[str]:
        got = self._seen.get(text)
        if got is None:
            got = self._seen[text] = set(segmenter().lcut(text))
        return got


def _people(text: str, exclude: str) -> list[str]:
    return [w for w in _person_names(text) if w not in exclude]


@functools.lru_cache(maxsize=4096)
def _person_names(text: str) -> tuple[str, ...]:
    """Person names (jieba POS nr, two characters or more) in order; cached, as the same
    sentences come back for related questions and tagging is the slow part."""
    import jieba.posseg as pseg

    segmenter()
    out: list[str] = []
    for w in pseg.lcut(to_simplified(text)):
        if w.flag == "nr" and len(w.word) >= 2 and w.word not in out:
            out.append(w.word)
    return tuple(out)


def _type_score(info: QuestionInfo, s: Sentence, question_simpl: str) -> float:
    t = s.canon
    if info.kind == "number":
        return 1.0 if _NUMBER.search(t) else 0.0
    if info.kind == "date":
        if re.search(r"哪年|哪一年|what year|which year", question_simpl):
            return 1.0 if _YEAR.search(s.text) else 0.3 if _DATE.search(s.text) else 0.0
        return 1.0 if _DATE.search(s.text) else 0.0
    if info.kind == "person":
        return 1.0 if _people(s.text, question_simpl) else 0.0
    if info.kind == "list":
        n = len(_ENUM.findall(s.text))
        if info.list_of_people:
            return min(1.0, len(_people(s.text, question_simpl)) / 3)
        return min(1.0, n / 2)
    return 0.0


def _sentences(
    hits: Sequence[Hit], texts: dict[str, str], stored: dict[str, SentenceRows] | None = None
) -> list[Sentence]:
    """The candidate sentences of the passages: the sentences stored at index time (with
    their vectors) lying inside each passage, or, for an article stored without them, the
    passage split again here."""
    out: list[Sentence] = []
    seen: set[tuple[str, int]] = set()
    for rank, h in enumerate(hits):
        text = texts[h.article_id]
        rows = (stored or {}).get(h.article_id)
        if rows is not None and len(rows):
            lo = int(np.searchsorted(rows.starts, h.start))
            hi = int(np.searchsorted(rows.starts, h.end))
            spans = [
                (int(rows.starts[i]), int(rows.ends[i]), rows.vectors[i])
                for i in range(lo, hi)
                if rows.ends[i] <= h.end
            ]
        else:
            spans = [
                (s, e, None)
                for a, b in split_sentences(text[h.start : h.end])
                for s, e in split_long(text, h.start + a, h.start + b, MAX_ANSWER_CHARS)
            ]
        for s, e, vec in spans:
            if (h.article_id, s) in seen or not text[s:e].strip():
                continue
            seen.add((h.article_id, s))
            out.append(Sentence(h, rank, s, e, text[s:e], canonical_terms(text[s:e]), vec))
    return out


def _other_years(years: frozenset[str], canon: str) -> bool:
    """The sentence names years, none of them one the question names."""
    named = set(_YEAR_NUMBER.findall(canon))
    return bool(named) and not named & years


def _weights(index: Index, info: QuestionInfo) -> list[float]:
    """Each term's BM25 idf (alternatives: the rarest), less for light terms."""
    alts = [t.split(ALTERNATIVES) for t in info.terms]
    idf = iter(term_idf(index, [a for group in alts for a in group]))
    best = [max(next(idf) for _ in group) for group in alts]
    return [w * (LIGHT_WEIGHT if t in info.light else 1.0) for t, w in zip(info.terms, best, strict=True)]


def _found(term: str, canon: str) -> bool:
    return any(a in canon for a in term.split(ALTERNATIVES))


DENSE_SHORTLIST = 16  # sentences whose dense similarity is computed (embedding them is the slow part)


def _score(index: Index, info: QuestionInfo, sents: list[Sentence], qvec: np.ndarray) -> None:
    weights = _weights(index, info)
    ctx_cache: dict[str, str] = {}
    q_simpl = to_simplified(info.search_text).lower()
    top_hit = max((s.hit.score for s in sents), default=1.0) or 1.0
    # Within the candidate sentences a term found in many of them (usually the subject, e.g. the
    # person the article is about) says little about which sentence answers: weigh terms by
    # their sentence-level rarity as well when choosing the sentence.
    n_s = len(sents)
    local = [
        w * math.log(1.0 + n_s / (1.0 + sum(1 for s in sents if _found(t, s.canon))))
        for t, w in zip(info.terms, weights, strict=True)
    ]
    words = _Words()
    for s in sents:  # cheap lexical features first
        ctx = ctx_cache.get(s.hit.chunk_id)
        if ctx is None:
            ctx = ctx_cache[s.hit.chunk_id] = canonical_terms(f"{s.hit.title}\n{s.hit.text}")
        s.cov = _coverage(info.terms, local, s.canon, words)
        s.ctx_cov = _coverage(info.terms, weights, ctx, words)
        if info.carried:  # a follow-up: its own words must be covered too, not just the carried context
            own = [(t, w) for t, w in zip(info.terms, weights, strict=True) if t not in info.carried]
            s.own_cov = _coverage([t for t, _ in own], [w for _, w in own], ctx, words) if own else 1.0
        s.score = 0.45 * s.cov + 0.15 * s.ctx_cov + 0.10 * (s.hit.score / top_hit) - 0.01 * s.hit_rank
    # Dense similarity: from the stored sentence vectors for every sentence (no embedding at
    # query time); sentences of an index stored without them are embedded, a shortlist only.
    n_short = DENSE_SHORTLIST * (2 if info.script == "en" else 1)
    with_vec = [(s, s.vec) for s in sents if s.vec is not None]
    if with_vec:
        dense = np.stack([v for _, v in with_vec]).astype(np.float32) @ qvec.astype(np.float32)
        for (s, _), d in zip(with_vec, dense, strict=True):
            s.dense = float(d)
    rest = sorted((s for s in sents if s.vec is None), key=lambda s: -s.score)
    if rest:
        dense = index.embedder.encode_queries([s.text for s in rest[:n_short]]) @ qvec
        for s, d in zip(rest, dense, strict=False):
            s.dense = float(d)
        for s in rest[n_short:]:
            s.dense = float(dense.min())
    # then the answer type (part-of-speech tagging is the slow part), for a shortlist only
    shortlist = sorted(sents, key=lambda s: -(s.score + 0.35 * s.dense))[:n_short]
    for s in shortlist:
        s.type_ok = _type_score(info, s, q_simpl)
    for s in sents:
        s.score += 0.35 * s.dense + (0.35 if info.kind == "list" else 0.15) * s.type_ok


def _cite(index: Index, sents: Sequence[Sentence]) -> list[Citation]:
    """Citations for the chosen sentences, each checked against the article text read again
    from the store (not the copy the sentences were cut from): a quote that is not exactly
    `stored_text[start:end]` is dropped."""
    stored: dict[str, str] = {}
    for aid in {s.hit.article_id for s in sents}:
        try:
            stored[aid] = index.get_article(aid).text
        except NotFoundError:  # deleted since it was retrieved
            stored[aid] = ""
    cites: list[Citation] = []
    for s in sents:
        quote = stored[s.hit.article_id][s.start : s.end]
        if not quote or quote != s.text:
            logger.warning("dropped a citation that does not match the stored text: %s", s.hit.chunk_id)
            continue
        cites.append(
            Citation(
                n=len(cites) + 1,
                article_id=s.hit.article_id,
                chunk_id=s.hit.chunk_id,
                title=s.hit.title,
                source=s.hit.source,
                published=s.hit.published,
                quote=quote,
                start=s.start,
                end=s.end,
                score=round(s.score, 4),
            )
        )
    return cites


def _list_items(text: str) -> list[str]:
    body = re.sub(r"^.*?(?:[:：]|有|包括|是|为)", "", text, count=1) if "、" in text else text
    items = [x.strip(" 　“”「」『』\"'《》，,。；;") for x in re.split(r"[、，,；;和及与]", body)]
    return [x for x in items if 1 < len(x) <= 20]


def _compose(index: Index, info: QuestionInfo, best: list[Sentence]) -> tuple[str, list[Citation]]:
    cites = _cite(index, best)
    if not cites:
        return "", []
    parts = []
    for s, c in zip(best, cites, strict=False):
        keep = info.script == "en" or detect_script(s.text) == info.script
        shown = s.text if keep else to_script(s.text, info.script)
        parts.append(f"{' '.join(shown.split())}[{c.n}]")
    return "".join(parts), cites


def _choose(info: QuestionInfo, sents: list[Sentence]) -> list[Sentence]:
    ranked = sorted(sents, key=lambda s: -s.score)
    if info.kind == "list":  # lead with a sentence that holds a list, when one answers nearly as well
        listing = [
            s
            for s in ranked[:5]
            if s.type_ok >= 0.5
            and s.score >= 0.7 * ranked[0].score
            and s.hit.article_id == ranked[0].hit.article_id
        ]
        if listing and ranked[0].type_ok < 0.5:
            ranked.remove(listing[0])
            ranked.insert(0, listing[0])
    best = ranked[0]
    chosen = [best]
    if info.kind == "list":
        # merge enumerations from other sentences that answer as well
        names = set(_people(best.text, "")) if info.list_of_people else set()
        for s in ranked[1:6]:
            if s.hit.article_id != best.hit.article_id or s.score < 0.8 * best.score or s.type_ok < 0.5:
                continue
            if info.list_of_people:
                new = set(_people(s.text, "")) - names
                if not new:
                    continue  # names already listed
                names |= new
            if len(chosen) < 4:
                chosen.append(s)
    else:
        # a fragment (no closing mark, or very short) is completed by its neighbour
        same = [s for s in sents if s.hit.article_id == best.hit.article_id]
        same.sort(key=lambda s: s.start)
        i = same.index(best)
        frag = len(best.text) < 16 or not re.search(r"[。！？!?；;」』”）)]$", best.text)
        if frag and i + 1 < len(same) and len(best.text) + len(same[i + 1].text) <= MAX_ANSWER_CHARS:
            chosen.append(same[i + 1])
        else:
            # a second sentence when it answers nearly as well and both fit the length limit
            for second in ranked[1:3]:
                if (
                    second.hit.article_id == best.hit.article_id  # never glue two stories together
                    and second.score >= SECOND_SENTENCE * best.score
                    and len(best.text) + len(second.text) <= MAX_ANSWER_CHARS
                    and second.text != best.text
                ):
                    chosen.append(second)
                    break
    chosen.sort(key=lambda s: (s.hit_rank, s.start) if info.kind == "list" else (s.hit.article_id, s.start))
    return chosen


def _answerable(info: QuestionInfo, best: Sentence) -> bool:
    if best.own_cov < MIN_COVERAGE:
        return False
    if info.terms:
        return best.ctx_cov >= (MIN_COVERAGE_EN if info.script == "en" else MIN_COVERAGE)
    return best.dense >= MIN_DENSE_ONLY


@dataclass(slots=True)
class Evidence:
    hits: list[Hit]
    texts: dict[str, str]  # article id -> stored text
    sentences: list[Sentence]  # scored


def gather_evidence(
    index: Index,
    info: QuestionInfo,
    *,
    filters: Filters | None = None,
    prefer: Sequence[str] = (),
    top_k: int = 5,
) -> Evidence:
    """Retrieve passages for the question and score their sentences."""
    r = retrieve(
        index,
        info.search_text,
        top_k=max(top_k, PASSAGES_FOR_ANSWER),
        filters=filters,
        prefer=prefer,
        prefer_bonus=PREFER_BONUS,
    )
    hits, texts, qvec = r.hits, r.texts, r.query_vec
    sents = _sentences(hits[:PASSAGES_FOR_ANSWER], texts, r.sentences)
    if info.years:  # a question about 2022 is never answered from a sentence about 2021 only
        sents = [s for s in sents if not _other_years(info.years, s.canon)]
    if sents:
        _score(index, info, sents, qvec)
    return Evidence(hits, texts, sents)


def ask(
    index: Index,
    question: str,
    *,
    top_k: int = 5,
    filters: Filters | None = None,
    history: Sequence[Turn] = (),
    llm: LLMClient | None = None,
) -> Answer:
    """Answer `question` from the indexed articles, with verified citations."""
    t0 = time.perf_counter()
    if not isinstance(question, str) or not question.strip():
        raise InputError("the question is empty; type a question, e.g. 十三届八次全会有哪些人出席？")
    validate_top_k(top_k)
    question = question.strip()
    rewritten: str | None = None
    prefer: tuple[str, ...] = ()
    carried: list[str] = []
    if history:
        from rag.conversation import rewrite

        r = rewrite(question, history)
        if r.query != question:
            rewritten = r.query
        prefer = tuple(r.prefer_articles)
        carried = r.carried
    info = analyse(question, rewritten)
    if carried:  # carried words find the passages; the question's own words pick the sentence
        own = set(tokenize_query(question))
        from_context = {t for c in carried for t in tokenize_query(c)}
        info.carried = {t for t in info.terms if t in from_context and t not in own}
        info.light |= info.carried
    ev = gather_evidence(index, info, filters=filters, prefer=prefer, top_k=top_k)
    hits, texts, sents = ev.hits, ev.texts, ev.sentences
    script = info.script
    answer = Answer(question=question, answered=False, answer="", script=script, rewritten_question=rewritten)
    if sents:
        best = max(sents, key=lambda s: s.score)
        if _answerable(info, best):
            chosen = _choose(info, sents)
            text, cites = _compose(index, info, chosen)
            if cites:
                answer.answered = True
                answer.answer = text
                answer.citations = cites
    if llm is not None and answer.answered:
        _generate(llm, answer, hits[:PASSAGES_FOR_ANSWER], texts)
    if not answer.answered:
        answer.message = NOT_FOUND[script]
        answer.answer = NOT_FOUND[script]
        answer.suggestions = hits[: min(3, top_k)]
    answer.took_ms = round((time.perf_counter() - t0) * 1000, 1)
    return answer


def _generate(llm: LLMClient, answer: Answer, passages: Sequence[Hit], texts: dict[str, str]) -> None:
    """Replace the extractive answer by the model's when every citation of it checks out;
    otherwise keep it and say why in `message`."""
    from rag.generate import citations_for, fallback_message, generate_answer

    result = generate_answer(llm, answer.rewritten_question or answer.question, passages, answer.script)
    if result.answer is None:
        answer.message = fallback_message(result.reason or "no reason given", answer.script)
        return
    cites = citations_for(result.answer.passages, passages)
    if any(texts.get(c.article_id, "")[c.start : c.end] != c.quote for c in cites):
        logger.warning("generated answer dropped: a cited passage does not match the stored text")
        answer.message = fallback_message("a cited passage did not match the stored text", answer.script)
        return
    answer.answer = result.answer.text
    answer.citations = cites
    answer.mode = "generated"
    answer.message = None
