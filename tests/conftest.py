"""Shared fixtures: the seeds, ../shared, and small indexes built with the fake embedder."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
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


@contextlib.contextmanager
def running_server(
    cwd: Path, env: dict[str, str], workers: int = 1, timeout: float = 300
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`zhiwen serve` on a free loopback port, until /readyz answers 200; stopped on exit.
    Yields (base URL, process); its output goes to `cwd/server.log`."""
    import httpx

    port = free_port()
    log_path = cwd / "server.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            serve_command(port, workers=workers), cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the server exited with {proc.returncode}:\n{log_path.read_text()}")
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the server did not become ready:\n{log_path.read_text()}")
            time.sleep(0.3)
        yield base, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


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


def _index_builder(tmp_path, embedder):
    from rag import Index

    opened = []

    def build(*articles):
        index = Index.open(tmp_path / f"ix{len(opened)}", embedder)
        index.add(list(articles))
        opened.append(index)
        return index

    return build, opened


@pytest.fixture
def index_of(tmp_path):
    """Builds a fake-embedder index of the articles given; closed after the test."""
    from rag import FakeEmbedder

    build, opened = _index_builder(tmp_path, FakeEmbedder())
    yield build
    for index in opened:
        index.close()


@pytest.fixture(scope="session")
def use_embedder():
    """The real default embedder (USE multilingual v3), loaded once."""
    from rag import get_embedder

    return get_embedder("use")


@pytest.fixture
def use_index_of(tmp_path, use_embedder):
    """Builds an index of the articles given with the real embedder, for what depends on its
    cosines (an English question's "not found" weighs its cosine with the sentence, which the
    fake embedder's hashes cannot give); closed after the test."""
    build, opened = _index_builder(tmp_path, use_embedder)
    yield build
    for index in opened:
        index.close()


@pytest.fixture(scope="session")
def use_index(tmp_path_factory, seed_articles):
    """The seeds indexed with the real default embedder (USE multilingual v3)."""
    from rag import Index, get_embedder

    index = Index.open(tmp_path_factory.mktemp("use") / "index", get_embedder("use"))
    index.add(seed_articles)
    yield index
    index.close()
