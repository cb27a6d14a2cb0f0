"""`POST /v1/ask` and `POST /v1/search`: the same JSON as `zhiwen ask --json` / `zhiwen search --json`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Body

from rag import answer_to_dict, hits_to_dict
from rag.records import Citation, Filters, Turn
from server.deps import IndexDep, LLMDep, ServiceDep
from server.schemas import (
    ASK_EXAMPLES,
    SEARCH_EXAMPLES,
    AnswerOut,
    AskRequest,
    ErrorOut,
    FiltersIn,
    SearchOut,
    SearchRequest,
    TurnIn,
)
from server.service import check_question, check_top_k

router = APIRouter(prefix="/v1", tags=["ask"])

ERRORS: dict[int | str, dict[str, object]] = {
    413: {"model": ErrorOut, "description": "request body over ZHIWEN_MAX_UPLOAD_MB"},
    422: {"model": ErrorOut, "description": "invalid request (the message names the field)"},
    503: {"model": ErrorOut, "description": "index not ready"},
}


def to_filters(filters: FiltersIn | None) -> Filters | None:
    if filters is None:
        return None
    out = Filters(since=filters.since, until=filters.until, sources=tuple(filters.sources))
    return None if out.is_empty() else out


def to_turns(history: Sequence[TurnIn]) -> list[Turn]:
    turns = []
    for t in history:
        cites = tuple(
            Citation(
                n=c.n,
                article_id=c.article_id,
                chunk_id=c.chunk_id,
                title=c.title,
                source=c.source,
                published=c.published,
                quote=c.quote,
                start=c.start,
                end=c.end,
                score=c.score,
            )
            for c in t.citations
        )
        turns.append(Turn(role=t.role, content=t.content, citations=cites))
    return turns


@router.post(
    "/ask",
    summary="提问：抽取式回答，附逐字引用 (ask a question)",
    response_model=AnswerOut,
    responses=ERRORS,
)
def ask_route(
    body: Annotated[AskRequest, Body(openapi_examples=ASK_EXAMPLES)],
    index: IndexDep,
    service: ServiceDep,
    llm: LLMDep,
) -> AnswerOut:
    answer = service.ask(
        index,
        body.question,
        top_k=body.top_k,
        filters=to_filters(body.filters),
        history=to_turns(body.history),
        llm=llm,
    )
    return AnswerOut.model_validate(answer_to_dict(answer))


@router.post(
    "/search",
    summary="检索相关段落 (search passages)",
    response_model=SearchOut,
    responses=ERRORS,
)
def search_route(
    body: Annotated[SearchRequest, Body(openapi_examples=SEARCH_EXAMPLES)],
    index: IndexDep,
    service: ServiceDep,
) -> SearchOut:
    hits = service.search(index, body.query, top_k=body.top_k, filters=to_filters(body.filters))
    return SearchOut.model_validate(hits_to_dict(body.query, hits))


__all__ = ["check_question", "check_top_k", "router", "to_filters", "to_turns"]
