"""Hourly weather for PV forecasts: Open-Meteo when reachable, clear sky otherwise.

The frame returned by :meth:`OpenMeteoClient.hourly` (a *WeatherFrame*) is a
``pandas.DataFrame`` indexed by tz-aware UTC times with columns ``ghi_wm2``,
``dni_wm2``, ``dhi_wm2`` [W/m²], ``temp_c`` [°C] and ``cloud_cover_pct`` [%].

**Alignment.** Open-Meteo's radiation values are means over the hour *before*
their time stamp (PROTOCOLS §5.1). The client moves every row to the centre of
its interval (stamp − 30 min): the row indexed 11:30 UTC is the mean over
11:00–12:00 UTC. Temperature and cloud cover (instantaneous at the stamp) move
with it; half an hour is well within their resolution. The PV model
(:func:`tools.forecast.pv.pv_power_w`) evaluates the sun at the index, which is
then the right instant for an interval mean.

We never ask Open-Meteo for tilted irradiance; if that changes, remember its
azimuth convention (0 = south, −90 = east) against ours (180 = south).
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import httpx
import numpy as np
import pandas as pd

from tools.errors import ToolsError
from tools.forecast.pv import clear_sky_weather
from tools.site import Location, Site

__all__ = [
    "HOURLY_VARIABLES",
    "OpenMeteoClient",
    "WeatherSource",
    "WeatherUnavailable",
    "hourly_centres",
    "parse_hourly",
    "weather_or_clear_sky",
]

log = logging.getLogger(__name__)

HOURLY_VARIABLES: dict[str, str] = {
    "shortwave_radiation": "ghi_wm2",
    "direct_normal_irradiance": "dni_wm2",
    "diffuse_radiation": "dhi_wm2",
    "temperature_2m": "temp_c",
    "cloud_cover": "cloud_cover_pct",
}
"""Open-Meteo hourly variable -> our column."""
COLUMNS = tuple(HOURLY_VARIABLES.values())
INTERVAL_CENTRE = pd.Timedelta(minutes=-30)
"""Shift from Open-Meteo's end-of-hour stamp to the interval centre."""

# "clear-sky": no weather service configured; "clear-sky-fallback": it failed this time
WeatherSource = Literal["open-meteo", "clear-sky", "clear-sky-fallback"]


class WeatherUnavailable(ToolsError):
    """The weather service could not give a usable forecast (network, HTTP, payload)."""


def _hour_floor(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("start and end must be timezone-aware")
    v = value.astimezone(UTC)
    return v.replace(minute=0, second=0, microsecond=0)


def _hour_ceil(value: datetime) -> datetime:
    floor = _hour_floor(value)
    return floor if floor == value.astimezone(UTC) else floor + timedelta(hours=1)


def parse_hourly(payload: Any) -> pd.DataFrame:
    """A WeatherFrame from an Open-Meteo JSON answer requested with ``timeformat=unixtime``.

    Times (UTC epoch seconds, end of each hour) are moved to interval centres
    (−30 min). ``null`` becomes NaN. Raises :class:`WeatherUnavailable` for an
    error object or a payload without the expected arrays.
    """
    if isinstance(payload, list):  # several locations: we ask for one
        payload = payload[0] if payload else None
    if not isinstance(payload, dict):
        raise WeatherUnavailable("Open-Meteo answered with something other than a JSON object")
    if payload.get("error"):
        raise WeatherUnavailable(f"Open-Meteo refused the request: {payload.get('reason', '?')}")
    hourly = payload.get("hourly")
    if not isinstance(hourly, dict) or not isinstance(hourly.get("time"), list):
        raise WeatherUnavailable("Open-Meteo answer has no hourly.time array")
    stamps = hourly["time"]
    if not all(isinstance(t, int | float) and not isinstance(t, bool) for t in stamps):
        raise WeatherUnavailable(
            "Open-Meteo hourly.time is not unix seconds (was timeformat=unixtime sent?)"
        )
    index = pd.to_datetime(np.asarray(stamps, dtype=np.int64), unit="s", utc=True)
    data: dict[str, np.ndarray] = {}
    for variable, column in HOURLY_VARIABLES.items():
        values = hourly.get(variable)
        if not isinstance(values, list) or len(values) != len(stamps):
            raise WeatherUnavailable(
                f"Open-Meteo answer lacks hourly.{variable} of matching length"
            )
        data[column] = np.array(
            [math.nan if v is None else float(v) for v in values], dtype=np.float64
        )
    return pd.DataFrame(data, index=index + INTERVAL_CENTRE, columns=list(COLUMNS))


def hourly_centres(start: datetime, end: datetime) -> pd.DatetimeIndex:
    """Interval centres (HH:30 UTC) of the whole hours overlapping ``[start, end)``."""
    first, last = _hour_floor(start), _hour_ceil(end)
    return pd.date_range(first, last, freq="1h", inclusive="left") + pd.Timedelta(minutes=30)


class OpenMeteoClient:
    """Hourly forecasts from Open-Meteo's ``/v1/forecast`` with an in-memory cache.

    ``http`` is owned by the caller (built in the composition root); ``timeout_s``
    applies to each request; answers are cached per (latitude, longitude, hour
    range) for ``cache_ttl_s`` seconds. ``clock`` returns monotonic seconds
    (a test seam).
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str = "https://api.open-meteo.com/v1/forecast",
        timeout_s: float = 10,
        cache_ttl_s: float = 1800,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = http
        self._base_url = base_url
        self._timeout_s = timeout_s
        self._ttl_s = cache_ttl_s
        self._clock = clock
        self._cache: dict[tuple[float, float, datetime, datetime], tuple[float, pd.DataFrame]] = {}

    async def hourly(self, location: Location, *, start: datetime, end: datetime) -> pd.DataFrame:
        """The WeatherFrame whose hourly intervals overlap ``[start, end)`` (UTC-aware times).

        Raises :class:`WeatherUnavailable` when the service cannot be reached,
        answers with an error status or an unusable payload, or does not cover
        the range.
        """
        first, last = _hour_floor(start), _hour_ceil(end)
        if last <= first:
            raise ValueError("end must be after start")
        key = (round(location.latitude, 4), round(location.longitude, 4), first, last)
        now = self._clock()
        cached = self._cache.get(key)
        if cached is not None and now - cached[0] < self._ttl_s:
            return cached[1].copy()
        # each row is the hour ENDING at its stamp: ask for stamps first+1h .. last
        params: dict[str, str | float] = {
            "latitude": location.latitude,
            "longitude": location.longitude,
            "hourly": ",".join(HOURLY_VARIABLES),
            "timeformat": "unixtime",
            "timezone": "UTC",
            "start_date": first.date().isoformat(),
            "end_date": last.date().isoformat(),
        }
        try:
            response = await self._http.get(self._base_url, params=params, timeout=self._timeout_s)
        except httpx.TimeoutException as err:
            raise WeatherUnavailable(
                f"Open-Meteo did not answer within {self._timeout_s:g} s; try again later"
            ) from err
        except httpx.HTTPError as err:
            raise WeatherUnavailable(
                f"cannot reach Open-Meteo ({type(err).__name__}: {err}); check the network"
            ) from err
        if response.status_code != 200:
            reason = ""
            with contextlib.suppress(ValueError):  # an error page that is not JSON
                body = response.json()
                if isinstance(body, dict):
                    reason = f": {body.get('reason', '')}"
            raise WeatherUnavailable(f"Open-Meteo answered HTTP {response.status_code}{reason}")
        try:
            payload = response.json()
        except ValueError as err:
            raise WeatherUnavailable("Open-Meteo answered with invalid JSON") from err
        frame = parse_hourly(payload)
        wanted = hourly_centres(first, last)
        frame = frame[~frame.index.duplicated()].reindex(wanted)
        if bool(frame["ghi_wm2"].isna().all()):
            raise WeatherUnavailable(
                f"Open-Meteo has no radiation for {first:%Y-%m-%d %H:%M}..{last:%Y-%m-%d %H:%M} "
                "UTC (outside its forecast range?)"
            )
        self._cache[key] = (now, frame)
        return frame.copy()


async def weather_or_clear_sky(
    client: OpenMeteoClient | None, site: Site, start: datetime, end: datetime
) -> tuple[pd.DataFrame, WeatherSource]:
    """Open-Meteo weather for ``[start, end)``, or the Ineichen clear sky when it fails.

    Returns ``(frame, source)`` with ``source`` ``"open-meteo"``, ``"clear-sky"`` (no
    client: no weather service configured) or ``"clear-sky-fallback"`` (the service
    failed), so that answers can say which. The clear-sky frame has the same columns
    and hourly interval-centre index.
    """
    if client is not None:
        try:
            frame = await client.hourly(site.location, start=start, end=end)
        except WeatherUnavailable as err:
            log.warning("weather for site %s falls back to clear sky: %s", site.name, err)
            return clear_sky_weather(site, hourly_centres(start, end)), "clear-sky-fallback"
        missing = frame["ghi_wm2"].isna().to_numpy()
        if missing.any():  # beyond the service's range (a week asked of a shorter forecast)
            clear = clear_sky_weather(site, pd.DatetimeIndex(frame.index[missing]))
            frame.loc[missing, list(COLUMNS)] = clear[list(COLUMNS)].to_numpy()
            log.warning(
                "weather for site %s: %d of %d hours missing, filled with clear sky",
                site.name,
                int(missing.sum()),
                len(missing),
            )
        frame.attrs["clear_sky_hours"] = int(missing.sum())
        return frame, "open-meteo"
    return clear_sky_weather(site, hourly_centres(start, end)), "clear-sky"
