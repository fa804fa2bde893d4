"""Week-ahead tools: the next 7 days day by day (solar, load, battery, generator and
fuel, bands widening with lead time) and the expected load today or tomorrow.

The figures come from :mod:`tools.forecast.week` and the words from
:mod:`tools.forecast.week_render`; these handlers only fetch and hand over."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pandas as pd

from tools.agent.forecasts import ForecastArgs
from tools.agent.spec import MORE_HINT, CallContext, SiteArgs, ToolOutput, ToolSpec
from tools.alerts.engine import AlertError
from tools.cards import Card
from tools.forecast.charts import forecast_chart_png
from tools.forecast.week import week_outlook as project_week
from tools.forecast.week_render import daily_load, load_why, week_lines, week_summary, week_why
from tools.site import Site

if TYPE_CHECKING:
    from tools.agent.toolbox import Toolbox


async def week_outlook(tb: Toolbox, site: Site, _args: SiteArgs, _ctx: CallContext) -> ToolOutput:
    if tb.forecasts is None:
        raise AlertError("Forecasts are not available here.")
    state = tb.state(site.name)
    soc = state.get("battery_soc_pct") if site.battery is not None else None
    wf = await tb.forecasts.week(site, current_load_w=state.get("load_power_w"))
    fc = wf.forecast
    week = await tb.offload.run(
        project_week,
        site,
        times=fc.times,
        pv_p10_w=fc.pv_p10_w,
        pv_p50_w=fc.pv_p50_w,
        pv_p90_w=fc.pv_p90_w,
        load_p10_w=fc.load_p10_w,
        load_p50_w=fc.load_p50_w,
        load_p90_w=fc.load_p90_w,
        soc_now_pct=soc,
        issued=pd.Timestamp(wf.issued_at),
        generator_running=(state.get("generator_running") or 0) >= 0.5,
    )
    lines = week_lines(
        site,
        week,
        weather_source=fc.weather_source,
        pv_growth=wf.pv_growth,
        load_growth=wf.load_growth,
        derate=fc.pv_calibration.derate if fc.pv_calibration is not None else None,
    )
    lines[0] = f"{site.display_name}: {lines[0]}"
    if site.battery is not None and soc is None:
        lines.insert(1, "(No battery reading yet, so no SOC projection.)")
    # the answer: the headline, what it assumes, the week in one line; the days on "more"
    short = [line for line in lines if not line.startswith(("• ", "P50 with P10–P90"))]
    short.append(week_summary(week))
    soc_pct = (
        week.projection.soc_pct
        if week.projection is not None
        else pd.Series(float("nan"), index=fc.times)  # no battery: no SOC line
    )
    card = Card(
        kind="forecast_chart",
        title=f"Week ahead at {site.display_name}",
        text="PV P10–P90 (widening with lead time) and P50, load (P50), projected SOC"
        + (" and generator runs" if week.generator_w is not None else "")
        + ".",
        fields=[
            ("Battery fills", f"{sum(d.fills for d in week.days)} of {len(week.days)} days"),
            ("Solar (P50)", f"{sum(d.pv_p50_kwh for d in week.days):.0f} kWh"),
            ("Load (P50)", f"{sum(d.load_p50_kwh for d in week.days):.0f} kWh"),
        ]
        + (
            [("Generator", f"{week.generator_hours} h, {week.fuel_l:.0f} L")]
            if week.generator_w is not None
            else []
        ),
        footer=f"weather: {fc.weather_source} · load: {fc.load_method}",
        image_png=await tb.offload.run(
            forecast_chart_png,
            times=fc.times,
            pv_p10_w=fc.pv_p10_w,
            pv_p50_w=fc.pv_p50_w,
            pv_p90_w=fc.pv_p90_w,
            load_w=fc.load_p50_w,
            soc_pct=soc_pct,
            generator_w=week.generator_w,
            title=f"{site.display_name}: week ahead",
            tz=site.tz,
        ),
        image_name="week.png",
    )
    why = week_why(
        site,
        week,
        weather_source=fc.weather_source,
        calibration=fc.pv_calibration,
        band_note=fc.band_note,
        load_method=fc.load_method,
        pv_growth=wf.pv_growth,
        load_growth=wf.load_growth,
    )
    return ToolOutput(
        text="\n".join([*short, MORE_HINT]), cards=[card], more="\n".join(lines), why=why
    )


async def load_forecast(
    tb: Toolbox, site: Site, args: ForecastArgs, _ctx: CallContext
) -> ToolOutput:
    if tb.forecasts is None:
        raise AlertError("Forecasts are not available here.")
    now = tb.clock.now()
    today = now.astimezone(site.tz).date()
    day = today + timedelta(days=1 if args.day == "tomorrow" else 0)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=site.tz)
    hours = max(1, int((end.astimezone(UTC) - now) / timedelta(hours=1)))
    state = tb.state(site.name)
    forecast = await tb.forecasts.forecast(
        site, hours=hours, current_load_w=state.get("load_power_w")
    )
    since = datetime.combine(
        today - timedelta(days=29), datetime.min.time(), tzinfo=site.tz
    ).astimezone(UTC)
    actual = await tb.forecasts.actual_hourly(site, "load_power_w", since, now)
    load = daily_load(
        site, day=day, today=today, forecast_p50_w=forecast.load_p50_w, actual_w=actual
    )
    when = f"{args.day} ({day.strftime('%a %d %b')})"
    text = f"{site.display_name}, load {when}: about {load.p50_kwh:.1f} kWh"
    if load.p90_kwh > load.p10_kwh:
        text += f" (P10–P90 {load.p10_kwh:.1f}–{load.p90_kwh:.1f} kWh)"
    if load.peak_at is not None:
        text += (
            f", peak about {load.peak_kw:.1f} kW around "
            f"{load.peak_at.tz_convert(site.tz).strftime('%H:%M')}"
        )
    else:
        text += f", flat at about {load.peak_kw:.1f} kW (no daily shape yet)"
    text += "."
    details = []
    if load.measured_so_far_kwh > 0:
        details.append(f"{load.measured_so_far_kwh:.1f} kWh of it already measured")
    if load.same_weekday is not None and load.same_weekday_kwh is not None:
        details.append(
            f"last {load.same_weekday.strftime('%A')} ({load.same_weekday.isoformat()}) "
            f"used {load.same_weekday_kwh:.1f} kWh"
        )
    else:
        details.append("no whole measured same weekday in the last 4 weeks to compare")
    details.append(load.band_note)
    details.append(f"model: {forecast.load_method}")
    text += "\n" + "; ".join(details) + "."
    card = Card(
        kind="forecast",
        title=f"Load {args.day} at {site.display_name}",
        fields=[
            ("Expected (P50)", f"{load.p50_kwh:.1f} kWh"),
            ("P10–P90", f"{load.p10_kwh:.1f}–{load.p90_kwh:.1f} kWh"),
            ("Peak", f"{load.peak_kw:.1f} kW"),
        ]
        + (
            [("Same weekday", f"{load.same_weekday_kwh:.1f} kWh")]
            if load.same_weekday_kwh is not None
            else []
        ),
        footer=f"load: {forecast.load_method} · local time {site.timezone}",
    )
    history_days = len(set(pd.DatetimeIndex(actual.dropna().index).tz_convert(site.tz).date))
    why = load_why(load, load_method=forecast.load_method, history_days=history_days)
    return ToolOutput(text=text, cards=[card], why=why)


SPECS: tuple[ToolSpec, ...] = (
    ToolSpec(
        name="week_outlook",
        kind="read",
        args=SiteArgs,
        run=week_outlook,
        description="The week ahead (7 days): solar with P10–P90 bands that widen with lead "
        "time, load, lowest battery SOC, whether it fills, generator hours and fuel, per day. "
        "For 'will the battery charge this week', 'do I need the generator this week'.",
    ),
    ToolSpec(
        name="load_forecast",
        kind="read",
        args=ForecastArgs,
        run=load_forecast,
        description="Expected consumption (load) today or tomorrow: kWh P50 with P10–P90, the "
        "peak hour and kW, and the last same weekday's measured load.",
    ),
)
