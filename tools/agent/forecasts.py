"""Forecast tools: tomorrow's solar, the battery over the next 48 h, and how yesterday's
solar forecast did against the measurements."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Literal

import pandas as pd
from pydantic import Field

from tools.agent.common import (
    floor_outlook,
    forecast_why,
    p50_projection,
    signed_kw,
    source_note,
    source_note_text,
)
from tools.agent.spec import CallContext, SiteArgs, ToolOutput, ToolSpec
from tools.alerts.engine import AlertError
from tools.cards import Card, local_time
from tools.forecast.charts import forecast_chart_png
from tools.forecast.scorecard import forecast_vs_actual, scorecard
from tools.forecast.scoring import interval_scores
from tools.forecast.solar import daily_energy_kwh
from tools.site import Site

if TYPE_CHECKING:
    from tools.agent.toolbox import Toolbox


class ForecastArgs(SiteArgs):
    day: Literal["today", "tomorrow"] = Field(default="today", description="Which local day")


async def solar_forecast(
    tb: Toolbox, site: Site, args: ForecastArgs, _ctx: CallContext
) -> ToolOutput:
    if not site.pv_arrays:
        return ToolOutput(text=f"{site.display_name} has no PV arrays configured.")
    today = tb.clock.now().astimezone(site.tz).date()
    day = today + timedelta(days=1 if args.day == "tomorrow" else 0)
    clear = daily_energy_kwh(site, day)
    sun = ""
    if clear.sunrise and clear.sunset:
        sun = (
            f" (sun {clear.sunrise.astimezone(site.tz).strftime('%H:%M')}–"
            f"{clear.sunset.astimezone(site.tz).strftime('%H:%M')})"
        )
    where = f"{site.display_name}, {args.day} ({day.isoformat()})"
    if tb.forecasts is None:  # no forecast service here: the clear-sky ceiling only
        text = (
            f"{where}: up to {clear.energy_kwh:.1f} kWh of solar under a clear sky, peaking "
            f"near {clear.peak_power_w / 1000:.1f} kW around "
            f"{clear.peak_time.astimezone(site.tz).strftime('%H:%M')}{sun}. This is a "
            "clear-sky estimate: clouds will lower it (no weather source here)."
        )
        fields = [
            ("Clear-sky energy", f"{clear.energy_kwh:.1f} kWh"),
            ("Peak", f"{clear.peak_power_w / 1000:.1f} kW"),
        ]
        footer = "clear-sky model (pvlib)"
    else:
        # The same weather and PV path as the outlooks and plans, so
        # COMMANDCENTER_WEATHER=open-meteo is honoured here too.
        fc = await tb.forecasts.solar_day(site, day)
        p50_kwh = fc.energy_kwh(fc.pv_p50_w)
        p10_kwh, p90_kwh = fc.energy_kwh(fc.pv_p10_w), fc.energy_kwh(fc.pv_p90_w)
        peak_at = fc.pv_p50_w.idxmax()
        text = (
            f"{where}: about {p50_kwh:.1f} kWh of solar (P10–P90 {p10_kwh:.1f}–"
            f"{p90_kwh:.1f} kWh), peaking near {fc.pv_p50_w.max() / 1000:.1f} kW around "
            f"{peak_at.tz_convert(site.tz).strftime('%H:%M')}{sun}."
        )
        if fc.weather_source == "open-meteo":
            text += f" Weather: Open-Meteo; a clear sky would give {clear.energy_kwh:.1f} kWh."
        else:
            text += " " + source_note_text(fc.weather_source)
        fields = [
            ("Expected (P50)", f"{p50_kwh:.1f} kWh"),
            ("P10–P90", f"{p10_kwh:.1f}–{p90_kwh:.1f} kWh"),
            ("Clear-sky energy", f"{clear.energy_kwh:.1f} kWh"),
            ("Peak", f"{fc.pv_p50_w.max() / 1000:.1f} kW"),
        ]
        footer = f"weather: {fc.weather_source} · PV model (pvlib)"
    card = Card(
        kind="forecast",
        title=f"Solar {args.day} at {site.display_name}",
        fields=fields,
        footer=footer,
    )
    return ToolOutput(text=text, cards=[card])


async def battery_outlook(
    tb: Toolbox, site: Site, _args: SiteArgs, _ctx: CallContext
) -> ToolOutput:
    forecast, soc = await tb.outlook(site)
    projection = p50_projection(site, forecast, soc)
    floor = site.battery.min_soc_pct if site.battery else 0.0
    parts = [f"{site.display_name}: battery at {soc:.0f} % now"]
    parts += floor_outlook(site, soc, projection, hours=len(forecast.times))
    if projection.fills_at is not None:
        parts.append(f"fills around {local_time(projection.fills_at, site.tz)}")
    parts.append(f"lowest {projection.min_soc_pct:.0f} %")
    if projection.energy_needed_to_stay_above_floor_wh > 0:
        parts.append(
            f"{projection.energy_needed_to_stay_above_floor_wh / 1000:.1f} kWh from the grid "
            "or generator would keep it above the floor"
        )
    card = Card(
        kind="forecast_chart",
        title=f"Battery outlook at {site.display_name}",
        text=f"PV P10–P90 and P50, load (P50) and projected SOC over the next "
        f"{len(forecast.times)} h.",
        fields=[
            ("Now", f"{soc:.0f} %"),
            ("Lowest", f"{projection.min_soc_pct:.0f} %"),
            ("Minimum", f"{floor:g} %"),
        ],
        footer=f"weather: {forecast.weather_source} · load: {forecast.load_method}"
        + (f" · {forecast.band_note}" if forecast.band_note else ""),
        image_png=await tb.offload.run(
            forecast_chart_png,
            times=forecast.times,
            pv_p10_w=forecast.pv_p10_w,
            pv_p50_w=forecast.pv_p50_w,
            pv_p90_w=forecast.pv_p90_w,
            load_w=forecast.load_p50_w,
            soc_pct=projection.soc_pct,
            title=f"{site.display_name}: next {len(forecast.times)} h",
            tz=site.tz,
        ),
        image_name="chart.png",
    )
    why = forecast_why(
        site,
        forecast,
        soc,
        "The projection steps the battery hour by hour with the median (P50) solar and load.",
    )
    return ToolOutput(text=", ".join(parts) + "." + source_note(forecast), cards=[card], why=why)


async def solar_scorecard(
    tb: Toolbox, site: Site, _args: SiteArgs, _ctx: CallContext
) -> ToolOutput:
    if tb.forecasts is None:
        raise AlertError("Forecasts are not available here.")
    if not site.pv_arrays:
        return ToolOutput(text=f"{site.display_name} has no PV arrays configured.")
    today = tb.clock.now().astimezone(site.tz).date()
    day = today - timedelta(days=1)
    start = datetime.combine(day, datetime.min.time(), tzinfo=site.tz).astimezone(UTC)
    end = datetime.combine(today, datetime.min.time(), tzinfo=site.tz).astimezone(UTC)
    actual = await tb.forecasts.actual_hourly(site, "pv_power_w", start, end)
    if actual.dropna().empty:
        return ToolOutput(
            text=f"{site.display_name}: no measured solar for {day.isoformat()} yet "
            "(hourly rollups missing), so there is nothing to score."
        )
    stored = await tb.forecasts.day_ahead(site, start, end)
    band = ""
    if stored is not None:
        forecast = stored.pv_p50_w
        issued = local_time(stored.issued_at, site.tz)
        source = f"the day-ahead forecast issued {issued} (weather: {stored.weather_source})"
        both = pd.concat(
            {"a": actual, "lo": stored.pv_p10_w, "hi": stored.pv_p90_w}, axis=1, join="inner"
        ).dropna()
        daylight = both[both["hi"] > 0]
        if not daylight.empty:
            scores = interval_scores(daylight["a"], daylight["lo"], daylight["hi"])
            band = (
                f" {scores['p10_p90_coverage_pct']:.0f} % of the daylight hours fell "
                "inside its P10–P90 band (80 % expected)."
            )
        footer = f"stored day-ahead forecast ({issued}) vs hourly rollups"
    else:
        forecast = tb.forecasts.pv_clear_sky_hourly(site, start, end)
        source = (
            "the clear-sky model, because no forecast was stored the day before "
            "(the bot stores one each day), so cloudy hours make it look high"
        )
        footer = "no stored forecast: clear-sky model vs hourly rollups"
    card_data = scorecard(forecast_w=forecast, actual_w=actual)
    error = forecast_vs_actual(card_data.error_pct) if card_data.error_pct is not None else "n/a"
    text = (
        f"{site.display_name}, {day.isoformat()}: forecast "
        f"{card_data.energy_forecast_kwh:.1f} kWh of solar, measured "
        f"{card_data.energy_actual_kwh:.1f} kWh ({error}, bias "
        f"{signed_kw(card_data.bias_w)} kW, mean absolute error "
        f"{card_data.mae_w / 1000:.2f} kW over {card_data.hours:.0f} h). "
        f"The forecast is {source}." + band
    )
    card = Card(
        kind="scorecard",
        title=f"Solar scorecard {day.isoformat()} at {site.display_name}",
        fields=[
            ("Forecast", f"{card_data.energy_forecast_kwh:.1f} kWh"),
            ("Actual", f"{card_data.energy_actual_kwh:.1f} kWh"),
            ("Forecast vs actual", error),
            ("Bias", f"{signed_kw(card_data.bias_w)} kW"),
            ("MAE", f"{card_data.mae_w / 1000:.2f} kW"),
        ],
        footer=f"{footer} · {card_data.hours:.0f} h compared",
    )
    return ToolOutput(text=text, cards=[card])


SPECS: tuple[ToolSpec, ...] = (
    ToolSpec(
        name="solar_forecast",
        kind="read",
        args=ForecastArgs,
        run=solar_forecast,
        description="Expected solar energy today or tomorrow: P50 with the P10–P90 range "
        "and peak, from the weather forecast when one is configured (else clear sky, said "
        "so), beside the clear-sky ceiling.",
    ),
    ToolSpec(
        name="battery_outlook",
        kind="read",
        args=SiteArgs,
        run=battery_outlook,
        description="Projected battery SOC for the next 48 h from the PV and load forecasts: "
        "when it reaches the minimum, whether it fills, energy needed to stay above the floor.",
    ),
    ToolSpec(
        name="solar_scorecard",
        kind="read",
        args=SiteArgs,
        run=solar_scorecard,
        description="How yesterday's solar forecast compared with the measured PV: "
        "forecast and actual kWh, error %, bias and mean absolute error.",
    ),
)
