"""The telemetry path: validate readings, keep the latest state per site, write
batches to storage and hand each batch on (to the alert engine).

A reading that fails validation is counted and skipped. When the database is
unavailable, validated readings stay in a bounded buffer and are written with
the next batch; readings beyond the bound are dropped and counted.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import repositories as repo
from tools.domain import Reading, ReadingError, validate_reading

log = logging.getLogger(__name__)

DEFAULT_BUFFER_LIMIT = 200_000


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
    # device name -> the last error talking to it ("" when the last attempt worked)
    device_errors: dict[str, str] = field(default_factory=dict)
    # device -> readings rejected by validation so far
    rejected: dict[str, int] = field(default_factory=dict)
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


BatchHandler = Callable[[str, SiteState, list[Reading]], Awaitable[None]]


class TelemetryPipeline:
    """Validate → latest state → batched write → hand on."""

    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        on_batch: BatchHandler | None = None,
        buffer_limit: int = DEFAULT_BUFFER_LIMIT,
    ) -> None:
        self._sessionmaker = sessionmaker
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

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    async def ingest(self, readings: Iterable[Reading]) -> list[Reading]:
        """Accept a batch; returns the readings that passed validation.

        This is the hot path (tens of thousands of readings a second), so the
        validation, state update and row building happen in one loop.
        """
        accepted: list[Reading] = []
        rows: list[repo.ReadingTuple] = []
        states = self._states
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
            state.accepted += 1
            key = (r.metric, r.device)
            current = state.samples.get(key)
            if current is None or r.time >= current.time:
                state.samples[key] = Sample(r.value, r.time)
        self.stats.accepted += len(accepted)
        self._buffer.extend(rows)
        await self.flush()
        self._trim()
        if self._on_batch is not None and accepted:
            by_site: dict[str, list[Reading]] = {}
            for reading in accepted:
                by_site.setdefault(reading.site, []).append(reading)
            for site, batch in by_site.items():
                await self._on_batch(site, self.latest(site), batch)
        return accepted

    def _reject(self, reading: Reading, err: ReadingError) -> None:
        self.stats.rejected += 1
        key = (reading.site, reading.device)
        count = self.stats.rejected_by_device.get(key, 0) + 1
        self.stats.rejected_by_device[key] = count
        self.stats.last_rejection[key] = str(err)
        self.latest(reading.site).rejected[reading.device] = count
        log.debug("rejected reading from %s/%s: %s", reading.site, reading.device, err)

    def _trim(self) -> None:
        """Keep at most ``buffer_limit`` unwritten readings, dropping (and counting) the oldest."""
        overflow = len(self._buffer) - self._buffer_limit
        if overflow > 0:
            for _ in range(overflow):
                self._buffer.popleft()
            self.stats.dropped += overflow
            log.warning("telemetry buffer full: dropped %d oldest readings", overflow)

    async def flush(self) -> int:
        """Write everything buffered; on a database error keep it for the next try."""
        if not self._buffer:
            return 0
        batch = list(self._buffer)
        try:
            async with self._sessionmaker() as session, session.begin():
                await repo.copy_readings(session, rows=batch)
        except (SQLAlchemyError, OSError) as err:
            self.stats.write_failures += 1
            self.stats.last_error = f"{type(err).__name__}: {err}"[:300]
            log.warning("could not write %d readings, keeping them buffered: %s", len(batch), err)
            return 0
        if len(batch) == len(self._buffer):
            self._buffer.clear()
        else:
            for _ in range(len(batch)):
                self._buffer.popleft()
        self.stats.written += len(batch)
        return len(batch)
