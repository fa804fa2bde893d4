"""The report tool: energy, cost, fuel, peak and carbon for a past period, from stored
history (the figures come from tools/reports, the wording from its render module)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from tools.agent.spec import CallContext, SiteArgs, ToolOutput, ToolSpec
from tools.alerts.engine import AlertError
from tools.permissions import Permission, allows, authorize
from tools.reports.periods import named_period
from tools.reports.render import chat_text, digest_card, digest_text
from tools.reports.service import Report
from tools.site import Site

if TYPE_CHECKING:
    from tools.agent.toolbox import Toolbox


class ReportArgs(SiteArgs):
    period: Literal["yesterday", "today", "last_week", "this_week", "last_month", "this_month"] = (
        Field(default="yesterday", description="Which local period")
    )
    focus: Literal["all", "cost", "carbon", "fuel", "miners", "peak", "solar"] = Field(
        default="all",
        description="What the question is about: cost by source, carbon, fuel efficiency "
        "(L/kWh), miner uptime, peak demand, solar; 'all' for the whole digest",
    )


async def energy_report(tb: Toolbox, site: Site, args: ReportArgs, ctx: CallContext) -> ToolOutput:
    if tb.reports is None:
        raise AlertError("Reports are not available here.")
    period = named_period(args.period, now=tb.clock.now(), tz=site.tz)
    costs = allows(ctx.principal, Permission.SEE_COSTS, site.name)
    if args.focus == "cost":
        authorize(ctx.principal, Permission.SEE_COSTS, site.name)
    report = await tb.reports.report(site, period)
    text = chat_text(report, args.focus, costs=costs)
    if not report.has_data:
        return ToolOutput(text=text, why=_report_why(report, costs=costs))
    kind = {"day": "daily", "week": "weekly", "month": "monthly"}.get(period.kind, "report")
    card = await tb.offload.run(digest_card, report, kind=kind, costs=costs)
    return ToolOutput(
        text=text,
        cards=[card],
        more=digest_text(report, "all", costs=costs),
        why=_report_why(report, costs=costs),
    )


def _report_why(report: Report, *, costs: bool) -> str:
    """Where the report's figures come from."""
    site, a = report.site, report.analytics
    if not report.has_data:
        return (
            f"No hourly rollups are stored for {site.display_name} in {report.period.label}: "
            "the bot was not receiving readings then (or the rollups have not run yet)."
        )
    parts = [
        f"From the hourly rollups stored for {site.display_name}, {report.period.label} "
        f"({a.flows.hours} h with readings)."
    ]
    if costs:
        parts.append(
            f"Costs use the site file's prices ({a.costs.currency}); savings are against "
            f"{a.savings.description}."
        )
    parts.append(
        f"CO2 uses {site.emissions.grid_kg_per_kwh:g} kg/kWh for the grid and "
        f"{site.emissions.diesel_kg_per_l:g} kg/L for diesel (site file)."
    )
    if report.previous_is_partial:
        parts.append("The period before has few readings, so no changes are given against it.")
    elif report.changes:
        parts.append("Changes compare with the period of the same length before it.")
    if report.events:
        parts.append(f"{len(report.events)} alert and action event(s) were logged in the period.")
    return " ".join(parts)


SPECS: tuple[ToolSpec, ...] = (
    ToolSpec(
        name="energy_report",
        kind="read",
        args=ReportArgs,
        run=energy_report,
        description="Energy report for a past period (yesterday, last/this week, last/this "
        "month) from stored history: solar, load, grid import/export, battery, generator and "
        "fuel, cost by source and per kWh, fuel efficiency, peak demand, CO2, savings against "
        "the site's baseline, miner hours on surplus solar, compared with the period before; "
        "with a chart.",
    ),
)
