"""PV power from weather, its calibration on measured history, and quantiles (pure, pvlib).

The chain, per array of the site (:func:`pv_power_w`):

1. solar position (pvlib SPA, numpy) at the *effective* time of each weather
   row, ``index + time_shift_min`` (see below);
2. decomposition of GHI into DNI and DHI with Erbs when the weather frame has
   no (or missing) ``dni_wm2`` / ``dhi_wm2``;
3. transposition to the plane of the array: Hay-Davies with extraterrestrial
   DNI, ground albedo 0.2, and an ASHRAE incidence-angle loss on the beam;
4. cell temperature: Faiman from ``temp_c`` (20 °C when missing) and 1 m/s wind;
5. DC power: PVWatts, ``kwp * poa / 1000 * (1 + gamma (t_cell - 25 °C))`` with
   ``gamma = -0.4 %/°C``, times ``(1 - losses_pct / 100)`` and the calibrated
   ``derate``;
6. AC power: clipped at the array's ``inverter_kw``; zero with the sun below the
   horizon.

**Time convention.** A weather row labelled ``t`` is taken to describe the
instant ``t + time_shift_min`` (for an interval mean: its centre). The
returned power is indexed by that effective time. Open-Meteo frames from
:mod:`tools.forecast.weather` are already interval-centred, so their natural
shift is 0; measured data whose labels mark the start or end of an averaging
interval need ``±interval/2``, which :func:`calibrate` finds by trying
:data:`SHIFT_CANDIDATES_MIN` against the measured power.

Units: irradiance [W/m²], temperature [°C], power [W]. Times are tz-aware UTC.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta, tzinfo

import numpy as np
import pandas as pd
import pvlib

from tools.site import Site

__all__ = [
    "CSI_BIN_EDGES",
    "SHIFT_CANDIDATES_MIN",
    "LiveCalibration",
    "PvParams",
    "calibrate",
    "calibrate_hourly",
    "clear_sky_index",
    "clear_sky_power_w",
    "clear_sky_weather",
    "forecast_without_weather",
    "forecast_without_weather_bands",
    "pv_outlook_from_measured",
    "pv_power_w",
    "quantiles",
]

GAMMA_PDC_PER_C = -0.004
"""PVWatts temperature coefficient of DC power [1/°C]."""
TEMP_AIR_DEFAULT_C = 20.0
WIND_SPEED_M_S = 1.0
ALBEDO = 0.2
SHIFT_CANDIDATES_MIN: tuple[int, ...] = (-30, -15, 0, 15, 30)
"""Time shifts tried by :func:`calibrate` [min]."""
CSI_BIN_EDGES: tuple[float, ...] = (0.0, 0.35, 0.7, 0.9)
"""Lower edges of the clear-sky-index bins used for quantile spreads [-]."""
DEFAULT_Q10: tuple[float, ...] = (0.4, 0.6, 0.8, 0.9)
"""Ratio p10/p50 per clear-sky-index bin before any calibration [-]."""
DEFAULT_Q90: tuple[float, ...] = (1.8, 1.4, 1.15, 1.05)
"""Ratio p90/p50 per clear-sky-index bin before any calibration [-]."""
MIN_FIT_FRACTION = 0.05
"""Calibration uses points where modelled power exceeds this share of DC capacity [-]."""
NO_WEATHER_DAYS = 28
"""Days of history behind :func:`forecast_without_weather`."""
NO_WEATHER_HALF_LIFE_D = float("inf")
"""Half-life of the day weights of the level in :func:`forecast_without_weather` [days]
(infinite: a plain median of the four weeks)."""
NO_WEATHER_MIN_SHAPE_DAYS = 14
"""Days of history the level x shape median needs; with fewer, the median ratio per
clock time of the days there are (weights halving every 3 days)."""
NO_WEATHER_SHORT_HALF_LIFE_D = 3.0
NO_WEATHER_YESTERDAY_WEIGHT = 0.4
"""Weight of yesterday's clear-sky index in the day's level (weather comes in spells)."""
NO_WEATHER_BAND_DAYS = 28
"""Days of history behind the P10/P90 of :func:`forecast_without_weather_bands`."""
NO_WEATHER_BAND_HALF_LIFE_D = 14.0
"""Half-life of the day weights of that band [days]."""
NO_WEATHER_BAND_MIN_FRACTION = 0.01
"""The band counts clock times where clear sky exceeds this share of DC capacity [-]."""
NO_WEATHER_BAND_MAX_CSI = 3.0
"""Ratios measured / clear sky in the band are capped here (diffuse light on an array
facing away from a low sun can exceed clear sky several times) [-]."""


NOWCAST_LOOKBACK_H = 3
"""Hours of today's measured PV behind :func:`pv_outlook_from_measured`."""
NOWCAST_HALF_LIFE_H = 6.0
"""How fast the measured-so-far correction fades with lead time [h]."""
NOWCAST_MIN_FRACTION = 0.05
"""The correction needs forecast energy over the look-back of at least this share of
capacity x 1 h (no correction at dawn) [-]."""
NOWCAST_MAX_RATIO = 2.0
"""Measured / forecast over the look-back is capped here [-]."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PvParams:
    """Site-specific corrections of the physical model.

    ``derate``: multiplies the modelled AC power before clipping (soiling,
    shading, nameplate error, mismatch) [-]. ``time_shift_min``: the weather
    label convention, see the module docstring [min]. ``q10`` / ``q90``: ratio
    of the 10th / 90th percentile to the median forecast in each clear-sky-index
    bin of :data:`CSI_BIN_EDGES` [-].
    """

    derate: float = 1.0
    time_shift_min: float = 0.0
    q10: tuple[float, ...] = field(default=DEFAULT_Q10)
    q90: tuple[float, ...] = field(default=DEFAULT_Q90)
    fit_points: int = 0
    fit_mae_w: float = float("nan")


def _utc(index: pd.Index) -> pd.DatetimeIndex:
    if not isinstance(index, pd.DatetimeIndex):
        raise TypeError("weather and history must be indexed by a pandas.DatetimeIndex")
    if index.tz is None:
        raise ValueError("times must be timezone-aware (e.g. tz='UTC')")
    return index.tz_convert("UTC")


def _location(site: Site) -> pvlib.location.Location:
    loc = site.location
    return pvlib.location.Location(loc.latitude, loc.longitude, altitude=loc.altitude_m)


def _column(weather: pd.DataFrame, name: str) -> pd.Series | None:
    if name not in weather.columns:
        return None
    col = pd.to_numeric(weather[name], errors="coerce").astype(np.float64)
    return None if bool(col.isna().all()) else col


def clear_sky_weather(site: Site, times: pd.DatetimeIndex) -> pd.DataFrame:
    """Ineichen clear-sky weather frame at ``times`` (columns as from Open-Meteo).

    ``ghi_wm2``, ``dni_wm2``, ``dhi_wm2`` [W/m²] from pvlib's Ineichen model with
    the Linke turbidity climatology; ``temp_c`` 20 °C; ``cloud_cover_pct`` 0.
    """
    utc = _utc(times)
    clear = _location(site).get_clearsky(utc, model="ineichen")
    return pd.DataFrame(
        {
            "ghi_wm2": clear["ghi"].to_numpy(dtype=np.float64),
            "dni_wm2": clear["dni"].to_numpy(dtype=np.float64),
            "dhi_wm2": clear["dhi"].to_numpy(dtype=np.float64),
            "temp_c": TEMP_AIR_DEFAULT_C,
            "cloud_cover_pct": 0.0,
        },
        index=utc,
    )


def pv_power_w(site: Site, weather: pd.DataFrame, *, params: PvParams | None = None) -> pd.Series:
    """Site AC power [W] for a weather frame (see the module docstring for the chain).

    ``weather`` needs ``ghi_wm2`` [W/m²]; ``dni_wm2`` / ``dhi_wm2`` [W/m²] are used
    where present (else Erbs decomposition), ``temp_c`` [°C] where present. The
    result is indexed by the effective times ``weather.index + time_shift_min``.
    """
    params = params or PvParams()
    utc = _utc(weather.index)
    times = utc + pd.Timedelta(minutes=params.time_shift_min)
    total = np.zeros(len(times), dtype=np.float64)
    if len(times) == 0 or not site.pv_arrays:
        return pd.Series(total, index=times, name="pv_power_w")
    ghi_col = _column(weather, "ghi_wm2")
    if ghi_col is None:
        raise ValueError("weather has no ghi_wm2 values")
    ghi = ghi_col.fillna(0.0).clip(lower=0.0).to_numpy()
    loc = _location(site)
    solpos = loc.get_solarposition(times, method="nrel_numpy")
    zenith = solpos["apparent_zenith"].to_numpy(dtype=np.float64)
    sun_up = solpos["apparent_elevation"].to_numpy(dtype=np.float64) > 0.0
    dni_extra = pvlib.irradiance.get_extra_radiation(times).to_numpy(dtype=np.float64)
    dni_col, dhi_col = _column(weather, "dni_wm2"), _column(weather, "dhi_wm2")
    erbs = pvlib.irradiance.erbs(ghi, solpos["zenith"].to_numpy(dtype=np.float64), times)
    dni = np.asarray(erbs["dni"], dtype=np.float64)
    dhi = np.asarray(erbs["dhi"], dtype=np.float64)
    if dni_col is not None and dhi_col is not None:
        have = (dni_col.notna() & dhi_col.notna()).to_numpy()
        dni = np.where(have, dni_col.fillna(0.0).clip(lower=0.0).to_numpy(), dni)
        dhi = np.where(have, dhi_col.fillna(0.0).clip(lower=0.0).to_numpy(), dhi)
    temp_col = _column(weather, "temp_c")
    temp_air = (
        np.full(len(times), TEMP_AIR_DEFAULT_C)
        if temp_col is None
        else temp_col.fillna(TEMP_AIR_DEFAULT_C).to_numpy()
    )
    for array in site.pv_arrays:
        aoi = pvlib.irradiance.aoi(array.tilt_deg, array.azimuth_deg, zenith, solpos["azimuth"])
        poa = pvlib.irradiance.get_total_irradiance(
            surface_tilt=array.tilt_deg,
            surface_azimuth=array.azimuth_deg,
            solar_zenith=zenith,
            solar_azimuth=solpos["azimuth"].to_numpy(dtype=np.float64),
            dni=dni,
            ghi=ghi,
            dhi=dhi,
            dni_extra=dni_extra,
            albedo=ALBEDO,
            model="haydavies",
        )
        iam = np.nan_to_num(np.asarray(pvlib.iam.ashrae(np.asarray(aoi)), dtype=np.float64))
        beam = np.nan_to_num(np.asarray(poa["poa_direct"], dtype=np.float64)) * iam
        diffuse = np.nan_to_num(np.asarray(poa["poa_diffuse"], dtype=np.float64))
        eff = np.clip(beam + diffuse, 0.0, None)
        t_cell = pvlib.temperature.faiman(eff, temp_air, WIND_SPEED_M_S)
        dc_w = pvlib.pvsystem.pvwatts_dc(eff, t_cell, array.kwp * 1000.0, GAMMA_PDC_PER_C)
        ac_w = np.clip(
            np.asarray(dc_w, dtype=np.float64) * (1 - array.losses_pct / 100) * params.derate,
            0.0,
            None,
        )
        if array.inverter_kw is not None:
            ac_w = np.minimum(ac_w, array.inverter_kw * 1000.0)
        total += ac_w
    total = np.where(sun_up, total, 0.0)
    return pd.Series(total, index=times, name="pv_power_w")


def clear_sky_index(site: Site, weather: pd.DataFrame) -> pd.Series:
    """GHI over Ineichen clear-sky GHI [-], clipped to 0..1.5; 1 where the sun is down."""
    utc = _utc(weather.index)
    ghi_col = _column(weather, "ghi_wm2")
    clear = _location(site).get_clearsky(utc, model="ineichen")["ghi"].to_numpy(dtype=np.float64)
    if ghi_col is None:
        return pd.Series(1.0, index=utc)
    ghi = ghi_col.to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        csi = np.where(clear > 20.0, ghi / clear, 1.0)
    return pd.Series(np.clip(np.nan_to_num(csi, nan=1.0), 0.0, 1.5), index=utc)


def _on_index(series: pd.Series, index: pd.DatetimeIndex) -> pd.Series:
    """``series`` on ``index``: exact where labels match, else time interpolation."""
    if series.index.equals(index):
        return series
    union = series.index.union(index)
    out = series.reindex(union).interpolate(method="time", limit_area="inside")
    return out.reindex(index)


def _capacity_w(site: Site) -> float:
    return sum(a.kwp for a in site.pv_arrays) * 1000.0


def _bin_of(csi: np.ndarray) -> np.ndarray:
    return np.clip(np.searchsorted(np.asarray(CSI_BIN_EDGES), csi, side="right") - 1, 0, None)


def _fit(
    site: Site, history_pv_w: pd.Series, modelled: dict[float, pd.Series], csi: pd.Series
) -> PvParams:
    """Best derate and shift given unit-derate model series per shift (see :func:`calibrate`)."""
    hist = history_pv_w.astype(np.float64)
    threshold = MIN_FIT_FRACTION * _capacity_w(site)
    best: PvParams | None = None
    best_ratio: tuple[np.ndarray, np.ndarray] | None = None
    for shift, model in modelled.items():
        m = _on_index(model, _utc(hist.index))
        ok = (m > threshold) & hist.notna() & m.notna()
        if int(ok.sum()) < 8:
            continue
        y, x = hist[ok].to_numpy(), m[ok].to_numpy()
        derate = float(np.median(y / x))
        mae = float(np.mean(np.abs(y - derate * x)))
        if best is None or mae < best.fit_mae_w:
            best = PvParams(
                derate=derate, time_shift_min=shift, fit_points=int(ok.sum()), fit_mae_w=mae
            )
            bins = _bin_of(_on_index(csi + 0.0, _utc(hist.index))[ok].fillna(1.0).to_numpy())
            best_ratio = (y / (derate * x), bins)
    if best is None or best_ratio is None:
        return PvParams()
    ratio, bins = best_ratio
    q10, q90 = list(DEFAULT_Q10), list(DEFAULT_Q90)
    for b in range(len(CSI_BIN_EDGES)):
        r = ratio[bins == b]
        if len(r) >= 20:
            q10[b] = float(min(np.quantile(r, 0.1), 1.0))
            q90[b] = float(max(np.quantile(r, 0.9), 1.0))
    return PvParams(
        derate=best.derate,
        time_shift_min=best.time_shift_min,
        q10=tuple(q10),
        q90=tuple(q90),
        fit_points=best.fit_points,
        fit_mae_w=best.fit_mae_w,
    )


def _model_by_shift(
    site: Site, weather: pd.DataFrame, shifts: Sequence[float]
) -> dict[float, pd.Series]:
    return {float(s): pv_power_w(site, weather, params=PvParams(time_shift_min=s)) for s in shifts}


def calibrate(
    site: Site,
    history_pv_w: pd.Series,
    weather: pd.DataFrame,
    *,
    shifts: Sequence[float] = SHIFT_CANDIDATES_MIN,
) -> PvParams:
    """Fit :class:`PvParams` to measured AC power [W] and the weather of the same period.

    For each shift in ``shifts`` [min] the model (derate 1) is put on the
    history's time stamps; the derate is the median ratio measured/modelled
    over points where the model exceeds 5 % of DC capacity (robust to outages
    and snow), and the shift with the smallest mean absolute error wins.
    ``q10`` / ``q90`` are the 10th / 90th percentiles of the remaining ratio
    per clear-sky-index bin (defaults where a bin has < 20 points).
    Returns default parameters when fewer than 8 usable points exist.
    """
    modelled = _model_by_shift(site, weather, shifts)
    return _fit(site, history_pv_w, modelled, clear_sky_index(site, weather))


def quantiles(
    p50: pd.Series, csi: pd.Series | float, params: PvParams, *, cap_w: float | None = None
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """(p10, p50, p90) [W]: the median scaled by the calibrated ratio spread of its CSI bin.

    ``csi``: clear-sky index of the forecast weather, aligned with ``p50`` (or one
    value). ``cap_w``: an upper limit (e.g. the inverters' total) for p90.
    """
    values = p50.to_numpy(dtype=np.float64)
    c = np.full(len(values), float(csi)) if isinstance(csi, float | int) else csi.to_numpy()
    bins = _bin_of(np.nan_to_num(c, nan=1.0))
    lo = values * np.asarray(params.q10)[bins]
    hi = values * np.asarray(params.q90)[bins]
    if cap_w is not None:
        hi = np.minimum(hi, cap_w)
    return (
        pd.Series(lo, index=p50.index, name="p10_w"),
        p50.rename("p50_w"),
        pd.Series(np.maximum(hi, values), index=p50.index, name="p90_w"),
    )


def _day_times(site: Site, day: date, freq: pd.Timedelta) -> pd.DatetimeIndex:
    start = pd.Timestamp(day.year, day.month, day.day).tz_localize(
        site.timezone, nonexistent="shift_forward", ambiguous=True
    )
    end = pd.Timestamp(day + timedelta(days=1)).tz_localize(
        site.timezone, nonexistent="shift_forward", ambiguous=True
    )
    return pd.date_range(start, end, freq=freq, inclusive="left").tz_convert("UTC")


def clear_sky_power_w(
    site: Site, times: pd.DatetimeIndex, *, params: PvParams | None = None
) -> pd.Series:
    """Clear-sky AC power [W] at ``times`` with the calibrated ``derate`` and time shift.

    The Ineichen weather is evaluated at ``times + time_shift_min`` so that the
    result lines up with measured power labelled by ``times``.
    """
    p = params or PvParams()
    utc = _utc(times)
    shifted = utc + pd.Timedelta(minutes=p.time_shift_min)
    power = pv_power_w(site, clear_sky_weather(site, shifted), params=PvParams(derate=p.derate))
    return pd.Series(power.to_numpy(), index=utc, name="pv_power_w")


def forecast_without_weather(
    site: Site,
    history_pv_w: pd.Series,
    day: date,
    *,
    params: PvParams | None = None,
    days: int = NO_WEATHER_DAYS,
    half_life_d: float = NO_WEATHER_HALF_LIFE_D,
    clear_w: pd.Series | None = None,
) -> pd.Series:
    """AC power [W] for the local day ``day`` from clear sky and recent history only.

    Clear-sky power (:func:`clear_sky_power_w` with ``params``) times a
    clear-sky index per local clock time, a *level* times a *shape*. The level:
    the weighted median (weights halving every ``half_life_d`` days) of the
    daily indices (measured / clear-sky energy where clear sky is above 5 % of
    capacity) of the last ``days`` days, moved by
    :data:`NO_WEATHER_YESTERDAY_WEIGHT` towards yesterday's. The shape: per
    clock time, the weighted median of measured / clear-sky power divided by
    its day's index (1 where there is none). Only history before the
    local midnight starting ``day`` is used. The result is on the history's
    grid (its median step) over the local day. ``clear_w``: clear-sky power
    already computed on that grid (a speed-up for backtests).
    """
    return forecast_without_weather_bands(
        site,
        history_pv_w,
        day,
        params=params,
        days=days,
        half_life_d=half_life_d,
        clear_w=clear_w,
        quantiles_q=(0.5,),
    )[0]


def forecast_without_weather_bands(
    site: Site,
    history_pv_w: pd.Series,
    day: date,
    *,
    params: PvParams | None = None,
    days: int = NO_WEATHER_DAYS,
    half_life_d: float = NO_WEATHER_HALF_LIFE_D,
    clear_w: pd.Series | None = None,
    quantiles_q: Sequence[float] = (0.1, 0.5, 0.9),
    band_days: int = NO_WEATHER_BAND_DAYS,
    band_half_life_d: float = NO_WEATHER_BAND_HALF_LIFE_D,
) -> list[pd.Series]:
    """:func:`forecast_without_weather` and quantiles around it.

    One series [W] per entry of ``quantiles_q``. ``0.5`` is the median forecast,
    identical to :func:`forecast_without_weather`. Any other ``q`` is clear-sky power
    times the weighted ``q``-quantile of the measured / clear-sky ratios at the same
    clock time over the ``band_days`` days before ``day`` (weights halving every
    ``band_half_life_d`` days), counting clock times where clear sky is above
    :data:`NO_WEATHER_BAND_MIN_FRACTION` of capacity (ratios up to
    :data:`NO_WEATHER_BAND_MAX_CSI`). The median needs a short memory to follow the
    weather; a band taken from the same two weeks is too narrow (they rarely hold a
    day as cloudy as the next one) and leaves the early and late hours, where the
    median falls back on the day's ratio, without a spread of their own. The band
    never crosses the median. Only history before the local midnight starting
    ``day`` is used.
    """
    first_target = _day_times(site, day, pd.Timedelta(hours=1))[0]
    want_band = any(q != 0.5 for q in quantiles_q)
    reach = max(days, band_days) if want_band else days
    hist = history_pv_w.dropna()
    hist = hist[_utc(hist.index) < first_target]
    hist = hist[hist.index >= first_target - pd.Timedelta(days=reach + 1)]
    step = (
        pd.Timedelta(hist.index.to_series().diff().median())
        if len(hist) > 2
        else pd.Timedelta(minutes=15)
    )
    target = _day_times(site, day, step)
    span = [_day_times(site, day - timedelta(days=k), step) for k in range(reach, -1, -1)]
    needed = span[0].append(span[1:])
    if clear_w is None or not needed.isin(clear_w.index).all():
        clear_w = clear_sky_power_w(site, needed, params=params)
    clear_day = clear_w.reindex(target).to_numpy()
    if hist.empty:
        return [pd.Series(clear_day, index=target, name="pv_power_w") for _ in quantiles_q]
    tz = site.tz
    columns = _clock_min(target, tz)

    def on_columns(values: np.ndarray, times: pd.DatetimeIndex) -> np.ndarray:
        series = pd.Series(values, index=_clock_min(times, tz))
        series = series[~series.index.duplicated()]
        return series.reindex(columns).to_numpy(dtype=np.float64)

    capacity_w = _capacity_w(site)
    median_rows: dict[int, np.ndarray] = {}  # days before ``day`` -> ratio per clock time
    day_index: dict[int, float] = {}  # days before ``day`` -> measured / clear-sky energy
    band_rows: dict[int, np.ndarray] = {}
    for k, times in enumerate(span[:-1]):
        ago = reach - k
        actual = hist.reindex(times)
        if int(actual.notna().sum()) < len(times) // 2:
            continue
        measured, c = actual.to_numpy(), clear_w.reindex(times).to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = measured / c
        if ago <= days:
            sunny = c > MIN_FIT_FRACTION * capacity_w
            r = np.where(sunny, ratio, np.nan)
            median_rows[ago] = on_columns(np.clip(r, 0.0, 1.5), times)
            both = sunny & np.isfinite(measured)
            energy = float(np.sum(c[both]))
            day_index[ago] = float(np.sum(measured[both])) / energy if energy > 0 else np.nan
        if want_band and ago <= band_days:
            r = np.where(c > NO_WEATHER_BAND_MIN_FRACTION * capacity_w, ratio, np.nan)
            band_rows[ago] = on_columns(np.clip(r, 0.0, NO_WEATHER_BAND_MAX_CSI), times)
    if not median_rows:
        return [pd.Series(clear_day, index=target, name="pv_power_w") for _ in quantiles_q]
    recent = sorted(median_rows, reverse=True)  # oldest first
    stack = np.array([median_rows[a] for a in recent])
    w = np.array([0.5 ** (a / half_life_d) for a in recent])
    # level x shape: the day's clear-sky index is the median of the last weeks' daily
    # indices pulled towards yesterday's; its course over the day is the median ratio
    # of each clock time to its day's index (the array's own shading and orientation)
    if len(recent) < NO_WEATHER_MIN_SHAPE_DAYS:
        median_w = _short_history_median(stack, recent, clear_day)
    else:
        median_w = _level_shape_median(stack, recent, w, day_index, clear_day)
    band_ago = sorted(band_rows, reverse=True)
    band_stack = np.array([band_rows[a] for a in band_ago]) if band_ago else stack
    band_w = np.array([0.5 ** (a / band_half_life_d) for a in band_ago]) if band_ago else w
    out: list[pd.Series] = []
    clear_now = np.nan_to_num(clear_day)
    for q in quantiles_q:
        if q == 0.5:
            power = median_w
        else:
            power = clear_now * _csi_quantile(band_stack, band_w, q)
            power = np.minimum(power, median_w) if q < 0.5 else np.maximum(power, median_w)
        out.append(pd.Series(power, index=target, name="pv_power_w"))
    return out


def _short_history_median(
    stack: np.ndarray, recent: list[int], clear_day: np.ndarray
) -> np.ndarray:
    """Under two weeks of history: clear sky times the median ratio at each clock time
    (weights halving every :data:`NO_WEATHER_SHORT_HALF_LIFE_D` days), else the days'
    median ratio."""
    w = np.array([0.5 ** (a / NO_WEATHER_SHORT_HALF_LIFE_D) for a in recent])
    with np.errstate(all="ignore"):
        day_medians = np.array(
            [np.nanmedian(row) if np.isfinite(row).any() else np.nan for row in stack]
        )
    csi = _weighted_quantile_columns(stack, w, 0.5)
    fallback = _weighted_quantile(day_medians, w, 0.5)
    csi = np.where(np.isnan(csi), 1.0 if np.isnan(fallback) else fallback, csi)
    return np.asarray(np.nan_to_num(clear_day) * csi, dtype=np.float64)


def _level_shape_median(
    stack: np.ndarray,
    recent: list[int],
    w: np.ndarray,
    day_index: dict[int, float],
    clear_day: np.ndarray,
) -> np.ndarray:
    """Clear sky times level x shape (see :func:`forecast_without_weather`)."""
    level_by_day = np.array([day_index[a] for a in recent])
    level = _weighted_quantile(level_by_day, w, 0.5)
    if np.isnan(level):
        level = 1.0
    if 1 in day_index and np.isfinite(day_index[1]):
        level = (1.0 - NO_WEATHER_YESTERDAY_WEIGHT) * level + (
            NO_WEATHER_YESTERDAY_WEIGHT * day_index[1]
        )
    with np.errstate(all="ignore"):
        shapes = stack / level_by_day[:, None]
    shape = _weighted_quantile_columns(np.where(np.isfinite(shapes), shapes, np.nan), w, 0.5)
    csi = np.clip(level * np.where(np.isnan(shape), 1.0, shape), 0.0, 1.5)
    return np.asarray(np.nan_to_num(clear_day) * csi, dtype=np.float64)


def _clock_min(times: pd.DatetimeIndex, tz: tzinfo) -> np.ndarray:
    """Minutes after local midnight of each time [min]."""
    local = times.tz_convert(tz)
    return np.asarray(local.hour * 60 + local.minute)


def _csi_quantile(stack: np.ndarray, weights: np.ndarray, q: float) -> np.ndarray:
    """Weighted ``q``-quantile of each column of ``stack`` (one row per day, weighted by
    ``weights``); a column without values takes the quantile of the days' medians,
    else 1 (clear sky)."""
    csi = _weighted_quantile_columns(stack, weights, q)
    finite = np.isfinite(stack)
    with np.errstate(all="ignore"):
        medians = np.where(finite.any(axis=1), np.nanmedian(stack, axis=1), np.nan)
    fallback = _weighted_quantile(medians, weights, q)
    return np.where(np.isnan(csi), 1.0 if np.isnan(fallback) else fallback, csi)


def _weighted_quantile_columns(values: np.ndarray, weights: np.ndarray, q: float) -> np.ndarray:
    """:func:`_weighted_quantile` of each column of ``values`` (rows weighted by
    ``weights``); NaN for a column without values."""
    ok = np.isfinite(values)
    v = np.where(ok, values, np.inf)
    order = np.argsort(v, axis=0, kind="stable")
    sorted_v = np.take_along_axis(v, order, axis=0)
    w = np.where(ok, weights[:, None], 0.0)
    cum = np.cumsum(np.take_along_axis(w, order, axis=0), axis=0)
    i = np.minimum((cum < cum[-1] * q).sum(axis=0), ok.sum(axis=0) - 1)
    picked = np.take_along_axis(sorted_v, np.maximum(i, 0)[None, :], axis=0)[0]
    return np.where(ok.any(axis=0), picked, np.nan)


def _weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """The smallest value whose cumulative weight reaches ``q`` of the total (NaN ignored)."""
    ok = ~np.isnan(values)
    if not ok.any():
        return float("nan")
    v, w = values[ok], weights[ok]
    order = np.argsort(v)
    cum = np.cumsum(w[order])
    i = min(int(np.searchsorted(cum, cum[-1] * q)), len(v) - 1)
    return float(v[order][i])


# --------------------------------------------------------------------------- live calibration

LIVE_MIN_CLEAR_DAYS = 3
"""Clear days of hourly history needed before :func:`calibrate_hourly` answers."""
LIVE_CLEAR_DAY_FRACTION = 0.85
"""A day is clear when its measured/modelled energy ratio is at least this share of the
90th percentile of all days' ratios [-]."""
_LIVE_SUBSTEPS_MIN = (7.5, 22.5, 37.5, 52.5)


@dataclass(frozen=True, slots=True, kw_only=True)
class LiveCalibration:
    """The site's effective derate and time-stamp offset, from its own hourly PV history.

    ``time_shift_min``: the hour labelled ``h`` in the readings holds the power of
    ``[h + shift, h + 1 h + shift)`` (0 for correct hour-start labels; a device
    clock or logger that is off shows up here) [min]. ``derate``: measured over
    modelled clear-sky power on clear days [-].
    """

    derate: float
    time_shift_min: float
    clear_days: int
    hours_used: int
    mae_w: float


def _clear_sky_hourly(site: Site, hours: pd.DatetimeIndex, shift_min: float) -> np.ndarray:
    """Clear-sky AC power [W] (derate 1) averaged over [h + shift, h + 1 h + shift)."""
    subs = [hours + pd.Timedelta(minutes=shift_min + m) for m in _LIVE_SUBSTEPS_MIN]
    values = [clear_sky_power_w(site, t).to_numpy(dtype=np.float64) for t in subs]
    return np.asarray(np.mean(values, axis=0), dtype=np.float64)


def calibrate_hourly(
    site: Site,
    hourly_pv_w: pd.Series,
    *,
    shifts: Sequence[float] = SHIFT_CANDIDATES_MIN,
    min_clear_days: int = LIVE_MIN_CLEAR_DAYS,
) -> LiveCalibration | None:
    """Fit :class:`LiveCalibration` to stored hourly PV means (labelled by hour start, UTC).

    Clear days are picked by their measured/modelled energy ratio; on their
    hours (modelled above 5 % of capacity) each candidate shift gets the median
    ratio as its derate, and the shift with the smallest mean absolute error
    wins. None when fewer than ``min_clear_days`` clear days exist.
    """
    if not site.pv_arrays:
        return None
    pv = hourly_pv_w.dropna()
    if pv.empty:
        return None
    hours = _utc(pv.index)
    measured = pv.to_numpy(dtype=np.float64)
    base = _clear_sky_hourly(site, hours, 0.0)
    threshold = MIN_FIT_FRACTION * _capacity_w(site)
    day = hours.tz_convert(site.tz).normalize()
    frame = pd.DataFrame({"m": measured, "c": base, "day": day})
    frame = frame[frame["c"] > threshold]
    if frame.empty:
        return None
    totals = frame.groupby("day").agg(m=("m", "sum"), c=("c", "sum"), n=("m", "size"))
    totals = totals[totals["n"] >= 4]
    if totals.empty:
        return None
    ratios = totals["m"] / totals["c"]
    clear = ratios[ratios >= LIVE_CLEAR_DAY_FRACTION * float(np.quantile(ratios, 0.9))]
    if len(clear) < min_clear_days:
        return None
    use = np.isin(day, clear.index) & (base > threshold)
    best: LiveCalibration | None = None
    for shift in shifts:
        model = _clear_sky_hourly(site, hours[use], float(shift))
        ok = model > threshold
        if int(ok.sum()) < 8:
            continue
        y, x = measured[use][ok], model[ok]
        derate = float(np.median(y / x))
        mae = float(np.mean(np.abs(y - derate * x)))
        if best is None or mae < best.mae_w:
            best = LiveCalibration(
                derate=derate,
                time_shift_min=float(shift),
                clear_days=len(clear),
                hours_used=int(ok.sum()),
                mae_w=mae,
            )
    return best


def pv_outlook_from_measured(
    forecast_w: np.ndarray | Sequence[float],
    measured_w: np.ndarray | Sequence[float],
    *,
    now_index: int,
    capacity_w: float,
    others_w: Sequence[np.ndarray | Sequence[float]] = (),
    lookback_h: int = NOWCAST_LOOKBACK_H,
    half_life_h: float = NOWCAST_HALF_LIFE_H,
) -> list[np.ndarray]:
    """The morning's hourly PV forecast [W] corrected by what the array measured today.

    ``forecast_w`` is the median made at midnight and ``measured_w`` the measured
    hourly PV on the same hours; only hours before ``now_index`` are read (nothing
    from the hour being decided or later). The ratio measured / forecast over the
    last ``lookback_h`` hours (capped at :data:`NOWCAST_MAX_RATIO`) scales the hours
    from ``now_index`` on, fading towards 1 with lead time (half-life
    ``half_life_h``): a morning much sunnier or duller than the forecast says the
    afternoon probably is too. ``others_w`` (e.g. a low quantile) are scaled by the
    same factors. Before there is forecast energy worth comparing (at least
    :data:`NOWCAST_MIN_FRACTION` of ``capacity_w`` x 1 h) the forecasts are returned
    unchanged. Results are clipped at ``capacity_w``. Returns
    ``[median, *others]``, whole arrays (hours before ``now_index`` unchanged)."""
    fc = np.asarray(forecast_w, dtype=np.float64)
    rest = [np.asarray(o, dtype=np.float64).copy() for o in others_w]
    out = [fc.copy(), *rest]
    lo = max(0, now_index - lookback_h)
    if now_index <= 0 or now_index > len(fc):
        return out
    measured = np.asarray(measured_w, dtype=np.float64)[lo:now_index]
    expected = fc[lo:now_index]
    ok = np.isfinite(measured) & np.isfinite(expected)
    expected_wh = float(expected[ok].sum())
    if expected_wh < NOWCAST_MIN_FRACTION * capacity_w:
        return out
    ratio = min(float(measured[ok].sum()) / expected_wh, NOWCAST_MAX_RATIO)
    lead = np.arange(len(fc) - now_index, dtype=np.float64)
    factor = 1.0 + (ratio - 1.0) * 0.5 ** (lead / half_life_h)
    for arr in out:
        arr[now_index:] = np.clip(arr[now_index:] * factor, 0.0, capacity_w)
    return out
