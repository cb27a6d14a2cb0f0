"""Hostile input over HTTP: every case answers a 4xx (or 503/507) JSON error whose message says
what to do, never a 5xx `internal`; writes never stall reads; bombs are cut off early."""

from __future__ import annotations

import errno
import gzip
import io
import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from rag import Index
from tests.server.conftest import ClientFactory
from tests.server.server_helpers import AUTH, assert_error

MB = 1 << 20


def _gz(data: bytes) -> bytes:
    return gzip.compress(data, 6)


# a few MB of zeros / newlines compressed to a few KB (the big ones are in bench/bombs.py)
ZERO_BOMB = _gz(b"\0" * (24 * MB))
NEWLINE_BOMB = _gz(b"\n" * (24 * MB))
SPACE_JSON_BOMB = _gz(b"[" + b" " * (24 * MB) + b"]")
LONG_LINE = _gz(b'{"text": "' + b"a" * (3 * MB) + b'"}\n')


@pytest.fixture
def small(make_client: ClientFactory) -> TestClient:
    """Limits small enough that the bombs above pass them."""
    return make_client(max_upload_mb=1, max_file_mb=4, max_line_mb=1, raise_server_exceptions=False)


def _files(name: str, data: bytes) -> dict[str, Any]:
    return {"files": (name, data, "application/octet-stream")}


# ---------------------------------------------------------------- security


def test_job_list_needs_the_key(client: TestClient) -> None:
    assert_error(client.get("/v1/jobs"), 401, "unauthorized")
    assert_error(client.get("/v1/jobs", headers={"Authorization": "Bearer wrong"}), 401, "unauthorized")
    assert client.get("/v1/jobs", headers=AUTH).status_code == 200


@pytest.mark.parametrize("path", ["/v1/ask", "/healthz", "/docs", "/openapi.json", "/nowhere"])
def test_every_response_refuses_framing(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]


# ---------------------------------------------------------------- body limit


@pytest.mark.parametrize("path", ["/v1/ask", "/v1/search", "/v1/chat/completions", "/v1/articles"])
def test_over_size_body_is_413_before_it_is_read(small: TestClient, path: str) -> None:
    body = b'{"question": "' + b"x" * (2 * MB) + b'"}'
    headers = {**AUTH, "content-type": "application/json"}
    message = assert_error(small.post(path, content=body, headers=headers), 413, "too_large")
    assert "ZHIWEN_MAX_UPLOAD_MB" in message


def test_streamed_body_without_length_is_cut_off(small: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"question": "'
        for _ in range(40):
            yield b"x" * (64 * 1024)
        yield b'"}'

    r = small.post("/v1/ask", content=chunks(), headers={"content-type": "application/json"})
    assert_error(r, 413, "too_large")


# ---------------------------------------------------------------- no 500s


def test_lone_surrogate_line_is_reported_and_good_lines_go_in(client: TestClient) -> None:
    data = (
        b'{"id": "ok-1", "text": "\xe5\xa5\xbd\xe6\x96\x87\xe7\xab\xa0"}\n{"id": "bad", "text": "\\ud800"}\n'
    )
    r = client.post("/v1/articles", files=_files("mixed.jsonl", data), headers=AUTH)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["added"] == 1
    (err,) = body["errors"]
    assert err["line"] == 2 and "surrogate" in err["reason"]
    assert client.get("/v1/articles/ok-1").status_code == 200


def test_lone_surrogate_in_json_records_is_422(client: TestClient) -> None:
    body = '{"articles": [{"id": "s", "text": "\\ud800"}]}'
    r = client.post("/v1/articles", content=body, headers={**AUTH, "content-type": "application/json"})
    assert "Unicode" in assert_error(r, 422)


@pytest.mark.parametrize("path", ["/v1/articles", "/v1/ask", "/v1/search", "/v1/chat/completions"])
def test_deeply_nested_json_is_4xx(make_client: ClientFactory, path: str) -> None:
    client = make_client(raise_server_exceptions=False)
    body = "[" * 100_000 + "]" * 100_000
    r = client.post(path, content=body, headers={**AUTH, "content-type": "application/json"})
    assert 400 <= r.status_code < 500, r.text
    assert r.json()["error"]["message"]


@pytest.mark.parametrize(
    "exc",
    [
        OSError(errno.ENOSPC, "No space left on device"),
        sqlite3.OperationalError("database or disk is full"),
    ],
)
def test_full_disk_is_507_naming_the_disk(
    make_client: ClientFactory, index: Index, monkeypatch: pytest.MonkeyPatch, exc: Exception
) -> None:
    client = make_client(raise_server_exceptions=False)

    def full(*args: object, **kwargs: object) -> object:
        raise exc

    monkeypatch.setattr(index, "add", full)
    monkeypatch.setattr(index, "delete", full)
    r = client.post("/v1/articles", json={"articles": [{"text": "正文"}]}, headers=AUTH)
    assert "disk" in assert_error(r, 507, "disk_full")
    (article,), _ = index.list_articles(limit=1)
    assert "disk" in assert_error(client.delete(f"/v1/articles/{article.id}", headers=AUTH), 507)


def test_full_disk_during_an_upload_job_names_the_disk(
    make_client: ClientFactory, index: Index, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = make_client(background_upload_bytes=0)

    def full(*args: object, **kwargs: object) -> object:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(index, "add", full)
    data = b'{"id": "d1", "text": "\xe6\xad\xa3\xe6\x96\x87"}\n'
    r = client.post("/v1/articles", files=_files("d.jsonl", data), headers=AUTH)
    assert r.status_code == 202, r.text
    deadline = time.monotonic() + 30
    job = client.get(r.json()["url"]).json()
    while job["status"] not in ("succeeded", "failed") and time.monotonic() < deadline:
        time.sleep(0.05)
        job = client.get(r.json()["url"]).json()
    assert job["status"] == "failed" and "disk" in job["message"] and "internal" not in job["message"]


# ---------------------------------------------------------------- bombs


@pytest.mark.parametrize(
    "name,data",
    [
        ("zeros.jsonl.gz", ZERO_BOMB),
        ("newlines.jsonl.gz", NEWLINE_BOMB),
        ("zeros.json", ZERO_BOMB),
        ("spaces.json", SPACE_JSON_BOMB),
        ("zeros.txt", ZERO_BOMB),
        ("newlines.txt", NEWLINE_BOMB),
        ("long-line.jsonl.gz", LONG_LINE),
    ],
)
@pytest.mark.parametrize("as_job", [False, True])
def test_decompression_bombs_are_refused(
    make_client: ClientFactory, name: str, data: bytes, as_job: bool
) -> None:
    """Refused with the upload's own 413/422 whether it is indexed at once or as a job (the
    request waits for the job to read its files, so a bomb never gets a 202)."""
    client = make_client(
        max_upload_mb=1,
        max_file_mb=4,
        max_line_mb=1,
        background_upload_bytes=0 if as_job else 10 * MB,
        raise_server_exceptions=False,
    )
    t0 = time.monotonic()
    r = client.post("/v1/articles", files=_files(name, data), headers=AUTH)
    assert r.status_code in (413, 422), r.text
    assert r.json()["error"]["message"].startswith("nothing was ingested")
    assert time.monotonic() - t0 < 30  # bounded, not a timing claim


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "body,needle",
    [
        ({"question": "会议", "top_k": "5"}, "top_k"),
        ({"question": "会议", "top_k": True}, "top_k"),
        ({"question": "会议", "top_k": 5.0}, "top_k"),
        ({"question": "会议", "top_k": 0}, "top_k"),
        ({"question": "会议", "top_k": 51}, "top_k"),
        ({"question": 5}, "question"),
        ({"question": "会议", "filters": {"since": "2023-W01"}}, "YYYY-MM-DD"),
        ({"question": "会议", "filters": {"since": "20230101"}}, "YYYY-MM-DD"),
        ({"question": "会议", "filters": {"until": "2023-13-45"}}, "YYYY-MM-DD"),
        ({"question": "会议", "filters": {"since": "2023-02-01", "until": "2023-01-01"}}, "swap"),
    ],
)
def test_strict_request_validation(client: TestClient, body: dict[str, Any], needle: str) -> None:
    for path in ("/v1/ask", "/v1/search"):
        if path == "/v1/search":
            body = {("query" if k == "question" else k): v for k, v in body.items()}
            needle = "query" if needle == "question" else needle
        assert needle in assert_error(client.post(path, json=body), 422), (path, body)


def test_max_top_k_setting_is_honoured(make_client: ClientFactory) -> None:
    client = make_client(max_top_k=30)
    assert client.post("/v1/search", json={"query": "会议", "top_k": 30}).status_code == 200
    assert "1..30" in assert_error(client.post("/v1/search", json={"query": "会议", "top_k": 31}), 422)
    # above the default of 50 too: no other layer caps it
    client = make_client(max_top_k=80)
    for path, key in (("/v1/search", "query"), ("/v1/ask", "question")):
        assert client.post(path, json={key: "全会", "top_k": 80}).status_code == 200, path
    assert "1..80" in assert_error(client.post("/v1/search", json={"query": "会议", "top_k": 81}), 422)


def test_one_id_limit_on_the_way_in_and_out(client: TestClient) -> None:
    long_id = "x" * 20_000
    r = client.post("/v1/articles", json={"articles": [{"id": long_id, "text": "正文"}]}, headers=AUTH)
    assert "500" in assert_error(r, 422)
    line = json.dumps({"id": long_id, "text": "正文"}).encode()
    r = client.post("/v1/articles", files=_files("long.jsonl", line), headers=AUTH)
    assert "500" in assert_error(r, 422)
    ok = "y" * 500
    r = client.post("/v1/articles", json={"articles": [{"id": ok, "text": "正文"}]}, headers=AUTH)
    assert r.status_code == 201
    assert client.get(f"/v1/articles/{ok}").status_code == 200
    assert client.delete(f"/v1/articles/{ok}", headers=AUTH).status_code == 200


@pytest.mark.parametrize("query", ["since=2023-W01", "until=20230101", "since=2023-02-01&until=2023-01-01"])
def test_article_list_dates(client: TestClient, query: str) -> None:
    assert_error(client.get(f"/v1/articles?{query}"), 422)


# ---------------------------------------------------------------- writes never stall reads


class _SlowIndex:
    """The real index, whose `add` waits for `release` (a slow upload job being indexed)."""

    def __init__(self, index: Index, release: threading.Event) -> None:
        self._index = index
        self._release = release
        self.started = threading.Event()

    def add(self, articles: Any, **kwargs: Any) -> Any:
        self.started.set()
        assert self._release.wait(60)
        return self._index.add(articles, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._index, name)


def test_deletes_during_an_upload_job_answer_at_once_and_reads_stay_fast(
    make_client: ClientFactory, index: Index, monkeypatch: pytest.MonkeyPatch
) -> None:
    from server import service as service_module
    from server.deps import get_index

    monkeypatch.setattr(service_module, "SLOT_WAIT_S", 0.5)
    client = make_client(background_upload_bytes=0)
    ask = {"question": "全会审议通过了什么？"}
    assert client.post("/v1/ask", json=ask).status_code == 200  # warm: the first answer loads models
    release = threading.Event()
    slow = _SlowIndex(index, release)
    client.app.dependency_overrides[get_index] = lambda: slow  # type: ignore[attr-defined]
    try:
        data = b'{"id": "slow-1", "text": "\xe6\xad\xa3\xe6\x96\x87"}\n'
        r = client.post("/v1/articles", files=_files("slow.jsonl", data), headers=AUTH)
        assert r.status_code == 202, r.text
        assert slow.started.wait(30)
        with ThreadPoolExecutor(max_workers=45) as pool:
            deletes = list(
                pool.map(lambda i: client.delete(f"/v1/articles/nope-{i}", headers=AUTH), range(45))
            )
            for path, call in [
                ("/healthz", lambda: client.get("/healthz")),
                ("/readyz", lambda: client.get("/readyz")),
                ("/metrics", lambda: client.get("/metrics")),
                ("/v1/ask", lambda: client.post("/v1/ask", json=ask)),
            ]:
                t0 = time.monotonic()
                r = call()
                took = time.monotonic() - t0
                assert r.status_code == 200, (path, r.text)
                assert took < 1.0, f"{path} took {took:.2f} s while an upload job was indexing"
        for d in deletes:
            assert d.status_code == 503 and d.headers["retry-after"], d.text
            assert "retry" in d.json()["error"]["message"]
        # a third job beyond ZHIWEN_MAX_UPLOAD_JOBS (2) waits for a slot (briefly here), then 503
        second = client.post("/v1/articles", files=_files("b.jsonl", data), headers=AUTH)
        third = client.post("/v1/articles", files=_files("c.jsonl", data), headers=AUTH)
        assert second.status_code == 202
        assert_error(third, 503, "busy")
    finally:
        release.set()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and client.get("/v1/articles/slow-1").status_code != 200:
        time.sleep(0.05)
    assert client.get("/v1/articles/slow-1").status_code == 200


# ---------------------------------------------------------------- the web chat's upload route


@pytest.fixture
def ui_client(make_client: ClientFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    pytest.importorskip("gradio")
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio"))
    return make_client(ui=True)


def test_gradio_upload_route_needs_the_key(ui_client: TestClient) -> None:
    upload = {"files": ("a.txt", io.BytesIO("标题\n正文".encode()), "text/plain")}
    assert_error(ui_client.post("/ui/gradio_api/upload", files=upload), 401)
    assert_error(ui_client.post("/ui/gradio_api/upload/", files=upload), 401)
    bad = ui_client.post("/ui/gradio_api/upload", files=upload, cookies={"zhiwen_key": "wrong"})
    assert_error(bad, 401)
    ok = ui_client.post("/ui/gradio_api/upload", files=upload, headers=AUTH)
    assert ok.status_code == 200, ok.text
    from server.guard import was_received
    from ui.handlers import received_file

    (stored,) = ok.json()
    assert was_received(Path(stored).resolve()) and received_file(stored) is not None
    from tests.server.server_helpers import API_KEY

    ui_client.cookies.set("zhiwen_key", API_KEY)
    ok = ui_client.post("/ui/gradio_api/upload", files=upload)
    assert ok.status_code == 200, ok.text


def test_ui_page_has_frame_and_content_policies(ui_client: TestClient) -> None:
    r = ui_client.get("/ui/")
    assert r.status_code == 200
    assert r.headers["x-frame-options"] == "DENY"
    csp = r.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp


def test_server_does_not_import_the_web_chat() -> None:
    """`ui` uses `server.service`; `server` imports `ui` only inside the app factory's mount."""
    import subprocess
    import sys

    code = (
        "import sys, server, server.app, server.service, server.routers.articles; "
        "print(sorted(m for m in sys.modules if m == 'ui' or m.startswith('ui.') or m == 'gradio'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
