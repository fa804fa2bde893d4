"""Forecast chart as PNG bytes (matplotlib, Agg backend chosen at call time, no I/O)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, TypeAlias
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["PNG_SIGNATURE", "forecast_chart_figure", "forecast_chart_png", "time_axis_label"]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

Values: TypeAlias = pd.Series | Sequence[float] | npt.NDArray[np.float64]


def _kw(values: Values) -> npt.NDArray[np.float64]:
    arr = values.to_numpy() if isinstance(values, pd.Series) else np.asarray(values)
    return np.asarray(arr, dtype=np.float64) / 1000.0


def time_axis_label(tz: ZoneInfo, when: datetime) -> str:
    """The x-axis label of a chart in the site's local time, naming the zone."""
    abbrev = when.astimezone(tz).tzname() or ""
    return f"local time, {tz.key}" + (f" ({abbrev})" if abbrev and abbrev != tz.key else "")


def forecast_chart_png(
    *,
    times: pd.DatetimeIndex | Sequence[datetime],
    pv_p10_w: Values,
    pv_p50_w: Values,
    pv_p90_w: Values,
    load_w: Values,
    soc_pct: Values,
    title: str,
    generator_w: Values | None = None,
    tz: ZoneInfo | None = None,
) -> bytes:
    """:func:`forecast_chart_figure` as PNG bytes."""
    fig = forecast_chart_figure(
        times=times,
        pv_p10_w=pv_p10_w,
        pv_p50_w=pv_p50_w,
        pv_p90_w=pv_p90_w,
        load_w=load_w,
        soc_pct=soc_pct,
        title=title,
        generator_w=generator_w,
        tz=tz,
    )
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def forecast_chart_figure(
    *,
    times: pd.DatetimeIndex | Sequence[datetime],
    pv_p10_w: Values,
    pv_p50_w: Values,
    pv_p90_w: Values,
    load_w: Values,
    soc_pct: Values,
    title: str,
    generator_w: Values | None = None,
    tz: ZoneInfo | None = None,
) -> Figure:
    """A PV P10–P90 band with the P50 line, the load, and the projected SOC on a second axis.

    Power inputs [W] (plotted in kW) share ``times``; ``soc_pct`` [%] has either
    one value per time or one more (step boundaries, as
    :class:`tools.forecast.battery.SocProjection` gives), in which case it is
    drawn at the boundaries. ``generator_w`` [W], when given, is drawn as
    hourly bars (a generator run plan). The time axis is in ``tz`` (the site's
    zone), labelled with it; UTC, labelled, when ``tz`` is None.
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.dates import AutoDateLocator, DateFormatter
    from matplotlib.figure import Figure

    index = pd.DatetimeIndex(times)
    soc = np.asarray(soc_pct.to_numpy() if isinstance(soc_pct, pd.Series) else soc_pct, float)
    if len(index) == 0:
        raise ValueError("nothing to chart: times is empty")
    if len(soc) == len(index) + 1:
        step = index[-1] - index[-2] if len(index) > 1 else pd.Timedelta(hours=1)
        soc_times = index.append(pd.DatetimeIndex([index[-1] + step]))
    elif len(soc) == len(index):
        soc_times = index
    else:
        raise ValueError(f"soc_pct has {len(soc)} values for {len(index)} times")

    fig = Figure(figsize=(8, 4), dpi=100)
    ax = fig.add_subplot()
    x = index.to_pydatetime()
    ax.fill_between(x, _kw(pv_p10_w), _kw(pv_p90_w), color="gold", alpha=0.35, label="PV P10–P90")
    ax.plot(x, _kw(pv_p50_w), color="orange", label="PV P50")
    ax.plot(x, _kw(load_w), color="tab:blue", label="load")
    if generator_w is not None:
        ax.bar(x, _kw(generator_w), width=1 / 24, align="edge", color="grey", alpha=0.5,
               label="generator")  # fmt: skip
    ax.set_ylabel("power [kW]")
    ax.set_ylim(bottom=0)
    ax.set_title(title)
    soc_ax = ax.twinx()
    soc_ax.plot(soc_times.to_pydatetime(), soc, color="tab:green", linestyle="--", label="SOC")
    soc_ax.set_ylabel("SOC [%]")
    soc_ax.set_ylim(0, 100)
    lines = ax.get_legend_handles_labels()
    soc_lines = soc_ax.get_legend_handles_labels()
    ax.legend(lines[0] + soc_lines[0], lines[1] + soc_lines[1], loc="upper left", fontsize=8)
    zone = tz if tz is not None else ZoneInfo("UTC")
    ax.xaxis.set_major_locator(AutoDateLocator(tz=zone))
    ax.xaxis.set_major_formatter(DateFormatter("%a %H:%M", tz=zone))
    ax.set_xlabel(time_axis_label(tz, index[0].to_pydatetime()) if tz else "time (UTC)")
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig
