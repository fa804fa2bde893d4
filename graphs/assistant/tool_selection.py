"""Which tool definitions to bind for a question (pure).

The definitions of all tools cost over 3,000 prompt tokens: more than the whole
budget of a typical question. The offline planner already knows which tools a
question is about; the model gets those, the rest of their family (so it can
follow up: a forecast question may need the battery outlook too) and a few
always-useful tools. When the planner is unsure (or understands nothing), the
model is the better judge and must not be hidden the right tool: every tool is
bound when the definitions fit the allowance, else the tools most alike to the
question (by the intent classifier) until the allowance is spent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

FAMILIES: dict[str, tuple[str, ...]] = {
    "now": ("site_status", "battery_status", "solar_now", "panel_readings"),
    "forecast": (
        "solar_forecast",
        "battery_outlook",
        "solar_scorecard",
        "week_outlook",
        "load_forecast",
    ),
    "plans": (
        "battery_outlook",
        "miner_plan",
        "grid_charge_advice",
        "fuel_outlook",
        "generator_plan",
        "generator_service",
    ),
    "alerts": (
        "active_alerts",
        "acknowledge_alert",
        "snooze_alert",
        "silence_alerts",
        "list_silences",
        "remove_silence",
        "set_alert_rule",
        "list_alert_rules",
        "remove_alert_rule",
    ),
    "preferences": ("set_alert_preferences", "set_preferences", "set_role"),
    "actions": (
        "stop_miners",
        "start_miners",
        "set_grid_charge",
        "start_generator",
        "stop_generator",
    ),
    "reports": (
        "energy_report",
        "compare_periods",
        "cost_projection",
        "timeline",
        "anomalies",
    ),
    "sites": ("compare_sites", "site_status"),
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


def select_by_likeness(
    ranked: Sequence[str],
    available: Sequence[str],
    *,
    cost: Callable[[list[str]], int],
    allowance_tokens: int,
) -> list[str]:
    """Tools for a question the planner is unsure about: every tool when they all fit in
    ``allowance_tokens``, else the most alike first (``ranked``, by the classifier's
    likeness of the question to each tool's phrasings) until the allowance is spent.

    The basics (:data:`ALWAYS`) are always bound; the result is in ``available``'s order.
    """
    if cost(list(available)) <= allowance_tokens:
        return list(available)
    chosen = [name for name in ALWAYS if name in available]
    for name in [*ranked, *available]:
        if name in chosen or name not in available:
            continue
        if cost([*chosen, name]) > allowance_tokens:
            continue
        chosen.append(name)
    return [name for name in available if name in chosen]
