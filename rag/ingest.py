"""Stage 1: read articles from files, uploads and JSON records.

Formats: `.txt` / `.md` (the seeds' layout: title line, an optional "date [time] outlet"
line, then the body, optionally followed by a related-items section), `.jsonl`,
`.jsonl.gz` and `.json` (a list of records or `{"articles": [...]}`).

Nothing here raises for one bad file or record: every failure becomes a `FileError`
(path, reason that says what to do, line) and the rest of the batch goes through.
`Article.text` is the body in its original script; citation offsets refer to it.
"""

from __future__ import annotations

import codecs
import gzip
import hashlib
import io
import json
import logging
import os
import re
import unicodedata
import zlib
from collections.abc import Iterable, Iterator
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

from rag.errors import DecodeError
from rag.records import Article, FileError, IngestResult

log = logging.getLogger(__name__)

__all__ = ["decode_text", "parse_bytes", "parse_records", "read_paths"]

DEFAULT_MAX_BYTES = 500_000_000  # local files; the HTTP upload limit is separate (settings.max_upload_mb)
TITLE_MAX_CHARS = 80  # default titles (first line of a record's text) are cut to this
_LONG_LINE = 200  # a first line longer than this is a paragraph, not a title
_GZIP_MAX_RATIO = 20  # decompressed size may be at most max_bytes * this
_MAX_ERRORS_PER_FILE = 100
_MIN_PLAUSIBILITY = 0.5  # share of common CJK characters a legacy-encoding decode must reach
_SCORE_SAMPLE = 200_000  # characters scored when guessing a legacy encoding
_GZIP_MAGIC = b"\x1f\x8b"
_SUPPORTED = ".txt, .md, .jsonl or .jsonl.gz (or .json with a list of records)"
_SAVE_AS = "save it as UTF-8, GB18030 or Big5"

_RELATED_MARKERS = frozenset({"相關焦點", "相关焦点", "相关阅读", "相關閱讀", "相关新闻", "相關新聞"})
_DEBRIS = re.compile(r"^[\s|:\-=_*+]*$")  # table pipes, rules (---), empty cells
_BULLET = re.compile(r"^(?:[•●○◆◇■□▪▫►▶‣⁃∙]\s*|[·\-*+]\s+|\d{1,2}(?:[.)]\s+|、\s*))(?P<title>\S.*)$")
_MD_HEADING = re.compile(r"^#{1,6}\s+")
_DATE = r"(?P<y>\d{4})[-/.年](?P<m>\d{1,2})[-/.月](?P<d>\d{1,2})日?"
_TIME = r"(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?"
_SOURCE_LABEL = r"(?:来源|來源|source)\s*[:：]\s*"
_HEADER = re.compile(rf"^{_DATE}(?:[T\s]+{_TIME})?(?:\s+(?P<rest>.*?))?\s*$", re.IGNORECASE)
_SNIPPET_DATE_SOURCE = re.compile(
    rf"(?<!\d){_DATE}(?:[T\s]+{_TIME})?\s*{_SOURCE_LABEL}(?P<src>\S.*?)\s*$", re.IGNORECASE
)
_SNIPPET_DATE_END = re.compile(rf"(?<!\d){_DATE}[T\s]+{_TIME}\s*$")
_SNIPPET_SOURCE_START = re.compile(
    rf"^{_SOURCE_LABEL}(?P<src>[^\s\d,，。.;；:：!?！？()（）\[\]【】|/]+)", re.I
)
_ISO_LIKE = re.compile(rf"^\s*{_DATE}(?:[T\s]+{_TIME}(?:\.\d+)?)?(?:Z|[+-]\d{{2}}:?\d{{2}})?\s*$")
_SENTENCE_PUNCT = re.compile(r"[，。！？；,;!?]")
_PUNCT = frozenset("，。、；：？！「」『』（）《》“”‘’—…·〈〉【】〔〕•・％：～")
_JSON_TYPES = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", float: "a number"}


class _Skip(Exception):
    """Internal: one file/record cannot be used; `reason` says what to do."""

    def __init__(self, reason: str, line: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line


class _Errors:
    """Collects a file's errors, listing at most `_MAX_ERRORS_PER_FILE` of them."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.items: list[FileError] = []
        self.unlisted = 0

    def add(self, reason: str, line: int | None = None) -> None:
        if len(self.items) < _MAX_ERRORS_PER_FILE:
            self.items.append(FileError(self.origin, reason, line))
        else:
            self.unlisted += 1

    def done(self) -> list[FileError]:
        if self.unlisted:
            reason = f"{self.unlisted} more errors not listed; fix the ones above, then check the rest the same way"
            self.items.append(FileError(self.origin, reason))
        return self.items


# --------------------------------------------------------------------------- public API


def read_paths(paths: Iterable[str | Path], *, max_bytes: int = DEFAULT_MAX_BYTES) -> IngestResult:
    """Read files and directories (recursively, sorted, hidden entries skipped)."""
    if isinstance(paths, str | Path):
        paths = [paths]
    result = IngestResult()
    seen: set[Path] = set()
    for raw in paths:
        for file, error in _expand(Path(raw)):
            if error is not None:
                result.errors.append(error)
                continue
            assert file is not None
            key = file.resolve()
            if key in seen:
                continue
            seen.add(key)
            one = _read_file(file, max_bytes)
            result.articles.extend(one.articles)
            result.errors.extend(one.errors)
    return _finish(result)


def parse_bytes(name: str, data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> IngestResult:
    """Parse one uploaded file; its kind comes from `name`'s extension (gzip also by magic bytes)."""
    base = re.split(r"[\\/]", name)[-1] or name
    kind = _kind(base)
    if kind is None:
        result = _failed(name, _unsupported(base))
    elif len(data) > max_bytes:
        result = _failed(name, _too_big(len(data), max_bytes, kind))
    elif kind == "jsonl":
        result = _parse_jsonl(io.BytesIO(data), name, max_bytes)
    else:
        result = _parse_blob(kind, data, name, _stem(base), max_bytes)
    return _finish(result)


def parse_records(records: Iterable[dict[str, Any]], origin: str) -> IngestResult:
    """Turn JSON records `{id?, title?, text, published?, source?, url?}` into articles.

    A bad record becomes `FileError(origin, reason, line=n)` (n = 1-based record number).
    """
    return _finish(_records(records, origin))


def decode_text(data: bytes, path: str) -> str:
    """Decode a text file: UTF-8 (BOM or not), UTF-16/32 with BOM, GB18030/GBK or Big5.

    Raises `DecodeError` for binary data, empty files and undecodable bytes.
    """
    try:
        return _decode(data)
    except _Skip as skip:
        raise DecodeError(f"{path}: {skip.reason}") from None


# --------------------------------------------------------------------------- files


def _expand(path: Path) -> Iterator[tuple[Path | None, FileError | None]]:
    if path.is_dir():
        files: list[Path] = []
        for root, dirs, names in os.walk(path):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            files.extend(Path(root, n) for n in names if not n.startswith("."))
        for file in sorted(files):
            yield file, None
    elif path.is_file():
        yield path, None
    elif path.exists() or path.is_symlink():
        yield (
            None,
            FileError(str(path), "not a regular file or directory (or a broken link); give a file path"),
        )
    else:
        yield None, FileError(str(path), "no such file or directory; check the path and try again")


def _read_file(path: Path, max_bytes: int) -> IngestResult:
    origin = str(path)
    kind = _kind(path.name)
    if kind is None:
        return _failed(origin, _unsupported(path.name))
    try:
        size = path.stat().st_size
        if size > max_bytes:
            return _failed(origin, _too_big(size, max_bytes, kind))
        if kind == "jsonl":
            with path.open("rb") as fh:
                return _parse_jsonl(fh, origin, max_bytes)
        data = path.read_bytes()
    except OSError as exc:
        return _failed(
            origin, f"cannot read the file ({exc.strerror or exc}); check that it exists and is readable"
        )
    return _parse_blob(kind, data, origin, _stem(path.name), max_bytes)


def _kind(name: str) -> str | None:
    lower = name.lower()
    if lower.endswith((".jsonl", ".jsonl.gz")):
        return "jsonl"
    for suffix, kind in ((".json", "json"), (".txt", "text"), (".md", "markdown")):
        if lower.endswith(suffix):
            return kind
    return None


def _stem(name: str) -> str:
    for suffix in (".jsonl.gz", ".jsonl", ".json", ".txt", ".md"):
        if name.lower().endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def _unsupported(name: str) -> str:
    ext = "".join(Path(name).suffixes[-2:]) or "(no extension)"
    return f"unsupported file type {ext}; use {_SUPPORTED}"


def _too_big(size: int, limit: int, kind: str) -> str:
    how = (
        "split it into parts (e.g. `zcat -f FILE | split -l 50000 - part-`, then gzip each part)"
        if kind in ("jsonl", "json")
        else "split it into one file per article"
    )
    return f"file is {size:,} bytes, over the {limit:,}-byte limit; {how} or raise the limit"


def _failed(origin: str, reason: str, line: int | None = None) -> IngestResult:
    return IngestResult(errors=[FileError(origin, reason, line)])


def _gunzip(data: bytes, limit: int) -> bytes:
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as gz:
            out = gz.read(limit + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise _Skip(f"corrupt or truncated gzip data ({exc}); re-create it with `gzip -k FILE`") from None
    if len(out) > limit:
        raise _Skip(f"decompresses to over {limit:,} bytes; split the data into smaller files") from None
    return out


def _parse_blob(kind: str, data: bytes, origin: str, stem: str, max_bytes: int) -> IngestResult:
    """A .txt, .md or .json file held in memory (gzip-compressed or not)."""
    try:
        if data.startswith(_GZIP_MAGIC):
            data = _gunzip(data, max_bytes * _GZIP_MAX_RATIO)
        text = _decode(data)
        if kind == "json":
            return _parse_json(text, origin)
        return IngestResult(articles=_parse_text(text, stem, origin, markdown=kind == "markdown"))
    except _Skip as skip:
        return _failed(origin, skip.reason, skip.line)


def _finish(result: IngestResult) -> IngestResult:
    """Drop articles whose id was already produced in this batch (and their related items)."""
    seen: dict[str, str | None] = {}
    dropped: set[tuple[str | None, str]] = set()
    kept: list[Article] = []
    for article in result.articles:
        if article.parent_id is not None and (article.path, article.parent_id) in dropped:
            continue
        if article.id in seen:
            first = seen[article.id] or "an earlier record"
            reason = f"duplicate article id {article.id!r} (already read from {first}); give each article a unique id or file name"
            result.errors.append(FileError(article.path or "", reason))
            dropped.add((article.path, article.id))
            continue
        seen[article.id] = article.path
        kept.append(article)
    result.articles = kept
    for error in result.errors:
        log.info("ingest error %s%s: %s", error.path, f":{error.line}" if error.line else "", error.reason)
    log.debug("ingested %d articles, %d errors", len(kept), len(result.errors))
    return result


# --------------------------------------------------------------------------- JSON


def _parse_jsonl(raw: IO[bytes], origin: str, max_bytes: int) -> IngestResult:
    result = IngestResult()
    errors = _Errors(origin)
    limit = max_bytes * _GZIP_MAX_RATIO
    line_no = total = 0
    try:
        fh: IO[bytes] | gzip.GzipFile = raw
        if raw.read(2) == _GZIP_MAGIC:
            raw.seek(0)
            fh = gzip.GzipFile(fileobj=raw)
        else:
            raw.seek(0)
        while line := fh.readline(limit - total + 1):  # bounded: a gzip bomb cannot fill memory
            line_no += 1
            total += len(line)
            if total > limit:
                errors.add(
                    f"decompresses to over {limit:,} bytes; split the data into smaller files", line_no
                )
                break
            if line_no == 1 and line.startswith(codecs.BOM_UTF8):
                line = line[len(codecs.BOM_UTF8) :]
            if not line.strip():
                continue
            try:
                record = json.loads(line.decode("utf-8"))
                result.articles.append(_record_article(record, origin, line_no, kind="line"))
            except UnicodeDecodeError:
                if not result.articles and line_no == 1:
                    errors.add("not UTF-8; JSONL must be UTF-8 (convert with `iconv -f GB18030 -t UTF-8`)", 1)
                    break
                errors.add("line is not valid UTF-8; re-save the file as UTF-8", line_no)
            except RecursionError:
                errors.add("JSON nested too deeply; write one flat object per line", line_no)
            except ValueError as exc:
                msg = (
                    f"{exc.msg} at column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else str(exc)
                )
                errors.add(f"malformed JSON ({msg}); fix or remove this line", line_no)
            except _Skip as skip:
                errors.add(skip.reason, skip.line)
    except (OSError, EOFError, zlib.error) as exc:
        errors.add(
            f"corrupt or truncated gzip data after line {line_no} ({exc}); "
            "the lines before it were read; re-create the archive with `gzip -k FILE.jsonl`"
        )
    if not result.articles and not errors.items:
        errors.add('empty file; put one JSON object per line, e.g. {"title": ..., "text": ...}')
    result.errors.extend(errors.done())
    return result


def _parse_json(text: str, origin: str) -> IngestResult:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _Skip(
            f"invalid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}); fix the file", exc.lineno
        ) from None
    except (ValueError, RecursionError) as exc:
        raise _Skip(f"invalid JSON ({exc}); fix the file") from None
    if isinstance(data, dict) and isinstance(data.get("articles"), list):
        data = data["articles"]
    elif isinstance(data, dict) and "text" in data:
        data = [data]
    if not isinstance(data, list):
        raise _Skip('expected a list of records or {"articles": [...]}; wrap the records in a JSON list')
    return _records(data, origin)


def _records(records: Iterable[Any], origin: str) -> IngestResult:
    result = IngestResult()
    errors = _Errors(origin)
    for n, record in enumerate(records, start=1):
        try:
            result.articles.append(_record_article(record, origin, n))
        except _Skip as skip:
            errors.add(skip.reason, skip.line)
    result.errors.extend(errors.done())
    return result


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    return _JSON_TYPES.get(type(value), "a number" if isinstance(value, int) else type(value).__name__)


def _record_article(record: object, origin: str, n: int, *, kind: str = "record") -> Article:
    where = f"{kind} {n}: " if kind == "record" else ""
    if not isinstance(record, dict):
        raise _Skip(
            f'{where}expected a JSON object like {{"title": ..., "text": ...}}, got {_json_type(record)}', n
        )
    text = record.get("text")
    if text is None:
        raise _Skip(f'{where}no "text" field; put the article body in "text"', n)
    if not isinstance(text, str):
        raise _Skip(f'{where}"text" must be a string, got {_json_type(text)}', n)
    text = "\n".join(text.splitlines()).strip()
    if not text:
        raise _Skip(f'{where}"text" is empty; give the article body or drop the record', n)
    fields: dict[str, str | None] = {}
    for name in ("title", "published", "source", "url"):
        value = record.get(name)
        if value is not None and not isinstance(value, str):
            raise _Skip(f'{where}"{name}" must be a string or null, got {_json_type(value)}', n)
        fields[name] = (value.strip() or None) if isinstance(value, str) else None
    title = fields["title"] or _default_title(text)
    raw_id = record.get("id")
    if raw_id is None or raw_id == "":
        article_id = _content_id(title, text)
    elif isinstance(raw_id, str | int) and not isinstance(raw_id, bool):
        article_id = str(raw_id).strip() or _content_id(title, text)
    else:
        raise _Skip(f'{where}"id" must be a string or an integer, got {_json_type(raw_id)}', n)
    published = fields["published"]
    if published is not None:
        iso = _iso_from_match(_ISO_LIKE.match(published))
        if iso is None:
            log.warning("%s %s: unreadable date %r ignored; use ISO 8601 (2020-12-05)", origin, n, published)
        published = iso
    return Article(
        id=article_id,
        title=title,
        text=text,
        published=published,
        source=fields["source"],
        url=fields["url"],
        path=origin,
    )


def _default_title(text: str) -> str:
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return first[:TITLE_MAX_CHARS]


def _content_id(title: str, text: str) -> str:
    return "h" + hashlib.sha256(f"{title}\x1f{text}".encode()).hexdigest()[:16]


# --------------------------------------------------------------------------- decoding


def _decode(data: bytes) -> str:
    if data.startswith(codecs.BOM_UTF8):
        text = _strict(
            data[len(codecs.BOM_UTF8) :], "utf-8", "starts with a UTF-8 mark but is not valid UTF-8"
        )
    elif data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        text = _strict(data, "utf-32", "starts with a UTF-32 mark but is not valid UTF-32")
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = _strict(data, "utf-16", "starts with a UTF-16 mark but is not valid UTF-16")
    elif b"\x00" in data:
        raise _Skip(
            f"not a text file (it contains NUL bytes: binary data or UTF-16 without a mark); {_SAVE_AS}"
        )
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = _decode_legacy(data)
    if not text.strip():
        raise _Skip("empty file; put the title on the first line and the article below it")
    controls = sum(
        1 for c in text[:_SCORE_SAMPLE] if unicodedata.category(c) == "Cc" and c not in "\t\n\r\f\v"
    )
    if controls > 0.05 * min(len(text), _SCORE_SAMPLE):
        raise _Skip(f"not a text file (mostly control characters); {_SAVE_AS}")
    return text


def _strict(data: bytes, encoding: str, reason: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        raise _Skip(f"{reason}; {_SAVE_AS}") from None


def _decode_legacy(data: bytes) -> str:
    """GB18030 vs Big5: both often accept each other's bytes, so keep the most plausible decode."""
    best: tuple[float, str] | None = None
    for encoding in ("gb18030", "big5hkscs", "cp950"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        score = _plausibility(text)
        log.debug("decoding as %s: plausibility %.3f", encoding, score)
        if best is None or score > best[0]:
            best = (score, text)
    if best is None:
        raise _Skip(f"not valid UTF-8, GB18030 or Big5 text; {_SAVE_AS}")
    if best[0] < _MIN_PLAUSIBILITY:
        raise _Skip(
            f"does not decode to readable text in UTF-8, GB18030 or Big5 (mostly rare characters); {_SAVE_AS}"
        )
    return best[1]


@lru_cache(maxsize=1)
def _common_chars() -> frozenset[str]:
    """The 3,755 level-1 GB2312 characters (the most common Simplified ones) and their Traditional forms."""
    simplified = []
    for lead in range(0xB0, 0xD8):
        for trail in range(0xA1, 0xFF):
            try:
                simplified.append(bytes((lead, trail)).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    chars = set(simplified)
    try:
        import opencc

        joined = "\n".join(simplified)
        for config in ("s2t", "s2tw", "s2hk"):
            chars.update(opencc.OpenCC(config).convert(joined).replace("\n", ""))
    except Exception as exc:  # opencc missing or broken: Simplified-only scoring still works for GB
        log.warning("OpenCC unavailable (%s); Big5 detection is less reliable", exc)
    return frozenset(chars)


def _plausibility(text: str) -> float:
    """Share of non-ASCII characters that are common CJK characters or punctuation."""
    common = _common_chars()
    chars = [c for c in text[:_SCORE_SAMPLE] if ord(c) > 127 and not c.isspace()]
    if not chars:
        return 1.0
    return sum(1 for c in chars if c in common or c in _PUNCT) / len(chars)


# --------------------------------------------------------------------------- text layout


def _parse_text(text: str, article_id: str, origin: str | None, *, markdown: bool) -> list[Article]:
    lines = [line.strip() for line in text.splitlines()]
    lines = [line for line in lines if line and not _DEBRIS.match(line)]
    if not lines:
        raise _Skip("no text left after removing blank lines and page debris; add the article text")
    title = _MD_HEADING.sub("", lines[0]).strip() if markdown else lines[0]
    body = lines[1:]
    published = source = None
    if len(title) > _LONG_LINE or not title:
        title, body = _default_title(lines[0]), lines  # a paragraph, not a title: keep it in the text
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
    published = _iso_from_match(match)
    if match is None or published is None:
        return None
    rest = match.group("rest") or ""
    rest = re.sub(rf"^{_SOURCE_LABEL}", "", rest, flags=re.IGNORECASE).strip()
    if len(rest) > 40 or _SENTENCE_PUNCT.search(rest):
        return None  # a sentence that starts with a date: body text, not a header
    return published, rest or None


def _iso_from_match(match: re.Match[str] | None) -> str | None:
    if match is None:
        return None
    parts = match.groupdict()
    try:
        y, m, d = int(parts["y"]), int(parts["m"]), int(parts["d"])
        hour, minute, second = (int(parts[k]) if parts.get(k) else None for k in ("H", "M", "S"))
        datetime(y, m, d, hour or 0, minute or 0, second or 0)
    except (ValueError, TypeError):
        return None
    iso = f"{y:04d}-{m:02d}-{d:02d}"
    if hour is not None and minute is not None:
        iso += f"T{hour:02d}:{minute:02d}" + (f":{second:02d}" if second is not None else "")
    return iso


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
        if both and (iso := _iso_from_match(both)) is not None:
            return iso, both.group("src")
        if published is None:
            published = _iso_from_match(_SNIPPET_DATE_END.search(line))
        if source is None and (start := _SNIPPET_SOURCE_START.match(line)):
            source = start.group("src")
    return published, source
