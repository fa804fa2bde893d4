"""The telemetry path: validation, latest state, batched writes, and a database outage."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import repositories as repo
from storage.engine import create_engine, create_sessionmaker, upgrade_database
from tools.domain import Reading, new_reading, validate_reading
from tools.telemetry import SiteState, TelemetryPipeline

T0 = datetime(2026, 6, 21, 18, 0, tzinfo=UTC)


def soc(value: float, minute: int = 0, site: str = "demo") -> Reading:
    return Reading(
        site=site,
        metric="battery_soc_pct",
        time=T0 + timedelta(minutes=minute),
        value=value,
        device="sim",
    )


async def _with_site(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    async with sessionmaker() as session, session.begin():
        await repo.upsert_site(session, name="demo", title="", timezone="UTC", now=T0)


async def _stored(sessionmaker: async_sessionmaker[AsyncSession]) -> list[float]:
    async with sessionmaker() as session, session.begin():
        rows = await repo.readings_between(
            session,
            site="demo",
            metric="battery_soc_pct",
            start=T0 - timedelta(days=1),
            end=T0 + timedelta(days=1),
        )
    return [r.value for r in rows]


async def test_bad_readings_are_counted_and_skipped(
    sessionmaker: async_sessionmaker[AsyncSession],
    pipelines: Callable[..., TelemetryPipeline],
) -> None:
    await _with_site(sessionmaker)
    batches: list[list[Reading]] = []

    async def on_batch(
        _site: str, _state: SiteState, batch: list[Reading], read_at: datetime | None
    ) -> None:
        assert read_at is None  # handed on as written: judged as of now
        batches.append(batch)

    pipeline = pipelines(sessionmaker=sessionmaker, on_batch=on_batch)
    bad = [
        soc(math.nan),
        soc(math.inf),
        soc(101.0),
        soc(-0.5),
        Reading(site="demo", metric="battery_soc_pct", time=T0.replace(tzinfo=None), value=50),
        Reading(site="demo", metric="no_such_metric", time=T0, value=1.0),
        Reading(site="demo", metric="pv_power_w", time=T0, value="12"),  # type: ignore[arg-type]
    ]
    accepted = await pipeline.ingest([soc(55.0), *bad, soc(54.0, minute=1)])
    assert [r.value for r in accepted] == [55.0, 54.0]
    assert pipeline.stats.rejected == len(bad)
    assert pipeline.stats.accepted == 2 and pipeline.stats.written == 2
    assert await _stored(sessionmaker) == [55.0, 54.0]
    assert pipeline.latest("demo").get("battery_soc_pct") == 54.0
    assert [[r.value for r in b] for b in batches] == [[55.0, 54.0]]


async def test_latest_state_keeps_the_newest_value_per_device(
    sessionmaker: async_sessionmaker[AsyncSession],
    pipelines: Callable[..., TelemetryPipeline],
) -> None:
    await _with_site(sessionmaker)
    pipeline = pipelines(sessionmaker=sessionmaker)
    on = [
        Reading(site="demo", metric="load_on", time=T0, value=1.0, device="miner-1"),
        Reading(site="demo", metric="load_on", time=T0, value=1.0, device="miner-2"),
    ]
    await pipeline.ingest([soc(50.0, minute=5), *on])
    await pipeline.ingest([soc(60.0, minute=1)])  # arrives late: older than what we have
    state = pipeline.latest("demo")
    assert state.get("battery_soc_pct") == 50.0
    assert state.devices("load_on") == {"miner-1": 1.0, "miner-2": 1.0}
    assert state.time == T0 + timedelta(minutes=5)
    # Offsets other than UTC are normalised to UTC.
    local = datetime(2026, 6, 21, 12, 10, tzinfo=ZoneInfo("America/Denver"))
    await pipeline.ingest([Reading(site="demo", metric="battery_soc_pct", time=local, value=49)])
    sample = pipeline.latest("demo").sample("battery_soc_pct")
    assert sample is not None and sample.time == T0 + timedelta(minutes=10)
    assert sample.time.tzinfo == UTC


async def test_readings_survive_a_database_outage(postgres_url: str) -> None:
    """PostgreSQL refuses connections for a while: nothing within the bound is lost."""
    engine = create_engine(postgres_url)
    await upgrade_database(engine)
    sessionmaker = create_sessionmaker(engine)
    await _with_site(sessionmaker)
    pipeline = TelemetryPipeline(sessionmaker=sessionmaker, buffer_limit=5)
    name = postgres_url.rsplit("/", 1)[1]
    admin = await asyncpg.connect(postgres_url.rsplit("/", 1)[0] + "/postgres")
    try:
        await pipeline.ingest([soc(80.0)])
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        # As in a restart: open connections end (the one kept for writes too), and the
        # next write must reconnect.
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = $1 AND pid <> pg_backend_pid()",
            name,
        )
        await engine.dispose()
        await pipeline.ingest([soc(79.0, 1), soc(78.0, 2)])
        await pipeline.ingest([soc(77.0, 3), soc(76.0, 4), soc(75.0, 5)])
        assert pipeline.stats.write_failures == 2
        assert pipeline.buffered == 5
        assert pipeline.stats.dropped == 0
        # Past the bound the oldest readings go, and are counted.
        await pipeline.ingest([soc(74.0, 6)])
        assert pipeline.buffered == 5 and pipeline.stats.dropped == 1
        assert "not currently accepting connections" in pipeline.stats.last_error
        # Meanwhile the latest state keeps up, so chat answers stay current.
        assert pipeline.latest("demo").get("battery_soc_pct") == 74.0

        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        await pipeline.ingest([soc(73.0, 7)])
        assert pipeline.buffered == 0
        assert await _stored(sessionmaker) == [80.0, 78.0, 77.0, 76.0, 75.0, 74.0, 73.0]
        assert pipeline.stats.written == 7 and pipeline.stats.dropped == 1
        await pipeline.close()
    finally:
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        await admin.close()
        await engine.dispose()


def test_new_reading_is_the_same_frozen_reading_as_the_constructor() -> None:
    at = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    fast = new_reading("demo", "battery_soc_pct", at, 61.5, "gx")
    slow = Reading(site="demo", metric="battery_soc_pct", time=at, value=61.5, device="gx")
    assert fast == slow and hash(fast) == hash(slow) and repr(fast) == repr(slow)
    assert type(fast) is Reading and fast.unit == slow.unit
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.value = 1.0  # type: ignore[misc]
    assert validate_reading(fast) == slow
