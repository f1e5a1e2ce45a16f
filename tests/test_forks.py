"""Independent tasks in forked processes (``restrat_sync.forks``)."""

from __future__ import annotations

import os

import pytest

from restrat_sync.forks import forked_map

PARENT = os.getpid()


def test_results_come_back_in_index_order_whatever_order_they_were_handed_out() -> None:
    """Each index's result sits at its index, though the children took the indexes in
    ``order`` and finished them in any order."""
    found = forked_map(lambda index: index * index, 6, workers=2, order=[5, 3, 1, 0, 2, 4])
    assert found == [0, 1, 4, 9, 16, 25]


def test_tasks_run_in_forked_children_that_see_the_parents_memory() -> None:
    """The tasks run in other processes, reading what the parent held when it forked them,
    which is never sent to them."""
    held = {index: f"PAY-{index}" for index in range(4)}
    found = forked_map(lambda index: (os.getpid(), held[index]), 4, workers=2)
    assert [key for _, key in found] == ["PAY-0", "PAY-1", "PAY-2", "PAY-3"]
    assert PARENT not in {pid for pid, _ in found}


def test_one_worker_runs_the_tasks_here() -> None:
    """With one worker nothing is forked."""
    assert forked_map(lambda _: os.getpid(), 3, workers=1) == [PARENT] * 3


def test_a_failing_task_fails_the_map() -> None:
    """An exception in a child reaches the caller."""

    def task(index: int) -> int:
        if index == 2:
            raise ValueError("task 2 failed")
        return index

    with pytest.raises(ValueError, match="task 2 failed"):
        forked_map(task, 4, workers=2)
