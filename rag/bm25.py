"""The BM25 leg: Chinese tokens and an incrementally updated inverted index.

Tokens: jieba (search mode) on the canonical text of `rag.normalize`, stop words and
punctuation dropped, plus a bigram for every pair of adjacent single characters that
jieba left alone, so rare names that jieba splits (`凌` `晴`) still match as `凌晴`.

The postings are a term x chunk sparse matrix in two parts: a large `main` part and a
small `delta` part that takes new chunks; the delta is merged into main when it grows
past a fraction of main. Deletes clear a chunk's `alive` flag and update document
frequencies. Nothing is rebuilt per query.
"""

from __future__ import annotations

import itertools
import logging
import math
import re
import threading
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np
import scipy.sparse as sp

from rag.normalize import canonical_terms, expand_query

logger = logging.getLogger(__name__)

_jieba_lock = threading.Lock()
_jieba_ready = False


def segmenter():  # type: ignore[no-untyped-def]
    global _jieba_ready
    import jieba

    if not _jieba_ready:
        with _jieba_lock:
            if not _jieba_ready:
                jieba.setLogLevel(logging.WARNING)
                jieba.initialize()
                _jieba_ready = True
    return jieba


STOPWORDS = frozenset(
    """的 了 是 在 和 与 及 或 等 也 都 就 而 之 其 为 以 于 对 把 被 让 将 并 从 到 向 由 着 过 又 还 所 则 即
    吗 呢 吧 啊 呀 嘛 么 什么 哪些 哪个 哪里 哪儿 哪 谁 多少 几 如何 怎么 怎样 为什么 为何 何时 何地 何 是否 是不是
    有没有 请问 一下 这 那 这个 那个 这些 那些 此 该 他 她 它 他们 她们 它们 我们 你们 我 你 个 上 下 中 有 没有
    the a an of to in on at for and or is are was were be been by with as from that this which who what
    when where how why whom whose did do does has have had it its into than then there these those""".split()
)
_TOKEN_OK = re.compile(r"[\w\u3400-\u9fff]", re.UNICODE)
_SINGLE_CJK = re.compile(r"^[\u3400-\u9fff]$")


# Whole meeting names (13届8次全会, 19届5中全会, 第13次党代会) kept as one extra token each,
# so a question naming the meeting prefers it over a sibling meeting of the same body.
_MEETING_RE = re.compile(r"\d+届\d+[次中]全会|第\d+次党代会|\d+届人大\d+次会议|\d+届政协\d+次会议")


# Single characters that are function words: a bigram with one of them is glue, not a name.
FUNCTION_CHARS = frozenset(
    "的了是在和与及或等也都就而之其为以于对把被让将并从到向由着过又还所则即吗呢吧啊会能要去最很更已给看说有这那个不地得上下中里后前时"
)


def _tokens_of(canonical: str, *, strict_bigrams: bool = False) -> list[str]:
    jieba = segmenter()
    words = [w for w in jieba.lcut_for_search(canonical) if w.strip() and _TOKEN_OK.search(w)]
    out: list[str] = []
    run: list[str] = []

    def flush() -> None:
        out.extend(
            a + b
            for a, b in itertools.pairwise(run)
            if not strict_bigrams or (a not in FUNCTION_CHARS and b not in FUNCTION_CHARS)
        )
        run.clear()

    for w in words:
        if _SINGLE_CJK.match(w):
            run.append(w)
        else:
            flush()
        if w not in STOPWORDS:
            out.append(w)
    flush()
    out.extend(_MEETING_RE.findall(canonical))
    return out


def tokenize(text: str) -> list[str]:
    """Tokens of a document text."""
    return _tokens_of(canonical_terms(text))


# Question words never occur in the answer; cut them out before segmenting so they do not
# glue onto their neighbours (jieba reads 胡衡华是哪年 as 胡衡 / 华是 / 哪年).
INTERROGATIVES = re.compile(
    r"是?(?:为什么|为何|什么样|什么|哪一年|哪一天|哪年|哪天|哪些|哪个|哪位|哪里|哪儿|哪|谁|多少|"
    r"几个|几位|几项|几名|几年|几次|几条|几|如何|怎么样|怎样|怎么|何时|何地|何处)|是否|有没有|请问|吗|呢"
)
_EN_ORDINAL = re.compile(r"\b(\d+)(?:st|nd|rd|th)\b")


def strip_interrogatives(query: str) -> str:
    return INTERROGATIVES.sub(" ", _EN_ORDINAL.sub(r"\1", query))


def tokenize_query(query: str) -> list[str]:
    """Tokens of a query (question words removed, query-only expansions added)."""
    return _tokens_of(strip_interrogatives(expand_query(query)))


def query_terms(query: str) -> list[str]:
    """The question's content terms, for judging how much of it a passage covers: like
    `tokenize_query`, without stop words and without bigrams glued from function characters."""
    out: list[str] = []
    for t in _tokens_of(strip_interrogatives(expand_query(query)), strict_bigrams=True):
        if t not in STOPWORDS and t not in out and not (len(t) == 1 and t in FUNCTION_CHARS):
            out.append(t)
    return out


class Vocabulary:
    """term <-> id; ids are dense and never reused."""

    def __init__(self, terms: Iterable[str] = ()) -> None:
        self.terms: list[str] = []
        self.ids: dict[str, int] = {}
        for t in terms:
            self.add(t)

    def add(self, term: str) -> int:
        i = self.ids.get(term)
        if i is None:
            i = len(self.terms)
            self.ids[term] = i
            self.terms.append(term)
        return i

    def __len__(self) -> int:
        return len(self.terms)


def term_counts(tokens: Sequence[str], vocab: Vocabulary) -> tuple[np.ndarray, np.ndarray]:
    """(term ids, counts) of a token list, adding new terms to the vocabulary."""
    c = Counter(tokens)
    ids = np.fromiter((vocab.add(t) for t in c), dtype=np.int32, count=len(c))
    counts = np.fromiter(c.values(), dtype=np.float32, count=len(c))
    return ids, counts


class BM25Postings:
    """BM25 (Lucene variant idf, k1/b) over chunk positions 0..n-1."""

    def __init__(self, k1: float = 1.2, b: float = 0.75, merge_fraction: float = 0.1) -> None:
        self.k1 = k1
        self.b = b
        self.merge_fraction = merge_fraction
        self.n = 0  # positions, alive or not
        self._main = sp.csr_matrix((0, 0), dtype=np.float32)  # terms x positions
        self._main_cols = 0
        self._delta_rows: list[np.ndarray] = []
        self._delta_cols: list[np.ndarray] = []
        self._delta_vals: list[np.ndarray] = []
        self._delta = sp.csr_matrix((0, 0), dtype=np.float32)
        self.doc_len = np.zeros(0, dtype=np.float32)
        self.alive = np.zeros(0, dtype=bool)
        self.df = np.zeros(0, dtype=np.int64)
        self.n_alive = 0
        self.total_len = 0.0
        self._n_terms = 0

    # ------------------------------------------------------------ building
    def add(self, docs: Sequence[tuple[np.ndarray, np.ndarray]], n_terms: int) -> None:
        """Append documents (term ids, counts) at positions n, n+1, ..."""
        self._n_terms = max(self._n_terms, n_terms)
        if self.df.shape[0] < self._n_terms:
            self.df = np.concatenate([self.df, np.zeros(self._n_terms - self.df.shape[0], dtype=np.int64)])
        lens = np.zeros(len(docs), dtype=np.float32)
        for i, (ids, counts) in enumerate(docs):
            pos = self.n + i
            self._delta_rows.append(ids)
            self._delta_cols.append(np.full(ids.shape[0], pos, dtype=np.int32))
            self._delta_vals.append(counts)
            lens[i] = float(counts.sum())
            self.df[ids] += 1
        self.doc_len = np.concatenate([self.doc_len, lens])
        self.alive = np.concatenate([self.alive, np.ones(len(docs), dtype=bool)])
        self.n += len(docs)
        self.n_alive += len(docs)
        self.total_len += float(lens.sum())
        self._rebuild_delta()

    def _rebuild_delta(self) -> None:
        if not self._delta_rows:
            self._delta = sp.csr_matrix((self._n_terms, 0), dtype=np.float32)
            return
        rows = np.concatenate(self._delta_rows)
        cols = np.concatenate(self._delta_cols) - self._main_cols
        vals = np.concatenate(self._delta_vals)
        width = self.n - self._main_cols
        self._delta = sp.csr_matrix((vals, (rows, cols)), shape=(self._n_terms, width), dtype=np.float32)
        if self._delta.nnz > max(50_000, self.merge_fraction * self._main.nnz):
            self.merge()

    def merge(self) -> None:
        """Fold the delta into main (cost proportional to the postings' size)."""
        main = self._main
        if main.shape[0] < self._n_terms:
            main = sp.vstack(
                [main, sp.csr_matrix((self._n_terms - main.shape[0], main.shape[1]), dtype=np.float32)]
            ).tocsr()
        self._main = sp.hstack([main, self._delta], format="csr", dtype=np.float32)
        self._main_cols = self.n
        self._delta_rows, self._delta_cols, self._delta_vals = [], [], []
        self._delta = sp.csr_matrix((self._n_terms, 0), dtype=np.float32)

    def delete(self, items: Iterable[tuple[int, np.ndarray]]) -> None:
        """Mark positions dead; `items` are (position, that document's term ids)."""
        for pos, term_ids in items:
            if not self.alive[pos]:
                continue
            self.alive[pos] = False
            self.n_alive -= 1
            self.total_len -= float(self.doc_len[pos])
            self.df[term_ids] -= 1

    # ------------------------------------------------------------ scoring
    def idf(self, term_ids: np.ndarray) -> np.ndarray:
        df = self.df[term_ids].astype(np.float64)
        n = float(self.n_alive)
        return np.log(1.0 + (n - df + 0.5) / (df + 0.5))

    def scores(self, term_ids: Sequence[int]) -> np.ndarray:
        """BM25 score of every position for a bag of query term ids (dead positions score 0)."""
        out = np.zeros(self.n, dtype=np.float32)
        ids = np.array(sorted({t for t in term_ids if 0 <= t < self._n_terms}), dtype=np.int64)
        if ids.size == 0 or self.n_alive == 0:
            return out
        avgdl = self.total_len / max(1, self.n_alive)
        norm = self.k1 * (1.0 - self.b + self.b * self.doc_len / max(avgdl, 1e-9))
        idf = self.idf(ids)
        for term, w in zip(ids, idf, strict=True):
            for part, offset in ((self._main, 0), (self._delta, self._main_cols)):
                if term >= part.shape[0]:
                    continue
                lo, hi = part.indptr[term], part.indptr[term + 1]
                if lo == hi:
                    continue
                cols = part.indices[lo:hi] + offset
                tf = part.data[lo:hi]
                out[cols] += (w * tf * (self.k1 + 1.0) / (tf + norm[cols])).astype(np.float32)
        out[~self.alive] = 0.0
        return out

    def idf_of(self, term_id: int) -> float:
        if term_id < 0 or term_id >= self._n_terms:
            n = float(self.n_alive)
            return math.log(1.0 + (n + 0.5) / 0.5)
        return float(self.idf(np.array([term_id]))[0])
