"""Shelly: pure parsing, and the driver against the simulator over real HTTP (and MQTT)."""

from __future__ import annotations

import asyncio
import json
import math
import socket
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tools.devices.base import DeviceCommand, SiteDriver
from tools.devices.mqtt import MqttHubs
from tools.devices.shelly import (
    ShellyDevice,
    SwitchState,
    parse_gen1_mqtt,
    parse_gen1_relay,
    parse_gen1_status,
    parse_mqtt_status,
    parse_notify_status,
    parse_switch_status,
    switch_readings,
)
from tools.devices.simulators.shelly_http import ShellySimulator
from tools.domain import Reading, validate_reading
from tools.errors import (
    DeviceAuthError,
    DeviceProtocolError,
    DeviceRefused,
    DeviceTimeout,
    DeviceUnreachable,
    ReadbackMismatch,
)
from tools.site import Device, Location, Site, SwitchableLoad

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
PASSWORD_ENV = "CC_TEST_SHELLY_PASSWORD"
PASSWORD = "correct horse"

# PROTOCOLS.md §3.1 (ret_aenergy filled in with the documented shape)
GET_STATUS = {
    "id": 0,
    "source": "http",
    "output": True,
    "apower": 12.3,
    "voltage": 230.1,
    "freq": 50.0,
    "current": 0.061,
    "pf": 0.87,
    "aenergy": {"total": 1234.567, "by_minute": [0.0, 0.0, 0.0], "minute_ts": 1700000000},
    "ret_aenergy": {"total": 0.0, "by_minute": [0.0, 0.0, 0.0], "minute_ts": 1700000000},
    "temperature": {"tC": 41.2, "tF": 106.2},
}
# PROTOCOLS.md §3.3
NOTIFY = {
    "src": "shellypro4pm-f008d1d8b8b8",
    "dst": "user_1",
    "method": "NotifyStatus",
    "params": {"ts": 1631186545.04, "switch:0": {"id": 0, "output": True, "source": "button"}},
}
# PROTOCOLS.md §3.4
GEN1_RELAY = {
    "ison": True,
    "has_timer": False,
    "timer_started": 0,
    "timer_duration": 0,
    "timer_remaining": 0,
    "overpower": False,
    "source": "http",
}
GEN1_METER = {
    "power": 118.27,
    "overpower": 0.0,
    "is_valid": True,
    "timestamp": 1717243200,
    "counters": [118.0, 117.9, 118.4],
    "total": 90123,  # watt-minutes
}
# a Shelly 1PM (Gen1) /status, trimmed to the keys that matter here
GEN1_STATUS: dict[str, Any] = {
    "relays": [GEN1_RELAY],
    "meters": [GEN1_METER],
    "temperature": 48.6,
    "overtemperature": False,
    "tmp": {"tC": 48.6, "tF": 119.5, "is_valid": True},
}


# ------------------------------------------------------------------------ pure parsing


def test_switch_status_from_the_documented_example() -> None:
    state = parse_switch_status(GET_STATUS)
    assert state == SwitchState(
        output=True,
        power_w=12.3,
        voltage_v=230.1,
        current_a=0.061,
        energy_wh=1234.567,
        temp_c=41.2,
    )
    readings = switch_readings(state, site="lab", device="relay-1", load="miner-1", time=NOW)
    by_metric = {(r.metric, r.device): r.value for r in readings}
    assert by_metric == {
        ("relay_on", "relay-1"): 1.0,
        ("power_w", "relay-1"): 12.3,
        ("voltage_v", "relay-1"): 230.1,
        ("current_a", "relay-1"): 0.061,
        ("energy_wh", "relay-1"): 1234.567,
        ("temp_c", "relay-1"): 41.2,
        ("load_on", "miner-1"): 1.0,
        ("load_power_each_w", "miner-1"): 12.3,
    }
    assert all(validate_reading(r) == r for r in readings)


def test_switch_status_of_a_model_without_metering_and_out_of_range_temperature() -> None:
    state = parse_switch_status(
        {"id": 0, "source": "init", "output": False, "temperature": {"tC": None, "tF": None}}
    )
    assert state == SwitchState(output=False)
    readings = switch_readings(state, site="lab", device="relay-1", load=None, time=NOW)
    assert [(r.metric, r.value) for r in readings] == [("relay_on", 0.0)]


@pytest.mark.parametrize(
    "payload",
    [None, [], "on", {"id": 0}, {"output": "true"}, {"output": 1}],
)
def test_switch_status_without_a_boolean_output_is_a_protocol_error(payload: Any) -> None:
    with pytest.raises(DeviceProtocolError):
        parse_switch_status(payload)


def test_mqtt_status_is_the_same_shape_as_get_status() -> None:
    assert parse_mqtt_status(json.dumps(GET_STATUS).encode()) == parse_switch_status(GET_STATUS)
    with pytest.raises(DeviceProtocolError, match="not JSON"):
        parse_mqtt_status(b"\xff\xfe not json")


def test_notify_status_carries_only_changed_keys_and_the_device_time() -> None:
    found = parse_notify_status(json.dumps(NOTIFY).encode(), switch_id=0)
    assert found is not None
    state, ts = found
    assert state == SwitchState(output=True)
    assert ts == datetime(2021, 9, 9, 11, 22, 25, 40000, tzinfo=UTC)
    # another switch, another method, a key that went away (null)
    assert parse_notify_status(NOTIFY, switch_id=1) is None
    assert parse_notify_status({**NOTIFY, "method": "NotifyEvent"}, switch_id=0) is None
    gone = {"method": "NotifyStatus", "params": {"switch:0": {"id": 0, "apower": None}}}
    assert parse_notify_status(gone, switch_id=0) == (SwitchState(), None)
    with pytest.raises(DeviceProtocolError):
        parse_notify_status({"method": "NotifyStatus", "params": 3}, switch_id=0)


def test_gen1_status_relay_and_mqtt() -> None:
    state = parse_gen1_status(GEN1_STATUS, relay_id=0)
    assert state.output is True
    assert state.power_w == 118.27
    assert state.energy_wh == pytest.approx(90123 / 60)  # watt-minutes -> Wh
    assert state.temp_c == 48.6
    assert parse_gen1_relay(GEN1_RELAY) == SwitchState(output=True)
    with pytest.raises(DeviceProtocolError, match=r"relays\[1\]"):
        parse_gen1_status(GEN1_STATUS, relay_id=1)
    assert parse_gen1_mqtt("", b"off") == SwitchState(output=False)
    assert parse_gen1_mqtt("/power", b"118.27") == SwitchState(power_w=118.27)
    assert parse_gen1_mqtt("/energy", b"600") == SwitchState(energy_wh=10.0)
    assert parse_gen1_mqtt("/command", b"on") is None
    with pytest.raises(DeviceProtocolError):
        parse_gen1_mqtt("/power", b"lots")


# arbitrary JSON, plus objects built from the keys the parsers look at (so they get deep)
_edge = st.sampled_from(
    [10**400, -(10**400), 1e308, -0.0, float("nan"), float("inf"), "", "on", "1.5", "null"]
)
# mapped, so that `x | _scalars` is two branches, not x among seven: shaped values stay common
_scalars = (
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6) | _edge
).map(lambda value: value)
_json = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


def _object(keys: list[str], values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.dictionaries(st.sampled_from(keys), values, max_size=len(keys))


_leaf = _scalars | _object(["total", "tC", "is_valid", "ison", "power"], _scalars)
_switch_obj = st.fixed_dictionaries(
    {"output": st.booleans() | _scalars},
    optional={k: _leaf for k in ("id", "apower", "voltage", "current", "aenergy", "temperature")},
)
_gen1_obj = st.fixed_dictionaries(
    {
        "relays": st.lists(
            st.fixed_dictionaries({"ison": st.booleans() | _scalars}) | _scalars, max_size=3
        )
    },
    optional={
        "meters": st.lists(_object(["power", "total", "is_valid"], _scalars), max_size=3),
        "temperature": _leaf,
        "tmp": _leaf,
        "voltage": _leaf,
    },
)
_notify_obj = st.fixed_dictionaries(
    {
        "method": st.sampled_from(["NotifyStatus", "NotifyFullStatus", "NotifyEvent"]),
        "params": st.fixed_dictionaries(
            {"switch:0": _switch_obj | _leaf}, optional={"ts": _scalars, "switch:1": _leaf}
        )
        | _scalars,
    }
)


def _mutated(base: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """``base`` (a real payload) with up to three of its keys given arbitrary values."""
    patches = st.dictionaries(st.sampled_from(sorted(base)), _leaf | _json, max_size=3)
    return patches.map(lambda patch: {**base, **patch})


_status_mutated = _mutated(GET_STATUS)
_notify_mutated = st.tuples(_mutated(GET_STATUS), _scalars).map(
    lambda parts: {**NOTIFY, "params": {"ts": parts[1], "switch:0": parts[0]}}
)
_gen1_mutated = st.tuples(_mutated(GEN1_RELAY), _mutated(GEN1_METER), _mutated(GEN1_STATUS)).map(
    lambda parts: {**parts[2], "relays": [parts[0]], "meters": [parts[1]]}
)
_payloads = st.one_of(
    _json,
    _switch_obj,
    _gen1_obj,
    _notify_obj,
    _status_mutated,
    _notify_mutated,
    _gen1_mutated,
)


def _survives(parse: Any, payload: Any) -> None:
    """``parse`` returns (a state, None, or a (state, time) pair) or raises DeviceProtocolError."""
    try:
        result = parse(payload)
    except DeviceProtocolError:
        return
    if isinstance(result, tuple):
        result = result[0]
    if result is None:
        return
    assert isinstance(result, SwitchState)
    for reading in switch_readings(result, site="s", device="d", load="l", time=NOW):
        assert isinstance(reading, Reading)
        assert math.isfinite(reading.value)


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_payloads, st.integers(min_value=0, max_value=2))
def test_fuzz_every_parser_with_arbitrary_json(payload: Any, switch_id: int) -> None:
    text = json.dumps(payload).encode()
    _survives(parse_switch_status, payload)
    _survives(parse_mqtt_status, text)
    _survives(lambda p: parse_notify_status(p, switch_id=switch_id), payload)
    _survives(lambda p: parse_notify_status(p, switch_id=switch_id), text)
    _survives(lambda p: parse_gen1_status(p, relay_id=switch_id), payload)
    _survives(parse_gen1_relay, payload)
    for suffix in ("", "/power", "/energy", "/command"):
        _survives(lambda p, suffix=suffix: parse_gen1_mqtt(suffix, p), text)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=16))
def test_fuzz_raw_bytes(raw: bytes) -> None:
    _survives(parse_mqtt_status, raw)
    _survives(lambda p: parse_notify_status(p, switch_id=0), raw)
    for suffix in ("", "/power", "/energy"):
        _survives(lambda p, suffix=suffix: parse_gen1_mqtt(suffix, p), raw)


def test_fuzz_raw_bytes_never_escape() -> None:
    for raw in (b"", b"{", b"\x00", b"[" * 5000 + b"]" * 5000, b'{"output": true}' * 2):
        _survives(parse_mqtt_status, raw)
        _survives(lambda p: parse_notify_status(p, switch_id=0), raw)


# ------------------------------------------------------------------------ driver <-> simulator


def _site(
    port: int, *, generation: int = 2, timeout_s: float = 2.0, **extra: Any
) -> tuple[Site, Device]:
    connection = {
        "host": "127.0.0.1",
        "port": port,
        "generation": generation,
        "password_env": PASSWORD_ENV,
        "timeout_s": timeout_s,
        **extra,
    }
    device = Device(name="relay-1", driver="shelly", connection=connection)
    site = Site(
        name="lab",
        location=Location(latitude=39.74, longitude=-105.18),
        loads=[SwitchableLoad(name="miner-1", power_kw=1.45, relay="relay-1")],
        devices=[device],
    )
    return site, device


@pytest.fixture(autouse=True)
def _password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
async def sim() -> AsyncIterator[ShellySimulator]:
    async with ShellySimulator(password=PASSWORD, watts=1450.0) as simulator:
        yield simulator


def _values(readings: list[Reading]) -> dict[tuple[str, str], float]:
    return {(r.metric, r.device): r.value for r in readings}


def _shelly(
    sim: ShellySimulator, http: httpx.AsyncClient, *, hubs: MqttHubs | None = None, **extra: Any
) -> ShellyDevice:
    site, device = _site(sim.port, generation=sim.generation, **extra)
    return ShellyDevice(device, site, http=http, hubs=hubs or MqttHubs())


async def test_the_simulator_demands_sha256_digest_auth(
    sim: ShellySimulator, http: httpx.AsyncClient
) -> None:
    bare = await http.get(f"{sim.url}/rpc/Switch.GetStatus?id=0")
    assert bare.status_code == 401
    challenge = bare.headers["WWW-Authenticate"]
    assert challenge.startswith("Digest ")
    assert "algorithm=SHA-256" in challenge and 'qop="auth"' in challenge
    assert f'realm="{sim.device_id}"' in challenge
    info = (await http.get(f"{sim.url}/shelly")).json()  # never protected
    assert info["gen"] == 2 and info["auth_en"] is True and info["id"] == sim.device_id
    auth = httpx.DigestAuth("admin", PASSWORD)
    # the three RPC styles of PROTOCOLS §3.1
    r = await http.get(f"{sim.url}/rpc/Switch.Set?id=0&on=true", auth=auth)
    assert r.json() == {"was_on": False}
    r = await http.post(f"{sim.url}/rpc/Switch.Set", json={"id": 0, "on": False}, auth=auth)
    assert r.json() == {"was_on": True}
    frame = {"id": 7, "src": "user_1", "method": "Switch.Set", "params": {"id": 0, "on": True}}
    r = await http.post(f"{sim.url}/rpc", json=frame, auth=auth)
    assert r.json() == {"id": 7, "src": sim.device_id, "dst": "user_1", "result": {"was_on": False}}
    status = (await http.get(f"{sim.url}/rpc/Shelly.GetStatus", auth=auth)).json()
    assert status["switch:0"]["output"] is True and "sys" in status
    r = await http.get(f"{sim.url}/rpc/Switch.GetStatus?id=3", auth=auth)
    assert r.json()["code"] == -105
    bad = await http.get(
        f"{sim.url}/rpc/Switch.GetStatus?id=0", auth=httpx.DigestAuth("admin", "x")
    )
    assert bad.status_code == 401


async def test_read_and_switch_with_digest_auth(
    sim: ShellySimulator, http: httpx.AsyncClient
) -> None:
    shelly = _shelly(sim, http)
    await shelly.start()
    first = _values(await shelly.read(NOW))
    assert first[("relay_on", "relay-1")] == 0.0
    assert first[("load_on", "miner-1")] == 0.0
    assert first[("voltage_v", "relay-1")] == 230.0

    await shelly.execute(DeviceCommand(kind="set_load", target="miner-1", on=True))
    assert sim.is_on()
    on = _values(await shelly.read(NOW))
    assert on[("relay_on", "relay-1")] == 1.0
    assert on[("load_on", "miner-1")] == 1.0
    assert on[("load_power_each_w", "miner-1")] == 1450.0
    assert on[("power_w", "relay-1")] == 1450.0
    assert on[("current_a", "relay-1")] == pytest.approx(1450 / 230, abs=1e-3)
    assert on[("energy_wh", "relay-1")] > 0.0

    await shelly.execute(DeviceCommand(kind="set_load", target="miner-1", on=False))
    assert not sim.is_on()
    assert _values(await shelly.read(NOW))[("load_power_each_w", "miner-1")] == 0.0
    # one challenge, then the nonce is reused with a rising nc (firmware >= 2.0 behaviour)
    assert sim.auth_failures == 1
    assert "POST /rpc/Switch.Set" in sim.requests


async def test_routing_through_the_site_driver(
    sim: ShellySimulator, http: httpx.AsyncClient
) -> None:
    site, device = _site(sim.port)
    shelly = ShellyDevice(device, site, http=http, hubs=MqttHubs())
    assert shelly.load == "miner-1"  # learned from the site's loads
    assert shelly.handles(DeviceCommand(kind="set_load", target="miner-1"))
    assert not shelly.handles(DeviceCommand(kind="set_load", target="pump"))
    assert not shelly.handles(DeviceCommand(kind="generator"))
    with pytest.raises(DeviceRefused):
        await shelly.execute(DeviceCommand(kind="generator", on=True))
    driver = SiteDriver(site, [shelly], intervals_s={})
    await driver.execute(DeviceCommand(kind="set_load", target="miner-1", on=True))
    assert sim.is_on()
    readings = await driver.poll(NOW)
    assert _values(readings)[("load_on", "miner-1")] == 1.0


async def test_wrong_password_is_an_auth_error_that_names_the_variable(
    sim: ShellySimulator, http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "wrong")
    shelly = _shelly(sim, http)
    # /shelly needs no password, but start() reads Shelly.GetStatus to check the relay exists
    with pytest.raises(DeviceAuthError) as err:
        await shelly.start()
    message = str(err.value)
    assert "refused the password (HTTP 401)" in message
    assert PASSWORD_ENV in message and "127.0.0.1" in message
    assert PASSWORD not in message and "wrong" not in message


async def test_missing_password_settings_are_explained(
    sim: ShellySimulator, http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(PASSWORD_ENV)
    with pytest.raises(DeviceAuthError, match=f"{PASSWORD_ENV} is not set"):
        await _shelly(sim, http).start()
    with pytest.raises(DeviceAuthError, match="set password_env"):
        await _shelly(sim, http, password_env=None).start()  # device has auth enabled


async def test_relay_that_does_not_follow_is_a_readback_mismatch(
    sim: ShellySimulator, http: httpx.AsyncClient
) -> None:
    sim.ignore_set = True
    shelly = _shelly(sim, http)
    await shelly.start()
    with pytest.raises(ReadbackMismatch, match="miner-1 on but its relay reads off"):
        await shelly.execute(DeviceCommand(kind="set_load", target="miner-1", on=True))
    assert not sim.is_on()


async def test_slow_device_is_a_timeout(sim: ShellySimulator, http: httpx.AsyncClient) -> None:
    shelly = _shelly(sim, http, timeout_s=0.2)
    await shelly.start()
    sim.delay_s = 0.5
    with pytest.raises(DeviceTimeout, match=r"did not answer within 0\.2 s"):
        await shelly.read(NOW)


async def test_nothing_listening_is_unreachable(http: httpx.AsyncClient) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    site, device = _site(port)
    shelly = ShellyDevice(device, site, http=http, hubs=MqttHubs())
    with pytest.raises(DeviceUnreachable, match="unreachable"):
        await shelly.start()
    with pytest.raises(DeviceUnreachable):
        await shelly.read(NOW)


async def test_generation_mismatch_is_explained(http: httpx.AsyncClient) -> None:
    async with ShellySimulator(generation=1) as gen1:
        site, device = _site(gen1.port, generation=2, password_env=None)
        with pytest.raises(DeviceProtocolError, match="set generation: 1"):
            await ShellyDevice(device, site, http=http, hubs=MqttHubs()).start()


async def test_gen1_with_basic_auth(
    http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with ShellySimulator(generation=1, password=PASSWORD, watts=600.0) as gen1:
        bare = await http.get(f"{gen1.url}/status")
        assert bare.status_code == 401 and bare.headers["WWW-Authenticate"].startswith("Basic")
        shelly = _shelly(gen1, http)
        await shelly.start()
        assert _values(await shelly.read(NOW))[("relay_on", "relay-1")] == 0.0
        await shelly.execute(DeviceCommand(kind="set_load", target="miner-1", on=True))
        assert gen1.is_on()
        values = _values(await shelly.read(NOW))
        assert values[("load_on", "miner-1")] == 1.0
        assert values[("load_power_each_w", "miner-1")] == 600.0
        assert "GET /relay/0?turn=on" in gen1.requests

        gen1.ignore_set = True
        with pytest.raises(ReadbackMismatch):
            await shelly.execute(DeviceCommand(kind="set_load", target="miner-1", on=False))

        monkeypatch.setenv(PASSWORD_ENV, "wrong")
        with pytest.raises(DeviceAuthError, match=PASSWORD_ENV):
            await _shelly(gen1, http).read(NOW)


async def _drain_until(
    shelly: ShellyDevice, want: dict[tuple[str, str], float], *, poke: Any = None
) -> list[Reading]:
    """Read the push device until ``want`` is among what arrived (publishing via ``poke``)."""
    seen: list[Reading] = []
    deadline = time.monotonic() + 60  # generous: a busy machine delivers late, not never
    while time.monotonic() < deadline:
        if poke is not None:
            poke()
        await asyncio.sleep(0.05)
        seen += await shelly.read(NOW)
        got = _values(seen)
        if all(got.get(k) == v for k, v in want.items()):
            return seen
    raise AssertionError(f"never saw {want}; got {_values(seen)}")


async def test_status_over_the_real_mqtt_broker(
    mqtt_broker: tuple[str, int], http: httpx.AsyncClient
) -> None:
    host, port = mqtt_broker
    prefix = f"cc-test-{uuid.uuid4().hex[:10]}/shellyplus1pm-sim"
    hubs = MqttHubs()
    async with ShellySimulator(
        password=PASSWORD, watts=900.0, mqtt_broker=(host, port), mqtt_prefix=prefix
    ) as sim:
        shelly = _shelly(
            sim, http, hubs=hubs, mqtt={"host": host, "port": port}, mqtt_prefix=prefix
        )
        assert shelly.push
        try:
            await shelly.start()
            # the periodic status message
            await _drain_until(shelly, {("relay_on", "relay-1"): 0.0}, poke=sim.publish_status)
            # a button press: status/switch:0 and a NotifyStatus on events/rpc
            sim.press()
            seen = await _drain_until(
                shelly,
                {("relay_on", "relay-1"): 1.0, ("load_power_each_w", "miner-1"): 900.0},
            )
            # pushed readings carry the device's ts or their arrival time, not the poll time
            assert all(abs((r.time - datetime.now(UTC)).total_seconds()) < 30 for r in seen)
            # commands still go over HTTP (with auth); the change is visible at once
            await shelly.execute(DeviceCommand(kind="set_load", target="miner-1", on=False))
            await _drain_until(shelly, {("load_on", "miner-1"): 0.0})
            assert shelly.bad_messages == 0
        finally:
            await shelly.close()
            await hubs.close()
