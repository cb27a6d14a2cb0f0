"""The one place where errors become HTTP responses: `{"error": {"code", "message"}}`.

Library errors (`rag.errors.ZhiwenError`) map to a status by their `code`; request
validation errors name the offending field; anything unexpected is logged and
answered with a 500 that leaks nothing about the internals.
"""

from __future__ import annotations

import errno
import json
import logging
import sqlite3
import uuid
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from rag.errors import ZhiwenError

logger = logging.getLogger(__name__)

# status for each library error code; unknown codes are server errors
STATUS_BY_CODE: dict[str, int] = {
    "invalid_input": 422,
    "undecodable": 422,
    "not_found": 404,
    "index_missing": 503,
    "index_locked": 503,
    "index_corrupt": 503,
    "embedder_mismatch": 503,
    "embedder_unavailable": 503,
    "index_closed": 503,
}


class ApiError(Exception):
    """An HTTP error raised by the server layer itself (auth, limits, unknown job...)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        details: Sequence[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers
        self.details = list(details) if details is not None else None


class SafeJSONResponse(JSONResponse):
    """JSON with `<`, `>` and `&` escaped as \\u003c etc., so article text can never be
    read as markup even by a client that sniffs or embeds the body; lone surrogates
    (which UTF-8 cannot carry) fall back to ASCII escapes instead of failing."""

    def render(self, content: Any) -> bytes:
        return safe_json_bytes(content)


def safe_json_bytes(content: Any) -> bytes:
    """JSON bytes with `<`, `>`, `&` escaped (valid JSON: they only occur inside strings)."""
    try:
        data = json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")
    except UnicodeEncodeError:
        data = json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode("ascii")
    return data.replace(b"<", b"\\u003c").replace(b">", b"\\u003e").replace(b"&", b"\\u0026")


def error_body(code: str, message: str, details: Sequence[dict[str, Any]] | None = None) -> dict[str, Any]:
    err: dict[str, Any] = {"code": code, "message": message}
    if details:
        err["details"] = list(details)
    return {"error": err}


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    headers: dict[str, str] | None = None,
    details: Sequence[dict[str, Any]] | None = None,
) -> SafeJSONResponse:
    return SafeJSONResponse(error_body(code, message, details), status_code=status, headers=headers)


def _loc(loc: Sequence[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        where, rest = parts[0], parts[1:]
        return f"{where} field `{'.'.join(rest)}`" if rest else ("request body" if where == "body" else where)
    return "`" + ".".join(parts) + "`"


def validation_message(errors: Sequence[Any]) -> tuple[str, str]:
    """(code, message) for a list of pydantic/FastAPI validation errors."""
    if not errors:
        return "invalid_request", "the request is invalid; see /docs for the expected shape"
    for err in errors:
        if err.get("type") == "json_invalid":
            detail = (err.get("ctx") or {}).get("error", "decode error")
            return (
                "invalid_json",
                f"the request body is not valid JSON ({detail}); send a JSON object with "
                "`Content-Type: application/json` (see /docs for examples)",
            )
    msgs = []
    for err in errors[:5]:
        loc = err.get("loc") or ()
        if err.get("type") == "missing" and tuple(loc) == ("body",):
            msgs.append(
                "the request body is missing; send a JSON object with `Content-Type: application/json`"
            )
            continue
        msg = str(err.get("msg", "is invalid"))
        msgs.append(f"{_loc(loc)}: {msg}")
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return "invalid_request", "; ".join(msgs) + more + ". Fix the field(s) named; see /docs for the schema."


async def _zhiwen_error(request: Request, exc: Exception) -> SafeJSONResponse:
    assert isinstance(exc, ZhiwenError)
    status = STATUS_BY_CODE.get(exc.code, 500)
    if status >= 500:
        logger.error("%s %s failed: %s: %s", request.method, request.url.path, exc.code, exc.message)
    headers = {"Retry-After": "5"} if exc.code in ("index_locked", "index_closed") else None
    mapped = storage_error(exc)
    if mapped is not None:
        return error_response(mapped.status, mapped.code, mapped.message)
    return error_response(status, exc.code, exc.message, headers=headers)


async def _api_error(request: Request, exc: Exception) -> SafeJSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.code, exc.message, headers=exc.headers, details=exc.details)


async def _validation_error(request: Request, exc: Exception) -> SafeJSONResponse:
    assert isinstance(exc, RequestValidationError)
    code, message = validation_message(exc.errors())
    return error_response(422, code, message)


_HTTP_CODES = {
    400: ("bad_request", "the request is malformed; see /docs"),
    401: ("unauthorized", "send `Authorization: Bearer <key>`"),
    403: ("forbidden", "this operation is not allowed"),
    404: ("not_found", "no such route; the API is described at /docs"),
    405: ("method_not_allowed", "this route does not accept that method; see /docs"),
    413: ("too_large", "the request body is too large"),
    415: ("unsupported_media_type", "send JSON (`Content-Type: application/json`) or multipart form data"),
}


async def _http_error(request: Request, exc: Exception) -> SafeJSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code, default = _HTTP_CODES.get(exc.status_code, ("http_error", "the request failed"))
    detail = exc.detail if isinstance(exc.detail, str) else None
    generic = {"Not Found", "Method Not Allowed", "Bad Request", "Unauthorized", "Forbidden"}
    if exc.status_code == 404 and detail == "Not Found":
        message = f"no route {request.method} {request.url.path}; the API is described at /docs"
    elif exc.status_code == 405:
        message = f"{request.url.path} does not accept {request.method}; see /docs for the allowed methods"
    else:
        message = detail if detail and detail not in generic else default
    return error_response(exc.status_code, code, message, headers=getattr(exc, "headers", None))


def storage_error(exc: BaseException) -> ApiError | None:
    """A full disk (507) or an unwritable index (503) found anywhere in `exc`'s chain, else None."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        text = str(cur).lower()
        if (isinstance(cur, OSError) and cur.errno in (errno.ENOSPC, errno.EDQUOT)) or (
            isinstance(cur, sqlite3.Error) and ("disk is full" in text or "disk i/o error" in text)
        ):
            return ApiError(
                507,
                "disk_full",
                "the disk that holds the index is full (no space left on device), so nothing was "
                "written; free space on the server's index disk (or move ZHIWEN_INDEX), then retry",
            )
        if isinstance(cur, sqlite3.Error) and "readonly" in text.replace("-", "").replace(" ", ""):
            return ApiError(
                503,
                "index_read_only",
                "the index is read-only for the server (file permissions or a read-only disk); "
                "make ZHIWEN_INDEX writable by the server's user, then retry",
            )
        if isinstance(cur, OSError) and cur.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            return ApiError(
                503,
                "index_read_only",
                f"the server cannot write its files ({cur.strerror}); make ZHIWEN_INDEX writable, then retry",
            )
        cur = cur.__cause__ or cur.__context__
    return None


async def _unexpected(request: Request, exc: Exception) -> SafeJSONResponse:
    mapped = storage_error(exc)
    if mapped is not None:
        logger.error("%s %s failed: %s (%s)", request.method, request.url.path, mapped.code, exc)
        return error_response(mapped.status, mapped.code, mapped.message)
    if isinstance(exc, RecursionError):
        return error_response(
            422, "invalid_json", "the JSON is nested too deeply; send flat objects (see /docs for the shape)"
        )
    ref = uuid.uuid4().hex[:12]
    logger.exception("unhandled error in %s %s (ref %s)", request.method, request.url.path, ref)
    return error_response(
        500,
        "internal",
        f"internal error (ref {ref}); the server log has the details under that reference. "
        "Retry, and report it if it persists.",
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ZhiwenError, _zhiwen_error)
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    for kind in (OSError, sqlite3.Error, RecursionError):  # answered here, not re-raised as 500s
        app.add_exception_handler(kind, _unexpected)
    app.add_exception_handler(Exception, _unexpected)
