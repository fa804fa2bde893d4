"""Forecast snapshots: the daily job stores each site's day-ahead forecast once per
local day, and the day-ahead read returns what was issued before the day began."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import repositories as repo
from tools.clock import ManualClock
from tools.forecast.service import ForecastService
from tools.site import Battery, Location, PvArray, Site

SITE = Site(
    name="barn",
    timezone="America/Denver",
    location=Location(latitude=39.742, longitude=-105.179, altitude_m=1828),
    pv_arrays=[PvArray(name="roof", kwp=6.0, tilt_deg=30, azimuth_deg=180)],
    battery=Battery(capacity_kwh=10.0, min_soc_pct=20.0),
)


def _local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 6, day, hour, minute, tzinfo=SITE.tz).astimezone(UTC)


async def _service(
    sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> ForecastService:
    async with sessionmaker() as session, session.begin():
        await repo.upsert_site(
            session, name=SITE.name, title="Barn", timezone=SITE.timezone, now=clock.now()
        )
    return ForecastService(sessionmaker=sessionmaker, clock=clock)


async def test_daily_job_stores_once_per_local_day(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    clock = ManualClock(_local(9, 0, 10))
    service = await _service(sessionmaker, clock)
    assert await service.store_due_snapshots([SITE]) == 1
    clock.advance(timedelta(hours=6))
    assert await service.store_due_snapshots([SITE]) == 0  # same local day: nothing new
    clock.set(_local(10, 0, 10))
    assert await service.store_due_snapshots([SITE]) == 1  # the next local day

    # the 10th is scored against the forecast issued on the 9th, not the one of the 10th
    stored = await service.day_ahead(SITE, _local(10, 0), _local(11, 0))
    assert stored is not None
    assert stored.issued_at == _local(9, 0, 10)
    assert len(stored.pv_p50_w) == 24
    assert stored.weather_source == "clear-sky"
    pv = stored.pv_p50_w.to_numpy()
    assert pv.max() > 3000.0  # a June day on 6 kWp
    assert pv[0] == 0.0  # local midnight is dark
    p10, p90 = stored.pv_p10_w.to_numpy(), stored.pv_p90_w.to_numpy()
    assert (p10 <= pv + 1e-9).all() and (pv <= p90 + 1e-9).all()
    assert np.isfinite(stored.load_p50_w.to_numpy()).all()
    # the first issue covered the rest of the 9th and all of the 10th
    first = await service.day_ahead(SITE, _local(9, 1), _local(11, 0))
    assert first is not None and len(first.pv_p50_w) == 47
    # nothing was issued before the 9th
    assert await service.day_ahead(SITE, _local(9, 0), _local(10, 0)) is None


async def test_storing_the_same_issue_twice_is_a_no_op(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    clock = ManualClock(_local(9, 12))
    service = await _service(sessionmaker, clock)
    stored = await service.store_snapshot(SITE)
    assert stored == 36  # 12:00 on the 9th to midnight after the 10th
    assert await service.store_snapshot(SITE) == 0
