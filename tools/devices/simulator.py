"""A physics-based simulated site behind the :class:`tools.devices.base.Driver` interface.

:class:`SimulatedSite` integrates a site's energy flows between polls:

- **PV**: the clear-sky array model of :mod:`tools.forecast.solar` (Ineichen,
  Hay-Davies transposition, PVWatts DC, inverter clipping) applied to the
  clear-sky plane-of-array irradiance times a seeded cloud process (an
  Ornstein-Uhlenbeck clear-sky index in [0.1, 1.0]). Clear-sky irradiance is
  computed once per UTC day at 1-minute resolution and interpolated, because a
  pvlib call costs about 30 ms whatever its length.
- **Load**: a household base-load profile by local hour with seeded noise, plus
  every switchable load whose relay is on.
- **Battery**: :func:`step_battery`, limited by the charge/discharge power
  ratings, with ``sqrt(round-trip efficiency)`` each way. Like a real hybrid
  inverter (Victron ESS minimum SOC, SolArk "Batt Shutdown" %), the simulated
  inverter stops discharging at its shutdown SOC, :func:`shutdown_soc_pct`: the
  site's ``battery.min_soc_pct`` (never below the BMS cut-off
  :data:`BMS_FLOOR_SOC_PCT`). It keeps charging from there. Whatever the battery
  cannot take or give goes to the grid (positive = import), is covered by a
  running generator, or, off-grid, is curtailed (PV) or unserved (load shed).
- **Generator**: when running it follows the load and the battery's charge
  room up to its rating, burns fuel along ``site.generator.curve`` and stops
  when the tank is empty. The default curve is synthetic (see
  :func:`tools.site.default_fuel_curve`), not a measured generator.

Readings after an advancing poll are the average flows of the last integration
sub-step, so summing ``power * step`` over polls reproduces the simulated
energies. Everything is deterministic for a given seed and sequence of poll
times and commands.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd

from tools.devices.base import DeviceCommand
from tools.domain import Reading
from tools.errors import DeviceError
from tools.forecast.solar import array_ac_power_w, clear_sky_poa_w_m2
from tools.site import Battery, Site

BMS_FLOOR_SOC_PCT = 5.0
"""The battery management system stops discharging below this SOC [%]."""


def shutdown_soc_pct(battery: Battery) -> float:
    """SOC [%] at which the simulated inverter stops discharging ``battery``.

    A real hybrid inverter stops discharging at its configured shutdown or
    minimum SOC and serves the load from the grid or generator (or sheds it);
    the simulator uses the site's floor, ``battery.min_soc_pct``, for that
    setting, and never goes below the BMS cut-off.
    """
    return max(BMS_FLOOR_SOC_PCT, battery.min_soc_pct)


NOMINAL_VOLTAGE_V = 51.2
"""Nominal voltage of the simulated 16-cell LFP bank [V]."""
INTERNAL_RESISTANCE_OHM = 0.005
POA_CACHE_STEP_S = 60
POA_CACHE_DAYS = 4

# Household base load [kW] by local hour (linearly interpolated).
BASE_LOAD_PROFILE_KW: tuple[tuple[float, float], ...] = (
    (0.0, 0.40),
    (5.0, 0.40),
    (6.5, 1.20),
    (7.5, 1.80),
    (9.0, 0.80),
    (12.0, 0.70),
    (16.0, 0.80),
    (18.0, 1.60),
    (19.5, 2.00),
    (21.5, 1.20),
    (23.0, 0.50),
    (24.0, 0.40),
)

# Open-circuit voltage of a 16s LFP bank [V] by SOC [%].
_OCV_TABLE: tuple[tuple[float, float], ...] = (
    (0.0, 46.4),
    (5.0, 48.8),
    (10.0, 50.4),
    (20.0, 51.0),
    (50.0, 51.6),
    (80.0, 52.4),
    (95.0, 53.2),
    (100.0, 54.0),
)


# --------------------------------------------------------------------------- pure physics


def _interp(x: float, table: Sequence[tuple[float, float]]) -> float:
    """Linear interpolation in a sorted ``(x, y)`` table, clamped at both ends."""
    if x <= table[0][0]:
        return table[0][1]
    for (x0, y0), (x1, y1) in itertools.pairwise(table):
        if x <= x1:
            return y0 if x1 == x0 else y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    return table[-1][1]


def base_load_w(local_hour: float) -> float:
    """Household base load [W] at ``local_hour`` (0..24) without noise."""
    return _interp(local_hour % 24.0, BASE_LOAD_PROFILE_KW) * 1000.0


def battery_voltage_v(soc_pct: float, battery_power_w: float) -> float:
    """Terminal voltage [V]: LFP open-circuit curve plus an IR term (charging raises it)."""
    ocv = _interp(soc_pct, _OCV_TABLE)
    return ocv + battery_power_w / ocv * INTERNAL_RESISTANCE_OHM


def fuel_rate_lph(curve: Sequence[tuple[float, float]], load_fraction: float) -> float:
    """Fuel burn [L/h] at ``load_fraction`` (0..1 of rating), interpolating ``curve``."""
    return _interp(min(max(load_fraction, 0.0), 1.0), curve)


@dataclass(frozen=True, slots=True, kw_only=True)
class BatteryLimits:
    """Largest bus-side charge and discharge power [W] possible over one step (both >= 0)."""

    charge_w: float
    discharge_w: float


def battery_limits(
    *,
    soc_pct: float,
    capacity_kwh: float,
    dt_s: float,
    max_charge_w: float,
    max_discharge_w: float,
    round_trip_efficiency_pct: float,
    floor_soc_pct: float = BMS_FLOOR_SOC_PCT,
) -> BatteryLimits:
    """Power limits from the ratings and from the energy room left above the floor / below full.

    With ``dt_s == 0`` only the ratings and the full/empty state apply.
    """
    eff = math.sqrt(round_trip_efficiency_pct / 100.0)
    capacity_wh = capacity_kwh * 1000.0
    charge_room_wh = max(0.0, (100.0 - soc_pct) / 100.0 * capacity_wh)
    discharge_room_wh = max(0.0, (soc_pct - floor_soc_pct) / 100.0 * capacity_wh)
    if dt_s <= 0:
        return BatteryLimits(
            charge_w=max_charge_w if charge_room_wh > 0 else 0.0,
            discharge_w=max_discharge_w if discharge_room_wh > 0 else 0.0,
        )
    dt_h = dt_s / 3600.0
    return BatteryLimits(
        charge_w=min(max_charge_w, charge_room_wh / eff / dt_h),
        discharge_w=min(max_discharge_w, discharge_room_wh * eff / dt_h),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class BatteryStep:
    """Result of :func:`step_battery`: bus-side power [W] (positive = charging) and new SOC [%]."""

    power_w: float
    soc_pct: float


def step_battery(
    *,
    soc_pct: float,
    capacity_kwh: float,
    requested_w: float,
    dt_s: float,
    max_charge_w: float,
    max_discharge_w: float,
    round_trip_efficiency_pct: float,
    floor_soc_pct: float = BMS_FLOOR_SOC_PCT,
) -> BatteryStep:
    """Charge (``requested_w > 0``) or discharge the battery for ``dt_s`` seconds.

    The bus-side power is limited by the ratings and by the energy room; the
    stored energy changes by ``power * eff`` when charging and ``power / eff``
    when discharging, with ``eff = sqrt(round_trip_efficiency_pct / 100)``.
    The SOC is clamped to [0, 100].
    """
    limits = battery_limits(
        soc_pct=soc_pct,
        capacity_kwh=capacity_kwh,
        dt_s=dt_s,
        max_charge_w=max_charge_w,
        max_discharge_w=max_discharge_w,
        round_trip_efficiency_pct=round_trip_efficiency_pct,
        floor_soc_pct=floor_soc_pct,
    )
    power_w = min(max(requested_w, -limits.discharge_w), limits.charge_w)
    eff = math.sqrt(round_trip_efficiency_pct / 100.0)
    stored_w = power_w * eff if power_w > 0 else power_w / eff
    delta_pct = stored_w * dt_s / 3600.0 / (capacity_kwh * 1000.0) * 100.0
    new_soc_pct = min(max(soc_pct + delta_pct, 0.0), 100.0)
    for edge_pct in (floor_soc_pct, 100.0):  # land exactly on the edges despite rounding
        if abs(new_soc_pct - edge_pct) < 1e-9:
            new_soc_pct = edge_pct
    return BatteryStep(power_w=power_w, soc_pct=new_soc_pct)


def ou_step(
    value: float, *, mean: float, tau_s: float, sigma: float, dt_s: float, noise: float
) -> float:
    """One exact Ornstein-Uhlenbeck step of ``dt_s`` seconds with a standard normal ``noise``."""
    decay = math.exp(-dt_s / tau_s)
    return mean + (value - mean) * decay + sigma * math.sqrt(1.0 - decay * decay) * noise


@dataclass(slots=True)
class CloudProcess:
    """Seeded, mean-reverting clear-sky index in [``low``, ``high``] (Ornstein-Uhlenbeck)."""

    rng: np.random.Generator
    value: float = 0.8
    mean: float = 0.75
    tau_s: float = 2400.0
    sigma: float = 0.25
    low: float = 0.1
    high: float = 1.0

    def step(self, dt_s: float) -> float:
        raw = ou_step(
            self.value,
            mean=self.mean,
            tau_s=self.tau_s,
            sigma=self.sigma,
            dt_s=dt_s,
            noise=float(self.rng.standard_normal()),
        )
        self.value = min(max(raw, self.low), self.high)
        return self.value


@dataclass(slots=True)
class LoadNoise:
    """Seeded multiplicative noise on the base load, mean 1, clamped to [0.6, 1.6]."""

    rng: np.random.Generator
    value: float = 1.0
    tau_s: float = 600.0
    sigma: float = 0.12

    def step(self, dt_s: float) -> float:
        raw = ou_step(
            self.value,
            mean=1.0,
            tau_s=self.tau_s,
            sigma=self.sigma,
            dt_s=dt_s,
            noise=float(self.rng.standard_normal()),
        )
        self.value = min(max(raw, 0.6), 1.6)
        return self.value


# --------------------------------------------------------------------------- state


@dataclass(frozen=True, slots=True, kw_only=True)
class SimState:
    """A read-only snapshot; ``soc_pct``/``fuel_l`` are None without a battery/generator."""

    time: datetime
    soc_pct: float | None
    loads_on: dict[str, bool]
    grid_charge_on: bool
    generator_running: bool
    fuel_l: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Flows:
    """Average power flows [W] over one integration step (or instantaneous when ``dt_s == 0``)."""

    pv_w: float = 0.0
    pv_available_w: float = 0.0
    load_w: float = 0.0
    load_demand_w: float = 0.0
    battery_w: float = 0.0
    grid_w: float = 0.0
    generator_w: float = 0.0
    fuel_rate_lph: float = 0.0
    curtailed_w: float = 0.0
    unserved_w: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class EnergyTotals:
    """Energies [Wh] and fuel [L] accumulated since the simulator started."""

    pv_wh: float = 0.0
    load_wh: float = 0.0
    grid_import_wh: float = 0.0
    grid_export_wh: float = 0.0
    generator_wh: float = 0.0
    battery_charge_wh: float = 0.0
    battery_discharge_wh: float = 0.0
    curtailed_wh: float = 0.0
    unserved_wh: float = 0.0
    fuel_burned_l: float = 0.0


def _require_aware(value: datetime, what: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware (got naive {value.isoformat()})")
    return value.astimezone(UTC)


# --------------------------------------------------------------------------- the driver


class SimulatedSite:
    """A simulated site: PV, household load, switchable loads, battery, grid and generator.

    ``seed`` fixes the cloud and load noise; ``start`` (timezone-aware) is the
    simulated time of the initial state; ``step_s`` [s] is the longest
    integration sub-step. Naive datetimes raise :class:`ValueError`.
    """

    def __init__(self, site: Site, *, seed: int = 0, start: datetime, step_s: float = 60.0) -> None:
        if step_s <= 0:
            raise ValueError("step_s must be positive")
        self.config = site
        self.site: str = site.name
        self.device = site.devices[0].name if site.devices else "simulator"
        self._step_s = float(step_s)
        self._t_s = _require_aware(start, "start").timestamp()
        rng = np.random.default_rng(seed)
        self._cloud = CloudProcess(rng=rng, value=float(rng.uniform(0.5, 1.0)))
        self._load_noise = LoadNoise(rng=rng)
        battery = site.battery
        self._soc_pct: float | None = battery.initial_soc_pct if battery else None
        gen = site.generator
        self._fuel_l: float | None = None
        if gen is not None:
            self._fuel_l = gen.initial_fuel_l if gen.initial_fuel_l is not None else gen.tank_l
        self._loads_on = {load.name: load.initially_on for load in site.loads}
        self._grid_charge_on = False
        self._generator_running = False
        self._poa_cache: dict[date, np.ndarray] = {}
        self._totals = EnergyTotals()
        self._flows: Flows | None = None  # flows behind the latest readings; None = recompute

    # ----------------------------------------------------------------- read-only views

    @property
    def time(self) -> datetime:
        """The simulated time reached so far (UTC)."""
        return datetime.fromtimestamp(self._t_s, UTC)

    @property
    def state(self) -> SimState:
        return SimState(
            time=self.time,
            soc_pct=self._soc_pct,
            loads_on=dict(self._loads_on),
            grid_charge_on=self._grid_charge_on,
            generator_running=self._generator_running,
            fuel_l=self._fuel_l,
        )

    @property
    def totals(self) -> EnergyTotals:
        return self._totals

    # ----------------------------------------------------------------- Driver protocol

    async def poll(self, now: datetime) -> list[Reading]:
        """Advance the physics to ``now`` (never backwards) and return readings stamped ``now``."""
        now_utc = _require_aware(now, "now")
        self._advance_to(now_utc.timestamp())
        if self._flows is None:
            self._flows = self._dispatch(self._t_s, 0.0)
        return self._readings(now_utc, self._flows)

    async def execute(self, command: DeviceCommand) -> None:
        """Apply ``command`` from the current simulated time; :class:`DeviceError` if refused."""
        site = self.config
        if command.kind == "set_load":
            known = ", ".join(self._loads_on) or "none"
            if not command.target:
                raise DeviceError(
                    f"set_load needs the name of a load as target; known loads on "
                    f"{site.name}: {known}"
                )
            if command.target not in self._loads_on:
                raise DeviceError(
                    f"Unknown load {command.target!r} on site {site.name}. Known loads: {known}."
                )
            self._loads_on[command.target] = command.on
        elif command.kind == "grid_charge":
            if not site.grid.present:
                raise DeviceError(
                    f"Site {site.name} has no grid connection, so it cannot grid-charge."
                )
            if site.battery is None:
                raise DeviceError(f"Site {site.name} has no battery to grid-charge.")
            self._grid_charge_on = command.on
        elif command.kind == "generator":
            if site.generator is None or self._fuel_l is None:
                raise DeviceError(f"Site {site.name} has no generator to start or stop.")
            if command.on and self._fuel_l <= 0:
                raise DeviceError(
                    f"The generator on {site.name} cannot start: the tank is empty. Refuel first."
                )
            self._generator_running = command.on
        else:
            raise DeviceError(f"Unknown command kind {command.kind!r}")
        self._flows = None

    async def close(self) -> None:
        """Nothing to release."""

    # ----------------------------------------------------------------- physics

    def _advance_to(self, target_s: float) -> None:
        total_s = target_s - self._t_s
        if total_s <= 0:
            return
        n = max(1, math.ceil(total_s / self._step_s - 1e-9))
        dt_s = total_s / n
        start_s = self._t_s
        for i in range(n):
            self._cloud.step(dt_s)
            self._load_noise.step(dt_s)
            flows = self._dispatch(start_s + (i + 0.5) * dt_s, dt_s)
            self._apply(flows, dt_s)
            self._flows = flows
        self._t_s = target_s

    def _clear_poa(self, t_s: float) -> np.ndarray:
        """Clear-sky POA [W/m²] per array at ``t_s`` from a per-UTC-day, 1-minute cache."""
        when = datetime.fromtimestamp(t_s, UTC)
        day = when.date()
        table = self._poa_cache.get(day)
        midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
        if table is None:
            times = pd.date_range(
                midnight, midnight + timedelta(days=1), freq=f"{POA_CACHE_STEP_S}s"
            )
            table = clear_sky_poa_w_m2(self.config, times)
            while len(self._poa_cache) >= POA_CACHE_DAYS:
                self._poa_cache.pop(next(iter(self._poa_cache)))
            self._poa_cache[day] = table
        pos = (t_s - midnight.timestamp()) / POA_CACHE_STEP_S
        i = min(int(pos), table.shape[1] - 2)
        frac = pos - i
        result: np.ndarray = table[:, i] * (1.0 - frac) + table[:, i + 1] * frac
        return result

    def _pv_available_w(self, t_s: float) -> float:
        arrays = self.config.pv_arrays
        if not arrays:
            return 0.0
        poa = self._clear_poa(t_s) * self._cloud.value
        return float(sum(float(array_ac_power_w(a, p)) for a, p in zip(arrays, poa, strict=True)))

    def _load_demand_w(self, t_s: float) -> float:
        local = datetime.fromtimestamp(t_s, self.config.tz)
        hour = local.hour + local.minute / 60.0 + local.second / 3600.0
        switched_w = sum(
            load.power_kw * 1000.0 for load in self.config.loads if self._loads_on[load.name]
        )
        return base_load_w(hour) * self._load_noise.value + switched_w

    def _dispatch(self, t_s: float, dt_s: float) -> Flows:
        """Power flows at ``t_s`` over ``dt_s`` from the current state (does not mutate it)."""
        site = self.config
        battery = site.battery
        pv_w = self._pv_available_w(t_s)
        demand_w = self._load_demand_w(t_s)

        limits = BatteryLimits(charge_w=0.0, discharge_w=0.0)
        if battery is not None and self._soc_pct is not None:
            limits = battery_limits(
                soc_pct=self._soc_pct,
                capacity_kwh=battery.capacity_kwh,
                dt_s=dt_s,
                max_charge_w=battery.max_charge_kw * 1000.0,
                max_discharge_w=battery.max_discharge_kw * 1000.0,
                round_trip_efficiency_pct=battery.round_trip_efficiency_pct,
                floor_soc_pct=shutdown_soc_pct(battery),
            )

        gen_w = 0.0
        rate_lph = 0.0
        gen = site.generator
        if gen is not None and self._generator_running and self._fuel_l is not None:
            rated_w = gen.rated_kw * 1000.0
            gen_w = min(max(demand_w - pv_w + limits.charge_w, 0.0), rated_w)
            rate_lph = fuel_rate_lph(gen.curve, gen_w / rated_w)
            burn_l = rate_lph * dt_s / 3600.0
            if burn_l > self._fuel_l:  # runs dry part-way through the step
                share = self._fuel_l / burn_l
                gen_w *= share
                rate_lph *= share

        surplus_w = pv_w + gen_w - demand_w
        battery_w = 0.0
        if battery is not None and self._soc_pct is not None:
            requested_w = surplus_w
            if self._grid_charge_on and site.grid.present:
                grid_charge_w = min(site.grid.max_charge_kw, battery.max_charge_kw) * 1000.0
                requested_w = max(surplus_w, 0.0) + grid_charge_w
            battery_w = min(max(requested_w, -limits.discharge_w), limits.charge_w)
        remainder_w = surplus_w - battery_w  # > 0 excess, < 0 deficit

        grid_w = curtailed_w = unserved_w = 0.0
        if site.grid.present:
            grid_w = -remainder_w
        elif remainder_w > 0:
            curtailed_w = min(remainder_w, pv_w)
        else:
            unserved_w = -remainder_w
        return Flows(
            pv_w=pv_w - curtailed_w,
            pv_available_w=pv_w,
            load_w=demand_w - unserved_w,
            load_demand_w=demand_w,
            battery_w=battery_w,
            grid_w=grid_w,
            generator_w=gen_w,
            fuel_rate_lph=rate_lph,
            curtailed_w=curtailed_w,
            unserved_w=unserved_w,
        )

    def _apply(self, flows: Flows, dt_s: float) -> None:
        """Integrate ``flows`` over ``dt_s`` into the state and the energy totals."""
        site = self.config
        dt_h = dt_s / 3600.0
        if site.battery is not None and self._soc_pct is not None:
            step = step_battery(
                soc_pct=self._soc_pct,
                capacity_kwh=site.battery.capacity_kwh,
                requested_w=flows.battery_w,
                dt_s=dt_s,
                max_charge_w=site.battery.max_charge_kw * 1000.0,
                max_discharge_w=site.battery.max_discharge_kw * 1000.0,
                round_trip_efficiency_pct=site.battery.round_trip_efficiency_pct,
                floor_soc_pct=shutdown_soc_pct(site.battery),
            )
            self._soc_pct = step.soc_pct
        burned_l = 0.0
        if self._generator_running and self._fuel_l is not None:
            burned_l = min(flows.fuel_rate_lph * dt_h, self._fuel_l)
            self._fuel_l -= burned_l
            if self._fuel_l <= 1e-9:
                self._fuel_l = 0.0
                self._generator_running = False
        t = self._totals
        self._totals = replace(
            t,
            pv_wh=t.pv_wh + flows.pv_w * dt_h,
            load_wh=t.load_wh + flows.load_w * dt_h,
            grid_import_wh=t.grid_import_wh + max(flows.grid_w, 0.0) * dt_h,
            grid_export_wh=t.grid_export_wh + max(-flows.grid_w, 0.0) * dt_h,
            generator_wh=t.generator_wh + flows.generator_w * dt_h,
            battery_charge_wh=t.battery_charge_wh + max(flows.battery_w, 0.0) * dt_h,
            battery_discharge_wh=t.battery_discharge_wh + max(-flows.battery_w, 0.0) * dt_h,
            curtailed_wh=t.curtailed_wh + flows.curtailed_w * dt_h,
            unserved_wh=t.unserved_wh + flows.unserved_w * dt_h,
            fuel_burned_l=t.fuel_burned_l + burned_l,
        )

    # ----------------------------------------------------------------- readings

    def _readings(self, now: datetime, flows: Flows) -> list[Reading]:
        site = self.config

        def reading(metric: str, value: float, device: str = self.device) -> Reading:
            return Reading(
                site=site.name, metric=metric, time=now, value=float(value) + 0.0, device=device
            )

        out = [
            reading("pv_power_w", max(flows.pv_w, 0.0)),
            reading("load_power_w", max(flows.load_w, 0.0)),
            reading("grid_power_w", flows.grid_w),
            reading("grid_charge_on", 1.0 if self._grid_charge_on else 0.0),
        ]
        if site.battery is not None and self._soc_pct is not None:
            out += [
                reading("battery_soc_pct", self._soc_pct),
                reading("battery_power_w", flows.battery_w),
                reading("battery_voltage_v", battery_voltage_v(self._soc_pct, flows.battery_w)),
            ]
        if site.generator is not None and self._fuel_l is not None:
            out += [
                reading("generator_running", 1.0 if self._generator_running else 0.0),
                reading("generator_power_w", flows.generator_w),
                reading("generator_fuel_l", self._fuel_l),
                reading("generator_fuel_rate_lph", flows.fuel_rate_lph),
            ]
        for load in site.loads:
            on = self._loads_on[load.name]
            out += [
                reading("load_on", 1.0 if on else 0.0, load.name),
                reading("load_power_each_w", load.power_kw * 1000.0 if on else 0.0, load.name),
            ]
        return out
