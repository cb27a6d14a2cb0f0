"""Shared fixtures: the seeds, ../shared, and small indexes built with the fake embedder."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
SHARED = ROOT.parent / "shared"


def free_port() -> int:
    """A free TCP port on 127.0.0.1 for a server started by a test."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def serve_command(port: int, workers: int = 1) -> list[str]:
    """`zhiwen serve` on 127.0.0.1:`port` (`python -m server` when the script is not installed)."""
    zhiwen = Path(sys.executable).parent / "zhiwen"
    args = ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    if zhiwen.exists():
        return [str(zhiwen), "serve", *args]
    return [sys.executable, "-m", "server", *args]


def shared_path(*parts: str) -> Path:
    """A file under ../shared, or skip the test with a clear message when it is absent."""
    p = SHARED.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"{p} is absent: the shared evaluation data lives in ../shared beside the project")
    return p


@pytest.fixture(scope="session")
def seed_articles():
    from rag import read_paths

    result = read_paths([SEEDS])
    assert not result.errors
    return result.articles


@pytest.fixture
def fake_index(tmp_path, seed_articles):
    from rag import FakeEmbedder, Index

    index = Index.open(tmp_path / "index", FakeEmbedder())
    index.add(seed_articles)
    yield index
    index.close()


@pytest.fixture(scope="session")
def use_index(tmp_path_factory, seed_articles):
    """The seeds indexed with the real default embedder (USE multilingual v3)."""
    from rag import Index, get_embedder

    index = Index.open(tmp_path_factory.mktemp("use") / "index", get_embedder("use"))
    index.add(seed_articles)
    yield index
    index.close()
