"""Extractive answers with verified citations (no LLM needed).

1. The question is analysed once into a `Query` (`rag.answer.query`).
2. Passages are retrieved (hybrid) and their sentences, analysed once per article text
   (`rag.answer.sentences`), become candidates with general features (`rag.answer.features`).
3. A learned policy (`rag.answer.policy`, data in `policy.json`, written by
   `python -m rag.answer.train`) ranks the candidates and decides "not found".
4. The answer is the best sentence (completed by its neighbour when it is a fragment, or
   joined by more sentences of the same article for list questions), plus a short answer
   span (`rag.answer.short`). Every citation is checked against the article text fetched
   again from the index: `quote == stored[start:end]`, else it is dropped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rag.answer import policy as policy_mod
from rag.answer.features import Candidate, candidates, extract
from rag.answer.query import Query, analyse_question
from rag.answer.short import short_answer
from rag.errors import InputError, NotFoundError
from rag.index import Index
from rag.normalize import detect_script, to_script
from rag.records import Answer, Citation, Filters, Hit, Turn
from rag.retrieve import retrieve, term_idf, validate_top_k

if TYPE_CHECKING:
    from rag.generate import LLMClient

logger = logging.getLogger(__name__)

__all__ = ["NOT_FOUND", "Evidence", "Query", "analyse", "ask", "cite", "decide", "gather_evidence"]

NOT_FOUND = {
    "zh-Hans": "在已收录的文章中没有找到这个问题的答案。以下是最接近的段落，供参考。",
    "zh-Hant": "在已收錄的文章中沒有找到這個問題的答案。以下是最接近的段落，供參考。",
    "en": "The indexed articles do not answer this question. The nearest passages are listed below.",
}


def analyse(question: str, search_text: str | None = None) -> Query:
    """The `Query` of a question (without term weights)."""
    return analyse_question(question, search_text)


@dataclass(slots=True)
class Evidence:
    query: Query  # with term weights
    hits: list[Hit]
    texts: dict[str, str]  # article id -> stored text
    candidates: list[Candidate]  # featured and scored, best first


def _english_terms(index: Index, question: str, per_word: int) -> list[list[str]]:
    from rag.answer.english import translations

    groups = translations(question, per_word)
    if not groups:
        return []
    flat = [t for g in groups for t in g]
    idf = dict(zip(flat, term_idf(index, flat), strict=True))
    unknown = max(idf.values())
    return [[t for t in g if idf[t] < unknown] or g[:1] for g in groups]


def gather_evidence(
    index: Index,
    question: str,
    *,
    rewritten: str | None = None,
    carried: Sequence[str] = (),
    filters: Filters | None = None,
    prefer: Sequence[str] = (),
    top_k: int = 5,
    policy: policy_mod.Policy | None = None,
    exclude: Callable[[Hit], bool] | None = None,
) -> Evidence:
    """Retrieve passages for the question, and feature and score their sentences.

    `exclude` drops hits (the calibration and training commands use it to hide a question's
    source article, as if it had been deleted)."""
    pol = policy or policy_mod.load()
    passages = int(pol.p("passages"))
    groups: list[list[str]] = []
    if detect_script(question) == "en":
        groups = _english_terms(index, rewritten or question, int(pol.p("en_translations")))
    q = analyse_question(
        question, rewritten, carried_words=carried, extra_terms=[t for g in groups for t in g]
    )
    want = max(top_k, passages)
    r = retrieve(
        index,
        q.search_text,
        top_k=want + (3 if exclude else 0),
        filters=filters,
        prefer=prefer,
        prefer_bonus=pol.p("prefer_bonus"),
    )
    hits = [h for h in r.hits if not (exclude and exclude(h))][:want]
    cands = candidates(hits, r.texts, passages)
    if groups:  # one Chinese word per English word: the one the passages use, else the commonest
        pooled = " ".join(c.record.canon for c in cands)
        chosen = [next((t for t in g if t in pooled), g[0]) for g in groups]
        q = analyse_question(question, rewritten, carried_words=carried, extra_terms=chosen)
    q = q.with_weights(term_idf(index, q.terms), pol.p("light_weight"))
    extract(q, cands, r.query_vec, index.embedder, int(pol.p("dense_shortlist")))
    if q.carried:  # a follow-up is answered by its own words, not only by the carried context
        cands = [c for c in cands if c.own_cov >= pol.p("min_own_coverage")]
    if q.years:  # a question about a year is never answered from a sentence about another year
        cands = [c for c in cands if c.f("year_agree") >= 0]
    for c in cands:
        c.score = pol.rank_score(c.x)
    cands.sort(key=lambda c: -c.score)
    return Evidence(q, hits, r.texts, cands)


def not_found_features(ev: Evidence) -> dict[str, float]:
    """What the "not found" decision reads: the best candidate's evidence."""
    import math

    best = ev.candidates[0]
    second = ev.candidates[1].score if len(ev.candidates) > 1 else best.score - 1.0
    return {
        "score": best.score,
        "margin": best.score - second,
        "cov": best.f("cov"),
        "ctx_cov": min(best.f("ctx_cov"), best.own_cov),
        "win_cov": min(best.f("win_cov"), best.own_cov),
        "matched_share": best.f("matched_share"),
        "dense": best.f("dense"),
        "type_match": best.f("type_match"),
        "year_agree": best.f("year_agree"),
        "hit_dense": best.f("hit_dense"),
        "log_terms": math.log1p(len(ev.query.terms)),
    }


def decide(ev: Evidence, policy: policy_mod.Policy | None = None) -> tuple[bool, float]:
    """(answerable, probability) for the evidence, by the policy's not-found model."""
    pol = policy or policy_mod.load()
    if not ev.candidates:
        return False, 0.0
    p = pol.answer_probability(not_found_features(ev))
    return p >= pol.nf_threshold, p


def choose(ev: Evidence, policy: policy_mod.Policy | None = None) -> list[Candidate]:
    """The sentences of the answer (best first in reading order)."""
    pol = policy or policy_mod.load()
    q, ranked = ev.query, ev.candidates
    best = ranked[0]
    max_chars = int(pol.p("max_answer_chars"))
    chosen = [best]
    if q.kind == "list":
        margin = pol.p("list_margin")
        window = ranked[1 : 1 + int(pol.p("list_window"))]
        if best.f("type_match") < 1.0:  # lead with a sentence of the same article that holds the list
            listing = [
                c
                for c in window
                if c.hit.article_id == best.hit.article_id
                and c.f("type_match") >= 1.0
                and c.score >= best.score - margin
            ]
            if listing:
                best = listing[0]
                chosen = [best]
        for c in window:
            if c is best:
                continue
            if c.hit.article_id != best.hit.article_id or c.score < best.score - margin:
                continue
            if c.f("type_match") <= 0 or c.text == best.text:
                continue
            if len(chosen) < int(pol.p("list_max_sentences")):
                chosen.append(c)
        chosen.sort(key=lambda c: c.start)
        return chosen
    same = sorted(
        (c for c in ev.candidates if c.hit.article_id == best.hit.article_id), key=lambda c: c.start
    )
    i = same.index(best)
    fragment = not best.record.closed or len(best.text) < pol.p("fragment_chars")
    if fragment and i + 1 < len(same) and len(best.text) + len(same[i + 1].text) <= max_chars:
        chosen.append(same[i + 1])
    else:
        for second in ranked[1:3]:
            if (
                second.hit.article_id == best.hit.article_id
                and second.score >= best.score - pol.p("second_margin")
                and len(best.text) + len(second.text) <= max_chars
                and second.text != best.text
            ):
                chosen.append(second)
                break
    chosen.sort(key=lambda c: c.start)
    return chosen


def cite(fetch: Callable[[str], str | None], chosen: Sequence[Candidate]) -> list[tuple[Candidate, Citation]]:
    """Citations for the chosen sentences, each verified against the article's stored text as
    `fetch(article_id)` returns it (read again from the index, not the text the candidate was
    cut from); a sentence whose offsets do not give back its quote is dropped."""
    out: list[tuple[Candidate, Citation]] = []
    for c in chosen:
        stored = fetch(c.hit.article_id) or ""
        quote = stored[c.start : c.end]
        if not quote or quote != c.text:
            logger.warning("dropped a citation that does not match the stored text: %s", c.hit.chunk_id)
            continue
        out.append(
            (
                c,
                Citation(
                    n=len(out) + 1,
                    article_id=c.hit.article_id,
                    chunk_id=c.hit.chunk_id,
                    title=c.hit.title,
                    source=c.hit.source,
                    published=c.hit.published,
                    quote=quote,
                    start=c.start,
                    end=c.end,
                    score=round(c.score, 4),
                ),
            )
        )
    return out


def _fetcher(index: Index) -> Callable[[str], str | None]:
    def fetch(article_id: str) -> str | None:
        try:
            return index.get_article(article_id).text
        except NotFoundError:
            return None

    return fetch


def _shown(text: str, script: str) -> str:
    keep = script == "en" or detect_script(text) == script
    return " ".join((text if keep else to_script(text, script)).split())


def compose(
    ev: Evidence, chosen: Sequence[Candidate], fetch: Callable[[str], str | None], answer: Answer
) -> None:
    """Fill `answer` from the chosen sentences (unchanged when no citation checks out)."""
    pol = policy_mod.load()
    cited = cite(fetch, chosen)
    if not cited:
        return
    script = ev.query.script
    answer.answered = True
    answer.answer = "".join(f"{_shown(c.text, script)}[{cit.n}]" for c, cit in cited)
    answer.citations = [cit for _, cit in cited]
    best = max(cited, key=lambda cc: cc[0].score)
    span = short_answer(ev.query, best[0], int(pol.p("short_max_chars")))
    if span is not None:
        a, b = span
        answer.short_answer = _shown(best[0].article_text[a:b], script)
        answer.short_answer_citation = best[1].n


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
    ev = gather_evidence(
        index, question, rewritten=rewritten, carried=carried, filters=filters, prefer=prefer, top_k=top_k
    )
    script = ev.query.script
    answer = Answer(question=question, answered=False, answer="", script=script, rewritten_question=rewritten)
    if ev.candidates and decide(ev)[0]:
        compose(ev, choose(ev), _fetcher(index), answer)
    passages = int(policy_mod.load().p("passages"))
    if llm is not None and answer.answered:
        _generate(llm, answer, ev.hits[:passages], ev.texts)
    if not answer.answered:
        answer.message = NOT_FOUND[script]
        answer.answer = NOT_FOUND[script]
        answer.suggestions = ev.hits[: min(3, top_k)]
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
    answer.short_answer = None
    answer.short_answer_citation = None
