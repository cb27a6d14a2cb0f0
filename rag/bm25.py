"""Chinese tokens for the BM25 leg (the postings themselves: rag.index.lexical).

Tokens: jieba (search mode) on the canonical text of `rag.normalize`, stop words and
punctuation dropped, plus a bigram for every pair of adjacent single characters that
jieba left alone, so rare names that jieba splits (`禤` `婧`) still match as `禤婧`.

Segmentation is jieba's (search mode, HMM on), word for word, but its costly part, the best
route through the dictionary, is computed by jieba-rs (the Rust port, package `rjieba`, same
dictionary). jieba-rs's own HMM and its handling of `.` and `-` next to letters differ from
jieba's now and then (`常在此`, `22.5g`, `1.2.0`), so only its dictionary route is taken and the
rest (which runs of single characters go to the HMM, the HMM itself, search mode's extra
words) is done as jieba does it, with jieba's dictionary and HMM code. The tokens are then
jieba's whether or not `rjieba` is installed (tested on random text and news; without it,
jieba does everything), about 2.5x faster with it.
"""

from __future__ import annotations

import functools
import itertools
import logging
import re
import threading
from collections.abc import Callable

from rag.normalize import canonical_terms, expand_query

logger = logging.getLogger(__name__)

# How terms are made: a change of the segmenter, the stop words or the canonical form
# (`rag.normalize`) changes it, and an index whose chunks were cut another way is told to
# make them again (`zhiwen upgrade`; rag.index.terms). 2: numbers written in 万 after Arabic
# digits stay as written (`3万元` was `30元`).
TERMS_FORMAT = 2

_jieba_lock = threading.Lock()
_jieba_ready = False


def segmenter():  # type: ignore[no-untyped-def]
    """jieba, with its own dictionary loaded (about a second, once): for its word frequencies
    (`rag.english`) and, without jieba-rs, for everything."""
    global _jieba_ready
    import jieba

    if not _jieba_ready:
        with _jieba_lock:
            if not _jieba_ready:
                jieba.setLogLevel(logging.WARNING)
                jieba.initialize()
                _jieba_ready = True
    return jieba


_fast_route: Callable[[str, bool], list[str]] | None
_has_word: Callable[[str], bool]
try:
    import rjieba

    _fast_route = rjieba.cut
    _has_word = rjieba.has_word
except ImportError:  # pragma: no cover - rjieba has wheels for Linux, macOS and Windows
    _fast_route = None

    def _has_word(word: str) -> bool:
        return bool(segmenter().dt.FREQ.get(word))

    logger.info("rjieba is not installed: segmenting with jieba alone (same tokens, slower)")

# jieba's own block pattern (jieba.re_han_default): it segments each such run on its own.
_BLOCK = re.compile(r"([\u4E00-\u9FD5a-zA-Z0-9+#&\._%\-]+)")


def fast_route_available() -> bool:
    """Whether jieba-rs (`rjieba`) computes the dictionary route (else jieba does it all)."""
    return _fast_route is not None


def is_word(word: str) -> bool:
    """Whether `word` is a word of jieba's dictionary (jieba's `FREQ.get(word)` is truthy; the
    prefixes it also holds are not words). jieba-rs holds the same words, so with it jieba's
    own dictionary (about a second to load) is not needed."""
    return bool(_has_word(word))


def warm_up() -> None:
    """Load what tokenising needs: jieba-rs's dictionary and jieba's HMM (or, without
    jieba-rs, jieba's dictionary)."""
    if _fast_route is None:  # pragma: no cover - see fast_route_available
        segmenter()
        return
    _fast_route("预热", False)  # jieba-rs loads its dictionary on first use
    _hmm_words("预热")


def _add_search_words(out: list[str], word: str) -> None:
    """jieba's search mode for one cut word: the dictionary's 2- and 3-grams of a long word
    (`Tokenizer.cut_for_search`), then the word."""
    n = len(word)
    if n > 2:
        out.extend(g for i in range(n - 1) if _has_word(g := word[i : i + 2]))
        if n > 3:
            out.extend(g for i in range(n - 2) if _has_word(g := word[i : i + 3]))
    out.append(word)


@functools.lru_cache(maxsize=1 << 16)
def _hmm_words(run: str) -> tuple[str, ...]:
    """jieba's HMM (`finalseg`) on a run of characters the dictionary left single; runs
    repeat (names, numbers), so they are cached."""
    from jieba import finalseg

    return tuple(finalseg.cut(run))


Emit = Callable[[list[str], str], None]  # puts one cut word into the output (search mode: with its grams)


def _cut_block(block: str, out: list[str], emit: Emit) -> None:
    """jieba's HMM cut of one block (`Tokenizer.__cut_DAG`), from jieba-rs's dictionary route.

    jieba-rs without HMM gives the best dictionary route, with runs of single letters and
    digits joined (no dictionary word is made of letters and digits alone). jieba sends each
    run of single-character steps that is not itself a word to its HMM (`finalseg`), which
    is done here with jieba's own code, so new words come out exactly as jieba's."""
    buf = ""
    assert _fast_route is not None
    for word in _fast_route(block, False):
        if len(word) == 1 or (word.isascii() and word.isalnum()):  # [a-zA-Z0-9]+
            buf += word
            continue
        if buf:
            _flush(buf, out, emit)
            buf = ""
        emit(out, word)
    if buf:
        _flush(buf, out, emit)


def _flush(buf: str, out: list[str], emit: Emit) -> None:
    if len(buf) == 1 or (buf.isascii() and buf.isalnum()):  # finalseg keeps [a-zA-Z0-9]+ whole
        emit(out, buf)
    elif _has_word(buf):
        out.extend(buf)
    else:
        for w in _hmm_words(buf):
            emit(out, w)


def _cut(text: str, emit: Emit) -> list[str]:
    out: list[str] = []
    for i, part in enumerate(_BLOCK.split(text)):
        if not part:
            continue
        if i % 2:
            _cut_block(part, out, emit)
        elif "\r\n" in part:  # between blocks jieba keeps every character on its own, and "\r\n"
            out.extend(x for piece in part.split("\r\n") for x in (*piece, "\r\n"))
            out.pop()
        else:
            out.extend(part)
    return out


def cut(text: str) -> list[str]:
    """jieba's words of `text` (`jieba.lcut`, HMM on)."""
    if _fast_route is None:  # pragma: no cover - see fast_route_available
        return segmenter().lcut(text)  # type: ignore[no-any-return]
    return _cut(text, list.append)


def cut_for_search(text: str) -> list[str]:
    """jieba's search-mode words of `text` (`jieba.lcut_for_search`, HMM on)."""
    if _fast_route is None:
        return segmenter().lcut_for_search(text)  # type: ignore[no-any-return]
    return _cut(text, _add_search_words)


def cut_both(text: str) -> tuple[list[str], list[str]]:
    """`cut(text)` and `cut_for_search(text)` from one pass (search mode is the cut words with
    their dictionary 2- and 3-grams added)."""
    if _fast_route is None:  # pragma: no cover - see fast_route_available
        return cut(text), cut_for_search(text)
    words = _cut(text, list.append)
    search: list[str] = []
    for w in words:
        _add_search_words(search, w)
    return words, search


STOPWORDS = frozenset(
    """的 了 是 在 和 与 及 或 等 也 都 就 而 之 其 为 以 于 对 把 被 让 将 并 从 到 向 由 着 过 又 还 所 则 即
    吗 呢 吧 啊 呀 嘛 么 什么 哪些 哪个 哪里 哪儿 哪 谁 多少 几 如何 怎么 怎样 为什么 为何 何时 何地 何 是否 是不是
    有没有 请问 一下 这 那 这个 那个 这些 那些 此 该 他 她 它 他们 她们 它们 我们 你们 我 你 个 上 下 中 有 没有
    the a an of to in on at for and or is are was were be been by with as from that this which who what
    when where how why whom whose did do does has have had it its into than then there these those""".split()
)
_TOKEN_OK = re.compile(r"[\w\u3400-\u9fff]", re.UNICODE)


# Whole meeting names (12届3次全会, 19届5中全会, 第15次党代会) kept as one extra token each,
# so a question naming the meeting prefers it over a sibling meeting of the same body.
_MEETING_RE = re.compile(r"\d+届\d+[次中]全会|第\d+次党代会|\d+届人大\d+次会议|\d+届政协\d+次会议")


# Single characters that are function words: a bigram with one of them is glue, not a name.
FUNCTION_CHARS = frozenset(
    "的了是在和与及或等也都就而之其为以于对把被让将并从到向由着过又还所则即吗呢吧啊会能要去最很更已给看说有这那个不地得上下中里后前时"
)


def _tokens_of(canonical: str, *, strict_bigrams: bool = False, search: list[str] | None = None) -> list[str]:
    """BM25 tokens of a canonical text (`search`: its search-mode words, when already cut)."""
    words = [
        w
        for w in (cut_for_search(canonical) if search is None else search)
        if w.strip() and _TOKEN_OK.search(w)
    ]
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
        if len(w) == 1 and "\u3400" <= w <= "\u9fff":
            run.append(w)
        elif run:
            flush()
        if w not in STOPWORDS:
            out.append(w)
    if run:
        flush()
    out.extend(_MEETING_RE.findall(canonical))
    return out


def tokenize(text: str) -> list[str]:
    """Tokens of a document text."""
    return _tokens_of(canonical_terms(text))


def tokenize_canonical(canonical: str) -> tuple[list[str], list[str]]:
    """The BM25 tokens of a document text already in canonical form (`canonical_terms`) and
    its jieba words (`cut`), from one segmentation: an indexed sentence stores its words."""
    words, search = cut_both(canonical)
    return _tokens_of(canonical, search=search), words


# Question words never occur in the answer; cut them out before segmenting so they do not
# glue onto their neighbours (jieba reads 赵衡华是哪年 as 赵衡 / 华是 / 哪年), with the 是 and
# the preposition between (赵衡华是在哪年: not 赵衡 / 华是 / 在; 位于哪里 keeps its 于). 哪
# takes its 一 (already a digit here: 哪1个) and its classifier with it (哪一个城市 leaves 城市,
# not 1 / 城市; 国 stays, as in 哪一国家). 什么时候 is one question word, as 何时 is: an answer
# says when, not 时候. So are 多久, 多长时间, 多少时间 and, ending the question or before 的,
# 多长 / 多大 / 多远 / 多高… (有多大？): an answer gives the figure, not the question word
# (多大 inside 许多大型 or 多重 of 多重国籍 stays).
INTERROGATIVES = re.compile(
    r"(?:是(?:在|由|从|于|被|为|到|向|给|以)?)?(?:为什么|为何|什么样|什么时候|什么|哪[一1]?(?:年|天|个|位|些|里|儿|种|类|条|家|所|座|部|本|首|支|艘|次|场|届|项|名)?"
    r"|谁|多(?:长时间|少时间|久)|多[长大高远重深宽厚快](?=[的了呢吗？?，,。!！\s]|$)|多少|几个|几位|几项|几名|几年|几次|几条|几|如何|怎么样|怎样|怎么|何时|何地|何处|何年|何月|何日|何种|何人)"
    r"|是否|有没有|请问|吗|呢"
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
