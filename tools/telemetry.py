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
from typing import Any

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


def hourly_rollups(readings: Iterable[Reading]) -> list[repo.HourlyAggregate]:
    """Aggregate readings per (site, device, metric, UTC hour): count, sum, min, max, last."""
    acc: dict[tuple[str, str, str, datetime], list[Any]] = {}
    for r in readings:
        hour = r.time.replace(minute=0, second=0, microsecond=0)
        key = (r.site, r.device, r.metric, hour)
        a = acc.get(key)
        if a is None:
            acc[key] = [1, r.value, r.value, r.value, r.value, r.time]
            continue
        a[0] += 1
        a[1] += r.value
        if r.value < a[2]:
            a[2] = r.value
        if r.value > a[3]:
            a[3] = r.value
        if r.time >= a[5]:
            a[4], a[5] = r.value, r.time
    return [
        repo.HourlyAggregate(
            site=site,
            device=device,
            metric=metric,
            hour=hour,
            count=a[0],
            sum=a[1],
            min=a[2],
            max=a[3],
            last=a[4],
            last_time=a[5],
        )
        for (site, device, metric, hour), a in acc.items()
    ]


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
        self._buffer: deque[Reading] = deque()
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

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    async def ingest(self, readings: Iterable[Reading]) -> list[Reading]:
        """Accept a batch; returns the readings that passed validation."""
        accepted: list[Reading] = []
        for reading in readings:
            try:
                accepted.append(validate_reading(reading))
            except ReadingError as err:
                self.stats.rejected += 1
                key = (reading.site, reading.device)
                self.stats.rejected_by_device[key] = self.stats.rejected_by_device.get(key, 0) + 1
                self.stats.last_rejection[key] = str(err)
                log.debug("rejected reading from %s/%s: %s", reading.site, reading.device, err)
        self.stats.accepted += len(accepted)
        for reading in accepted:
            self.latest(reading.site).update(reading)
        self._buffer.extend(accepted)
        await self.flush()
        self._trim()
        if self._on_batch is not None:
            by_site: dict[str, list[Reading]] = {}
            for reading in accepted:
                by_site.setdefault(reading.site, []).append(reading)
            for (site, device), count in self.stats.rejected_by_device.items():
                self.latest(site).rejected[device] = count
            for site, batch in by_site.items():
                await self._on_batch(site, self.latest(site), batch)
        return accepted

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
        records = [
            repo.ReadingRecord(
                site=r.site, device=r.device, metric=r.metric, time=r.time, value=r.value
            )
            for r in batch
        ]
        try:
            async with self._sessionmaker() as session, session.begin():
                await repo.copy_readings(session, readings=records)
                await repo.upsert_hourly(session, rollups=hourly_rollups(batch))
        except (SQLAlchemyError, OSError) as err:
            self.stats.write_failures += 1
            self.stats.last_error = f"{type(err).__name__}: {err}"[:300]
            log.warning("could not write %d readings, keeping them buffered: %s", len(batch), err)
            return 0
        for _ in range(len(batch)):
            self._buffer.popleft()
        self.stats.written += len(batch)
        return len(batch)
