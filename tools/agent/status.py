"""Status tools: the site, its battery and its solar right now, from the latest readings."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pandas as pd

from tools.agent.common import alert_reason, hours_text, signed_kw
from tools.agent.spec import CallContext, SiteArgs, ToolOutput, ToolSpec, brief
from tools.alerts.engine import AlertView
from tools.cards import Card, age_text, local_time
from tools.forecast.solar import clear_sky_power_w
from tools.site import Site
from tools.telemetry import SiteState

if TYPE_CHECKING:
    from tools.agent.toolbox import Toolbox

STALE_AFTER = timedelta(minutes=15)


def freshness(tb: Toolbox, site: Site, state: SiteState) -> str:
    """A sentence when the readings are missing, stale or only from storage; else ""."""
    if state.time is None:
        return "No readings have arrived from this site yet."
    age = tb.clock.now() - state.time
    if age > STALE_AFTER:
        return (
            f"Readings are stale: the last one is from {local_time(state.time, site.tz)}"
            f" ({age_text(age)} ago)."
        )
    if state.from_storage:  # a process that does not poll answers from stored readings
        return f"From the stored readings; the newest is {age_text(age)} old."
    return ""


def device_problems(tb: Toolbox, site: Site, state: SiteState) -> list[str]:
    """Stale or failing devices and rejected readings, in words."""
    now = tb.clock.now()
    problems = []
    for device in site.devices:
        last = state.seen.get(device.name)
        error = state.device_errors.get(device.name, "")
        since = last or state.watching_since
        if since is not None and (now - since).total_seconds() > device.stale_after:
            when = local_time(last, site.tz) if last else "never since start"
            problems.append(f"{device.name} is stale (last reading: {when})")
        elif error:
            problems.append(f"{device.name}: {error}")
    for device_name, count in sorted(state.rejected.items()):
        if count:
            problems.append(f"{count} reading(s) from {device_name or 'a device'} rejected")
    for device_name, reasons in sorted(state.payloads_rejected.items()):
        total = sum(reasons.values())
        if total:
            why = ", ".join(f"{reason} {n}" for reason, n in sorted(reasons.items()))
            problems.append(f"{device_name} sent {total} value(s) that were refused ({why})")
    return problems


def device_notes(site: Site, state: SiteState) -> list[str]:
    """What drivers state about their devices (e.g. "Use Timer is off"), once each."""
    notes: list[str] = []
    for device in site.devices:
        for note in state.device_notes.get(device.name, []):
            line = f"{device.name}: {note}"
            if line not in notes:
                notes.append(line)
    return notes


def battery_lines(site: Site, state: SiteState) -> tuple[str, list[tuple[str, str]]]:
    """The battery in one sentence, and as card fields."""
    soc = state.get("battery_soc_pct")
    power_w = state.get("battery_power_w")
    if site.battery is None:
        return "This site has no battery.", []
    if soc is None:
        return "No battery reading yet.", []
    power_w = power_w or 0.0
    floor = site.battery.min_soc_pct
    usable_kwh = max(0.0, (soc - floor) / 100 * site.battery.capacity_kwh)
    if soc < floor - 0.05:
        eta = f"; it is below the {floor:g} % minimum"
    elif soc <= floor + 0.05:
        eta = f"; it is at the {floor:g} % minimum"
    else:
        eta = ""
    if power_w < -30:
        flow = f"discharging at {-power_w / 1000:.2f} kW"
        if not eta:
            hours = usable_kwh / (-power_w / 1000)
            eta = f"; at this rate it reaches the {floor:g} % minimum in about {hours_text(hours)}"
    elif power_w > 30:
        flow = f"charging at {power_w / 1000:.2f} kW"
    else:
        flow = "idle"
    text = f"Battery at {soc:.1f} %, {flow}{eta}. {usable_kwh:.1f} kWh usable above the floor."
    fields = [
        ("Battery", f"{soc:.1f} %"),
        ("Battery power", f"{signed_kw(power_w)} kW"),
        ("Usable above floor", f"{usable_kwh:.1f} kWh"),
    ]
    return text, fields


async def site_status(tb: Toolbox, site: Site, _args: SiteArgs, _ctx: CallContext) -> ToolOutput:
    state = tb.state(site.name)
    batt_text, fields = battery_lines(site, state)
    flows: list[str] = []
    pv = state.get("pv_power_w")
    load = state.get("load_power_w")
    grid = state.get("grid_power_w")
    if pv is not None:
        flows.append(f"Solar {pv / 1000:.2f} kW.")
        fields.append(("Solar", f"{pv / 1000:.2f} kW"))
    if load is not None:
        flows.append(f"Load {load / 1000:.2f} kW.")
        fields.append(("Load", f"{load / 1000:.2f} kW"))
    if grid is not None and site.grid.present:
        direction = "importing" if grid > 30 else "exporting" if grid < -30 else "idle"
        flows.append(f"Grid {direction} {abs(grid) / 1000:.2f} kW.")
        fields.append(("Grid", f"{signed_kw(grid)} kW"))
        if (state.get("grid_charge_on") or 0) >= 0.5:
            flows.append("Grid charging is on.")
    if site.generator is not None:
        running = (state.get("generator_running") or 0) >= 0.5
        fuel = state.get("generator_fuel_l")
        gen = "running" if running else "stopped"
        if fuel is not None:
            gen += f", {fuel:.0f} L of {site.generator.tank_l:g} L fuel"
        flows.append(f"Generator {gen}.")
        fields.append(("Generator", gen))
    on = state.devices("load_on")
    if site.loads:
        running_loads = [x.name for x in site.loads if on.get(x.name, 0) >= 0.5]
        flows.append(
            f"Loads on: {', '.join(running_loads)}." if running_loads else "All loads are off."
        )
        fields.append(("Loads on", ", ".join(running_loads) or "none"))
    alerts = await tb.alerts.open_alerts(site.name)
    alert_line = (
        f"{len(alerts)} open alert(s): " + "; ".join(a.title for a in alerts) + "."
        if alerts
        else "No open alerts."
    )
    health: list[str] = []
    stale = freshness(tb, site, state)
    if stale:
        health.append(stale)
    problems = device_problems(tb, site, state)
    if problems:
        health.append("Devices: " + "; ".join(problems) + ".")
        fields.append(("Devices", "; ".join(problems)))
    notes = device_notes(site, state)
    if notes:
        health.append("Notes: " + "; ".join(notes) + ".")
        fields.append(("Notes", "; ".join(notes)))
    if tb.deliveries is not None and site.delivery is not None:
        stats = await tb.deliveries()
        if stats.pending or stats.failed:
            health.append("Alert deliveries: " + stats.summary() + ".")
            fields.append(("Deliveries", stats.summary()))
    lines = [" ".join(flows), alert_line, " ".join(health)]
    answer = brief(
        f"{site.display_name}: {batt_text}",
        [line for line in lines if line],
        more=_status_more(tb, site, state, alerts),
        why="\n".join([_status_why(tb, site, state), *(alert_reason(a) for a in alerts)]),
    )
    tone = (
        "critical"
        if any(a.severity == "critical" for a in alerts)
        else ("warning" if alerts else "good")
    )
    card = Card(
        kind="status",
        title=f"{site.display_name} status",
        fields=fields,
        tone=tone,  # type: ignore[arg-type]
        footer=f"as of {local_time(state.time, site.tz)}" if state.time else "no data yet",
    )
    answer.cards = [card]
    return answer


def _status_more(tb: Toolbox, site: Site, state: SiteState, alerts: list[AlertView]) -> str:
    """The breakdown behind a status: each open alert, and each device's last reading."""
    lines = [f"{site.display_name} in detail:"]
    for a in alerts:
        lines.append(
            f"- alert {a.id} [{a.severity}] {a.title} ({a.status}, since "
            f"{local_time(a.started_at, site.tz)}): {a.summary}"
        )
    now = tb.clock.now()
    for device in site.devices:
        last = state.seen.get(device.name)
        seen = f"{age_text(now - last)} ago" if last else "no reading since start"
        lines.append(f"- {device.name} ({device.driver}): last reading {seen}")
    if site.battery is not None:
        lines.append(
            f"- battery: {site.battery.capacity_kwh:g} kWh, floor {site.battery.min_soc_pct:g} %"
        )
    return "\n".join(lines) if len(lines) > 1 else ""


def _status_why(tb: Toolbox, site: Site, state: SiteState) -> str:
    """Where a status comes from."""
    if state.time is None:
        return f"No readings have arrived from {site.display_name} yet, so nothing is known."
    source = "stored readings" if state.from_storage else "live readings"
    return (
        f"From the latest {source} of {site.display_name}'s devices (newest "
        f"{local_time(state.time, site.tz)}, {age_text(tb.clock.now() - state.time)} old) "
        "and the alerts the alert engine has open; the floor and the time to reach it use "
        "the battery's capacity and minimum from the site file."
    )


async def battery_status(tb: Toolbox, site: Site, _args: SiteArgs, _ctx: CallContext) -> ToolOutput:
    state = tb.state(site.name)
    text, fields = battery_lines(site, state)
    stale = freshness(tb, site, state)
    text = f"{site.display_name}: {text}" + (f" {stale}" if stale else "")
    card = Card(kind="battery", title=f"{site.display_name} battery", fields=fields)
    return ToolOutput(text=text, cards=[card] if fields else [])


async def solar_now(tb: Toolbox, site: Site, _args: SiteArgs, _ctx: CallContext) -> ToolOutput:
    state = tb.state(site.name)
    pv = state.get("pv_power_w")
    if not site.pv_arrays:
        return ToolOutput(text=f"{site.display_name} has no PV arrays configured.")
    if pv is None:
        return ToolOutput(text=f"{site.display_name}: no solar reading yet.")
    when = state.time or tb.clock.now()
    expected = float(clear_sky_power_w(site, pd.DatetimeIndex([when])).iloc[0])
    kwp = sum(a.kwp for a in site.pv_arrays)
    text = f"{site.display_name}: solar is producing {pv / 1000:.2f} kW of {kwp:g} kWp"
    if expected > 50:
        text += (
            f"; a clear sky would give about {expected / 1000:.2f} kW now "
            f"({pv / expected * 100:.0f} % of clear-sky)."
        )
    else:
        text += "; the sun is down or too low to produce much."
    stale = freshness(tb, site, state)
    return ToolOutput(text=text + (f" {stale}" if stale else ""))


SPECS: tuple[ToolSpec, ...] = (
    ToolSpec(
        name="site_status",
        kind="read",
        args=SiteArgs,
        run=site_status,
        description="Overview of a site now: battery, solar, load, grid, generator, "
        "miners and open alerts.",
    ),
    ToolSpec(
        name="battery_status",
        kind="read",
        args=SiteArgs,
        run=battery_status,
        description="Battery state of charge, power (charging or discharging), "
        "energy left above the minimum SOC and time until it is reached.",
    ),
    ToolSpec(
        name="solar_now",
        kind="read",
        args=SiteArgs,
        run=solar_now,
        description="Solar (PV) power right now compared with the clear-sky expectation.",
    ),
)
