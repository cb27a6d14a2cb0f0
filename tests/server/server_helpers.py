"""Shared constants and assertions for the HTTP tests (imported by conftest and the test modules)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from rag.settings import Settings

REPO = Path(__file__).resolve().parents[2]
SEEDS = REPO / "seeds"
API_KEY = "test-key-5f1d2c"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
# a question whose answer is in the Simplified seed (asserting seed facts is fine)
SEED_QUESTION = "全会审议通过了什么？"


def served_env(index: Path, **extra: str) -> dict[str, str]:
    """The environment of a `zhiwen serve` subprocess: the fake embedder, `index` (seeded from
    seeds/ when new), no web chat, no inherited metrics folder; `extra` settings on top."""
    env = {
        **os.environ,
        "ZHIWEN_EMBEDDER": "fake",
        "ZHIWEN_INDEX": str(index),
        "ZHIWEN_SEEDS": str(SEEDS),
        "ZHIWEN_UI": "false",
        "PYTHONPATH": str(REPO),
        **extra,
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return env


def assert_error(response: Any, status: int, code: str | None = None) -> str:
    """The response is the error envelope with `status` (and `code`); returns the message."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"].strip()
    if code is not None:
        assert body["error"]["code"] == code, body
    message: str = body["error"]["message"]
    return message


def assert_citations_verbatim(client: TestClient, citations: list[dict[str, Any]]) -> None:
    """Every citation's quote is the stored text [start:end] of its article, read over the API."""
    for c in citations:
        r = client.get(f"/v1/articles/{c['article_id']}")
        assert r.status_code == 200, r.text
        assert r.json()["text"][c["start"] : c["end"]] == c["quote"]


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "index": tmp_path / "index",
        "embedder": "fake",
        "seeds": SEEDS,
        "ui": False,
        "api_key": API_KEY,
    }
    values.update(overrides)
    return Settings(**values)
