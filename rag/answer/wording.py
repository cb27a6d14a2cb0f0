"""How much of a question's wording a candidate sentence repeats, and in what order: features
of the sentence ranker (rag.answer.rank).

A sentence that answers often restates the question around the answer: 该公司由谁创办？ is
answered by 该公司由张三于1990年创办, which repeats 该公司由 right before where the question word
stood and 创办 after it, in the question's order. The ranker's other features count the
question's terms and characters found anywhere in the sentence; these say how they stand:

- the longest common subsequence of the question's wording (its canonical text without the
  question word and punctuation) and the sentence, as a share of the wording;
- the longest stretch of the wording found as it is in the sentence, as a share of it;
- how many characters right before the question word, and right after it, the sentence
  repeats as they stand (the longest end of the part before it found in the sentence; the
  longest start of the part after it).

One dynamic programme per sentence over the two texts' characters (≈ 20 x 60 cells), compiled
by numba (rag.compiled), all of a question's shortlist in one call.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from rag.compiled import compiled
from rag.normalize import canonical_terms, simplified_question
from rag.span import WH

logger = logging.getLogger(__name__)

_NOT_WORDING = re.compile(r"[\s\W_]+")


def question_wording(question: str) -> tuple[str, int]:
    """The question's wording, canonical as a sentence's `canon` (rag.normalize.canonical_terms
    of its Simplified form), without its first question word (rag.span.WH) and punctuation;
    and where the question word stood in it (the wording's length when there is none)."""
    text = canonical_terms(simplified_question(question))
    m = WH.search(text)
    before = _NOT_WORDING.sub("", text[: m.start()] if m else text)
    after = _NOT_WORDING.sub("", text[m.end() :]) if m else ""
    return before + after, len(before)


def _codes(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)


def wording_matches(wording: str, at: int, sentences: Sequence[str]) -> np.ndarray:
    """For each of `sentences` (canonical texts), as floats: the longest common subsequence of
    `wording` and it, the longest stretch of `wording` found in it, the longest end of
    `wording[:at]` and the longest start of `wording[at:]` found in it; all in characters."""
    offsets = np.zeros(len(sentences) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(s) for s in sentences])
    joined = _codes("".join(sentences))
    return _kernel()(_codes(wording), at, joined, offsets).astype(np.float64)


def warm_up() -> None:
    """Load (or compile) the kernel by using it once: a server does it before it says it is
    ready, so the first question is not slow."""
    wording_matches("问", 0, ["问"])


@functools.cache
def _kernel() -> Any:
    """`_matches` compiled by numba on first use (rag.compiled: about a second once, its
    machine code cached)."""
    return compiled(_matches, "the sentence ranker's wording features'", logger)


def _matches(
    q: np.ndarray, at: int, s: np.ndarray, offsets: np.ndarray
) -> np.ndarray:  # pragma: no cover - run compiled (`_kernel`), tested through wording_matches
    n, m = len(offsets) - 1, len(q)
    out = np.zeros((n, 4), dtype=np.int64)
    for t in range(n):
        a, size = offsets[t], offsets[t + 1] - offsets[t]
        sub_prev = np.zeros(size + 1, dtype=np.int64)  # longest common subsequence, row by row
        sub_cur = np.zeros(size + 1, dtype=np.int64)
        run_prev = np.zeros(size + 1, dtype=np.int64)  # common stretches ending here
        run_cur = np.zeros(size + 1, dtype=np.int64)
        longest = 0
        before = 0
        for i in range(m):
            for j in range(size):
                if q[i] == s[a + j]:
                    sub_cur[j + 1] = sub_prev[j] + 1
                    run_cur[j + 1] = run_prev[j] + 1
                else:
                    sub_cur[j + 1] = max(sub_prev[j + 1], sub_cur[j])
                    run_cur[j + 1] = 0
                longest = max(longest, run_cur[j + 1])
                if i == at - 1:
                    before = max(before, run_cur[j + 1])
            sub_prev, sub_cur = sub_cur, sub_prev
            run_prev, run_cur = run_cur, run_prev
        # common stretches starting here, from the end of the wording back to `at`
        start_prev = np.zeros(size + 1, dtype=np.int64)
        start_cur = np.zeros(size + 1, dtype=np.int64)
        after = 0
        for i in range(m - 1, at - 1, -1):
            for j in range(size - 1, -1, -1):
                start_cur[j] = start_prev[j + 1] + 1 if q[i] == s[a + j] else 0
                if i == at:
                    after = max(after, start_cur[j])
            start_prev, start_cur = start_cur, start_prev
        out[t, 0] = sub_prev[size]
        out[t, 1] = longest
        out[t, 2] = before
        out[t, 3] = after
    return out
