"""The telemetry path: validate readings, keep the latest state per site, write
batches to storage and hand each batch on (to the alert engine).

A reading that fails validation is counted and skipped. When the database is
unavailable, validated readings stay in a bounded buffer and are written with
the next batch; readings beyond the bound are dropped and counted. A device
whose readings' own times jump by more than ``gap_limit_s`` has a gap, counted
per device (see :attr:`IngestStats.gaps`).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import repositories as repo
from storage.errors import StorageError
from storage.readings_writer import ReadingWriter
from tools.domain import Reading, ReadingError, validate_reading

log = logging.getLogger(__name__)

DEFAULT_BUFFER_LIMIT = 200_000
# How far back the first load of stored readings looks before it scans everything.
STORED_LOOKBACK = timedelta(days=1)
# Later loads re-read this much before the newest sample held (late writes of workers).
STORED_OVERLAP = timedelta(minutes=10)
DEFAULT_GAP_LIMIT_S = 60.0  # a GX stops publishing 60 s after its last keep-alive


@dataclass(frozen=True, slots=True)
class Sample:
    value: float
    time: datetime


@dataclass(slots=True)
class SiteState:
    """The latest value of every (metric, device) of one site."""

    site: str
    samples: dict[tuple[str, str], Sample] = field(default_factory=dict)
    # device name (from the site file) -> when it last delivered readings
    seen: dict[str, datetime] = field(default_factory=dict)
    watching_since: datetime | None = None
    # device -> the time of its newest reading (for gaps)
    newest: dict[str, datetime] = field(default_factory=dict)
    # device name -> the last error talking to it ("" when the last attempt worked)
    device_errors: dict[str, str] = field(default_factory=dict)
    # device -> readings rejected by validation so far
    rejected: dict[str, int] = field(default_factory=dict)
    # device -> reason -> payloads/states its driver refused before they became readings
    payloads_rejected: dict[str, dict[str, int]] = field(default_factory=dict)
    # device -> facts its driver states for status (e.g. "Use Timer is off")
    device_notes: dict[str, list[str]] = field(default_factory=dict)
    # True while the newest samples came from storage (written by another process),
    # not from this process's own polls
    from_storage: bool = False
    # readings of this site that passed validation (for per-site ingest metrics)
    accepted: int = 0

    def mark_seen(self, device: str, when: datetime) -> None:
        current = self.seen.get(device)
        if current is None or when > current:
            self.seen[device] = when

    def update(self, reading: Reading) -> None:
        key = (reading.metric, reading.device)
        current = self.samples.get(key)
        if current is None or reading.time >= current.time:
            self.samples[key] = Sample(reading.value, reading.time)

    def sample(self, metric: str, device: str | None = None) -> Sample | None:
        if device is not None:
            return self.samples.get((metric, device))
        found = [s for (m, _), s in self.samples.items() if m == metric]
        return max(found, key=lambda s: s.time) if found else None

    def get(self, metric: str, device: str | None = None) -> float | None:
        s = self.sample(metric, device)
        return s.value if s is not None else None

    def devices(self, metric: str) -> dict[str, float]:
        """Latest value of ``metric`` for every device that reports it."""
        return {d: s.value for (m, d), s in self.samples.items() if m == metric}

    @property
    def time(self) -> datetime | None:
        return max((s.time for s in self.samples.values()), default=None)


@dataclass(slots=True)
class IngestStats:
    accepted: int = 0
    rejected: int = 0
    written: int = 0
    dropped: int = 0
    write_failures: int = 0
    last_error: str = ""
    # (site, device) -> readings rejected, with the last reason, for status answers
    rejected_by_device: dict[tuple[str, str], int] = field(default_factory=dict)
    last_rejection: dict[tuple[str, str], str] = field(default_factory=dict)
    # (site, device) -> gaps longer than the gap limit between its readings, and the last one
    gaps: dict[tuple[str, str], int] = field(default_factory=dict)
    last_gap_s: dict[tuple[str, str], float] = field(default_factory=dict)


# (site, its latest state, its part of the batch, when the batch was read: the poll's
# time, or None for readings handed on as they are written, to be judged as of now)
BatchHandler = Callable[[str, SiteState, list[Reading], datetime | None], Awaitable[None]]


class TelemetryPipeline:
    """Validate → latest state → batched write → hand on."""

    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        on_batch: BatchHandler | None = None,
        buffer_limit: int = DEFAULT_BUFFER_LIMIT,
        write_timeout_s: float | None = None,
        gap_limit_s: float = DEFAULT_GAP_LIMIT_S,
    ) -> None:
        self._sessionmaker = sessionmaker
        # Batches go over a connection kept for them on PostgreSQL (see ReadingWriter).
        self.writer = ReadingWriter(sessionmaker)
        # A total deadline for one batch write (connection, insert and commit).
        self._write_timeout_s = write_timeout_s
        self._gap_limit = timedelta(seconds=gap_limit_s)
        self._on_batch = on_batch
        self._buffer: deque[repo.ReadingTuple] = deque()
        self._buffer_limit = buffer_limit
        self._states: dict[str, SiteState] = {}
        self.stats = IngestStats()

    def set_batch_handler(self, handler: BatchHandler | None) -> None:
        """Who receives each accepted batch (the alert engine, wired by the composition root)."""
        self._on_batch = handler

    def latest(self, site: str) -> SiteState:
        state = self._states.get(site)
        if state is None:
            state = self._states[site] = SiteState(site)
        return state

    def states(self) -> dict[str, SiteState]:
        """The latest state of every site seen so far."""
        return dict(self._states)

    async def load_stored(self, sites: Iterable[str], *, now: datetime) -> int:
        """Fill the latest state of ``sites`` from the newest stored readings.

        For a process that does not poll devices (the web face, a CLI): it answers
        and checks policy from what the workers stored. A sample held already is
        replaced only by a newer one. Returns how many samples changed.
        """
        changed = 0
        async with self._sessionmaker() as session:
            for site in sites:
                state = self.latest(site)
                newest = state.time
                if newest is None:
                    state.from_storage = True
                since = newest - STORED_OVERLAP if newest is not None else now - STORED_LOOKBACK
                rows = await repo.latest_readings(session, site=site, since=since)
                if not rows and newest is None:  # nothing recent: the newest ever, however old
                    rows = await repo.latest_readings(session, site=site)
                for row in rows:
                    key = (row.metric, row.device)
                    current = state.samples.get(key)
                    if current is None or row.time > current.time:
                        state.samples[key] = Sample(row.value, row.time)
                        state.from_storage = True
                        changed += 1
                    state.mark_seen(row.device, row.time)
        return changed

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    async def ingest(self, readings: Iterable[Reading]) -> list[Reading]:
        """Accept a batch, write everything buffered and hand the batch on; returns the
        readings that passed validation (:meth:`accept`, :meth:`flush`, :meth:`hand_on`)."""
        accepted = self.accept(readings)
        await self.flush()
        self._trim()
        await self.hand_on(accepted)
        return accepted

    def accept(self, readings: Iterable[Reading]) -> list[Reading]:
        """Validate readings, update the latest state and buffer them for the next
        :meth:`flush`; returns those that passed validation.

        This is the hot path (tens of thousands of readings a second), so the
        validation, state update and row building happen in one loop.
        """
        accepted: list[Reading] = []
        rows: list[repo.ReadingTuple] = []
        states = self._states
        gap_limit = self._gap_limit
        for reading in readings:
            try:
                r = validate_reading(reading)
            except ReadingError as err:
                self._reject(reading, err)
                continue
            accepted.append(r)
            rows.append((r.site, r.device, r.metric, r.time, r.value))
            state = states.get(r.site)
            if state is None:
                state = states[r.site] = SiteState(r.site)
            state.from_storage = False  # live readings from here on
            state.accepted += 1
            key = (r.metric, r.device)
            current = state.samples.get(key)
            if current is None or r.time >= current.time:
                state.samples[key] = Sample(r.value, r.time)
            newest = state.newest.get(r.device)
            if newest is None or r.time > newest:
                state.newest[r.device] = r.time
                if newest is not None and r.time - newest > gap_limit:
                    self._gap(r.site, r.device, (r.time - newest).total_seconds())
        self.stats.accepted += len(accepted)
        self._buffer.extend(rows)  # bounded after the next write attempt (see _trim)
        return accepted

    async def hand_on(self, accepted: list[Reading], *, read_at: datetime | None = None) -> None:
        """Give each site's part of an accepted batch to the batch handler (the alert
        engine), with ``read_at``, the time of the poll that read it (None: now); one
        site's failure never skips the others, the first is raised after."""
        if self._on_batch is None or not accepted:
            return
        by_site: dict[str, list[Reading]] = {}
        for reading in accepted:
            by_site.setdefault(reading.site, []).append(reading)
        failed: list[Exception] = []
        for site, batch in by_site.items():
            try:
                await self._on_batch(site, self.latest(site), batch, read_at)
            except Exception as err:
                failed.append(err)
        if failed:
            raise failed[0]

    def _reject(self, reading: Reading, err: ReadingError) -> None:
        self.stats.rejected += 1
        key = (reading.site, reading.device)
        count = self.stats.rejected_by_device.get(key, 0) + 1
        self.stats.rejected_by_device[key] = count
        self.stats.last_rejection[key] = str(err)
        self.latest(reading.site).rejected[reading.device] = count
        log.debug("rejected reading from %s/%s: %s", reading.site, reading.device, err)

    def _gap(self, site: str, device: str, seconds: float) -> None:
        key = (site, device)
        self.stats.gaps[key] = self.stats.gaps.get(key, 0) + 1
        self.stats.last_gap_s[key] = seconds
        log.info("site %s, device %s: no reading for %.0f s", site, device, seconds)

    def _trim(self) -> None:
        """Keep at most ``buffer_limit`` unwritten readings, dropping (and counting) the oldest."""
        overflow = len(self._buffer) - self._buffer_limit
        if overflow > 0:
            for _ in range(overflow):
                self._buffer.popleft()
            self.stats.dropped += overflow
            log.warning("telemetry buffer full: dropped %d oldest readings", overflow)

    async def flush(self) -> int:
        """Write everything buffered; on a database error keep it for the next try.

        Safe for concurrent callers (the poll job and an approval flush at the same
        time): each call takes the rows it writes out of the buffer first, so no two
        calls write the same rows, and puts them back in front if the write fails or
        is cancelled. Returns how many readings were newly stored.
        """
        if not self._buffer:
            return 0
        batch = list(self._buffer)
        self._buffer.clear()
        try:
            async with asyncio.timeout(self._write_timeout_s):
                stored = await self.writer.write(batch)
        except (SQLAlchemyError, StorageError, OSError) as err:  # TimeoutError is an OSError
            self._restore(batch)
            self.stats.write_failures += 1
            reason = "timed out" if isinstance(err, TimeoutError) else f"{err}"
            self.stats.last_error = f"{type(err).__name__}: {reason}"[:300]
            log.warning(
                "could not write %d readings, keeping them buffered: %s", len(batch), reason
            )
            return 0
        except BaseException:  # cancelled (e.g. at shutdown): nothing is lost from the buffer
            self._restore(batch)
            raise
        self.stats.written += stored
        return stored

    async def close(self) -> None:
        """Give back the connection kept for writes (call after the last :meth:`flush`)."""
        await self.writer.close()

    def _restore(self, batch: list[repo.ReadingTuple]) -> None:
        """Put unwritten rows back in front of anything buffered meanwhile, within the bound."""
        self._buffer.extendleft(reversed(batch))
        self._trim()
