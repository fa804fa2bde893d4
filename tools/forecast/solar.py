"""Clear-sky PV model and forecast for a site (pvlib, no network).

The array model is shared by the forecast and by the site simulator
(:mod:`tools.devices.simulator`):

1. clear-sky irradiance: Ineichen (pvlib, Linke turbidity climatology) at the
   site's latitude, longitude and altitude;
2. transposition to each array's plane: Hay-Davies sky model with
   extraterrestrial DNI (:func:`pvlib.irradiance.get_total_irradiance`);
3. DC power: PVWatts, ``kwp * poa / 1000 * (1 + gamma * (t_cell - 25 °C))``
   with ``gamma = -0.4 %/°C`` and a Faiman cell temperature at a fixed ambient
   of 20 °C and 1 m/s wind, times ``(1 - losses_pct / 100)``;
4. AC power: the DC power clipped at the array's ``inverter_kw`` (when given).

Units: irradiance [W/m²], power [W], energy [kWh]. Times are timezone-aware;
results are indexed in UTC.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
import numpy.typing as npt
import pandas as pd
import pvlib

from tools.site import PvArray, Site

TEMP_AIR_C = 20.0
"""Ambient temperature assumed by the clear-sky model [°C]."""
WIND_SPEED_M_S = 1.0
"""Wind speed assumed by the cell temperature model [m/s]."""
GAMMA_PDC_PER_C = -0.004
"""PVWatts temperature coefficient of DC power [1/°C]."""
FAIMAN_U0 = 25.0
FAIMAN_U1 = 6.84
FORECAST_STEP_MIN = 5
"""Resolution of :func:`daily_energy_kwh` [min]."""

FloatArray = npt.NDArray[np.float64]


def _utc_index(times: pd.DatetimeIndex) -> pd.DatetimeIndex:
    if not isinstance(times, pd.DatetimeIndex):
        raise TypeError("times must be a pandas.DatetimeIndex")
    if times.tz is None:
        raise ValueError("times must be timezone-aware (e.g. tz='UTC')")
    return times.tz_convert("UTC")


def _location(site: Site) -> pvlib.location.Location:
    loc = site.location
    return pvlib.location.Location(
        loc.latitude, loc.longitude, tz=site.timezone, altitude=loc.altitude_m, name=site.name
    )


def clear_sky_poa_w_m2(site: Site, times: pd.DatetimeIndex) -> FloatArray:
    """Clear-sky plane-of-array irradiance [W/m²]: one row per array, one column per time.

    One vectorised pvlib call per array; about 30 ms whatever the number of
    times, so callers stepping through time should evaluate a whole day at
    once and interpolate (the simulator does).
    """
    utc = _utc_index(times)
    out = np.zeros((len(site.pv_arrays), len(utc)), dtype=np.float64)
    if not site.pv_arrays or len(utc) == 0:
        return out
    loc = _location(site)
    solpos = loc.get_solarposition(utc)
    clear = loc.get_clearsky(utc, model="ineichen", solar_position=solpos)
    dni_extra = pvlib.irradiance.get_extra_radiation(utc)
    for i, array in enumerate(site.pv_arrays):
        poa = pvlib.irradiance.get_total_irradiance(
            surface_tilt=array.tilt_deg,
            surface_azimuth=array.azimuth_deg,
            solar_zenith=solpos["apparent_zenith"],
            solar_azimuth=solpos["azimuth"],
            dni=clear["dni"],
            ghi=clear["ghi"],
            dhi=clear["dhi"],
            dni_extra=dni_extra,
            model="haydavies",
        )["poa_global"]
        out[i] = np.clip(np.nan_to_num(poa.to_numpy(dtype=np.float64), nan=0.0), 0.0, None)
    return out


def array_ac_power_w(
    array: PvArray,
    poa_w_m2: npt.ArrayLike,
    *,
    temp_air_c: float = TEMP_AIR_C,
    wind_speed_m_s: float = WIND_SPEED_M_S,
) -> FloatArray:
    """AC power [W] of one array for plane-of-array irradiance ``poa_w_m2`` [W/m²].

    Pure numpy (no pvlib call), identical to ``pvlib.pvsystem.pvwatts_dc`` with a
    ``pvlib.temperature.faiman`` cell temperature, then losses and inverter clipping.
    """
    poa = np.clip(np.asarray(poa_w_m2, dtype=np.float64), 0.0, None)
    temp_cell_c = temp_air_c + poa / (FAIMAN_U0 + FAIMAN_U1 * wind_speed_m_s)
    dc_w = array.kwp * poa * (1.0 + GAMMA_PDC_PER_C * (temp_cell_c - 25.0))
    ac_w = np.clip(dc_w * (1.0 - array.losses_pct / 100.0), 0.0, None)
    if array.inverter_kw is not None:
        ac_w = np.minimum(ac_w, array.inverter_kw * 1000.0)
    return ac_w


def site_ac_power_w(arrays: Sequence[PvArray], poa_w_m2: FloatArray) -> FloatArray:
    """Site AC power [W]: :func:`array_ac_power_w` summed over arrays (rows of ``poa_w_m2``)."""
    total = np.zeros(poa_w_m2.shape[1:], dtype=np.float64)
    for array, poa in zip(arrays, poa_w_m2, strict=True):
        total = total + array_ac_power_w(array, poa)
    return total


def clear_sky_power_w(site: Site, times: pd.DatetimeIndex) -> pd.Series:
    """Clear-sky AC power [W] of the whole site (all arrays), indexed by ``times`` in UTC."""
    utc = _utc_index(times)
    power = site_ac_power_w(site.pv_arrays, clear_sky_poa_w_m2(site, utc))
    return pd.Series(power, index=utc, name="pv_power_w", dtype=np.float64)


@dataclass(frozen=True, slots=True, kw_only=True)
class DayForecast:
    """Clear-sky PV for one local calendar day of a site.

    ``energy_kwh`` [kWh], ``peak_power_w`` [W]; times are UTC. ``sunrise`` and
    ``sunset`` are None when the sun does not rise or set that day (polar).
    """

    date: date
    energy_kwh: float
    peak_power_w: float
    peak_time: datetime
    sunrise: datetime | None
    sunset: datetime | None


def _local_midnight(site: Site, day: date) -> pd.Timestamp:
    naive = pd.Timestamp(day.year, day.month, day.day)
    return naive.tz_localize(site.timezone, nonexistent="shift_forward", ambiguous=True)


def _to_utc(value: object) -> datetime | None:
    if value is None or pd.isna(value):
        return None
    stamp = pd.Timestamp(value)
    return stamp.tz_convert("UTC").round("s").to_pydatetime().astimezone(UTC)


def daily_energy_kwh(site: Site, day: date) -> DayForecast:
    """Clear-sky energy [kWh] of the site over the LOCAL calendar day ``day``.

    Integrated with the trapezoid rule at 5-minute resolution from local
    midnight to the next local midnight (23 or 25 hours on DST change days).
    """
    start = _local_midnight(site, day)
    end = _local_midnight(site, day + timedelta(days=1))
    times = pd.date_range(start, end, freq=f"{FORECAST_STEP_MIN}min").tz_convert("UTC")
    power = clear_sky_power_w(site, times)
    values = power.to_numpy()
    step_h = FORECAST_STEP_MIN / 60.0
    energy_kwh = float(np.sum((values[:-1] + values[1:]) / 2.0) * step_h / 1000.0)
    peak_i = int(np.argmax(values))
    events = _location(site).get_sun_rise_set_transit(
        pd.DatetimeIndex([start + pd.Timedelta(hours=12)]), method="spa"
    )
    return DayForecast(
        date=day,
        energy_kwh=energy_kwh,
        peak_power_w=float(values[peak_i]),
        peak_time=times[peak_i].to_pydatetime().astimezone(UTC),
        sunrise=_to_utc(events["sunrise"].iloc[0]),
        sunset=_to_utc(events["sunset"].iloc[0]),
    )
