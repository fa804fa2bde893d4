"""The running site loop: poll drivers → telemetry → alerts → cards, and scheduled jobs."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from tools.clock import Clock
from tools.devices.base import Driver
from tools.errors import DeviceError
from tools.telemetry import TelemetryPipeline

log = logging.getLogger(__name__)


class Monitor:
    """Polls every driver once per call and feeds the telemetry pipeline."""

    def __init__(
        self, *, drivers: Mapping[str, Driver], pipeline: TelemetryPipeline, clock: Clock
    ) -> None:
        self._drivers = drivers
        self._pipeline = pipeline
        self._clock = clock
        self.failures: dict[str, str] = {}

    async def poll_once(self) -> int:
        """Poll all sites; a failing driver is logged and never stops the others."""
        total = 0
        for site, driver in self._drivers.items():
            try:
                readings = await driver.poll(self._clock.now())
            except DeviceError as err:
                self.failures[site] = str(err)
                log.warning("site %s: %s", site, err)
                continue
            self.failures.pop(site, None)
            total += len(await self._pipeline.ingest(readings))
        return total


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
