"""The writer lock: one process writes an index at a time (POSIX `flock` on `.lock`)."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from rag.errors import IndexLockedError

LOCK_FILE = ".lock"


@contextlib.contextmanager
def writer_lock(index_path: Path) -> Iterator[None]:
    """Hold the index's writer lock, or raise IndexLockedError naming the holder's pid."""
    fd = os.open(index_path / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip() or "another process"
            raise IndexLockedError(
                f"the index at {index_path} is being written by pid {holder}; wait for that "
                "`zhiwen index` (or server upload) to finish, then retry"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
