"""Victron GX over MQTT: parser, recordings, driver <-> simulated GX, broker restart, replay CLI.

The recordings are Victron's own Venus OS D-Bus recordings
(victronenergy/venus-docker@d0d5cb6, MIT, see ../shared/data/victron/*.source.txt).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import math
import random
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from paho.mqtt.enums import CallbackAPIVersion
from typer.testing import CliRunner

from bot.commands.replay import replay_app
from tests.conftest import require_service, shared_data
from tools.devices.base import DeviceCommand, SiteDriver
from tools.devices.mqtt import MqttHub, MqttHubs
from tools.devices.simulators.victron_gx import (
    VictronGxSimulator,
    recording_messages,
    replay_recording,
)
from tools.devices.victron import (
    MIN_SOC_PATH,
    VictronMqttDevice,
    VictronState,
    parse_notification,
)
from tools.domain import METRICS, Reading
from tools.errors import (
    DeviceError,
    DeviceProtocolError,
    DeviceRefused,
    DeviceTimeout,
    DeviceUnreachable,
    ReadbackMismatch,
)
from tools.site import Battery, Device, Generator, Location, PvArray, Site, SwitchableLoad

T0 = datetime(2025, 6, 21, 10, 0, tzinfo=UTC)  # simulated late morning: PV is producing
P = "e0ff50a097c0"


def portal() -> str:
    return uuid.uuid4().hex[:12]


def val(value: Any, **extra: Any) -> bytes:
    return json.dumps({**extra, "value": value}).encode()


def parse(suffix: str, payload: bytes, state: VictronState | None = None) -> list[Reading]:
    return parse_notification(
        f"N/{P}/{suffix}", payload, site="cabin", device="gx", received_at=T0, state=state
    )


def pairs(readings: list[Reading]) -> list[tuple[str, str, float]]:
    return [(r.metric, r.device, r.value) for r in readings]


# =========================================================================== parser


@pytest.mark.parametrize(
    ("suffix", "value", "expected"),
    [
        ("system/0/Dc/Battery/Soc", 87.5, [("battery_soc_pct", "gx", 87.5)]),
        ("system/0/Dc/Battery/Power", -1250, [("battery_power_w", "gx", -1250.0)]),
        ("system/0/Dc/Battery/Power", 800, [("battery_power_w", "gx", 800.0)]),
        ("system/0/Dc/Battery/Voltage", 52.31, [("battery_voltage_v", "gx", 52.31)]),
        ("system/0/Dc/Battery/Current", -24.5, [("battery_current_a", "gx", -24.5)]),
        ("system/0/Dc/Pv/Power", 3100, [("pv_power_w", "gx", 3100.0)]),
        ("system/0/Ac/Grid/L1/Power", -450, [("grid_power_w", "gx", -450.0)]),  # export
        ("system/0/Ac/Consumption/L1/Power", 640, [("load_power_w", "gx", 640.0)]),
        (
            "system/0/Ac/ActiveIn/Source",
            1,
            [("active_input_source", "gx", 1.0), ("grid_connected", "gx", 1.0)],
        ),
        (
            "system/0/Ac/ActiveIn/Source",
            3,
            [("active_input_source", "gx", 3.0), ("grid_connected", "gx", 1.0)],
        ),
        (
            "system/0/Ac/ActiveIn/Source",
            240,
            [
                ("active_input_source", "gx", 240.0),
                ("grid_connected", "gx", 0.0),
                ("grid_power_w", "gx", 0.0),
            ],
        ),
        (
            "system/0/Ac/ActiveIn/Source",
            2,
            [
                ("active_input_source", "gx", 2.0),
                ("grid_connected", "gx", 0.0),
                ("grid_power_w", "gx", 0.0),
            ],
        ),
        ("system/0/Ac/Genset/L1/Power", 3200, [("generator_power_w", "gx", 3200.0)]),
        ("multi/0/Ac/Out/L1/P", 220, [("load_power_w", "gx", 220.0)]),
        ("multi/0/Yield/Power", 102, [("pv_power_w", "gx", 102.0)]),
        (
            "generator/0/State",
            2,
            [("generator_state", "gx", 2.0), ("generator_running", "gx", 1.0)],
        ),
        (
            "generator/0/State",
            4,
            [("generator_state", "gx", 4.0), ("generator_running", "gx", 0.0)],
        ),
        ("generator/0/AccumulatedRuntime", 7200, [("generator_run_hours_h", "gx", 2.0)]),
        ("generator/1/State", 1, []),  # not the configured generator instance
        ("battery/512/Soc", 64.0, [("battery_soc_pct", "gx", 64.0)]),
        ("battery/512/Dc/0/Voltage", 26.4, [("battery_voltage_v", "gx", 26.4)]),
        ("battery/512/Dc/0/Current", -3.5, [("battery_current_a", "gx", -3.5)]),
        ("battery/512/Dc/0/Power", -92.4, [("battery_power_w", "gx", -92.4)]),
        ("solarcharger/279/Yield/Power", 412, [("pv_power_w", "gx", 412.0)]),
        ("pvinverter/20/Ac/Power", 936, [("pv_power_w", "gx", 936.0)]),
        ("vebus/276/Ac/Out/L1/P", 206, [("load_power_w", "gx", 206.0)]),
        ("grid/30/Ac/L1/Power", 1500, [("grid_power_w", "gx", 1500.0)]),
        ("system/0/Dc/Battery/State", 1, []),  # known path, no metric
        ("tank/20/Level", 17.2, []),  # fluid type not known yet
    ],
)
def test_parser_maps_each_path(
    suffix: str, value: Any, expected: list[tuple[str, str, float]]
) -> None:
    assert pairs(parse(suffix, val(value))) == expected


def test_parser_settings_payload_with_min_max_and_relay_functions() -> None:
    state = VictronState()
    readings = parse(MIN_SOC_PATH, val(25.0, max=100, min=0), state)
    assert pairs(readings) == [("ess_min_soc_pct", "gx", 25.0)]
    assert parse("settings/0/Settings/Relay/Function", val(2, max=5, min=0), state) == []
    assert parse("settings/0/Settings/Relay/1/Function", val(0, max=5, min=0), state) == []
    assert state.relay_functions == {0: 2, 1: 0}
    assert state.rejected == 0


def test_parser_relays_and_loads() -> None:
    state = VictronState(relays={"miner-1": 0, "miner-2": 0, "pump": 1})
    assert pairs(parse("system/0/Relay/0/State", val(1), state)) == [
        ("relay_on", "gx:relay0", 1.0),
        ("load_on", "miner-1", 1.0),
        ("load_on", "miner-2", 1.0),
    ]
    assert pairs(parse("system/0/Relay/1/State", val(0), state)) == [
        ("relay_on", "gx:relay1", 0.0),
        ("load_on", "pump", 0.0),
    ]
    assert pairs(parse("system/0/Relay/3/State", val(1), state)) == [("relay_on", "gx:relay3", 1.0)]


def test_parser_phase_sums_wait_for_number_of_phases() -> None:
    state = VictronState()
    assert parse("system/0/Ac/Consumption/NumberOfPhases", val(3), state) == []
    assert parse("system/0/Ac/Consumption/L1/Power", val(1000), state) == []
    assert parse("system/0/Ac/Consumption/L2/Power", val(1200), state) == []
    assert pairs(parse("system/0/Ac/Consumption/L3/Power", val(900), state)) == [
        ("load_power_w", "gx", 3100.0)
    ]
    # a phase turning null is gone: no total until it is back (three phases are expected)
    assert parse("system/0/Ac/Consumption/L2/Power", val(None), state) == []
    assert parse("system/0/Ac/Consumption/L1/Power", val(500), state) == []
    assert pairs(parse("system/0/Ac/Consumption/L2/Power", val(1100), state)) == [
        ("load_power_w", "gx", 2500.0)
    ]


def test_parser_phase_sums_without_number_of_phases() -> None:
    state = VictronState()
    # a phase that was never valid counts as absent (0): single-phase systems send null L2/L3
    assert parse("system/0/Ac/Grid/L2/Power", val(None), state) == []
    assert parse("system/0/Ac/Grid/L3/Power", val(None), state) == []
    assert pairs(parse("system/0/Ac/Grid/L1/Power", val(-300), state)) == [
        ("grid_power_w", "gx", -300.0)
    ]
    assert pairs(parse("system/0/Ac/Grid/L2/Power", val(700), state)) == [
        ("grid_power_w", "gx", 400.0)
    ]


def test_parser_pv_sums_dc_and_ac_coupled() -> None:
    state = VictronState()
    assert pairs(parse("system/0/Dc/Pv/Power", val(1000), state)) == [("pv_power_w", "gx", 1000.0)]
    assert pairs(parse("system/0/Ac/PvOnGrid/L1/Power", val(300), state)) == [
        ("pv_power_w", "gx", 1300.0)
    ]
    parse("system/0/Ac/PvOnOutput/NumberOfPhases", val(2), state)
    assert parse("system/0/Ac/PvOnOutput/L1/Power", val(200), state) == []
    assert pairs(parse("system/0/Ac/PvOnOutput/L2/Power", val(250), state)) == [
        ("pv_power_w", "gx", 1750.0)
    ]
    # system/0 is authoritative: a solar charger's own figure no longer counts
    assert parse("solarcharger/279/Yield/Power", val(999), state) == []


def test_parser_fallbacks_and_gone_services() -> None:
    state = VictronState()
    assert pairs(parse("battery/512/Soc", val(70.0), state)) == [("battery_soc_pct", "gx", 70.0)]
    # a second bank: averaged with the first (see test_lynx_parallel_banks for power)
    assert pairs(parse("battery/513/Soc", val(40.0), state)) == [("battery_soc_pct", "gx", 55.0)]
    parse("battery/513/Soc", b"", state)
    assert pairs(parse("system/0/Dc/Battery/Soc", val(71.0), state)) == [
        ("battery_soc_pct", "gx", 71.0)
    ]
    assert parse("battery/512/Soc", val(70.5), state) == []  # system/0 wins now
    # system/0 goes away (empty payload): no reading, marked gone, fallbacks resume
    assert parse("system/0/Dc/Battery/Soc", b"", state) == []
    assert "system/0" in state.gone
    assert pairs(parse("battery/512/Soc", val(70.4), state)) == [("battery_soc_pct", "gx", 70.4)]
    # a bank goes: the others are what is left
    assert parse("battery/512/Soc", b"", state) == []
    assert pairs(parse("battery/513/Soc", val(40.0), state)) == [("battery_soc_pct", "gx", 40.0)]
    # two MPPTs sum; one leaving drops out of the sum
    parse("solarcharger/279/Yield/Power", val(100), state)
    assert pairs(parse("solarcharger/280/Yield/Power", val(50), state)) == [
        ("pv_power_w", "gx", 150.0)
    ]
    parse("solarcharger/280/Yield/Power", b"", state)
    assert pairs(parse("solarcharger/279/Yield/Power", val(120), state)) == [
        ("pv_power_w", "gx", 120.0)
    ]
    assert state.rejected == 0


@pytest.mark.parametrize(
    ("suffix", "payload", "rejected"),
    [
        ("system/0/Dc/Battery/Soc", val(None), 0),  # invalid value: no reading
        ("system/0/Dc/Battery/Soc", b"", 0),  # device gone: no reading
        ("system/0/Dc/Battery/Soc", b"{not json", 1),
        ("system/0/Dc/Battery/Soc", b"\xff\xfe", 1),
        ("system/0/Dc/Battery/Soc", b"[1, 2]", 1),
        ("system/0/Dc/Battery/Soc", b'{"valu": 3}', 1),
        ("system/0/Dc/Battery/Soc", val("87%"), 1),
        ("system/0/Dc/Battery/Soc", val(True), 1),
        ("system/0/Dc/Battery/Soc", val([50]), 1),
        ("system/0/Dc/Battery/Soc", b'{"value": NaN}', 1),
        ("system/0/Dc/Battery/Soc", b'{"value": Infinity}', 1),
        ("system/0/Dc/Battery/Soc", val(150), 1),  # outside METRICS range
        ("system/0/Dc/Battery/Soc", val(10**400), 1),
        ("system/0/Ac/Consumption/L1/Power", val(-6), 1),  # a load cannot be negative
        ("system/0/Ac/Consumption/NumberOfPhases", val(7), 1),
        ("settings/0/Settings/Relay/Function", val(1.5), 1),
        ("system/0/Some/Other/Path", b"{not json", 0),  # unmapped: ignored, not rejected
        ("system/x/Dc/Battery/Soc", val(50), 0),  # not a notification topic
    ],
)
def test_parser_bad_payloads_never_raise(suffix: str, payload: bytes, rejected: int) -> None:
    state = VictronState()
    assert parse(suffix, payload, state) == []
    assert state.rejected == rejected


def test_parser_other_topics_are_ignored() -> None:
    for topic in ("N/x/heartbeat", "N/x/full_publish_completed", "R/x/keepalive", "", "N////"):
        assert parse_notification(topic, val(1), site="s", device="d", received_at=T0) == []


_SERVICES = ["system", "battery", "solarcharger", "vebus", "grid", "generator", "settings", "x"]
_PATHS = [
    "Dc/Battery/Soc",
    "Dc/Battery/Power",
    "Dc/Battery/Voltage",
    "Dc/Battery/Current",
    "Dc/Pv/Power",
    "Ac/Consumption/L1/Power",
    "Ac/Consumption/L2/Power",
    "Ac/Consumption/NumberOfPhases",
    "Ac/Grid/L3/Power",
    "Ac/PvOnGrid/L2/Power",
    "Ac/PvOnOutput/L1/Power",
    "Ac/ActiveIn/Source",
    "Relay/0/State",
    "Soc",
    "Dc/0/Power",
    "Dc/0/Voltage",
    "Yield/Power",
    "Ac/Out/L1/P",
    "Ac/Out/L2/P",
    "Ac/NumberOfPhases",
    "Ac/L1/Power",
    "State",
    "AccumulatedRuntime",
    "Settings/CGwacs/BatteryLife/MinimumSocLimit",
    "Settings/Relay/Function",
]
_numbers = st.integers(-(10**30), 10**30) | st.floats(allow_nan=True, allow_infinity=True)
_json_values = st.one_of(
    st.none(),
    st.booleans(),
    _numbers,
    st.sampled_from(["", "87%", "manual", "1"]),
    st.lists(_numbers, max_size=2),
    st.just({"value": 1}),
)
_topics = st.one_of(
    st.builds(
        lambda s, i, p: f"N/{P}/{s}/{i}/{p}",
        st.sampled_from(_SERVICES),
        st.sampled_from(["0", "1", "256", "x", "-1", "٣"]),
        st.sampled_from(_PATHS) | st.text("LNR/01aP", max_size=12),
    ),
    st.text("NRW/+#0a", max_size=20),
)
_payloads = st.one_of(
    st.builds(lambda v: json.dumps({"value": v}).encode(), _json_values),
    st.builds(lambda v: json.dumps({"max": 100, "min": 0, "value": v}).encode(), _numbers),
    st.just(b""),
    st.sampled_from([b"{", b"null", b"[]", b'{"value": NaN}', b'{"value": -Infinity}', b"\xff"]),
    st.binary(max_size=12),
)


def _check(readings: list[Reading]) -> None:
    for reading in readings:
        spec = METRICS[reading.metric]
        assert isinstance(reading.value, float)
        assert math.isfinite(reading.value)
        assert spec.min_value <= reading.value <= spec.max_value


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(_topics, _payloads), min_size=1, max_size=8))
def test_parser_property_never_raises_and_stays_in_range(
    messages: list[tuple[str, bytes]],
) -> None:
    state = VictronState(relays={"miner-1": 0}, generator_instance=0)
    for topic, payload in messages:
        _check(
            parse_notification(topic, payload, site="s", device="gx", received_at=T0, state=state)
        )


def test_parser_seeded_fuzz_twenty_thousand_messages() -> None:
    """Cheaper than hypothesis per message: 20,000 random messages through one state."""
    rng = random.Random(20250621)
    numbers = [0, 1, -1, 3, 240, 2.5, -1e6, 1e7, 1e308, -1e308, 10**30, 101, -0.0]
    values: list[Any] = [*numbers, None, True, "x", [1], {"value": 2}]
    raw = [b"", b"{", b"null", b'{"value": NaN}', b'{"value": Infinity}', b"\xff\x00"]
    state = VictronState(relays={"miner-1": 0, "pump": 1})
    emitted = 0
    for _ in range(20_000):
        service = rng.choice(_SERVICES)
        topic = f"N/{P}/{service}/{rng.choice(['0', '1', '256', '279'])}/{rng.choice(_PATHS)}"
        if rng.random() < 0.15:
            payload = rng.choice(raw)
        else:
            payload = json.dumps({"min": 0, "value": rng.choice(values)}).encode()
        readings = state.apply(topic, payload, site="s", device="gx", received_at=T0)
        _check(readings)
        emitted += len(readings)
    assert emitted > 300 and state.rejected > 1000


# =========================================================================== helpers


def fast_hubs() -> MqttHubs:
    return MqttHubs(lambda broker: MqttHub(broker, reconnect_min_s=1.0, reconnect_max_s=1.0))


async def wait_until(pred: Callable[[], bool], timeout_s: float = 60.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout_s
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or pred}")
        await asyncio.sleep(0.02)


class Collector:
    """Drains a device into per-(metric, device) value lists."""

    def __init__(self, device: VictronMqttDevice) -> None:
        self.device = device
        self.values: dict[tuple[str, str], list[float]] = defaultdict(list)

    async def drain(self) -> None:
        for r in await self.device.read(datetime.now(UTC)):
            self.values[(r.metric, r.device)].append(r.value)

    def last(self, metric: str, device: str = "gx") -> float | None:
        seq = self.values.get((metric, device))
        return seq[-1] if seq else None

    async def until(
        self, pred: Callable[[], bool], timeout_s: float = 60.0, what: str = ""
    ) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            await self.drain()
            if pred():
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; have {dict(self.values)}")
            await asyncio.sleep(0.02)


def make_site(host: str, port: int, portal_id: str | None, **connection: Any) -> Site:
    conn: dict[str, Any] = {
        "host": host,
        "port": port,
        "keepalive_s": 30.0,
        "relays": {"miner-1": 0, "pump": 1},
        **connection,
    }
    if portal_id is not None:
        conn["portal_id"] = portal_id
    return Site(
        name="cabin",
        location=Location(latitude=47.4, longitude=8.5),
        pv_arrays=[PvArray(name="roof", kwp=6.0, tilt_deg=30, azimuth_deg=180)],
        battery=Battery(capacity_kwh=10.0, initial_soc_pct=60.0, min_soc_pct=20.0),
        loads=[
            SwitchableLoad(name="miner-1", power_kw=1.2, relay="gx"),
            SwitchableLoad(name="pump", kind="pump", power_kw=0.4, relay="gx"),
        ],
        generator=Generator(rated_kw=5.0, tank_l=40.0),
        devices=[Device(name="gx", driver="victron_mqtt", connection=conn)],
    )


@dataclass
class Pair:
    site: Site
    sim: VictronGxSimulator
    device: VictronMqttDevice
    seen: Collector


@asynccontextmanager
async def gx_pair(
    host: str,
    port: int,
    *,
    keepalive_s: float = 30.0,
    discover: bool = False,
    sim_kwargs: dict[str, Any] | None = None,
    device_kwargs: dict[str, Any] | None = None,
) -> AsyncIterator[Pair]:
    pid = portal()
    site = make_site(host, port, None if discover else pid, keepalive_s=keepalive_s)
    sim_options: dict[str, Any] = {"relay_functions": {1: 0}, **(sim_kwargs or {})}
    sim = VictronGxSimulator(
        site,
        host=host,
        port=port,
        portal_id=pid,
        start=T0,
        relays={"miner-1": 0, "pump": 1},
        **sim_options,
    )
    await sim.start()
    hubs = fast_hubs()
    device = VictronMqttDevice(
        site.devices[0], site, hubs=hubs, **{"read_timeout_s": 1.0, **(device_kwargs or {})}
    )
    try:
        await device.start()
        await wait_until(lambda: device.full_publish_completed_at is not None, what="full publish")
        yield Pair(site, sim, device, Collector(device))
    finally:
        await device.close()
        await hubs.close()
        await sim.stop()


@contextmanager
def paho_client(host: str, port: int) -> Iterator[mqtt.Client]:
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
    connected = threading.Event()
    client.on_connect = lambda *_a: connected.set()
    client.connect(host, port)
    client.loop_start()
    assert connected.wait(5)
    try:
        yield client
    finally:
        client.disconnect()
        client.loop_stop()


# =========================================================================== recordings


async def replay_into_device(
    host: str, port: int, name: str, *, relays: dict[str, int] | None = None
) -> tuple[VictronMqttDevice, Collector, int]:
    pid = portal()
    site = make_site(host, port, pid, relays=relays or {})
    hubs = fast_hubs()
    device = VictronMqttDevice(site.devices[0], site, hubs=hubs, start_timeout_s=30.0)
    seen = Collector(device)
    with paho_client(host, port) as client:
        # the recordings have no GX to answer the keep-alive: play its heartbeat until the
        # driver's subscription is live, so no recorded message is lost
        start = asyncio.create_task(device.start())
        while not start.done():
            client.publish(f"N/{pid}/heartbeat", val(0))
            await asyncio.sleep(0.02)
        await start
        sent = await replay_recording(
            shared_data(f"victron/venus_recording_{name}.jsonl"),
            publish=lambda t, p: client.publish(t, p, qos=1),
            portal_id=pid,
            speed=0,
        )
        first = device.messages
        await wait_until(lambda: device.messages - first >= sent, what=f"{sent} messages")
    await seen.drain()
    await device.close()
    await hubs.close()
    return device, seen, sent


async def test_recording_d_offgrid_multi_and_bmv(mqtt_broker: tuple[str, int]) -> None:
    device, seen, sent = await replay_into_device(*mqtt_broker, "d")
    assert sent == 491
    assert device.rejected == 0
    v = seen.values
    # BMV-702 (battery/256): SOC, voltage, current, power (positive = charging)
    assert v[("battery_soc_pct", "gx")] == [100.0]
    volts = v[("battery_voltage_v", "gx")]
    assert len(volts) == 28
    assert volts[0] == pytest.approx(56.98) and volts[-1] == pytest.approx(56.97)
    amps = v[("battery_current_a", "gx")]
    assert len(amps) == 46
    assert amps[0] == pytest.approx(7.8) and amps[-1] == pytest.approx(7.5)
    watts = v[("battery_power_w", "gx")]
    assert len(watts) == 73
    assert watts[0] == pytest.approx(472.851) and watts[-1] == pytest.approx(427.275)
    assert all(w > 0 for w in watts)  # charging from the Quattro
    # Quattro 48/5000 (vebus/257) AC out L1 -> site consumption
    assert v[("load_power_w", "gx")] == [206, 207, 206, 207, 223, 231, 230, 231, 230, 208, 207, 206]
    assert ("pv_power_w", "gx") not in v


async def test_recording_lp_lynx_bms_falling_soc(mqtt_broker: tuple[str, int]) -> None:
    device, seen, sent = await replay_into_device(*mqtt_broker, "lp")
    assert sent == 1241
    path = shared_data("victron/venus_recording_lp.jsonl")
    recorded = [
        row["value"]
        for row in map(json.loads, path.read_text().splitlines())
        if row["path"] == "/Soc"
    ]
    soc = seen.values[("battery_soc_pct", "gx")]
    assert soc == recorded  # every value, in recorded order
    assert len(soc) == 217
    assert soc[0] == pytest.approx(98.84) and soc[-1] == pytest.approx(96.39)
    # falls from 98.84 % to 95.81 % (value 157 of 217), then recovers slightly to 96.39 %
    assert min(soc) == pytest.approx(95.81) and soc.index(min(soc)) == 156
    assert all(b <= a for a, b in itertools.pairwise(soc[:157]))
    power = seen.values[("battery_power_w", "gx")]
    assert len(power) == 192 and power[0] == -1.0 and power[-1] == -15.0  # discharging
    assert device.rejected == 0


async def test_recording_p_rv_mppt_and_smartshunt(mqtt_broker: tuple[str, int]) -> None:
    device, seen, sent = await replay_into_device(*mqtt_broker, "p")
    assert sent == 3061
    pv = seen.values[("pv_power_w", "gx")]  # solarcharger/291 /Yield/Power
    assert len(pv) == 178
    assert pv[0] == 247.0 and pv[-1] == pytest.approx(214.53)
    assert max(pv) == 248.0 and min(pv) == pytest.approx(201.7)
    soc = seen.values[("battery_soc_pct", "gx")]  # SmartShunt battery/290
    assert len(soc) == 14
    assert soc[0] == pytest.approx(88.6) and soc[-1] == pytest.approx(89.9)
    assert seen.last("battery_voltage_v") == pytest.approx(13.5)
    # MultiPlus AC out: 58 values, 12 of them slightly negative (-1..-6 W) are rejected
    assert len(seen.values[("load_power_w", "gx")]) == 46
    assert device.rejected == 12


def test_recording_messages_topics_and_instances() -> None:
    msgs = recording_messages(shared_data("victron/venus_recording_d.jsonl"), portal_id=P)
    topics = {t for _, t, _ in msgs}
    assert f"N/{P}/battery/256/Soc" in topics
    assert f"N/{P}/vebus/257/Ac/Out/L1/P" in topics
    assert [t for t, _, _ in msgs] == sorted(t for t, _, _ in msgs)
    null_l2 = next(p for _, t, p in msgs if t.endswith("vebus/257/Ac/Out/L2/P"))
    assert json.loads(null_l2) == {"value": None}
    chosen = recording_messages(
        shared_data("victron/venus_recording_d.jsonl"), portal_id=P, instances={"battery": 7}
    )
    assert any(t == f"N/{P}/battery/7/Soc" for _, t, _ in chosen)


async def test_replay_honours_time_scaled_by_speed(tmp_path: Path) -> None:
    rec = tmp_path / "r.jsonl"
    rows = [
        {"t": 0, "kind": "initial", "service": "com.victronenergy.battery.x", "path": "/Soc",
         "value": 50.0},
        {"t": 10, "kind": "change", "service": "com.victronenergy.battery.x", "path": "/Soc",
         "value": []},
    ]  # fmt: skip
    rec.write_text("\n".join(json.dumps(r) for r in rows))
    got: list[tuple[float, str, bytes]] = []
    began = time.monotonic()
    n = await replay_recording(
        rec, publish=lambda t, p: got.append((time.monotonic() - began, t, p)), portal_id=P,
        speed=50.0,
    )  # fmt: skip
    assert n == 2
    assert got[0][1] == f"N/{P}/battery/512/Soc" and got[0][2] == b'{"value": 50.0}'
    assert got[1][2] == b'{"value": null}'
    # 10 s at 50x is 0.2 s; unscaled it would be 10 s (the bound leaves a busy machine room)
    assert 0.15 <= got[1][0] - got[0][0] < 5.0


# =========================================================================== driver <-> GX


async def test_read_queue_is_bounded_and_counts_drops() -> None:
    site = make_site("127.0.0.1", 1883, P)
    device = VictronMqttDevice(site.devices[0], site, hubs=MqttHubs(), queue_size=3)
    for soc in (50, 51, 52, 53, 54):  # no connection needed to feed the handler
        device._on_message(f"N/{P}/system/0/Dc/Battery/Soc", val(soc))
    device._on_message(f"N/{P}/system/0/Dc/Battery/Soc", b"{broken")
    assert [r.value for r in await device.read(T0)] == [52.0, 53.0, 54.0]  # newest kept
    assert device.dropped == 2 and device.rejected == 1 and device.messages == 6
    assert await device.read(T0) == []


async def test_start_full_publish_readings_flow(mqtt_broker: tuple[str, int]) -> None:
    async with gx_pair(*mqtt_broker) as pair:
        sim, device, seen = pair.sim, pair.device, pair.seen
        # The full keep-alive asks for the republish, then the min-SOC setting, then each
        # relay's function: the answers arrive in that order and over several loop turns,
        # so wait for the last of them (the relay functions), not only the min SOC.
        await seen.until(
            lambda: (
                seen.last("ess_min_soc_pct") is not None
                and seen.last("battery_soc_pct") is not None
                and seen.last("grid_connected") is not None
                and seen.last("generator_running") is not None
                and seen.last("load_on", "miner-1") is not None
                and device.full_publish_completed_at is not None
                and set(device.state.relay_functions) == {0, 1}
            ),
            what="full publish and the explicit settings and relay-function reads",
        )
        assert sim.full_publishes == 1
        assert seen.last("battery_soc_pct") == pytest.approx(60.0)
        assert seen.last("ess_min_soc_pct") == 20.0  # read explicitly: settings are not pushed
        assert seen.last("relay_on", "gx:relay0") == 1.0
        assert seen.last("load_on", "miner-1") == 1.0
        assert seen.last("generator_running") == 0.0
        assert seen.last("grid_connected") == 1.0
        assert device.state.relay_functions == {0: 2, 1: 0}
        # physics advances; changed values arrive without another keep-alive
        truth = {r.metric: r.value for r in await sim.step(T0 + timedelta(minutes=30))}
        # The step publishes battery, PV, then the AC groups (load, grid): wait for every
        # value checked below, not only the first ones, as they can arrive in separate batches.
        stepped = (
            "battery_soc_pct",
            "battery_power_w",
            "pv_power_w",
            "load_power_w",
            "grid_power_w",
        )
        await seen.until(
            lambda: all(seen.last(m) == pytest.approx(truth[m], abs=1e-3) for m in stepped),
            what="stepped values",
        )
        assert truth["pv_power_w"] > 0
        assert seen.last("load_power_w") == pytest.approx(truth["load_power_w"], abs=1e-3)
        assert seen.last("grid_power_w") == pytest.approx(truth["grid_power_w"], abs=1e-3)
        assert seen.last("battery_power_w") == pytest.approx(truth["battery_power_w"], abs=1e-3)
        assert sim.full_publishes == 1
        assert device.rejected == 0 and device.dropped == 0


async def test_three_phase_sums_over_the_wire(mqtt_broker: tuple[str, int]) -> None:
    async with gx_pair(*mqtt_broker, sim_kwargs={"phases": 3}) as pair:
        truth = {r.metric: r.value for r in await pair.sim.step(T0 + timedelta(minutes=5))}
        await pair.seen.until(
            lambda: pair.seen.last("load_power_w") == pytest.approx(truth["load_power_w"], 1e-3),
            what="3-phase load total",
        )


async def test_suppress_republish_keepalive_and_heartbeat(mqtt_broker: tuple[str, int]) -> None:
    async with gx_pair(
        # The GX's keep-alive timeout is far above the interval, so a busy machine that
        # delays a keep-alive does not make the GX republish everything.
        *mqtt_broker,
        keepalive_s=0.2,
        sim_kwargs={"heartbeat_s": 0.1, "keepalive_timeout_s": 3.0},
    ) as pair:
        sim, device = pair.sim, pair.device
        await wait_until(lambda: sim.keepalives >= 4, what="timed keep-alives")
        assert sim.full_publishes == 1  # the timed keep-alives suppress the republish
        assert sim.heartbeats >= 2
        await device.close()  # no more keep-alives: the GX falls silent after its timeout
        await wait_until(lambda: not sim.alive, what="keep-alive expiry")
        before = device.messages
        await sim.step(T0 + timedelta(hours=1))
        await asyncio.sleep(0.3)
        assert device.messages == before


async def test_set_load_through_manual_relay(mqtt_broker: tuple[str, int]) -> None:
    async with gx_pair(*mqtt_broker) as pair:
        sim, device, seen = pair.sim, pair.device, pair.seen
        driver = SiteDriver(pair.site, [device], intervals_s={})
        assert device.handles(DeviceCommand(kind="set_load", target="miner-1"))
        await driver.execute(DeviceCommand(kind="set_load", target="miner-1", on=False))
        assert sim.sim.state.loads_on["miner-1"] is False
        assert ("system/0/Relay/0/State", 0) in sim.writes
        await seen.until(lambda: seen.last("load_on", "miner-1") == 0.0, what="miner off")
        assert seen.last("relay_on", "gx:relay0") == 0.0
        await device.execute(DeviceCommand(kind="set_load", target="miner-1", on=True))
        assert sim.sim.state.loads_on["miner-1"] is True


async def test_relay_not_in_manual_mode_is_refused(mqtt_broker: tuple[str, int]) -> None:
    async with gx_pair(*mqtt_broker) as pair:
        await pair.seen.until(lambda: 1 in pair.device.state.relay_functions, what="functions")
        with pytest.raises(
            DeviceRefused, match=r"relay 1 \(load pump\) is set to alarm, not manual"
        ):
            await pair.device.execute(DeviceCommand(kind="set_load", target="pump", on=False))
        assert pair.sim.writes == []
        assert pair.sim.sim.state.loads_on["pump"] is True


async def test_generator_start_stop(mqtt_broker: tuple[str, int]) -> None:
    async with gx_pair(*mqtt_broker) as pair:
        sim, device, seen = pair.sim, pair.device, pair.seen
        await device.execute(DeviceCommand(kind="generator", on=True))
        assert sim.sim.state.generator_running is True
        await seen.until(lambda: seen.last("generator_running") == 1.0, what="generator on")
        assert seen.last("generator_state") == 1.0
        await sim.step(T0 + timedelta(hours=2))
        await seen.until(lambda: seen.last("generator_run_hours_h") == 2.0, what="run hours")
        await device.execute(DeviceCommand(kind="generator", on=False))
        assert sim.sim.state.generator_running is False
        await seen.until(lambda: seen.last("generator_running") == 0.0, what="generator off")


async def test_min_soc_write_is_read_back(mqtt_broker: tuple[str, int]) -> None:
    async with gx_pair(*mqtt_broker) as pair:
        sim, device, seen = pair.sim, pair.device, pair.seen
        await device.execute(DeviceCommand(kind="min_soc", value=35.0))
        assert (MIN_SOC_PATH, 35.0) in sim.writes
        await seen.until(lambda: seen.last("ess_min_soc_pct") == 35.0, what="new minimum SOC")
        with pytest.raises(DeviceRefused, match="between 0 and 100"):
            await device.execute(DeviceCommand(kind="min_soc", value=150.0))
        assert not device.handles(DeviceCommand(kind="grid_charge"))
        assert not device.handles(DeviceCommand(kind="tou_soc_target", value=50))
        assert not device.handles(DeviceCommand(kind="set_load", target="unknown"))
        with pytest.raises(DeviceRefused):
            await device.execute(DeviceCommand(kind="grid_charge"))


async def test_ignored_write_is_a_readback_mismatch(mqtt_broker: tuple[str, int]) -> None:
    async with gx_pair(*mqtt_broker, sim_kwargs={"ignore_writes": True}) as pair:
        driver = SiteDriver(pair.site, [pair.device], intervals_s={})
        with pytest.raises(ReadbackMismatch, match=r"wrote 0 to system/0/Relay/0/State .* back 1"):
            await driver.execute(DeviceCommand(kind="set_load", target="miner-1", on=False))
        with pytest.raises(ReadbackMismatch, match=r"wrote 42\.0 to settings/0/.*back 20\.0"):
            await pair.device.execute(DeviceCommand(kind="min_soc", value=42.0))
        assert pair.sim.sim.state.loads_on["miner-1"] is True


async def test_silent_gx_is_a_timeout(mqtt_broker: tuple[str, int]) -> None:
    async with gx_pair(
        *mqtt_broker,
        sim_kwargs={"ignore_writes": True, "answer_reads": False},
        device_kwargs={"read_timeout_s": 0.3},
    ) as pair:
        with pytest.raises(DeviceTimeout, match=r"did not answer the read of generator/0/Manual"):
            await pair.device.execute(DeviceCommand(kind="generator", on=True))
        # relay functions were never answered: the driver tries the write, the read times out
        with pytest.raises(DeviceError, match=r"check that MQTT is enabled on the GX"):
            await pair.device.execute(DeviceCommand(kind="set_load", target="pump", on=False))


async def test_start_without_gx_times_out(mqtt_broker: tuple[str, int]) -> None:
    site = make_site(*mqtt_broker, portal())
    hubs = fast_hubs()
    device = VictronMqttDevice(site.devices[0], site, hubs=hubs, start_timeout_s=0.3)
    try:
        with pytest.raises(
            DeviceTimeout, match=r"did not answer the keep-alive .* MQTT is enabled"
        ):
            await device.start()
    finally:
        await device.close()
        await hubs.close()


# =========================================================================== own broker


class OwnBroker:
    """A private mosquitto on a free port, which a test can stop and start again."""

    def __init__(self, workdir: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.conf = workdir / "mosquitto.conf"
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.proc = subprocess.Popen(
            [binary, "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.02)
        raise AssertionError(f"mosquitto did not start on port {self.port}")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(5)
            self.proc = None


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[OwnBroker]:
    found = shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
    )
    require_service(
        "" if found else "mosquitto not on PATH",
        "mosquitto binary needed (apt-get install mosquitto)",
    )
    broker = OwnBroker(tmp_path)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


async def test_portal_id_discovery(own_broker: OwnBroker) -> None:
    async with gx_pair("127.0.0.1", own_broker.port, discover=True) as pair:
        assert pair.device.portal_id == pair.sim.portal_id
        await pair.seen.until(lambda: pair.seen.last("battery_soc_pct") is not None, what="soc")
        # a second GX on the same broker makes discovery ambiguous
        other = make_site("127.0.0.1", own_broker.port, None)
        hubs = fast_hubs()
        second = VictronMqttDevice(other.devices[0], other, hubs=hubs, discovery_timeout_s=1)
        extra = VictronGxSimulator(other, host="127.0.0.1", port=own_broker.port, start=T0)
        await extra.start()
        try:
            with pytest.raises(DeviceProtocolError, match="several Victron GX devices"):
                await second.start()
        finally:
            await extra.stop()
            await hubs.close()


async def test_discovery_without_gx_times_out(own_broker: OwnBroker) -> None:
    site = make_site("127.0.0.1", own_broker.port, None)
    hubs = fast_hubs()
    device = VictronMqttDevice(site.devices[0], site, hubs=hubs, discovery_timeout_s=0.3)
    try:
        with pytest.raises(DeviceTimeout, match="no Victron GX announced itself"):
            await device.start()
    finally:
        await hubs.close()


async def test_broker_restart_mid_stream(own_broker: OwnBroker) -> None:
    async with gx_pair("127.0.0.1", own_broker.port) as pair:
        sim, device, seen = pair.sim, pair.device, pair.seen
        driver = SiteDriver(pair.site, [device], intervals_s={})
        first = await driver.poll(datetime.now(UTC))  # the site driver starts it (idempotent)
        assert driver.health["gx"].started and device.full_keepalives == 2
        assert "battery_soc_pct" in {r.metric for r in first}

        own_broker.stop()
        await wait_until(lambda: not device.connected, what="disconnect noticed")
        # Readings that arrived just before the disconnect are handed out first.
        with contextlib.suppress(DeviceUnreachable):
            await device.read(datetime.now(UTC))
        with pytest.raises(DeviceUnreachable, match="lost the connection to the broker"):
            await device.read(datetime.now(UTC))
        assert await driver.poll(datetime.now(UTC)) == []  # reported, not raised
        assert "lost the connection" in driver.health["gx"].last_error
        await sim.step(T0 + timedelta(minutes=10))  # published into the void

        own_broker.start()
        await wait_until(lambda: device.connected and sim.connected, 20, "reconnect")
        await wait_until(lambda: device.full_keepalives == 3, 30, "full keep-alive after reconnect")
        assert device.reconnects == 1
        truth = {r.metric: r.value for r in await sim.step(T0 + timedelta(minutes=20))}
        await seen.until(
            lambda: (
                seen.last("battery_soc_pct") == pytest.approx(truth["battery_soc_pct"], abs=1e-3)
            ),
            what="readings after the restart",
        )
        # The GX answers the full keep-alive on its own thread: wait for it, do not race it.
        await wait_until(lambda: sim.full_publishes == 3, 30, "the GX's full publish")
        await driver.poll(datetime.now(UTC))
        assert driver.health["gx"].last_error == ""
        assert device.rejected == 0


# =========================================================================== CLI


def test_replay_cli(mqtt_broker: tuple[str, int]) -> None:
    host, port = mqtt_broker
    pid = portal()
    got: list[str] = []
    subscribed = threading.Event()
    with paho_client(host, port) as client:
        client.on_message = lambda _c, _u, msg: got.append(msg.topic)
        client.on_subscribe = lambda *_a: subscribed.set()
        client.subscribe(f"N/{pid}/#", qos=1)
        assert subscribed.wait(5)
        result = CliRunner().invoke(
            replay_app,
            [
                "victron",
                str(shared_data("victron/venus_recording_d.jsonl")),
                "--mqtt",
                f"mqtt://{host}:{port}",
                "--portal-id",
                pid,
                "--speed",
                "0",
            ],
        )
        assert result.exit_code == 0, result.output
        assert f"sent 491 messages from venus_recording_d.jsonl to {host}:{port}" in result.output
        deadline = time.monotonic() + 60
        while len(got) < 491 and time.monotonic() < deadline:
            time.sleep(0.02)
    assert len(got) == 491
    assert f"N/{pid}/battery/256/Soc" in got


def test_replay_cli_refuses_a_bad_broker_url() -> None:
    result = CliRunner().invoke(
        replay_app,
        [
            "victron",
            str(shared_data("victron/venus_recording_d.jsonl")),
            "--mqtt",
            "http://x",
            "--portal-id",
            P,
        ],
    )
    assert result.exit_code == 2
    assert "mqtt://HOST:PORT" in result.output
