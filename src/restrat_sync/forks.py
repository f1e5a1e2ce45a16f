"""Independent tasks on several cores, in processes forked from this one.

A forked child starts with everything its parent holds, shared copy-on-write: a task can read
a 100,000-issue portfolio that took seconds to prepare without it being sent anywhere. Only the
tasks' results travel back, pickled. Children are forked when ``forked_map`` is called and end
before it returns; they do no I/O of their own (they inherit the parent's database connections
and must not use them), so tasks must be pure.

Where ``fork`` does not exist (Windows; macOS defaults to ``spawn``, which would import and
rebuild everything), or with one worker, the tasks run here, one after the other: the results
are the same either way, in the same order.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import signal
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

T = TypeVar("T")

# More children than this cost more memory (each copies the pages its tasks touch) than the
# cores they would use save, on the portfolios measured (docs/performance.md).
MAX_WORKERS = 4

# The task of the running ``forked_map``: a global, because a forked child inherits it as it
# is, whatever it closes over, where an argument would have to be pickled.
_task: Callable[[int], Any] | None = None


def available_cores() -> int:
    """The cores this process may run on (a container's CPU set, not the host's count)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1


def forked_map(
    task: Callable[[int], T], count: int, workers: int, order: Iterable[int] | None = None
) -> list[T]:
    """``[task(0), ..., task(count - 1)]``, computed by at most ``workers`` forked children
    (``MAX_WORKERS``), each taking the next index as it finishes one. ``order``: the indexes
    in the order to hand them out (the longest tasks first keeps both cores busy to the end)."""
    workers = min(workers, count, MAX_WORKERS)
    if workers <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        return [task(index) for index in range(count)]
    global _task  # see _task
    _task = task
    # Objects the collector tracks stay out of its passes in the children, so that a pass does
    # not write to (and so copy) every page of the parent's heap.
    gc.freeze()
    try:
        context = multiprocessing.get_context("fork")
        with context.Pool(workers, initializer=_child_started) as pool:
            indexes = range(count) if order is None else order
            found = dict(pool.imap_unordered(_run_task, indexes))
            pool.close()
            pool.join()
    finally:
        gc.unfreeze()
        _task = None
    return [found[index] for index in range(count)]


def _child_started() -> None:
    """A child dies of SIGTERM (the pool's way to stop it), whatever handler the parent had
    installed (the worker's stops gracefully), and leaves Ctrl-C to the parent."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _run_task(index: int) -> tuple[int, Any]:
    assert _task is not None  # set by forked_map before the children were forked
    return index, _task(index)
