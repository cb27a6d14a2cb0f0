"""Dependencies: the settings, the index and the job registry from `app.state`, and auth for writes.

Tests swap the index either by passing it to `create_app(index=...)` or with
`app.dependency_overrides[get_index]`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from rag import Index
from rag.generate import LLMClient
from rag.settings import Settings
from server.errors import ApiError
from server.jobs import JobRegistry
from server.service import Service, check_key


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


def get_service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


ServiceDep = Annotated[Service, Depends(get_service)]


def require_write_key(
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Writes (and the job list) need `Authorization: Bearer <ZHIWEN_API_KEY>`; the one check
    is `server.service.check_key`, which the web chat calls too."""
    check_key(settings, credentials.credentials if credentials is not None else None)


WriteAuth = Depends(require_write_key)
