"""Dependencies: the settings, the index and the job registry from `app.state`, and auth for writes.

Tests swap the index either by passing it to `create_app(index=...)` or with
`app.dependency_overrides[get_index]`.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from rag import Index
from rag.generate import LLMClient
from rag.settings import Settings
from server.errors import ApiError
from server.jobs import JobRegistry


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_index(request: Request) -> Index:
    index: Index | None = getattr(request.app.state, "index", None)
    if index is None:
        raise ApiError(
            503,
            "not_ready",
            "the index is still loading (or failed to load; see the server log); retry shortly, "
            "GET /readyz says when it is ready",
            headers={"Retry-After": "5"},
        )
    return index


def get_jobs(request: Request) -> JobRegistry:
    jobs: JobRegistry = request.app.state.jobs
    return jobs


def get_llm(request: Request) -> LLMClient | None:
    llm: LLMClient | None = getattr(request.app.state, "llm", None)
    return llm


SettingsDep = Annotated[Settings, Depends(get_settings)]
LLMDep = Annotated[LLMClient | None, Depends(get_llm)]
IndexDep = Annotated[Index, Depends(get_index)]
JobsDep = Annotated[JobRegistry, Depends(get_jobs)]

_bearer = HTTPBearer(auto_error=False, description="the server's ZHIWEN_API_KEY; needed for writes")


def require_write_key(
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Writes need `Authorization: Bearer <ZHIWEN_API_KEY>`; with no key configured they are refused.

    The key is compared in constant time and never logged or echoed.
    """
    key = settings.api_key.get_secret_value() if settings.api_key is not None else ""
    if not key:
        raise ApiError(
            403,
            "writes_disabled",
            "writes are disabled because no API key is configured; start the server with "
            "ZHIWEN_API_KEY=<secret> in its environment and send `Authorization: Bearer <secret>`",
        )
    given = credentials.credentials if credentials is not None else ""
    if not given:
        raise ApiError(
            401,
            "unauthorized",
            "this write needs `Authorization: Bearer <key>` with the server's ZHIWEN_API_KEY",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if not hmac.compare_digest(given.encode("utf-8", "surrogatepass"), key.encode("utf-8", "surrogatepass")):
        raise ApiError(
            401,
            "unauthorized",
            "the bearer key is wrong; send the server's ZHIWEN_API_KEY as `Authorization: Bearer <key>`",
            headers={"WWW-Authenticate": "Bearer"},
        )


WriteAuth = Depends(require_write_key)
