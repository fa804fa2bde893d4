"""Reports in words and cards: the daily digest, the weekly management report, and the
answer to a question about a period (pure functions of a :class:`Report`)."""

from __future__ import annotations

from typing import Literal

from tools.cards import Card
from tools.forecast.scorecard import forecast_vs_actual
from tools.reports.charts import report_chart_png
from tools.reports.service import EventBrief, Report

__all__ = [
    "FOCUSES",
    "Focus",
    "chat_text",
    "digest_card",
    "digest_text",
    "headline",
    "listed_events",
    "summary_rows",
]

# Rows of events each rendering lists (the rest are counted, never dropped silently).
CARD_EVENTS = 8
TEXT_EVENTS = 10

Focus = Literal["all", "cost", "carbon", "fuel", "miners", "peak", "solar"]
FOCUSES: tuple[Focus, ...] = ("all", "cost", "carbon", "fuel", "miners", "peak", "solar")


def _fig(value: float, digits: int = 1) -> str:
    """A figure rounded for display, never "-0.0"."""
    return f"{round(value, digits) + 0.0:,.{digits}f}"


def _kwh(value: float) -> str:
    return f"{_fig(value)} kWh"


def _money(report: Report, value: float) -> str:
    return f"{report.analytics.costs.currency} {value:,.2f}"


def _per_kwh(report: Report, value: float | None) -> str:
    return "n/a" if value is None else f"{report.analytics.costs.currency} {value:.3f}/kWh"


def _hour(report: Report, hour: object) -> str:
    from datetime import datetime

    assert isinstance(hour, datetime)
    local = hour.astimezone(report.site.tz)
    return f"{local:%a %d %b} {local:%H}:00–{(local.hour + 1) % 24:02d}:00"


# Rows that carry money: left out for people who may not see costs.
MONEY_ROWS = frozenset({"Cost", "Grid cost", "Export credit", "Fuel cost", "Solar cost", "Savings"})


def summary_rows(report: Report, *, costs: bool = True) -> list[tuple[str, str]]:
    """The report's figures as (label, value) rows: card fields and the PDF table
    (without money figures when ``costs`` is False)."""
    rows = _all_rows(report)
    return rows if costs else [(k, v) for k, v in rows if k not in MONEY_ROWS]


def _all_rows(report: Report) -> list[tuple[str, str]]:
    a, site = report.analytics, report.site
    f = a.flows
    rows: list[tuple[str, str]] = [("Solar", _kwh(f.solar_kwh))]
    if report.solar is not None:
        err = report.solar.error_pct
        rows.append(
            (
                "Solar vs clear-sky forecast",
                f"{_kwh(report.solar.energy_forecast_kwh)} forecast"
                + (f", {forecast_vs_actual(err)}" if err is not None else ""),
            )
        )
    rows.append(("Load", _kwh(f.load_kwh)))
    if site.grid.present or f.grid_import_kwh or f.grid_export_kwh:
        rows += [
            ("Grid import", _kwh(f.grid_import_kwh)),
            ("Grid export", _kwh(f.grid_export_kwh)),
        ]
    if site.battery is not None:
        rows += [
            ("Battery charge", _kwh(f.battery_charge_kwh)),
            ("Battery discharge", _kwh(f.battery_discharge_kwh)),
        ]
        if a.soc is not None:
            rows.append(("Battery SOC min / max", f"{a.soc[0]:.0f} % / {a.soc[1]:.0f} %"))
    if site.generator is not None:
        rows += [
            ("Generator", f"{_kwh(f.generator_kwh)}, {f.generator_run_h:.1f} h"),
            ("Fuel", f"{f.fuel_l:,.1f} L"),
            (
                "Fuel efficiency",
                f"{a.fuel_l_per_kwh:.3f} L/kWh" if a.fuel_l_per_kwh is not None else "n/a",
            ),
        ]
    c = a.costs
    rows += [
        ("Cost", _money(report, c.total)),
        ("Grid cost", f"{_money(report, c.grid_cost)} ({_per_kwh(report, c.grid_per_kwh)})"),
    ]
    if c.export_credit:
        rows.append(("Export credit", _money(report, c.export_credit)))
    if site.generator is not None:
        rows.append(
            (
                "Fuel cost",
                f"{_money(report, c.fuel_cost)} ({_per_kwh(report, c.generator_per_kwh)})",
            )
        )
    rows.append(("Solar cost", _per_kwh(report, c.solar_per_kwh) + " (no fuel, no tariff)"))
    co2 = a.carbon
    rows.append(
        (
            "CO2",
            f"{co2.total_kg:,.1f} kg (diesel {co2.diesel_kg:,.1f}, grid {co2.grid_kg:,.1f}, "
            f"solar {co2.solar_kg:,.1f})",
        )
    )
    s = a.savings
    rows.append(
        (
            "Savings",
            f"{_money(report, s.saved)} and {s.avoided_kg:,.1f} kg CO2 vs {s.description}",
        )
    )
    if a.peak is not None:
        rows.append(("Peak demand", f"{a.peak.power_kw:.2f} kW ({_hour(report, a.peak.hour)})"))
    if a.miners is not None:
        m = a.miners
        rows.append(("Miners on", f"{m.on_h:.1f} h, {m.on_surplus_h:.1f} h on surplus solar"))
    rows.append(("Alerts", str(len(report.alerts))))
    rows.append(("Actions", str(len(report.actions))))
    return rows


def headline(report: Report, focus: Focus = "all", *, costs: bool = True) -> str:
    """One or two sentences answering a question about the period (no money figures
    when ``costs`` is False; the cost focus is then refused by the caller)."""
    a, site = report.analytics, report.site
    where = f"{site.display_name}, {report.period.label}"
    if not report.has_data:
        return f"{where}: no readings were stored for this period, so there is nothing to report."
    f, c = a.flows, a.costs
    if focus == "cost":
        return (
            f"{where}: energy cost {_money(report, c.total)} — grid {_money(report, c.grid_cost)} "
            f"for {_kwh(f.grid_import_kwh)} ({_per_kwh(report, c.grid_per_kwh)}), diesel "
            f"{_money(report, c.fuel_cost)} for {f.fuel_l:,.1f} L "
            f"({_per_kwh(report, c.generator_per_kwh)} of generator output), solar "
            f"{_kwh(f.solar_kwh)} at no marginal cost."
        )
    if focus == "carbon":
        co2 = a.carbon
        return (
            f"{where}: {co2.total_kg:,.1f} kg CO2 — diesel {co2.diesel_kg:,.1f} kg "
            f"({f.fuel_l:,.1f} L × {site.emissions.diesel_kg_per_l:g} kg/L), grid "
            f"{co2.grid_kg:,.1f} kg ({_kwh(f.grid_import_kwh)} × "
            f"{site.emissions.grid_kg_per_kwh:g} kg/kWh), solar {co2.solar_kg:,.1f} kg; "
            f"{a.savings.avoided_kg:,.1f} kg avoided vs {a.savings.description}."
        )
    if focus == "fuel":
        days = [p for p in a.efficiency if p.l_per_kwh is not None]
        trend = ", ".join(f"{p.day:%d %b} {p.l_per_kwh:.3f}" for p in days[-7:])
        overall = f"{a.fuel_l_per_kwh:.3f} L/kWh" if a.fuel_l_per_kwh is not None else "n/a"
        return (
            f"{where}: generator burned {f.fuel_l:,.1f} L for {_kwh(f.generator_kwh)} over "
            f"{f.generator_run_h:.1f} h ({overall})"
            + (f"; L/kWh by day: {trend}." if trend else "; it did not run.")
        )
    if focus == "miners":
        m = a.miners
        if m is None:
            return f"{where}: this site has no miners."
        share = f" ({m.surplus_share_pct:.0f} %)" if m.surplus_share_pct is not None else ""
        each = ", ".join(f"{k} {v:.1f} h" for k, v in m.by_miner.items())
        return (
            f"{where}: miners ran {m.on_h:.1f} miner-hours, {m.on_surplus_h:.1f} h of them on "
            f"surplus solar{share}; {each}."
        )
    if focus == "peak":
        if a.peak is None:
            return f"{where}: no load readings."
        return (
            f"{where}: peak demand {a.peak.power_kw:.2f} kW in the hour "
            f"{_hour(report, a.peak.hour)}."
        )
    if focus == "solar":
        text = f"{where}: solar {_kwh(f.solar_kwh)}"
        if report.solar is not None and report.solar.error_pct is not None:
            text += (
                f" against a clear-sky forecast of {_kwh(report.solar.energy_forecast_kwh)} "
                f"({forecast_vs_actual(report.solar.error_pct)})"
            )
        solar_pct = f.solar_share_pct
        return text + (f", {solar_pct:.0f} % of the load." if solar_pct is not None else ".")
    money = f"cost {_money(report, c.total)}, " if costs else ""
    return (
        f"{where}: solar {_kwh(f.solar_kwh)}, load {_kwh(f.load_kwh)}, grid import "
        f"{_kwh(f.grid_import_kwh)}, generator {_kwh(f.generator_kwh)} ({f.fuel_l:,.1f} L); "
        f"{money}{a.carbon.total_kg:,.1f} kg CO2."
    )


def _changes(report: Report, *, costs: bool = True) -> str:
    changes = [ch for ch in report.changes if costs or ch.name not in MONEY_ROWS]
    if not changes:
        return ""
    if report.previous_is_partial:
        # A percentage against a period with a fraction of the data means nothing
        # ("+1257 %"): give the figures and say why there is no change.
        prev = report.previous
        hours = prev.flows.hours if prev is not None else 0
        was = "; ".join(f"{ch.name} {_fig(ch.before)} {ch.unit}" for ch in changes[:4])
        return (
            f"the period before has readings for only {hours} h against "
            f"{report.analytics.flows.hours} h now, so no change is given ({was} then)"
        )
    parts = []
    for ch in changes:
        pct = _pct(ch.pct) if ch.pct is not None else "new"
        parts.append(f"{ch.name} {_fig(ch.now)} {ch.unit} ({pct})")
    return "vs the period before: " + "; ".join(parts)


def _pct(value: float) -> str:
    rounded = round(value) + 0
    return "unchanged" if rounded == 0 else f"{rounded:+d} %"


def listed_events(report: Report, limit: int) -> tuple[list[EventBrief], str]:
    """The events a report lists in at most ``limit`` rows, oldest first, and a line
    that counts the rest ("" when none is left out).

    The actions come first: what was done to the site must not be pushed out of the
    report by a run of alerts (a flapping device can raise dozens in a day). The
    alerts fill the rows left, oldest first.
    """
    actions = report.actions[:limit]
    alerts = report.alerts[: limit - len(actions)]
    shown = {id(e) for e in (*actions, *alerts)}
    hidden = [
        f"{n} more {kind}{'s' * (n != 1)}"
        for kind, n in (
            ("alert", len(report.alerts) - len(alerts)),
            ("action", len(report.actions) - len(actions)),
        )
        if n
    ]
    more = f"… and {' and '.join(hidden)}" if hidden else ""
    return [e for e in report.events if id(e) in shown], more


def digest_text(report: Report, focus: Focus = "all", *, costs: bool = True) -> str:
    """The digest as plain text: headline, figures, comparison, alerts and actions."""
    lines = [headline(report, focus, costs=costs)]
    if not report.has_data:
        return lines[0]
    lines += [f"• {k}: {v}" for k, v in summary_rows(report, costs=costs)]
    changes = _changes(report, costs=costs)
    if changes:
        lines.append(changes[:1].upper() + changes[1:] + ".")
    tz = report.site.tz
    events, more = listed_events(report, TEXT_EVENTS)
    for e in events:
        lines.append(f"  {e.time.astimezone(tz):%d %b %H:%M} {e.kind} [{e.severity}] {e.text}")
    if more:
        lines.append(f"  {more}")
    return "\n".join(lines)


def _counts(report: Report) -> str:
    """'2 alerts, 1 action' (the events themselves are in the breakdown)."""
    alerts, actions = len(report.alerts), len(report.actions)
    return (
        f"{alerts} alert{'s' * (alerts != 1)}, {actions} action{'s' * (actions != 1)}"
        if alerts or actions
        else "no alerts or actions"
    )


def _short_changes(report: Report) -> str:
    """Solar and load against the period before, or why there is no change ("" if none)."""
    if report.previous is None or not report.previous.flows.hours:
        return ""  # nothing stored before: nothing to say
    if report.previous_is_partial:
        return (
            f"The period before has readings for only {report.previous.flows.hours} h, so no "
            "change is given"
        )
    parts = []
    for ch in report.changes:
        if ch.name in ("Solar", "Load"):
            pct = _pct(ch.pct) if ch.pct is not None else "new"
            parts.append(f"{ch.name.lower()} {pct}")
    return ("Vs the period before: " + ", ".join(parts)) if parts else ""


def chat_text(report: Report, focus: Focus = "all", *, costs: bool = True) -> str:
    """A chat answer of at most four lines: the first answers the question (the period's
    headline figures), one or two more, then the offer of the breakdown, which is
    :func:`digest_text` (every figure, the comparison and the events)."""
    first = headline(report, focus, costs=costs)
    if not report.has_data:
        return first
    lines = [first]
    if focus == "all":
        a = report.analytics
        peak = (
            f"Peak demand {a.peak.power_kw:.2f} kW ({_hour(report, a.peak.hour)}); "
            if a.peak is not None
            else ""
        )
        lines.append(f"{peak}{_counts(report)}.")
        changes = _short_changes(report)
        if changes:
            lines.append(changes + ".")
    elif report.events:
        lines.append(f"{_counts(report)[:1].upper()}{_counts(report)[1:]} in the period.")
    lines.append("The card has a chart; say 'more' for the breakdown.")
    return "\n".join(lines)


def digest_card(
    report: Report, *, kind: str = "daily", chart: bool = True, costs: bool = True
) -> Card:
    """A card with the figures and a chart (hourly flows for a day, daily bars otherwise)."""
    title = {
        "daily": "Daily digest",
        "weekly": "Weekly report",
        "monthly": "Monthly report",
    }.get(kind, "Energy report")
    text = headline(report, costs=costs)
    changes = _changes(report, costs=costs)
    if changes:
        text += "\n" + changes[:1].upper() + changes[1:] + "."
    if report.events:
        tz = report.site.tz
        events, more = listed_events(report, CARD_EVENTS)
        text += "\n" + "\n".join(
            f"{e.time.astimezone(tz):%d %b %H:%M} {e.kind} [{e.severity}] {e.text}" for e in events
        )
        if more:
            text += "\n" + more
    png = report_chart_png(report) if chart and report.has_data else None
    return Card(
        kind=f"report_{kind}",
        title=f"{title}: {report.site.display_name}, {report.period.label}",
        text=text,
        fields=summary_rows(report, costs=costs) if report.has_data else [],
        tone="info",
        footer="from hourly rollups · carbon factors and savings baseline from the site file",
        image_png=png,
        image_name=f"report-{report.site.name}-{report.period.first.isoformat()}.png",
    )
