"""Library errors. Every message says what to do about the problem."""

from __future__ import annotations


class ZhiwenError(Exception):
    """Base class; `code` is a stable machine-readable name used by the HTTP layer."""

    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InputError(ZhiwenError):
    """The caller's input is unusable (empty question, bad top_k, malformed record...)."""

    code = "invalid_input"


class DecodeError(InputError):
    """A file could not be decoded as text."""

    code = "undecodable"


class NotFoundError(ZhiwenError):
    code = "not_found"


class IndexMissingError(ZhiwenError):
    code = "index_missing"


class IndexLockedError(ZhiwenError):
    code = "index_locked"


class EmbedderMismatchError(ZhiwenError):
    code = "embedder_mismatch"


class IndexCorruptError(ZhiwenError):
    code = "index_corrupt"


class EmbedderUnavailableError(ZhiwenError):
    code = "embedder_unavailable"


class IndexClosedError(ZhiwenError):
    """The index object was closed; open it again."""

    code = "index_closed"
