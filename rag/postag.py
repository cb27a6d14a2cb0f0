"""Part-of-speech tags: jieba's (`jieba.posseg.lcut`, HMM on), word for word, faster.

jieba's tagger spends its time on the best route through its dictionary (a Python loop over
every character), on its part-of-speech HMM (a Python loop over pairs of its ~250 states for
every character of a run the dictionary does not know) and, before the first sentence, on
reading its dictionary twice (the prefix dictionary, then every word's tag: about 1.5 s for a
server worker). Here the route and the tags of dictionary words come from jieba-rs (package
`rjieba`, the same dictionary, already loaded for BM25's tokens, see `rag.bm25`), and the
runs the dictionary leaves single go through jieba's own HMM tables (loaded from jieba's
package without the word-tag table) with the same Viterbi arithmetic, compiled by numba,
exactly as `jieba.posseg.POSTokenizer` does it. The tags are the same as jieba's (tested
against `jieba.posseg.lcut` on news sentences and on random strings, and the Viterbi against
jieba's); without `rjieba`, jieba does it all."""

from __future__ import annotations

import functools
import importlib.util
import logging
import re
import threading
from pathlib import Path
from typing import Any

import numpy as np

from rag.bm25 import fast_route_available, is_word
from rag.bm25 import warm_up as bm25_warm_up
from rag.compiled import compiled

# jieba.posseg's patterns (re.match: anchored at the start only, as jieba uses them)
_HAN_INTERNAL = re.compile(r"([\u4E00-\u9FD5a-zA-Z0-9+#&\._]+)")
_SKIP_INTERNAL = re.compile(r"(\r\n|\s)")
_HAN_DETAIL = re.compile(r"([\u4E00-\u9FD5]+)")
_SKIP_DETAIL = re.compile(r"([\.0-9]+|[a-zA-Z0-9]+)")
_ENG = re.compile(r"[a-zA-Z0-9]+")
_NUM = re.compile(r"[\.0-9]+")

Tagged = list[tuple[str, str]]

logger = logging.getLogger(__name__)


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
    loaded once, with a compiled Viterbi."""
    return _Viterbi(
        _jieba_module("char_state_tab").P,
        _jieba_module("prob_start").P,
        _jieba_module("prob_trans").P,
        _jieba_module("prob_emit").P,
    )


# jieba's person tags: a name (nr), a transliterated one (nrt: 姆巴 of 姆巴佩), a given name (nrfg)
PERSON_FLAGS = ("nr", "nrfg", "nrt")
PERSON_FLAG = "nr"  # a person's name proper (a transliterated part may be a common word: 二世)
_MIN_FLOAT = -3.14e100  # jieba.posseg.viterbi's floor for an unseen emission


class _Viterbi:
    """jieba's `posseg.viterbi.viterbi`, the same arithmetic in the same order, compiled
    (`_route`, numba): the tagger's cost was this loop over pairs of states for every
    character of a run, ~60 µs a run as numpy calls, ~7 µs compiled. Ties go, as in jieba's
    `max` over (probability, state) pairs, to the greatest state."""

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
        self._emit = emit
        self._char_states = char_states
        # one row per character seen: the states it may take (a mask) and every state's
        # emission of it; about 2 KB a character, news uses a few thousand (jieba's ~21,000)
        self._rows: dict[str, int] = {}
        self._table = (np.zeros((0, n), dtype=bool), np.zeros((0, n)))
        self._grow = threading.Lock()

    def _row(self, char: str) -> int:
        with self._grow:
            row = self._rows.get(char)
            if row is not None:
                return row
            masks, emits = self._table
            row = len(self._rows)
            if row == len(masks):  # full: a table twice as large (readers keep the old one)
                more = max(256, 2 * len(masks))
                masks = np.concatenate([masks, np.zeros((more - len(masks), masks.shape[1]), bool)])
                emits = np.concatenate([emits, np.zeros((more - len(emits), emits.shape[1]))])
            allowed = self._char_states.get(char)
            if allowed is None:
                masks[row] = True
            else:
                masks[row] = False
                masks[row, [self.at[s] for s in allowed]] = True
            emits[row] = [self._emit[s].get(char, _MIN_FLOAT) for s in self.states]
            self._table = (masks, emits)
            self._rows[char] = row  # last: a row is read only once it is written
            return row

    def table_rows(self) -> dict[str, int]:
        """The characters seen so far and their rows."""
        return dict(self._rows)

    def arrays(self, obs: str) -> tuple[np.ndarray, ...]:
        """What `_route` reads to find the route of `obs`."""
        rows = self._rows
        idx = np.array([rows[c] if c in rows else self._row(c) for c in obs], dtype=np.int64)
        masks, emits = self._table
        return idx, masks, emits, self.start, self.trans, self.follows, self.has_next

    def __call__(self, obs: str) -> list[tuple[str, str]]:
        """The most likely state of each character (jieba's route)."""
        return [self.states[i] for i in _compiled_route()(*self.arrays(obs))]


@functools.cache
def _compiled_route() -> Any:
    """`_route` compiled by numba when something first tags text (rag.compiled: compiling takes
    ~3 s once, its machine code cached)."""
    return compiled(_route, "the tagger's", logger)


def _route(
    idx: np.ndarray,
    masks: np.ndarray,
    emits: np.ndarray,
    start: np.ndarray,
    trans: np.ndarray,
    follows: np.ndarray,
    has_next: np.ndarray,
) -> np.ndarray:  # pragma: no cover - run compiled (`_compiled_route`), tested through _Viterbi
    """jieba's posseg Viterbi over the rows `idx` of the character table: at each character,
    the states it may take among those that can follow the last one's (all that can follow
    when none; all when nothing can), each from its best predecessor (the greatest on ties),
    then the best last state (the greatest on ties) traced back."""
    n, states = idx.shape[0], start.shape[0]
    v = np.full(states, -np.inf)
    alive = np.empty(states, np.int64)
    n_alive = 0
    for s in range(states):
        if masks[idx[0], s]:
            v[s] = start[s] + emits[idx[0], s]
            alive[n_alive] = s
            n_alive += 1
    back = np.full((n, states), -1, np.int64)
    prev = np.empty(states, np.int64)
    now = np.empty(states, np.int64)
    expect = np.zeros(states, np.bool_)
    nv = np.empty(states)
    for t in range(1, n):
        n_prev = 0
        for i in range(n_alive):
            if has_next[alive[i]]:
                prev[n_prev] = alive[i]
                n_prev += 1
        expect[:] = False
        any_expected = False
        for i in range(n_prev):
            for s in range(states):
                if follows[prev[i], s]:
                    expect[s] = True
                    any_expected = True
        row = idx[t]
        n_now = 0
        for s in range(states):
            if masks[row, s] and expect[s]:
                now[n_now] = s
                n_now += 1
        if n_now == 0:
            for s in range(states):
                if expect[s] or not any_expected:
                    now[n_now] = s
                    n_now += 1
        nv[:] = -np.inf
        for j in range(n_now):
            s = now[j]
            best = -np.inf
            arg = -1
            for i in range(n_prev):  # ascending: ">=" keeps the greatest of equals
                score = (v[prev[i]] + trans[prev[i], s]) + emits[row, s]
                if score >= best:
                    best = score
                    arg = prev[i]
            nv[s] = best
            back[t, s] = arg
        v[:] = nv
        alive[:n_now] = now[:n_now]
        n_alive = n_now
    top = -np.inf
    state = -1
    for i in range(n_alive):
        if v[alive[i]] >= top:
            top = v[alive[i]]
            state = alive[i]
    route = np.empty(n, np.int64)
    route[n - 1] = state
    for t in range(n - 1, 0, -1):
        state = back[t, state]
        route[t - 1] = state
    return route


def warm_up() -> None:
    """Load what segmenting and tagging need (`rag.bm25.warm_up`, then the tagger's HMM and
    its compiled Viterbi): a server does it before it says it is ready."""
    bm25_warm_up()
    if fast_route_available():
        _model()("预热")  # a run of the HMM: loads (or compiles) `_route`
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
