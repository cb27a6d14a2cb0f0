"""What answering reads of a sentence besides its text, computed once when it is indexed.

For every stored sentence (and every article's title) the index keeps, beside its offsets
and vector (README, "How it works"):

- `canon`: its canonical text (`rag.normalize.canonical_terms`: Simplified, width-folded,
  lower case, numerals and abbreviations folded), which question terms are matched against;
- `words`: jieba's words of `canon` (`rag.bm25.cut`), stored as their lengths: a
  one-character question term counts only where it is a word of its own (水 is not found in
  the name 李水生);
- `tags`: jieba's part-of-speech words of its Simplified, width-folded form
  (`rag.normalize.simplify_with_map`, the text the short answer's span is chosen in), stored
  as lengths and flags: person and place names, how a sentence starts, the span model's
  words.

An index built before these were stored has none; the answer stage then computes them from
the text at query time with the same functions (`analyse`), so answers are the same either
way, only slower (`zhiwen upgrade` stores them). `WORDS_FORMAT` names how they were made:
a change of the segmenter, the tagger or the canonical form changes it, and stored words of
another format are not used.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence

from rag.bm25 import cut, tokenize_canonical
from rag.normalize import canonical_of_folded, folded_texts, simplify_with_map
from rag.postag import tag_offsets

WORDS_FORMAT = 2  # 2: the canonical form of numbers in 万 (rag.bm25.TERMS_FORMAT)

_TAG = re.compile(r"(\d+)([A-Za-z]+)")

Tags = tuple[tuple[int, int, str], ...]


class SentenceWords:
    """A sentence's canonical text, jieba word lengths and part-of-speech words. Read from the
    store, the words and tags are kept as stored and parsed when first asked for (a retrieved
    article's sentences are read whole; few of them are looked at that closely)."""

    __slots__ = ("_lengths", "_lone", "_raw_tags", "_raw_words", "_tags", "canon")

    def __init__(
        self,
        canon: str,
        word_lengths: tuple[int, ...] | None,
        tags: Tags | None,
        raw_words: str = "",
        raw_tags: str = "",
    ) -> None:
        self.canon = canon
        self._lengths = word_lengths
        self._tags = tags
        self._raw_words = raw_words
        self._raw_tags = raw_tags
        self._lone: frozenset[str] | None = None

    @classmethod
    def decoded(cls, canon: str, words: str, tags: str) -> SentenceWords:
        """The stored form (`encoded`), parsed when first used: `word_lengths` and `tags` raise
        ValueError then when the stored values do not fit the text (`check` asks at once)."""
        return cls(canon, None, None, words, tags)

    @property
    def word_lengths(self) -> tuple[int, ...]:
        """The lengths of jieba's words of `canon`, in order."""
        if self._lengths is None:
            lengths = tuple(map(int, self._raw_words.split()))
            if sum(lengths) != len(self.canon) or (lengths and min(lengths) <= 0):
                raise ValueError(f"stored words of {self.canon[:20]!r}… do not cover its text")
            self._lengths = lengths
        return self._lengths

    @property
    def tags(self) -> Tags:
        """(start, end, flag) of jieba's part-of-speech words of the Simplified text."""
        if self._tags is None:
            out: list[tuple[int, int, str]] = []
            at = 0
            for piece in self._raw_tags.split():
                m = _TAG.fullmatch(piece)
                if m is None or int(m[1]) <= 0:
                    raise ValueError(f"stored tag {piece!r} of {self.canon[:20]!r}… is not length + flag")
                out.append((at, at + int(m[1]), m[2]))
                at += int(m[1])
            self._tags = tuple(out)
        return self._tags

    def check(self, *, tags: bool = True) -> SentenceWords:
        """Itself, parsed; ValueError when the stored values do not fit together. Without
        `tags`, only the word lengths (what `lone_chars` reads: the tags of every sentence of
        a retrieved article need not be parsed to know its lone characters)."""
        _ = self.word_lengths
        if tags:
            _ = self.tags
        return self

    @property
    def lone_chars(self) -> frozenset[str]:
        """The characters that stand as a word of their own somewhere in `canon` (worked out
        once: the answer stage asks for them at each one-character term of each coverage)."""
        if self._lone is None:
            out: set[str] = set()
            at = 0
            for n in self.word_lengths:
                if n == 1:
                    out.add(self.canon[at])
                at += n
            self._lone = frozenset(out)
        return self._lone

    def encoded(self) -> tuple[str, str, str]:
        """(canon, words, tags) as stored: `words` the word lengths ("2 1 3"), `tags` each
        word's length and flag ("2n 1v 3nr")."""
        return (
            self.canon,
            " ".join(map(str, self.word_lengths)),
            " ".join(f"{b - a}{flag}" for a, b, flag in self.tags),
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SentenceWords):
            return NotImplemented
        return (self.canon, self.word_lengths, self.tags) == (other.canon, other.word_lengths, other.tags)

    def __hash__(self) -> int:
        return hash((self.canon, self.word_lengths, self.tags))

    def __repr__(self) -> str:
        return f"SentenceWords({self.canon!r})"


def _simplified(text: str, folded: str) -> str:
    """The text `simplify_with_map(text)` gives, from `folded` (the text Simplified and
    width-folded, which it is whenever the conversion kept the length)."""
    return folded if len(folded) == len(text) else simplify_with_map(text)[0]


def analyse(text: str) -> SentenceWords:
    """A sentence's words, computed now (an index without stored words; recorded texts)."""
    return analyse_many([text])[0][0]


def analyse_many(texts: Sequence[str]) -> list[tuple[SentenceWords, list[str]]]:
    """Each text's words and its BM25 tokens (`rag.bm25.tokenize`), from one segmentation of
    its canonical text and one OpenCC call for all: what indexing computes per sentence."""
    out: list[tuple[SentenceWords, list[str]]] = []
    for text, folded in zip(texts, folded_texts(texts), strict=True):
        canon = canonical_of_folded(folded)
        tokens, words = tokenize_canonical(canon)
        out.append(
            (
                SentenceWords(canon, tuple(len(w) for w in words), tag_offsets(_simplified(text, folded))),
                tokens,
            )
        )
    return out


@functools.lru_cache(maxsize=4096)  # a few publication dates come back question after question
def lone_in(text: str) -> frozenset[str]:
    """The characters that stand as a word of their own in a short text made at query time
    (a date written out), by jieba."""
    return frozenset(w for w in cut(text) if len(w) == 1)


def all_stored(words: Iterable[SentenceWords | None], title: SentenceWords | None, titled: bool) -> bool:
    """Whether an article's stored words are complete: every sentence's (`words`), and the
    title's (`title`) when it has a title (`titled`)."""
    return (title is not None or not titled) and all(w is not None for w in words)
