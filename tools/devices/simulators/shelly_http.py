"""A Shelly relay on loopback that speaks the real wire protocol (``shared/PROTOCOLS.md`` §3).

Gen2/Gen3: HTTP RPC in all three styles (``GET /rpc/<Method>?k=v``, ``POST
/rpc/<Method>`` with a JSON params body, ``POST /rpc`` with a full request
frame), ``GET /shelly`` without authentication, and RFC 7616 digest
authentication with SHA-256 (realm = device id, ``qop="auth"``, nonces valid
for ``nonce_ttl_s`` and reusable with an increasing ``nc``) when a password is
set. Methods: ``Shelly.GetDeviceInfo``, ``Shelly.GetStatus``,
``Switch.GetStatus``, ``Switch.Set``, ``Switch.Toggle``.

Gen1: ``GET /relay/<id>[?turn=on|off|toggle]``, ``GET /status`` and ``GET
/shelly``, with HTTP basic authentication when a password is set.

A switched-on relay draws ``watts``; ``aenergy.total`` accumulates in real
time. ``ignore_set`` makes the relay ignore switching (a read-back mismatch),
``delay_s`` delays every answer (timeouts). With a broker the simulator
publishes its status as the firmware does: Gen2 ``<prefix>/status/switch:<id>``
and a ``NotifyStatus`` frame on ``<prefix>/events/rpc``; Gen1
``<prefix>/relay/<id>`` (``on``/``off``) and ``.../power``.

Not simulated: the websocket channel, the in-frame ``auth`` object, timers,
``ret_aenergy`` accounting, exact ``by_minute`` buckets (approximated).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.request import parse_http_list, parse_keqv_list

import paho.mqtt.client as mqtt
from aiohttp import web
from paho.mqtt.enums import CallbackAPIVersion

__all__ = ["ShellySimulator"]

JsonDict = dict[str, Any]


class RpcError(Exception):
    """An RPC error as the firmware reports it: ``{"code": ..., "message": ...}``."""

    def __init__(self, code: int, message: str, http_status: int = 500) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.http_status = http_status  # [UNCERTAIN] the HTTP status real firmware uses


@dataclass(slots=True)
class _Switch:
    on: bool
    source: str = "init"
    energy_wh: float = 0.0
    since: float = field(default_factory=time.monotonic)


@dataclass(slots=True)
class _Nonce:
    issued: float
    counts: set[int] = field(default_factory=set)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _query_value(text: str) -> Any:
    """A GET-style RPC argument: ``true``/``false``/numbers unquoted, strings optionally quoted."""
    if text in ("true", "false"):
        return text == "true"
    if text == "null":
        return None
    try:
        return json.loads(text)  # numbers, quoted strings, objects
    except ValueError:
        return text


class ShellySimulator:
    """A Shelly Plus 1PM (Gen2) or Shelly 1PM (Gen1) relay on 127.0.0.1."""

    def __init__(
        self,
        *,
        generation: Literal[1, 2] = 2,
        password: str | None = None,
        username: str = "admin",
        device_id: str | None = None,
        watts: float = 1450.0,
        voltage_v: float = 230.0,
        on: bool = False,
        switches: int = 1,
        host: str = "127.0.0.1",
        port: int = 0,
        mqtt_broker: tuple[str, int] | None = None,
        mqtt_prefix: str | None = None,
        nonce_ttl_s: float = 3600.0,
        captured: JsonDict | None = None,
    ) -> None:
        self.generation = generation
        # a real device's dump ({"shelly": /shelly, "status": Shelly.GetStatus}) served as-is
        self.captured: JsonDict = dict(captured or {})
        self.password = password
        self.username = username if generation == 1 else "admin"  # Gen2: always admin
        self.mac = secrets.token_hex(6).upper()
        default_id = (
            f"shellyplus1pm-{self.mac.lower()}" if generation == 2 else f"shelly1pm-{self.mac}"
        )
        self.device_id = device_id or default_id
        self.watts = watts
        self.voltage_v = voltage_v
        self.host = host
        self.port = port
        self.ignore_set = False
        self.delay_s = 0.0
        self.requests: list[str] = []  # "GET /rpc/Switch.GetStatus?id=0" as received
        self.auth_failures = 0
        self.nonce_ttl_s = nonce_ttl_s
        self._switches = [_Switch(on=on) for _ in range(switches)]
        self._nonces: dict[str, _Nonce] = {}
        self._runner: web.AppRunner | None = None
        self._started = time.monotonic()
        self._broker = mqtt_broker
        default_prefix = self.device_id if generation == 2 else f"shellies/{self.device_id}"
        self.mqtt_prefix = mqtt_prefix or default_prefix
        self._mqtt: mqtt.Client | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/shelly", self._shelly)
        if self.generation == 2:
            app.router.add_route("*", "/rpc/{method}", self._rpc_method)
            app.router.add_post("/rpc", self._rpc_frame)
        else:
            app.router.add_get("/relay/{id}", self._gen1_relay)
            app.router.add_get("/status", self._gen1_status)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        if self._broker is not None:
            await self._connect_mqtt(*self._broker)

    async def close(self) -> None:
        client, self._mqtt = self._mqtt, None
        if client is not None:
            client.disconnect()
            await asyncio.to_thread(client.loop_stop)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> ShellySimulator:
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    # -- state ---------------------------------------------------------------------------

    def is_on(self, switch_id: int = 0) -> bool:
        return self._switches[switch_id].on

    def energy_wh(self, switch_id: int = 0) -> float:
        return self._account(switch_id).energy_wh

    def press(self, switch_id: int = 0) -> None:
        """Toggle the relay as the device's button would (ignores ``ignore_set``)."""
        self._switch(switch_id, not self._switches[switch_id].on, source="button", force=True)

    def _account(self, switch_id: int) -> _Switch:
        sw = self._switches[switch_id]
        now = time.monotonic()
        if sw.on:
            sw.energy_wh += self.watts * (now - sw.since) / 3600.0
        sw.since = now
        return sw

    def _switch(self, switch_id: int, on: bool, *, source: str, force: bool = False) -> bool:
        """Set the relay; returns what it was. ``ignore_set`` leaves it as it is."""
        sw = self._account(switch_id)
        was_on = sw.on
        if self.ignore_set and not force:
            return was_on
        sw.on, sw.source = on, source
        if was_on != on:
            self.publish_status(switch_id, changed=True)
        return was_on

    def switch_status(self, switch_id: int = 0) -> JsonDict:
        """The Gen2 ``Switch.GetStatus`` result."""
        sw = self._account(switch_id)
        power = self.watts if sw.on else 0.0
        minute_ts = int(time.time()) // 60 * 60
        per_minute_mwh = round(power * 1000.0 / 60.0, 3)  # approximation: constant power
        temp_c = round(38.0 + (8.0 * power / self.watts if self.watts else 0.0), 1)
        return {
            "id": switch_id,
            "source": sw.source,
            "output": sw.on,
            "apower": round(power, 1),
            "voltage": round(self.voltage_v, 1),
            "freq": 50.0,
            "current": round(power / self.voltage_v, 3) if self.voltage_v else 0.0,
            "pf": 0.98 if sw.on else 0.0,
            "aenergy": {
                "total": round(sw.energy_wh, 3),
                "by_minute": [per_minute_mwh] * 3,
                "minute_ts": minute_ts,
            },
            "ret_aenergy": {"total": 0.0, "by_minute": [0.0, 0.0, 0.0], "minute_ts": minute_ts},
            "temperature": {"tC": temp_c, "tF": round(temp_c * 9 / 5 + 32, 1)},
        }

    def _gen1_relay_json(self, switch_id: int) -> JsonDict:
        sw = self._switches[switch_id]
        return {
            "ison": sw.on,
            "has_timer": False,
            "timer_started": 0,
            "timer_duration": 0,
            "timer_remaining": 0,
            "overpower": False,
            "source": sw.source,
        }

    # -- MQTT --------------------------------------------------------------------------------

    async def _connect_mqtt(self, host: str, port: int) -> None:
        connected = threading.Event()
        client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=f"sim-{self.device_id}-{secrets.token_hex(3)}",
        )
        client.on_connect = lambda *_args: connected.set()
        client.connect_async(host, port, keepalive=30)
        client.loop_start()
        if not await asyncio.to_thread(connected.wait, 5.0):
            client.loop_stop()
            raise ConnectionError(f"simulator: MQTT broker {host}:{port} did not accept us")
        self._mqtt = client

    def publish_status(self, switch_id: int = 0, *, changed: bool = False) -> None:
        """Publish the relay's status as the firmware does (no-op without a broker)."""
        client = self._mqtt
        if client is None:
            return
        status = self.switch_status(switch_id)
        if self.generation == 1:
            base = f"{self.mqtt_prefix}/relay/{switch_id}"
            client.publish(base, "on" if status["output"] else "off", qos=1)
            client.publish(f"{base}/power", f"{status['apower']:.2f}", qos=1)
            client.publish(f"{base}/energy", str(int(status["aenergy"]["total"] * 60)), qos=1)
            return
        client.publish(f"{self.mqtt_prefix}/status/switch:{switch_id}", json.dumps(status), qos=1)
        if changed:
            frame = {
                "src": self.device_id,
                "dst": f"{self.mqtt_prefix}/events",
                "method": "NotifyStatus",
                "params": {
                    "ts": round(time.time(), 2),
                    f"switch:{switch_id}": {
                        "id": switch_id,
                        "output": status["output"],
                        "source": status["source"],
                    },
                },
            }
            client.publish(f"{self.mqtt_prefix}/events/rpc", json.dumps(frame), qos=1)

    # -- authentication -------------------------------------------------------------------------

    def _challenge(self, *, stale: bool = False) -> str:
        now = time.monotonic()
        for key in [k for k, v in self._nonces.items() if now - v.issued > self.nonce_ttl_s]:
            del self._nonces[key]
        nonce = secrets.token_hex(16)
        self._nonces[nonce] = _Nonce(issued=now)
        return (
            f'Digest qop="auth", realm="{self.device_id}", nonce="{nonce}", algorithm=SHA-256'
            + (", stale=true" if stale else "")
        )

    def _digest_problem(self, request: web.Request) -> tuple[str, bool]:
        """('', False) when the request carries valid digest credentials; else (why, stale)."""
        scheme, _, rest = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "digest":
            return "no digest credentials", False
        fields = parse_keqv_list(parse_http_list(rest))
        needed = ("username", "realm", "nonce", "uri", "response", "qop", "nc", "cnonce")
        if any(k not in fields for k in needed):
            return "incomplete digest credentials", False
        if fields.get("algorithm", "MD5").upper() != "SHA-256":
            return "algorithm must be SHA-256", False
        if fields["username"] != "admin" or fields["realm"] != self.device_id:
            return "wrong user or realm", False
        if fields["qop"] != "auth" or fields["uri"] != request.raw_path:
            return "wrong qop or uri", False
        nonce = self._nonces.get(fields["nonce"])
        if nonce is None or time.monotonic() - nonce.issued > self.nonce_ttl_s:
            return "unknown or expired nonce", True
        try:
            count = int(fields["nc"], 16)
        except ValueError:
            return "bad nc", False
        if count in nonce.counts:
            return "nonce count replayed", False
        assert self.password is not None
        ha1 = _sha256(f"admin:{self.device_id}:{self.password}")
        ha2 = _sha256(f"{request.method}:{fields['uri']}")
        expected = _sha256(
            f"{ha1}:{fields['nonce']}:{fields['nc']}:{fields['cnonce']}:{fields['qop']}:{ha2}"
        )
        if not hmac.compare_digest(expected, fields["response"]):
            return "wrong password", False
        nonce.counts.add(count)
        return "", False

    def _check_digest(self, request: web.Request) -> web.Response | None:
        if self.password is None:
            return None
        problem, stale = self._digest_problem(request)
        if not problem:
            return None
        self.auth_failures += 1
        return web.json_response(
            {"code": 401, "message": f"Unauthorized: {problem}"},
            status=401,
            headers={"WWW-Authenticate": self._challenge(stale=stale)},
        )

    def _check_basic(self, request: web.Request) -> web.Response | None:
        if self.password is None:
            return None
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        try:
            given = base64.b64decode(token, validate=True).decode() if scheme == "Basic" else ""
        except (binascii.Error, UnicodeDecodeError):
            given = ""
        if hmac.compare_digest(given, f"{self.username}:{self.password}"):
            return None
        self.auth_failures += 1
        return web.Response(
            status=401,
            text="401 Unauthorized",
            headers={"WWW-Authenticate": f'Basic realm="{self.device_id}"'},
        )

    async def _arrive(self, request: web.Request) -> None:
        self.requests.append(f"{request.method} {request.raw_path}")
        if self.delay_s:
            await asyncio.sleep(self.delay_s)

    # -- HTTP handlers ---------------------------------------------------------------------------

    def _device_info(self) -> JsonDict:
        if self.generation == 1:
            return {
                "type": "SHSW-PM",
                "mac": self.mac,
                "auth": self.password is not None,
                "fw": "20230913-114008/v1.14.0-gcb84623",
                "num_outputs": len(self._switches),
                "num_meters": len(self._switches),
            }
        return {
            "name": None,
            "id": self.device_id,
            "mac": self.mac,
            "slot": 0,
            "model": "SNSW-001P16EU",
            "gen": 2,
            "fw_id": "20241011-114455/1.4.4-g6d2a586",
            "ver": "1.4.4",
            "app": "Plus1PM",
            "auth_en": self.password is not None,
            "auth_domain": self.device_id if self.password is not None else None,
        }

    async def _shelly(self, request: web.Request) -> web.Response:
        await self._arrive(request)
        info = self._device_info()
        if "shelly" in self.captured:
            info = {**self.captured["shelly"], "auth_en": info.get("auth_en", False)}
        return web.json_response(info)

    def _call(self, method: str, params: JsonDict) -> JsonDict:
        if method == "Shelly.GetDeviceInfo":
            return self._device_info()
        if method == "Shelly.GetStatus" and "status" in self.captured:
            captured_status: JsonDict = self.captured["status"]
            return captured_status
        if method == "Shelly.GetStatus":
            status: JsonDict = {
                f"switch:{i}": self.switch_status(i) for i in range(len(self._switches))
            }
            status["input:0"] = {"id": 0, "state": False}
            status["sys"] = {
                "mac": self.mac,
                "restart_required": False,
                "uptime": int(time.monotonic() - self._started),
                "unixtime": int(time.time()),
            }
            status["wifi"] = {"sta_ip": self.host, "status": "got ip", "rssi": -58}
            return status
        if method in ("Switch.GetStatus", "Switch.Set", "Switch.Toggle"):
            switch_id = self._switch_id(params)
            if method == "Switch.GetStatus":
                return self.switch_status(switch_id)
            if method == "Switch.Toggle":
                return {"was_on": self._switch(switch_id, not self.is_on(switch_id), source="http")}
            on = params.get("on")
            if not isinstance(on, bool):
                raise RpcError(-103, "Missing required argument 'on'!")
            return {"was_on": self._switch(switch_id, on, source="http")}
        raise RpcError(404, f"No handler for {method}", http_status=404)

    def _switch_id(self, params: JsonDict) -> int:
        if "id" not in params:
            raise RpcError(-103, "Missing required argument 'id'!")
        switch_id = params["id"]
        if not isinstance(switch_id, int) or not 0 <= switch_id < len(self._switches):
            raise RpcError(-105, f"Argument 'id', value {switch_id} not found!")
        return switch_id

    async def _rpc_method(self, request: web.Request) -> web.Response:
        await self._arrive(request)
        method = request.match_info["method"]
        if method != "Shelly.GetDeviceInfo" and (denied := self._check_digest(request)):
            return denied
        if request.method == "POST" and request.can_read_body:
            try:
                params = await request.json()
            except ValueError:
                return web.json_response({"code": -103, "message": "Bad JSON"}, status=400)
            if not isinstance(params, dict):
                return web.json_response({"code": -103, "message": "Bad params"}, status=400)
        else:
            params = {k: _query_value(v) for k, v in request.query.items()}
        try:
            return web.json_response(self._call(method, params))
        except RpcError as err:
            return web.json_response(
                {"code": err.code, "message": err.message}, status=err.http_status
            )

    async def _rpc_frame(self, request: web.Request) -> web.Response:
        await self._arrive(request)
        try:
            frame = await request.json()
        except ValueError:
            return web.json_response({"code": -103, "message": "Bad JSON"}, status=400)
        if not isinstance(frame, dict) or not isinstance(frame.get("method"), str):
            return web.json_response({"code": -103, "message": "Bad request frame"}, status=400)
        if frame["method"] != "Shelly.GetDeviceInfo" and (denied := self._check_digest(request)):
            return denied
        reply: JsonDict = {"id": frame.get("id"), "src": self.device_id}
        if "src" in frame:
            reply["dst"] = frame["src"]
        params = frame.get("params") or {}
        try:
            if not isinstance(params, dict):
                raise RpcError(-103, "Bad params")
            reply["result"] = self._call(frame["method"], params)
        except RpcError as err:
            reply["error"] = {"code": err.code, "message": err.message}
        return web.json_response(reply)

    async def _gen1_relay(self, request: web.Request) -> web.Response:
        await self._arrive(request)
        if denied := self._check_basic(request):
            return denied
        raw_id = request.match_info["id"]
        switch_id = int(raw_id) if raw_id.isdigit() else -1
        if not 0 <= switch_id < len(self._switches):
            return web.Response(status=404, text="Not Found")
        turn = request.query.get("turn")
        if turn is not None:
            if turn not in ("on", "off", "toggle"):
                return web.Response(status=400, text="Bad turn!")
            on = not self.is_on(switch_id) if turn == "toggle" else turn == "on"
            self._switch(switch_id, on, source="http")
        return web.json_response(self._gen1_relay_json(switch_id))

    async def _gen1_status(self, request: web.Request) -> web.Response:
        await self._arrive(request)
        if denied := self._check_basic(request):
            return denied
        meters = []
        temp_c = 0.0
        for i in range(len(self._switches)):
            status = self.switch_status(i)
            temp_c = status["temperature"]["tC"]
            meters.append(
                {
                    "power": status["apower"],
                    "overpower": 0.0,
                    "is_valid": True,
                    "timestamp": int(time.time()),
                    "counters": [round(status["apower"], 3), 0.0, 0.0],
                    "total": int(status["aenergy"]["total"] * 60),  # watt-minutes
                }
            )
        return web.json_response(
            {
                "wifi_sta": {"connected": True, "ssid": "sim", "ip": self.host, "rssi": -58},
                "unixtime": int(time.time()),
                "relays": [self._gen1_relay_json(i) for i in range(len(self._switches))],
                "meters": meters,
                "temperature": temp_c,
                "overtemperature": False,
                "tmp": {"tC": temp_c, "tF": round(temp_c * 9 / 5 + 32, 1), "is_valid": True},
                "uptime": int(time.monotonic() - self._started),
            }
        )
