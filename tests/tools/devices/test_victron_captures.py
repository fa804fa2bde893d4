"""The Victron parser on values published by Victron's own projects.

Fixtures: ``tests/fixtures/victron/systemcalc_scenarios.json`` (D-Bus values from
dbus-systemcalc-py's tests and scripts, dbus-mqtt's README; see the
``.source.txt``). Each scenario is played as the GX would publish it,
``N/<portal>/<service>/<instance><path>`` with ``{"value": ...}``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tools.devices.victron import VictronState
from tools.domain import Reading

FIXTURES = Path(__file__).parents[2] / "fixtures" / "victron"
T0 = datetime(2026, 6, 26, 12, 0, tzinfo=UTC)


def scenarios() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / "systemcalc_scenarios.json").read_text())
    return data


PORTAL = scenarios()["portal_id"]


def play(state: VictronState, scenario: str) -> list[Reading]:
    readings: list[Reading] = []
    for service, values in scenarios()[scenario].items():
        for path, value in values.items():
            readings += publish(state, f"{service}{path}", value)
    return readings


def publish(state: VictronState, suffix: str, value: Any) -> list[Reading]:
    payload = json.dumps({"value": value}).encode()
    return state.apply(f"N/{PORTAL}/{suffix}", payload, site="boat", device="gx", received_at=T0)


def last(readings: list[Reading]) -> dict[tuple[str, str], float]:
    return {(r.metric, r.device): r.value for r in readings}


def test_switching_from_grid_to_genset_zeroes_grid_and_fills_generator_power() -> None:
    state = VictronState()
    on_grid = last(play(state, "test_ac_in_grid"))
    assert on_grid[("grid_power_w", "gx")] == 123.0
    assert on_grid[("grid_connected", "gx")] == 1.0
    assert on_grid[("load_power_w", "gx")] == 100.0
    on_genset = last(play(state, "test_ac_in_genset"))
    assert on_genset[("active_input_source", "gx")] == 2.0
    assert on_genset[("grid_connected", "gx")] == 0.0
    assert on_genset[("grid_power_w", "gx")] == 0.0  # not the last 123 W
    assert on_genset[("generator_power_w", "gx")] == 123.0
    # and back to the grid: the genset's phases turn null, generator power 0
    back = last(
        play(state, "test_ac_in_grid") + publish(state, "system/0/Ac/Genset/L1/Power", None)
    )
    assert back[("grid_power_w", "gx")] == 123.0
    assert back[("generator_power_w", "gx")] == 0.0
    assert state.rejected == 0


def test_pv_inverter_switching_off_clears_its_share() -> None:
    """Hub-3 PV on the grid side (500 W), then the inverter goes dark at night: systemcalc
    publishes null and PV must read 0 W, not 500 W added into every later update."""
    state = VictronState()
    day = last(play(state, "test_hub3_grid"))
    assert day[("pv_power_w", "gx")] == 500.0
    assert day[("grid_power_w", "gx")] == -377.0
    night = last(publish(state, "system/0/Ac/PvOnGrid/L1/Power", None))
    assert night[("pv_power_w", "gx")] == 0.0
    # DC PV in the morning is not inflated by the stale AC-coupled 500 W
    morning = last(publish(state, "system/0/Dc/Pv/Power", 80))
    assert morning[("pv_power_w", "gx")] == 80.0


def test_pv_inverter_service_null_at_night_on_the_fallback_path() -> None:
    """dbus-mqtt README: pvinverter/20/Ac/Power {"value": 936}; invalid is null."""
    state = VictronState()
    assert last(publish(state, "pvinverter/20/Ac/Power", 936)) == {("pv_power_w", "gx"): 936.0}
    assert last(publish(state, "pvinverter/20/Ac/Power", None)) == {("pv_power_w", "gx"): 0.0}
    assert last(publish(state, "solarcharger/279/Yield/Power", 40)) == {("pv_power_w", "gx"): 40.0}


def test_multi_rs_fallback_reads_load_pv_and_its_inputs() -> None:
    state = VictronState()
    assert play(state, "test_multi_rs_active_ac") != []
    got = last(play(state, "test_multi_rs_active_ac"))
    assert got[("pv_power_w", "gx")] == 0.0  # Yield/Power 0
    # AC input 1 is the grid (Type 1), input 2 a genset (Type 2)
    assert last(publish(state, "multi/0/Ac/In/1/L1/P", 640)) == {("grid_power_w", "gx"): 640.0}
    assert last(publish(state, "multi/0/Ac/In/2/L1/P", 1500)) == {
        ("generator_power_w", "gx"): 1500.0
    }
    assert last(publish(state, "multi/0/Ac/Out/L1/P", 220)) == {("load_power_w", "gx"): 220.0}
    assert state.rejected == 0


def test_a_multi_without_a_battery_monitor_gives_the_battery_figures() -> None:
    state = VictronState()
    got = last(play(state, "setUp"))
    assert got[("battery_soc_pct", "gx")] == 53.2
    assert got[("battery_voltage_v", "gx")] == 12.25
    assert got[("battery_current_a", "gx")] == -8.0
    assert got[("load_power_w", "gx")] == 100.0
    # a battery monitor appears: its figures win over the inverter's estimate
    assert last(publish(state, "battery/512/Soc", 70.0)) == {("battery_soc_pct", "gx"): 70.0}
    assert publish(state, "vebus/0/Soc", 53.0) == []
    rs = VictronState()
    assert last(play(rs, "test_multi_rs_active_ac"))[("battery_voltage_v", "gx")] == 12.8


def test_lynx_parallel_bms_is_used_alone_and_plain_banks_are_summed() -> None:
    state = VictronState()
    # two Lynx Smart BMS banks in parallel, each carrying half the current
    publish(state, "battery/512/Dc/0/Current", 1.5)
    got = last(publish(state, "battery/513/Dc/0/Current", 1.5))
    assert got[("battery_current_a", "gx")] == 3.0
    publish(state, "battery/512/Dc/0/Power", 82.6)
    assert last(publish(state, "battery/513/Dc/0/Power", 82.7))[("battery_power_w", "gx")] == 165.3
    # the parallel BMS (ProductId 0xA3E3) already aggregates: it alone counts
    got = last(play(state, "test_quirk_lynx_parallel_bms"))
    assert got[("battery_power_w", "gx")] == 165.3
    assert got[("battery_current_a", "gx")] == 3.0
    assert got[("battery_soc_pct", "gx")] == 100.0
    assert last(publish(state, "battery/512/Dc/0/Current", 9.0)) == {}  # a member: not added


def test_fuel_tank_gives_fuel_level_and_litres() -> None:
    state = VictronState()
    got = last(play(state, "dummytank"))
    assert got[("fuel_level_pct", "gx:tank0")] == 50.0
    assert got[("generator_fuel_l", "gx:tank0")] == 50_000.0  # Remaining is m3 on D-Bus
    water = VictronState()
    publish(water, "tank/1/FluidType", 1)  # fresh water is not fuel
    assert publish(water, "tank/1/Level", 80) == []


def test_only_mapped_paths_are_kept_and_big_payloads_are_counted() -> None:
    """Issue 12: 300 topics x 1 MB were all held. Unmapped topics are not even decoded;
    a mapped path with an oversized payload is refused and counted."""
    state = VictronState()
    big = b'{"value": "' + b"x" * 1_000_000 + b'"}'
    for n in range(300):
        assert (
            state.apply(
                f"N/{PORTAL}/system/0/Some/Unused/{n}", big, site="s", device="gx", received_at=T0
            )
            == []
        )
    assert state.rejected == 0
    assert (
        state.apply(
            f"N/{PORTAL}/system/0/Dc/Battery/Soc", big, site="s", device="gx", received_at=T0
        )
        == []
    )
    assert state.rejected_by_reason == {"oversized": 1}
    held = [v for v in vars(state).values() if isinstance(v, dict | set)]
    assert sum(len(repr(v)) for v in held) < 10_000
    assert not hasattr(state, "last_values")
