"""Health, readiness, metrics, docs, startup seeding and the error envelope."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from rag import Index, get_embedder
from rag.errors import IndexLockedError, NotFoundError
from server import create_app
from server.deps import get_index
from tests.server.server_helpers import SEED_QUESTION, SEEDS, assert_error, make_settings


def test_healthz_and_readyz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    r = client.get("/readyz")
    assert r.status_code == 200
    assert r.json()["status"] == "ready" and r.json()["articles"] > 0


def test_readyz_before_the_index_is_loaded(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path), index=None)
    client = TestClient(app)  # no lifespan: nothing loaded
    assert_error(client.get("/readyz"), 503, "not_ready")
    assert_error(client.post("/v1/ask", json={"question": "会议"}), 503, "not_ready")
    assert client.get("/healthz").status_code == 200


def test_metrics(client: TestClient, index: Index) -> None:
    client.post("/v1/ask", json={"question": SEED_QUESTION})
    client.post("/v1/ask", json={"question": ""})
    client.get("/v1/articles/no-such-id")
    client.get("/no/such/route")
    r = client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    text = r.text
    assert 'zhiwen_http_requests_total{method="POST",route="/v1/ask",status="200"} 1.0' in text
    assert 'zhiwen_http_requests_total{method="POST",route="/v1/ask",status="422"} 1.0' in text
    assert 'route="/v1/articles/{article_id}",status="404"' in text
    assert 'route="unmatched",status="404"' in text
    assert 'zhiwen_http_request_duration_seconds_count{method="POST",route="/v1/ask"} 2.0' in text
    stats = index.stats()
    assert f"zhiwen_index_articles {float(stats['articles'])}" in text  # type: ignore[arg-type]
    assert f"zhiwen_index_chunks {float(stats['chunks'])}" in text  # type: ignore[arg-type]
    assert 'zhiwen_ingest_jobs{status="running"} 0.0' in text


def test_docs_and_openapi_have_chinese_examples(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    schema = client.get("/openapi.json").json()
    paths = schema["paths"]
    for path in (
        "/v1/ask",
        "/v1/search",
        "/v1/chat/completions",
        "/v1/models",
        "/v1/articles",
        "/v1/articles/{article_id}",
        "/v1/jobs/{job_id}",
        "/healthz",
        "/readyz",
        "/metrics",
    ):
        assert path in paths, path
    examples = paths["/v1/ask"]["post"]["requestBody"]["content"]["application/json"]["examples"]
    assert any(re.search(r"[\u4e00-\u9fff]", e["value"]["question"]) for e in examples.values())
    upload = paths["/v1/articles"]["post"]["requestBody"]["content"]
    assert set(upload) == {"application/json", "multipart/form-data"}


def test_docs_page_loads_nothing_from_outside(client: TestClient) -> None:
    page = client.get("/docs").text
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']|url: ?["']([^"']+)["']""", page)
    found = [u for pair in urls for u in pair if u]
    assert found and all(u.startswith("/") for u in found), found
    for u in found:
        assert client.get(u).status_code == 200, u


def test_root_redirects_to_docs_without_ui(client: TestClient) -> None:
    r = client.get("/", follow_redirects=False)
    assert r.status_code in (302, 307) and r.headers["location"] == "/docs"


def test_unknown_route_and_method(client: TestClient) -> None:
    assert "/docs" in assert_error(client.get("/v2/nothing"), 404, "not_found")
    assert_error(client.get("/v1/ask"), 405, "method_not_allowed")


def test_fresh_machine_indexes_the_seeds_first(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    settings = make_settings(tmp_path, index=tmp_path / "fresh")
    with TestClient(create_app(settings)) as client:
        assert client.get("/readyz").status_code == 200
        n_seed_articles = client.get("/v1/articles").json()["total"]
        assert n_seed_articles > 0
    assert f"indexing {SEEDS}/ first" in caplog.text
    # second start: the index exists, nothing is re-indexed
    caplog.clear()
    with TestClient(create_app(settings)) as client:
        assert client.get("/v1/articles").json()["total"] == n_seed_articles
    assert "first" not in caplog.text


def test_no_seeds_starts_empty_and_says_how_to_add(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    settings = make_settings(tmp_path, index=tmp_path / "empty", seeds=tmp_path / "nowhere")
    with TestClient(create_app(settings)) as client:
        assert client.get("/v1/articles").json()["total"] == 0
        assert client.post("/v1/ask", json={"question": "会议"}).status_code == 200
    assert "POST /v1/articles" in caplog.text


class _Broken:
    """An index whose every call fails, to check how failures become HTTP errors."""

    def __init__(self, exc: Exception) -> None:
        self.exc = exc

    def __getattr__(self, name: str) -> object:
        def fail(*args: object, **kwargs: object) -> object:
            raise self.exc

        return fail


@pytest.mark.parametrize(
    "exc,status,code",
    [
        (IndexLockedError("the index is locked by another process; stop it and retry"), 503, "index_locked"),
        (NotFoundError("no such thing; list them"), 404, "not_found"),
    ],
)
def test_library_errors_map_to_http(tmp_path: Path, exc: Exception, status: int, code: str) -> None:
    app = create_app(make_settings(tmp_path), index=get_embedder_index(tmp_path))
    app.dependency_overrides[get_index] = lambda: _Broken(exc)
    with TestClient(app) as client:
        message = assert_error(client.post("/v1/ask", json={"question": "会议"}), status, code)
        assert message == str(exc)


def test_unexpected_errors_are_500_json_without_internals(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path), index=get_embedder_index(tmp_path))
    app.dependency_overrides[get_index] = lambda: _Broken(RuntimeError("secret /internal/path"))
    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.post("/v1/search", json={"query": "会议"})
        message = assert_error(r, 500, "internal")
        assert "secret" not in r.text and "Traceback" not in r.text
        assert "ref" in message
        assert 'route="/v1/search",status="500"' in client.get("/metrics").text


def get_embedder_index(tmp_path: Path) -> Index:
    return Index.open(tmp_path / "other", get_embedder("fake"), create=True)


def test_warm_loads_what_the_first_question_needs(index: Index) -> None:
    """Before the server says it is ready: the answer policy (with its span trees) is read,
    so the first question does not pay for it."""
    from rag.answer import Policy
    from server.app import warm

    Policy.load.cache_clear()
    warm(index)
    assert Policy.load.cache_info().currsize == 1
