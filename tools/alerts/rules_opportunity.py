"""Opportunity rules (info): solar surplus with idle miners, cheap grid power to charge.

They propose an action a person can approve with one button; both return an
inactive verdict as soon as the opportunity is gone (or was taken), so the
engine resolves the card.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from tools.alerts.context import RuleContext, RuleSpec, Verdict
from tools.alerts.rules_grid import idle_miners, miners_that_fit
from tools.site import Costs

__all__ = [
    "CHEAP_GRID_MAX_SOC_PCT",
    "EXCESS_MIN_SOC_PCT",
    "RULES",
    "cheap_grid_window",
    "cheap_until",
    "excess_solar_idle_miners",
]

EXCESS_MIN_SOC_PCT = 80.0
"""Surplus solar is offered to miners only with the battery above this SOC [%]."""
EXCESS_SOC_HYSTERESIS_PCT = 2.0
EXCESS_HYSTERESIS_KW = 0.3
"""An open surplus alert clears only this far below ``excess_solar_kw`` [kW]."""
EXCESS_FOR_S = 600.0
"""How long the surplus must last before the info alert fires [s]."""
CHEAP_GRID_MAX_SOC_PCT = 60.0
"""Grid charging is proposed in a cheap period only below this SOC [%]."""
CHEAP_SOC_HYSTERESIS_PCT = 2.0


def excess_solar_idle_miners(ctx: RuleContext) -> list[Verdict]:
    """Info: solar surplus above ``excess_solar_kw`` while miners that it could carry are off.

    Surplus is PV minus load (or the export when either is missing); the battery
    must be above :data:`EXCESS_MIN_SOC_PCT` (sites without a battery skip that
    test). Proposes ``start_miners`` with the idle miners the surplus carries, in
    site order. Inactive when no idle miner fits. ``value`` is the surplus [kW].
    """
    site, state = ctx.site, ctx.state
    if not site.miners:
        return []
    pv_w = state.get("pv_power_w")
    load_w = state.get("load_power_w")
    grid_w = state.get("grid_power_w") if site.grid.present else None
    if pv_w is not None and load_w is not None:
        surplus_w = pv_w - load_w
        basis = f"PV {pv_w / 1000:.2f} kW, load {load_w / 1000:.2f} kW"
    elif grid_w is not None:
        surplus_w = max(-grid_w, 0.0)
        basis = f"exporting {surplus_w / 1000:.2f} kW"
    else:
        return []
    soc = state.get("battery_soc_pct")
    if site.battery is not None and soc is None:
        return []
    rule = "excess_solar_idle_miners"
    open_ = ctx.current(rule) is not None
    min_kw = ctx.thresholds.excess_solar_kw - (EXCESS_HYSTERESIS_KW if open_ else 0.0)
    min_soc = EXCESS_MIN_SOC_PCT - (EXCESS_SOC_HYSTERESIS_PCT if open_ else 0.0)
    idle = idle_miners(site, state)
    fit = miners_that_fit(idle, surplus_w)
    surplus_kw = surplus_w / 1000.0
    if surplus_kw <= min_kw or (soc is not None and soc <= min_soc) or not fit:
        return [Verdict(rule=rule, active=False, value=surplus_kw, category="opportunity")]
    names = [m.name for m in fit]
    kw = sum(m.power_kw for m in fit)
    summary = (
        f"{surplus_kw:.2f} kW of solar surplus ({basis}"
        + (f", battery {soc:.0f} %" if soc is not None else "")
        + f") while {', '.join(m.name for m in idle)} "
        + ("is" if len(idle) == 1 else "are")
        + f" off. Starting {', '.join(names)} uses {kw:.2f} kW of it."
    )
    evidence: list[tuple[str, str]] = [("Surplus", f"{surplus_kw:.2f} kW")]
    if pv_w is not None:
        evidence.append(("PV", f"{pv_w / 1000:.2f} kW"))
    if load_w is not None:
        evidence.append(("Load", f"{load_w / 1000:.2f} kW"))
    if grid_w is not None:
        evidence.append(("Grid", f"{grid_w / 1000:+.2f} kW"))
    if soc is not None:
        evidence.append(("Battery SOC", f"{soc:.1f} %"))
    evidence.append(("Idle miners", ", ".join(m.name for m in idle)))
    return [
        Verdict(
            rule=rule,
            active=True,
            severity="info",
            title=f"Solar surplus for idle miners at {site.display_name}",
            summary=summary,
            value=surplus_kw,
            proposed_action="start_miners",
            proposed_params={"loads": names},
            category="opportunity",
            evidence=tuple(evidence),
            for_s=EXCESS_FOR_S,
        )
    ]


def _boundaries(costs: Costs) -> set[int]:
    out: set[int] = set()
    for period in costs.grid_periods:
        for hhmm in (period.start, period.end):
            hours, minutes = hhmm.split(":")
            out.add((int(hours) * 60 + int(minutes)) % 1440)
    return out


def cheap_until(costs: Costs, now: datetime, tz: ZoneInfo, cheap: float) -> datetime | None:
    """When (UTC) the price next rises above ``cheap`` within 24 h of ``now``, else None.

    Checks each local minute on a tariff boundary, so it is exact for ``HH:MM``
    periods and follows the site's clock across daylight-saving changes.
    """
    boundaries = _boundaries(costs)
    if not boundaries:
        return None
    start = now.replace(second=0, microsecond=0)
    for k in range(1, 24 * 60 + 1):
        t = start + timedelta(minutes=k)
        local = t.astimezone(tz)
        minutes = local.hour * 60 + local.minute
        if minutes in boundaries and costs.grid_price_at(minutes) > cheap:
            return t
    return None


def cheap_grid_window(ctx: RuleContext) -> list[Verdict]:
    """Info: grid power is cheap now (at or below ``costs.cheap_grid_price_per_kwh``), the
    battery is below :data:`CHEAP_GRID_MAX_SOC_PCT` and grid charging is off: propose
    ``grid_charge_on``.

    No verdict when no cheap price is set, without a grid or a battery, or when the SOC
    or the grid-charge state is not reported (the action's read-back needs it). The
    summary gives the price and when the cheap period ends. ``value`` is the price now.
    """
    site, state = ctx.site, ctx.state
    costs = site.costs
    cheap = costs.cheap_grid_price_per_kwh
    if cheap is None or not site.grid.present or site.battery is None:
        return []
    soc = state.get("battery_soc_pct")
    charging = state.get("grid_charge_on")
    if soc is None or charging is None:
        return []
    local = ctx.now.astimezone(site.tz)
    price = costs.grid_price_at(local.hour * 60 + local.minute)
    rule = "cheap_grid_window"
    max_soc = CHEAP_GRID_MAX_SOC_PCT + (CHEAP_SOC_HYSTERESIS_PCT if ctx.current(rule) else 0.0)
    if price > cheap or soc >= max_soc or charging >= 0.5:
        return [Verdict(rule=rule, active=False, value=price, category="opportunity")]
    cur = costs.currency
    until = cheap_until(costs, ctx.now, site.tz, cheap)
    until_text = (
        f"until {until.astimezone(site.tz):%H:%M}"
        if until is not None
        else "for at least the next 24 h"
    )
    summary = (
        f"Grid power costs {cur} {price:g}/kWh now (cheap at or below {cur} {cheap:g}), "
        f"{until_text}. The battery is at {soc:.0f} %: charging it from the grid "
        f"({site.grid.max_charge_kw:g} kW) now is cheaper than later."
    )
    return [
        Verdict(
            rule=rule,
            active=True,
            severity="info",
            title=f"Cheap grid power at {site.display_name}",
            summary=summary,
            value=price,
            proposed_action="grid_charge_on",
            proposed_params={},
            category="opportunity",
            evidence=(
                ("Price now", f"{cur} {price:g}/kWh"),
                ("Cheap until", until_text.removeprefix("until ")),
                ("Battery SOC", f"{soc:.1f} %"),
                ("Grid charging", "off"),
            ),
        )
    ]


RULES: tuple[RuleSpec, ...] = (
    RuleSpec(name="excess_solar_idle_miners", category="opportunity", fn=excess_solar_idle_miners),
    RuleSpec(
        name="cheap_grid_window",
        category="opportunity",
        fn=cheap_grid_window,
        schedule="periodic",
    ),
)
