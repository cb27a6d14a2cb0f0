"""OpenAI-compatible `POST /v1/chat/completions` and `GET /v1/models` (model id `zhiwen`).

The last user message is the question; earlier user/assistant messages are the
conversation. The reply is the answer followed by a short source list; the structured
citations (and the question as rewritten from the conversation, if it was) are in top-level
`citations` and `rewritten_question` fields (on the final chunk when streaming).
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Body
from fastapi.responses import StreamingResponse

from rag import answer_to_dict
from rag.records import Answer, Turn
from server.deps import IndexDep, LLMDep, ServiceDep
from server.errors import ApiError, safe_json_bytes
from server.schemas import CHAT_EXAMPLES, ChatCompletionOut, ChatRequest, ErrorOut, ModelList, ModelOut

router = APIRouter(prefix="/v1", tags=["openai"])

MODEL_ID = "zhiwen"
MODEL_CREATED = 1_700_000_000

_LABELS = {
    "zh-Hans": {"sources": "来源：", "none": "没有在已收录的文章中找到答案。", "related": "可能相关的文章："},
    "zh-Hant": {"sources": "來源：", "none": "沒有在已收錄的文章中找到答案。", "related": "可能相關的文章："},
    "en": {
        "sources": "Sources:",
        "none": "No answer was found in the indexed articles.",
        "related": "Possibly related:",
    },
}


def _labels(script: str) -> dict[str, str]:
    return _LABELS.get(script, _LABELS["zh-Hans"])


def _date(published: str | None) -> str:
    return (published or "")[:10]


def reply_text(answer: Answer) -> str:
    """The chat reply: the short answer (bold, when there is one), the evidence, then a short
    numbered source list (or a not-found message)."""
    labels = _labels(answer.script)
    if not answer.answered:
        text = answer.answer.strip() or answer.message or labels["none"]
        related = []
        seen: set[str] = set()
        for hit in answer.suggestions:
            if hit.article_id in seen:
                continue
            seen.add(hit.article_id)
            meta = " ".join(x for x in (hit.source or "", _date(hit.published)) if x)
            related.append(f"- {hit.title}" + (f" — {meta}" if meta else ""))
            if len(related) == 3:
                break
        if related:
            text += "\n\n" + labels["related"] + "\n" + "\n".join(related)
        return text
    lines = []
    seen_n: set[int] = set()
    for c in sorted(answer.citations, key=lambda c: c.n):
        if c.n in seen_n:
            continue
        seen_n.add(c.n)
        meta = " ".join(x for x in (c.source or "", _date(c.published)) if x)
        lines.append(f"[{c.n}] {c.title}" + (f" — {meta}" if meta else ""))
    text = answer.answer.strip()
    if answer.short_answer is not None:  # the short answer first, then the evidence
        text = f"**{answer.short_answer.text}**[{answer.short_answer.n}]\n\n{text}"
    if lines:
        text += "\n\n" + labels["sources"] + "\n" + "\n".join(lines)
    return text


_CJK = re.compile(r"[\u3000-\u9fff\uf900-\ufaff]")


def rough_tokens(text: str) -> int:
    """A rough token count: one per CJK character, plus one per other word."""
    cjk = len(_CJK.findall(text))
    words = len(_CJK.sub(" ", text).split())
    return cjk + words


def _pieces(text: str, size: int = 24) -> Iterator[str]:
    """Split the reply into stream pieces at line ends, sentence ends, or every `size` characters."""
    buf = ""
    for ch in text:
        buf += ch
        if ch in "\n。！？!?；;" or len(buf) >= size:
            yield buf
            buf = ""
    if buf:
        yield buf


def _history(req: ChatRequest) -> tuple[str, list[Turn]]:
    last_user = None
    for i in range(len(req.messages) - 1, -1, -1):
        if req.messages[i].role == "user":
            last_user = i
            break
    if last_user is None:
        raise ApiError(
            422,
            "invalid_request",
            "`messages` has no message with role `user`; the last user message is the question",
        )
    turns = [
        Turn(role=m.role, content=m.text())
        for m in req.messages[:last_user]
        if m.role in ("user", "assistant") and m.text().strip()
    ]
    return req.messages[last_user].text(), turns


def _chunk(cid: str, created: int, delta: dict[str, Any], finish: str | None, **extra: Any) -> str:
    body: dict[str, Any] = {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": created,
        "model": MODEL_ID,
        "system_fingerprint": None,
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }
    body.update(extra)
    return "data: " + safe_json_bytes(body).decode("utf-8") + "\n\n"


@router.post(
    "/chat/completions",
    summary="OpenAI 兼容的对话接口 (OpenAI-compatible chat completions)",
    response_model=ChatCompletionOut,
    responses={
        200: {
            "description": "a `chat.completion`, or with `stream: true` an SSE stream of "
            "`chat.completion.chunk` ending with `data: [DONE]`",
            "content": {"text/event-stream": {}},
        },
        422: {"model": ErrorOut, "description": "invalid request"},
    },
)
def chat_completions(
    body: Annotated[ChatRequest, Body(openapi_examples=CHAT_EXAMPLES)],
    index: IndexDep,
    service: ServiceDep,
    llm: LLMDep,
) -> Any:
    question, history = _history(body)
    answer = service.ask(index, question, history=history, llm=llm, field="messages[-1].content")
    extra = {"rewritten_question": answer.rewritten_question, "mode": answer.mode, "message": answer.message}
    content = reply_text(answer)
    citations = answer_to_dict(answer)["citations"]
    cid = "chatcmpl-" + uuid.uuid4().hex
    created = int(time.time())
    prompt_tokens = rough_tokens(question) + sum(rough_tokens(t.content) for t in history)
    completion_tokens = rough_tokens(content)
    usage = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }
    if not body.stream:
        return ChatCompletionOut.model_validate(
            {
                "id": cid,
                "object": "chat.completion",
                "created": created,
                "model": MODEL_ID,
                "system_fingerprint": None,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content},
                        "logprobs": None,
                        "finish_reason": "stop",
                    }
                ],
                "usage": usage,
                "citations": citations,
                **extra,
            }
        )
    include_usage = bool(body.stream_options and body.stream_options.include_usage)

    def events() -> Iterator[str]:
        yield _chunk(cid, created, {"role": "assistant", "content": ""}, None)
        for piece in _pieces(content):
            yield _chunk(cid, created, {"content": piece}, None)
        yield _chunk(cid, created, {}, "stop", citations=citations, **extra)
        if include_usage:
            final = {
                "id": cid,
                "object": "chat.completion.chunk",
                "created": created,
                "model": MODEL_ID,
                "choices": [],
                "usage": usage,
            }
            yield "data: " + safe_json_bytes(final).decode("utf-8") + "\n\n"
        yield "data: [DONE]\n\n"

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _model() -> ModelOut:
    return ModelOut(id=MODEL_ID, created=MODEL_CREATED, owned_by="zhiwen")


@router.get("/models", summary="可用模型列表 (list models)", response_model=ModelList)
def list_models() -> ModelList:
    return ModelList(data=[_model()])


@router.get(
    "/models/{model_id}",
    summary="模型信息 (retrieve a model)",
    response_model=ModelOut,
    responses={404: {"model": ErrorOut}},
)
def get_model(model_id: str) -> ModelOut:
    if model_id != MODEL_ID:
        raise ApiError(404, "model_not_found", f"no model {model_id!r}; the only model is {MODEL_ID!r}")
    return _model()
