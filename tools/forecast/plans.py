"""Plans built on the hourly forecasts: miners, grid charging, generator (pure math, no I/O).

Plans are PROPOSALS. They say what to switch and when; carrying them out goes
through approval-gated action requests (``start_miners``, ``stop_miners``,
``grid_charge_on``/``off``, ``generator_start``/``stop``).

- :func:`plan_miners`: a mixed-integer program (``scipy.optimize.milp``,
  HiGHS) over the hours ahead that runs as many miner-hours as the battery
  allows without going below the preferred minimum SOC, preferring hours of
  high solar surplus; compared with the SIMPLE RULE (all miners above 5 kW of
  surplus, two above 1 kW, none below) simulated with the same battery model.
- :func:`plan_grid_charge`: whether to charge from the grid in the cheap window
  so that the pessimistic (P10) solar and the load keep the battery above the
  floor, and how many kWh.
- :func:`plan_generator`: on an off-grid site, the hours to run the generator
  and at what output to keep the SOC above the floor with the least fuel (a
  MILP with on/off per hour, a minimum load, a minimum run time, and fuel
  linear in output), compared with a naive start/stop rule.

All three share the linear battery model of :func:`tools.forecast.battery.project_soc`:
stored energy ``e[t] = e[t-1] + eff * charge[t] - discharge[t] / eff`` per hour,
``eff = sqrt(round trip)``, charge and discharge within their ratings,
``floor <= SOC <= 100 %``. Units: power [W] (kW inside the optimisers), energy
[Wh]/[kWh], fuel [L].
"""

from __future__ import annotations

import contextvars
import hashlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import lil_matrix

from tools.devices.simulator import fuel_rate_lph
from tools.errors import ToolsError
from tools.forecast.battery import (
    STEP_H,
    HourlyInput,
    SocProjection,
    as_hourly,
    battery_efficiency,
    project_soc,
    step_off_grid,
)
from tools.site import Site, SwitchableLoad

__all__ = [
    "DEFAULT_MIN_LOAD_FRACTION",
    "DEFAULT_MIN_RUN_H",
    "RULE_ALL_ABOVE_W",
    "RULE_TWO_ABOVE_W",
    "GeneratorPlan",
    "GridChargePlan",
    "MinerPlan",
    "PlanError",
    "RuleRun",
    "generator_guard_w",
    "generator_start_w",
    "generator_step_guard_w",
    "hours_until_full",
    "miner_floor_guard",
    "miners_carried_on_full_battery",
    "miners_kept_by_headroom",
    "miners_kept_by_outlook",
    "miners_on_full_battery",
    "miners_on_spill",
    "miners_on_surplus",
    "plan_generator",
    "plan_grid_charge",
    "plan_miners",
    "refills_after",
    "rule_generator_run",
    "simple_rule_miners_on",
    "soc_rise_pct",
]

RULE_ALL_ABOVE_W = 5000.0
"""The simple rule runs every miner above this solar surplus [W]."""
RULE_TWO_ABOVE_W = 1000.0
"""The simple rule runs two miners above this solar surplus [W] (none below)."""
DEFAULT_MIN_LOAD_FRACTION = 0.3
"""A running generator is kept at or above this share of its rating (no wet stacking)."""
DEFAULT_MIN_RUN_H = 2
"""Shortest generator run once started [h] when the site file gives none."""
RULE_START_MARGIN_PCT = 10.0
"""The naive generator rule starts when the SOC is within this many points of the floor."""
RULE_STOP_SOC_PCT = 90.0
"""The naive generator rule stops at this SOC [%]."""
_SOLVER_TIME_LIMIT_S = 20.0
GENERATOR_MIP_GAP = 0.05
"""The generator plan stops within 5 % of the least fuel provable (HiGHS finds the best
schedule within about a second; proving the last percents took 5-15 s on a 48 h plan)."""
GENERATOR_TIME_LIMIT_S = 3.0
"""...or after this long, with the best schedule found so far."""
_HIGHS_OTHER_ERROR = 4  # scipy.optimize.milp status: "other" (e.g. HiGHS "Solve error")
_TOL_WH = 1.0

FloatArray: TypeAlias = npt.NDArray[np.float64]
Times: TypeAlias = pd.DatetimeIndex | Sequence[datetime] | None


class PlanError(ToolsError, ValueError):
    """A plan cannot be made for this site or these inputs; the message says why (an
    agent tool answers with it instead of failing)."""


def _require_battery(site: Site) -> None:
    if site.battery is None:
        raise PlanError(f"site {site.name} has no battery, so there is no SOC to plan around")


# --------------------------------------------------------------------------- linear battery model


class _Lp:
    """A tiny column/row builder for ``scipy.optimize.milp``."""

    def __init__(self) -> None:
        self.lb: list[float] = []
        self.ub: list[float] = []
        self.cost: list[float] = []
        self.integer: list[int] = []
        self.rows: list[tuple[dict[int, float], float, float]] = []

    def var(
        self,
        n: int,
        *,
        lb: float | FloatArray,
        ub: float | FloatArray,
        cost: float | FloatArray = 0.0,
        integer: bool = False,
    ) -> npt.NDArray[np.intp]:
        start = len(self.lb)
        self.lb += list(np.broadcast_to(np.asarray(lb, dtype=float), (n,)))
        self.ub += list(np.broadcast_to(np.asarray(ub, dtype=float), (n,)))
        self.cost += list(np.broadcast_to(np.asarray(cost, dtype=float), (n,)))
        self.integer += [1 if integer else 0] * n
        return np.arange(start, start + n)

    def row(self, coefs: dict[int, float], lo: float, hi: float) -> None:
        self.rows.append((coefs, lo, hi))

    def solve(
        self, *, mip_rel_gap: float = 1e-6, time_limit_s: float = _SOLVER_TIME_LIMIT_S
    ) -> FloatArray:
        a = lil_matrix((len(self.rows), len(self.lb)))
        lo = np.empty(len(self.rows))
        hi = np.empty(len(self.rows))
        for r, (coefs, low, high) in enumerate(self.rows):
            for j, c in coefs.items():
                a[r, j] = c
            lo[r], hi[r] = low, high
        options: dict[str, object] = {"time_limit": time_limit_s, "mip_rel_gap": mip_rel_gap}
        csr = a.tocsr()
        solved = _SOLVED.get()
        key = b"" if solved is None else _problem_key(csr, lo, hi, self, options)
        if solved is not None and key in solved:
            return solved[key].copy()
        res = milp(
            c=np.asarray(self.cost),
            integrality=np.asarray(self.integer),
            bounds=Bounds(np.asarray(self.lb), np.asarray(self.ub)),
            constraints=LinearConstraint(csr, lo, hi),
            options=options,
        )
        if res.x is None and res.status == _HIGHS_OTHER_ERROR:
            # HiGHS' presolve can fail numerically on tiny coefficients; solve it plain.
            res = milp(
                c=np.asarray(self.cost),
                integrality=np.asarray(self.integer),
                bounds=Bounds(np.asarray(self.lb), np.asarray(self.ub)),
                constraints=LinearConstraint(csr, lo, hi),
                options={**options, "presolve": False},
            )
        if res.x is None:
            raise PlanError(f"the optimiser found no plan ({str(res.message).strip('()')})")
        x: FloatArray = np.asarray(res.x, dtype=np.float64)
        if solved is not None:
            solved[key] = x.copy()
        return x


_SOLVED: contextvars.ContextVar[dict[bytes, FloatArray] | None] = contextvars.ContextVar(
    "plans_solved", default=None
)


@contextmanager
def remembered_solutions() -> Iterator[None]:
    """Within the block, a problem identical to one already solved in it gets that
    solution again instead of another HiGHS run (HiGHS is deterministic for the same
    input). For runs that pose the same problems again and again: plan backtests that
    compare controllers over the same days share their hindsight and rule tracks. Off by
    default: a live answer always solves."""
    token = _SOLVED.set({})
    try:
        yield
    finally:
        _SOLVED.reset(token)


def _problem_key(
    csr: Any, lo: FloatArray, hi: FloatArray, lp: _Lp, options: dict[str, object]
) -> bytes:
    """A digest of everything ``milp`` is given: costs, integrality, bounds, the constraint
    matrix and its limits, and the options."""
    digest = hashlib.blake2b(digest_size=32)
    digest.update(repr((csr.shape, sorted(options.items()))).encode())
    for part in (
        np.asarray(lp.cost, dtype=np.float64),
        np.asarray(lp.integer, dtype=np.int64),
        np.asarray(lp.lb, dtype=np.float64),
        np.asarray(lp.ub, dtype=np.float64),
        np.asarray(csr.data, dtype=np.float64),
        np.asarray(csr.indices, dtype=np.int64),
        np.asarray(csr.indptr, dtype=np.int64),
        lo,
        hi,
    ):
        digest.update(part.tobytes())
        digest.update(b"|")
    return digest.digest()


@dataclass(frozen=True, slots=True)
class _BatteryVars:
    charge: npt.NDArray[np.intp]
    discharge: npt.NDArray[np.intp]
    energy: npt.NDArray[np.intp]
    below: npt.NDArray[np.intp]


def _battery_vars(
    lp: _Lp,
    site: Site,
    n: int,
    *,
    soc_start_pct: float,
    floor_pct: float,
    below_cost: float,
    lowest_pct: FloatArray | None = None,
) -> _BatteryVars:
    """Charge/discharge [kW], stored energy [kWh] at each hour's end, slack below the floor.

    With ``lowest_pct`` (one value per hour end) the energy is bounded below by
    it instead and there is no slack: the plan may never sit lower than that.
    """
    assert site.battery is not None
    b = site.battery
    cap = b.capacity_kwh
    eff = battery_efficiency(b.round_trip_efficiency_pct)
    charge = lp.var(n, lb=0.0, ub=b.max_charge_kw)
    discharge = lp.var(n, lb=0.0, ub=b.max_discharge_kw)
    lowest_kwh = (
        np.zeros(n) if lowest_pct is None else np.clip(lowest_pct / 100.0 * cap - 1e-7, 0.0, cap)
    )
    energy = lp.var(n, lb=lowest_kwh, ub=cap)
    below = lp.var(n, lb=0.0, ub=cap if lowest_pct is None else 0.0, cost=below_cost)
    e0 = soc_start_pct / 100.0 * cap
    floor_kwh = floor_pct / 100.0 * cap
    for t in range(n):
        # e[t] - e[t-1] - eff*c[t] + d[t]/eff == 0
        coefs = {int(energy[t]): 1.0, int(charge[t]): -eff, int(discharge[t]): 1.0 / eff}
        if t > 0:
            coefs[int(energy[t - 1])] = -1.0
        rhs = e0 if t == 0 else 0.0
        lp.row(coefs, rhs, rhs)
        if lowest_pct is None:
            # e[t] + below[t] >= floor
            lp.row({int(energy[t]): 1.0, int(below[t]): 1.0}, floor_kwh, np.inf)
    return _BatteryVars(charge=charge, discharge=discharge, energy=energy, below=below)


def _soc_series(
    x: FloatArray, bv: _BatteryVars, site: Site, times: pd.DatetimeIndex, soc_start_pct: float
) -> pd.Series:
    assert site.battery is not None
    soc = np.concatenate([[soc_start_pct], x[bv.energy] / site.battery.capacity_kwh * 100.0])
    index = times.append(pd.DatetimeIndex([times[-1] + pd.Timedelta(hours=1)]))
    return pd.Series(np.clip(soc, 0.0, 100.0), index=index, name="soc_pct")


# --------------------------------------------------------------------------- miners


def simple_rule_miners_on(surplus_w: FloatArray, miner_count: int) -> npt.NDArray[np.int64]:
    """The roadmap's simple rule: all miners above 5 kW of surplus, two above 1 kW, none below."""
    on = np.where(
        surplus_w > RULE_ALL_ABOVE_W,
        miner_count,
        np.where(surplus_w > RULE_TWO_ABOVE_W, min(2, miner_count), 0),
    )
    return on.astype(np.int64)


@dataclass(frozen=True, slots=True, kw_only=True)
class MinerSchedule:
    """Miners on per hour and what it does to the battery (plan or rule)."""

    miners_on: pd.Series
    """Number of miners on in each hour (by the start of the hour, UTC)."""
    miner_names: list[list[str]]
    """Which miners are on in each hour."""
    miner_load_w: pd.Series
    miner_hours: int
    miner_energy_kwh: float
    projection: SocProjection
    """The schedule through :func:`project_soc` at the preferred minimum."""
    min_soc_pct: float
    """Lowest SOC with the battery alone carrying the load down to 0 % (how deep it would go)."""
    breaches_floor: bool
    """The miners need energy the battery cannot give above the preferred minimum."""
    extra_outside_wh: float
    """Grid import or unserved load beyond what the base load alone needs [Wh]."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MinerPlan:
    """The optimised miner schedule beside the simple rule, on the same forecast."""

    times: pd.DatetimeIndex
    min_soc_pct: float
    """The preferred minimum the plan keeps to [%]."""
    plan: MinerSchedule
    rule: MinerSchedule
    end_soc_target_pct: float
    """The plan ends at or above this SOC [%]."""
    optimiser_soc_pct: pd.Series
    """SOC of the optimiser's own dispatch at each hour boundary [%]."""
    baseline_outside_wh: float
    """Grid import plus unserved energy without any miners (the base load's own need) [Wh]."""
    grid_allowed: bool
    fallback: str = ""
    """Why the optimiser gave no plan, when this is the cautious greedy schedule instead."""

    @property
    def summary(self) -> str:
        plan, rule = self.plan, self.rule
        text = ""
        if self.fallback:
            text = (
                f"The optimiser could not make a plan ({self.fallback}), so this is a "
                "cautious schedule that adds miner-hours one at a time while the battery "
                "holds its minimum. "
            )
        start_pct = float(plan.projection.soc_pct.iloc[0])
        if plan.projection.min_soc_pct < self.min_soc_pct - 0.5:
            # It starts below the minimum (a real bank can be there): say so, not "never below".
            return text + (
                f"The battery is at {start_pct:.0f} % now, below the {self.min_soc_pct:.0f} % "
                f"minimum. The plan runs {plan.miner_hours} miner-hours vs {rule.miner_hours} "
                f"for the simple rule (lowest {plan.projection.min_soc_pct:.0f} %), ending at "
                f"{plan.projection.end_soc_pct:.0f} %."
            )
        text += (
            f"The plan runs {plan.miner_hours} miner-hours vs {rule.miner_hours} for the simple "
            f"rule and never goes below {self.min_soc_pct:.0f} %, ending at "
            f"{plan.projection.end_soc_pct:.0f} %."
        )
        if rule.breaches_floor:
            text += (
                f" The simple rule breaches the {self.min_soc_pct:.0f} % minimum: its miners "
                f"need {rule.extra_outside_wh / 1000:.1f} kWh the battery cannot give above it "
                f"(on the battery alone it would reach {rule.min_soc_pct:.0f} %)."
            )
        elif rule.projection.end_soc_pct < self.end_soc_target_pct - 0.5:
            text += (
                f" The simple rule would end at {rule.projection.end_soc_pct:.0f} % "
                f"(the plan keeps at least {self.end_soc_target_pct:.0f} %)."
            )
        return text


def _schedule(
    site: Site,
    miners: list[SwitchableLoad],
    on: npt.NDArray[np.bool_],
    *,
    times: pd.DatetimeIndex,
    soc_start_pct: float,
    pv: FloatArray,
    load: FloatArray,
    floor_pct: float,
    baseline: SocProjection,
    grid_allowed: bool,
) -> MinerSchedule:
    """``on[i, t]``: miner ``i`` runs in hour ``t``."""
    power_w = np.array([m.power_kw * 1000.0 for m in miners])
    miner_w = (on * power_w[:, None]).sum(axis=0) if len(miners) else np.zeros(len(times))
    grid = site.grid.present
    proj = project_soc(
        site,
        soc_start_pct=soc_start_pct,
        pv_w=pv,
        load_w=load,
        extra_load_w=miner_w,
        times=times,
        floor_soc_pct=floor_pct,
        grid_present=grid,
    )
    deep = project_soc(
        site,
        soc_start_pct=soc_start_pct,
        pv_w=pv,
        load_w=load,
        extra_load_w=miner_w,
        times=times,
        floor_soc_pct=0.0,
        grid_present=False,
    )
    if grid_allowed:
        breaches = False
    else:
        # The miners pulled in energy from outside, or took the battery below the
        # minimum at an hour where the base load alone would not have.
        needs_outside = proj.outside_wh > baseline.outside_wh + _TOL_WH
        lowest = np.minimum(floor_pct, baseline.soc_pct.to_numpy())
        below = proj.soc_pct.to_numpy() < lowest - 1e-6
        breaches = bool(needs_outside or below.any())
    names = [[m.name for i, m in enumerate(miners) if on[i, t]] for t in range(len(times))]
    count = on.sum(axis=0).astype(np.int64) if len(miners) else np.zeros(len(times), np.int64)
    return MinerSchedule(
        miners_on=pd.Series(count, index=times, name="miners_on"),
        miner_names=names,
        miner_load_w=pd.Series(miner_w, index=times, name="miner_load_w"),
        miner_hours=int(count.sum()),
        miner_energy_kwh=float(miner_w.sum() / 1000.0),
        projection=proj,
        min_soc_pct=deep.min_soc_pct,
        breaches_floor=breaches,
        extra_outside_wh=max(0.0, proj.outside_wh - baseline.outside_wh),
    )


def plan_miners(
    site: Site,
    *,
    soc_start_pct: float,
    pv_w: HourlyInput,
    load_w: HourlyInput,
    hours: int | None = None,
    min_soc_pct: float | None = None,
    end_soc_pct: float | None = None,
    allow_grid: bool = False,
    times: Times = None,
) -> MinerPlan:
    """When to run the site's miners over the next ``hours`` hours.

    ``pv_w`` [W] is the PV forecast and ``load_w`` [W] the base load WITHOUT the
    miners. The MILP chooses, per hour, which miners run (a count, 0..number of
    miners; identical miners are interchangeable) to maximise miner-hours,
    breaking ties towards hours of high solar surplus, subject to the battery
    model with SOC between ``min_soc_pct`` (default: the site's) and 100 %.
    Miners never draw on the grid unless ``allow_grid``: grid import (or, off
    grid, unserved load) is allowed only for what the base load alone needs.
    The plan must also end at or above ``end_soc_pct`` (default: the lower of
    the starting SOC and where the battery would end without miners), so it does
    not spend tonight's energy on miners.
    """
    _require_battery(site)
    assert site.battery is not None
    index, v = as_hourly(times, pv_w=pv_w, load_w=load_w)
    if hours is not None:
        if hours < 1 or hours > len(index):
            raise PlanError(f"hours must be within 1..{len(index)} (got {hours})")
        index = index[:hours]
        v = {k: a[:hours] for k, a in v.items()}
    n = len(index)
    pv = np.maximum(v["pv_w"], 0.0)
    load = np.maximum(v["load_w"], 0.0)
    floor = site.battery.min_soc_pct if min_soc_pct is None else min_soc_pct
    miners = sorted(site.miners, key=lambda m: -m.power_kw)
    count = len(miners)

    baseline = project_soc(
        site, soc_start_pct=soc_start_pct, pv_w=pv, load_w=load, times=index, floor_soc_pct=floor
    )

    end_target = min(soc_start_pct, baseline.end_soc_pct) if end_soc_pct is None else end_soc_pct
    fallback = ""
    on = np.zeros((count, n), dtype=bool)
    optimiser_soc = baseline.soc_pct
    if count:
        surplus_kw = np.maximum(pv - load, 0.0) / 1000.0
        top = float(surplus_kw.max()) if surplus_kw.max() > 0 else 1.0
        eps = 0.5 / (count * n + 1)  # the whole tie-break is worth less than one miner-hour
        weight = 1.0 + eps * surplus_kw / top
        outside_cost = 0.01  # capped below when miners may not use the grid; else a tie-break
        lp = _Lp()
        x = [lp.var(n, lb=0.0, ub=1.0, cost=-weight, integer=True) for _ in miners]
        # Never below the minimum, nor (when starting under it) below where the
        # battery would be without miners.
        lowest = np.minimum(floor, baseline.soc_pct.to_numpy()[1:])
        bv = _battery_vars(
            lp,
            site,
            n,
            soc_start_pct=soc_start_pct,
            floor_pct=floor,
            below_cost=0.0,
            lowest_pct=lowest,
        )
        spill = lp.var(n, lb=0.0, ub=pv / 1000.0)
        outside_ub = np.full(n, np.inf) if allow_grid else load / 1000.0
        outside = lp.var(n, lb=0.0, ub=outside_ub, cost=outside_cost)
        end_kwh = end_target / 100.0 * site.battery.capacity_kwh
        lp.row({int(bv.energy[-1]): 1.0}, end_kwh - 1e-6, np.inf)
        if not allow_grid:
            # outside energy (grid, unserved) no more than the base load alone needs: the
            # greedy projection without miners needs the least there is
            cap_kwh = baseline.outside_wh / 1000.0 + 1e-6
            lp.row({int(j): 1.0 for j in outside}, 0.0, cap_kwh)
        for t in range(n):
            # pv + d + outside - c - spill - sum(P_i x_i) == load
            coefs = {
                int(bv.discharge[t]): 1.0,
                int(outside[t]): 1.0,
                int(bv.charge[t]): -1.0,
                int(spill[t]): -1.0,
            }
            for i, m in enumerate(miners):
                coefs[int(x[i][t])] = -m.power_kw
            rhs = (load[t] - pv[t]) / 1000.0
            lp.row(coefs, rhs, rhs)
            for i in range(count - 1):  # interchangeable miners: fill them in order
                if miners[i].power_kw == miners[i + 1].power_kw:
                    lp.row({int(x[i][t]): 1.0, int(x[i + 1][t]): -1.0}, 0.0, np.inf)
        try:
            sol = lp.solve()
        except PlanError as err:
            fallback = str(err).removeprefix("the optimiser found no plan ").strip("()")
            on = _greedy_miners(
                site,
                miners,
                index,
                soc_start_pct,
                pv,
                load,
                floor,
                baseline,
                allow_grid,
                end_target,
            )
        else:
            on = np.array([sol[xi] > 0.5 for xi in x]).reshape(count, n)
            optimiser_soc = _soc_series(sol, bv, site, index, soc_start_pct)

    rule_count = simple_rule_miners_on(pv - load, count)
    rule_on = np.array([[i < rule_count[t] for t in range(n)] for i in range(count)], dtype=bool)
    rule_on = rule_on.reshape(count, n)
    common = {
        "times": index,
        "soc_start_pct": soc_start_pct,
        "pv": pv,
        "load": load,
        "floor_pct": floor,
        "baseline": baseline,
        "grid_allowed": allow_grid,
    }
    return MinerPlan(
        times=index,
        min_soc_pct=floor,
        end_soc_target_pct=end_target,
        plan=_schedule(site, miners, on, **common),
        rule=_schedule(site, miners, rule_on, **common),
        optimiser_soc_pct=optimiser_soc,
        baseline_outside_wh=baseline.outside_wh,
        grid_allowed=allow_grid,
        fallback=fallback,
    )


def _greedy_miners(
    site: Site,
    miners: list[SwitchableLoad],
    times: pd.DatetimeIndex,
    soc_start_pct: float,
    pv: FloatArray,
    load: FloatArray,
    floor: float,
    baseline: SocProjection,
    grid_allowed: bool,
    end_target: float,
) -> npt.NDArray[np.bool_]:
    """The safe schedule when the optimiser fails: miners are added one at a time,
    sunniest hours first, and kept only while the schedule holds the minimum (and the
    end target); starting from none, it can only be as safe as running no miners."""
    n = len(times)
    on = np.zeros((len(miners), n), dtype=bool)
    for t in np.argsort(-(pv - load), kind="stable"):
        for i in range(len(miners)):
            on[i, t] = True
            trial = _schedule(
                site,
                miners,
                on,
                times=times,
                soc_start_pct=soc_start_pct,
                pv=pv,
                load=load,
                floor_pct=floor,
                baseline=baseline,
                grid_allowed=grid_allowed,
            )
            if trial.breaches_floor or trial.projection.end_soc_pct < end_target - 1e-6:
                on[i, t] = False
                break
    return on


def miner_floor_guard(
    site: Site,
    *,
    soc_pct: float,
    running_w: Sequence[float],
    pv_w: float,
    load_w: float,
    keep_soc_pct: float,
) -> list[float]:
    """The miners [W each] a controller lets run this hour: the battery is at ``soc_pct``
    now and ``pv_w`` / ``load_w`` are pessimistic for the hour (a low PV quantile, a high
    load one). Miners are stopped, largest first, until the hour would end at or above
    ``keep_soc_pct`` (the floor plus a reserve), or, when it starts below that, until
    they no longer take the battery lower. Whatever the plan said, a guard that sheds
    miners can only leave more energy in the battery."""
    assert site.battery is not None
    floor = site.battery.min_soc_pct
    kept = sorted((float(w) for w in running_w if w > 0), reverse=True)

    def hour(extra_w: float) -> tuple[float, float]:
        return step_off_grid(
            site,
            soc_pct=soc_pct,
            supply_w=pv_w,
            demand_w=load_w + extra_w,
            floor_soc_pct=min(floor, soc_pct),
        )

    soc_without, cut_without = hour(0.0)
    while kept:
        soc_with, cut_with = hour(sum(kept))
        if soc_with >= keep_soc_pct - 1e-9:
            break
        if soc_with >= soc_without - 1e-9 and cut_with <= cut_without + _TOL_WH:
            break  # the sun carries them: they take nothing from the battery
        kept.pop(0)
    return kept


def miners_kept_by_outlook(
    site: Site,
    *,
    soc_pct: float,
    running_w: Sequence[float],
    pv_w: Sequence[float] | FloatArray,
    load_w: Sequence[float] | FloatArray,
    tolerance_pct: float = 0.5,
) -> list[float]:
    """The miners [W each] that may run this hour because the energy they take would be
    given back anyway on a pessimistic outlook (``pv_w`` / ``load_w`` [W] from this hour
    to the end of the horizon: a low PV quantile, a high load one): with them on for this
    hour the battery ends the horizon no lower (within ``tolerance_pct``) and leaves no
    more load unserved than without them. Miners are stopped largest first."""
    assert site.battery is not None
    floor = site.battery.min_soc_pct
    pv = np.asarray(pv_w, dtype=np.float64)
    load = np.asarray(load_w, dtype=np.float64)
    kept = sorted((float(w) for w in running_w if w > 0), reverse=True)

    def outlook(extra_w: float) -> tuple[float, float]:
        soc, cut = soc_pct, 0.0
        for t in range(len(pv)):
            soc, c = step_off_grid(
                site,
                soc_pct=soc,
                supply_w=float(pv[t]),
                demand_w=float(load[t]) + (extra_w if t == 0 else 0.0),
                floor_soc_pct=min(floor, soc_pct),
            )
            cut += c
        return soc, cut

    end_without, cut_without = outlook(0.0)
    while kept:
        end_with, cut_with = outlook(sum(kept))
        if end_with >= end_without - tolerance_pct and cut_with <= cut_without + _TOL_WH:
            break
        kept.pop(0)
    return kept


def miners_kept_by_headroom(
    site: Site,
    *,
    soc_pct: float,
    running_w: Sequence[float],
    pv_w: Sequence[float] | FloatArray,
    load_w: Sequence[float] | FloatArray,
    keep_soc_pct: float,
    tolerance_pct: float = 0.5,
) -> list[float]:
    """The miners [W each] that may run this hour because the battery has room to spare
    for them on a pessimistic outlook (``pv_w`` / ``load_w`` [W] from this hour to the end
    of the horizon: a low PV quantile, a high load one): with them on for this hour the
    battery never goes below ``keep_soc_pct`` (or, where it would go below that without
    them, no lower than it would without them, within ``tolerance_pct``) and leaves no
    more load unserved than without them. Unlike :func:`miners_kept_by_outlook` the energy
    need not come back: what the battery holds above what a bad horizon needs is theirs.
    Miners are stopped largest first."""
    assert site.battery is not None
    floor = site.battery.min_soc_pct
    pv = np.asarray(pv_w, dtype=np.float64)
    load = np.asarray(load_w, dtype=np.float64)
    kept = sorted((float(w) for w in running_w if w > 0), reverse=True)

    def path(extra_w: float) -> tuple[FloatArray, float]:
        soc, cut = soc_pct, 0.0
        out = np.empty(len(pv))
        for t in range(len(pv)):
            soc, c = step_off_grid(
                site,
                soc_pct=soc,
                supply_w=float(pv[t]),
                demand_w=float(load[t]) + (extra_w if t == 0 else 0.0),
                floor_soc_pct=min(floor, soc_pct),
            )
            out[t] = soc
            cut += c
        return out, cut

    without, cut_without = path(0.0)
    lowest = np.minimum(keep_soc_pct, without) - tolerance_pct
    while kept:
        with_, cut_with = path(sum(kept))
        if bool(np.all(with_ >= lowest)) and cut_with <= cut_without + _TOL_WH:
            break
        kept.pop(0)
    return kept


def miners_on_full_battery(
    *,
    soc_pct: float,
    miner_w: Sequence[float],
    last_pv_w: float,
    last_load_w: float,
    hour_pv_w: float,
    hour_load_w: float,
    full_soc_pct: float = 99.0,
) -> list[float]:
    """The miners [W each] a full battery lets run on the PV it is curtailing: the battery
    is at or above ``full_soc_pct`` now and the surplus this hour, taken no larger than
    the last hour's measured one (``last_pv_w`` - ``last_load_w``, the newest the
    controller has) nor than the outlook's for this hour (``hour_pv_w`` -
    ``hour_load_w``, e.g. the median corrected by today's PV), carries them. Miners
    (``miner_w``, all the site's) are dropped largest first until it does."""
    if soc_pct < full_soc_pct:
        return []
    surplus_w = min(last_pv_w - last_load_w, hour_pv_w - hour_load_w)
    kept = sorted((float(w) for w in miner_w if w > 0), reverse=True)
    while kept and sum(kept) > surplus_w:
        kept.pop(0)
    return kept


def miners_carried_on_full_battery(
    *,
    soc_pct: float,
    running_w: Sequence[float],
    last_pv_w: float,
    last_load_w: float,
    full_soc_pct: float = 99.0,
) -> list[float]:
    """The miners [W each] of ``running_w`` (whatever asked for them: the plan, a take) that
    may run this hour on a full battery: at or above ``full_soc_pct`` the battery has
    nothing left to store, so miners run on the sun's surplus, and those the surplus
    measured in the last hour (``last_pv_w`` - ``last_load_w``, the base load without
    them) does not carry would draw the full battery down on a promise; they are dropped,
    largest first. Below full, all of them (a battery still charging may lend to them
    what the outlook gives back: the other guards judge that)."""
    kept = sorted((float(w) for w in running_w if w > 0), reverse=True)
    if soc_pct < full_soc_pct:
        return kept
    surplus_w = last_pv_w - last_load_w
    while kept and sum(kept) > surplus_w:
        kept.pop(0)
    return kept


def refills_after(
    site: Site,
    *,
    soc_pct: float,
    extra_w: float,
    hour_pv_w: float,
    hour_load_w: float,
    pv_w: Sequence[float] | FloatArray,
    load_w: Sequence[float] | FloatArray,
    full_soc_pct: float = 99.0,
    margin_kwh: float = 0.0,
) -> bool:
    """Whether the battery, ``extra_w`` [W] of miners run through a bad hour now
    (``hour_pv_w`` / ``hour_load_w``: a low PV quantile, a high load one), is full
    (``full_soc_pct``) after it, or again at some hour of the outlook after it (``pv_w``
    / ``load_w`` [W], e.g. the median to the day's end): what the miners took should the
    sun go comes back the same day. With ``margin_kwh`` the outlook must fill it with that
    much to spare: full, and at least ``margin_kwh`` spilled by then (the rest of the day
    may fall that far short of the outlook and the battery still fills)."""
    return (
        hours_until_full(
            site,
            soc_pct=soc_pct,
            extra_w=extra_w,
            hour_pv_w=hour_pv_w,
            hour_load_w=hour_load_w,
            pv_w=pv_w,
            load_w=load_w,
            full_soc_pct=full_soc_pct,
            margin_kwh=margin_kwh,
        )
        is not None
    )


def hours_until_full(
    site: Site,
    *,
    soc_pct: float,
    extra_w: float,
    hour_pv_w: float,
    hour_load_w: float,
    pv_w: Sequence[float] | FloatArray,
    load_w: Sequence[float] | FloatArray,
    full_soc_pct: float = 99.0,
    margin_kwh: float = 0.0,
) -> int | None:
    """:func:`refills_after`'s answer as the hour the battery is full again: 0 when it is
    full after the bad hour itself, *k* after the outlook's *k*-th hour; None when it is
    not full again within the outlook."""
    assert site.battery is not None
    battery = site.battery
    floor = min(battery.min_soc_pct, soc_pct)
    capacity_wh = battery.capacity_kwh * 1000.0
    eff = battery_efficiency(battery.round_trip_efficiency_pct)
    margin_wh = max(margin_kwh, 0.0) * 1000.0
    soc, spilled_wh = soc_pct, 0.0
    steps = [(hour_pv_w, hour_load_w + extra_w)]
    steps += [(float(p), float(q)) for p, q in zip(pv_w, load_w, strict=True)]
    for k, (supply, demand) in enumerate(steps):
        after, _ = step_off_grid(
            site, soc_pct=soc, supply_w=supply, demand_w=demand, floor_soc_pct=floor
        )
        # what the battery could not store is spilled: with a margin the outlook must
        # spill that much (it may fall that far short before the battery fills)
        stored_wh = max(0.0, after - soc) / 100.0 * capacity_wh / eff
        spilled_wh += max(0.0, (supply - demand) * STEP_H - stored_wh)
        soc = after
        if soc >= full_soc_pct and (margin_wh <= 0.0 or spilled_wh >= margin_wh):
            return k
    return None


def miners_on_surplus(*, miner_w: Sequence[float], surplus_w: float) -> list[float]:
    """The miners [W each] a surplus of ``surplus_w`` [W] (e.g. the median outlook's for
    this hour) carries, dropped largest first until it does."""
    kept = sorted((float(w) for w in miner_w if w > 0), reverse=True)
    while kept and sum(kept) > surplus_w:
        kept.pop(0)
    return kept


def soc_rise_pct(*, soc_pct: float, recent_soc_pct: Sequence[float]) -> float:
    """How far [points] the battery has risen above its lowest of ``recent_soc_pct`` (the
    SOCs measured over the night behind, e.g. the last 12 hours): in the morning, a rise
    proves the sun is charging it now, not only that the forecast said it would (0 with
    no history)."""
    if not len(recent_soc_pct):
        return 0.0
    return max(0.0, soc_pct - min(float(x) for x in recent_soc_pct))


def miners_on_spill(
    site: Site,
    *,
    soc_pct: float,
    miner_w: Sequence[float],
    pv_w: Sequence[float] | FloatArray,
    load_w: Sequence[float] | FloatArray,
    margin_kwh: float,
    hour_pv_low_w: float | None = None,
    hour_load_high_w: float | None = None,
) -> list[float]:
    """The miners [W each] that may run this hour on energy the battery would otherwise
    spill (curtail). Either the battery is full and stays full through a bad hour with
    them (``hour_pv_low_w`` / ``hour_load_high_w``: a low PV quantile and a high load one
    for this hour, when given): they take only what would be curtailed. Or, on the
    outlook ``pv_w`` / ``load_w`` [W] from this hour to the end of the day (the median),
    with them on for this hour the battery still fills and spills at least
    ``margin_kwh`` from this hour on (what the rest of the day may bring less than the
    median: the site's own past misses), and leaves no more load unserved than without
    them: should the day fall short of the median by no more than the margin, the
    battery still fills after they ran and ends the day where it would have without
    them. Never in an hour the outlook has no surplus in (at night the energy is the
    battery's, not spill). Miners (``miner_w``, all the site's) are dropped largest
    first."""
    assert site.battery is not None
    battery = site.battery
    floor = min(battery.min_soc_pct, soc_pct)
    capacity_wh = battery.capacity_kwh * 1000.0
    eff = battery_efficiency(battery.round_trip_efficiency_pct)
    pv = np.asarray(pv_w, dtype=np.float64)
    load = np.asarray(load_w, dtype=np.float64)
    kept = sorted((float(w) for w in miner_w if w > 0), reverse=True)

    def outlook(extra_w: float) -> tuple[float, float, bool]:
        """(energy spilled [Wh], load unserved [Wh], the battery fills) with ``extra_w``
        on this hour."""
        soc, spilled, cut, full = soc_pct, 0.0, 0.0, False
        for t in range(len(pv)):
            demand = float(load[t]) + (extra_w if t == 0 else 0.0)
            after, c = step_off_grid(
                site, soc_pct=soc, supply_w=float(pv[t]), demand_w=demand, floor_soc_pct=floor
            )
            surplus_wh = (float(pv[t]) - demand) * STEP_H
            stored_wh = max(0.0, after - soc) / 100.0 * capacity_wh / eff
            spilled += max(0.0, surplus_wh - stored_wh)
            cut += c * STEP_H
            soc = after
            full = full or after >= 100.0 - 1e-6
        return spilled, cut, full

    if not len(pv) or pv[0] <= load[0]:
        return []  # the sun is not charging the battery this hour: nothing to spill
    _, cut_without, _ = outlook(0.0)
    while kept:
        if hour_pv_low_w is not None and hour_load_high_w is not None:
            after, _ = step_off_grid(
                site,
                soc_pct=soc_pct,
                supply_w=hour_pv_low_w,
                demand_w=hour_load_high_w + sum(kept),
                floor_soc_pct=floor,
            )
            if after >= 100.0 - 1e-6:
                break  # full all this bad hour with them: curtailed energy only
        spilled, cut, full = outlook(sum(kept))
        if full and spilled >= max(margin_kwh, 0.0) * 1000.0 and cut <= cut_without + _TOL_WH:
            break
        kept.pop(0)
    return kept


def generator_guard_w(
    site: Site,
    *,
    soc_pct: float,
    planned_w: float,
    pv_w: float,
    load_w: float,
    keep_soc_pct: float,
    min_load_fraction: float = DEFAULT_MIN_LOAD_FRACTION,
    start_w: float = 0.0,
    ahead_w: float = 0.0,
) -> float:
    """The generator output [W] a controller runs this hour: the battery is at ``soc_pct``
    now and ``pv_w`` / ``load_w`` are pessimistic for the hour. When the planned output
    ``planned_w`` lets that hour end at or above ``keep_soc_pct`` (the floor plus a
    reserve) the plan stands; otherwise the output is raised to the least that does
    (the missing energy, at least ``min_load_fraction`` of the rating and at least
    ``start_w``, at most the rating): a guard never lowers what the plan runs. With a
    fuel curve that burns a fixed share per running hour, ``start_w`` at the rating
    makes fewer, fuller guard hours than topping up at part load; ``ahead_w`` is added
    to the missing energy when it acts (e.g. the next hour's deficit, so that one start
    covers two hours)."""
    assert site.battery is not None and site.generator is not None
    rated_w = site.generator.rated_kw * 1000.0
    floor = site.battery.min_soc_pct

    def end(g_w: float) -> float:
        soc, _ = step_off_grid(
            site,
            soc_pct=soc_pct,
            supply_w=pv_w + g_w,
            demand_w=load_w,
            floor_soc_pct=min(floor, soc_pct),
        )
        return soc

    target = min(keep_soc_pct, 100.0)
    if end(planned_w) >= target - 1e-9:
        return planned_w
    floor_w = max(min_load_fraction * rated_w, start_w)
    if end(rated_w) < target - 1e-9:
        return rated_w
    lo, hi = planned_w, rated_w  # end(lo) < target <= end(hi); the SOC rises with g
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        if end(mid) >= target - 1e-9:
            hi = mid
        else:
            lo = mid
    return min(max(hi + max(ahead_w, 0.0), floor_w), rated_w)


def generator_start_w(
    site: Site,
    *,
    pv_w: float,
    load_w: float,
    path_soc_pct: FloatArray,
) -> float:
    """The output [W] a guard that must start the generator runs it at: the fuel-efficient
    load (the rating: this fuel curve burns a fixed share per running hour), but no more
    than the hour's load (``load_w`` less ``pv_w``) plus what the battery can take and
    keep until it is used: the room the plan's SOC path ``path_soc_pct`` (the hours
    ahead) leaves below full at its highest, and the charge rate. Energy beyond that
    would only push out the solar the plan counts on. Pass it as ``start_w`` to
    :func:`generator_guard_w`."""
    assert site.battery is not None and site.generator is not None
    b = site.battery
    eff = battery_efficiency(b.round_trip_efficiency_pct)
    highest = float(np.max(path_soc_pct)) if len(path_soc_pct) else 100.0
    room_wh = max(0.0, 100.0 - highest) / 100.0 * b.capacity_kwh * 1000.0
    take_w = min(room_wh / eff / STEP_H, b.max_charge_kw * 1000.0)
    return min(site.generator.rated_kw * 1000.0, max(load_w - pv_w, 0.0) + take_w)


def generator_step_guard_w(
    site: Site,
    *,
    soc_pct: float,
    running_w: float,
    pv_w: float,
    load_w: float,
    keep_soc_pct: float,
    step_h: float,
) -> float:
    """The generator output [W] for the next ``step_h`` hours of an hour already under
    way (a controller checking again within the hour, at the data's native step): the
    battery is at ``soc_pct`` now, the generator gives ``running_w`` and ``pv_w`` /
    ``load_w`` are pessimistic for the step. When that step ends at or above
    ``keep_soc_pct`` nothing changes; otherwise the generator runs at its fuel-efficient
    load for the rest of the hour: the rating, or what the load and the battery's charge
    rate can take when that is less (never below ``running_w``)."""
    assert site.battery is not None and site.generator is not None
    b = site.battery
    rated_w = site.generator.rated_kw * 1000.0
    eff = battery_efficiency(b.round_trip_efficiency_pct)
    net_w = pv_w + running_w - load_w
    stored_wh = (net_w * eff if net_w > 0 else net_w / eff) * step_h
    if soc_pct + 100.0 * stored_wh / (b.capacity_kwh * 1000.0) >= keep_soc_pct - 1e-9:
        return running_w
    take_w = max(load_w - pv_w, 0.0) + b.max_charge_kw * 1000.0
    return max(min(rated_w, take_w), running_w)


# --------------------------------------------------------------------------- grid charging


@dataclass(frozen=True, slots=True, kw_only=True)
class GridChargePlan:
    """Whether to charge from the grid in the cheap window, how much, and why."""

    charge: bool
    energy_kwh: float
    """Grid energy to put into the battery (bus side) [kWh]."""
    power_w: float
    """Grid-charge power to request during the window [W]."""
    window_start: datetime | None
    window_end: datetime | None
    price_per_kwh: float | None
    currency: str
    pv_p10_kwh: float
    pv_p50_kwh: float
    load_kwh: float
    """Load after the window ends, to the end of the horizon [kWh]."""
    shortfall_p10_kwh: float
    """Energy the battery would miss to hold the floor under P10 solar without charging [kWh]."""
    shortfall_after_kwh: float
    """What is still missing after the planned charge (0 unless the window is too short) [kWh]."""
    window_grid_import_kwh: float
    """Grid import during the window: the charge plus the load the grid carries meanwhile [kWh]."""
    projection: SocProjection
    """P10 projection with the planned charge."""
    reason: str


def _window_from_costs(site: Site) -> tuple[time, time] | None:
    costs = site.costs
    periods = costs.grid_periods
    if not periods:
        return None
    limit = costs.cheap_grid_price_per_kwh
    cheapest = min(periods, key=lambda p: p.price_per_kwh)
    if limit is not None and cheapest.price_per_kwh > limit:
        return None
    end = "00:00" if cheapest.end == "24:00" else cheapest.end
    return time.fromisoformat(cheapest.start), time.fromisoformat(end)


def _window_mask(site: Site, index: pd.DatetimeIndex, window: tuple[time, time]) -> FloatArray:
    """1.0 for the hours of the FIRST occurrence of the local window in ``index``."""
    start_min = window[0].hour * 60 + window[0].minute
    end_min = window[1].hour * 60 + window[1].minute
    local = index.tz_convert(site.tz)
    minutes = np.asarray(local.hour * 60 + local.minute)
    if start_min < end_min:
        inside = (minutes >= start_min) & (minutes < end_min)
    else:
        inside = (minutes >= start_min) | (minutes < end_min)
    mask = np.zeros(len(index))
    hits = np.nonzero(inside)[0]
    if len(hits):
        first = hits[0]
        last = first
        while last + 1 < len(index) and inside[last + 1]:
            last += 1
        mask[first : last + 1] = 1.0
    return mask


def _hhmm(site: Site, when: datetime) -> str:
    return when.astimezone(site.tz).strftime("%H:%M")


def _span(site: Site, start: datetime, end: datetime, first: datetime) -> str:
    """'today 18:00–21:00', 'tomorrow 02:00–04:00', 'Sat 01:00–03:00' (local, from ``first``)."""
    day = (start.astimezone(site.tz).date() - first.astimezone(site.tz).date()).days
    label = {0: "today", 1: "tomorrow"}.get(day, start.astimezone(site.tz).strftime("%a"))
    return f"{label} {_hhmm(site, start)}–{_hhmm(site, end)}"


def plan_grid_charge(
    site: Site,
    *,
    soc_now_pct: float,
    pv_p10_w: HourlyInput,
    pv_p50_w: HourlyInput,
    load_w: HourlyInput,
    cheap_window: tuple[time, time] | None = None,
    min_worthwhile_kwh: float = 0.5,
    times: Times = None,
    show_prices: bool = True,
) -> GridChargePlan:
    """Should the battery be charged from the grid in the next cheap window, and by how much?

    ``show_prices`` False leaves the tariff out of the ``reason`` (for people who may
    not see costs); the plan itself is the same.

    The inputs cover the hours from now to the end of the horizon (e.g. the end
    of tomorrow). ``cheap_window`` is a LOCAL (start, end) time of day; by
    default the cheapest tariff period of ``site.costs`` (if it is at or below
    ``cheap_grid_price_per_kwh`` when that is set). The decision is made on the
    pessimistic P10 solar: charge the least energy in the window such that the
    projection never needs the battery below the site's minimum SOC after the
    window ends (found by bisection on the projection). While grid charging the
    grid also carries the load (as hybrid inverters do), so inside the window
    the battery is not drawn on. A charge under ``min_worthwhile_kwh`` is not proposed.
    """
    _require_battery(site)
    assert site.battery is not None
    index, v = as_hourly(times, pv10=pv_p10_w, pv50=pv_p50_w, load=load_w)
    costs = site.costs
    window = cheap_window if cheap_window is not None else _window_from_costs(site)
    pv10_kwh = float(np.maximum(v["pv10"], 0).sum() / 1000.0)
    pv50_kwh = float(np.maximum(v["pv50"], 0).sum() / 1000.0)

    def project(charge_w: FloatArray | None) -> SocProjection:
        return project_soc(
            site,
            soc_start_pct=soc_now_pct,
            pv_w=v["pv10"],
            load_w=v["load"],
            grid_charge_w=charge_w,
            times=index,
        )

    none = project(None)

    def result(
        charge: bool,
        reason: str,
        *,
        energy_kwh: float = 0.0,
        power_w: float = 0.0,
        start: datetime | None = None,
        end: datetime | None = None,
        price: float | None = None,
        load_kwh: float | None = None,
        shortfall_kwh: float = 0.0,
        after_kwh: float = 0.0,
        window_import_kwh: float = 0.0,
        projection: SocProjection = none,
    ) -> GridChargePlan:
        return GridChargePlan(
            charge=charge,
            energy_kwh=energy_kwh,
            power_w=power_w,
            window_start=start,
            window_end=end,
            price_per_kwh=price,
            currency=costs.currency,
            pv_p10_kwh=pv10_kwh,
            pv_p50_kwh=pv50_kwh,
            load_kwh=float(v["load"].sum() / 1000.0) if load_kwh is None else load_kwh,
            shortfall_p10_kwh=shortfall_kwh,
            shortfall_after_kwh=after_kwh,
            window_grid_import_kwh=window_import_kwh,
            projection=projection,
            reason=reason,
        )

    if not site.grid.present:
        return result(False, f"{site.display_name} has no grid connection to charge from.")
    if window is None:
        return result(
            False,
            "No cheap window: pass one, or set grid_periods (and cheap_grid_price_per_kwh) "
            "in the site's costs.",
        )
    mask = _window_mask(site, index, window)
    if not mask.any():
        return result(False, "The cheap window does not fall within the forecast hours.")
    first = int(np.argmax(mask))
    last = int(len(mask) - 1 - np.argmax(mask[::-1]))
    start = index[first].to_pydatetime()
    end = (index[last] + pd.Timedelta(hours=1)).to_pydatetime()
    price = costs.grid_price_at(start.astimezone(site.tz).hour * 60)
    floor = site.battery.min_soc_pct
    after = last + 1  # the hours after the window, when grid power is dear
    after_load_kwh = float(v["load"][after:].sum() / 1000.0)
    after_pv10_kwh = float(np.maximum(v["pv10"][after:], 0).sum() / 1000.0)
    power_max_w = min(site.grid.max_charge_kw, site.battery.max_charge_kw) * 1000.0

    def shortfall_wh(proj: SocProjection) -> float:
        return float(proj.floor_shortfall_w.to_numpy()[after:].sum())

    def at(energy_wh: float) -> SocProjection:
        return project(mask * energy_wh / mask.sum())

    need0 = shortfall_wh(none)
    words = (
        f"P10 solar {after_pv10_kwh:.1f} kWh against {after_load_kwh:.1f} kWh of load after "
        f"{_hhmm(site, end)}"
    )
    if need0 <= _TOL_WH:
        return result(
            False,
            f"No grid charge needed: {words}, and the battery ({soc_now_pct:.0f} % now) stays "
            f"above its {floor:.0f} % minimum even on the P10 solar.",
            start=start,
            end=end,
            price=price,
            load_kwh=after_load_kwh,
            shortfall_kwh=0.0,
        )
    most_wh = power_max_w * mask.sum()
    hi_proj = at(most_wh)
    if shortfall_wh(hi_proj) > _TOL_WH:
        lo_wh = hi_wh = most_wh  # even the most the window can take leaves a shortfall
    else:
        lo_wh, hi_wh = 0.0, most_wh
        for _ in range(40):
            mid = (lo_wh + hi_wh) / 2.0
            if shortfall_wh(at(mid)) > _TOL_WH:
                lo_wh = mid
            else:
                hi_wh = mid
            if hi_wh - lo_wh < 10.0:
                break
    proj = at(hi_wh)
    if hi_wh / 1000.0 < min_worthwhile_kwh:
        return result(
            False,
            f"No grid charge: {words}; the battery ({soc_now_pct:.0f} % now) is only "
            f"{hi_wh / 1000:.2f} kWh short of holding {floor:.0f} %, under the "
            f"{min_worthwhile_kwh:.1f} kWh worth a charge.",
            start=start,
            end=end,
            price=price,
            load_kwh=after_load_kwh,
            shortfall_kwh=need0 / 1000.0,
        )
    charged_wh = float(np.maximum(proj.battery_w.to_numpy() * mask, 0.0).sum())
    energy_kwh = max(charged_wh, 0.0) / 1000.0
    missing_kwh = shortfall_wh(proj) / 1000.0
    energy_kwh = round(energy_kwh + 0.05, 1)  # round up to 0.1 kWh
    window_import_kwh = float(np.maximum(proj.grid_w.to_numpy() * mask, 0.0).sum() / 1000.0)
    reason = (
        f"Charge {energy_kwh:.1f} kWh {_hhmm(site, start)}–{_hhmm(site, end)}"
        + (f" at {price:.2f} {costs.currency}/kWh" if show_prices else " (the cheap window)")
        + f": {words}, so the battery ({soc_now_pct:.0f} % now) "
        f"would need {need0 / 1000:.1f} kWh more to stay above {floor:.0f} % "
        f"(P50 solar {pv50_kwh:.1f} kWh over the horizon). While charging, the grid also "
        f"carries the load: {window_import_kwh:.1f} kWh imported in the window in all."
    )
    if missing_kwh > _TOL_WH / 1000.0:
        reason += (
            f" The window can take only that much: {missing_kwh:.1f} kWh would still be missing."
        )
    return result(
        True,
        reason,
        energy_kwh=energy_kwh,
        power_w=min(power_max_w, hi_wh / mask.sum()),
        start=start,
        end=end,
        price=price,
        load_kwh=after_load_kwh,
        shortfall_kwh=need0 / 1000.0,
        after_kwh=missing_kwh,
        window_import_kwh=window_import_kwh,
        projection=proj,
    )


# --------------------------------------------------------------------------- generator


@dataclass(frozen=True, slots=True, kw_only=True)
class GeneratorPlan:
    """When to run the generator and at what output, with its fuel."""

    generator_w: pd.Series
    """Planned output in each hour [W] (0 = off)."""
    run_hours: list[datetime]
    """Start of each hour the generator runs (UTC)."""
    runs: list[tuple[datetime, datetime]]
    """Each run as (start, end) in UTC, end exclusive."""
    hours: int
    energy_kwh: float
    fuel_l: float
    """Fuel on the site's curve for the planned outputs [L]."""
    fuel_linear_l: float
    """Fuel the optimiser counted on its linearised curve [L]."""
    flat_out_fuel_l: float
    """Fuel with the generator running every hour following load and charge room [L]."""
    rule: RuleRun
    """The naive start/stop rule simulated on the same forecast."""
    min_run_h: int
    feasible: bool
    """False when even the generator cannot keep the battery at the floor all the time."""
    shortfall_kwh: float
    """Energy missing to hold the floor (0 when feasible) [kWh]."""
    projection: SocProjection
    unserved_wh: float
    curve_synthetic: bool
    reason: str
    fallback: str = ""
    """Why the optimiser gave no plan, when this follows the simple rule instead."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RuleRun:
    """The naive rule: start when the SOC is within :data:`RULE_START_MARGIN_PCT` of the
    floor, run following load plus full charge power, stop at :data:`RULE_STOP_SOC_PCT`
    (after the minimum run)."""

    generator_w: pd.Series
    hours: int
    fuel_l: float
    unserved_wh: float
    min_soc_pct: float


def _linear_fuel(
    curve: list[tuple[float, float]], rated_kw: float, min_frac: float
) -> tuple[float, float]:
    """Least-squares ``L/h = a * kW + b`` over the curve within [min_frac, 1] (a, b >= 0)."""
    fr = np.linspace(min_frac, 1.0, 21)
    lph = np.array([fuel_rate_lph(curve, f) for f in fr])
    a, b = np.polyfit(fr * rated_kw, lph, 1)
    return max(float(a), 0.0), max(float(b), 0.0)


def _runs(
    running: npt.NDArray[np.bool_], index: pd.DatetimeIndex
) -> list[tuple[datetime, datetime]]:
    out: list[tuple[datetime, datetime]] = []
    t = 0
    while t < len(running):
        if running[t]:
            u = t
            while u < len(running) and running[u]:
                u += 1
            end = index[u - 1] + pd.Timedelta(hours=1)
            out.append((index[t].to_pydatetime(), end.to_pydatetime()))
            t = u
        else:
            t += 1
    return out


def rule_generator_run(
    site: Site,
    *,
    soc_start_pct: float,
    pv_w: HourlyInput,
    load_w: HourlyInput,
    min_soc_pct: float | None = None,
    min_run_h: int = DEFAULT_MIN_RUN_H,
    running_now: bool = False,
    times: Times = None,
) -> RuleRun:
    """Simulate the naive generator rule (see :class:`RuleRun`) hour by hour."""
    _require_battery(site)
    assert site.battery is not None
    gen = site.generator
    if gen is None:
        raise PlanError(f"site {site.name} has no generator to plan")
    index, v = as_hourly(times, pv_w=pv_w, load_w=load_w)
    pv = np.maximum(v["pv_w"], 0.0)
    load = np.maximum(v["load_w"], 0.0)
    floor = site.battery.min_soc_pct if min_soc_pct is None else min_soc_pct
    b = site.battery
    eff = battery_efficiency(b.round_trip_efficiency_pct)
    cap_wh = b.capacity_kwh * 1000.0
    rated_w = gen.rated_kw * 1000.0
    soc = soc_start_pct
    on = running_now
    ran = min_run_h if running_now else 0
    out = np.zeros(len(index))
    litres = 0.0
    unserved = 0.0
    lowest = soc
    for t in range(len(index)):
        if not on and soc <= floor + RULE_START_MARGIN_PCT:
            on, ran = True, 0
        elif on and soc >= RULE_STOP_SOC_PCT and ran >= min_run_h:
            on = False
        if on:
            room_w = min(b.max_charge_kw * 1000.0, max(0.0, (100.0 - soc) / 100.0 * cap_wh) / eff)
            out[t] = min(max(load[t] - pv[t] + room_w, 0.0), rated_w)
            litres += fuel_rate_lph(gen.curve, out[t] / rated_w)
            ran += 1
        soc, cut_w = step_off_grid(
            site,
            soc_pct=soc,
            supply_w=float(pv[t] + out[t]),
            demand_w=float(load[t]),
            floor_soc_pct=floor,
        )
        unserved += cut_w * STEP_H
        lowest = min(lowest, soc)
    return RuleRun(
        generator_w=pd.Series(out, index=index, name="generator_w"),
        hours=int((out > 0).sum()),
        fuel_l=litres,
        unserved_wh=unserved,
        min_soc_pct=lowest,
    )


def plan_generator(
    site: Site,
    *,
    soc_start_pct: float,
    pv_w: HourlyInput,
    load_w: HourlyInput,
    min_load_fraction: float = DEFAULT_MIN_LOAD_FRACTION,
    min_soc_pct: float | None = None,
    min_run_h: float | None = None,
    running_now: bool = False,
    times: Times = None,
    hold_soc_pct: FloatArray | None = None,
    defer: bool = False,
) -> GeneratorPlan:
    """Hours and output of the generator that keep the SOC above the floor with least fuel.

    A MILP per hour: on/off ``y``, output ``p`` within ``[min_load_fraction, 1]``
    of the rating when on, fuel ``a * p + b * y`` from a straight line fitted to
    the fuel curve over that range (the litres reported are read back from the
    curve itself). Once started it runs at least ``min_run_h`` hours (default:
    the site file's ``min_run_h``, else :data:`DEFAULT_MIN_RUN_H`; a run may be
    cut by the end of the horizon); ``running_now`` counts a run already under
    way as long enough. The battery model is the shared one; PV surplus is
    curtailed; the site is treated as off-grid (a grid, if present, is
    ignored). Dropping below the floor, and unserved load, are allowed only when
    even the generator cannot prevent them, at a prohibitive cost: the plan is
    then ``feasible=False`` and its reason says how short it falls. The naive
    rule (:func:`rule_generator_run`) is simulated for comparison.

    ``hold_soc_pct`` (one value per hour end, above the floor): a reserve the plan
    holds when it can. A kWh below it for one hour costs half a kWh of unserved load
    spread over the horizon (about an hour flat out on a 48 h plan: far more than the
    fuel to refill it, yet a whole horizon below it costs less than leaving load
    unserved), so the plan refills the reserve at once, in few full hours rather than
    many part-load ones; ``feasible`` still only asks for the floor. ``defer``: of
    schedules that cost the same, the one that runs latest (a controller that re-plans
    on what it measures learns more before it starts; the default runs earliest).
    """
    _require_battery(site)
    assert site.battery is not None
    gen = site.generator
    if gen is None:
        raise PlanError(f"site {site.name} has no generator to plan")
    if not 0.0 <= min_load_fraction <= 1.0:
        raise PlanError(f"min_load_fraction must be within 0..1 (got {min_load_fraction})")
    run_h = min_run_h if min_run_h is not None else gen.min_run_h
    m = max(1, int(np.ceil(run_h if run_h is not None else DEFAULT_MIN_RUN_H)))
    index, v = as_hourly(times, pv_w=pv_w, load_w=load_w)
    n = len(index)
    pv = np.maximum(v["pv_w"], 0.0)
    load = np.maximum(v["load_w"], 0.0)
    floor = site.battery.min_soc_pct if min_soc_pct is None else min_soc_pct
    rated = gen.rated_kw
    a, b = _linear_fuel(gen.curve, rated, min_load_fraction)
    unserved_cost = 100.0 * (a * rated + b)  # one kWh unserved costs more than an hour flat out

    lp = _Lp()
    # A tie-break far below a litre (earlier hours first) keeps HiGHS from wandering
    # between equivalent schedules: without it a 48 h plan took 4-14 s.
    order = np.arange(n)[::-1] if defer else np.arange(n)
    tie = 1e-4 * (b + a * rated) * order / max(n, 1)
    on = lp.var(n, lb=0.0, ub=1.0, cost=b + tie, integer=True)
    power = lp.var(n, lb=0.0, ub=rated, cost=a)
    started = lp.var(n, lb=0.0, ub=1.0)
    bv = _battery_vars(
        lp, site, n, soc_start_pct=soc_start_pct, floor_pct=floor, below_cost=10 * unserved_cost
    )
    spill = lp.var(n, lb=0.0, ub=np.inf)
    unserved = lp.var(n, lb=0.0, ub=load / 1000.0, cost=unserved_cost)
    if hold_soc_pct is not None:
        hold = np.asarray(hold_soc_pct, dtype=np.float64)
        if hold.shape != (n,):
            raise PlanError(f"hold_soc_pct needs one value per hour ({n}), got {hold.shape}")
        hold_kwh = np.clip(hold, floor, 100.0) / 100.0 * site.battery.capacity_kwh
        under = lp.var(n, lb=0.0, ub=np.inf, cost=0.5 * unserved_cost / n)
        for t in range(n):
            lp.row({int(bv.energy[t]): 1.0, int(under[t]): 1.0}, float(hold_kwh[t]), np.inf)
    for t in range(n):
        p, y = int(power[t]), int(on[t])
        lp.row({p: 1.0, y: -rated}, -np.inf, 0.0)  # p <= rated * y
        lp.row({p: 1.0, y: -min_load_fraction * rated}, 0.0, np.inf)  # p >= min * rated * y
        # a start: y[t] - y[t-1] <= started[t] <= y[t]
        if t == 0:
            lp.row({int(started[0]): 1.0, y: -1.0}, -1.0 if running_now else 0.0, 0.0)
        else:
            lp.row({int(started[t]): 1.0, y: -1.0, int(on[t - 1]): 1.0}, 0.0, np.inf)
            lp.row({int(started[t]): 1.0, y: -1.0}, -np.inf, 0.0)
        # on for m hours after a start, in the strong form: the starts of the last m
        # hours (this one included) add up to at most y[t]
        window = {int(started[k]): 1.0 for k in range(max(0, t - m + 1), t + 1)}
        window[y] = window.get(y, 0.0) - 1.0
        lp.row(window, -np.inf, 0.0)
        coefs = {
            p: 1.0,
            int(bv.discharge[t]): 1.0,
            int(unserved[t]): 1.0,
            int(bv.charge[t]): -1.0,
            int(spill[t]): -1.0,
        }
        rhs = (load[t] - pv[t]) / 1000.0
        lp.row(coefs, rhs, rhs)
        # spill only PV and generator output: spill <= pv + p
        lp.row({int(spill[t]): 1.0, p: -1.0}, -np.inf, pv[t] / 1000.0)
    rule = rule_generator_run(
        site,
        soc_start_pct=soc_start_pct,
        pv_w=pv,
        load_w=load,
        min_soc_pct=floor,
        min_run_h=m,
        running_now=running_now,
        times=index,
    )
    fallback = ""
    try:
        sol: FloatArray | None = lp.solve(
            mip_rel_gap=GENERATOR_MIP_GAP, time_limit_s=GENERATOR_TIME_LIMIT_S
        )
    except PlanError as err:  # the simple rule is the safe answer
        fallback = str(err).removeprefix("the optimiser found no plan ").strip("()")
        sol = None
    if sol is not None:
        running = sol[on] > 0.5
        gen_kw = np.where(running, sol[power], 0.0)
    else:
        gen_kw = rule.generator_w.to_numpy() / 1000.0
        running = gen_kw > 0
    gen_w = gen_kw * 1000.0
    projection = project_soc(
        site,
        soc_start_pct=soc_start_pct,
        pv_w=pv,
        load_w=load,
        generator_w=gen_w,
        times=index,
        floor_soc_pct=floor,
        grid_present=False,
    )
    if sol is not None:
        shortfall_kwh = float(np.sum(sol[bv.below]) + np.sum(sol[unserved]))
    else:
        shortfall_kwh = projection.energy_needed_to_stay_above_floor_wh / 1000.0
    feasible = shortfall_kwh * 1000.0 <= _TOL_WH and projection.unserved_wh <= _TOL_WH
    fuel_l = float(sum(fuel_rate_lph(gen.curve, k / rated) for k in gen_kw[running]))
    flat_l = _flat_out_fuel_l(site, soc_start_pct, pv, load, floor)
    hours = int(running.sum())
    energy_kwh = float(gen_kw.sum())
    runs = _runs(running, index)
    first = index[0].to_pydatetime()
    spans = ", ".join(_span(site, s0, s1, first) for s0, s1 in runs)
    rule_note = (
        f"The simple rule (start at {floor + RULE_START_MARGIN_PCT:.0f} %, charge flat out to "
        f"{RULE_STOP_SOC_PCT:.0f} %) would run {rule.hours} h for {rule.fuel_l:.1f} L"
        + (
            f" and still cut {rule.unserved_wh / 1000:.1f} kWh of load."
            if rule.unserved_wh > _TOL_WH
            else "."
        )
    )
    if fallback:
        reason = (
            f"The optimiser could not make a plan ({fallback}), so this is the simple rule "
            f"(start at {floor + RULE_START_MARGIN_PCT:.0f} %, charge flat out to "
            f"{RULE_STOP_SOC_PCT:.0f} %): "
            + (f"run the {gen.name} {spans} ({hours} h, about {fuel_l:.1f} L)" if hours else "")
            + ("" if hours else "no run needed")
            + f"; lowest {projection.min_soc_pct:.0f} %"
            + (
                f", {shortfall_kwh:.1f} kWh short of holding {floor:.0f} %."
                if not feasible
                else "."
            )
        )
    elif not feasible:
        reason = (
            f"Cannot hold {floor:.0f} % on this forecast: even with the {gen.name} "
            f"({rated:g} kW) the battery falls {shortfall_kwh:.1f} kWh short"
            + (
                f" and {projection.unserved_wh / 1000:.1f} kWh of load goes unserved"
                if projection.unserved_wh > _TOL_WH
                else ""
            )
            + ". Cut load or add charging. Best effort: "
            + (f"run it {spans} ({hours} h, about {fuel_l:.1f} L)." if hours else "nothing helps.")
        )
    elif hours:
        reason = (
            f"Run the {gen.name} {spans} ({hours} h at {energy_kwh / hours:.1f} kW on average, "
            f"{energy_kwh:.1f} kWh for about {fuel_l:.1f} L) to keep the battery above "
            f"{floor:.0f} %; lowest {projection.min_soc_pct:.0f} %. " + rule_note
        )
    else:
        reason = (
            f"No generator needed: solar and the battery hold {floor:.0f} % on this forecast "
            f"(lowest {projection.min_soc_pct:.0f} %)."
        )
    if gen.fuel_curve is None:
        reason += " Litres are from a synthetic fuel curve."
    return GeneratorPlan(
        generator_w=pd.Series(gen_w, index=index, name="generator_w"),
        run_hours=[index[t].to_pydatetime() for t in np.nonzero(running)[0]],
        runs=runs,
        hours=hours,
        energy_kwh=energy_kwh,
        fuel_l=fuel_l,
        fuel_linear_l=float(a * gen_kw.sum() + b * hours),
        flat_out_fuel_l=flat_l,
        rule=rule,
        min_run_h=m,
        feasible=feasible,
        shortfall_kwh=shortfall_kwh if not feasible else 0.0,
        projection=projection,
        unserved_wh=projection.unserved_wh,
        curve_synthetic=gen.fuel_curve is None,
        reason=reason,
        fallback=fallback,
    )


def _flat_out_fuel_l(
    site: Site, soc_start_pct: float, pv: FloatArray, load: FloatArray, floor: float
) -> float:
    """Fuel with the generator on every hour, following load plus charge room (the simulator's way)."""  # noqa: E501
    assert site.battery is not None and site.generator is not None
    gen = site.generator
    b = site.battery
    eff = battery_efficiency(b.round_trip_efficiency_pct)
    cap_wh = b.capacity_kwh * 1000.0
    soc = soc_start_pct
    litres = 0.0
    for t in range(len(pv)):
        room_w = min(b.max_charge_kw * 1000.0, max(0.0, (100.0 - soc) / 100.0 * cap_wh) / eff)
        gen_w = min(max(load[t] - pv[t] + room_w, 0.0), gen.rated_kw * 1000.0)
        litres += fuel_rate_lph(gen.curve, gen_w / (gen.rated_kw * 1000.0))
        soc, _ = step_off_grid(
            site,
            soc_pct=soc,
            supply_w=float(pv[t] + gen_w),
            demand_w=float(load[t]),
            floor_soc_pct=floor,
        )
    return litres
