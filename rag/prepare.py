"""Index-time work on one article, done outside any lock: split, tokenise, embed.

The embedder sees each sentence once (and the article's title line once), never the
overlapping chunks: a chunk's vector is the normalised mean of its sentences' vectors and
the title line's. Embedding short sentences is several times cheaper than embedding
chunks with USE, chunk overlap is not paid twice, and the answer stage gets a stored
vector for every sentence instead of embedding candidates at query time (see README,
"Sentence vectors").

The same functions serve a local `zhiwen index` run and a distributed one (Ray), so both
give identical chunks and tokens, and vectors equal within float tolerance. The result is
a `PreparedArticle`; the index writer only assigns term ids and commits it.
"""

from __future__ import annotations

import bisect
import queue
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from rag.bm25 import tokenize
from rag.chunk import (
    DEFAULT_OVERLAP,
    DEFAULT_TARGET,
    MAX_SENTENCE_CHARS,
    context_header,
    pack_units,
    sentence_units,
)
from rag.embed import Embedder
from rag.records import Article
from rag.sentence_words import SentenceWords, analyse_many

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ChunkPlan:
    """An article's sentences and chunks, and the texts to embed and tokenise for them."""

    article: Article
    spans: tuple[tuple[int, int], ...]  # chunks
    texts: tuple[str, ...]  # title line + chunk text, one per chunk: what BM25 indexes
    sentence_spans: tuple[tuple[int, int], ...]
    embed_texts: tuple[str, ...]  # the title line (if any), then every sentence
    has_header: bool


@dataclass(frozen=True, slots=True)
class PreparedArticle:
    """Everything the writer needs for one article: `vectors[i]` and `tokens[i]` belong to
    chunk `spans[i]`, `sentence_vectors[j]` to `sentence_spans[j]` (spans of `article.text`)."""

    article: Article
    spans: tuple[tuple[int, int], ...]
    vectors: np.ndarray  # (len(spans), dim) float32, L2-normalised
    tokens: tuple[tuple[str, ...], ...]
    sentence_spans: tuple[tuple[int, int], ...] = ()
    sentence_vectors: np.ndarray | None = None  # (len(sentence_spans), dim) float16, L2-normalised
    sentence_words: tuple[SentenceWords, ...] = ()  # one per sentence span (rag.sentence_words)
    title_words: SentenceWords | None = None


@dataclass(frozen=True, slots=True)
class PlanWords:
    """What segmenting a plan gives: each chunk's BM25 tokens, and the words stored with each
    sentence and with the title (`rag.sentence_words`)."""

    chunk_tokens: tuple[tuple[str, ...], ...]
    sentences: tuple[SentenceWords, ...]
    title: SentenceWords | None


def plan_chunks(
    article: Article, *, target: int = DEFAULT_TARGET, overlap: int = DEFAULT_OVERLAP
) -> ChunkPlan:
    """Split an article into sentences and chunks (no model needed: this part fans out freely)."""
    text = article.text
    units = sentence_units(text, min(target, MAX_SENTENCE_CHARS))
    spans = tuple(pack_units(units, target, overlap))
    header = context_header(article)
    texts = tuple(f"{header}\n{text[a:b]}" for a, b in spans)
    embed = ([header] if header else []) + [text[a:b] for a, b in units]
    return ChunkPlan(article, spans, texts, tuple(units), tuple(embed), bool(header))


def tokenize_plan(plan: ChunkPlan, *, words: bool = True) -> PlanWords:
    """Each chunk's BM25 tokens (its title line's and its sentences'), and (with `words`)
    each sentence's and the title's stored words. Chunks are whole sentences that overlap,
    and every token stops at a sentence's end, so each sentence (and the title line) is
    segmented once for all the chunks that hold it, and that one segmentation gives its
    tokens and its words. Without `words` (`zhiwen index --no-words`) only the tokens."""
    text = plan.article.text
    head = tokenize(plan.embed_texts[0]) if plan.has_header else []
    sentences = [text[a:b] for a, b in plan.sentence_spans]
    stored: tuple[SentenceWords, ...] = ()
    title: SentenceWords | None = None
    if words:
        got = analyse_many(sentences + ([plan.article.title] if plan.article.title else []))
        per_sentence = [tokens for _, tokens in got[: len(sentences)]]
        stored = tuple(w for w, _ in got[: len(sentences)])
        title = got[-1][0] if plan.article.title else None
    else:
        per_sentence = [tokenize(t) for t in sentences]
    return PlanWords(
        tuple(
            tuple(head + [t for tokens in per_sentence[lo:hi] for t in tokens])
            for lo, hi in sentences_of_chunks(plan)
        ),
        stored,
        title,
    )


def sentences_of_chunks(plan: ChunkPlan) -> list[tuple[int, int]]:
    """For each chunk, the range [lo, hi) of the plan's sentences it is made of."""
    starts = [a for a, _ in plan.sentence_spans]
    ends = [b for _, b in plan.sentence_spans]
    return [(bisect.bisect_left(starts, a), bisect.bisect_right(ends, b)) for a, b in plan.spans]


def _unit_normalise(v: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(v, axis=-1, keepdims=True)
    norms[norms == 0] = 1.0
    return (v / norms).astype(np.float32)


def finish(plan: ChunkPlan, vectors: np.ndarray, words: PlanWords) -> PreparedArticle:
    """Join a plan with the vectors of its `embed_texts` and its words (`tokenize_plan`):
    chunk vectors are derived from the sentence (and title line) vectors."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(plan.embed_texts), -1)
    tokens = words.chunk_tokens
    if len(tokens) != len(plan.spans) or len(words.sentences) not in (0, len(plan.sentence_spans)):
        raise ValueError(
            f"article {plan.article.id!r}: {len(tokens)} token lists for {len(plan.spans)} chunks, "
            f"{len(words.sentences)} sentence words for {len(plan.sentence_spans)} sentences"
        )
    head = vectors[:1] if plan.has_header else vectors[:0]
    sents = vectors[1:] if plan.has_header else vectors
    chunk_vecs = np.zeros((len(plan.spans), vectors.shape[1]), dtype=np.float32)
    for i, (lo, hi) in enumerate(sentences_of_chunks(plan)):
        chunk_vecs[i] = head.sum(axis=0) + sents[lo:hi].sum(axis=0)
    return PreparedArticle(
        plan.article,
        plan.spans,
        _unit_normalise(chunk_vecs),
        tuple(tuple(t) for t in tokens),
        plan.sentence_spans,
        sents.astype(np.float16),
        words.sentences,
        words.title,
    )


RECENT_TEXTS = 16_384  # texts whose vectors an index keeps for reuse: 32 MB at 512 dimensions


class RecentVectors:
    """The vectors of the texts embedded most recently, for one embedder.

    News repeats itself word for word: disclaimers, bylines, "return to the home page" lines,
    data-source notes. On 12,288 CRUD articles 7.7% of the characters to embed are texts seen
    before in the run; repeats inside a 128-article batch and texts among the last 16,384 make
    5.9%. A text found here is not embedded again: a vector depends only on its text (with USE
    exactly, batches do not change it, see `USEEmbedder.encode_documents`; with
    sentence-transformers up to float rounding, as a batch's padding already does). Safe to
    share between threads."""

    def __init__(self, capacity: int = RECENT_TEXTS) -> None:
        self.capacity = capacity
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.reused_chars = 0  # characters of the texts found here, for bench/indexing.py
        self.looked_up_chars = 0

    def __len__(self) -> int:
        return len(self._vectors)

    def partition(self, texts: Sequence[str]) -> tuple[dict[str, np.ndarray], list[str]]:
        """The vectors held for any of `texts` (each now the most recently used), and the
        distinct texts not held, in the order they first occur: what is left to embed."""
        known: dict[str, np.ndarray] = {}
        todo: list[str] = []
        with self._lock:
            for t in dict.fromkeys(texts):
                self.looked_up_chars += len(t)
                v = self._vectors.get(t)
                if v is None:
                    todo.append(t)
                    continue
                self._vectors.move_to_end(t)
                known[t] = v
                self.reused_chars += len(t)
        return known, todo

    def remember(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        """Keep `vectors[i]` for `texts[i]` (copies: a row must not keep its batch alive),
        forgetting the least recently used beyond the capacity."""
        if self.capacity <= 0:
            return
        with self._lock:
            for t, v in zip(texts, vectors, strict=True):
                self._vectors[t] = v.copy()
                self._vectors.move_to_end(t)
            while len(self._vectors) > self.capacity:
                self._vectors.popitem(last=False)


def embed_plans(
    plans: Sequence[ChunkPlan], embedder: Embedder, recent: RecentVectors | None = None
) -> list[np.ndarray]:
    """One embedder call for the texts of `plans`, split back per article. A text that
    occurs twice is embedded once, and not at all when `recent` holds its vector."""
    texts = [t for p in plans for t in p.embed_texts]
    if not texts:
        return [np.zeros((0, embedder.dim), np.float32) for _ in plans]
    known, todo = recent.partition(texts) if recent is not None else ({}, list(dict.fromkeys(texts)))
    fresh = embedder.encode_documents(todo) if todo else np.zeros((0, embedder.dim), np.float32)
    if recent is not None:
        recent.remember(todo, fresh)
    if len(todo) == len(texts):  # nothing repeated: the embedder's rows as they are
        vecs = fresh
    else:
        held = list(known)
        row = {t: i for i, t in enumerate(todo)}
        row.update({t: len(todo) + i for i, t in enumerate(held)})
        table = np.concatenate([fresh, np.stack([known[t] for t in held])]) if held else fresh
        vecs = table[[row[t] for t in texts]]
    out, i = [], 0
    for p in plans:
        out.append(vecs[i : i + len(p.embed_texts)])
        i += len(p.embed_texts)
    return out


def prepare_articles(
    articles: Sequence[Article],
    embedder: Embedder,
    *,
    target: int = DEFAULT_TARGET,
    overlap: int = DEFAULT_OVERLAP,
    recent: RecentVectors | None = None,
    words: bool = True,
) -> list[PreparedArticle]:
    """Split, tokenise and embed a batch of articles on this machine. The chunks are tokenised
    (and, with `words`, the sentences' words made: `tokenize_plan`) in a second thread while
    the embedder runs (its matrix products release the GIL); texts `recent` holds are not
    embedded again."""
    from concurrent.futures import ThreadPoolExecutor

    plans = [plan_chunks(a, target=target, overlap=overlap) for a in articles]
    with ThreadPoolExecutor(1, thread_name_prefix="tokenize") as pool:
        tokens = pool.submit(lambda: [tokenize_plan(p, words=words) for p in plans])
        vectors = embed_plans(plans, embedder, recent)
        toks = tokens.result()
    return [finish(p, v, t) for p, v, t in zip(plans, vectors, toks, strict=True)]


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


_END = object()


def ahead(items: Iterable[T]) -> Iterator[T]:
    """`items`, produced in a background thread one step ahead of the consumer: the next
    batch is prepared (split, tokenised, embedded) while the caller commits this one, so the
    core a commit leaves idle is used. An error while producing is raised here, at the item it
    stopped at; a consumer that stops early (an error in a commit) stops the thread after the
    item it is working on."""
    handoff: queue.Queue[object] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(_END)
        except BaseException as e:  # handed to the consumer, raised there
            put(_Failed(e))

    thread = threading.Thread(target=produce, name="prepare-ahead", daemon=True)
    thread.start()
    try:
        while True:
            item = handoff.get()
            if item is _END:
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item  # type: ignore[misc]
    finally:
        stop.set()
