"""Opportunity rules on hand-built states: solar surplus for idle miners, cheap grid power."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from tools.alerts.context import RuleContext, Severity
from tools.alerts.rules_opportunity import (
    RULES,
    cheap_grid_window,
    cheap_until,
    excess_solar_idle_miners,
)
from tools.domain import Reading
from tools.site import (
    AlertThresholds,
    Costs,
    Grid,
    Site,
    SwitchableLoad,
    TariffPeriod,
    demo_site_file,
)
from tools.telemetry import SiteState

NOON = datetime(2026, 6, 21, 18, 0, tzinfo=UTC)  # Golden, Colorado (UTC-6)


@pytest.fixture
def demo() -> Site:
    return demo_site_file().sites[0]


def state(values: dict[str, float], *, on: dict[str, float] | None = None) -> SiteState:
    s = SiteState("demo")
    for metric, value in values.items():
        s.update(Reading(site="demo", metric=metric, time=NOON, value=value))
    for miner, value in (on or {}).items():
        s.update(Reading(site="demo", metric="load_on", time=NOON, value=value, device=miner))
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


ONE_ON = {"miner-1": 1.0, "miner-2": 0.0, "miner-3": 0.0}


# --- excess_solar_idle_miners ----------------------------------------------------------------


def surplus_state(
    pv_w: float, load_w: float = 1500.0, soc: float = 90.0, on: dict[str, float] = ONE_ON
) -> SiteState:
    return state(
        {"pv_power_w": pv_w, "load_power_w": load_w, "battery_soc_pct": soc, "grid_power_w": 0.0},
        on=on,
    )


def test_surplus_proposes_the_idle_miners_it_carries(demo: Site) -> None:
    [verdict] = excess_solar_idle_miners(ctx(demo, surplus_state(5000.0)))
    assert verdict.rule == "excess_solar_idle_miners"
    assert verdict.active is True
    assert verdict.severity == "info"
    assert verdict.category == "opportunity"
    assert verdict.value == pytest.approx(3.5)
    assert verdict.proposed_action == "start_miners"
    assert verdict.proposed_params == {"loads": ["miner-2", "miner-3"]}
    assert verdict.for_s == 600.0
    assert "3.50 kW of solar surplus" in verdict.summary
    assert "miner-2, miner-3 are off" in verdict.summary
    assert dict(verdict.evidence)["Battery SOC"] == "90.0 %"


def test_surplus_for_one_miner_only(demo: Site) -> None:
    [verdict] = excess_solar_idle_miners(ctx(demo, surplus_state(3500.0)))
    assert verdict.active is True
    assert verdict.proposed_params == {"loads": ["miner-2"]}


@pytest.mark.parametrize(
    ("pv_w", "soc", "on"),
    [
        (2600.0, 90.0, ONE_ON),  # 1.1 kW: above 1 kW but no 1.45 kW miner fits
        (2300.0, 90.0, ONE_ON),  # 0.8 kW: below excess_solar_kw
        (5000.0, 75.0, ONE_ON),  # battery not above 80 %
        (5000.0, 90.0, {"miner-1": 1.0, "miner-2": 1.0, "miner-3": 1.0}),  # none idle
        (0.0, 90.0, ONE_ON),  # night
    ],
)
def test_no_surplus_opportunity(demo: Site, pv_w: float, soc: float, on: dict[str, float]) -> None:
    [verdict] = excess_solar_idle_miners(ctx(demo, surplus_state(pv_w, soc=soc, on=on)))
    assert verdict.active is False
    assert verdict.proposed_action is None


def test_surplus_hysteresis(demo: Site) -> None:
    small = demo.model_copy(
        update={"loads": [SwitchableLoad(name=f"miner-{i}", power_kw=0.5) for i in (1, 2, 3)]}
    )
    # 0.8 kW surplus: under the 1 kW threshold, over 1 kW - 0.3 kW once open.
    s = surplus_state(2300.0)
    [fresh] = excess_solar_idle_miners(ctx(small, s))
    assert fresh.active is False
    opened: dict[str, Severity] = {"excess_solar_idle_miners": "info"}
    [held] = excess_solar_idle_miners(ctx(small, s, open_alerts=opened))
    assert held.active is True
    assert held.proposed_params == {"loads": ["miner-2"]}
    # SOC 79 %: under 80 %, over 80 % - 2 % once open.
    s = surplus_state(5000.0, soc=79.0)
    [fresh] = excess_solar_idle_miners(ctx(demo, s))
    assert fresh.active is False
    [held] = excess_solar_idle_miners(ctx(demo, s, open_alerts=opened))
    assert held.active is True


def test_surplus_from_export_when_pv_or_load_is_missing(demo: Site) -> None:
    s = state({"grid_power_w": -2000.0, "battery_soc_pct": 95.0}, on=ONE_ON)
    [verdict] = excess_solar_idle_miners(ctx(demo, s))
    assert verdict.active is True
    assert verdict.value == pytest.approx(2.0)
    assert "exporting 2.00 kW" in verdict.summary
    assert verdict.proposed_params == {"loads": ["miner-2"]}


def test_surplus_missing_data_gives_no_verdict(demo: Site) -> None:
    assert excess_solar_idle_miners(ctx(demo, state({"battery_soc_pct": 95.0}, on=ONE_ON))) == []
    no_soc = state({"pv_power_w": 5000.0, "load_power_w": 1000.0}, on=ONE_ON)
    assert excess_solar_idle_miners(ctx(demo, no_soc)) == []
    no_miners = demo.model_copy(update={"loads": []})
    assert excess_solar_idle_miners(ctx(no_miners, surplus_state(5000.0))) == []


def test_surplus_miners_that_report_nothing_are_not_proposed(demo: Site) -> None:
    s = surplus_state(5000.0, on={"miner-1": 1.0})
    [verdict] = excess_solar_idle_miners(ctx(demo, s))
    assert verdict.active is False


# --- cheap_grid_window ------------------------------------------------------------------------

BERLIN = ZoneInfo("Europe/Berlin")


def cheap_site(demo: Site, *, cheap: float | None = 0.10) -> Site:
    return demo.model_copy(
        update={
            "timezone": "Europe/Berlin",
            "costs": Costs(
                currency="EUR",
                grid_price_per_kwh=0.25,
                grid_periods=[TariffPeriod(start="23:00", end="06:00", price_per_kwh=0.08)],
                cheap_grid_price_per_kwh=cheap,
            ),
        }
    )


def local(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    """A Berlin wall-clock time, in UTC."""
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN).astimezone(UTC)


def charge_state(soc: float = 40.0, charging: float | None = 0.0) -> SiteState:
    values = {"battery_soc_pct": soc}
    if charging is not None:
        values["grid_charge_on"] = charging
    return state(values)


def test_cheap_window_proposes_grid_charging(demo: Site) -> None:
    site = cheap_site(demo)
    now = local(2026, 1, 15, 1, 30)
    [verdict] = cheap_grid_window(ctx(site, charge_state(), now=now))
    assert verdict.rule == "cheap_grid_window"
    assert verdict.active is True
    assert verdict.severity == "info"
    assert verdict.category == "opportunity"
    assert verdict.value == pytest.approx(0.08)
    assert verdict.proposed_action == "grid_charge_on"
    assert verdict.proposed_params == {}
    assert "EUR 0.08/kWh" in verdict.summary
    assert "until 06:00" in verdict.summary
    assert dict(verdict.evidence)["Cheap until"] == "06:00"


def test_cheap_window_across_midnight_and_daylight_saving() -> None:
    costs = Costs(
        grid_price_per_kwh=0.25,
        grid_periods=[TariffPeriod(start="23:00", end="06:00", price_per_kwh=0.08)],
    )
    assert cheap_until(costs, local(2026, 1, 15, 23, 30), BERLIN, 0.10) == local(2026, 1, 16, 6, 0)
    # Clocks go forward at 02:00 on 29 March 2026: 06:00 local is 04:00 UTC.
    until = cheap_until(costs, local(2026, 3, 29, 1, 30), BERLIN, 0.10)
    assert until == datetime(2026, 3, 29, 4, 0, tzinfo=UTC)
    flat = Costs(grid_price_per_kwh=0.05)
    assert cheap_until(flat, local(2026, 1, 15, 12, 0), BERLIN, 0.10) is None


def test_cheap_window_all_day(demo: Site) -> None:
    site = demo.model_copy(
        update={"costs": Costs(grid_price_per_kwh=0.05, cheap_grid_price_per_kwh=0.10)}
    )
    [verdict] = cheap_grid_window(ctx(site, charge_state()))
    assert verdict.active is True
    assert "for at least the next 24 h" in verdict.summary


@pytest.mark.parametrize(
    ("hour", "soc", "charging"),
    [
        (12, 40.0, 0.0),  # expensive hour
        (1, 65.0, 0.0),  # battery not below 60 %
        (1, 40.0, 1.0),  # already charging from the grid (the proposal was taken)
    ],
)
def test_no_cheap_window(demo: Site, hour: int, soc: float, charging: float) -> None:
    site = cheap_site(demo)
    now = local(2026, 1, 15, hour, 0)
    [verdict] = cheap_grid_window(ctx(site, charge_state(soc, charging), now=now))
    assert verdict.active is False
    assert verdict.proposed_action is None


def test_cheap_window_hysteresis(demo: Site) -> None:
    site = cheap_site(demo)
    now = local(2026, 1, 15, 2, 0)
    [fresh] = cheap_grid_window(ctx(site, charge_state(61.0), now=now))
    assert fresh.active is False
    [held] = cheap_grid_window(
        ctx(site, charge_state(61.0), now=now, open_alerts={"cheap_grid_window": "info"})
    )
    assert held.active is True


def test_cheap_window_missing_data_gives_no_verdict(demo: Site) -> None:
    now = local(2026, 1, 15, 1, 30)
    assert cheap_grid_window(ctx(cheap_site(demo, cheap=None), charge_state(), now=now)) == []
    site = cheap_site(demo)
    assert cheap_grid_window(ctx(site, charge_state(charging=None), now=now)) == []
    assert cheap_grid_window(ctx(site, state({"grid_charge_on": 0.0}), now=now)) == []
    off_grid = site.model_copy(update={"grid": Grid(present=False)})
    assert cheap_grid_window(ctx(off_grid, charge_state(), now=now)) == []
    no_battery = site.model_copy(update={"battery": None})
    assert cheap_grid_window(ctx(no_battery, charge_state(), now=now)) == []


def test_rules_exported() -> None:
    assert {(r.name, r.category, r.schedule) for r in RULES} == {
        ("excess_solar_idle_miners", "opportunity", "batch"),
        ("cheap_grid_window", "opportunity", "periodic"),
    }
    assert AlertThresholds().excess_solar_kw == 1.0
