"""Load rules: high load, daily energy with projection, and the consumption-anomaly
detector on a real household year (false alarms) with injected anomalies (recall).

Data: davidusb-geek/emhass ``long_train_data`` exported to
``emhass_long_train_data_2024-2025_30min.csv`` (MIT); see ``tests/tools/alert_data.py``.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from tests.tools.alert_data import (
    Replay,
    Step,
    emhass_site,
    every,
    read_emhass_load,
    replay_rule,
)
from tools.alerts.context import History, RuleContext, Severity, Verdict
from tools.alerts.rules_load import (
    RULES,
    consumption_anomaly,
    daily_energy_high,
    high_load,
)
from tools.domain import Reading
from tools.site import AlertThresholds, Site, SwitchableLoad, demo_site_file
from tools.telemetry import SiteState

ANOMALY = "consumption_anomaly"

# --- the real household year ----------------------------------------------------------------


@pytest.fixture(scope="module")
def household() -> pd.Series:
    return read_emhass_load()


def _judged(step: Step) -> bool:
    v = step.verdicts[0]
    return v.value is not None and "comparable" not in v.summary


@pytest.fixture(scope="module")
def year_steps(household: pd.Series) -> list[Step]:
    replay = Replay({("load_power_w", ""): household}, hourly_window=timedelta(days=35))
    times = every(household.index[0].ceil("h") + timedelta(days=28), household.index[-1], "1h")
    return replay_rule(consumption_anomaly, site=emhass_site(), replay=replay, times=times)


def test_false_alarms_on_the_real_year_are_rare(year_steps: list[Step]) -> None:
    """Measured on 8,024 judged hours: 52 alerts raised (0.65 % of hours, ~1.1 a week;
    48 info, 4 warning; mostly real 2.5-3.5 kW bursts at unusual hours), an alert open
    in 1.2 % of hours."""
    judged = [s for s in year_steps if _judged(s)]
    assert len(judged) > 7500
    raised = 0
    was_open = False
    for step in year_steps:
        now_open = ANOMALY in step.open_after
        raised += now_open and not was_open
        was_open = now_open
    open_hours = sum(ANOMALY in s.open_after for s in judged)
    assert raised / len(judged) < 0.01
    assert open_hours / len(judged) < 0.015


def _inject(household: pd.Series, *, extra_w: float, count: int, seed: int) -> list[Step]:
    """Add ``extra_w`` for one hour on ``count`` random days (random local hour) and
    evaluate each at the end of its hour with no alert open."""
    rng = np.random.default_rng(seed)
    site = emhass_site()
    local_days = pd.DatetimeIndex(sorted(set(household.index.tz_convert(site.tz).normalize())))
    days = local_days[35:-1]  # after the first five weeks (history to compare with)
    hours = [
        (days[i] + timedelta(hours=int(rng.integers(0, 24)))).tz_convert("UTC")
        for i in rng.choice(len(days), count, replace=False)
    ]
    injected = household.copy()
    targets = []
    for hour in hours:
        inside = (injected.index >= hour) & (injected.index < hour + timedelta(hours=1))
        if inside.any():
            injected[inside] += extra_w
            targets.append(hour + timedelta(hours=1))
    replay = Replay({("load_power_w", ""): injected}, hourly_window=timedelta(days=35))
    return [
        replay_rule(consumption_anomaly, site=site, replay=replay, times=[t])[0] for t in targets
    ]


def test_catches_injected_three_kilowatt_hours(household: pd.Series) -> None:
    """Measured: 71 of 99 one-hour +3 kW injections flagged (+4 kW: 94 of 100; +2 kW:
    9 of 99). This house has its own
    ~2.7 kW one-hour bursts in ~1 % of hours, so +3 kW is at the edge of what can be told
    apart at under 1 % false alarms (the spread floor is the knob: 650 W gives ~82 %
    recall at ~1.25 % of hours flagged)."""
    steps = _inject(household, extra_w=3000.0, count=100, seed=7)
    assert len(steps) >= 95
    hits = [s for s in steps if s.verdicts[0].active]
    assert len(hits) / len(steps) >= 0.65
    assert all(s.verdicts[0].value is not None and s.verdicts[0].value > 0 for s in hits)


def test_catches_injected_four_kilowatt_hours(household: pd.Series) -> None:
    steps = _inject(household, extra_w=4000.0, count=100, seed=11)
    hits = [s for s in steps if s.verdicts[0].active]
    assert len(hits) / len(steps) >= 0.9


def test_anomaly_summary_explains_itself(household: pd.Series) -> None:
    steps = _inject(household, extra_w=4000.0, count=5, seed=3)
    verdict = next(s.verdicts[0] for s in steps if s.verdicts[0].active)
    assert verdict.summary.startswith("Load ")
    assert "vs usual" in verdict.summary
    assert "median of" in verdict.summary
    assert "typical spread ±" in verdict.summary
    assert verdict.severity in ("info", "warning")
    assert dict(verdict.evidence)["robust z"].startswith("+")


# --- hand-made anomaly cases ---------------------------------------------------------------

TUE_15 = pd.Timestamp("2026-06-02 15:05", tz="Europe/Paris").tz_convert("UTC")


def flat_history(
    site: Site, now: pd.Timestamp, *, usual_w: float, last_w: float, days: int = 35
) -> History:
    hours = pd.date_range(
        (now - timedelta(days=days)).floor("h"), now.floor("h") - timedelta(hours=1), freq="h"
    )
    rng = np.random.default_rng(0)
    values = usual_w + rng.normal(0, 50, len(hours))
    values[-1] = last_w
    return History(hourly={("load_power_w", "meter"): pd.Series(values, index=hours)})


def rule_ctx(
    site: Site,
    history: History | None,
    *,
    now: pd.Timestamp = TUE_15,
    state: SiteState | None = None,
    open_: dict[str, Severity] | None = None,
    thresholds: AlertThresholds | None = None,
) -> RuleContext:
    return RuleContext(
        site=site,
        state=state or SiteState(site.name),
        now=now.to_pydatetime(),
        thresholds=thresholds or site.alerts,
        open_alerts=open_ or {},
        history=history,
    )


def only(verdicts: list[Verdict], rule: str) -> Verdict:
    assert [v.rule for v in verdicts] == [rule]
    return verdicts[0]


def test_rules_are_registered_with_their_schedules() -> None:
    assert [(r.name, r.schedule) for r in RULES] == [
        ("high_load", "batch"),
        ("daily_energy_high", "periodic"),
        ("consumption_anomaly", "periodic"),
    ]


def test_anomaly_flags_a_spike_and_says_what_is_usual() -> None:
    site = emhass_site()
    verdict = only(
        consumption_anomaly(rule_ctx(site, flat_history(site, TUE_15, usual_w=1100, last_w=4200))),
        ANOMALY,
    )
    assert verdict.active is True
    assert verdict.severity == "info"  # z = 3.1 kW / 0.7 kW = 4.5
    assert verdict.summary.startswith("Load 4.20 kW at 14:00 Tue 02 Jun vs usual 1.08 kW")
    assert "(median of 20 weekdays at 14:00, typical spread ±0.70 kW)" in verdict.summary
    big = flat_history(site, TUE_15, usual_w=1100, last_w=6000)  # z = 7
    assert only(consumption_anomaly(rule_ctx(site, big)), ANOMALY).severity == "warning"


def test_anomaly_quiet_for_an_ordinary_hour_and_without_enough_history() -> None:
    site = emhass_site()
    normal = flat_history(site, TUE_15, usual_w=1100, last_w=1300)
    assert only(consumption_anomaly(rule_ctx(site, normal)), ANOMALY).active is False
    short = flat_history(site, TUE_15, usual_w=1100, last_w=4200, days=2)
    verdict = only(consumption_anomaly(rule_ctx(site, short)), ANOMALY)
    assert verdict.active is False
    assert "comparable hours" in verdict.summary
    assert consumption_anomaly(rule_ctx(site, None)) == []


def test_anomaly_hysteresis() -> None:
    site = emhass_site()
    # z = 2.45 kW / 0.70 kW = 3.5: below the 4 that raises, above the 3 that clears
    middling = flat_history(site, TUE_15, usual_w=1100, last_w=3550)
    assert only(consumption_anomaly(rule_ctx(site, middling)), ANOMALY).active is False
    held = consumption_anomaly(rule_ctx(site, middling, open_={ANOMALY: "info"}))
    assert only(held, ANOMALY).active is True
    assert only(held, ANOMALY).severity == "info"


def test_unusually_low_load_is_info() -> None:
    site = emhass_site()
    verdict = only(
        consumption_anomaly(rule_ctx(site, flat_history(site, TUE_15, usual_w=5000, last_w=200))),
        ANOMALY,
    )
    assert verdict.active is True
    assert verdict.severity == "info"
    assert "less than usual" in verdict.summary


# --- high load -----------------------------------------------------------------------------


def load_state(site: Site, load_w: float, *, miners_on: bool = False) -> SiteState:
    state = SiteState(site.name)
    t = TUE_15.to_pydatetime()
    state.update(Reading(site=site.name, metric="load_power_w", time=t, value=load_w))
    if miners_on:
        for miner in site.miners:
            state.update(
                Reading(site=site.name, metric="load_on", time=t, value=1.0, device=miner.name)
            )
    return state


def test_high_load_needs_a_threshold() -> None:
    site = demo_site_file().sites[0]
    assert high_load(rule_ctx(site, None, state=load_state(site, 50_000))) == []


def test_high_load_with_hysteresis_and_miners() -> None:
    site = demo_site_file().sites[0]
    limits = AlertThresholds(high_load_kw=10.0)

    def verdict(load_w: float, open_: bool = False, miners: bool = False) -> Verdict:
        return only(
            high_load(
                rule_ctx(
                    site,
                    None,
                    state=load_state(site, load_w, miners_on=miners),
                    thresholds=limits,
                    open_={"high_load": "warning"} if open_ else None,
                )
            ),
            "high_load",
        )

    assert verdict(10_000).active is False
    raised = verdict(10_500, miners=True)
    assert raised.active is True
    assert raised.summary.startswith("Site load 10.50 kW, above the 10 kW limit.")
    assert raised.proposed_action == "stop_miners"
    assert verdict(9_600, open_=True).active is True  # within 5 % below the limit
    assert verdict(9_500, open_=True).active is False
    assert verdict(9_600).active is False


# --- energy today ----------------------------------------------------------------------------

FACTORY = Site(
    name="factory",
    timezone="Europe/Berlin",
    location=demo_site_file().sites[0].location,
    loads=[SwitchableLoad(name="line-1", kind="other", power_kw=20)],
)
EVENING = pd.Timestamp("2026-03-10 20:30", tz="Europe/Berlin").tz_convert("UTC")


def steady_history(now: pd.Timestamp, watts: float) -> History:
    hours = pd.date_range(now - timedelta(days=2), now, freq="h").floor("h")
    hourly = pd.Series(watts, index=hours[hours + timedelta(hours=1) <= now])
    raw_index = pd.date_range(now - timedelta(hours=3), now, freq="1min")
    raw = pd.Series(watts, index=raw_index)
    return History(hourly={("load_power_w", "meter"): hourly}, raw={("load_power_w", "meter"): raw})


def test_daily_energy_needs_a_threshold() -> None:
    assert daily_energy_high(rule_ctx(FACTORY, steady_history(EVENING, 15_000))) == []


def test_daily_energy_integrates_load_since_local_midnight_and_projects() -> None:
    limits = AlertThresholds(daily_energy_kwh_max=300)
    verdict = only(
        daily_energy_high(
            rule_ctx(FACTORY, steady_history(EVENING, 15_000), now=EVENING, thresholds=limits)
        ),
        "daily_energy_high",
    )
    # 20.5 h since local midnight at 15 kW
    assert verdict.value == pytest.approx(307.5, abs=0.5)
    assert verdict.active is True
    assert "308 kWh used since local midnight, above the 300 kWh daily limit" in verdict.summary
    assert "At the last 3 h pace (15.0 kW) about 360 kWh by midnight." in verdict.summary
    below = AlertThresholds(daily_energy_kwh_max=350)
    quiet = only(
        daily_energy_high(
            rule_ctx(FACTORY, steady_history(EVENING, 15_000), now=EVENING, thresholds=below)
        ),
        "daily_energy_high",
    )
    assert quiet.active is False
    assert "about 360 kWh by midnight" in quiet.summary


def test_daily_energy_prefers_the_meters_today_counter() -> None:
    limits = AlertThresholds(daily_energy_kwh_max=300)
    state = SiteState(FACTORY.name)
    state.update(
        Reading(
            site=FACTORY.name,
            metric="load_energy_today_kwh",
            time=EVENING.to_pydatetime(),
            value=120.0,
        )
    )
    verdict = only(
        daily_energy_high(
            rule_ctx(
                FACTORY,
                steady_history(EVENING, 15_000),
                now=EVENING,
                state=state,
                thresholds=limits,
            )
        ),
        "daily_energy_high",
    )
    assert verdict.active is False
    assert verdict.value == 120.0
    # yesterday's counter is not today's consumption: fall back to the power readings
    stale = SiteState(FACTORY.name)
    stale.update(
        Reading(
            site=FACTORY.name,
            metric="load_energy_today_kwh",
            time=(EVENING - timedelta(days=1)).to_pydatetime(),
            value=120.0,
        )
    )
    verdict = only(
        daily_energy_high(
            rule_ctx(
                FACTORY,
                steady_history(EVENING, 15_000),
                now=EVENING,
                state=stale,
                thresholds=limits,
            )
        ),
        "daily_energy_high",
    )
    assert verdict.active is True
