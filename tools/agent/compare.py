"""The comparison tools: two periods side by side, several sites side by side, and this
month's bill projected to its end (the figures come from tools/reports: comparison.py for
periods and the projection, fleet.py for the sites)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from tools.agent.spec import CallContext, SiteArgs, ToolOutput, ToolSpec
from tools.alerts.engine import AlertError
from tools.permissions import Permission, allows, refusal
from tools.reports.analytics import energy_flows
from tools.reports.comparison import (
    PeriodWord,
    compare_periods,
    comparison_text,
    comparison_why,
    cost_projection,
    projection_text,
    projection_why,
)
from tools.reports.fleet import Ranking, SiteRow, fleet_card, fleet_text, fleet_why
from tools.reports.periods import named_period
from tools.site import Site

if TYPE_CHECKING:
    from tools.agent.toolbox import Toolbox


class ComparePeriodsArgs(SiteArgs):
    first: PeriodWord = Field(default="this_month", description="The period asked about")
    second: PeriodWord | None = Field(
        default=None, description="Compared with (default: the one before)"
    )


class CompareSitesArgs(BaseModel):
    sites: list[str] | None = Field(default=None, description="Default: all the person may see")
    rank_by: Ranking = Field(default="status", description="What to rank by")
    site: str | None = Field(default=None, description="One more site")


async def compare_periods_tool(
    tb: Toolbox, site: Site, args: ComparePeriodsArgs, ctx: CallContext
) -> ToolOutput:
    if tb.reports is None:
        raise AlertError("Reports are not available here.")
    costs = allows(ctx.principal, Permission.SEE_COSTS, site.name)
    cmp = await compare_periods(tb.reports, site, args.first, args.second, costs=costs)
    return ToolOutput(text=comparison_text(cmp), why=comparison_why(cmp))


async def cost_projection_tool(
    tb: Toolbox, site: Site, _args: SiteArgs, _ctx: CallContext
) -> ToolOutput:
    if tb.reports is None:
        raise AlertError("Reports are not available here.")
    projection = await cost_projection(tb.reports, site)
    return ToolOutput(text=projection_text(projection), why=projection_why(projection))


async def compare_sites_tool(
    tb: Toolbox, _site: Site, args: CompareSitesArgs, ctx: CallContext
) -> ToolOutput:
    """Only the sites this person may see; a named site they may not is refused by name.
    (A multi-site spec: the toolbox checks no single site, this checks each one.)"""
    principal = ctx.principal
    visible = [s for s in tb.sites if allows(principal, Permission.SEE_STATUS, s)]
    asked = [*([args.site] if args.site else []), *(args.sites or [])]
    refused: list[str] = []
    names: list[str] = []
    for raw in asked:
        key = raw.strip().lower()
        if key not in tb.sites:
            refused.append(
                f"There is no site called {raw!r} (you may use {', '.join(visible) or 'none'})."
            )
        elif key not in visible:
            reason = refusal(principal, Permission.SEE_STATUS, key) or "you may not see it"
            refused.append(reason[0].upper() + reason[1:] + ".")
        elif key not in names:
            names.append(key)
    if not asked:
        names = visible
    if not names:
        return ToolOutput(text="\n".join(refused) or "You may not see any site.", error=True)
    now = tb.clock.now()
    rows = []
    for name in names:
        site = tb.sites[name]
        state = tb.state(name)
        alerts = await tb.alerts.open_alerts(name)
        solar_today = None
        if tb.reports is not None and site.pv_arrays:
            today = named_period("today", now=now, tz=site.tz)
            stats = await tb.reports.stats(site, today.start, today.until)
            solar_today = energy_flows(stats, site, start=today.start, end=today.until).solar_kwh
        running = state.get("generator_running")
        rows.append(
            SiteRow(
                name=name,
                title=site.display_name,
                soc_pct=state.get("battery_soc_pct") if site.battery else None,
                pv_w=state.get("pv_power_w"),
                load_w=state.get("load_power_w"),
                generator=None
                if site.generator is None
                else ("running" if (running or 0) >= 0.5 else "stopped"),
                open_alerts=len(alerts),
                critical_alerts=sum(a.severity == "critical" for a in alerts),
                data_age=None if state.time is None else max(timedelta(0), now - state.time),
                solar_today_kwh=solar_today,
            )
        )
    return ToolOutput(
        text=fleet_text(rows, args.rank_by, refused),
        cards=[fleet_card(rows)],
        why=fleet_why(rows, args.rank_by),
    )


SPECS: tuple[ToolSpec, ...] = (
    ToolSpec(
        name="compare_periods",
        kind="read",
        args=ComparePeriodsArgs,
        run=compare_periods_tool,
        description="Two periods side by side (this month vs last, summer vs winter): "
        "solar, load, grid, generator, fuel, cost.",
    ),
    ToolSpec(
        name="compare_sites",
        kind="read",
        args=CompareSitesArgs,
        run=compare_sites_tool,
        multi_site=True,
        description="Sites side by side (status of all sites, which has the most solar "
        "today): SOC, PV, load, alerts, data age.",
    ),
    ToolSpec(
        name="cost_projection",
        kind="read",
        args=SiteArgs,
        run=cost_projection_tool,
        permission=Permission.SEE_COSTS,
        description="This month's cost so far and projected to month end, against the budget.",
    ),
)
