"""The running site loop: poll drivers → telemetry → alerts → cards, and scheduled jobs."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from tools.clock import Clock
from tools.devices.base import Driver, SiteDriver
from tools.domain import Reading
from tools.errors import DeviceError
from tools.site import Site
from tools.telemetry import SiteState, TelemetryPipeline

log = logging.getLogger(__name__)


TickHandler = Callable[[str, SiteState], Awaitable[None]]


class Monitor:
    """Polls every driver once per call, feeds the telemetry pipeline, and keeps device
    health (last reading, last error) in each site's state for rules and status answers."""

    def __init__(
        self,
        *,
        drivers: Mapping[str, Driver],
        pipeline: TelemetryPipeline,
        clock: Clock,
        sites: Mapping[str, Site],
        on_tick: TickHandler | None = None,
    ) -> None:
        self._drivers = drivers
        self._pipeline = pipeline
        self._clock = clock
        self._sites = sites
        self._on_tick = on_tick
        self.failures: dict[str, str] = {}

    async def poll_once(self) -> int:
        """Poll all sites; a failing driver is logged and never stops the others."""
        now = self._clock.now()
        batch: list[Reading] = []
        for site, driver in self._drivers.items():
            state = self._pipeline.latest(site)
            if state.watching_since is None:
                state.watching_since = now
            try:
                readings = await driver.poll(now)
            except DeviceError as err:
                self.failures[site] = str(err)
                log.warning("site %s: %s", site, err)
                readings = []
            else:
                self.failures.pop(site, None)
            self._note_health(site, driver, state, readings, now)
            batch.extend(readings)
        accepted = await self._pipeline.ingest(batch)
        if self._on_tick is not None:
            for site in self._drivers:
                await self._on_tick(site, self._pipeline.latest(site))
        return len(accepted)

    def _note_health(
        self, site: str, driver: Driver, state: SiteState, readings: list[Reading], now: datetime
    ) -> None:
        if isinstance(driver, SiteDriver):
            for name, health in driver.health.items():
                if health.last_reading is not None:
                    state.mark_seen(name, health.last_reading)
                state.device_errors[name] = health.last_error
            return
        # A single-device driver (the simulator): any reading means the device is alive.
        config = self._sites.get(site)
        if readings and config is not None:
            for device in config.devices:
                state.mark_seen(device.name, now)
        if site in self.failures and config is not None:
            for device in config.devices:
                state.device_errors[device.name] = self.failures[site]


class Jobs:
    """The scheduled jobs (APScheduler): poll the sites and expire overdue action requests.

    Each job runs at most once at a time and missed runs are coalesced, so a
    slow database never piles up work. :meth:`stop` waits for a job in flight,
    so shutdown never cuts a batch in half.
    """

    def __init__(
        self,
        *,
        poll: Callable[[], Awaitable[object]],
        expire: Callable[[], Awaitable[object]],
        poll_interval_s: float,
        expire_interval_s: float = 30.0,
    ) -> None:
        self._lock = asyncio.Lock()
        self._poll = poll
        self._expire = expire
        self.scheduler = AsyncIOScheduler(timezone="UTC")
        self.scheduler.add_job(
            self._guarded,
            "interval",
            args=[poll],
            seconds=poll_interval_s,
            id="poll",
            max_instances=1,
            coalesce=True,
        )
        self.scheduler.add_job(
            self._guarded,
            "interval",
            args=[expire],
            seconds=expire_interval_s,
            id="expire_actions",
            max_instances=1,
            coalesce=True,
        )

    async def _guarded(self, job: Callable[[], Awaitable[object]]) -> None:
        async with self._lock:
            await job()

    def start(self) -> None:
        self.scheduler.start()

    async def stop(self) -> None:
        self.scheduler.shutdown(wait=False)
        async with self._lock:  # let a job in flight finish
            pass
