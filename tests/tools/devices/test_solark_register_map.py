"""The SolArk driver against the maintained Sunsynk/Deye register map (kellerza/sunsynk).

Fixture: ``tests/fixtures/sunsynk/kellerza_definitions.json`` (facts excerpted from
kellerza/sunsynk's definitions; see the ``.source.txt``). The inverter on the wire
is our Modbus simulator, with its registers set to what the map says a real unit
holds.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tools.devices.base import DeviceCommand
from tools.devices.simulators.solark_modbus import SolArkModbusSimulator
from tools.devices.solark import SolArkModbusDevice, choose_profile
from tools.errors import DeviceRefused
from tools.site import Battery, Device, Location, PvArray, Site

MAP: dict[str, Any] = json.loads(
    (Path(__file__).parents[2] / "fixtures" / "sunsynk" / "kellerza_definitions.json").read_text()
)
NIGHT = datetime(2024, 6, 1, 8, 0, tzinfo=UTC)


def _site() -> Site:
    return Site(
        name="lab",
        timezone="America/Denver",
        location=Location(latitude=39.742, longitude=-105.179),
        pv_arrays=[PvArray(name="roof", kwp=8.0, tilt_deg=30, azimuth_deg=180)],
        battery=Battery(capacity_kwh=14.3, min_soc_pct=20, initial_soc_pct=50),
        devices=[Device(name="inverter", driver="solark_modbus", connection={"host": "x"})],
    )


def _device(port: int, **extra: Any) -> SolArkModbusDevice:
    conn = {"host": "127.0.0.1", "port": port, "timeout_s": 1.0, **extra}
    return SolArkModbusDevice(
        Device(name="inverter", driver="solark_modbus", connection=conn), _site()
    )


async def _sim(**kwargs: Any) -> SolArkModbusSimulator:
    sim = SolArkModbusSimulator(_site(), start=NIGHT, seed=7, **kwargs)
    await sim.start()
    await sim.step(NIGHT)
    return sim


@pytest.fixture
async def sim16() -> AsyncIterator[SolArkModbusSimulator]:
    sim = await _sim(rated_power_w=16_000.0, grid_power_step_w=10)
    yield sim
    await sim.stop()


def _set_rated(sim: SolArkModbusSimulator, watts: float) -> None:
    raw = round(watts / MAP["rated_power"]["factor"])
    low, high = MAP["rated_power"]["addresses"]
    sim.set_register(low, raw & 0xFFFF)
    sim.set_register(high, raw >> 16)


async def _grid_w(device: SolArkModbusDevice) -> float:
    return {r.metric: r.value for r in await device.read(NIGHT)}["grid_power_w"]


async def test_a_16kw_unit_reads_grid_power_in_ten_watt_steps(
    sim16: SolArkModbusSimulator,
) -> None:
    spec = MAP["single_phase_16kw"]["grid_power"]
    device = _device(sim16.port)
    await device.start()
    try:
        sim16.set_register(spec["address"], 250)
        assert await _grid_w(device) == 250 * abs(spec["factor"])  # 2500 W, not 250 W
        sim16.set_register(spec["address"], (-37) & 0xFFFF)  # signed: export
        assert await _grid_w(device) == -37 * abs(spec["factor"])
        assert device.profile is not None and device.profile.name == "single_phase_16kw"
        assert (
            "register profile single_phase_16kw (register 0: single-phase hybrid, rated 16 kW)"
            in (device.status_notes)
        )
    finally:
        await device.close()


async def test_an_8kw_unit_reads_watts_unless_the_site_file_says_sg02lp1() -> None:
    sim = await _sim(rated_power_w=8000.0)
    plain = _device(sim.port)
    sg02 = _device(sim.port, register_profile="sg02lp1")
    try:
        await plain.start()
        await sg02.start()
        address = MAP["single_phase"]["grid_power"]["address"]
        sim.set_register(address, 250)
        assert await _grid_w(plain) == 250 * abs(MAP["single_phase"]["grid_power"]["factor"])
        assert await _grid_w(sg02) == 250 * abs(MAP["single_phase_16kw"]["grid_power"]["factor"])
        assert any("set in the site file" in n for n in sg02.status_notes)
        assert not any("register profile" in n for n in plain.status_notes)  # the common map
    finally:
        await plain.close()
        await sg02.close()
        await sim.stop()


@pytest.mark.parametrize("device_type", sorted(int(k) for k in MAP["device_type"]["options"]))
def test_device_types_other_than_single_phase_hybrid_are_refused(device_type: int) -> None:
    name = MAP["device_type"]["options"][str(device_type)]
    if name == "Single phase hybrid":
        assert choose_profile(device_type, 5000.0).name == "single_phase"
        assert choose_profile(device_type, 16000.0).name == "single_phase_16kw"
        return
    with pytest.raises(ValueError, match="register_profile") as err:
        choose_profile(device_type, 12000.0)
    assert name.lower() in str(err.value).replace("-", " ")  # names what register 0 says


def test_an_unknown_device_type_is_read_as_single_phase() -> None:
    unknown = max(int(k) for k in MAP["device_type"]["options"]) + 1
    assert choose_profile(unknown, None).name == "single_phase"


async def test_a_three_phase_unit_fails_at_start_with_what_to_do() -> None:
    sim = await _sim()
    sim.set_register(MAP["device_type"]["address"], 5)
    device = _device(sim.port)
    try:
        with pytest.raises(DeviceRefused, match="low-voltage three-phase hybrid"):
            await device.start()
    finally:
        await device.close()
        await sim.stop()


async def test_min_soc_respects_the_shutdown_capacity() -> None:
    low_spec, shutdown_spec = MAP["battery_low_capacity"], MAP["battery_shutdown_capacity"]
    assert low_spec["min"] == "battery_shutdown_capacity"
    sim = await _sim()
    sim.set_register(shutdown_spec["address"], 15)
    device = _device(sim.port)
    await device.start()
    try:
        with pytest.raises(DeviceRefused, match=r"shutdown capacity of 15 % \(register 217\)"):
            await device.execute(DeviceCommand(kind="min_soc", value=12))
        assert sim.register(low_spec["address"]) == 20  # untouched
        await device.execute(DeviceCommand(kind="min_soc", value=15))
        assert sim.register(low_spec["address"]) == 15
        with pytest.raises(DeviceRefused, match=r"0\.\.50"):
            await device.execute(DeviceCommand(kind="min_soc", value=low_spec["max"] + 1))
    finally:
        await device.close()
        await sim.stop()


async def test_use_timer_off_is_said_in_status() -> None:
    spec = MAP["use_timer"]
    sim = await _sim(use_timer=False)
    device = _device(sim.port)
    await device.start()
    try:
        await device.read(NIGHT)
        assert device.use_timer_on is False
        assert any("Use Timer (register 248) is off" in n for n in device.status_notes)
        sim.set_register(spec["address"], spec["bitmask"] | 0x0100)  # other bits kept as-is
        await device.read(NIGHT)
        assert device.use_timer_on is True
        assert not any("Use Timer" in n for n in device.status_notes)
    finally:
        await device.close()
        await sim.stop()


async def test_battery_temperature_zero_means_not_fitted() -> None:
    spec = MAP["single_phase"]["battery_temperature"]
    sim = await _sim(battery_temp_c=None)
    device = _device(sim.port)
    await device.start()
    try:
        assert sim.register(spec["address"]) == 0  # (0 * 0.1) - 100 = -100 °C on the wire
        got = {r.metric for r in await device.read(NIGHT)}
        assert "battery_temp_c" not in got and "battery_soc_pct" in got
        assert device.dropped == 0  # not a fault
        assert "battery temperature sensor not fitted (reads 0)" in device.status_notes
        sim.set_register(spec["address"], round((25 + spec["offset"]) / spec["factor"]))
        got_values = {r.metric: r.value for r in await device.read(NIGHT)}
        assert got_values["battery_temp_c"] == 25.0
        assert not any("not fitted" in n for n in device.status_notes)
    finally:
        await device.close()
        await sim.stop()


async def test_a_gateway_that_reads_zero_at_register_0_still_starts_and_says_so() -> None:
    sim = await _sim()
    sim.set_register(MAP["device_type"]["address"], 0)
    device = _device(sim.port)
    try:
        await device.start()
        assert device.profile is not None and device.profile.name == "single_phase"
        assert any("register 0 reads 0" in n for n in device.status_notes)
    finally:
        await device.close()
        await sim.stop()
