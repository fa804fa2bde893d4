"""INA228: calibration and register codec, the chip on a fake I²C bus, the drivers, and the
edge command publishing to the real MQTT broker."""

from __future__ import annotations

import asyncio
import math
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import typer
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from bot.commands import edge
from bot.commands.edge import edge_app
from tools.devices import ina228 as codec
from tools.devices.ina228 import (
    Ina228,
    Ina228Device,
    Ina228MqttDevice,
    Ina228Sample,
    Reg,
    edge_payload,
)
from tools.devices.mqtt import MqttHubs
from tools.devices.simulators.ina228_bus import FakeI2CBus, FakeIna228
from tools.domain import Reading, validate_reading
from tools.errors import DeviceProtocolError, DeviceUnreachable
from tools.site import Device, Location, Site

LSB_10A = 10 / 2**19  # CURRENT_LSB for a 10 A maximum [A]
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def _site(*devices: Device) -> Site:
    return Site(name="pi", location=Location(latitude=47.0, longitude=8.0), devices=list(devices))


def _ina_device(prefix: str = "pv", address: int = 0x40, bus: int = 1) -> Device:
    return Device(
        name="panel-1",
        driver="ina228",
        connection={
            "bus": bus,
            "address": address,
            "shunt_ohms": 0.015,
            "max_current_a": 10,
            "metric_prefix": prefix,
        },
    )


def _by_metric(readings: list[Reading]) -> dict[str, float]:
    return {r.metric: r.value for r in readings}


# --- calibration -------------------------------------------------------------------------


def test_calibration_worked_example() -> None:
    lsb = codec.current_lsb_a(10.0)
    assert lsb == pytest.approx(19.0735e-6, rel=1e-5)
    assert codec.shunt_cal(lsb, 0.015, 0) == 3750
    assert codec.shunt_cal(lsb, 0.015, 1) == 15000
    cal = codec.calibration(shunt_ohms=0.015, max_current_a=10)
    assert (cal.shunt_cal, cal.adcrange) == (3750, 0)  # 150 mV needs the ±163.84 mV range


def test_calibration_picks_the_fine_range_and_refuses_clipping() -> None:
    fine = codec.calibration(shunt_ohms=0.002, max_current_a=10)  # 20 mV fits ±40.96 mV
    assert fine.adcrange == 1
    assert fine.shunt_cal == 4 * int(13107.2e6 * (10 / 2**19) * 0.002)
    with pytest.raises(ValueError, match=r"163\.84 mV"):
        codec.calibration(shunt_ohms=0.1, max_current_a=10)  # 1 V across the shunt
    with pytest.raises(ValueError, match="15-bit"):
        codec.shunt_cal(1.0, 1.0, 0)


# --- decoders ------------------------------------------------------------------------------


def test_decoders_on_hand_made_bytes() -> None:
    # VBUS: 12.3 V = 62976 LSB of 195.3125 µV, in bits 23..4
    assert codec.decode_vbus_v(bytes([0x0F, 0x60, 0x00])) == pytest.approx(12.3)
    # CURRENT: -262144 LSB (20-bit two's complement 0xC0000) = -5 A at 10 A full scale;
    # the low nibble is reserved and ignored
    assert codec.decode_current_a(bytes([0xC0, 0x00, 0x00]), LSB_10A) == pytest.approx(-5.0)
    assert codec.decode_current_a(bytes([0xC0, 0x00, 0x0F]), LSB_10A) == pytest.approx(-5.0)
    assert codec.decode_current_a(bytes([0xFF, 0xFF, 0xF0]), LSB_10A) == pytest.approx(-LSB_10A)
    assert codec.decode_current_a([0x40, 0x00, 0x00], LSB_10A) == pytest.approx(5.0)
    # VSHUNT: full scale both ways, and ADCRANGE = 1 is four times finer
    assert codec.decode_vshunt_v(bytes([0x7F, 0xFF, 0xF0])) == pytest.approx(0.16384, abs=1e-6)
    assert codec.decode_vshunt_v(bytes([0x80, 0x00, 0x00])) == pytest.approx(-0.16384)
    assert codec.decode_vshunt_v(bytes([0x80, 0x00, 0x00]), 1) == pytest.approx(-0.04096)
    # DIETEMP: 3200 × 7.8125 m°C = 25 °C; 0xFF80 = -128 → -1 °C
    assert codec.decode_dietemp_c(bytes([0x0C, 0x80])) == pytest.approx(25.0)
    assert codec.decode_dietemp_c(bytes([0xFF, 0x80])) == pytest.approx(-1.0)
    # POWER (unsigned 24-bit) = raw × 3.2 × LSB
    assert codec.decode_power_w(bytes([0xFF, 0xFF, 0xFF]), 1e-3) == pytest.approx(
        (2**24 - 1) * 3.2e-3
    )
    # ENERGY (unsigned 40-bit) = raw × 16 × 3.2 × LSB [J]; 2^32 needs the fifth byte
    assert codec.decode_energy_j(bytes([0x01, 0, 0, 0, 0]), 1e-3) == pytest.approx(2**32 * 51.2e-3)
    assert codec.decode_energy_j(bytes([0xFF] * 5), 1e-3) == pytest.approx((2**40 - 1) * 51.2e-3)
    # CHARGE (two's complement 40-bit) = raw × LSB [C]
    assert codec.decode_charge_c(bytes([0xFF] * 5), 1e-3) == pytest.approx(-1e-3)
    assert codec.decode_charge_c(bytes([0x80, 0, 0, 0, 0]), 1.0) == -(2**39)
    assert codec.decode_charge_c(bytes([0x00, 0, 0, 0x10, 0]), 1.0) == 4096
    with pytest.raises(ValueError, match="5 bytes"):
        codec.decode_energy_j(bytes(3), 1e-3)


@pytest.mark.parametrize(
    ("encode", "decode", "value", "tolerance"),
    [
        (codec.encode_vbus_v, codec.decode_vbus_v, 48.123, codec.VBUS_LSB_V),
        (codec.encode_dietemp_c, codec.decode_dietemp_c, -12.5, codec.DIETEMP_LSB_C),
        (lambda v: codec.encode_vshunt_v(v, 1), lambda b: codec.decode_vshunt_v(b, 1), -0.02, 1e-7),
        (
            lambda v: codec.encode_current_a(v, LSB_10A),
            lambda b: codec.decode_current_a(b, LSB_10A),
            -7.25,
            LSB_10A,
        ),
        (
            lambda v: codec.encode_charge_c(v, LSB_10A),
            lambda b: codec.decode_charge_c(b, LSB_10A),
            -1234.5,
            LSB_10A,
        ),
        (
            lambda v: codec.encode_energy_j(v, LSB_10A),
            lambda b: codec.decode_energy_j(b, LSB_10A),
            3.6e6,
            51.2 * LSB_10A,
        ),
    ],
)
def test_encoders_round_trip(
    encode: Callable[[float], bytes],
    decode: Callable[[bytes], float],
    value: float,
    tolerance: float,
) -> None:
    assert decode(encode(value)) == pytest.approx(value, abs=tolerance)


@given(
    b2=st.binary(min_size=2, max_size=2),
    b3=st.binary(min_size=3, max_size=3),
    b5=st.binary(min_size=5, max_size=5),
    adcrange=st.sampled_from([0, 1]),
)
def test_decoders_never_raise_on_random_register_bytes(
    b2: bytes, b3: bytes, b5: bytes, adcrange: int
) -> None:
    values = [
        codec.decode_vshunt_v(b3, adcrange),
        codec.decode_vbus_v(b3),
        codec.decode_dietemp_c(b2),
        codec.decode_current_a(b3, LSB_10A),
        codec.decode_power_w(b3, LSB_10A),
        codec.decode_energy_j(b5, LSB_10A),
        codec.decode_charge_c(b5, LSB_10A),
    ]
    assert all(math.isfinite(v) for v in values)
    assert 0 <= values[1] < 204.8 and values[4] >= 0 and values[5] >= 0
    assert abs(values[3]) <= 10.0


# --- the chip on the fake bus ----------------------------------------------------------------


def test_fake_bus_round_trip_and_energy() -> None:
    chip = FakeIna228(shunt_ohms=0.015, current_a=5.0, bus_voltage_v=12.3, die_temp_c=31.5)
    bus = FakeI2CBus({0x40: chip})
    ina = Ina228(bus, address=0x40, shunt_ohms=0.015, max_current_a=10, bus_number=1)
    ina.configure()
    assert chip.registers[Reg.SHUNT_CAL] == 3750
    assert chip.registers[Reg.ADC_CONFIG] >> 12 == 0xF  # continuous temp + bus + shunt
    assert chip.registers[Reg.ADC_CONFIG] & 0x7 == codec.AVERAGING[64]

    s = ina.sample()
    assert s.current_a == pytest.approx(5.0, abs=LSB_10A)
    assert s.bus_voltage_v == pytest.approx(12.3, abs=codec.VBUS_LSB_V)
    assert s.shunt_voltage_v == pytest.approx(0.075, abs=312.5e-9)
    assert s.power_w == pytest.approx(61.5, abs=3.2 * LSB_10A)
    assert s.die_temp_c == pytest.approx(31.5, abs=codec.DIETEMP_LSB_C)
    assert s.energy_wh == 0 and s.charge_c == 0

    bus.advance(1800)  # half an hour at 61.5 W
    s = ina.sample()
    assert s.energy_wh == pytest.approx(30.75, abs=51.2 * LSB_10A / 3600)
    assert s.charge_c == pytest.approx(9000.0, abs=LSB_10A)

    chip.current_a = -2.0  # discharging through the same shunt
    s = ina.sample()
    assert s.current_a == pytest.approx(-2.0, abs=LSB_10A)
    assert s.power_w == pytest.approx(-24.6, abs=3.2 * LSB_10A)

    ina.reset_accumulators()
    assert ina.sample().energy_wh == 0
    assert chip.registers[Reg.SHUNT_CAL] == 3750  # RSTACC keeps the calibration


def test_a_wrong_calibration_reads_wrong_like_real_hardware() -> None:
    chip = FakeIna228(shunt_ohms=0.015, current_a=5.0, bus_voltage_v=12.3)
    ina = Ina228(FakeI2CBus({0x40: chip}), shunt_ohms=0.030, max_current_a=5)  # wrong shunt
    ina.configure()
    assert ina.sample().current_a == pytest.approx(2.5, rel=1e-3)  # 75 mV / 30 mΩ


def test_wrong_device_id_is_refused_before_anything_is_written() -> None:
    other = FakeIna228(device_id=0x2271)  # an INA227-like part
    bus = FakeI2CBus({0x40: other})
    ina = Ina228(bus, shunt_ohms=0.015, max_current_a=10, bus_number=1)
    with pytest.raises(DeviceProtocolError, match=r"device id 0x2271.*expected 0x5449 and 0x228x"):
        ina.configure()
    assert other.writes == []
    ti_other = FakeI2CBus({0x40: FakeIna228(manufacturer_id=0x1234)})
    with pytest.raises(DeviceProtocolError, match="manufacturer id 0x1234"):
        Ina228(ti_other, shunt_ohms=0.015, max_current_a=10).configure()


async def test_absent_address_is_unreachable_with_advice() -> None:
    device = Ina228Device(_ina_device(address=0x41), _site(), bus_factory=lambda n: FakeI2CBus())
    with pytest.raises(DeviceUnreachable) as info:
        await device.start()
    message = str(info.value)
    assert "INA228 at I²C bus 1 address 0x41 did not answer (OSError 121)" in message
    assert "address jumpers" in message
    assert isinstance(info.value.__cause__, OSError)


async def test_missing_bus_says_how_to_enable_i2c(monkeypatch: pytest.MonkeyPatch) -> None:
    device = Ina228Device(_ina_device(bus=97), _site())  # the real smbus2 opener
    with pytest.raises(DeviceUnreachable, match=r"/dev/i2c-97.*raspi-config"):
        await device.start()

    import smbus2

    def denied(bus: int) -> Any:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(smbus2, "SMBus", denied)
    with pytest.raises(DeviceUnreachable, match="i2c group") as info:
        codec.open_smbus(1)
    assert isinstance(info.value.__cause__, PermissionError)


@pytest.mark.parametrize(
    ("prefix", "extra"),
    [
        ("pv", {"pv_power_w": 61.5}),
        ("load", {"load_power_w": 61.5}),
        ("battery", {"battery_voltage_v": 12.3, "battery_current_a": 5.0, "battery_power_w": 61.5}),
    ],
)
async def test_device_reads_normalised_readings(prefix: str, extra: dict[str, float]) -> None:
    chip = FakeIna228(current_a=5.0, bus_voltage_v=12.3, die_temp_c=30.0)
    bus = FakeI2CBus({0x40: chip})
    device = Ina228Device(_ina_device(prefix), _site(), bus_factory=lambda n: bus)
    assert device.push is False and device.name == "panel-1"
    await device.start()
    readings = await device.read(NOW)
    assert {r.device for r in readings} == {"panel-1"} and {r.site for r in readings} == {"pi"}
    assert all(r.time == NOW for r in readings)
    for r in readings:
        validate_reading(r)  # known metrics, plausible values
    expected = {
        "voltage_v": 12.3,
        "current_a": 5.0,
        "power_w": 61.5,
        "energy_wh": 0.0,
        "temp_c": 30.0,
    } | extra
    got = _by_metric(readings)
    assert set(got) == set(expected)
    for metric, value in expected.items():
        assert got[metric] == pytest.approx(value, abs=1e-3), metric
    await device.close()
    assert bus.closed


async def test_device_reprograms_a_chip_that_lost_power() -> None:
    chip = FakeIna228(current_a=5.0, bus_voltage_v=12.3)
    device = Ina228Device(_ina_device(), _site(), bus_factory=lambda n: FakeI2CBus({0x40: chip}))
    await device.start()
    chip.reset()  # power cycle: SHUNT_CAL back to its reset value
    got = _by_metric(await device.read(NOW))
    assert device.reconfigurations == 1
    assert got["current_a"] == pytest.approx(5.0, abs=LSB_10A)


# --- edge payloads and the MQTT driver --------------------------------------------------------


def _mqtt_device(topic: str, host: str = "127.0.0.1", port: int = 1883) -> Device:
    return Device(
        name="edge-ina",
        driver="ina228_mqtt",
        connection={"host": host, "port": port, "topic": topic},
    )


async def test_malformed_edge_payloads_are_counted_not_raised() -> None:
    device = Ina228MqttDevice(_mqtt_device("commandcenter/edge/+/ina228"), _site(), hubs=MqttHubs())
    sample = Ina228Sample(
        bus_voltage_v=12.0,
        shunt_voltage_v=0.0,
        current_a=1.0,
        power_w=12.0,
        energy_wh=1.0,
        charge_c=0.0,
        die_temp_c=25.0,
    )
    good = edge_payload(sample, device="pi-a", time=NOW, metric_prefix="pv")
    topic = "commandcenter/edge/pi-a/ina228"
    bad = [
        b"not json",
        b"\xff\xfe",
        b"[1, 2]",
        b'{"device": "pi-a"}',
        good.replace(b'"current_a":1.0', b'"current_a":"1.0"'),
        good.replace(b'"current_a":1.0', b'"current_a":NaN'),
        good.replace(b"Z", b""),  # naive time
        good.replace(b'"pv"', b'"solar"'),
    ]
    for payload in bad:
        device.on_message(topic, payload)
    device.on_message("commandcenter/edge/pi-b/ina228", good)  # name differs from the topic
    assert device.malformed == len(bad) + 1
    assert await device.read(NOW) == []

    device.on_message(topic, good)
    readings = await device.read(NOW)
    assert device.received == 1
    assert {r.device for r in readings} == {"pi-a"}
    assert _by_metric(readings)["pv_power_w"] == 12.0
    assert readings[0].time == NOW


class _TickingBus(FakeI2CBus):
    """A fake bus on which an hour passes every time CURRENT is read (once per sample)."""

    def read_i2c_block_data(
        self, i2c_addr: int, register: int, length: int, force: bool | None = None
    ) -> list[int]:
        if register == Reg.CURRENT:
            self.advance(3600)
        return super().read_i2c_block_data(i2c_addr, register, length, force)


async def test_edge_command_publishes_to_the_broker(
    mqtt_broker: tuple[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    host, port = mqtt_broker
    name = f"pi-{uuid.uuid4().hex[:8]}"
    topic = f"commandcenter/edge/{name}/ina228"
    bus = _TickingBus({0x40: FakeIna228(current_a=5.0, bus_voltage_v=12.3, die_temp_c=28.0)})
    monkeypatch.setattr(edge, "bus_factory", lambda n: bus)

    hubs = MqttHubs()
    device = Ina228MqttDevice(_mqtt_device(topic, host, port), _site(), hubs=hubs)
    try:
        await device.start()
        hub = hubs.get(device.config)
        # a probe sent after our SUBSCRIBE on the same connection comes back only once the
        # broker has processed that SUBSCRIBE
        probed = asyncio.Event()
        probe = f"{topic}/probe"
        hub.subscribe(probe, lambda t, p: probed.set(), qos=1)
        hub.publish(probe, b"x", qos=1)
        await asyncio.wait_for(probed.wait(), 60)

        cli = typer.Typer()
        cli.add_typer(edge_app, name="edge")
        args = [
            "edge", "ina228", "--bus", "1", "--address", "0x40", "--shunt-ohms", "0.015",
            "--max-current", "10", "--mqtt", f"mqtt://{host}:{port}", "--topic-device", name,
            "--interval", "0.05", "--count", "3", "--metric-prefix", "pv",
        ]  # fmt: skip
        result = await asyncio.to_thread(CliRunner().invoke, cli, args)
        assert result.exit_code == 0, result.output
        lines = [line for line in result.output.splitlines() if name in line]
        assert len(lines) == 3 and "12.300 V" in lines[0]

        readings: list[Reading] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while len(readings) < 18 and loop.time() < deadline:
            readings += await device.read(datetime.now(UTC))
            await asyncio.sleep(0.02)
        assert len(readings) == 18  # 3 samples × 6 metrics
        assert {r.device for r in readings} == {name}
        energy = [r.value for r in readings if r.metric == "energy_wh"]
        assert energy == pytest.approx([61.5, 123.0, 184.5], abs=1e-3)
        for metric, value in {
            "voltage_v": 12.3,
            "current_a": 5.0,
            "power_w": 61.5,
            "pv_power_w": 61.5,
            "temp_c": 28.0,
        }.items():
            values = [r.value for r in readings if r.metric == metric]
            assert values == pytest.approx([value] * 3, abs=1e-3), metric
        times = sorted({r.time for r in readings})
        assert len(times) == 3 and all(t.tzinfo is not None for t in times)

        hub.publish(topic, b'{"device": "nope"}', qos=1)
        deadline = loop.time() + 60
        while loop.time() < deadline:
            if device.malformed:
                break
            await asyncio.sleep(0.02)
        assert device.malformed == 1 and await device.read(NOW) == []
    finally:
        await device.close()
        await hubs.close()


def test_edge_command_reports_an_absent_chip(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(edge, "bus_factory", lambda n: FakeI2CBus({}))
    cli = typer.Typer()
    cli.add_typer(edge_app, name="edge")
    args = [
        "edge", "ina228", "--shunt-ohms", "0.015", "--max-current", "10",
        "--mqtt", "mqtt://127.0.0.1:1", "--topic-device", "pi-x", "--count", "1",
    ]  # fmt: skip
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    assert "did not answer (OSError 121)" in result.output
