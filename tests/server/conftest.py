"""Fixtures for the HTTP tests: a fake-embedder index over the seeds and TestClient factories."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from rag import Embedder, Index, get_embedder, read_paths
from server import create_app
from tests.server.server_helpers import SEEDS, make_settings


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return get_embedder("fake")


@pytest.fixture
def index(tmp_path: Path, embedder: Embedder) -> Iterator[Index]:
    idx = Index.open(tmp_path / "index", embedder, create=True)
    result = read_paths([SEEDS])
    assert result.articles, "the seeds folder should hold articles"
    idx.add(result.articles)
    yield idx
    idx.close()


ClientFactory = Callable[..., TestClient]


@pytest.fixture
def make_client(tmp_path: Path, index: Index) -> Iterator[ClientFactory]:
    """`make_client(**settings_overrides)`; pass `index=None` to let the app open its own."""
    clients: list[TestClient] = []

    def make(
        *, raise_server_exceptions: bool = True, use_index: Index | None = index, **overrides: Any
    ) -> TestClient:
        app = create_app(make_settings(tmp_path, **overrides), index=use_index)
        client = TestClient(app, raise_server_exceptions=raise_server_exceptions)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: ClientFactory) -> TestClient:
    return make_client()
