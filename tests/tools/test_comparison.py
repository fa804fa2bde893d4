"""Period comparisons and the month's projected bill, checked against the readings table.

Real data: ``load/emhass_long_train_data_2024-2025_30min.csv`` (davidusb-geek/emhass, MIT):
a year of a French household's load and measured PV at 30 min, stored as readings. The
expected figures are computed here from the same readings, independently of the report
code: each hour's mean power x 1 h, per day of data = total x 24 / hours with readings.
Simulated data: the demo site's simulator run through the database (tests/tools/test_reports_db).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import repositories as repo
from tests.conftest import shared_data
from tests.tools.test_reports_db import _simulate
from tools.clock import ManualClock
from tools.reports.comparison import (
    change_text,
    compare_periods,
    comparison_text,
    cost_projection,
    pair_periods,
    projection_text,
    resolve_period,
)
from tools.reports.service import ReportService
from tools.site import Costs, Location, PvArray, Site, demo_site_file

PARIS = ZoneInfo("Europe/Paris")


def _emhass_site(latitude: float = 48.83) -> Site:
    # EMHASS config_defaults (plausibly the author's system, see the .source.txt)
    return Site(
        name="emhass-house",
        title="EMHASS house",
        timezone="Europe/Paris",
        location=Location(latitude=latitude, longitude=6.86),
        pv_arrays=[PvArray(name="roof", kwp=4.72, tilt_deg=30, azimuth_deg=205)],
        costs=Costs(currency="EUR", grid_price_per_kwh=0.25),
    )


def _emhass_readings() -> dict[str, pd.Series]:
    df = pd.read_csv(shared_data("load/emhass_long_train_data_2024-2025_30min.csv"))
    index = pd.DatetimeIndex(pd.to_datetime(df["timestamp_utc"], utc=True))
    load = pd.Series(df["sensor.power_load_no_var_loads"].to_numpy(), index=index).dropna()
    load = load.iloc[int(np.argmax(load.to_numpy() > 0.0)) :]  # the missing start (zeros)
    pv = pd.Series(df["sensor.power_photovoltaics"].to_numpy(), index=index).dropna()
    return {"load_power_w": load, "pv_power_w": pv}


async def _store(
    sessionmaker: async_sessionmaker[AsyncSession], site: Site, series: dict[str, pd.Series]
) -> None:
    rows = [
        (site.name, "ha", metric, t.to_pydatetime(), float(v))
        for metric, s in series.items()
        for t, v in s.items()
    ]
    async with sessionmaker() as session, session.begin():
        await repo.upsert_site(
            session, name=site.name, title=site.title, timezone=site.timezone, now=rows[0][3]
        )
        for i in range(0, len(rows), 5000):
            await repo.copy_readings(session, rows=rows[i : i + 5000])


async def _stored(
    sessionmaker: async_sessionmaker[AsyncSession], site: str, start: datetime, end: datetime
) -> list[repo.ReadingRecord]:
    """The readings table itself, read back (what the figures must agree with)."""
    from sqlalchemy import select

    from storage.models import ReadingRow

    async with sessionmaker() as session:
        result = await session.execute(
            select(ReadingRow).where(
                ReadingRow.site == site, ReadingRow.time >= start, ReadingRow.time < end
            )
        )
        return [
            repo.ReadingRecord(
                site=r.site,
                device=r.device,
                metric=r.metric,
                time=r.time if r.time.tzinfo else r.time.replace(tzinfo=UTC),
                value=r.value,
            )
            for r in result.scalars()
        ]


def _expected(records: list[repo.ReadingRecord], start: datetime, end: datetime) -> dict:
    """Energy [kWh] per metric (hourly means x 1 h) and the hours with any reading."""
    sums: dict[tuple[str, datetime], list[float]] = defaultdict(list)
    for r in records:
        if start <= r.time < end:
            sums[(r.metric, r.time.replace(minute=0, second=0, microsecond=0))].append(r.value)
    out: dict = defaultdict(float)
    hours = set()
    for (metric, hour), values in sums.items():
        out[metric] += sum(values) / len(values) / 1000.0
        hours.add(hour)
    out["hours"] = len(hours)
    return out


def _local(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=PARIS).astimezone(UTC)


async def test_this_month_so_far_vs_the_same_days_of_last_month_on_real_data(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    site = _emhass_site()
    series = {
        k: s[(s.index >= "2024-10-25") & (s.index < "2024-12-20")]
        for k, s in _emhass_readings().items()
    }
    await _store(sessionmaker, site, series)
    clock = ManualClock(_local(date(2024, 12, 13)))  # midnight: 12 whole days of December
    reports = ReportService(sessionmaker=sessionmaker, sites={site.name: site}, clock=clock)
    cmp = await compare_periods(reports, site, "this_month", "last_month", costs=True)

    dec = (_local(date(2024, 12, 1)), _local(date(2024, 12, 13)))
    nov = (_local(date(2024, 11, 1)), _local(date(2024, 11, 13)))
    stored = await _stored(sessionmaker, site.name, nov[0], dec[1])
    want_dec, want_nov = _expected(stored, *dec), _expected(stored, *nov)
    assert want_dec["load_power_w"] > 100 and want_nov["pv_power_w"] > 10  # real figures

    assert (cmp.current.first, cmp.before.first) == (date(2024, 12, 1), date(2024, 11, 1))
    assert cmp.before.until == nov[1]  # the same 12 days, not all of November
    by_name = {f.name: f for f in cmp.figures}
    full = want_dec["hours"] >= 0.9 * 288 and want_nov["hours"] >= 0.9 * 288
    assert cmp.per_day is not full
    scale_now = 24 / want_dec["hours"] if cmp.per_day else 1.0
    scale_before = 24 / want_nov["hours"] if cmp.per_day else 1.0
    for name, metric in (("solar", "pv_power_w"), ("load", "load_power_w")):
        assert by_name[name].now == pytest.approx(want_dec[metric] * scale_now, rel=1e-9)
        assert by_name[name].before == pytest.approx(want_nov[metric] * scale_before, rel=1e-9)
    assert "grid import" not in by_name  # no grid meter in this house's data: no row
    assert "cost" not in by_name  # nothing priced was metered: no "EUR 0.00 vs EUR 0.00"

    text = comparison_text(cmp)
    first = text.splitlines()[0]
    assert first.startswith(
        "EMHASS house, December 2024 so far (12 days) vs the same 12 days of November 2024"
    ), text
    load = by_name["load"]
    assert f"load {load.now:,.1f} kWh vs {load.before:,.1f} kWh" in first, text
    assert "-0.0" not in text
    assert len(text.splitlines()) <= 4


async def test_summer_vs_winter_per_day_on_real_data(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    site = _emhass_site()
    series = {
        k: s[((s.index >= "2024-05-31") & (s.index < "2024-09-02")) | (s.index >= "2024-11-30")]
        for k, s in _emhass_readings().items()
    }
    await _store(sessionmaker, site, series)
    clock = ManualClock(_local(date(2025, 2, 27)))
    reports = ReportService(sessionmaker=sessionmaker, sites={site.name: site}, clock=clock)
    cmp = await compare_periods(reports, site, "summer", "winter", costs=False)
    # northern hemisphere: summer Jun-Aug 2024 against winter Dec-Feb (in progress)
    assert (cmp.current.first, cmp.current.last) == (date(2024, 6, 1), date(2024, 8, 31))
    assert (cmp.before.first, cmp.before.until) == (date(2024, 12, 1), _local(date(2025, 2, 27)))
    assert cmp.per_day  # 92 days against 88 so far
    summer = (_local(date(2024, 6, 1)), _local(date(2024, 9, 1)))
    winter = (_local(date(2024, 12, 1)), _local(date(2025, 2, 27)))
    stored = await _stored(sessionmaker, site.name, summer[0], winter[1])
    s, w = _expected(stored, *summer), _expected(stored, *winter)
    solar = next(f for f in cmp.figures if f.name == "solar")
    assert solar.now == pytest.approx(s["pv_power_w"] * 24 / s["hours"], rel=1e-9)
    assert solar.before == pytest.approx(w["pv_power_w"] * 24 / w["hours"], rel=1e-9)
    assert solar.now > 2 * solar.before  # a French summer makes far more than its winter
    assert not any(f.money for f in cmp.figures)  # costs=False: no money figure at all
    text = comparison_text(cmp)
    assert text.startswith("EMHASS house, summer 2024 vs winter 2024–25 so far (88 days), per day")
    assert "Per-day averages" in text and "the periods differ in length" in text
    assert "EUR" not in text and "cost" not in text


def test_seasons_follow_the_hemisphere() -> None:
    now = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    north = resolve_period("summer", now=now, tz=ZoneInfo("Europe/Paris"), latitude=48.8)
    south = resolve_period("summer", now=now, tz=ZoneInfo("Australia/Sydney"), latitude=-33.9)
    assert (north.first, north.last) == (date(2026, 6, 1), date(2026, 8, 31))
    # December has just begun (under a week): the southern summer before, not 2 days of it
    assert (south.first, south.last) == (date(2025, 12, 1), date(2026, 2, 28))
    winter = resolve_period("winter", now=now, tz=ZoneInfo("Australia/Sydney"), latitude=-33.9)
    assert (winter.first, winter.last) == (date(2026, 6, 1), date(2026, 8, 31))


def test_a_month_name_is_the_most_recent_one_that_began() -> None:
    now = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    tz = ZoneInfo("UTC")
    assert resolve_period("february", now=now, tz=tz, latitude=40).first == date(2026, 2, 1)
    assert resolve_period("march", now=now, tz=tz, latitude=40).in_progress
    assert resolve_period("april", now=now, tz=tz, latitude=40).first == date(2025, 4, 1)
    a, b = pair_periods("january", "february", now=now, tz=tz, latitude=40)
    assert (a.first, b.first) == (date(2026, 1, 1), date(2026, 2, 1))  # in the order asked
    assert a.until == a.end and b.until == b.end  # whole months: nothing cut
    # a month in progress against an earlier one: the same elapsed days of that one
    a, b = pair_periods("january", "march", now=now, tz=tz, latitude=40)
    assert a.until == a.start + (b.until - b.start) and "the same 9.5 days" in a.label


def test_changes_against_almost_nothing_are_said_in_words() -> None:
    assert change_text(12.57, 0.1) == "up from almost nothing"  # not "+12470 %"
    assert change_text(125.7, 0.0) == "up from none"
    assert change_text(0.0, 40.0) == "down to none"
    assert change_text(1.0, 40.0) == "down to almost nothing"
    assert change_text(0.01, -0.01) == "none in either"
    assert change_text(110.0, 100.0) == "+10 %"
    assert change_text(90.0, 100.0) == "-10 %"
    assert change_text(100.2, 100.0) == "about the same"


def _demo(costs: Costs | None = None) -> Site:
    site = demo_site_file().sites[0]
    return site if costs is None else site.model_copy(update={"costs": costs})


async def test_today_so_far_vs_the_same_hours_of_yesterday_on_a_simulated_site(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    site = _demo()
    tz = site.tz
    midnight = datetime(2026, 11, 10, tzinfo=tz).astimezone(UTC)
    now = midnight + timedelta(hours=14)  # 14:00 local on the 10th
    records = await _simulate(sessionmaker, site, midnight - timedelta(days=1), now)
    reports = ReportService(
        sessionmaker=sessionmaker, sites={site.name: site}, clock=ManualClock(now)
    )
    cmp = await compare_periods(reports, site, "today", None, costs=False)
    assert cmp.before.until == midnight - timedelta(hours=10)  # yesterday to 14:00 only
    assert not cmp.per_day
    want_now = _expected(records, midnight, now)
    want_before = _expected(records, midnight - timedelta(days=1), midnight - timedelta(hours=10))
    figures = {f.name: f for f in cmp.figures}
    assert figures["load"].now == pytest.approx(want_now["load_power_w"], rel=1e-9)
    assert figures["load"].before == pytest.approx(want_before["load_power_w"], rel=1e-9)
    assert figures["solar"].now == pytest.approx(want_now["pv_power_w"], rel=1e-9)
    text = comparison_text(cmp)
    assert text.startswith("Demo home lab, Tue 10 Nov 2026 so far (14 h) vs the same 14 h of")


async def test_the_month_projected_from_its_daily_rate_on_a_simulated_site(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    site = _demo()  # no tariff in the demo's site file: said so
    tz = site.tz
    first = datetime(2026, 11, 1, tzinfo=tz).astimezone(UTC)
    now = datetime(2026, 11, 7, tzinfo=tz).astimezone(UTC)  # six whole days of November
    records = await _simulate(sessionmaker, site, first - timedelta(hours=3), now)
    reports = ReportService(
        sessionmaker=sessionmaker, sites={site.name: site}, clock=ManualClock(now)
    )
    p = await cost_projection(reports, site)
    want = _expected([r for r in records if r.metric != "grid_power_w"], first, now)
    hourly: dict[datetime, list[float]] = defaultdict(list)
    for r in records:
        if r.metric == "grid_power_w" and first <= r.time < now:
            hourly[r.time.replace(minute=0, second=0, microsecond=0)].append(r.value)
    grid_import = sum(max(0.0, sum(v) / len(v)) for v in hourly.values()) / 1000
    assert want["hours"] == 6 * 24 + 1  # 1 November 2026 has 25 h: summer time ends
    assert p.import_kwh == pytest.approx(grid_import, rel=1e-9)
    assert p.grid_cost == pytest.approx(grid_import * 0.15, rel=1e-9)
    assert p.so_far == pytest.approx(p.grid_cost + p.fuel_cost - p.export_credit)
    assert p.per_day == pytest.approx(p.so_far / (145 / 24))
    assert p.projected == pytest.approx(p.so_far + p.per_day * 24)  # 24 days left
    text = projection_text(p)
    head = text.splitlines()[0]
    assert head == (
        f"Demo home lab, November 2026: USD {p.so_far:,.2f} so far (6 days); about "
        f"USD {p.projected:,.2f} by the month's end at USD {p.per_day:,.2f}/day."
    ), text
    assert "No tariff is configured for this site" in text
    assert "grid USD 0.150/kWh flat" in text

    budgeted = _demo(Costs(grid_price_per_kwh=0.15, monthly_budget=round(p.projected) + 50))
    text = projection_text(await cost_projection(reports, budgeted))
    assert "on track" in text and "No tariff" not in text
