"""SolArk / Sunsynk / Deye Modbus: pure decoding, and the driver against the simulator over TCP."""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tools.devices.base import DeviceCommand, SiteDriver
from tools.devices.simulators.solark_modbus import SolArkModbusSimulator
from tools.devices.solark import (
    MAX_BLOCK_REGISTERS,
    SENSORS,
    SolArkModbusDevice,
    apply_mask,
    decode_registers,
    fault_codes,
    plan_blocks,
    register_map,
    to_int16,
    words_to_int,
)
from tools.domain import Reading, validate_reading
from tools.errors import (
    DeviceProtocolError,
    DeviceRefused,
    DeviceTimeout,
    DeviceUnreachable,
    ReadbackMismatch,
)
from tools.site import Battery, Device, Location, PvArray, Site

NIGHT = datetime(2024, 6, 1, 8, 0, tzinfo=UTC)  # 02:00 in Denver
NOON = datetime(2024, 6, 1, 18, 0, tzinfo=UTC)  # 12:00 in Denver


# --------------------------------------------------------------------------- pure decoding

# (metric, raw registers, expected value) from PROTOCOLS §2.2/§2.3
DECODE_TABLE: list[tuple[str, dict[int, int], float]] = [
    ("battery_soc_pct", {184: 57}, 57.0),
    ("battery_voltage_v", {183: 5123}, 51.23),
    # 190 is positive = DISCHARGING on the wire; ours is positive = charging
    ("battery_power_w", {190: 0xFC18}, 1000.0),  # -1000 on the wire: charging
    ("battery_power_w", {190: 1500}, -1500.0),  # +1500 on the wire: discharging
    ("battery_current_a", {191: 0xFF38}, 2.0),  # -2.00 A on the wire: charging
    ("battery_current_a", {191: 1234}, -12.34),
    ("battery_temp_c", {182: 1250}, 25.0),  # raw * 0.1 - 100
    ("battery_temp_c", {182: 950}, -5.0),
    ("pv_power_w", {186: 1200, 187: 800, 188: 0}, 2000.0),
    ("pv_power_w", {186: 0xFFFF, 187: 3, 188: 0}, 2.0),  # signed parts: -1 + 3
    ("load_power_w", {178: 900}, 900.0),
    ("grid_power_w", {169: 0xFE0C}, -500.0),  # int16 -500: exporting
    ("grid_power_w", {169: 2500}, 2500.0),  # importing
    ("grid_connected", {194: 1}, 1.0),
    ("grid_connected", {194: 2}, 1.0),
    ("grid_connected", {194: 0}, 0.0),
    ("grid_voltage_v", {150: 2405}, 240.5),
    ("grid_frequency_hz", {79: 5998}, 59.98),
    ("pv_energy_today_kwh", {108: 123}, 12.3),
    ("battery_charge_today_kwh", {70: 45}, 4.5),
    ("battery_discharge_today_kwh", {71: 38}, 3.8),
    ("grid_import_today_kwh", {76: 7}, 0.7),
    ("grid_export_today_kwh", {77: 65535}, 6553.5),
    ("load_energy_today_kwh", {84: 201}, 20.1),
    ("inverter_state", {59: 2}, 2.0),
    # four registers, low word first: F13 (bit 12) in 103, F18 (bit 17) in 104
    ("inverter_fault_code", {103: 0x1000, 104: 0x0002, 105: 0, 106: 0}, float(0x2_1000)),
    ("inverter_fault_code", {103: 0, 104: 0, 105: 0, 106: 0x0001}, float(1 << 48)),
    ("grid_charge_on", {232: 0x0003}, 1.0),  # bit 0 only
    ("grid_charge_on", {232: 0x0002}, 0.0),
    ("ess_min_soc_pct", {219: 20}, 20.0),
]


@pytest.mark.parametrize(("metric", "registers", "expected"), DECODE_TABLE)
def test_decode_table(metric: str, registers: dict[int, int], expected: float) -> None:
    sensor = next(s for s in SENSORS if s.metric == metric)
    decoded = decode_registers(registers, [sensor])
    assert decoded.values == {metric: pytest.approx(expected, abs=1e-9)}


def test_tou_target_register_follows_the_program() -> None:
    sensors = register_map(tou_program=3)
    tou = next(s for s in sensors if s.metric == "tou_soc_target_pct")
    assert tou.addresses == (270,)
    assert decode_registers({270: 80}, [tou]).values == {"tou_soc_target_pct": 80.0}


def test_word_helpers() -> None:
    assert to_int16(0xFFFF) == -1
    assert to_int16(0x8000) == -32768
    assert to_int16(0x7FFF) == 32767
    assert words_to_int([0x5678, 0x1234]) == 0x12345678  # first word is the LOW word
    assert words_to_int([0xFFFF, 0xFFFF], signed=True) == -1
    assert words_to_int([0x0000, 0x8000], signed=True) == -(1 << 31)
    assert apply_mask(0x0006, 0x0001, 1) == 0x0007
    assert apply_mask(0xFFFF, 0x0001, 0) == 0xFFFE
    assert fault_codes({103: 0x1000, 104: 0x0002}) == ["F13", "F18"]


@given(st.integers(0, 0xFFFF), st.integers(0, 0xFFFF))
def test_two_words_match_the_protocol_formula(lo: int, hi: int) -> None:
    # PROTOCOLS §2.2: struct.unpack("<i", pack("<2H", lo, hi))
    assert words_to_int([lo, hi], signed=True) == struct.unpack("<i", struct.pack("<2H", lo, hi))[0]
    assert words_to_int([lo, hi]) == struct.unpack("<I", struct.pack("<2H", lo, hi))[0]


def test_missing_registers_are_reported_not_guessed() -> None:
    decoded = decode_registers({184: 50})
    assert decoded.values == {"battery_soc_pct": 50.0}
    assert "battery_voltage_v" in decoded.missing


def test_blocks_cover_the_map_in_few_short_reads() -> None:
    for program in range(1, 7):
        addresses = {a for s in register_map(program) for a in s.addresses}
        blocks = plan_blocks(addresses)
        assert len(blocks) == 3
        assert all(1 <= count <= MAX_BLOCK_REGISTERS for _, count in blocks)
        covered = {a for start, count in blocks for a in range(start, start + count)}
        assert addresses <= covered
    assert plan_blocks([5, 1, 3], max_count=2) == ((1, 1), (3, 1), (5, 1))
    assert plan_blocks([]) == ()


_ALL_SENSORS = register_map(tou_program=6)
_ALL_ADDRESSES = sorted({a for s in _ALL_SENSORS for a in s.addresses})


_WIRE = struct.Struct(f">{len(_ALL_ADDRESSES)}H")  # big-endian bytes, as in a Modbus response


@settings(max_examples=3000, deadline=None)
@given(st.binary(min_size=_WIRE.size, max_size=_WIRE.size))
def test_any_register_values_decode_to_valid_readings_or_are_dropped(payload: bytes) -> None:
    registers = dict(zip(_ALL_ADDRESSES, _WIRE.unpack(payload), strict=True))
    decoded = decode_registers(registers, _ALL_SENSORS)
    assert not decoded.missing
    counted = len(decoded.values) + len(decoded.dropped) + len(decoded.not_fitted)
    assert counted == len(_ALL_SENSORS)
    assert not set(decoded.values) & set(decoded.dropped)
    for metric, value in decoded.values.items():
        validate_reading(Reading(site="s", metric=metric, time=NOON, value=value))


# --------------------------------------------------------------------------- over TCP


def _site(**devices: dict[str, Any]) -> Site:
    return Site(
        name="lab",
        timezone="America/Denver",
        location=Location(latitude=39.742, longitude=-105.179, altitude_m=1828),
        pv_arrays=[PvArray(name="roof", kwp=8.0, tilt_deg=30, azimuth_deg=180, inverter_kw=7.6)],
        battery=Battery(capacity_kwh=14.3, min_soc_pct=20, initial_soc_pct=50),
        devices=[
            Device(name=name, driver="solark_modbus", connection=conn)
            for name, conn in (devices or {"inverter": {"host": "127.0.0.1"}}).items()
        ],
    )


def _connection(port: int, **extra: Any) -> dict[str, Any]:
    return {"host": "127.0.0.1", "port": port, "timeout_s": 1.0, **extra}


def _device(port: int, site: Site, *, name: str = "inverter", **extra: Any) -> SolArkModbusDevice:
    device = Device(name=name, driver="solark_modbus", connection=_connection(port, **extra))
    return SolArkModbusDevice(device, site)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _values(readings: list[Reading]) -> dict[str, float]:
    return {r.metric: r.value for r in readings}


@pytest.fixture
async def sim() -> AsyncIterator[SolArkModbusSimulator]:
    simulator = SolArkModbusSimulator(_site(), start=NIGHT, seed=7)
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
async def inverter(sim: SolArkModbusSimulator) -> AsyncIterator[SolArkModbusDevice]:
    device = _device(sim.port, sim.site, tou_program=2)
    await device.start()
    yield device
    await device.close()


async def test_readings_match_the_physics(
    sim: SolArkModbusSimulator, inverter: SolArkModbusDevice
) -> None:
    physics = _values(await sim.step(NOON))
    readings = await inverter.read(NOON)
    assert {r.device for r in readings} == {"inverter"}
    assert {r.site for r in readings} == {"lab"}
    assert all(r.time == NOON for r in readings)
    got = _values(readings)
    assert physics["pv_power_w"] > 1000  # midday sun: a meaningful comparison
    assert got["battery_soc_pct"] == pytest.approx(physics["battery_soc_pct"], abs=0.5)
    assert got["battery_voltage_v"] == pytest.approx(physics["battery_voltage_v"], abs=0.0051)
    assert got["battery_power_w"] == pytest.approx(physics["battery_power_w"], abs=0.5)
    amps = physics["battery_power_w"] / physics["battery_voltage_v"]
    assert got["battery_current_a"] == pytest.approx(amps, abs=0.0051)
    assert got["pv_power_w"] == pytest.approx(physics["pv_power_w"], abs=1.0)
    assert got["load_power_w"] == pytest.approx(physics["load_power_w"], abs=0.5)
    assert got["grid_power_w"] == pytest.approx(physics["grid_power_w"], abs=0.5)
    assert got["grid_charge_on"] == physics["grid_charge_on"] == 0.0
    totals = sim.physics.totals
    assert got["pv_energy_today_kwh"] == pytest.approx(totals.pv_wh / 1000, abs=0.051)
    assert got["load_energy_today_kwh"] == pytest.approx(totals.load_wh / 1000, abs=0.051)
    assert got["battery_temp_c"] == pytest.approx(25.0)
    assert got["grid_connected"] == 1.0
    assert got["grid_voltage_v"] == pytest.approx(240.0)
    assert got["grid_frequency_hz"] == pytest.approx(60.0)
    assert got["inverter_state"] == 2.0
    assert got["inverter_fault_code"] == 0.0
    assert got["ess_min_soc_pct"] == 20.0
    assert got["tou_soc_target_pct"] == 20.0
    assert inverter.dropped == 0


async def test_grid_charge_at_night_is_verified_and_charges_the_battery(
    sim: SolArkModbusSimulator, inverter: SolArkModbusDevice
) -> None:
    before = _values(await inverter.read(NIGHT))
    await sim.step(NIGHT + timedelta(minutes=30))
    idle = _values(await inverter.read(NIGHT + timedelta(minutes=30)))
    assert idle["battery_power_w"] < 0  # night, no grid charge: the battery feeds the house
    assert 0 < sim.register(190) < 0x8000  # ...which the wire shows as positive
    assert idle["grid_charge_on"] == 0.0

    await inverter.execute(DeviceCommand(kind="grid_charge", on=True))
    assert sim.register(232) & 1 == 1
    assert sim.physics.state.grid_charge_on
    later = NIGHT + timedelta(minutes=90)
    await sim.step(later)
    charging = _values(await inverter.read(later))
    assert charging["grid_charge_on"] == 1.0
    assert charging["battery_power_w"] > 2500  # positive = charging
    assert charging["battery_current_a"] > 0
    assert charging["grid_power_w"] > 2500  # positive = import
    assert charging["battery_soc_pct"] >= before["battery_soc_pct"] + 10

    await inverter.execute(DeviceCommand(kind="grid_charge", on=False))
    assert not sim.physics.state.grid_charge_on
    await sim.step(later + timedelta(minutes=10))
    off = _values(await inverter.read(later + timedelta(minutes=10)))
    assert off["grid_charge_on"] == 0.0
    assert off["battery_power_w"] < 0


async def test_grid_charge_keeps_the_other_bits(
    sim: SolArkModbusSimulator, inverter: SolArkModbusDevice
) -> None:
    sim.set_register(232, 0x0006)
    await inverter.execute(DeviceCommand(kind="grid_charge", on=True))
    assert sim.register(232) == 0x0007
    await inverter.execute(DeviceCommand(kind="grid_charge", on=False))
    assert sim.register(232) == 0x0006
    assert sim.writes == [(232, 0x0007), (232, 0x0006)]  # one register per write
    await inverter.execute(DeviceCommand(kind="grid_charge", on=False))  # already off
    assert len(sim.writes) == 2


async def test_min_soc_and_tou_target_are_written_and_read_back(
    sim: SolArkModbusSimulator, inverter: SolArkModbusDevice
) -> None:
    await inverter.execute(DeviceCommand(kind="min_soc", value=30))
    assert sim.register(219) == 30
    await inverter.execute(DeviceCommand(kind="tou_soc_target", value=80.0))
    assert sim.register(269) == 80  # program 2
    assert sim.register(268) == 20  # program 1 untouched
    got = _values(await inverter.read(NIGHT))
    assert got["ess_min_soc_pct"] == 30.0
    assert got["tou_soc_target_pct"] == 80.0
    assert sim.writes == [(219, 30), (269, 80)]


@pytest.mark.parametrize(
    ("command", "words"),
    [
        (DeviceCommand(kind="min_soc", value=60), "0..50 %"),
        (DeviceCommand(kind="min_soc", value=-1), "0..50 %"),
        (DeviceCommand(kind="min_soc", value=25.5), "whole percent"),
        (DeviceCommand(kind="min_soc"), "needs a value"),
        (DeviceCommand(kind="tou_soc_target", value=101), "0..100 %"),
        (DeviceCommand(kind="tou_soc_target", value=float("nan")), "0..100 %"),
        (DeviceCommand(kind="tou_soc_target", value=15), "below the battery low capacity of 20 %"),
        (DeviceCommand(kind="generator", on=True), "cannot carry out generator"),
        (DeviceCommand(kind="set_load", target="miner-1"), "cannot carry out set_load"),
    ],
)
async def test_refused_before_anything_is_written(
    sim: SolArkModbusSimulator, inverter: SolArkModbusDevice, command: DeviceCommand, words: str
) -> None:
    with pytest.raises(DeviceRefused, match=words):
        await inverter.execute(command)
    assert sim.writes == []


def test_handles_only_what_the_inverter_can_do() -> None:
    device = _device(502, _site())
    assert device.handles(DeviceCommand(kind="grid_charge"))
    assert device.handles(DeviceCommand(kind="min_soc", value=20))
    assert device.handles(DeviceCommand(kind="tou_soc_target", value=50))
    assert not device.handles(DeviceCommand(kind="generator"))
    assert not device.handles(DeviceCommand(kind="set_load", target="x"))
    assert device.push is False


async def test_ignored_write_raises_readback_mismatch(
    sim: SolArkModbusSimulator, inverter: SolArkModbusDevice
) -> None:
    sim.ignore_writes = True
    with pytest.raises(ReadbackMismatch, match=r"register 219.*reads back 20"):
        await inverter.execute(DeviceCommand(kind="min_soc", value=35))
    with pytest.raises(ReadbackMismatch, match="register 232"):
        await inverter.execute(DeviceCommand(kind="grid_charge", on=True))
    assert not sim.physics.state.grid_charge_on


async def test_modbus_exception_names_the_code(
    sim: SolArkModbusSimulator, inverter: SolArkModbusDevice
) -> None:
    sim.exception_on = {232: 2}
    with pytest.raises(DeviceProtocolError, match=r"exception 2 \(ILLEGAL DATA ADDRESS\)"):
        await inverter.execute(DeviceCommand(kind="grid_charge", on=True))
    with pytest.raises(DeviceProtocolError, match="ILLEGAL DATA ADDRESS"):
        await inverter.read(NIGHT)
    sim.exception_on = {219: 3}
    with pytest.raises(DeviceProtocolError, match=r"exception 3 \(ILLEGAL DATA VALUE\)"):
        await inverter.execute(DeviceCommand(kind="min_soc", value=25))
    sim.exception_on = {}
    assert await inverter.read(NIGHT)  # the connection is still usable


async def test_fault_bits_cross_the_wire_low_word_first(
    sim: SolArkModbusSimulator, inverter: SolArkModbusDevice
) -> None:
    sim.fault_bits = 1 << 12 | 1 << 33  # F13 and F34
    assert (sim.register(103), sim.register(104), sim.register(105)) == (0x1000, 0, 0x0002)
    got = _values(await inverter.read(NIGHT))
    assert got["inverter_fault_code"] == float(1 << 12 | 1 << 33)


async def test_implausible_register_is_dropped_and_counted(
    sim: SolArkModbusSimulator, inverter: SolArkModbusDevice
) -> None:
    sim.set_register(182, 1)  # -99.9 °C
    sim.set_register(59, 0xFFFF)  # beyond any inverter state
    got = _values(await inverter.read(NIGHT))
    assert "battery_temp_c" not in got
    assert "inverter_state" not in got
    assert "battery_soc_pct" in got
    assert inverter.dropped == 2


async def test_refused_connection_is_unreachable_with_an_actionable_message() -> None:
    port = _closed_port()
    device = _device(port, _site())
    with pytest.raises(DeviceUnreachable) as caught:
        await device.start()
    message = str(caught.value)
    assert f"127.0.0.1:{port}" in message
    assert "check the Modbus gateway" in message
    with pytest.raises(DeviceUnreachable):
        await device.read(NIGHT)  # reads try to connect too
    await device.close()


async def test_silent_server_times_out_within_timeout_then_recovers(
    sim: SolArkModbusSimulator,
) -> None:
    device = _device(sim.port, sim.site, timeout_s=0.3)
    await device.start()
    sim.silent = True
    began = time.monotonic()
    with pytest.raises(
        DeviceTimeout, match=rf"127\.0\.0\.1:{sim.port} did not answer within 0\.3 s"
    ):
        await device.read(NIGHT)
    assert time.monotonic() - began < 0.3 + 2.0  # bounded (a busy machine adds latency)
    sim.silent = False
    assert _values(await device.read(NIGHT))["battery_soc_pct"] == 50.0  # reconnected
    await device.close()


async def test_gateway_restart_is_survived() -> None:
    site = _site()
    first = SolArkModbusSimulator(site, start=NIGHT)
    port = await first.start()
    device = _device(port, site, timeout_s=0.3)
    await device.start()
    assert await device.read(NIGHT)
    await first.stop()
    # the client may not have seen the FIN yet: a timeout is as right as "unreachable"
    with pytest.raises((DeviceUnreachable, DeviceTimeout)):
        await device.read(NIGHT)
    second = SolArkModbusSimulator(site, start=NIGHT, port=port)
    await second.start()
    try:
        assert await device.read(NIGHT)
    finally:
        await device.close()
        await second.stop()


async def test_site_driver_keeps_reading_the_inverter_when_another_device_fails(
    sim: SolArkModbusSimulator,
) -> None:
    dead = _closed_port()
    site = _site(inverter=_connection(sim.port), spare=_connection(dead))
    inverter = SolArkModbusDevice(site.devices[0], site)
    spare = SolArkModbusDevice(site.devices[1], site)
    driver = SiteDriver(site, [inverter, spare], intervals_s={})
    await sim.step(NIGHT + timedelta(minutes=5))
    readings = await driver.poll(NIGHT + timedelta(minutes=5))
    assert {r.device for r in readings} == {"inverter"}
    assert "battery_soc_pct" in _values(readings)
    health = driver.health
    assert health["inverter"].last_ok == NIGHT + timedelta(minutes=5)
    assert health["spare"].errors == 1
    assert not health["spare"].started
    assert f"127.0.0.1:{dead}" in health["spare"].last_error
    assert "check the Modbus gateway" in health["spare"].last_error

    await driver.execute(DeviceCommand(kind="grid_charge", on=True))  # routed to the inverter
    assert sim.physics.state.grid_charge_on
    later = NIGHT + timedelta(minutes=20)
    await sim.step(later)
    again = _values(await driver.poll(later))
    assert again["grid_charge_on"] == 1.0
    assert driver.health["spare"].errors == 2
    await driver.close()
