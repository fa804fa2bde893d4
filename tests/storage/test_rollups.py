"""Hourly rollups, raw-row pruning and COPY writes, on SQLite and real PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.runtime import Maintenance
from storage import repositories as repo
from tools.clock import ManualClock

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


def _rows(minutes: int, *, metric: str = "pv_power_w") -> list[repo.ReadingTuple]:
    # One reading a minute; value = minute number, so hourly sums are easy to check.
    return [("s1", "inv", metric, T0 + timedelta(minutes=m), float(m)) for m in range(minutes)]


async def _seed(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    async with sessionmaker() as session, session.begin():
        await repo.upsert_site(session, name="s1", title="", timezone="UTC", now=T0)
        assert await repo.copy_readings(session, rows=_rows(150)) == 150
        await repo.copy_readings(session, rows=_rows(30, metric="load_power_w"))


async def test_rollup_hours_aggregates_each_hour(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await _seed(sessionmaker)
    async with sessionmaker() as session, session.begin():
        written = await repo.rollup_hours(session, start=T0, end=T0 + timedelta(hours=3))
    assert written == 4  # pv: 10:00, 11:00, 12:00; load: 10:00
    async with sessionmaker() as session, session.begin():
        hours = await repo.hourly_between(
            session, site="s1", metric="pv_power_w", start=T0, end=T0 + timedelta(hours=3)
        )
    assert [h.hour for h in hours] == [T0 + timedelta(hours=i) for i in range(3)]
    assert [h.count for h in hours] == [60, 60, 30]
    assert [h.min for h in hours] == [0.0, 60.0, 120.0]
    assert [h.max for h in hours] == [59.0, 119.0, 149.0]
    assert hours[0].sum == sum(range(60))
    assert hours[2].mean == sum(range(120, 150)) / 30


async def test_rollup_is_idempotent_and_picks_up_late_readings(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await _seed(sessionmaker)
    window = {"start": T0, "end": T0 + timedelta(hours=3)}
    async with sessionmaker() as session, session.begin():
        await repo.rollup_hours(session, **window)
        await repo.rollup_hours(session, **window)
    async with sessionmaker() as session, session.begin():
        late = [("s1", "inv", "pv_power_w", T0 + timedelta(minutes=5, seconds=30), 1000.0)]
        await repo.copy_readings(session, rows=late)
        await repo.rollup_hours(session, **window)
    async with sessionmaker() as session, session.begin():
        first = (
            await repo.hourly_between(
                session, site="s1", metric="pv_power_w", start=T0, end=T0 + timedelta(hours=1)
            )
        )[0]
    assert first.count == 61 and first.max == 1000.0


async def test_prune_keeps_rollups_of_pruned_hours(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await _seed(sessionmaker)
    clock = ManualClock(T0 + timedelta(days=30, hours=1, minutes=30))
    maintenance = Maintenance(sessionmaker=sessionmaker, clock=clock, raw_retention_days=30)
    deleted = await maintenance.prune_raw()
    # The cutoff is 11:00 thirty days earlier: the 10:00-10:59 readings (60 pv + 30 load) go.
    assert deleted == 90
    async with sessionmaker() as session, session.begin():
        assert await repo.count_readings(session, site="s1") == 90
        kept = await repo.hourly_between(
            session, site="s1", metric="pv_power_w", start=T0, end=T0 + timedelta(hours=1)
        )
    assert [(h.count, h.max) for h in kept] == [(60, 59.0)]
