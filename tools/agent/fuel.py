"""Fuel tools: days of diesel left, when to order, the L/kWh the generator really burns,
litres over the next 30 days, and run hours until the generator's service.

The L/kWh is learned from the site's stored history when there is enough of it
(:mod:`tools.forecast.fuel_learning`, through the toolbox's ``fuel`` service), else
the configured fuel curve; every answer says which one it used.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from tools.agent.common import p50_projection, source_note
from tools.agent.spec import MORE_HINT, CallContext, SiteArgs, ToolOutput, ToolSpec
from tools.alerts.engine import AlertError
from tools.cards import age_text
from tools.forecast.fuel import FuelForecast, fuel_forecast
from tools.forecast.fuel_history import DaysLeft, FuelPicture, days_left, fuel_level_l
from tools.forecast.fuel_learning import (
    BAND_NAMES,
    MIN_TOTAL_HOURS,
    LearnedFuel,
    learn_from_samples,
)
from tools.forecast.generator_service import service_outlook
from tools.permissions import Permission, allows
from tools.site import AlertThresholds, Site
from tools.telemetry import SiteState

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


@dataclass(frozen=True, slots=True, kw_only=True)
class TankReading:
    """Where the fuel in the tank came from: the reading used and how old it is."""

    litres: float
    metric: str  # generator_fuel_l or fuel_level_pct
    value: float
    age_s: float


def tank_reading(site: Site, state: SiteState, now: datetime) -> TankReading | None:
    """The newest tank level (litres, else a percentage of the configured tank)."""
    for metric in ("generator_fuel_l", "fuel_level_pct"):
        sample = state.sample(metric)
        if sample is None:
            continue
        litres = (
            fuel_level_l(site, sample.value, None)
            if metric == "generator_fuel_l"
            else fuel_level_l(site, None, sample.value)
        )
        if litres is not None:
            return TankReading(
                litres=litres,
                metric=metric,
                value=sample.value,
                age_s=max(0.0, (now - sample.time).total_seconds()),
            )
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class FuelInputs:
    """What a fuel answer rested on (the reasons given on "why?")."""

    site: Site
    tank: TankReading | None
    picture: FuelPicture | None
    learned: LearnedFuel
    measured: str
    fuel: FuelForecast | None
    forecast_hours: int
    weather_source: str
    deficit_kwh_per_day: float | None
    left: DaysLeft | None
    reserve_days: float
    reserve_from: str  # "site file" or "set in chat"
    forecast_error: str = ""


def fuel_why(inputs: FuelInputs) -> str:
    """The reasons behind a fuel answer: the tank reading and its age, each daily burn and
    where it came from, the L/kWh used and why, and the reserve kept for ordering (pure)."""
    i = inputs
    gen = i.site.generator
    tank_l = gen.tank_l if gen is not None else 0.0
    parts: list[str] = []
    if i.tank is None:
        parts.append(
            "Tank: no level reported (generator_fuel_l or fuel_level_pct), so no days left."
        )
    elif i.tank.metric == "generator_fuel_l":
        parts.append(
            f"Tank: {i.tank.litres:.0f} L from the generator_fuel_l reading "
            f"{age_text_s(i.tank.age_s)} ago."
        )
    else:
        parts.append(
            f"Tank: {i.tank.litres:.0f} L = {i.tank.value:.0f} % (fuel_level_pct reading "
            f"{age_text_s(i.tank.age_s)} ago) of the {tank_l:g} L tank in the site file."
        )
    p = i.picture
    if p is not None and p.recent_burn_l_per_day is not None:
        how = {
            "fuel flow meter": "the fuel flow meter",
            "tank level drops": "the tank level's drop over each run",
        }.get(p.measured_by, "the hourly tank level drops")
        parts.append(
            f"Measured burn: {p.recent_burn_l_per_day:.1f} L/day, the average of the last "
            f"{p.recent_days:.1f} days of stored history, from {how}."
        )
    else:
        days = p.recent_days if p is not None else 0.0
        parts.append(
            f"Measured burn: none ({days:.1f} days of history, at least 1 needed, or no "
            "fuel readings)."
        )
    if i.fuel is not None and i.deficit_kwh_per_day is not None:
        parts.append(
            f"Forecast burn: {float(i.fuel.litres_per_day.iloc[0]):.1f} L/day, the "
            f"{i.deficit_kwh_per_day:.1f} kWh/day the battery would lack over the next "
            f"{i.forecast_hours} h (P50 solar, weather: {i.weather_source}, and load) at "
            f"{i.fuel.litres_per_kwh:.2f} L/kWh with the generator at "
            f"{i.fuel.loading_fraction * 100:.0f} % of its rating."
        )
    elif i.forecast_error:
        parts.append(f"Forecast burn: none ({i.forecast_error}).")
    if i.left is not None and i.left.days is not None and i.tank is not None:
        parts.append(
            f"Days left: {i.tank.litres:.0f} L / {i.left.burn_l_per_day:.1f} L/day "
            + (
                "(the larger of the two burns, to be safe)"
                if p is not None and p.recent_burn_l_per_day is not None and i.fuel is not None
                else "(the only burn known)"
            )
            + f" = {i.left.days:.1f} days."
        )
    learned = i.learned
    if learned.learned:
        bands = ", ".join(
            f"{band} {value:.2f} L/kWh over {hours} h"
            for band, value, hours, source in zip(
                BAND_NAMES, learned.litres_per_kwh, learned.hours, learned.source, strict=True
            )
            if source == "history"
        )
        parts.append(
            f"L/kWh: {learned.overall_l_per_kwh:.2f}, learned from {learned.run_hours:.0f} run "
            f"hours measured by the {i.measured} ({bands}); the "
            f"{'synthetic' if learned.synthetic_curve else 'configured'} curve would say "
            f"{learned.curve_l_per_kwh:.2f} at 75 % load."
        )
    else:
        kind = "synthetic fuel curve" if learned.synthetic_curve else "fuel curve in the site file"
        parts.append(
            f"L/kWh: the {kind}, {learned.curve_l_per_kwh:.2f} at 75 % load, because only "
            f"{learned.run_hours:.0f} running hours with fuel data are stored "
            f"({MIN_TOTAL_HOURS} needed to learn it"
            + (", and no fuel flow or tank level history" if i.measured == "none" else "")
            + ")."
        )
    order = f"Ordering keeps {i.reserve_days:g} days in the tank (fuel_low_days, {i.reserve_from})"
    if i.left is not None and i.left.order_by is not None and i.left.days is not None:
        order += f": order by = today + {int(i.left.days - i.reserve_days)} days."
    elif i.left is not None and i.left.order_now:
        order += ": fewer days than that are left, so order now."
    else:
        order += "."
    parts.append(order)
    return "Why: " + "\n".join(parts)


def age_text_s(seconds: float) -> str:
    return age_text(timedelta(seconds=seconds))


async def fuel_outlook(tb: Toolbox, site: Site, args: FuelArgs, ctx: CallContext) -> ToolOutput:
    gen = site.generator
    if gen is None:
        return ToolOutput(text=f"{site.display_name} has no generator.")
    picture = await fuel_picture(tb, site)
    learned, measured = await fuel_rate(tb, site)
    state = tb.state(site.name)
    tank = tank_reading(site, state, tb.clock.now())
    fuel_now = tank.litres if tank is not None else None
    fuel: FuelForecast | None = None
    note = ""
    forecast_error = ""
    forecast_hours = 0
    weather = ""
    deficit_kwh: float | None = None
    try:
        forecast, soc = await tb.outlook(site)
    except AlertError as err:
        note = f" No forecast burn: {err}"
        forecast_error = str(err)
    else:
        projection = p50_projection(site, forecast, soc, grid_present=False)
        forecast_hours = len(forecast.times)
        weather = forecast.weather_source
        days = forecast_hours / 24.0
        deficit_kwh = projection.energy_needed_to_stay_above_floor_wh / days / 1000.0
        fuel = fuel_forecast(
            with_learned_curve(site, learned),
            deficit_wh_per_day=[deficit_kwh * 1000.0] * 30,
            fuel_now_l=fuel_now if fuel_now is not None else 0.0,
        )
        note = source_note(forecast)
    recent = picture.recent_burn_l_per_day if picture is not None else None
    forecast_l = float(fuel.litres_per_day.iloc[0]) if fuel is not None else None
    reserve_d = thresholds(tb, site).fuel_low_days
    today = tb.now().astimezone(site.tz).date()
    name = site.display_name
    order_line = ""
    left: DaysLeft | None = None
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
        lines = [days_line, order_line, rate_line]
    answer_lines = [line for line in lines if line]
    # the breakdown: every line of the fuel picture, when the answer left some out
    by_load = f"By load: {bands}." if bands else ""
    full = [line for line in (days_line, order_line, rate_line, by_load, month_line) if line]
    more = "\n".join(full) + note if set(full) - set(answer_lines) else ""
    limits = thresholds(tb, site)
    why = fuel_why(
        FuelInputs(
            site=site,
            tank=tank,
            picture=picture,
            learned=learned,
            measured=measured,
            fuel=fuel,
            forecast_hours=forecast_hours,
            weather_source=weather,
            deficit_kwh_per_day=deficit_kwh,
            left=left,
            reserve_days=reserve_d,
            reserve_from="site file"
            if limits.fuel_low_days == site.alerts.fuel_low_days
            else "set in chat",
            forecast_error=forecast_error,
        )
    )
    text = "\n".join(answer_lines) + note + (f"\n{MORE_HINT}" if more else "")
    return ToolOutput(text=text, more=more, why=why)


async def generator_service(
    tb: Toolbox, site: Site, _args: SiteArgs, _ctx: CallContext
) -> ToolOutput:
    gen = site.generator
    if gen is None:
        return ToolOutput(text=f"{site.display_name} has no generator.")
    limits = thresholds(tb, site)
    picture = await fuel_picture(tb, site)
    counter = tb.state(site.name).sample("generator_run_hours_h")
    outlook = service_outlook(
        name=gen.name,
        site_label=site.display_name,
        run_hours_h=counter.value if counter is not None else None,
        last_service_h=limits.generator_last_service_h,
        interval_h=limits.generator_service_interval_h,
        run_h_per_day=picture.recent_run_h_per_day if picture is not None else None,
        today=tb.now().astimezone(site.tz).date(),
    )
    counter_age = (
        None if counter is None else max(0.0, (tb.clock.now() - counter.time).total_seconds())
    )
    changed = [
        name
        for name in ("generator_last_service_h", "generator_service_interval_h")
        if getattr(limits, name) != getattr(site.alerts, name)
    ]
    return ToolOutput(
        text=outlook.text,
        why=service_why(
            counter_h=counter.value if counter is not None else None,
            counter_age_s=counter_age,
            last_service_h=limits.generator_last_service_h,
            interval_h=limits.generator_service_interval_h,
            set_in_chat=changed,
            picture=picture,
        ),
    )


def service_why(
    *,
    counter_h: float | None,
    counter_age_s: float | None,
    last_service_h: float,
    interval_h: float | None,
    set_in_chat: list[str],
    picture: FuelPicture | None,
) -> str:
    """The reasons behind the service answer: the counter reading and its age, the two
    settings and where they are set, and the recent run hours per day behind the date."""
    parts = []
    if counter_h is None or counter_age_s is None:
        parts.append("Counter: no generator_run_hours_h reading has arrived.")
    else:
        parts.append(
            f"Counter: {counter_h:.1f} h, the generator_run_hours_h reading "
            f"{age_text_s(counter_age_s)} ago."
        )
    where = "set in chat" if set_in_chat else "from the site file's alerts section"
    interval = f"{interval_h:g} h" if interval_h is not None else "not set"
    parts.append(
        f"Settings ({where}): last service at {last_service_h:g} h "
        f"(generator_last_service_h), interval {interval} (generator_service_interval_h)."
    )
    if counter_h is not None and interval_h is not None:
        parts.append(
            f"Hours left = {interval_h:g} − ({counter_h:.0f} − {last_service_h:g}) = "
            f"{interval_h - (counter_h - last_service_h):.0f} h."
        )
    if picture is not None and picture.recent_run_h_per_day is not None:
        parts.append(
            f"Date: at {picture.recent_run_h_per_day:.1f} run hours a day, the average of the "
            f"last {picture.recent_days:.1f} days of stored history."
        )
    else:
        days = picture.recent_days if picture is not None else 0.0
        parts.append(
            f"Date: none, {days:.1f} days of generator history stored (at least 1 needed)."
        )
    return "Why: " + "\n".join(parts)


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
