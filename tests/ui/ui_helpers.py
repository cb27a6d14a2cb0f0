"""What the web chat's tests share: the settings of a test app over the fake-embedder seeds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rag.settings import Settings
from tests.server.server_helpers import make_settings

KEY = "ui-test-key"


def settings(tmp_path: Path, **overrides: Any) -> Settings:
    """The API tests' settings, with the web chat on and its own key."""
    return make_settings(tmp_path, **{"api_key": KEY, "ui": True, **overrides})
