"""Part-of-speech tags: jieba's (`jieba.posseg.lcut`, HMM on), word for word, faster.

jieba's tagger spends its time on the best route through its dictionary (a Python loop over
every character), on its part-of-speech HMM (a Python loop over pairs of its ~250 states for
every character of a run the dictionary does not know) and, before the first sentence, on
reading its dictionary twice (the prefix dictionary, then every word's tag: about 1.5 s for a
server worker). Here the route and the tags of dictionary words come from jieba-rs (package
`rjieba`, the same dictionary, already loaded for BM25's tokens, see `rag.bm25`), and the
runs the dictionary leaves single go through jieba's own HMM tables (loaded from jieba's
package without the word-tag table) with the same Viterbi arithmetic over numpy arrays,
exactly as `jieba.posseg.POSTokenizer` does it. The tags are the same as jieba's (tested
against `jieba.posseg.lcut` on news sentences and on random strings, and the Viterbi against
jieba's); without `rjieba`, jieba does it all."""

from __future__ import annotations

import functools
import importlib.util
import re
from pathlib import Path
from typing import Any

import numpy as np

from rag.bm25 import fast_route_available, is_word
from rag.bm25 import warm_up as bm25_warm_up

# jieba.posseg's patterns (re.match: anchored at the start only, as jieba uses them)
_HAN_INTERNAL = re.compile(r"([\u4E00-\u9FD5a-zA-Z0-9+#&\._]+)")
_SKIP_INTERNAL = re.compile(r"(\r\n|\s)")
_HAN_DETAIL = re.compile(r"([\u4E00-\u9FD5]+)")
_SKIP_DETAIL = re.compile(r"([\.0-9]+|[a-zA-Z0-9]+)")
_ENG = re.compile(r"[a-zA-Z0-9]+")
_NUM = re.compile(r"[\.0-9]+")

Tagged = list[tuple[str, str]]


def _jieba_module(name: str) -> Any:
    """One of jieba's part-of-speech model files (`jieba/posseg/<name>.py`), loaded on its own:
    importing `jieba.posseg` would also read the whole dictionary for its word-tag table."""
    import jieba

    path = Path(jieba.__file__).with_name("posseg") / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"rag_postag_jieba_{name}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}; reinstall jieba (pip install -e .)")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@functools.cache
def _model() -> _Viterbi:
    """jieba's part-of-speech HMM (its tables: char states, start, transitions, emissions),
    loaded once, with a Viterbi over numpy arrays."""
    return _Viterbi(
        _jieba_module("char_state_tab").P,
        _jieba_module("prob_start").P,
        _jieba_module("prob_trans").P,
        _jieba_module("prob_emit").P,
    )


_MIN_FLOAT = -3.14e100  # jieba.posseg.viterbi's floor for an unseen emission


class _Viterbi:
    """jieba's `posseg.viterbi.viterbi`, the same arithmetic in the same order over numpy
    arrays: every state's best predecessor at once instead of a Python loop over pairs (the
    tagger's cost). Ties go, as in jieba's `max` over (probability, state) pairs, to the
    greatest state."""

    def __init__(self, char_states: Any, start: Any, trans: Any, emit: Any) -> None:
        self.states = sorted(trans)  # by the order jieba's tie-break compares them in
        at = {s: i for i, s in enumerate(self.states)}
        n = len(self.states)
        self.at = at
        self.start = np.array([start[s] for s in self.states])
        self.trans = np.full((n, n), -np.inf)
        self.follows = np.zeros((n, n), dtype=bool)
        for a, nexts in trans.items():
            for b, p in nexts.items():
                self.trans[at[a], at[b]] = p
                self.follows[at[a], at[b]] = True
        self.has_next = np.asarray(self.follows.any(axis=1))
        self.every = np.ones(n, dtype=bool)
        self._emit = emit
        self._char_states = char_states
        self._chars: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def _char(self, char: str) -> tuple[np.ndarray, np.ndarray]:
        """The states `char` may take (a mask) and every state's emission of it, remembered:
        about 2 KB per character, news uses a few thousand (jieba's range holds ~21,000)."""
        got = self._chars.get(char)
        if got is None:
            got = self._chars[char] = self._char_row(char)
        return got

    def _char_row(self, char: str) -> tuple[np.ndarray, np.ndarray]:
        mask = np.zeros(len(self.states), dtype=bool)
        allowed = self._char_states.get(char)
        if allowed is None:
            mask[:] = True
        else:
            mask[[self.at[s] for s in allowed]] = True
        return mask, np.array([self._emit[s].get(char, _MIN_FLOAT) for s in self.states])

    def __call__(self, obs: str) -> list[tuple[str, str]]:
        """The most likely state of each character (jieba's route)."""
        mask, emit = self._char(obs[0])
        alive = np.flatnonzero(mask)
        v = np.full(len(self.states), -np.inf)
        v[alive] = self.start[alive] + emit[alive]
        back: list[np.ndarray] = []
        for char in obs[1:]:
            prev = alive[self.has_next[alive]]
            expect = np.asarray(self.follows[prev].any(axis=0))
            mask, emit = self._char(char)
            now = np.asarray(mask & expect)
            if not now.any():
                now = expect if expect.any() else self.every
            cols = np.flatnonzero(now)
            scores = (v[prev][:, None] + self.trans[np.ix_(prev, cols)]) + emit[cols][None, :]
            best = scores.max(axis=0)
            # the greatest predecessor among those that reach the best score
            rows = np.where(scores == best[None, :], np.arange(len(prev))[:, None], -1).max(axis=0)
            step = np.full(len(self.states), -1)
            step[cols] = prev[rows]
            v = np.full(len(self.states), -np.inf)
            v[cols] = best
            back.append(step)
            alive = cols
        top = v[alive].max()
        state = int(alive[np.flatnonzero(v[alive] == top)].max())
        route = [state]
        for step in reversed(back):
            state = int(step[state])
            route.append(state)
        return [self.states[i] for i in reversed(route)]


def warm_up() -> None:
    """Load what segmenting and tagging need (`rag.bm25.warm_up`, then the tagger's HMM): a
    server does it before it says it is ready."""
    bm25_warm_up()
    if fast_route_available():
        _model()
        pos_tags("预热一下")
    else:  # pragma: no cover - rjieba has wheels for Linux, macOS and Windows
        _jieba_posseg()


def _jieba_posseg() -> Any:
    from rag.bm25 import segmenter

    segmenter()
    import jieba.posseg

    return jieba.posseg


@functools.lru_cache(maxsize=1 << 14)
def _char_tag(char: str) -> str:
    """The dictionary's tag of a one-character word, "x" when it is none (jieba's
    `word_tag_tab.get(char, "x")`)."""
    import rjieba

    return rjieba.tag(char, False)[0][1] if is_word(char) else "x"


@functools.lru_cache(maxsize=1 << 16)
def _hmm_tags(run: str) -> tuple[tuple[str, str], ...]:
    """jieba's `POSTokenizer.__cut` on a run of Chinese characters the dictionary does not
    know; runs repeat (names), so they are cached."""
    route = _model()(run)
    out: Tagged = []
    begin = nexti = 0
    for i, char in enumerate(run):
        pos, tag = route[i]
        if pos == "B":
            begin = i
        elif pos == "E":
            out.append((run[begin : i + 1], tag))
            nexti = i + 1
        elif pos == "S":
            out.append((char, tag))
            nexti = i + 1
    if nexti < len(run):
        out.append((run[nexti:], route[nexti][1]))
    return tuple(out)


def _detail_tags(buf: str, out: Tagged) -> None:
    """jieba's `POSTokenizer.__cut_detail`: a run the dictionary does not know."""
    for blk in _HAN_DETAIL.split(buf):
        if _HAN_DETAIL.match(blk):
            out.extend(_hmm_tags(blk))
            continue
        for x in _SKIP_DETAIL.split(blk):
            if x:
                out.append((x, "m" if _NUM.match(x) else "eng" if _ENG.match(x) else "x"))


def _flush(buf: str, out: Tagged) -> None:
    if len(buf) == 1:
        out.append((buf, _char_tag(buf)))
    elif not is_word(buf):
        _detail_tags(buf, out)
    else:
        out.extend((c, _char_tag(c)) for c in buf)


def _block_tags(block: str, out: Tagged) -> None:
    """jieba's `POSTokenizer.__cut_DAG` on one block, from jieba-rs's dictionary route: runs
    of single-character steps (jieba-rs joins runs of single letters and digits; no
    dictionary word is made of them alone) go to `_flush`, words keep their dictionary tag."""
    import rjieba

    buf = ""
    for word, tag in rjieba.tag(block, False):
        if len(word) == 1 or (word.isascii() and word.isalnum()):
            buf += word
            continue
        if buf:
            _flush(buf, out)
            buf = ""
        out.append((word, tag))
    if buf:
        _flush(buf, out)


def pos_tags(text: str) -> Tagged:
    """(word, jieba POS flag) of every word of `text`, as `jieba.posseg.lcut(text)` gives them."""
    if not fast_route_available():  # pragma: no cover - see the module's docstring
        return [(p.word, p.flag) for p in _jieba_posseg().lcut(text)]
    out: Tagged = []
    for blk in _HAN_INTERNAL.split(text):
        if _HAN_INTERNAL.match(blk):
            _block_tags(blk, out)
            continue
        for x in _SKIP_INTERNAL.split(blk):
            if _SKIP_INTERNAL.match(x):
                out.append((x, "x"))
            else:  # jieba tests the whole piece for letters: a quirk kept
                out.extend((c, "m" if _NUM.match(c) else "eng" if _ENG.match(x) else "x") for c in x)
    return out


def tag_offsets(text: str) -> tuple[tuple[int, int, str], ...]:
    """(start, end, POS flag) of each word of `text`: `pos_tags` with offsets (jieba keeps every
    character, so the words are contiguous)."""
    out: list[tuple[int, int, str]] = []
    start = 0
    for word, flag in pos_tags(text):
        out.append((start, start + len(word), flag))
        start += len(word)
    return tuple(out)


@functools.lru_cache(maxsize=4096)  # the same questions' parts come back
def tagged(text: str) -> tuple[tuple[int, int, str], ...]:
    """`tag_offsets`, remembered (a text tagged at query time: a question, or a sentence of an
    index without stored words)."""
    return tag_offsets(text)
