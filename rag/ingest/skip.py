"""How one file or record is refused: `Skip` carries a reason that says what to do, and
`FileErrors` collects a file's reasons (a bounded list)."""

from __future__ import annotations

from rag.records import FileError


class Skip(Exception):
    """Internal: one file/record cannot be used; `reason` says what to do."""

    def __init__(self, reason: str, line: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line


_MAX_ERRORS_PER_FILE = 100


class FileErrors:
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


SAVE_AS = "save it as UTF-8, GB18030 or Big5"
