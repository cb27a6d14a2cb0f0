"""Article management: list/read/add/delete, uploads, background jobs, auth, bad uploads."""

from __future__ import annotations

import gzip
import json
import logging
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from rag import Index
from tests.server.server_helpers import API_KEY, AUTH, assert_error

NEW = {
    "id": "api-1",
    "title": "市政府召开常务会议研究城市更新",
    "text": "5月8日，市政府召开常务会议，研究部署城市更新工作。会议要求加快推进老旧小区改造。",
    "published": "2023-05-08",
    "source": "示例日报",
}


def _jsonl(*records: Any) -> bytes:
    return "\n".join(r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in records).encode()


def _wait_job(client: TestClient, job_id: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(f"/v1/jobs/{job_id}").json()
        if job["status"] in ("succeeded", "failed"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish")


# ---------------------------------------------------------------- reading


def test_list_is_paginated(client: TestClient, index: Index) -> None:
    total = index.stats()["articles"]
    first = client.get("/v1/articles", params={"limit": 5}).json()
    assert first["total"] == total and first["limit"] == 5 and len(first["items"]) == 5
    second = client.get("/v1/articles", params={"limit": 5, "offset": 5}).json()
    assert not {a["id"] for a in first["items"]} & {a["id"] for a in second["items"]}
    everything = client.get("/v1/articles", params={"limit": 200}).json()
    assert len(everything["items"]) == total
    past = client.get("/v1/articles", params={"offset": total + 10}).json()
    assert past["items"] == [] and past["total"] == total


def test_list_filters_by_outlet_and_date(client: TestClient) -> None:
    by_source = client.get("/v1/articles", params={"source": "华夏经纬网"}).json()
    assert by_source["total"] >= 1 and all(a["source"] == "华夏经纬网" for a in by_source["items"])
    by_date = client.get("/v1/articles", params={"since": "2020-01-01", "until": "2020-12-31"}).json()
    assert by_date["total"] >= 1
    assert all(a["published"] and a["published"].startswith("2020") for a in by_date["items"])
    none = client.get("/v1/articles", params={"since": "2031-01-01"}).json()
    assert none == {"total": 0, "offset": 0, "limit": 50, "items": []}


@pytest.mark.parametrize(
    "params,field",
    [
        ({"limit": 0}, "limit"),
        ({"limit": 201}, "limit"),
        ({"offset": -1}, "offset"),
        ({"since": "May"}, "since"),
    ],
)
def test_list_bad_params(client: TestClient, params: dict[str, Any], field: str) -> None:
    assert field in assert_error(client.get("/v1/articles", params=params), 422, "invalid_request")


def test_get_article_has_metadata_and_stored_text(client: TestClient, index: Index) -> None:
    items = client.get("/v1/articles", params={"limit": 200}).json()["items"]
    for item in items:  # includes related items whose ids contain "/"
        r = client.get(f"/v1/articles/{item['id']}")
        assert r.status_code == 200, r.text
        body = r.json()
        stored = index.get_article(item["id"])
        assert body["text"] == stored.text and body["title"] == stored.title
        assert body["chars"] == len(stored.text)


def test_unknown_article_id(client: TestClient) -> None:
    assert "GET /v1/articles" in assert_error(client.get("/v1/articles/no-such-id"), 404, "not_found")


# ---------------------------------------------------------------- auth


def test_writes_refused_without_configured_key(make_client) -> None:  # type: ignore[no-untyped-def]
    client = make_client(api_key=None)
    for r in (
        client.post("/v1/articles", json={"articles": [NEW]}, headers=AUTH),
        client.delete("/v1/articles/000_c96f0316381136be", headers=AUTH),
    ):
        assert "ZHIWEN_API_KEY" in assert_error(r, 403, "writes_disabled")
    assert client.get("/v1/articles/000_c96f0316381136be").status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Basic {API_KEY}"},
        {"Authorization": "Bearer "},
    ],
)
def test_writes_need_the_right_bearer_key(client: TestClient, headers: dict[str, str]) -> None:
    assert_error(client.post("/v1/articles", json={"articles": [NEW]}, headers=headers), 401, "unauthorized")
    r = client.delete("/v1/articles/000_c96f0316381136be", headers=headers)
    assert_error(r, 401, "unauthorized")
    assert client.get("/v1/articles/api-1").status_code == 404


def test_key_is_never_logged(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client.post("/v1/articles", json={"articles": [NEW]}, headers=AUTH)
    client.post("/v1/articles", json={"articles": [NEW]}, headers={"Authorization": "Bearer wrong-key"})
    assert API_KEY not in caplog.text and "wrong-key" not in caplog.text


# ---------------------------------------------------------------- adding and deleting


def test_add_json_then_ask_then_delete(client: TestClient) -> None:
    r = client.post("/v1/articles", json={"articles": [NEW]}, headers=AUTH)
    assert r.status_code == 201, r.text
    assert r.json() == {"added": 1, "updated": 0, "unchanged": 0, "chunks": r.json()["chunks"], "errors": []}
    assert r.json()["chunks"] >= 1
    assert client.get("/v1/articles/api-1").json()["text"] == NEW["text"]
    again = client.post("/v1/articles", json={"articles": [NEW]}, headers=AUTH).json()
    assert again["unchanged"] == 1 and again["added"] == 0
    hits = client.post("/v1/search", json={"query": "老旧小区改造", "top_k": 3}).json()["hits"]
    assert hits[0]["article_id"] == "api-1"

    r = client.delete("/v1/articles/api-1", headers=AUTH)
    assert r.status_code == 200 and r.json() == {"deleted": "api-1"}
    assert_error(client.get("/v1/articles/api-1"), 404, "not_found")
    hits = client.post("/v1/search", json={"query": "老旧小区改造", "top_k": 3}).json()["hits"]
    assert all(h["article_id"] != "api-1" for h in hits)
    assert_error(client.delete("/v1/articles/api-1", headers=AUTH), 404, "not_found")


def test_add_json_bad_records(client: TestClient) -> None:
    r = client.post("/v1/articles", json={"articles": [{"title": "x"}]}, headers=AUTH)
    assert "text" in assert_error(r, 422, "invalid_request")
    assert_error(client.post("/v1/articles", json={"articles": []}, headers=AUTH), 422, "invalid_request")
    r = client.post("/v1/articles", json={"articles": [{"text": "   "}]}, headers=AUTH)
    assert_error(r, 422)
    r = client.post("/v1/articles", content=b"{oops", headers={**AUTH, "Content-Type": "application/json"})
    assert_error(r, 422, "invalid_json")
    r = client.post("/v1/articles", content=b"a=b", headers={**AUTH, "Content-Type": "text/plain"})
    assert_error(r, 415, "unsupported_media_type")


def test_upload_txt(client: TestClient) -> None:
    text = "区政府举行防汛演练\n2023-06-01 示例晚报\n6月1日，区政府在江边举行防汛应急演练，检验抢险队伍的反应能力。"
    files = [("files", ("flood.txt", text.encode("utf-8"), "text/plain"))]
    r = client.post("/v1/articles", files=files, headers=AUTH)
    assert r.status_code == 201, r.text
    assert r.json()["added"] == 1
    ids = [a["id"] for a in client.get("/v1/articles", params={"q": "防汛"}).json()["items"]]
    assert len(ids) == 1
    assert "防汛应急演练" in client.get(f"/v1/articles/{ids[0]}").json()["text"]


def test_upload_jsonl_reports_bad_lines_and_keeps_good_ones(client: TestClient) -> None:
    data = _jsonl(
        {"id": "l1", "title": "第一条", "text": "第一条新闻的正文内容。"},
        "{not json",
        {"id": "l3", "title": "第三条"},
        {"id": "l4", "title": "第四条", "text": "第四条新闻的正文内容。"},
    )
    r = client.post(
        "/v1/articles", files=[("files", ("batch.jsonl", data, "application/x-ndjson"))], headers=AUTH
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["added"] == 2
    assert sorted(e["line"] for e in body["errors"]) == [2, 3]
    assert all(e["path"] == "batch.jsonl" and e["reason"] for e in body["errors"])
    assert client.get("/v1/articles/l1").status_code == 200
    assert client.get("/v1/articles/l4").status_code == 200


def test_upload_jsonl_gz_and_several_files(client: TestClient) -> None:
    gz = gzip.compress(_jsonl({"id": "g1", "title": "压缩", "text": "压缩文件里的新闻正文。"}))
    files = [
        ("files", ("a.jsonl.gz", gz, "application/gzip")),
        (
            "files",
            ("b.jsonl", _jsonl({"id": "g2", "text": "第二个文件的新闻正文。"}), "application/x-ndjson"),
        ),
        ("files", ("c.pdf", b"%PDF-1.4", "application/pdf")),
    ]
    r = client.post("/v1/articles", files=files, headers=AUTH)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["added"] == 2
    assert [e["path"] for e in body["errors"]] == ["c.pdf"]
    assert "unsupported" in body["errors"][0]["reason"]


def test_unsupported_upload(client: TestClient) -> None:
    r = client.post(
        "/v1/articles", files=[("files", ("scan.pdf", b"%PDF-1.4 ...", "application/pdf"))], headers=AUTH
    )
    message = assert_error(r, 415, "unsupported_upload")
    assert ".jsonl" in message
    assert r.json()["error"]["details"][0]["path"] == "scan.pdf"


@pytest.mark.parametrize(
    "name,data",
    [
        ("binary.txt", bytes(range(256)) * 8),
        ("broken.jsonl.gz", b"\x1f\x8b\x08\x00 definitely not gzip"),
        ("empty.txt", b""),
    ],
)
def test_undecodable_upload(client: TestClient, name: str, data: bytes) -> None:
    r = client.post("/v1/articles", files=[("files", (name, data, "application/octet-stream"))], headers=AUTH)
    assert_error(r, 422, "invalid_upload")
    details = r.json()["error"]["details"]
    assert details and details[0]["path"] == name and details[0]["reason"]


def test_upload_without_files_field(client: TestClient) -> None:
    r = client.post("/v1/articles", data={"other": "x"}, files=[("other", ("a.txt", b"x"))], headers=AUTH)
    assert "files" in assert_error(r, 422, "invalid_request")
    r = client.post(
        "/v1/articles",
        content=b"garbage",
        headers={**AUTH, "Content-Type": "multipart/form-data; boundary=zz"},
    )
    assert r.status_code in (400, 422)
    assert r.json()["error"]["message"]


def test_upload_over_the_size_limit(make_client) -> None:  # type: ignore[no-untyped-def]
    client = make_client(max_upload_mb=0.01)  # 10 KiB
    big = ("新闻" * 4000).encode()
    r = client.post("/v1/articles", files=[("files", ("big.txt", big, "text/plain"))], headers=AUTH)
    assert "ZHIWEN_MAX_UPLOAD_MB" in assert_error(r, 413, "too_large")

    def chunked():  # type: ignore[no-untyped-def]
        yield b'{"articles": [{"text": "'
        for _ in range(20):
            yield ("新闻" * 200).encode()
        yield b'"}]}'

    r = client.post("/v1/articles", content=chunked(), headers={**AUTH, "Content-Type": "application/json"})
    assert_error(r, 413, "too_large")
    small = client.post("/v1/articles", json={"articles": [NEW]}, headers=AUTH)
    assert small.status_code == 201


def test_large_upload_runs_as_a_job(make_client) -> None:  # type: ignore[no-untyped-def]
    client = make_client(background_upload_bytes=100)
    records = [
        {"id": f"job-{i}", "title": f"第{i}条", "text": f"第{i}条新闻的正文，内容各不相同：{i * 7}。"}
        for i in range(30)
    ]
    data = _jsonl(*records, "{bad line")
    r = client.post(
        "/v1/articles", files=[("files", ("many.jsonl", data, "application/x-ndjson"))], headers=AUTH
    )
    assert r.status_code == 202, r.text
    accepted = r.json()
    assert accepted["url"] == f"/v1/jobs/{accepted['job_id']}" == r.headers["location"]
    job = _wait_job(client, accepted["job_id"])
    assert job["status"] == "succeeded", job
    assert job["result"]["added"] == 30
    assert [e["line"] for e in job["errors"]] == [31]
    assert job["done"] == job["total"] == 30
    assert client.get("/v1/articles/job-29").status_code == 200
    assert any(j["id"] == accepted["job_id"] for j in client.get("/v1/jobs", headers=AUTH).json())
    metrics = client.get("/metrics").text
    assert 'zhiwen_ingest_jobs_finished_total{status="succeeded"} 1.0' in metrics


def test_failed_job_reports_why(make_client) -> None:  # type: ignore[no-untyped-def]
    client = make_client(background_upload_bytes=10)
    data = _jsonl("{bad", "{worse")
    r = client.post(
        "/v1/articles", files=[("files", ("bad.jsonl", data, "application/x-ndjson"))], headers=AUTH
    )
    # the request waits for the job to read its files: nothing usable is refused at once
    message = assert_error(r, 422, "invalid_upload")
    assert "nothing was ingested" in message and len(r.json()["error"]["details"]) == 2
    (job,) = [j for j in client.get("/v1/jobs", headers=AUTH).json() if j["status"] == "failed"]
    assert "nothing was ingested" in job["message"] and len(job["errors"]) == 2


def test_unknown_job(client: TestClient) -> None:
    assert_error(client.get("/v1/jobs/nope"), 404, "not_found")


def test_article_text_is_data_not_markup(client: TestClient) -> None:
    evil = {
        "id": "xss-1",
        "title": "<img src=x onerror=alert(1)>标题",
        "text": "<script>alert('x')</script>正文里有尖括号 & 符号，会议照常举行。",
        "source": "<b>来源</b>",
    }
    assert client.post("/v1/articles", json={"articles": [evil]}, headers=AUTH).status_code == 201
    for r in (
        client.get("/v1/articles/xss-1"),
        client.get("/v1/articles", params={"q": "标题"}),
        client.post("/v1/search", json={"query": "正文里有尖括号", "top_k": 3}),
    ):
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("application/json")
        assert r.headers["x-content-type-options"] == "nosniff"
        assert b"<script" not in r.content and b"<img" not in r.content and b"<b>" not in r.content
    body = client.get("/v1/articles/xss-1").json()
    assert body["text"] == evil["text"] and body["title"] == evil["title"]
