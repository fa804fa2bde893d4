"""Week-ahead backtest: how the P10-P90 bands cover by lead day (pure; files are read by
:func:`tools.forecast.backtest.read_backtest_csv`).

Each issue day D (local midnight, every ``every_days`` days) forecasts the next
``horizon_days`` local days from data strictly before D only:

- ``load``: :func:`tools.forecast.load.forecast_load` for ``horizon_days x 24`` hours
  (days after the first recursive, as live);
- ``pv_no_weather``: :func:`tools.forecast.pv.forecast_without_weather_bands` for each
  day D + k from the history before D (no later measurement is seen).

Each forecast hour is scored at its lead day (1 = day D). Two bands are scored: the
model's own, and the *week band*: the model's band stretched at lead 1 so that it
would have covered 80 % of the earlier lead-1 hours (a stand-in for the live
hour-by-hour conformal band of :mod:`tools.forecast.calibration`), then widened by
lead day with :func:`tools.forecast.week.lead_growth`; both measured, as live, only on
earlier issues' hours that lie before D (the last :data:`LEAD_HISTORY_DAYS` days),
with the stated default growth while they are too few.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from tools.forecast.backtest import BacktestDataError
from tools.forecast.calibration import load_scale_w, pv_scale_w
from tools.forecast.load import forecast_load
from tools.forecast.pv import clear_sky_power_w, forecast_without_weather_bands
from tools.forecast.week import (
    DEFAULT_GROWTH_PER_DAY,
    lead_days,
    lead_growth,
    widen,
    width_scores,
)
from tools.site import Site

__all__ = ["backtest_week"]

LEAD_HISTORY_DAYS = 35
MIN_HISTORY_DAYS = 28


def _midnight(day: date, tz: str) -> pd.Timestamp:
    naive = pd.Timestamp(day.year, day.month, day.day)
    return naive.tz_localize(tz, nonexistent="shift_forward", ambiguous=True).tz_convert("UTC")


def _hourly(series: pd.Series) -> pd.Series:
    shifted = series.dropna()
    return shifted.resample("1h").mean()


def _issue_rows(
    block: str,
    issue: pd.Timestamp,
    times: pd.DatetimeIndex,
    p10: np.ndarray,
    p50: np.ndarray,
    p90: np.ndarray,
    actual: pd.Series,
    scale: np.ndarray,
    tz: str,
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "block": block,
            "issue": issue,
            "lead": lead_days(times, issue, tz),
            "p10_w": p10,
            "p50_w": p50,
            "p90_w": p90,
            "actual_w": actual.reindex(times).to_numpy(),
            "scale_w": scale,
        },
        index=times,
    )


def backtest_week(
    frame: pd.DataFrame,
    site: Site,
    *,
    score_from: date | None = None,
    score_to: date | None = None,
    horizon_days: int = 7,
    every_days: int = 1,
    on_issue: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Coverage of the week-ahead bands by lead day (see the module doc).

    ``frame``: UTC-indexed with ``load_w`` and/or ``pv_w`` [W]. Returns per block
    (``load``, ``pv_no_weather``) ``{"issues", "growth": [...], "by_lead": [{"lead",
    "hours", "coverage_model_pct", "coverage_week_pct", "mae_w", "nmae_mean_pct",
    "below_p10_pct", "above_p90_pct"}, ...]}``; ``growth`` is the widening measured on
    the whole scored period (what a site with this history would use).
    """
    if horizon_days < 1:
        raise BacktestDataError("--horizon-days must be at least 1")
    tz = str(site.timezone)
    series: dict[str, pd.Series] = {}
    for column in ("load_w", "pv_w"):
        if column in frame.columns and bool(frame[column].notna().any()):
            s = frame[column].astype(np.float64).dropna()
            s.index = pd.DatetimeIndex(s.index).tz_convert("UTC")
            series[column] = s.sort_index()
    if not series:
        raise BacktestDataError("the backtest data has neither load_w nor pv_w")
    if "pv_w" in series and not site.pv_arrays:
        series.pop("pv_w")
    start_utc = min(s.index[0] for s in series.values())
    end_utc = max(s.index[-1] for s in series.values())
    first = start_utc.tz_convert(tz).date() + timedelta(days=MIN_HISTORY_DAYS)
    last = end_utc.tz_convert(tz).date() - timedelta(days=horizon_days - 1)
    first = max(first, score_from) if score_from else first
    last = min(last, score_to) if score_to else last
    if last < first:
        raise BacktestDataError(f"no issue day to score between {first} and {last}")
    issues = [first + timedelta(days=k) for k in range(0, (last - first).days + 1, every_days)]
    hourly = {k: _hourly(v) for k, v in series.items()}
    clear_w = pd.Series(dtype=np.float64)
    clear_hourly = pd.Series(dtype=np.float64)
    capacity_w = sum(a.kwp for a in site.pv_arrays) * 1000.0
    if "pv_w" in series:
        pv = series["pv_w"]
        step = pd.Timedelta(pv.index.to_series().diff().median())
        span = pd.date_range(
            _midnight(first - timedelta(days=60), tz),
            _midnight(last + timedelta(days=horizon_days + 1), tz),
            freq=step,
            inclusive="left",
        )
        clear_w = clear_sky_power_w(site, span)  # pointwise in time: no look-ahead
        clear_hourly = _hourly(clear_w)
    rows: list[pd.DataFrame] = []
    for n, day in enumerate(issues):
        if on_issue is not None:
            on_issue(n, len(issues))
        issue = _midnight(day, tz)
        end = _midnight(day + timedelta(days=horizon_days), tz)
        hours = int((end - issue) / pd.Timedelta(hours=1))
        times = pd.date_range(issue, periods=hours, freq="1h")
        if "load_w" in series:
            history = series["load_w"][series["load_w"].index < issue]
            if history.size >= 48:
                fc = forecast_load(history, start=issue, hours=hours, tz=tz)
                p50 = fc.p50_w.reindex(times).to_numpy()
                rows.append(
                    _issue_rows(
                        "load",
                        issue,
                        times,
                        fc.p10_w.reindex(times).to_numpy(),
                        p50,
                        fc.p90_w.reindex(times).to_numpy(),
                        hourly["load_w"],
                        load_scale_w(np.nan_to_num(p50)),
                        tz,
                    )
                )
        if "pv_w" in series:
            history = series["pv_w"][series["pv_w"].index < issue]
            if not history.empty:
                parts = []
                for k in range(horizon_days):
                    bands = forecast_without_weather_bands(
                        site, history, day + timedelta(days=k), clear_w=clear_w
                    )
                    parts.append([_hourly(b) for b in bands])
                p10s, p50s, p90s = (
                    pd.concat([p[i] for p in parts]).reindex(times).to_numpy() for i in range(3)
                )
                scale = pv_scale_w(clear_hourly.reindex(times).to_numpy(), capacity_w)
                rows.append(
                    _issue_rows(
                        "pv_no_weather", issue, times, p10s, p50s, p90s, hourly["pv_w"], scale, tz
                    )
                )
    if not rows:
        raise BacktestDataError("nothing to score")
    table = pd.concat(rows)
    table["z"] = width_scores(
        table["p10_w"].to_numpy(),
        table["p50_w"].to_numpy(),
        table["p90_w"].to_numpy(),
        table["actual_w"].to_numpy(),
    )
    table.loc[~np.isfinite(table["scale_w"].to_numpy()), "z"] = np.nan  # PV: night
    table["target_day"] = pd.DatetimeIndex(table.index).tz_convert(tz).date
    result: dict[str, Any] = {
        "score_from": issues[0].isoformat(),
        "score_to": issues[-1].isoformat(),
        "horizon_days": horizon_days,
        "every_days": every_days,
        "tz": tz,
    }
    for block, default in (
        ("load", DEFAULT_GROWTH_PER_DAY["load"]),
        ("pv_no_weather", DEFAULT_GROWTH_PER_DAY["pv_clear_sky"]),
    ):
        part = table[table["block"] == block]
        if part.empty:
            continue
        result[block] = _score_block(part, tz, default, horizon_days)
    return result


def _score_block(part: pd.DataFrame, tz: str, default: float, horizon_days: int) -> dict[str, Any]:
    """Week bands issue by issue (growth from earlier errors only), then coverage by lead."""
    target_hours = pd.DatetimeIndex(part.index)
    issues = sorted(set(part["issue"]))
    week_lo = np.full(len(part), np.nan)
    week_hi = np.full(len(part), np.nan)
    issue_col = part["issue"].to_numpy()
    measured_leads = 0
    for issue in issues:
        known = (
            (target_hours < issue)
            & (target_hours >= issue - pd.Timedelta(days=LEAD_HISTORY_DAYS))
            & np.isfinite(part["z"].to_numpy())
        )
        past = part[known]
        growth = lead_growth(
            past["lead"].to_numpy(),
            past["z"].to_numpy(),
            past["target_day"].to_numpy(),
            default_per_day=default,
            n_leads=horizon_days,
        )
        measured_leads = sum(growth.measured[1:])
        sel = issue_col == issue
        rows = part[sel]
        # lead 1 calibrated by the same stretch (live: the hour-by-hour conformal band)
        base = growth.lead1_stretch if growth.lead1_stretch is not None else 1.0
        lo, hi = widen(
            rows["p10_w"].to_numpy(),
            rows["p50_w"].to_numpy(),
            rows["p90_w"].to_numpy(),
            base * growth.factor(rows["lead"].to_numpy()),
        )
        week_lo[sel], week_hi[sel] = lo, hi
    ok = np.isfinite(part["actual_w"].to_numpy()) & np.isfinite(part["p50_w"].to_numpy())
    ok &= np.isfinite(part["scale_w"].to_numpy())
    final = lead_growth(
        part["lead"].to_numpy()[ok],
        part["z"].to_numpy()[ok],
        part["target_day"].to_numpy()[ok],
        default_per_day=default,
        n_leads=horizon_days,
    )
    by_lead = []
    actual = part["actual_w"].to_numpy()
    for d in range(1, horizon_days + 1):
        sel = ok & (part["lead"].to_numpy() == d)
        a = actual[sel]
        if a.size == 0:
            continue
        p10, p50, p90 = (part[c].to_numpy()[sel] for c in ("p10_w", "p50_w", "p90_w"))
        lo, hi = week_lo[sel], week_hi[sel]
        mean = float(np.mean(a))
        by_lead.append(
            {
                "lead": d,
                "hours": int(a.size),
                "coverage_model_pct": round(100.0 * float(np.mean((p10 <= a) & (a <= p90))), 1),
                "coverage_week_pct": round(100.0 * float(np.mean((lo <= a) & (a <= hi))), 1),
                "below_p10_pct": round(100.0 * float(np.mean(a < lo)), 1),
                "above_p90_pct": round(100.0 * float(np.mean(a > hi)), 1),
                "mae_w": round(float(np.mean(np.abs(p50 - a))), 1),
                "nmae_mean_pct": round(100.0 * float(np.mean(np.abs(p50 - a))) / mean, 1)
                if mean > 0
                else None,
                "mean_width_week_w": round(float(np.mean(hi - lo)), 1),
            }
        )
    return {
        "issues": len(issues),
        "growth": list(final.factors),
        "growth_note": final.note,
        "measured_leads_last_issue": measured_leads,
        "by_lead": by_lead,
    }
