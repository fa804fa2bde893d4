"""A database link that refuses, drops or goes silent (black hole): every wait is bounded,
readings wait in the outage buffer and are stored once the link returns, each scheduled
job fails on its own with a clear log line, and stopping is prompt.

The faults come from a loopback TCP proxy (``tests/db_proxy.py``) in front of the real
PostgreSQL of the test run.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.runtime import Jobs, JobSpec
from storage import repositories as repo
from storage.engine import (
    DbTimeouts,
    create_engine,
    create_sessionmaker,
    psycopg_url,
    upgrade_database,
)
from tests.db_proxy import TcpProxy
from tools.domain import Reading
from tools.telemetry import TelemetryPipeline

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
FAST = DbTimeouts(connect_s=1.0, command_s=1.0, pool_s=1.0)
# Every call below must return within this, whatever the link does.
BOUND_S = 6.0


@pytest.fixture
async def direct(postgres_url: str) -> AsyncIterator[AsyncEngine]:
    """The test database, migrated, reached directly (the truth, whatever the proxy does)."""
    engine = create_engine(postgres_url)
    await upgrade_database(engine)
    async with create_sessionmaker(engine)() as s, s.begin():
        await repo.upsert_site(s, name="home", title="", timezone="UTC", now=T0)
    yield engine
    await engine.dispose()


@pytest.fixture
async def proxy(postgres_url: str) -> AsyncIterator[TcpProxy]:
    url = make_url(postgres_url)
    p = await TcpProxy(url.host or "127.0.0.1", url.port or 5432).start()
    yield p
    await p.close()


@pytest.fixture
async def via_proxy(postgres_url: str, proxy: TcpProxy) -> AsyncIterator[AsyncEngine]:
    url = make_url(postgres_url).set(host="127.0.0.1", port=proxy.port)
    engine = create_engine(url.render_as_string(hide_password=False), timeouts=FAST)
    yield engine
    async with asyncio.timeout(BOUND_S):
        await engine.dispose()


def soc(minute: int) -> Reading:
    return Reading(
        site="home",
        metric="battery_soc_pct",
        time=T0 + timedelta(minutes=minute),
        value=50.0 + minute,
        device="bms",
    )


async def _stored(direct: AsyncEngine) -> list[float]:
    async with create_sessionmaker(direct)() as s:
        rows = await repo.readings_between(
            s, site="home", metric="battery_soc_pct", start=T0, end=T0 + timedelta(days=1)
        )
    return [r.value for r in rows]


async def _timed(work: Awaitable[object]) -> float:
    started = time.monotonic()
    async with asyncio.timeout(BOUND_S):
        await work
    return time.monotonic() - started


async def test_readings_survive_refuse_drop_and_black_hole(
    direct: AsyncEngine, proxy: TcpProxy, via_proxy: AsyncEngine
) -> None:
    pipeline = TelemetryPipeline(sessionmaker=create_sessionmaker(via_proxy))
    await pipeline.ingest([soc(0)])
    assert await _stored(direct) == [50.0]

    # The link goes silent: the pooled connection and every new one hang.
    await proxy.set_mode("blackhole")
    for minute in (1, 2):
        assert await _timed(pipeline.ingest([soc(minute)])) < BOUND_S
    assert pipeline.buffered == 2 and pipeline.stats.write_failures == 2
    assert "TimeoutError" in pipeline.stats.last_error
    # The latest state keeps up meanwhile.
    assert pipeline.latest("home").get("battery_soc_pct") == 52.0

    await proxy.set_mode("refuse")
    assert await _timed(pipeline.ingest([soc(3)])) < BOUND_S
    assert pipeline.buffered == 3

    # The link returns: everything buffered is stored, once.
    await proxy.set_mode("forward")
    assert await _timed(pipeline.ingest([soc(4)])) < BOUND_S
    assert pipeline.buffered == 0, pipeline.stats.last_error
    assert await _stored(direct) == [50.0, 51.0, 52.0, 53.0, 54.0]

    # Open connections reset under the pool: the next write reconnects.
    assert proxy.drop() >= 1
    await pipeline.ingest([soc(5)])
    await pipeline.ingest([soc(6)])
    assert pipeline.buffered == 0, pipeline.stats.last_error
    assert await _stored(direct) == [50.0 + m for m in range(7)]
    await pipeline.close()


async def test_jobs_time_out_on_their_own_and_stop_promptly(
    direct: AsyncEngine,
    proxy: TcpProxy,
    via_proxy: AsyncEngine,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A job on a silent database fails with a clear line; the others keep their rhythm;
    the database job works again once the link returns; stopping does not wait for it."""
    caplog.set_level(logging.ERROR, logger="bot.runtime")
    db_ok = asyncio.Event()
    timed_out = asyncio.Event()
    ticks = asyncio.Event()
    tick_count = 0

    async def db_job() -> None:
        async with via_proxy.connect() as conn:
            await conn.execute(text("SELECT 1"))
        db_ok.set()

    async def hangs() -> None:  # a job that never returns on its own
        await asyncio.Event().wait()

    async def tick() -> None:
        nonlocal tick_count
        tick_count += 1
        if tick_count >= 10:
            ticks.set()

    class Watch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "scheduled job db " in record.getMessage():
                timed_out.set()

    watch = Watch()
    logging.getLogger("bot.runtime").addHandler(watch)
    jobs = Jobs(
        [
            JobSpec("db", db_job, 0.2),
            JobSpec("tick", tick, 0.1),
            JobSpec("stuck", hangs, 0.2, timeout_s=0.5),
        ],
        timeout_s=30.0,
        grace_s=0.5,
    )
    jobs.start()
    try:
        async with asyncio.timeout(20):
            await db_ok.wait()
        await proxy.set_mode("blackhole")
        async with asyncio.timeout(20):
            await timed_out.wait()
        tick_count = 0
        ticks.clear()
        async with asyncio.timeout(20):  # the other jobs are not behind the silent one
            await ticks.wait()
        db_ok.clear()
        await proxy.set_mode("forward")
        async with asyncio.timeout(20):  # recovered: the job succeeds again
            await db_ok.wait()
        # Stop while a job hangs on a silent database: prompt all the same.
        await proxy.set_mode("blackhole")
        await asyncio.sleep(0)  # let a run start if one is due
    finally:
        stop_s = await _timed(jobs.stop())
        logging.getLogger("bot.runtime").removeHandler(watch)
    assert stop_s < 3.0
    lines = [r.getMessage() for r in caplog.records]
    assert any(
        line.startswith("scheduled job db failed:") and "runs again at its next interval" in line
        for line in lines
    ), lines
    assert any(
        line.startswith("scheduled job stuck timed out after 0.5 s and was cancelled")
        for line in lines
    ), lines
    assert jobs.timeouts["db"] >= 1 and jobs.timeouts["stuck"] >= 1


async def test_checkpointer_connections_are_bounded_too(postgres_url: str, proxy: TcpProxy) -> None:
    """The LangGraph checkpointer's libpq URL carries a connect timeout and keep-alives."""
    from psycopg import AsyncConnection, OperationalError

    url = make_url(postgres_url).set(host="127.0.0.1", port=proxy.port)
    libpq = psycopg_url(url.render_as_string(hide_password=False), timeouts=FAST)
    async with await AsyncConnection.connect(libpq) as conn:
        assert (await (await conn.execute("SELECT 1")).fetchone()) == (1,)
        assert conn.info.get_parameters()["keepalives"] == "1"
    await proxy.set_mode("blackhole")
    started = time.monotonic()
    with pytest.raises(OperationalError):
        async with asyncio.timeout(BOUND_S):
            await AsyncConnection.connect(libpq)
    assert time.monotonic() - started < BOUND_S


async def test_the_checkpointer_reconnects_after_the_database_drops_it(
    postgres_url: str, proxy: TcpProxy
) -> None:
    """Chat keeps its conversations after a database restart, without a bot restart."""
    from psycopg import OperationalError

    from graphs.checkpoint import open_checkpointer

    url = make_url(postgres_url).set(host="127.0.0.1", port=proxy.port)
    libpq = psycopg_url(url.render_as_string(hide_password=False), timeouts=FAST)
    config: dict[str, Any] = {"configurable": {"thread_id": "t-reconnect", "checkpoint_ns": ""}}
    async with open_checkpointer(postgres_url=libpq, pool_wait_s=2.0) as saver:
        assert await saver.aget_tuple(config) is None
        assert proxy.drop() >= 1  # as a database restart does to every open connection
        async with asyncio.timeout(BOUND_S):
            assert await saver.aget_tuple(config) is None
        await proxy.set_mode("refuse")
        with pytest.raises(OperationalError):  # down: an error within the bound, no hang
            async with asyncio.timeout(BOUND_S):
                await saver.aget_tuple(config)
        await proxy.set_mode("forward")
        async with asyncio.timeout(BOUND_S):
            assert await saver.aget_tuple(config) is None
