"""Follow-up questions over HTTP: `/v1/ask` with `history`, `/v1/chat/completions` with earlier messages.

The index is the seeds indexed with the real default embedder (whether a follow-up is answered
weighs the dense similarity of its best sentence, which a fake embedder cannot give). Follow-ups name no subject;
the carried subject must show in `rewritten_question`; questions with a subject of their own
must not be rewritten.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from rag import Embedder, Index, ask, get_embedder
from rag.normalize import to_simplified
from rag.records import Turn
from tests.server.server_helpers import assert_citations_verbatim


@pytest.fixture
def embedder() -> Embedder:
    return get_embedder("use")


def _ask(client: TestClient, question: str, history: list[dict[str, Any]]) -> dict[str, Any]:
    r = client.post("/v1/ask", json={"question": question, "history": history})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _converse(client: TestClient, questions: list[str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Ask in turn, passing each answer (with its citations) back as history; returns (answers, history)."""
    history: list[dict[str, Any]] = []
    answers = []
    for q in questions:
        body = _ask(client, q, history)
        answers.append(body)
        history += [
            {"role": "user", "content": q},
            {"role": "assistant", "content": body["answer"], "citations": body["citations"]},
        ]
    return answers, history


# ---------------------------------------------------------------- /v1/ask


def test_ask_resolves_a_person_pronoun_from_history(client: TestClient) -> None:
    first, follow = _converse(client, ["胡衡华是谁？", "他后来调任什么职务？"])[0]
    assert first["rewritten_question"] is None  # a question of its own
    assert follow["question"] == "他后来调任什么职务？"
    assert follow["rewritten_question"] is not None and "胡衡华" in follow["rewritten_question"]
    assert follow["answered"], follow
    assert any("调任" in to_simplified(c["quote"]) for c in follow["citations"])
    assert_citations_verbatim(client, follow["citations"])


def test_ask_carries_the_meeting_across_follow_ups(client: TestClient) -> None:
    answers, history = _converse(
        client, ["十三届八次全会是哪天召开的？", "市委委员实到多少人？", "这次全会有哪些人出席？"]
    )
    assert answers[0]["rewritten_question"] is None
    assert "十三届八次全会" in (answers[1]["rewritten_question"] or "")
    assert answers[2]["rewritten_question"] == "十三届八次全会有哪些人出席？"
    assert answers[2]["answered"] and any("出席" in c["quote"] for c in answers[2]["citations"])
    for a in answers:
        assert_citations_verbatim(client, a["citations"])
    # a question naming its own subject, after the same conversation: not rewritten
    own = _ask(client, "上海市委书记是谁？", history)
    assert own["rewritten_question"] is None
    own = _ask(client, "胡忠雄在全会上做了什么？", history)
    assert own["rewritten_question"] is None


def test_ask_follow_up_in_traditional_keeps_its_script(client: TestClient) -> None:
    answers, _ = _converse(client, ["胡衡華是誰？", "他後來調任什麼職務？"])
    follow = answers[1]
    assert follow["script"] == "zh-Hant"
    assert "胡衡華" in (follow["rewritten_question"] or "")


def test_ask_follow_up_in_english(client: TestClient) -> None:
    answers, _ = _converse(client, ["十三届八次全会是哪天召开的？", "Who attended that plenum?"])
    assert answers[1]["rewritten_question"] == "Who attended 十三届八次全会?"


def test_ask_history_without_citations_still_resolves(client: TestClient) -> None:
    body = _ask(
        client,
        "这次全会有哪些人出席？",
        [
            {"role": "user", "content": "十三届八次全会是哪天召开的？"},
            {"role": "assistant", "content": "9月24日。"},
        ],
    )
    assert body["rewritten_question"] == "十三届八次全会有哪些人出席？"


# ---------------------------------------------------------------- /v1/chat/completions


def _chat(client: TestClient, messages: list[dict[str, str]]) -> dict[str, Any]:
    r = client.post("/v1/chat/completions", json={"model": "zhiwen", "messages": messages})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _chat_conversation(
    client: TestClient, questions: list[str]
) -> tuple[list[dict[str, str]], dict[str, Any]]:
    """Earlier questions and the server's own replies as messages; returns (messages, last reply)."""
    messages: list[dict[str, str]] = []
    body: dict[str, Any] = {}
    for q in questions:
        messages.append({"role": "user", "content": q})
        body = _chat(client, messages)
        messages.append({"role": "assistant", "content": body["choices"][0]["message"]["content"]})
    return messages, body


@pytest.mark.parametrize(
    ("questions", "carried"),
    [
        (["胡衡华是谁？", "他后来调任什么职务？"], "胡衡华"),
        (
            ["十三届八次全会是哪天召开的？", "市委委员实到多少人？", "这次全会有哪些人出席？"],
            "十三届八次全会",
        ),
    ],
)
def test_chat_completions_uses_earlier_messages(
    client: TestClient, index: Index, questions: list[str], carried: str
) -> None:
    messages, body = _chat_conversation(client, questions)
    # the same conversation through the library, as the server sees it (messages carry no citations)
    history = [Turn(role=m["role"], content=m["content"]) for m in messages[:-2]]
    direct = ask(index, questions[-1], history=history)
    assert direct.rewritten_question is not None and carried in direct.rewritten_question
    assert direct.answered and body["citations"]
    # the server answered the rewritten question: the same citations as the library
    assert [(c["article_id"], c["start"], c["end"]) for c in body["citations"]] == [
        (c.article_id, c.start, c.end) for c in direct.citations
    ]
    assert_citations_verbatim(client, body["citations"])
    # without the earlier messages the follow-up is not rewritten
    alone = ask(index, questions[-1])
    assert alone.rewritten_question is None


def test_chat_completions_does_not_rewrite_a_question_with_its_own_subject(
    client: TestClient, index: Index
) -> None:
    messages, _ = _chat_conversation(client, ["胡衡华是谁？"])
    body = _chat(client, [*messages, {"role": "user", "content": "上海市委书记是谁？"}])
    direct = ask(
        index, "上海市委书记是谁？", history=[Turn(role=m["role"], content=m["content"]) for m in messages]
    )
    assert direct.rewritten_question is None
    assert [c["quote"] for c in body["citations"]] == [c.quote for c in direct.citations]


def test_chat_completions_shows_the_rewritten_question(client: TestClient) -> None:
    _, body = _chat_conversation(client, ["胡衡华是谁？", "他后来调任什么职务？"])
    assert "胡衡华" in (body.get("rewritten_question") or "")
