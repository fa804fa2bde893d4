"""Shelly relays: Gen2/Gen3 HTTP RPC (digest auth, SHA-256), Gen1 HTTP (basic auth), MQTT status.

Wire formats: ``shared/PROTOCOLS.md`` §3. The parse functions are pure
(payload in, :class:`SwitchState` out) and raise only
:class:`~tools.errors.DeviceProtocolError`; :class:`ShellyDevice` does the I/O
and translates httpx errors once, in :meth:`ShellyDevice._get_json`.

Readings (``device`` = the device name unless noted):

- ``relay_on`` (1/0), and where the model meters them ``power_w``, ``voltage_v``,
  ``current_a``, ``energy_wh`` (the device's lifetime counter) and ``temp_c``;
- when the relay feeds a load: ``load_on`` and ``load_power_each_w`` with
  ``device`` = the load's name.

With ``mqtt`` configured the device is a push device: status arrives on
``<prefix>/status/switch:<id>`` (enable "status notifications" on the device)
and ``<prefix>/events/rpc`` ``NotifyStatus`` frames (enable "RPC status
notifications"); Gen1 devices publish ``<prefix>/relay/<id>[/power|/energy]``
(``mqtt_prefix`` such as ``shellies/shelly1pm-84CCA8A11B4B``). Commands always
go over HTTP, where the device checks the password (MQTT is not authenticated).
"""

from __future__ import annotations

import json
import logging
import math
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from tools.clock import Clock, SystemClock
from tools.devices.base import DeviceCommand
from tools.devices.config import ShellyConnection, secret_from_env
from tools.devices.http import device_request
from tools.devices.mqtt import MqttHub, MqttHubs
from tools.domain import Reading
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
    "ShellyDevice",
    "SwitchState",
    "components",
    "missing_gen1_relay",
    "missing_switch",
    "parse_gen1_mqtt",
    "parse_gen1_relay",
    "parse_gen1_status",
    "parse_mqtt_status",
    "parse_notify_status",
    "parse_switch_status",
    "switch_readings",
]

log = logging.getLogger(__name__)

INBOX_LIMIT = 10_000  # push readings kept between two read() calls


# --- pure parsing ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class SwitchState:
    """What one relay reported; ``None`` where the model or the message did not say.

    ``power_w`` [W], ``voltage_v`` [V], ``current_a`` [A], ``energy_wh`` [Wh]
    (lifetime counter), ``temp_c`` [°C].
    """

    output: bool | None = None
    power_w: float | None = None
    voltage_v: float | None = None
    current_a: float | None = None
    energy_wh: float | None = None
    temp_c: float | None = None


def _number(value: object) -> float | None:
    """A finite float from a JSON number; None for anything else (bools, strings, NaN)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:  # a JSON integer too large for a float
        return None
    return number if math.isfinite(number) else None


def _switch_fields(obj: dict[str, Any]) -> SwitchState:
    """The fields of a Gen2 switch status object that are present (partial for notifications)."""
    output = obj.get("output")
    aenergy = obj.get("aenergy")
    temperature = obj.get("temperature")
    return SwitchState(
        output=output if isinstance(output, bool) else None,
        power_w=_number(obj.get("apower")),
        voltage_v=_number(obj.get("voltage")),
        current_a=_number(obj.get("current")),
        energy_wh=_number(aenergy.get("total")) if isinstance(aenergy, dict) else None,
        temp_c=_number(temperature.get("tC")) if isinstance(temperature, dict) else None,
    )


def components(status: object) -> list[str]:
    """The component instances of a Gen2 ``Shelly.GetStatus`` answer (``cover:0``,
    ``em:0``, ``switch:1`` ...), else its services (``sys``, ``wifi`` ...)."""
    if not isinstance(status, dict):
        return []
    keys = sorted(str(k) for k in status)
    instances = [k for k in keys if ":" in k]
    return instances or keys


def missing_switch(status: object, switch_id: int) -> str:
    """ "" when ``switch:<switch_id>`` is in a ``Shelly.GetStatus`` answer, else what to say."""
    if not isinstance(status, dict):
        return "did not answer Shelly.GetStatus with a JSON object"
    if f"switch:{switch_id}" in status:
        return ""
    found = components(status)
    switches = [c for c in found if c.startswith("switch:")]
    hint = (
        f"set switch_id to one of {', '.join(c.split(':')[1] for c in switches)}"
        if switches
        else "it has no relay this driver can switch (a cover, meter or gateway profile?)"
    )
    return f"has no switch:{switch_id}; its components are {', '.join(found) or 'none'}; {hint}"


def missing_gen1_relay(status: object, relay_id: int) -> str:
    """ "" when a Gen1 ``/status`` has relay ``relay_id``, else what to say."""
    relays = status.get("relays") if isinstance(status, dict) else None
    count = len(relays) if isinstance(relays, list) else 0
    if relay_id < count:
        return ""
    keys = ", ".join(sorted(str(k) for k in status)) if isinstance(status, dict) else "none"
    return (
        f"has no relay {relay_id} ({count} relay(s) in /status; its status has {keys}); "
        "set switch_id to an existing relay"
    )


def parse_switch_status(payload: object) -> SwitchState:
    """A Gen2 ``Switch.GetStatus`` result (also the ``status/switch:<id>`` MQTT message).

    Raises :class:`DeviceProtocolError` unless it is an object with a boolean ``output``.
    """
    if not isinstance(payload, dict):
        raise DeviceProtocolError(
            f"Switch status is not a JSON object (got {type(payload).__name__})"
        )
    state = _switch_fields(payload)
    if state.output is None:
        raise DeviceProtocolError("Switch status has no boolean 'output'")
    return state


def _decode(payload: bytes | str) -> object:
    try:
        return json.loads(payload)
    except (ValueError, RecursionError) as err:  # UnicodeDecodeError is a ValueError
        raise DeviceProtocolError(f"not JSON: {str(err)[:80]}") from err


def parse_mqtt_status(payload: bytes | str) -> SwitchState:
    """The body of ``<prefix>/status/switch:<id>``: a full switch status as JSON text."""
    return parse_switch_status(_decode(payload))


def _epoch(value: object) -> datetime | None:
    seconds = _number(value)
    if seconds is None:
        return None
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def parse_notify_status(
    payload: bytes | str | object, *, switch_id: int
) -> tuple[SwitchState, datetime | None] | None:
    """A ``NotifyStatus``/``NotifyFullStatus`` frame from ``<prefix>/events/rpc``.

    Returns the (partial) state of ``switch:<switch_id>`` and the frame's ``ts``
    (UTC), or None when the frame says nothing about that switch (other methods
    such as ``NotifyEvent``, other components). Keys sent as ``null`` (gone) are
    left ``None``. Bytes or text are decoded as JSON first.
    """
    frame = _decode(payload) if isinstance(payload, bytes | str) else payload
    if not isinstance(frame, dict):
        raise DeviceProtocolError(f"RPC frame is not a JSON object (got {type(frame).__name__})")
    if frame.get("method") not in ("NotifyStatus", "NotifyFullStatus"):
        return None
    params = frame.get("params")
    if not isinstance(params, dict):
        raise DeviceProtocolError(f"{frame['method']} has no 'params' object")
    component = params.get(f"switch:{switch_id}")
    if not isinstance(component, dict):
        return None
    return _switch_fields(component), _epoch(params.get("ts"))


def _gen1_temperature(payload: dict[str, Any]) -> float | None:
    tmp = payload.get("tmp")
    if isinstance(tmp, dict) and tmp.get("is_valid", True) is not False:
        value = _number(tmp.get("tC"))
        if value is not None:
            return value
    return _number(payload.get("temperature"))


def parse_gen1_status(payload: object, *, relay_id: int = 0) -> SwitchState:
    """A Gen1 ``GET /status``: ``relays[id].ison``, ``meters[id]`` power/total, temperature.

    Gen1 ``meters[].total`` is in watt-minutes and is converted to Wh.
    """
    if not isinstance(payload, dict):
        raise DeviceProtocolError(
            f"Gen1 /status is not a JSON object (got {type(payload).__name__})"
        )
    relays = payload.get("relays")
    if not isinstance(relays, list) or not 0 <= relay_id < len(relays):
        raise DeviceProtocolError(f"Gen1 /status has no relays[{relay_id}]")
    relay = relays[relay_id]
    ison = relay.get("ison") if isinstance(relay, dict) else None
    if not isinstance(ison, bool):
        raise DeviceProtocolError(f"Gen1 /status relays[{relay_id}] has no boolean 'ison'")
    power = energy = None
    meters = payload.get("meters")
    if isinstance(meters, list) and 0 <= relay_id < len(meters):
        meter = meters[relay_id]
        if isinstance(meter, dict) and meter.get("is_valid", True) is not False:
            power = _number(meter.get("power"))
            total = _number(meter.get("total"))
            energy = total / 60.0 if total is not None else None
    return SwitchState(
        output=ison,
        power_w=power,
        voltage_v=_number(payload.get("voltage")),
        energy_wh=energy,
        temp_c=_gen1_temperature(payload),
    )


def parse_gen1_relay(payload: object) -> SwitchState:
    """A Gen1 ``GET /relay/<id>[?turn=...]`` answer: ``{"ison": bool, ...}``."""
    if not isinstance(payload, dict) or not isinstance(payload.get("ison"), bool):
        raise DeviceProtocolError("Gen1 /relay answer has no boolean 'ison'")
    return SwitchState(output=payload["ison"])


def parse_gen1_mqtt(suffix: str, payload: bytes | str) -> SwitchState | None:
    """A Gen1 MQTT message below ``<prefix>/relay/<id>``: ``""`` (on/off), ``/power``, ``/energy``.

    ``suffix`` is what follows ``relay/<id>``. ``energy`` is in watt-minutes.
    Returns None for topics that carry no state (``/command``).
    """
    try:
        text = payload.decode("utf-8") if isinstance(payload, bytes) else payload
    except UnicodeDecodeError as err:
        raise DeviceProtocolError("Gen1 MQTT payload is not UTF-8 text") from err
    text = text.strip()
    if suffix == "":
        if text in ("on", "off"):
            return SwitchState(output=text == "on")
        if text == "overpower":
            return SwitchState(output=False)
        raise DeviceProtocolError(f"Gen1 relay state {text[:20]!r} is not on/off")
    if suffix in ("/power", "/energy"):
        try:
            number = _number(float(text))
        except ValueError as err:
            raise DeviceProtocolError(f"Gen1 relay{suffix} {text[:20]!r} is not a number") from err
        if number is None:
            raise DeviceProtocolError(f"Gen1 relay{suffix} is not finite")
        if suffix == "/power":
            return SwitchState(power_w=number)
        return SwitchState(energy_wh=number / 60.0)
    return None


def switch_readings(
    state: SwitchState, *, site: str, device: str, load: str | None, time: datetime
) -> list[Reading]:
    """The readings for one state: the relay's own metrics, plus its load's when it feeds one."""
    out: list[Reading] = []

    def add(metric: str, value: float | None, source: str) -> None:
        if value is not None:
            out.append(Reading(site=site, metric=metric, time=time, value=value, device=source))

    on = None if state.output is None else (1.0 if state.output else 0.0)
    add("relay_on", on, device)
    add("power_w", state.power_w, device)
    add("voltage_v", state.voltage_v, device)
    add("current_a", state.current_a, device)
    add("energy_wh", state.energy_wh, device)
    add("temp_c", state.temp_c, device)
    if load:
        add("load_on", on, load)
        # a relay reading a few watts below zero when off is noise, not export
        power = None if state.power_w is None else max(0.0, state.power_w)
        add("load_power_each_w", power, load)
    return out


# --- the driver ----------------------------------------------------------------------------


class ShellyDevice:
    """One relay (``switch_id``) of a Shelly, polled over HTTP or fed by MQTT."""

    def __init__(
        self,
        device: Device,
        site: Site,
        *,
        http: httpx.AsyncClient,
        hubs: MqttHubs,
        clock: Clock | None = None,
    ) -> None:
        conn = device.config
        if not isinstance(conn, ShellyConnection):
            raise TypeError(f"device {device.name!r} is not a shelly device")
        self.name = device.name
        self.site = site.name
        self.push = conn.mqtt is not None
        self._conn = conn
        self._http = http
        self._hubs = hubs
        self._clock: Clock = clock or SystemClock()
        fed = [x.name for x in site.loads if x.relay == device.name]
        self.load: str | None = conn.load or (fed[0] if len(fed) == 1 else None)
        self._fed = set(fed) | ({conn.load} if conn.load else set())
        host = f"[{conn.host}]" if ":" in conn.host else conn.host
        self._base = f"http://{host}:{conn.port}"
        self.label = f"Shelly at {conn.host}" + (f":{conn.port}" if conn.port != 80 else "")
        self._auth: httpx.Auth | None = None
        self._auth_ready = False
        self._hub: MqttHub | None = None
        self._handlers: list[Any] = []
        self._inbox: deque[Reading] = deque(maxlen=INBOX_LIMIT)
        self.prefix: str | None = conn.mqtt_prefix
        self.device_info: dict[str, Any] = {}
        self.bad_messages = 0  # MQTT payloads that could not be parsed

    # -- HTTP boundary ---------------------------------------------------------------------

    def _credentials(self) -> httpx.Auth | None:
        if not self._auth_ready:
            try:
                password = secret_from_env(self._conn.password_env, what=self.label)
            except ValueError as err:
                raise DeviceAuthError(f"{err}; export the device's password there") from err
            if password is not None:
                user = self._conn.username
                self._auth = (
                    httpx.DigestAuth(user, password)  # SHA-256 chosen from the challenge
                    if self._conn.generation == 2
                    else httpx.BasicAuth(user, password)
                )
            self._auth_ready = True
        return self._auth

    async def _get_json(
        self,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
        auth: bool = True,
    ) -> object:
        """One request; every httpx error and status is translated here, once."""
        credentials = self._credentials() if auth else None
        what = f"{self.label} ({path})"
        try:  # a total deadline and a size limit: see tools.devices.http
            response = await device_request(
                self._http,
                "GET" if body is None else "POST",
                self._base + path,
                deadline_s=self._conn.timeout_s,
                what=what,
                params=params,
                json=body,
                auth=credentials or httpx.USE_CLIENT_DEFAULT,
            )
        except httpx.TimeoutException as err:
            raise DeviceTimeout(
                f"{what} did not answer within {self._conn.timeout_s:g} s; "
                "check that it is powered and on the network, or raise timeout_s"
            ) from err
        except httpx.ConnectError as err:
            raise DeviceUnreachable(
                f"{self.label} is unreachable ({err or 'connection failed'}); "
                "check the host and port in the site file and that the device is online"
            ) from err
        except httpx.HTTPError as err:
            raise DeviceProtocolError(f"{what}: {type(err).__name__}: {err}") from err
        if response.status_code == 401:
            if self._conn.password_env is None:
                raise DeviceAuthError(
                    f"{self.label} requires a password (HTTP 401); set password_env in the "
                    "site file to the name of an environment variable holding it"
                )
            raise DeviceAuthError(
                f"{self.label} refused the password (HTTP 401); "
                f"check {self._conn.password_env} (user {self._conn.username!r})"
            )
        try:
            data = response.json()
        except ValueError:
            data = None
        if response.status_code >= 400:
            if isinstance(data, dict) and "message" in data:
                code = data.get("code", response.status_code)
                raise DeviceRefused(f"{what} refused: {str(data['message'])[:200]} (code {code})")
            raise DeviceProtocolError(f"{what} answered HTTP {response.status_code}")
        if data is None:
            raise DeviceProtocolError(f"{what} did not answer with JSON")
        return data

    def _protocol(self, err: DeviceProtocolError) -> DeviceProtocolError:
        return DeviceProtocolError(f"{self.label}: {err}")

    async def _status(self) -> SwitchState:
        sid = self._conn.switch_id
        if self._conn.generation == 2:
            data = await self._get_json("/rpc/Switch.GetStatus", params={"id": str(sid)})
        else:
            data = await self._get_json("/status")
        try:
            if self._conn.generation == 2:
                return parse_switch_status(data)
            return parse_gen1_status(data, relay_id=sid)
        except DeviceProtocolError as err:
            raise self._protocol(err) from err

    async def _relay(self) -> bool:
        """The relay's output, read back after a write (the cheapest request per generation)."""
        if self._conn.generation == 1:
            data = await self._get_json(f"/relay/{self._conn.switch_id}")
            try:
                state = parse_gen1_relay(data)
            except DeviceProtocolError as err:
                raise self._protocol(err) from err
        else:
            state = await self._status()
        assert state.output is not None  # the parsers insist on it
        return state.output

    # -- DeviceDriver ------------------------------------------------------------------------

    async def start(self) -> None:
        """Check the device answers and is the configured generation; subscribe to MQTT."""
        self._credentials()
        info = await self._get_json("/shelly", auth=False)
        if not isinstance(info, dict):
            raise DeviceProtocolError(f"{self.label}: /shelly is not a JSON object")
        self.device_info = info
        gen = info.get("gen")
        if self._conn.generation == 2 and not isinstance(gen, int):
            raise DeviceProtocolError(
                f"{self.label} is a Gen1 device ({info.get('type', 'unknown type')}); "
                "set generation: 1 in the site file"
            )
        if self._conn.generation == 1 and isinstance(gen, int) and gen >= 2:
            raise DeviceProtocolError(
                f"{self.label} is a Gen{gen} device; set generation: 2 in the site file"
            )
        secured = info.get("auth_en") if self._conn.generation == 2 else info.get("auth")
        if secured is True and self._conn.password_env is None:
            raise DeviceAuthError(
                f"{self.label} has authentication enabled; set password_env in the site file "
                "to the name of an environment variable holding its password"
            )
        await self._check_switch(info)
        if self.push:
            await self._subscribe(info)

    async def _check_switch(self, info: dict[str, Any]) -> None:
        """Refuse a device without the configured relay, naming what it has instead."""
        sid = self._conn.switch_id
        if self._conn.generation == 2:
            status = await self._get_json("/rpc/Shelly.GetStatus")
            problem = missing_switch(status, sid)
        else:
            status = await self._get_json("/status")
            problem = missing_gen1_relay(status, sid)
        if problem:
            model = info.get("model") or info.get("type") or info.get("app")
            what = f"{self.label}" + (f" ({model})" if isinstance(model, str) else "")
            raise DeviceRefused(f"{what} {problem}")

    async def _subscribe(self, info: dict[str, Any]) -> None:
        broker = self._conn.mqtt
        assert broker is not None
        if self._hub is not None:  # subscribed on an earlier start() whose connect failed
            await self._hub.connect(timeout_s=max(self._conn.timeout_s, 5.0))
            return
        if self.prefix is None:
            if self._conn.generation == 1:
                raise DeviceProtocolError(
                    f"{self.label}: set mqtt_prefix (e.g. shellies/shelly1pm-<MAC>) to read a "
                    "Gen1 device over MQTT"
                )
            device_id = info.get("id")
            if not isinstance(device_id, str) or not device_id:
                raise DeviceProtocolError(
                    f"{self.label}: /shelly has no device id; set mqtt_prefix in the site file"
                )
            self.prefix = device_id  # the firmware's default topic prefix
        hub = self._hubs.get(broker)
        sid = self._conn.switch_id
        if self._conn.generation == 2:
            self._handlers = [self._on_status, self._on_event]
            hub.subscribe(f"{self.prefix}/status/switch:{sid}", self._on_status, qos=1)
            hub.subscribe(f"{self.prefix}/events/rpc", self._on_event, qos=1)
        else:
            self._handlers = [self._on_gen1]
            hub.subscribe(f"{self.prefix}/relay/{sid}", self._on_gen1)
            hub.subscribe(f"{self.prefix}/relay/{sid}/+", self._on_gen1)
        self._hub = hub
        await hub.connect(timeout_s=max(self._conn.timeout_s, 5.0))

    def _emit(self, state: SwitchState, time: datetime) -> None:
        self._inbox.extend(
            switch_readings(state, site=self.site, device=self.name, load=self.load, time=time)
        )

    def _on_status(self, topic: str, payload: bytes) -> None:
        try:
            state = parse_mqtt_status(payload)
        except DeviceProtocolError as err:
            self._bad(topic, err)
            return
        self._emit(state, self._clock.now())

    def _on_event(self, topic: str, payload: bytes) -> None:
        try:
            found = parse_notify_status(payload, switch_id=self._conn.switch_id)
        except DeviceProtocolError as err:
            self._bad(topic, err)
            return
        if found is not None:
            state, ts = found
            self._emit(state, ts or self._clock.now())

    def _on_gen1(self, topic: str, payload: bytes) -> None:
        suffix = topic.removeprefix(f"{self.prefix}/relay/{self._conn.switch_id}")
        try:
            state = parse_gen1_mqtt(suffix, payload)
        except DeviceProtocolError as err:
            self._bad(topic, err)
            return
        if state is not None:
            self._emit(state, self._clock.now())

    def _bad(self, topic: str, err: DeviceError) -> None:
        self.bad_messages += 1
        log.debug("%s: skipped a message on %s: %s", self.label, topic, err)

    async def read(self, now: datetime) -> list[Reading]:
        if self.push:
            batch = list(self._inbox)
            self._inbox.clear()
            return batch
        state = await self._status()
        return switch_readings(state, site=self.site, device=self.name, load=self.load, time=now)

    def handles(self, command: DeviceCommand) -> bool:
        return command.kind == "set_load" and command.target in self._fed

    async def execute(self, command: DeviceCommand) -> None:
        """Switch the relay, then read it back; ReadbackMismatch when it did not follow."""
        if not self.handles(command):
            raise DeviceRefused(
                f"{self.name} ({self.label}) cannot carry out {command.kind} {command.target!r}"
            )
        sid, on = self._conn.switch_id, command.on
        if self._conn.generation == 2:
            answer = await self._get_json("/rpc/Switch.Set", body={"id": sid, "on": on})
            if not isinstance(answer, dict) or not isinstance(answer.get("was_on"), bool):
                raise DeviceProtocolError(f"{self.label}: Switch.Set answered without 'was_on'")
        else:
            data = await self._get_json(f"/relay/{sid}", params={"turn": "on" if on else "off"})
            try:
                parse_gen1_relay(data)
            except DeviceProtocolError as err:
                raise self._protocol(err) from err
        actual = await self._relay()
        if actual != on:
            want, got = ("on", "off") if on else ("off", "on")
            raise ReadbackMismatch(
                f"{self.label} was told to switch {command.target or self.name} {want} but its "
                f"relay reads {got}; check the device (a schedule, script, auto-on/off timer "
                "or overpower protection may override it)"
            )
        if self.push:  # show the change now rather than when the next status arrives
            self._emit(SwitchState(output=actual), self._clock.now())

    async def close(self) -> None:
        hub, self._hub = self._hub, None
        if hub is not None:
            for handler in self._handlers:
                hub.unsubscribe(handler)
        self._handlers = []
