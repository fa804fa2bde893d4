"""Forecast snapshots: the daily job stores each site's day-ahead forecast once per
local day, and the day-ahead read returns what was issued before the day began."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import repositories as repo
from storage.models import HourlyRollupRow
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


async def _seed_issued_load(
    sessionmaker: async_sessionmaker[AsyncSession], days: int, *, last_day: int
) -> None:
    """``days`` local days up to ``last_day`` (June): each issued at 00:10 with a load
    P50 of 1 kW and a model band of +-50 W, and a measured load of 1 kW +- 300 W."""
    rng = np.random.default_rng(7)
    async with sessionmaker() as session, session.begin():
        for day in range(last_day - days + 1, last_day + 1):
            hours = [_local(day, 0) + timedelta(hours=h) for h in range(24)]
            band = {"load_p50_w": 1000.0, "load_p10_w": 950.0, "load_p90_w": 1050.0}
            pv = {"pv_p10_w": 0.0, "pv_p50_w": 0.0, "pv_p90_w": 0.0}
            await repo.insert_forecast_snapshot(
                session,
                site=SITE.name,
                issued_at=_local(day, 0, 10) - timedelta(minutes=20),
                rows=[{"target_hour": h, **band, **pv, "weather_source": "test"} for h in hours],
            )
            session.add_all(
                HourlyRollupRow(
                    site=SITE.name,
                    device="meter",
                    metric="load_power_w",
                    hour=h,
                    count=1,
                    sum=float(1000.0 + rng.normal(0.0, 300.0)),
                    min=0.0,
                    max=0.0,
                )
                for h in hours
            )


async def test_load_band_calibrated_on_the_sites_own_errors(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    clock = ManualClock(_local(25, 0, 30))
    service = await _service(sessionmaker, clock)
    await _seed_issued_load(sessionmaker, 20, last_day=24)
    forecast = await service.forecast(SITE, hours=24)
    assert "load band calibrated on 20 days" in forecast.band_note
    assert forecast.load_model_p90_w is not None and forecast.load_model_p10_w is not None
    width = (forecast.load_p90_w - forecast.load_p10_w).to_numpy()
    model_width = (forecast.load_model_p90_w - forecast.load_model_p10_w).to_numpy()
    # errors of +-300 W (sd) need a band of about 2 x 1.28 x 300 W, far wider than the model's
    assert float(np.median(width)) > 500.0
    assert float(np.median(width)) > float(np.median(model_width)) + 200.0
    assert (forecast.load_p10_w <= forecast.load_p50_w + 1e-9).all()
    # the snapshot keeps the model's own band beside the calibrated one
    assert await service.store_snapshot(SITE) > 0
    async with sessionmaker() as session, session.begin():
        rows = await repo.issued_forecast_hours(
            session, site=SITE.name, start=_local(25, 1), end=_local(25, 3)
        )
    issued_now = [r for r in rows if r.issued_at == clock.now()]
    assert issued_now and all(r.load_model_p90_w is not None for r in issued_now)


async def test_band_says_when_there_is_too_little_history(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    clock = ManualClock(_local(25, 0, 30))
    service = await _service(sessionmaker, clock)
    await _seed_issued_load(sessionmaker, 5, last_day=24)
    forecast = await service.forecast(SITE, hours=24)
    assert "load band from the model only: 5 days" in forecast.band_note
    assert "14 needed" in forecast.band_note
    assert forecast.load_model_p90_w is not None
    assert np.allclose(forecast.load_p90_w.to_numpy(), forecast.load_model_p90_w.to_numpy())
