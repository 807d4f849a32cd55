"""Worker processes for the ledger's CPU-bound passes (capture preparation, verification).

Both passes hand work to a process pool; how the pool starts its processes and how many it may use are
decided here, once.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future
from multiprocessing.context import BaseContext
from typing import TypeVar

__all__ = ["in_order", "usable_cpus", "worker_context"]

ItemT = TypeVar("ItemT")
ResultT = TypeVar("ResultT")


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


def in_order(
    pool: Executor, function: Callable[[ItemT], ResultT], items: Iterable[ItemT], window: int
) -> Iterator[tuple[ItemT, ResultT]]:
    """``(item, function(item))`` for each item, computed in ``pool``, yielded in input order.

    At most ``window`` items are submitted ahead of the one yielded (memory stays flat over any number of
    items, and the items are read only as the pool needs them). A worker's exception is raised here, in its
    item's place. Closing the generator submits nothing more; shutting the pool down cancels the rest.
    """
    pending: deque[tuple[ItemT, Future[ResultT]]] = deque()
    source = iter(items)
    exhausted = False
    while True:
        while not exhausted and len(pending) < window:
            try:
                item = next(source)
            except StopIteration:
                exhausted = True
                break
            pending.append((item, pool.submit(function, item)))
        if not pending:
            return
        item, future = pending.popleft()
        yield item, future.result()
