"""PV forecast: physics against pvlib, Open-Meteo client, calibration, backtest."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pvlib
import pytest
from numpy.testing import assert_allclose
from typer.testing import CliRunner

from tests.conftest import shared_data
from tools.errors import ToolsError
from tools.forecast.backtest import BacktestDataError, backtest_pv, read_backtest_csv
from tools.forecast.pv import (
    NO_WEATHER_BAND_DAYS,
    NO_WEATHER_BAND_HALF_LIFE_D,
    PvParams,
    calibrate,
    clear_sky_power_w,
    clear_sky_weather,
    forecast_without_weather,
    forecast_without_weather_bands,
    pv_outlook_from_measured,
    pv_power_w,
    quantiles,
)
from tools.forecast.scoring import interval_scores, pinball_loss
from tools.forecast.weather import OpenMeteoClient, WeatherUnavailable, weather_or_clear_sky
from tools.site import Location, PvArray, Site

SERF = Site(
    name="serf",
    timezone="America/Denver",
    location=Location(latitude=39.742, longitude=-105.1775, altitude_m=1828),
    pv_arrays=[PvArray(name="east", kwp=6.0, tilt_deg=45, azimuth_deg=158, losses_pct=0)],
)


def _site(**array: float) -> Site:
    spec: dict[str, float] = {"kwp": 5.0, "tilt_deg": 30, "azimuth_deg": 180, "losses_pct": 0}
    spec.update(array)
    return Site(
        name="t",
        timezone="America/Denver",
        location=SERF.location,
        pv_arrays=[PvArray(name="a", **spec)],
    )


# --- physics ------------------------------------------------------------------------------


def test_pv_power_matches_pvlib_reference_chain() -> None:
    """One array: haydavies + ASHRAE IAM + Faiman + PVWatts, computed independently with pvlib."""
    site = _site(kwp=4.0, tilt_deg=35, azimuth_deg=200)
    times = pd.date_range("2016-07-10 15:00", "2016-07-10 22:00", freq="1h", tz="UTC")
    weather = pd.DataFrame(
        {"ghi_wm2": 800.0, "dni_wm2": 700.0, "dhi_wm2": 150.0, "temp_c": 30.0}, index=times
    )
    got = pv_power_w(site, weather).to_numpy()

    sp = pvlib.solarposition.get_solarposition(
        times, 39.742, -105.1775, altitude=1828, method="nrel_numpy"
    )
    poa = pvlib.irradiance.get_total_irradiance(
        35, 200, sp["apparent_zenith"], sp["azimuth"], 700.0, 800.0, 150.0,
        dni_extra=pvlib.irradiance.get_extra_radiation(times), albedo=0.2, model="haydavies",
    )  # fmt: skip
    aoi = pvlib.irradiance.aoi(35, 200, sp["apparent_zenith"], sp["azimuth"])
    eff = poa["poa_direct"] * pvlib.iam.ashrae(aoi) + poa["poa_diffuse"]
    tcell = pvlib.temperature.faiman(eff, 30.0, 1.0)
    want = pvlib.pvsystem.pvwatts_dc(eff, tcell, 4000.0, -0.004).to_numpy()
    assert_allclose(got, want, rtol=1e-9)


def test_clear_sky_noon_power_and_clipping() -> None:
    times = pd.date_range("2016-06-21 18:00", periods=3, freq="15min", tz="UTC")
    weather = clear_sky_weather(_site(), times)
    ghi = pvlib.location.Location(39.742, -105.1775, altitude=1828).get_clearsky(times)["ghi"]
    assert_allclose(weather["ghi_wm2"].to_numpy(), ghi.to_numpy())
    free = pv_power_w(_site(kwp=5.0), weather)
    # 5 kWp at ~1 kW/m² plane irradiance, hot cells: between 4 and 5.3 kW
    assert ((free > 4000) & (free < 5300)).all()
    clipped = pv_power_w(_site(kwp=5.0, inverter_kw=3.0), weather)
    assert_allclose(clipped.to_numpy(), 3000.0)
    night = pd.DataFrame({"ghi_wm2": [500.0]}, index=pd.DatetimeIndex(["2016-06-21 08:00Z"]))
    assert pv_power_w(_site(), night).iloc[0] == 0.0  # sun below the horizon


def test_erbs_used_when_only_ghi() -> None:
    times = pd.date_range("2016-07-10 17:00", periods=4, freq="1h", tz="UTC")
    clear = clear_sky_weather(_site(), times)
    full = pv_power_w(_site(), clear)
    ghi_only = pv_power_w(_site(), clear[["ghi_wm2", "temp_c"]])
    # decomposition of a clear sky lands within ~10 % of the clear-sky components
    assert_allclose(ghi_only.to_numpy(), full.to_numpy(), rtol=0.1)


def test_quantiles_use_bin_ratios() -> None:
    p50 = pd.Series([1000.0, 1000.0])
    params = PvParams(q10=(0.1, 0.2, 0.3, 0.4), q90=(3.0, 2.0, 1.5, 1.1))
    p10, mid, p90 = quantiles(p50, pd.Series([0.1, 0.95]), params, cap_w=2500)
    assert p10.tolist() == [100.0, 400.0]
    assert mid.tolist() == [1000.0, 1000.0]
    assert p90.tolist() == [2500.0, 1100.0]


# --- calibration ----------------------------------------------------------------------------


def _synthetic(days: int = 6, shift_min: float = 15.0, derate: float = 0.8) -> tuple:
    times = pd.date_range("2016-07-01 06:00", periods=days * 96, freq="15min", tz="UTC")
    rng = np.random.default_rng(1)
    csi = np.repeat(rng.uniform(0.3, 1.0, days * 24), 4)  # hourly cloudiness steps
    weather = clear_sky_weather(SERF, times)[["ghi_wm2", "temp_c"]]
    weather["ghi_wm2"] *= csi
    truth = pv_power_w(SERF, weather, params=PvParams(derate=derate, time_shift_min=shift_min))
    measured = truth.reindex(times)  # measured labels lag the weather labels by shift_min
    return weather, measured


def test_calibration_recovers_derate_and_shift() -> None:
    weather, measured = _synthetic(shift_min=15.0, derate=0.8)
    params = calibrate(SERF, measured, weather)
    assert params.time_shift_min == 15.0
    assert params.derate == pytest.approx(0.8, rel=1e-3)
    weather, measured = _synthetic(shift_min=-30.0, derate=1.1)
    params = calibrate(SERF, measured, weather)
    assert (params.time_shift_min, round(params.derate, 3)) == (-30.0, 1.1)


def test_forecast_without_weather_uses_recent_ratio() -> None:
    times = pd.date_range("2016-07-01 06:00", periods=10 * 96, freq="15min", tz="UTC")
    clear = pv_power_w(SERF, clear_sky_weather(SERF, times))
    fc = forecast_without_weather(SERF, clear * 0.7, date(2016, 7, 10))
    expected = pv_power_w(SERF, clear_sky_weather(SERF, fc.index))
    big = expected > 1000
    assert_allclose(fc[big].to_numpy(), 0.7 * expected[big].to_numpy(), rtol=1e-6)


# --- Open-Meteo ---------------------------------------------------------------------------

# 2026-06-01 00:00..05:00 UTC stamps (unixtime), recorded-shape answer (PROTOCOLS §5.1)
T0 = 1_780_272_000  # 2026-06-01T00:00:00Z
FIXTURE = {
    "latitude": 39.74,
    "longitude": -105.18,
    "generationtime_ms": 0.21,
    "utc_offset_seconds": 0,
    "timezone": "GMT",
    "timezone_abbreviation": "GMT",
    "elevation": 1829.0,
    "hourly_units": {
        "time": "unixtime",
        "shortwave_radiation": "W/m²",
        "direct_normal_irradiance": "W/m²",
        "diffuse_radiation": "W/m²",
        "temperature_2m": "°C",
        "cloud_cover": "%",
    },
    "hourly": {
        "time": [T0 + 3600 * i for i in range(6)],
        "shortwave_radiation": [0.0, 12.0, 180.5, None, 610.0, 700.0],
        "direct_normal_irradiance": [0.0, 40.0, 420.0, None, 780.0, 800.0],
        "diffuse_radiation": [0.0, 8.0, 60.0, None, 95.0, 100.0],
        "temperature_2m": [14.2, 14.0, 15.1, 16.0, 18.4, 20.0],
        "cloud_cover": [100, 80, 20, 10, 0, 0],
    },
}


def _client(handler: httpx.MockTransport) -> tuple[OpenMeteoClient, httpx.AsyncClient]:
    http = httpx.AsyncClient(transport=handler)
    return OpenMeteoClient(http), http


async def test_open_meteo_parses_unixtime_and_centres_intervals() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=FIXTURE)

    client, http = _client(httpx.MockTransport(handler))
    async with http:
        start = datetime(2026, 6, 1, 1, 0, tzinfo=UTC)
        end = datetime(2026, 6, 1, 5, 0, tzinfo=UTC)
        frame = await client.hourly(SERF.location, start=start, end=end)
        again = await client.hourly(SERF.location, start=start, end=end)
    q = seen[0].url.params
    assert q["timeformat"] == "unixtime" and q["timezone"] == "UTC"
    assert q["hourly"].split(",") == [
        "shortwave_radiation",
        "direct_normal_irradiance",
        "diffuse_radiation",
        "temperature_2m",
        "cloud_cover",
    ]
    assert len(seen) == 1  # second call served from the cache
    assert again.equals(frame)
    # the value stamped 02:00 is the mean over 01:00-02:00 -> indexed 01:30
    assert list(frame.index) == list(
        pd.date_range("2026-06-01 01:30", periods=4, freq="1h", tz="UTC")
    )
    assert frame.loc["2026-06-01 01:30Z", "ghi_wm2"] == 180.5
    assert frame.loc["2026-06-01 01:30Z", "dni_wm2"] == 420.0
    assert np.isnan(frame.loc["2026-06-01 02:30Z", "ghi_wm2"])  # null
    assert frame.loc["2026-06-01 04:30Z", "cloud_cover_pct"] == 0
    assert list(frame.columns) == ["ghi_wm2", "dni_wm2", "dhi_wm2", "temp_c", "cloud_cover_pct"]


async def test_open_meteo_cache_expires() -> None:
    calls = 0
    now = [0.0]

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(200, json=FIXTURE)

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    client = OpenMeteoClient(http, cache_ttl_s=60, clock=lambda: now[0])
    start, end = datetime(2026, 6, 1, 1, tzinfo=UTC), datetime(2026, 6, 1, 3, tzinfo=UTC)
    async with http:
        await client.hourly(SERF.location, start=start, end=end)
        now[0] = 61.0
        await client.hourly(SERF.location, start=start, end=end)
    assert calls == 2


@pytest.mark.parametrize(
    "handler",
    [
        lambda r: httpx.Response(500, json={"error": True, "reason": "internal"}),
        lambda r: httpx.Response(400, json={"error": True, "reason": "bad latitude"}),
        lambda r: httpx.Response(200, text="not json"),
        lambda r: httpx.Response(200, json={"hourly": {"time": ["2026-06-01T00:00"]}}),
    ],
)
async def test_open_meteo_errors_become_weather_unavailable(handler: object) -> None:
    client, http = _client(httpx.MockTransport(handler))  # type: ignore[arg-type]
    async with http:
        with pytest.raises(WeatherUnavailable) as info:
            await client.hourly(
                SERF.location,
                start=datetime(2026, 6, 1, 1, tzinfo=UTC),
                end=datetime(2026, 6, 1, 3, tzinfo=UTC),
            )
    assert isinstance(info.value, ToolsError) and "Open-Meteo" in str(info.value)


async def test_fallback_to_clear_sky_when_transport_raises_or_500() -> None:
    def boom(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    start = datetime(2026, 6, 21, 14, tzinfo=UTC)
    end = datetime(2026, 6, 21, 20, tzinfo=UTC)
    for handler in (boom, lambda r: httpx.Response(500)):
        client, http = _client(httpx.MockTransport(handler))
        async with http:
            frame, source = await weather_or_clear_sky(client, SERF, start, end)
        assert source == "clear-sky-fallback"
        assert len(frame) == 6 and frame.index[0] == pd.Timestamp("2026-06-21 14:30Z")
        assert frame["ghi_wm2"].iloc[-1] > 800  # near solar noon in Golden
    _frame, source = await weather_or_clear_sky(None, SERF, start, end)
    assert source == "clear-sky"  # no service configured: not a failure
    client, http = _client(httpx.MockTransport(lambda r: httpx.Response(200, json=FIXTURE)))
    async with http:
        frame, source = await weather_or_clear_sky(
            client, SERF, datetime(2026, 6, 1, 1, tzinfo=UTC), datetime(2026, 6, 1, 3, tzinfo=UTC)
        )
    assert source == "open-meteo" and frame["ghi_wm2"].iloc[0] == 180.5


# --- CSV reader ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty file"),
        ("when,pv_w\n", "no 'time' column"),
        ("time,ghi_wm2\n", "pv_w"),
        ("time,pv_w\n2016-07-01T00:00:00Z,1\nyesterday,2\n", "line 3, column time"),
        ("time,pv_w\n2016-07-01T00:00:00,1\n", "line 2, column time: '2016-07-01T00:00:00' has no"),
        ("time,pv_w\n2016-07-01T00:00:00Z,abc\n", "line 2, column pv_w: 'abc' is not a number"),
        ("time,pv_w\n2016-07-01T00:00:00Z,1,2\n", "line 2: 3 fields"),
        ("time,pv_w\n2016-07-01T00:00Z,1\n2016-06-30T17:00-07:00,2\n", "line 3, column time"),
    ],
)
def test_csv_reader_errors_name_line_and_column(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(BacktestDataError, match=message.replace("(", r"\(")):
        read_backtest_csv(path)


def test_csv_reader_accepts_offsets_and_blanks(tmp_path: Path) -> None:
    path = tmp_path / "ok.csv"
    path.write_text(
        "time,pv_w,ghi_wm2,extra\n2016-07-01T05:15:00-07:00,10,,x\n2016-07-01T12:00:00Z,5,100,y\n"
    )
    frame = read_backtest_csv(path)
    assert list(frame.index) == [
        pd.Timestamp("2016-07-01 12:00Z"),
        pd.Timestamp("2016-07-01 12:15Z"),
    ]
    assert frame["pv_w"].tolist() == [5.0, 10.0]
    assert np.isnan(frame["ghi_wm2"].iloc[1])


# --- backtest -----------------------------------------------------------------------------


def _serf_frame(days: int) -> pd.DataFrame:
    ac = pd.read_csv(shared_data("pv/serf_east_15min_ac_power.csv"), index_col=0)
    wx = pd.read_csv(shared_data("pv/serf_east_psm3_data.csv"), index_col=0)
    index = pd.to_datetime(ac.index, utc=True)
    frame = pd.DataFrame(
        {"pv_w": ac["ac_power"].to_numpy(), "ghi_wm2": wx["ghi"].to_numpy(),
         "temp_c": wx["temp_air"].to_numpy()},
        index=index,
    )  # fmt: skip
    return frame.iloc[: days * 96]


def test_backtest_has_no_look_ahead() -> None:
    times = pd.date_range("2016-07-01 06:00", periods=8 * 96, freq="15min", tz="UTC")
    weather = clear_sky_weather(SERF, times)[["ghi_wm2", "temp_c"]]
    rng = np.random.default_rng(3)
    weather["ghi_wm2"] *= np.repeat(rng.uniform(0.3, 1.0, 8 * 24), 4)
    pv = pv_power_w(SERF, weather, params=PvParams(derate=0.9)) * rng.uniform(0.9, 1.1, len(times))
    frame = weather.assign(pv_w=pv.to_numpy())
    day = date(2016, 7, 5)
    base = backtest_pv(frame, SERF, score_from=day, keep_series=True)["hourly"]
    poisoned = frame.copy()
    after = poisoned.index >= pd.Timestamp("2016-07-06 00:00", tz="America/Denver")
    poisoned.loc[after, ["pv_w", "ghi_wm2"]] = 1e5
    again = backtest_pv(poisoned, SERF, score_from=day, keep_series=True)["hourly"]
    local_days = base.index.tz_convert("America/Denver").date
    same = base[local_days == day]
    assert len(same) == 24
    pd.testing.assert_frame_equal(same, again.loc[same.index])


def test_backtest_on_serf_slice() -> None:
    frame = _serf_frame(days=21)
    result = backtest_pv(frame, SERF)
    ww, nw = result["with_weather"], result["without_weather"]
    assert ww["days"] >= 17 and nw["days"] == ww["days"]
    # measured on this slice: 5.6 % / skill 0.23 with weather, 6.6 % / 0.10 without
    assert 2.0 < ww["nmae_capacity_pct"] < 9.0
    assert ww["skill_vs_persistence"] > 0.1
    assert abs(ww["bias_w"]) < 400
    assert nw["nmae_capacity_pct"] < nw["persistence_nmae_capacity_pct"] * 1.05
    assert 0.8 < result["calibration"]["derate"] < 1.2
    for block in (ww, nw):
        assert 50.0 < block["p10_p90_coverage_pct"] <= 100.0
        assert block["pinball_p10_w"] > 0.0 and block["pinball_p90_w"] > 0.0


def test_backtest_bands_are_ordered_and_beat_the_median_as_a_band() -> None:
    result = backtest_pv(_serf_frame(days=21), SERF, keep_series=True)
    hourly = result["hourly"]
    scored = hourly[
        hourly["daylight"] & hourly["actual_w"].notna() & hourly["persistence_w"].notna()
    ]
    actual = scored["actual_w"].to_numpy()
    for block in ("with_weather", "without_weather"):
        p10, p50, p90 = (scored[f"{block}_{k}"].to_numpy() for k in ("p10", "w", "p90"))
        assert (p10 <= p50 + 1e-9).all() and (p50 <= p90 + 1e-9).all()
        scores = result[block]
        expected = interval_scores(actual, p10, p90)
        assert scores["p10_p90_coverage_pct"] == expected["p10_p90_coverage_pct"]
        # a real band: the P10/P90 lose less than the P50 would at those levels
        assert scores["pinball_p10_w"] < pinball_loss(actual, p50, 0.1)
        assert scores["pinball_p90_w"] < pinball_loss(actual, p50, 0.9)


def test_forecast_without_weather_bands_wrap_the_median() -> None:
    frame = _serf_frame(days=16)
    day = date(2016, 7, 15)
    history = frame["pv_w"]
    p10, p50, p90 = forecast_without_weather_bands(SERF, history, day)
    pd.testing.assert_series_equal(p50, forecast_without_weather(SERF, history, day))
    assert (p10 <= p50).all() and (p50 <= p90).all()
    assert (p90 - p10).max() > 100.0  # cloudy July afternoons: a real spread


def test_no_weather_band_is_calibrated_on_exchangeable_days() -> None:
    """Days whose clear-sky index is drawn at random (60 % clear, 40 % cloudy): a P10-P90
    band should hold about 80 % of them. The band's four weeks of history do; the median's
    own two weeks with a 3-day half-life (the old band) hold fewer."""
    n_days = 120
    times = pd.date_range("2016-06-01 06:00", periods=n_days * 96, freq="15min", tz="UTC")
    rng = np.random.default_rng(2)
    csi_by_day = np.where(
        rng.random(n_days) < 0.6, rng.uniform(0.9, 1.0, n_days), rng.uniform(0.1, 0.8, n_days)
    )
    local_days = times.tz_convert("America/Denver").normalize()
    day_no = np.asarray((local_days - local_days[0]).days)
    history = clear_sky_power_w(SERF, times) * csi_by_day[day_no]
    # the plain median forecast of each day does not depend on the band's settings:
    # computed once per day, compared with the p50 of both band settings below
    medians: dict[date, pd.Series] = {}

    def coverage(
        band_days: int = NO_WEATHER_BAND_DAYS, half_life_d: float = NO_WEATHER_BAND_HALF_LIFE_D
    ) -> float:
        inside = []
        for d in range(40, n_days - 1):
            day = (local_days[0] + pd.Timedelta(days=d)).date()
            p10, p50, p90 = forecast_without_weather_bands(
                SERF, history, day, band_days=band_days, band_half_life_d=half_life_d
            )
            if day not in medians:
                medians[day] = forecast_without_weather(SERF, history, day)
            pd.testing.assert_series_equal(p50, medians[day])
            assert (p10 <= p50).all() and (p50 <= p90).all()
            noon = p50.index[p50.index.tz_convert("America/Denver").hour == 12][0]
            inside.append(bool(p10[noon] <= history[noon] <= p90[noon]))
        return float(np.mean(inside))

    calibrated = coverage()
    assert 0.76 <= calibrated <= 0.86
    assert coverage(band_days=14, half_life_d=3.0) < calibrated - 0.04


def test_cli_prints_json_and_exits_2_on_bad_csv(tmp_path: Path) -> None:
    import typer

    from bot.commands.backtest_pv import pv

    app = typer.Typer()
    app.command("pv")(pv)
    app.command("other")(lambda: None)
    frame = _serf_frame(days=6)
    path = tmp_path / "serf.csv"
    out = frame.copy()
    out.index = out.index.strftime("%Y-%m-%dT%H:%M:%SZ")
    out.index.name = "time"
    out.to_csv(path)
    args = ["pv", "--data", str(path), "--lat", "39.742", "--lon", "-105.1775", "--tilt", "45"]
    args += ["--azimuth", "158", "--kwp", "6"]
    runner = CliRunner()
    ok = runner.invoke(app, [*args, "--json", "--plot", str(tmp_path / "bt.png")])
    assert ok.exit_code == 0, ok.output
    result = json.loads(ok.stdout)
    assert {"with_weather", "without_weather", "calibration"} <= result.keys()
    assert (tmp_path / "bt.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    path.write_text("time,pv_w\n2016-07-01T00:00:00Z,oops\n")
    bad = runner.invoke(app, args)
    assert bad.exit_code == 2
    assert "line 2, column pv_w" in bad.output


def test_pv_outlook_from_measured_follows_todays_sun_and_never_reads_ahead() -> None:
    hours = np.arange(24)
    forecast = np.clip(np.sin((hours - 6) / 12 * np.pi), 0.0, None) * 3000.0
    low = 0.5 * forecast
    dull = 0.4 * forecast
    # before sunrise there is nothing to compare: unchanged
    p50, p10 = pv_outlook_from_measured(
        forecast, dull, now_index=6, capacity_w=5000.0, others_w=[low]
    )
    assert_allclose(p50, forecast)
    assert_allclose(p10, low)
    # a dull morning: the rest of the day is lowered, most at once, less further ahead
    p50, p10 = pv_outlook_from_measured(
        forecast, dull, now_index=10, capacity_w=5000.0, others_w=[low]
    )
    assert_allclose(p50[:10], forecast[:10])  # the past is left as it was
    ratio = p50[10:18] / forecast[10:18]
    assert ratio[0] == pytest.approx(0.4, abs=0.01)
    assert np.all(np.diff(ratio) > 0) and ratio[-1] < 1.0
    assert_allclose(p10[10:18] / low[10:18], ratio)  # the low quantile moves the same
    # what comes after now_index is never read: changing it changes nothing
    later = dull.copy()
    later[10:] = 9999.0
    again, _ = pv_outlook_from_measured(
        forecast, later, now_index=10, capacity_w=5000.0, others_w=[low]
    )
    assert_allclose(again, p50)
    # a sunnier morning raises it, never above capacity
    bright, _ = pv_outlook_from_measured(
        forecast, 1.6 * forecast, now_index=10, capacity_w=3500.0, others_w=[low]
    )
    assert bright[12] > forecast[12]
    assert bright.max() <= 3500.0
