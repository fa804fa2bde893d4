"""A real worker process whose database link goes silent: it keeps polling (readings wait
in the outage buffer), stores them once the link returns, and stops promptly on SIGTERM
even while the link is silent.

The link is a loopback TCP proxy (``tests/db_proxy.py``) in front of the real PostgreSQL;
the test reads the truth over a direct connection.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from storage.engine import create_engine, create_sessionmaker
from storage.models import ReadingRow
from tests.db_proxy import TcpProxy

T = TypeVar("T")
SPEED = 60.0  # simulated seconds per real second


async def until(what: str, probe: Callable[[], Awaitable[T | None]], *, within_s: float) -> T:
    deadline = time.monotonic() + within_s
    while True:
        value = await probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.2)


async def test_worker_survives_a_silent_database_and_stops_promptly(
    postgres_url: str, tmp_path: Path
) -> None:
    url = make_url(postgres_url)
    proxy = await TcpProxy(url.host or "127.0.0.1", url.port or 5432).start()
    via_proxy = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "DISCORD_", "OPENAI_", "COMMANDCENTER_"))
    }
    env.update(
        DATABASE_URL=via_proxy,
        COMMANDCENTER_DATA_DIR=str(tmp_path / "data"),
        COMMANDCENTER_SIM_SPEED=str(SPEED),
        DATABASE_CONNECT_TIMEOUT_S="2",
        DATABASE_COMMAND_TIMEOUT_S="2",
        DATABASE_POOL_TIMEOUT_S="2",
        COMMANDCENTER_SHUTDOWN_GRACE_S="2",
        COMMANDCENTER_JOB_TIMEOUT_S="10",
        LOG_LEVEL="INFO",
        LOG_FORMAT="text",
    )
    log_path = tmp_path / "worker.log"
    direct = create_engine(postgres_url)
    sessions = create_sessionmaker(direct)

    async def soc_times() -> list[datetime]:
        async with sessions() as s:
            rows = await s.scalars(
                select(ReadingRow.time)
                .where(ReadingRow.metric == "battery_soc_pct")
                .order_by(ReadingRow.time)
            )
            return list(rows)

    async def count() -> int:
        async with sessions() as s:
            return int((await s.execute(select(func.count()).select_from(ReadingRow))).scalar_one())

    def log_text() -> str:
        return log_path.read_text(errors="replace")

    with log_path.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "worker", env=env, stdout=out, stderr=out, cwd=tmp_path
        )
    try:

        async def stored() -> list[datetime] | None:
            assert proc.returncode is None, log_text()[-3000:]
            try:
                times = await soc_times()
            except Exception:  # the worker has not created the tables yet
                return None
            return times if len(times) >= 2 else None

        before = await until("the worker to store readings", stored, within_s=120)

        # The link goes silent. The worker notices within its timeouts and keeps polling.
        await proxy.set_mode("blackhole")
        silent_at = await soc_times()
        await until(
            "a bounded write failure in the log",
            lambda: asyncio.sleep(0, "could not write" in log_text() or None),
            within_s=60,
        )
        await until(
            "more polls during the outage",
            lambda: asyncio.sleep(0, log_text().count("could not write") >= 2 or None),
            within_s=60,
        )
        assert await soc_times() == silent_at, "nothing passes a silent link"

        # The link returns: the readings polled during the outage are stored.
        await proxy.set_mode("forward")
        last_before = silent_at[-1]

        async def caught_up() -> list[datetime] | None:
            newer = [t for t in await soc_times() if t > last_before]
            return newer if len(newer) >= 6 else None

        newer = await until("the buffered readings to be stored", caught_up, within_s=60)
        gaps_s = [(b - a).total_seconds() for a, b in itertools.pairwise(newer)]
        # No hole where the outage was: consecutive readings stay close (in simulated time),
        # even though nothing could be written for a while.
        assert max(gaps_s) < 30 * SPEED, gaps_s
        assert len(before) >= 2 and await count() > 0

        # Silent again, then SIGTERM: the worker gives up its waits and exits promptly.
        failures = log_text().count("could not write")
        await proxy.set_mode("blackhole")
        await until(
            "the worker to notice the second outage",
            lambda: asyncio.sleep(0, log_text().count("could not write") > failures or None),
            within_s=60,
        )
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        async with asyncio.timeout(60):
            code = await proc.wait()
        stop_s = time.monotonic() - started
        assert stop_s < 20, f"took {stop_s:.1f} s to stop\n{log_text()[-3000:]}"
        assert code == 0, log_text()[-3000:]
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await proxy.close()
        await direct.dispose()
