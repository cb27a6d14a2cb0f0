"""Per-sentence analysis of an article: everything the answer stage reads about a sentence.

`analyse_article(text)` is pure (the same text gives the same records) and returns plain,
storable records, so the index can compute them once at index time and store them (SQLite
columns or JSON); until it does, `article_sentences` computes them at query time behind a
small LRU cache keyed by (article id, text hash).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
import threading
from dataclasses import dataclass

from rag.answer.query import years_in
from rag.chunk import split_long, split_sentences
from rag.normalize import canonical_terms, simplify_with_map

logger = logging.getLogger(__name__)

MAX_SENTENCE_CHARS = 200  # longer sentences are cut at clause marks (a quote must stay readable)
SCHEMA_VERSION = 1

_lock = threading.Lock()
_ready = False


def jieba_posseg():  # type: ignore[no-untyped-def]
    """jieba's part-of-speech tagger, initialised once (quietly)."""
    global _ready
    import jieba
    import jieba.posseg as pseg

    if not _ready:
        with _lock:
            if not _ready:
                jieba.setLogLevel(logging.WARNING)
                jieba.initialize()
                _ready = True
    return pseg


def jieba_words(text: str) -> list[str]:
    jieba_posseg()
    import jieba

    return list(jieba.lcut(text))


ENTITY_FLAGS = ("nr", "ns", "nt", "m", "t")
_COUNTER = "个条人名项位年岁家所座件批种倍元份次届期代任号天月日周米吨度分秒亩户架辆艘场首篇部本张台颗只棵层间门枚节集卷册季局株头匹座"
_NUM_SPAN = re.compile(
    rf"(?:约|近|超过|逾|共|第)?(?:\d+(?:[.,]\d+)*|[零〇一二两三四五六七八九十百千]+(?=[万亿{_COUNTER}]))"
    rf"(?:[多余])?(?:[万亿])?(?:[%‰]|(?:美元|港元|公里|千米|平方公里|公顷|小时|分钟|世纪)|[{_COUNTER}])?"
)
_DATE_SPAN = re.compile(
    r"(?:\d{1,4}|[〇○零一二三四五六七八九]{2,4})年(?:\d{1,2}月(?:\d{1,2}[日号])?)?(?:代)?"
    r"|\d{1,2}月\d{1,2}[日号]|\d{1,2}月(?:份)?|[一二三四五六七八九十]{1,3}世纪"
)
_CLOSED = re.compile(r"[。！？!?；;」』”）)]$")


@dataclass(frozen=True, slots=True)
class SentenceRecord:
    """One sentence of an article (plain types only, so it can be stored as columns/JSON)."""

    start: int  # [start, end) into the stored article text
    end: int
    position: int  # sentence number in the article, from 0
    canon: str  # rag.normalize.canonical_terms of the sentence text
    words: tuple[str, ...]  # jieba words (Simplified, lower-case) of the sentence
    entities: tuple[tuple[int, int, str], ...]  # (start, end, flag) into the article text; flags ENTITY_FLAGS
    years: tuple[int, ...]  # years named
    n_enum: int  # enumeration commas (、)
    closed: bool  # ends with a sentence mark or a closing quote/bracket
    teaser: bool  # holds an ellipsis (a teaser or a cut quote)
    question: bool  # ends with a question mark


def _spans_of(simp: str, mapping: list[int]) -> tuple[list[tuple[int, int, str]], list[tuple[int, str]]]:
    """Entity spans (article offsets) and (article offset, word) tokens of the whole text."""
    spans: list[tuple[int, int, str]] = []
    taken: list[tuple[int, int]] = []

    def add(a: int, b: int, flag: str) -> None:
        if b <= a or any(x < b and a < y for x, y in taken):
            return
        taken.append((a, b))
        spans.append((mapping[a], mapping[b - 1] + 1, flag))

    for m in _DATE_SPAN.finditer(simp):
        add(m.start(), m.end(), "t")
    for m in _NUM_SPAN.finditer(simp):
        add(m.start(), m.end(), "m")
    tokens: list[tuple[int, str]] = []
    pos = 0
    for w in jieba_posseg().lcut(simp):
        flag = str(w.flag)
        n = len(w.word)
        if n >= 2:
            for f in ("nr", "ns", "nt", "t"):
                if flag.startswith(f):
                    add(pos, pos + n, f)
                    break
        if w.word.strip():
            tokens.append((mapping[pos], w.word.lower()))
        pos += n
    spans.sort()
    return spans, tokens


def analyse_article(text: str) -> list[SentenceRecord]:
    """The sentences of an article's stored text, with what the answer stage reads of each."""
    simp, mapping = simplify_with_map(text)
    spans, tokens = _spans_of(simp, mapping)
    out: list[SentenceRecord] = []
    for a, b in split_sentences(text):
        for s, e in split_long(text, a, b, MAX_SENTENCE_CHARS):
            sent = text[s:e]
            out.append(
                SentenceRecord(
                    start=s,
                    end=e,
                    position=len(out),
                    canon=canonical_terms(sent),
                    words=tuple(w for p, w in tokens if s <= p < e),
                    entities=tuple(x for x in spans if s <= x[0] and x[1] <= e),
                    years=years_in(sent),
                    n_enum=sent.count("、"),
                    closed=bool(_CLOSED.search(sent)),
                    teaser="…" in sent or "..." in sent,
                    question=sent.endswith(("？", "?")),
                )
            )
    return out


def text_hash(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=12).hexdigest()


@functools.lru_cache(maxsize=512)
def _cached(article_id: str, digest: str, text: str) -> tuple[SentenceRecord, ...]:
    return tuple(analyse_article(text))


def article_sentences(article_id: str, text: str) -> tuple[SentenceRecord, ...]:
    """`analyse_article(text)`, cached by (article id, text hash)."""
    return _cached(article_id, text_hash(text), text)
