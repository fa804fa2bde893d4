"""Which tool definitions to bind for a question (pure).

The definitions of all tools cost over 3,000 prompt tokens: more than the whole
budget of a typical question. The offline planner already knows which tools a
question is about; the model gets those, the rest of their family (so it can
follow up: a forecast question may need the battery outlook too) and a few
always-useful tools. When the planner understands nothing, every tool is bound:
the model is then the better judge.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

FAMILIES: dict[str, tuple[str, ...]] = {
    "now": ("site_status", "battery_status", "solar_now"),
    "forecast": ("solar_forecast", "battery_outlook", "solar_scorecard"),
    "plans": (
        "battery_outlook",
        "miner_plan",
        "grid_charge_advice",
        "fuel_outlook",
        "generator_plan",
    ),
    "alerts": (
        "active_alerts",
        "acknowledge_alert",
        "snooze_alert",
        "silence_alerts",
        "list_silences",
        "remove_silence",
    ),
    "preferences": ("set_alert_preferences", "set_preferences", "set_role"),
    "actions": (
        "stop_miners",
        "start_miners",
        "set_grid_charge",
        "start_generator",
        "stop_generator",
    ),
    "reports": ("energy_report",),
    "knowledge": ("search_knowledge",),
}

# Bound for every question: the overview, and the runbooks when there are any.
ALWAYS: tuple[str, ...] = ("site_status", "search_knowledge")

_FAMILIES_OF: dict[str, list[str]] = {}
for _family, _tools in FAMILIES.items():
    for _tool in _tools:
        _FAMILIES_OF.setdefault(_tool, []).append(_family)


def select_tools(planned: Iterable[str], available: Sequence[str]) -> list[str]:
    """The tool names to bind, in ``available``'s order.

    ``planned`` are the planner's tools for the question (``help`` and unknown names
    are ignored); an empty plan binds everything.
    """
    wanted = {name for name in planned if name in available}
    if not wanted:
        return list(available)
    chosen = set(ALWAYS) | wanted
    for name in wanted:
        for family in _FAMILIES_OF.get(name, ()):
            chosen.update(FAMILIES[family])
    return [name for name in available if name in chosen]
