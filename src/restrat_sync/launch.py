"""The ``restrat-sync`` program (and ``python -m restrat_sync``).

Loading the command line and its libraries takes a moment: tenths of a second on a busy
machine. A SIGTERM in that moment would kill ``restrat-sync run`` with exit 143, or be ignored
when the worker is a container's PID 1. So the stop signals are held first, with nothing heavy
imported yet; ``run`` takes them over, every other command gets them back
(``worker.signals``).
"""

from __future__ import annotations

from restrat_sync.worker.signals import hold_signals


def main() -> int:
    hold_signals()
    from restrat_sync.cli import main as command_line

    return command_line()
