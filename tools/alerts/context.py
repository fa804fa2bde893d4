"""What a rule sees: the site, its latest state, recent history, the time, preferences.

Rules are pure functions ``rule(ctx) -> list[Verdict]``. The engine builds the
context; history is loaded (hourly rollups and recent raw readings) only for the
scheduled evaluation, so the per-batch evaluation stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from tools.site import AlertThresholds, Site
from tools.telemetry import SiteState

if TYPE_CHECKING:
    from tools.alerts.user_rules import UserRule

Severity = Literal["info", "warning", "critical"]
SEVERITY_RANK: dict[str, int] = {"info": 0, "warning": 1, "critical": 2}
Category = Literal[
    "battery", "grid", "inverter", "device", "solar", "load", "generator", "cost", "opportunity"
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Verdict:
    """A rule's judgement about one condition (its ``rule`` key is the fingerprint suffix).

    ``active=False`` verdicts let the engine resolve an open alert. ``evidence``
    lists the readings that triggered it, shown on the card; ``for_s`` overrides
    how long the condition must hold before the alert fires.
    """

    rule: str
    active: bool
    severity: Severity = "warning"
    title: str = ""
    summary: str = ""
    value: float | None = None
    proposed_action: str | None = None
    proposed_params: Mapping[str, Any] | None = None
    category: Category | None = None
    evidence: tuple[tuple[str, str], ...] = ()
    for_s: float | None = None


def _empty() -> pd.Series:
    return pd.Series(dtype="float64", index=pd.DatetimeIndex([], tz="UTC"))


@dataclass(frozen=True, slots=True, kw_only=True)
class History:
    """Readings before ``now``: hourly means (from rollups, weeks back) and recent raw
    readings (hours back), as pandas Series indexed by UTC time, keyed by
    ``(metric, device)``."""

    hourly: Mapping[tuple[str, str], pd.Series] = field(default_factory=dict)
    raw: Mapping[tuple[str, str], pd.Series] = field(default_factory=dict)

    @staticmethod
    def _combine(
        series: Mapping[tuple[str, str], pd.Series], metric: str, device: str | None
    ) -> pd.Series:
        if device is not None:
            return series.get((metric, device), _empty())
        parts = [s for (m, _d), s in series.items() if m == metric and not s.empty]
        if not parts:
            return _empty()
        if len(parts) == 1:
            return parts[0]
        # Several devices report the metric (two inverters' PV): add them up per time.
        return pd.concat(parts, axis=1).sum(axis=1, min_count=1).sort_index()

    def hourly_mean(self, metric: str, device: str | None = None) -> pd.Series:
        """Hourly mean of ``metric`` (summed over devices when ``device`` is None)."""
        return self._combine(self.hourly, metric, device)

    def recent(self, metric: str, device: str | None = None) -> pd.Series:
        """Raw recent readings of ``metric`` (summed over devices per time when None)."""
        return self._combine(self.raw, metric, device)

    def devices(self, metric: str) -> list[str]:
        return sorted(
            {d for (m, d) in self.raw if m == metric} | {d for (m, d) in self.hourly if m == metric}
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class RuleContext:
    site: Site
    state: SiteState
    now: datetime
    thresholds: AlertThresholds
    open_alerts: Mapping[str, Severity] = field(default_factory=dict)
    history: History | None = None  # None when evaluating a telemetry batch
    # the thresholds people set in chat for this site (tools.alerts.user_rules)
    user_rules: Sequence[UserRule] = ()

    def current(self, rule: str) -> Severity | None:
        """Severity of the open alert for ``rule`` (for hysteresis), or None."""
        return self.open_alerts.get(rule)


Rule = Callable[[RuleContext], list[Verdict]]


@dataclass(frozen=True, slots=True, kw_only=True)
class RuleSpec:
    """A rule and when it runs: ``batch`` rules on every telemetry batch (latest state
    only), ``periodic`` rules on the schedule with history."""

    name: str
    category: Category
    fn: Rule
    schedule: Literal["batch", "periodic"] = "batch"
