"""Chinese tokens for the BM25 leg (the postings themselves: rag.index.lexical).

Tokens: jieba (search mode) on the canonical text of `rag.normalize`, stop words and
punctuation dropped, plus a bigram for every pair of adjacent single characters that
jieba left alone, so rare names that jieba splits (`凌` `晴`) still match as `凌晴`.
"""

from __future__ import annotations

import itertools
import logging
import re
import threading

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


# Whole meeting names (12届3次全会, 19届5中全会, 第15次党代会) kept as one extra token each,
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
# glue onto their neighbours (jieba reads 赵衡华是哪年 as 赵衡 / 华是 / 哪年).
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
