"""The OpenAI-compatible routes, through the test client (the live `openai` SDK test is separate)."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from tests.server.server_helpers import SEED_QUESTION, assert_citations_verbatim, assert_error


def _chat(client: TestClient, **body: object):  # type: ignore[no-untyped-def]
    return client.post("/v1/chat/completions", json={"model": "zhiwen", **body})


def test_models(client: TestClient) -> None:
    r = client.get("/v1/models")
    assert r.status_code == 200
    body = r.json()
    assert body["object"] == "list"
    assert [m["id"] for m in body["data"]] == ["zhiwen"]
    assert client.get("/v1/models/zhiwen").json()["id"] == "zhiwen"
    assert_error(client.get("/v1/models/gpt-4"), 404, "model_not_found")


def test_chat_completion_has_answer_sources_and_citations(client: TestClient) -> None:
    r = _chat(client, messages=[{"role": "user", "content": SEED_QUESTION}], temperature=0.2, max_tokens=100)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["object"] == "chat.completion"
    assert body["model"] == "zhiwen"
    assert body["id"].startswith("chatcmpl-")
    choice = body["choices"][0]
    assert choice["finish_reason"] == "stop"
    assert choice["message"]["role"] == "assistant"
    content = choice["message"]["content"]
    citations = body["citations"]
    assert citations
    assert_citations_verbatim(client, citations)
    answer, _, sources = content.partition("\n\n来源：\n")
    assert answer.strip() and sources, content
    for c in citations:
        assert f"[{c['n']}] {c['title']}" in sources
    usage = body["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"] > 0


def test_chat_uses_last_user_message_and_history(client: TestClient) -> None:
    messages = [
        {"role": "system", "content": "你是新闻助手"},
        {"role": "user", "content": "长沙市委全会什么时候召开？"},
        {"role": "assistant", "content": "9月24日。"},
        {"role": "user", "content": [{"type": "text", "text": SEED_QUESTION}]},
    ]
    r = _chat(client, messages=messages)
    assert r.status_code == 200, r.text
    assert r.json()["citations"]


def test_chat_traditional_question_gets_traditional_labels(client: TestClient) -> None:
    r = _chat(client, messages=[{"role": "user", "content": "全會審議通過了什麼？"}])
    assert r.status_code == 200, r.text
    body = r.json()
    if body["citations"]:
        assert "\n\n來源：\n" in body["choices"][0]["message"]["content"]


def _events(text: str) -> list[str]:
    assert text.endswith("data: [DONE]\n\n"), text[-200:]
    return [line[len("data: ") :] for line in text.split("\n\n") if line.startswith("data: ")]


def test_chat_streaming_sse(client: TestClient) -> None:
    r = _chat(client, messages=[{"role": "user", "content": SEED_QUESTION}], stream=True)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/event-stream")
    events = _events(r.text)
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert all(c["object"] == "chat.completion.chunk" and c["model"] == "zhiwen" for c in chunks)
    assert len({c["id"] for c in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    final = chunks[-1]
    assert final["choices"][0]["finish_reason"] == "stop"
    assert final["citations"]
    assert "rewritten_question" in final
    assert all("citations" not in c for c in chunks[:-1])
    streamed = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    plain = _chat(client, messages=[{"role": "user", "content": SEED_QUESTION}]).json()
    assert streamed == plain["choices"][0]["message"]["content"]
    assert final["citations"] == plain["citations"]


def test_chat_streaming_usage_chunk(client: TestClient) -> None:
    r = _chat(
        client,
        messages=[{"role": "user", "content": SEED_QUESTION}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = [json.loads(e) for e in _events(r.text)[:-1]]
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] > 0
    assert chunks[-2]["citations"]


@pytest.mark.parametrize(
    "body,status,code",
    [
        ({"messages": []}, 422, "invalid_request"),
        ({"messages": [{"role": "system", "content": "hi"}]}, 422, "invalid_request"),
        ({"messages": [{"role": "user", "content": "  "}]}, 422, "invalid_input"),
        ({"messages": [{"role": "user", "content": "问" * 1001}]}, 422, "invalid_input"),
        ({"messages": "hello"}, 422, "invalid_request"),
        ({"messages": [{"role": "user", "content": 5}]}, 422, "invalid_request"),
        ({}, 422, "invalid_request"),
    ],
)
def test_chat_bad_input(client: TestClient, body: dict[str, object], status: int, code: str) -> None:
    assert_error(client.post("/v1/chat/completions", json=body), status, code)


def test_chat_error_shape_is_openai_like(client: TestClient) -> None:
    r = client.post("/v1/chat/completions", content=b"{", headers={"Content-Type": "application/json"})
    assert r.json()["error"]["code"] == "invalid_json"


def test_chat_reply_leads_with_the_short_answer(client: TestClient) -> None:
    r = client.post(
        "/v1/chat/completions",
        json={"model": "zhiwen", "messages": [{"role": "user", "content": "出席全会的市委委员应到多少人？"}]},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    content = body["choices"][0]["message"]["content"]
    direct = client.post("/v1/ask", json={"question": "出席全会的市委委员应到多少人？"}).json()
    short = direct["short_answer"]
    assert short is not None
    assert content.startswith(f"**{short['text']}**[{short['n']}]")
    assert direct["answer"] in content  # the evidence follows
