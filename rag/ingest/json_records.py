"""JSON records (`.jsonl`, `.jsonl.gz`, `.json`, and records passed in) to articles."""

from __future__ import annotations

import codecs
import json
import logging
import re
import zlib
from collections.abc import Iterable
from typing import IO, Any

from rag.ingest.decode import legacy_encoding
from rag.ingest.fields import DATE, MAX_ID_CHARS, TIME, content_id, default_title, iso_from_match
from rag.ingest.reading import Meter, nonblank_lines, open_stream
from rag.ingest.skip import SAVE_AS, FileErrors, Skip
from rag.records import Article, IngestResult

log = logging.getLogger(__name__)


_ISO_LIKE = re.compile(rf"^\s*{DATE}(?:[T\s]+{TIME}(?:\.\d+)?)?(?:Z|[+-]\d{{2}}:?\d{{2}})?\s*$")
_SURROGATE = re.compile("[\ud800-\udfff]")
_JSON_TYPES = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", float: "a number"}


def parse_jsonl(raw: IO[bytes], origin: str, meter: Meter) -> IngestResult:
    result = IngestResult()
    errors = FileErrors(origin)
    line_no = 0
    encoding = "utf-8"
    try:
        for line_no, line in nonblank_lines(open_stream(raw), meter):
            meter.hold(len(line))  # kept (as an article) until the file is done
            if line_no == 1 and line.startswith(codecs.BOM_UTF8):
                line = line[len(codecs.BOM_UTF8) :]
            try:
                try:
                    decoded = line.decode(encoding)
                except UnicodeDecodeError:
                    legacy = legacy_encoding(line) if encoding == "utf-8" else None
                    if legacy is None:
                        raise
                    encoding = legacy  # the file is GB18030 or Big5: keep reading it so
                    decoded = line.decode(encoding)
                record = json.loads(decoded)
                result.articles.append(_record_article(record, origin, line_no, kind="line"))
            except UnicodeDecodeError:
                errors.add(f"line is not valid {encoding.upper()} text; {SAVE_AS}", line_no)
            except RecursionError:
                errors.add("JSON nested too deeply; write one flat object per line", line_no)
            except ValueError as exc:
                msg = (
                    f"{exc.msg} at column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else str(exc)
                )
                errors.add(f"malformed JSON ({msg}); fix or remove this line", line_no)
            except Skip as skip:
                errors.add(skip.reason, skip.line)
    except Skip as skip:
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


def parse_json(text: str, origin: str) -> IngestResult:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise Skip(
            f"invalid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}); fix the file", exc.lineno
        ) from None
    except (ValueError, RecursionError) as exc:
        raise Skip(f"invalid JSON ({exc}); fix the file") from None
    if isinstance(data, dict) and isinstance(data.get("articles"), list):
        data = data["articles"]
    elif isinstance(data, dict) and "text" in data:
        data = [data]
    if not isinstance(data, list):
        raise Skip('expected a list of records or {"articles": [...]}; wrap the records in a JSON list')
    return parse_record_list(data, origin)


def parse_record_list(records: Iterable[Any], origin: str) -> IngestResult:
    result = IngestResult()
    errors = FileErrors(origin)
    for n, record in enumerate(records, start=1):
        try:
            result.articles.append(_record_article(record, origin, n))
        except Skip as skip:
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
        raise Skip(
            f'{where}expected a JSON object like {{"title": ..., "text": ...}}, got {_json_type(record)}', n
        )
    text = record.get("text")
    if text is None:
        raise Skip(f'{where}no "text" field; put the article body in "text"', n)
    if not isinstance(text, str):
        raise Skip(f'{where}"text" must be a string, got {_json_type(text)}', n)
    text = "\n".join(text.splitlines()).strip()
    if not text:
        raise Skip(f'{where}"text" is empty; give the article body or drop the record', n)
    for name in ("id", "title", "text", "published", "source", "url"):
        value = record.get(name)
        if isinstance(value, str) and _SURROGATE.search(value):
            raise Skip(
                f'{where}"{name}" holds a lone surrogate escape (like \\ud800), which is not text; '
                "fix or remove this record",
                n,
            )
    fields: dict[str, str | None] = {}
    for name in ("title", "published", "source", "url"):
        value = record.get(name)
        if value is not None and not isinstance(value, str):
            raise Skip(f'{where}"{name}" must be a string or null, got {_json_type(value)}', n)
        fields[name] = (value.strip() or None) if isinstance(value, str) else None
    title = fields["title"] or default_title(text)
    raw_id = record.get("id")
    if raw_id is None or raw_id == "":
        article_id = content_id(title, text)
    elif isinstance(raw_id, str | int) and not isinstance(raw_id, bool):
        article_id = str(raw_id).strip() or content_id(title, text)
        if len(article_id) > MAX_ID_CHARS:
            raise Skip(
                f'{where}"id" has {len(article_id):,} characters; ids are limited to {MAX_ID_CHARS}', n
            )
    else:
        raise Skip(f'{where}"id" must be a string or an integer, got {_json_type(raw_id)}', n)
    published = fields["published"]
    if published is not None:
        iso = iso_from_match(_ISO_LIKE.match(published))
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
