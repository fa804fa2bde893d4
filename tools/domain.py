"""Normalised telemetry: one vocabulary of metrics, units and sign conventions.

Every driver yields :class:`Reading` objects using the names in
:data:`METRICS`. Times are timezone-aware UTC. Battery power is positive when
the battery is charging and negative when it discharges; grid power is positive
when importing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricSpec:
    """What a metric means, its unit and its plausible range."""

    name: str
    unit: str
    description: str
    min_value: float
    max_value: float


def _spec(name: str, unit: str, description: str, lo: float, hi: float) -> MetricSpec:
    return MetricSpec(name=name, unit=unit, description=description, min_value=lo, max_value=hi)


METRICS: dict[str, MetricSpec] = {
    s.name: s
    for s in (
        _spec("battery_soc_pct", "%", "Battery state of charge", 0.0, 100.0),
        _spec(
            "battery_power_w", "W", "Battery power, positive = charging", -1_000_000.0, 1_000_000.0
        ),
        _spec("battery_voltage_v", "V", "Battery voltage", 0.0, 1_500.0),
        _spec("pv_power_w", "W", "Solar (PV) power", 0.0, 10_000_000.0),
        _spec("load_power_w", "W", "Site consumption", 0.0, 10_000_000.0),
        _spec("grid_power_w", "W", "Grid power, positive = import", -10_000_000.0, 10_000_000.0),
        _spec("grid_charge_on", "bool", "Grid charging enabled (1) or not (0)", 0.0, 1.0),
        _spec("generator_power_w", "W", "Generator output power", 0.0, 10_000_000.0),
        _spec("generator_running", "bool", "Generator running (1) or stopped (0)", 0.0, 1.0),
        _spec("generator_fuel_l", "L", "Fuel in the generator tank", 0.0, 1_000_000.0),
        _spec("generator_fuel_rate_lph", "L/h", "Generator fuel burn rate", 0.0, 10_000.0),
        _spec("load_on", "bool", "A switchable load's relay is on (1) or off (0)", 0.0, 1.0),
        _spec("load_power_each_w", "W", "Power drawn by one switchable load", 0.0, 10_000_000.0),
        _spec("temp_c", "°C", "Temperature", -60.0, 150.0),
    )
}


class ReadingError(ValueError):
    """A reading that cannot be accepted (unknown metric, NaN, out of range, naive time)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Reading:
    """One normalised measurement.

    ``device`` names the source (a device or a switchable load: e.g. the
    ``load_on`` metric of a miner named ``miner-1`` has ``device="miner-1"``).
    """

    site: str
    metric: str
    time: datetime
    value: float
    device: str = ""

    @property
    def unit(self) -> str:
        return METRICS[self.metric].unit


def validate_reading(reading: Reading) -> Reading:
    """Return the reading when it is plausible, else raise :class:`ReadingError`."""
    spec = METRICS.get(reading.metric)
    if spec is None:
        raise ReadingError(f"unknown metric {reading.metric!r}")
    if reading.time.tzinfo is None:
        raise ReadingError(f"{reading.metric}: time {reading.time.isoformat()} has no time zone")
    value = reading.value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ReadingError(f"{reading.metric}: value {value!r} is not a number")
    if math.isnan(value) or math.isinf(value):
        raise ReadingError(f"{reading.metric}: value is not finite")
    if not spec.min_value <= value <= spec.max_value:
        raise ReadingError(
            f"{reading.metric}: {value} {spec.unit} is outside [{spec.min_value}, {spec.max_value}]"
        )
    if reading.time.utcoffset() != UTC.utcoffset(None):
        return Reading(
            site=reading.site,
            metric=reading.metric,
            time=reading.time.astimezone(UTC),
            value=float(value),
            device=reading.device,
        )
    return reading


def utcnow() -> datetime:
    return datetime.now(UTC)
