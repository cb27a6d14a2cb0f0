"""What the web chat's tests share: the settings of a test app over the fake-embedder seeds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rag.settings import Settings
from tests.conftest import SEEDS

KEY = "ui-test-key"


def settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "index": tmp_path / "index",
        "embedder": "fake",
        "seeds": SEEDS,
        "api_key": KEY,
        "ui": True,
    }
    values.update(overrides)
    return Settings(**values)
