"""Batches of readings into the database: the write of the ingest hot path.

On PostgreSQL a :class:`ReadingWriter` keeps up to ``kept_connections`` (2)
connections of the engine's pool for itself and writes each batch on one of them
directly with asyncpg (a transaction, a binary COPY into the connection's staging
table, one ``INSERT ... ON CONFLICT DO NOTHING`` from it): no pool checkout and
pre-ping, ORM session or SQLAlchemy transaction per batch, which cost about 1.3 ms
of client CPU a write however small. Two writes can be in flight (the monitor's
pipelining); a write asked for while every kept connection is writing goes through
an ordinary pooled session instead of waiting. When a write on a kept connection
fails or is cancelled, that connection is ended and invalidated (never reused
half-way through a transaction) and the next write opens a fresh one. Elsewhere
(SQLite) every batch is written in its own session.

Either way a batch is written once or not at all, and readings already stored are
skipped (unique per site, device, metric and time), so a retried batch never doubles.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

import asyncpg
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from storage import repositories as repo
from storage.errors import StorageError

DEFAULT_KEPT_CONNECTIONS = 2  # batches written at once on kept connections


class ReadingWriteError(StorageError):
    """The database refused or lost a batch of readings (nothing of it was stored)."""


class ReadingWriter:
    """Writes batches of ``(site, device, metric, time, value)`` rows; see the module."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        kept_connections: int = DEFAULT_KEPT_CONNECTIONS,
    ) -> None:
        self._sessionmaker = sessionmaker
        bind = getattr(sessionmaker, "kw", {}).get("bind")
        self._engine: AsyncEngine | None = (
            bind if isinstance(bind, AsyncEngine) and bind.dialect.name == "postgresql" else None
        )
        self._max_kept = max(1, kept_connections)
        self._idle: list[AsyncConnection] = []  # kept connections not writing right now
        self._writing = 0  # kept connections writing right now
        self._closed = False
        self.kept_writes = 0  # batches written on a kept connection
        self.session_writes = 0  # batches written through a pooled session

    @property
    def writes(self) -> int:
        """Batches written so far, either way."""
        return self.kept_writes + self.session_writes

    @property
    def dedicated(self) -> bool:
        """Whether batches go over kept connections (PostgreSQL)."""
        return self._engine is not None

    async def write(self, rows: Sequence[repo.ReadingTuple]) -> int:
        """Store ``rows`` in one transaction; returns how many were new. Raises
        :class:`ReadingWriteError` (or ``OSError``/``TimeoutError``) with nothing stored."""
        if not rows:
            return 0
        engine = self._engine
        if engine is None or (not self._idle and self._writing >= self._max_kept):
            self.session_writes += 1
            async with self._sessionmaker() as session, session.begin():
                return await repo.copy_readings(session, rows=rows)
        repo.check_reading_times(rows)
        kept = self._idle.pop() if self._idle else None
        self._writing += 1
        try:
            if kept is None:
                kept = await engine.connect()  # the pool's pre-ping, once per connection
                await self._driver(kept, stage=True)
            stored = await self._write_on(kept, rows)
        except BaseException:
            if kept is not None:
                await self._discard(kept)
            raise
        finally:
            self._writing -= 1
        if self._closed:
            await kept.close()
        else:
            self._idle.append(kept)
        self.kept_writes += 1
        return stored

    async def _driver(self, kept: AsyncConnection, *, stage: bool = False) -> asyncpg.Connection:
        raw = await kept.get_raw_connection()
        driver = raw.driver_connection
        assert isinstance(driver, asyncpg.Connection)
        if stage:
            try:
                await driver.execute(repo.PG_STAGE)
            except (asyncpg.PostgresError, asyncpg.InterfaceError) as err:
                raise ReadingWriteError(f"{type(err).__name__}: {err}") from err
        return driver

    async def _write_on(self, kept: AsyncConnection, rows: Sequence[repo.ReadingTuple]) -> int:
        driver = await self._driver(kept)
        try:
            async with driver.transaction():
                return await repo.pg_copy_readings(driver, rows)
        except (asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError) as err:
            # e.g. the server ended the connection (a restart) while it sat idle
            raise ReadingWriteError(f"{type(err).__name__}: {err}") from err

    async def _discard(self, kept: AsyncConnection) -> None:
        """Forget a kept connection after a failure: ended at once, whatever state the link
        is in, and invalidated, so the pool never hands it out again."""
        with contextlib.suppress(Exception):
            raw = await kept.get_raw_connection()
            if isinstance(raw.driver_connection, asyncpg.Connection):
                raw.driver_connection.terminate()
        with contextlib.suppress(Exception):
            await asyncio.shield(kept.invalidate())
        with contextlib.suppress(Exception):
            await asyncio.shield(kept.close())

    async def close(self) -> None:
        """Give the kept connections back to the pool (before the engine is disposed); one
        writing now goes back when its write ends."""
        self._closed = True
        idle, self._idle = self._idle, []
        for kept in idle:
            await kept.close()
