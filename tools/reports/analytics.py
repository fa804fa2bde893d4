"""Energy analytics over a period of stored history: pure functions, no I/O.

Everything is computed from the hourly rollups (mean, min and max per hour, as
:class:`HourlyStats`), labelled by the hour's start in UTC, the same way the
alert rules read history:

- energy of an hour = its mean power × the share of the hour inside the period
  before ``now`` (a period still in progress counts the current hour in part);
- grid import/export and battery charge/discharge split each hour's **mean** by
  sign (an hour that both imported and exported is netted, as the cost rules do);
- fuel burned comes from :func:`tools.alerts.rules_generator.hourly_fuel_burned_l`
  (tank level, else burn rate), and grid cost, export credit and fuel cost from
  :func:`tools.alerts.rules_cost.period_cost` (time-of-use tariff by local hour);
- peak demand is the largest hourly **max** of ``load_power_w`` (so its time is
  known to the hour); battery SOC range from the hourly min and max.

Carbon uses the site's :class:`tools.site.Emissions` factors; savings compare the
actual cost and carbon with the site's baseline (all load from the grid at the
tariff, or all load from a diesel generator). Solar has no marginal cost here:
no fuel, no tariff (its capital cost is not in the site file).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import numpy as np
import pandas as pd

from tools.alerts.context import History
from tools.alerts.rules_cost import CostBreakdown, period_cost
from tools.alerts.rules_generator import hour_weights, hourly_fuel_burned_l
from tools.site import Site

__all__ = [
    "DEFAULT_BASELINE_L_PER_KWH",
    "BaselineSavings",
    "Carbon",
    "Change",
    "DayFigures",
    "EnergyFlows",
    "FuelEfficiencyPoint",
    "HourlyStats",
    "MinerUptime",
    "PeakDemand",
    "PeriodAnalytics",
    "SourceCosts",
    "analyse",
    "baseline_l_per_kwh",
    "carbon",
    "compare",
    "daily_figures",
    "energy_flows",
    "fuel_efficiency",
    "miner_uptime",
    "peak_demand",
    "savings",
    "soc_range",
    "source_costs",
]

DEFAULT_BASELINE_L_PER_KWH = 0.3
"""Diesel-only baseline without a generator in the site file [L/kWh]."""
BASELINE_LOAD_FRACTION = 0.75
"""The generator load at which its fuel curve gives the diesel-only baseline's L/kWh."""

Key = tuple[str, str]  # (metric, device)


def _empty() -> pd.Series:
    return pd.Series(dtype="float64", index=pd.DatetimeIndex([], tz="UTC"))


@dataclass(frozen=True, slots=True, kw_only=True)
class HourlyStats:
    """Hourly rollups of one site as Series indexed by UTC hour start, keyed by
    ``(metric, device)``: the mean, the minimum and the maximum of each hour."""

    mean: Mapping[Key, pd.Series] = field(default_factory=dict)
    min: Mapping[Key, pd.Series] = field(default_factory=dict)
    max: Mapping[Key, pd.Series] = field(default_factory=dict)

    @property
    def history(self) -> History:
        """The means as the alert rules' :class:`History` (for the shared fuel and cost code)."""
        return History(hourly=self.mean)

    def mean_of(self, metric: str, device: str | None = None) -> pd.Series:
        """Hourly mean of ``metric``, summed over devices when ``device`` is None."""
        return History._combine(self.mean, metric, device).dropna()

    def min_of(self, metric: str) -> pd.Series:
        parts = [s for (m, _d), s in self.min.items() if m == metric and not s.empty]
        return pd.concat(parts).groupby(level=0).min().sort_index() if parts else _empty()

    def max_of(self, metric: str) -> pd.Series:
        """Hourly max of ``metric`` (summed over devices: an upper bound with several)."""
        return History._combine(self.max, metric, None).dropna()

    def devices(self, metric: str) -> list[str]:
        return sorted({d for (m, d) in self.mean if m == metric})

    @property
    def empty(self) -> bool:
        return not any(not s.empty for s in self.mean.values())


def _window(series: pd.Series, start: datetime, end: datetime) -> pd.Series:
    return series[(series.index >= start) & (series.index < end)]


def _energy_kwh(series_w: pd.Series, start: datetime, end: datetime) -> pd.Series:
    """Energy per hour [kWh] of a mean power series [W] within ``[start, end)``."""
    inside = _window(series_w, start, end)
    return inside * hour_weights(inside.index, end) / 1000.0


# --- energy flows -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class EnergyFlows:
    """Energy through each part of the site over ``[start, end)`` [kWh], fuel [L],
    generator running time [h], and how many hours had any reading."""

    start: datetime
    end: datetime
    solar_kwh: float = 0.0
    load_kwh: float = 0.0
    grid_import_kwh: float = 0.0
    grid_export_kwh: float = 0.0
    battery_charge_kwh: float = 0.0
    battery_discharge_kwh: float = 0.0
    generator_kwh: float = 0.0
    fuel_l: float = 0.0
    generator_run_h: float = 0.0
    hours: int = 0

    @property
    def solar_share_pct(self) -> float | None:
        """Solar energy as a share of the load [%] (None without load)."""
        return self.solar_kwh / self.load_kwh * 100.0 if self.load_kwh > 0 else None


def _fuel_l(stats: HourlyStats, site: Site, start: datetime, end: datetime) -> pd.Series:
    if site.generator is None:
        return _empty()
    burned = hourly_fuel_burned_l(stats.history, site, now=end)
    return _window(burned, start, end)


def _run_hours(stats: HourlyStats, start: datetime, end: datetime) -> pd.Series:
    running = stats.mean_of("generator_running")
    if running.empty:
        running = (stats.mean_of("generator_power_w") > 0).astype("float64")
    inside = _window(running, start, end)
    return inside * hour_weights(inside.index, end)


def energy_flows(stats: HourlyStats, site: Site, *, start: datetime, end: datetime) -> EnergyFlows:
    """Solar, load, grid import/export, battery charge/discharge, generator energy, fuel
    and generator run-hours over ``[start, end)`` (see the module notes)."""
    grid = _energy_kwh(stats.mean_of("grid_power_w"), start, end)
    battery = _energy_kwh(stats.mean_of("battery_power_w"), start, end)
    hours: set[pd.Timestamp] = set()
    for key, series in stats.mean.items():
        if key[0] in ("pv_power_w", "load_power_w", "grid_power_w", "battery_power_w"):
            hours.update(_window(series.dropna(), start, end).index)
    return EnergyFlows(
        start=start,
        end=end,
        solar_kwh=float(_energy_kwh(stats.mean_of("pv_power_w"), start, end).sum()),
        load_kwh=float(_energy_kwh(stats.mean_of("load_power_w"), start, end).sum()),
        grid_import_kwh=float(grid.clip(lower=0).sum()),
        grid_export_kwh=float(-grid.clip(upper=0).sum()),
        battery_charge_kwh=float(battery.clip(lower=0).sum()),
        battery_discharge_kwh=float(-battery.clip(upper=0).sum()),
        generator_kwh=float(_energy_kwh(stats.mean_of("generator_power_w"), start, end).sum()),
        fuel_l=float(_fuel_l(stats, site, start, end).sum()),
        generator_run_h=float(_run_hours(stats, start, end).sum()),
        hours=len(hours),
    )


# --- money ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceCosts:
    """What each source cost over the period, in the site's currency, and per kWh.

    ``grid_cost`` is the import at the time-of-use tariff, ``export_credit`` what
    exports earned, ``fuel_cost`` the fuel burned at the fuel price. Per-kWh figures
    are None when the source delivered nothing. Solar's marginal cost is 0.
    """

    currency: str
    grid_cost: float
    export_credit: float
    fuel_cost: float
    grid_per_kwh: float | None
    generator_per_kwh: float | None
    solar_per_kwh: float | None
    import_by_price: dict[float, float] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return self.grid_cost - self.export_credit + self.fuel_cost


def source_costs(
    stats: HourlyStats, site: Site, flows: EnergyFlows, *, start: datetime, end: datetime
) -> SourceCosts:
    """Cost by source and cost per kWh of generator, grid and solar over ``[start, end)``."""
    cost: CostBreakdown = period_cost(stats.history, site, start=start, end=end)
    fuel_cost = cost.fuel_cost
    return SourceCosts(
        currency=site.costs.currency,
        grid_cost=cost.import_cost,
        export_credit=cost.export_credit,
        fuel_cost=fuel_cost,
        grid_per_kwh=cost.import_cost / cost.import_kwh if cost.import_kwh > 0 else None,
        generator_per_kwh=fuel_cost / flows.generator_kwh if flows.generator_kwh > 0 else None,
        solar_per_kwh=0.0 if flows.solar_kwh > 0 else None,
        import_by_price=cost.import_by_price,
    )


# --- carbon and savings ------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Carbon:
    """CO2 [kg] from diesel burned, grid import and solar (the site's emission factors)."""

    diesel_kg: float
    grid_kg: float
    solar_kg: float

    @property
    def total_kg(self) -> float:
        return self.diesel_kg + self.grid_kg + self.solar_kg


def carbon(flows: EnergyFlows, site: Site) -> Carbon:
    factors = site.emissions
    return Carbon(
        diesel_kg=flows.fuel_l * factors.diesel_kg_per_l,
        grid_kg=flows.grid_import_kwh * factors.grid_kg_per_kwh,
        solar_kg=flows.solar_kwh * factors.solar_kg_per_kwh,
    )


def baseline_l_per_kwh(site: Site) -> float:
    """Litres per kWh of the diesel-only baseline: the site file's figure, else the
    generator's fuel curve at :data:`BASELINE_LOAD_FRACTION`, else the default."""
    if site.reports.baseline_l_per_kwh is not None:
        return site.reports.baseline_l_per_kwh
    gen = site.generator
    if gen is None:
        return DEFAULT_BASELINE_L_PER_KWH
    fractions, lph = zip(*gen.curve, strict=True)
    rate = float(np.interp(BASELINE_LOAD_FRACTION, fractions, lph))
    return rate / (BASELINE_LOAD_FRACTION * gen.rated_kw)


@dataclass(frozen=True, slots=True, kw_only=True)
class BaselineSavings:
    """The period's actual cost and CO2 against the baseline's (``grid`` or ``diesel``)."""

    baseline: str
    description: str
    baseline_cost: float
    actual_cost: float
    baseline_kg: float
    actual_kg: float

    @property
    def saved(self) -> float:
        return self.baseline_cost - self.actual_cost

    @property
    def avoided_kg(self) -> float:
        return self.baseline_kg - self.actual_kg


def savings(
    stats: HourlyStats,
    site: Site,
    flows: EnergyFlows,
    costs: SourceCosts,
    co2: Carbon,
    *,
    start: datetime,
    end: datetime,
) -> BaselineSavings:
    """Savings against the site's ``reports.savings_baseline``.

    ``grid``: every kWh of load bought from the grid at the tariff of its local hour.
    ``diesel``: every kWh of load from a generator at :func:`baseline_l_per_kwh`.
    """
    if site.reports.savings_baseline == "diesel":
        l_per_kwh = baseline_l_per_kwh(site)
        litres = flows.load_kwh * l_per_kwh
        return BaselineSavings(
            baseline="diesel",
            description=f"all load from a diesel generator at {l_per_kwh:.2f} L/kWh",
            baseline_cost=litres * site.costs.fuel_price_per_l,
            actual_cost=costs.total,
            baseline_kg=litres * site.emissions.diesel_kg_per_l,
            actual_kg=co2.total_kg,
        )
    load = _energy_kwh(stats.mean_of("load_power_w"), start, end)
    tz = site.tz
    cost = 0.0
    for hour, kwh in load.items():
        local = pd.Timestamp(hour).tz_convert(tz)
        cost += float(kwh) * site.costs.grid_price_at(local.hour * 60 + local.minute)
    return BaselineSavings(
        baseline="grid",
        description="all load from the grid at the tariff",
        baseline_cost=cost,
        actual_cost=costs.total,
        baseline_kg=flows.load_kwh * site.emissions.grid_kg_per_kwh,
        actual_kg=co2.total_kg,
    )


# --- demand, battery, generator efficiency, miners -------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class PeakDemand:
    """The highest load [kW] and the start (UTC) of the hour it happened in."""

    power_kw: float
    hour: datetime


def peak_demand(stats: HourlyStats, *, start: datetime, end: datetime) -> PeakDemand | None:
    peaks = _window(stats.max_of("load_power_w"), start, end)
    if peaks.empty:
        peaks = _window(stats.mean_of("load_power_w"), start, end)
    if peaks.empty:
        return None
    hour = peaks.idxmax()
    return PeakDemand(power_kw=float(peaks.max()) / 1000.0, hour=pd.Timestamp(hour).to_pydatetime())


def soc_range(stats: HourlyStats, *, start: datetime, end: datetime) -> tuple[float, float] | None:
    """Lowest and highest battery SOC [%] seen in the period (None without readings)."""
    low = _window(stats.min_of("battery_soc_pct"), start, end)
    high = _window(History._combine(stats.max, "battery_soc_pct", None).dropna(), start, end)
    if low.empty or high.empty:
        return None
    return float(low.min()), float(high.max())


@dataclass(frozen=True, slots=True, kw_only=True)
class FuelEfficiencyPoint:
    """One local day of generator running: fuel [L], energy [kWh], hours, L/kWh."""

    day: date
    fuel_l: float
    energy_kwh: float
    run_h: float

    @property
    def l_per_kwh(self) -> float | None:
        return self.fuel_l / self.energy_kwh if self.energy_kwh > 0 else None


def _local_days(
    start: datetime, end: datetime, site: Site
) -> list[tuple[date, datetime, datetime]]:
    """The local calendar days overlapping ``[start, end)``, clipped to it (UTC bounds)."""
    tz = site.tz
    day = start.astimezone(tz).date()
    out = []
    while True:
        day_start = datetime.combine(day, time(0), tzinfo=tz)
        if day_start >= end:
            break
        nxt = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
        out.append((day, max(day_start, start), min(nxt, end)))
        day += timedelta(days=1)
    return out


def fuel_efficiency(
    stats: HourlyStats, site: Site, *, start: datetime, end: datetime
) -> list[FuelEfficiencyPoint]:
    """Generator L/kWh per local day over the period (days without running included)."""
    if site.generator is None:
        return []
    burned = hourly_fuel_burned_l(stats.history, site, now=end)
    power = stats.mean_of("generator_power_w")
    running = _run_hours(stats, start, end)
    return [
        FuelEfficiencyPoint(
            day=day,
            fuel_l=float(_window(burned, lo, hi).sum()),
            energy_kwh=float(_energy_kwh(power, lo, hi).sum()),
            run_h=float(_window(running, lo, hi).sum()),
        )
        for day, lo, hi in _local_days(start, end, site)
    ]


@dataclass(frozen=True, slots=True, kw_only=True)
class MinerUptime:
    """Miner-hours on [h] (summed over miners), and how many of them ran on surplus solar.

    An hour's surplus is the PV left after the rest of the load (load minus what the
    miners drew); the share of the miners' draw that surplus covers (0..1) is the
    share of that hour's miner-hours counted as on surplus solar.
    """

    on_h: float
    on_surplus_h: float
    by_miner: dict[str, float] = field(default_factory=dict)

    @property
    def surplus_share_pct(self) -> float | None:
        return self.on_surplus_h / self.on_h * 100.0 if self.on_h > 0 else None


def miner_uptime(
    stats: HourlyStats, site: Site, *, start: datetime, end: datetime
) -> MinerUptime | None:
    """Hours the site's miners ran and ran on surplus solar (None without miners)."""
    miners = site.miners
    if not miners:
        return None
    on_parts: dict[str, pd.Series] = {}
    draw_parts: list[pd.Series] = []
    for miner in miners:
        on = _window(stats.mean_of("load_on", miner.name), start, end).clip(0.0, 1.0)
        if on.empty:
            continue
        on = on * hour_weights(on.index, end)
        on_parts[miner.name] = on
        each = _window(stats.mean_of("load_power_each_w", miner.name), start, end)
        draw_parts.append(each if not each.empty else on * miner.power_kw * 1000.0)
    if not on_parts:
        return MinerUptime(on_h=0.0, on_surplus_h=0.0, by_miner={m.name: 0.0 for m in miners})
    on_h = pd.concat(on_parts.values(), axis=1).sum(axis=1)
    draw_w = pd.concat(draw_parts, axis=1).sum(axis=1).reindex(on_h.index).fillna(0.0)
    pv = _window(stats.mean_of("pv_power_w"), start, end).reindex(on_h.index).fillna(0.0)
    load = _window(stats.mean_of("load_power_w"), start, end).reindex(on_h.index)
    other_w = (load.fillna(draw_w) - draw_w).clip(lower=0.0)
    surplus_w = (pv - other_w).clip(lower=0.0)
    covered = pd.Series(
        np.where(draw_w > 0, np.clip(surplus_w / draw_w.where(draw_w > 0, 1.0), 0.0, 1.0), 0.0),
        index=on_h.index,
    )
    return MinerUptime(
        on_h=float(on_h.sum()),
        on_surplus_h=float((on_h * covered).sum()),
        by_miner={
            m.name: float(on_parts[m.name].sum()) if m.name in on_parts else 0.0 for m in miners
        },
    )


# --- per-day table, comparison, everything together -------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class DayFigures:
    day: date
    flows: EnergyFlows
    cost: float


def daily_figures(
    stats: HourlyStats, site: Site, *, start: datetime, end: datetime
) -> list[DayFigures]:
    """Energy flows and total cost of each local day in the period."""
    out = []
    for day, lo, hi in _local_days(start, end, site):
        flows = energy_flows(stats, site, start=lo, end=hi)
        out.append(
            DayFigures(
                day=day,
                flows=flows,
                cost=source_costs(stats, site, flows, start=lo, end=hi).total,
            )
        )
    return out


@dataclass(frozen=True, slots=True, kw_only=True)
class Change:
    """One figure this period against the previous one (``pct`` None when it was 0)."""

    name: str
    unit: str
    now: float
    before: float

    @property
    def pct(self) -> float | None:
        return (self.now / self.before - 1.0) * 100.0 if self.before else None


@dataclass(frozen=True, slots=True, kw_only=True)
class PeriodAnalytics:
    """Every figure of a report period (``now`` = where a period in progress ends)."""

    site: str
    start: datetime
    end: datetime
    flows: EnergyFlows
    costs: SourceCosts
    carbon: Carbon
    savings: BaselineSavings
    peak: PeakDemand | None
    soc: tuple[float, float] | None
    efficiency: list[FuelEfficiencyPoint]
    miners: MinerUptime | None
    days: list[DayFigures]

    @property
    def fuel_l_per_kwh(self) -> float | None:
        f = self.flows
        return f.fuel_l / f.generator_kwh if f.generator_kwh > 0 else None


def analyse(stats: HourlyStats, site: Site, *, start: datetime, end: datetime) -> PeriodAnalytics:
    """All the period's analytics from its hourly rollups."""
    flows = energy_flows(stats, site, start=start, end=end)
    costs = source_costs(stats, site, flows, start=start, end=end)
    co2 = carbon(flows, site)
    return PeriodAnalytics(
        site=site.name,
        start=start,
        end=end,
        flows=flows,
        costs=costs,
        carbon=co2,
        savings=savings(stats, site, flows, costs, co2, start=start, end=end),
        peak=peak_demand(stats, start=start, end=end),
        soc=soc_range(stats, start=start, end=end),
        efficiency=fuel_efficiency(stats, site, start=start, end=end),
        miners=miner_uptime(stats, site, start=start, end=end),
        days=daily_figures(stats, site, start=start, end=end),
    )


def compare(current: PeriodAnalytics, previous: PeriodAnalytics) -> list[Change]:
    """The headline figures of this period against the previous one."""
    pairs = [
        ("Solar", "kWh", current.flows.solar_kwh, previous.flows.solar_kwh),
        ("Load", "kWh", current.flows.load_kwh, previous.flows.load_kwh),
        ("Grid import", "kWh", current.flows.grid_import_kwh, previous.flows.grid_import_kwh),
        ("Generator", "kWh", current.flows.generator_kwh, previous.flows.generator_kwh),
        ("Fuel", "L", current.flows.fuel_l, previous.flows.fuel_l),
        ("Cost", current.costs.currency, current.costs.total, previous.costs.total),
        ("CO2", "kg", current.carbon.total_kg, previous.carbon.total_kg),
    ]
    peak_now = current.peak.power_kw if current.peak else math.nan
    peak_before = previous.peak.power_kw if previous.peak else math.nan
    if not (math.isnan(peak_now) or math.isnan(peak_before)):
        pairs.append(("Peak demand", "kW", peak_now, peak_before))
    return [Change(name=n, unit=u, now=a, before=b) for n, u, a, b in pairs]
