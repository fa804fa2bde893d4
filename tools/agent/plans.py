"""Plan tools: when to run the miners, whether to charge from the grid tonight, when to
and run the generator (the fuel tools are in :mod:`tools.agent.fuel`). They only propose: anything
that switches hardware is still an approval-gated action request."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import pandas as pd

from tools.agent.common import floor_outlook, forecast_why, p50_projection, source_note
from tools.agent.fuel import fuel_rate, rate_label, with_learned_curve
from tools.agent.spec import CallContext, SiteArgs, ToolOutput, ToolSpec, brief
from tools.cards import Card, local_time
from tools.forecast.charts import forecast_chart_png
from tools.forecast.plans import (
    RULE_ALL_ABOVE_W,
    RULE_TWO_ABOVE_W,
    GeneratorPlan,
    plan_generator,
    plan_grid_charge,
    plan_miners,
)
from tools.forecast.service import SiteForecast
from tools.permissions import Permission, allows
from tools.site import Site

if TYPE_CHECKING:
    from tools.agent.toolbox import Toolbox


async def miner_plan(tb: Toolbox, site: Site, _args: SiteArgs, _ctx: CallContext) -> ToolOutput:
    if not site.miners:
        return ToolOutput(text=f"{site.display_name} has no miners.")
    forecast, soc = await tb.outlook(site, hours=24)
    running_w = sum(
        m.power_kw * 1000
        for m in site.miners
        if (tb.state(site.name).devices("load_on").get(m.name) or 0) >= 0.5
    )
    base_load = (forecast.load_p50_w - running_w).clip(lower=0.0)
    plan = await tb.offload.run(
        plan_miners,
        site,
        soc_start_pct=soc,
        pv_w=forecast.pv_p50_w,
        load_w=base_load,
        times=forecast.times,
    )
    on_hours = [f"{local_time(t, site.tz)[11:16]}×{n}" for t, n in plan.plan.miners_on.items() if n]
    full = f"{site.display_name}, next 24 h: " + plan.summary
    if on_hours:
        full += " Miners on: " + ", ".join(on_hours) + "."
    spans = _miner_spans(site, plan.plan.miners_on)
    first = (
        f"{site.display_name}, next 24 h: run the miners {spans}."
        if spans
        else f"{site.display_name}, next 24 h: keep the miners off."
    )
    why = forecast_why(
        site,
        forecast,
        soc,
        f"The plan schedules {len(site.miners)} miner(s) hour by hour so the battery "
        "never goes below its minimum; the simple rule it is compared with runs every "
        f"miner above {RULE_ALL_ABOVE_W / 1000:g} kW of solar surplus, two above "
        f"{RULE_TWO_ABOVE_W / 1000:g} kW, none below.",
    )
    note = source_note(forecast)
    lines = [plan.summary.split(". ")[0].rstrip(".") + "."]
    if note:
        lines.append(note.strip(" ()").capitalize() + ".")
    return brief(first, lines, more=full + note, why=why)


def _miner_spans(site: Site, miners_on: pd.Series) -> str:
    """The hours with miners on as local spans with their count ("09:00–14:00 ×3")."""
    spans: list[tuple[datetime, datetime, int]] = []
    for t, n in miners_on.items():
        start = pd.Timestamp(t).to_pydatetime()
        count = int(n)
        if count and spans and spans[-1][2] == count and spans[-1][1] == start:
            spans[-1] = (spans[-1][0], start + timedelta(hours=1), count)
        elif count:
            spans.append((start, start + timedelta(hours=1), count))
    return ", ".join(
        f"{local_time(a, site.tz)[11:16]}–{local_time(b, site.tz)[11:16]} ×{n}" for a, b, n in spans
    )


async def grid_charge_advice(
    tb: Toolbox, site: Site, _args: SiteArgs, ctx: CallContext
) -> ToolOutput:
    if not site.grid.present:
        return ToolOutput(text=f"{site.display_name} has no grid connection.")
    forecast, soc = await tb.outlook(site)
    show_prices = allows(ctx.principal, Permission.SEE_COSTS, site.name)
    if not site.costs.grid_periods:
        # One flat price: no hour is cheaper to buy in, so the useful answer is
        # whether the battery holds, and that the grid carries the rest anyway.
        projection = p50_projection(site, forecast, soc)
        floor = projection.floor_soc_pct
        price = (
            f" ({site.costs.grid_price_per_kwh:.2f} {site.costs.currency}/kWh)"
            if show_prices
            else ""
        )
        holds = floor_outlook(site, soc, projection, hours=len(forecast.times))
        text = (
            f"{site.display_name}: no — the grid has one flat price here{price}, so "
            f"charging the battery from it tonight saves nothing; the grid already carries "
            f"the load whenever the battery is at its {floor:g} % floor. Battery "
            f"{soc:.0f} % now, {holds[0]}. For advice around a cheap night rate, add "
            "costs.grid_periods to the site file."
        )
        why = forecast_why(
            site,
            forecast,
            soc,
            f"The site file gives one grid price{price} and no cheaper periods, so no "
            "hour is cheaper to charge in.",
        )
        return ToolOutput(text=text + source_note(forecast), why=why)
    advice = await tb.offload.run(
        plan_grid_charge,
        site,
        soc_now_pct=soc,
        pv_p10_w=forecast.pv_p10_w,
        pv_p50_w=forecast.pv_p50_w,
        load_w=forecast.load_p50_w,
        times=forecast.times,
        show_prices=show_prices,
    )
    why = forecast_why(
        site,
        forecast,
        soc,
        f"The advice charges only what the battery would miss under P10 solar "
        f"({advice.pv_p10_kwh:.1f} kWh; P50 {advice.pv_p50_kwh:.1f} kWh), in the site file's "
        "cheapest grid period (costs.grid_periods).",
    )
    return ToolOutput(text=f"{site.display_name}: {advice.reason}" + source_note(forecast), why=why)


async def generator_plan(tb: Toolbox, site: Site, _args: SiteArgs, _ctx: CallContext) -> ToolOutput:
    if site.generator is None:
        return ToolOutput(text=f"{site.display_name} has no generator.")
    forecast, soc = await tb.outlook(site)
    running_now = (tb.state(site.name).get("generator_running") or 0) >= 0.5
    floor = site.battery.min_soc_pct if site.battery else 0.0
    reserve = site.generator.plan_reserve_pct
    target = min(floor + reserve, 95.0)
    learned, measured = await fuel_rate(tb, site)
    burning = with_learned_curve(site, learned)  # litres at what the generator really burns

    async def plan_for(min_soc_pct: float) -> GeneratorPlan:
        return await tb.offload.run(
            plan_generator,
            burning,
            soc_start_pct=soc,
            pv_w=forecast.pv_p50_w,
            load_w=forecast.load_p50_w,
            min_soc_pct=min_soc_pct,
            running_now=running_now,
            times=forecast.times,
        )

    # The forecast is a median: plan a few points above the floor, unless only the
    # floor itself can be held.
    plan = await plan_for(target)
    reserve_note = (
        f" The plan keeps {target - floor:g} points above the {floor:g} % floor for forecast error."
        if target > floor
        else ""
    )
    if target > floor and not plan.feasible:
        plan = await plan_for(floor)
        reserve_note = f" (There is no room for a reserve above the {floor:g} % floor.)"
    hours = len(forecast.times)
    full = f"{site.display_name}, next {hours} h (battery {soc:.0f} % now): "
    if site.grid.present:
        full = (
            f"{site.display_name} is grid-connected: the grid covers any shortfall, so the "
            "generator is only needed if the grid goes down. For that case, next "
            f"{hours} h (battery {soc:.0f} % now): "
        )
    full += plan.reason + reserve_note
    prompt = ""
    if plan.runs:
        first_start = plan.runs[0][0]
        if running_now:
            prompt = "The generator is running now."
        elif first_start <= forecast.times[0].to_pydatetime():
            prompt = (
                "The first run starts this hour: say 'start the generator' to request it "
                "(it runs only after approval)."
            )
        else:
            prompt = (
                "Nothing starts by itself: when it is time, say 'start the generator' to "
                "request it for approval."
            )
    if prompt:
        full += " " + prompt
    if site.grid.present:
        full += " (Planned as if off-grid: the grid is left out.)"
    if plan.runs:
        full += f" Fuel at {rate_label(learned, measured)}."
    note = source_note(forecast)
    lines = [prompt] if prompt else []
    if site.grid.present:
        lines.append("Grid-connected: this is for a grid outage (the grid covers any shortfall).")
    if note:
        lines.append(note.strip(" ()").capitalize() + ".")
    answer = brief(
        _generator_headline(site, plan, soc=soc, hours=hours),
        lines,
        more=full + note,
        why=_generator_why(
            forecast,
            plan,
            soc=soc,
            floor=floor,
            target=target,
            fuel=rate_label(learned, measured),
        ),
    )
    card = Card(
        kind="forecast_chart",
        title=f"Generator plan at {site.display_name}",
        text="Planned generator output (bars), PV P10–P90 and P50, load (P50) and the "
        "projected SOC with the plan.",
        fields=[
            ("Run", f"{plan.hours} h"),
            ("Fuel", f"{plan.fuel_l:.1f} L"),
            ("Simple rule", f"{plan.rule.fuel_l:.1f} L"),
            ("Minimum", f"{plan.projection.floor_soc_pct:g} %"),
        ],
        footer=f"weather: {forecast.weather_source} · load: {forecast.load_method} · "
        f"min run {plan.min_run_h} h",
        image_png=await tb.offload.run(
            forecast_chart_png,
            times=forecast.times,
            pv_p10_w=forecast.pv_p10_w,
            pv_p50_w=forecast.pv_p50_w,
            pv_p90_w=forecast.pv_p90_w,
            load_w=forecast.load_p50_w,
            soc_pct=plan.projection.soc_pct,
            generator_w=plan.generator_w,
            title=f"{site.display_name}: generator plan",
            tz=site.tz,
        ),
        image_name="generator-plan.png",
    )
    answer.cards = [card]
    return answer


def _generator_headline(site: Site, plan: GeneratorPlan, *, soc: float, hours: int) -> str:
    """The first line: whether and when to run it, for how long and how much fuel."""
    if plan.runs and plan.feasible and not plan.fallback:
        start, end = plan.runs[0]
        begins = local_time(start, site.tz)  # "2026-11-19 21:00 MST"
        runs = f"{len(plan.runs)} runs" if len(plan.runs) > 1 else "one run"
        return (
            f"{site.display_name}: run the generator {plan.hours} h over the next {hours} h "
            f"({runs}, about {plan.fuel_l:.1f} L), first {begins[:16]}–"
            f"{local_time(end, site.tz)[11:16]} {begins[17:]} (battery {soc:.0f} % now)."
        )
    first = plan.reason.split(". ")[0].rstrip(".")
    return f"{site.display_name}, next {hours} h (battery {soc:.0f} % now): {first}."


def _generator_why(
    forecast: SiteForecast,
    plan: GeneratorPlan,
    *,
    soc: float,
    floor: float,
    target: float,
    fuel: str,
) -> str:
    """What the plan rests on: the battery now, the floor it keeps, the forecast gap."""
    gap_kwh = float((forecast.load_p50_w - forecast.pv_p50_w).clip(lower=0.0).sum()) / 1000
    keep = (
        f"{target:g} % (the {floor:g} % floor plus {target - floor:g} points for forecast error)"
        if target > floor
        else f"the {floor:g} % floor"
    )
    return (
        f"Why: the battery is at {soc:.0f} % and over the next {len(forecast.times)} h the "
        f"load forecast ({forecast.load_method}) exceeds the solar forecast (weather: "
        f"{forecast.weather_source}) by {gap_kwh:.1f} kWh in the hours it is higher. The plan "
        f"keeps the battery above {keep} with the least fuel (fuel at {fuel}), each run at least "
        f"{plan.min_run_h} h; the simple start/stop rule would burn {plan.rule.fuel_l:.1f} L."
    )


SPECS: tuple[ToolSpec, ...] = (
    ToolSpec(
        name="miner_plan",
        kind="read",
        args=SiteArgs,
        run=miner_plan,
        description="Which hours to run how many miners over the next 24 h so the battery never "
        "drops below the site's minimum, compared with the simple surplus rule.",
    ),
    ToolSpec(
        name="grid_charge_advice",
        kind="read",
        args=SiteArgs,
        run=grid_charge_advice,
        description="Whether to charge from the grid tonight, how many kWh, in which window, and "
        "why, from tomorrow's P10/P50 solar and the load forecast.",
    ),
    ToolSpec(
        name="generator_plan",
        kind="read",
        args=SiteArgs,
        run=generator_plan,
        description="When to run the generator over the next 48 h and for how long to keep the "
        "battery above its minimum with the least fuel (off-grid), compared with a simple "
        "start/stop rule; says so when the minimum cannot be held. A proposal: starting the "
        "generator still needs an approved start_generator request.",
    ),
)
