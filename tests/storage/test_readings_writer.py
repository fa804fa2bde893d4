"""The ingest write path on PostgreSQL: batches go over (up to two) connections kept
for them, a third write at the same time goes through the pool, and a connection that fails or
is cancelled half-way is replaced, with every reading stored exactly once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from storage import repositories as repo
from storage.engine import create_engine, create_sessionmaker, upgrade_database
from storage.models import ReadingRow
from storage.readings_writer import ReadingWriteError, ReadingWriter

pytestmark = pytest.mark.postgres

Sessions = async_sessionmaker[AsyncSession]
T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
async def pg(postgres_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(postgres_url)
    await upgrade_database(engine)
    async with create_sessionmaker(engine)() as s, s.begin():
        await repo.upsert_site(s, name="home", title="", timezone="UTC", now=T0)
    try:
        yield engine
    finally:
        await engine.dispose()


def _rows(count: int, *, start: int = 0) -> list[repo.ReadingTuple]:
    return [
        ("home", "bms", "battery_soc_pct", T0 + timedelta(seconds=i), 50.0 + i % 40)
        for i in range(start, start + count)
    ]


async def _count(sessions: Sessions) -> tuple[int, int]:
    """Rows stored, and distinct (site, device, metric, time) among them."""
    async with sessions() as s:
        total = (await s.execute(select(func.count()).select_from(ReadingRow))).scalar_one()
        distinct = (
            await s.execute(select(func.count(func.distinct(ReadingRow.time))))
        ).scalar_one()
    return int(total), int(distinct)


async def _backends(pg: AsyncEngine) -> list[int]:
    """Process ids of the server's connections to the test database (not this one)."""
    url = make_url(pg.url.render_as_string(hide_password=False))
    admin = await asyncpg.connect(
        url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    )
    try:
        rows = await admin.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1", url.database
        )
        return [int(r["pid"]) for r in rows]
    finally:
        await admin.close()


async def test_batches_share_kept_connections_and_a_third_write_takes_the_pool(
    pg: AsyncEngine,
) -> None:
    sessions = create_sessionmaker(pg)
    writer = ReadingWriter(sessions)
    assert writer.dedicated
    for i in range(5):
        assert await writer.write(_rows(100, start=i * 100)) == 100
    assert (writer.kept_writes, writer.session_writes) == (5, 0)
    assert pg.pool.checkedout() == 1  # type: ignore[attr-defined]  # kept, not checked out again

    # Three writes at once: two on kept connections, the third through the pool; none
    # waits for another.
    three = await asyncio.gather(
        writer.write(_rows(1000, start=1000)),
        writer.write(_rows(1000, start=2000)),
        writer.write(_rows(1000, start=3000)),
    )
    assert three == [1000, 1000, 1000]
    assert (writer.kept_writes, writer.session_writes) == (7, 1)
    assert pg.pool.checkedout() == 2  # type: ignore[attr-defined]
    # A batch written again (a retry after a lost answer) stores nothing twice.
    assert await writer.write(_rows(300, start=200)) == 0
    assert await _count(sessions) == (3500, 3500)
    await writer.close()
    assert pg.pool.checkedout() == 0  # type: ignore[attr-defined]


async def test_a_connection_ended_by_the_server_is_replaced(pg: AsyncEngine) -> None:
    sessions = create_sessionmaker(pg)
    writer = ReadingWriter(sessions)
    assert await writer.write(_rows(10)) == 10
    before = set(await _backends(pg))
    admin_url = make_url(pg.url.render_as_string(hide_password=False)).set(
        drivername="postgresql", database="postgres"
    )
    admin = await asyncpg.connect(admin_url.render_as_string(hide_password=False))
    try:  # as in a restart of the server: every connection of the database ends
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
            pg.url.database,
        )
    finally:
        await admin.close()
    with pytest.raises((ReadingWriteError, OSError)):
        await writer.write(_rows(10, start=10))
    # Nothing of the failed batch was stored; the next write reconnects and stores it.
    assert await writer.write(_rows(10, start=10)) == 10
    assert not set(await _backends(pg)) & before
    assert await _count(sessions) == (20, 20)
    await writer.close()


async def test_a_write_cancelled_half_way_is_stored_once_when_retried(pg: AsyncEngine) -> None:
    sessions = create_sessionmaker(pg)
    writer = ReadingWriter(sessions)
    assert await writer.write(_rows(10)) == 10  # the kept connection is open
    big = _rows(50_000, start=10)
    task = asyncio.create_task(writer.write(big))
    for _ in range(20):  # a few turns of the loop: the write is under way on the server
        await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    stored_after_cancel = (await _count(sessions))[0]
    assert stored_after_cancel in (10, 50_010)  # all of the batch or none of it
    assert await writer.write(big) == 50_010 - stored_after_cancel
    assert await _count(sessions) == (50_010, 50_010)
    await writer.close()
