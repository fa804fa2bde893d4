"""The alert rules as pure functions of hand-built site states."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tools.alerts.rules import (
    Severity,
    Verdict,
    battery_discharge_high,
    battery_soc_low,
    device_offline,
    evaluate,
)
from tools.domain import Reading
from tools.site import AlertThresholds, Site, SwitchableLoad, demo_site_file
from tools.telemetry import SiteState

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def site() -> Site:
    return demo_site_file().sites[0]


def state(
    *,
    soc: float | None = None,
    power_w: float | None = None,
    load_w: float | None = None,
    on: dict[str, float] | None = None,
    site_name: str = "demo",
) -> SiteState:
    s = SiteState(site_name)
    values = {"battery_soc_pct": soc, "battery_power_w": power_w, "load_power_w": load_w}
    for metric, value in values.items():
        if value is not None:
            s.update(Reading(site=site_name, metric=metric, time=T0, value=value))
    for device, value in (on or {}).items():
        s.update(Reading(site=site_name, metric="load_on", time=T0, value=value, device=device))
    return s


def soc_verdict(site: Site, soc: float, current: Severity | None = None, **kw: object) -> Verdict:
    verdict = battery_soc_low(site, state(soc=soc, **kw), current=current)  # type: ignore[arg-type]
    assert verdict is not None
    assert verdict.rule == "battery_soc_low"
    return verdict


# --- battery SOC ----------------------------------------------------------------------------------


def test_no_alert_at_45_pct(site: Site) -> None:
    verdict = soc_verdict(site, 45.0)
    assert verdict.active is False
    assert verdict.value == 45.0


def test_exactly_at_warning_threshold_is_not_an_alert(site: Site) -> None:
    assert soc_verdict(site, 40.0).active is False


def test_warning_below_40(site: Site) -> None:
    verdict = soc_verdict(site, 39.9, power_w=-1200.0)
    assert verdict.active is True
    assert verdict.severity == "warning"
    assert verdict.title == "Battery low at Demo home lab"
    assert "Battery at 39.9 % (threshold 40 %)" in verdict.summary
    assert "discharging at 1.20 kW" in verdict.summary
    assert "Minimum SOC for this site is 20 %" in verdict.summary
    assert verdict.value == 39.9


def test_critical_below_30(site: Site) -> None:
    verdict = soc_verdict(site, 29.5)
    assert verdict.active is True
    assert verdict.severity == "critical"
    assert verdict.title == "Battery critically low at Demo home lab"
    assert "threshold 30 %" in verdict.summary
    assert soc_verdict(site, 30.0).severity == "warning"


def test_open_warning_stays_active_at_41_and_clears_at_42(site: Site) -> None:
    # Without an open alert 41 % is fine; with one, the alert needs 42 % to clear.
    assert soc_verdict(site, 41.0).active is False
    held = soc_verdict(site, 41.0, current="warning")
    assert held.active is True and held.severity == "warning"
    assert soc_verdict(site, 41.99, current="warning").active is True
    assert soc_verdict(site, 42.0, current="warning").active is False
    assert soc_verdict(site, 43.5, current="warning").active is False


def test_open_critical_stays_critical_at_31(site: Site) -> None:
    assert soc_verdict(site, 31.0).severity == "warning"
    held = soc_verdict(site, 31.0, current="critical")
    assert held.active is True and held.severity == "critical"
    assert soc_verdict(site, 32.0, current="critical").severity == "warning"
    # an open critical alert still clears with the widened warning threshold
    assert soc_verdict(site, 41.0, current="critical").active is True
    assert soc_verdict(site, 42.0, current="critical").active is False


def test_open_warning_escalates_below_30(site: Site) -> None:
    assert soc_verdict(site, 31.0, current="warning").severity == "warning"
    assert soc_verdict(site, 29.9, current="warning").severity == "critical"


def test_custom_thresholds_from_site_file_are_honoured(site: Site) -> None:
    custom = site.model_copy(
        update={"alerts": AlertThresholds(soc_warning_pct=60, soc_critical_pct=50)}
    )
    assert soc_verdict(site, 55.0).active is False
    verdict = soc_verdict(custom, 55.0)
    assert verdict.active is True and verdict.severity == "warning"
    assert "threshold 60 %" in verdict.summary
    assert soc_verdict(custom, 49.0).severity == "critical"
    assert soc_verdict(custom, 61.0, current="warning").active is True
    assert soc_verdict(custom, 62.0, current="warning").active is False


def test_no_soc_reading_no_verdict(site: Site) -> None:
    assert battery_soc_low(site, state(power_w=-500.0), current=None) is None


# --- proposed action ------------------------------------------------------------------------------


def test_stop_miners_proposed_only_when_a_miner_is_on(site: Site) -> None:
    all_off = {"miner-1": 0.0, "miner-2": 0.0, "miner-3": 0.0}
    off = soc_verdict(site, 35.0, on=all_off)
    assert off.active and off.proposed_action is None
    assert "Miners running" not in off.summary

    no_readings = soc_verdict(site, 35.0)
    assert no_readings.proposed_action is None

    one_on = soc_verdict(site, 35.0, on={**all_off, "miner-2": 1.0})
    assert one_on.proposed_action == "stop_miners"
    assert "Miners running: miner-2." in one_on.summary


def test_a_running_pump_is_not_a_miner(site: Site) -> None:
    with_pump = site.model_copy(
        update={"loads": [*site.loads, SwitchableLoad(name="pump", kind="pump", power_kw=0.5)]}
    )
    verdict = soc_verdict(with_pump, 35.0, on={"pump": 1.0, "miner-1": 0.0})
    assert verdict.active and verdict.proposed_action is None


def test_inactive_verdict_proposes_nothing(site: Site) -> None:
    verdict = soc_verdict(site, 80.0, on={"miner-1": 1.0})
    assert verdict.active is False and verdict.proposed_action is None


# --- battery discharge ----------------------------------------------------------------------------


def discharge(site: Site, power_w: float, current: Severity | None = None, **kw: object) -> Verdict:
    verdict = battery_discharge_high(
        site,
        state(power_w=power_w, **kw),  # type: ignore[arg-type]
        current=current,
    )
    assert verdict is not None and verdict.rule == "battery_discharge_high"
    return verdict


def test_discharge_above_5_kw_warns(site: Site) -> None:
    assert discharge(site, -5000.0).active is False
    assert discharge(site, 6000.0).active is False, "charging is not discharging"
    verdict = discharge(site, -5100.0, load_w=5400.0, on={"miner-1": 1.0, "miner-3": 1.0})
    assert verdict.active is True and verdict.severity == "warning"
    assert verdict.value == pytest.approx(5.1)
    assert verdict.title == "Fast battery discharge at Demo home lab"
    assert "Battery discharging at 5.10 kW (limit 5 kW)." in verdict.summary
    assert "Site load 5.40 kW." in verdict.summary
    assert "Miners running: miner-1, miner-3." in verdict.summary
    assert verdict.proposed_action == "stop_miners"
    assert discharge(site, -5100.0).proposed_action is None


def test_discharge_hysteresis(site: Site) -> None:
    assert discharge(site, -4800.0).active is False
    assert discharge(site, -4800.0, current="warning").active is True
    assert discharge(site, -4510.0, current="warning").active is True
    assert discharge(site, -4500.0, current="warning").active is False


def test_discharge_limit_from_site_file(site: Site) -> None:
    custom = site.model_copy(update={"alerts": AlertThresholds(discharge_warning_kw=2.0)})
    assert discharge(site, -3000.0).active is False
    assert discharge(custom, -3000.0).active is True


def test_no_power_reading_no_discharge_verdict(site: Site) -> None:
    assert battery_discharge_high(site, state(soc=50.0), current=None) is None


# --- evaluate -------------------------------------------------------------------------------------


def test_no_battery_no_verdict(site: Site) -> None:
    no_battery = site.model_copy(update={"battery": None})
    full = state(soc=10.0, power_w=-9000.0, on={"miner-1": 1.0})
    assert battery_soc_low(no_battery, full, current=None) is None
    assert battery_discharge_high(no_battery, full, current="warning") is None
    assert evaluate(no_battery, full, open_alerts={}, now=T0) == []


def test_evaluate_runs_every_rule_with_its_open_severity(site: Site) -> None:
    s = state(soc=41.0, power_w=-4800.0)
    fresh = {v.rule: v for v in evaluate(site, s, open_alerts={}, now=T0)}
    assert set(fresh) == {"battery_soc_low", "battery_discharge_high"}
    assert not fresh["battery_soc_low"].active and not fresh["battery_discharge_high"].active
    held = {
        v.rule: v
        for v in evaluate(
            site,
            s,
            open_alerts={"battery_soc_low": "warning", "battery_discharge_high": "warning"},
            now=T0,
        )
    }
    assert held["battery_soc_low"].active and held["battery_discharge_high"].active


def test_latest_reading_wins(site: Site) -> None:
    s = state(soc=35.0)
    s.update(Reading(site="demo", metric="battery_soc_pct", time=T0.replace(hour=13), value=50.0))
    s.update(Reading(site="demo", metric="battery_soc_pct", time=T0.replace(hour=11), value=10.0))
    verdict = battery_soc_low(site, s, current=None)
    assert verdict is not None and verdict.active is False and verdict.value == 50.0


def test_a_silent_device_goes_offline_after_its_stale_time(site: Site) -> None:
    # The demo's simulator device: interval 10 s, so stale after 3 x 10 + 30 = 60 s.
    s = state(soc=50.0)
    s.watching_since = T0
    assert [v.active for v in device_offline(site, s, now=T0 + timedelta(seconds=60))] == [False]
    s.device_errors["simulator"] = "connection refused"
    late = device_offline(site, s, now=T0 + timedelta(seconds=61))
    assert [v.active for v in late] == [True]
    assert late[0].rule == "device_offline:simulator"
    assert "no reading since the bot started" in late[0].summary
    assert "Last error: connection refused" in late[0].summary
    s.mark_seen("simulator", T0 + timedelta(minutes=5))
    back = device_offline(site, s, now=T0 + timedelta(minutes=5, seconds=30))
    assert [v.active for v in back] == [False]
    silent = device_offline(site, s, now=T0 + timedelta(hours=3))
    assert silent[0].active and "silent for 2.9 h" in silent[0].summary


def test_device_offline_honours_stale_after(site: Site) -> None:
    device = site.devices[0].model_copy(update={"stale_after_s": 600.0})
    slow = site.model_copy(update={"devices": [device]})
    s = state(soc=50.0)
    s.mark_seen("simulator", T0)
    assert not device_offline(slow, s, now=T0 + timedelta(seconds=599))[0].active
    assert device_offline(slow, s, now=T0 + timedelta(seconds=601))[0].active
