"""CPU-heavy work off the event loop: optimisers, backtests, chart and report rendering.

A plan can take seconds to tens of seconds on a busy machine; on the event loop that
starves polling, alert jobs and chat. :class:`Offload` runs such pure functions on a
small bounded thread pool (HiGHS, numpy and matplotlib's Agg renderer spend their time
outside the interpreter lock, so the loop keeps ticking). The composition root builds
one per process and passes it to the services that need it; closing it at shutdown
drops work nobody waits for anymore.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

DEFAULT_WORKERS = 2


class Offload:
    """A bounded pool for CPU-heavy pure functions; ``await offload.run(fn, *args)``."""

    def __init__(self, max_workers: int = DEFAULT_WORKERS) -> None:
        if max_workers < 1:
            raise ValueError(f"max_workers must be at least 1 (got {max_workers})")
        self.max_workers = max_workers
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def _executor(self) -> ThreadPoolExecutor:
        with self._lock:  # created on first use: nothing happens at construction
            if self._pool is None:
                self._pool = ThreadPoolExecutor(
                    max_workers=self.max_workers, thread_name_prefix="cpu"
                )
            return self._pool

    async def run(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """``fn(*args, **kwargs)`` on the pool; the loop runs on meanwhile."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor(), functools.partial(fn, *args, **kwargs))

    def close(self) -> None:
        """Stop taking work; queued work nobody started is dropped."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
