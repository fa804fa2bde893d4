"""Generator rules on SYNTHETIC histories from the site simulator.

No real generator fuel log exists (``shared/data/README.md``): every fuel figure
here comes from :class:`tools.devices.simulator.SimulatedSite` burning fuel along
a synthetic, published-shape fuel curve (:func:`tools.site.default_fuel_curve`).
The scenario (:func:`scenario`) is six simulated weeks of an off-grid farm whose
generator starts below 30 % SOC and stops above 85 %, with

- a heavy day (day 9): both miners on and the generator forced on all day;
- a refill on day 16 at 10:00 local (the tank jumps from about 10 L to 150 L);
- a degraded generator in weeks 5-6: the same site with its fuel curve scaled
  up 25 % (a second ``Site`` config with a modified ``fuel_curve``).

Rules are checked against the simulator's own energy and fuel totals.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest

from tools.alerts.context import History, RuleContext, Severity, Verdict
from tools.alerts.rules_generator import (
    DEFAULT_RUN_HOURS_PER_DAY,
    RULES,
    daily_fuel_burned_l,
    fuel_efficiency_declining,
    fuel_tank_low,
    fuel_use_high,
    generator_service_due,
    hourly_fuel_burned_l,
    weekly_efficiency,
)
from tools.devices.base import DeviceCommand
from tools.devices.simulator import SimulatedSite
from tools.domain import Reading
from tools.site import (
    AlertThresholds,
    Battery,
    Generator,
    Grid,
    Location,
    PvArray,
    Site,
    SwitchableLoad,
    default_fuel_curve,
)
from tools.telemetry import SiteState

# Nairobi: UTC+3 all year, so local midnight is 21:00 UTC. Day 0 = Monday 2 March 2026.
START = datetime(2026, 3, 1, 21, 0, tzinfo=UTC)
POLL = timedelta(minutes=10)
HEAVY_DAY = 9
REFILL_AT = START + timedelta(days=16, hours=10)
DEGRADED_FROM = START + timedelta(days=28)
END = START + timedelta(days=42)
REFILL_TO_L = 150.0
DEGRADATION = 1.25


def farm(curve_scale: float = 1.0) -> Site:
    """An off-grid farm: 6 kWp, 15 kWh battery, an 8 kW diesel genset, two miners."""
    curve = [(f, round(lph * curve_scale, 4)) for f, lph in default_fuel_curve(8.0)]
    return Site(
        name="farm",
        timezone="Africa/Nairobi",
        location=Location(latitude=-1.28, longitude=36.82, altitude_m=1700),
        pv_arrays=[PvArray(name="roof", kwp=6.0, tilt_deg=15, azimuth_deg=0)],
        battery=Battery(capacity_kwh=15.0, max_charge_kw=5.0, initial_soc_pct=60.0),
        loads=[
            SwitchableLoad(name="miner-1", power_kw=1.45, initially_on=False),
            SwitchableLoad(name="miner-2", power_kw=1.45, initially_on=False),
        ],
        generator=Generator(rated_kw=8.0, tank_l=150.0, initial_fuel_l=90.0, fuel_curve=curve),
        grid=Grid(present=False),
    )


@dataclass
class Synthetic:
    """What the simulation produced: readings per (metric, device) and ground truth."""

    site: Site
    readings: dict[tuple[str, str], pd.Series]
    hourly: dict[tuple[str, str], pd.Series]
    fuel_burned_l: pd.Series  # cumulative, at every poll
    generator_wh: pd.Series  # cumulative, at every poll
    last_poll: dict[datetime, list[Reading]]

    def history(
        self, now: datetime, *, drop: tuple[str, ...] = (), since: datetime | None = None
    ) -> History:
        """Hourly means of hours starting before ``now`` (complete hours, as the rules
        are evaluated on the hour here) and raw readings of the last 6 hours."""
        first = since or START

        def cut(s: pd.Series, lo: datetime) -> pd.Series:
            return s[(s.index >= lo) & (s.index < now)]

        hourly = {k: cut(s, first) for k, s in self.hourly.items() if k[0] not in drop}
        raw = {
            k: cut(s, max(first, now - timedelta(hours=6)))
            for k, s in self.readings.items()
            if k[0] not in drop
        }
        return History(hourly=hourly, raw=raw)

    def state(self, now: datetime) -> SiteState:
        polls = [t for t in self.last_poll if t <= now]
        state = SiteState("farm")
        for r in self.last_poll[max(polls)]:
            state.update(r)
        return state

    def burned_between(self, start: datetime, end: datetime) -> float:
        s = self.fuel_burned_l
        return float(s.asof(pd.Timestamp(end)) - s.asof(pd.Timestamp(start)))

    def energy_kwh_between(self, start: datetime, end: datetime) -> float:
        s = self.generator_wh
        return float(s.asof(pd.Timestamp(end)) - s.asof(pd.Timestamp(start))) / 1000.0


async def _simulate() -> Synthetic:
    segments = [
        (START, REFILL_AT, farm(), None),
        (REFILL_AT, DEGRADED_FROM, farm(), REFILL_TO_L),
        (DEGRADED_FROM, END, farm(DEGRADATION), None),
    ]
    columns: dict[tuple[str, str], tuple[list[datetime], list[float]]] = defaultdict(
        lambda: ([], [])
    )
    burned_t: list[datetime] = [START]
    burned_l: list[float] = [0.0]
    gen_wh: list[float] = [0.0]
    last_poll: dict[datetime, list[Reading]] = {}
    soc, fuel, running, offset_l, offset_wh = 60.0, 90.0, False, 0.0, 0.0
    for seg_start, seg_end, config, refill_l in segments:
        # The next segment continues from where the last stopped (a refill fills the tank).
        assert config.battery is not None and config.generator is not None
        config = config.model_copy(
            update={
                "battery": config.battery.model_copy(update={"initial_soc_pct": soc}),
                "generator": config.generator.model_copy(
                    update={"initial_fuel_l": refill_l if refill_l is not None else fuel}
                ),
            }
        )
        sim = SimulatedSite(config, seed=seg_start.day, start=seg_start, step_s=300.0)
        if running:
            await sim.execute(DeviceCommand(kind="generator", on=True))
        t = seg_start
        while t < seg_end:
            t += POLL
            day = (t - START) // timedelta(days=1)
            readings = await sim.poll(t)
            last_poll[t] = readings
            for r in readings:
                times, values = columns[(r.metric, r.device)]
                times.append(t)
                values.append(r.value)
            totals = sim.totals
            burned_t.append(t)
            burned_l.append(offset_l + totals.fuel_burned_l)
            gen_wh.append(offset_wh + totals.generator_wh)
            state = sim.state
            assert state.soc_pct is not None
            heavy = day == HEAVY_DAY
            for miner in ("miner-1", "miner-2"):
                if state.loads_on[miner] != heavy:
                    await sim.execute(DeviceCommand(kind="set_load", target=miner, on=heavy))
            want = heavy or (state.generator_running and state.soc_pct < 85.0)
            want = want or state.soc_pct < 30.0
            if want != state.generator_running:
                await sim.execute(DeviceCommand(kind="generator", on=want))
        end_state = sim.state
        assert end_state.soc_pct is not None and end_state.fuel_l is not None
        soc, fuel, running = end_state.soc_pct, end_state.fuel_l, end_state.generator_running
        offset_l += sim.totals.fuel_burned_l
        offset_wh += sim.totals.generator_wh
    series = {
        k: pd.Series(v, index=pd.DatetimeIndex(t), dtype="float64") for k, (t, v) in columns.items()
    }
    # Hourly means labelled by the hour's start, like the rollups (date_trunc).
    hourly = {k: s.resample("1h").mean().dropna() for k, s in series.items()}
    index = pd.DatetimeIndex(burned_t)
    return Synthetic(
        site=farm(),
        readings=series,
        hourly=hourly,
        fuel_burned_l=pd.Series(burned_l, index=index),
        generator_wh=pd.Series(gen_wh, index=index),
        last_poll=last_poll,
    )


@pytest.fixture(scope="module")
def synthetic() -> Synthetic:
    return asyncio.run(_simulate())


def ctx(
    syn: Synthetic,
    now: datetime,
    *,
    thresholds: AlertThresholds | None = None,
    open_alerts: dict[str, Severity] | None = None,
    history: History | bool | None = True,
    state: SiteState | None = None,
) -> RuleContext:
    hist = syn.history(now) if history is True else history or None
    return RuleContext(
        site=syn.site,
        state=state if state is not None else syn.state(now),
        now=now,
        thresholds=thresholds or syn.site.alerts,
        open_alerts=open_alerts or {},
        history=hist,
    )


def local_day(n: int, hour: float = 0.0) -> datetime:
    return START + timedelta(days=n, hours=hour)


def without(history: History, *metrics: str) -> History:
    """``history`` as a site that does not report ``metrics`` would have it."""
    return History(
        hourly={k: s for k, s in history.hourly.items() if k[0] not in metrics},
        raw={k: s for k, s in history.raw.items() if k[0] not in metrics},
    )


# --- the synthetic scenario itself -----------------------------------------------------------


def test_scenario_has_the_refill_heavy_day_and_degradation(synthetic: Synthetic) -> None:
    """Sanity of the SYNTHETIC history the rules are tested on."""
    level = synthetic.readings[("generator_fuel_l", "simulator")]
    jump = level.diff().max()
    assert jump > 100.0  # the refill
    assert level.diff().idxmax() == REFILL_AT + POLL
    heavy = synthetic.burned_between(local_day(HEAVY_DAY), local_day(HEAVY_DAY + 1))
    normal = synthetic.burned_between(local_day(2), local_day(9)) / 7
    assert heavy > 25.0 > 3 * normal
    assert level.min() > 5.0  # never ran dry
    week = timedelta(days=7)
    healthy = synthetic.burned_between(local_day(14), local_day(21)) / (
        synthetic.energy_kwh_between(local_day(14), local_day(21))
    )
    degraded = synthetic.burned_between(local_day(35), END) / (
        synthetic.energy_kwh_between(END - week, END)
    )
    assert degraded / healthy == pytest.approx(DEGRADATION, abs=0.06)


# --- fuel burned from history -----------------------------------------------------------------


def test_daily_burn_matches_the_simulator_and_a_refill_is_not_burn(synthetic: Synthetic) -> None:
    site = synthetic.site
    history = synthetic.history(END)

    def daily(h: History) -> pd.Series:
        return daily_fuel_burned_l(hourly_fuel_burned_l(h, site), site.tz)

    by_level = daily(without(history, "generator_fuel_rate_lph"))
    by_rate = daily(without(history, "generator_fuel_l"))
    both = daily(history)
    for n in (3, HEAVY_DAY, 16, 30):
        day: date = local_day(n).astimezone(site.tz).date()
        truth = synthetic.burned_between(local_day(n), local_day(n + 1))
        # The level's hourly means lag half an hour at the day's edges; the rate is exact.
        assert by_level[day] == pytest.approx(truth, abs=1.5), n
        assert by_rate[day] == pytest.approx(truth, abs=0.3), n
        assert both[day] == pytest.approx(truth, abs=1.5), n
    # A level sensor added on day 20: the weeks before come from the burn rate.
    late = History(
        hourly={
            k: s[s.index >= local_day(20)] if k[0] == "generator_fuel_l" else s
            for k, s in history.hourly.items()
        }
    )
    mixed = daily(late)
    for n in (3, HEAVY_DAY, 30):
        truth = synthetic.burned_between(local_day(n), local_day(n + 1))
        assert mixed[local_day(n).astimezone(site.tz).date()] == pytest.approx(truth, abs=1.5)
    # Over all six weeks the level alone finds the burn; the 140 L refill adds nothing.
    total_truth = synthetic.burned_between(START, END)
    assert float(by_level.sum()) == pytest.approx(total_truth, rel=0.02)


# --- fuel_use_high ---------------------------------------------------------------------------


def test_fuel_use_high_on_the_heavy_day(synthetic: Synthetic) -> None:
    thresholds = AlertThresholds(fuel_l_per_day_max=20.0)
    now = local_day(HEAVY_DAY, 23)
    [verdict] = fuel_use_high(ctx(synthetic, now, thresholds=thresholds))
    truth = synthetic.burned_between(local_day(HEAVY_DAY), now)
    assert verdict.active is True
    assert verdict.severity == "warning"
    assert verdict.category == "generator"
    assert verdict.value == pytest.approx(truth, abs=1.0)
    assert f"{verdict.value:.1f} L today" in verdict.summary
    assert "limit 20 L/day" in verdict.summary
    assert verdict.proposed_action is None


def test_fuel_use_high_inactive_on_normal_days_and_resolves_at_midnight(
    synthetic: Synthetic,
) -> None:
    thresholds = AlertThresholds(fuel_l_per_day_max=20.0)
    for now in (local_day(5, 23), local_day(HEAVY_DAY + 1, 2)):
        [verdict] = fuel_use_high(
            ctx(synthetic, now, thresholds=thresholds, open_alerts={"fuel_use_high": "warning"})
        )
        assert verdict.active is False
        assert verdict.value is not None and verdict.value < 20.0


def test_fuel_use_high_refill_day_is_not_counted_as_burn(synthetic: Synthetic) -> None:
    """The tank jumps by ~140 L on day 16; only the few litres burned count."""
    now = local_day(16, 23)
    level_only = synthetic.history(now, drop=("generator_fuel_rate_lph",))
    [verdict] = fuel_use_high(ctx(synthetic, now, history=level_only))
    truth = synthetic.burned_between(local_day(16), now)
    assert verdict.active is False
    assert verdict.value == pytest.approx(truth, abs=1.5)


def test_fuel_use_high_without_fuel_data_or_history_gives_no_verdict(
    synthetic: Synthetic,
) -> None:
    now = local_day(HEAVY_DAY, 23)
    no_fuel = synthetic.history(
        now, drop=("generator_fuel_l", "generator_fuel_rate_lph", "fuel_level_pct")
    )
    assert fuel_use_high(ctx(synthetic, now, history=no_fuel)) == []
    assert fuel_use_high(ctx(synthetic, now, history=None)) == []


# --- fuel_efficiency_declining ---------------------------------------------------------------


def test_weekly_efficiency_matches_the_simulator(synthetic: Synthetic) -> None:
    weeks = weekly_efficiency(synthetic.history(END), synthetic.site, now=END, weeks=6)
    assert [w.start for w in weeks] == [local_day(7 * k) for k in range(6)]
    for w in weeks:
        fuel = synthetic.burned_between(w.start, w.end)
        energy = synthetic.energy_kwh_between(w.start, w.end)
        assert w.fuel_l == pytest.approx(fuel, rel=0.02, abs=0.5)
        assert w.energy_kwh == pytest.approx(energy, rel=0.01)
        assert w.l_per_kwh == pytest.approx(fuel / energy, rel=0.03)
        assert w.run_h > 5


def test_efficiency_decline_fires_for_the_degraded_generator(synthetic: Synthetic) -> None:
    [verdict] = fuel_efficiency_declining(ctx(synthetic, END))
    assert verdict.active is True
    assert verdict.severity == "warning"
    # The curve is 25 % worse; the load on it varies a little from week to week.
    assert verdict.value == pytest.approx(25.0, abs=6.0)
    assert "L/kWh" in verdict.summary
    assert verdict.summary.count("week to ") == 6  # every week's figures
    assert len(verdict.evidence) == 6


def test_efficiency_steady_on_the_healthy_generator(synthetic: Synthetic) -> None:
    [verdict] = fuel_efficiency_declining(ctx(synthetic, DEGRADED_FROM))
    assert verdict.active is False
    assert verdict.value is not None and abs(verdict.value) < 8.0


def test_efficiency_hysteresis(synthetic: Synthetic) -> None:
    [first] = fuel_efficiency_declining(ctx(synthetic, END))
    assert first.value is not None
    # A threshold just above the decline: a new alert does not fire, an open one holds.
    thresholds = AlertThresholds(fuel_efficiency_decline_pct=first.value + 3.0)
    [fresh] = fuel_efficiency_declining(ctx(synthetic, END, thresholds=thresholds))
    assert fresh.active is False
    [held] = fuel_efficiency_declining(
        ctx(
            synthetic,
            END,
            thresholds=thresholds,
            open_alerts={"fuel_efficiency_declining": "warning"},
        )
    )
    assert held.active is True


def test_efficiency_needs_enough_running_weeks(synthetic: Synthetic) -> None:
    # Only the last two weeks of history: too few earlier weeks for a median.
    short = synthetic.history(END, since=END - timedelta(days=14))
    assert fuel_efficiency_declining(ctx(synthetic, END, history=short)) == []
    # The generator barely ran in the last week (a copy of the history with the last
    # week's running cut to one hour): no judgement.
    history = synthetic.history(END)
    last_week = END - timedelta(days=7)
    hourly = dict(history.hourly)
    for metric in ("generator_running", "generator_power_w", "generator_fuel_rate_lph"):
        key = (metric, "simulator")
        s = hourly[key].copy()
        mask = s.index >= last_week + timedelta(hours=1)
        s[mask] = 0.0
        hourly[key] = s
    level = hourly[("generator_fuel_l", "simulator")].copy()
    level[level.index >= last_week] = level[level.index >= last_week].iloc[0]
    hourly[("generator_fuel_l", "simulator")] = level
    idle = History(hourly=hourly)
    assert fuel_efficiency_declining(ctx(synthetic, END, history=idle)) == []
    assert fuel_efficiency_declining(ctx(synthetic, END, history=None)) == []


# --- fuel_tank_low -------------------------------------------------------------------------


def test_tank_low_before_the_refill_and_clear_after(synthetic: Synthetic) -> None:
    before = REFILL_AT - timedelta(hours=1)
    [low] = fuel_tank_low(ctx(synthetic, before))
    fuel_now = synthetic.readings[("generator_fuel_l", "simulator")].asof(pd.Timestamp(before))
    per_day = synthetic.burned_between(before - timedelta(days=7), before) / 7
    assert low.active is True
    assert low.severity == "warning"
    assert low.value is not None and low.value < 3.0
    assert low.value == pytest.approx(fuel_now / per_day, rel=0.1)
    assert "days of fuel left" in low.summary and "average of the last 7.0 days" in low.summary
    after = REFILL_AT + timedelta(hours=2)
    [refilled] = fuel_tank_low(ctx(synthetic, after, open_alerts={"fuel_tank_low": "warning"}))
    assert refilled.active is False
    assert refilled.value is not None and refilled.value > 15


def test_tank_low_hysteresis_and_critical(synthetic: Synthetic) -> None:
    before = REFILL_AT - timedelta(hours=1)
    [low] = fuel_tank_low(ctx(synthetic, before))
    assert low.value is not None
    days = low.value
    # Threshold just below the estimate: a new alert does not fire, an open one holds.
    thresholds = AlertThresholds(fuel_low_days=days - 0.3)
    [fresh] = fuel_tank_low(ctx(synthetic, before, thresholds=thresholds))
    assert fresh.active is False
    [held] = fuel_tank_low(
        ctx(synthetic, before, thresholds=thresholds, open_alerts={"fuel_tank_low": "warning"})
    )
    assert held.active is True
    # Under a day left: critical. The same history with a nearly empty tank.
    state = synthetic.state(before)
    state.update(
        Reading(site="farm", metric="generator_fuel_l", time=before, value=2.0, device="simulator")
    )
    [critical] = fuel_tank_low(ctx(synthetic, before, state=state))
    assert critical.severity == "critical"
    assert critical.value is not None and critical.value < 1.0


def test_tank_low_falls_back_to_the_current_rate(synthetic: Synthetic) -> None:
    now = local_day(HEAVY_DAY, 12)
    state = SiteState("farm")
    for metric, value in (("generator_fuel_l", 20.0), ("generator_fuel_rate_lph", 2.0)):
        state.update(Reading(site="farm", metric=metric, time=now, value=value))
    [verdict] = fuel_tank_low(ctx(synthetic, now, history=None, state=state))
    assert verdict.active is True
    assert verdict.value == pytest.approx(20.0 / (2.0 * DEFAULT_RUN_HOURS_PER_DAY))
    assert "(assumed)" in verdict.summary
    # Stopped generator and no history: nothing to estimate from.
    stopped = SiteState("farm")
    stopped.update(Reading(site="farm", metric="generator_fuel_l", time=now, value=20.0))
    assert fuel_tank_low(ctx(synthetic, now, history=None, state=stopped)) == []


def test_tank_low_without_a_fuel_level_gives_no_verdict(synthetic: Synthetic) -> None:
    now = REFILL_AT - timedelta(hours=1)
    assert fuel_tank_low(ctx(synthetic, now, state=SiteState("farm"))) == []


def test_tank_low_reads_fuel_level_pct(synthetic: Synthetic) -> None:
    now = REFILL_AT - timedelta(hours=1)
    state = SiteState("farm")
    state.update(Reading(site="farm", metric="fuel_level_pct", time=now, value=10.0))
    [verdict] = fuel_tank_low(ctx(synthetic, now, state=state))
    assert "15 L of 150 L" in verdict.summary


# --- generator_service_due ---------------------------------------------------------------


def service(hours: float | None, **thresholds: float | None) -> list[Verdict]:
    state = SiteState("farm")
    now = local_day(1)
    if hours is not None:
        state.update(Reading(site="farm", metric="generator_run_hours_h", time=now, value=hours))
    site = farm()
    return generator_service_due(
        RuleContext(
            site=site,
            state=state,
            now=now,
            thresholds=AlertThresholds(**thresholds),  # type: ignore[arg-type]
        )
    )


def test_service_due_overdue_soon_and_fine() -> None:
    [overdue] = service(1300.0, generator_last_service_h=1000.0, generator_service_interval_h=250)
    assert overdue.active is True and overdue.severity == "warning"
    assert overdue.value == pytest.approx(300.0)
    assert "50 h over" in overdue.summary
    [soon] = service(1230.0, generator_last_service_h=1000.0, generator_service_interval_h=250)
    assert soon.active is True and soon.severity == "info"
    assert "20 h left" in soon.summary
    [fine] = service(1200.0, generator_last_service_h=1000.0, generator_service_interval_h=250)
    assert fine.active is False and fine.value == pytest.approx(200.0)


def test_service_due_missing_data_gives_no_verdict() -> None:
    assert service(None) == []
    assert service(500.0, generator_service_interval_h=None) == []
    # The counter is below the recorded service (a replaced counter): no judgement.
    assert service(100.0, generator_last_service_h=400.0) == []


def test_rules_exported() -> None:
    names = {spec.name: spec.schedule for spec in RULES}
    assert names == {
        "fuel_use_high": "periodic",
        "fuel_efficiency_declining": "periodic",
        "fuel_tank_low": "periodic",
        "generator_service_due": "batch",
    }
    assert all(spec.category == "generator" for spec in RULES)
