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
import stat
import threading
import unicodedata
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

from rag.errors import DecodeError
from rag.records import Article, FileError, IngestResult

log = logging.getLogger(__name__)

__all__ = [
    "ByteBudget",
    "IngestLimits",
    "decode_text",
    "merge_results",
    "parse_bytes",
    "parse_records",
    "read_paths",
    "shared_budget",
]

MiB = 1 << 20
DEFAULT_MAX_BYTES = 256 * MiB  # one file, after decompression (settings.max_file_mb)
DEFAULT_MAX_LINE_BYTES = 8 * MiB  # one line of a file (settings.max_line_mb)
MAX_ID_CHARS = 500  # one limit for article ids: on the way in (every source) and on read/delete
TITLE_MAX_CHARS = 80  # default titles (first line of a record's text) are cut to this
_LONG_LINE = 200  # a first line longer than this is a paragraph, not a title
_READ_CHUNK = MiB  # files and gzip streams are read in pieces of this size
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
_SURROGATE = re.compile("[\ud800-\udfff]")
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


class ByteBudget:
    """A byte budget shared by every parse in the process: each file being read takes its
    bytes from it as they are read (decompressed) and gives them back when the file is done,
    so concurrent uploads cannot together hold more than `capacity` bytes, whatever their
    compression ratio. A file that cannot get its next piece is refused at once (no waiting)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._used = 0
        self._lock = threading.Lock()

    @property
    def used(self) -> int:
        with self._lock:
            return self._used

    def take(self, n: int) -> bool:
        with self._lock:
            if self._used + n > self.capacity:
                return False
            self._used += n
            return True

    def give(self, n: int) -> None:
        with self._lock:
            self._used = max(0, self._used - n)


_SHARED: dict[str, ByteBudget] = {}
_SHARED_LOCK = threading.Lock()


def shared_budget(capacity: int) -> ByteBudget:
    """The process-wide budget (created on first use with `capacity`; later calls share it)."""
    with _SHARED_LOCK:
        budget = _SHARED.get("budget")
        if budget is None:
            budget = _SHARED["budget"] = ByteBudget(capacity)
        return budget


@dataclass(frozen=True)
class IngestLimits:
    """The limits of every ingest path (CLI, HTTP API, web UI); built from the settings by
    `IngestLimits.from_settings`."""

    max_file_bytes: int = DEFAULT_MAX_BYTES  # one file after decompression
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES  # one line of a file
    budget: ByteBudget | None = None  # shared by concurrent parses (the server's)

    @classmethod
    def from_settings(cls, settings: Any, *, shared: bool = False) -> IngestLimits:
        return cls(
            max_file_bytes=int(settings.max_file_mb * MiB),
            max_line_bytes=int(settings.max_line_mb * MiB),
            budget=shared_budget(int(settings.decompress_budget_mb * MiB)) if shared else None,
        )


class _Meter:
    """Counts the bytes one file has read against its limit and the shared budget."""

    def __init__(self, limits: IngestLimits) -> None:
        self.limits = limits
        self.total = 0
        self._taken = 0

    def charge(self, n: int, *, hold: bool = True) -> None:
        """Count `n` more bytes read; `hold` when they stay in memory (taken from the shared budget)."""
        self.total += n
        if self.total > self.limits.max_file_bytes:
            raise _Skip(
                f"over {self.limits.max_file_bytes:,} bytes (after decompression); split the data into "
                "smaller files (the limit is ZHIWEN_MAX_FILE_MB)"
            )
        budget = self.limits.budget
        if budget is not None and hold:
            if not budget.take(n):
                raise _Skip(
                    "the server is reading too much data at once (other uploads are being decompressed); "
                    "retry in a minute or send smaller files (the budget is ZHIWEN_DECOMPRESS_BUDGET_MB)"
                )
            self._taken += n

    def hold(self, n: int) -> None:
        """Take `n` bytes already counted from the shared budget (they stay in memory)."""
        self.total -= n
        self.charge(n)

    def release(self) -> None:
        if self.limits.budget is not None and self._taken:
            self.limits.budget.give(self._taken)
        self._taken = 0


def _stream(raw: IO[bytes]) -> Any:
    """`raw`, or a decompressing view of it when it starts with the gzip magic."""
    head = raw.read(2)
    raw.seek(0)
    if head == _GZIP_MAGIC:
        return gzip.GzipFile(fileobj=raw)
    return raw


def _read_all(raw: IO[bytes], meter: _Meter) -> bytearray:
    """The whole (decompressed) content, read piece by piece within the meter's limits; binary
    data (NUL bytes without a UTF-16/32 mark) is refused at its first piece."""
    data = bytearray()
    fh = _stream(raw)
    try:
        while piece := fh.read1(_READ_CHUNK):
            meter.charge(len(piece))
            if not data and b"\x00" in piece and not piece.startswith(_WIDE_BOMS):
                raise _Skip(_BINARY)
            data += piece
    except (OSError, EOFError, zlib.error) as exc:
        raise _Skip(f"corrupt or truncated gzip data ({exc}); re-create it with `gzip -k FILE`") from None
    return data


_NON_SPACE = re.compile(rb"[^\s]")


def _lines(fh: Any, meter: _Meter) -> Iterator[tuple[int, bytes]]:
    """(line number, line) of the non-blank lines, read in pieces: runs of blank lines are skipped
    at C speed (a newline bomb is cut off by size, not line by line), and a line longer than
    the limit stops the file with an error."""
    max_line = meter.limits.max_line_bytes
    buf = b""
    line_no = 1  # number of the line that starts at buf[0]
    eof = False
    while True:
        if not eof:  # the loop below consumed every complete line: read on
            piece = fh.read1(_READ_CHUNK)  # read1: a truncated gzip keeps the data before the damage
            if piece:
                meter.charge(len(piece), hold=False)
                buf += piece
            else:
                eof = True
        start = 0
        while True:
            if start == 0 and buf[:1].isspace() and not buf.strip():  # a run of blank lines
                line_no += buf.count(b"\n")
                buf = b""
                break
            m = _NON_SPACE.search(buf, start)
            if m is None:
                line_no += buf.count(b"\n", start)
                buf, start = b"", 0
                break
            line_no += buf.count(b"\n", start, m.start())
            start = m.start()
            end = buf.find(b"\n", start)
            if end < 0:
                if len(buf) - start > max_line:
                    raise _Skip(_long_line(max_line), line_no)
                buf = buf[start:]
                start = 0
                break
            if end - start > max_line:
                raise _Skip(_long_line(max_line), line_no)
            yield line_no, buf[start:end]
            line_no += 1
            start = end + 1
        if eof:
            if buf.strip():
                yield line_no, buf
            return


def _long_line(limit: int) -> str:
    return (
        f"a line is longer than {limit:,} bytes (the lines before it were read); put one article "
        "per line and split very long texts (the limit is ZHIWEN_MAX_LINE_MB)"
    )


# --------------------------------------------------------------------------- public API


def read_paths(
    paths: Iterable[str | Path], *, max_bytes: int | None = None, limits: IngestLimits | None = None
) -> IngestResult:
    """Read files and directories (recursively, sorted, hidden entries skipped).

    Only regular files are read (FIFOs, devices, sockets and broken or looping links are
    reported and skipped), each within `limits` (`max_bytes` overrides its file size limit)."""
    if isinstance(paths, str | Path):
        paths = [paths]
    limits = _with_max(limits, max_bytes)
    result = IngestResult()
    seen: set[Path] = set()
    for raw in paths:
        for file, error in _expand(Path(raw)):
            if error is not None:
                result.errors.append(error)
                continue
            assert file is not None
            try:
                key = file.resolve(strict=True)
            except (OSError, RuntimeError):
                result.errors.append(
                    FileError(str(file), "a broken or looping symbolic link; fix or remove it")
                )
                continue
            if key in seen:
                continue
            seen.add(key)
            one = _read_file(file, limits)
            result.articles.extend(one.articles)
            result.errors.extend(one.errors)
    return _finish(result)


def parse_bytes(
    name: str, data: bytes, *, max_bytes: int | None = None, limits: IngestLimits | None = None
) -> IngestResult:
    """Parse one uploaded file; its kind comes from `name`'s extension (gzip also by magic bytes)."""
    limits = _with_max(limits, max_bytes)
    base = re.split(r"[\\/]", name)[-1] or name
    kind = _kind(base)
    if kind is None:
        result = _failed(name, _unsupported(base))
    elif len(data) > limits.max_file_bytes:
        result = _failed(name, _too_big(len(data), limits.max_file_bytes, kind))
    else:
        result = _parse_stream(kind, io.BytesIO(data), name, _stem(base), limits)
    return _finish(result)


def supported(name: str) -> bool:
    """Whether `name` has a type this module reads (.txt .md .json .jsonl .jsonl.gz)."""
    return _kind(re.split(r"[\\/]", name)[-1] or name) is not None


SUPPORTED_TYPES = ".txt, .md, .json, .jsonl, .jsonl.gz"


def _with_max(limits: IngestLimits | None, max_bytes: int | None) -> IngestLimits:
    limits = limits if limits is not None else IngestLimits()
    if max_bytes is not None:
        limits = IngestLimits(max_bytes, min(limits.max_line_bytes, max(max_bytes, 1)), limits.budget)
    return limits


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
    try:
        is_dir = path.is_dir()
    except OSError as exc:
        yield None, FileError(str(path), f"cannot read it ({exc.strerror or exc}); check the path")
        return
    if is_dir:
        files: list[Path] = []
        for root, dirs, names in os.walk(path, onerror=None):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            files.extend(Path(root, n) for n in names if not n.startswith("."))
        for file in sorted(files):
            yield file, _not_regular(file)
    elif path.exists() or path.is_symlink():
        yield path, _not_regular(path)
    else:
        yield None, FileError(str(path), "no such file or directory; check the path and try again")


def _not_regular(path: Path) -> FileError | None:
    """None for a regular file (or a link to one); else why it is skipped."""
    try:
        mode = path.stat().st_mode
    except RuntimeError:
        return FileError(str(path), "a symbolic link loop; fix or remove the link")
    except OSError as exc:
        if path.is_symlink():
            return FileError(str(path), "a broken or looping symbolic link; fix or remove it")
        return FileError(str(path), f"cannot read it ({exc.strerror or exc}); check its permissions")
    if stat.S_ISREG(mode):
        return None
    what = (
        "a FIFO (named pipe)"
        if stat.S_ISFIFO(mode)
        else "a device"
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
        else "a socket"
        if stat.S_ISSOCK(mode)
        else "not a regular file"
    )
    return FileError(str(path), f"{what}, not a regular file; only regular files are indexed")


def _read_file(path: Path, limits: IngestLimits) -> IngestResult:
    origin = str(path)
    kind = _kind(path.name)
    if kind is None:
        return _failed(origin, _unsupported(path.name))
    try:
        # O_NONBLOCK: a FIFO swapped in after the check must not hang the run
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as fh:
            st = os.fstat(fh.fileno())
            if not stat.S_ISREG(st.st_mode):
                return _failed(origin, "not a regular file; only regular files are indexed")
            if st.st_size > limits.max_file_bytes:
                return _failed(origin, _too_big(st.st_size, limits.max_file_bytes, kind))
            return _parse_stream(kind, fh, origin, _stem(path.name), limits)
    except OSError as exc:
        return _failed(
            origin, f"cannot read the file ({exc.strerror or exc}); check that it exists and is readable"
        )


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


def _parse_stream(kind: str, raw: IO[bytes], origin: str, stem: str, limits: IngestLimits) -> IngestResult:
    """One file (gzip-compressed or not), read within `limits`."""
    meter = _Meter(limits)
    try:
        if kind == "jsonl":
            return _parse_jsonl(raw, origin, meter)
        return _parse_blob(kind, _read_all(raw, meter), origin, stem, limits.max_line_bytes)
    except _Skip as skip:
        return _failed(origin, skip.reason, skip.line)
    finally:
        meter.release()


def _parse_blob(kind: str, data: bytes | bytearray, origin: str, stem: str, max_line: int) -> IngestResult:
    """A .txt, .md or .json file's (decompressed) bytes."""
    try:
        text = _decode(data)
        del data
        if kind == "json":
            return _parse_json(text, origin)
        _check_line_lengths(text, max_line)
        return IngestResult(articles=_parse_text(text, stem, origin, markdown=kind == "markdown"))
    except _Skip as skip:
        return _failed(origin, skip.reason, skip.line)


def _check_line_lengths(text: str, max_line: int) -> None:
    """Refuse a text whose lines (paragraphs) are longer than the limit (in UTF-8 bytes, roughly)."""
    max_chars = max(1, max_line // 3)
    start = line_no = 0
    while start < len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        line_no += 1
        if end - start > max_chars:
            raise _Skip(
                f"line {line_no} has {end - start:,} characters, over the {max_chars:,}-character limit; "
                "break the text into paragraphs (the limit is ZHIWEN_MAX_LINE_MB)",
                line_no,
            )
        start = end + 1


def merge_results(parts: Iterable[IngestResult]) -> IngestResult:
    """Join results read separately (one per file, e.g. by distributed tasks) in order, with
    the rules of one `read_paths` call over all of them: an id already read from an earlier
    file is dropped (with its related items) and reported."""
    merged = IngestResult()
    for part in parts:
        merged.articles.extend(part.articles)
        merged.errors.extend(part.errors)
    return _finish(merged)


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


def _parse_jsonl(raw: IO[bytes], origin: str, meter: _Meter) -> IngestResult:
    result = IngestResult()
    errors = _Errors(origin)
    line_no = 0
    encoding = "utf-8"
    try:
        for line_no, line in _lines(_stream(raw), meter):
            meter.hold(len(line))  # kept (as an article) until the file is done
            if line_no == 1 and line.startswith(codecs.BOM_UTF8):
                line = line[len(codecs.BOM_UTF8) :]
            try:
                try:
                    decoded = line.decode(encoding)
                except UnicodeDecodeError:
                    legacy = _legacy_encoding(line) if encoding == "utf-8" else None
                    if legacy is None:
                        raise
                    encoding = legacy  # the file is GB18030 or Big5: keep reading it so
                    decoded = line.decode(encoding)
                record = json.loads(decoded)
                result.articles.append(_record_article(record, origin, line_no, kind="line"))
            except UnicodeDecodeError:
                errors.add(f"line is not valid {encoding.upper()} text; {_SAVE_AS}", line_no)
            except RecursionError:
                errors.add("JSON nested too deeply; write one flat object per line", line_no)
            except ValueError as exc:
                msg = (
                    f"{exc.msg} at column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else str(exc)
                )
                errors.add(f"malformed JSON ({msg}); fix or remove this line", line_no)
            except _Skip as skip:
                errors.add(skip.reason, skip.line)
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


def _legacy_encoding(line: bytes) -> str | None:
    """GB18030 or Big5 for a line that is not UTF-8 (the most plausible decode), else None."""
    try:
        _decode_legacy(line)
    except _Skip:
        return None
    best = None
    for encoding in ("gb18030", "big5hkscs", "cp950"):
        try:
            score = _plausibility(line.decode(encoding))
        except UnicodeDecodeError:
            continue
        if best is None or score > best[0]:
            best = (score, encoding)
    return best[1] if best is not None else None


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
    for name in ("id", "title", "text", "published", "source", "url"):
        value = record.get(name)
        if isinstance(value, str) and _SURROGATE.search(value):
            raise _Skip(
                f'{where}"{name}" holds a lone surrogate escape (like \\ud800), which is not text; '
                "fix or remove this record",
                n,
            )
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
        if len(article_id) > MAX_ID_CHARS:
            raise _Skip(
                f'{where}"id" has {len(article_id):,} characters; ids are limited to {MAX_ID_CHARS}', n
            )
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


_BINARY = f"not a text file (it contains NUL bytes: binary data or UTF-16 without a mark); {_SAVE_AS}"
_WIDE_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)  # UTF-32 marks start with these too


def _decode(data: bytes | bytearray) -> str:
    if data.startswith(codecs.BOM_UTF8):
        text = _strict(
            data[len(codecs.BOM_UTF8) :], "utf-8", "starts with a UTF-8 mark but is not valid UTF-8"
        )
    elif data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        text = _strict(data, "utf-32", "starts with a UTF-32 mark but is not valid UTF-32")
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = _strict(data, "utf-16", "starts with a UTF-16 mark but is not valid UTF-16")
    elif b"\x00" in data:
        raise _Skip(_BINARY)
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


def _strict(data: bytes | bytearray, encoding: str, reason: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        raise _Skip(f"{reason}; {_SAVE_AS}") from None


def _decode_legacy(data: bytes | bytearray) -> str:
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
