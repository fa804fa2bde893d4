"""SOC projection, miner / grid-charge / generator plans, fuel forecast and the forecast chart."""

from __future__ import annotations

from datetime import time
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from tools.devices.simulator import fuel_rate_lph
from tools.forecast import plans
from tools.forecast.battery import project_soc, step_off_grid
from tools.forecast.charts import PNG_SIGNATURE, forecast_chart_png
from tools.forecast.fuel import fuel_forecast
from tools.forecast.plans import (
    DEFAULT_MIN_RUN_H,
    generator_guard_w,
    generator_start_w,
    generator_step_guard_w,
    miner_floor_guard,
    miners_carried_on_full_battery,
    miners_kept_by_headroom,
    miners_kept_by_outlook,
    miners_on_full_battery,
    miners_on_spill,
    plan_generator,
    plan_grid_charge,
    plan_miners,
    refills_after,
    rule_generator_run,
)
from tools.site import (
    Battery,
    Costs,
    Generator,
    Grid,
    Location,
    Site,
    SwitchableLoad,
    TariffPeriod,
)

GOLDEN = Location(latitude=39.742, longitude=-105.179, altitude_m=1828)
MINERS = [SwitchableLoad(name=f"miner-{i}", kind="miner", power_kw=1.45) for i in (1, 2, 3)]


def make_site(
    *,
    grid: bool = False,
    capacity_kwh: float = 14.3,
    min_soc_pct: float = 20.0,
    generator: Generator | None = None,
    costs: Costs | None = None,
) -> Site:
    return Site(
        name="test",
        timezone="UTC",
        location=GOLDEN,
        battery=Battery(
            capacity_kwh=capacity_kwh,
            min_soc_pct=min_soc_pct,
            max_charge_kw=7.0,
            max_discharge_kw=7.0,
            round_trip_efficiency_pct=92.0,
        ),
        loads=MINERS,
        generator=generator,
        grid=Grid(present=grid, max_charge_kw=3.0),
        costs=costs or Costs(),
    )


def hours(n: int, start: str = "2024-06-21 00:00") -> pd.DatetimeIndex:
    return pd.date_range(start, periods=n, freq="h", tz="UTC")


def bell_pv_w(peak_w: float, n: int = 24) -> np.ndarray:
    """A clear-day shape: zero at night, a sine from 06:00 to 18:00 (hour mid-points)."""
    h = np.arange(n) % 24 + 0.5
    return np.where((h > 6) & (h < 18), peak_w * np.sin(np.pi * (h - 6) / 12), 0.0)


# --------------------------------------------------------------------------- projection


# Property tests draw the same examples on every run (``derandomize``) and keep no example
# database: a failure they find becomes a named regression test and an ``@example``, so a
# stale ``.hypothesis/`` folder never decides whether the suite passes.
PROPERTY = settings(
    max_examples=50,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)


@PROPERTY
@given(
    soc=st.floats(0, 100),
    pv=st.lists(st.floats(0, 12_000), min_size=1, max_size=24),
    load=st.floats(0, 9_000),
    grid=st.booleans(),
)
def test_projection_conserves_energy_and_respects_limits(
    soc: float, pv: list[float], load: float, grid: bool
) -> None:
    site = make_site(grid=grid)
    n = len(pv)
    p = project_soc(site, soc_start_pct=soc, pv_w=pv, load_w=[load] * n, times=hours(n))
    eff = np.sqrt(0.92)
    capacity_wh = 14_300.0
    # stored energy: charge * eff - discharge / eff == delta SOC * capacity
    delta_wh = (p.end_soc_pct - soc) / 100.0 * capacity_wh
    assert p.charge_wh * eff - p.discharge_wh / eff == pytest.approx(delta_wh, abs=1e-6)
    # the bus balances every hour: pv + grid - battery - curtailed == load - unserved
    balance = np.asarray(pv) + p.grid_w - p.battery_w - p.curtailed_w - (load - p.unserved_w)
    assert_allclose(balance, 0.0, atol=1e-6)
    assert (p.battery_w <= 7000 + 1e-6).all() and (p.battery_w >= -7000 - 1e-6).all()
    assert (p.soc_pct <= 100.0).all()
    # the floor holds once above it; below it the battery never discharges
    if soc >= 20.0:
        assert p.min_soc_pct >= 20.0 - 1e-9
    assert not ((p.soc_pct.to_numpy()[:-1] < 20.0) & (p.battery_w.to_numpy() < 0)).any()
    if grid:
        assert p.unserved_wh == 0 and p.curtailed_wh == 0
    else:
        assert p.grid_import_wh == 0


def test_projection_floor_fill_and_needed_energy() -> None:
    site = make_site()  # off grid, 14.3 kWh, floor 20 %
    t = hours(6)
    # 3 h of 5 kW PV over a 1 kW load, then 3 h of 4 kW load in the dark
    p = project_soc(
        site,
        soc_start_pct=50.0,
        pv_w=pd.Series([5000.0] * 3 + [0.0] * 3, index=t),
        load_w=pd.Series([1000.0] * 3 + [4000.0] * 3, index=t),
    )
    eff = np.sqrt(0.92)
    # 50 % + 2 * 4 kWh * eff is 104 %: full by the end of the second hour
    assert p.fills_at == t[2]
    assert p.curtailed_wh > 0
    # from 100 % the battery gives 80 % * 14.3 kWh * eff at the bus, then hits the floor
    available_wh = 0.8 * 14_300 * eff
    assert p.reaches_floor_at == t[5] + pd.Timedelta(hours=1)
    assert p.unserved_wh == pytest.approx(max(0.0, 12_000 - available_wh), abs=1e-6)
    assert p.energy_needed_to_stay_above_floor_wh == pytest.approx(p.unserved_wh, abs=1e-6)
    on_grid = project_soc(
        make_site(grid=True),
        soc_start_pct=50.0,
        pv_w=[5000.0] * 3 + [0.0] * 3,
        load_w=[1000.0] * 3 + [4000.0] * 3,
        times=t,
    )
    assert on_grid.unserved_wh == 0
    assert on_grid.grid_import_wh == pytest.approx(p.unserved_wh, abs=1e-6)


# --------------------------------------------------------------------------- miners


profiles = st.tuples(
    st.integers(4, 10),  # hours
    st.floats(0, 100),  # start SOC
    st.lists(st.floats(0, 9_000), min_size=10, max_size=10),  # PV
    st.lists(st.floats(100, 3_000), min_size=10, max_size=10),  # base load
    st.booleans(),  # grid
    st.sampled_from([4.0, 14.3]),  # capacity: small batteries hit the floor more often
)


# HiGHS "Status 4: Solve error" (off grid, 4 kWh at 0 %), found by this property test.
SOLVE_ERROR_CASE = (
    9,
    0.0,
    [0.0, 7291.0, 712.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0],
    [100.0] * 6 + [101.0, 100.0, 100.0, 100.0],
    False,
    4.0,
)


@PROPERTY
@given(profile=profiles)
@example(profile=SOLVE_ERROR_CASE)
def test_miner_plan_never_breaks_the_minimum_and_beats_a_feasible_rule(
    profile: tuple[int, float, list[float], list[float], bool, float],
) -> None:
    n, soc, pv, load, grid, capacity = profile
    site = make_site(grid=grid, capacity_kwh=capacity, min_soc_pct=25.0)
    plan = plan_miners(site, soc_start_pct=soc, pv_w=pv[:n], load_w=load[:n], times=hours(n))
    floor = 25.0
    own = plan.plan.projection
    # the optimiser's own SOC, and the plan re-simulated, stay within floor..100 %
    if soc >= floor:
        assert plan.optimiser_soc_pct.min() >= floor - 1e-4
        assert own.min_soc_pct >= floor - 1e-9
    assert plan.optimiser_soc_pct.max() <= 100.0 + 1e-6
    # the miners never need energy from outside (grid or unserved) beyond the base load's own
    assert own.outside_wh <= plan.baseline_outside_wh + 1.0
    assert not plan.plan.breaches_floor
    assert own.end_soc_pct >= plan.end_soc_target_pct - 1e-3
    rule = plan.rule
    rule_ok = not rule.breaches_floor and rule.projection.end_soc_pct >= plan.end_soc_target_pct
    if rule_ok:
        assert plan.plan.miner_hours >= rule.miner_hours


def test_miner_plan_off_grid_4_kwh_at_zero_soc_regression() -> None:
    """HiGHS failed with "Status 4: Solve error" here; the plan must simply work."""
    n, soc, pv, load, _grid, capacity = SOLVE_ERROR_CASE
    site = make_site(grid=False, capacity_kwh=capacity, min_soc_pct=25.0)
    plan = plan_miners(site, soc_start_pct=soc, pv_w=pv[:n], load_w=load[:n], times=hours(n))
    assert plan.fallback == ""  # the optimiser itself answered (presolve off on retry)
    assert not plan.plan.breaches_floor
    assert plan.plan.miner_hours >= 1  # 7.3 kW of sun in hour 1 carries a miner or more
    assert "The plan runs" in plan.summary


class _FailingSolver:
    """``scipy.optimize.milp`` as it answers when HiGHS breaks down."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, **_kw: object) -> SimpleNamespace:
        self.calls += 1
        return SimpleNamespace(x=None, status=4, message="(HiGHS Status 4: Solve error)")


def test_a_failed_miner_solve_gives_a_safe_schedule_and_says_why(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    solver = _FailingSolver()
    monkeypatch.setattr(plans, "milp", solver)
    site = make_site(grid=False, capacity_kwh=14.3, min_soc_pct=25.0)
    pv = bell_pv_w(9000.0)
    plan = plan_miners(site, soc_start_pct=40.0, pv_w=pv, load_w=[600.0] * 24, times=hours(24))
    assert solver.calls == 2  # the plain retry failed as well
    assert plan.fallback == "HiGHS Status 4: Solve error"
    assert plan.summary.startswith(
        "The optimiser could not make a plan (HiGHS Status 4: Solve error), so this is a "
        "cautious schedule"
    )
    assert not plan.plan.breaches_floor
    assert plan.plan.projection.min_soc_pct >= 25.0 - 1e-9
    assert plan.plan.projection.end_soc_pct >= plan.end_soc_target_pct - 1e-6
    assert plan.plan.miner_hours > 0  # a sunny day still runs miners at noon
    noon = plan.plan.miners_on.iloc[12]
    assert noon == 3
    # at 0 % in the dark nothing can run, and that is an answer, not an error
    dark = plan_miners(site, soc_start_pct=0.0, pv_w=[0.0] * 6, load_w=[300.0] * 6, times=hours(6))
    assert dark.fallback and dark.plan.miner_hours == 0 and not dark.plan.breaches_floor


def test_a_failed_generator_solve_falls_back_to_the_simple_rule(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(plans, "milp", _FailingSolver())
    site = make_site(generator=Generator(rated_kw=5.0, tank_l=100.0))
    plan = plan_generator(
        site, soc_start_pct=30.0, pv_w=[0.0] * 12, load_w=[1500.0] * 12, times=hours(12)
    )
    assert plan.fallback == "HiGHS Status 4: Solve error"
    assert plan.reason.startswith("The optimiser could not make a plan (HiGHS Status 4")
    assert "simple rule" in plan.reason
    assert_allclose(plan.generator_w.to_numpy(), plan.rule.generator_w.to_numpy())
    assert plan.hours == plan.rule.hours > 0 and plan.feasible


def test_simple_rule_floor_breach_is_detected() -> None:
    # Battery at the floor in the morning; 1.5 kW of surplus makes the rule run two
    # 1.45 kW miners on top of the load: 2.9 kW against 1.5 kW of surplus.
    site = make_site()
    n = 6
    pv = [2500.0] * n
    load = [1000.0] * n
    plan = plan_miners(site, soc_start_pct=20.0, pv_w=pv, load_w=load, times=hours(n))
    assert plan.rule.miners_on.tolist() == [2] * n
    assert plan.rule.breaches_floor
    assert plan.rule.projection.unserved_wh > 0
    assert plan.rule.min_soc_pct < 20.0
    assert "breaches the 20 % minimum" in plan.summary
    # the plan runs one miner (1.45 kW fits in 1.5 kW) and keeps the floor
    assert plan.plan.miner_hours == n
    assert not plan.plan.breaches_floor
    assert plan.plan.projection.unserved_wh == 0


def test_miner_plan_on_a_sunny_day_prefers_surplus_hours() -> None:
    site = make_site()
    pv = bell_pv_w(7000.0)
    load = np.full(24, 600.0)
    plan = plan_miners(site, soc_start_pct=60.0, pv_w=pv, load_w=load, times=hours(24))
    assert plan.plan.miner_hours >= plan.rule.miner_hours
    assert plan.plan.projection.min_soc_pct >= 20.0 - 1e-9
    on = plan.plan.miners_on.to_numpy()
    # the miners run while the sun is up
    assert on[12] == 3
    assert "miner-hours vs" in plan.summary


# --------------------------------------------------------------------------- grid charge


def test_grid_charge_yes_when_cloudy_no_when_sunny() -> None:
    costs = Costs(
        grid_price_per_kwh=0.25,
        grid_periods=[TariffPeriod(start="00:00", end="06:00", price_per_kwh=0.07)],
        cheap_grid_price_per_kwh=0.10,
    )
    site = make_site(grid=True, costs=costs)
    t = hours(24, "2024-06-21 00:00")  # now = midnight; window 00:00-06:00 UTC
    load = np.full(24, 300.0)
    load[17:22] = 1200.0  # the evening
    cloudy = plan_grid_charge(
        site,
        soc_now_pct=30.0,
        pv_p10_w=bell_pv_w(700.0),
        pv_p50_w=bell_pv_w(1500.0),
        load_w=load,
        times=t,
    )
    assert cloudy.charge
    assert 0.5 < cloudy.energy_kwh <= 18.0  # at most 3 kW for 6 h
    assert cloudy.window_start == t[0] and cloudy.window_end == t[6]
    assert cloudy.price_per_kwh == 0.07
    assert cloudy.shortfall_after_kwh == 0
    assert "Charge" in cloudy.reason and "00:00–06:00" in cloudy.reason and "0.07" in cloudy.reason
    # with that charge the P10 projection no longer leans on the grid to hold the floor
    assert cloudy.projection.floor_shortfall_w.to_numpy()[6:].sum() <= 1.0
    # one kWh less would not do
    less = project_soc(
        site,
        soc_start_pct=30.0,
        pv_w=bell_pv_w(700.0),
        load_w=load,
        grid_charge_w=np.r_[np.full(6, (cloudy.energy_kwh - 1.0) * 1000 / 6), np.zeros(18)],
        times=t,
    )
    assert less.floor_shortfall_w.to_numpy()[6:].sum() > 1.0

    sunny = plan_grid_charge(
        site,
        soc_now_pct=45.0,  # enough to carry the night's 300 W to sunrise
        pv_p10_w=bell_pv_w(6000.0),
        pv_p50_w=bell_pv_w(7000.0),
        load_w=load,
        times=t,
    )
    assert not sunny.charge
    assert sunny.energy_kwh == 0
    assert "No grid charge needed" in sunny.reason


def test_grid_charge_off_grid_says_no() -> None:
    plan = plan_grid_charge(
        make_site(),
        soc_now_pct=30.0,
        pv_p10_w=np.zeros(6),
        pv_p50_w=np.zeros(6),
        load_w=np.full(6, 1000.0),
        cheap_window=(time(0, 0), time(6, 0)),
        times=hours(6),
    )
    assert not plan.charge and "no grid" in plan.reason
    assert plan.energy_kwh == 0


# --------------------------------------------------------------------------- generator


def test_generator_plan_holds_the_floor_with_less_fuel_than_flat_out() -> None:
    site = make_site(generator=Generator(rated_kw=8.0, tank_l=120))
    n = 24
    pv = bell_pv_w(1500.0)  # a dark winter day
    load = np.full(n, 1200.0)
    plan = plan_generator(site, soc_start_pct=40.0, pv_w=pv, load_w=load, times=hours(n))
    assert plan.hours > 0
    assert plan.projection.min_soc_pct >= 20.0 - 1e-6
    assert plan.unserved_wh == pytest.approx(0.0, abs=1e-3)
    assert plan.fuel_l < plan.flat_out_fuel_l
    assert plan.curve_synthetic and "synthetic" in plan.reason
    # the output stays between the minimum load and the rating when on
    running = plan.generator_w.to_numpy()[plan.generator_w.to_numpy() > 0]
    assert (running >= 0.3 * 8000 - 1e-3).all() and (running <= 8000 + 1e-3).all()
    # litres are read back from the curve
    assert site.generator is not None
    expected = sum(fuel_rate_lph(site.generator.curve, float(w) / 8000) for w in running)
    assert plan.fuel_l == pytest.approx(expected)


def test_generator_plan_equals_brute_force_on_a_tiny_case() -> None:
    """Four hours, every on/off pattern with greedy output: the MILP is no worse."""
    site = make_site(capacity_kwh=4.0, generator=Generator(rated_kw=4.0, tank_l=50))
    n = 4
    pv = np.zeros(n)
    load = np.array([1500.0, 2500.0, 1000.0, 2000.0])
    plan = plan_generator(
        site, soc_start_pct=40.0, pv_w=pv, load_w=load, times=hours(n), min_run_h=1
    )
    best = np.inf
    gen = site.generator
    assert gen is not None
    for pattern in range(2**n):
        on = [(pattern >> t) & 1 for t in range(n)]
        # each on hour: eight output levels from 30 % to 100 % of the rating
        levels = np.linspace(0.3, 1.0, 8) * 4000.0
        grids = np.meshgrid(*[levels if o else np.array([0.0]) for o in on])
        for combo in zip(*(g.ravel() for g in grids), strict=True):
            out = np.array(combo)
            proj = project_soc(
                site, soc_start_pct=40.0, pv_w=pv, load_w=load, generator_w=out, times=hours(n)
            )
            if proj.unserved_wh > 1e-6:
                continue
            litres = sum(fuel_rate_lph(gen.curve, w / 4000.0) for w in out if w > 0)
            best = min(best, litres)
    assert plan.unserved_wh == pytest.approx(0.0, abs=1e-3)
    # the MILP works on a straight-line fit of the curve: within 3 % of the true optimum
    assert plan.fuel_l <= best * 1.03


def _run_lengths(on: np.ndarray) -> list[tuple[int, int]]:
    """(start index, length) of each run of True."""
    out: list[tuple[int, int]] = []
    t = 0
    while t < len(on):
        if on[t]:
            u = t
            while u < len(on) and on[u]:
                u += 1
            out.append((t, u - t))
            t = u
        else:
            t += 1
    return out


@pytest.mark.parametrize("seed", range(6))
def test_generator_plan_holds_the_floor_with_less_fuel_than_the_rule(seed: int) -> None:
    rng = np.random.default_rng(seed)
    site = make_site(generator=Generator(rated_kw=6.0, tank_l=120))
    n = 48
    pv = np.concatenate([bell_pv_w(rng.uniform(500, 6000)), bell_pv_w(rng.uniform(500, 6000))])
    load = rng.uniform(600.0, 2500.0, n)
    soc0 = float(rng.uniform(22.0, 60.0))
    plan = plan_generator(site, soc_start_pct=soc0, pv_w=pv, load_w=load, times=hours(n))
    assert plan.feasible, plan.reason
    # the floor holds without cutting load (the projection clamps at the floor and
    # counts what it could not serve)
    assert plan.unserved_wh == pytest.approx(0.0, abs=1.0)
    assert plan.projection.min_soc_pct >= 20.0 - 1e-6
    assert plan.projection.energy_needed_to_stay_above_floor_wh == pytest.approx(0.0, abs=1.0)
    rule = rule_generator_run(site, soc_start_pct=soc0, pv_w=pv, load_w=load, times=hours(n))
    assert plan.rule.fuel_l == pytest.approx(rule.fuel_l)
    assert plan.fuel_l <= rule.fuel_l + 1e-6
    if rule.hours:
        assert plan.fuel_l < rule.fuel_l  # charging to 90 % flat out is never the cheapest
    # runs last at least the minimum (a run cut by the horizon's end excepted)
    on = plan.generator_w.to_numpy() > 0
    assert plan.min_run_h == DEFAULT_MIN_RUN_H
    for start, length in _run_lengths(on):
        assert length >= DEFAULT_MIN_RUN_H or start + length == n
    assert len(plan.runs) == len(_run_lengths(on))


def test_generator_plan_min_run_time_from_the_site_file() -> None:
    n = 24
    load = np.full(n, 900.0)
    load[20:22] = 6000.0  # a short evening peak
    free = make_site(generator=Generator(rated_kw=8.0, tank_l=120, min_run_h=1))
    long = make_site(generator=Generator(rated_kw=8.0, tank_l=120, min_run_h=4))
    pv = bell_pv_w(2500.0)
    short_plan = plan_generator(free, soc_start_pct=25.0, pv_w=pv, load_w=load, times=hours(n))
    long_plan = plan_generator(long, soc_start_pct=25.0, pv_w=pv, load_w=load, times=hours(n))
    assert long_plan.min_run_h == 4 and short_plan.min_run_h == 1
    for start, length in _run_lengths(long_plan.generator_w.to_numpy() > 0):
        assert length >= 4 or start + length == n
    assert long_plan.feasible and short_plan.feasible
    # a longer minimum run can only cost fuel
    assert short_plan.fuel_l <= long_plan.fuel_l + 1e-6


def test_generator_plan_says_clearly_when_the_floor_cannot_hold() -> None:
    site = make_site(generator=Generator(rated_kw=4.0, tank_l=120))
    n = 24
    load = np.full(n, 7000.0)  # 4 kW generator + 14 kWh battery cannot carry 7 kW all day
    plan = plan_generator(site, soc_start_pct=50.0, pv_w=np.zeros(n), load_w=load, times=hours(n))
    assert not plan.feasible
    assert plan.shortfall_kwh > 10.0
    assert plan.reason.startswith("Cannot hold 20 %")
    assert "short" in plan.reason
    # best effort: the generator runs (almost) all day
    assert plan.hours >= 20


def test_no_generator_needed_on_a_sunny_day() -> None:
    site = make_site(generator=Generator(rated_kw=6.0, tank_l=120, fuel_curve=[(0, 0.5), (1, 2)]))
    n = 24
    plan = plan_generator(
        site, soc_start_pct=80.0, pv_w=bell_pv_w(7000.0), load_w=np.full(n, 400.0), times=hours(n)
    )
    assert plan.feasible and plan.hours == 0 and plan.fuel_l == 0.0
    assert plan.reason.startswith("No generator needed")
    assert "synthetic" not in plan.reason


# --------------------------------------------------------------------------- fuel


def test_fuel_forecast_with_the_synthetic_curve_is_labelled() -> None:
    site = make_site(generator=Generator(rated_kw=8.0, tank_l=120, initial_fuel_l=90))
    deficit = np.full(30, 12_000.0)  # 12 kWh a day
    fc = fuel_forecast(site, deficit_wh_per_day=deficit)
    assert fc.curve_synthetic and "synthetic" in fc.curve_label
    rate = fuel_rate_lph(site.generator.curve, 0.75)  # type: ignore[union-attr]
    hours_per_day = 12.0 / 6.0
    assert_allclose(fc.litres_per_day, hours_per_day * rate)
    assert fc.total_l == pytest.approx(30 * hours_per_day * rate)
    assert fc.days_of_tank_left == pytest.approx(90 / (hours_per_day * rate))
    own = make_site(
        generator=Generator(rated_kw=8.0, tank_l=120, fuel_curve=[(0.0, 0.5), (1.0, 2.5)])
    )
    labelled = fuel_forecast(own, deficit_wh_per_day=deficit)
    assert not labelled.curve_synthetic and "synthetic" not in labelled.curve_label
    assert fuel_forecast(site, deficit_wh_per_day=np.zeros(30)).days_of_tank_left is None


# --------------------------------------------------------------------------- chart


def test_forecast_chart_is_a_png() -> None:
    t = hours(24)
    pv = bell_pv_w(6000.0)
    p = project_soc(make_site(), soc_start_pct=50, pv_w=pv, load_w=np.full(24, 800.0), times=t)
    png = forecast_chart_png(
        times=t,
        pv_p10_w=pv * 0.5,
        pv_p50_w=pv,
        pv_p90_w=pv * 1.1,
        load_w=np.full(24, 800.0),
        soc_pct=p.soc_pct,
        title="Tomorrow at test",
    )
    assert png.startswith(PNG_SIGNATURE) and len(png) > 5_000


@settings(max_examples=60, deadline=None)
@given(
    soc=st.floats(0.0, 100.0),
    pv=st.floats(0.0, 9000.0),
    load=st.floats(0.0, 9000.0),
    generator=st.floats(0.0, 5000.0),
)
def test_one_hour_step_matches_the_projection(
    soc: float, pv: float, load: float, generator: float
) -> None:
    site = make_site(grid=False)
    proj = project_soc(
        site,
        soc_start_pct=soc,
        pv_w=[pv],
        load_w=[load],
        generator_w=[generator],
        times=hours(1),
        grid_present=False,
    )
    end, cut = step_off_grid(
        site, soc_pct=soc, supply_w=pv + generator, demand_w=load, floor_soc_pct=20.0
    )
    assert end == pytest.approx(proj.end_soc_pct, abs=1e-9)
    assert cut == pytest.approx(proj.unserved_wh, abs=1e-6)


def test_miner_floor_guard_stops_miners_before_the_floor() -> None:
    site = make_site(grid=False, capacity_kwh=10.0, min_soc_pct=20.0)
    units = [1450.0, 1450.0, 1450.0]
    # plenty of battery: nothing is shed
    kept = miner_floor_guard(
        site, soc_pct=80.0, running_w=units, pv_w=0.0, load_w=500.0, keep_soc_pct=25.0
    )
    assert kept == units
    # 4 kWh above the floor at night: all three (4.35 kW + 0.5 kW) would end below
    # 25 %; the guard keeps as many as still end at or above it
    kept = miner_floor_guard(
        site, soc_pct=60.0, running_w=units, pv_w=0.0, load_w=500.0, keep_soc_pct=25.0
    )
    assert 0 < len(kept) < 3
    end, _ = step_off_grid(
        site, soc_pct=60.0, supply_w=0.0, demand_w=500.0 + sum(kept), floor_soc_pct=20.0
    )
    assert end >= 25.0 - 1e-9
    one_more, _ = step_off_grid(
        site, soc_pct=60.0, supply_w=0.0, demand_w=500.0 + sum(kept) + 1450.0, floor_soc_pct=20.0
    )
    assert one_more < 25.0
    # below the reserve already: every miner stops (they could only take it lower)...
    assert (
        miner_floor_guard(
            site, soc_pct=22.0, running_w=units, pv_w=0.0, load_w=300.0, keep_soc_pct=25.0
        )
        == []
    )
    # ...unless the sun carries them: a surplus above their draw keeps them all
    kept = miner_floor_guard(
        site, soc_pct=22.0, running_w=units, pv_w=6000.0, load_w=300.0, keep_soc_pct=25.0
    )
    assert kept == units
    # a full battery in the sun: the miners run on what would be curtailed
    assert (
        miner_floor_guard(
            site, soc_pct=100.0, running_w=units[:1], pv_w=3000.0, load_w=300.0, keep_soc_pct=25.0
        )
        == units[:1]
    )


def _lowest_soc(site: Site, soc_pct: float, pv: np.ndarray, load: np.ndarray) -> float:
    soc, low = soc_pct, soc_pct
    for p, w in zip(pv, load, strict=True):
        soc, _ = step_off_grid(site, soc_pct=soc, supply_w=p, demand_w=w, floor_soc_pct=20.0)
        low = min(low, soc)
    return low


def test_miners_kept_by_headroom_spend_what_a_bad_night_leaves() -> None:
    site = make_site(grid=False, capacity_kwh=10.0, min_soc_pct=20.0)
    units = [1450.0, 1450.0, 1450.0]
    # an afternoon hour with 2 kW of surplus, then a night that never refills the
    # battery: nothing the miners take comes back, so the outlook guard stops them all
    pv = np.concatenate([[2500.0], np.zeros(8)])
    load = np.concatenate([[500.0], np.full(8, 400.0)])
    assert miners_kept_by_outlook(site, soc_pct=70.0, running_w=units, pv_w=pv, load_w=load) == []
    # but at 70 % the night (3.2 kWh) ends far above a 30 % keep level: the headroom
    # guard lets as many run as still leave the night's lowest point at or above it
    kept = miners_kept_by_headroom(
        site, soc_pct=70.0, running_w=units, pv_w=pv, load_w=load, keep_soc_pct=30.0
    )
    assert 0 < len(kept) < 3
    with_them = load.copy()
    with_them[0] += sum(kept)
    assert _lowest_soc(site, 70.0, pv, with_them) >= 30.0 - 0.5
    with_them[0] += units[len(kept)]
    assert _lowest_soc(site, 70.0, pv, with_them) < 30.0 - 0.5
    # a bigger keep level leaves fewer (or none): 60 % is above where the night ends
    # without miners, so they may not take it any lower at all
    assert len(
        miners_kept_by_headroom(
            site, soc_pct=70.0, running_w=units, pv_w=pv, load_w=load, keep_soc_pct=45.0
        )
    ) < len(kept)
    assert (
        miners_kept_by_headroom(
            site, soc_pct=70.0, running_w=units, pv_w=pv, load_w=load, keep_soc_pct=60.0
        )
        == []
    )
    # a full battery in the sun: the miners the surplus carries take only what would
    # be curtailed, so they run whatever the keep level (3.5 kW of surplus: two of
    # three 1.45 kW miners)
    sunny = np.concatenate([[4000.0], np.zeros(8)])
    assert (
        miners_kept_by_headroom(
            site, soc_pct=100.0, running_w=units, pv_w=sunny, load_w=load, keep_soc_pct=90.0
        )
        == units[:2]
    )


def test_miners_on_full_battery_run_on_the_surplus_measured_and_forecast() -> None:
    units = [1450.0, 1450.0, 1450.0]

    def on_full(
        soc_pct: float, last_pv_w: float, hour_pv_w: float, full: float = 99.0
    ) -> list[float]:
        return miners_on_full_battery(
            soc_pct=soc_pct,
            miner_w=units,
            last_pv_w=last_pv_w,
            last_load_w=500.0,
            hour_pv_w=hour_pv_w,
            hour_load_w=500.0,
            full_soc_pct=full,
        )

    # full, 3.5 kW of surplus last hour and at least that forecast: two of three
    assert on_full(100.0, 4000.0, 4500.0) == units[:2]
    # the forecast for this hour is smaller (the sun is going down): it bounds them
    assert on_full(100.0, 4000.0, 2200.0) == units[:1]
    # so does a last hour that measured less than the forecast promises now
    assert on_full(100.0, 1500.0, 6000.0) == []
    # a battery that is not full is not curtailing anything: none
    assert on_full(97.0, 6000.0, 6000.0) == []
    assert on_full(97.0, 6000.0, 6000.0, full=95.0) == units


def test_a_full_battery_runs_only_the_miners_the_measured_surplus_carries() -> None:
    units = [500.0, 500.0]

    def carried(soc_pct: float, last_pv_w: float, running: list[float] = units) -> list[float]:
        return miners_carried_on_full_battery(
            soc_pct=soc_pct,
            running_w=running,
            last_pv_w=last_pv_w,
            last_load_w=2700.0,
            full_soc_pct=90.0,
        )

    # full, and the last hour had 2.2 kW of sun over the load: both run
    assert carried(100.0, 4900.0) == units
    # a late afternoon at 98 %: the house drew 2.7 kW against 3.0 kW of sun (0.3 kW of
    # surplus), so a miner would draw the full battery down: none runs
    assert carried(98.0, 3000.0) == []
    # 0.7 kW of surplus carries one of the two (dropped largest first)
    assert carried(95.0, 3400.0) == [500.0]
    assert carried(95.0, 3400.0, [1000.0, 500.0]) == [500.0]
    # below full the battery is still charging: this guard leaves the others to judge
    assert carried(89.0, 0.0) == units
    # nothing asked for, nothing run
    assert carried(100.0, 9000.0, []) == []


def test_refills_after_a_bad_hour_only_when_the_rest_of_the_day_fills_the_battery() -> None:
    site = make_site(grid=False, capacity_kwh=10.0, min_soc_pct=20.0)
    common = {"soc_pct": 100.0, "hour_pv_w": 500.0, "hour_load_w": 800.0}
    # 2.9 kW of miners through a dull hour take ~3.3 kWh; three more sunny hours with
    # 2 kW of surplus each put it back
    sunny = np.full(3, 2400.0)
    load = np.full(3, 400.0)
    assert refills_after(site, extra_w=2900.0, pv_w=sunny, load_w=load, **common)
    # one such hour is not enough; the evening (no sun) never is
    assert not refills_after(site, extra_w=2900.0, pv_w=sunny[:1], load_w=load[:1], **common)
    assert not refills_after(site, extra_w=500.0, pv_w=np.zeros(3), load_w=load, **common)
    # a bad hour the miners do not drain at all: full already after it
    assert refills_after(
        site,
        soc_pct=100.0,
        extra_w=1000.0,
        hour_pv_w=3000.0,
        hour_load_w=500.0,
        pv_w=np.zeros(2),
        load_w=load[:2],
    )


def _spill_wh(site: Site, soc_pct: float, pv: np.ndarray, load: np.ndarray) -> float:
    """Energy the battery cannot take (PV surplus beyond what it stores) [Wh], by
    project_soc's energy balance: surplus - (stored / efficiency)."""
    assert site.battery is not None
    eff = np.sqrt(site.battery.round_trip_efficiency_pct / 100.0)
    proj = project_soc(site, soc_start_pct=soc_pct, pv_w=pv, load_w=load, times=hours(len(pv)))
    soc = proj.soc_pct.to_numpy()  # the start, then the end of each hour
    stored = np.maximum(np.diff(soc), 0.0) / 100.0 * site.battery.capacity_kwh * 1000.0 / eff
    return float(np.maximum(pv - load - stored, 0.0).sum())


def test_miners_on_spill_take_only_what_the_battery_would_spill_with_the_margin() -> None:
    site = make_site(grid=False, capacity_kwh=10.0, min_soc_pct=20.0)
    units = [1450.0, 1450.0, 1450.0]
    load = np.full(8, 400.0)
    # a full battery at noon with 5 kW of sun for the rest of the afternoon: every
    # miner runs on what would be curtailed, margin or not
    sunny = np.full(8, 5000.0)
    assert (
        miners_on_spill(
            site, soc_pct=100.0, miner_w=units, pv_w=sunny, load_w=load, margin_kwh=10.0
        )
        == units
    )
    # the same battery at 60 % in the morning: the miners may take now only what
    # the rest of the day still spills beyond the margin
    for margin_kwh in (0.0, 5.0, 20.0, 30.0, 40.0):
        kept = miners_on_spill(
            site, soc_pct=60.0, miner_w=units, pv_w=sunny, load_w=load, margin_kwh=margin_kwh
        )
        with_them = load.copy()
        with_them[0] += sum(kept)
        if kept:
            assert _spill_wh(site, 60.0, sunny, with_them) >= margin_kwh * 1000.0 - 1e-6
        if len(kept) < len(units):  # one more would leave less than the margin spilled
            with_them[0] += units[len(kept)]
            assert _spill_wh(site, 60.0, sunny, with_them) < margin_kwh * 1000.0
    assert len(
        miners_on_spill(site, soc_pct=60.0, miner_w=units, pv_w=sunny, load_w=load, margin_kwh=0.0)
    ) > len(
        miners_on_spill(site, soc_pct=60.0, miner_w=units, pv_w=sunny, load_w=load, margin_kwh=30.0)
    )
    # a battery that never fills spills nothing: no miner runs on a forecast
    dull = np.full(8, 900.0)
    assert (
        miners_on_spill(site, soc_pct=50.0, miner_w=units, pv_w=dull, load_w=load, margin_kwh=0.0)
        == []
    )
    # no surplus this hour (night, or load above PV): the battery's energy is not spill
    night = np.concatenate([[0.0], sunny[1:]])
    assert (
        miners_on_spill(site, soc_pct=100.0, miner_w=units, pv_w=night, load_w=load, margin_kwh=0.0)
        == []
    )
    # a full battery on the last sunny hour: the median spills too little for the
    # margin, but a bad hour (low PV, high load) still keeps the battery full with as
    # many miners as its surplus carries
    evening = np.array([4000.0, 0.0, 0.0])
    kept = miners_on_spill(
        site,
        soc_pct=100.0,
        miner_w=units,
        pv_w=evening,
        load_w=load[:3],
        margin_kwh=5.0,
        hour_pv_low_w=3600.0,
        hour_load_high_w=600.0,
    )
    assert kept == units[:2]  # 3 kW of bad-hour surplus: two 1.45 kW miners, not three
    assert (
        miners_on_spill(
            site,
            soc_pct=99.0,
            miner_w=units,
            pv_w=evening,
            load_w=load[:3],
            margin_kwh=5.0,
            hour_pv_low_w=600.0,
            hour_load_high_w=600.0,
        )
        == []
    )
    # nothing to look at, nothing to run
    assert (
        miners_on_spill(site, soc_pct=100.0, miner_w=units, pv_w=[], load_w=[], margin_kwh=0.0)
        == []
    )


def test_generator_guard_runs_only_the_missing_energy() -> None:
    gen = Generator(rated_kw=5.0, tank_l=500.0)
    site = make_site(capacity_kwh=10.0, min_soc_pct=20.0, generator=gen)
    # 3 kWh above a 25 % keep level and a 1 kW pessimistic hour: the plan's "off" stands
    assert (
        generator_guard_w(
            site, soc_pct=55.0, planned_w=0.0, pv_w=0.0, load_w=1000.0, keep_soc_pct=25.0
        )
        == 0.0
    )
    # 1 kWh above it and a 3 kW hour: the battery can give 1 kWh, the generator the rest,
    # not the whole hour's load plus the reserve
    g = generator_guard_w(
        site, soc_pct=35.0, planned_w=0.0, pv_w=0.0, load_w=3000.0, keep_soc_pct=25.0
    )
    end, cut = step_off_grid(site, soc_pct=35.0, supply_w=g, demand_w=3000.0, floor_soc_pct=20.0)
    assert end == pytest.approx(25.0, abs=0.01) and cut == 0.0
    assert 2000.0 <= g < 2100.0  # the 1 kWh the battery gives, less its losses
    # a tiny shortfall still runs the generator at its minimum load
    g = generator_guard_w(
        site, soc_pct=25.1, planned_w=0.0, pv_w=0.0, load_w=100.0, keep_soc_pct=25.0
    )
    assert g == pytest.approx(0.3 * 5000.0)
    # a planned output that falls short is raised, never lowered
    raised = generator_guard_w(
        site, soc_pct=21.0, planned_w=1500.0, pv_w=0.0, load_w=3000.0, keep_soc_pct=25.0
    )
    assert 1500.0 < raised <= 5000.0
    end, _ = step_off_grid(site, soc_pct=21.0, supply_w=raised, demand_w=3000.0, floor_soc_pct=20.0)
    assert end == pytest.approx(25.0, abs=0.01)
    assert (
        generator_guard_w(
            site, soc_pct=80.0, planned_w=4000.0, pv_w=0.0, load_w=500.0, keep_soc_pct=25.0
        )
        == 4000.0
    )
    # when even the rating cannot reach the keep level, the rating
    assert (
        generator_guard_w(
            site, soc_pct=20.0, planned_w=0.0, pv_w=0.0, load_w=9000.0, keep_soc_pct=25.0
        )
        == 5000.0
    )
    # start_w: when it has to act, the guard runs the generator at least that hard
    # (fewer, fuller hours); when it does not, the plan still stands
    assert (
        generator_guard_w(
            site,
            soc_pct=35.0,
            planned_w=0.0,
            pv_w=0.0,
            load_w=3000.0,
            keep_soc_pct=25.0,
            start_w=5000.0,
        )
        == 5000.0
    )
    assert (
        generator_guard_w(
            site,
            soc_pct=55.0,
            planned_w=0.0,
            pv_w=0.0,
            load_w=1000.0,
            keep_soc_pct=25.0,
            start_w=5000.0,
        )
        == 0.0
    )


def test_generator_plan_holds_a_reserve_in_full_hours() -> None:
    """``hold_soc_pct``: the plan refills the reserve at once, in few full-output hours,
    and then never sits below it; only the floor decides ``feasible``."""
    gen = Generator(rated_kw=5.0, tank_l=500.0)
    site = make_site(capacity_kwh=10.0, min_soc_pct=20.0, generator=gen)
    n = 12
    load = np.full(n, 600.0)
    pv = np.zeros(n)
    hold = np.full(n, 50.0)
    plain = plan_generator(site, soc_start_pct=30.0, pv_w=pv, load_w=load, times=hours(n))
    held = plan_generator(
        site, soc_start_pct=30.0, pv_w=pv, load_w=load, times=hours(n), hold_soc_pct=hold
    )
    assert held.feasible and plain.feasible
    soc = held.projection.soc_pct.to_numpy()[1:]
    # 2 kWh short of the reserve: a 5 kW generator refills it in the first hour, and
    # the battery stays at or above 50 % afterwards (the plain plan runs it down to 20 %)
    assert soc[0] >= 50.0 - 0.1 and (soc >= 50.0 - 0.1).all()
    assert plain.projection.min_soc_pct < 30.0
    assert held.generator_w.to_numpy()[0] > 0.0
    # the reserve costs fuel: more energy than the plan at the floor alone
    assert held.energy_kwh > plain.energy_kwh
    # a reserve out of reach is best effort, not "infeasible": the floor holds
    high = plan_generator(
        site,
        soc_start_pct=30.0,
        pv_w=pv,
        load_w=np.full(n, 4800.0),
        times=hours(n),
        hold_soc_pct=np.full(n, 100.0),
    )
    assert high.feasible and high.projection.min_soc_pct >= 20.0 - 1e-6
    with pytest.raises(plans.PlanError, match="one value per hour"):
        plan_generator(
            site, soc_start_pct=30.0, pv_w=pv, load_w=load, times=hours(n), hold_soc_pct=hold[:3]
        )


def test_generator_step_guard_runs_the_rest_of_the_hour_at_the_efficient_load() -> None:
    gen = Generator(rated_kw=5.0, tank_l=500.0)
    site = make_site(capacity_kwh=10.0, min_soc_pct=20.0, generator=gen)
    # 1.5 kWh above the keep level, a 2 kW half hour takes 1 kWh (plus losses): no change
    kept = generator_step_guard_w(
        site,
        soc_pct=40.0,
        running_w=0.0,
        pv_w=0.0,
        load_w=2000.0,
        keep_soc_pct=25.0,
        step_h=0.5,
    )
    assert kept == 0.0
    # a 4.6 kW half hour (an oven seen in the first half) would end below it: the rest of
    # the hour at the rating, not the missing energy only
    assert (
        generator_step_guard_w(
            site,
            soc_pct=30.0,
            running_w=0.0,
            pv_w=0.0,
            load_w=4600.0,
            keep_soc_pct=25.0,
            step_h=0.5,
        )
        == 5000.0
    )
    # what the load and the battery can take bounds it (7 kW charge rate here: rating);
    # on a 1 kW charger with little load the efficient load is less than the rating
    slow = make_site(capacity_kwh=10.0, min_soc_pct=20.0, generator=gen)
    assert slow.battery is not None
    slow = slow.model_copy(
        update={"battery": slow.battery.model_copy(update={"max_charge_kw": 1.0})}
    )
    got = generator_step_guard_w(
        slow,
        soc_pct=21.0,
        running_w=0.0,
        pv_w=0.0,
        load_w=1500.0,
        keep_soc_pct=25.0,
        step_h=0.5,
    )
    assert got == pytest.approx(2500.0)
    # never below what already runs
    assert (
        generator_step_guard_w(
            site,
            soc_pct=21.0,
            running_w=5000.0,
            pv_w=0.0,
            load_w=9000.0,
            keep_soc_pct=25.0,
            step_h=0.5,
        )
        == 5000.0
    )


def test_generator_plan_defer_runs_the_same_fuel_as_late_as_it_can() -> None:
    """Of schedules that cost the same, ``defer`` picks the latest: a controller that
    re-plans every hour then learns more (a lower load, an early sun) before it starts."""
    site = make_site(
        capacity_kwh=10.0, min_soc_pct=20.0, generator=Generator(rated_kw=5.0, tank_l=500.0)
    )
    n = 24
    pv, load = bell_pv_w(3000.0), np.full(n, 800.0)
    early = plan_generator(site, soc_start_pct=35.0, pv_w=pv, load_w=load, times=hours(n))
    late = plan_generator(
        site, soc_start_pct=35.0, pv_w=pv, load_w=load, times=hours(n), defer=True
    )
    assert early.hours > 0 and late.feasible
    assert late.fuel_l == pytest.approx(early.fuel_l, rel=0.01)
    assert late.run_hours[0] > early.run_hours[0]


def test_generator_start_runs_full_only_where_the_battery_can_keep_it() -> None:
    gen = Generator(rated_kw=5.0, tank_l=500.0)
    site = make_site(capacity_kwh=10.0, min_soc_pct=20.0, generator=gen)
    # a winter night: the plan's path never passes 40 %: the rating, the extra is kept
    dark = np.array([30.0, 28.0, 40.0, 35.0, 25.0])
    assert generator_start_w(site, pv_w=0.0, load_w=1000.0, path_soc_pct=dark) == 5000.0
    # a sunny morning ahead fills the battery to 100 %: energy put in now would push out
    # solar, so only the hour's own deficit
    sunny = np.array([25.0, 22.0, 60.0, 100.0, 90.0])
    assert generator_start_w(site, pv_w=0.0, load_w=1200.0, path_soc_pct=sunny) == pytest.approx(
        1200.0
    )
    # in between: the deficit plus the room left below full at the path's highest
    # (10 % of 10 kWh = 1 kWh stored, 1 kWh / 0.959 drawn)
    mid = np.array([25.0, 90.0])
    got = generator_start_w(site, pv_w=200.0, load_w=1200.0, path_soc_pct=mid)
    assert 1000.0 + 1000.0 < got < 1000.0 + 1100.0
    # with it as start_w the guard runs that much when it acts, and still nothing when
    # the plan's hour is safe
    assert (
        generator_guard_w(
            site,
            soc_pct=24.0,
            planned_w=0.0,
            pv_w=0.0,
            load_w=1000.0,
            keep_soc_pct=25.0,
            start_w=generator_start_w(site, pv_w=0.0, load_w=1000.0, path_soc_pct=dark),
        )
        == 5000.0
    )
    assert (
        generator_guard_w(
            site,
            soc_pct=60.0,
            planned_w=0.0,
            pv_w=0.0,
            load_w=1000.0,
            keep_soc_pct=25.0,
            start_w=5000.0,
        )
        == 0.0
    )
