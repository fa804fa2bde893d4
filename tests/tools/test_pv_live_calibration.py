"""Live PV calibration from a site's own hourly history: effective derate and the
time-stamp offset, recovered from synthetic history and used by ForecastService."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import repositories as repo
from storage.models import HourlyRollupRow
from tools.clock import ManualClock
from tools.forecast.pv import calibrate_hourly, clear_sky_power_w
from tools.forecast.service import ForecastService
from tools.site import Battery, Location, PvArray, Site

SITE = Site(
    name="barn",
    timezone="America/Denver",
    location=Location(latitude=39.742, longitude=-105.179, altitude_m=1828),
    pv_arrays=[PvArray(name="roof", kwp=6.0, tilt_deg=30, azimuth_deg=180)],
    battery=Battery(capacity_kwh=10.0, min_soc_pct=20.0),
)
START = pd.Timestamp("2026-05-20", tz="UTC")


def synthetic_hourly(
    *, days: int = 20, derate: float = 0.8, shift_min: float = 30.0, seed: int = 1
) -> pd.Series:
    """Hourly means labelled by hour start whose hour h holds ``derate`` x the clear-sky
    power of [h + shift, h + 1 h + shift), with a third of the days cloudy."""
    t5 = pd.date_range(START, periods=days * 288, freq="5min", tz="UTC")
    power = clear_sky_power_w(SITE, t5 + pd.Timedelta(minutes=shift_min)).to_numpy() * derate
    rng = np.random.default_rng(seed)
    cloud = np.where(rng.random(days + 1) < 0.35, rng.uniform(0.2, 0.7, days + 1), 1.0)
    local_day = t5.tz_convert(SITE.tz).normalize().tz_localize(None) - START.tz_localize(None)
    power = power * cloud[np.clip(local_day.days.to_numpy() + 1, 0, days)]
    return pd.Series(power, index=t5).resample("1h").mean()


@pytest.mark.parametrize(("derate", "shift"), [(0.8, 30.0), (0.8, -30.0), (0.95, 0.0)])
def test_calibration_recovers_derate_and_shift(derate: float, shift: float) -> None:
    cal = calibrate_hourly(SITE, synthetic_hourly(derate=derate, shift_min=shift))
    assert cal is not None
    assert cal.time_shift_min == shift
    assert cal.derate == pytest.approx(derate, abs=0.02)
    assert cal.clear_days >= 5


def test_too_little_clear_history_gives_no_calibration() -> None:
    assert calibrate_hourly(SITE, synthetic_hourly(days=2)) is None
    assert (
        calibrate_hourly(SITE, pd.Series(dtype=float, index=pd.DatetimeIndex([], tz="UTC"))) is None
    )


async def _store(sessionmaker: async_sessionmaker[AsyncSession], hourly: pd.Series) -> None:
    async with sessionmaker() as session, session.begin():
        await repo.upsert_site(
            session, name=SITE.name, title="Barn", timezone=SITE.timezone, now=START
        )
        for hour, value in hourly.dropna().items():
            session.add(
                HourlyRollupRow(
                    site=SITE.name,
                    device="inverter",
                    metric="pv_power_w",
                    hour=pd.Timestamp(hour).to_pydatetime(),
                    count=12,
                    sum=float(value) * 12,
                    min=float(value),
                    max=float(value),
                )
            )


def _centroid_h(series: pd.Series) -> float:
    hours = (series.index - series.index[0]) / pd.Timedelta(hours=1)
    return float(np.sum(hours * series.to_numpy()) / np.sum(series.to_numpy()))


async def test_forecast_service_uses_the_site_calibration(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await _store(sessionmaker, synthetic_hourly(derate=0.8, shift_min=30.0))
    clock = ManualClock(datetime(2026, 6, 9, 6, 0, tzinfo=UTC))  # midnight MDT after 20 days
    service = ForecastService(sessionmaker=sessionmaker, clock=clock)
    calibrated = await service.forecast(SITE, hours=24)
    cal = calibrated.pv_calibration
    assert cal is not None and cal.time_shift_min == 30.0
    assert cal.derate == pytest.approx(0.8, abs=0.02)

    empty_clock = ManualClock(datetime(2026, 6, 9, 6, 0, tzinfo=UTC))
    plain = await ForecastService(sessionmaker=sessionmaker, clock=empty_clock).forecast(
        SITE.model_copy(update={"name": "elsewhere"}), hours=24
    )
    assert plain.pv_calibration is None  # no history for this site name
    ratio = calibrated.pv_p50_w.sum() / plain.pv_p50_w.sum()
    assert ratio == pytest.approx(0.8, abs=0.03)
    # the site's hour h holds the power of h + 30 min: its forecast comes 30 min earlier
    shift_h = _centroid_h(plain.pv_p50_w) - _centroid_h(calibrated.pv_p50_w)
    assert shift_h == pytest.approx(0.5, abs=0.1)
    # once per local day: later calls use the cached calibration
    clock.advance(timedelta(hours=3))
    assert (await service.pv_calibration(SITE)) is cal
