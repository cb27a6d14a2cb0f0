"""POST /v1/ask and POST /v1/search: the CLI's JSON, and every bad input answered with a clear 4xx."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from rag import Index, answer_to_dict, ask, hits_to_dict, search
from tests.server.server_helpers import SEED_QUESTION, assert_citations_verbatim, assert_error


def test_ask_returns_the_cli_json_with_verbatim_citations(client: TestClient, index: Index) -> None:
    r = client.post("/v1/ask", json={"question": SEED_QUESTION, "top_k": 5})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    direct = answer_to_dict(ask(index, SEED_QUESTION, top_k=5))
    assert set(body) == set(direct)
    for key in ("question", "answered", "answer", "script", "citations", "mode", "short_answer"):
        assert body[key] == direct[key], key
    assert body["answered"] is True
    assert body["citations"]
    assert_citations_verbatim(client, body["citations"])


def test_ask_with_filters_and_history(client: TestClient) -> None:
    r = client.post(
        "/v1/ask",
        json={
            "question": SEED_QUESTION,
            "filters": {"since": "2019-01-01", "until": "2019-12-31"},
            "history": [
                {"role": "user", "content": "长沙市委全会什么时候召开？"},
                {"role": "assistant", "content": "9月24日。", "citations": []},
            ],
        },
    )
    assert r.status_code == 200, r.text
    for c in r.json()["citations"]:
        assert c["published"] is None or c["published"][:4] == "2019"
    # a date range with no articles: a valid answer, with nothing cited
    r = client.post("/v1/ask", json={"question": SEED_QUESTION, "filters": {"since": "2030-01-01"}})
    assert r.status_code == 200, r.text
    assert r.json()["citations"] == []


def test_search_returns_the_cli_json(client: TestClient, index: Index) -> None:
    r = client.post("/v1/search", json={"query": "制造业高质量发展", "top_k": 3})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body == {**hits_to_dict("制造业高质量发展", search(index, "制造业高质量发展", top_k=3))}
    assert 1 <= len(body["hits"]) <= 3
    for hit in body["hits"]:
        text = client.get(f"/v1/articles/{hit['article_id']}").json()["text"]
        assert text[hit["start"] : hit["end"]] == hit["text"]


def test_search_filters_by_source(client: TestClient) -> None:
    r = client.post("/v1/search", json={"query": "会议", "top_k": 10, "filters": {"sources": ["星辰在線"]}})
    assert r.status_code == 200, r.text
    hits = r.json()["hits"]
    assert hits and all(h["source"] == "星辰在線" for h in hits)


@pytest.mark.parametrize("route,field", [("/v1/ask", "question"), ("/v1/search", "query")])
@pytest.mark.parametrize("text", ["", "   ", "\n\t\u3000"])
def test_empty_or_whitespace_question(client: TestClient, route: str, field: str, text: str) -> None:
    message = assert_error(client.post(route, json={field: text}), 422, "invalid_input")
    assert field in message


def test_question_over_the_configured_length(make_client) -> None:  # type: ignore[no-untyped-def]
    client = make_client(max_question_chars=20)
    assert client.post("/v1/ask", json={"question": "会" * 20}).status_code == 200
    message = assert_error(client.post("/v1/ask", json={"question": "会" * 21}), 422, "invalid_input")
    assert "21" in message and "20" in message and "ZHIWEN_MAX_QUESTION_CHARS" in message


def test_default_question_limit_is_1000(client: TestClient) -> None:
    assert_error(client.post("/v1/ask", json={"question": "问" * 1001}), 422, "invalid_input")


def test_invalid_json(client: TestClient) -> None:
    r = client.post("/v1/ask", content=b'{"question": "x",', headers={"Content-Type": "application/json"})
    message = assert_error(r, 422, "invalid_json")
    assert "JSON" in message


def test_missing_body_and_missing_content_type(client: TestClient) -> None:
    assert "JSON" in assert_error(client.post("/v1/ask"), 422, "invalid_request")
    r = client.post("/v1/ask", content=b'{"question": "x"}')  # no Content-Type
    assert_error(r, 422)


@pytest.mark.parametrize(
    "body,field",
    [
        ({"question": 123}, "question"),
        ({"question": ["a"]}, "question"),
        ({"question": "会议", "top_k": "many"}, "top_k"),
        ({"question": "会议", "top_k": 2.5}, "top_k"),
        ({"question": "会议", "filters": "2019"}, "filters"),
        ({"question": "会议", "filters": {"since": "yesterday"}}, "since"),
        ({"question": "会议", "filters": {"sources": "新华社"}}, "sources"),
        ({"question": "会议", "history": [{"role": "robot", "content": "x"}]}, "role"),
        ({"question": "会议", "unknown": 1}, "unknown"),
        (["会议"], "body"),
    ],
)
def test_wrong_types_name_the_field(client: TestClient, body: object, field: str) -> None:
    message = assert_error(client.post("/v1/ask", json=body), 422, "invalid_request")
    assert field in message


@pytest.mark.parametrize("top_k", [0, -1, 51, 10**6])
@pytest.mark.parametrize("route,field", [("/v1/ask", "question"), ("/v1/search", "query")])
def test_top_k_out_of_range(client: TestClient, route: str, field: str, top_k: int) -> None:
    message = assert_error(client.post(route, json={field: "会议", "top_k": top_k}), 422, "invalid_request")
    assert "top_k" in message


@pytest.mark.parametrize("top_k", [1, 50])
def test_top_k_bounds_are_accepted(client: TestClient, top_k: int) -> None:
    assert client.post("/v1/ask", json={"question": "会议", "top_k": top_k}).status_code == 200


def test_since_after_until(client: TestClient) -> None:
    body = {"query": "会议", "filters": {"since": "2020-01-01", "until": "2019-01-01"}}
    assert "since" in assert_error(client.post("/v1/search", json=body), 422, "invalid_request")


def test_lone_surrogate_is_refused(client: TestClient) -> None:
    r = client.post(
        "/v1/ask", content=b'{"question": "\\ud800"}', headers={"Content-Type": "application/json"}
    )
    assert "Unicode" in assert_error(r, 422, "invalid_request")


def test_ask_gives_the_short_answer_with_its_citation(client: TestClient) -> None:
    body = client.post("/v1/ask", json={"question": "出席全会的市委委员应到多少人？"}).json()
    short = body["short_answer"]
    assert body["answered"] and short is not None
    assert set(short) == {"text", "n", "start", "end"}
    cite = next(c for c in body["citations"] if c["n"] == short["n"])
    assert cite["start"] <= short["start"] < short["end"] <= cite["end"]
    assert short["text"] in cite["quote"]
