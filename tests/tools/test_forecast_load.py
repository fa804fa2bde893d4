"""Load forecast and its backtest: no look-ahead, ordered quantiles, weekly
patterns, the real household year, and the ``backtest load`` command."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from bot.commands.backtest_load import load as load_command
from tests.conftest import shared_data
from tools.forecast.backtest import BacktestDataError, read_backtest_csv
from tools.forecast.backtest_load import backtest_load, plot_load_backtest
from tools.forecast.load import forecast_load
from tools.forecast.scoring import pinball_loss

TZ = "Europe/Paris"
# measured on the full year from 2024-04-01: skill 0.205 (see the README); the
# test scores 2024-11-01..2025-01-31 (measured 0.17x) with a margin
REAL_SKILL_FLOOR = 0.14


def _weekly(days: int = 70, *, noise_w: float = 30.0, seed: int = 1) -> pd.Series:
    """A factory: 3 kW on weekdays 08-17 local, 300 W otherwise, plus noise, 30-min steps."""
    idx = pd.date_range("2024-01-01", periods=days * 48, freq="30min", tz=TZ)
    busy = (idx.day_of_week < 5) & (idx.hour >= 8) & (idx.hour < 17)
    rng = np.random.default_rng(seed)
    values = np.where(busy, 3000.0, 300.0) + rng.normal(0.0, noise_w, len(idx))
    return pd.Series(values, index=idx.tz_convert("UTC"), name="load_w")


def _midnight(day: str) -> pd.Timestamp:
    return pd.Timestamp(day).tz_localize(TZ).tz_convert("UTC")


def test_quantiles_ordered_and_on_the_hour() -> None:
    history = _weekly(noise_w=200.0)
    start = _midnight("2024-03-04")
    fc = forecast_load(history[history.index < start], start=start, hours=48, tz=TZ)
    assert len(fc.p50_w) == 48
    assert fc.p50_w.index[0] == start
    assert str(fc.p50_w.index.tz) == "UTC"
    assert fc.method == "regression+median"
    for series in (fc.p10_w, fc.p50_w, fc.p90_w):
        assert series.notna().all()
    assert (fc.p10_w <= fc.p50_w).all() and (fc.p50_w <= fc.p90_w).all()
    assert (fc.p10_w >= 0).all()
    assert (fc.p90_w > fc.p10_w).mean() > 0.9  # a real band, not a line


def test_weekly_pattern_recovered() -> None:
    history = _weekly()
    start = _midnight("2024-03-08")  # a Friday: then Saturday
    fc = forecast_load(history[history.index < start], start=start, hours=48, tz=TZ)
    local = fc.p50_w.index.tz_convert(TZ)
    busy = (local.day_of_week < 5) & (local.hour >= 8) & (local.hour < 17)
    expected = np.where(busy, 3000.0, 300.0)
    np.testing.assert_allclose(fc.p50_w.to_numpy(), expected, atol=150.0)
    # Saturday stays at the base load although Friday was busy
    saturday = fc.p50_w[local.day_of_week == 5]
    assert saturday.max() < 500.0


def _night_heater(days: int = 70, *, seed: int = 3) -> pd.Series:
    """300 W base; on a random 40 % of nights a 3 kW heater runs 23:00-01:00 local."""
    idx = pd.date_range("2024-01-01", periods=days * 48, freq="30min", tz=TZ)
    rng = np.random.default_rng(seed)
    nights = rng.random(days) < 0.4
    values = 300.0 + rng.normal(0.0, 20.0, len(idx))
    day = (idx.normalize().tz_localize(None) - pd.Timestamp("2024-01-01")).days.to_numpy()
    late = (idx.hour == 23) & nights[day]
    early = (idx.hour == 0) & (day > 0) & nights[np.maximum(day - 1, 0)]
    values[late | early] += 3000.0
    return pd.Series(values, index=idx.tz_convert("UTC"), name="load_w")


def test_what_runs_at_midnight_carries_into_the_first_hour() -> None:
    history = _night_heater()
    local = history.index.tz_convert(TZ)
    on_nights = {t.date() for t in local[(local.hour == 23) & (history.to_numpy() > 2000)]}
    days = sorted({t.date() for t in local})[30:-1]
    for on in (True, False):
        night = next(d for d in days if (d in on_nights) is on)
        start = _midnight(str(night + pd.Timedelta(days=1)))
        fc = forecast_load(history[history.index < start], start=start, hours=24, tz=TZ)
        first_hour_w = float(fc.p50_w.iloc[0])
        if on:
            assert first_hour_w > 2000.0, first_hour_w  # the heater still runs at 00:00
        else:
            assert first_hour_w < 800.0, first_hour_w
        assert float(fc.p50_w.iloc[3]) < 800.0  # and is off again by 03:00


def test_short_history_falls_back_to_weighted_median() -> None:
    history = _weekly(days=5)
    start = history.index[-1] + pd.Timedelta(minutes=30)
    fc = forecast_load(history, start=start, hours=24, tz=TZ)
    assert fc.method == "median"
    assert (fc.p10_w <= fc.p50_w).all() and (fc.p50_w <= fc.p90_w).all()


def test_no_history_is_an_error() -> None:
    history = _weekly(days=3)
    with pytest.raises(ValueError, match="no load history"):
        forecast_load(history, start=history.index[0], hours=24, tz=TZ)


def test_no_look_ahead() -> None:
    history = _weekly(noise_w=150.0)
    start = _midnight("2024-03-04")
    clean = forecast_load(history, start=start, hours=24, tz=TZ)
    poisoned = history.copy()
    poisoned[poisoned.index >= start] = 1e6
    again = forecast_load(poisoned, start=start, hours=24, tz=TZ)
    pd.testing.assert_series_equal(clean.p50_w, again.p50_w)
    pd.testing.assert_series_equal(clean.p90_w, again.p90_w)

    # the backtest score of a day does not change when later rows are poisoned
    frame = history.to_frame()
    day = date(2024, 3, 4)
    end = _midnight("2024-03-05")
    poisoned_frame = frame.copy()
    poisoned_frame.loc[poisoned_frame.index >= end, "load_w"] = 1e6
    a = backtest_load(frame[frame.index < end], score_from=day, tz=TZ)
    b = backtest_load(poisoned_frame, score_from=day, tz=TZ, keep_series=True)
    hourly = b["hourly"]
    first = hourly[hourly.index < end]
    a_series = backtest_load(frame[frame.index < end], score_from=day, tz=TZ, keep_series=True)
    pd.testing.assert_frame_equal(a_series["hourly"], first)
    assert a["days"] == 1 and a["hours"] == 24


def test_backtest_metrics_keys() -> None:
    result = backtest_load(_weekly().to_frame(), score_from=date(2024, 2, 19), tz=TZ)
    for key in (
        "days",
        "mae_w",
        "rmse_w",
        "bias_w",
        "nmae_mean_pct",
        "persistence_mae_w",
        "skill_vs_persistence",
        "coverage_p10_p90",
        "p10_p90_coverage_pct",
        "pinball_p10_w",
        "pinball_p90_w",
    ):
        assert key in result
    assert "nmae_capacity_pct" not in result
    # a weekly pattern beats same-hour-yesterday (which is wrong every Monday and Saturday)
    assert result["skill_vs_persistence"] > 0.3
    assert 0.0 <= result["coverage_p10_p90"] <= 1.0
    assert result["p10_p90_coverage_pct"] == pytest.approx(
        100 * result["coverage_p10_p90"], abs=0.1
    )
    assert result["pinball_p10_w"] > 0.0 and result["pinball_p90_w"] > 0.0
    # keep_series adds the hourly table and changes no score (the real-data test relies on it)
    kept = backtest_load(
        _weekly().to_frame(), score_from=date(2024, 2, 19), tz=TZ, keep_series=True
    )
    assert isinstance(kept.pop("hourly"), pd.DataFrame)
    assert kept == result


def test_real_household_winter() -> None:
    path = shared_data("load/emhass_long_train_data_2024-2025_30min.csv")
    raw = pd.read_csv(path, usecols=["timestamp_utc", "sensor.power_load_no_var_loads"])
    load = raw["sensor.power_load_no_var_loads"].to_numpy(dtype=np.float64)
    index = pd.DatetimeIndex(pd.to_datetime(raw["timestamp_utc"], utc=True))
    frame = pd.DataFrame({"load_w": np.where(load > 0, load, np.nan)}, index=index)  # 0 = missing
    frame = frame[frame.index < _midnight("2025-02-01")]
    # one backtest: keep_series only adds the hourly table to the same scores
    result = backtest_load(frame, score_from=date(2024, 11, 1), tz=TZ, keep_series=True)
    assert result["days"] >= 85
    assert result["skill_vs_persistence"] >= max(REAL_SKILL_FLOOR, 0.12)
    assert 0.7 <= result["coverage_p10_p90"] <= 0.9
    assert 70.0 <= result["p10_p90_coverage_pct"] <= 90.0
    # a calibrated band beats the median used as both bounds on pinball loss
    hourly = result["hourly"].dropna()
    a, p50 = hourly["actual_w"].to_numpy(), hourly["p50_w"].to_numpy()
    assert result["pinball_p10_w"] < pinball_loss(a, p50, 0.1)
    assert result["pinball_p90_w"] < pinball_loss(a, p50, 0.9)


def _write_csv(path: Path, series: pd.Series) -> Path:
    lines = ["time,load_w"]
    lines += [f"{t.strftime('%Y-%m-%dT%H:%M:%SZ')},{v:.1f}" for t, v in series.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def cli() -> tuple[CliRunner, typer.Typer]:
    app = typer.Typer()
    app.command("load")(load_command)
    app.command("other")(lambda: None)  # keep "load" a subcommand, as under "backtest"
    return CliRunner(), app


def test_cli_json_and_plot(tmp_path: Path, cli: tuple[CliRunner, typer.Typer]) -> None:
    runner, app = cli
    csv_path = _write_csv(tmp_path / "load.csv", _weekly(days=40))
    assert not read_backtest_csv(csv_path).empty
    png = tmp_path / "week.png"
    args = ["load", "--data", str(csv_path), "--score-from", "2024-02-01", "--tz", TZ]
    result = runner.invoke(app, [*args, "--json", "--plot", str(png)])
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.output)
    assert metrics["days"] == 40 - 31
    assert metrics["skill_vs_persistence"] > 0.3
    assert png.read_bytes().startswith(b"\x89PNG")
    text = runner.invoke(app, args)
    assert text.exit_code == 0 and "skill" in text.output


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("when,load_w\n2024-01-01T00:00:00Z,1\n", "no 'time' column"),
        ("time,pv_w\n2024-01-01T00:00:00Z,1\n", "no load_w column"),
        ("time,load_w\n2024-01-01T00:00:00Z,abc\n", "not a number"),
        ("time,load_w\n2024-01-01T00:00:00,5\n", "no UTC offset"),
        ("time,load_w\n2024-01-01T00:00:00Z,5\n", "no day to score"),
    ],
)
def test_cli_bad_csv(
    tmp_path: Path, cli: tuple[CliRunner, typer.Typer], content: str, message: str
) -> None:
    runner, app = cli
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    result = runner.invoke(app, ["load", "--data", str(path)])
    assert result.exit_code == 2
    assert message in result.output


def test_cli_bad_arguments(tmp_path: Path, cli: tuple[CliRunner, typer.Typer]) -> None:
    runner, app = cli
    csv_path = _write_csv(tmp_path / "load.csv", _weekly(days=10))
    bad_day = runner.invoke(app, ["load", "--data", str(csv_path), "--score-from", "March"])
    assert bad_day.exit_code == 2 and "YYYY-MM-DD" in bad_day.output
    bad_tz = runner.invoke(app, ["load", "--data", str(csv_path), "--tz", "Mars/Olympus"])
    assert bad_tz.exit_code == 2 and "time zone" in bad_tz.output
    missing = runner.invoke(app, ["load", "--data", str(tmp_path / "nope.csv")])
    assert missing.exit_code == 2 and "cannot read" in missing.output


def test_plot_png() -> None:
    png = plot_load_backtest(_weekly(days=30).to_frame(), tz=TZ)
    assert png.startswith(b"\x89PNG")
    with pytest.raises(BacktestDataError):
        plot_load_backtest(_weekly(days=1).to_frame(), tz=TZ)


def test_long_gap_slides_the_window_back_instead_of_forecasting_nothing() -> None:
    """40 days without data (a logger outage): the features come from the last measured
    days, so the forecast keeps the weekly shape instead of NaN or zero."""
    history = _weekly(days=120)
    gap_start, start = _midnight("2024-03-01"), _midnight("2024-04-10")  # Wednesday
    before_gap = history[history.index < gap_start]
    fc = forecast_load(before_gap, start=start, hours=48, tz=TZ)
    assert fc.gap_days == 40
    assert fc.p50_w.notna().all()
    local = fc.p50_w.index.tz_convert(TZ)
    busy = (local.day_of_week < 5) & (local.hour >= 9) & (local.hour < 16)
    assert fc.p50_w[busy].min() > 2000.0  # weekday working hours stay ~3 kW
    assert fc.p50_w[~busy & (local.hour < 6)].max() < 1000.0  # nights ~300 W
    # with the window full there is no sliding
    assert forecast_load(history[history.index < start], start=start, tz=TZ).gap_days == 0


def test_backtest_with_gaps_scores_the_days_after_them_against_both_baselines() -> None:
    frame = _weekly(days=84, noise_w=150.0).to_frame()
    result = backtest_load(frame, tz=TZ, gaps=[(date(2024, 2, 5), 12)])
    after = result["after_gaps"]
    assert after["gaps"] == ["2024-02-05+12d"]
    assert after["hours"] > 24 * 7
    # the 28-day same-hour mean mixes weekdays and weekends: both beat it here
    assert after["skill_vs_persistence"] > 0.2
    assert after["skill_vs_mean28"] > 0.2
    assert result["skill_vs_mean28"] > 0.2 and result["mean28_mae_w"] > result["mae_w"]
    with pytest.raises(BacktestDataError, match="at least one day"):
        backtest_load(frame, tz=TZ, gaps=[(date(2024, 2, 5), 0)])


def test_cli_gap_option(tmp_path: Path, cli: tuple[CliRunner, typer.Typer]) -> None:
    runner, app = cli
    csv_path = _write_csv(tmp_path / "load.csv", _weekly(days=60))
    args = ["load", "--data", str(csv_path), "--tz", TZ]
    ok = runner.invoke(app, [*args, "--gap", "2024-02-05:10", "--json"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.output)["after_gaps"]["gaps"] == ["2024-02-05+10d"]
    bad = runner.invoke(app, [*args, "--gap", "2024-02-05"])
    assert bad.exit_code == 2 and "YYYY-MM-DD:DAYS" in bad.output
