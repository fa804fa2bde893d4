"""Report analytics on hand-made hourly rollups with known answers, and report periods."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from tools.reports.analytics import (
    HourlyStats,
    analyse,
    baseline_l_per_kwh,
    compare,
)
from tools.reports.periods import (
    PeriodError,
    custom_period,
    due_period,
    named_period,
    previous_period,
)
from tools.site import (
    Battery,
    Costs,
    DigestSchedule,
    Emissions,
    Generator,
    Location,
    MonthlySchedule,
    PvArray,
    Reports,
    Site,
    SwitchableLoad,
    TariffPeriod,
)

T0 = datetime(2026, 6, 1, 0, 0, tzinfo=UTC)
HOURS = pd.date_range(T0, periods=4, freq="h", tz="UTC")


def _site(**update: object) -> Site:
    site = Site(
        name="lab",
        timezone="UTC",
        location=Location(latitude=40.0, longitude=-105.0),
        pv_arrays=[PvArray(name="roof", kwp=8, tilt_deg=30, azimuth_deg=180)],
        battery=Battery(capacity_kwh=10),
        loads=[SwitchableLoad(name="m1", kind="miner", power_kw=1.0)],
        generator=Generator(rated_kw=8, tank_l=100),
        costs=Costs(
            currency="USD",
            grid_price_per_kwh=0.20,
            grid_periods=[TariffPeriod(start="00:00", end="01:00", price_per_kwh=0.10)],
            export_price_per_kwh=0.05,
            fuel_price_per_l=1.5,
        ),
        emissions=Emissions(diesel_kg_per_l=2.68, grid_kg_per_kwh=0.5, solar_kg_per_kwh=0.0),
    )
    return site.model_copy(update=update)


def _s(values: list[float]) -> pd.Series:
    return pd.Series(values, index=HOURS, dtype="float64")


def _stats() -> HourlyStats:
    mean = {
        ("pv_power_w", "sim"): _s([0, 0, 1500, 6000]),
        ("load_power_w", "sim"): _s([2000, 3000, 2000, 2000]),
        ("grid_power_w", "sim"): _s([2000, -1000, 0, -1000]),
        ("battery_power_w", "sim"): _s([-1000, 0, 2000, 3000]),
        ("generator_power_w", "sim"): _s([0, 4000, 0, 0]),
        ("generator_running", "sim"): _s([0, 1, 0, 0]),
        ("generator_fuel_rate_lph", "sim"): _s([0, 1.2, 0, 0]),
        ("battery_soc_pct", "sim"): _s([42, 38, 55, 80]),
        ("load_on", "m1"): _s([1, 1, 1, 0.5]),
        ("load_power_each_w", "m1"): _s([1000, 1000, 1000, 500]),
    }
    return HourlyStats(
        mean=mean,
        min={("battery_soc_pct", "sim"): _s([40, 35, 50, 70])},
        max={
            ("battery_soc_pct", "sim"): _s([45, 40, 60, 90]),
            ("load_power_w", "sim"): _s([2500, 5000, 2200, 2100]),
        },
    )


END = T0 + timedelta(hours=4)


def test_energy_flows_cost_carbon_peak_and_miners() -> None:
    a = analyse(_stats(), _site(), start=T0, end=END)
    f = a.flows
    assert f.solar_kwh == pytest.approx(7.5)
    assert f.load_kwh == pytest.approx(9.0)
    assert (f.grid_import_kwh, f.grid_export_kwh) == (pytest.approx(2.0), pytest.approx(2.0))
    assert f.battery_charge_kwh == pytest.approx(5.0)
    assert f.battery_discharge_kwh == pytest.approx(1.0)
    assert f.generator_kwh == pytest.approx(4.0)
    assert f.fuel_l == pytest.approx(1.2)
    assert f.generator_run_h == pytest.approx(1.0)
    assert f.hours == 4
    # Cost by source: 2 kWh imported in the 00:00-01:00 band at 0.10, 2 kWh exported at
    # 0.05, 1.2 L at 1.5.
    c = a.costs
    assert c.grid_cost == pytest.approx(0.20)
    assert c.grid_per_kwh == pytest.approx(0.10)
    assert c.export_credit == pytest.approx(0.10)
    assert c.fuel_cost == pytest.approx(1.80)
    assert c.generator_per_kwh == pytest.approx(0.45)
    assert c.solar_per_kwh == 0.0
    assert c.total == pytest.approx(1.90)
    assert a.fuel_l_per_kwh == pytest.approx(0.30)
    # Carbon: 1.2 L x 2.68 + 2 kWh x 0.5.
    assert a.carbon.diesel_kg == pytest.approx(3.216)
    assert a.carbon.grid_kg == pytest.approx(1.0)
    assert a.carbon.total_kg == pytest.approx(4.216)
    # Grid baseline: 2 kWh at 0.10 + 7 kWh at 0.20 = 1.60; 9 kWh x 0.5 kg.
    s = a.savings
    assert s.baseline == "grid"
    assert s.baseline_cost == pytest.approx(1.60)
    assert s.saved == pytest.approx(1.60 - 1.90)
    assert s.baseline_kg == pytest.approx(4.5)
    assert s.avoided_kg == pytest.approx(4.5 - 4.216)
    # Peak from the hourly max, in the 01:00 hour.
    assert a.peak is not None
    assert a.peak.power_kw == pytest.approx(5.0)
    assert a.peak.hour == T0 + timedelta(hours=1)
    assert a.soc == (35.0, 90.0)
    # Miner 3.5 h on; surplus covers half its draw at 02:00 (1500 W PV - 1000 W other
    # load = 500 W of 1000 W) and all of it at 03:00 (0.5 h).
    assert a.miners is not None
    assert a.miners.on_h == pytest.approx(3.5)
    assert a.miners.on_surplus_h == pytest.approx(1.0)
    assert a.miners.by_miner == {"m1": pytest.approx(3.5)}


def test_diesel_baseline_and_curve_default() -> None:
    site = _site(reports=Reports(savings_baseline="diesel", baseline_l_per_kwh=0.4))
    a = analyse(_stats(), site, start=T0, end=END)
    # 9 kWh x 0.4 L/kWh = 3.6 L: 5.40 USD and 9.648 kg.
    assert a.savings.baseline_cost == pytest.approx(5.40)
    assert a.savings.baseline_kg == pytest.approx(9.648)
    assert a.savings.saved == pytest.approx(5.40 - 1.90)
    # Without a figure: the fuel curve at 75 % load (0.235 L/h per rated kW / 0.75 kW).
    assert baseline_l_per_kwh(_site()) == pytest.approx(0.235 / 0.75)
    assert baseline_l_per_kwh(_site(generator=None)) == pytest.approx(0.3)


def test_fuel_efficiency_by_day_and_period_in_progress() -> None:
    stats = _stats()
    site = _site()
    a = analyse(stats, site, start=T0, end=END)
    [day] = a.efficiency
    assert day.day == date(2026, 6, 1)
    assert day.l_per_kwh == pytest.approx(0.3)
    # A period that ends half-way through the 01:00 hour counts half of that hour.
    half = analyse(stats, site, start=T0, end=T0 + timedelta(hours=1, minutes=30))
    assert half.flows.generator_kwh == pytest.approx(2.0)
    assert half.flows.fuel_l == pytest.approx(0.6)
    assert half.flows.load_kwh == pytest.approx(2.0 + 1.5)


def test_compare_with_the_period_before() -> None:
    site = _site()
    stats = _stats()
    now = analyse(stats, site, start=T0, end=END)
    before = analyse(stats, site, start=T0, end=T0 + timedelta(hours=2))
    changes = {c.name: c for c in compare(now, before)}
    assert changes["Solar"].before == pytest.approx(0.0)
    assert changes["Solar"].pct is None
    assert changes["Load"].pct == pytest.approx((9.0 / 5.0 - 1) * 100)


def test_empty_history_gives_zeros() -> None:
    a = analyse(HourlyStats(), _site(), start=T0, end=END)
    assert a.flows.hours == 0
    assert a.costs.total == 0
    assert a.peak is None
    assert a.soc is None


DENVER = ZoneInfo("America/Denver")


def test_named_and_previous_periods() -> None:
    now = datetime(2026, 11, 19, 15, 0, tzinfo=UTC)  # Thu 19 Nov, 08:00 in Denver
    y = named_period("yesterday", now=now, tz=DENVER)
    assert (y.first, y.last) == (date(2026, 11, 18), date(2026, 11, 18))
    assert y.start == datetime(2026, 11, 18, 7, 0, tzinfo=UTC)
    assert y.end - y.start == timedelta(days=1)
    w = named_period("last_week", now=now, tz=DENVER)
    assert (w.first, w.last) == (date(2026, 11, 9), date(2026, 11, 15))
    m = named_period("last_month", now=now, tz=DENVER)
    assert (m.first, m.last) == (date(2026, 10, 1), date(2026, 10, 31))
    assert m.end == datetime(2026, 11, 1, 6, 0, tzinfo=UTC)  # local midnight, still MDT
    # November has the change back to standard time: 30 days and one hour.
    nov = named_period("last_month", now=datetime(2026, 12, 5, tzinfo=UTC), tz=DENVER)
    assert nov.end - nov.start == timedelta(days=30, hours=1)
    p = previous_period(m, tz=DENVER)
    assert (p.first, p.last) == (date(2026, 9, 1), date(2026, 9, 30))
    tm = named_period("this_month", now=now, tz=DENVER)
    assert tm.in_progress and tm.until == now
    with pytest.raises(PeriodError):
        named_period("fortnight", now=now, tz=DENVER)
    with pytest.raises(PeriodError):
        custom_period(date(2026, 11, 5), date(2026, 11, 1), now=now, tz=DENVER)


def test_due_periods_follow_the_local_schedule() -> None:
    daily = DigestSchedule(time="07:00")
    before = datetime(2026, 11, 19, 13, 59, tzinfo=UTC)  # 06:59 in Denver
    after = datetime(2026, 11, 19, 14, 0, tzinfo=UTC)  # 07:00
    assert due_period("daily", daily, now=before, tz=DENVER).first == date(2026, 11, 17)
    assert due_period("daily", daily, now=after, tz=DENVER).first == date(2026, 11, 18)
    weekly = DigestSchedule(time="08:00", day="mon")
    monday = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # Mon 08:00 in Denver
    p = due_period("weekly", weekly, now=monday, tz=DENVER)
    assert (p.first, p.last) == (date(2026, 11, 16), date(2026, 11, 22))
    p = due_period("weekly", weekly, now=monday - timedelta(minutes=1), tz=DENVER)
    assert (p.first, p.last) == (date(2026, 11, 9), date(2026, 11, 15))


def test_the_monthly_period_is_last_local_month() -> None:
    monthly = MonthlySchedule()  # day 1 at 08:00
    first = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)  # Tue 1 Dec 08:00 in Denver
    p = due_period("monthly", monthly, now=first, tz=DENVER)
    assert (p.kind, p.first, p.last, p.label) == (
        "month",
        date(2026, 11, 1),
        date(2026, 11, 30),
        "November 2026",
    )
    # Local midnights: 1 Nov was still summer time (UTC-6), 1 Dec is winter time (UTC-7).
    assert (p.start, p.end) == (
        datetime(2026, 11, 1, 6, tzinfo=UTC),
        datetime(2026, 12, 1, 7, tzinfo=UTC),
    )
    assert not p.in_progress
    p = due_period("monthly", monthly, now=first - timedelta(minutes=1), tz=DENVER)
    assert (p.first, p.last) == (date(2026, 10, 1), date(2026, 10, 31))
    # Due on the 15th: until then it is still the month before last.
    mid = MonthlySchedule(day=15, time="06:30")
    p = due_period("monthly", mid, now=datetime(2027, 3, 10, 12, tzinfo=UTC), tz=DENVER)
    assert (p.first, p.last) == (date(2027, 1, 1), date(2027, 1, 31))
    p = due_period("monthly", mid, now=datetime(2027, 3, 15, 13, 30, tzinfo=UTC), tz=DENVER)
    assert (p.first, p.last) == (date(2027, 2, 1), date(2027, 2, 28))
    # A day that not every month has is refused, and so is a mismatched schedule.
    with pytest.raises(ValueError, match="less than or equal to 28"):
        MonthlySchedule(day=31)
    with pytest.raises(TypeError, match="monthly digest needs a monthly schedule"):
        due_period("monthly", DigestSchedule(), now=first, tz=DENVER)
