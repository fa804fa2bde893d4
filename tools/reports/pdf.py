"""A report as a PDF (matplotlib's PdfPages, text kept as TrueType so it can be copied
and searched): the figures table, charts, and the per-day table."""

from __future__ import annotations

import io
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

from tools.reports.charts import daily_bars_figure, efficiency_figure, hourly_figure
from tools.reports.render import headline, listed_events, summary_rows
from tools.reports.service import Report

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["report_pdf_bytes", "write_report_pdf"]

_A4 = (8.27, 11.69)  # inches
MAX_TABLE_DAYS = 40
MAX_EVENTS = 60


def _page(title: str) -> Figure:
    from matplotlib.figure import Figure

    fig = Figure(figsize=_A4, dpi=100)
    fig.text(0.06, 0.96, title, fontsize=14, weight="bold", va="top")
    return fig


def _table(
    fig: Figure,
    rows: list[list[str]],
    *,
    top: float,
    widths: list[float],
    header: list[str] | None = None,
) -> None:
    ax = fig.add_axes((0.06, 0.05, 0.88, top - 0.05))
    ax.axis("off")
    table = ax.table(
        cellText=rows,
        colLabels=header,
        colWidths=widths,
        loc="upper left",
        cellLoc="left",
    )
    table.auto_set_font_size(False)
    table.set_fontsize(8)
    table.scale(1, 1.3)


def report_pdf_bytes(report: Report, *, title: str) -> bytes:
    """The PDF: figures, charts, a table by day, the comparison and the period's events."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backends.backend_pdf import PdfPages

    site = report.site
    buffer = io.BytesIO()
    with (
        matplotlib.rc_context({"pdf.fonttype": 42}),
        PdfPages(buffer, metadata={"Title": f"{title}: {site.display_name}"}) as pdf,
    ):
        first = _page(f"{title}: {site.display_name}")
        intro = "\n".join(textwrap.wrap(headline(report), 95))
        first.text(
            0.06,
            0.92,
            f"{intro}\nPeriod: {report.period.first} to {report.period.last} ({site.timezone})",
            fontsize=9,
            va="top",
        )
        if report.has_data:
            _table(first, [[k, v] for k, v in summary_rows(report)], top=0.82, widths=[0.3, 0.7])
        pdf.savefig(first)
        if report.has_data:
            pdf.savefig(_charts_page(report))
            pdf.savefig(_days_page(report))
            if report.changes or report.events:
                pdf.savefig(_notes_page(report))
    return buffer.getvalue()


def _charts_page(report: Report) -> Figure:
    page = _page("Charts")
    grid = page.add_gridspec(2, 1, top=0.92, bottom=0.06, hspace=0.3)
    upper, lower = page.add_subfigure(grid[0]), page.add_subfigure(grid[1])
    if report.period.days <= 1:
        hourly_figure(report, upper)
    else:
        daily_bars_figure(report, upper)
    if report.site.generator is not None:
        efficiency_figure(report, lower)
    else:
        hourly_figure(report, lower)
    return page


def _days_page(report: Report) -> Figure:
    page = _page("By day")
    cur = report.analytics.costs.currency
    header = ["Day", "Solar kWh", "Load kWh", "Import kWh", "Export kWh", "Gen kWh", "Fuel L"]
    header.append(f"Cost {cur}")
    rows = [
        [
            f"{d.day:%a %d %b}",
            f"{d.flows.solar_kwh:.1f}",
            f"{d.flows.load_kwh:.1f}",
            f"{d.flows.grid_import_kwh:.1f}",
            f"{d.flows.grid_export_kwh:.1f}",
            f"{d.flows.generator_kwh:.1f}",
            f"{d.flows.fuel_l:.1f}",
            f"{d.cost:.2f}",
        ]
        for d in report.analytics.days[:MAX_TABLE_DAYS]
    ]
    _table(page, rows, top=0.92, widths=[0.16] + [0.12] * 7, header=header)
    return page


def _notes_page(report: Report) -> Figure:
    page = _page("Compared with the period before, and events")
    tz = report.site.tz
    partial = report.previous_is_partial
    lines = [
        f"{c.name}: {round(c.now, 1) + 0.0:,.1f} {c.unit} (before {round(c.before, 1) + 0.0:,.1f}"
        + (f", {c.pct:+.0f} %)" if c.pct is not None and not partial else ")")
        for c in report.changes
    ]
    if partial and report.previous is not None:
        lines.insert(
            0,
            f"The period before has readings for only {report.previous.flows.hours} h, "
            "so no percentage changes are given.",
        )
    if report.events:
        lines.append("")
        events, more = listed_events(report, MAX_EVENTS)
        lines += [
            f"{e.time.astimezone(tz):%d %b %H:%M}  {e.kind} [{e.severity}] {e.text}" for e in events
        ]
        if more:
            lines.append(more.replace("…", "..."))
    page.text(0.06, 0.92, "\n".join(lines), fontsize=8, va="top")
    return page


def write_report_pdf(report: Report, path: Path, *, title: str) -> int:
    """Write the PDF to ``path``; returns its size in bytes."""
    data = report_pdf_bytes(report, title=title)
    path.write_bytes(data)
    return len(data)
