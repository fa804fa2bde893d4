"""Clear-sky PV forecast: checked against pvlib computed independently and against physics."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import pvlib
import pytest
from numpy.testing import assert_allclose

from tools.forecast.solar import (
    DayForecast,
    array_ac_power_w,
    clear_sky_power_w,
    daily_energy_kwh,
)
from tools.site import Location, PvArray, Site

GOLDEN = Location(latitude=39.742, longitude=-105.179, altitude_m=1828)


def golden_site(*arrays: PvArray) -> Site:
    return Site(name="golden", timezone="America/Denver", location=GOLDEN, pv_arrays=list(arrays))


SOUTH_8KW = PvArray(name="roof", kwp=8.0, tilt_deg=30, azimuth_deg=180)


def pvlib_reference_w(site: Site, array: PvArray, times: pd.DatetimeIndex) -> np.ndarray:
    """The same model written out directly with pvlib's own functions."""
    loc = pvlib.location.Location(
        site.location.latitude,
        site.location.longitude,
        tz=site.timezone,
        altitude=site.location.altitude_m,
    )
    solpos = pvlib.solarposition.get_solarposition(
        times,
        site.location.latitude,
        site.location.longitude,
        altitude=site.location.altitude_m,
    )
    clear = loc.get_clearsky(times, model="ineichen")
    poa = pvlib.irradiance.get_total_irradiance(
        array.tilt_deg,
        array.azimuth_deg,
        solpos["apparent_zenith"],
        solpos["azimuth"],
        clear["dni"],
        clear["ghi"],
        clear["dhi"],
        dni_extra=pvlib.irradiance.get_extra_radiation(times),
        model="haydavies",
    )["poa_global"].fillna(0.0)
    temp_cell = pvlib.temperature.faiman(poa, temp_air=20.0, wind_speed=1.0)
    dc = pvlib.pvsystem.pvwatts_dc(poa, temp_cell, array.kwp * 1000.0, -0.004)
    ac = np.asarray(dc, dtype=float) * (1 - array.losses_pct / 100)
    if array.inverter_kw is not None:
        ac = np.minimum(ac, array.inverter_kw * 1000.0)
    return np.clip(ac, 0.0, None)


def test_matches_independent_pvlib_computation() -> None:
    array = PvArray(name="east", kwp=5.0, tilt_deg=20, azimuth_deg=110, losses_pct=10)
    site = golden_site(array)
    times = pd.DatetimeIndex(
        [
            "2024-06-21 14:00",
            "2024-06-21 17:30",
            "2024-06-21 19:00",
            "2024-06-21 22:15",
            "2024-12-21 18:00",
            "2024-03-10 20:00",
        ],
        tz="UTC",
    )
    got = clear_sky_power_w(site, times)
    expected = pvlib_reference_w(site, array, times)
    assert (expected > 0).all()
    assert_allclose(got.to_numpy(), expected, rtol=1e-9, atol=1e-6)
    assert got.index.equals(times)


def test_times_in_other_zones_give_the_same_instants() -> None:
    site = golden_site(SOUTH_8KW)
    utc = pd.date_range("2024-06-21 15:00", periods=5, freq="1h", tz="UTC")
    local = utc.tz_convert("America/Denver")
    assert_allclose(
        clear_sky_power_w(site, local).to_numpy(), clear_sky_power_w(site, utc).to_numpy()
    )


def test_site_power_is_the_sum_of_its_arrays() -> None:
    east = PvArray(name="e", kwp=3.0, tilt_deg=15, azimuth_deg=90)
    west = PvArray(name="w", kwp=4.0, tilt_deg=25, azimuth_deg=270, inverter_kw=2.5)
    times = pd.date_range("2024-06-21 12:00", "2024-06-22 03:00", freq="30min", tz="UTC")
    both = clear_sky_power_w(golden_site(east, west), times)
    separately = clear_sky_power_w(golden_site(east), times) + clear_sky_power_w(
        golden_site(west), times
    )
    assert_allclose(both.to_numpy(), separately.to_numpy())
    # east array peaks in the morning, west in the afternoon (azimuth convention: 90 = east)
    e = clear_sky_power_w(golden_site(east), times)
    w = clear_sky_power_w(golden_site(west), times)
    morning = pd.Timestamp("2024-06-21 15:00", tz="UTC")  # 09:00 MDT
    evening = pd.Timestamp("2024-06-22 00:00", tz="UTC")  # 18:00 MDT
    assert e[morning] > w[morning]
    assert w[evening] > e[evening]


def test_zero_at_night() -> None:
    site = golden_site(SOUTH_8KW)
    night = pd.date_range("2024-06-21 04:00", "2024-06-21 10:30", freq="15min", tz="UTC")
    assert (clear_sky_power_w(site, night) == 0.0).all()  # 22:00-04:30 MDT


def test_clipping_at_inverter_limit() -> None:
    clipped = PvArray(name="roof", kwp=8.0, tilt_deg=30, azimuth_deg=180, inverter_kw=3.0)
    times = pd.date_range("2024-06-21 12:00", "2024-06-22 03:00", freq="5min", tz="UTC")
    power = clear_sky_power_w(golden_site(clipped), times)
    unclipped = clear_sky_power_w(golden_site(SOUTH_8KW), times)
    assert power.max() == pytest.approx(3000.0)
    assert (power <= 3000.0 + 1e-9).all()
    assert_allclose(power.to_numpy(), np.minimum(unclipped.to_numpy(), 3000.0))
    assert (power == 3000.0).sum() > 50  # flat top for hours around noon


def test_array_power_is_pure_numpy_pvwatts() -> None:
    array = PvArray(name="a", kwp=10.0, tilt_deg=0, azimuth_deg=180, losses_pct=0)
    # at 1000 W/m² the cell is 20 + 1000/31.84 = 51.4 °C: PVWatts derate 0.4 %/°C
    expected = 10_000.0 * (1 - 0.004 * (20 + 1000 / (25 + 6.84) - 25))
    assert float(array_ac_power_w(array, 1000.0)) == pytest.approx(expected)
    assert float(array_ac_power_w(array, 0.0)) == 0.0
    assert float(array_ac_power_w(array, -5.0)) == 0.0


def test_summer_day_golden_is_plausible() -> None:
    day = daily_energy_kwh(golden_site(SOUTH_8KW), date(2024, 6, 21))
    assert isinstance(day, DayForecast)
    # Clear June day at 1.8 km altitude: roughly 7.5-8 kWh/m² on a 30° south plane,
    # times 86 % (losses) and ~0.9 (hot cells) => ~6.5-7 kWh/kWp => 52-56 kWh.
    assert 45.0 < day.energy_kwh < 65.0
    assert 6.0 < day.energy_kwh / 8.0 < 7.5
    # peak well below DC nameplate (losses, temperature), above 70 % of it
    assert 0.7 * 8000 < day.peak_power_w < 8000
    # solar noon in Golden is about 13:00 MDT = 19:00 UTC
    assert datetime(2024, 6, 21, 18, 30, tzinfo=UTC) <= day.peak_time
    assert day.peak_time <= datetime(2024, 6, 21, 19, 30, tzinfo=UTC)
    assert day.sunrise is not None and day.sunset is not None
    assert day.sunrise.tzinfo is not None and day.sunrise.utcoffset() == UTC.utcoffset(None)
    # sunrise ~05:32 MDT (11:32 UTC), sunset ~20:32 MDT (02:32 UTC next day)
    assert abs((day.sunrise - datetime(2024, 6, 21, 11, 32, tzinfo=UTC)).total_seconds()) < 600
    assert abs((day.sunset - datetime(2024, 6, 22, 2, 32, tzinfo=UTC)).total_seconds()) < 600
    assert day.sunrise < day.peak_time < day.sunset


def test_energy_matches_trapezoid_of_power_over_local_day() -> None:
    site = golden_site(SOUTH_8KW)
    day = daily_energy_kwh(site, date(2024, 6, 21))
    # the local day 2024-06-21 MDT is 06:00 UTC to 06:00 UTC next day
    times = pd.date_range("2024-06-21 06:00", "2024-06-22 06:00", freq="5min", tz="UTC")
    power = clear_sky_power_w(site, times).to_numpy()
    assert day.energy_kwh == pytest.approx(np.trapezoid(power, dx=5 / 60) / 1000.0)


def test_winter_day_gives_less_than_summer() -> None:
    site = golden_site(SOUTH_8KW)
    summer = daily_energy_kwh(site, date(2024, 6, 21))
    winter = daily_energy_kwh(site, date(2024, 12, 21))
    assert winter.energy_kwh < summer.energy_kwh
    assert 20.0 < winter.energy_kwh < 45.0  # tilted south array keeps winter output up
    assert winter.sunset is not None and winter.sunrise is not None
    assert summer.sunset is not None and summer.sunrise is not None
    assert (winter.sunset - winter.sunrise) < (summer.sunset - summer.sunrise)


def test_dst_day_and_empty_site() -> None:
    site = golden_site(SOUTH_8KW)
    spring = daily_energy_kwh(site, date(2024, 3, 10))  # 23-hour local day
    assert 30.0 < spring.energy_kwh < 65.0
    empty = daily_energy_kwh(golden_site(), date(2024, 6, 21))
    assert empty.energy_kwh == 0.0


def test_naive_times_are_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        clear_sky_power_w(golden_site(SOUTH_8KW), pd.date_range("2024-06-21", periods=3, freq="h"))
