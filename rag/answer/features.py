"""Candidate sentences of the retrieved passages and their features (pure: no weights).

Every feature is general: how much of the question a sentence covers and how close together,
whether it holds the kind of thing asked for (jieba part of speech nr/ns/nt, numbers, dates),
whether its years and numbers agree with the question's, where it stands in its article,
how its passage was retrieved, its dense similarity to the question, and its shape (a
heading, a teaser cut with an ellipsis). Nothing names an entity. The policy turns them
into a choice (`rag.answer.policy`).
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from rag.answer.query import KINDS, Query
from rag.answer.sentences import SentenceRecord, article_sentences, text_hash
from rag.normalize import canonical_terms, to_simplified
from rag.records import Hit

logger = logging.getLogger(__name__)

FEATURES: tuple[str, ...] = (
    "cov",
    "cov_local",
    "ctx_cov",
    "win_cov",
    "matched_share",
    "proximity",
    "novelty",
    "dense",
    "dense_gap",
    "dense_rank",
    "cov_gap",
    *(f"kind_{k}" for k in KINDS),
    "list_of_people",
    "new_person",
    "new_place",
    "new_org",
    "new_number",
    "new_date",
    "type_match",
    "n_enum",
    "q_has_year",
    "year_agree",
    "number_agree",
    "position",
    "first_sentence",
    "hit_rank",
    "hit_score",
    "hit_bm25",
    "hit_dense",
    "length",
    "closed",
    "teaser",
    "question_mark",
    "heading",
    "n_terms",
    "english",
)
IDX = {name: i for i, name in enumerate(FEATURES)}


@dataclass(slots=True)
class Candidate:
    """A sentence of a retrieved passage, with its features and (once scored) its score."""

    hit: Hit
    hit_rank: int
    record: SentenceRecord
    text: str  # the stored text at [record.start, record.end)
    article_text: str  # the whole stored article text
    x: list[float] = field(default_factory=list)  # in FEATURES order
    score: float = 0.0
    own_cov: float = 1.0  # coverage of a follow-up's own words (not the carried context)

    @property
    def start(self) -> int:
        return self.record.start

    @property
    def end(self) -> int:
        return self.record.end

    def f(self, name: str) -> float:
        return self.x[IDX[name]]


def candidates(hits: Sequence[Hit], texts: dict[str, str], passages: int) -> list[Candidate]:
    """The sentences of the best `passages` passages, each once."""
    out: list[Candidate] = []
    seen: set[tuple[str, int]] = set()
    for rank, h in enumerate(hits[:passages]):
        text = texts.get(h.article_id)
        if text is None:
            continue
        for r in article_sentences(h.article_id, text):
            if r.end <= h.start or r.start >= h.end or (h.article_id, r.start) in seen:
                continue
            seen.add((h.article_id, r.start))
            out.append(Candidate(h, rank, r, text[r.start : r.end], text))
    return out


def _found(term: str, canon: str, words: frozenset[str]) -> bool:
    """A one-character term counts only as a word of its own (水 is not found in 程水泉)."""
    if term not in canon:
        return False
    return len(term) > 1 or term.isdigit() or term in words


def coverage(q: Query, weights: Sequence[float], canon: str, words: frozenset[str]) -> float:
    total = sum(weights)
    if total <= 0:
        return 0.0
    return sum(w for t, w in zip(q.terms, weights, strict=True) if _found(t, canon, words)) / total


def _proximity(q: Query, canon: str, words: frozenset[str]) -> tuple[float, float]:
    """(share of the sentence's characters the matched terms span over, share of characters not
    taken by question terms)."""
    pos = [(canon.find(t), len(t)) for t in q.terms if _found(t, canon, words)]
    if not pos or not canon:
        return 0.0, 1.0
    a = min(p for p, _ in pos)
    b = max(p + n for p, n in pos)
    matched = sum(n for _, n in pos)
    covered = [False] * len(canon)
    for t in q.terms:
        i = canon.find(t)
        while i >= 0:
            for j in range(i, i + len(t)):
                covered[j] = True
            i = canon.find(t, i + 1)
    return min(1.0, matched / max(1, b - a)), 1.0 - sum(covered) / len(canon)


_sentence_vec_cache: dict[tuple[str, str, int], np.ndarray] = {}
_VEC_CACHE_MAX = 20000


def _dense(embedder: object, cands: Sequence[Candidate], qvec: np.ndarray) -> np.ndarray:
    """Cosine of each candidate to the question (sentence vectors cached per article text)."""
    keys = [(c.hit.article_id, text_hash(c.text), c.start) for c in cands]
    missing = [i for i, k in enumerate(keys) if k not in _sentence_vec_cache]
    if missing:
        vecs = embedder.encode_queries([to_simplified(cands[i].text) for i in missing])  # type: ignore[attr-defined]
        if len(_sentence_vec_cache) > _VEC_CACHE_MAX:
            _sentence_vec_cache.clear()
        for i, v in zip(missing, vecs, strict=True):
            _sentence_vec_cache[keys[i]] = np.asarray(v, dtype=np.float32)
    if not cands:
        return np.zeros(0)
    return np.stack([_sentence_vec_cache[k] for k in keys]) @ qvec


@functools.lru_cache(maxsize=4096)
def _canon_cached(text: str) -> str:
    return canonical_terms(text)


def _shortlist(q: Query, cands: list[Candidate], local: list[float], size: int) -> list[int]:
    """Indexes of the `size` candidates that cover most of the question (then best passage)."""
    keyed = []
    for i, c in enumerate(cands):
        words = frozenset(c.record.words)
        keyed.append((-coverage(q, local, c.record.canon, words), c.hit_rank, i))
    return [i for _, _, i in sorted(keyed)[:size]]


def extract(
    q: Query, cands: list[Candidate], qvec: np.ndarray, embedder: object, dense_shortlist: int
) -> None:
    """Fill each candidate's feature vector `x` (in FEATURES order). Dense similarity is computed
    for the `dense_shortlist` lexically best candidates; the others get the shortlist's least."""
    if not cands:
        return
    weights = list(q.weights) or [1.0] * len(q.terms)
    n_s = len(cands)
    local = [
        w * math.log(1.0 + n_s / (1.0 + sum(1 for c in cands if t in c.record.canon)))
        for t, w in zip(q.terms, weights, strict=True)
    ]
    own = [w if t not in q.carried else 0.0 for t, w in zip(q.terms, weights, strict=True)]
    short = _shortlist(q, cands, local, dense_shortlist)
    dense_short = _dense(embedder, [cands[i] for i in short], qvec)
    dense = np.full(n_s, float(dense_short.min()) if len(short) else 0.0)
    dense[short] = dense_short
    order = np.argsort(-dense)
    dense_rank = np.empty(n_s)
    dense_rank[order] = np.arange(n_s)
    top_score = max((c.hit.score for c in cands), default=1.0) or 1.0
    top_bm25 = max((c.hit.scores.get("bm25", 0.0) for c in cands), default=0.0) or 1.0
    q_simpl = q.simplified
    rows: list[list[float]] = []
    by_article: dict[str, list[SentenceRecord]] = {}
    art_words: dict[str, frozenset[str]] = {}
    for c in cands:
        recs = by_article.get(c.hit.article_id)
        if recs is None:
            recs = by_article[c.hit.article_id] = list(article_sentences(c.hit.article_id, c.article_text))
            art_words[c.hit.article_id] = frozenset(w for x in recs for w in x.words)
        r = c.record
        words = frozenset(r.words)
        ctx = _canon_cached(f"{c.hit.title}\n{c.hit.text}")
        ctx_words = art_words[c.hit.article_id]
        cov = coverage(q, weights, r.canon, words)
        cov_local = coverage(q, local, r.canon, words)
        ctx_cov = coverage(q, weights, ctx, ctx_words | words)
        own_cov = coverage(q, own, ctx, ctx_words | words) if q.carried else 1.0
        win = "".join(x.canon for x in recs[max(0, r.position - 1) : r.position + 2])
        win_cov = coverage(q, weights, win, words)
        matched = sum(1 for t in q.terms if _found(t, r.canon, words)) / max(1, len(q.terms))
        prox, novelty = _proximity(q, r.canon, words)
        new = {f: 0 for f in ("nr", "ns", "nt", "m", "t")}
        for a, b, flag in r.entities:
            if to_simplified(c.text[a - r.start : b - r.start]) not in q_simpl:
                new[flag] += 1
        kind = q.kind
        type_match = {
            "person": float(new["nr"] > 0),
            "place": float(new["ns"] > 0),
            "number": float(new["m"] > 0),
            "date": float(new["t"] > 0 or bool(r.years)),
            "list": min(1.0, (new["nr"] / 3) if q.list_of_people else r.n_enum / 2),
            "other": 0.0,
        }[kind]
        if q.years:
            year_agree = 1.0 if set(r.years) & set(q.years) else (-1.0 if r.years else 0.0)
        else:
            year_agree = 0.0
        num_agree = sum(1 for n in q.numbers if n in r.canon) / len(q.numbers) if q.numbers else 0.0
        length = len(c.text)
        x = [
            cov,
            cov_local,
            ctx_cov,
            win_cov,
            matched,
            prox,
            novelty,
            float(dense[len(rows)]),
            0.0,  # dense_gap, below
            float(dense_rank[len(rows)]) / n_s,
            0.0,  # cov_gap, below
            *(float(kind == k) for k in KINDS),
            float(q.list_of_people),
            float(new["nr"]),
            float(new["ns"]),
            float(new["nt"]),
            float(new["m"]),
            float(new["t"]),
            type_match,
            float(r.n_enum),
            float(bool(q.years)),
            year_agree,
            num_agree,
            math.log1p(r.position),
            float(r.position == 0),
            float(c.hit_rank),
            c.hit.score / top_score,
            c.hit.scores.get("bm25", 0.0) / top_bm25,
            c.hit.scores.get("dense", 0.0),
            math.log1p(length),
            float(r.closed),
            float(r.teaser),
            float(r.question),
            float(not r.closed and length < 30),
            float(len(q.terms)),
            float(q.script == "en"),
        ]
        c.own_cov = own_cov
        rows.append(x)
    dmax = float(dense.max())
    cmax = max(row[IDX["cov_local"]] for row in rows)
    for c, row in zip(cands, rows, strict=True):
        row[IDX["dense_gap"]] = row[IDX["dense"]] - dmax
        row[IDX["cov_gap"]] = row[IDX["cov_local"]] - cmax
        c.x = row
