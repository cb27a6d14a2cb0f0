"""Pure ASGI middleware in front of every route (API, docs and the mounted web chat):

- the request body limit (`ZHIWEN_MAX_UPLOAD_MB`, defined here once): 413 at once when
  `Content-Length` is over it, and as soon as a streamed body passes it (never read whole);
- the web chat's file-upload routes (Gradio's `/ui/gradio_api/upload`) need the write key,
  as a Bearer header or the page's session cookie, so anonymous users cannot store files;
- `X-Frame-Options: DENY`, a Content-Security-Policy and `Referrer-Policy` on every response.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable
from http.cookies import SimpleCookie
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rag.settings import Settings
from server.errors import ApiError, safe_json_bytes

logger = logging.getLogger(__name__)

KEY_COOKIE = "zhiwen_key"
RECEIVED_DIR = ".zhiwen-received"  # markers of the files Gradio's upload route stored
UPLOAD_ROUTES = ("/gradio_api/upload", "/gradio_api/process_recording")

# Gradio runs inline scripts and styles and evaluates the `js=` of events with `new Function`;
# everything else must come from this origin (the app works offline, so nothing else is needed)
UI_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; "
    "media-src 'self' blob: data:; connect-src 'self' ws: wss:; worker-src 'self' blob:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
)
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"


def _upload_folder() -> Path:
    from gradio.utils import get_upload_folder

    return Path(os.path.realpath(get_upload_folder()))


def _marker(real: Path) -> Path:
    digest = hashlib.sha256(str(real).encode("utf-8", "surrogatepass")).hexdigest()
    return _upload_folder() / RECEIVED_DIR / digest


def mark_received(paths: list[str]) -> None:
    """Record files stored by Gradio's upload route (markers on disk, so every worker sees them)."""
    for path in paths:
        try:
            real = Path(os.path.realpath(path))
            marker = _marker(real)
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.touch()
        except (OSError, ValueError):
            logger.warning("could not record the upload %r", path)


def was_received(real: Path) -> bool:
    """Whether Gradio's upload route stored `real` (a resolved path). Files Gradio copies into
    its cache while preprocessing a request that names another server path are not marked."""
    try:
        return _marker(real).is_file()
    except (OSError, ValueError):
        return False


def body_limit(settings: Settings) -> int:
    return int(settings.max_upload_mb * (1 << 20))


class BodyTooLarge(HTTPException):
    """Raised from `receive` when a streamed body passes the limit (FastAPI re-raises
    HTTPExceptions from body parsing, so it becomes the 413 error envelope)."""

    def __init__(self, message: str) -> None:
        super().__init__(413, message)


def too_large_message(settings: Settings) -> str:
    return (
        f"the request body is over the {settings.max_upload_mb:g} MB limit; send less at once "
        "(split uploads into smaller files; the limit is ZHIWEN_MAX_UPLOAD_MB)"
    )


def csp_for(path: str, ui_path: str) -> str:
    if path == ui_path or path.startswith(ui_path + "/"):
        return UI_CSP
    if path.startswith(("/docs", "/docs-assets")):
        return DOCS_CSP
    return API_CSP


class GuardMiddleware:
    def __init__(self, app: ASGIApp, settings: Settings, ui_path: str = "/ui") -> None:
        self.app = app
        self.settings = settings
        self.limit = body_limit(settings)
        self.ui_path = ui_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        csp = csp_for(path, self.ui_path).encode()
        started = False

        async def send_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.lower() not in (b"x-frame-options", b"content-security-policy")
                ]
                headers += [
                    (b"x-frame-options", b"DENY"),
                    (b"content-security-policy", csp),
                    (b"referrer-policy", b"no-referrer"),
                ]
                message["headers"] = headers
            await send(message)

        send_secured: Send = send_headers

        async def refuse(status: int, code: str, message: str, extra: dict[str, str] | None = None) -> None:
            body = safe_json_bytes({"error": {"code": code, "message": message}})
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
            headers += [(k.lower().encode(), v.encode()) for k, v in (extra or {}).items()]
            await send_secured({"type": "http.response.start", "status": status, "headers": headers})
            await send_secured({"type": "http.response.body", "body": body})

        if self._is_ui_upload(path):
            problem = self._upload_key_problem(scope)
            if problem is not None:
                await refuse(problem.status, problem.code, problem.message, problem.headers)
                return
            send_secured = _recording(send_secured)

        declared = _header(scope, b"content-length")
        if declared is not None:
            if not declared.isdigit():
                await refuse(400, "bad_request", "the Content-Length header is not a number")
                return
            if int(declared) > self.limit:
                await refuse(413, "too_large", too_large_message(self.settings), {"Connection": "close"})
                return
        try:
            await self.app(
                scope, _counting(receive, self.limit, lambda: too_large_message(self.settings)), send_secured
            )
        except BodyTooLarge as exc:
            if started:
                raise
            await refuse(413, "too_large", str(exc.detail), {"Connection": "close"})

    def _is_ui_upload(self, path: str) -> bool:
        if not path.startswith(self.ui_path + "/"):
            return False
        rest = path[len(self.ui_path) :].rstrip("/")
        return rest in UPLOAD_ROUTES

    def _upload_key_problem(self, scope: Scope) -> ApiError | None:
        from server.service import check_key

        given = None
        auth = _header(scope, b"authorization")
        if auth and auth.lower().startswith("bearer "):
            given = auth[7:].strip()
        if not given:
            cookie = _header(scope, b"cookie")
            if cookie:
                jar: SimpleCookie = SimpleCookie()
                try:
                    jar.load(cookie)
                except Exception:  # a malformed cookie header is no key
                    jar = SimpleCookie()
                morsel = jar.get(KEY_COOKIE)
                given = _unquote(morsel.value) if morsel is not None else None
        try:
            check_key(self.settings, given)
        except ApiError as exc:
            return ApiError(
                exc.status,
                exc.code,
                "uploading files to the web chat needs the API key: " + exc.message,
                headers=exc.headers,
            )
        return None


def _unquote(value: str) -> str:
    from urllib.parse import unquote

    return unquote(value)


def _recording(send: Send) -> Send:
    """Wrap `send` of an upload-route response: on success, mark the stored files as received."""
    status = 0
    body = bytearray()

    async def wrapped(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])
        elif message["type"] == "http.response.body" and status == 200 and len(body) < (1 << 20):
            body.extend(message.get("body", b""))
            if not message.get("more_body", False):
                try:
                    paths = json.loads(bytes(body))
                except ValueError:
                    paths = []
                if isinstance(paths, list):
                    mark_received([p for p in paths if isinstance(p, str)])
        await send(message)

    return wrapped


def _header(scope: Scope, name: bytes) -> str | None:
    for k, v in scope.get("headers", []):
        if k.lower() == name:
            return bytes(v).decode("latin-1")
    return None


def _counting(receive: Receive, limit: int, message: Callable[[], str]) -> Receive:
    total = 0

    async def wrapped() -> Message:
        nonlocal total
        msg = await receive()
        if msg["type"] == "http.request":
            total += len(msg.get("body", b""))
            if total > limit:
                raise BodyTooLarge(message())
        return msg

    return wrapped


__all__ = ["KEY_COOKIE", "GuardMiddleware", "body_limit"]
