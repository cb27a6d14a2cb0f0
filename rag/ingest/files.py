"""Files, directories and uploads: what is read (regular files of a supported type, within the
limits), in which order, and the rule for ids read twice."""

from __future__ import annotations

import io
import logging
import os
import re
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from rag.errors import DecodeError
from rag.ingest.decode import decode_bytes
from rag.ingest.json_records import parse_json, parse_jsonl, parse_record_list
from rag.ingest.reading import IngestLimits, Meter, read_all
from rag.ingest.skip import Skip
from rag.ingest.text_layout import check_line_lengths, parse_text
from rag.records import Article, FileError, IngestResult

log = logging.getLogger(__name__)


# every file type read, longest suffix first (what a name ends with decides its kind)
_KINDS = (
    (".jsonl.gz", "jsonl"),
    (".jsonl", "jsonl"),
    (".json", "json"),
    (".md", "markdown"),
    (".txt", "text"),
)


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


SUPPORTED_TYPES = ", ".join(suffix for suffix, _ in reversed(_KINDS))  # for messages: ".txt, .md, ..."


def _with_max(limits: IngestLimits | None, max_bytes: int | None) -> IngestLimits:
    limits = limits if limits is not None else IngestLimits()
    if max_bytes is not None:
        limits = IngestLimits(max_bytes, min(limits.max_line_bytes, max(max_bytes, 1)), limits.budget)
    return limits


def parse_records(records: Iterable[dict[str, Any]], origin: str) -> IngestResult:
    """Turn JSON records `{id?, title?, text, published?, source?, url?}` into articles.

    A bad record becomes `FileError(origin, reason, line=n)` (n = 1-based record number).
    """
    return _finish(parse_record_list(records, origin))


def decode_text(data: bytes, path: str) -> str:
    """Decode a text file: UTF-8 (BOM or not), UTF-16/32 with BOM, GB18030/GBK or Big5.

    Raises `DecodeError` for binary data, empty files and undecodable bytes.
    """
    try:
        return decode_bytes(data)
    except Skip as skip:
        raise DecodeError(f"{path}: {skip.reason}") from None


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
    return next((kind for suffix, kind in _KINDS if lower.endswith(suffix)), None)


def _stem(name: str) -> str:
    for suffix, _ in _KINDS:
        if name.lower().endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def _unsupported(name: str) -> str:
    ext = "".join(Path(name).suffixes[-2:]) or "(no extension)"
    return f"unsupported file type {ext}; use {SUPPORTED_TYPES} (.json: a list of records)"


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
    meter = Meter(limits)
    try:
        if kind == "jsonl":
            return parse_jsonl(raw, origin, meter)
        return _parse_blob(kind, read_all(raw, meter), origin, stem, limits.max_line_bytes)
    except Skip as skip:
        return _failed(origin, skip.reason, skip.line)
    finally:
        meter.release()


def _parse_blob(kind: str, data: bytes | bytearray, origin: str, stem: str, max_line: int) -> IngestResult:
    """A .txt, .md or .json file's (decompressed) bytes."""
    try:
        text = decode_bytes(data)
        del data
        if kind == "json":
            return parse_json(text, origin)
        check_line_lengths(text, max_line)
        return IngestResult(articles=parse_text(text, stem, origin, markdown=kind == "markdown"))
    except Skip as skip:
        return _failed(origin, skip.reason, skip.line)


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
