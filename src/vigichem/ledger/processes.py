"""Worker processes for the ledger's CPU-bound passes (capture preparation, verification).

Both passes hand work to a process pool; how the pool starts its processes and how many it may use are
decided here, once.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from multiprocessing.context import BaseContext

__all__ = ["usable_cpus", "worker_context"]


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity mask where the platform has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def worker_context() -> BaseContext:
    """How to start workers: fork when this process runs one thread, else spawn.

    Fork is the cheapest (nothing is imported again) but copies only the calling thread: a lock that
    another thread holds at that moment (SQLite's, a connection pool's, logging's) stays locked for ever in
    the child. In a process with other threads (a web server capturing or verifying on request) workers
    are spawned.
    """
    fork = threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if fork else "spawn")
