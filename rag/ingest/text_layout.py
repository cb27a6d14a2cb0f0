"""`.txt` and `.md` articles, the seeds' layout: a title line, an optional "date [time]
outlet" line, then the body, optionally followed by a related-items section (each item an
article of its own, linked to its parent)."""

from __future__ import annotations

import logging
import re

from rag.ingest.fields import DATE, TIME, default_title, iso_from_match
from rag.ingest.skip import Skip
from rag.records import Article

log = logging.getLogger(__name__)


_LONG_LINE = 200  # a first line longer than this is a paragraph, not a title
_RELATED_MARKERS = frozenset({"相關焦點", "相关焦点", "相关阅读", "相關閱讀", "相关新闻", "相關新聞"})
_DEBRIS = re.compile(r"^[\s|:\-=_*+]*$")  # table pipes, rules (---), empty cells
_BULLET = re.compile(r"^(?:[•●○◆◇■□▪▫►▶‣⁃∙]\s*|[·\-*+]\s+|\d{1,2}(?:[.)]\s+|、\s*))(?P<title>\S.*)$")
_MD_HEADING = re.compile(r"^#{1,6}\s+")
_SOURCE_LABEL = r"(?:来源|來源|source)\s*[:：]\s*"
_HEADER = re.compile(rf"^{DATE}(?:[T\s]+{TIME})?(?:\s+(?P<rest>.*?))?\s*$", re.IGNORECASE)
_SNIPPET_DATE_SOURCE = re.compile(
    rf"(?<!\d){DATE}(?:[T\s]+{TIME})?\s*{_SOURCE_LABEL}(?P<src>\S.*?)\s*$", re.IGNORECASE
)
_SNIPPET_DATE_END = re.compile(rf"(?<!\d){DATE}[T\s]+{TIME}\s*$")
_SNIPPET_SOURCE_START = re.compile(
    rf"^{_SOURCE_LABEL}(?P<src>[^\s\d,，。.;；:：!?！？()（）\[\]【】|/]+)", re.I
)
_SENTENCE_PUNCT = re.compile(r"[，。！？；,;!?]")


def check_line_lengths(text: str, max_line: int) -> None:
    """Refuse a text whose lines (paragraphs) are longer than the limit (in UTF-8 bytes, roughly)."""
    max_chars = max(1, max_line // 3)
    start = line_no = 0
    while start < len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        line_no += 1
        if end - start > max_chars:
            raise Skip(
                f"line {line_no} has {end - start:,} characters, over the {max_chars:,}-character limit; "
                "break the text into paragraphs (the limit is ZHIWEN_MAX_LINE_MB)",
                line_no,
            )
        start = end + 1


def parse_text(text: str, article_id: str, origin: str | None, *, markdown: bool) -> list[Article]:
    lines = [line.strip() for line in text.splitlines()]
    lines = [line for line in lines if line and not _DEBRIS.match(line)]
    if not lines:
        raise Skip("no text left after removing blank lines and page debris; add the article text")
    title = _MD_HEADING.sub("", lines[0]).strip() if markdown else lines[0]
    body = lines[1:]
    published = source = None
    if len(title) > _LONG_LINE or not title:
        title, body = default_title(lines[0]), lines  # a paragraph, not a title: keep it in the text
    elif body and (header := _parse_header(body[0])) is not None:
        published, source = header
        body = body[1:]
    related: list[Article] = []
    cut = next((i for i, line in enumerate(body) if line in _RELATED_MARKERS), None)
    if cut is not None:
        related = _related_items(body[cut + 1 :], article_id, origin)
        body = body[:cut]
    article = Article(
        id=article_id,
        title=title,
        text="\n".join(body) if body else title,
        published=published,
        source=source,
        parent_id=None,
        path=origin,
    )
    return [article, *related]


def _parse_header(line: str) -> tuple[str, str | None] | None:
    """`2019-09-25 12:55:03 华夏经纬网` -> ("2019-09-25T12:55:03", "华夏经纬网"); None if not a header."""
    match = _HEADER.match(line)
    published = iso_from_match(match)
    if match is None or published is None:
        return None
    rest = match.group("rest") or ""
    rest = re.sub(rf"^{_SOURCE_LABEL}", "", rest, flags=re.IGNORECASE).strip()
    if len(rest) > 40 or _SENTENCE_PUNCT.search(rest):
        return None  # a sentence that starts with a date: body text, not a header
    return published, rest or None


def _related_items(lines: list[str], parent_id: str, origin: str | None) -> list[Article]:
    """Each bullet line starts an item (its title); the following lines are its snippet."""
    items: list[tuple[str, list[str]]] = []
    has_bullets = any(_BULLET.match(line) for line in lines)
    for line in lines:
        bullet = _BULLET.match(line)
        if bullet or not has_bullets:
            items.append((bullet.group("title").strip() if bullet else line, []))
        elif items:
            items[-1][1].append(line)
        else:
            log.debug("%s: text before the first related item dropped: %r", origin, line[:40])
    articles = []
    for k, (title, snippet) in enumerate(items, start=1):
        published, source = _snippet_meta(snippet)
        articles.append(
            Article(
                id=f"{parent_id}/rel-{k}",
                title=title,
                text="\n".join([title, *snippet]),
                published=published,
                source=source,
                parent_id=parent_id,
                path=origin,
            )
        )
    return articles


def _snippet_meta(snippet: list[str]) -> tuple[str | None, str | None]:
    """Date and outlet of a related item, when its snippet names them (never the parent's)."""
    published = source = None
    for line in snippet:
        both = _SNIPPET_DATE_SOURCE.search(line)
        if both and (iso := iso_from_match(both)) is not None:
            return iso, both.group("src")
        if published is None:
            published = iso_from_match(_SNIPPET_DATE_END.search(line))
        if source is None and (start := _SNIPPET_SOURCE_START.match(line)):
            source = start.group("src")
    return published, source
