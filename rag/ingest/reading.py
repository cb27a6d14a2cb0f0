"""Reading within limits: the byte limits of one file and one line, the budget shared by
concurrent uploads, and the streaming reads (gzip or not) that charge them."""

from __future__ import annotations

import gzip
import re
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from rag.ingest.decode import BINARY, WIDE_BOMS
from rag.ingest.skip import Skip

MiB = 1 << 20


DEFAULT_MAX_BYTES = 256 * MiB  # one file, after decompression (settings.max_file_mb)
DEFAULT_MAX_LINE_BYTES = 8 * MiB  # one line of a file (settings.max_line_mb)
_READ_CHUNK = MiB  # files and gzip streams are read in pieces of this size
_GZIP_MAGIC = b"\x1f\x8b"


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


class Meter:
    """Counts the bytes one file has read against its limit and the shared budget."""

    def __init__(self, limits: IngestLimits) -> None:
        self.limits = limits
        self.total = 0
        self._taken = 0

    def charge(self, n: int, *, hold: bool = True) -> None:
        """Count `n` more bytes read; `hold` when they stay in memory (taken from the shared budget)."""
        self.total += n
        if self.total > self.limits.max_file_bytes:
            raise Skip(
                f"over {self.limits.max_file_bytes:,} bytes (after decompression); split the data into "
                "smaller files (the limit is ZHIWEN_MAX_FILE_MB)"
            )
        budget = self.limits.budget
        if budget is not None and hold:
            if not budget.take(n):
                raise Skip(
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


def open_stream(raw: IO[bytes]) -> Any:
    """`raw`, or a decompressing view of it when it starts with the gzip magic."""
    head = raw.read(2)
    raw.seek(0)
    if head == _GZIP_MAGIC:
        return gzip.GzipFile(fileobj=raw)
    return raw


def read_all(raw: IO[bytes], meter: Meter) -> bytearray:
    """The whole (decompressed) content, read piece by piece within the meter's limits; binary
    data (NUL bytes without a UTF-16/32 mark) is refused at its first piece."""
    data = bytearray()
    fh = open_stream(raw)
    try:
        while piece := fh.read1(_READ_CHUNK):
            meter.charge(len(piece))
            if not data and b"\x00" in piece and not piece.startswith(WIDE_BOMS):
                raise Skip(BINARY)
            data += piece
    except (OSError, EOFError, zlib.error) as exc:
        raise Skip(f"corrupt or truncated gzip data ({exc}); re-create it with `gzip -k FILE`") from None
    return data


_NON_SPACE = re.compile(rb"[^\s]")


def nonblank_lines(fh: Any, meter: Meter) -> Iterator[tuple[int, bytes]]:
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
                    raise Skip(_long_line(max_line), line_no)
                buf = buf[start:]
                start = 0
                break
            if end - start > max_line:
                raise Skip(_long_line(max_line), line_no)
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
