"""Hybrid retrieval: BM25 and dense legs, fused, merged and de-duplicated.

Fusion is a weighted sum of each leg's scores scaled to [0, 1] over the candidate pool
(`bm25 / max bm25`, `(cos - min cos) / (max cos - min cos)`). Plain reciprocal-rank
fusion throws away how far ahead the BM25 leg's best candidate is, which is what makes
it strong on Chinese text. Every number that decides retrieval (the fusion weights, how many
candidates each leg gives, when a passage is a reprint of another; BM25's k1 and b, which the
lexical index reads) comes from the retrieval policy (rag.retrieval_policy), written by
`bench/retrieval.py --fit` (the BM25 weight fitted on the dev sets, each set held apart, see
README "Retrieval"). When the BM25 leg matches nothing (an English question over Chinese
articles) the dense leg decides alone.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from rag.bm25 import tokenize_query
from rag.errors import InputError
from rag.index import Index, SentenceRows, Snapshot
from rag.index.vectors import top_k
from rag.normalize import detect_script, simplified_question, to_simplified, to_traditional
from rag.records import Filters, Hit
from rag.retrieval_policy import retrieval_policy

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class Candidate:
    pos: int
    bm25: float
    dense: float
    score: float = 0.0


def query_term_ids(state: Snapshot, query: str) -> list[int]:
    return state.term_ids(tokenize_query(query))


SHINGLE = 4  # characters


def _shingles(text: str) -> set[int | str]:
    """The text's 4-character shingles (Simplified, whitespace removed; a shorter text is its
    own). A shingle of Basic Multilingual Plane characters is kept as one integer, its four
    16-bit code points side by side (built in numpy: a set of string slices was most of
    de-duplicating), any other as its string, so two shingles are equal exactly when their
    keys are."""
    t = "".join(to_simplified(text).split())
    if len(t) < SHINGLE:
        return {t}
    cp = np.frombuffer(t.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    k = len(t) - SHINGLE + 1
    keys = (cp[:k] << 48) | (cp[1 : k + 1] << 32) | (cp[2 : k + 2] << 16) | cp[3 : k + 3]
    wide = cp > 0xFFFF
    if not wide.any():
        return set(keys.tolist())
    # windows holding a character beyond 16 bits: their string stands for them
    hit = np.convolve(wide.astype(np.int64), np.ones(SHINGLE, dtype=np.int64), mode="valid") > 0
    out: set[int | str] = set(keys[~hit].tolist())
    out.update(t[i : i + SHINGLE] for i in np.flatnonzero(hit).tolist())
    return out


def _jaccard(a: set[int | str], b: set[int | str]) -> float:
    inter = len(a & b)
    return inter / max(1, len(a) + len(b) - inter)


def _near_duplicate(sh: set[int | str], seen: Sequence[set[int | str]]) -> bool:
    """Whether `sh` has a Jaccard similarity of at least the policy's `duplicate_jaccard` with any
    of `seen`.
    Jaccard is at most the ratio of the smaller set's size to the larger's, so pairs whose
    sizes differ by more than that are skipped without intersecting them."""
    least = retrieval_policy().duplicate_jaccard
    n = len(sh)
    for o in seen:
        m = len(o)
        if min(n, m) < least * max(n, m):
            continue
        if _jaccard(sh, o) >= least:
            return True
    return False


def fuse(cands: list[Candidate], bm25_weight: float | None = None, dense_weight: float | None = None) -> None:
    """Set each candidate's fused score (the policy's weights unless others are given)."""
    if not cands:
        return
    policy = retrieval_policy()
    bm25_weight = policy.bm25_weight if bm25_weight is None else bm25_weight
    dense_weight = policy.dense_weight if dense_weight is None else dense_weight
    b = np.array([c.bm25 for c in cands])
    d = np.array([c.dense for c in cands])
    bmax = float(b.max())
    bn = b / bmax if bmax > 0 else np.zeros_like(b)
    dspan = float(d.max() - d.min())
    dn = (d - d.min()) / dspan if dspan > 1e-9 else np.ones_like(d)
    if bmax <= 0:  # nothing matched lexically: the dense leg decides
        scores = dn
    else:
        scores = bm25_weight * bn + dense_weight * dn
    for c, s in zip(cands, scores, strict=True):
        c.score = float(s)


def candidates(
    index: Index,
    state: Snapshot,
    query: str,
    *,
    filters: Filters | None = None,
    k: int | None = None,
    query_vec: np.ndarray | None = None,
    tokens: Sequence[str] | None = None,
) -> list[Candidate]:
    """Union of both legs' top-k candidates (k: the policy's `candidates` unless given), each
    with both scores, fused, best first. `tokens` and `query_vec`: the query's BM25 tokens and
    vector when the caller has them."""
    if k is None:
        k = retrieval_policy().candidates
    mask = state.allowed_mask(filters)
    ids = state.term_ids(list(tokens)) if tokens is not None else query_term_ids(state, query)
    bm = state.bm25_scores(ids)
    if mask is not None:
        bm = np.where(mask, bm, 0.0)
    bm_top, _ = top_k(bm, k)
    bm_top = bm_top[bm[bm_top] > 0]
    if query_vec is None:
        query_vec = query_vector(index, query)
    d_pos, _ = state.dense_search(query_vec, k, mask)
    pool = np.unique(np.concatenate([bm_top, d_pos])).astype(np.int64)
    if pool.size == 0:
        return []
    dense = state.dense_scores(query_vec, pool)
    cands = [Candidate(int(p), float(bm[p]), float(s)) for p, s in zip(pool, dense, strict=True)]
    fuse(cands)
    cands.sort(key=lambda c: -c.score)
    return cands


PassageSpan = tuple[Candidate, int, int, int]  # candidate, article rowid, start, end


def _add_span(spans: list[PassageSpan], new: PassageSpan) -> None:
    """Add `new` to `spans` (pairwise apart, best first), merging it with every span of the same
    article that it overlaps or touches. The earliest of those (the best-scored candidate) stands
    for the merged span, in its place. The spans already there neither overlap nor touch one
    another, so the union of `new` with the spans it touches touches no other: one pass is enough."""
    _, art, s, e = new
    touching = [i for i, (_, pa, ps, pe) in enumerate(spans) if pa == art and s <= pe and e >= ps]
    if not touching:
        spans.append(new)
        return
    first = touching[0]
    lo = min(s, *(spans[i][2] for i in touching))
    hi = max(e, *(spans[i][3] for i in touching))
    spans[first] = (spans[first][0], art, lo, hi)
    for i in reversed(touching[1:]):
        del spans[i]


def to_hits(state: Snapshot, cands: Sequence[Candidate], top_k: int) -> list[Hit]:
    """Hits for the best candidates: overlapping chunks of one article merged, near-duplicate
    reprints of a story kept once."""
    return hits_with_texts(state, cands, top_k)[0]


def hits_with_texts(
    state: Snapshot, cands: Sequence[Candidate], top_k: int
) -> tuple[list[Hit], dict[str, str], dict[str, int]]:
    """`to_hits`, the stored text of each hit's article (by article id), read once, and the
    article's rowid (the stored version the offsets refer to)."""
    picked: list[PassageSpan] = []
    for c in cands:
        _add_span(
            picked, (c, int(state.article_rowids[c.pos]), int(state.starts[c.pos]), int(state.ends[c.pos]))
        )
        if len(picked) >= top_k * 3:
            break
    rowids = [a for _, a, _, _ in picked]
    metas = state.metas(rowids)
    texts = state.texts(rowids)
    hits: list[Hit] = []
    hit_texts: dict[str, str] = {}
    hit_rowids: dict[str, int] = {}
    seen: list[set[int | str]] = []
    for c, art, s, e in picked:
        meta = metas.get(art)
        text = texts.get(art)
        if meta is None or text is None:
            continue  # deleted while we looked
        passage = text[s:e]
        sh = _shingles(passage)
        if _near_duplicate(sh, seen):
            continue  # a reprint of a passage already listed
        seen.append(sh)
        hits.append(
            Hit(
                chunk_id=f"{meta.id}#c{int(state.chunk_n[c.pos])}",
                article_id=meta.id,
                title=meta.title,
                text=passage,
                start=s,
                end=e,
                score=round(c.score, 6),
                scores={"dense": round(c.dense, 6), "bm25": round(c.bm25, 6)},
                source=meta.source,
                published=meta.published,
                parent_id=meta.parent_id,
            )
        )
        hit_texts[meta.id] = text
        hit_rowids[meta.id] = art
        if len(hits) >= top_k:
            break
    return hits, hit_texts, hit_rowids


def validate_top_k(top_k: int, limit: int | None = None) -> None:
    """`top_k` must be a positive integer, at most `limit` when one is given. The library sets
    no upper limit of its own: the edges (CLI, API, web chat) pass `ZHIWEN_MAX_TOP_K`."""
    if isinstance(top_k, bool) or not isinstance(top_k, int):
        raise InputError(f"top_k must be a whole number, got {top_k!r}")
    if top_k < 1 or (limit is not None and top_k > limit):
        bound = f"1..{limit}" if limit is not None else "at least 1"
        raise InputError(f"top_k of {top_k} is outside {bound}; set top_k {bound}")


@dataclass(slots=True)
class Retrieved:
    """Passages for a question, the stored texts of their articles and the query vector."""

    hits: list[Hit]
    texts: dict[str, str]  # article id -> stored text (every hit's article)
    query_vec: np.ndarray  # the question's Simplified form embedded (`query_vector`)
    # article id -> the article's sentences as stored at index time: offsets into the text
    # and float16 vectors (no embedding at query time)
    sentences: dict[str, SentenceRows] = field(default_factory=dict)


def query_vector(index: Index, query: str) -> np.ndarray:
    """The query embedded in its Simplified form, which the dense leg searches with (searching
    with the greater of its cosine and that of a Traditional question as written moved a seed
    question's answer, over Simplified articles, to another article)."""
    return index.embedder.encode_queries([simplified_question(query)])[0]


def written_form(query: str) -> str:
    """The question in Traditional, where that differs from its Simplified form (else ""): a
    Traditional question as written, a Simplified one converted (OpenCC s2tw). The embedder
    places a text nearer one in its own script (a DRCD question's gold sentence, Traditional,
    is at cosine 0.55 from the question as written, 0.45 from its Simplified form), so the
    answer stage compares a Traditional passage's sentences with this form
    (`rag.answer.features.dense_features`), embedded only when such a passage is retrieved:
    a question is read in the script of the sentences it is weighed against, whichever script
    it was asked in."""
    script = detect_script(query)
    if script == "zh-Hant":
        return "" if simplified_question(query) == query else query
    if script == "zh-Hans":
        traditional = to_traditional(query)
        return "" if traditional == query else traditional
    return ""


def retrieve(
    index: Index,
    query: str,
    *,
    top_k: int = 10,
    filters: Filters | None = None,
    prefer: Sequence[str] = (),
    prefer_bonus: float = 0.0,
    query_vec: np.ndarray | None = None,
    tokens: Sequence[str] | None = None,
) -> Retrieved:
    """The `top_k` best passages with their articles' texts, read from one consistent view.

    Candidates from the articles in `prefer` get `prefer_bonus` added to their fused score
    (a follow-up question prefers what the previous answer cited)."""
    with index.reading() as state:
        if query_vec is None:
            query_vec = query_vector(index, query)
        cands = candidates(index, state, query, filters=filters, query_vec=query_vec, tokens=tokens)
        if prefer and prefer_bonus:
            preferred = set(state.rowids_of(prefer).values())
            for c in cands:
                if int(state.article_rowids[c.pos]) in preferred:
                    c.score += prefer_bonus
            cands.sort(key=lambda c: -c.score)
        hits, texts, rowids = hits_with_texts(state, cands, top_k)
        stored = state.articles_sentences(rowids.values())
        sentences = {aid: stored[rowid] for aid, rowid in rowids.items()}
    return Retrieved(hits, texts, query_vec, sentences)


def term_idf(index: Index, terms: Sequence[str]) -> list[float]:
    """BM25 inverse document frequency of each term over the indexed chunks (an unknown
    term gets the highest)."""
    state = index.snapshot()
    return [float(x) for x in state.idf(state.term_ids(list(terms)))]


def search(index: Index, query: str, *, top_k: int = 10, filters: Filters | None = None) -> list[Hit]:
    """The `top_k` passages best matching `query`."""
    if not query or not query.strip():
        raise InputError("the query is empty; type some words to search for")
    validate_top_k(top_k)
    with index.reading() as state:
        cands = candidates(index, state, query.strip(), filters=filters)
        return to_hits(state, cands, top_k)
