"""A reading is stored once per (site, device, metric, time): concurrent flushes,
retried batches and the migration that removes the duplicates of older releases."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, insert, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import repositories as repo
from storage.engine import create_engine, create_sessionmaker, current_revision, upgrade_database
from storage.models import ReadingRow
from tools.domain import Reading
from tools.telemetry import TelemetryPipeline

Sessions = async_sessionmaker[AsyncSession]
T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


async def _site(sessionmaker: Sessions, name: str = "home") -> None:
    async with sessionmaker() as s, s.begin():
        await repo.upsert_site(s, name=name, title="", timezone="UTC", now=T0)


async def _duplicates(sessionmaker: Sessions) -> int:
    """How many rows repeat an earlier (site, device, metric, time)."""
    async with sessionmaker() as s:
        total = (await s.execute(select(func.count()).select_from(ReadingRow))).scalar_one()
        distinct = (
            await s.execute(
                select(func.count()).select_from(
                    select(ReadingRow.site, ReadingRow.device, ReadingRow.metric, ReadingRow.time)
                    .distinct()
                    .subquery()
                )
            )
        ).scalar_one()
    return int(total) - int(distinct)


def _readings(count: int, *, start: int = 0) -> list[Reading]:
    return [
        Reading(
            site="home",
            metric="battery_soc_pct",
            time=T0 + timedelta(seconds=i),
            value=50.0 + (i % 40),
            device="bms",
        )
        for i in range(start, start + count)
    ]


async def test_concurrent_flushes_store_each_reading_once(
    sessionmaker: Sessions, pipelines: Callable[..., TelemetryPipeline]
) -> None:
    """The poll job and an approval flush together: no IndexError, no duplicate rows."""
    await _site(sessionmaker)
    pipeline = pipelines(sessionmaker=sessionmaker)
    # Buffer readings without writing them (as after a failed write), then flush from
    # several callers at once while more readings arrive.
    pipeline._buffer.extend((r.site, r.device, r.metric, r.time, r.value) for r in _readings(300))
    await asyncio.gather(
        pipeline.flush(),
        pipeline.flush(),
        pipeline.ingest(_readings(100, start=300)),
        pipeline.flush(),
    )
    assert pipeline.buffered == 0
    assert pipeline.stats.written == 400
    async with sessionmaker() as s:
        assert await repo.count_readings(s, site="home") == 400
    assert await _duplicates(sessionmaker) == 0


async def test_retried_batches_insert_nothing_twice(sessionmaker: Sessions) -> None:
    await _site(sessionmaker)
    rows = [(r.site, r.device, r.metric, r.time, r.value) for r in _readings(50)]
    async with sessionmaker() as s, s.begin():
        assert await repo.copy_readings(s, rows=rows) == 50
    # The same batch again (a retry after a lost commit acknowledgement), and a batch
    # that overlaps it and repeats one reading inside itself.
    async with sessionmaker() as s, s.begin():
        assert await repo.copy_readings(s, rows=rows) == 0
    overlap = (
        rows[40:]
        + [rows[45]]
        + [(r.site, r.device, r.metric, r.time, r.value) for r in _readings(5, start=50)]
    )
    async with sessionmaker() as s, s.begin():
        assert await repo.copy_readings(s, rows=overlap) == 5
    records = [
        repo.ReadingRecord(site=r[0], device=r[1], metric=r[2], time=r[3], value=r[4])
        for r in rows[:3]
    ]
    async with sessionmaker() as s, s.begin():
        assert await repo.insert_readings(s, readings=records) == 0
    async with sessionmaker() as s:
        assert await repo.count_readings(s) == 55
    assert await _duplicates(sessionmaker) == 0
    # The same time on another device or metric is a different reading.
    other = [("home", "bms2", "battery_soc_pct", T0, 1.0), ("home", "bms", "pv_power_w", T0, 2.0)]
    async with sessionmaker() as s, s.begin():
        assert await repo.copy_readings(s, rows=other) == 2


async def test_concurrent_pipelines_on_one_database(
    sessionmaker: Sessions, pipelines: Callable[..., TelemetryPipeline]
) -> None:
    """Two processes (two pipelines) writing overlapping batches at once."""
    await _site(sessionmaker)
    first = pipelines(sessionmaker=sessionmaker)
    second = pipelines(sessionmaker=sessionmaker)
    batch = _readings(200)
    await asyncio.gather(first.ingest(batch), second.ingest(batch[100:]), first.ingest(batch[:50]))
    async with sessionmaker() as s:
        assert await repo.count_readings(s) == 200
    assert await _duplicates(sessionmaker) == 0


async def test_migration_removes_stored_duplicates(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        await upgrade_database(engine, "0013_forecast_snapshots")
        sm = create_sessionmaker(engine)
        await _site(sm)
        rows = [
            ("home", "bms", "battery_soc_pct", T0, 50.0),
            ("home", "bms", "battery_soc_pct", T0, 50.0),  # written twice by the race
            ("home", "bms", "battery_soc_pct", T0, 51.0),  # and once more, a later write
            ("home", "bms", "battery_soc_pct", T0 + timedelta(seconds=1), 52.0),
            ("home", "", "battery_soc_pct", T0, 49.0),  # another device: kept
        ]
        async with engine.begin() as conn:
            for site, device, metric, time, value in rows:
                await conn.execute(
                    insert(ReadingRow).values(
                        site=site, device=device, metric=metric, time=time, value=value
                    )
                )
        assert await _duplicates(sm) == 2
        await upgrade_database(engine, "0014_readings_unique")
        assert await current_revision(engine) == "0014_readings_unique"
        assert await _duplicates(sm) == 0
        async with sm() as s:
            kept = (
                await s.execute(
                    select(ReadingRow.device, ReadingRow.time, ReadingRow.value).order_by(
                        ReadingRow.device, ReadingRow.time
                    )
                )
            ).all()
        assert [(d, t, v) for d, t, v in kept] == [
            ("", T0, 49.0),
            ("bms", T0, 50.0),  # the first row written is the one kept
            ("bms", T0 + timedelta(seconds=1), 52.0),
        ]
        async with engine.connect() as conn:
            names = await conn.run_sync(
                lambda c: {ix["name"] for ix in inspect(c).get_indexes("readings")}
            )
        assert "uq_readings_site_device_metric_time" in names
    finally:
        await engine.dispose()
