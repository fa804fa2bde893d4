"""Alert rules: pure functions of the latest state and the site's thresholds.

Each rule returns a :class:`Verdict` for its fingerprint every time it is
evaluated, active or not, so the engine can both raise and resolve alerts.
Thresholds have hysteresis: an alert raised below 30 % clears only above
30 % + ``SOC_HYSTERESIS_PCT``, so a value hovering at the threshold does not flap.
"""

from __future__ import annotations

from datetime import datetime

from tools.alerts.context import (
    SEVERITY_RANK,
    RuleContext,
    RuleSpec,
    Severity,
    Verdict,
)
from tools.site import Site
from tools.telemetry import SiteState

__all__ = [
    "BUILTIN_RULES",
    "SEVERITY_RANK",
    "Severity",
    "Verdict",
    "battery_discharge_high",
    "battery_soc_low",
    "device_offline",
    "evaluate",
]

SOC_HYSTERESIS_PCT = 2.0
DISCHARGE_HYSTERESIS_KW = 0.5


def _miners_running(site: Site, state: SiteState) -> list[str]:
    on = state.devices("load_on")
    return [m.name for m in site.miners if on.get(m.name, 0.0) >= 0.5]


def battery_soc_low(site: Site, state: SiteState, *, current: Severity | None) -> Verdict | None:
    """SOC below the warning threshold (warning) or the critical one (critical).

    ``current`` is the severity of the open alert, if any: it widens both
    thresholds by the hysteresis so that the alert neither flaps nor bounces
    between warning and critical.
    """
    if site.battery is None:
        return None
    soc = state.get("battery_soc_pct")
    if soc is None:
        return None
    t = site.alerts
    clear_above = t.soc_warning_pct + (SOC_HYSTERESIS_PCT if current is not None else 0.0)
    if soc >= clear_above:
        return Verdict(rule="battery_soc_low", active=False, value=soc)
    critical_below = t.soc_critical_pct + (SOC_HYSTERESIS_PCT if current == "critical" else 0.0)
    critical = soc < critical_below
    miners = _miners_running(site, state)
    power_w = state.get("battery_power_w") or 0.0
    trend = "discharging" if power_w < -30 else "charging" if power_w > 30 else "idle"
    threshold = t.soc_critical_pct if critical else t.soc_warning_pct
    summary = (
        f"Battery at {soc:.1f} % (threshold {threshold:g} %), "
        f"{trend} at {abs(power_w) / 1000:.2f} kW. Minimum SOC for this site is "
        f"{site.battery.min_soc_pct:g} %."
    )
    if miners:
        summary += f" Miners running: {', '.join(miners)}."
    return Verdict(
        rule="battery_soc_low",
        active=True,
        severity="critical" if critical else "warning",
        title=f"Battery {'critically ' if critical else ''}low at {site.display_name}",
        summary=summary,
        value=soc,
        proposed_action="stop_miners" if miners else None,
    )


def battery_discharge_high(
    site: Site, state: SiteState, *, current: Severity | None
) -> Verdict | None:
    """Battery discharging faster than the site's limit (default 5 kW)."""
    if site.battery is None:
        return None
    power_w = state.get("battery_power_w")
    if power_w is None:
        return None
    discharge_kw = max(0.0, -power_w / 1000.0)
    limit_kw = site.alerts.discharge_warning_kw
    threshold = limit_kw - (DISCHARGE_HYSTERESIS_KW if current is not None else 0.0)
    if discharge_kw <= threshold:
        return Verdict(rule="battery_discharge_high", active=False, value=discharge_kw)
    miners = _miners_running(site, state)
    summary = f"Battery discharging at {discharge_kw:.2f} kW (limit {limit_kw:g} kW)."
    load_w = state.get("load_power_w")
    if load_w is not None:
        summary += f" Site load {load_w / 1000:.2f} kW."
    if miners:
        summary += f" Miners running: {', '.join(miners)}."
    return Verdict(
        rule="battery_discharge_high",
        active=True,
        severity="warning",
        title=f"Fast battery discharge at {site.display_name}",
        summary=summary,
        value=discharge_kw,
        proposed_action="stop_miners" if miners else None,
    )


def device_offline(site: Site, state: SiteState, *, now: datetime) -> list[Verdict]:
    """One verdict per device: offline when silent for longer than its ``stale_after``.

    A device never heard from counts from when the bot started watching the site.
    """
    verdicts = []
    for device in site.devices:
        last = state.seen.get(device.name) or state.watching_since
        rule = f"device_offline:{device.name}"
        if last is None:
            continue
        silent_s = (now - last).total_seconds()
        if silent_s <= device.stale_after:
            verdicts.append(Verdict(rule=rule, active=False, value=silent_s))
            continue
        error = state.device_errors.get(device.name, "")
        heard = (
            f"last reading {last.isoformat(timespec='seconds')}"
            if device.name in state.seen
            else "no reading since the bot started"
        )
        summary = (
            f"{device.name} ({device.driver}) has been silent for {_duration(silent_s)} "
            f"(expected every {device.interval_s:g} s; {heard})."
        )
        if error:
            summary += f" Last error: {error}"
        verdicts.append(
            Verdict(
                rule=rule,
                active=True,
                severity="warning",
                title=f"{device.name} offline at {site.display_name}",
                summary=summary,
                value=silent_s,
            )
        )
    return verdicts


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _soc_rule(ctx: RuleContext) -> list[Verdict]:
    site = ctx.site.model_copy(update={"alerts": ctx.thresholds})
    verdict = battery_soc_low(site, ctx.state, current=ctx.current("battery_soc_low"))
    return [] if verdict is None else [verdict]


def _discharge_rule(ctx: RuleContext) -> list[Verdict]:
    site = ctx.site.model_copy(update={"alerts": ctx.thresholds})
    verdict = battery_discharge_high(site, ctx.state, current=ctx.current("battery_discharge_high"))
    return [] if verdict is None else [verdict]


def _offline_rule(ctx: RuleContext) -> list[Verdict]:
    return device_offline(ctx.site, ctx.state, now=ctx.now)


BUILTIN_RULES: tuple[RuleSpec, ...] = (
    RuleSpec(name="battery_soc_low", category="battery", fn=_soc_rule),
    RuleSpec(name="battery_discharge_high", category="battery", fn=_discharge_rule),
    RuleSpec(name="device_offline", category="device", fn=_offline_rule),
)


def evaluate(
    site: Site, state: SiteState, *, open_alerts: dict[str, Severity], now: datetime
) -> list[Verdict]:
    """Run the built-in rules on the latest state; ``open_alerts`` maps rule to severity."""
    ctx = RuleContext(
        site=site, state=state, now=now, thresholds=site.alerts, open_alerts=open_alerts
    )
    verdicts: list[Verdict] = []
    for spec in BUILTIN_RULES:
        verdicts.extend(spec.fn(ctx))
    return verdicts
