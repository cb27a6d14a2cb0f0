"""bench/english.py: the English "not found" coverage is the highest that keeps the answers."""

from __future__ import annotations

from bench.english import GRID, best


def table(right: list[int]) -> dict[float, list[bool]]:
    """Four questions, two outcomes each (right over "with", refused over "without": never here);
    question k is right at a grid value where k < that value's count in `right`."""
    return {v: [x for k in range(4) for x in (k < r, False)] for v, r in zip(GRID, right, strict=True)}


def test_the_highest_value_that_keeps_enough_right_answers_is_chosen() -> None:
    right = [4, 4, 4, 4, 3, 3, 2, 2, 1, 1, 0, 0, 0]
    assert best(table(right), [0, 1, 2, 3], keep=0.95, allowed=GRID) == GRID[3]  # the last with all 4
    assert best(table(right), [0, 1, 2, 3], keep=0.75, allowed=GRID) == GRID[5]  # 3 of 4 kept
    assert (
        best(table(right), [0], keep=0.95, allowed=GRID) == GRID[9]
    )  # question 0 is right up to 1 right in all
    assert best(table(right), [0, 1, 2, 3], keep=0.95, allowed=GRID[:2]) == GRID[1]  # only those allowed
    # none of those allowed keeps 0.95: the highest of those that keep the most
    assert best(table(right), [0, 1, 2, 3], keep=0.95, allowed=GRID[4:8]) == GRID[5]


def test_the_newest_set_is_held_apart_when_named() -> None:
    import pytest

    from bench.english import held_apart

    owner = ["news68k_first", "news68k_first", "news68k_second", "news68k_twentieth"]
    splits = held_apart(owner, None)
    assert [(a, b) for _, _, a, b in splits] == [([0, 1], [2, 3]), ([2, 3], [0, 1])]
    newest = held_apart(owner, "news68k_twentieth")[-1]
    assert newest[2:] == ([0, 1, 2], [3])
    with pytest.raises(SystemExit, match="no English set"):
        held_apart(owner, "news68k_missing")
