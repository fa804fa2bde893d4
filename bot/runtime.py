"""The running site loop: poll drivers → telemetry → alerts → cards, and scheduled jobs."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import repositories as repo
from tools.clock import Clock
from tools.devices.base import Driver, SiteDriver
from tools.domain import Reading
from tools.errors import DeviceError, SiteConfigError
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
        after_poll: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        self._drivers = drivers
        self._after_poll = after_poll
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
        if self._after_poll is not None:  # the worker's own health (ingest overload)
            await self._after_poll()
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


@dataclass(frozen=True, slots=True)
class JobSpec:
    """A scheduled job: ``once`` jobs run on one worker per interval across all workers."""

    name: str
    fn: Callable[[], Awaitable[object]]
    interval_s: float
    once: bool = False


class Jobs:
    """The scheduled jobs (APScheduler), e.g. poll the sites, expire action requests,
    roll up readings.

    Each job runs at most once at a time and missed runs are coalesced, so a
    slow database never piles up work. Jobs share one lock, and :meth:`stop`
    waits for a job in flight, so shutdown never cuts a batch in half. A job
    marked ``once`` runs only where ``claim`` (see :class:`bot.cluster.Cluster`)
    says no other worker started it within its interval.
    """

    def __init__(
        self,
        jobs: Sequence[JobSpec | tuple[str, Callable[[], Awaitable[object]], float]],
        *,
        claim: Callable[[str, float], Awaitable[bool]] | None = None,
        intervals: Mapping[str, float] | None = None,
    ) -> None:
        specs = [j if isinstance(j, JobSpec) else JobSpec(*j) for j in jobs]
        intervals = dict(intervals or {})
        unknown = sorted(set(intervals) - {j.name for j in specs})
        if unknown:
            raise SiteConfigError(
                f"COMMANDCENTER_JOB_INTERVALS names unknown job(s) {', '.join(unknown)}; "
                f"jobs: {', '.join(j.name for j in specs)}"
            )
        bad = [f"{n}={v}" for n, v in intervals.items() if not v > 0]
        if bad:
            raise SiteConfigError(f"job intervals must be positive seconds, got {', '.join(bad)}")
        self._lock = asyncio.Lock()
        self._stopping = False
        self._claim = claim
        self.specs = [
            JobSpec(j.name, j.fn, intervals.get(j.name, j.interval_s), j.once) for j in specs
        ]
        self.scheduler = AsyncIOScheduler(timezone="UTC")
        for spec in self.specs:
            self.scheduler.add_job(
                self._guarded,
                "interval",
                args=[spec],
                seconds=spec.interval_s,
                id=spec.name,
                max_instances=1,
                coalesce=True,
            )

    async def _guarded(self, spec: JobSpec) -> None:
        if self._stopping:
            return
        try:
            async with self._lock:
                if self._stopping:
                    return
                claim = self._claim if spec.once else None
                if claim is not None and not await claim(spec.name, spec.interval_s):
                    return
                await spec.fn()
        except asyncio.CancelledError:
            if not self._stopping:
                raise
            # A job still queued when the process stops: nothing was started, nothing lost.
        except Exception:
            log.exception("scheduled job %s failed", spec.name)

    def start(self) -> None:
        self.scheduler.start()

    async def stop(self) -> None:
        self._stopping = True
        self.scheduler.shutdown(wait=False)
        async with self._lock:  # let a job in flight finish
            pass


class Maintenance:
    """Database upkeep: hourly rollups of recent readings and pruning of old raw rows."""

    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock,
        raw_retention_days: float,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._clock = clock
        self._retention = timedelta(days=raw_retention_days)

    async def rollup_recent(self, hours: int = 2) -> int:
        """Recompute the rollups of the current and the previous ``hours`` hours."""
        now = self._clock.now()
        async with self._sessionmaker() as session, session.begin():
            return await repo.rollup_hours(
                session, start=now - timedelta(hours=hours), end=now + timedelta(hours=1)
            )

    async def prune_raw(self) -> int:
        """Delete raw readings past the retention (their hourly rollups are kept)."""
        cutoff = (self._clock.now() - self._retention).replace(minute=0, second=0, microsecond=0)
        async with self._sessionmaker() as session, session.begin():
            # Make sure the hours about to lose their raw rows are rolled up first.
            await repo.rollup_hours(session, start=cutoff - timedelta(hours=2), end=cutoff)
            return await repo.delete_readings_before(session, before=cutoff)


def standard_jobs(
    *,
    monitor: Monitor,
    expire: Callable[[], Awaitable[object]],
    maintenance: Maintenance,
    alert_periodic: Callable[[], Awaitable[object]],
    alert_lifecycle: Callable[[], Awaitable[object]],
    deliveries: Callable[[], Awaitable[object]],
    metrics: Callable[[], Awaitable[object]],
    execute_approved: Callable[[], Awaitable[object]] | None = None,
    poll_interval_s: float,
    claim: Callable[[str, float], Awaitable[bool]] | None = None,
    intervals: Mapping[str, float] | None = None,
    digests: Callable[[], Awaitable[object]] | None = None,
    forecast_snapshots: Callable[[], Awaitable[object]] | None = None,
    preferences: Callable[[], Awaitable[object]] | None = None,
) -> Jobs:
    """Per-worker jobs (its own sites, its own chat messages, claimed rows) and the
    jobs that run once across workers (``once=True``)."""
    specs = [
        JobSpec("poll", monitor.poll_once, poll_interval_s),
        JobSpec("expire_actions", expire, 30.0, once=True),
        JobSpec("alerts_lifecycle", alert_lifecycle, 15.0),
        JobSpec("alerts_periodic", alert_periodic, 60.0),
        JobSpec("deliveries", deliveries, 15.0),
        JobSpec("metrics", metrics, 15.0),
        JobSpec("rollup", maintenance.rollup_recent, 300.0, once=True),
        JobSpec("prune_raw", maintenance.prune_raw, 3600.0, once=True),
    ]
    if execute_approved is not None:
        specs.append(JobSpec("execute_actions", execute_approved, 2.0))
    if digests is not None:  # each digest is claimed by its unique key: safe in every worker
        specs.append(JobSpec("digests", digests, 60.0))
    if preferences is not None:  # what people set in chat through another process
        specs.append(JobSpec("preferences", preferences, 30.0))
    if forecast_snapshots is not None:  # checks every 15 min; stores once per site and day
        specs.append(JobSpec("forecast_snapshots", forecast_snapshots, 900.0, once=True))
    return Jobs(specs, claim=claim, intervals=intervals)
