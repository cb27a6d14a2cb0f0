"""Questions keep being answered, with valid citations, while articles are added and deleted."""

from __future__ import annotations

import threading
import time
from typing import Any

from fastapi.testclient import TestClient

from rag import Index
from tests.server.server_helpers import AUTH, SEED_QUESTION

QUESTIONS = [SEED_QUESTION, "第3次例会审议通过了哪份文件？", "制造业高质量发展", "会议由谁主持？"]


def _article(i: int) -> dict[str, Any]:
    # articles that compete with the seeds for the questions above
    return {
        "id": f"conc-{i}",
        "title": f"区政府第{i}次常务会议",
        "text": (
            f"第{i}次例会于上午召开，由副区长主持。会议审议通过了第{i}号文件《关于推进制造业高质量发展的意见》。"
            f"会议要求各部门在{i % 12 + 1}月底前完成任务。"
        ),
        "published": f"2023-{i % 12 + 1:02d}-01",
        "source": "并发测试日报",
    }


def test_readers_see_consistent_answers_during_writes(client: TestClient, index: Index) -> None:
    # stored texts by id; an id's text never changes, so any citation can be checked even after a delete
    texts: dict[str, str] = {
        a["id"]: client.get(f"/v1/articles/{a['id']}").json()["text"]
        for a in client.get("/v1/articles", params={"limit": 200}).json()["items"]
    }
    for i in range(40):
        texts[f"conc-{i}"] = _article(i)["text"]

    stop = threading.Event()
    failures: list[str] = []
    answered = [0]
    lock = threading.Lock()

    def reader(worker: int) -> None:
        n = 0
        while not stop.is_set():
            question = QUESTIONS[(worker + n) % len(QUESTIONS)]
            n += 1
            route = "/v1/ask" if n % 3 else "/v1/chat/completions"
            body = (
                {"question": question, "top_k": 5}
                if route == "/v1/ask"
                else {"model": "zhiwen", "messages": [{"role": "user", "content": question}]}
            )
            r = client.post(route, json=body)
            if r.status_code != 200:
                failures.append(f"{route} {r.status_code}: {r.text[:200]}")
                continue
            data = r.json()
            for c in data["citations"]:
                text = texts.get(c["article_id"])
                if text is None or text[c["start"] : c["end"]] != c["quote"]:
                    failures.append(f"bad citation {c}")
            with lock:
                answered[0] += 1

    def writer() -> None:
        try:
            for round_ in range(4):
                batch = [_article(i) for i in range(round_ * 10, round_ * 10 + 10)]
                r = client.post("/v1/articles", json={"articles": batch}, headers=AUTH)
                if r.status_code != 201:
                    failures.append(f"add {r.status_code}: {r.text[:200]}")
                time.sleep(0.2)
                for a in batch[::2]:
                    r = client.delete(f"/v1/articles/{a['id']}", headers=AUTH)
                    if r.status_code != 200:
                        failures.append(f"delete {r.status_code}: {r.text[:200]}")
        finally:
            time.sleep(0.3)
            stop.set()

    readers = [threading.Thread(target=reader, args=(w,)) for w in range(4)]
    w = threading.Thread(target=writer)
    for t in [*readers, w]:
        t.start()
    w.join(timeout=300)
    stop.set()
    for t in readers:
        t.join(timeout=60)

    assert not failures, failures[:5]
    assert answered[0] >= 8, answered[0]
    # the final state: 20 of the 40 added articles remain, and the deleted ones are gone
    for i in range(40):
        status = client.get(f"/v1/articles/conc-{i}").status_code
        assert status == (404 if i % 2 == 0 else 200), i
    assert index.stats()["articles"] == len(texts) - 40 + 20
    r = client.post("/v1/ask", json={"question": "第3次例会审议通过了哪份文件？"})
    assert r.status_code == 200
    assert all(c["article_id"] != "conc-2" for c in r.json()["citations"])
