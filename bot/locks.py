"""Run a scheduled job once across worker processes sharing one PostgreSQL database."""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine


def lock_key(name: str) -> int:
    """A stable 63-bit advisory-lock key for a job name."""
    return zlib.crc32(name.encode()) | (0x5CC << 32)


@asynccontextmanager
async def leader(engine: AsyncEngine, name: str) -> AsyncIterator[bool]:
    """``True`` inside when this process holds the job's lock (always on SQLite, one process).

    On PostgreSQL a session-level ``pg_try_advisory_lock`` is taken on a dedicated
    connection and released on exit, so another worker running the same job at
    the same time gets ``False`` and skips it.
    """
    if engine.dialect.name != "postgresql":
        yield True
        return
    key = lock_key(name)
    async with engine.connect() as conn:
        got = bool(
            (await conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key})).scalar()
        )
        try:
            yield got
        finally:
            if got:
                await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            await conn.commit()
