"""The decision: score the candidate sentences with the policy's weights, rank the best of
them again with the sentence ranker, say whether the best one answers, and pick the
sentence(s) the answer is made of. Pure functions of the features and the policy (no index, no
model), so recorded features replay exactly (the golden tests, bench/fit_policy.py)."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence

from rag.answer.candidates import Sentence
from rag.answer.english_question import ALTERNATIVES
from rag.answer.features import english_counts, people
from rag.answer.neighbours import NEIGHBOUR_FEATURES, adjacent, margin, neighbour_features
from rag.answer.policy import NotFound, Policy, ScoreWeights
from rag.answer.question import Query
from rag.answer.rank import RANK_FEATURES, rank_features

_CLOSED = re.compile(r"[。！？!?；;」』”）)]$")


def partial_score(w: ScoreWeights, s: Sentence) -> float:
    """The score without the answer-type feature (which is computed for a shortlist only)."""
    return (
        w.cov * (s.cov + w.title_credit * s.title_only)
        + w.ctx_cov * s.ctx_cov
        + w.retrieval * s.retrieval
        + w.rank * s.hit_rank
        + w.dense * s.dense
    )


def full_score(w: ScoreWeights, q: Query, s: Sentence) -> float:
    return partial_score(w, s) + (w.type_ok_list if q.kind == "list" else w.type_ok) * s.type_ok


def shortlist(w: ScoreWeights, sents: Sequence[Sentence], n: int) -> tuple[list[int], list[float]]:
    """The indexes of the `n` best sentences by the score without the answer type (the ones
    that get an answer type, and the ones the sentence ranker sees), and every sentence's
    score without it."""
    partial = [partial_score(w, s) for s in sents]
    return sorted(range(len(sents)), key=lambda i: -partial[i])[:n], partial


def rank_sentences(policy: Policy, q: Query, sents: Sequence[Sentence]) -> None:
    """Set `rank` on every sentence (their `score` set): the sentence ranker's score for the
    `shortlist` best by the score without the answer type (the ones that have an answer type),
    -inf for the rest; 0 for all where there is no ranker or the question is English (the
    ranker is fitted on Chinese questions): then the score alone orders them."""
    model = policy.sentence_model
    for s in sents:
        s.rank = 0.0
    if model.trees is None or q.script == "en" or not sents:
        return
    if model.features != RANK_FEATURES:
        raise ValueError(
            "sentence model: its features are not the ones this code computes; run bench/fit_ranker.py"
        )
    short, partial = shortlist(policy.score, sents, model.shortlist)
    got = model.trees.predict(rank_features(q, sents, short, partial, policy.evidence.adjacent_chars))
    for s in sents:
        s.rank = -math.inf
    for i, r in zip(short, got, strict=True):
        sents[i].rank = float(r)


def ordered(sents: Sequence[Sentence]) -> list[Sentence]:
    """The sentences best first (`rank`, then `score`), as `rank_sentences` left them."""
    return sorted(sents, key=lambda s: (-s.rank, -s.score))


def answerable(policy: Policy, q: Query, best: Sentence, others: Sequence[Sentence]) -> bool:
    """Whether the best sentence answers: its passage and title cover enough of the question,
    weighed with its dense similarity (a follow-up: its own words covered too); an English
    question on its coverage, its passage naming enough of the names the question asks about
    (`min_names_en`), and the same boundary at a margin of its own (`min_margin_en`); a
    question without any term on dense similarity. A question asking for a number or a date
    weighs whether the sentence holds one; every question, how well the sentence scored,
    whether it holds the kind of thing asked for, whether its article names all the
    question's proper words, and how well the best sentence of another article of the
    candidates `others` scored (the best one's rival: see `boundary_inputs`)."""
    nf = policy.not_found
    if best.own_cov < nf.min_own_coverage:
        return False
    if not q.terms:
        return best.dense >= nf.min_dense_only
    if q.script == "en":  # ("how many": a sentence without a count answers nothing, see `counts`)
        # its coverage, its names, and the Chinese questions' boundary at a margin of its own:
        # an English question's terms are dictionary guesses, so its coverage runs lower
        return (
            best.ctx_cov >= nf.min_coverage_en
            and best.names_cov >= nf.min_names_en
            and counts(q, best)
            and boundary_margin(nf, q, best, others) >= nf.min_margin_en
        )
    return boundary_margin(nf, q, best, others) >= 0


def boundary_margin(nf: NotFound, q: Query, best: Sentence, others: Sequence[Sentence]) -> float:
    """The "not found" boundary's weighted sum of the best sentence's BOUNDARY_INPUTS plus its
    bias: a Chinese question is answered at 0 or more."""
    inputs = boundary_inputs(q, best, others)
    return sum(getattr(nf, n) * x for n, x in zip(BOUNDARY_INPUTS, inputs, strict=True)) + nf.bias


# what the "not found" boundary weighs, each named as its weight in the policy (NotFound)
BOUNDARY_INPUTS = ("ctx_cov", "dense", "type_miss", "score", "type_ok", "rank", "named_miss", "rival")


def boundary_inputs(q: Query, best: Sentence, others: Sequence[Sentence]) -> tuple[float, ...]:
    """The BOUNDARY_INPUTS of the best sentence, as `answerable` weighs them (and
    bench/fit_policy.py fits them). `rival`: the highest score of a sentence of another
    article among the candidates `others` (0 without one): where the article that holds the
    answer is missing, the best sentence is one of several articles' near the question, each
    scoring about as well; where it is there, its sentence stands above the rest."""
    best_article = best.hit.article_id
    rival = max((s.score for s in others if s.hit.article_id != best_article), default=0.0)
    return (
        best.ctx_cov,
        best.dense,
        type_miss(q, best),
        best.score,
        best.type_ok,
        best.rank,
        best.named_miss,
        rival,
    )


def counts(q: Query, s: Sentence) -> bool:
    """Whether the sentence holds a count, when an English question asks for a number: a whole
    number expression it does not write, not a day of the calendar (`english_counts`; the
    learned boundary of a Chinese question weighs `type_miss` instead)."""
    return q.kind != "number" or bool(english_counts(q, s))


def type_miss(q: Query, s: Sentence) -> float:
    """1 when the question asks for a number or a date and the sentence holds none."""
    return 1.0 if q.kind in ("number", "date") and s.type_ok == 0 else 0.0


def neighbours(
    policy: Policy, same: Sequence[Sentence], chosen: Sequence[Sentence]
) -> list[tuple[bool, Sentence]]:
    """The candidates just before and just after the `chosen` sentences (`same`: the
    candidates of their article in reading order), each with whether it comes before; only
    those adjacent in the article (at most `evidence.adjacent_chars` between)."""
    first, last = min(chosen, key=lambda s: s.start), max(chosen, key=lambda s: s.start)
    out = []
    for before, end in ((True, first), (False, last)):
        j = same.index(end) + (-1 if before else 1)
        if 0 <= j < len(same):
            pair = (same[j], end) if before else (end, same[j])
            if adjacent(*pair, policy.evidence.adjacent_chars):
                out.append((before, same[j]))
    return out


def reads_into(
    policy: Policy, q: Query, best: Sentence, neighbour: Sentence, before: bool, n_chosen: int
) -> bool:
    """Whether the answer made of `n_chosen` sentences around `best` takes `neighbour`, the
    sentence just before it (`before`) or just after it: the neighbour model's margin. Never
    for an English question: the model is fitted on Chinese ones, and weighs the sentence
    ranker's scores, which English questions do not get (rank_sentences)."""
    model = policy.neighbour_model
    if not model.weights or q.script == "en":
        return False
    if model.features != NEIGHBOUR_FEATURES:
        raise ValueError(
            "neighbour model: its features are not the ones this code computes; run bench/fit_neighbours.py"
        )
    return margin(model.weights, model.bias, neighbour_features(q, best, neighbour, before, n_chosen)) > 0


def _holds_own_words(q: Query) -> Callable[[Sentence], bool]:
    """For a follow-up, whether a sentence holds one of the words the question asks itself
    (not carried from earlier turns, not light); for any other question, always true."""
    own = [t.split(ALTERNATIVES) for t in q.terms if t not in q.carried and t not in q.light]
    if not q.carried or not own:
        return lambda s: True
    return lambda s: any(a in s.canon for group in own for a in group)


def choose(policy: Policy, q: Query, sents: Sequence[Sentence]) -> list[Sentence]:
    """The sentences of the answer, in reading order: the best, completed by its neighbour
    when it is a fragment, or with a second sentence of the same article that scores nearly
    as well; then the sentence just before or just after, when the neighbour model takes it;
    for a list question, list sentences of the best one's article merged."""
    c = policy.compose
    ranked = ordered(sents)
    holds = _holds_own_words(q)
    # a follow-up's own words pick the sentence (那列席的呢 after 有哪些人出席: the sentence on
    # 列席, not the list of those who attended, which the carried words still favour)
    if not holds(ranked[0]) and (first := next((s for s in ranked if holds(s)), None)) is not None:
        ranked.remove(first)
        ranked.insert(0, first)
    # a list question: lead with a sentence that holds a list, when one answers nearly as well,
    # and merge the article's other lists; a list sharing no word with the question is not the
    # one asked for (谁没有出席年会但列席了会议: not the list of those who attended)
    if q.kind == "list":
        listing = [
            s
            for s in ranked[: c.list_window]
            if s.type_ok >= c.list_type_min
            and s.cov > 0
            and holds(s)
            and s.score >= c.list_lead * ranked[0].score
            and s.hit.article_id == ranked[0].hit.article_id
        ]
        if listing and ranked[0].type_ok < c.list_type_min:
            ranked.remove(listing[0])
            ranked.insert(0, listing[0])
    best = ranked[0]
    chosen = [best]
    if q.kind == "list":
        names = set(people(best, "", policy.types.min_name_chars)) if q.list_of_people else set()
        for s in ranked[1 : c.list_window + 1]:
            if (
                s.hit.article_id != best.hit.article_id
                or s.score < c.list_merge * best.score
                or s.type_ok < c.list_type_min
                or s.cov == 0
                or not holds(s)
            ):
                continue
            if q.list_of_people:
                new = set(people(s, "", policy.types.min_name_chars)) - names
                if not new:
                    continue  # names already listed
                names |= new
            if len(chosen) < c.list_max:
                chosen.append(s)
        chosen.sort(key=lambda s: (s.hit_rank, s.start))
        return chosen
    same = sorted((s for s in sents if s.hit.article_id == best.hit.article_id), key=lambda s: s.start)
    i = same.index(best)
    fragment = len(best.text) < c.fragment_chars or not _CLOSED.search(best.text)
    # a fragment is completed by the sentence that follows it, when that one closes it (a
    # heading line followed by another heading line is no sentence: the runner-up may join)
    nxt = same[i + 1] if i + 1 < len(same) else None
    if (
        fragment
        and nxt is not None
        and _CLOSED.search(nxt.text)
        and len(best.text) + len(nxt.text) <= c.max_answer_chars
    ):
        chosen.append(nxt)
    else:
        # a second sentence that answers nearly as well, same article
        for second in ranked[1 : 1 + c.second_window]:
            if (
                second.hit.article_id == best.hit.article_id
                and second.score >= c.second_sentence * best.score
                and len(best.text) + len(second.text) <= c.max_answer_chars
                and second.text != best.text
            ):
                chosen.append(second)
                break
    # the answer reads back into the sentence before it or on into the one after, when the
    # neighbour model says that one holds what the best sentence only points at
    # (「1563年，它成为了……的首都。」 after 「杜林曾经是……。」)
    n_chosen = len(chosen)
    for before, neighbour in neighbours(policy, same, chosen):
        if sum(len(s.text) for s in chosen) + len(neighbour.text) <= c.max_answer_chars and reads_into(
            policy, q, best, neighbour, before, n_chosen
        ):
            chosen.append(neighbour)
    chosen.sort(key=lambda s: (s.hit.article_id, s.start))
    return chosen
