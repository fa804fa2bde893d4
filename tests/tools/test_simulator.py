"""The simulated site: determinism, physics, commands, and energy conservation."""

from __future__ import annotations

import itertools
import math
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from tools.devices.base import DeviceCommand
from tools.devices.simulator import (
    BMS_FLOOR_SOC_PCT,
    SimState,
    SimulatedSite,
    base_load_w,
    battery_voltage_v,
    fuel_rate_lph,
    shutdown_soc_pct,
    step_battery,
)
from tools.domain import Reading, validate_reading
from tools.errors import DeviceError
from tools.forecast.solar import clear_sky_power_w
from tools.site import Battery, Generator, Grid, Site, demo_site_file

# Golden, Colorado is UTC-6 in June (MDT): local midnight = 06:00 UTC, solar noon ~19:00 UTC.
NIGHT = datetime(2024, 6, 21, 4, 0, tzinfo=UTC)  # 22:00 MDT on the 20th
LOCAL_MIDNIGHT = datetime(2024, 6, 21, 6, 0, tzinfo=UTC)
LOCAL_NOON = datetime(2024, 6, 21, 19, 0, tzinfo=UTC)
MINERS_W = 3 * 1450.0


@pytest.fixture
def demo() -> Site:
    return demo_site_file().sites[0]


def values(readings: list[Reading], device: str | None = None) -> dict[str, float]:
    return {r.metric: r.value for r in readings if device is None or r.device == device}


def site_values(readings: list[Reading]) -> dict[str, float]:
    return values(readings, "simulator")


async def run(
    sim: SimulatedSite, start: datetime, hours: float, every_s: float = 600.0
) -> list[list[Reading]]:
    out = []
    for k in range(1, int(hours * 3600 / every_s) + 1):
        out.append(await sim.poll(start + timedelta(seconds=k * every_s)))
    return out


# ----------------------------------------------------------------------------- pure parts


def test_step_battery_charges_and_discharges_with_efficiency() -> None:
    common = {
        "capacity_kwh": 10.0,
        "max_charge_w": 5000.0,
        "max_discharge_w": 4000.0,
        "round_trip_efficiency_pct": 81.0,  # 90 % each way
    }
    up = step_battery(soc_pct=50.0, requested_w=2000.0, dt_s=3600.0, **common)
    assert up.power_w == 2000.0
    assert up.soc_pct == pytest.approx(50.0 + 2000 * 0.9 / 10_000 * 100)  # +18 %
    down = step_battery(soc_pct=50.0, requested_w=-9000.0, dt_s=3600.0, **common)
    assert down.power_w == -4000.0  # discharge rating
    assert down.soc_pct == pytest.approx(50.0 - 4000 / 0.9 / 10_000 * 100)
    # near full the energy room limits the power and the SOC stops at 100
    full = step_battery(soc_pct=99.0, requested_w=5000.0, dt_s=3600.0, **common)
    assert full.soc_pct == pytest.approx(100.0)
    assert full.power_w == pytest.approx(0.01 * 10_000 / 0.9)
    # the BMS floor stops discharge
    empty = step_battery(soc_pct=BMS_FLOOR_SOC_PCT, requested_w=-1000.0, dt_s=60.0, **common)
    assert empty.power_w == 0.0 and empty.soc_pct == BMS_FLOOR_SOC_PCT


def test_small_pure_helpers() -> None:
    assert base_load_w(3.0) == pytest.approx(400.0)
    assert 1500.0 <= base_load_w(7.5) <= 2000.0
    assert 1500.0 <= base_load_w(19.5) <= 2000.0
    curve = [(0.0, 1.0), (1.0, 3.0)]
    assert fuel_rate_lph(curve, 0.5) == pytest.approx(2.0)
    assert fuel_rate_lph(curve, 2.0) == pytest.approx(3.0)
    assert 50.0 < battery_voltage_v(50.0, 0.0) < 53.0
    assert battery_voltage_v(90.0, 0.0) > battery_voltage_v(10.0, 0.0)
    assert battery_voltage_v(50.0, 5000.0) > battery_voltage_v(50.0, -5000.0)


# ----------------------------------------------------------------------------- determinism


async def test_same_seed_same_readings_different_seed_differs(demo: Site) -> None:
    async def day(seed: int) -> list[list[Reading]]:
        sim = SimulatedSite(demo, seed=seed, start=LOCAL_MIDNIGHT)
        await sim.execute(DeviceCommand(kind="set_load", target="miner-2", on=False))
        return await run(sim, LOCAL_MIDNIGHT, 24, every_s=900)

    a, b, c = await day(7), await day(7), await day(8)
    assert a == b
    assert a != c
    pv_a = [site_values(r)["pv_power_w"] for r in a]
    pv_c = [site_values(r)["pv_power_w"] for r in c]
    assert pv_a != pv_c  # different clouds


async def test_readings_use_the_metric_vocabulary_and_utc(demo: Site) -> None:
    sim = SimulatedSite(demo, start=NIGHT)
    now = NIGHT + timedelta(minutes=5)
    readings = await sim.poll(now)
    for r in readings:
        assert validate_reading(r) == r
        assert r.time == now and r.site == "demo"
    site = site_values(readings)
    assert set(site) == {
        "battery_soc_pct",
        "battery_power_w",
        "battery_voltage_v",
        "pv_power_w",
        "load_power_w",
        "grid_power_w",
        "grid_charge_on",
        "generator_running",
        "generator_power_w",
        "generator_fuel_l",
        "generator_fuel_rate_lph",
    }
    assert values(readings, "miner-1") == {"load_on": 1.0, "load_power_each_w": 1450.0}


async def test_sites_without_battery_or_generator_omit_those_metrics(demo: Site) -> None:
    bare = demo.model_copy(update={"battery": None, "generator": None})
    readings = await SimulatedSite(bare, start=NIGHT).poll(NIGHT + timedelta(minutes=1))
    metrics = set(site_values(readings))
    assert not {m for m in metrics if m.startswith(("battery_", "generator_"))}
    # with no battery, the grid carries the whole load at night
    v = site_values(readings)
    assert v["grid_power_w"] == pytest.approx(v["load_power_w"] - v["pv_power_w"])


async def test_naive_datetimes_are_rejected(demo: Site) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        SimulatedSite(demo, start=datetime(2024, 6, 21, 12, 0))
    sim = SimulatedSite(demo, start=NIGHT)
    with pytest.raises(ValueError, match="timezone-aware"):
        await sim.poll(datetime(2024, 6, 21, 12, 0))


async def test_poll_never_goes_backwards(demo: Site) -> None:
    sim = SimulatedSite(demo, start=NIGHT)
    later = NIGHT + timedelta(hours=1)
    first = site_values(await sim.poll(later))
    again = site_values(await sim.poll(later - timedelta(minutes=30)))
    assert again["battery_soc_pct"] == first["battery_soc_pct"]
    assert sim.state.time == later


# ----------------------------------------------------------------------------- PV


async def test_pv_zero_at_night_and_positive_at_noon(demo: Site) -> None:
    sim = SimulatedSite(demo, seed=3, start=NIGHT)
    night = await run(sim, NIGHT, 6, every_s=300)  # 22:00-04:00 MDT
    assert all(site_values(r)["pv_power_w"] == 0.0 for r in night)
    noon = site_values(await sim.poll(LOCAL_NOON))
    clear = float(clear_sky_power_w(demo, pd.DatetimeIndex([LOCAL_NOON])).iloc[0])
    assert clear > 5000.0
    # the cloud index stays within [0.1, 1]: noon PV lies between 10 % and 100 % of clear sky
    assert 0.1 * clear * 0.95 <= noon["pv_power_w"] <= clear * 1.01


async def test_pv_never_exceeds_inverter_limit(demo: Site) -> None:
    small = demo.model_copy(
        update={"pv_arrays": [demo.pv_arrays[0].model_copy(update={"inverter_kw": 3.0})]}
    )
    for seed in range(3):
        sim = SimulatedSite(small, seed=seed, start=LOCAL_MIDNIGHT)
        pv = [site_values(r)["pv_power_w"] for r in await run(sim, LOCAL_MIDNIGHT, 24, 300)]
        assert max(pv) <= 3000.0 + 1e-6
        assert max(pv) > 1000.0


# ----------------------------------------------------------------------------- battery and loads


async def test_battery_drains_at_night_with_miners_on(demo: Site) -> None:
    full = demo.model_copy(
        update={"battery": demo.battery.model_copy(update={"initial_soc_pct": 90.0})}  # type: ignore[union-attr]
    )
    sim = SimulatedSite(full, start=NIGHT)
    socs = [site_values(r)["battery_soc_pct"] for r in await run(sim, NIGHT, 6, every_s=300)]
    # strictly decreasing until the inverter's shutdown SOC, then flat at the floor
    floor = shutdown_soc_pct(full.battery)  # type: ignore[arg-type]
    assert all(b < a or b == floor for a, b in itertools.pairwise(socs))
    assert socs[0] < 90.0
    assert socs[-1] < 40.0  # ~4.8 kW for hours empties most of a 14.3 kWh bank
    assert socs[-1] >= floor - 1e-9


async def test_inverter_stops_discharging_at_its_shutdown_soc(demo: Site) -> None:
    """The demo's evening: 40 % with three miners on. A real hybrid inverter stops
    discharging at its shutdown SOC (the site's 20 % floor) and takes the load from
    the grid; it does not run the bank down to the BMS cut-off."""
    at_40 = demo.model_copy(
        update={"battery": demo.battery.model_copy(update={"initial_soc_pct": 40.0})}  # type: ignore[union-attr]
    )
    assert shutdown_soc_pct(at_40.battery) == 20.0  # type: ignore[arg-type]
    sim = SimulatedSite(at_40, seed=3, start=NIGHT)
    readings = [site_values(r) for r in await run(sim, NIGHT, 6, every_s=300)]
    socs = [v["battery_soc_pct"] for v in readings]
    assert min(socs) == pytest.approx(20.0)
    assert socs[-1] == pytest.approx(20.0)
    at_floor = [v for v in readings if v["battery_soc_pct"] == pytest.approx(20.0)]
    assert len(at_floor) > 12  # an hour and more held at the floor
    for v in at_floor[1:]:
        assert v["battery_power_w"] == pytest.approx(0.0, abs=1e-6)  # no discharge
        assert v["grid_power_w"] == pytest.approx(v["load_power_w"], abs=1e-6)  # grid carries it
    # off-grid with no generator, the load beyond PV is shed at the floor instead
    off_grid = at_40.model_copy(update={"grid": Grid(present=False), "generator": None})
    island = SimulatedSite(off_grid, seed=3, start=NIGHT)
    socs = [site_values(r)["battery_soc_pct"] for r in await run(island, NIGHT, 6, every_s=300)]
    assert min(socs) == pytest.approx(20.0)
    assert island.totals.unserved_wh > 1000
    # a battery already below the shutdown SOC is not discharged further, but charges
    low = at_40.model_copy(
        update={"battery": at_40.battery.model_copy(update={"initial_soc_pct": 12.0})}  # type: ignore[union-attr]
    )
    below = SimulatedSite(low, seed=3, start=NIGHT)
    socs = [site_values(r)["battery_soc_pct"] for r in await run(below, NIGHT, 2, every_s=300)]
    assert socs == [12.0] * len(socs)
    await below.execute(DeviceCommand(kind="grid_charge", on=True))
    assert site_values(await below.poll(NIGHT + timedelta(hours=3)))["battery_soc_pct"] > 12.0


async def test_stopping_miners_lowers_load_and_slows_the_drain(demo: Site) -> None:
    full = demo.model_copy(
        update={"battery": demo.battery.model_copy(update={"initial_soc_pct": 95.0})}  # type: ignore[union-attr]
    )
    sim = SimulatedSite(full, start=NIGHT)
    t = NIGHT + timedelta(minutes=30)
    before = site_values(await sim.poll(t))
    drain_before = 95.0 - before["battery_soc_pct"]
    for name in ("miner-1", "miner-2", "miner-3"):
        await sim.execute(DeviceCommand(kind="set_load", target=name, on=False))
    assert sim.state.loads_on == {"miner-1": False, "miner-2": False, "miner-3": False}
    # a poll at the same instant already shows the relays off, without advancing time
    same = await sim.poll(t)
    assert values(same, "miner-1") == {"load_on": 0.0, "load_power_each_w": 0.0}
    after = site_values(await sim.poll(t + timedelta(minutes=1)))
    assert before["load_power_w"] - after["load_power_w"] == pytest.approx(MINERS_W, abs=150.0)
    later = site_values(await sim.poll(t + timedelta(minutes=30)))
    drain_after = before["battery_soc_pct"] - later["battery_soc_pct"]
    assert 0 < drain_after < drain_before / 3


async def test_grid_charge_raises_soc(demo: Site) -> None:
    sim = SimulatedSite(demo, start=NIGHT)
    for name in ("miner-1", "miner-2", "miner-3"):
        await sim.execute(DeviceCommand(kind="set_load", target=name, on=False))
    start_soc = site_values(await sim.poll(NIGHT))["battery_soc_pct"]
    await sim.execute(DeviceCommand(kind="grid_charge", on=True))
    assert sim.state.grid_charge_on
    v = site_values(await sim.poll(NIGHT + timedelta(hours=1)))
    assert v["grid_charge_on"] == 1.0
    assert v["battery_power_w"] == pytest.approx(3000.0)  # grid.max_charge_kw
    assert v["grid_power_w"] == pytest.approx(3000.0 + v["load_power_w"])
    eff = math.sqrt(0.92)
    assert v["battery_soc_pct"] - start_soc == pytest.approx(3000 * eff / 14_300 * 100, rel=1e-6)
    await sim.execute(DeviceCommand(kind="grid_charge", on=False))
    off = site_values(await sim.poll(NIGHT + timedelta(hours=1, minutes=10)))
    assert off["battery_power_w"] < 0


async def test_generator_burns_fuel_and_stops_when_empty(demo: Site) -> None:
    gen = Generator(name="generator", rated_kw=8.0, tank_l=120, initial_fuel_l=2.0)
    site = demo.model_copy(update={"generator": gen})
    sim = SimulatedSite(site, start=NIGHT)
    await sim.execute(DeviceCommand(kind="generator", on=True))
    v = site_values(await sim.poll(NIGHT + timedelta(minutes=10)))
    assert v["generator_running"] == 1.0
    assert v["generator_power_w"] > 0
    assert v["generator_fuel_rate_lph"] > 0
    assert v["generator_fuel_l"] < 2.0
    # generator covers the load and charges the battery: no import, battery charging
    assert v["grid_power_w"] == pytest.approx(0.0, abs=1e-6)
    assert v["battery_power_w"] > 0
    # at ~1.5-2.4 L/h two litres last about an hour
    readings = await run(sim, NIGHT + timedelta(minutes=10), 3, every_s=60)
    fuel = [site_values(r)["generator_fuel_l"] for r in readings]
    assert all(b <= a for a, b in itertools.pairwise(fuel))
    assert fuel[-1] == 0.0
    last = site_values(readings[-1])
    assert last["generator_running"] == 0.0 and last["generator_power_w"] == 0.0
    assert sim.state.generator_running is False and sim.state.fuel_l == 0.0
    assert sim.totals.fuel_burned_l == pytest.approx(2.0)
    with pytest.raises(DeviceError, match="tank is empty"):
        await sim.execute(DeviceCommand(kind="generator", on=True))


async def test_refused_commands(demo: Site) -> None:
    sim = SimulatedSite(demo, start=NIGHT)
    with pytest.raises(DeviceError, match="miner-1, miner-2, miner-3"):
        await sim.execute(DeviceCommand(kind="set_load", target="heater", on=False))
    with pytest.raises(DeviceError, match="target"):
        await sim.execute(DeviceCommand(kind="set_load", on=False))
    off_grid = demo.model_copy(update={"grid": Grid(present=False), "generator": None})
    sim2 = SimulatedSite(off_grid, start=NIGHT)
    with pytest.raises(DeviceError, match="no grid"):
        await sim2.execute(DeviceCommand(kind="grid_charge", on=True))
    with pytest.raises(DeviceError, match="no generator"):
        await sim2.execute(DeviceCommand(kind="generator", on=True))
    # nothing changed
    assert sim2.state == SimState(
        time=NIGHT,
        soc_pct=44.0,
        loads_on={"miner-1": True, "miner-2": True, "miner-3": True},
        grid_charge_on=False,
        generator_running=False,
        fuel_l=None,
    )


async def test_soc_stays_within_bounds(demo: Site) -> None:
    big_pv = demo.model_copy(
        update={
            "pv_arrays": [demo.pv_arrays[0].model_copy(update={"kwp": 20.0, "inverter_kw": 15.0})],
            "battery": Battery(capacity_kwh=5.0, max_charge_kw=10, max_discharge_kw=10),
        }
    )
    sim = SimulatedSite(big_pv, start=LOCAL_MIDNIGHT)
    await sim.execute(DeviceCommand(kind="grid_charge", on=True))
    socs = [site_values(r)["battery_soc_pct"] for r in await run(sim, LOCAL_MIDNIGHT, 24, 300)]
    assert max(socs) == pytest.approx(100.0)
    assert all(0.0 <= s <= 100.0 for s in socs)
    drained = SimulatedSite(demo, start=NIGHT)
    socs = [site_values(r)["battery_soc_pct"] for r in await run(drained, NIGHT, 12, 300)]
    assert min(socs) == pytest.approx(demo.battery.min_soc_pct)  # type: ignore[union-attr]
    assert all(0.0 <= s <= 100.0 for s in socs)


# ----------------------------------------------------------------------------- energy balance


async def test_energy_balance_on_grid(demo: Site) -> None:
    """Readings integrate to a balanced bus, and the battery's stored energy follows its power.

    With one 60 s sub-step per poll, each reading is the average over the minute
    before it, so for every minute: pv + generator + grid - load - battery = 0, and
    over the day: capacity * dSOC = sum(charge * eff - discharge / eff) * dt. A sign
    error in battery or grid power, or a missing efficiency, breaks one of them.
    """
    sim = SimulatedSite(demo, seed=5, start=LOCAL_MIDNIGHT, step_s=60.0)
    soc0 = site_values(await sim.poll(LOCAL_MIDNIGHT))["battery_soc_pct"]
    eff = math.sqrt(0.92)
    stored_wh = bus_wh = abs_wh = 0.0
    dt_h = 1 / 60
    t = LOCAL_MIDNIGHT
    for minute in range(1, 24 * 60 + 1):
        t = LOCAL_MIDNIGHT + timedelta(minutes=minute)
        if minute == 60:
            await sim.execute(DeviceCommand(kind="grid_charge", on=True))
        if minute == 180:
            await sim.execute(DeviceCommand(kind="grid_charge", on=False))
            await sim.execute(DeviceCommand(kind="generator", on=True))
        if minute == 300:
            await sim.execute(DeviceCommand(kind="generator", on=False))
        if minute == 420:  # 07:00: miners off, so the sun fills the battery and exports
            for name in ("miner-1", "miner-2", "miner-3"):
                await sim.execute(DeviceCommand(kind="set_load", target=name, on=False))
        v = site_values(await sim.poll(t))
        flow = v["pv_power_w"] + v["generator_power_w"] + v["grid_power_w"] - v["load_power_w"]
        assert flow - v["battery_power_w"] == pytest.approx(0.0, abs=1e-6)
        bus_wh += (flow - v["battery_power_w"]) * dt_h
        abs_wh += abs(v["battery_power_w"]) * dt_h
        b = v["battery_power_w"]
        stored_wh += (b * eff if b > 0 else b / eff) * dt_h
    soc1 = site_values(await sim.poll(t))["battery_soc_pct"]
    assert abs_wh > 10_000  # the battery really cycled
    assert bus_wh == pytest.approx(0.0, abs=1e-3)
    assert (soc1 - soc0) / 100 * 14_300 == pytest.approx(stored_wh, abs=1.0)
    totals = sim.totals
    assert totals.generator_wh > 1000 and totals.grid_import_wh > 1000
    assert totals.grid_export_wh > 0 and totals.curtailed_wh == totals.unserved_wh == 0.0
    lost_wh = totals.battery_charge_wh - totals.battery_discharge_wh - stored_wh
    assert lost_wh > 0  # conversion losses are real


async def test_energy_balance_off_grid_with_curtailment_and_unserved_load(demo: Site) -> None:
    off_grid = demo.model_copy(update={"grid": Grid(present=False), "generator": None})
    sim = SimulatedSite(off_grid, seed=2, start=LOCAL_MIDNIGHT, step_s=60.0)
    await sim.poll(LOCAL_MIDNIGHT)
    for name in ("miner-2", "miner-3"):
        await sim.execute(DeviceCommand(kind="set_load", target=name, on=False))
    readings = await run(sim, LOCAL_MIDNIGHT, 48, every_s=60)
    assert all(site_values(r)["grid_power_w"] == 0.0 for r in readings)
    socs = [site_values(r)["battery_soc_pct"] for r in readings]
    assert max(socs) == pytest.approx(100.0)  # full in the afternoon -> PV curtailed
    # at the inverter's shutdown SOC at night -> load shed (unserved)
    assert min(socs) == pytest.approx(demo.battery.min_soc_pct)  # type: ignore[union-attr]
    t = sim.totals
    assert t.curtailed_wh > 100 and t.unserved_wh > 100
    # served load = PV actually produced + battery discharge - battery charge
    assert t.load_wh == pytest.approx(
        t.pv_wh + t.battery_discharge_wh - t.battery_charge_wh, abs=1e-3
    )
    eff = math.sqrt(0.92)
    stored = (t.battery_charge_wh * eff - t.battery_discharge_wh / eff) / 14_300 * 100
    assert socs[-1] - 44.0 == pytest.approx(stored, abs=1e-6)
