"""CPU-heavy work runs off the event loop: while a generator plan (a HiGHS MILP and a
chart) computes through the agent tool, a heartbeat on the loop keeps ticking."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest

from tests.bot.helpers import EVENING, running_bot
from tools.agent import CallContext
from tools.clock import ManualClock
from tools.offload import Offload

TICK_S = 0.01
SOLVE_S = 2.5


class Heartbeat:
    """Ticks every 10 ms on the loop and remembers the longest gap between ticks."""

    def __init__(self) -> None:
        self.max_gap_s = 0.0
        self.ticks = 0
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        last = time.perf_counter()
        while not self._stop.is_set():
            await asyncio.sleep(TICK_S)
            now = time.perf_counter()
            self.max_gap_s = max(self.max_gap_s, now - last)
            self.ticks += 1
            last = now

    async def __aenter__(self) -> Heartbeat:
        self._task = asyncio.create_task(self._run())
        await asyncio.sleep(TICK_S * 3)
        self.max_gap_s = 0.0
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._stop.set()
        assert self._task is not None
        await self._task


async def test_the_loop_keeps_ticking_while_a_generator_plan_computes(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Make the optimiser provably heavy, whatever the machine: each solve also holds the
    # calling thread for 2.5 s (as a slow HiGHS run on a busy machine does).
    from tools.forecast import plans

    real_milp = plans.milp
    loop_thread = threading.get_ident()
    solved_on: list[int] = []

    def slow_milp(**kwargs: object) -> object:
        solved_on.append(threading.get_ident())
        time.sleep(SOLVE_S)
        return real_milp(**kwargs)

    monkeypatch.setattr(plans, "milp", slow_milp)
    clock = ManualClock(EVENING)
    async with running_bot(db_url=sqlite_url, data_dir=tmp_path, clock=clock) as (app, _c, _d):
        await app.monitor.poll_once()
        ctx = CallContext(
            default_site="demo", requested_by="console:olga", thread_id="t", call_id="c"
        )
        async with Heartbeat() as beat:
            started = time.perf_counter()
            out = await app.toolbox.call("generator_plan", {}, ctx)
            took_s = time.perf_counter() - started
    assert not out.error, out.text
    assert out.cards and out.cards[0].image_png, "the plan and its chart were made"
    assert solved_on and loop_thread not in solved_on, "the solver ran on the loop's thread"
    assert took_s >= SOLVE_S
    # Generous: a busy 2-core machine may delay a tick, never by the length of a solve.
    assert beat.max_gap_s < SOLVE_S - 0.5, (beat.max_gap_s, took_s)
    assert beat.ticks >= 10


async def test_offload_is_bounded_and_closes() -> None:
    pool = Offload(max_workers=2)
    running = 0
    peak = 0
    lock = threading.Lock()

    def work(x: int) -> int:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.05)
        with lock:
            running -= 1
        return x * 2

    results = await asyncio.gather(*(pool.run(work, i) for i in range(8)))
    assert results == [i * 2 for i in range(8)]
    assert peak <= 2
    pool.close()
    with pytest.raises(ValueError, match="at least 1"):
        Offload(max_workers=0)
