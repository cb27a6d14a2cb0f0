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

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rag.bm25 import cut, tokenize_canonical
from rag.normalize import canonical_of_folded, folded_texts, simplify_with_map
from rag.postag import tagged

WORDS_FORMAT = 1

_TAG = re.compile(r"(\d+)([A-Za-z]+)")

Tags = tuple[tuple[int, int, str], ...]


@dataclass(frozen=True, slots=True)
class SentenceWords:
    canon: str
    word_lengths: tuple[int, ...]  # jieba's words of `canon`, in order
    tags: Tags  # (start, end, flag) of jieba's part-of-speech words of the Simplified text

    @property
    def lone_chars(self) -> frozenset[str]:
        """The characters that stand as a word of their own somewhere in `canon`."""
        out: set[str] = set()
        at = 0
        for n in self.word_lengths:
            if n == 1:
                out.add(self.canon[at])
            at += n
        return frozenset(out)

    def encoded(self) -> tuple[str, str, str]:
        """(canon, words, tags) as stored: `words` the word lengths ("2 1 3"), `tags` each
        word's length and flag ("2n 1v 3nr")."""
        return (
            self.canon,
            " ".join(map(str, self.word_lengths)),
            " ".join(f"{b - a}{flag}" for a, b, flag in self.tags),
        )

    @classmethod
    def decoded(cls, canon: str, words: str, tags: str) -> SentenceWords:
        """The inverse of `encoded`; ValueError when the stored values do not fit together."""
        lengths = tuple(int(n) for n in words.split())
        if sum(lengths) != len(canon) or any(n <= 0 for n in lengths):
            raise ValueError(f"stored words of {canon[:20]!r}… do not cover its text")
        out: list[tuple[int, int, str]] = []
        at = 0
        for piece in tags.split():
            m = _TAG.fullmatch(piece)
            if m is None or int(m[1]) <= 0:
                raise ValueError(f"stored tag {piece!r} of {canon[:20]!r}… is not length + flag")
            out.append((at, at + int(m[1]), m[2]))
            at += int(m[1])
        return cls(canon, lengths, tuple(out))


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
            (SentenceWords(canon, tuple(len(w) for w in words), tagged(_simplified(text, folded))), tokens)
        )
    return out


def lone_in(text: str) -> frozenset[str]:
    """The characters that stand as a word of their own in a short text made at query time
    (a date written out), by jieba."""
    return frozenset(w for w in cut(text) if len(w) == 1)
