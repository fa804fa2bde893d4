"""Backtests of the PV forecast on recorded data (the load part lives elsewhere).

:func:`read_backtest_csv` is the one place that reads files; :func:`backtest_pv`
is pure: given a frame of measured PV (and optionally weather) it forecasts
each local day from data *before* that day only, and scores the forecasts on
hourly means over daylight hours.

CSV format (header row, comma separated)::

    time,pv_w,load_w,ghi_wm2,temp_c,cloud_cover_pct
    2016-07-01T07:00:00Z,-2.86,,0.0,14.5,
    2016-07-01T00:15:00-07:00,-2.79,,0.0,14.25,

``time``: ISO 8601 with a UTC offset or ``Z``; ``pv_w`` and/or ``load_w`` [W];
``ghi_wm2`` [W/m²], ``temp_c`` [°C], ``cloud_cover_pct`` [%] optional. Empty
cells are missing values. Each ``time`` labels the value at that instant (or
the interval the data logger averaged; :func:`tools.forecast.pv.calibrate`
finds the offset between the power and weather conventions).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable
from dataclasses import asdict
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pvlib

from tools.errors import ToolsError
from tools.forecast.calibration import (
    REPLAY_DAYS,
    WINDOW_DAYS,
    ResidualHistory,
    adaptive_band,
    pv_bucket,
)
from tools.forecast.pv import (
    NO_WEATHER_BAND_DAYS,
    NO_WEATHER_DAYS,
    SHIFT_CANDIDATES_MIN,
    PvParams,
    _fit,
    _model_by_shift,
    clear_sky_index,
    clear_sky_power_w,
    forecast_without_weather_bands,
    quantiles,
)
from tools.forecast.scoring import interval_scores
from tools.site import Site

__all__ = [
    "MIN_HISTORY_DAYS",
    "BacktestDataError",
    "backtest_pv",
    "plot_backtest",
    "read_backtest_csv",
]

KNOWN_COLUMNS = ("pv_w", "load_w", "ghi_wm2", "temp_c", "cloud_cover_pct")
WEATHER_COLUMNS = ("ghi_wm2", "temp_c", "cloud_cover_pct")
MIN_HISTORY_DAYS = 3
"""Days of history needed before the first scored day (when ``score_from`` is None)."""
BAND_MIN_CLEAR_FRACTION = 0.01
"""Hours whose clear-sky power is below this share of capacity keep the model's band."""
CALIBRATION_WINDOW_DAYS = 30
"""The with-weather model is calibrated on at most this many days before each day."""


class BacktestDataError(ToolsError):
    """The backtest file cannot be read; the message names the line and column."""


def _parse_time(text: str, *, line: int) -> pd.Timestamp:
    raw = text.strip()
    try:
        stamp = datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise BacktestDataError(
            f"line {line}, column time: {raw!r} is not an ISO 8601 time "
            "(e.g. 2016-07-01T12:00:00Z or 2016-07-01T05:00:00-07:00)"
        ) from None
    if stamp.tzinfo is None:
        raise BacktestDataError(
            f"line {line}, column time: {raw!r} has no UTC offset; add Z or an offset like -07:00"
        )
    return pd.Timestamp(stamp).tz_convert("UTC")


def _parse_number(text: str, *, line: int, column: str) -> float:
    raw = text.strip()
    if raw == "" or raw.lower() in ("nan", "null", "na"):
        return math.nan
    try:
        value = float(raw)
    except ValueError:
        raise BacktestDataError(f"line {line}, column {column}: {raw!r} is not a number") from None
    if not math.isfinite(value):
        raise BacktestDataError(f"line {line}, column {column}: {raw!r} is not a finite number")
    return value


def read_backtest_csv(path: Path | str) -> pd.DataFrame:
    """Read a backtest CSV into a frame indexed by UTC time, sorted, with float columns.

    Raises :class:`BacktestDataError` naming the file, line and column for an
    unreadable file, a missing ``time`` column, neither ``pv_w`` nor ``load_w``,
    an unparsable time or number, or a repeated time. Unknown columns are ignored.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as err:
        raise BacktestDataError(f"{path}: cannot read ({err.strerror})") from err
    except UnicodeDecodeError as err:
        raise BacktestDataError(f"{path}: not a UTF-8 text file") from err
    reader = csv.reader(io.StringIO(text))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise BacktestDataError(f"{path}: empty file; expected a header row") from None
    if "time" not in header:
        raise BacktestDataError(f"{path}: line 1: no 'time' column (found {', '.join(header)})")
    if "pv_w" not in header and "load_w" not in header:
        raise BacktestDataError(f"{path}: line 1: need a 'pv_w' and/or 'load_w' column")
    cols = {name: header.index(name) for name in KNOWN_COLUMNS if name in header}
    t_i = header.index("time")
    times: list[pd.Timestamp] = []
    values: dict[str, list[float]] = {name: [] for name in cols}
    seen: dict[pd.Timestamp, int] = {}
    for line, row in enumerate(reader, start=2):
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise BacktestDataError(
                f"{path}: line {line}: {len(row)} fields, the header has {len(header)}"
            )
        try:
            stamp = _parse_time(row[t_i], line=line)
            for name, i in cols.items():
                values[name].append(_parse_number(row[i], line=line, column=name))
        except BacktestDataError as err:
            raise BacktestDataError(f"{path}: {err}") from None
        if stamp in seen:
            raise BacktestDataError(
                f"{path}: line {line}, column time: {row[t_i].strip()} repeats line {seen[stamp]}"
            )
        seen[stamp] = line
        times.append(stamp)
    if not times:
        raise BacktestDataError(f"{path}: no data rows after the header")
    frame = pd.DataFrame(values, index=pd.DatetimeIndex(times, name="time"), dtype=np.float64)
    return frame.sort_index()


# --- scoring ------------------------------------------------------------------------------


def _local_day_bounds(site: Site, day: date) -> tuple[pd.Timestamp, pd.Timestamp]:
    def midnight(d: date) -> pd.Timestamp:
        return pd.Timestamp(d.year, d.month, d.day).tz_localize(
            site.timezone, nonexistent="shift_forward", ambiguous=True
        )

    return midnight(day).tz_convert("UTC"), midnight(day + timedelta(days=1)).tz_convert("UTC")


def _hourly(series: pd.Series) -> pd.Series:
    return series.resample("1h").mean()


def _daylight(site: Site, hours: pd.DatetimeIndex) -> np.ndarray:
    loc = site.location
    centre = hours + pd.Timedelta(minutes=30)
    elev = pvlib.solarposition.get_solarposition(
        centre, loc.latitude, loc.longitude, altitude=loc.altitude_m, method="nrel_numpy"
    )["apparent_elevation"]
    return np.asarray(elev.to_numpy(dtype=np.float64) > 0.0)


def _metrics(
    actual: np.ndarray,
    forecast: np.ndarray,
    persistence: np.ndarray,
    capacity_w: float,
    days: int,
    band: tuple[np.ndarray, np.ndarray],
) -> dict[str, float | int]:
    err = forecast - actual
    mae = float(np.mean(np.abs(err)))
    mae_p = float(np.mean(np.abs(persistence - actual)))
    mean_actual = float(np.mean(actual))
    return {
        "days": days,
        "hours": len(actual),
        "mae_w": round(mae, 1),
        "rmse_w": round(float(np.sqrt(np.mean(err**2))), 1),
        "bias_w": round(float(np.mean(err)), 1),
        "nmae_capacity_pct": round(100.0 * mae / capacity_w, 2),
        "nmae_mean_pct": round(100.0 * mae / mean_actual, 2) if mean_actual > 0 else math.nan,
        "persistence_mae_w": round(mae_p, 1),
        "persistence_nmae_capacity_pct": round(100.0 * mae_p / capacity_w, 2),
        "skill_vs_persistence": round(1.0 - mae / mae_p, 3) if mae_p > 0 else math.nan,
        **interval_scores(actual, band[0], band[1]),
    }


def backtest_pv(
    frame: pd.DataFrame,
    site: Site,
    *,
    score_from: date | None = None,
    keep_series: bool = False,
    on_day: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Day-by-day PV backtest with no look-ahead; metrics on hourly means in daylight.
    ``on_day(done, total)`` is told after each day (a progress bar).

    ``frame``: as from :func:`read_backtest_csv` (needs ``pv_w``; ``ghi_wm2``
    [W/m²] and optionally ``temp_c`` [°C] enable the with-weather block). Each
    local day (site time zone) from ``score_from`` (default: after
    :data:`MIN_HISTORY_DAYS` days of data) is forecast from data before its
    local midnight only: ``without_weather`` by
    :func:`~tools.forecast.pv.forecast_without_weather`; ``with_weather`` by the
    model calibrated on the previous :data:`CALIBRATION_WINDOW_DAYS` days, fed
    with the day's own weather as a perfect forecast. Scored hours: the sun's
    elevation at the hour's centre is above 0, the hour's measured mean exists,
    and so does the same hour of the previous day (the persistence forecast).

    Returns ``{"capacity_kwp", "score_from", "without_weather": {...},
    "with_weather": {...} (when weather columns exist), "calibration": {...}}``;
    each block holds ``days, hours, mae_w, rmse_w, bias_w, nmae_capacity_pct,
    nmae_mean_pct, persistence_mae_w, persistence_nmae_capacity_pct,
    skill_vs_persistence`` and the P10/P90 scores ``p10_p90_coverage_pct``,
    ``pinball_p10_w``, ``pinball_p90_w`` (:mod:`tools.forecast.scoring`). Bands:
    without weather, the 10/90 % weighted quantiles of the clear-sky index per
    clock time over the four weeks before the day; with weather, the calibrated ratio spread of the
    hour's clear-sky-index bin. With ``keep_series`` an ``"hourly"`` frame is added.
    """
    if "pv_w" not in frame.columns:
        raise BacktestDataError("the backtest data has no pv_w column")
    if not site.pv_arrays:
        raise BacktestDataError("the site has no PV arrays to backtest")
    pv = frame["pv_w"].astype(np.float64).clip(lower=0.0).dropna()
    if pv.empty:
        raise BacktestDataError("pv_w has no values")
    pv.index = pv.index.tz_convert("UTC")
    has_weather = "ghi_wm2" in frame.columns and bool(frame["ghi_wm2"].notna().any())
    capacity_w = sum(a.kwp for a in site.pv_arrays) * 1000.0
    tz = site.tz
    first_day = pv.index[0].astimezone(tz).date()
    last_day = pv.index[-1].astimezone(tz).date()
    start_day = score_from or first_day + timedelta(days=MIN_HISTORY_DAYS)

    pv_hourly = _hourly(pv)
    step = pd.Timedelta(pv.index.to_series().diff().median()) if len(pv) > 2 else None
    step = step if step is not None and step > pd.Timedelta(0) else pd.Timedelta(minutes=15)
    reach = NO_WEATHER_DAYS + NO_WEATHER_BAND_DAYS + 1
    span_start, _ = _local_day_bounds(site, start_day - timedelta(days=reach))
    _, span_end = _local_day_bounds(site, last_day)
    # clear sky is a pointwise function of time: precomputing it leaks nothing
    clear_w = clear_sky_power_w(
        site, pd.date_range(span_start, span_end, freq=step, inclusive="left")
    )
    modelled: dict[float, pd.Series] = {}
    csi = pd.Series(dtype=np.float64)
    if has_weather:
        weather = frame[[c for c in WEATHER_COLUMNS if c in frame.columns]].dropna(
            subset=["ghi_wm2"]
        )
        weather.index = weather.index.tz_convert("UTC")
        # pointwise model (no value depends on another row), so slicing it by day
        # afterwards cannot leak later data into earlier days
        modelled = _model_by_shift(site, weather, SHIFT_CANDIDATES_MIN)
        csi = clear_sky_index(site, weather)

    clear_hourly = _hourly(clear_w)
    blocks = ["without_weather"] + (["with_weather"] if has_weather else [])
    residuals = {block: ResidualHistory.empty() for block in blocks}
    tz_name = str(site.timezone)
    rows: list[pd.DataFrame] = []
    params_last = PvParams()
    day = start_day
    scored_days = 0
    total_days = (last_day - start_day).days + 1
    while day <= last_day:
        if on_day is not None:
            on_day((day - start_day).days, total_days)
        start, end = _local_day_bounds(site, day)
        actual = pv_hourly[(pv_hourly.index >= start) & (pv_hourly.index < end)]
        history = pv[pv.index < start]
        day_i = day
        day += timedelta(days=1)
        if actual.dropna().empty or history.empty:
            continue
        hours = actual.index
        yesterday = pv_hourly.reindex(hours - pd.Timedelta(days=1)).to_numpy()
        plain = forecast_without_weather_bands(site, history, day_i, clear_w=clear_w)
        row = pd.DataFrame(
            {"actual_w": actual.to_numpy(), "persistence_w": yesterday},
            index=hours,
        )
        for name, series in zip(("p10", "w", "p90"), plain, strict=True):
            row[f"without_weather_{name}"] = _hourly(series).reindex(hours).to_numpy()
        if has_weather:
            cal_start = start - pd.Timedelta(days=CALIBRATION_WINDOW_DAYS)
            hist_window = history[history.index >= cal_start]
            past = {s: m[(m.index >= cal_start) & (m.index < start)] for s, m in modelled.items()}
            params = _fit(site, hist_window, past, csi[csi.index < start])
            params_last = params
            model = modelled[params.time_shift_min] * params.derate
            model = model[(model.index >= start - pd.Timedelta(hours=1)) & (model.index < end)]
            on_grid = _on_grid(model, pv.index, start, end)
            near = csi[(csi.index >= start - pd.Timedelta(hours=1)) & (csi.index < end)]
            day_csi = _on_grid(near, pv.index, start, end).reindex(on_grid.index)
            p10, p50, p90 = quantiles(on_grid, day_csi.fillna(1.0), params)
            for name, series in (("p10", p10), ("w", p50), ("p90", p90)):
                row[f"with_weather_{name}"] = _hourly(series).reindex(hours).to_numpy()
        row["daylight"] = _daylight(site, hours)
        scale = clear_hourly.reindex(hours).to_numpy()
        scale = np.where(scale > BAND_MIN_CLEAR_FRACTION * capacity_w, scale, np.nan)
        for block in blocks:
            p50 = row[f"{block}_w"].to_numpy()
            buckets = pv_bucket(p50, np.nan_to_num(scale))
            band = adaptive_band(
                residuals[block],
                before=start,
                times=hours,
                tz=tz_name,
                p50_w=p50,
                scale_w=scale,
                model_p10_w=row[f"{block}_p10"].to_numpy(),
                model_p90_w=row[f"{block}_p90"].to_numpy(),
                bucket=buckets,
                cap_w=capacity_w,
                circular_hours=False,
            )
            row[f"{block}_model_p10"] = row[f"{block}_p10"]
            row[f"{block}_model_p90"] = row[f"{block}_p90"]
            row[f"{block}_p10"] = band.p10_w
            row[f"{block}_p90"] = band.p90_w
            row[f"{block}_calibrated"] = band.calibrated
            residuals[block] = (
                residuals[block]
                .extend(
                    ResidualHistory.build(
                        hours,
                        tz=tz_name,
                        p50_w=p50,
                        p10_w=row[f"{block}_model_p10"].to_numpy(),
                        p90_w=row[f"{block}_model_p90"].to_numpy(),
                        actual_w=row["actual_w"].to_numpy(),
                        scale_w=scale,
                        bucket=buckets,
                    )
                )
                .since(start - pd.Timedelta(days=REPLAY_DAYS + WINDOW_DAYS + 1))
            )
        rows.append(row)
        scored_days += 1
    if not rows:
        raise BacktestDataError(
            f"no day to score: data {first_day}..{last_day}, scoring from {start_day}"
        )
    table = pd.concat(rows)
    usable = table["daylight"] & table["actual_w"].notna() & table["persistence_w"].notna()
    result: dict[str, Any] = {
        "capacity_kwp": capacity_w / 1000.0,
        "score_from": start_day.isoformat(),
        "score_to": last_day.isoformat(),
    }
    for block in blocks:
        ok = usable & table[f"{block}_w"].notna()
        scored = table[ok]
        if scored.empty:
            continue
        days = len({t.astimezone(tz).date() for t in scored.index})
        result[block] = _metrics(
            scored["actual_w"].to_numpy(),
            scored[f"{block}_w"].to_numpy(),
            scored["persistence_w"].to_numpy(),
            capacity_w,
            days,
            (scored[f"{block}_p10"].to_numpy(), scored[f"{block}_p90"].to_numpy()),
        )
        result[block].update(_band_report(scored, block, tz))
    if has_weather:
        cal = asdict(params_last)
        result["calibration"] = {
            "derate": round(cal["derate"], 4),
            "time_shift_min": cal["time_shift_min"],
            "q10": [round(x, 3) for x in cal["q10"]],
            "q90": [round(x, 3) for x in cal["q90"]],
        }
    if keep_series:
        result["hourly"] = table
    return result


def _band_report(scored: pd.DataFrame, block: str, tz: Any) -> dict[str, Any]:
    """Coverage of the calibrated band where it was calibrated, and of the model's own band."""
    actual = scored["actual_w"].to_numpy()
    cal = scored[f"{block}_calibrated"].to_numpy(dtype=bool)
    model = interval_scores(
        actual, scored[f"{block}_model_p10"].to_numpy(), scored[f"{block}_model_p90"].to_numpy()
    )
    out: dict[str, Any] = {
        "band": "conformal (own errors, 28 days)",
        "calibrated_days": len({t.astimezone(tz).date() for t in scored.index[cal]}),
        "model_band_p10_p90_coverage_pct": model["p10_p90_coverage_pct"],
        "model_band_pinball_p10_w": model["pinball_p10_w"],
        "model_band_pinball_p90_w": model["pinball_p90_w"],
    }
    if cal.any():
        own = interval_scores(
            actual[cal],
            scored[f"{block}_p10"].to_numpy()[cal],
            scored[f"{block}_p90"].to_numpy()[cal],
        )
        out["calibrated_p10_p90_coverage_pct"] = own["p10_p90_coverage_pct"]
    return out


def _on_grid(
    model: pd.Series, grid: pd.DatetimeIndex, start: pd.Timestamp, end: pd.Timestamp
) -> pd.Series:
    """Modelled power on the measured grid of one day (exact or time-interpolated)."""
    day_grid = grid[(grid >= start) & (grid < end)]
    if model.index.equals(day_grid):
        return model
    union = model.index.union(day_grid)
    out = model.reindex(union).interpolate(method="time", limit_area="inside")
    return out.reindex(day_grid)


def plot_backtest(result: dict[str, Any], *, title: str = "PV backtest") -> bytes:
    """PNG of measured vs forecast hourly power [W]; needs ``backtest_pv(keep_series=True)``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = result.get("hourly")
    if not isinstance(table, pd.DataFrame):
        raise ValueError("plot_backtest needs a result from backtest_pv(..., keep_series=True)")
    fig, ax = plt.subplots(figsize=(12, 4), dpi=100)
    try:
        ax.plot(table.index, table["actual_w"], color="black", lw=1.0, label="measured")
        ax.plot(table.index, table["persistence_w"], color="grey", lw=0.7, label="persistence")
        ax.plot(table.index, table["without_weather_w"], lw=0.9, label="no weather")
        if "with_weather_w" in table.columns:
            ax.plot(table.index, table["with_weather_w"], lw=0.9, label="with weather")
        ax.set_ylabel("hourly mean AC power [W]")
        ax.set_title(title)
        ax.legend(loc="upper right", fontsize="small")
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
    finally:
        plt.close(fig)
    return buf.getvalue()
