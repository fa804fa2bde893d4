"""A Victron GX on a real MQTT broker, speaking dbus-flashmq's protocol (PROTOCOLS.md §1).

:class:`VictronGxSimulator` puts the physics of
:class:`tools.devices.simulator.SimulatedSite` behind the GX's topics:

- the retained ``N/<id>/system/0/Serial`` (the only retained topic);
- keep-alives on ``R/<id>/keepalive`` (or the legacy ``R/<id>/system/0/Serial``):
  an empty payload republishes every topic and then
  ``N/<id>/full_publish_completed``; ``{"keepalive-options":
  ["suppress-republish"]}`` only keeps the GX alive; without a keep-alive for
  ``keepalive_timeout_s`` (60 s) it stops publishing; while alive it sends
  ``N/<id>/heartbeat`` every ``heartbeat_s`` (3 s);
- changed values after each :meth:`VictronGxSimulator.step` (not retained);
- ``R/`` reads of one path or a sub-tree, always answered;
- ``W/`` writes of relay states (only when the relay function is Manual),
  ``generator/<n>/ManualStart`` and the ESS ``MinimumSocLimit`` (clamped to
  0..100), each followed by the new value.

Settings are not part of a full publish: like on a GX, read them explicitly.
The full-republish rate limit of the real plugin is not modelled.

:func:`replay_recording` plays the shared Venus OS D-Bus recordings
(``/work/shared/data/victron/*.jsonl``) as MQTT notifications.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from tools.devices.base import DeviceCommand
from tools.devices.simulator import SimulatedSite
from tools.devices.victron import (
    MIN_SOC_PATH,
    RELAY_FUNCTION_MANUAL,
    generator_start_path,
    relay_function_path,
    relay_state_path,
)
from tools.domain import Reading
from tools.errors import DeviceError, DeviceTimeout, DeviceUnreachable
from tools.site import Site

__all__ = ["DEFAULT_INSTANCES", "VictronGxSimulator", "recording_messages", "replay_recording"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Setting:
    value: float
    low: float
    high: float

    def payload(self) -> dict[str, Any]:
        return {"max": self.high, "min": self.low, "value": self.value}


class VictronGxSimulator:
    """A simulated GX with portal id ``portal_id`` on the broker at ``host:port``.

    ``relays`` maps load names to relay numbers (as in the driver's config);
    ``relay_functions`` sets each relay's function (default: Manual for the
    mapped relays). ``phases`` spreads consumption and grid power over
    ``L1..L<phases>``. ``ignore_writes`` makes the GX drop every ``W/``;
    ``answer_reads=False`` makes it ignore ``R/`` reads (not keep-alives).
    """

    def __init__(
        self,
        site: Site,
        *,
        host: str,
        port: int,
        start: datetime,
        portal_id: str | None = None,
        seed: int = 0,
        relays: Mapping[str, int] | None = None,
        relay_functions: Mapping[int, int] | None = None,
        generator_instance: int = 0,
        min_soc_pct: float | None = None,
        phases: int = 1,
        keepalive_timeout_s: float = 60.0,
        heartbeat_s: float = 3.0,
        ignore_writes: bool = False,
        answer_reads: bool = True,
    ) -> None:
        if phases not in (1, 2, 3):
            raise ValueError("phases must be 1, 2 or 3")
        self.site = site
        self.host = host
        self.port = port
        self.portal_id = portal_id or uuid.uuid4().hex[:12]
        self.sim = SimulatedSite(site, seed=seed, start=start)
        self.relays = dict(relays or {})
        self.generator_instance = generator_instance
        self.phases = phases
        self.keepalive_timeout_s = keepalive_timeout_s
        self.heartbeat_s = heartbeat_s
        self.ignore_writes = ignore_writes
        self.answer_reads = answer_reads
        functions = {n: RELAY_FUNCTION_MANUAL for n in self.relays.values()}
        functions.update(relay_functions or {})
        min_soc = min_soc_pct
        if min_soc is None:
            min_soc = site.battery.min_soc_pct if site.battery else 10.0
        self._settings: dict[str, _Setting] = {
            MIN_SOC_PATH: _Setting(float(min_soc), 0.0, 100.0),
            **{relay_function_path(n): _Setting(float(f), 0.0, 5.0) for n, f in functions.items()},
        }
        self._values: dict[str, Any] = {}  # suffix -> value (non-settings topics)
        self._relay_states: dict[int, int] = {n: 0 for n in self.relays.values()}
        self._manual_start = 0
        self._runtime_s = 0.0
        self._last_sim_s: float | None = None
        self._alive_until = 0.0
        self._client: mqtt.Client | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._inbox: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._connected = threading.Event()
        # counters for tests
        self.full_publishes = 0
        self.keepalives = 0
        self.heartbeats = 0
        self.writes: list[tuple[str, Any]] = []

    # -- lifecycle --------------------------------------------------------------------

    @property
    def alive(self) -> bool:
        """Whether a keep-alive is active (the GX publishes)."""
        return time.monotonic() < self._alive_until

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    async def start(self, timeout_s: float = 5.0) -> None:
        """Connect (own paho client), publish the retained serial and the initial values."""
        self._loop = asyncio.get_running_loop()
        await self._refresh(self.sim.time, publish=False)
        client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=f"victron-gx-sim-{self.portal_id}",
            clean_session=True,
        )
        client.reconnect_delay_set(min_delay=1, max_delay=2)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        self._client = client
        try:
            client.connect_async(self.host, self.port, keepalive=30)
        except (OSError, ValueError) as err:
            raise DeviceUnreachable(f"GX simulator: {self.host}:{self.port}: {err}") from err
        client.loop_start()
        self._tasks = [
            asyncio.create_task(self._serve(), name=f"gx-sim-serve-{self.portal_id}"),
            asyncio.create_task(self._heartbeat(), name=f"gx-sim-heartbeat-{self.portal_id}"),
        ]
        if not await asyncio.to_thread(self._connected.wait, timeout_s):
            await self.stop()
            raise DeviceTimeout(f"GX simulator could not connect to {self.host}:{self.port}")

    async def stop(self) -> None:
        """Clear the retained serial (so the broker forgets this GX), disconnect."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        client, self._client = self._client, None
        if client is not None:
            if self._connected.is_set():
                info = client.publish(self._n("system/0/Serial"), b"", retain=True)
                with contextlib.suppress(RuntimeError, ValueError):
                    await asyncio.to_thread(info.wait_for_publish, 2.0)
            client.disconnect()
            await asyncio.to_thread(client.loop_stop)
        self._connected.clear()

    # -- paho callbacks (network thread) -----------------------------------------------

    def _on_connect(
        self, client: mqtt.Client, _userdata: Any, _flags: Any, reason: Any, _props: Any
    ) -> None:
        if reason.is_failure:
            log.warning("GX simulator refused by broker: %s", reason)
            return
        client.subscribe(f"R/{self.portal_id}/#")
        client.subscribe(f"W/{self.portal_id}/#")
        serial = json.dumps({"value": self.portal_id})
        client.publish(self._n("system/0/Serial"), serial, retain=True)
        self._connected.set()

    def _on_disconnect(self, *_args: Any) -> None:
        self._connected.clear()

    def _on_message(self, _client: mqtt.Client, _userdata: Any, msg: mqtt.MQTTMessage) -> None:
        loop = self._loop
        if loop is None:
            return
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(self._inbox.put_nowait, (msg.topic, bytes(msg.payload)))

    # -- publishing -------------------------------------------------------------------

    def _n(self, suffix: str) -> str:
        return f"N/{self.portal_id}/{suffix}"

    def _send(self, suffix: str, doc: dict[str, Any] | None) -> None:
        client = self._client
        if client is None:
            return
        payload = b"" if doc is None else json.dumps(doc).encode()
        client.publish(self._n(suffix), payload, retain=False)

    def _publish_value(self, suffix: str) -> None:
        if suffix in self._settings:
            self._send(suffix, self._settings[suffix].payload())
        elif suffix in self._values:
            self._send(suffix, {"value": self._values[suffix]})

    def _full_publish(self, echo: str | None) -> None:
        self.full_publishes += 1
        self._send("system/0/Serial", {"value": self.portal_id})
        for suffix in list(self._values):
            self._publish_value(suffix)
        done: dict[str, Any] = {"value": int(time.time())}
        if echo is not None:
            done = {"full-publish-completed-echo": echo, **done}
        self._send("full_publish_completed", done)

    # -- the GX ----------------------------------------------------------------------

    async def step(self, now: datetime) -> list[Reading]:
        """Advance the physics to ``now``; publish what changed (while alive); return readings."""
        return await self._refresh(now, publish=True)

    async def _refresh(self, now: datetime, *, publish: bool) -> list[Reading]:
        readings = await self.sim.poll(now)
        sim_s = now.timestamp()
        if self._last_sim_s is not None and self.sim.state.generator_running:
            self._runtime_s += max(0.0, sim_s - self._last_sim_s)
        self._last_sim_s = sim_s
        new = self._topics(readings)
        changed = [k for k, v in new.items() if self._values.get(k, _MISSING) != v]
        self._values.update(new)
        if publish and self.alive:
            for suffix in changed:
                self._publish_value(suffix)
        return readings

    def _topics(self, readings: list[Reading]) -> dict[str, Any]:
        """Physics readings as GX topic values (the inverse of the driver's parser)."""
        site_values = {r.metric: r.value for r in readings if r.device == self.sim.device}
        out: dict[str, Any] = {}
        soc = site_values.get("battery_soc_pct")
        if soc is not None:
            power = site_values.get("battery_power_w", 0.0)
            voltage = site_values.get("battery_voltage_v", 0.0)
            out["system/0/Dc/Battery/Soc"] = _r(soc)
            out["system/0/Dc/Battery/Power"] = _r(power)
            out["system/0/Dc/Battery/Voltage"] = _r(voltage)
            out["system/0/Dc/Battery/Current"] = _r(power / voltage) if voltage else 0.0
            state = 1 if power > 30 else 2 if power < -30 else 0
            out["system/0/Dc/Battery/State"] = state
        out["system/0/Dc/Pv/Power"] = _r(site_values.get("pv_power_w", 0.0))
        running = self.sim.state.generator_running
        source = 1 if self.site.grid.present else 2 if running else 240
        # as systemcalc: the active input's group carries the power, the other is null
        active = {1: "Grid", 2: "Genset"}.get(source)
        for group, metric in (
            ("Consumption", "load_power_w"),
            ("Grid", "grid_power_w"),
            ("Genset", "generator_power_w"),
        ):
            present = group == "Consumption" or group == active
            total = site_values.get(metric, 0.0)
            out[f"system/0/Ac/{group}/NumberOfPhases"] = self.phases if present else None
            for n in range(1, 4):
                share = _r(total / self.phases) if present and n <= self.phases else None
                out[f"system/0/Ac/{group}/L{n}/Power"] = share
        out["system/0/Ac/ActiveIn/Source"] = source
        loads_on = self.sim.state.loads_on
        for load, relay in self.relays.items():
            if load in loads_on:
                self._relay_states[relay] = 1 if loads_on[load] else 0
        for relay, on in self._relay_states.items():
            out[relay_state_path(relay)] = on
        if self.site.generator is not None:
            gen = f"generator/{self.generator_instance}"
            out[f"{gen}/State"] = 1 if running else 0
            out[generator_start_path(self.generator_instance)] = self._manual_start
            out[f"{gen}/AccumulatedRuntime"] = int(self._runtime_s)
            out[f"{gen}/RunningByCondition"] = "manual" if running else ""
        return out

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_s)
            if self.alive:
                self.heartbeats += 1
                self._send("heartbeat", {"value": int(time.time())})

    async def _serve(self) -> None:
        while True:
            topic, payload = await self._inbox.get()
            try:
                await self._handle(topic, payload)
            except Exception:  # a bad request must not stop the simulated GX
                log.exception("GX simulator: handling %s failed", topic)

    async def _handle(self, topic: str, payload: bytes) -> None:
        kind, _, suffix = topic.partition(f"/{self.portal_id}/")
        if kind == "R":
            if suffix in ("keepalive", "system/0/Serial"):
                self._keepalive(payload)
                if suffix == "keepalive":
                    return
            if self.answer_reads:
                self._read(suffix)
        elif kind == "W" and not self.ignore_writes:
            try:
                doc = json.loads(payload)
                value = doc["value"]
            except (ValueError, TypeError, KeyError):
                log.warning("GX simulator: ignored malformed write to %s", suffix)
                return
            await self._write(suffix, value)

    def _keepalive(self, payload: bytes) -> None:
        self.keepalives += 1
        self._alive_until = time.monotonic() + self.keepalive_timeout_s
        options: list[Any] = []
        if payload:
            try:
                doc = json.loads(payload)
                options = list(doc.get("keepalive-options", []))
            except (ValueError, TypeError, AttributeError):
                return
        if "suppress-republish" in options:
            return
        echo = next(
            (
                str(o["full-publish-completed-echo"])
                for o in options
                if isinstance(o, dict) and "full-publish-completed-echo" in o
            ),
            None,
        )
        self._full_publish(echo)

    def _read(self, suffix: str) -> None:
        if suffix in self._settings or suffix in self._values:
            self._publish_value(suffix)
            return
        prefix = suffix.rstrip("/") + "/"  # a sub-tree: every leaf separately
        for key in [*self._values, *self._settings]:
            if key.startswith(prefix):
                self._publish_value(key)

    async def _write(self, suffix: str, value: Any) -> None:
        self.writes.append((suffix, value))
        number = _as_number(value)
        if number is None:
            return
        relay = next((n for n in self._relay_states if relay_state_path(n) == suffix), None)
        if relay is not None:
            function = self._settings.get(relay_function_path(relay))
            if function is not None and function.value == RELAY_FUNCTION_MANUAL:
                on = bool(number)
                for load, n in self.relays.items():
                    if n == relay:
                        await self.sim.execute(DeviceCommand(kind="set_load", target=load, on=on))
                self._relay_states[relay] = 1 if on else 0
                self._values[suffix] = self._relay_states[relay]
            self._after_write(suffix)
            return
        if suffix == generator_start_path(self.generator_instance):
            on = bool(number)
            try:
                await self.sim.execute(DeviceCommand(kind="generator", on=on))
            except DeviceError as err:
                log.info("GX simulator: generator did not %s: %s", "start" if on else "stop", err)
            else:
                self._manual_start = 1 if on else 0
            await self._refresh(self.sim.time, publish=True)
            self._after_write(suffix)
            return
        setting = self._settings.get(suffix)
        if setting is not None:
            clamped = min(max(number, setting.low), setting.high)
            self._settings[suffix] = _Setting(clamped, setting.low, setting.high)
            self._after_write(suffix)

    def _after_write(self, suffix: str) -> None:
        if self.alive:
            self._publish_value(suffix)


_MISSING = object()


def _r(value: float) -> float:
    return round(float(value), 3) + 0.0


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


# --------------------------------------------------------------------------- recordings

DEFAULT_INSTANCES: dict[str, int] = {
    "battery": 512,
    "vebus": 276,
    "solarcharger": 279,
    "pvinverter": 20,
    "grid": 30,
    "tank": 20,
    "system": 0,
    "settings": 0,
}
"""Device instance per service type when a recording has no ``/DeviceInstance`` row."""


def _service_type(service: str) -> str:
    """``battery`` for ``com.victronenergy.battery.ttyO0``."""
    parts = service.split(".")
    return parts[2] if len(parts) > 2 and parts[0] == "com" else service


def recording_messages(
    path: Path, *, portal_id: str, instances: Mapping[str, int] | None = None
) -> list[tuple[float, str, bytes]]:
    """The MQTT messages of a recording as ``(t [s], topic, payload)``, ordered by ``t``.

    ``instances`` (by full D-Bus service name or by service type) wins over the
    recording's ``/DeviceInstance`` rows, which win over :data:`DEFAULT_INSTANCES`.
    Rows are stably sorted by ``t`` (the files list one service after another).
    """
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    recorded = {
        row["service"]: int(row["value"])
        for row in rows
        if row.get("path") == "/DeviceInstance" and isinstance(row.get("value"), int)
    }
    chosen = dict(instances or {})

    def instance(service: str) -> int:
        kind = _service_type(service)
        for key in (service, kind):
            if key in chosen:
                return chosen[key]
        if service in recorded:
            return recorded[service]
        return DEFAULT_INSTANCES.get(kind, 0)

    messages: list[tuple[float, str, bytes]] = []
    for row in sorted(rows, key=lambda r: float(r["t"])):
        service = str(row["service"])
        value = row["value"]
        if value == []:  # how the recorder wrote an invalid D-Bus value
            value = None
        topic = f"N/{portal_id}/{_service_type(service)}/{instance(service)}{row['path']}"
        messages.append((float(row["t"]), topic, json.dumps({"value": value}).encode()))
    return messages


async def replay_recording(
    path: Path,
    *,
    publish: Callable[[str, bytes], object],
    portal_id: str,
    speed: float = 1.0,
    instances: dict[str, int] | None = None,
) -> int:
    """Publish a Venus OS recording as ``N/<portal_id>/...`` messages; return how many.

    ``t`` is honoured divided by ``speed``; ``speed=0`` sends as fast as possible.
    """
    if speed < 0 or not math.isfinite(speed):
        raise ValueError("speed must be >= 0")
    messages = recording_messages(path, portal_id=portal_id, instances=instances)
    loop = asyncio.get_running_loop()
    began = loop.time()
    for t, topic, payload in messages:
        if speed > 0:
            delay = began + t / speed - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
        publish(topic, payload)
    return len(messages)
