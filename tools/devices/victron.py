"""Victron GX (Cerbo GX, Venus OS >= 3.20) over its LAN MQTT broker (dbus-flashmq).

Wire format (``/work/shared/PROTOCOLS.md`` §1): notifications arrive on
``N/<portalId>/<service>/<instance>/<path>`` as ``{"value": <json>}``; ``null``
is an invalid value and an empty payload means the service has gone. Nothing is
retained except ``N/<portalId>/system/0/Serial``; the GX publishes only while
a keep-alive (``R/<portalId>/keepalive``) is younger than 60 s. Writes go to
``W/...`` and reads to ``R/...``; the answer to both is an ``N/...`` message.

Two layers:

- :func:`parse_notification` and :class:`VictronState`: pure decoding of one
  message into normalised :class:`~tools.domain.Reading` objects. The state
  object holds what a single message cannot carry (phase values for sums,
  which source is authoritative, services that have gone, relay functions).
- :class:`VictronMqttDevice`: the :class:`~tools.devices.base.DeviceDriver`,
  on a shared :class:`~tools.devices.mqtt.MqttHub`.

Rules the parser follows (the paths and what they mean are data: :data:`PATHS`):

- ``system/0`` is authoritative. Device services (``battery``,
  ``solarcharger``, ``pvinverter``, ``vebus``, ``multi``, ``grid``) are
  fallbacks used for a metric only until ``system/0`` has reported that metric,
  and again after ``system/0`` has gone. Battery services are the site's banks
  in parallel: power and current are summed, voltage and SOC averaged; a Lynx
  parallel BMS (product 0xA3E3), which already aggregates, is used alone.
- ``null`` means "gone" (systemcalc invalidates what it no longer has): a phase
  or PV source that turns ``null`` leaves its sum (PV is 0 W once the last
  source has gone, e.g. a PV inverter at night). When every phase of the grid
  (or genset) turns ``null`` the value is 0 W, not the last one; so is the grid
  while ``Ac/ActiveIn/Source`` is the generator (2) or inverting (240), and the
  genset's ``Ac/Genset/*`` fills ``generator_power_w``. A phase that never
  reported a number is absent (the L2/L3 of a single-phase system); when the
  group's ``NumberOfPhases`` is known, no total is emitted until phases
  ``L1..L<n>`` all have a value. A service going away forgets its values.
- Tanks whose ``FluidType`` is a fuel give ``fuel_level_pct`` and
  ``generator_fuel_l`` (``Remaining`` is m³ on D-Bus).
- Only mapped paths are decoded and remembered; everything else on
  ``N/<portalId>/`` is dropped unread. A payload on a mapped path longer than
  ``max_payload_bytes``, malformed, not a finite number or outside the metric's
  range in :data:`tools.domain.METRICS` (e.g. a -6 W AC-out reading on a load)
  is rejected and counted by reason in :attr:`VictronState.rejected_by_reason`.
  Nothing raises.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import math
import re
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Literal

import orjson

from tools.devices.base import DeviceCommand
from tools.devices.config import VictronMqttConnection
from tools.devices.mqtt import MqttHub, MqttHubs
from tools.domain import METRICS, Reading, new_reading
from tools.errors import (
    DeviceAuthError,
    DeviceError,
    DeviceProtocolError,
    DeviceRefused,
    DeviceTimeout,
    DeviceUnreachable,
    ReadbackMismatch,
)
from tools.site import Device, Site

__all__ = [
    "MIN_SOC_PATH",
    "RELAY_FUNCTION_MANUAL",
    "SUPPRESS_REPUBLISH",
    "Notification",
    "VictronMqttDevice",
    "VictronState",
    "generator_start_path",
    "parse_notification",
    "relay_function_path",
    "relay_state_path",
    "split_topic",
]

log = logging.getLogger(__name__)

MIN_SOC_PATH: Final = "settings/0/Settings/CGwacs/BatteryLife/MinimumSocLimit"
RELAY_FUNCTION_MANUAL: Final = 2
RELAY_FUNCTION_NAMES: Final = {
    0: "alarm",
    1: "generator start/stop",
    2: "manual",
    3: "tank pump",
    4: "temperature",
    5: "connected genset helper relay",
}
SUPPRESS_REPUBLISH: Final = b'{"keepalive-options": ["suppress-republish"]}'
TOPIC_CACHE_SIZE: Final = 4096  # parsed topics remembered per GX
GENERATOR_RUNNING_STATES: Final = frozenset({1, 2, 3})  # running, warm-up, cool-down


def relay_state_path(relay: int) -> str:
    """``system/0/Relay/<n>/State`` (0/1; writable when the relay function is Manual)."""
    return f"system/0/Relay/{relay}/State"


def relay_function_path(relay: int) -> str:
    """The relay-function setting: relay 0 has no number in its path."""
    if relay == 0:
        return "settings/0/Settings/Relay/Function"
    return f"settings/0/Settings/Relay/{relay}/Function"


def generator_start_path(instance: int) -> str:
    return f"generator/{instance}/ManualStart"


# --------------------------------------------------------------------------- decoding


@dataclass(frozen=True, slots=True)
class Notification:
    """The parts of an ``N/<portalId>/<service>/<instance>/<path>`` topic."""

    portal_id: str
    service: str
    instance: int
    path: str  # without a leading slash, e.g. "Dc/Battery/Soc"

    @property
    def suffix(self) -> str:
        """What follows ``N/<portalId>/``."""
        return f"{self.service}/{self.instance}/{self.path}"


def split_topic(topic: str) -> Notification | None:
    """The parts of a notification topic; None for anything else (heartbeat, R/, W/ ...)."""
    parts = topic.split("/", 4)
    if len(parts) != 5 or parts[0] != "N" or not parts[1] or not parts[2] or not parts[4]:
        return None
    if not parts[3].isascii() or not parts[3].isdigit():
        return None
    return Notification(parts[1], parts[2], int(parts[3]), parts[4])


class _Gone:
    """Marker: an empty payload (the service has gone)."""


GONE: Final = _Gone()


def decode_payload(payload: bytes) -> Any:
    """The ``value`` of a payload; :data:`GONE` for an empty one; ValueError when malformed."""
    if not payload:
        return GONE
    try:
        doc = orjson.loads(payload)
    except orjson.JSONDecodeError as err:  # also bad UTF-8 and too deep nesting
        raise ValueError(f"not JSON: {err}") from err
    if not isinstance(doc, dict) or "value" not in doc:
        raise ValueError('not an object with a "value" key')
    return doc["value"]


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{value!r} is not a number")
    number = float(value)  # OverflowError for huge ints: caught by the caller
    if not math.isfinite(number):
        raise ValueError("not finite")
    return number


# --------------------------------------------------------------------------- the path table

PathKind = Literal[
    "value",  # a plain number -> ``metric`` (``factor`` applied)
    "phase",  # one phase of a summed group (``.../L<n>/Power`` or ``.../L<n>/P``)
    "phases",  # ``NumberOfPhases`` of a group
    "part",  # one component of a summed metric (PV from several sources)
    "battery",  # a battery service's own figure (fallback; banks are summed)
    "battery_product",  # a battery service's ProductId (Lynx parallel BMS detection)
    "inverter_battery",  # an inverter/charger's view of the battery (used without any BMS)
    "active_source",  # ``Ac/ActiveIn/Source``: grid, genset, shore, inverting
    "input_type",  # Multi RS ``Ac/In/<n>/Type``: what AC input <n> is connected to
    "relay",  # ``Relay/<n>/State``
    "relay_function",  # the relay-function setting
    "generator_state",  # the start/stop service's State
    "tank",  # a tank's Level [%] or Remaining [m3]
    "tank_fluid",  # a tank's FluidType
    "known",  # mapped (kept, so a bad payload is counted) but no reading
]
Authority = Literal["system", "fallback"]
WhenEmpty = Literal["nothing", "zero"]


@dataclass(frozen=True, slots=True, kw_only=True)
class VictronPath:
    """What one D-Bus path of one service type means.

    ``path`` is a regular expression over the path after ``<service>/<instance>/``;
    named groups: ``n`` (phase 1..3), ``relay``, ``input`` (Multi RS AC input).
    ``group`` names the phase group a ``phase``/``phases`` path belongs to, with
    ``{input}`` filled from the match. ``authority`` says whether the value is the
    GX's own system calculation (``system/0``, preferred) or a device service used
    until ``system/0`` reports the metric. ``when_empty`` says what a phase group
    whose every phase turned ``null`` means: ``"zero"`` (the source is off, e.g.
    the grid while on the generator) or ``"nothing"`` (unknown: emit nothing).
    """

    service: str
    path: str
    kind: PathKind
    metric: str = ""
    group: str = ""
    authority: Authority = "system"
    factor: float = 1.0
    when_empty: WhenEmpty = "nothing"
    note: str = ""


_L = r"L(?P<n>[123])"

PATHS: tuple[VictronPath, ...] = (
    # ---- system/0: dbus-systemcalc-py, authoritative
    VictronPath(service="system", path="Dc/Battery/Soc", kind="value", metric="battery_soc_pct"),
    VictronPath(
        service="system",
        path="Dc/Battery/Power",
        kind="value",
        metric="battery_power_w",
        note="positive = charging",
    ),
    VictronPath(
        service="system", path="Dc/Battery/Voltage", kind="value", metric="battery_voltage_v"
    ),
    VictronPath(
        service="system", path="Dc/Battery/Current", kind="value", metric="battery_current_a"
    ),
    VictronPath(
        service="system",
        path="Dc/Pv/Power",
        kind="part",
        metric="pv_power_w",
        note="DC-coupled PV (all MPPTs); null = no solar charger left: its share is gone",
    ),
    *(
        item
        for group in ("Ac/PvOnGrid", "Ac/PvOnOutput", "Ac/PvOnGenset")
        for item in (
            VictronPath(
                service="system",
                path=f"{group}/{_L}/Power",
                kind="phase",
                metric="pv_power_w",
                group=group,
                note="AC-coupled PV; summed with Dc/Pv/Power; null = inverter off",
            ),
            VictronPath(
                service="system", path=f"{group}/NumberOfPhases", kind="phases", group=group
            ),
        )
    ),
    VictronPath(
        service="system",
        path=f"Ac/Consumption/{_L}/Power",
        kind="phase",
        metric="load_power_w",
        group="Ac/Consumption",
    ),
    VictronPath(
        service="system",
        path="Ac/Consumption/NumberOfPhases",
        kind="phases",
        group="Ac/Consumption",
    ),
    VictronPath(
        service="system",
        path=f"Ac/Grid/{_L}/Power",
        kind="phase",
        metric="grid_power_w",
        group="Ac/Grid",
        when_empty="zero",
        note="null on every phase = not on the grid (genset or inverting): 0 W",
    ),
    VictronPath(service="system", path="Ac/Grid/NumberOfPhases", kind="phases", group="Ac/Grid"),
    VictronPath(
        service="system",
        path=f"Ac/Genset/{_L}/Power",
        kind="phase",
        metric="generator_power_w",
        group="Ac/Genset",
        when_empty="zero",
        note="the active AC input is a generator; null on every phase = not on it: 0 W",
    ),
    VictronPath(
        service="system", path="Ac/Genset/NumberOfPhases", kind="phases", group="Ac/Genset"
    ),
    VictronPath(
        service="system",
        path="Ac/ActiveIn/Source",
        kind="active_source",
        metric="active_input_source",
        note="0 none, 1 grid, 2 genset, 3 shore, 240 inverting",
    ),
    VictronPath(service="system", path=r"Relay/(?P<relay>\d+)/State", kind="relay"),
    VictronPath(service="system", path="Dc/Battery/State", kind="known"),
    # ---- battery services (fallback; parallel banks summed)
    VictronPath(
        service="battery",
        path="Soc",
        kind="battery",
        metric="battery_soc_pct",
        authority="fallback",
    ),
    VictronPath(
        service="battery",
        path="Dc/0/Power",
        kind="battery",
        metric="battery_power_w",
        authority="fallback",
    ),
    VictronPath(
        service="battery",
        path="Dc/0/Voltage",
        kind="battery",
        metric="battery_voltage_v",
        authority="fallback",
    ),
    VictronPath(
        service="battery",
        path="Dc/0/Current",
        kind="battery",
        metric="battery_current_a",
        authority="fallback",
    ),
    VictronPath(service="battery", path="ProductId", kind="battery_product"),
    # ---- inverter/chargers' own battery figures: only when no battery service reports
    *(
        VictronPath(
            service=service,
            path=path,
            kind="inverter_battery",
            metric=metric,
            authority="fallback",
            note="a VE.Bus Multi/Quattro or Multi RS without a BMV, shunt or BMS",
        )
        for service in ("vebus", "multi")
        for path, metric in (
            ("Soc", "battery_soc_pct"),
            ("Dc/0/Voltage", "battery_voltage_v"),
            ("Dc/0/Current", "battery_current_a"),
            ("Dc/0/Power", "battery_power_w"),
        )
    ),
    # ---- PV fallbacks
    VictronPath(
        service="solarcharger",
        path="Yield/Power",
        kind="part",
        metric="pv_power_w",
        authority="fallback",
    ),
    VictronPath(
        service="pvinverter",
        path="Ac/Power",
        kind="part",
        metric="pv_power_w",
        authority="fallback",
        note="null at night (inverter off): its share is gone",
    ),
    # ---- inverter/chargers (fallback)
    VictronPath(
        service="vebus",
        path=f"Ac/Out/{_L}/P",
        kind="phase",
        metric="load_power_w",
        group="Ac/Out",
        authority="fallback",
    ),
    VictronPath(
        service="vebus",
        path="Ac/NumberOfPhases",
        kind="phases",
        group="Ac/Out",
        authority="fallback",
    ),
    VictronPath(
        service="multi",
        path=f"Ac/Out/{_L}/P",
        kind="phase",
        metric="load_power_w",
        group="Ac/Out",
        authority="fallback",
        note="Multi RS / Quattro RS",
    ),
    VictronPath(
        service="multi",
        path=f"Ac/In/(?P<input>[12])/{_L}/P",
        kind="phase",
        metric="",  # grid or generator, by Ac/In/<n>/Type
        group="Ac/In/{input}",
        authority="fallback",
        when_empty="zero",
    ),
    VictronPath(
        service="multi",
        path="Ac/In/(?P<input>[12])/Type",
        kind="input_type",
        note="0 unused, 1 grid, 2 genset, 3 shore",
    ),
    VictronPath(
        service="multi",
        path="Yield/Power",
        kind="part",
        metric="pv_power_w",
        authority="fallback",
        note="the Multi RS's own MPPT",
    ),
    VictronPath(
        service="grid",
        path=f"Ac/{_L}/Power",
        kind="phase",
        metric="grid_power_w",
        group="Ac",
        authority="fallback",
    ),
    VictronPath(
        service="grid", path="NumberOfPhases", kind="phases", group="Ac", authority="fallback"
    ),
    # ---- generator start/stop service (only the configured instance)
    VictronPath(service="generator", path="State", kind="generator_state"),
    VictronPath(
        service="generator",
        path="AccumulatedRuntime",
        kind="value",
        metric="generator_run_hours_h",
        factor=1 / 3600.0,
        note="seconds (dbus_generator startstop.py)",
    ),
    # ---- tanks: fuel only
    VictronPath(
        service="tank", path="Level", kind="tank", metric="fuel_level_pct", note="0..100 %"
    ),
    VictronPath(
        service="tank",
        path="Remaining",
        kind="tank",
        metric="generator_fuel_l",
        factor=1000.0,
        note="m3 on D-Bus",
    ),
    VictronPath(service="tank", path="FluidType", kind="tank_fluid"),
    # ---- settings
    VictronPath(
        service="settings",
        path=re.escape(MIN_SOC_PATH.removeprefix("settings/0/")),
        kind="value",
        metric="ess_min_soc_pct",
    ),
    VictronPath(
        service="settings",
        path=r"Settings/Relay/(?:(?P<relay>\d+)/)?Function",
        kind="relay_function",
    ),
)
"""Every path the parser uses; anything else on ``N/<portalId>/`` is ignored unread."""

FUEL_FLUID_TYPES: Final = frozenset({0, 6, 7})  # fuel, gasoline, diesel (D-Bus FluidType)
PARALLEL_BMS_PRODUCT_ID: Final = 0xA3E3  # Lynx Smart BMS parallel aggregate (systemcalc)
BATTERY_METRICS: Final = (
    "battery_soc_pct",
    "battery_power_w",
    "battery_voltage_v",
    "battery_current_a",
)
MAX_PAYLOAD_BYTES: Final = 1024
"""Longest payload taken on a mapped path; the GX sends ~20-60 bytes per value."""
MAX_SERVICES: Final = 256
"""Most ``<service>/<instance>`` pairs remembered; more are rejected (a runaway publisher)."""


def _compile(
    paths: tuple[VictronPath, ...],
) -> dict[str, list[tuple[re.Pattern[str], VictronPath]]]:
    table: dict[str, list[tuple[re.Pattern[str], VictronPath]]] = {}
    for item in paths:
        if item.metric and item.metric not in METRICS:
            raise ValueError(f"{item.service}/{item.path}: unknown metric {item.metric!r}")
        table.setdefault(item.service, []).append((re.compile(item.path), item))
    return table


_TABLE: Final = _compile(PATHS)


def describe(note: Notification) -> tuple[VictronPath, re.Match[str]] | None:
    """The description of a notification's path, or None when the parser does not use it."""
    for pattern, item in _TABLE.get(note.service, ()):
        match = pattern.fullmatch(note.path)
        if match is not None:
            return item, match
    return None


def _parse(
    topic: str,
) -> tuple[Notification, tuple[VictronPath, re.Match[str]], str] | None:
    """The notification, its path description and ``<service>/<instance>`` of a topic we
    use; None for anything else. Cached by what follows the portal id, which every GX
    shares, so the cache holds one entry per distinct path, not per GX (and the
    notification's ``portal_id`` is ``-``: the handlers never need it)."""
    head, sep, rest = topic.partition("/")
    portal, sep2, rest = rest.partition("/")
    if head != "N" or not sep or not sep2 or not portal:
        return None
    return _parse_suffix(rest)


@functools.lru_cache(maxsize=TOPIC_CACHE_SIZE)
def _parse_suffix(
    rest: str,
) -> tuple[Notification, tuple[VictronPath, re.Match[str]], str] | None:
    note = split_topic(f"N/-/{rest}")
    if note is None:
        return None
    description = describe(note)
    if description is None:
        return None
    return note, description, f"{note.service}/{note.instance}"


# --------------------------------------------------------------------------- state


@dataclass(slots=True)
class _PhaseGroup:
    values: dict[int, float] = field(default_factory=dict)
    expected: int | None = None

    def total(self) -> float | None:
        if self.expected is not None:
            if any(n not in self.values for n in range(1, self.expected + 1)):
                return None
            return sum(self.values[n] for n in range(1, self.expected + 1))
        if not self.values:
            return None
        return sum(self.values.values())


@dataclass(slots=True)
class _Tank:
    fluid: int | None = None
    values: dict[str, float] = field(default_factory=dict)


class _Reject(Exception):
    """A mapped path carried a value that cannot be used; ``reason`` is counted."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


Out = list[tuple[str, float, str]]


class VictronState:
    """What the parser remembers between messages of one GX.

    ``relays`` maps a load name to its GX relay number (for ``load_on``);
    ``generator_instance`` selects the ``generator/<n>`` service to read;
    ``battery_instances`` limits which ``battery`` services are the site's banks
    (default: all of them, summed); ``tank_instance`` picks one fuel tank
    (default: every tank whose FluidType is a fuel).

    Only mapped paths are remembered (see :data:`PATHS`); payloads on other
    topics are never decoded. Rejected payloads are counted by reason in
    :attr:`rejected_by_reason`.
    """

    def __init__(
        self,
        *,
        relays: Mapping[str, int] | None = None,
        generator_instance: int = 0,
        battery_instances: Iterable[int] | None = None,
        tank_instance: int | None = None,
        max_payload_bytes: int = MAX_PAYLOAD_BYTES,
    ) -> None:
        self.relays: dict[str, int] = dict(relays or {})
        self.generator_instance = generator_instance
        self.battery_instances = frozenset(battery_instances) if battery_instances else None
        self.tank_instance = tank_instance
        self.max_payload_bytes = max_payload_bytes
        self.rejected_by_reason: dict[str, int] = {}
        self.gone: set[str] = set()  # "<service>/<instance>" that sent empty payloads
        self.relay_functions: dict[int, int] = {}
        self.active_source: int | None = None
        self._services: set[str] = set()
        self._groups: dict[str, _PhaseGroup] = {}  # "<service>/<instance>/<group>"
        # metric -> authority -> component -> value
        self._parts: dict[str, dict[str, dict[str, float]]] = {}
        self._system_metrics: set[str] = set()
        self._batteries: dict[int, dict[str, float]] = {}
        self._inverter_batteries: dict[str, dict[str, float]] = {}  # "vebus/276" -> values
        self._parallel_bms: set[int] = set()
        self._input_types: dict[tuple[int, int], int] = {}
        self._tanks: dict[int, _Tank] = {}

    @property
    def rejected(self) -> int:
        """Payloads on mapped paths that could not be used (all reasons)."""
        return sum(self.rejected_by_reason.values())

    def _count(self, reason: str) -> None:
        self.rejected_by_reason[reason] = self.rejected_by_reason.get(reason, 0) + 1

    # -- the one entry point -----------------------------------------------------------

    def apply(
        self, topic: str, payload: bytes, *, site: str, device: str, received_at: datetime
    ) -> list[Reading]:
        """Readings from one message; never raises (bad input is counted by reason)."""
        # Every GX publishes the same paths: each is parsed and looked up once per process.
        parsed = _parse(topic)
        if parsed is None:
            return []  # not a notification, or not a path we use: not decoded, not kept
        note, found, key = parsed
        if not payload:  # the service has gone
            if key in self._services:
                self._forget(note.service, note.instance)
            return []
        if len(payload) > self.max_payload_bytes:
            self._count("oversized")
            return []
        if key not in self._services:
            if len(self._services) >= MAX_SERVICES:
                self._count("too many services")
                return []
            self._services.add(key)
        try:
            value = decode_payload(payload)
        except ValueError:
            self._count("malformed")
            return []
        self.gone.discard(key)
        item, match = found
        out: Out = []
        try:
            self._handle(item, match, note, value, out, device)
        except _Reject as err:
            self._count(err.reason)
            return []
        except (ValueError, OverflowError, TypeError):
            self._count("not a number")
            return []
        readings: list[Reading] = []
        for metric, number, source in out:
            spec = METRICS[metric]
            if not math.isfinite(number) or not spec.min_value <= number <= spec.max_value:
                self._count("out of range")
                continue
            readings.append(new_reading(site, metric, received_at, number + 0.0, source))
        return readings

    # -- handlers, one per kind ---------------------------------------------------------

    def _handle(
        self,
        item: VictronPath,
        match: re.Match[str],
        note: Notification,
        value: Any,
        out: Out,
        device: str,
    ) -> None:
        kind = item.kind
        inst = note.instance
        if item.service == "generator" and inst != self.generator_instance:
            return
        if kind == "phase" or kind == "phases":
            self._phase(item, match, note, value, out, device)
            return
        if kind == "part":
            component = "dc" if item.service == "system" else f"{note.service}/{inst}"
            number = None if value is None else _number(value)
            self._part(item.metric, item.authority, component, number, out, device)
            return
        if value is None:  # an invalid value on a plain path: nothing to report
            if kind == "battery":
                self._batteries.get(inst, {}).pop(item.metric, None)
            elif kind == "inverter_battery":
                self._inverter_batteries.get(f"{note.service}/{inst}", {}).pop(item.metric, None)
            elif kind == "tank":
                self._tanks.get(inst, _Tank()).values.pop(item.metric, None)
            return
        if kind == "value":
            self._system_value(item.metric, _number(value) * item.factor, out, device)
        elif kind == "battery":
            self._battery(item.metric, inst, _number(value), out, device)
        elif kind == "inverter_battery":
            key = f"{note.service}/{inst}"
            self._inverter_batteries.setdefault(key, {})[item.metric] = _number(value)
            first = min(self._inverter_batteries)
            if (
                key == first
                and item.metric not in self._system_metrics
                and not any(item.metric in bank for bank in self._batteries.values())
            ):
                out.append((item.metric, self._inverter_batteries[key][item.metric], device))
        elif kind == "battery_product":
            self._battery_product(inst, _number(value), out, device)
        elif kind == "active_source":
            self._active_source(_number(value), out, device)
        elif kind == "input_type":
            self._input_types[(inst, int(match.group("input")))] = _whole(value)
        elif kind == "relay":
            relay = int(match.group("relay"))
            on = 1.0 if _number(value) else 0.0
            out.append(("relay_on", on, f"{device}:relay{relay}"))
            for load, n in self.relays.items():
                if n == relay:
                    out.append(("load_on", on, load))
        elif kind == "relay_function":
            self.relay_functions[int(match.group("relay") or 0)] = _whole(value)
        elif kind == "generator_state":
            state = _number(value)
            out.append(("generator_state", state, device))
            running = 1.0 if state in GENERATOR_RUNNING_STATES else 0.0
            out.append(("generator_running", running, device))
        elif kind == "tank":
            tank = self._tanks.setdefault(inst, _Tank())
            tank.values[item.metric] = _number(value) * item.factor
            self._tank(inst, tank, out, device)
        elif kind == "tank_fluid":
            tank = self._tanks.setdefault(inst, _Tank())
            tank.fluid = _whole(value)
            self._tank(inst, tank, out, device)

    def _system_value(self, metric: str, number: float, out: Out, device: str) -> None:
        self._system_metrics.add(metric)
        out.append((metric, number, device))

    def _active_source(self, source: float, out: Out, device: str) -> None:
        """Grid (1) or shore (3): on the grid. Genset (2) or inverting (240): off it, 0 W."""
        self.active_source = int(source)
        out.append(("active_input_source", source, device))
        if source in (1, 3):
            out.append(("grid_connected", 1.0, device))
        elif source in (2, 240):
            out.append(("grid_connected", 0.0, device))
            self._system_value("grid_power_w", 0.0, out, device)

    def _part(
        self,
        metric: str,
        authority: str,
        component: str,
        number: float | None,
        out: Out,
        device: str,
    ) -> None:
        """A summed metric: store (or, for None, drop) one component; emit the authoritative
        total. A dropped component leaves the others (0 W when none is left)."""
        sources = self._parts.setdefault(metric, {})
        parts = sources.setdefault(authority, {})
        if number is None:
            if parts.pop(component, None) is None:
                return  # it had no value: nothing changes
        else:
            if not math.isfinite(number):
                raise ValueError("not finite")
            parts[component] = number
        if authority == "system":
            self._system_metrics.add(metric)
        elif metric in self._system_metrics:
            return
        out.append((metric, math.fsum(parts.values()), device))

    def _phase(
        self,
        item: VictronPath,
        match: re.Match[str],
        note: Notification,
        value: Any,
        out: Out,
        device: str,
    ) -> None:
        group_name = item.group.format(**match.groupdict()) if "{" in item.group else item.group
        key = f"{note.service}/{note.instance}/{group_name}"
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = _PhaseGroup()
        if item.kind == "phases":
            if value is None:
                group.expected = None
                return
            count = _number(value)
            if count not in (1, 2, 3):
                raise _Reject("bad phase count")
            group.expected = int(count)
            return
        phase = int(match.group("n"))
        if value is None:  # "we do not have this any more" (systemcalc invalidates with None)
            if group.values.pop(phase, None) is None:
                return
            total = group.total()
            if group.values:
                if total is not None:
                    self._deliver(item, note, match, group_name, total, out, device)
                return
            # every phase is gone
            self._deliver(item, note, match, group_name, None, out, device)
            return
        group.values[phase] = _number(value)
        total = group.total()
        if total is not None:
            self._deliver(item, note, match, group_name, total, out, device)

    def _deliver(
        self,
        item: VictronPath,
        note: Notification,
        match: re.Match[str],
        group_name: str,
        total: float | None,
        out: Out,
        device: str,
    ) -> None:
        """Hand a phase group's total (None: every phase has gone) to its metric."""
        metric = item.metric
        component = f"{note.service}/{note.instance}"
        if item.service == "multi" and "input" in match.groupdict() and match.group("input"):
            kind = self._input_types.get((note.instance, int(match.group("input"))))
            if kind in (1, 3):
                metric = "grid_power_w"
            elif kind == 2:
                metric = "generator_power_w"
            else:
                return  # an input whose use is not known (yet)
            component = f"{component}/{group_name}"
        if item.service == "system" and metric != "pv_power_w":
            if total is None:
                if item.when_empty == "zero":
                    self._system_value(metric, 0.0, out, device)
                return
            self._system_value(metric, total, out, device)
            return
        if item.service == "system":
            component = group_name
        self._part(metric, item.authority, component, total, out, device)

    def _battery(self, metric: str, inst: int, number: float, out: Out, device: str) -> None:
        """Battery services: a Lynx parallel BMS alone when present, else every bank summed
        (power, current), averaged (voltage, SOC)."""
        self._batteries.setdefault(inst, {})[metric] = number
        if inst in self._battery_members():
            self._battery_total(metric, out, device)

    def _battery_members(self) -> list[int]:
        if self._parallel_bms:
            return sorted(self._parallel_bms)
        if self.battery_instances is not None:
            return sorted(self.battery_instances)
        return sorted(self._batteries)

    def _battery_total(self, metric: str, out: Out, device: str) -> None:
        if metric in self._system_metrics:
            return
        banks = [self._batteries.get(m, {}) for m in self._battery_members()]
        values = [bank[metric] for bank in banks if metric in bank]
        if not values:
            return
        if metric in ("battery_power_w", "battery_current_a"):
            total = math.fsum(values)
        else:
            total = math.fsum(values) / len(values)
        out.append((metric, total, device))

    def _battery_product(self, inst: int, product: float, out: Out, device: str) -> None:
        """A Lynx parallel BMS appearing (or not) changes which banks count: re-total."""
        before = set(self._parallel_bms)
        if product == PARALLEL_BMS_PRODUCT_ID:
            self._parallel_bms.add(inst)
        else:
            self._parallel_bms.discard(inst)
        if self._parallel_bms != before:
            for metric in BATTERY_METRICS:
                self._battery_total(metric, out, device)

    def _tank(self, inst: int, tank: _Tank, out: Out, device: str) -> None:
        if self.tank_instance is not None and inst != self.tank_instance:
            return
        if tank.fluid not in FUEL_FLUID_TYPES:
            return
        for metric, number in sorted(tank.values.items()):
            out.append((metric, number, f"{device}:tank{inst}"))

    def _forget(self, service: str, instance: int) -> None:
        """An empty payload: the service has gone; drop what we remembered from it."""
        key = f"{service}/{instance}"
        self.gone.add(key)
        self._services.discard(key)
        for name in [k for k in self._groups if k.startswith(key + "/")]:
            del self._groups[name]
        for sources in self._parts.values():
            for source, parts in sources.items():
                if source == "system" and service == "system":
                    parts.clear()
                for component in [c for c in parts if c == key or c.startswith(key + "/")]:
                    del parts[component]
        if service == "system":
            self._system_metrics.clear()
            self.active_source = None
        elif service == "battery":
            self._batteries.pop(instance, None)
            self._parallel_bms.discard(instance)
        elif service == "multi":
            for k in [k for k in self._input_types if k[0] == instance]:
                del self._input_types[k]
        if service in ("vebus", "multi"):
            self._inverter_batteries.pop(key, None)
        elif service == "tank":
            self._tanks.pop(instance, None)


def _whole(value: Any) -> int:
    number = _number(value)
    if number != int(number):
        raise _Reject("not a whole number")
    return int(number)


def parse_notification(
    topic: str,
    payload: bytes,
    *,
    site: str,
    device: str,
    received_at: datetime,
    state: VictronState | None = None,
) -> list[Reading]:
    """Readings from one ``N/<portalId>/<service>/<instance>/<path>`` message.

    Without ``state`` the call is pure (a fresh :class:`VictronState` is used,
    so a phase message yields the sum of the phases it knows: that one). A
    driver passes its own state to get phase sums, fallbacks and the
    ``rejected`` counter. Never raises: see the module docstring for the rules.
    """
    return (state or VictronState()).apply(
        topic, payload, site=site, device=device, received_at=received_at
    )


# --------------------------------------------------------------------------- the driver


@dataclass(slots=True)
class _Waiter:
    suffix: str
    values: asyncio.Queue[Any]


class VictronMqttDevice:
    """A Victron GX on its MQTT broker: one push device of a site (readings arrive on their own).

    Counters for status and tests: :attr:`rejected` (bad payloads), :attr:`dropped`
    (readings pushed out of the bounded queue), :attr:`messages`, :attr:`full_keepalives`.
    """

    push = True

    def __init__(
        self,
        device: Device,
        site: Site,
        *,
        hubs: MqttHubs,
        read_timeout_s: float = 5.0,
        start_timeout_s: float = 5.0,
        discovery_timeout_s: float = 5.0,
        queue_size: int = 10_000,
        reconnect_check_s: float = 0.5,
    ) -> None:
        config = device.config
        if not isinstance(config, VictronMqttConnection):  # pragma: no cover - registry guards it
            raise TypeError(f"device {device.name!r} is not a victron_mqtt device")
        self.name = device.name
        self.site = site.name
        self.config = config
        self._hub: MqttHub = hubs.get(config)
        self.portal_id: str | None = config.portal_id
        self._read_timeout_s = read_timeout_s
        self._start_timeout_s = start_timeout_s
        self._discovery_timeout_s = discovery_timeout_s
        self._reconnect_check_s = reconnect_check_s
        self.state = VictronState(
            relays=config.relays,
            generator_instance=config.generator_instance,
            battery_instances=config.battery_instances,
            tank_instance=config.tank_instance,
            max_payload_bytes=config.max_payload_bytes,
        )
        self._queue: deque[Reading] = deque(maxlen=queue_size)
        self._waiters: list[_Waiter] = []
        self._subscribed = False
        self._keepalive_task: asyncio.Task[None] | None = None
        self._seen_connects = 0
        self._heard = asyncio.Event()
        self.dropped = 0
        self.messages = 0
        self._messages_read = 0  # ``messages`` at the last read
        self.full_keepalives = 0
        self.reconnects = 0
        self.last_message_at: datetime | None = None
        self.full_publish_completed_at: datetime | None = None

    # -- status -----------------------------------------------------------------------

    @property
    def rejected(self) -> int:
        return self.state.rejected

    @property
    def rejected_by_reason(self) -> dict[str, int]:
        """Payloads on mapped paths that were refused, by reason (for status and /metrics)."""
        return dict(self.state.rejected_by_reason)

    @property
    def connected(self) -> bool:
        """Whether the broker connection is up (not whether the GX still publishes)."""
        return self._hub.connected

    @property
    def _label(self) -> str:
        return f"Victron GX {self.portal_id or '(portal id unknown)'} on {self._hub.label}"

    # -- lifecycle --------------------------------------------------------------------

    async def start(self) -> None:
        """Connect, find the portal id, subscribe, send the full keep-alive and read settings.

        Waits until the GX answers (any ``N/<portalId>/...`` message); raise a
        :class:`DeviceError` that says what to check when it does not.
        """
        try:
            await self._hub.connect()
        except ValueError as err:  # the password variable is not set
            raise DeviceAuthError(f"{self._hub.label}: {err}") from err
        if self.portal_id is None:
            self.portal_id = await self._discover()
        if not self._subscribed:
            self._hub.subscribe(f"N/{self.portal_id}/#", self._on_message)
            self._subscribed = True
        self._heard.clear()
        self._seen_connects = self._hub.connects
        self._full_keepalive()
        if self._keepalive_task is None or self._keepalive_task.done():
            self._keepalive_task = asyncio.create_task(
                self._keepalive_loop(), name=f"victron-keepalive-{self.name}"
            )
        try:
            await asyncio.wait_for(self._heard.wait(), self._start_timeout_s)
        except TimeoutError as err:
            raise DeviceTimeout(
                f"{self._label} did not answer the keep-alive within "
                f"{self._start_timeout_s:g} s; check the portal id and that MQTT is enabled "
                "on the GX (Settings > Services > MQTT)"
            ) from err

    async def _discover(self) -> str:
        """The portal id from the retained ``N/+/system/0/Serial``; refuse when ambiguous."""
        found: dict[str, None] = {}
        first = asyncio.Event()

        def on_serial(topic: str, payload: bytes) -> None:
            parts = topic.split("/")
            if len(parts) == 5 and payload:
                found[parts[1]] = None
                first.set()

        self._hub.subscribe("N/+/system/0/Serial", on_serial)
        try:
            try:
                await asyncio.wait_for(first.wait(), self._discovery_timeout_s)
            except TimeoutError as err:
                raise DeviceTimeout(
                    f"no Victron GX announced itself on {self._hub.label} within "
                    f"{self._discovery_timeout_s:g} s (retained N/+/system/0/Serial); check that "
                    "MQTT is enabled on the GX, or set portal_id in the site file"
                ) from err
            await asyncio.sleep(0.3)  # retained messages of other GX devices arrive together
        finally:
            self._hub.unsubscribe(on_serial)
        if len(found) > 1:
            raise DeviceProtocolError(
                f"{self._hub.label} has several Victron GX devices ({', '.join(found)}); "
                "set portal_id in the site file to choose one"
            )
        portal = next(iter(found))
        log.info("discovered Victron GX %s on %s", portal, self._hub.label)
        return portal

    async def close(self) -> None:
        task, self._keepalive_task = self._keepalive_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._subscribed:
            self._hub.unsubscribe(self._on_message)
            self._subscribed = False

    # -- keep-alive -------------------------------------------------------------------

    def _publish(self, suffix: str, payload: bytes) -> None:
        self._hub.publish(f"{suffix[0]}/{self.portal_id}/{suffix[2:]}", payload, retain=False)

    def _full_keepalive(self) -> None:
        """Empty keep-alive (full republish), then explicit reads of the settings we use."""
        self.full_keepalives += 1
        self._publish("R/keepalive", b"")
        self._publish(f"R/{MIN_SOC_PATH}", b"")
        for relay in sorted(set(self.config.relays.values())):
            self._publish(f"R/{relay_function_path(relay)}", b"")

    async def _keepalive_loop(self) -> None:
        loop = asyncio.get_running_loop()
        next_at = loop.time() + self.config.keepalive_s
        while True:
            # Sleep until the keep-alive is due or the hub reconnects, whichever is first
            # (no periodic wake-ups: a worker runs thousands of these).
            if self._hub.connects == self._seen_connects:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self._hub.next_connect(),
                        max(self._reconnect_check_s, next_at - loop.time()),
                    )
            if not self._hub.connected:
                continue
            try:
                if self._hub.connects != self._seen_connects:
                    self._seen_connects = self._hub.connects
                    self.reconnects += 1
                    log.info("%s: broker reconnected; sending a full keep-alive", self._label)
                    self._full_keepalive()
                    next_at = loop.time() + self.config.keepalive_s
                elif loop.time() >= next_at:
                    self._publish("R/keepalive", SUPPRESS_REPUBLISH)
                    next_at = loop.time() + self.config.keepalive_s
            except DeviceError as err:  # not connected right now: the next round retries
                log.warning("%s: keep-alive not sent: %s", self._label, err)

    # -- incoming ---------------------------------------------------------------------

    def _on_message(self, topic: str, payload: bytes) -> None:
        now = datetime.now(UTC)
        self.messages += 1
        self.last_message_at = now
        self._heard.set()
        if topic.endswith("/full_publish_completed") and topic.count("/") == 2:
            self.full_publish_completed_at = now
            return
        readings = self.state.apply(
            topic, payload, site=self.site, device=self.name, received_at=now
        )
        for reading in readings:
            if len(self._queue) == self._queue.maxlen:
                self.dropped += 1
            self._queue.append(reading)
        if self._waiters:
            suffix = topic.split("/", 2)[2] if topic.count("/") >= 2 else ""
            try:
                value = decode_payload(payload)
            except ValueError:
                return
            if isinstance(value, _Gone):
                return
            for waiter in self._waiters:
                if waiter.suffix == suffix:
                    waiter.values.put_nowait(value)

    def waiting(self) -> bool:
        """Whether :meth:`read` has something to say: a message arrived since the last
        read (readings, or a payload refused), or the broker connection is down."""
        return self.messages != self._messages_read or (
            self._subscribed and not self._hub.connected
        )

    async def read(self, now: datetime) -> list[Reading]:
        """The readings that arrived since the last call (oldest first)."""
        self._messages_read = self.messages
        if not self._queue and self._subscribed and not self._hub.connected:
            raise DeviceUnreachable(
                f"{self._label}: lost the connection to the broker; reconnecting "
                "(check that the broker runs)"
            )
        batch = list(self._queue)
        self._queue.clear()
        return batch

    # -- commands ---------------------------------------------------------------------

    def handles(self, command: DeviceCommand) -> bool:
        if command.kind == "set_load":
            return command.target in self.config.relays
        return command.kind in ("generator", "min_soc")

    async def execute(self, command: DeviceCommand) -> None:
        """Write with ``W/``, then read back with ``R/`` until the GX shows the new value."""
        if self.portal_id is None or not self._subscribed:
            raise DeviceUnreachable(f"{self._label} is not started")
        if command.kind == "set_load":
            relay = self.config.relays.get(command.target)
            if relay is None:
                known = ", ".join(self.config.relays) or "none"
                raise DeviceRefused(
                    f"{self._label} has no relay for load {command.target!r} (known: {known})"
                )
            if relay not in self.state.relay_functions:  # not answered yet: ask once more
                with contextlib.suppress(DeviceTimeout):
                    await self._read(relay_function_path(relay), min(self._read_timeout_s, 2.0))
            function = self.state.relay_functions.get(relay)
            if function is not None and function != RELAY_FUNCTION_MANUAL:
                name = RELAY_FUNCTION_NAMES.get(function, f"function {function}")
                raise DeviceRefused(
                    f"{self._label}: relay {relay} (load {command.target}) is set to {name}, "
                    "not manual, so it cannot be switched; set its function to Manual in the GX "
                    "menu Settings > Relay"
                )
            await self._write(relay_state_path(relay), 1 if command.on else 0)
        elif command.kind == "generator":
            path = generator_start_path(self.config.generator_instance)
            await self._write(path, 1 if command.on else 0)
        elif command.kind == "min_soc":
            value = command.value
            if value is None or not math.isfinite(value) or not 0 <= value <= 100:
                raise DeviceRefused(f"min_soc needs a value between 0 and 100 %, not {value!r}")
            await self._write(MIN_SOC_PATH, value)
        else:
            raise DeviceRefused(
                f"{self._label} cannot carry out {command.kind} (not supported over MQTT by "
                "this driver)"
            )

    async def _read(self, suffix: str, timeout_s: float) -> Any:
        """Send ``R/<suffix>`` and return the value of the next ``N/<suffix>``."""
        waiter = _Waiter(suffix, asyncio.Queue())
        self._waiters.append(waiter)
        try:
            self._publish(f"R/{suffix}", b"")
            try:
                return await asyncio.wait_for(waiter.values.get(), timeout_s)
            except TimeoutError as err:
                raise DeviceTimeout(
                    f"{self._label} did not answer the read of {suffix} within {timeout_s:g} s; "
                    "check that MQTT is enabled on the GX"
                ) from err
        finally:
            self._waiters.remove(waiter)

    async def _write(self, suffix: str, value: float) -> None:
        waiter = _Waiter(suffix, asyncio.Queue())
        self._waiters.append(waiter)
        try:
            self._publish(f"W/{suffix}", json.dumps({"value": value}).encode())
            seen: list[Any] = []
            for attempt in range(2):
                self._publish(f"R/{suffix}", b"")
                got = await self._next_value(waiter, suffix, seen)
                if _same(got, value):
                    return
                seen.append(got)
                if attempt == 0:  # maybe a notification sent before the write took effect
                    await asyncio.sleep(0.2)
                    while not waiter.values.empty():
                        late = waiter.values.get_nowait()
                        if _same(late, value):
                            return
                        seen.append(late)
            raise ReadbackMismatch(
                f"{self._label}: wrote {value!r} to {suffix} but the GX reads back "
                f"{seen[-1]!r}; check that the setting is writable and nothing else controls it"
            )
        finally:
            self._waiters.remove(waiter)

    async def _next_value(self, waiter: _Waiter, suffix: str, seen: list[Any]) -> Any:
        try:
            return await asyncio.wait_for(waiter.values.get(), self._read_timeout_s)
        except TimeoutError as err:
            last = f" (the last value it sent was {seen[-1]!r})" if seen else ""
            raise DeviceTimeout(
                f"{self._label} did not answer the read of {suffix} within "
                f"{self._read_timeout_s:g} s{last}; check that MQTT is enabled on the GX"
            ) from err


def _same(got: Any, want: float) -> bool:
    if isinstance(got, bool) or not isinstance(got, int | float):
        return False
    return math.isclose(float(got), float(want), rel_tol=0.0, abs_tol=0.05)
