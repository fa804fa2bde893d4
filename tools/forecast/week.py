"""A week ahead: bands that widen with lead time, and the battery, generator and fuel
day by day (pure: no I/O).

**Lead days.** A forecast issued on local day D gives lead day 1 to the rest of D,
2 to D + 1 and so on (:func:`lead_days`).

**Widening.** Forecasts get worse the further ahead they look (the weather forecast
loses skill, the load model feeds on its own guesses). The P10/P90 band of lead day
``d`` is the lead-1 band with both half-widths stretched by a factor ``g(d)``
(:func:`widen`). :func:`lead_growth` measures ``g`` from a site's own forecasts as
issued and what was then measured, split-conformal on the band's width: each past
hour scores ``s`` = how many half-widths of its issued band the measurement fell from
the P50 (:func:`width_scores`); ``f(d)`` is the 80 % quantile of the scores at lead
day ``d`` (the stretch that would have made that lead's band cover 80 %), and
``g(d) = f(d) / f(1)``: the lead-1 band keeps its own calibration. A lead day needs
:data:`MIN_LEAD_DAYS` distinct days of errors; without them the growth measured on the
last lead day that has them is carried on per day, else the stated default
(:data:`DEFAULT_GROWTH_PER_DAY`). The factors never fall with lead (a band that
narrows further ahead would only be sampling noise).

**Battery and generator.** The battery is stepped through the week on P50 solar and
load with the shared model (:func:`tools.forecast.battery.project_soc`). An off-grid
site with a generator runs it by the start/stop rule of
:func:`tools.forecast.plans.rule_generator_run` (start near the floor, charge to the
stop level): what a site without a plan does, and cheap over 168 hours. Fuel is read
from the generator's fuel curve hour by hour.

Units: power [W], energy [kWh] in the summaries, SOC [%], fuel [L].
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt
import pandas as pd

from tools.devices.simulator import fuel_rate_lph
from tools.forecast.battery import FULL_SOC_PCT, SocProjection, project_soc
from tools.forecast.plans import rule_generator_run
from tools.site import Site

__all__ = [
    "DEFAULT_GROWTH_PER_DAY",
    "LEAD_DAYS",
    "MIN_LEAD_DAYS",
    "DayOutlook",
    "LeadGrowth",
    "WeekOutlook",
    "headline",
    "lead_days",
    "lead_growth",
    "week_outlook",
    "widen",
    "width_scores",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

LEAD_DAYS = 7
"""Local days in a week outlook (today counts as the first)."""
MIN_LEAD_DAYS = 10
"""Distinct days of forecast errors a lead day needs before its own spread is used."""
DEFAULT_GROWTH_PER_DAY: dict[str, float] = {
    "pv_weather": 0.15,
    "pv_clear_sky": 0.0,
    "load": 0.05,
}
"""Growth of the band's half-widths per lead day beyond the first when the site's own
history cannot tell [-]. PV with a weather forecast: +15 %/day, an assumption (weather
forecasts lose skill over the week; the shared data has no archived weather forecasts
to measure it on). PV on clear sky: 0, the clear-sky week has no lead-dependent skill
to lose. Load: +5 %/day, about what the week-ahead backtest of the shared household
year measured (``commandcenter backtest week``)."""
MAX_FACTOR = 4.0


def lead_days(
    times: pd.DatetimeIndex, issued: pd.Timestamp | pd.DatetimeIndex, tz: str
) -> IntArray:
    """Lead day (1 = the issue's own local day) of each target hour in ``times``."""
    target = pd.DatetimeIndex(times).tz_convert(tz).normalize().tz_localize(None)
    if isinstance(issued, pd.DatetimeIndex):
        start = issued.tz_convert(tz).normalize().tz_localize(None)
    else:
        start = pd.Timestamp(issued).tz_convert(tz).normalize().tz_localize(None)
    return np.asarray((target - start).days, dtype=np.int64) + 1


@dataclass(frozen=True, slots=True, kw_only=True)
class LeadGrowth:
    """Band factor per lead day (index 0 = lead 1, always 1.0) and where it came from."""

    factors: tuple[float, ...]
    measured: tuple[bool, ...]
    """True where the lead day's factor comes from the site's own errors."""
    days: tuple[int, ...]
    """Distinct days of errors found per lead day."""
    note: str
    lead1_stretch: float | None = None
    """The stretch that made the lead-1 band cover 80 % in the past (None: too few days)."""

    def factor(self, lead: IntArray) -> FloatArray:
        idx = np.clip(np.asarray(lead, dtype=np.int64), 1, len(self.factors)) - 1
        return np.asarray(self.factors, dtype=np.float64)[idx]


COVERAGE = 0.8
"""Share of hours the P10-P90 band should hold."""
MIN_HALF_WIDTH_W = 1.0
"""Hours whose band half-width is below this carry no width score [W]."""


def width_scores(
    p10_w: FloatArray, p50_w: FloatArray, p90_w: FloatArray, actual_w: FloatArray
) -> FloatArray:
    """How many half-widths of its band each measurement fell from the P50 (below:
    of the lower half, above: of the upper half); NaN where that half has no width or
    a value is missing."""
    p10, p50, p90, a = (np.asarray(x, dtype=np.float64) for x in (p10_w, p50_w, p90_w, actual_w))
    below = p50 - p10
    above = p90 - p50
    with np.errstate(divide="ignore", invalid="ignore"):
        score = np.where(a < p50, (p50 - a) / below, (a - p50) / above)
    half = np.where(a < p50, below, above)
    return np.where(np.isfinite(score) & (half >= MIN_HALF_WIDTH_W), score, np.nan)


def _stretch(scores: FloatArray) -> float:
    """The split-conformal ``COVERAGE`` quantile of the scores."""
    n = scores.size
    level = min(1.0, float(np.ceil((n + 1) * COVERAGE)) / n)
    return float(np.quantile(scores, level, method="inverted_cdf"))


def lead_growth(
    lead: IntArray,
    score: FloatArray,
    target_day: Sequence[date] | npt.NDArray[np.object_],
    *,
    default_per_day: float,
    n_leads: int = LEAD_DAYS,
    min_days: int = MIN_LEAD_DAYS,
    what: str = "",
) -> LeadGrowth:
    """Band factors per lead day from width scores (:func:`width_scores`; see the module
    doc). ``lead``, ``score`` and ``target_day`` (local day of each hour) are parallel;
    NaN scores are ignored.
    """
    lead = np.asarray(lead, dtype=np.int64)
    z = np.asarray(score, dtype=np.float64)
    days_arr = np.asarray(target_day, dtype=object)
    ok = np.isfinite(z)
    spreads: list[float | None] = []
    counts: list[int] = []
    for d in range(1, n_leads + 1):
        sel = ok & (lead == d)
        n_days = len(set(days_arr[sel].tolist())) if sel.any() else 0
        counts.append(n_days)
        spreads.append(_stretch(z[sel]) if n_days >= min_days else None)
    base = spreads[0]
    factors = [1.0]
    measured = [base is not None]
    step = default_per_day
    for d in range(2, n_leads + 1):
        s = spreads[d - 1]
        if base is not None and base > 0 and s is not None:
            f = min(max(s / base, factors[-1]), MAX_FACTOR)
            step = max((f - 1.0) / (d - 1), 0.0)  # carried on to unmeasured lead days
            measured.append(True)
        else:
            f = max(1.0 + step * (d - 1), factors[-1])
            measured.append(False)
        factors.append(min(f, MAX_FACTOR))
    label = f"{what} " if what else ""
    n_measured = sum(measured[1:])
    if base is None and default_per_day == 0.0:
        note = (
            f"{label}band does not widen with lead (a clear-sky week has no forecast skill to lose)"
        )
    elif base is None:
        note = (
            f"{label}band widens by a default {default_per_day * 100:.0f} % per lead day: "
            f"{counts[0]} days of the site's own errors at lead 1, {min_days} needed"
        )
    elif n_measured == n_leads - 1:
        note = f"{label}band widening measured on the site's own errors at every lead day"
    else:
        last = max((d for d in range(2, n_leads + 1) if measured[d - 1]), default=1)
        if last == 1:
            note = (
                f"{label}band widens by a default {default_per_day * 100:.0f} % per lead day "
                f"(too few errors beyond lead 1: {counts[1]} days at lead 2, {min_days} needed)"
            )
        else:
            note = (
                f"{label}band widening measured up to lead day {last}, carried on beyond it "
                f"at {step * 100:.0f} % per day"
            )
    return LeadGrowth(
        factors=tuple(round(f, 4) for f in factors),
        measured=tuple(measured),
        days=tuple(counts),
        note=note,
        lead1_stretch=base,
    )


def widen(
    p10_w: FloatArray,
    p50_w: FloatArray,
    p90_w: FloatArray,
    factor: FloatArray,
    *,
    cap_w: float | None = None,
) -> tuple[FloatArray, FloatArray]:
    """P10/P90 with both half-widths around P50 stretched by ``factor`` (P10 >= 0,
    P90 <= ``cap_w`` when given)."""
    p10 = np.asarray(p10_w, dtype=np.float64)
    p50 = np.asarray(p50_w, dtype=np.float64)
    p90 = np.asarray(p90_w, dtype=np.float64)
    f = np.asarray(factor, dtype=np.float64)
    lo = np.clip(p50 - (p50 - p10) * f, 0.0, None)
    hi = p50 + (p90 - p50) * f
    if cap_w is not None:
        hi = np.minimum(hi, np.maximum(cap_w, p50))
    return np.minimum(lo, p50), np.maximum(hi, p50)


@dataclass(frozen=True, slots=True, kw_only=True)
class DayOutlook:
    """One local day of the week outlook (energies [kWh] over the day's forecast hours)."""

    day: date
    lead: int
    hours: int
    pv_p10_kwh: float
    pv_p50_kwh: float
    pv_p90_kwh: float
    load_p10_kwh: float
    load_p50_kwh: float
    load_p90_kwh: float
    min_soc_pct: float | None
    max_soc_pct: float | None
    fills: bool
    generator_h: int
    generator_kwh: float
    fuel_l: float
    outside_kwh: float
    """Energy from the grid (grid sites) or unserved (off-grid) [kWh]."""

    @property
    def weak(self) -> bool:
        """Median solar below the median load: the day draws the battery down."""
        return self.pv_p50_kwh < self.load_p50_kwh


@dataclass(frozen=True, slots=True, kw_only=True)
class WeekOutlook:
    days: list[DayOutlook]
    projection: SocProjection | None
    generator_w: pd.Series | None
    generator_rule: str
    soc_now_pct: float | None
    floor_soc_pct: float | None

    @property
    def generator_hours(self) -> int:
        return sum(d.generator_h for d in self.days)

    @property
    def fuel_l(self) -> float:
        return sum(d.fuel_l for d in self.days)


def week_outlook(
    site: Site,
    *,
    times: pd.DatetimeIndex,
    pv_p10_w: pd.Series,
    pv_p50_w: pd.Series,
    pv_p90_w: pd.Series,
    load_p10_w: pd.Series,
    load_p50_w: pd.Series,
    load_p90_w: pd.Series,
    soc_now_pct: float | None,
    issued: pd.Timestamp,
    generator_running: bool = False,
) -> WeekOutlook:
    """The week day by day from hourly forecasts on ``times`` (UTC hour starts)."""
    tz = str(site.timezone)
    battery = site.battery
    generator_w: pd.Series | None = None
    rule_text = ""
    projection: SocProjection | None = None
    if battery is not None and soc_now_pct is not None:
        soc0 = min(max(float(soc_now_pct), 0.0), 100.0)
        if site.generator is not None and not site.grid.present:
            rule = rule_generator_run(
                site,
                soc_start_pct=soc0,
                pv_w=pv_p50_w.to_numpy(dtype=np.float64),
                load_w=load_p50_w.to_numpy(dtype=np.float64),
                running_now=generator_running,
                times=times,
            )
            generator_w = rule.generator_w
            rule_text = (
                f"generator by the start/stop rule (start near the {battery.min_soc_pct:g} % "
                "floor, charge to the stop level)"
            )
        projection = project_soc(
            site,
            soc_start_pct=soc0,
            pv_w=pv_p50_w.to_numpy(dtype=np.float64),
            load_w=load_p50_w.to_numpy(dtype=np.float64),
            generator_w=None if generator_w is None else generator_w.to_numpy(),
            times=times,
        )
    local = pd.DatetimeIndex(times).tz_convert(tz)
    leads = lead_days(times, issued, tz)
    gen = site.generator
    fuel_h = np.zeros(len(times))
    if generator_w is not None and gen is not None:
        rated_w = gen.rated_kw * 1000.0
        g = generator_w.to_numpy()
        fuel_h = np.array([fuel_rate_lph(gen.curve, w / rated_w) if w > 0 else 0.0 for w in g])
    days: list[DayOutlook] = []
    for day in sorted(set(local.date)):
        sel = np.asarray(local.date == day)
        idx = np.nonzero(sel)[0]

        def kwh(series: pd.Series, mask: npt.NDArray[np.bool_] = sel) -> float:
            return float(series.to_numpy(dtype=np.float64)[mask].sum()) / 1000.0

        min_soc = max_soc = None
        fills = False
        outside = 0.0
        if projection is not None:
            # SOC at the boundaries of the day's hours: its start and each hour's end
            soc = projection.soc_pct.to_numpy()[np.r_[idx, idx[-1] + 1]]
            min_soc, max_soc = float(soc.min()), float(soc.max())
            fills = max_soc >= FULL_SOC_PCT - 1e-6
            outside = float(
                (
                    np.maximum(projection.grid_w.to_numpy()[sel], 0.0)
                    + projection.unserved_w.to_numpy()[sel]
                ).sum()
            )
            outside /= 1000.0
        gen_on = generator_w.to_numpy()[sel] > 0 if generator_w is not None else np.zeros(1, bool)
        days.append(
            DayOutlook(
                day=day,
                lead=int(leads[idx[0]]),
                hours=int(sel.sum()),
                pv_p10_kwh=kwh(pv_p10_w),
                pv_p50_kwh=kwh(pv_p50_w),
                pv_p90_kwh=kwh(pv_p90_w),
                load_p10_kwh=kwh(load_p10_w),
                load_p50_kwh=kwh(load_p50_w),
                load_p90_kwh=kwh(load_p90_w),
                min_soc_pct=min_soc,
                max_soc_pct=max_soc,
                fills=fills,
                generator_h=int(gen_on.sum()),
                generator_kwh=kwh(generator_w) if generator_w is not None else 0.0,
                fuel_l=float(fuel_h[sel].sum()),
                outside_kwh=outside,
            )
        )
    return WeekOutlook(
        days=days,
        projection=projection,
        generator_w=generator_w,
        generator_rule=rule_text,
        soc_now_pct=soc_now_pct,
        floor_soc_pct=battery.min_soc_pct if battery is not None else None,
    )


def _spans(days: list[DayOutlook]) -> str:
    """'Thu–Fri', 'Tue, Thu' for the given days (consecutive ones joined)."""
    groups: list[list[DayOutlook]] = []
    for d in days:
        if groups and (d.day - groups[-1][-1].day).days == 1:
            groups[-1].append(d)
        else:
            groups.append([d])
    parts = []
    for g in groups:
        first, last = g[0].day.strftime("%a"), g[-1].day.strftime("%a")
        parts.append(first if len(g) == 1 else f"{first}–{last}")
    return ", ".join(parts)


def headline(site: Site, week: WeekOutlook) -> str:
    """The first line of a week outlook: fills, weak days, generator (P50)."""
    n = len(week.days)
    weak = [d for d in week.days if d.weak and d.hours >= 12]
    weak_text = ""
    if weak:
        pv = sum(d.pv_p50_kwh for d in weak) / len(weak)
        need = sum(d.load_p50_kwh for d in weak) / len(weak)
        looks = "looks" if len(weak) == 1 else "look"
        weak_text = (
            f"{_spans(weak)} {looks} weak (P50 {pv:.0f} kWh/day of solar vs "
            f"{need:.0f} kWh/day of load)"
        )
    if week.projection is None:
        covered = sum(1 for d in week.days if not d.weak)
        text = f"Solar covers the load on {covered} of {n} days"
        return text + (f"; {weak_text}." if weak_text else ".")
    fills = sum(1 for d in week.days if d.fills)
    text = f"Battery fills on {fills} of {n} days"
    if week.generator_w is not None:
        gen_days = sum(1 for d in week.days if d.generator_h)
        if gen_days:
            text += (
                f"; generator needed on {gen_days} of {n} days ({week.generator_hours} h, "
                f"about {week.fuel_l:.0f} L)"
            )
        else:
            text += "; no generator run needed"
    elif week.floor_soc_pct is not None:
        at_floor = [
            d
            for d in week.days
            if d.min_soc_pct is not None and d.min_soc_pct <= week.floor_soc_pct + 0.5
        ]
        if at_floor and not weak_text:
            text += f"; it reaches the {week.floor_soc_pct:g} % floor on {_spans(at_floor)}"
    return text + (f"; {weak_text}." if weak_text else ".")
