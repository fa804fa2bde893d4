"""The report tool: energy, cost, fuel, peak and carbon for a past period, from stored
history (the figures come from tools/reports, the wording from its render module)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from tools.agent.spec import CallContext, SiteArgs, ToolOutput, ToolSpec
from tools.alerts.engine import AlertError
from tools.permissions import Permission, allows, authorize
from tools.reports.periods import named_period
from tools.reports.render import chat_text, digest_card
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
        return ToolOutput(text=text)
    kind = {"day": "daily", "week": "weekly", "month": "monthly"}.get(period.kind, "report")
    card = await tb.offload.run(digest_card, report, kind=kind, costs=costs)
    return ToolOutput(text=text, cards=[card])


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
