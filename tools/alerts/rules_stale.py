"""Stuck values: a reading that keeps arriving with exactly the same value for too long.

A frozen Modbus register, a sensor that lost its probe or a gateway that
re-publishes its last value all look alive to :func:`~tools.alerts.rules.device_offline`
(readings keep coming) while the number no longer means anything. This rule
looks at the raw recent readings of every ``(metric, device)``: when the latest
run of identical values spans at least ``thresholds.stale_value_min`` minutes,
and the metric normally varies, the value is stuck.

What is *not* stuck:

- states, flags, codes and settings (:data:`CONSTANT_METRICS`, and any metric whose
  unit is ``bool`` or ``code``): they are meant to sit still;
- counters and levels that only move while something flows (:data:`PAUSING_METRICS`:
  energy today, meters, run hours, fuel): a PV energy counter rests from dusk to
  midnight;
- zero on a power, current or flow metric: PV at night, an idle battery, a load
  switched off; an outage is the business of the under-performance and offline rules;
- battery state of charge while the battery is idle (|battery power| < 50 W);
- a value the metric already rested at for hours before (in the hourly history
  before this run), e.g. 100 % SOC or a heater's fixed setting: that is one of its
  resting values;
- a metric with no sign of variation at all in the history the rule can see
  (nothing to say it "normally varies").

The run's span is measured between its first and its latest reading: silence
(no readings at all) is the offline rule's business, not this one's.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tools.alerts.context import History, RuleContext, RuleSpec, Verdict
from tools.domain import METRICS

__all__ = ["CONSTANT_METRICS", "PAUSING_METRICS", "RULES", "stuck_values"]

CONSTANT_METRICS: frozenset[str] = frozenset(
    {
        "load_on",
        "relay_on",
        "grid_charge_on",
        "grid_connected",
        "generator_running",
        "generator_state",
        "inverter_state",
        "inverter_fault_code",
        "active_input_source",
        "ess_min_soc_pct",
        "tou_soc_target_pct",
    }
)
"""States, flags, codes and settings: constant by nature."""

PAUSING_METRICS: frozenset[str] = frozenset(
    {
        "pv_energy_today_kwh",
        "load_energy_today_kwh",
        "grid_import_today_kwh",
        "grid_export_today_kwh",
        "battery_charge_today_kwh",
        "battery_discharge_today_kwh",
        "energy_wh",
        "energy_kwh",
        "generator_run_hours_h",
        "generator_fuel_l",
        "fuel_level_pct",
    }
)
"""Counters and levels that legitimately stop moving while nothing flows."""

ZERO_IS_REST_UNITS = frozenset({"W", "A", "L/h"})
IDLE_BATTERY_W = 50.0
_EMPTY = pd.Series(dtype="float64", index=pd.DatetimeIndex([], tz="UTC"))
RESTING_HOURS = 2
"""Consecutive identical hourly means that make a value a resting value of the metric."""


def _is_constant(metric: str) -> bool:
    spec = METRICS.get(metric)
    unit = spec.unit if spec is not None else ""
    return (
        metric in CONSTANT_METRICS
        or metric in PAUSING_METRICS
        or unit in ("bool", "code")
        or metric.endswith(("_on", "_state", "_connected", "_code"))
        or "fault" in metric
    )


def _same(a: float, b: np.ndarray) -> np.ndarray:
    return np.isclose(b, a, rtol=1e-9, atol=1e-9)


def _rests_at(hourly: pd.Series, value: float) -> bool:
    """True when ``hourly`` holds ``RESTING_HOURS`` consecutive hours at ``value``."""
    if len(hourly) < RESTING_HOURS:
        return False
    at = _same(value, hourly.to_numpy(dtype=np.float64))
    hours = hourly.index.as_unit("ns").asi8 // 3_600_000_000_000
    run = 0
    for i in range(len(at)):
        contiguous = i > 0 and hours[i] - hours[i - 1] == 1
        run = (run + 1 if contiguous else 1) if at[i] else 0
        if run >= RESTING_HOURS:
            return True
    return False


def _hourly_run_start(hourly: pd.Series, value: float, raw_start: pd.Timestamp) -> pd.Timestamp:
    """Where a run that began before the raw window started, judged from hourly means:
    the start of the earliest of the contiguous hours, ending just before the raw
    window's first hour, whose mean is ``value``."""
    hour = raw_start.floor("h")
    earlier = hourly[hourly.index < hour]
    if earlier.empty:
        return raw_start
    at = _same(value, earlier.to_numpy(dtype=np.float64))
    starts = earlier.index
    start = raw_start
    expected = hour - pd.Timedelta(hours=1)
    for i in range(len(earlier) - 1, -1, -1):
        if not at[i] or starts[i] != expected:
            break
        start = starts[i]
        expected = starts[i] - pd.Timedelta(hours=1)
    return start


def _varies(hourly: pd.Series) -> bool:
    values = hourly.dropna().to_numpy(dtype=np.float64)
    return len(values) >= 2 and bool(np.ptp(values) > 0)


def _fmt(value: float, unit: str) -> str:
    return f"{value:g} {unit}".strip()


def _minutes(delta: pd.Timedelta) -> str:
    minutes = delta.total_seconds() / 60
    return f"{minutes:.0f} min" if minutes < 120 else f"{minutes / 60:.1f} h"


def stuck_values(ctx: RuleContext) -> list[Verdict]:
    """One verdict per ``(metric, device)`` with recent raw readings; active when stuck."""
    history: History | None = ctx.history
    if history is None:
        return []
    limit = pd.Timedelta(minutes=ctx.thresholds.stale_value_min)
    battery_w = ctx.state.get("battery_power_w")
    verdicts: list[Verdict] = []
    for (metric, device), series in sorted(history.raw.items()):
        if _is_constant(metric):
            continue
        raw = series.dropna()
        if raw.empty:
            continue
        rule = f"stuck_value:{metric}:{device}"
        values = raw.to_numpy(dtype=np.float64)
        last = float(values[-1])
        differs = np.flatnonzero(~_same(last, values))
        first = int(differs[-1]) + 1 if len(differs) else 0
        run_start = raw.index[first]
        hourly = history.hourly.get((metric, device), _EMPTY)
        if first == 0:
            # the run fills the raw window: follow it back through the hourly means
            run_start = _hourly_run_start(hourly, last, run_start)
        span = raw.index[-1] - run_start
        spec = METRICS.get(metric)
        unit = spec.unit if spec is not None else ""
        quiet = Verdict(rule=rule, active=False, category="device", value=span.total_seconds())
        if span < limit:
            verdicts.append(quiet)
            continue
        before = hourly[hourly.index < run_start.floor("h")]
        at_rest = (
            (last == 0.0 and unit in ZERO_IS_REST_UNITS)
            or (
                metric == "battery_soc_pct"
                and battery_w is not None
                and abs(battery_w) < IDLE_BATTERY_W
            )
            or _rests_at(before, last)
            or (first == 0 and not _varies(before))
        )
        if at_rest:
            verdicts.append(quiet)
            continue
        where = f"{device} " if device else ""
        summary = (
            f"{where}{metric} has read exactly {_fmt(last, unit)} for {_minutes(span)} "
            f"(since {run_start.isoformat(timespec='minutes')}), "
            f"longer than {ctx.thresholds.stale_value_min:g} min, while it normally varies. "
            "The sensor, register or gateway may be frozen: check the device and its link."
        )
        if first > 0:
            summary += f" Previous value: {_fmt(float(values[first - 1]), unit)}."
        verdicts.append(
            Verdict(
                rule=rule,
                active=True,
                severity="warning",
                category="device",
                title=f"{metric} stuck on {device or ctx.site.display_name}",
                summary=summary,
                value=span.total_seconds(),
                evidence=(
                    ("metric", metric),
                    ("device", device or "-"),
                    ("value", _fmt(last, unit)),
                    ("unchanged for", _minutes(span)),
                    ("since", run_start.isoformat(timespec="minutes")),
                    ("readings in window", str(len(values) - first)),
                ),
            )
        )
    return verdicts


RULES: tuple[RuleSpec, ...] = (
    RuleSpec(name="stuck_value", category="device", fn=stuck_values, schedule="periodic"),
)
