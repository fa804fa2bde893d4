"""Solar under-performance on real data (a snowfall outage, clear summer days) and on
hand-made cases (hysteresis, night, gaps, missing history).

Data: pvlib/pvanalytics ``snow_data.csv``/``snow_snowfall.csv`` and
``serf_east_15min_ac_power.csv``/``serf_east_psm3_data.csv`` (MIT; NREL PVDAQ, Sandia);
see ``tests/tools/alert_data.py``.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from tests.tools.alert_data import (
    Replay,
    Step,
    every,
    read_serf_pv,
    read_snow_pv,
    read_snowfall,
    replay_rule,
    serf_clear_days,
    serf_site,
    snow_site,
)
from tools.alerts.context import History, RuleContext, Severity, Verdict
from tools.alerts.rules_solar import RULES, solar_underperformance
from tools.domain import Reading
from tools.forecast.solar import clear_sky_power_w
from tools.site import Battery, Site
from tools.telemetry import SiteState

RULE = "solar_underperformance"


def _active(step: Step) -> Verdict | None:
    return next((v for v in step.verdicts if v.rule == RULE and v.active), None)


# --- the snowfall of January 2022 ------------------------------------------------------


@pytest.fixture(scope="module")
def snow_steps() -> list[Step]:
    pv = read_snow_pv()
    replay = Replay({("pv_power_w", "inv1"): pv}, raw_window=timedelta(hours=4))
    times = every(pv.index[0].floor("D"), pv.index[-1].ceil("h"), "30min")
    return replay_rule(solar_underperformance, site=snow_site(), replay=replay, times=times)


def _local_day(step: Step, site: Site) -> date:
    return step.time.tz_convert(site.tz).date()


def test_raises_on_the_snowfall_day(snow_steps: list[Step]) -> None:
    """38 mm of snow fell in the 24 h before 07:00 on 2022-01-07; the array then gave
    0-4 kW where even the dull days before gave ~30 % of clear-sky."""
    site = snow_site()
    snowfall = read_snowfall()
    snow_day = max(snowfall.index, key=lambda d: snowfall[d])
    assert snow_day == date(2022, 1, 7)
    raised = [s for s in snow_steps if _local_day(s, site) == snow_day and _active(s)]
    assert raised, "no alert on the snowfall day"
    first = _active(raised[0])
    assert first is not None
    assert first.severity == "warning"
    assert first.category == "solar"
    assert first.value is not None and first.value < 0.5
    assert "clear-sky index" in first.summary
    assert "expected" in first.summary
    assert dict(first.evidence)["actual / expected"].endswith("%")
    # raised in the morning and open through the afternoon of that day
    assert raised[0].time.tz_convert(site.tz).hour <= 11
    afternoon = [
        s
        for s in snow_steps
        if _local_day(s, site) == snow_day and s.time.tz_convert(site.tz).hour == 14
    ]
    assert all(RULE in s.open_after for s in afternoon)


def test_snow_alert_holds_overnight_and_resolves_when_output_returns(
    snow_steps: list[Step],
) -> None:
    site = snow_site()
    night = [
        s
        for s in snow_steps
        if s.time.tz_convert(site.tz) == pd.Timestamp("2022-01-08 03:00", tz=site.tz)
    ]
    assert night and RULE in night[0].open_after
    assert "Sun too low" in night[0].verdicts[0].summary
    jan8 = [s for s in snow_steps if _local_day(s, site) == date(2022, 1, 8)]
    resolved = [s for s in jan8 if s.verdicts and not s.verdicts[0].active and s.open_after == {}]
    assert resolved, "the alert should resolve on the sunny 8th (19 kW at noon)"


def test_no_judgement_without_two_days_of_history(snow_steps: list[Step]) -> None:
    site = snow_site()
    first_day = _local_day(snow_steps[0], site)
    assert not any(_active(s) for s in snow_steps if _local_day(s, site) == first_day)


# --- clear days at NREL SERF East ---------------------------------------------------------

SERF_CAPPED_DAY = date(2016, 9, 29)
"""Satellite-clear (PSM3 GHI = clear-sky all day) but the array's output was flat-topped
at ~2.3 kW, about half of its clear-day output: a real shortfall of the array, not sky."""


@pytest.fixture(scope="module")
def serf_replay() -> Replay:
    return Replay({("pv_power_w", "east"): read_serf_pv()}, raw_window=timedelta(hours=4))


def _daytime(days: list[date], site: Site, step: str = "30min") -> list[pd.Timestamp]:
    times: list[pd.Timestamp] = []
    for day in days:
        start = pd.Timestamp(day).tz_localize(site.tz) + timedelta(hours=6)
        times.extend(pd.date_range(start, start + timedelta(hours=14), freq=step))
    return times


def test_quiet_on_clear_days(serf_replay: Replay) -> None:
    site = serf_site()
    days = [d for d in serf_clear_days() if d != SERF_CAPPED_DAY and d >= date(2016, 7, 3)]
    assert len(days) >= 20
    steps = replay_rule(
        solar_underperformance, site=site, replay=serf_replay, times=_daytime(days, site, "1h")
    )
    judged = [s for s in steps if s.verdicts and s.verdicts[0].value is not None]
    assert len(judged) >= 8 * len(days)
    alarms = [(s.time, v.summary) for s in steps if (v := _active(s)) is not None]
    assert alarms == []


def test_flags_the_capped_clear_day(serf_replay: Replay) -> None:
    site = serf_site()
    steps = replay_rule(
        solar_underperformance,
        site=site,
        replay=serf_replay,
        times=_daytime([SERF_CAPPED_DAY], site),
    )
    judged = [
        (s.time.tz_convert(site.tz).hour, v.value)
        for s in steps
        if (v := _active(s)) is not None and v.value is not None
    ]
    assert len(judged) >= 6  # three hours or more
    assert judged[0][0] <= 11
    assert all(value < 0.6 for _, value in judged)  # never back above the clearing level
    assert all(value < 0.5 for hour, value in judged if 11 <= hour <= 14)


# --- hand-made cases ---------------------------------------------------------------------

NOON = pd.Timestamp("2016-08-14 19:00", tz="UTC")  # 13:00 MDT, a clear August day


def synthetic(
    site: Site,
    now: pd.Timestamp,
    *,
    factor: float | np.ndarray = 1.0,
    past: float = 0.9,
    past_days: int = 8,
    hours: float = 3.0,
    step: str = "5min",
    drop: slice | None = None,
) -> History:
    """Past days at ``past`` × clear-sky (hourly means), recent raw at ``factor`` × clear-sky."""
    hour_starts = pd.date_range(
        (now - timedelta(days=past_days)).floor("h"), now.floor("h") - timedelta(hours=1), freq="h"
    )
    hourly_cs = clear_sky_power_w(site, hour_starts + timedelta(minutes=30))
    hourly = pd.Series(hourly_cs.to_numpy() * past, index=hour_starts)
    raw_times = pd.date_range(now - timedelta(hours=hours), now, freq=step)
    raw = clear_sky_power_w(site, raw_times) * factor
    if drop is not None:
        raw = raw.drop(raw.index[drop])
    return History(hourly={("pv_power_w", "inv"): hourly}, raw={("pv_power_w", "inv"): raw})


def context(
    site: Site,
    history: History | None,
    *,
    now: pd.Timestamp = NOON,
    open_: Severity | None = None,
    state: SiteState | None = None,
) -> RuleContext:
    return RuleContext(
        site=site,
        state=state or SiteState(site.name),
        now=now.to_pydatetime(),
        thresholds=site.alerts,
        open_alerts={RULE: open_} if open_ else {},
        history=history,
    )


def one(verdicts: list[Verdict]) -> Verdict:
    assert len(verdicts) == 1
    assert verdicts[0].rule == RULE
    return verdicts[0]


def test_registered_as_periodic() -> None:
    assert [(r.name, r.schedule, r.category) for r in RULES] == [(RULE, "periodic", "solar")]


def test_no_history_or_no_pv_gives_nothing() -> None:
    site = serf_site()
    assert solar_underperformance(context(site, None)) == []
    bare = site.model_copy(update={"pv_arrays": []})
    assert solar_underperformance(context(bare, synthetic(site, NOON))) == []


def test_normal_output_is_not_an_alert() -> None:
    site = serf_site()
    verdict = one(solar_underperformance(context(site, synthetic(site, NOON, factor=0.9))))
    assert verdict.active is False
    assert verdict.value == pytest.approx(1.0, abs=0.05)


def test_sustained_low_output_raises_with_explanation() -> None:
    site = serf_site()
    verdict = one(solar_underperformance(context(site, synthetic(site, NOON, factor=0.2))))
    assert verdict.active is True
    assert verdict.severity == "warning"
    assert verdict.value == pytest.approx(0.2 / 0.9, abs=0.03)
    assert "22%" in verdict.summary
    assert "0.90" in verdict.summary  # the clear-sky index used
    assert "below the 50% threshold" in verdict.summary
    evidence = dict(verdict.evidence)
    assert evidence["for"] == "2.4 h"  # the raw window the rule looks at: 60 min + 2 gaps
    assert evidence["clear-sky index"].startswith("0.90 (7 days")


def test_a_dip_shorter_than_the_threshold_does_not_raise() -> None:
    site = serf_site()
    n = 37  # 3 h at 5 min
    factor = np.full(n, 0.9)
    factor[-10:] = 0.2  # 45 min low
    verdict = one(solar_underperformance(context(site, synthetic(site, NOON, factor=factor))))
    assert verdict.active is False


def test_gaps_in_the_readings_are_tolerated() -> None:
    site = serf_site()
    history = synthetic(site, NOON, factor=0.2, step="15min", drop=slice(4, 6))  # 45 min gap
    assert one(solar_underperformance(context(site, history))).active is True


def test_hysteresis_between_ratio_and_ratio_plus_margin() -> None:
    site = serf_site()
    middling = synthetic(site, NOON, factor=0.9 * 0.55)  # 55 % of expected
    assert one(solar_underperformance(context(site, middling))).active is False
    assert one(solar_underperformance(context(site, middling, open_="warning"))).active is True
    recovered = synthetic(site, NOON, factor=0.9 * 0.65)
    verdict = one(solar_underperformance(context(site, recovered, open_="warning")))
    assert verdict.active is False
    assert "recovered" in verdict.summary


def test_night_holds_an_open_alert_and_stays_quiet_otherwise() -> None:
    site = serf_site()
    night = pd.Timestamp("2016-08-15 08:00", tz="UTC")  # 02:00 MDT
    history = synthetic(site, night, factor=0.0)
    assert one(solar_underperformance(context(site, history, now=night))).active is False
    held = one(solar_underperformance(context(site, history, now=night, open_="warning")))
    assert held.active is True


def test_needs_two_days_of_history() -> None:
    site = serf_site()
    history = synthetic(site, NOON, factor=0.1, past_days=1)
    verdict = one(solar_underperformance(context(site, history)))
    assert verdict.active is False
    assert "day(s) of PV history" in verdict.summary


def test_a_full_battery_may_curtail_pv() -> None:
    site = serf_site().model_copy(update={"battery": Battery(capacity_kwh=10)})
    state = SiteState(site.name)
    state.update(
        Reading(site=site.name, metric="battery_soc_pct", time=NOON.to_pydatetime(), value=100.0)
    )
    history = synthetic(site, NOON, factor=0.1)
    verdict = one(solar_underperformance(context(site, history, state=state)))
    assert verdict.active is False
    assert "curtailed" in verdict.summary


def test_a_dark_week_floors_the_index_at_0_3() -> None:
    site = serf_site()
    history = synthetic(site, NOON, factor=0.2, past=0.1)  # a dark week, then 20 %
    verdict = one(solar_underperformance(context(site, history)))
    assert "0.30" in dict(verdict.evidence).get("clear-sky index", "0.30")
    assert verdict.active is False  # 20 % of clear-sky is 67 % of 0.3 × clear-sky
    dead = synthetic(site, NOON, factor=0.05, past=0.1)
    assert one(solar_underperformance(context(site, dead))).active is True
