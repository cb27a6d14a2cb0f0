"""The features of the sentence ranker (rag.answer.policy.SentenceModel: gradient-boosted
trees, LightGBM LambdaRank fitted by bench/fit_ranker.py, evaluated with numpy by rag.trees),
which ranks again the shortlist the linear score puts first (rag.answer.choose.rank_sentences).

The linear score (rag.answer.choose.full_score) weighs each sentence alone. The trees also see
it among the others (how far it is behind the best), how much of the question's wording it
repeats, and in what order and how close to where the question word stands
(rag.answer.wording), its shape, and its neighbours: a question often restates one sentence
and asks about the next one (市政府提出扩建机场的方案后，因谁反对而搁置？ restates 市政府去年提出了扩建机场的方案。
and is answered by the sentence after it, 但因环保组织反对，方案被暂时搁置。). Every feature is a function of the recorded
candidate features (RECORDED_FEATURES), the sentences' text and place and the question's
kind, terms and text, so a recording that keeps the question's text replays exactly.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence

import numpy as np

from rag.answer.candidates import Sentence
from rag.answer.english_question import ALTERNATIVES
from rag.answer.question import Query
from rag.answer.wording import question_wording, wording_matches

QUESTION_KINDS = ("list", "date", "person", "number", "place", "other")  # rag.answer.question's kinds
_NEIGHBOUR = ("cov", "dense", "gap", "adds")
RANK_FEATURES = (
    "cov",
    "title_only",
    "ctx_cov",
    "retrieval",
    "hit_rank",
    "dense",
    "type_ok",
    "score",
    "score_gap",  # behind the best of the shortlist
    "dense_gap",
    "cov_gap",
    "score_place",  # how many of the shortlist score higher
    "dense_place",
    "q_chars",  # share of the characters of the question's terms found in the sentence
    "q_bigrams",  # the same for the terms' character pairs
    "len_log",
    "has_digit",
    "closed",  # ends as a sentence ends (not a heading or a teaser cut short)
    "ellipsis",
    *(f"kind:{k}" for k in QUESTION_KINDS),
    *(f"{side}_{f}" for side in ("prev", "next") for f in _NEIGHBOUR),
    "named_miss",  # its article lacks one of the question's proper words (rag.answer.named)
    # (rag.answer.wording) the share of the question's wording it repeats in the question's
    # order, and behind the best of the shortlist; the longest stretch of the wording it
    # repeats as it stands, as a share, and behind the best; how many characters right
    # before the question word it repeats as they stand, and right after it
    "in_order",
    "in_order_gap",
    "run",
    "run_gap",
    "wh_before",
    "wh_after",
)
_DIGIT = re.compile(r"\d")
_CLOSED = re.compile(r"[。！？!?；;」』”）)]\s*$")


def _bigrams(words: Sequence[str]) -> set[str]:
    return {w[i : i + 2] for w in words for i in range(len(w) - 1)}


def _neighbours(sents: Sequence[Sentence], adjacent: int) -> tuple[dict[int, int], dict[int, int]]:
    """(previous, next) of each candidate among the candidates: the sentence of the same
    article that ends right before it / starts right after it (at most `adjacent` characters
    between them: spaces, a line break)."""
    prev: dict[int, int] = {}
    nxt: dict[int, int] = {}
    by_article: dict[str, list[int]] = {}
    for i, s in enumerate(sents):
        by_article.setdefault(s.hit.article_id, []).append(i)
    for ids in by_article.values():
        ids.sort(key=lambda i: sents[i].start)
        for a, b in itertools.pairwise(ids):
            if sents[a].end <= sents[b].start <= sents[a].end + adjacent:
                nxt[a], prev[b] = b, a
    return prev, nxt


def rank_features(
    q: Query, sents: Sequence[Sentence], shortlist: Sequence[int], partial: Sequence[float], adjacent: int
) -> np.ndarray:
    """The RANK_FEATURES of the candidates `shortlist` (indexes into `sents`, whose `score` is
    set); `partial` is every candidate's score without the answer type (a neighbour outside
    the shortlist has no answer type); `adjacent`: the policy's `evidence.adjacent_chars`."""
    words = [a for t in q.terms for a in t.split(ALTERNATIVES)]
    q_chars = {c for w in words for c in w}
    q_pairs = _bigrams(words)
    top_score = max(sents[i].score for i in shortlist)
    top_dense = max(sents[i].dense for i in shortlist)
    top_cov = max(sents[i].cov for i in shortlist)
    scores = np.array([sents[i].score for i in shortlist])
    denses = np.array([sents[i].dense for i in shortlist])
    prev, nxt = _neighbours(sents, adjacent)
    kind = [float(q.kind == k) for k in QUESTION_KINDS]
    n_chars, n_pairs = max(1, len(q_chars)), max(1, len(q_pairs))
    wording, at = question_wording(q.asks or q.text)
    n_wording = max(1, len(wording))
    matched = wording_matches(wording, at, [sents[i].canon for i in shortlist])
    ordered, runs = matched[:, 0] / n_wording, matched[:, 1] / n_wording
    ordered_gap, runs_gap = ordered - ordered.max(), runs - runs.max()
    rows = []
    for k, i in enumerate(shortlist):
        s = sents[i]
        text = s.canon
        # membership in the sentence's text, not sets of its characters: questions are short
        mine = [c for c in q_chars if c in text]
        row = [
            s.cov,
            s.title_only,
            s.ctx_cov,
            s.retrieval,
            float(s.hit_rank),
            s.dense,
            s.type_ok,
            s.score,
            s.score - top_score,
            s.dense - top_dense,
            s.cov - top_cov,
            float((scores > s.score).sum()),
            float((denses > s.dense).sum()),
            len(mine) / n_chars,
            sum(p in text for p in q_pairs) / n_pairs,
            math.log1p(len(s.text)),
            float(bool(_DIGIT.search(s.canon))),
            float(bool(_CLOSED.search(s.text))),
            float("…" in s.text or "..." in s.text),
            *kind,
        ]
        for side in (prev, nxt):
            j = side.get(i)
            if j is None:
                row += [-1.0] * len(_NEIGHBOUR)
                continue
            u = sents[j]
            adds = sum(c not in u.canon for c in mine)  # question characters this one has, the neighbour not
            row += [u.cov, u.dense, partial[j] - top_score, adds / n_chars]
        row.append(s.named_miss)
        row += [ordered[k], ordered_gap[k], runs[k], runs_gap[k], matched[k, 2], matched[k, 3]]
        rows.append(row)
    return np.array(rows, dtype=np.float64)
