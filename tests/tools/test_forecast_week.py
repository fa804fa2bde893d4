"""The week ahead: band widening by lead day (pure, from a site's stored forecasts, and
backtested on the shared EMHASS household year), and ``commandcenter backtest week``.

Real data: ``load/emhass_long_train_data_2024-2025_30min.csv`` from davidusb-geek/emhass
(MIT), see its ``.source.txt``.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pvlib
import pytest
import typer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from typer.testing import CliRunner

from bot.commands.backtest_week import week as week_command
from storage import repositories as repo
from storage.models import HourlyRollupRow
from tests.tools.alert_data import shared_data
from tools.clock import ManualClock
from tools.forecast.backtest_week import backtest_week
from tools.forecast.service import ForecastService
from tools.forecast.week import lead_days, lead_growth, widen, width_scores
from tools.site import Battery, Location, PvArray, Site

TZ = "Europe/Paris"
EMHASS = Site(
    name="emhass",
    timezone=TZ,
    location=Location(latitude=48.83, longitude=6.86),
    pv_arrays=[PvArray(name="pv", kwp=4.72, tilt_deg=30, azimuth_deg=205, inverter_kw=5.0)],
)


def _emhass_frame() -> pd.DataFrame:
    """Load (0 = missing) and PV (NaN = night: 0 while the sun is below 5°, else missing)."""
    raw = pd.read_csv(shared_data("load/emhass_long_train_data_2024-2025_30min.csv"))
    index = pd.DatetimeIndex(pd.to_datetime(raw["timestamp_utc"], utc=True))
    load = raw["sensor.power_load_no_var_loads"].to_numpy(dtype=np.float64)
    pv = raw["sensor.power_photovoltaics"].to_numpy(dtype=np.float64)
    sun = pvlib.location.Location(48.83, 6.86).get_solarposition(index + pd.Timedelta(minutes=15))
    pv = np.where(np.isnan(pv) & (sun["elevation"].to_numpy() < 5.0), 0.0, pv)
    return pd.DataFrame({"load_w": np.where(load > 0, load, np.nan), "pv_w": pv}, index=index)


# -- pure --------------------------------------------------------------------------------


def test_lead_days_count_local_days_from_the_issue() -> None:
    issued = pd.Timestamp("2026-06-09 21:30", tz="UTC")  # 23:30 in Paris on the 9th
    times = pd.date_range("2026-06-09 21:00", periods=4, freq="1h", tz="UTC")
    assert lead_days(times, issued, TZ).tolist() == [1, 2, 2, 2]  # Paris midnight at 22:00 UTC


def test_growth_is_measured_from_residuals_that_spread_with_lead() -> None:
    rng = np.random.default_rng(3)
    days = [date(2026, 5, 1) + timedelta(days=k) for k in range(30)]
    lead, z, day = [], [], []
    for d in range(1, 8):
        for target in days:
            for _ in range(24):
                lead.append(d)
                z.append(rng.normal(0.0, 0.2 * (1 + 0.1 * (d - 1))))
                day.append(target)
    ones = np.ones(len(z))
    scores = width_scores(-ones, 0 * ones, ones, np.array(z))
    growth = lead_growth(np.array(lead), scores, day, default_per_day=0.5, what="load")
    assert all(growth.measured)
    assert growth.factors[0] == 1.0
    assert list(growth.factors) == sorted(growth.factors)
    assert growth.factors[6] == pytest.approx(1.6, abs=0.12)  # sd grows 10 %/day: 1.6 at lead 7
    assert "measured on the site's own errors at every lead day" in growth.note


def test_too_little_history_falls_back_on_the_stated_default() -> None:
    lead = np.array([1] * 48 + [2] * 48)
    day = [date(2026, 5, 1)] * 24 + [date(2026, 5, 2)] * 24
    growth = lead_growth(lead, np.zeros(96), day * 2, default_per_day=0.15, what="PV")
    assert not any(growth.measured)
    assert growth.factors == pytest.approx((1.0, 1.15, 1.3, 1.45, 1.6, 1.75, 1.9))
    assert "default 15 % per lead day: 2 days of the site's own errors at lead 1, 10 needed" in (
        growth.note
    )


def test_widen_keeps_p10_at_or_above_zero_and_p90_under_the_cap() -> None:
    lo, hi = widen(
        np.array([100.0, 0.0]),
        np.array([500.0, 0.0]),
        np.array([900.0, 0.0]),
        np.array([2.0, 2.0]),
        cap_w=1000.0,
    )
    assert lo.tolist() == [0.0, 0.0] and hi.tolist() == [1000.0, 0.0]


# -- live: the site's own stored forecasts ----------------------------------------------

BARN = Site(
    name="barn",
    timezone="America/Denver",
    location=Location(latitude=39.742, longitude=-105.179, altitude_m=1828),
    pv_arrays=[PvArray(name="roof", kwp=6.0, tilt_deg=30, azimuth_deg=180)],
    battery=Battery(capacity_kwh=10.0, min_soc_pct=20.0),
)


def _local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 6, day, hour, minute, tzinfo=BARN.tz).astimezone(UTC)


async def test_week_widens_from_the_sites_own_errors_by_lead_day(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """Twenty days of stored forecasts issued at 00:10 for today and tomorrow; tomorrow's
    load errors twice as large: the week band measures that and carries it on."""
    rng = np.random.default_rng(11)
    clock = ManualClock(_local(25, 8))
    async with sessionmaker() as session, session.begin():
        await repo.upsert_site(
            session, name=BARN.name, title="Barn", timezone=BARN.timezone, now=clock.now()
        )
        for day in range(4, 25):
            issued = _local(day, 0, 10)
            hours = [_local(day, 1) + timedelta(hours=h) for h in range(47)]
            band = {"load_p50_w": 1000.0, "load_p10_w": 900.0, "load_p90_w": 1100.0}
            pv = {"pv_p10_w": 0.0, "pv_p50_w": 0.0, "pv_p90_w": 0.0}
            await repo.insert_forecast_snapshot(
                session,
                site=BARN.name,
                issued_at=issued,
                rows=[{"target_hour": h, **band, **pv, "weather_source": "test"} for h in hours],
            )
        for day in range(4, 26):
            for h in range(24):
                hour = _local(day, 0) + timedelta(hours=h)
                if hour >= clock.now():
                    break
                session.add(
                    HourlyRollupRow(
                        site=BARN.name,
                        device="meter",
                        metric="load_power_w",
                        hour=hour,
                        count=1,
                        sum=float(1000.0 + rng.normal(0.0, 150.0)),
                        min=0.0,
                        max=0.0,
                    )
                )
    # the same measurement scored against the same P50 at lead 1 and lead 2 has the same
    # spread, so give lead 2 a forecast that is further off: replace the lead-2 P50s
    async with sessionmaker() as session, session.begin():
        rows = await repo.issued_forecast_hours(
            session, site=BARN.name, start=_local(1, 0), end=_local(26, 0)
        )
        for row in rows:
            lead = lead_days(
                pd.DatetimeIndex([row.target_hour]).tz_localize("UTC")
                if pd.Timestamp(row.target_hour).tzinfo is None
                else pd.DatetimeIndex([row.target_hour]),
                pd.Timestamp(row.issued_at).tz_localize("UTC")
                if pd.Timestamp(row.issued_at).tzinfo is None
                else pd.Timestamp(row.issued_at),
                BARN.timezone,
            )[0]
            if lead == 2:  # the same +-100 W band around a P50 that is further off
                row.load_p50_w = float(1000.0 + rng.normal(0.0, 300.0))
                row.load_p10_w = row.load_p50_w - 100.0
                row.load_p90_w = row.load_p50_w + 100.0
    service = ForecastService(sessionmaker=sessionmaker, clock=clock)
    pv_growth, load_growth = await service.lead_growths(BARN, clock.now(), "clear-sky")
    assert load_growth.measured[:2] == (True, True)
    assert load_growth.days[0] >= 10 and load_growth.days[1] >= 10
    assert load_growth.factors[1] > 1.5  # errors of sd ~335 W against ~150 W
    assert "measured up to lead day 2, carried on beyond it" in load_growth.note
    assert list(load_growth.factors) == sorted(load_growth.factors)
    # the clear-sky PV week does not widen, and says so
    assert pv_growth.factors == (1.0,) * 7 and "does not widen" in pv_growth.note

    week = await service.week(BARN, current_load_w=1000.0)
    local_days = sorted(set(week.forecast.times.tz_convert(BARN.timezone).date))
    assert len(local_days) == 7 and local_days[0] == date(2026, 6, 25)
    width = (week.forecast.load_p90_w - week.forecast.load_p10_w).groupby(week.lead_day).mean()
    assert width[7] > width[2] > width[1]


# -- backtest on the shared household year -----------------------------------------------


def test_week_bands_on_the_shared_household_widen_with_lead_and_cover() -> None:
    result = backtest_week(
        _emhass_frame(),
        EMHASS,
        score_from=date(2024, 5, 15),
        score_to=date(2024, 7, 15),
        every_days=3,
    )
    for block in ("load", "pv_no_weather"):
        by_lead = result[block]["by_lead"]
        assert [r["lead"] for r in by_lead] == list(range(1, 8))
        assert all(r["hours"] > 200 for r in by_lead)
        assert all(0.0 <= r["coverage_week_pct"] <= 100.0 for r in by_lead)
    load = result["load"]
    # the recursive load forecast errs more further out, and the band measures it
    assert load["growth"][6] > 1.1
    assert list(load["growth"]) == sorted(load["growth"])
    by_lead = load["by_lead"]
    assert np.mean([r["mae_w"] for r in by_lead[4:]]) > by_lead[0]["mae_w"]
    # the week band covers about 80 % at every lead day, on data it never saw before
    for block in ("load", "pv_no_weather"):
        coverage = [r["coverage_week_pct"] for r in result[block]["by_lead"]]
        assert all(74.0 <= c <= 90.0 for c in coverage), (block, coverage)


def test_cli_prints_coverage_by_lead_day(tmp_path: Path) -> None:
    frame = _emhass_frame()
    frame = frame[(frame.index >= "2024-04-20") & (frame.index < "2024-06-10")]
    lines = ["time,load_w"] + [
        f"{t.strftime('%Y-%m-%dT%H:%M:%SZ')},{v:.1f}" for t, v in frame["load_w"].dropna().items()
    ]
    path = tmp_path / "load.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    app = typer.Typer()
    app.command("week")(week_command)
    app.command("other")(lambda: None)
    runner = CliRunner()
    args = ["week", "--data", str(path), "--tz", TZ, "--every-days", "4"]
    text = runner.invoke(app, args)
    assert text.exit_code == 0, text.output
    assert "load (" in text.output and "pv" not in text.output.lower().split("backtest")[1]
    rows = [line.split() for line in text.output.splitlines() if line.strip()[:1].isdigit()]
    assert [int(r[0]) for r in rows] == list(range(1, 8))
    as_json = runner.invoke(app, [*args, "--json", "--horizon-days", "3"])
    assert as_json.exit_code == 0, as_json.output
    result = json.loads(as_json.output)
    assert result["horizon_days"] == 3 and len(result["load"]["by_lead"]) == 3
    bad = runner.invoke(app, ["week", "--data", str(path), "--tz", "Mars/Base"])
    assert bad.exit_code == 2 and "not a time zone" in bad.output
