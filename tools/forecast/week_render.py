"""Words for the week outlook and the daily load forecast (pure: data in, text out)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from tools.forecast.battery import FULL_SOC_PCT
from tools.forecast.pv import LiveCalibration
from tools.forecast.week import LeadGrowth, WeekOutlook, headline
from tools.site import Site

__all__ = [
    "DailyLoad",
    "clear_sky_assumption",
    "daily_load",
    "load_why",
    "week_lines",
    "week_summary",
    "week_why",
]

BAND_DAYS = 28
"""Days of measured daily totals behind the daily load band."""
MIN_BAND_DAYS = 7
COMPLETE_DAY_H = 20
"""Hours a measured day needs to count as a whole day."""


def clear_sky_assumption(site: Site, derate: float | None) -> str:
    """What a week on clear-sky solar assumes, in one sentence."""
    cal = (
        f"at the {derate * 100:.0f} % of modelled output this site's panels have measured"
        if derate is not None
        else "at the panels' rated output (no calibration on this site's history yet)"
    )
    return (
        "No weather forecast is configured: every day assumes a cloudless sky "
        f"{cal}, so solar is a ceiling and cloudy days are not foreseen."
    )


def week_lines(
    site: Site,
    week: WeekOutlook,
    *,
    weather_source: str,
    pv_growth: LeadGrowth,
    load_growth: LeadGrowth,
    derate: float | None,
) -> list[str]:
    """The answer: the headline, one line per day, then where the figures come from."""
    lines = [headline(site, week)]
    if weather_source != "open-meteo":
        lines.append(
            clear_sky_assumption(site, derate)
            if weather_source == "clear-sky"
            else "The weather service is unavailable: clear-sky solar, so this is optimistic."
        )
    for d in week.days:
        part = (
            f"{d.day.strftime('%a %d %b')}: solar {d.pv_p50_kwh:.1f} kWh "
            f"({d.pv_p10_kwh:.1f}–{d.pv_p90_kwh:.1f}), load {d.load_p50_kwh:.1f} kWh"
        )
        if d.min_soc_pct is not None:
            part += f", lowest {d.min_soc_pct:.0f} %" + (", fills" if d.fills else "")
        if week.generator_w is not None:
            part += f", generator {d.generator_h} h" + (
                f" ({d.fuel_l:.0f} L)" if d.generator_h else ""
            )
        if d.hours < 24:
            part += f" (next {d.hours} h)"
        lines.append("• " + part)
    notes = [pv_growth.note, load_growth.note]
    if week.generator_rule:
        notes.append(week.generator_rule)
    lines.append("P50 with P10–P90; " + "; ".join(notes) + ".")
    return lines


def week_summary(week: WeekOutlook) -> str:
    """The week in one line under the headline: solar against load, the lowest battery."""
    pv = sum(d.pv_p50_kwh for d in week.days)
    load = sum(d.load_p50_kwh for d in week.days)
    text = f"Over {len(week.days)} days: {pv:.0f} kWh of solar against {load:.0f} kWh of load (P50)"
    lows = [d for d in week.days if d.min_soc_pct is not None]
    if lows:
        low = min(lows, key=lambda d: d.min_soc_pct or 0.0)
        text += f"; the battery is lowest on {low.day:%a} ({low.min_soc_pct:.0f} %)"
    return text + "."


def _factors(growth: LeadGrowth) -> str:
    """'×1.00 today … ×1.90 on day 7' with how many lead days were measured."""
    measured = sum(growth.measured[1:])
    return (
        f"×{growth.factors[0]:.2f} on day 1 to ×{growth.factors[-1]:.2f} on day "
        f"{len(growth.factors)}; {measured} of {len(growth.factors) - 1} later lead days "
        "measured on the site's own errors"
    )


def week_why(
    site: Site,
    week: WeekOutlook,
    *,
    weather_source: str,
    calibration: LiveCalibration | None,
    band_note: str,
    load_method: str,
    pv_growth: LeadGrowth,
    load_growth: LeadGrowth,
) -> str:
    """The reasons behind a week outlook (pure): where solar and load come from, how the
    bands were set and widen with lead time, and the battery start and floor used."""
    pv = sum(d.pv_p50_kwh for d in week.days)
    load = sum(d.load_p50_kwh for d in week.days)
    hours = sum(d.hours for d in week.days)
    lines = []
    if weather_source == "open-meteo":
        source = "the Open-Meteo weather forecast through the PV model"
    elif weather_source == "clear-sky-fallback":
        source = "a clear sky, because the weather service did not answer"
    else:
        source = "a clear sky, because no weather forecast is configured (COMMANDCENTER_WEATHER)"
    cal = (
        f"; the panels' output scaled by {calibration.derate * 100:.0f} % as measured on "
        f"{calibration.clear_days} clear days of this site's history"
        if calibration is not None
        else "; no calibration on this site's history yet (rated output)"
    )
    lines.append(f"Solar: {pv:.0f} kWh P50 over the next {hours} h, from {source}{cal}.")
    lines.append(f"Load: {load:.0f} kWh P50, from {load_method}.")
    lines.append(
        "Bands: "
        + (band_note or "the models' own P10–P90")
        + f"; then widened with lead time: PV {_factors(pv_growth)} ({pv_growth.note}); "
        f"load {_factors(load_growth)} ({load_growth.note})."
    )
    if week.projection is not None and week.soc_now_pct is not None and site.battery is not None:
        b = site.battery
        lines.append(
            f"Battery: starts from the {week.soc_now_pct:.0f} % reading of "
            f"{b.capacity_kwh:g} kWh, stepped hour by hour on P50 solar and load; floor "
            f"{week.floor_soc_pct:g} % (min_soc_pct); a day 'fills' when it reaches "
            f"{FULL_SOC_PCT:g} %."
        )
    elif site.battery is not None:
        lines.append("Battery: no SOC reading yet, so no projection.")
    else:
        lines.append("Battery: none; a day is weak when its P50 solar is below its P50 load.")
    if week.generator_rule:
        lines.append(f"Generator: {week.generator_rule}.")
    return "Why: " + "\n".join(lines)


def load_why(load: DailyLoad, *, load_method: str, history_days: int) -> str:
    """The reasons behind a day's load forecast (pure)."""
    lines = [
        f"Model: {load_method}, from {history_days} day(s) with stored hourly load.",
    ]
    if load.measured_so_far_kwh > 0:
        lines.append(
            f"{load.measured_so_far_kwh:.1f} kWh of the day is already measured; the forecast "
            "covers the remaining hours."
        )
    lines.append(f"Range: {load.band_note}.")
    if load.same_weekday is not None and load.same_weekday_kwh is not None:
        lines.append(
            f"Same weekday: {load.same_weekday.isoformat()} measured {load.same_weekday_kwh:.1f} "
            f"kWh ({COMPLETE_DAY_H} or more hours of readings make a whole day)."
        )
    else:
        lines.append(
            f"Same weekday: none whole in the last {BAND_DAYS} days ({COMPLETE_DAY_H} hours of "
            "readings needed)."
        )
    if load.peak_at is None:
        lines.append("Peak: the forecast is flat, so no peak hour.")
    return "Why: " + "\n".join(lines)


@dataclass(frozen=True, slots=True, kw_only=True)
class DailyLoad:
    day: date
    p10_kwh: float
    p50_kwh: float
    p90_kwh: float
    measured_so_far_kwh: float
    """Part of the day already measured (today only) [kWh]."""
    peak_at: pd.Timestamp | None
    peak_kw: float
    band_note: str
    same_weekday: date | None
    same_weekday_kwh: float | None


def _daily_totals(actual_w: pd.Series, tz: str) -> pd.Series:
    """Measured kWh per local day for days with at least :data:`COMPLETE_DAY_H` hours."""
    if actual_w.empty:
        return pd.Series(dtype=np.float64)
    local = actual_w.dropna()
    local.index = pd.DatetimeIndex(local.index).tz_convert(tz)
    grouped = local.groupby(local.index.date)
    counts = grouped.count()
    means = grouped.mean()
    full = counts[counts >= COMPLETE_DAY_H].index
    return (means[full] * 24.0 / 1000.0).astype(np.float64)


def daily_load(
    site: Site,
    *,
    day: date,
    today: date,
    forecast_p50_w: pd.Series,
    actual_w: pd.Series,
) -> DailyLoad:
    """The load of local ``day``: forecast P50 (plus what is measured of it when it is
    today), a P10–P90 from the spread of the last :data:`BAND_DAYS` days' measured daily
    totals (same kind of day, weekday or weekend, when there are enough), the peak hour
    of the P50, and the measured total of the last same weekday."""
    tz = str(site.timezone)
    local = pd.DatetimeIndex(forecast_p50_w.index).tz_convert(tz)
    rest = forecast_p50_w[np.asarray(local.date == day)]
    measured_so_far = 0.0
    hourly = rest.copy()
    if day == today:
        seen = actual_w.dropna()
        seen_local = pd.DatetimeIndex(seen.index).tz_convert(tz)
        done = seen[np.asarray(seen_local.date == day)]
        measured_so_far = float(done.sum()) / 1000.0
        hourly = pd.concat([done, rest]).sort_index()
    p50 = measured_so_far + float(rest.sum()) / 1000.0
    totals = _daily_totals(actual_w, tz)
    totals = totals[[d for d in totals.index if today - timedelta(days=BAND_DAYS) <= d < today]]
    weekend = day.weekday() >= 5
    same_kind = totals[[d for d in totals.index if (d.weekday() >= 5) == weekend]]
    pool = same_kind if len(same_kind) >= MIN_BAND_DAYS else totals
    if len(pool) >= MIN_BAND_DAYS and float(pool.median()) > 0:
        ratio = pool.to_numpy() / float(pool.median())
        lo_r, hi_r = np.quantile(ratio, [0.1, 0.9])
        # the measured part of today is known; only the rest is uncertain
        rest_kwh = p50 - measured_so_far
        p10 = measured_so_far + rest_kwh * min(float(lo_r), 1.0)
        p90 = measured_so_far + rest_kwh * max(float(hi_r), 1.0)
        kind = "weekday" if not weekend else "weekend"
        band_note = (
            f"range from the spread of the last {len(pool)} "
            + (f"{kind} " if pool is same_kind else "")
            + "days' measured totals"
        )
    else:
        p10 = p90 = p50
        band_note = (
            f"no range: {len(totals)} whole measured days in the last {BAND_DAYS}, "
            f"{MIN_BAND_DAYS} needed"
        )
    peak_at = hourly.idxmax() if not hourly.empty else None
    peak_kw = float(hourly.max()) / 1000.0 if not hourly.empty else 0.0
    if not hourly.empty and float(hourly.max() - hourly.min()) <= 0.01 * float(hourly.max()):
        peak_at = None  # a flat forecast has no peak hour
    same: date | None = None
    same_kwh: float | None = None
    for back in range(7, BAND_DAYS + 1, 7):
        candidate = day - timedelta(days=back)
        if candidate < today and candidate in totals.index:
            same, same_kwh = candidate, float(totals[candidate])
            break
    return DailyLoad(
        day=day,
        p10_kwh=p10,
        p50_kwh=p50,
        p90_kwh=p90,
        measured_so_far_kwh=measured_so_far,
        peak_at=None if peak_at is None else pd.Timestamp(peak_at),
        peak_kw=peak_kw,
        band_note=band_note,
        same_weekday=same,
        same_weekday_kwh=same_kwh,
    )
