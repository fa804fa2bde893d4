"""Grid and inverter rules on hand-built states and on the site simulator."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from tools.alerts.context import RuleContext, Severity
from tools.alerts.rules_grid import (
    RULES,
    battery_full_curtailed,
    describe_fault,
    grid_outage,
    inverter_fault,
)
from tools.devices.simulator import SimulatedSite
from tools.devices.solark import fault_codes, words_to_int
from tools.domain import Reading
from tools.forecast.solar import clear_sky_power_w
from tools.site import Device, Grid, Site, demo_site_file
from tools.telemetry import SiteState

# Golden, Colorado (the demo site) is UTC-6 in June: local noon is 18:00 UTC.
NOON = datetime(2026, 6, 21, 18, 0, tzinfo=UTC)
NIGHT = datetime(2026, 6, 21, 8, 0, tzinfo=UTC)


@pytest.fixture
def demo() -> Site:
    return demo_site_file().sites[0]


def state(
    values: dict[str, float] | None = None,
    *,
    devices: dict[tuple[str, str], float] | None = None,
    when: datetime = NOON,
) -> SiteState:
    """A state with site-level ``values`` (device "") and ``(metric, device)`` values."""
    s = SiteState("demo")
    for metric, value in (values or {}).items():
        s.update(Reading(site="demo", metric=metric, time=when, value=value))
    for (metric, device), value in (devices or {}).items():
        s.update(Reading(site="demo", metric=metric, time=when, value=value, device=device))
    return s


def ctx(
    site: Site,
    s: SiteState,
    *,
    now: datetime = NOON,
    open_alerts: dict[str, Severity] | None = None,
) -> RuleContext:
    return RuleContext(
        site=site, state=s, now=now, thresholds=site.alerts, open_alerts=open_alerts or {}
    )


# --- grid_outage -------------------------------------------------------------------------------


def test_outage_on_solark_proposes_the_generator_when_the_battery_is_low(demo: Site) -> None:
    s = state(
        {"battery_soc_pct": 42.0, "battery_power_w": -1800.0, "load_power_w": 1800.0},
        devices={("grid_connected", "inverter"): 0.0},
    )
    [verdict] = grid_outage(ctx(demo, s))
    assert verdict.rule == "grid_outage"
    assert verdict.active is True
    assert verdict.severity == "critical"
    assert verdict.category == "grid"
    assert verdict.value == 42.0
    assert verdict.proposed_action == "generator_start"
    assert verdict.proposed_params == {}
    assert "inverter: grid not connected" in verdict.summary
    assert "discharging at 1.80 kW" in verdict.summary
    evidence = dict(verdict.evidence)
    assert evidence["Battery SOC"] == "42.0 %"
    assert evidence["inverter"] == "grid not connected"


def test_outage_with_a_full_battery_proposes_nothing(demo: Site) -> None:
    s = state({"battery_soc_pct": 70.0}, devices={("grid_connected", "inverter"): 0.0})
    [verdict] = grid_outage(ctx(demo, s))
    assert verdict.active is True
    assert verdict.proposed_action is None
    assert verdict.proposed_params is None


def test_outage_does_not_propose_a_running_or_empty_generator(demo: Site) -> None:
    running = state(
        {"battery_soc_pct": 30.0, "generator_running": 1.0},
        devices={("grid_connected", "inverter"): 0.0},
    )
    [verdict] = grid_outage(ctx(demo, running))
    assert verdict.active is True and verdict.proposed_action is None
    assert "is running" in verdict.summary
    empty = state(
        {"battery_soc_pct": 30.0, "generator_running": 0.0, "generator_fuel_l": 0.0},
        devices={("grid_connected", "inverter"): 0.0},
    )
    [verdict] = grid_outage(ctx(demo, empty))
    assert verdict.active is True and verdict.proposed_action is None
    assert "tank is empty" in verdict.summary


def test_outage_without_a_generator_or_soc_proposes_nothing(demo: Site) -> None:
    no_gen = demo.model_copy(update={"generator": None})
    s = state({"battery_soc_pct": 20.0}, devices={("grid_connected", "inverter"): 0.0})
    [verdict] = grid_outage(ctx(no_gen, s))
    assert verdict.active is True and verdict.proposed_action is None
    [verdict] = grid_outage(ctx(demo, state(devices={("grid_connected", "inverter"): 0.0})))
    assert verdict.active is True and verdict.proposed_action is None
    assert verdict.value is None


@pytest.mark.parametrize(
    ("source", "lost"),
    [(1.0, False), (3.0, False), (240.0, True), (2.0, True), (0.0, True)],
)
def test_outage_from_the_victron_active_input(demo: Site, source: float, lost: bool) -> None:
    s = state({"battery_soc_pct": 35.0}, devices={("active_input_source", "cerbo"): source})
    [verdict] = grid_outage(ctx(demo, s))
    assert verdict.active is lost
    if lost:
        assert f"active input {int(source)}" in verdict.summary
        # On the genset input the generator already runs: nothing to propose.
        expected = None if source == 2.0 else "generator_start"
        assert verdict.proposed_action == expected


def test_active_input_wins_over_a_stale_grid_connected(demo: Site) -> None:
    """The Victron driver sends grid_connected only for sources 1, 3 and 240; after a
    switch to the genset (2) the last grid_connected (1) is stale."""
    s = state(devices={("active_input_source", "cerbo"): 2.0, ("grid_connected", "cerbo"): 1.0})
    [verdict] = grid_outage(ctx(demo, s))
    assert verdict.active is True


def test_outage_resolves_when_the_grid_returns(demo: Site) -> None:
    s = state({"battery_soc_pct": 35.0}, devices={("grid_connected", "inverter"): 1.0})
    [verdict] = grid_outage(ctx(demo, s, open_alerts={"grid_outage": "critical"}))
    assert verdict.active is False
    assert verdict.rule == "grid_outage"


def test_outage_one_of_two_inverters(demo: Site) -> None:
    s = state(devices={("grid_connected", "inv-a"): 1.0, ("grid_connected", "inv-b"): 0.0})
    [verdict] = grid_outage(ctx(demo, s))
    assert verdict.active is True
    assert "inv-b: grid not connected" in verdict.summary
    assert "inv-a" not in verdict.summary
    assert dict(verdict.evidence)["inv-a"] == "grid connected"


def test_outage_missing_data_or_no_grid_gives_no_verdict(demo: Site) -> None:
    assert grid_outage(ctx(demo, state({"battery_soc_pct": 20.0}))) == []
    off_grid = demo.model_copy(update={"grid": Grid(present=False)})
    s = state({"battery_soc_pct": 20.0}, devices={("grid_connected", "inverter"): 0.0})
    assert grid_outage(ctx(off_grid, s)) == []


# --- inverter_fault -----------------------------------------------------------------------------


def solark_site(demo: Site) -> Site:
    return demo.model_copy(
        update={
            "devices": [
                Device(name="inverter", driver="solark_modbus", connection={"host": "192.0.2.10"})
            ]
        }
    )


def test_solark_fault_decoded_with_the_driver_helper(demo: Site) -> None:
    registers = {103: 1 << 12, 104: 0, 105: 1 << 1, 106: 1 << 15}  # F13, F34, F64
    code = float(words_to_int([registers[a] for a in (103, 104, 105, 106)]))
    site = solark_site(demo)
    [verdict] = inverter_fault(
        ctx(site, state(devices={("inverter_fault_code", "inverter"): code}))
    )
    assert verdict.rule == "inverter_fault:inverter"
    assert verdict.active is True
    assert verdict.severity == "critical"
    assert verdict.category == "inverter"
    assert fault_codes(registers) == ["F13", "F34", "F64"]
    assert "F13, F34, F64" in verdict.summary
    assert dict(verdict.evidence)["Faults"] == "F13, F34, F64"
    assert describe_fault(code, driver="solark_modbus") == fault_codes(registers)


def test_fault_per_device_and_generic_bits(demo: Site) -> None:
    site = solark_site(demo)
    s = state(
        devices={
            ("inverter_fault_code", "inverter"): 0.0,
            ("inverter_fault_code", "cerbo"): float(0b100001),
        }
    )
    verdicts = {v.rule: v for v in inverter_fault(ctx(site, s))}
    assert set(verdicts) == {"inverter_fault:inverter", "inverter_fault:cerbo"}
    assert verdicts["inverter_fault:inverter"].active is False
    cerbo = verdicts["inverter_fault:cerbo"]
    assert cerbo.active is True
    assert "bit 0, bit 5" in cerbo.summary
    assert "0x21" in cerbo.summary


def test_fault_clears_and_missing_data_gives_no_verdict(demo: Site) -> None:
    site = solark_site(demo)
    s = state(devices={("inverter_fault_code", "inverter"): 0.0})
    [verdict] = inverter_fault(ctx(site, s, open_alerts={"inverter_fault:inverter": "critical"}))
    assert verdict.active is False
    assert inverter_fault(ctx(site, state({"battery_soc_pct": 50.0}))) == []


# --- battery_full_curtailed ------------------------------------------------------------------


def idle_demo(demo: Site) -> Site:
    loads = [m.model_copy(update={"initially_on": False}) for m in demo.loads]
    return demo.model_copy(update={"loads": loads})


def full_state(
    *,
    soc: float = 99.5,
    pv_w: float = 3000.0,
    battery_w: float = 0.0,
    grid_w: float | None = 0.0,
    on: tuple[str, ...] = (),
    when: datetime = NOON,
) -> SiteState:
    values = {"battery_soc_pct": soc, "pv_power_w": pv_w, "battery_power_w": battery_w}
    if grid_w is not None:
        values["grid_power_w"] = grid_w
    miners = {("load_on", f"miner-{i}"): 1.0 if f"miner-{i}" in on else 0.0 for i in (1, 2, 3)}
    return state(values, devices=miners, when=when)


def potential_w(site: Site, when: datetime) -> float:
    return float(clear_sky_power_w(site, pd.DatetimeIndex([when])).iloc[0])


def test_curtailed_when_full_and_balanced_proposes_the_miners_that_fit(demo: Site) -> None:
    [verdict] = battery_full_curtailed(ctx(demo, full_state(pv_w=3000.0)))
    held_w = potential_w(demo, NOON) - 3000.0
    assert 2900.0 <= held_w < 4350.0  # room for two of the 1.45 kW miners, not three
    assert verdict.active is True
    assert verdict.severity == "info"
    assert verdict.category == "solar"
    assert verdict.value == pytest.approx(held_w / 1000)
    assert verdict.proposed_action == "start_miners"
    assert verdict.proposed_params == {"loads": ["miner-1", "miner-2"]}
    assert verdict.for_s == 600.0
    assert dict(verdict.evidence)["Idle miners"] == "miner-1, miner-2, miner-3"


def test_curtailed_without_idle_miners_proposes_nothing(demo: Site) -> None:
    s = full_state(on=("miner-1", "miner-2", "miner-3"))
    [verdict] = battery_full_curtailed(ctx(demo, s))
    assert verdict.active is True
    assert verdict.proposed_action is None and verdict.proposed_params is None


@pytest.mark.parametrize(
    "changes",
    [
        {"grid_w": -1500.0},  # exporting: the surplus is not wasted
        {"grid_w": 900.0},  # importing: PV cannot cover the load (clouds)
        {"battery_w": 2000.0},  # the battery still takes PV
        {"battery_w": -900.0},  # the battery covers a deficit (clouds)
        {"soc": 95.0},  # not full
        {"pv_w": 6000.0},  # PV near its potential
        {"when": NIGHT},  # no sun
    ],
)
def test_not_curtailed(demo: Site, changes: dict[str, float]) -> None:
    when = changes.get("when", NOON)
    s = full_state(**changes)  # type: ignore[arg-type]
    [verdict] = battery_full_curtailed(ctx(demo, s, now=when))  # type: ignore[arg-type]
    assert verdict.active is False


def test_curtailed_hysteresis_on_soc(demo: Site) -> None:
    s = full_state(soc=97.0)  # threshold 98 %, clears below 96 % once open
    [fresh] = battery_full_curtailed(ctx(demo, s))
    assert fresh.active is False
    [held] = battery_full_curtailed(ctx(demo, s, open_alerts={"battery_full_curtailed": "info"}))
    assert held.active is True


def test_curtailed_missing_data_gives_no_verdict(demo: Site) -> None:
    assert battery_full_curtailed(ctx(demo, full_state(grid_w=None))) == []
    assert battery_full_curtailed(ctx(demo, state({"battery_soc_pct": 100.0}))) == []
    no_pv = demo.model_copy(update={"pv_arrays": []})
    assert battery_full_curtailed(ctx(no_pv, full_state())) == []


async def _simulate_noon(site: Site) -> tuple[SiteState, float]:
    """Two hours of the simulator up to local noon; the last poll's state and the
    PV it had to throw away [W] over the last sub-step."""
    start = NOON - timedelta(hours=2)
    sim = SimulatedSite(site, seed=7, start=start, step_s=60.0)
    s = SiteState(site.name)
    before = 0.0
    for k in range(1, 13):
        before = sim.totals.curtailed_wh
        for r in await sim.poll(start + timedelta(minutes=10 * k)):
            s.update(r)
    return s, (sim.totals.curtailed_wh - before) * 6.0


def test_curtailed_on_a_simulated_off_grid_site(demo: Site) -> None:
    """The simulator curtails PV off-grid with a full battery; the rule sees it."""
    battery = demo.battery
    assert battery is not None
    site = idle_demo(demo).model_copy(
        update={
            "grid": Grid(present=False),
            "battery": battery.model_copy(update={"initial_soc_pct": 100.0}),
        }
    )
    s, curtailed_w = asyncio.run(_simulate_noon(site))
    assert curtailed_w > 1000.0
    [verdict] = battery_full_curtailed(ctx(site, s))
    assert verdict.active is True
    assert verdict.proposed_action == "start_miners"
    assert verdict.proposed_params is not None
    loads = verdict.proposed_params["loads"]
    assert verdict.value is not None
    assert loads and 1.45 * len(loads) <= verdict.value  # as many as the held-back power carries
    # The same site on the grid exports the surplus instead: nothing is curtailed.
    on_grid = site.model_copy(update={"grid": Grid(present=True)})
    s, curtailed_w = asyncio.run(_simulate_noon(on_grid))
    assert curtailed_w == 0.0
    [verdict] = battery_full_curtailed(ctx(on_grid, s))
    assert verdict.active is False


def test_rules_exported() -> None:
    assert {(r.name, r.category, r.schedule) for r in RULES} == {
        ("grid_outage", "grid", "batch"),
        ("inverter_fault", "inverter", "batch"),
        ("battery_full_curtailed", "solar", "batch"),
    }
