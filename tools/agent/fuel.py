"""Fuel tools: days of diesel left, when to order, the L/kWh the generator really burns,
litres over the next 30 days, and run hours until the generator's service.

The L/kWh is learned from the site's stored history when there is enough of it
(:mod:`tools.forecast.fuel_learning`, through the toolbox's ``fuel`` service), else
the configured fuel curve; every answer says which one it used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from tools.agent.common import p50_projection, source_note
from tools.agent.spec import CallContext, SiteArgs, ToolOutput, ToolSpec
from tools.alerts.engine import AlertError
from tools.forecast.fuel import FuelForecast, fuel_forecast
from tools.forecast.fuel_history import FuelPicture, days_left, fuel_level_l
from tools.forecast.fuel_learning import BAND_NAMES, LearnedFuel, learn_from_samples
from tools.forecast.generator_service import service_outlook
from tools.permissions import Permission, allows
from tools.site import AlertThresholds, Site

if TYPE_CHECKING:
    from tools.agent.toolbox import Toolbox


class FuelArgs(SiteArgs):
    focus: Literal["days_left", "order", "rate", "month"] = Field(
        default="days_left",
        description="What the question asks first: days of diesel left, when to order fuel, "
        "the L/kWh the generator burns, or litres over the next 30 days",
    )


def thresholds(tb: Toolbox, site: Site) -> AlertThresholds:
    """The site's alert thresholds with the overrides set in chat."""
    return tb.preferences.thresholds(site.name) if tb.preferences else site.alerts


async def fuel_picture(tb: Toolbox, site: Site) -> FuelPicture | None:
    return await tb.fuel.picture(site) if tb.fuel is not None else None


async def fuel_rate(tb: Toolbox, site: Site) -> tuple[LearnedFuel, str]:
    """The L/kWh in use (learned from history, else the curve) and what measured it."""
    picture = await fuel_picture(tb, site)
    if picture is not None:
        return picture.learned, picture.measured_by
    if site.generator is None:
        raise AlertError(f"{site.display_name} has no generator.")
    return learn_from_samples(site.generator, []), "none"


def with_learned_curve(site: Site, learned: LearnedFuel) -> Site:
    """The site with its generator's fuel curve scaled to what it really burns (the site
    itself when nothing was learned): what the plans and the fuel forecast read."""
    if site.generator is None or not learned.learned:
        return site
    generator = site.generator.model_copy(update={"fuel_curve": learned.curve(site.generator)})
    return site.model_copy(update={"generator": generator})


def rate_label(learned: LearnedFuel, measured: str) -> str:
    """ "0.45 L/kWh learned from 37 run hours (fuel flow meter)", or the curve and why."""
    if learned.learned:
        return f"{learned.label} ({measured})"
    if measured == "none":
        return learned.label.replace("not enough history", "no fuel flow or tank level history")
    return learned.label


async def fuel_outlook(tb: Toolbox, site: Site, args: FuelArgs, ctx: CallContext) -> ToolOutput:
    gen = site.generator
    if gen is None:
        return ToolOutput(text=f"{site.display_name} has no generator.")
    picture = await fuel_picture(tb, site)
    learned, measured = await fuel_rate(tb, site)
    state = tb.state(site.name)
    fuel_now = fuel_level_l(site, state.get("generator_fuel_l"), state.get("fuel_level_pct"))
    fuel: FuelForecast | None = None
    note = ""
    try:
        forecast, soc = await tb.outlook(site)
    except AlertError as err:
        note = f" No forecast burn: {err}"
    else:
        projection = p50_projection(site, forecast, soc, grid_present=False)
        days = len(forecast.times) / 24.0
        fuel = fuel_forecast(
            with_learned_curve(site, learned),
            deficit_wh_per_day=[projection.energy_needed_to_stay_above_floor_wh / days] * 30,
            fuel_now_l=fuel_now if fuel_now is not None else 0.0,
        )
        note = source_note(forecast)
    recent = picture.recent_burn_l_per_day if picture is not None else None
    forecast_l = float(fuel.litres_per_day.iloc[0]) if fuel is not None else None
    reserve_d = thresholds(tb, site).fuel_low_days
    today = tb.now().astimezone(site.tz).date()
    name = site.display_name
    order_line = ""
    if fuel_now is None:
        days_line = (
            f"I don't know how much diesel is in the {gen.name} tank at {name}: no tank "
            "level (generator_fuel_l or fuel_level_pct) is reported."
        )
    else:
        left = days_left(
            fuel_now,
            recent_l_per_day=recent,
            forecast_l_per_day=forecast_l,
            reserve_days=reserve_d,
            today=today,
        )
        burns = []
        if recent is not None and picture is not None:
            burns.append(
                f"burning ~{recent:.0f} L/day over the last {picture.recent_days:.0f} days"
            )
        if forecast_l is not None:
            burns.append(f"{forecast_l:.0f} L/day forecast")
        detail = f"{fuel_now:.0f} L" + ("; " + ", ".join(burns) if burns else "")
        if left.days is None:
            days_line = (
                f"{name}: {fuel_now:.0f} L of diesel in the tank, and the generator is not "
                "expected to run, so it lasts beyond the forecast."
            )
        else:
            shown = f"{left.days:.1f}" if left.days < 2 else f"{left.days:.0f}"
            days_line = f"About {shown} days of diesel left at {name} ({detail})."
            order_line = (
                f"Order diesel now: fewer than {reserve_d + 1:g} days left at "
                f"{left.burn_l_per_day:.0f} L/day."
                if left.order_now or left.order_by is None
                else f"Order diesel by {left.order_by:%a %d %b} to keep {reserve_d:g} days "
                f"in the tank (at {left.burn_l_per_day:.0f} L/day)."
            )
    rate_line = f"Fuel rate: {rate_label(learned, measured)}."
    bands = "; ".join(
        f"{band} {value:.2f} L/kWh ({hours} h)"
        for band, value, hours, source in zip(
            BAND_NAMES, learned.litres_per_kwh, learned.hours, learned.source, strict=True
        )
        if source == "history"
    )
    month_line = (
        f"{name}: about {fuel.total_l:.0f} L of fuel over 30 days "
        f"({fuel.total_energy_kwh:.0f} kWh from the generator at "
        f"{fuel.litres_per_kwh:.2f} L/kWh"
        + (
            f", {fuel.cost:.0f} {fuel.currency}"
            if allows(ctx.principal, Permission.SEE_COSTS, site.name)
            else ""
        )
        + "), from the next "
        "48 h's deficit."
        if fuel is not None
        else ""
    )
    if args.focus == "rate":
        first = (
            f"{name}: the {gen.name} burns {learned.overall_l_per_kwh:.2f} L/kWh, learned "
            f"from {learned.run_hours:.0f} run hours ({measured}); its "
            f"{'synthetic' if learned.synthetic_curve else 'configured'} curve says "
            f"{learned.curve_l_per_kwh:.2f} L/kWh at 75 % load."
            if learned.learned
            else f"{name}: using the {rate_label(learned, measured)}."
        )
        lines = [first, f"By load: {bands}." if bands else "", days_line]
    elif args.focus == "order":
        lines = [order_line or days_line, days_line if order_line else "", rate_line]
    elif args.focus == "month" and month_line:
        lines = [month_line, days_line, rate_line]
    else:
        lines = [days_line, order_line, rate_line, month_line]
    return ToolOutput(text="\n".join(line for line in lines if line) + note)


async def generator_service(
    tb: Toolbox, site: Site, _args: SiteArgs, _ctx: CallContext
) -> ToolOutput:
    gen = site.generator
    if gen is None:
        return ToolOutput(text=f"{site.display_name} has no generator.")
    limits = thresholds(tb, site)
    picture = await fuel_picture(tb, site)
    outlook = service_outlook(
        name=gen.name,
        site_label=site.display_name,
        run_hours_h=tb.state(site.name).get("generator_run_hours_h"),
        last_service_h=limits.generator_last_service_h,
        interval_h=limits.generator_service_interval_h,
        run_h_per_day=picture.recent_run_h_per_day if picture is not None else None,
        today=tb.now().astimezone(site.tz).date(),
    )
    return ToolOutput(text=outlook.text)


SPECS: tuple[ToolSpec, ...] = (
    ToolSpec(
        name="fuel_outlook",
        kind="read",
        args=FuelArgs,
        run=fuel_outlook,
        description="Diesel: days left in the tank (recent and forecast burn), when to order, "
        "the L/kWh the generator really burns (learned from history, else its fuel curve) and "
        "litres over the next 30 days.",
    ),
    ToolSpec(
        name="generator_service",
        kind="read",
        args=SiteArgs,
        run=generator_service,
        description="Run hours until the generator's next service (oil change): counter, hours "
        "since the last service, interval, hours left and an estimated date.",
    ),
)
