"""What was unusual this week, on measured data.

Data: ``load/emhass_long_train_data_2024-2025_30min.csv`` (davidusb-geek/emhass, MIT): one
year of a French household's load and measured PV at 30 min (see its ``.source.txt``).
The generator series in the last test is synthetic (no real generator log exists) and is
labelled so.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from tests.conftest import shared_data
from tests.tools.alert_data import read_emhass_load
from tools.reports.anomalies import MIN_HISTORY_DAYS, find_anomalies, render

PARIS = ZoneInfo("Europe/Paris")
# A week in May 2024 and the four before it: spring, no heating, nothing remarkable.
QUIET_WEEK_END = datetime(2024, 5, 15, tzinfo=UTC)


def _hourly() -> dict[str, pd.Series]:
    load = read_emhass_load().resample("h").mean()
    df = pd.read_csv(shared_data("load/emhass_long_train_data_2024-2025_30min.csv"))
    index = pd.DatetimeIndex(pd.to_datetime(df["timestamp_utc"], utc=True))
    # NaN PV is night (EMHASS reads it as 0); the start of the file has no PV at all
    pv = pd.Series(df["sensor.power_photovoltaics"].fillna(0.0).to_numpy(), index=index)
    return {"load_power_w": load, "pv_power_w": pv.resample("h").mean()}


@pytest.fixture(scope="module")
def hourly() -> dict[str, pd.Series]:
    return _hourly()


def test_most_ordinary_weeks_have_nothing_unusual(hourly: dict[str, pd.Series]) -> None:
    """Over 40 weeks of a real household, most weeks give no finding and none a flood."""
    counts = []
    for end in pd.date_range("2024-05-01", "2025-02-20", freq="7D", tz="UTC"):
        report = find_anomalies(hourly, now=end.to_pydatetime(), tz=PARIS)
        assert report.enough_history
        counts.append(len(report.findings))
    assert len(counts) >= 40
    assert np.mean(np.array(counts) == 0) >= 0.45, counts
    assert np.mean(counts) <= 1.2, counts
    quiet = find_anomalies(hourly, now=QUIET_WEEK_END, tz=PARIS)
    assert quiet.findings == []
    assert render(quiet, site="EMHASS house").startswith(
        "Nothing unusual at EMHASS house this week, compared with the 28 days before (load, PV)"
    )


@pytest.mark.parametrize(("extra_w", "hours"), [(2000.0, 5), (1000.0, 4)])
def test_a_load_left_on_at_night_is_found_with_its_hours(
    hourly: dict[str, pd.Series], extra_w: float, hours: int
) -> None:
    """A heater (or a miner) left on in the small hours of a quiet week is the finding."""
    start = pd.Timestamp("2024-05-11 23:00", tz="UTC")  # 01:00 Sunday in Paris
    load = hourly["load_power_w"].copy()
    inside = (load.index >= start) & (load.index < start + pd.Timedelta(hours=hours))
    load[inside] += extra_w
    report = find_anomalies({**hourly, "load_power_w": load}, now=QUIET_WEEK_END, tz=PARIS)
    [finding] = report.findings
    assert finding.kind == "level" and finding.metric == "load_power_w"
    assert abs(finding.start - start.to_pydatetime()) <= timedelta(hours=1)
    assert abs(finding.end - (start + pd.Timedelta(hours=hours)).to_pydatetime()) <= timedelta(
        hours=1
    )
    measured = float(load[(load.index >= finding.start) & (load.index < finding.end)].mean())
    assert finding.value == pytest.approx(measured / 1000.0)
    assert finding.value is not None and finding.usual is not None
    assert finding.value - finding.usual > 0.8 * extra_w / 1000.0
    text = render(report, site="EMHASS house")
    assert text.splitlines()[0].startswith("1 unusual thing at EMHASS house this week")
    assert "Load above usual Sun 0" in text


def test_a_device_that_stops_reporting_is_a_gap(hourly: dict[str, pd.Series]) -> None:
    load = hourly["load_power_w"].dropna()
    gap_start = pd.Timestamp("2024-05-12 10:00", tz="UTC")
    gap = load.index[(load.index >= gap_start) & (load.index < gap_start + pd.Timedelta(hours=6))]
    report = find_anomalies(
        {"load_power_w": load.drop(gap)},
        now=QUIET_WEEK_END,
        tz=PARIS,
        presence={"emhass-meter": load.index.difference(gap)},
    )
    [finding] = report.findings
    assert finding.kind == "gap" and finding.start == gap_start.to_pydatetime()
    assert finding.text == "No readings from emhass-meter Sun 12:00–18:00 (6 h)"
    # the same data with nothing missing: no gap
    clean = find_anomalies(
        {"load_power_w": load}, now=QUIET_WEEK_END, tz=PARIS, presence={"emhass-meter": load.index}
    )
    assert clean.findings == []


def test_too_little_history_is_said_with_the_days(hourly: dict[str, pd.Series]) -> None:
    first = hourly["load_power_w"].dropna().index[0]  # the file starts on 2024-02-28
    now = (first + pd.Timedelta(days=7 + 4)).to_pydatetime()
    report = find_anomalies(hourly, now=now, tz=PARIS)
    assert not report.enough_history and report.history_days < MIN_HISTORY_DAYS
    assert render(report, site="EMHASS house").startswith(
        f"Not enough history at EMHASS house to say what is unusual: {report.history_days} day"
    )


def test_a_generator_running_far_longer_than_usual_is_found(
    hourly: dict[str, pd.Series],
) -> None:
    """Synthetic generator (no real log exists): one hour every evening, then one 9 h day."""
    index = hourly["load_power_w"].index
    running = pd.Series(0.0, index=index)
    local_hour = index.tz_convert(PARIS).hour
    running[local_hour == 19] = 1.0
    long_day = (index >= pd.Timestamp("2024-05-10 06:00", tz="UTC")) & (
        index < pd.Timestamp("2024-05-10 15:00", tz="UTC")
    )
    running[long_day] = 1.0
    report = find_anomalies({**hourly, "generator_running": running}, now=QUIET_WEEK_END, tz=PARIS)
    [finding] = report.findings
    assert finding.kind == "generator"
    assert finding.text == "Generator ran 10.0 h on Fri 10 May, usually 1.0 h a day"
