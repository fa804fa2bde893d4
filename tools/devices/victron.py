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

Rules the parser follows:

- ``system/0`` is authoritative. Device services (``battery``,
  ``solarcharger``, ``pvinverter``, ``vebus``, ``grid``) are fallbacks used
  for a metric only until ``system/0`` has reported that metric, and again
  after ``system/0`` has gone. Of several ``battery`` services the first to
  report is used until it goes.
- Phase sums (``L1..L3``): a phase counts once it has reported a number. A
  ``null`` from a phase that never reported a number leaves it out (the L2/L3
  of a single-phase system); a ``null`` from a known phase keeps its last
  value (a transient invalid must not make the total jump). When the group's
  ``NumberOfPhases`` is known, no total is emitted until phases
  ``L1..L<n>`` all have a value. A service going away forgets its phases.
- Every value must be a finite number inside the metric's range in
  :data:`tools.domain.METRICS`; anything else on a mapped path (malformed
  JSON, strings, booleans, out of range, e.g. a -6 W AC-out reading on a
  load) is rejected and counted in :attr:`VictronState.rejected`. Nothing
  raises.
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
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import orjson

from tools.devices.base import DeviceCommand
from tools.devices.config import VictronMqttConnection
from tools.devices.mqtt import MqttHub, MqttHubs
from tools.domain import METRICS, Reading
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
GENERATOR_RUNNING_STATES: Final = frozenset({1, 2, 3})  # running, warm-up, cool-down
TOPIC_CACHE_SIZE: Final = 4096  # parsed topics remembered per GX


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
    # derived once (a parsed topic is cached and reused for every message on it)
    service_key: str = field(init=False, compare=False)  # "<service>/<instance>"
    suffix: str = field(init=False, compare=False)  # what follows ``N/<portalId>/``

    def __post_init__(self) -> None:
        key = f"{self.service}/{self.instance}"
        object.__setattr__(self, "service_key", key)
        object.__setattr__(self, "suffix", f"{key}/{self.path}")


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


_PHASE = re.compile(r"^(?P<group>.+)/L(?P<n>[123])/(?:Power|P)$")
_RELAY_STATE = re.compile(r"Relay/(\d+)/State")

# (service, path) -> metric for plain values
_SYSTEM_SIMPLE: Final = {
    "Dc/Battery/Soc": "battery_soc_pct",
    "Dc/Battery/Power": "battery_power_w",
    "Dc/Battery/Voltage": "battery_voltage_v",
    "Dc/Battery/Current": "battery_current_a",
}
_BATTERY_SIMPLE: Final = {
    "Soc": "battery_soc_pct",
    "Dc/0/Power": "battery_power_w",
    "Dc/0/Voltage": "battery_voltage_v",
    "Dc/0/Current": "battery_current_a",
}
# phase groups: (service, group path) -> (metric, component name or None for the metric itself)
_SYSTEM_GROUPS: Final = {
    "Ac/Consumption": "load_power_w",
    "Ac/Grid": "grid_power_w",
    "Ac/PvOnGrid": "pv_power_w",
    "Ac/PvOnOutput": "pv_power_w",
}


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


class VictronState:
    """What the parser remembers between messages of one GX.

    ``relays`` maps a load name to its GX relay number (for ``load_on``);
    ``generator_instance`` selects the ``generator/<n>`` service to read.
    """

    def __init__(
        self, *, relays: Mapping[str, int] | None = None, generator_instance: int = 0
    ) -> None:
        self.relays: dict[str, int] = dict(relays or {})
        self.generator_instance = generator_instance
        self.rejected = 0
        self.gone: set[str] = set()  # "<service>/<instance>" that sent empty payloads
        self.relay_functions: dict[int, int] = {}
        self.last_values: dict[str, Any] = {}  # suffix -> last decoded value (None = invalid)
        self._groups: dict[str, _PhaseGroup] = {}  # "<service>/<instance>/<group>"
        # metric -> source ("system" or "fallback") -> component -> value
        self._parts: dict[str, dict[str, dict[str, float]]] = {}
        self._system_metrics: set[str] = set()
        self._primary_battery: int | None = None
        self._topics: dict[str, Notification | None] = {}  # a GX repeats its topics

    # -- the one entry point -----------------------------------------------------------

    def apply(
        self, topic: str, payload: bytes, *, site: str, device: str, received_at: datetime
    ) -> list[Reading]:
        """Readings from one message; never raises (bad input is counted in ``rejected``)."""
        try:
            note = self._topics[topic]
        except KeyError:
            if len(self._topics) >= TOPIC_CACHE_SIZE:
                self._topics.clear()
            note = self._topics[topic] = split_topic(topic)
        if note is None:
            return []
        try:
            value = decode_payload(payload)
        except ValueError:
            if self._mapped(note):
                self.rejected += 1
            return []
        if isinstance(value, _Gone):
            self._forget(note.service, note.instance)
            self.last_values.pop(note.suffix, None)
            return []
        self.gone.discard(note.service_key)
        self.last_values[note.suffix] = value
        out: list[tuple[str, float, str]] = []
        try:
            self._dispatch(note, value, out, device)
        except (ValueError, OverflowError, TypeError):
            self.rejected += 1
            return []
        readings: list[Reading] = []
        for metric, number, source in out:
            spec = METRICS[metric]
            if not math.isfinite(number) or not spec.min_value <= number <= spec.max_value:
                self.rejected += 1
                continue
            readings.append(
                Reading(
                    site=site, metric=metric, time=received_at, value=number + 0.0, device=source
                )
            )
        return readings

    # -- mapping -----------------------------------------------------------------------

    def _mapped(self, note: Notification) -> bool:
        """Whether the topic is one the parser turns into readings or state."""
        probe: list[tuple[str, float, str]] = []
        try:
            self._dispatch(note, None, probe, "", dry_run=True)
        except _Mapped:
            return True
        return False

    def _dispatch(
        self,
        note: Notification,
        value: Any,
        out: list[tuple[str, float, str]],
        device: str,
        *,
        dry_run: bool = False,
    ) -> None:
        service, inst, path = note.service, note.instance, note.path

        def hit() -> bool:
            if dry_run:
                raise _Mapped
            return value is not None

        if service == "system":
            if path in _SYSTEM_SIMPLE:
                if hit():
                    self._system_value(_SYSTEM_SIMPLE[path], _number(value), out, device)
                return
            if path == "Dc/Pv/Power":
                if hit():
                    self._part("pv_power_w", "system", "dc", _number(value), out, device)
                return
            group, phase = _phase(path)
            if group in _SYSTEM_GROUPS:
                if dry_run:
                    raise _Mapped
                metric = _SYSTEM_GROUPS[group]
                total = self._phase_update(f"system/{inst}/{group}", phase, value)
                if total is None:
                    return
                if metric == "pv_power_w":
                    self._part(metric, "system", group, total, out, device)
                else:
                    self._system_value(metric, total, out, device)
                return
            if path == "Ac/ActiveIn/Source":
                if hit():
                    source = _number(value)
                    out.append(("active_input_source", source, device))
                    if source in (1, 3):
                        out.append(("grid_connected", 1.0, device))
                    elif source == 240:
                        out.append(("grid_connected", 0.0, device))
                return
            match = _RELAY_STATE.fullmatch(path)
            if match:
                if hit():
                    relay = int(match.group(1))
                    on = 1.0 if _number(value) else 0.0
                    out.append(("relay_on", on, f"{device}:relay{relay}"))
                    for load, n in self.relays.items():
                        if n == relay:
                            out.append(("load_on", on, load))
                return
            return
        if service == "battery":
            battery_metric = _BATTERY_SIMPLE.get(path)
            if battery_metric is None or not hit():
                return
            number = _number(value)
            if self._primary_battery is None:
                self._primary_battery = inst
            if inst == self._primary_battery and battery_metric not in self._system_metrics:
                out.append((battery_metric, number, device))
            return
        if service == "solarcharger" and path == "Yield/Power":
            if hit():
                self._part(
                    "pv_power_w", "fallback", f"solarcharger/{inst}", _number(value), out, device
                )
            return
        if service == "pvinverter" and path == "Ac/Power":
            if hit():
                self._part(
                    "pv_power_w", "fallback", f"pvinverter/{inst}", _number(value), out, device
                )
            return
        if service in ("vebus", "grid"):
            metric = "load_power_w" if service == "vebus" else "grid_power_w"
            group_path = "Ac/Out" if service == "vebus" else "Ac"
            phases_path = "Ac/NumberOfPhases" if service == "vebus" else "NumberOfPhases"
            group, phase = _phase(path)
            if group == group_path or path == phases_path:
                if dry_run:
                    raise _Mapped
                key = f"{service}/{inst}/{group_path}"
                if path == phases_path:
                    self._phase_count(key, value)
                    return
                total = self._phase_update(key, phase, value)
                if total is not None:
                    self._part(metric, "fallback", f"{service}/{inst}", total, out, device)
            return
        if service == "generator" and inst == self.generator_instance:
            if path == "State":
                if hit():
                    state = _number(value)
                    out.append(("generator_state", state, device))
                    running = 1.0 if state in GENERATOR_RUNNING_STATES else 0.0
                    out.append(("generator_running", running, device))
                return
            if path == "AccumulatedRuntime":  # seconds (dbus_generator startstop.py)
                if hit():
                    out.append(("generator_run_hours_h", _number(value) / 3600.0, device))
                return
            return
        if service == "settings":
            if path == MIN_SOC_PATH.removeprefix("settings/0/"):
                if hit():
                    out.append(("ess_min_soc_pct", _number(value), device))
                return
            match = re.fullmatch(r"Settings/Relay/(?:(\d+)/)?Function", path)
            if match:
                if hit():
                    relay = int(match.group(1) or 0)
                    function = _number(value)
                    if function != int(function):
                        raise ValueError("relay function is not an integer")
                    self.relay_functions[relay] = int(function)
                return
            return

    def _system_value(
        self, metric: str, number: float, out: list[tuple[str, float, str]], device: str
    ) -> None:
        self._system_metrics.add(metric)
        out.append((metric, number, device))

    def _part(
        self,
        metric: str,
        source: str,
        component: str,
        number: float,
        out: list[tuple[str, float, str]],
        device: str,
    ) -> None:
        """A summed metric: store one component and emit the authoritative total."""
        if not math.isfinite(number):
            raise ValueError("not finite")
        parts = self._parts.setdefault(metric, {}).setdefault(source, {})
        parts[component] = number
        if source == "system":
            self._system_metrics.add(metric)
        elif metric in self._system_metrics:
            return
        out.append((metric, math.fsum(parts.values()), device))

    def _phase_update(self, key: str, phase: int | None, value: Any) -> float | None:
        """Store one phase value (or NumberOfPhases) and return the group total when complete."""
        if phase is None:  # "<group>/NumberOfPhases"
            self._phase_count(key, value)
            return None
        group = self._groups.setdefault(key, _PhaseGroup())
        if value is None:  # invalid: keep a known phase's last value, ignore a new one
            return None
        group.values[phase] = _number(value)
        return group.total()

    def _phase_count(self, key: str, value: Any) -> None:
        group = self._groups.setdefault(key, _PhaseGroup())
        if value is None:
            group.expected = None
            return
        count = _number(value)
        if count not in (1, 2, 3):
            raise ValueError(f"NumberOfPhases {count:g} is not 1, 2 or 3")
        group.expected = int(count)

    def _forget(self, service: str, instance: int) -> None:
        """An empty payload: the service has gone; drop what we remembered from it."""
        key = f"{service}/{instance}"
        self.gone.add(key)
        for name in [k for k in self._groups if k.startswith(key + "/")]:
            del self._groups[name]
        for sources in self._parts.values():
            for source, parts in sources.items():
                if source == "system" and service == "system":
                    parts.clear()
                for component in [c for c in parts if c == key]:
                    del parts[component]
        if service == "system":
            self._system_metrics.clear()
        if service == "battery" and self._primary_battery == instance:
            self._primary_battery = None


class _Mapped(Exception):
    """Raised by a dry run of the dispatcher when the path is one we map."""


@functools.lru_cache(maxsize=1024)
def _phase(path: str) -> tuple[str, int | None]:
    """``("Ac/Grid", 2)`` for ``Ac/Grid/L2/Power``; ``("Ac/Grid", None)`` for NumberOfPhases."""
    match = _PHASE.match(path)
    if match:
        return match.group("group"), int(match.group("n"))
    if path.endswith("/NumberOfPhases"):
        return path.removesuffix("/NumberOfPhases"), None
    return "", None


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
            relays=config.relays, generator_instance=config.generator_instance
        )
        self._queue: deque[Reading] = deque(maxlen=queue_size)
        self._waiters: list[_Waiter] = []
        self._subscribed = False
        self._keepalive_task: asyncio.Task[None] | None = None
        self._seen_connects = 0
        self._heard = asyncio.Event()
        self.dropped = 0
        self.messages = 0
        self.full_keepalives = 0
        self.reconnects = 0
        self.last_message_at: datetime | None = None
        self.full_publish_completed_at: datetime | None = None

    # -- status -----------------------------------------------------------------------

    @property
    def rejected(self) -> int:
        return self.state.rejected

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

    async def read(self, now: datetime) -> list[Reading]:
        """The readings that arrived since the last call (oldest first)."""
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
