"""Forecasts for a live site: weather (or clear-sky), PV with P10/P50/P90, load, from the
site's own history in the database. The maths lives in the pure modules beside this one."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
import numpy.typing as npt
import pandas as pd
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import repositories as repo
from storage.models import HourlyRollupRow
from tools.clock import Clock
from tools.forecast.calibration import (
    REPLAY_DAYS,
    WINDOW_DAYS,
    IssuedBand,
    live_band,
    load_scale_w,
    pv_scale_w,
)
from tools.forecast.load import forecast_load
from tools.forecast.pv import (
    LiveCalibration,
    PvParams,
    calibrate_hourly,
    clear_sky_index,
    clear_sky_weather,
    pv_power_w,
    quantiles,
)
from tools.forecast.weather import OpenMeteoClient, hourly_centres, weather_or_clear_sky
from tools.forecast.week import (
    DEFAULT_GROWTH_PER_DAY,
    LEAD_DAYS,
    LeadGrowth,
    lead_days,
    lead_growth,
    widen,
    width_scores,
)
from tools.offload import Offload
from tools.site import Site

log = logging.getLogger(__name__)

LOAD_HISTORY_DAYS = 60
BAND_HISTORY_DAYS = REPLAY_DAYS + WINDOW_DAYS + 1
"""Days of issued forecasts and measurements behind the calibrated bands."""
PV_CALIBRATION_DAYS = 30
"""Days of the site's hourly PV behind its live calibration (redone once per local day)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredForecast:
    """A forecast as it was issued, read back from the snapshot table (hourly, UTC hour
    starts)."""

    issued_at: datetime
    weather_source: str
    pv_p10_w: pd.Series
    pv_p50_w: pd.Series
    pv_p90_w: pd.Series
    load_p10_w: pd.Series
    load_p50_w: pd.Series
    load_p90_w: pd.Series


_SNAPSHOT_COLUMNS = ("pv_p10_w", "pv_p50_w", "pv_p90_w", "load_p10_w", "load_p50_w", "load_p90_w")
_MODEL_BAND_COLUMNS = ("pv_model_p10_w", "pv_model_p90_w", "load_model_p10_w", "load_model_p90_w")


@dataclass(frozen=True, slots=True, kw_only=True)
class SiteForecast:
    """Hourly forecasts [W] on ``times`` (UTC hour starts), and where the weather came from."""

    times: pd.DatetimeIndex
    pv_p10_w: pd.Series
    pv_p50_w: pd.Series
    pv_p90_w: pd.Series
    load_p10_w: pd.Series
    load_p50_w: pd.Series
    load_p90_w: pd.Series
    weather_source: str
    load_method: str
    pv_calibration: LiveCalibration | None = None
    """The site's own derate and time-stamp offset, when its history allowed one."""
    band_note: str = ""
    """Where the P10/P90 bands come from: calibrated on how many days of the site's own
    forecast errors, or the model's own band and why (too little history)."""
    pv_model_p10_w: pd.Series | None = None
    pv_model_p90_w: pd.Series | None = None
    load_model_p10_w: pd.Series | None = None
    load_model_p90_w: pd.Series | None = None
    """The model's own bands before calibration (stored with snapshots to calibrate later)."""

    def energy_kwh(self, series: pd.Series, start: datetime, end: datetime) -> float:
        window = series[(series.index >= start) & (series.index < end)]
        return float(window.sum()) / 1000.0


@dataclass(frozen=True, slots=True, kw_only=True)
class SolarDay:
    """PV [W] for one local day on UTC hour starts, and where the weather came from."""

    day: date
    pv_p10_w: pd.Series
    pv_p50_w: pd.Series
    pv_p90_w: pd.Series
    weather_source: str

    def energy_kwh(self, series: pd.Series) -> float:
        return float(series.sum()) / 1000.0


def _looked_ahead(series: pd.Series, minutes: float) -> pd.Series:
    """``series`` on its own index with each value taken ``minutes`` later (linear
    interpolation in time; the ends hold)."""
    index = pd.DatetimeIndex(series.index)
    x = index.asi8.astype(np.float64)
    at = (index + pd.Timedelta(minutes=minutes)).asi8.astype(np.float64)
    values = np.interp(at, x, series.to_numpy(dtype=np.float64))
    return pd.Series(values, index=index, name=series.name)


def _pv_bands(
    site: Site,
    weather: pd.DataFrame,
    calibration: LiveCalibration | None,
    times: pd.DatetimeIndex,
) -> list[pd.Series]:
    """P10, P50 and P90 PV power on hour starts (pure; CPU-heavy, so run off the loop)."""
    params = PvParams(derate=calibration.derate) if calibration else PvParams()
    p50 = pv_power_w(site, weather, params=params)
    csi = clear_sky_index(site, weather)
    cap_w = sum((a.inverter_kw or a.kwp) * 1000 for a in site.pv_arrays) or None
    p10, p50, p90 = quantiles(p50, csi.reindex(p50.index, method="nearest"), params, cap_w=cap_w)
    if calibration is not None and calibration.time_shift_min:
        # on the site's own labels: its hour h holds the power of h + shift
        p10, p50, p90 = (_looked_ahead(s, calibration.time_shift_min) for s in (p10, p50, p90))
    # Weather rows are interval centres; express everything on hour starts.
    return [ForecastService._on_hours(s, times) for s in (p10, p50, p90)]


@dataclass(frozen=True, slots=True, kw_only=True)
class WeekForecast:
    """Hourly forecasts to the end of the 7th local day, bands widened by lead day."""

    forecast: SiteForecast
    lead_day: npt.NDArray[np.int64]
    """Lead day of each hour (1 = today)."""
    pv_growth: LeadGrowth
    load_growth: LeadGrowth
    issued_at: datetime


LEAD_HISTORY_DAYS = 35
"""Days of issued forecasts behind the band widening by lead day."""


class ForecastService:
    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock,
        weather: OpenMeteoClient | None = None,
        offload: Offload | None = None,
    ) -> None:
        """``offload`` runs the PV model, the load model and calibration off the loop."""
        self._offload = offload or Offload()
        self._sessionmaker = sessionmaker
        self._clock = clock
        self._weather = weather
        self._calibrations: dict[str, tuple[object, LiveCalibration | None]] = {}

    async def pv_calibration(self, site: Site) -> LiveCalibration | None:
        """Derate and time-stamp offset from the last :data:`PV_CALIBRATION_DAYS` days of
        the site's hourly PV against the clear-sky model; None until enough clear days
        exist. Computed at most once per site and local day."""
        now = self._clock.now()
        today = now.astimezone(site.tz).date()
        cached = self._calibrations.get(site.name)
        if cached is not None and cached[0] == today:
            return cached[1]
        history = await self.actual_hourly(
            site, "pv_power_w", now - timedelta(days=PV_CALIBRATION_DAYS), now
        )
        calibration = (
            await self._offload.run(calibrate_hourly, site, history) if not history.empty else None
        )
        if calibration is not None and calibration.time_shift_min != 0:
            log.warning(
                "%s: PV readings look shifted by %+.0f min against the sun; check the "
                "device clock or its time-stamp convention",
                site.name,
                calibration.time_shift_min,
            )
        self._calibrations[site.name] = (today, calibration)
        return calibration

    async def _load_history(self, site: Site, now: datetime) -> pd.Series:
        since = now - timedelta(days=LOAD_HISTORY_DAYS)
        return await self.actual_hourly(site, "load_power_w", since, now)

    async def actual_hourly(
        self, site: Site, metric: str, start: datetime, end: datetime
    ) -> pd.Series:
        """Hourly means of ``metric`` from the rollups on UTC hour starts in [start, end),
        summed over the site's devices (hours with no rollup are absent)."""
        async with self._sessionmaker() as session, session.begin():
            rows = (
                await session.execute(
                    select(HourlyRollupRow.hour, HourlyRollupRow.sum, HourlyRollupRow.count).where(
                        HourlyRollupRow.site == site.name,
                        HourlyRollupRow.metric == metric,
                        HourlyRollupRow.hour >= start,
                        HourlyRollupRow.hour < end,
                    )
                )
            ).all()
        if not rows:
            return pd.Series(dtype="float64", index=pd.DatetimeIndex([], tz="UTC"))
        index = pd.DatetimeIndex([r[0] for r in rows])
        index = index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
        series = pd.Series([r[1] / r[2] if r[2] else np.nan for r in rows], index=index)
        return series.groupby(level=0).sum().sort_index()

    async def forecast(
        self, site: Site, *, hours: int = 48, current_load_w: float | None = None
    ) -> SiteForecast:
        """PV and load for the next ``hours`` whole hours."""
        now = self._clock.now()
        start = pd.Timestamp(now).ceil("h")
        times = pd.date_range(start, periods=hours, freq="h", tz="UTC")
        pv, source, calibration = await self._pv_hourly(site, times)
        history = await self._load_history(site, now)
        if history.dropna().size >= 24:
            load = await self._offload.run(
                forecast_load, history.dropna(), start=start, hours=hours, tz=site.timezone
            )
            loads = [
                load.p10_w.reindex(times),
                load.p50_w.reindex(times),
                load.p90_w.reindex(times),
            ]
            method = load.method
        else:
            flat = float(current_load_w or 0.0)
            loads = [pd.Series(flat, index=times)] * 3
            method = "current load held flat (less than a day of history)"
        loads = [s.ffill().bfill().fillna(current_load_w or 0.0) for s in loads]
        pv_band, load_band, note = await self._calibrated_bands(site, now, times, pv, loads)
        return SiteForecast(
            times=times,
            pv_p10_w=pv_band[0],
            pv_p50_w=pv[1],
            pv_p90_w=pv_band[1],
            load_p10_w=load_band[0],
            load_p50_w=loads[1],
            load_p90_w=load_band[1],
            weather_source=source,
            load_method=method,
            pv_calibration=calibration,
            band_note=note,
            pv_model_p10_w=pv[0],
            pv_model_p90_w=pv[2],
            load_model_p10_w=loads[0],
            load_model_p90_w=loads[2],
        )

    async def week(self, site: Site, *, current_load_w: float | None = None) -> WeekForecast:
        """PV and load from the next hour to the end of the 7th local day (today is the
        first), with the P10/P90 bands widened by lead day (:mod:`tools.forecast.week`)."""
        now = self._clock.now()
        local_today = now.astimezone(site.tz).date()
        end = datetime.combine(
            local_today + timedelta(days=LEAD_DAYS), time(0), tzinfo=site.tz
        ).astimezone(UTC)
        start = pd.Timestamp(now).ceil("h")
        hours = max(1, int((pd.Timestamp(end) - start) / pd.Timedelta(hours=1)))
        forecast = await self.forecast(site, hours=hours, current_load_w=current_load_w)
        tz = str(site.timezone)
        leads = lead_days(forecast.times, pd.Timestamp(now), tz)
        pv_growth, load_growth = await self.lead_growths(site, now, forecast.weather_source)
        cap_w = sum((a.inverter_kw or a.kwp) * 1000 for a in site.pv_arrays) or None
        pv_lo, pv_hi = widen(
            forecast.pv_p10_w.to_numpy(),
            forecast.pv_p50_w.to_numpy(),
            forecast.pv_p90_w.to_numpy(),
            pv_growth.factor(leads),
            cap_w=cap_w,
        )
        load_lo, load_hi = widen(
            forecast.load_p10_w.to_numpy(),
            forecast.load_p50_w.to_numpy(),
            forecast.load_p90_w.to_numpy(),
            load_growth.factor(leads),
        )
        times = forecast.times
        widened = dataclasses.replace(
            forecast,
            pv_p10_w=pd.Series(pv_lo, index=times, name="pv_p10_w"),
            pv_p90_w=pd.Series(pv_hi, index=times, name="pv_p90_w"),
            load_p10_w=pd.Series(load_lo, index=times, name="load_p10_w"),
            load_p90_w=pd.Series(load_hi, index=times, name="load_p90_w"),
        )
        return WeekForecast(
            forecast=widened,
            lead_day=leads,
            pv_growth=pv_growth,
            load_growth=load_growth,
            issued_at=now,
        )

    async def lead_growths(
        self, site: Site, now: datetime, weather_source: str
    ) -> tuple[LeadGrowth, LeadGrowth]:
        """Band factors by lead day for PV and load from every forecast the site was issued
        in the last :data:`LEAD_HISTORY_DAYS` days against what it then measured."""
        start = now - timedelta(days=LEAD_HISTORY_DAYS)
        async with self._sessionmaker() as session, session.begin():
            rows = await repo.issued_forecast_hours(session, site=site.name, start=start, end=now)
        pv_default = DEFAULT_GROWTH_PER_DAY[
            "pv_weather" if weather_source == "open-meteo" else "pv_clear_sky"
        ]
        tz = str(site.timezone)
        empty = np.zeros(0)
        if not rows:
            return (
                lead_growth(
                    np.zeros(0, np.int64), empty, [], default_per_day=pv_default, what="PV"
                ),
                lead_growth(
                    np.zeros(0, np.int64),
                    empty,
                    [],
                    default_per_day=DEFAULT_GROWTH_PER_DAY["load"],
                    what="load",
                ),
            )

        def utc(values: list[datetime]) -> pd.DatetimeIndex:
            index = pd.DatetimeIndex(values)
            return index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")

        targets = utc([r.target_hour for r in rows])
        issued = utc([r.issued_at for r in rows])
        leads = lead_days(targets, issued, tz)
        days = np.asarray(targets.tz_convert(tz).date, dtype=object)

        def column(name: str) -> npt.NDArray[np.float64]:
            return np.array([getattr(r, name) for r in rows], dtype=np.float64)

        load_actual = await self.actual_hourly(site, "load_power_w", start, now)
        load_z = width_scores(
            column("load_p10_w"),
            column("load_p50_w"),
            column("load_p90_w"),
            load_actual.reindex(targets).to_numpy(),
        )
        load_g = lead_growth(
            leads, load_z, days, default_per_day=DEFAULT_GROWTH_PER_DAY["load"], what="load"
        )
        pv_z = np.full(len(rows), np.nan)
        if site.pv_arrays:
            pv_actual = await self.actual_hourly(site, "pv_power_w", start, now)
            pv_z = width_scores(
                column("pv_p10_w"),
                column("pv_p50_w"),
                column("pv_p90_w"),
                pv_actual.reindex(targets).to_numpy(),
            )
        pv_g = lead_growth(leads, pv_z, days, default_per_day=pv_default, what="PV")
        return pv_g, load_g

    async def _calibrated_bands(
        self,
        site: Site,
        now: datetime,
        times: pd.DatetimeIndex,
        pv: list[pd.Series],
        loads: list[pd.Series],
    ) -> tuple[tuple[pd.Series, pd.Series], tuple[pd.Series, pd.Series], str]:
        """P10/P90 of PV and load calibrated on the forecasts this site was issued over
        the last :data:`BAND_HISTORY_DAYS` days and what it then measured
        (:mod:`tools.forecast.calibration`); the model's bands while too few exist."""
        model_pv, model_load = (pv[0], pv[2]), (loads[0], loads[2])
        start = now - timedelta(days=BAND_HISTORY_DAYS)
        async with self._sessionmaker() as session, session.begin():
            rows = await repo.issued_forecast_hours(session, site=site.name, start=start, end=now)
        if not rows:
            return model_pv, model_load, "bands from the model only: no issued forecasts yet"
        frame = pd.DataFrame(
            [
                {
                    "hour": r.target_hour,
                    "pv_p50_w": r.pv_p50_w,
                    "pv_p10_w": r.pv_p10_w if r.pv_model_p10_w is None else r.pv_model_p10_w,
                    "pv_p90_w": r.pv_p90_w if r.pv_model_p90_w is None else r.pv_model_p90_w,
                    "load_p50_w": r.load_p50_w,
                    "load_p10_w": (
                        r.load_p10_w if r.load_model_p10_w is None else r.load_model_p10_w
                    ),
                    "load_p90_w": (
                        r.load_p90_w if r.load_model_p90_w is None else r.load_model_p90_w
                    ),
                }
                for r in rows
            ]
        )
        index = pd.DatetimeIndex(frame.pop("hour"))
        frame.index = index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
        frame = frame.groupby(level=0).last()  # rows come oldest issue first: newest wins
        hours = pd.DatetimeIndex(frame.index)
        when = pd.Timestamp(now)
        notes: list[str] = []
        load_actual = await self.actual_hourly(site, "load_power_w", start, now)
        load_p50 = loads[1].to_numpy(dtype=np.float64)
        load_cal = await asyncio.to_thread(  # numpy work off the event loop
            live_band,
            IssuedBand(
                p50_w=frame["load_p50_w"],
                model_p10_w=frame["load_p10_w"],
                model_p90_w=frame["load_p90_w"],
            ),
            load_actual,
            now=when,
            tz=site.timezone,
            times=times,
            p50_w=load_p50,
            model_p10_w=model_load[0].to_numpy(dtype=np.float64),
            model_p90_w=model_load[1].to_numpy(dtype=np.float64),
            past_scale_w=load_scale_w(frame["load_p50_w"].to_numpy(dtype=np.float64)),
            scale_w=load_scale_w(load_p50),
            pv=False,
        )
        load_band = (
            pd.Series(load_cal.p10_w, index=times, name="load_p10_w"),
            pd.Series(load_cal.p90_w, index=times, name="load_p90_w"),
        )
        notes.append(f"load {load_cal.note}")
        pv_band = model_pv
        if site.pv_arrays:
            capacity_w = sum(a.kwp for a in site.pv_arrays) * 1000.0
            pv_actual = await self.actual_hourly(site, "pv_power_w", start, now)
            clear_past = self.pv_clear_sky_hourly(
                site, hours[0].to_pydatetime(), (hours[-1] + pd.Timedelta(hours=1)).to_pydatetime()
            ).reindex(hours)
            clear_now = self.pv_clear_sky_hourly(
                site, times[0].to_pydatetime(), (times[-1] + pd.Timedelta(hours=1)).to_pydatetime()
            ).reindex(times)
            pv_p50 = pv[1].to_numpy(dtype=np.float64)
            pv_cal = await asyncio.to_thread(
                live_band,
                IssuedBand(
                    p50_w=frame["pv_p50_w"],
                    model_p10_w=frame["pv_p10_w"],
                    model_p90_w=frame["pv_p90_w"],
                ),
                pv_actual,
                now=when,
                tz=site.timezone,
                times=times,
                p50_w=pv_p50,
                model_p10_w=model_pv[0].to_numpy(dtype=np.float64),
                model_p90_w=model_pv[1].to_numpy(dtype=np.float64),
                past_scale_w=pv_scale_w(clear_past.to_numpy(dtype=np.float64), capacity_w),
                scale_w=pv_scale_w(clear_now.to_numpy(dtype=np.float64), capacity_w),
                pv=True,
                cap_w=sum((a.inverter_kw or a.kwp) * 1000 for a in site.pv_arrays),
            )
            pv_band = (
                pd.Series(pv_cal.p10_w, index=times, name="pv_p10_w"),
                pd.Series(pv_cal.p90_w, index=times, name="pv_p90_w"),
            )
            notes.insert(0, f"PV {pv_cal.note}")
        return pv_band, load_band, "; ".join(notes)

    async def _pv_hourly(
        self, site: Site, times: pd.DatetimeIndex
    ) -> tuple[list[pd.Series], str, LiveCalibration | None]:
        """PV P10/P50/P90 [W] on the hour starts ``times``, the weather source, and the
        site's calibration: the one PV path every forecast answer uses."""
        start = pd.Timestamp(times[0])
        weather, source = await weather_or_clear_sky(
            self._weather,
            site,
            start.to_pydatetime(),
            (pd.Timestamp(times[-1]) + pd.Timedelta(hours=1)).to_pydatetime(),
        )
        calibration = await self.pv_calibration(site)
        pv = await self._offload.run(_pv_bands, site, weather, calibration, times)
        return pv, source, calibration

    async def solar_day(self, site: Site, day: date) -> SolarDay:
        """Solar for one whole local ``day``, hourly, through the same weather and PV path
        as :meth:`forecast` (Open-Meteo when configured, else clear sky)."""
        start = datetime.combine(day, time(0), tzinfo=site.tz).astimezone(UTC)
        end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=site.tz).astimezone(UTC)
        times = pd.date_range(start, end, freq="h", inclusive="left")
        (p10, p50, p90), source, _calibration = await self._pv_hourly(site, times)
        return SolarDay(day=day, pv_p10_w=p10, pv_p50_w=p50, pv_p90_w=p90, weather_source=source)

    # -- snapshots: the forecasts as issued, for scoring later ----------------------

    async def store_snapshot(self, site: Site) -> int:
        """Issue a forecast now, from the next hour to the end of tomorrow (local), and
        store it; returns the number of hours stored."""
        now = self._clock.now()
        local_now = now.astimezone(site.tz)
        end_local = datetime.combine(
            local_now.date() + timedelta(days=2), datetime.min.time(), tzinfo=site.tz
        )
        start = pd.Timestamp(now).ceil("h")
        hours = int((pd.Timestamp(end_local).tz_convert("UTC") - start) / pd.Timedelta(hours=1))
        forecast = await self.forecast(site, hours=max(hours, 1))
        rows = [
            {
                "target_hour": t.to_pydatetime(),
                **{c: float(getattr(forecast, c).iloc[i]) for c in _SNAPSHOT_COLUMNS},
                **{
                    c: float(getattr(forecast, c).iloc[i])
                    for c in _MODEL_BAND_COLUMNS
                    if getattr(forecast, c) is not None
                },
                "weather_source": forecast.weather_source[:32],
            }
            for i, t in enumerate(forecast.times)
        ]
        async with self._sessionmaker() as session, session.begin():
            return await repo.insert_forecast_snapshot(
                session, site=site.name, issued_at=now, rows=rows
            )

    async def store_due_snapshots(self, sites: list[Site]) -> int:
        """The daily job: each site without a forecast issued since its local midnight
        gets one now (day-ahead for tomorrow). Returns the sites stored."""
        now = self._clock.now()
        stored = 0
        for site in sites:
            midnight = datetime.combine(
                now.astimezone(site.tz).date(), datetime.min.time(), tzinfo=site.tz
            ).astimezone(UTC)
            async with self._sessionmaker() as session, session.begin():
                latest = await repo.latest_snapshot_issued_at(
                    session, site=site.name, before=now + timedelta(seconds=1), since=midnight
                )
            if latest is not None:
                continue
            try:
                if await self.store_snapshot(site):
                    stored += 1
            except Exception:  # one site's failure must not stop the others
                log.exception("storing the forecast snapshot of %s failed", site.name)
        return stored

    async def day_ahead(self, site: Site, start: datetime, end: datetime) -> StoredForecast | None:
        """The newest forecast issued before ``start`` covering [start, end), or None."""
        async with self._sessionmaker() as session, session.begin():
            issued = await repo.latest_snapshot_issued_at(session, site=site.name, before=start)
            if issued is None:
                return None
            rows = await repo.forecast_snapshot_hours(
                session, site=site.name, issued_at=issued, start=start, end=end
            )
        if not rows:
            return None
        index = pd.DatetimeIndex([pd.Timestamp(r.target_hour) for r in rows])
        index = index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
        series = {
            c: pd.Series([float(getattr(r, c)) for r in rows], index=index, name=c)
            for c in _SNAPSHOT_COLUMNS
        }
        return StoredForecast(issued_at=issued, weather_source=rows[0].weather_source, **series)

    def pv_clear_sky_hourly(self, site: Site, start: datetime, end: datetime) -> pd.Series:
        """Modelled PV [W] on clear-sky weather, hourly means on UTC hour starts in [start, end).

        The forecast a past day is scored against when no archived forecast exists.
        """
        times = pd.date_range(
            pd.Timestamp(start).floor("h"), pd.Timestamp(end).ceil("h"), freq="h", inclusive="left"
        )
        weather = clear_sky_weather(site, hourly_centres(start, end))
        return self._on_hours(pv_power_w(site, weather, params=PvParams()), times)

    @staticmethod
    def _on_hours(series: pd.Series, times: pd.DatetimeIndex) -> pd.Series:
        """Hourly means on hour-start labels from any finer or shifted series."""
        shifted = series.copy()
        shifted.index = shifted.index - pd.Timedelta(minutes=30)
        hourly = shifted.resample("h").mean()
        return hourly.reindex(times).interpolate(limit_direction="both").fillna(0.0).clip(lower=0.0)
