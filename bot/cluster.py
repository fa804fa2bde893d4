"""Several worker processes on one PostgreSQL: which sites this worker runs, and which
scheduled jobs it may run now.

- Sites are sharded by configuration: ``WORKER_SITES=a,b`` names them, ``SHARD=1/2``
  takes every site whose stable hash falls in shard 1 of 2. A worker only polls the
  drivers, evaluates the alerts and executes the approved actions of its own sites.
- A job that must run once across workers (rollups, expiry, the scheduled alert
  evaluation) starts only after a compare-and-set on its ``job_runs`` row says nobody
  started it within 90 % of its interval, under a PostgreSQL advisory lock so that
  a slow run is never overlapped either.
"""

from __future__ import annotations

import logging
import os
import socket
import zlib
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.locks import leader
from storage import repositories as repo
from tools.errors import SiteConfigError

log = logging.getLogger(__name__)

# A job may start again once this share of its interval has passed since anyone started it.
MIN_GAP_SHARE = 0.9


def parse_shard(text: str) -> tuple[int, int]:
    """``"2/3"`` -> (2, 3); a clear error for anything else."""
    parts = text.strip().split("/")
    try:
        index, count = (int(p) for p in parts)
    except ValueError:
        raise SiteConfigError(
            f"SHARD must look like 1/2 (this worker's shard / number of shards), got {text!r}"
        ) from None
    if count < 1 or not 1 <= index <= count:
        raise SiteConfigError(f"SHARD {text!r}: the shard must be between 1 and {max(count, 1)}")
    return index, count


def shard_of(site: str, count: int) -> int:
    """The 1-based shard a site belongs to (stable across processes and restarts)."""
    return zlib.crc32(site.encode()) % count + 1


def served_sites(
    names: Sequence[str], *, worker_sites: str | None = None, shard: str | None = None
) -> list[str]:
    """The sites this worker runs, in site-file order (all of them when nothing is set)."""
    chosen = list(names)
    if worker_sites is not None and worker_sites.strip():
        wanted = [w.strip() for w in worker_sites.split(",") if w.strip()]
        unknown = [w for w in wanted if w not in names]
        if unknown:
            raise SiteConfigError(
                f"WORKER_SITES names unknown site(s) {', '.join(unknown)}; "
                f"configured sites: {', '.join(names)}"
            )
        chosen = [n for n in chosen if n in wanted]
    if shard is not None and shard.strip():
        index, count = parse_shard(shard)
        chosen = [n for n in chosen if shard_of(n, count) == index]
    return chosen


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Cluster:
    """This process's identity among the workers, and the once-across-workers job claim."""

    def __init__(
        self,
        *,
        engine: AsyncEngine,
        sessionmaker: async_sessionmaker[AsyncSession],
        sites: Sequence[str],
        worker_id: str | None = None,
    ) -> None:
        self._engine = engine
        self._sessionmaker = sessionmaker
        self.sites: tuple[str, ...] = tuple(sites)
        self.worker_id = worker_id or default_worker_id()

    def serves(self, site: str) -> bool:
        return site in self.sites

    async def claim(self, name: str, interval_s: float) -> bool:
        """True when this worker should run ``name`` now (nobody did within the interval).

        Periods are measured on the wall clock, like the scheduler's intervals.
        """
        now = datetime.now(UTC)
        async with self._sessionmaker() as session, session.begin():
            won = await repo.claim_job_run(
                session,
                name=name,
                now=now,
                min_gap=timedelta(seconds=interval_s * MIN_GAP_SHARE),
                worker=self.worker_id,
            )
        if won:
            log.info("scheduled job %s runs on worker %s", name, self.worker_id)
        return won

    async def once(
        self, name: str, interval_s: float, job: Callable[[], Awaitable[object]]
    ) -> bool:
        """Run ``job`` if this worker wins ``name``'s period; True when it ran here."""
        async with leader(self._engine, name) as mine:
            if not mine or not await self.claim(name, interval_s):
                return False
            await job()
            return True
