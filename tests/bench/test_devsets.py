"""bench/devsets.py: a completed bench index gets the articles of a set added since."""

from __future__ import annotations

import pytest

import bench.devsets as devsets
from rag import FakeEmbedder


def test_a_completed_index_gets_the_records_it_lacks(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(devsets, "get_embedder", lambda name: FakeEmbedder())
    records = [
        {"id": "a1", "text": "第一篇新闻的正文，讲的是城里新开了一座图书馆。"},
        {"id": "a2", "text": "第二篇新闻的正文，讲的是河边修好了一条步道。"},
    ]
    devsets.build(tmp_path / "ix", records[:1]).close()
    index = devsets.build(tmp_path / "ix", records)  # a set added since: its article was missing
    try:
        assert len(index) == 2
    finally:
        index.close()
    again = devsets.build(tmp_path / "ix", records)  # completed for these: opened as it is
    try:
        assert len(again) == 2
    finally:
        again.close()
