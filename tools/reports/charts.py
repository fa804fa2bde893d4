"""Report charts with matplotlib (Agg, chosen at call time; no I/O): PNG for cards and
figures for the PDF."""

from __future__ import annotations

import io
from datetime import datetime, time
from typing import TYPE_CHECKING

from tools.forecast.charts import time_axis_label

if TYPE_CHECKING:
    from matplotlib.figure import Figure, SubFigure

    from tools.reports.service import Report

__all__ = ["daily_bars_figure", "efficiency_figure", "hourly_figure", "report_chart_png"]


def _figure(width: float = 8.0, height: float = 4.0) -> Figure:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100)


def _tidy(fig: Figure | SubFigure) -> None:
    """Tight layout for a whole figure (a PDF page's sub-figure is laid out by its page)."""
    from matplotlib.figure import Figure

    if isinstance(fig, Figure):
        fig.tight_layout()


def hourly_figure(report: Report, fig: Figure | SubFigure | None = None) -> Figure | SubFigure:
    """Hourly solar, load, grid (+ import / − export) and generator [kW], SOC [%] on a
    second axis, in the site's local time."""
    fig = fig or _figure()
    ax = fig.add_subplot()
    frame = report.hourly
    if frame.empty:
        ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes)
        return fig
    local = frame.index.tz_convert(report.site.tz).tz_localize(None).to_pydatetime()
    ax.fill_between(local, frame["solar_kw"].fillna(0), color="gold", alpha=0.5, label="solar")
    ax.plot(local, frame["load_kw"], color="tab:blue", label="load")
    if frame["grid_kw"].notna().any():
        ax.plot(local, frame["grid_kw"], color="tab:gray", label="grid (+import)")
    if frame["generator_kw"].notna().any():
        ax.plot(local, frame["generator_kw"], color="tab:red", label="generator")
    ax.axhline(0, color="black", linewidth=0.5)
    ax.set_ylabel("power [kW]")
    ax.set_title(f"{report.site.display_name}: {report.period.label}")
    ax.set_xlabel(time_axis_label(report.site.tz, frame.index[0].to_pydatetime()))
    handles, labels = ax.get_legend_handles_labels()
    if frame["soc_pct"].notna().any():
        soc_ax = ax.twinx()
        soc_ax.plot(local, frame["soc_pct"], color="tab:green", linestyle="--", label="SOC")
        soc_ax.set_ylim(0, 100)
        soc_ax.set_ylabel("SOC [%]")
        more = soc_ax.get_legend_handles_labels()
        handles, labels = handles + more[0], labels + more[1]
    ax.legend(handles, labels, loc="upper left", fontsize=8)
    fig.autofmt_xdate()
    _tidy(fig)
    return fig


def daily_bars_figure(report: Report, fig: Figure | SubFigure | None = None) -> Figure | SubFigure:
    """Energy per local day [kWh]: solar, grid import and generator bars, load as a line."""
    import numpy as np

    fig = fig or _figure()
    ax = fig.add_subplot()
    days = report.analytics.days
    x = np.arange(len(days))
    width = 0.27
    ax.bar(x - width, [d.flows.solar_kwh for d in days], width, color="gold", label="solar")
    ax.bar(x, [d.flows.grid_import_kwh for d in days], width, color="tab:gray", label="grid")
    ax.bar(
        x + width, [d.flows.generator_kwh for d in days], width, color="tab:red", label="generator"
    )
    ax.plot(x, [d.flows.load_kwh for d in days], color="tab:blue", marker="o", label="load")
    step = max(1, len(days) // 12)
    ax.set_xticks(x[::step], [f"{d.day:%a %d}" for d in days][::step], fontsize=8)
    ax.set_ylabel("energy [kWh]")
    ax.set_title(f"{report.site.display_name}: energy by day, {report.period.label}")
    ax.legend(loc="upper left", fontsize=8)
    _tidy(fig)
    return fig


def efficiency_figure(report: Report, fig: Figure | SubFigure | None = None) -> Figure | SubFigure:
    """Generator L/kWh per local day (days it ran)."""
    fig = fig or _figure()
    ax = fig.add_subplot()
    points = [p for p in report.analytics.efficiency if p.l_per_kwh is not None]
    if points:
        days = [datetime.combine(p.day, time(12)) for p in points]
        ax.plot(days, [p.l_per_kwh or 0.0 for p in points], marker="o")  # type: ignore[arg-type]
    else:
        ax.text(0.5, 0.5, "the generator did not run", ha="center", transform=ax.transAxes)
    ax.set_ylabel("fuel [L/kWh]")
    ax.set_title("Generator fuel efficiency by day")
    fig.autofmt_xdate()
    _tidy(fig)
    return fig


def report_chart_png(report: Report) -> bytes:
    """The card's chart: hourly flows for one day, energy by day for longer periods."""
    fig = _figure()
    if report.period.days <= 1:
        hourly_figure(report, fig)
    else:
        daily_bars_figure(report, fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()
