"""Batches of readings into the database: the write of the ingest hot path.

On PostgreSQL a :class:`ReadingWriter` keeps one connection of the engine's pool for
itself and writes each batch on it directly with asyncpg (a transaction, a binary
COPY into the connection's staging table, one ``INSERT ... ON CONFLICT DO NOTHING``
from it): no pool checkout and pre-ping, ORM session or SQLAlchemy transaction per
batch, which cost about 1.3 ms of client CPU a write however small. A second write
asked for while one is in flight goes through an ordinary pooled session instead of
waiting, so two writes can be in flight. When a write on the kept connection fails
or is cancelled, the connection is invalidated (closed, never reused half-way
through a transaction) and the next write takes a fresh one from the pool. Elsewhere
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


class ReadingWriteError(StorageError):
    """The database refused or lost a batch of readings (nothing of it was stored)."""


class ReadingWriter:
    """Writes batches of ``(site, device, metric, time, value)`` rows; see the module."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker
        bind = getattr(sessionmaker, "kw", {}).get("bind")
        self._engine: AsyncEngine | None = (
            bind if isinstance(bind, AsyncEngine) and bind.dialect.name == "postgresql" else None
        )
        self._kept: AsyncConnection | None = None
        self._staged = False  # the kept connection has its staging table
        self._busy = asyncio.Lock()
        self.kept_writes = 0  # batches written on the kept connection
        self.session_writes = 0  # batches written through a pooled session

    @property
    def writes(self) -> int:
        """Batches written so far, either way."""
        return self.kept_writes + self.session_writes

    @property
    def dedicated(self) -> bool:
        """Whether batches go over a kept connection (PostgreSQL)."""
        return self._engine is not None

    async def write(self, rows: Sequence[repo.ReadingTuple]) -> int:
        """Store ``rows`` in one transaction; returns how many were new. Raises
        :class:`ReadingWriteError` (or ``OSError``/``TimeoutError``) with nothing stored."""
        if not rows:
            return 0
        if self._engine is None or self._busy.locked():
            self.session_writes += 1
            async with self._sessionmaker() as session, session.begin():
                return await repo.copy_readings(session, rows=rows)
        async with self._busy:
            try:
                stored = await self._write_kept(self._engine, rows)
            except BaseException:
                await self._drop()
                raise
        self.kept_writes += 1
        return stored

    async def _write_kept(self, engine: AsyncEngine, rows: Sequence[repo.ReadingTuple]) -> int:
        repo.check_reading_times(rows)
        if self._kept is None:
            self._kept = await engine.connect()  # the pool's pre-ping, once per connection
            self._staged = False
        raw = await self._kept.get_raw_connection()
        driver = raw.driver_connection
        assert isinstance(driver, asyncpg.Connection)
        try:
            if not self._staged:
                await driver.execute(repo.PG_STAGE)
                self._staged = True
            async with driver.transaction():
                return await repo.pg_copy_readings(driver, rows)
        except (asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError) as err:
            # e.g. the server ended the connection (a restart) while it sat idle
            raise ReadingWriteError(f"{type(err).__name__}: {err}") from err

    async def _drop(self) -> None:
        """Forget the kept connection after a failure: invalidated, so the pool closes it
        instead of handing it out again."""
        kept, self._kept = self._kept, None
        if kept is None:
            return
        with contextlib.suppress(Exception):  # at once, whatever state the link is in
            raw = await kept.get_raw_connection()
            if isinstance(raw.driver_connection, asyncpg.Connection):
                raw.driver_connection.terminate()
        with contextlib.suppress(Exception):
            await asyncio.shield(kept.invalidate())
        with contextlib.suppress(Exception):
            await asyncio.shield(kept.close())

    async def close(self) -> None:
        """Give the kept connection back to the pool (before the engine is disposed)."""
        async with self._busy:
            kept, self._kept = self._kept, None
            if kept is not None:
                await kept.close()
