"""Grid and inverter rules: grid outage, inverter faults, full battery with curtailed PV.

All three run on every telemetry batch (latest state only) and return a
:class:`~tools.alerts.context.Verdict` for each condition they can judge,
active or not, so the engine can raise and resolve alerts. A reading the rule
needs that the site does not report gives no verdict (never a false alarm).

Input conventions (:mod:`tools.domain`): ``grid_connected`` is 1/0 (SolArk
register 194, or derived from the Victron active input); ``active_input_source``
is Victron's ``Ac/ActiveIn/Source`` (0 n/a, 1 grid, 2 genset, 3 shore, 240
inverting); ``inverter_fault_code`` is the vendor's fault bitfield (SolArk: the
fault registers 103-106 combined little-endian, bit n = fault F(n+1)).
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from tools.alerts.context import RuleContext, RuleSpec, Verdict
from tools.devices.solark import fault_codes
from tools.forecast.solar import clear_sky_power_w
from tools.site import Site, SwitchableLoad
from tools.telemetry import SiteState

__all__ = [
    "CURTAILED_MIN_W",
    "CURTAILED_RATIO",
    "GRID_INPUT_SOURCES",
    "OUTAGE_GENERATOR_SOC_PCT",
    "RULES",
    "battery_full_curtailed",
    "describe_fault",
    "grid_outage",
    "idle_miners",
    "inverter_fault",
    "miners_that_fit",
]

GRID_INPUT_SOURCES: dict[int, str] = {
    0: "n/a",
    1: "grid",
    2: "genset",
    3: "shore",
    240: "inverting",
}
"""Victron ``Ac/ActiveIn/Source`` values; 1 (grid) and 3 (shore) mean the grid feeds the site."""
OUTAGE_GENERATOR_SOC_PCT = 50.0
"""During an outage, starting the generator is proposed below this SOC [%]."""
SOLARK_FAULT_REGISTERS = (103, 104, 105, 106)
FULL_HYSTERESIS_PCT = 2.0
"""An open "battery full" alert clears only this far below ``battery_full_pct`` [%]."""
CURTAILED_RATIO = 0.7
"""PV below this share of the clear-sky potential counts as held back."""
CURTAILED_MIN_W = 500.0
"""...and at least this far below it [W] (the bigger of this and 10 % of the site's kWp)."""
BATTERY_IDLE_W = 500.0
"""A battery charging slower than this [W] (and not discharging beyond it) is not taking PV."""
GRID_BALANCE_W = 200.0
"""Grid import or export below this [W] counts as balanced (no export, no deficit)."""
CURTAILED_FOR_S = 600.0
"""How long curtailment must last before the info alert fires [s]."""


def _source_name(source: float) -> str:
    code = int(source)
    return f"{code} ({GRID_INPUT_SOURCES.get(code, 'unknown')})"


def _grid_lost_devices(state: SiteState) -> tuple[dict[str, str], dict[str, str]] | None:
    """``(lost, connected)``: device -> what it reports; None when no device reports either.

    A device reporting ``active_input_source`` is judged on it (a stale
    ``grid_connected`` kept from before the source changed is ignored); others on
    ``grid_connected``.
    """
    sources = state.devices("active_input_source")
    connected = state.devices("grid_connected")
    if not sources and not connected:
        return None
    lost: dict[str, str] = {}
    ok: dict[str, str] = {}
    for device, source in sources.items():
        target = ok if int(source) in (1, 3) else lost
        target[device] = f"active input {_source_name(source)}"
    for device, value in connected.items():
        if device in sources:
            continue
        if value >= 0.5:
            ok[device] = "grid connected"
        else:
            lost[device] = "grid not connected"
    return lost, ok


def _label(device: str) -> str:
    return device or "inverter"


def grid_outage(ctx: RuleContext) -> list[Verdict]:
    """Critical while a site with a grid has lost it at any inverter input; resolves on return.

    Proposes ``generator_start`` when the site has a generator that is not already
    running (and has fuel) and the battery is below :data:`OUTAGE_GENERATOR_SOC_PCT`.
    ``value`` is the battery SOC [%] (None without a battery reading).
    """
    site, state = ctx.site, ctx.state
    if not site.grid.present:
        return []
    judged = _grid_lost_devices(state)
    if judged is None:
        return []
    lost, connected = judged
    soc = state.get("battery_soc_pct") if site.battery is not None else None
    if not lost:
        return [Verdict(rule="grid_outage", active=False, value=soc, category="grid")]

    evidence: list[tuple[str, str]] = [(_label(d), what) for d, what in sorted(lost.items())]
    evidence += [(_label(d), what) for d, what in sorted(connected.items())]
    parts = [f"{_label(d)}: {what}" for d, what in sorted(lost.items())]
    summary = f"The grid is down at {site.display_name} ({'; '.join(parts)})."
    if soc is not None:
        power_w = state.get("battery_power_w")
        evidence.append(("Battery SOC", f"{soc:.1f} %"))
        summary += f" Battery at {soc:.1f} %"
        if power_w is not None:
            evidence.append(("Battery power", f"{power_w / 1000:+.2f} kW"))
            if power_w < -30:
                summary += f", discharging at {-power_w / 1000:.2f} kW"
        summary += "."
    load_w = state.get("load_power_w")
    if load_w is not None:
        evidence.append(("Load", f"{load_w / 1000:.2f} kW"))

    proposed = None
    gen = site.generator
    if gen is not None:
        running = (state.get("generator_running") or 0.0) >= 0.5 or any(
            int(s) == 2 for s in state.devices("active_input_source").values()
        )
        fuel_l = state.get("generator_fuel_l")
        gen_text = "running" if running else "stopped"
        if fuel_l is not None:
            gen_text += f", {fuel_l:.0f} L of {gen.tank_l:g} L fuel"
        evidence.append(("Generator", gen_text))
        if running:
            summary += f" The generator ({gen.name}) is running."
        elif fuel_l is not None and fuel_l <= 0:
            summary += f" The generator ({gen.name}) cannot help: its tank is empty."
        elif soc is not None and soc < OUTAGE_GENERATOR_SOC_PCT:
            proposed = "generator_start"
            summary += (
                f" The battery is below {OUTAGE_GENERATOR_SOC_PCT:g} %: starting the "
                f"generator ({gen.name}, {gen.rated_kw:g} kW) keeps the site powered."
            )
    return [
        Verdict(
            rule="grid_outage",
            active=True,
            severity="critical",
            title=f"Grid outage at {site.display_name}",
            summary=summary,
            value=soc,
            proposed_action=proposed,
            proposed_params={} if proposed else None,
            category="grid",
            evidence=tuple(evidence),
        )
    ]


def describe_fault(code: float, *, driver: str) -> list[str]:
    """The active faults in an ``inverter_fault_code`` reading.

    SolArk (``solark_modbus``): the four fault registers combined little-endian,
    decoded by :func:`tools.devices.solark.fault_codes` into ``F01``..``F64``.
    Other drivers: the set bits, as ``bit 0``, ``bit 5``, ...
    """
    value = int(code)
    if driver == "solark_modbus":
        registers = {
            address: (value >> (16 * i)) & 0xFFFF
            for i, address in enumerate(SOLARK_FAULT_REGISTERS)
        }
        return fault_codes(registers, SOLARK_FAULT_REGISTERS)
    return [f"bit {bit}" for bit in range(value.bit_length()) if value >> bit & 1]


def inverter_fault(ctx: RuleContext) -> list[Verdict]:
    """One verdict per device reporting ``inverter_fault_code``: critical while it is non-zero."""
    site, state = ctx.site, ctx.state
    verdicts: list[Verdict] = []
    for device, code in sorted(state.devices("inverter_fault_code").items()):
        rule = f"inverter_fault:{device}" if device else "inverter_fault"
        if code == 0:
            verdicts.append(Verdict(rule=rule, active=False, value=0.0, category="inverter"))
            continue
        config = site.device(device)
        driver = config.driver if config is not None else ""
        faults = describe_fault(code, driver=driver)
        listed = ", ".join(faults) if faults else "unknown"
        summary = f"{_label(device)} reports fault {listed} (code {int(code):#x})."
        if code >= 2.0**53:
            summary += " The reading is a float: faults in the lowest bits may be missing."
        summary += " Check the inverter display and its manual for the fault's meaning."
        verdicts.append(
            Verdict(
                rule=rule,
                active=True,
                severity="critical",
                title=f"Inverter fault at {site.display_name} ({_label(device)})",
                summary=summary,
                value=code,
                category="inverter",
                evidence=(("Fault code", f"{int(code):#x}"), ("Faults", listed)),
            )
        )
    return verdicts


def idle_miners(site: Site, state: SiteState) -> list[SwitchableLoad]:
    """Miners whose relay reports off (a miner that reports nothing is not counted)."""
    on = state.devices("load_on")
    return [m for m in site.miners if m.name in on and on[m.name] < 0.5]


def miners_that_fit(miners: list[SwitchableLoad], power_w: float) -> list[SwitchableLoad]:
    """The miners, in site order, that ``power_w`` [W] carries when started one by one."""
    chosen: list[SwitchableLoad] = []
    left_w = power_w
    for miner in miners:
        if miner.power_kw * 1000.0 <= left_w:
            chosen.append(miner)
            left_w -= miner.power_kw * 1000.0
    return chosen


def _potential_w(site: Site, now: datetime) -> float:
    return float(clear_sky_power_w(site, pd.DatetimeIndex([now])).iloc[0])


def battery_full_curtailed(ctx: RuleContext) -> list[Verdict]:
    """Info: the battery is full and PV is being held back, so solar energy is wasted.

    Curtailed means: SOC >= ``battery_full_pct``; PV below :data:`CURTAILED_RATIO` of the
    clear-sky potential (:func:`tools.forecast.solar.clear_sky_power_w`) and at least
    :data:`CURTAILED_MIN_W` (or 10 % of the kWp) below it; the battery is not taking more
    than :data:`BATTERY_IDLE_W`; and the grid neither exports nor imports more than
    :data:`GRID_BALANCE_W` (a deficit filled from the grid or the battery means clouds,
    not curtailment). ``value`` is the held-back power [kW] (potential minus PV), an
    upper bound since clouds are not known. Proposes ``start_miners`` with the idle
    miners that power carries.
    """
    site, state, t = ctx.site, ctx.state, ctx.thresholds
    if site.battery is None or not site.pv_arrays:
        return []
    soc = state.get("battery_soc_pct")
    pv_w = state.get("pv_power_w")
    battery_w = state.get("battery_power_w")
    grid_w = state.get("grid_power_w") if site.grid.present else 0.0
    if soc is None or pv_w is None or battery_w is None or grid_w is None:
        return []
    rule = "battery_full_curtailed"
    full_pct = t.battery_full_pct - (FULL_HYSTERESIS_PCT if ctx.current(rule) else 0.0)
    balanced = -BATTERY_IDLE_W <= battery_w <= BATTERY_IDLE_W and abs(grid_w) <= GRID_BALANCE_W
    if soc < full_pct or not balanced:
        return [Verdict(rule=rule, active=False, value=0.0, category="solar")]
    potential_w = _potential_w(site, ctx.now)  # the pvlib call only when the rest holds
    kwp = sum(a.kwp for a in site.pv_arrays)
    held_w = potential_w - pv_w
    if pv_w >= CURTAILED_RATIO * potential_w or held_w < max(CURTAILED_MIN_W, 100.0 * kwp):
        return [Verdict(rule=rule, active=False, value=max(held_w, 0.0) / 1000, category="solar")]

    idle = idle_miners(site, state)
    fit = miners_that_fit(idle, held_w)
    summary = (
        f"Battery full at {soc:.1f} % and PV held back: {pv_w / 1000:.2f} kW of a clear-sky "
        f"potential of {potential_w / 1000:.2f} kW (up to {held_w / 1000:.2f} kW unused, "
        "less if it is cloudy)."
    )
    if fit:
        kw = sum(m.power_kw for m in fit)
        summary += (
            f" Idle miners could use it: starting {', '.join(m.name for m in fit)} "
            f"adds {kw:.2f} kW of load."
        )
    elif idle:
        summary += (
            f" Idle miners ({', '.join(m.name for m in idle)}) need more than the unused power."
        )
    evidence = (
        ("Battery SOC", f"{soc:.1f} %"),
        ("PV", f"{pv_w / 1000:.2f} kW"),
        ("Clear-sky potential", f"{potential_w / 1000:.2f} kW"),
        ("Battery power", f"{battery_w / 1000:+.2f} kW"),
        ("Grid", f"{grid_w / 1000:+.2f} kW" if site.grid.present else "none"),
        ("Idle miners", ", ".join(m.name for m in idle) or "none"),
    )
    return [
        Verdict(
            rule=rule,
            active=True,
            severity="info",
            title=f"Solar wasted at {site.display_name}: battery full",
            summary=summary,
            value=held_w / 1000,
            proposed_action="start_miners" if fit else None,
            proposed_params={"loads": [m.name for m in fit]} if fit else None,
            category="solar",
            evidence=evidence,
            for_s=CURTAILED_FOR_S,
        )
    ]


RULES: tuple[RuleSpec, ...] = (
    RuleSpec(name="grid_outage", category="grid", fn=grid_outage),
    RuleSpec(name="inverter_fault", category="inverter", fn=inverter_fault),
    RuleSpec(name="battery_full_curtailed", category="solar", fn=battery_full_curtailed),
)
