"""Every rule the engine runs, in one place."""

from __future__ import annotations

from tools.alerts import (
    rules_cost,
    rules_generator,
    rules_grid,
    rules_load,
    rules_opportunity,
    rules_solar,
    rules_stale,
    user_rules,
)
from tools.alerts.context import RuleSpec
from tools.alerts.rules import BUILTIN_RULES


def all_rules() -> tuple[RuleSpec, ...]:
    return (
        *BUILTIN_RULES,
        *rules_grid.RULES,
        *rules_generator.RULES,
        *rules_cost.RULES,
        *rules_opportunity.RULES,
        *rules_solar.RULES,
        *rules_stale.RULES,
        *rules_load.RULES,
        *user_rules.RULES,
    )
