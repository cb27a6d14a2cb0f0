"""The web chat mounted into the API (no browser): the page, its config, and its upload event
through Gradio's own queue."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from rag import Index
from server import create_app
from tests.ui.ui_helpers import KEY, settings

pytest.importorskip("gradio", reason="the web chat needs the `ui` extra: pip install -e '.[ui]'")


def test_root_redirects_to_the_mounted_chat(tmp_path: Path, fake_index: Index) -> None:
    with TestClient(create_app(settings(tmp_path), index=fake_index)) as client:
        r = client.get("/", follow_redirects=False)
        assert r.status_code in (302, 307) and r.headers["location"] == "/ui"
        page = client.get("/ui/")
        assert page.status_code == 200 and "<html" in page.text.lower()
        config = client.get("/ui/config")
        assert config.status_code == 200
        assert "fonts.googleapis" not in config.text and "fonts.gstatic" not in config.text
        assert config.json()["run_history"] is False  # nothing the user types is kept in the browser


def _run_upload_event(client: TestClient, path: str, session: str) -> str:
    """Call the page's upload event through Gradio's own queue, as a browser (or an attacker)
    would, with a FileData payload naming `path`; returns the status HTML it answered."""
    import json

    cfg = client.get("/ui/config").json()
    comps = {x["id"]: x for x in cfg["components"]}
    dep = next(
        d
        for d in cfg["dependencies"]
        if "zw-files" in [comps[j].get("props", {}).get("elem_id") for j in d["inputs"]]
    )
    payload = {
        "data": [[{"path": path, "orig_name": Path(path).name, "meta": {"_type": "gradio.FileData"}}], KEY],
        "fn_index": dep["id"],
        "trigger_id": dep["targets"][0][0],
        "session_hash": session,
        "event_data": None,
    }
    assert client.post("/ui/gradio_api/queue/join", json=payload).status_code == 200
    last = ""
    with client.stream("GET", f"/ui/gradio_api/queue/data?session_hash={session}") as stream:
        for line in stream.iter_lines():
            if line.startswith("data:"):
                msg = json.loads(line[5:])
                if msg.get("output", {}).get("data"):
                    last = str(msg["output"]["data"][0])
                if msg.get("msg") == "process_completed":
                    break
    return last


def test_queue_join_with_a_server_path_is_refused_and_a_received_file_is_indexed(
    tmp_path: Path, fake_index: Index, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio"))
    secret = tmp_path / "secret.txt"
    secret.write_text("机密标题\n服务器上的机密内容。\n", "utf-8")
    app = create_app(settings(tmp_path), index=fake_index)
    with TestClient(app) as client:
        before = fake_index.stats()["articles"]
        out = _run_upload_event(client, str(secret), "attacker")
        assert "只能导入通过本页上传的文件" in out
        assert fake_index.stats()["articles"] == before
        upload = {
            "files": ("bridge.txt", "大桥今日通车\n长沙晚报讯 大桥今天正式通车。\n".encode(), "text/plain")
        }
        (stored,) = client.post("/ui/gradio_api/upload", files=upload, cookies={"zhiwen_key": KEY}).json()
        out = _run_upload_event(client, stored, "user")
        assert "已导入" in out, out
        assert fake_index.stats()["articles"] == before + 1
