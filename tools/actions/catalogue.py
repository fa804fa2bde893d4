"""What the bot can change on a site, as data: commands to send and state to read back."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tools.devices.base import DeviceCommand
from tools.errors import ActionError
from tools.site import Site


@dataclass(frozen=True, slots=True, kw_only=True)
class Expectation:
    """After the action, ``metric`` of ``device`` (any device when empty) reads ``value``."""

    metric: str
    value: float
    device: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionKind:
    name: str
    description: str
    risk: str  # "low": makes the site safer; "medium": draws power or burns fuel
    normalise: Callable[[Site, dict[str, Any]], dict[str, Any]]
    title: Callable[[Site, dict[str, Any]], str]
    commands: Callable[[Site, dict[str, Any]], list[DeviceCommand]]
    expected: Callable[[Site, dict[str, Any]], list[Expectation]]
    effect: Callable[[Site, dict[str, Any]], str]


def _miner_params(site: Site, params: dict[str, Any]) -> dict[str, Any]:
    names = params.get("loads")
    known = {load.name: load for load in site.loads}
    if not site.miners and not names:
        raise ActionError(f"Site {site.name} has no miners to switch.")
    if names is None:
        return {"loads": [m.name for m in site.miners]}
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names) or not names:
        raise ActionError("loads must be a non-empty list of load names")
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ActionError(
            f"Unknown load(s) {', '.join(unknown)} at {site.name}; "
            f"known loads: {', '.join(known) or 'none'}."
        )
    return {"loads": sorted(set(names), key=list(known).index)}


def _no_params(_site: Site, params: dict[str, Any]) -> dict[str, Any]:
    if params:
        raise ActionError(f"this action takes no parameters (got {', '.join(params)})")
    return {}


def _kw(site: Site, names: list[str]) -> float:
    return sum(load.power_kw for load in site.loads if load.name in names)


def _switch(on: bool) -> ActionKind:
    verb = "Start" if on else "Stop"
    return ActionKind(
        name="start_miners" if on else "stop_miners",
        description=f"{verb} miners (all, or the named loads) by switching their relays "
        + ("on." if on else "off."),
        risk="medium" if on else "low",
        normalise=_miner_params,
        title=lambda site, p: f"{verb} {', '.join(p['loads'])} at {site.display_name}",
        commands=lambda _site, p: [
            DeviceCommand(kind="set_load", target=name, on=on) for name in p["loads"]
        ],
        expected=lambda _site, p: [
            Expectation(metric="load_on", device=name, value=1.0 if on else 0.0)
            for name in p["loads"]
        ],
        effect=lambda site, p: (
            f"{'adds' if on else 'removes'} about {_kw(site, p['loads']):.2f} kW of load"
        ),
    )


def _toggle(
    name: str, kind: str, on: bool, metric: str, description: str, effect: str, risk: str
) -> ActionKind:
    return ActionKind(
        name=name,
        description=description,
        risk=risk,
        normalise=_no_params,
        title=lambda site, _p: f"{description.rstrip('.')} at {site.display_name}",
        commands=lambda _site, _p: [DeviceCommand(kind=kind, on=on)],  # type: ignore[arg-type]
        expected=lambda _site, _p: [Expectation(metric=metric, value=1.0 if on else 0.0)],
        effect=lambda _site, _p: effect,
    )


CATALOGUE: dict[str, ActionKind] = {
    k.name: k
    for k in (
        _switch(False),
        _switch(True),
        _toggle(
            "grid_charge_on",
            "grid_charge",
            True,
            "grid_charge_on",
            "Charge the battery from the grid.",
            "charges the battery from the grid at the site's grid-charge power",
            "medium",
        ),
        _toggle(
            "grid_charge_off",
            "grid_charge",
            False,
            "grid_charge_on",
            "Stop charging the battery from the grid.",
            "ends grid charging",
            "low",
        ),
        _toggle(
            "generator_start",
            "generator",
            True,
            "generator_running",
            "Start the generator.",
            "the generator covers the load and charges the battery, burning fuel",
            "medium",
        ),
        _toggle(
            "generator_stop",
            "generator",
            False,
            "generator_running",
            "Stop the generator.",
            "the battery (or grid) takes over the load",
            "medium",
        ),
    )
}


def get_kind(name: str) -> ActionKind:
    try:
        return CATALOGUE[name]
    except KeyError:
        raise ActionError(
            f"Unknown action {name!r}; known actions: {', '.join(CATALOGUE)}."
        ) from None
