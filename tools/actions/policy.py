"""Safety policy: pure checks run before a request is created and again before it executes."""

from __future__ import annotations

from typing import Any

from tools.site import Site
from tools.telemetry import SiteState

# Starting loads needs this much room above the site's minimum SOC.
START_LOAD_MARGIN_PCT = 5.0


def check(site: Site, kind: str, params: dict[str, Any], state: SiteState) -> str | None:
    """The reason the action must not run now, or None when it may."""
    soc = state.get("battery_soc_pct")
    if kind == "start_miners" and site.battery is not None:
        floor = site.battery.min_soc_pct
        if soc is None:
            return "no battery reading yet, so starting loads cannot be checked against the floor"
        if soc < floor + START_LOAD_MARGIN_PCT:
            pv_w = state.get("pv_power_w") or 0.0
            load_w = state.get("load_power_w") or 0.0
            added_w = sum(
                load.power_kw * 1000 for load in site.loads if load.name in params.get("loads", [])
            )
            if pv_w < load_w + added_w:
                return (
                    f"the battery is at {soc:.1f} %, within {START_LOAD_MARGIN_PCT:g} points of "
                    f"the site's minimum of {floor:g} %, and solar ({pv_w / 1000:.2f} kW) does not "
                    f"cover the load with the miners ({(load_w + added_w) / 1000:.2f} kW): "
                    "starting them would discharge below the floor"
                )
    if kind == "grid_charge_on" and not site.grid.present:
        return f"{site.display_name} has no grid connection"
    if kind in ("generator_start", "generator_stop"):
        if site.generator is None:
            return f"{site.display_name} has no generator"
        fuel = state.get("generator_fuel_l")
        if kind == "generator_start" and fuel is not None and fuel <= 0.5:
            return f"the generator tank is empty ({fuel:.1f} L)"
        if (
            kind == "generator_stop"
            and site.battery is not None
            and not site.grid.present
            and soc is not None
            and soc < site.battery.min_soc_pct
        ):
            return (
                f"the battery is at {soc:.1f} %, below the minimum of "
                f"{site.battery.min_soc_pct:g} %, and there is no grid: stopping the generator "
                "would discharge below the floor"
            )
    return None
