"""Candidate sentences read from a retrieval result: the sentences stored at index time inside
each retrieved passage (offsets, vectors, words), each passage as their context (its title,
date and sentences, canonical), and the record every feature is then set on
(rag.answer.features) and a decision is read from (rag.answer.choose).
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from rag.chunk import split_long, split_sentences
from rag.index import SentenceRows
from rag.normalize import canonical_terms, canonical_texts
from rag.records import Hit
from rag.sentence_words import SentenceWords, all_stored, analyse, lone_in

logger = logging.getLogger(__name__)

ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


def written_date(hit: Hit) -> str:
    """The article's publication date written as in Chinese text (2019年9月25日), so that a
    question naming the date or year of the report finds it in the passage's context."""
    m = ISO_DATE.match(hit.published or "")
    return f"{m[1]}年{int(m[2])}月{int(m[3])}日" if m else ""


@dataclass(slots=True)
class Sentence:
    hit: Hit
    hit_rank: int
    start: int  # offsets into the stored article text
    end: int
    text: str
    canon: str
    vec: np.ndarray | None = None  # stored at index time (float16), None on an index without them
    words: SentenceWords | None = None  # stored at index time; see `words_of`
    passage: Passage | None = None  # the passage it was read from (shared by its sentences)
    cov: float = 0.0
    title_only: float = 0.0  # share of the terms found in the article's title, not in the sentence
    ctx_cov: float = 0.0
    own_cov: float = 1.0  # coverage of a follow-up's own terms (without the carried context)
    names_cov: float = 1.0  # share of the names the question asks about (Query.names) in the passage
    named_miss: float = 0.0  # 1 when its article lacks one of the question's proper words (Query.proper)
    retrieval: float = 0.0  # the passage's score over the best passage's
    dense: float = 0.0
    type_ok: float = 0.0
    score: float = 0.0
    rank: float = 0.0  # the sentence ranker's score (rag.answer.rank); -inf outside its shortlist


# The features a recording of candidates keeps (bench/fit_policy.py, the golden decisions):
# with the passage's rank, all a decision needs besides the sentence's place and text.
RECORDED_FEATURES = ("cov", "title_only", "ctx_cov", "own_cov", "retrieval", "dense", "type_ok", "named_miss")
# recorded since: a recording made before lacks them (replayed as 0; a fit that weighs one
# asks for a new recording, see bench/fit_policy.py)
LATER_FEATURES = ("named_miss",)


def recorded_sentence(
    article: str, rank: int, features: Mapping[str, float], text: str = "", start: int = 0
) -> Sentence:
    """A candidate rebuilt from recorded features (no index, no model), for replaying decisions."""
    hit = Hit(chunk_id=article, article_id=article, title="", text="", start=0, end=0, score=1.0)
    s = Sentence(hit, rank, start, start + len(text), text, canonical_terms(text))
    for f in RECORDED_FEATURES:
        setattr(s, f, features.get(f, 0.0) if f in LATER_FEATURES else features[f])
    return s


@dataclass(slots=True)
class Passage:
    """A retrieved passage as its sentences' context: the canonical text of its article's
    title, its publication date written out and its sentences (`canon`, which question terms
    are looked for in), and the characters standing as words of their own there."""

    hit: Hit
    title: SentenceWords | None  # stored at index time, else worked out when first needed
    sentences: list[tuple[str, SentenceWords | None]]  # its sentences' texts and stored words
    canon: str = ""
    _lone: frozenset[str] | None = None

    @property
    def complete(self) -> bool:
        """Whether every sentence's words (and the title's, when there is a title) are stored."""
        return all_stored((w for _, w in self.sentences), self.title, bool(self.hit.title))

    def title_words(self) -> SentenceWords:
        """The title's words (their word lengths checked: lone characters are what is read of
        them): stored, or worked out now (once)."""
        self.title = _checked(self.title, self.hit.title, f"{self.hit.article_id} (title)", tags=False)
        return self.title

    def title_canon(self) -> str:
        """The title's canonical text (stored, else converted now)."""
        return self.title.canon if self.title is not None else canonical_terms(self.hit.title)

    def lone_chars(self) -> frozenset[str]:
        if self._lone is None:
            found = set(self.title_words().lone_chars) | lone_in(written_date(self.hit))
            for text, words in self.sentences:
                found |= _checked(words, text, self.hit.article_id, tags=False).lone_chars
            self._lone = frozenset(found)
        return self._lone


def words_of(s: Sentence, *, tags: bool = True) -> SentenceWords:
    """The sentence's words: stored at index time, or (an index without them, a recording, or
    stored words that do not fit the text) computed now, once. Without `tags`, only the word
    lengths are checked (the tags are, when a caller asks with them)."""
    words = _checked(s.words, s.text, f"{s.hit.article_id} [{s.start}:{s.end}]", tags=tags)
    if words is not s.words:
        s.words, s.canon = words, words.canon
    return words


def _checked(stored: SentenceWords | None, text: str, where: str, *, tags: bool = True) -> SentenceWords:
    """`stored`, parsed (without `tags`: its word lengths only); else (none stored, or a damaged
    row, which `zhiwen upgrade` does not rewrite: said in a warning) the words of `text`
    computed now."""
    if stored is not None:
        try:
            return stored.check(tags=tags)
        except ValueError as exc:
            logger.warning("%s: %s; computed from the text instead", where, exc)
    return analyse(text)


def candidates(
    hits: Sequence[Hit], texts: dict[str, str], stored: dict[str, SentenceRows] | None, max_chars: int
) -> list[Sentence]:
    """The candidate sentences of the passages: the sentences stored at index time (with
    their vectors and words) lying inside each passage, or, for an article stored without
    them, the passage split again here (sentences longer than `max_chars` cut at clause
    marks). A sentence in two passages is taken from the first."""
    out: list[Sentence] = []
    seen: set[tuple[str, int]] = set()
    passages: list[Passage] = []
    for rank, h in enumerate(hits):
        text = texts[h.article_id]
        rows = (stored or {}).get(h.article_id)
        spans: list[tuple[int, int, np.ndarray | None, SentenceWords | None]]
        if rows is not None and len(rows):
            lo = int(np.searchsorted(rows.starts, h.start))
            hi = int(np.searchsorted(rows.starts, h.end))
            spans = [
                (int(rows.starts[i]), int(rows.ends[i]), rows.vectors[i], rows.words_at(i))
                for i in range(lo, hi)
                if rows.ends[i] <= h.end
            ]
        else:
            spans = [
                (s, e, None, None)
                for a, b in split_sentences(text[h.start : h.end])
                for s, e in split_long(text, h.start + a, h.start + b, max_chars)
            ]
        spans = [x for x in spans if text[x[0] : x[1]].strip()]
        passage = Passage(
            h, rows.title if rows is not None else None, [(text[s:e], w) for s, e, _, w in spans]
        )
        passages.append(passage)
        for s, e, vec, words in spans:
            if (h.article_id, s) in seen:
                continue
            seen.add((h.article_id, s))
            out.append(Sentence(h, rank, s, e, text[s:e], words.canon if words else "", vec, words, passage))
    todo = [x for x in out if x.words is None]
    if todo and stored:
        _suggest_upgrade()
    for sent, canon in zip(todo, canonical_texts([x.text for x in todo]), strict=True):
        sent.canon = canon
    passage_texts(passages)
    return out


@functools.cache
def _suggest_upgrade() -> None:
    logger.warning(
        "this index was built without sentence words; answers compute them from the text at "
        "query time (the same answers, slower). Store them once with `zhiwen upgrade --index DIR`"
    )


def passage_texts(passages: Sequence[Passage]) -> None:
    """Set each passage's canonical context: joined from the stored canonical texts, or,
    where some are not stored, converted here in one call for those passages."""
    todo = []
    for p in passages:
        if p.complete:
            title = p.title.canon if p.title is not None else ""
            p.canon = "\n".join(
                [title, canonical_terms(written_date(p.hit)), *(w.canon for _, w in p.sentences if w)]
            )
        else:
            todo.append(p)
    texts = canonical_texts([f"{p.hit.title}\n{written_date(p.hit)}\n{p.hit.text}" for p in todo])
    for p, t in zip(todo, texts, strict=True):
        p.canon = t
