"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

from rag import search
from server.errors import ApiError
from server.schemas import ErrorOut

logger = logging.getLogger(__name__)

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str


class Ready(BaseModel):
    status: str
    articles: int
    chunks: int


@router.get("/healthz", summary="进程存活 (process up)", response_model=Health)
async def healthz() -> Health:
    """Answered on the event loop itself: it needs no worker thread, so it answers even when every
    worker is busy."""
    return Health(status="ok")


@router.get(
    "/readyz",
    summary="索引已加载并能回答 (index loaded and answering)",
    response_model=Ready,
    responses={503: {"model": ErrorOut, "description": "not ready yet"}},
)
def readyz(request: Request) -> Ready:
    index = getattr(request.app.state, "index", None)
    if index is None:
        raise ApiError(
            503,
            "not_ready",
            "the index is not loaded yet (or failed to load; see the server log); retry shortly",
            headers={"Retry-After": "5"},
        )
    try:
        stats = index.stats()
        search(index, "新闻", top_k=1)
    except Exception as exc:
        logger.exception("readiness probe failed")
        raise ApiError(
            503,
            "not_ready",
            f"the index is loaded but not answering ({type(exc).__name__}); see the server log",
            headers={"Retry-After": "5"},
        ) from exc
    return Ready(status="ready", articles=int(stats.get("articles", 0)), chunks=int(stats.get("chunks", 0)))


@router.get("/metrics", summary="Prometheus 指标 (Prometheus text format)", response_class=Response)
def metrics(request: Request) -> Response:
    data = generate_latest(request.app.state.metrics.exposition)
    return Response(content=data, media_type=CONTENT_TYPE_LATEST)
