"""Small pure helpers that several tool families use to word their answers."""

from __future__ import annotations

from tools.alerts.engine import AlertView
from tools.cards import local_time
from tools.forecast.battery import SocProjection, project_soc
from tools.forecast.service import SiteForecast
from tools.site import Site


def p50_projection(
    site: Site, forecast: SiteForecast, soc_pct: float, *, grid_present: bool | None = None
) -> SocProjection:
    """The battery over the forecast's hours with median solar and load."""
    return project_soc(
        site,
        soc_start_pct=soc_pct,
        pv_w=forecast.pv_p50_w,
        load_w=forecast.load_p50_w,
        times=forecast.times,
        grid_present=grid_present,
    )


def floor_outlook(
    site: Site, soc_pct: float, projection: SocProjection, *, hours: int
) -> list[str]:
    """What the projection says about the floor, starting from where the battery is now."""
    floor = projection.floor_soc_pct
    soc = projection.soc_pct
    if soc_pct < floor - 0.5:
        above = soc[soc >= floor - 1e-6]
        if above.empty:
            return [f"below the {floor:g} % minimum, and stays below it for the next {hours} h"]
        when = local_time(above.index[0].to_pydatetime(), site.tz)
        return [f"below the {floor:g} % minimum until around {when}"]
    if soc_pct <= floor + 0.5:
        above = soc[soc > floor + 0.5]
        if above.empty:
            return [f"at the {floor:g} % minimum, and stays there for the next {hours} h"]
        when = local_time(above.index[0].to_pydatetime(), site.tz)
        return [f"at the {floor:g} % minimum until around {when}"]
    if projection.reaches_floor_at is not None:
        return [
            f"reaches the {floor:g} % minimum around "
            f"{local_time(projection.reaches_floor_at, site.tz)}"
        ]
    return [f"stays above the {floor:g} % minimum for the next {hours} h"]


def source_note(forecast: SiteForecast) -> str:
    """A trailing note when the solar part of a forecast is clear-sky (so optimistic)."""
    if forecast.weather_source == "clear-sky-fallback":
        return " (weather service unavailable: clear-sky solar, so this is optimistic)"
    if forecast.weather_source == "clear-sky":
        return " (no weather forecast configured: clear-sky solar, so this is optimistic)"
    return ""


def source_note_text(source: str) -> str:
    """The same note as a sentence, for a day's solar forecast."""
    if source == "clear-sky-fallback":
        return "The weather service is unavailable: this is clear-sky solar, so it is optimistic."
    return "No weather forecast is configured, so this assumes a clear sky: clouds lower it."


def signed_kw(power_w: float) -> str:
    """Power [W] as signed kW with two decimals, never "-0.00"."""
    return f"{round(power_w / 1000, 2) + 0.0:+.2f}"


def hours_text(hours: float) -> str:
    """A duration in hours as words: minutes, hours or days."""
    if hours < 1:
        return f"{hours * 60:.0f} min"
    if hours < 48:
        return f"{hours:.1f} h"
    return f"{hours / 24:.1f} days"


def forecast_why(site: Site, forecast: SiteForecast, soc_pct: float, rule: str) -> str:
    """What a forecast-based answer rests on: the battery now, the forecast's totals
    and sources, and the rule the answer applied."""
    hours = len(forecast.times)
    pv_kwh = float(forecast.pv_p50_w.sum()) / 1000
    load_kwh = float(forecast.load_p50_w.sum()) / 1000
    battery = (
        f"the battery is at {soc_pct:.0f} % of {site.battery.capacity_kwh:g} kWh with its "
        f"floor at {site.battery.min_soc_pct:g} %"
        if site.battery is not None
        else "the site has no battery"
    )
    band = f" ({forecast.band_note})" if forecast.band_note else ""
    return (
        f"Why: {battery}; over the next {hours} h the forecast expects {pv_kwh:.1f} kWh of "
        f"solar (P50, weather: {forecast.weather_source}) against {load_kwh:.1f} kWh of load "
        f"({forecast.load_method}){band}. {rule}"
    )


def alert_reason(alert: AlertView) -> str:
    """Why an alert is open: its rule and the readings it fired on."""
    evidence = "; ".join(f"{label} {value}" for label, value in alert.evidence)
    value = f" (value {alert.value:g})" if alert.value is not None and not evidence else ""
    return (
        f"Alert {alert.id} ({alert.title}) is {alert.status}: rule {alert.rule}"
        f"{f', {alert.category}' if alert.category else ''}, {alert.severity}{value}"
        + (f"; evidence: {evidence}." if evidence else ".")
    )
