"""The service's answer slots: how many questions one server process works on at once."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

import server.service
from rag.settings import Settings
from server.jobs import JobRegistry
from server.service import Service


class _Meter:
    """Stands in for answering: records how many calls overlap."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = 0
        self.most = 0

    def __call__(self, *args: Any, **kwargs: Any) -> list[Any]:
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
        time.sleep(0.2)
        with self.lock:
            self.now -= 1
        return []


def _overlap(slots: int, call: str, monkeypatch: pytest.MonkeyPatch, llm: Any = None) -> int:
    meter = _Meter()
    monkeypatch.setattr(server.service, call, meter)
    service = Service(Settings(answer_slots=slots), JobRegistry())
    if call == "ask":
        work = lambda: service.ask(None, "问题", llm=llm)  # type: ignore[arg-type]  # noqa: E731
    else:
        work = lambda: service.search(None, "问题")  # type: ignore[arg-type]  # noqa: E731
    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return meter.most


@pytest.mark.parametrize("call", ["ask", "search"])
def test_one_question_at_a_time_by_default(call: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().answer_slots == 1
    assert _overlap(1, call, monkeypatch) == 1


@pytest.mark.parametrize("call", ["ask", "search"])
def test_answer_slots_let_that_many_run_at_once(call: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _overlap(3, call, monkeypatch) == 3


def test_answers_an_llm_writes_do_not_wait_for_a_slot(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _overlap(1, "ask", monkeypatch, llm=object()) > 1


def test_the_server_indexes_uploads_with_or_without_sentence_words(tmp_path):
    """ZHIWEN_INDEX_WORDS reaches the index the server writes uploads into."""
    from rag import FakeEmbedder, Index
    from server.app import open_index

    Index.open(tmp_path / "ix", FakeEmbedder()).close()
    for flag in (True, False):
        index = open_index(Settings(index=tmp_path / "ix", index_words=flag), FakeEmbedder())
        try:
            assert index.store_words is flag
        finally:
            index.close()
