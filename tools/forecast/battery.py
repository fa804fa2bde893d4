"""Hourly battery state-of-charge projection for a site (pure math, no I/O).

:func:`project_soc` steps a site's battery through hourly PV and load
forecasts with the same physics as the site simulator
(:func:`tools.devices.simulator.step_battery`):

- the bus-side battery power is limited by ``max_charge_kw`` /
  ``max_discharge_kw`` and by the room left below 100 % and above the floor;
- stored energy changes by ``power * eff`` when charging and ``power / eff``
  when discharging, ``eff = sqrt(round_trip_efficiency_pct / 100)``;
- the floor is the site's ``min_soc_pct`` (or ``floor_soc_pct``); whatever the
  battery cannot give is imported from the grid when the site has one, else it
  is unserved; whatever it cannot take is exported, or curtailed off-grid.

Power [W] is the average over each step; energy [Wh]; SOC [%]. Times are UTC
hours (the start of each step); SOC is given at the step boundaries.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd

from tools.site import Site

__all__ = [
    "FULL_SOC_PCT",
    "HourlyInput",
    "SocProjection",
    "as_hourly",
    "battery_efficiency",
    "project_soc",
    "step_off_grid",
]

FULL_SOC_PCT = 99.0
"""``fills_at`` is the first time the SOC reaches this [%]."""
STEP_H = 1.0
"""Length of a projection step [h]."""
_EDGE_TOL_PCT = 1e-6

FloatArray: TypeAlias = npt.NDArray[np.float64]
HourlyInput: TypeAlias = pd.Series | Sequence[float] | FloatArray
"""Hourly values: a Series indexed by UTC hour, or an array with ``times`` given separately."""


def battery_efficiency(round_trip_efficiency_pct: float) -> float:
    """One-way efficiency: ``sqrt`` of the round trip (the simulator's convention) [0..1]."""
    return math.sqrt(round_trip_efficiency_pct / 100.0)


def _utc(times: pd.DatetimeIndex) -> pd.DatetimeIndex:
    if times.tz is None:
        raise ValueError("times must be timezone-aware (e.g. tz='UTC')")
    return times.tz_convert("UTC")


def as_hourly(
    times: pd.DatetimeIndex | Sequence[datetime] | None,
    **series: HourlyInput | None,
) -> tuple[pd.DatetimeIndex, dict[str, FloatArray]]:
    """Align hourly inputs: the UTC step times and one float array per named input.

    Times come from ``times`` when given, else from the first pandas Series;
    Series are reindexed onto them (a missing hour is an error). ``None`` inputs
    become zeros.
    """
    index: pd.DatetimeIndex | None = None
    if times is not None:
        index = _utc(pd.DatetimeIndex(times))
    else:
        for value in series.values():
            if isinstance(value, pd.Series):
                if not isinstance(value.index, pd.DatetimeIndex):
                    raise ValueError("hourly Series must be indexed by a DatetimeIndex")
                index = _utc(value.index)
                break
    if index is None:
        raise ValueError("give times=... or pass a pandas Series indexed by UTC hour")
    if len(index) > 1:
        steps = np.asarray((index[1:] - index[:-1]) / pd.Timedelta(hours=STEP_H))
        if not np.allclose(steps, 1.0):
            raise ValueError("times must be consecutive hours")
    out: dict[str, FloatArray] = {}
    for name, value in series.items():
        if value is None:
            out[name] = np.zeros(len(index))
            continue
        if isinstance(value, pd.Series):
            aligned = value.copy()
            aligned.index = _utc(pd.DatetimeIndex(aligned.index))
            aligned = aligned.reindex(index)
            if aligned.isna().any():
                raise ValueError(f"{name} does not cover every projected hour")
            arr = aligned.to_numpy(dtype=np.float64)
        else:
            arr = np.asarray(value, dtype=np.float64)
            if arr.shape != (len(index),):
                raise ValueError(f"{name} has {arr.size} values for {len(index)} hours")
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} contains NaN or infinite values")
        out[name] = arr
    return index, out


@dataclass(frozen=True, slots=True, kw_only=True)
class SocProjection:
    """The result of :func:`project_soc`.

    ``soc_pct`` has one value per step boundary (``len(times) + 1``), from the
    start of the first hour to the end of the last. The step Series
    (``battery_w`` positive = charging, ``grid_w`` positive = import,
    ``curtailed_w``, ``unserved_w``, ``floor_shortfall_w``) are indexed by the
    start of each hour. ``floor_shortfall_w`` is the power the battery would
    have given (within its discharge rating) had it not been at the floor;
    its sum is ``energy_needed_to_stay_above_floor_wh``: the energy that has to
    come from elsewhere (grid, generator, an earlier charge) for the floor to
    hold without cutting the load.
    """

    times: pd.DatetimeIndex
    soc_pct: pd.Series
    battery_w: pd.Series
    grid_w: pd.Series
    curtailed_w: pd.Series
    unserved_w: pd.Series
    floor_shortfall_w: pd.Series
    floor_soc_pct: float
    capacity_wh: float
    efficiency: float
    charge_wh: float
    discharge_wh: float
    grid_import_wh: float
    grid_export_wh: float
    curtailed_wh: float
    unserved_wh: float
    energy_needed_to_stay_above_floor_wh: float
    min_soc_pct: float
    end_soc_pct: float
    reaches_floor_at: datetime | None
    fills_at: datetime | None

    @property
    def outside_wh(self) -> float:
        """Energy the load took from outside the battery and PV: grid import plus unserved [Wh]."""
        return self.grid_import_wh + self.unserved_wh


def project_soc(
    site: Site,
    *,
    soc_start_pct: float,
    pv_w: HourlyInput,
    load_w: HourlyInput,
    extra_load_w: HourlyInput | None = None,
    grid_charge_w: HourlyInput | None = None,
    generator_w: HourlyInput | None = None,
    times: pd.DatetimeIndex | Sequence[datetime] | None = None,
    floor_soc_pct: float | None = None,
    grid_present: bool | None = None,
) -> SocProjection:
    """Project the battery SOC hour by hour.

    ``pv_w``, ``load_w`` [W]: forecast PV output and site load; ``extra_load_w``
    [W]: load added on top (e.g. miners a plan switches on); ``grid_charge_w``
    [W]: grid power requested into the battery in each hour (ignored without a
    grid; limited by the battery's charge rating and room); ``generator_w``
    [W]: generator output. ``floor_soc_pct`` defaults to the site's
    ``min_soc_pct``; ``grid_present`` to the site's grid. A site without a
    battery projects a constant 0 % and every deficit goes to the grid or is
    unserved.
    """
    index, v = as_hourly(
        times,
        pv_w=pv_w,
        load_w=load_w,
        extra_load_w=extra_load_w,
        grid_charge_w=grid_charge_w,
        generator_w=generator_w,
    )
    battery = site.battery
    has_grid = site.grid.present if grid_present is None else grid_present
    if battery is not None:
        floor = battery.min_soc_pct if floor_soc_pct is None else floor_soc_pct
        capacity_wh = battery.capacity_kwh * 1000.0
        eff = battery_efficiency(battery.round_trip_efficiency_pct)
        max_charge_w = battery.max_charge_kw * 1000.0
        max_discharge_w = battery.max_discharge_kw * 1000.0
    else:
        floor, capacity_wh, eff, max_charge_w, max_discharge_w = 0.0, 0.0, 1.0, 0.0, 0.0
        soc_start_pct = 0.0
    if not 0.0 <= soc_start_pct <= 100.0:
        raise ValueError(f"soc_start_pct must be within 0..100 (got {soc_start_pct})")

    n = len(index)
    if n == 0:
        raise ValueError("nothing to project: give at least one hour")
    soc = np.empty(n + 1)
    soc[0] = soc_start_pct
    battery_w = np.zeros(n)
    grid_w = np.zeros(n)
    curtailed_w = np.zeros(n)
    unserved_w = np.zeros(n)
    shortfall_w = np.zeros(n)
    supply_w = v["pv_w"] + np.maximum(v["generator_w"], 0.0)
    demand_w = np.maximum(v["load_w"], 0.0) + np.maximum(v["extra_load_w"], 0.0)
    requested_grid_w = np.maximum(v["grid_charge_w"], 0.0) if has_grid else np.zeros(n)
    for t in range(n):
        if capacity_wh > 0:
            room_up_wh = max(0.0, (100.0 - soc[t]) / 100.0 * capacity_wh)
            room_down_wh = max(0.0, (soc[t] - floor) / 100.0 * capacity_wh)
            charge_limit_w = min(max_charge_w, room_up_wh / eff / STEP_H)
            discharge_limit_w = min(max_discharge_w, room_down_wh * eff / STEP_H)
        else:
            charge_limit_w = discharge_limit_w = 0.0
        surplus_w = supply_w[t] - demand_w[t]
        requested_w = surplus_w
        if requested_grid_w[t] > 0:
            requested_w = max(surplus_w, 0.0) + requested_grid_w[t]
        b_w = min(max(requested_w, -discharge_limit_w), charge_limit_w)
        battery_w[t] = b_w
        if surplus_w < 0 and b_w <= 0:  # not while grid-charging
            shortfall_w[t] = max(0.0, min(-surplus_w, max_discharge_w) + min(b_w, 0.0))
            if capacity_wh > 0 and discharge_limit_w >= max_discharge_w - 1e-9:
                shortfall_w[t] = 0.0  # limited by the rating, not by the floor
        remainder_w = surplus_w - b_w  # > 0 excess, < 0 deficit
        if has_grid:
            grid_w[t] = -remainder_w
        elif remainder_w > 0:
            curtailed_w[t] = min(remainder_w, supply_w[t])
        else:
            unserved_w[t] = -remainder_w
        stored_wh = (b_w * eff if b_w > 0 else b_w / eff) * STEP_H
        new_soc = soc[t] + (stored_wh / capacity_wh * 100.0 if capacity_wh > 0 else 0.0)
        new_soc = min(max(new_soc, 0.0), 100.0)
        for edge in (floor, 100.0):  # land exactly on the edges despite rounding
            if abs(new_soc - edge) < 1e-9:
                new_soc = edge
        soc[t + 1] = new_soc

    boundaries = index.append(pd.DatetimeIndex([index[-1] + pd.Timedelta(hours=STEP_H)]))
    no_hits: npt.NDArray[np.intp] = np.array([], dtype=np.intp)
    at_floor = np.nonzero(soc <= floor + _EDGE_TOL_PCT)[0] if capacity_wh > 0 else no_hits
    full = np.nonzero(soc >= FULL_SOC_PCT - _EDGE_TOL_PCT)[0] if capacity_wh > 0 else no_hits

    def series(values: FloatArray, name: str) -> pd.Series:
        return pd.Series(values, index=index, name=name, dtype=np.float64)

    def first(hits: npt.NDArray[np.intp]) -> datetime | None:
        return boundaries[int(hits[0])].to_pydatetime() if len(hits) else None

    return SocProjection(
        times=index,
        soc_pct=pd.Series(soc, index=boundaries, name="soc_pct", dtype=np.float64),
        battery_w=series(battery_w, "battery_w"),
        grid_w=series(grid_w, "grid_w"),
        curtailed_w=series(curtailed_w, "curtailed_w"),
        unserved_w=series(unserved_w, "unserved_w"),
        floor_shortfall_w=series(shortfall_w, "floor_shortfall_w"),
        floor_soc_pct=floor,
        capacity_wh=capacity_wh,
        efficiency=eff,
        charge_wh=float(np.maximum(battery_w, 0.0).sum() * STEP_H),
        discharge_wh=float(np.maximum(-battery_w, 0.0).sum() * STEP_H),
        grid_import_wh=float(np.maximum(grid_w, 0.0).sum() * STEP_H),
        grid_export_wh=float(np.maximum(-grid_w, 0.0).sum() * STEP_H),
        curtailed_wh=float(curtailed_w.sum() * STEP_H),
        unserved_wh=float(unserved_w.sum() * STEP_H),
        energy_needed_to_stay_above_floor_wh=float(shortfall_w.sum() * STEP_H),
        min_soc_pct=float(soc.min()),
        end_soc_pct=float(soc[-1]),
        reaches_floor_at=first(at_floor),
        fills_at=first(full),
    )


def step_off_grid(
    site: Site, *, soc_pct: float, supply_w: float, demand_w: float, floor_soc_pct: float
) -> tuple[float, float]:
    """One hour of :func:`project_soc` off grid, on plain floats (the hot loop of hour-by-hour
    controllers): ``(SOC at the hour's end [%], unserved load [W])``. ``supply_w`` is PV plus
    generator, ``demand_w`` the whole load."""
    battery = site.battery
    surplus_w = supply_w - demand_w
    if battery is None:
        return 0.0, max(0.0, -surplus_w)
    capacity_wh = battery.capacity_kwh * 1000.0
    eff = battery_efficiency(battery.round_trip_efficiency_pct)
    room_up_wh = max(0.0, (100.0 - soc_pct) / 100.0 * capacity_wh)
    room_down_wh = max(0.0, (soc_pct - floor_soc_pct) / 100.0 * capacity_wh)
    charge_limit_w = min(battery.max_charge_kw * 1000.0, room_up_wh / eff / STEP_H)
    discharge_limit_w = min(battery.max_discharge_kw * 1000.0, room_down_wh * eff / STEP_H)
    b_w = min(max(surplus_w, -discharge_limit_w), charge_limit_w)
    remainder_w = surplus_w - b_w
    stored_wh = (b_w * eff if b_w > 0 else b_w / eff) * STEP_H
    new_soc = min(max(soc_pct + stored_wh / capacity_wh * 100.0, 0.0), 100.0)
    for edge in (floor_soc_pct, 100.0):
        if abs(new_soc - edge) < 1e-9:
            new_soc = edge
    return new_soc, max(0.0, -remainder_w)
