"""The running site loop: poll drivers → telemetry → alerts → cards, and scheduled jobs."""

from __future__ import annotations

import logging
from collections.abc import Mapping

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


def build_scheduler(*, poll: object, expire: object, poll_interval_s: float) -> AsyncIOScheduler:
    """APScheduler jobs: poll the site and expire overdue action requests.

    Each job runs at most once at a time and missed runs are coalesced, so a
    slow database never piles up work.
    """
    scheduler = AsyncIOScheduler(timezone="UTC")
    scheduler.add_job(
        poll, "interval", seconds=poll_interval_s, id="poll", max_instances=1, coalesce=True
    )
    scheduler.add_job(
        expire, "interval", seconds=30, id="expire_actions", max_instances=1, coalesce=True
    )
    return scheduler
