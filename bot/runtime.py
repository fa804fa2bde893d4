"""The running site loop: poll drivers → telemetry → alerts → cards, and scheduled jobs."""

from __future__ import annotations

import asyncio
import logging
import time
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


DEFAULT_POLL_CONCURRENCY = 8
# Devices started at once (a start mostly waits for the device's first answer: a worker
# with thousands of Victron GX would otherwise start them a few at a time).
DEFAULT_START_CONCURRENCY = 256
# How often every site gets ``on_tick`` (time-based rules), however often the poll runs.
DEFAULT_TICK_INTERVAL_S = 1.0
DEFAULT_SITE_DEADLINE_S = 30.0
# Batches written at once: a poll hands its batch on while the previous one commits.
DEFAULT_WRITES_IN_FLIGHT = 2


class Monitor:
    """Polls every driver once per call, feeds the telemetry pipeline, and keeps device
    health (last reading, last error) in each site's state for rules and status answers.

    Sites are polled concurrently (at most ``max_concurrent`` at once), each within a
    total deadline of ``site_deadline_s``; a site whose devices are all started push
    devices with nothing waiting (:meth:`SiteDriver.idle`) is not polled at all. What
    the sites answer goes on in batches: the sites that answer in the same turn of the
    event loop share one batch, so a poll of thousands of push sites costs one write.
    A batch is accepted at once (validated, latest state updated, buffered); its write
    and then its hand-off to the alert engine run in the background, up to
    ``writes_in_flight`` batches at a time, so a poll does not wait for the previous
    poll's commit (and waits for a free slot when that many are still being written).
    Hand-offs to the alert engine and the ticks run one at a time. Every
    ``tick_interval_s`` (not on every poll when polls are more frequent), each site
    gets ``on_tick`` after its readings are accepted: the alert engine's time-based
    evaluation, which decides itself whether it is due. :meth:`settle` waits until
    every batch is written and handed on (before shutting down, and in tests); a
    failed hand-off is raised by the next :meth:`poll_once` or :meth:`settle`.
    """

    def __init__(
        self,
        *,
        drivers: Mapping[str, Driver],
        pipeline: TelemetryPipeline,
        clock: Clock,
        sites: Mapping[str, Site],
        on_tick: TickHandler | None = None,
        max_concurrent: int = DEFAULT_POLL_CONCURRENCY,
        site_deadline_s: float = DEFAULT_SITE_DEADLINE_S,
        after_poll: Callable[[], Awaitable[object]] | None = None,
        start_concurrency: int = DEFAULT_START_CONCURRENCY,
        tick_interval_s: float = DEFAULT_TICK_INTERVAL_S,
        writes_in_flight: int = DEFAULT_WRITES_IN_FLIGHT,
    ) -> None:
        if writes_in_flight < 1:
            raise ValueError(f"writes_in_flight must be at least 1, got {writes_in_flight}")
        self._drivers = drivers
        self._tick_interval = timedelta(seconds=tick_interval_s)
        self._last_tick: datetime | None = None
        self._starting = asyncio.Semaphore(start_concurrency)
        self._after_poll = after_poll
        self._pipeline = pipeline
        self._clock = clock
        self._sites = sites
        self._on_tick = on_tick
        self._limit = asyncio.Semaphore(max_concurrent)
        self._deadline_s = site_deadline_s
        # Batches being written and handed on (at most writes_in_flight); the alert engine
        # takes one hand-off or tick at a time.
        self._write_slots = asyncio.Semaphore(writes_in_flight)
        self._in_flight: set[asyncio.Task[None]] = set()
        self._alerting = asyncio.Lock()
        self._failed: list[Exception] = []  # hand-offs that raised, for the next poll
        self._handed = asyncio.Event()  # set when the last batch accepted was handed on
        self._handed.set()
        # Readings of sites that answered, waiting to be taken as one batch, and the event
        # set once that batch is accepted.
        self._waiting: list[Reading] = []
        self._forming: asyncio.Event | None = None
        self._accepted = 0
        self.failures: dict[str, str] = {}

    async def poll_once(self) -> int:
        """Poll all sites; a failing driver is logged and never stops the others.
        Returns how many readings passed validation."""
        now = self._clock.now()
        accepted_before = self._accepted
        last = self._last_tick
        tick = self._on_tick is not None and (
            last is None or not last <= now < last + self._tick_interval
        )
        if tick:
            self._last_tick = now
        polls = []
        for site, driver in self._drivers.items():
            if isinstance(driver, SiteDriver) and driver.idle():
                state = self._pipeline.latest(site)
                if state.watching_since is None:
                    state.watching_since = now
                if tick and self._on_tick is not None:
                    async with self._alerting:
                        await self._on_tick(site, state)
                continue
            polls.append(self._poll_site(site, driver, now, tick))
        results = await asyncio.gather(*polls, return_exceptions=True)
        if self._forming is None and (
            self._waiting or (self._pipeline.buffered and not self._in_flight)
        ):
            # what a cancelled poll or a failed write left
            batch, self._waiting = self._waiting, []
            await self._hand_on(batch, now)
        errors = [r for r in results if isinstance(r, BaseException)]
        errors += self._take_failures()
        if self._after_poll is not None:  # the worker's own health (ingest overload)
            await self._after_poll()
        if errors:  # every site had its turn; the job logs the first failure
            raise errors[0]
        return self._accepted - accepted_before

    async def settle(self) -> None:
        """Wait until every batch handed on is written and given to the alert engine;
        raise the first hand-off failure not reported yet."""
        while self._in_flight:
            await asyncio.wait(list(self._in_flight))
        failures = self._take_failures()
        if failures:
            raise failures[0]

    def _take_failures(self) -> list[Exception]:
        failures, self._failed = self._failed, []
        return failures

    async def _hand_on(self, batch: list[Reading], read_at: datetime) -> None:
        """Accept ``batch`` now (validated, latest state, buffered: from here nothing of it
        can be lost) and write and hand it on in the background once one of the
        ``writes_in_flight`` slots is free (the write takes everything buffered). It is
        handed on as read at ``read_at``, the poll's time: the clock may have moved on
        by the time it is written (a slow commit, an accelerated or manual clock)."""
        accepted = self._pipeline.accept(batch)
        self._accepted += len(accepted)
        await self._write_slots.acquire()
        previous, handed = self._handed, asyncio.Event()
        self._handed = handed
        task = asyncio.create_task(self._write_and_hand_on(accepted, read_at, previous, handed))
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)

    async def _write_and_hand_on(
        self,
        accepted: list[Reading],
        read_at: datetime,
        previous: asyncio.Event,
        handed: asyncio.Event,
    ) -> None:
        try:
            await self._pipeline.flush()  # failures keep the rows buffered, never raise
            await previous.wait()  # batches reach the alert engine in the order accepted
            async with self._alerting:
                await self._pipeline.hand_on(accepted, read_at=read_at)
        except Exception as err:
            self._failed.append(err)
        finally:
            handed.set()
            self._write_slots.release()

    async def _poll_site(self, site: str, driver: Driver, now: datetime, tick: bool) -> None:
        state = self._pipeline.latest(site)
        if state.watching_since is None:
            state.watching_since = now
        if isinstance(driver, SiteDriver) and driver.unstarted():
            # Starting mostly waits for the device's first answer: many sites at once,
            # not a few at a time inside the polls' own bound. Failures are recorded in
            # the driver's health; the poll below reads what did start.
            async with self._starting:
                try:
                    async with asyncio.timeout(self._deadline_s):
                        await driver.start(now)
                except TimeoutError:
                    log.warning("site %s: devices not started within %g s", site, self._deadline_s)
        async with self._limit:
            try:
                async with asyncio.timeout(self._deadline_s):
                    readings = await driver.poll(now)
            except DeviceError as err:
                self.failures[site] = str(err)
                log.warning("site %s: %s", site, err)
                readings = []
            except TimeoutError:
                self.failures[site] = (
                    f"the site's devices did not answer within {self._deadline_s:g} s"
                )
                log.warning("site %s: %s", site, self.failures[site])
                readings = []
            else:
                self.failures.pop(site, None)
        self._note_health(site, driver, state, readings, now)
        if readings:
            self._waiting.extend(readings)
            forming = self._forming
            if forming is None:
                # This site starts a batch: the sites that answer in this turn of the loop
                # join it (cancelled meanwhile, its readings wait for the next batch).
                forming = self._forming = asyncio.Event()
                try:
                    await asyncio.sleep(0)
                finally:
                    if self._forming is forming:
                        self._forming = None
                    forming.set()
                batch, self._waiting = self._waiting, []
                await self._hand_on(batch, now)
            elif tick:  # the tick sees this site's new readings
                await forming.wait()
        if tick and self._on_tick is not None:
            async with self._alerting:
                await self._on_tick(site, state)

    def _note_health(
        self, site: str, driver: Driver, state: SiteState, readings: list[Reading], now: datetime
    ) -> None:
        if isinstance(driver, SiteDriver):
            for name, health in driver.health.items():
                if health.last_reading is not None:
                    state.mark_seen(name, health.last_reading)
                state.device_errors[name] = health.last_error
                if health.rejected:
                    state.payloads_rejected[name] = dict(health.rejected)
                state.device_notes[name] = list(health.notes)
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
    timeout_s: float | None = None  # None: the default of :class:`Jobs`


DEFAULT_JOB_TIMEOUT_S = 120.0
DEFAULT_SHUTDOWN_GRACE_S = 10.0


FAILURE_REPEAT_LOG_S = 300.0


@dataclass(slots=True)
class _Streak:
    count: int
    since: float
    logged_at: float


class FailureStreaks:
    """Log a job's failures without flooding: the first failure in full, then a reminder
    with the count at most every :data:`FAILURE_REPEAT_LOG_S`, and one line when it
    recovers. (A poll job that fails every second during a database outage would
    otherwise write 3,600 identical errors an hour.)"""

    def __init__(self, logger: logging.Logger, *, repeat_s: float = FAILURE_REPEAT_LOG_S) -> None:
        self._log = logger
        self._repeat_s = repeat_s
        self._streaks: dict[str, _Streak] = {}

    def failed(self, name: str, what: str, *, exc_info: bool = False) -> None:
        now = time.monotonic()
        streak = self._streaks.get(name)
        if streak is None:
            self._streaks[name] = _Streak(count=1, since=now, logged_at=now)
            self._log.error("scheduled job %s %s", name, what, exc_info=exc_info)
            return
        streak.count += 1
        if now - streak.logged_at >= self._repeat_s:
            streak.logged_at = now
            self._log.error(
                "scheduled job %s still failing (%d times in %.0f s): %s",
                name,
                streak.count,
                now - streak.since,
                what,
            )
        else:
            self._log.debug("scheduled job %s %s (failure %d)", name, what, streak.count)

    def succeeded(self, name: str) -> None:
        streak = self._streaks.pop(name, None)
        if streak is not None:
            self._log.warning(
                "scheduled job %s recovered after %d failure(s) in %.0f s",
                name,
                streak.count,
                time.monotonic() - streak.since,
            )


class Jobs:
    """The scheduled jobs (APScheduler), e.g. poll the sites, expire action requests,
    roll up readings.

    Each job runs at most once at a time and missed runs are coalesced, so a slow
    database never piles up work. Each job runs on its own, within a deadline
    (``timeout_s``, its spec's or the default): a job that hangs (a database link
    gone silent) is cancelled with a log line naming it, and never holds up the
    others. :meth:`stop` lets jobs in flight finish for ``grace_s`` and then
    cancels them, so shutdown is prompt. A job marked ``once`` runs only where
    ``claim`` (see :class:`bot.cluster.Cluster`) says no other worker started it
    within its interval.
    """

    def __init__(
        self,
        jobs: Sequence[JobSpec | tuple[str, Callable[[], Awaitable[object]], float]],
        *,
        claim: Callable[[str, float], Awaitable[bool]] | None = None,
        intervals: Mapping[str, float] | None = None,
        timeout_s: float = DEFAULT_JOB_TIMEOUT_S,
        grace_s: float = DEFAULT_SHUTDOWN_GRACE_S,
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
        if not timeout_s > 0 or not grace_s >= 0:
            raise SiteConfigError(
                f"job timeout must be positive and shutdown grace not negative seconds, "
                f"got {timeout_s} and {grace_s}"
            )
        self._stopping = False
        self._claim = claim
        self._timeout_s = timeout_s
        self._grace_s = grace_s
        self._running: set[asyncio.Task[None]] = set()
        self.timeouts: dict[str, int] = {}
        self._streaks = FailureStreaks(log)
        self.specs = [
            JobSpec(j.name, j.fn, intervals.get(j.name, j.interval_s), j.once, j.timeout_s)
            for j in specs
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
        task = asyncio.current_task()
        assert task is not None
        self._running.add(task)
        timeout_s = spec.timeout_s or self._timeout_s
        deadline = asyncio.timeout(timeout_s)
        try:
            async with deadline:
                claim = self._claim if spec.once else None
                if claim is not None and not await claim(spec.name, spec.interval_s):
                    return
                await spec.fn()
            self._streaks.succeeded(spec.name)
        except TimeoutError as err:
            self.timeouts[spec.name] = self.timeouts.get(spec.name, 0) + 1
            if deadline.expired():
                self._streaks.failed(
                    spec.name,
                    f"timed out after {timeout_s:g} s and was cancelled; the other jobs carry "
                    "on (is the database or a device unreachable?)",
                )
            else:  # a bounded wait inside the job gave up (a database statement, a device)
                why = str(err) or "an operation timed out (the database did not answer in time)"
                self._streaks.failed(
                    spec.name, f"failed: {why}; it runs again at its next interval"
                )
        except asyncio.CancelledError:
            if not self._stopping:
                raise
            # Cancelled by stop() after the grace period: logged there.
        except Exception as err:
            self._streaks.failed(spec.name, f"failed: {err!r}", exc_info=True)
        finally:
            self._running.discard(task)

    def start(self) -> None:
        self.scheduler.start()

    async def stop(self) -> None:
        """Stop scheduling; wait up to ``grace_s`` for jobs in flight, then cancel them."""
        self._stopping = True
        self.scheduler.shutdown(wait=False)
        running = list(self._running)
        if not running:
            return
        _done, pending = await asyncio.wait(running, timeout=self._grace_s)
        for task in pending:
            task.cancel()
        if pending:
            log.warning(
                "stopping: cancelled %d job(s) still running after %g s",
                len(pending),
                self._grace_s,
            )
            await asyncio.wait(pending, timeout=self._grace_s)


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
    timeout_s: float = DEFAULT_JOB_TIMEOUT_S,
    grace_s: float = DEFAULT_SHUTDOWN_GRACE_S,
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
    return Jobs(specs, claim=claim, intervals=intervals, timeout_s=timeout_s, grace_s=grace_s)
