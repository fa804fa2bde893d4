"""Alert rules people set in chat: "alert me if the panel voltage drops below 12 V".

Pure parts (no I/O): the metrics a rule may watch (:data:`USER_METRICS`), which of them a
site has (:func:`site_metrics`), reading the person's words for a metric and a value with
its unit into a rule in the metric's own unit (:func:`resolve_metric`, :func:`to_metric_unit`,
:func:`draft_rule`), and the rule the engine runs (:data:`RULES`): one verdict per rule of
the site, with hysteresis so a value hovering at the threshold does not flap.

:class:`UserRuleStore` keeps the rules in the database (``user_alert_rules``) and a copy in
memory per site, which the engine reads on every evaluation (:meth:`UserRuleStore.for_site`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, get_args

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import repositories as repo
from storage.models import UserAlertRuleRow
from tools.alerts.context import Category, RuleContext, RuleSpec, Severity, Verdict
from tools.errors import ToolsError
from tools.site import Site
from tools.telemetry import SiteState

Comparator = Literal["<", "<=", ">", ">="]
COMPARATORS: tuple[Comparator, ...] = get_args(Comparator)
SEVERITIES: tuple[Severity, ...] = ("info", "warning", "critical")
MAX_RULES_PER_SITE = 50
MAX_HOLD_S = 24 * 3600.0
RULE_PREFIX = "user:"


class AlertRuleError(ToolsError):
    """An alert rule that cannot be set or removed as asked (the message says why)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class UserMetric:
    """A metric a person may set a threshold on, its unit, and the values that make sense.

    ``summed``: several devices reporting it add up (power); otherwise the worst device
    value counts (the lowest for "below", the highest for "above").
    """

    name: str
    label: str
    unit: str  # V, A, W, %, °C, L, Hz
    low: float
    high: float
    category: Category
    words: tuple[str, ...]
    summed: bool = False


def _m(
    name: str,
    label: str,
    unit: str,
    low: float,
    high: float,
    category: Category,
    words: tuple[str, ...],
    *,
    summed: bool = False,
) -> UserMetric:
    return UserMetric(
        name=name,
        label=label,
        unit=unit,
        low=low,
        high=high,
        category=category,
        words=words,
        summed=summed,
    )


# Order matters: for a shared word ("voltage", "fuel", "temperature") the first metric the
# site has and whose unit fits the value wins.
USER_METRICS: dict[str, UserMetric] = {
    m.name: m
    for m in (
        _m(
            "battery_soc_pct",
            "Battery SOC",
            "%",
            0.0,
            100.0,
            "battery",
            ("battery soc", "soc", "state of charge", "battery level", "battery charge", "battery"),
        ),
        _m(
            "voltage_v",
            "Panel voltage",
            "V",
            0.0,
            1500.0,
            "solar",
            (
                "panel voltage",
                "string voltage",
                "pv voltage",
                "bus voltage",
                "shunt voltage",
                "circuit voltage",
                "voltage",
            ),
        ),
        _m(
            "battery_voltage_v",
            "Battery voltage",
            "V",
            0.0,
            1500.0,
            "battery",
            ("battery voltage", "bank voltage", "voltage", "battery"),
        ),
        _m(
            "grid_voltage_v",
            "Grid voltage",
            "V",
            0.0,
            1000.0,
            "grid",
            ("grid voltage", "mains voltage", "voltage"),
        ),
        _m(
            "current_a",
            "Panel current",
            "A",
            -100_000.0,
            100_000.0,
            "solar",
            ("panel current", "string current", "pv current", "circuit current", "current", "amps"),
        ),
        _m(
            "battery_current_a",
            "Battery current",
            "A",
            -100_000.0,
            100_000.0,
            "battery",
            ("battery current", "current", "battery"),
        ),
        _m(
            "power_w",
            "Panel power",
            "W",
            -1e8,
            1e8,
            "solar",
            ("panel power", "circuit power"),
            summed=True,
        ),
        _m(
            "pv_power_w",
            "Solar power",
            "W",
            0.0,
            1e7,
            "solar",
            (
                "solar power",
                "pv power",
                "solar output",
                "pv output",
                "pv production",
                "solar production",
                "production",
                "solar",
                "pv",
                "panels",
                "power",
            ),
            summed=True,
        ),
        _m(
            "load_power_w",
            "Load",
            "W",
            0.0,
            1e7,
            "load",
            ("load power", "site load", "consumption", "usage", "demand", "load", "power"),
            summed=True,
        ),
        _m(
            "grid_power_w",
            "Grid power",
            "W",
            -1e7,
            1e7,
            "grid",
            ("grid import", "grid power", "import", "grid", "power"),
            summed=True,
        ),
        _m(
            "battery_power_w",
            "Battery power",
            "W",
            -1e6,
            1e6,
            "battery",
            ("battery power", "battery discharge", "discharge", "battery", "power"),
            summed=True,
        ),
        _m(
            "generator_power_w",
            "Generator power",
            "W",
            0.0,
            1e7,
            "generator",
            ("generator power", "generator output", "generator", "power"),
            summed=True,
        ),
        _m(
            "fuel_level_pct",
            "Fuel level",
            "%",
            0.0,
            100.0,
            "generator",
            (
                "fuel level",
                "tank level",
                "generator fuel",
                "diesel level",
                "diesel",
                "fuel",
                "tank",
                "generator",
            ),
        ),
        _m(
            "generator_fuel_l",
            "Generator fuel",
            "L",
            0.0,
            1_000_000.0,
            "generator",
            (
                "generator fuel",
                "fuel level",
                "tank level",
                "diesel level",
                "diesel",
                "fuel",
                "tank",
                "generator",
            ),
        ),
        _m(
            "battery_temp_c",
            "Battery temperature",
            "°C",
            -40.0,
            125.0,
            "battery",
            ("battery temperature", "battery temp", "temperature", "temp", "battery"),
        ),
        _m(
            "temp_c",
            "Device temperature",
            "°C",
            -40.0,
            150.0,
            "device",
            (
                "die temperature",
                "chip temperature",
                "device temperature",
                "inverter temperature",
                "ina228 temperature",
                "temperature",
                "temp",
            ),
        ),
        _m(
            "grid_frequency_hz",
            "Grid frequency",
            "Hz",
            40.0,
            70.0,
            "grid",
            ("grid frequency", "frequency", "hz"),
        ),
    )
}

# What the person may type after the number, per unit family, with the factor to the base.
_UNITS: dict[str, tuple[str, float]] = {
    "v": ("V", 1.0),
    "volt": ("V", 1.0),
    "volts": ("V", 1.0),
    "mv": ("V", 0.001),
    "kv": ("V", 1000.0),
    "a": ("A", 1.0),
    "amp": ("A", 1.0),
    "amps": ("A", 1.0),
    "ampere": ("A", 1.0),
    "amperes": ("A", 1.0),
    "ma": ("A", 0.001),
    "w": ("W", 1.0),
    "watt": ("W", 1.0),
    "watts": ("W", 1.0),
    "kw": ("W", 1000.0),
    "kilowatt": ("W", 1000.0),
    "kilowatts": ("W", 1000.0),
    "mw": ("W", 1_000_000.0),
    "megawatt": ("W", 1_000_000.0),
    "megawatts": ("W", 1_000_000.0),
    "%": ("%", 1.0),
    "pct": ("%", 1.0),
    "percent": ("%", 1.0),
    "per cent": ("%", 1.0),
    "c": ("°C", 1.0),
    "°c": ("°C", 1.0),
    "celsius": ("°C", 1.0),
    "centigrade": ("°C", 1.0),
    "degrees": ("°C", 1.0),
    "degree": ("°C", 1.0),
    "deg": ("°C", 1.0),
    "°": ("°C", 1.0),
    "f": ("°F", 1.0),
    "°f": ("°F", 1.0),
    "fahrenheit": ("°F", 1.0),
    "l": ("L", 1.0),
    "litre": ("L", 1.0),
    "litres": ("L", 1.0),
    "liter": ("L", 1.0),
    "liters": ("L", 1.0),
    "gal": ("L", 3.785411784),
    "gallon": ("L", 3.785411784),
    "gallons": ("L", 3.785411784),
    "hz": ("Hz", 1.0),
    "hertz": ("Hz", 1.0),
}
# How each unit is written back to the person.
_SHOWN: dict[str, str] = {
    "mv": "mV",
    "kv": "kV",
    "ma": "mA",
    "kw": "kW",
    "kilowatt": "kW",
    "kilowatts": "kW",
    "mw": "MW",
    "megawatt": "MW",
    "megawatts": "MW",
    "f": "°F",
    "°f": "°F",
    "fahrenheit": "°F",
    "gal": "gal",
    "gallon": "gal",
    "gallons": "gal",
}


def unit_of(text: str | None) -> tuple[str, float, str] | None:
    """``(base unit, factor to base, how to show it)`` for a unit word ("kW" -> W × 1000),
    or None when it is not a unit this module knows."""
    if text is None:
        return None
    key = re.sub(r"\s+", " ", text.strip().lower())
    if key.startswith("degrees ") or key.startswith("degree "):
        key = key.split(" ", 1)[1]
    key = {"deg c": "c", "deg f": "f"}.get(key, key)
    found = _UNITS.get(key)
    if found is None:
        return None
    base, factor = found
    return base, factor, _SHOWN.get(key, base)


def _fmt(value: float) -> str:
    return f"{value:.4g}" if abs(value) < 1e6 else f"{value:.0f}"


def show(value: float, unit: str) -> str:
    """A value in a metric's unit as people read it: watts as kW above 1 kW."""
    if unit == "W" and abs(value) >= 1000:
        return f"{_fmt(value / 1000)} kW"
    return f"{_fmt(value)} {unit}" if unit != "%" else f"{_fmt(value)} %"


# --- which metrics a site has ---------------------------------------------------------------


def site_metrics(site: Site, state: SiteState | None) -> list[str]:
    """The :data:`USER_METRICS` this site reports now or is built to report (its battery,
    arrays, generator, grid and INA228 monitors), in catalogue order."""
    have: set[str] = set()
    if state is not None:
        have |= {metric for metric, _device in state.samples}
    if site.battery is not None:
        have |= {"battery_soc_pct", "battery_power_w", "battery_voltage_v"}
    if site.pv_arrays:
        have.add("pv_power_w")
    have.add("load_power_w")
    if site.grid.present:
        have.add("grid_power_w")
    if site.generator is not None:
        have |= {"generator_power_w", "generator_fuel_l"}
    if any(d.driver in ("ina228", "ina228_mqtt") for d in site.devices):
        have |= {"voltage_v", "current_a", "power_w", "temp_c"}
    return [name for name in USER_METRICS if name in have]


def describe_metrics(names: Iterable[str]) -> str:
    return ", ".join(f"{USER_METRICS[n].label.lower()} ({USER_METRICS[n].unit})" for n in names)


def _norm(text: str) -> str:
    return re.sub(r"[\s_]+", " ", text.strip().lower())


def resolve_metric(site: Site, state: SiteState | None, metric: str, unit: str | None) -> str:
    """The metric of ``site`` that the words ``metric`` name (a metric name such as
    ``voltage_v`` or words such as "panel voltage"), fitting the value's ``unit``.

    Raises :class:`AlertRuleError` listing the site's metrics when none fits.
    """
    has = site_metrics(site, state)
    words = _norm(metric)
    given = unit_of(unit)
    base = given[0] if given is not None else None

    def fits(name: str) -> bool:
        metric_unit = USER_METRICS[name].unit
        if base is None or base == metric_unit:
            return True
        if base == "°F" and metric_unit == "°C":
            return True
        return base == "%" and name == "generator_fuel_l" and site.generator is not None

    if words in USER_METRICS or words.replace(" ", "_") in USER_METRICS:
        name = words if words in USER_METRICS else words.replace(" ", "_")
        candidates = [name]
    else:
        # The longest matching phrase wins ("battery voltage" over "voltage"), then order.
        scored: list[tuple[int, int, str]] = []
        for order, (name, spec) in enumerate(USER_METRICS.items()):
            best = max(
                (len(w) for w in spec.words if re.search(rf"\b{re.escape(w)}\b", words)),
                default=0,
            )
            if best:
                scored.append((-best, order, name))
        # Only the most specific phrase counts: "panel voltage" never falls back to the
        # battery's voltage; "voltage" may be any voltage the site has.
        top = min((score for score, _, _ in scored), default=0)
        candidates = [name for score, _, name in sorted(scored) if score == top]
    for name in candidates:
        if name in has and fits(name):
            return name
    listing = describe_metrics(has)
    if candidates and candidates[0] not in has:
        label = USER_METRICS[candidates[0]].label.lower()
        raise AlertRuleError(f"{site.display_name} does not report {label}. It has: {listing}.")
    if candidates:
        raise AlertRuleError(
            f"A value in {unit} does not fit {USER_METRICS[candidates[0]].label.lower()} at "
            f"{site.display_name}. It has: {listing}."
        )
    raise AlertRuleError(f"I don't know the metric {metric!r}. {site.display_name} has: {listing}.")


def to_metric_unit(site: Site, metric: str, value: float, unit: str | None) -> float:
    """``value`` in ``unit`` ("12 V", "5 kW", "104 F", "30 %") in ``metric``'s own unit.

    Without a unit the number is read in the metric's unit, except power, read in kW
    ("load above 5" is 5 kW). A fuel percentage on a site measuring litres is a share
    of the tank.
    """
    spec = USER_METRICS[metric]
    if not math.isfinite(value):
        raise AlertRuleError("The threshold must be a number.")
    if unit is None or not unit.strip():
        return value * 1000.0 if spec.unit == "W" else value
    given = unit_of(unit)
    if given is None:
        raise AlertRuleError(
            f"I don't know the unit {unit!r}; {spec.label.lower()} is in {spec.unit}."
        )
    base, factor, _shown = given
    if base == spec.unit:
        return value * factor
    if base == "°F" and spec.unit == "°C":
        return (value - 32.0) * 5.0 / 9.0
    if base == "%" and metric == "generator_fuel_l" and site.generator is not None:
        return value / 100.0 * site.generator.tank_l
    raise AlertRuleError(
        f"{spec.label} is measured in {spec.unit}, not {unit.strip()}: give the threshold "
        f"in {spec.unit}."
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Draft:
    """A rule checked and converted, ready to store."""

    site: str
    metric: str
    comparator: Comparator
    threshold: float
    unit: str
    threshold_text: str
    hold_s: float
    severity: Severity


def draft_rule(
    site: Site,
    state: SiteState | None,
    *,
    metric: str,
    comparator: str,
    value: float,
    unit: str | None,
    hold_minutes: float | None = None,
    severity: str = "warning",
) -> Draft:
    """Check the person's rule against the site and convert it to the metric's unit.

    Raises :class:`AlertRuleError` with what was wrong: an unknown metric or one the
    site does not have (listing those it has), a unit that does not fit, a threshold
    out of the metric's range or one that can never (or always) be crossed, a hold
    time beyond 24 h.
    """
    if comparator not in COMPARATORS:
        raise AlertRuleError(f"The comparison must be one of {', '.join(COMPARATORS)}.")
    if severity not in SEVERITIES:
        raise AlertRuleError(f"The severity must be one of {', '.join(SEVERITIES)}.")
    name = resolve_metric(site, state, metric, unit)
    spec = USER_METRICS[name]
    threshold = to_metric_unit(site, name, value, unit)
    low, high = spec.low, spec.high
    if name == "generator_fuel_l" and site.generator is not None:
        high = site.generator.tank_l
    if not low <= threshold <= high:
        raise AlertRuleError(
            f"{spec.label} thresholds must be between {show(low, spec.unit)} and "
            f"{show(high, spec.unit)}; {show(threshold, spec.unit)} is outside that."
        )
    below = comparator in ("<", "<=")
    never = (comparator == "<" and threshold <= low) or (comparator == ">" and threshold >= high)
    always = (comparator == "<=" and threshold >= high) or (comparator == ">=" and threshold <= low)
    if never or always:
        word = "never" if never else "always"
        raise AlertRuleError(
            f"{spec.label} is {word} {'below' if below else 'above'} "
            f"{show(threshold, spec.unit)}, so that rule would {word} fire; pick another value."
        )
    hold_s = 0.0 if hold_minutes is None else float(hold_minutes) * 60.0
    if not 0.0 <= hold_s <= MAX_HOLD_S or not math.isfinite(hold_s):
        raise AlertRuleError("The hold time must be between 0 and 24 hours.")
    given = unit_of(unit) if unit else None
    if given is not None:
        text = f"{_fmt(value)} {given[2]}" if given[2] != "%" else f"{_fmt(value)} %"
    else:
        text = show(threshold, spec.unit)
    return Draft(
        site=site.name,
        metric=name,
        comparator=comparator,
        threshold=threshold,
        unit=spec.unit,
        threshold_text=text,
        hold_s=hold_s,
        severity=severity,
    )


# --- the rule the engine runs ---------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class UserRule:
    """A stored rule, as the engine and the chat tools see it."""

    id: int
    site: str
    metric: str
    comparator: Comparator
    threshold: float
    unit: str
    threshold_text: str
    hold_s: float
    severity: Severity
    created_by: str
    created_by_name: str
    created_at: datetime
    enabled: bool = True

    @property
    def key(self) -> str:
        """The rule name of its alerts (fingerprint ``<site>:user:<id>``)."""
        return f"{RULE_PREFIX}{self.id}"

    @property
    def label(self) -> str:
        spec = USER_METRICS.get(self.metric)
        return spec.label if spec is not None else self.metric

    @property
    def author(self) -> str:
        name = self.created_by_name or self.created_by.partition(":")[2] or self.created_by
        return name if name.startswith("@") else f"@{name}"

    @property
    def condition(self) -> str:
        """'panel voltage < 12 V', with the threshold in the metric's unit when the person
        used another: 'generator fuel < 20 % (80 L)'."""
        text = f"{self.label.lower()} {self.comparator} {self.threshold_text}"
        given = unit_of(self.threshold_text.split(" ", 1)[-1])
        if given is not None and given[0] != self.unit:
            text += f" ({show(self.threshold, self.unit)})"
        return text

    def describe(self) -> str:
        """'#3 panel voltage < 12 V for 10 min (warning, by @olga)'."""
        hold = f" for {_duration(self.hold_s)}" if self.hold_s > 0 else ""
        state = "" if self.enabled else ", disabled"
        return f"#{self.id} {self.condition}{hold} ({self.severity}, by {self.author}{state})"

    @classmethod
    def of(cls, row: UserAlertRuleRow) -> UserRule:
        return cls(
            id=row.id,
            site=row.site,
            metric=row.metric,
            comparator=row.comparator,  # type: ignore[arg-type]
            threshold=row.threshold,
            unit=row.unit,
            threshold_text=row.threshold_text,
            hold_s=row.hold_s,
            severity=row.severity,  # type: ignore[arg-type]
            created_by=row.created_by,
            created_by_name=row.created_by_name,
            created_at=row.created_at,
            enabled=row.enabled,
        )


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


# Hysteresis: an open alert clears only this far past the threshold (the larger of a share
# of the threshold and a floor per unit), so a value hovering at it does not flap.
HYSTERESIS_SHARE = 0.02
HYSTERESIS_FLOOR: dict[str, float] = {
    "%": 2.0,
    "V": 0.1,
    "A": 0.1,
    "W": 50.0,
    "°C": 1.0,
    "L": 2.0,
    "Hz": 0.05,
}


def hysteresis(rule: UserRule) -> float:
    return max(abs(rule.threshold) * HYSTERESIS_SHARE, HYSTERESIS_FLOOR.get(rule.unit, 0.0))


def current_value(rule: UserRule, state: SiteState) -> float | None:
    """The value the rule compares: summed over devices for power, else the worst device."""
    values = list(state.devices(rule.metric).values())
    if not values:
        return None
    spec = USER_METRICS.get(rule.metric)
    if spec is not None and spec.summed:
        return sum(values)
    return min(values) if rule.comparator in ("<", "<=") else max(values)


def _holds(value: float, comparator: Comparator, threshold: float) -> bool:
    if comparator == "<":
        return value < threshold
    if comparator == "<=":
        return value <= threshold
    if comparator == ">":
        return value > threshold
    return value >= threshold


def judge(rule: UserRule, value: float, *, open_now: bool, site_title: str) -> Verdict:
    """The verdict of one rule for one value; an open alert clears only past the band."""
    below = rule.comparator in ("<", "<=")
    if open_now:
        band = hysteresis(rule)
        still = value < rule.threshold + band if below else value > rule.threshold - band
    else:
        still = _holds(value, rule.comparator, rule.threshold)
    if not still:
        return Verdict(rule=rule.key, active=False, value=value)
    shown = _in_threshold_unit(rule, value)
    word = "below" if below else "above"
    if rule.comparator in ("<=", ">="):
        word = "at or below" if below else "at or above"
    hold = f" for {_duration(rule.hold_s)}" if rule.hold_s > 0 else ""
    spec = USER_METRICS.get(rule.metric)
    return Verdict(
        rule=rule.key,
        active=True,
        severity=rule.severity,
        title=f"{rule.label} {word} {rule.threshold_text} at {site_title}",
        summary=(
            f"{rule.label} {shown} is {word} your {rule.threshold_text} threshold{hold} "
            f"(rule #{rule.id} by {rule.author})."
        ),
        value=value,
        category=spec.category if spec is not None else "device",
        evidence=((rule.label, shown), ("Threshold", f"{rule.comparator} {rule.threshold_text}")),
        for_s=rule.hold_s,
    )


def _in_threshold_unit(rule: UserRule, value: float) -> str:
    """The value in the unit the person used for the threshold ("104 °F" -> °F)."""
    parts = rule.threshold_text.split(" ", 1)
    shown = parts[1] if len(parts) == 2 else ""
    if shown == "°F" and rule.unit == "°C":
        return f"{_fmt(value * 9 / 5 + 32)} °F"
    if shown == "kW" and rule.unit == "W":
        return f"{_fmt(value / 1000)} kW"
    if shown == "W" and rule.unit == "W":
        return f"{_fmt(value)} W"
    return show(value, rule.unit)


def evaluate(
    rules: Sequence[UserRule],
    state: SiteState,
    *,
    open_alerts: Mapping[str, object],
    site_title: str,
) -> list[Verdict]:
    """One verdict per enabled rule with a value, and a clearing verdict for every open
    alert whose rule was removed or disabled."""
    verdicts: list[Verdict] = []
    live: set[str] = set()
    for rule in rules:
        if not rule.enabled:
            continue
        live.add(rule.key)
        value = current_value(rule, state)
        if value is None:
            continue
        verdicts.append(judge(rule, value, open_now=rule.key in open_alerts, site_title=site_title))
    for key in open_alerts:
        if key.startswith(RULE_PREFIX) and key not in live:
            verdicts.append(Verdict(rule=key, active=False))
    return verdicts


def _user_rule(ctx: RuleContext) -> list[Verdict]:
    return evaluate(
        ctx.user_rules,
        ctx.state,
        open_alerts=ctx.open_alerts,
        site_title=ctx.site.display_name,
    )


RULES: tuple[RuleSpec, ...] = (RuleSpec(name="user_rules", category="device", fn=_user_rule),)


# --- storage ----------------------------------------------------------------------------------


class UserRuleStore:
    """The rules in the database and, per site, in memory for the engine.

    Every process reloads them on a schedule (:meth:`load`), so a rule set through one
    process reaches the workers that evaluate the site; the process that changed a rule
    sees it at once.
    """

    def __init__(self, *, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker
        self._by_site: dict[str, tuple[UserRule, ...]] = {}

    async def load(self) -> None:
        async with self._sessionmaker() as session, session.begin():
            rows = (
                await session.scalars(
                    select(UserAlertRuleRow)
                    .where(UserAlertRuleRow.removed_at.is_(None))
                    .order_by(UserAlertRuleRow.id)
                )
            ).all()
        by_site: dict[str, list[UserRule]] = {}
        for row in rows:
            by_site.setdefault(row.site, []).append(UserRule.of(row))
        self._by_site = {site: tuple(rules) for site, rules in by_site.items()}

    def for_site(self, site: str) -> tuple[UserRule, ...]:
        """The site's rules as last loaded (what the engine evaluates)."""
        return self._by_site.get(site, ())

    async def list(self, site: str) -> list[UserRule]:
        async with self._sessionmaker() as session, session.begin():
            rows = (
                await session.scalars(
                    select(UserAlertRuleRow)
                    .where(UserAlertRuleRow.site == site, UserAlertRuleRow.removed_at.is_(None))
                    .order_by(UserAlertRuleRow.id)
                )
            ).all()
            rules = [UserRule.of(r) for r in rows]
        self._by_site[site] = tuple(rules)
        return rules

    async def get(self, rule_id: int) -> UserRule | None:
        async with self._sessionmaker() as session, session.begin():
            row = await session.get(UserAlertRuleRow, rule_id)
            if row is None or row.removed_at is not None:
                return None
            return UserRule.of(row)

    async def add(
        self, draft: Draft, *, created_by: str, created_by_name: str, now: datetime
    ) -> UserRule:
        """Store a rule; refused past :data:`MAX_RULES_PER_SITE` rules on the site."""
        async with self._sessionmaker() as session, session.begin():
            count = await session.scalar(
                select(func.count())
                .select_from(UserAlertRuleRow)
                .where(UserAlertRuleRow.site == draft.site, UserAlertRuleRow.removed_at.is_(None))
            )
            if (count or 0) >= MAX_RULES_PER_SITE:
                raise AlertRuleError(
                    f"{draft.site} already has {MAX_RULES_PER_SITE} alert rules, the most a "
                    "site may have; remove one first ('delete rule N')."
                )
            row = UserAlertRuleRow(
                site=draft.site,
                metric=draft.metric,
                comparator=draft.comparator,
                threshold=draft.threshold,
                unit=draft.unit,
                threshold_text=draft.threshold_text,
                hold_s=draft.hold_s,
                severity=draft.severity,
                created_by=created_by,
                created_by_name=created_by_name,
                created_at=now,
                enabled=True,
            )
            session.add(row)
            await session.flush()
            rule = UserRule.of(row)
            await repo.append_audit(
                session,
                time=now,
                actor=created_by,
                event="alert_rule_added",
                site=draft.site,
                details={
                    "rule_id": rule.id,
                    "metric": rule.metric,
                    "comparator": rule.comparator,
                    "threshold": rule.threshold,
                    "unit": rule.unit,
                    "hold_s": rule.hold_s,
                    "severity": rule.severity,
                },
            )
        self._by_site[rule.site] = (*self.for_site(rule.site), rule)
        return rule

    async def remove(self, rule_id: int, *, removed_by: str, now: datetime) -> UserRule:
        async with self._sessionmaker() as session, session.begin():
            row = await session.get(UserAlertRuleRow, rule_id)
            if row is None or row.removed_at is not None:
                raise AlertRuleError(f"There is no alert rule #{rule_id}.")
            row.removed_at, row.removed_by, row.enabled = now, removed_by, False
            await session.flush()
            rule = UserRule.of(row)
            await repo.append_audit(
                session,
                time=now,
                actor=removed_by,
                event="alert_rule_removed",
                site=rule.site,
                details={"rule_id": rule.id},
            )
        self._by_site[rule.site] = tuple(r for r in self.for_site(rule.site) if r.id != rule.id)
        return rule
