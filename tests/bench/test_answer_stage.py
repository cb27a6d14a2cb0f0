"""bench/answer_stage.py: the stages it times are the ones `ask` calls, and its timer counts."""

from __future__ import annotations

import collections
import inspect
import types

import rag.answer.stage as stage
from bench.answer_stage import STAGES, timed


def test_every_stage_timed_is_a_function_ask_calls() -> None:
    """A renamed stage would be timed as 0 ms without this."""
    body = inspect.getsource(stage.ask) + inspect.getsource(stage.gather_evidence)
    for name in STAGES:
        assert callable(getattr(stage, name)), name
        assert f"{name}(" in body, f"ask no longer calls {name}"


def test_a_timed_function_adds_its_time_and_still_returns() -> None:
    module = types.SimpleNamespace(work=lambda x: x * 2)
    spent: collections.Counter[str] = collections.Counter()
    timed(module, "work", spent)
    assert module.work(3) == 6
    assert module.work(4) == 8
    assert spent["work"] > 0
