"""Sentence-aware chunking with exact offsets into the stored text.

Sentences end at `。！？；…!?` (closing quotes and brackets after the mark stay with
the sentence) and at line breaks, except a line break inside an open bracket, which
joins the two lines (`（全媒体记者\\n岑曦）今天，…`). Sentences are packed into chunks
of about `target` characters; each chunk repeats up to `overlap` characters of whole
sentences from the end of the previous one. A sentence longer than `max_sentence`
is cut at commas (or hard, as a last resort).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from rag.records import Article, Chunk

DEFAULT_TARGET = 320
DEFAULT_OVERLAP = 80
# Sentences longer than this are cut at clause marks: the unit that is embedded, scored by
# the answer stage and quoted (a quote must stay readable).
MAX_SENTENCE_CHARS = 200

_TERMINATORS = set("。！？；!?;…")
_CLOSERS = set("」』”’）)】》\"'")
_OPENERS = {"（": "）", "(": ")", "「": "」", "『": "』", "“": "”", "【": "】", "《": "》"}
_CLAUSE = re.compile(r"[，,、：:]")


def _trimmed(text: str, start: int, end: int) -> tuple[int, int] | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if end > start else None


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans (start, end) over `text`, whitespace trimmed, none empty."""
    spans: list[tuple[int, int]] = []
    n = len(text)
    start = 0
    i = 0
    open_stack: list[str] = []
    joined_line = False
    while i < n:
        c = text[i]
        if c in _OPENERS:
            open_stack.append(_OPENERS[c])
        elif open_stack and c == open_stack[-1]:
            open_stack.pop()
        if c in _TERMINATORS:
            j = i + 1
            while j < n and (text[j] in _TERMINATORS or text[j] in _CLOSERS):
                if text[j] in _CLOSERS and open_stack and text[j] == open_stack[-1]:
                    open_stack.pop()
                j += 1
            if not open_stack or c in "。！？!?":
                span = _trimmed(text, start, j)
                if span:
                    spans.append(span)
                start = j
                open_stack.clear()
                joined_line = False
            i = j
            continue
        if c == "\n":
            if open_stack and not joined_line:
                joined_line = True  # join at most one line break inside an open bracket
            else:
                span = _trimmed(text, start, i)
                if span:
                    spans.append(span)
                start = i + 1
                open_stack.clear()
                joined_line = False
        i += 1
    span = _trimmed(text, start, n)
    if span:
        spans.append(span)
    return spans


def split_long(text: str, start: int, end: int, limit: int) -> list[tuple[int, int]]:
    """Cut one over-long span at clause marks, packing pieces up to `limit` characters."""
    if end - start <= limit:
        return [(start, end)]
    cuts = [start + m.end() for m in _CLAUSE.finditer(text[start:end])] + [end]
    pieces: list[tuple[int, int]] = []
    s = prev = start
    for c in cuts:
        if c - s > limit:
            if prev > s:
                pieces.append((s, prev))
                s = prev
            while c - s > limit:  # no clause mark close enough: hard cut
                pieces.append((s, s + limit))
                s += limit
        prev = c
    if s < end:
        pieces.append((s, end))
    return [p for p in (_trimmed(text, a, b) for a, b in pieces) if p]


def sentence_units(text: str, max_sentence: int) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for a, b in split_sentences(text):
        out.extend(split_long(text, a, b, max_sentence))
    return out


def pack_units(units: list[tuple[int, int]], target: int, overlap: int) -> list[tuple[int, int]]:
    """Pack consecutive sentence units into chunks of about `target` characters, each
    repeating up to `overlap` characters of whole units from the end of the previous one.
    Every chunk starts at a unit's start and ends at a unit's end."""
    return list(_pack(units, target, max(0, min(overlap, target // 2))))


def _pack(units: list[tuple[int, int]], target: int, overlap: int) -> Iterator[tuple[int, int]]:
    i = 0
    while i < len(units):
        j = i
        end = units[i][1]
        while j + 1 < len(units) and units[j + 1][1] - units[i][0] <= target:
            j += 1
            end = units[j][1]
        yield units[i][0], end
        if j + 1 >= len(units):
            return
        # next chunk starts with whole sentences from this chunk's tail, up to `overlap` chars
        k = j + 1
        while k - 1 > i and units[j][1] - units[k - 1][0] <= overlap:
            k -= 1
        i = k


def chunk_text(
    text: str,
    *,
    target: int = DEFAULT_TARGET,
    overlap: int = DEFAULT_OVERLAP,
    max_sentence: int | None = None,
) -> list[tuple[int, int]]:
    """Chunk spans over `text`."""
    if target < 20:
        raise ValueError(f"chunk target of {target} is too small; use 20 characters or more")
    units = sentence_units(text, max_sentence or min(target, MAX_SENTENCE_CHARS))
    return pack_units(units, target, overlap)


def chunk_article(
    article: Article, *, target: int = DEFAULT_TARGET, overlap: int = DEFAULT_OVERLAP
) -> list[Chunk]:
    spans = chunk_text(article.text, target=target, overlap=overlap)
    return [
        Chunk(id=f"{article.id}#c{n}", article_id=article.id, n=n, start=a, end=b, text=article.text[a:b])
        for n, (a, b) in enumerate(spans)
    ]


def context_header(article: Article) -> str:
    """Title, date and outlet: added before a chunk for embedding and BM25, never quoted."""
    parts = [article.title]
    meta = " ".join(p for p in ((article.published or "")[:10], article.source or "") if p)
    if meta:
        parts.append(meta)
    return "\n".join(p for p in parts if p)
