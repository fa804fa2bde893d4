"""Words for the week outlook and the daily load forecast (pure: data in, text out)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from tools.forecast.week import LeadGrowth, WeekOutlook, headline
from tools.site import Site

__all__ = ["DailyLoad", "clear_sky_assumption", "daily_load", "week_lines"]

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
