"""`POST /v1/ask` and `POST /v1/search`: the same JSON as `zhiwen ask --json` / `zhiwen search --json`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Body

from rag import answer_to_dict, ask, hits_to_dict, search
from rag.records import Citation, Filters, Turn
from rag.settings import Settings
from server.deps import IndexDep, LLMDep, SettingsDep
from server.errors import ApiError, SafeJSONResponse
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

router = APIRouter(prefix="/v1", tags=["ask"])

ERRORS: dict[int | str, dict[str, object]] = {
    422: {"model": ErrorOut, "description": "invalid request (the message names the field)"},
    503: {"model": ErrorOut, "description": "index not ready"},
}


def check_question(text: str, settings: Settings, *, field: str = "question") -> str:
    """Refuse empty and over-long questions with a message saying what to send."""
    if not text.strip():
        raise ApiError(422, "invalid_input", f"`{field}` is empty; send the question text (问题不能为空)")
    limit = settings.max_question_chars
    if len(text) > limit:
        raise ApiError(
            422,
            "invalid_input",
            f"`{field}` has {len(text)} characters; the limit is {limit}. Shorten it "
            "(the server's limit is set by ZHIWEN_MAX_QUESTION_CHARS)",
        )
    return text


def check_top_k(top_k: int, settings: Settings) -> int:
    if top_k > settings.max_top_k:
        raise ApiError(
            422, "invalid_request", f"`top_k` is {top_k}; this server allows 1..{settings.max_top_k}"
        )
    return top_k


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
    settings: SettingsDep,
    llm: LLMDep,
) -> SafeJSONResponse:
    question = check_question(body.question, settings)
    top_k = check_top_k(body.top_k, settings)
    answer = ask(
        index,
        question,
        top_k=top_k,
        filters=to_filters(body.filters),
        history=to_turns(body.history),
        llm=llm,
    )
    return SafeJSONResponse(answer_to_dict(answer))


@router.post(
    "/search",
    summary="检索相关段落 (search passages)",
    response_model=SearchOut,
    responses=ERRORS,
)
def search_route(
    body: Annotated[SearchRequest, Body(openapi_examples=SEARCH_EXAMPLES)],
    index: IndexDep,
    settings: SettingsDep,
) -> SafeJSONResponse:
    query = check_question(body.query, settings, field="query")
    top_k = check_top_k(body.top_k, settings)
    hits = search(index, query, top_k=top_k, filters=to_filters(body.filters))
    return SafeJSONResponse(hits_to_dict(query, hits))
