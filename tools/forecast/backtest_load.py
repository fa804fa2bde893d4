"""Backtest of the load forecast on recorded data (pure; files are read by
:func:`tools.forecast.backtest.read_backtest_csv`, column ``load_w`` [W]).

Each local day (zone ``tz``) from ``score_from`` is forecast at its local
midnight by :func:`tools.forecast.load.forecast_load` from data strictly
before that midnight, and scored on hourly means over all hours of the day
against the measurement and against persistence (the same hour yesterday).
"""

from __future__ import annotations

import io
import math
import warnings
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from tools.forecast.backtest import BacktestDataError
from tools.forecast.calibration import REPLAY_DAYS, WINDOW_DAYS, ResidualHistory, adaptive_band
from tools.forecast.load import P50_FLOOR_W, forecast_load
from tools.forecast.scoring import interval_scores

__all__ = [
    "MIN_HISTORY_DAYS",
    "backtest_load",
    "drop_days",
    "plot_load_backtest",
    "same_hour_mean_w",
]

MIN_HISTORY_DAYS = 28
"""Days of data before the first scored day when ``score_from`` is None."""
BASELINE_DAYS = 28
"""Days behind the same-hour-mean baseline."""
AFTER_GAP_DAYS = 14
"""Days after each artificial gap scored in the ``after_gaps`` block."""


def _midnight(day: date, tz: str) -> pd.Timestamp:
    naive = pd.Timestamp(day.year, day.month, day.day)
    return naive.tz_localize(tz, nonexistent="shift_forward", ambiguous=True).tz_convert("UTC")


def _load_series(frame: pd.DataFrame) -> pd.Series:
    if "load_w" not in frame.columns:
        raise BacktestDataError("the backtest data has no load_w column")
    load = frame["load_w"].astype(np.float64).dropna()
    if load.empty:
        raise BacktestDataError("load_w has no values")
    if not isinstance(load.index, pd.DatetimeIndex) or load.index.tz is None:
        raise BacktestDataError("the backtest data needs a timezone-aware time index")
    load.index = load.index.tz_convert("UTC")
    return load.sort_index()


def _hourly_table(
    load: pd.Series,
    *,
    first_day: date,
    last_day: date,
    tz: str,
    on_day: Callable[[int, int], None] | None = None,
) -> tuple[pd.DataFrame, int]:
    """Per hour: actual, persistence and P10/P50/P90 for local days first..last."""
    hourly = load.resample("1h").mean()
    rows: list[pd.DataFrame] = []
    residuals = ResidualHistory.empty()
    days = 0
    day = first_day
    total_days = (last_day - first_day).days + 1
    while day <= last_day:
        if on_day is not None:
            on_day((day - first_day).days, total_days)
        start, end = _midnight(day, tz), _midnight(day + timedelta(days=1), tz)
        day += timedelta(days=1)
        history = load[load.index < start]
        actual = hourly[(hourly.index >= start) & (hourly.index < end)]
        if history.empty or actual.dropna().empty:
            continue
        n_hours = int((end - start) / pd.Timedelta(hours=1))
        fc = forecast_load(history, start=start, hours=n_hours, tz=tz)
        hours = fc.p50_w.index
        p50 = fc.p50_w.to_numpy()
        scale = np.maximum(p50, P50_FLOOR_W)
        band = adaptive_band(
            residuals,
            before=start,
            times=hours,
            tz=tz,
            p50_w=p50,
            scale_w=scale,
            model_p10_w=fc.p10_w.to_numpy(),
            model_p90_w=fc.p90_w.to_numpy(),
        )
        actual_w = actual.reindex(hours).to_numpy()
        rows.append(
            pd.DataFrame(
                {
                    "actual_w": actual_w,
                    "persistence_w": hourly.reindex(hours - pd.Timedelta(days=1)).to_numpy(),
                    "mean28_w": same_hour_mean_w(hourly, hours),
                    "p10_w": band.p10_w,
                    "p50_w": p50,
                    "p90_w": band.p90_w,
                    "model_p10_w": fc.p10_w.to_numpy(),
                    "model_p90_w": fc.p90_w.to_numpy(),
                    "calibrated": band.calibrated,
                },
                index=hours,
            )
        )
        residuals = residuals.extend(
            ResidualHistory.build(
                hours,
                tz=tz,
                p50_w=p50,
                p10_w=fc.p10_w.to_numpy(),
                p90_w=fc.p90_w.to_numpy(),
                actual_w=actual_w,
                scale_w=scale,
            )
        ).since(start - pd.Timedelta(days=REPLAY_DAYS + WINDOW_DAYS + 1))
        days += 1
    if not rows:
        raise BacktestDataError(f"no day to score between {first_day} and {last_day}")
    return pd.concat(rows), days


def same_hour_mean_w(hourly: pd.Series, hours: pd.DatetimeIndex) -> np.ndarray:
    """The baseline: mean of the same hour over the :data:`BASELINE_DAYS` days before each
    hour's day (24 h steps in UTC; the days that were measured) [W]; NaN with none."""
    lagged = np.vstack(
        [
            hourly.reindex(hours - pd.Timedelta(days=k)).to_numpy()
            for k in range(1, BASELINE_DAYS + 1)
        ]
    )
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an hour never measured -> NaN
        return np.asarray(np.nanmean(lagged, axis=0), dtype=np.float64)


def _day_range(load: pd.Series, score_from: date | None, tz: str) -> tuple[date, date]:
    first = load.index[0].tz_convert(tz).date()
    last = load.index[-1].tz_convert(tz).date()
    start = score_from or first + timedelta(days=MIN_HISTORY_DAYS)
    if start <= first:
        start = first + timedelta(days=1)  # the first day has no history before it
    if start > last:
        raise BacktestDataError(
            f"no day to score: data {first}..{last} (local), scoring from {start}"
        )
    return start, last


def drop_days(load: pd.Series, gaps: Sequence[tuple[date, int]], tz: str) -> pd.Series:
    """``load`` without the local days ``[day, day + n)`` of each ``(day, n)`` (an outage)."""
    keep = np.ones(len(load), dtype=bool)
    for day, n_days in gaps:
        if n_days < 1:
            raise BacktestDataError(f"a gap needs at least one day (got {n_days} from {day})")
        start, end = _midnight(day, tz), _midnight(day + timedelta(days=n_days), tz)
        keep &= ~((load.index >= start) & (load.index < end))
    return load[keep]


def _after_gaps(table: pd.DataFrame, gaps: Sequence[tuple[date, int]], tz: str) -> dict[str, Any]:
    """Scores over the :data:`AFTER_GAP_DAYS` days after each gap (hours where the
    forecast, persistence and the 28-day mean all exist)."""
    mask = np.zeros(len(table), dtype=bool)
    for day, n_days in gaps:
        start = _midnight(day + timedelta(days=n_days), tz)
        end = start + pd.Timedelta(days=AFTER_GAP_DAYS)
        mask |= (table.index >= start) & (table.index < end)
    t = table[mask]
    t = t[t["actual_w"].notna() & t["persistence_w"].notna() & t["mean28_w"].notna()]
    if t.empty:
        return {"hours": 0}
    actual = t["actual_w"].to_numpy()
    mae = float(np.mean(np.abs(t["p50_w"].to_numpy() - actual)))
    mae_p = float(np.mean(np.abs(t["persistence_w"].to_numpy() - actual)))
    mae_b = float(np.mean(np.abs(t["mean28_w"].to_numpy() - actual)))
    return {
        "gaps": [f"{d.isoformat()}+{n}d" for d, n in gaps],
        "days_after_each": AFTER_GAP_DAYS,
        "hours": len(t),
        "mae_w": round(mae, 1),
        "persistence_mae_w": round(mae_p, 1),
        "mean28_mae_w": round(mae_b, 1),
        "skill_vs_persistence": round(1.0 - mae / mae_p, 3) if mae_p > 0 else math.nan,
        "mean28_skill_vs_persistence": round(1.0 - mae_b / mae_p, 3) if mae_p > 0 else math.nan,
        "skill_vs_mean28": round(1.0 - mae / mae_b, 3) if mae_b > 0 else math.nan,
        **interval_scores(actual, t["p10_w"].to_numpy(), t["p90_w"].to_numpy()),
    }


def backtest_load(
    frame: pd.DataFrame,
    *,
    score_from: date | None = None,
    tz: str = "UTC",
    keep_series: bool = False,
    gaps: Sequence[tuple[date, int]] = (),
    on_day: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Day-by-day load backtest with no look-ahead; metrics on hourly means over all hours.

    ``frame``: UTC-indexed with a ``load_w`` column [W] (as from
    ``read_backtest_csv``). Scored hours: the hour's measured mean and the same
    hour of the previous day (persistence) both exist. Returns ``days, hours,
    mae_w, rmse_w, bias_w (forecast - actual), nmae_mean_pct,
    persistence_mae_w, skill_vs_persistence (1 - MAE / persistence MAE),
    coverage_p10_p90`` (share of hours inside [P10, P90]), the same in percent
    ``p10_p90_coverage_pct`` (target 80), the pinball losses ``pinball_p10_w``
    and ``pinball_p90_w`` (see :mod:`tools.forecast.scoring`), plus ``score_from``,
    ``score_to``, ``tz``; with ``keep_series`` also the ``"hourly"`` frame.
    Raises :class:`~tools.forecast.backtest.BacktestDataError` when there is
    nothing to score.
    """
    load = _load_series(frame)
    if gaps:
        load = drop_days(load, gaps, tz)
        if load.empty:
            raise BacktestDataError("the gaps leave no load data")
    first, last = _day_range(load, score_from, tz)
    table, _ = _hourly_table(load, first_day=first, last_day=last, tz=tz, on_day=on_day)
    ok = (
        table["actual_w"].notna() & table["persistence_w"].notna() & table["p50_w"].notna()
    ).to_numpy()
    scored = table[ok]
    if scored.empty:
        raise BacktestDataError("no hour with both a measurement and the same hour yesterday")
    actual = scored["actual_w"].to_numpy()
    p50 = scored["p50_w"].to_numpy()
    err = p50 - actual
    mae = float(np.mean(np.abs(err)))
    mae_p = float(np.mean(np.abs(scored["persistence_w"].to_numpy() - actual)))
    mean_actual = float(np.mean(actual))
    inside = (scored["p10_w"].to_numpy() <= actual) & (actual <= scored["p90_w"].to_numpy())
    result: dict[str, Any] = {
        "score_from": first.isoformat(),
        "score_to": last.isoformat(),
        "tz": tz,
        "days": len({t.tz_convert(tz).date() for t in scored.index}),
        "hours": len(actual),
        "mae_w": round(mae, 1),
        "rmse_w": round(float(np.sqrt(np.mean(err**2))), 1),
        "bias_w": round(float(np.mean(err)), 1),
        "nmae_mean_pct": round(100.0 * mae / mean_actual, 2) if mean_actual > 0 else math.nan,
        "persistence_mae_w": round(mae_p, 1),
        "skill_vs_persistence": round(1.0 - mae / mae_p, 3) if mae_p > 0 else math.nan,
        "coverage_p10_p90": round(float(np.mean(inside)), 3),
        **interval_scores(actual, scored["p10_w"].to_numpy(), scored["p90_w"].to_numpy()),
        **_baseline_and_band(scored, mae, tz),
    }
    if gaps:
        result["after_gaps"] = _after_gaps(table, gaps, tz)
    if keep_series:
        result["hourly"] = table
    return result


def _baseline_and_band(scored: pd.DataFrame, mae: float, tz: str) -> dict[str, Any]:
    """The 28-day same-hour mean baseline (on the hours where it exists) and the band report."""
    actual = scored["actual_w"].to_numpy()
    out: dict[str, Any] = {}
    base = scored["mean28_w"].to_numpy()
    has = np.isfinite(base)
    if has.any():
        mae_b = float(np.mean(np.abs(base[has] - actual[has])))
        mae_f = float(np.mean(np.abs(scored["p50_w"].to_numpy()[has] - actual[has])))
        out["mean28_mae_w"] = round(mae_b, 1)
        out["skill_vs_mean28"] = round(1.0 - mae_f / mae_b, 3) if mae_b > 0 else math.nan
    model = interval_scores(
        actual, scored["model_p10_w"].to_numpy(), scored["model_p90_w"].to_numpy()
    )
    cal = scored["calibrated"].to_numpy(dtype=bool)
    out["band"] = "conformal (own errors, 28 days)"
    out["calibrated_days"] = len({t.tz_convert(tz).date() for t in scored.index[cal]})
    out["model_band_p10_p90_coverage_pct"] = model["p10_p90_coverage_pct"]
    out["model_band_pinball_p10_w"] = model["pinball_p10_w"]
    out["model_band_pinball_p90_w"] = model["pinball_p90_w"]
    if cal.any():
        own = interval_scores(
            actual[cal], scored["p10_w"].to_numpy()[cal], scored["p90_w"].to_numpy()[cal]
        )
        out["calibrated_p10_p90_coverage_pct"] = own["p10_p90_coverage_pct"]
    return out


def plot_load_backtest(
    frame: pd.DataFrame,
    *,
    tz: str = "UTC",
    week_start: date | None = None,
    title: str = "Load backtest",
) -> bytes:
    """PNG of one week: measured hourly load vs P50 with the P10-P90 band.

    ``week_start``: the first local day (default: the last seven days of data).
    The week is forecast exactly as in :func:`backtest_load` (no look-ahead).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    load = _load_series(frame)
    last = load.index[-1].tz_convert(tz).date()
    first_data = load.index[0].tz_convert(tz).date()
    start = week_start or max(last - timedelta(days=6), first_data + timedelta(days=1))
    end = min(start + timedelta(days=6), last)
    if start > end or start <= first_data:
        raise BacktestDataError(f"no week to plot from {start}: data {first_data}..{last}")
    table, _ = _hourly_table(load, first_day=start, last_day=end, tz=tz)
    index = table.index.tz_convert(tz)
    fig, ax = plt.subplots(figsize=(12, 4), dpi=100)
    try:
        ax.fill_between(
            index, table["p10_w"], table["p90_w"], color="tab:blue", alpha=0.25, label="P10-P90"
        )
        ax.plot(index, table["p50_w"], color="tab:blue", lw=1.0, label="P50 forecast")
        ax.plot(index, table["actual_w"], color="black", lw=1.0, label="measured")
        ax.set_ylabel("hourly mean load [W]")
        ax.set_title(f"{title}: {start} .. {end} ({tz})")
        ax.legend(loc="upper right", fontsize="small")
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
    finally:
        plt.close(fig)
    return buf.getvalue()
