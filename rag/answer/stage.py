"""Extractive answers with verified citations (no LLM).

1. Analyse the question once (rag.answer.question).
2. Retrieve passages (hybrid) and read their sentences, stored at index time with their
   vectors, as candidates (rag.answer.candidates) with features (rag.answer.features); drop
   those that do not agree with the question's years, days or measure (rag.answer.agreement).
3. Score them with the policy's weights, decide whether the best one answers, and pick the
   answer's sentences (rag.answer.choose; every number in rag/answer/policy.json).
4. Cite each chosen sentence, checked against the article read again from the store, and
   pick the short answer span inside the evidence (rag.span_rank, the rules of rag.span one
   candidate among others), cited like the evidence.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from rag.answer.agreement import article_of_other_years, counts_in, other_days, other_years
from rag.answer.candidates import Sentence, candidates
from rag.answer.choose import (
    answerable,
    choose,
    full_score,
    ordered,
    partial_score,
    rank_sentences,
    shortlist,
)
from rag.answer.features import dense_features, lexical_features, term_weights, type_feature
from rag.answer.named import named_features
from rag.answer.policy import Policy
from rag.answer.question import Query, analyse
from rag.answer.span_choice import picked_span
from rag.errors import InputError, NotFoundError
from rag.index import Index
from rag.normalize import detect_script, to_script
from rag.records import Answer, Citation, Filters, Hit, ShortAnswer, Turn
from rag.retrieve import retrieve, term_idf, validate_top_k, written_form
from rag.retrieve import search as search_passages
from rag.span_text import with_title_marks

if TYPE_CHECKING:
    from rag.generate import LLMClient

logger = logging.getLogger(__name__)

NOT_FOUND = {
    "zh-Hans": "在已收录的文章中没有找到这个问题的答案。以下是最接近的段落，供参考。",
    "zh-Hant": "在已收錄的文章中沒有找到這個問題的答案。以下是最接近的段落，供參考。",
    "en": "The indexed articles do not answer this question. The nearest passages are listed below.",
}


@dataclass(slots=True)
class Evidence:
    hits: list[Hit]
    texts: dict[str, str]  # article id -> stored text
    sentences: list[Sentence]  # scored


def about_them(q: Query, sents: list[Sentence]) -> list[Sentence]:
    """The candidates that may answer a follow-up about someone (他 → 陈江): those whose
    passage names them. Another passage's sentence is about someone else, however well it
    covers the rest (陈江毕业于哪所大学 is not answered by 云南师范大学毕业生陈诗锐说). An English
    question's names are checked on its best sentence instead (`answerable`)."""
    if not q.names or q.script == "en":
        return sents
    return [s for s in sents if s.names_cov == 1.0]


def known_words(index: Index) -> Callable[[Sequence[str]], list[bool]]:
    """Which of some words the index's vocabulary holds (looked up only when asked: most
    questions never need it)."""
    return lambda words: [i >= 0 for i in index.snapshot().term_ids(words)]


def score_sentences(index: Index, q: Query, sents: list[Sentence], qvec: np.ndarray, policy: Policy) -> None:
    """Compute every feature and the policy's score of each sentence."""
    w = policy.score
    lexical_features(
        q,
        sents,
        term_weights(index, q, policy.terms.light_weight),
        policy.terms,
        lambda words: term_idf(index, words),
    )
    ev = policy.evidence
    factor = ev.shortlist_en_factor if q.script == "en" else 1
    by_lexical = sorted(sents, key=lambda s: -partial_score(w, s))  # no cosine yet: lexical order
    dense_features(index, by_lexical, qvec, ev.dense_shortlist * factor, written_form(q.search_text))
    # the answer type (part-of-speech tagging is the slow part), for a shortlist only
    for i in shortlist(w, sents, ev.type_shortlist * factor)[0]:
        sents[i].type_ok = type_feature(q, sents[i], policy.types)
    for s in sents:
        s.score = full_score(w, q, s)
    rank_sentences(policy, q, sents)


def gather_evidence(
    index: Index,
    q: Query,
    *,
    filters: Filters | None = None,
    prefer: Sequence[str] = (),
    top_k: int = 5,
    policy: Policy | None = None,
) -> Evidence:
    """Retrieve passages for the question and score their sentences."""
    policy = policy or Policy.load()
    ev = policy.evidence
    r = retrieve(
        index,
        q.search_text,
        top_k=max(top_k, ev.passages),
        filters=filters,
        prefer=prefer,
        prefer_bonus=ev.prefer_bonus,
        query_vec=q.vector,
        tokens=q.tokens,
    )
    q.vector = r.query_vec
    sents = candidates(r.hits[: ev.passages], r.texts, r.sentences, policy.compose.max_answer_chars)
    if q.years:  # a question about 2022 is never answered from a sentence about 2021 only,
        # nor from an article that never names 2022 (each article read once)
        of: dict[str, list[Sentence]] = {}
        for s in sents:
            of.setdefault(s.hit.article_id, []).append(s)
        elsewhere = {
            a for a, its in of.items() if article_of_other_years(q, f"{its[0].hit.title}\n{r.texts[a]}", its)
        }
        sents = [s for s in sents if s.hit.article_id not in elsewhere and not other_years(q, s)]
    if q.days:  # nor one about 8月5日 from an article about other days (each article read once)
        elsewhere = {aid for aid, text in r.texts.items() if other_days(q, text)}
        sents = [s for s in sents if s.hit.article_id not in elsewhere]
    if q.measure:  # nor one asking 多少人 from a sentence that counts nothing in people
        sents = [s for s in sents if counts_in(s.canon, q.measure)]
    if sents:
        named_features(q, sents, r.texts, r.sentences)
        score_sentences(index, q, sents, r.query_vec, policy)
    return Evidence(r.hits, r.texts, sents)


def cite(index: Index, sents: Sequence[Sentence]) -> list[Citation]:
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
        h = s.hit
        cites.append(
            Citation(
                n=len(cites) + 1,
                article_id=h.article_id,
                chunk_id=h.chunk_id,
                title=h.title,
                source=h.source,
                published=h.published,
                quote=quote,
                start=s.start,
                end=s.end,
                score=round(s.score, 4),
            )
        )
    return cites


def _shown(q: Query, text: str) -> str:
    """`text` in the question's script (an English question sees the text as published)."""
    keep = q.script == "en" or detect_script(text) == q.script
    return " ".join((text if keep else to_script(text, q.script)).split())


def compose(index: Index, q: Query, chosen: list[Sentence]) -> tuple[str, list[tuple[Sentence, Citation]]]:
    """The answer text (each sentence in the question's script, marked with its citation) and
    the chosen sentences that kept a citation, each with it."""
    by_place = {(c.article_id, c.start): c for c in cite(index, chosen)}
    cited = [(s, by_place[key]) for s in chosen if (key := (s.hit.article_id, s.start)) in by_place]
    return "".join(f"{_shown(q, s.text)}[{c.n}]" for s, c in cited), cited


def pick_short_answer(policy: Policy, q: Query, cited: list[tuple[Sentence, Citation]]) -> ShortAnswer | None:
    """The short answer: of the cited sentences with a span (rag.span_rank), the one the span
    choice model scores highest (rag.answer.span_choice); without that model, the best-scored."""
    picked = picked_span(policy, q, [s for s, _ in cited])
    if picked is None:
        return None
    i, (a, b), _ = picked
    s, c = cited[i]
    a, b = with_title_marks(s.text, a, b)
    return ShortAnswer(_shown(q, s.text[a:b]), c.n, s.start + a, s.start + b)


def search(index: Index, query: str, *, top_k: int = 10, filters: Filters | None = None) -> list[Hit]:
    """The `top_k` passages best matching `query` (rag.retrieve.search). An English query is
    searched as `ask` searches an English question, with the Chinese words of its terms, its
    dates as articles write them and the romanized names the index spells
    (rag.answer.english_question): its English words are in no Chinese article, which left the
    dense leg alone to find one (bench/english.py measures both)."""
    if isinstance(query, str) and query.strip() and detect_script(query.strip()) == "en":
        validate_top_k(top_k)
        q = analyse(query.strip(), known=known_words(index))
        return retrieve(index, q.search_text, top_k=top_k, filters=filters, tokens=q.tokens).hits
    return search_passages(index, query, top_k=top_k, filters=filters)


def ask(
    index: Index,
    question: str,
    *,
    top_k: int = 5,
    filters: Filters | None = None,
    history: Sequence[Turn] = (),
    llm: LLMClient | None = None,
    policy: Policy | None = None,
) -> Answer:
    """Answer `question` from the indexed articles, with verified citations."""
    t0 = time.perf_counter()
    if not isinstance(question, str) or not question.strip():
        raise InputError("the question is empty; type a question, e.g. 这次会议有哪些人出席？")
    validate_top_k(top_k)
    policy = policy or Policy.load()
    question = question.strip()
    rewritten: str | None = None
    prefer: tuple[str, ...] = ()
    carried: list[str] = []
    about: list[str] = []
    asks: str | None = None
    if history:
        from rag.conversation import rewrite

        r = rewrite(question, history, policy.follow_up)
        if r.query != question:
            rewritten = r.query
        prefer = tuple(r.prefer_articles)
        carried = r.carried
        about = r.about
        asks = r.asks
    q = analyse(
        question, rewritten, policy=policy, known=known_words(index), carried=carried, about=about, asks=asks
    )
    ev = gather_evidence(index, q, filters=filters, prefer=prefer, top_k=top_k, policy=policy)
    answer = Answer(
        question=question, answered=False, answer="", script=q.script, rewritten_question=rewritten
    )
    sents = about_them(q, ev.sentences)
    if sents:
        best = ordered(sents)[0]
        if answerable(policy, q, best, sents):
            text, cited = compose(index, q, choose(policy, q, sents))
            if cited:
                answer.answered = True
                answer.answer = text
                answer.citations = [c for _, c in cited]
                answer.short_answer = pick_short_answer(policy, q, cited)
    passages = ev.hits[: policy.evidence.passages]
    if llm is not None and answer.answered:
        _generate(llm, answer, passages, ev.texts)
    if not answer.answered:
        answer.message = NOT_FOUND[q.script]
        answer.answer = NOT_FOUND[q.script]
        answer.suggestions = ev.hits[: min(policy.compose.suggestions, top_k)]
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
    answer.short_answer = None  # it quoted the extractive citations, which are replaced
    answer.mode = "generated"
    answer.message = None
