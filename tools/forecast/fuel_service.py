"""The site's fuel picture from stored history, computed off the event loop and cached."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tools.alerts.history import load_history
from tools.clock import Clock
from tools.forecast.fuel_history import FuelPicture, fuel_picture
from tools.offload import Offload
from tools.site import Site

__all__ = ["HISTORY_DAYS", "FuelService"]

HISTORY_DAYS = 42.0
"""Days of hourly history the fuel rate is learned from."""
CACHE_FOR = timedelta(minutes=30)


class FuelService:
    """:func:`tools.forecast.fuel_history.fuel_picture` for a site, at most once per
    :data:`CACHE_FOR` per site (the history is hourly, so nothing changes faster)."""

    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock,
        offload: Offload | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._clock = clock
        self._offload = offload or Offload()
        self._cache: dict[str, FuelPicture] = {}

    async def picture(self, site: Site) -> FuelPicture:
        now = self._clock.now()
        cached = self._cache.get(site.name)
        if cached is not None and timedelta(0) <= now - cached.computed_at < CACHE_FOR:
            return cached
        history = await load_history(
            self._sessionmaker, site=site.name, now=now, hourly_days=HISTORY_DAYS, raw_hours=0.0
        )
        picture = await self._offload.run(fuel_picture, site, history, now=now)
        self._cache[site.name] = picture
        return picture
