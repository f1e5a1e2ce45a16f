"""How ``restrat-sync run`` answers SIGTERM and SIGINT.

- The first signal sets the stop event: the scheduling stops, the running job stops at its next
  page boundary or retry wait, and its firing is recorded ``interrupted``.
- It also starts a deadline: ``EXIT_DEADLINE_SECONDS`` later the process exits 0 whatever it
  is doing (a request in flight, a migration waiting for another replica's lock), so that it
  always ends within the 10 s an orchestrator grants; the database rolls back an open
  transaction.
- A second signal exits at once.

From the first moment: the program's entry point (``restrat_sync.launch``) *holds* the two
signals before it imports anything heavy; ``run`` takes the held ones over (``stop_on_signals``)
before it reads its settings, config and cache, and every other command gets the default
behaviour back, with a held signal delivered then (``release_held_signals``). This module
imports nothing heavy for that reason.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

log = logging.getLogger(__name__)

# The worker waits this long for the running job to stop by itself...
STOP_WAIT_SECONDS = 7.0
# ...and exits anyway this long after the signal, wherever it is: within docker stop's 10 s.
EXIT_DEADLINE_SECONDS = 8.0
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)

Handler = Callable[[int, FrameType | None], object] | int | None


@contextmanager
def stop_on_signals(deadline: float = EXIT_DEADLINE_SECONDS) -> Iterator[threading.Event]:
    """Yield the stop event that SIGTERM and SIGINT set while the block runs (signals held since
    the start count as received now); the previous handlers come back afterwards. Off the main
    thread (tests), no handler is installed."""
    stop = threading.Event()
    timers: list[threading.Timer] = []

    def handle(signum: int, _frame: FrameType | None) -> None:
        if stop.is_set():
            exit_now(128 + signum)
        log.info("received %s; stopping", signal.Signals(signum).name)
        stop.set()
        timer = threading.Timer(deadline, _deadline_passed, args=(deadline,))
        timer.daemon = True
        timer.start()
        timers.append(timer)

    previous = _install(handle)
    held, before_holding = _held.take()
    previous.update(before_holding)  # afterwards, the handlers from before any holding
    for signum in held:
        handle(signum, None)
    try:
        yield stop
    finally:
        _restore(previous)
        for timer in timers:
            timer.cancel()


class _Held:
    """Signals received while the program started, before a command decided what they mean.
    Process-wide, as signal handlers are."""

    def __init__(self) -> None:
        self.signals: list[int] = []
        self.previous: dict[int, Handler] = {}

    def hold(self, signum: int, _frame: FrameType | None) -> None:
        self.signals.append(signum)

    def take(self) -> tuple[list[int], dict[int, Handler]]:
        """The signals held, and the handlers from before holding; holding ends."""
        taken = (self.signals, self.previous)
        self.signals, self.previous = [], {}
        return taken


_held = _Held()


def hold_signals() -> None:
    """Hold SIGTERM and SIGINT instead of dying of them, until ``stop_on_signals`` takes them
    over or ``release_held_signals`` gives them back."""
    _held.previous = _install(_held.hold)


def release_held_signals() -> None:
    """Give the signals their handlers from before ``hold_signals`` back, and deliver the ones
    held meanwhile (a command other than ``run`` ends as it always would)."""
    held, previous = _held.take()
    _restore(previous)
    for signum in held:
        signal.raise_signal(signum)


def _install(handler: Callable[[int, FrameType | None], None]) -> dict[int, Handler]:
    previous: dict[int, Handler] = {}
    if threading.current_thread() is threading.main_thread():  # signals reach it only
        for number in STOP_SIGNALS:
            previous[number] = signal.signal(number, handler)
    return previous


def _restore(previous: dict[int, Handler]) -> None:
    for number, handler in previous.items():
        signal.signal(number, handler)


def _deadline_passed(seconds: float) -> None:
    log.warning(
        "still running %.0f s after the stop signal; exiting anyway (the database rolls back "
        "any open transaction)",
        seconds,
    )
    exit_now(0)


def exit_now(code: int) -> None:
    """Leave without waiting for other threads (interpreter exit would join them)."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
