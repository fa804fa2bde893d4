"""Durable checkpointers for the assistant graph: SQLite by default, PostgreSQL in production."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

SETUP_LOCK_KEY = 0x5CC_0000_0002
POOL_MAX_SIZE = 4
POOL_WAIT_S = 10.0


@asynccontextmanager
async def open_checkpointer(
    *,
    postgres_url: str | None = None,
    sqlite_path: Path | None = None,
    pool_wait_s: float = POOL_WAIT_S,
) -> AsyncIterator[BaseCheckpointSaver[Any]]:
    """Open (and set up) a checkpointer; exactly one of the two locations must be given.

    ``postgres_url`` is a libpq URL (``postgresql://...``); ``pool_wait_s`` bounds the
    wait for a working PostgreSQL connection (then the call fails with an error).
    """
    if (postgres_url is None) == (sqlite_path is None):
        raise ValueError("give exactly one of postgres_url or sqlite_path")
    if postgres_url is not None:
        # A pool, not one connection: each use checks its connection first and replaces
        # one that the server or the network dropped, so chat recovers after a database
        # restart without restarting the bot. The settings are those the saver expects.
        pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            postgres_url,
            min_size=1,
            max_size=POOL_MAX_SIZE,
            timeout=pool_wait_s,
            check=AsyncConnectionPool.check_connection,
            kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
            open=False,
        )
        await pool.open(wait=True, timeout=pool_wait_s)
        try:
            pg_saver = AsyncPostgresSaver(pool)
            # Workers starting together take turns creating the tables. Try and wait
            # outside any transaction: setup() creates indexes CONCURRENTLY, which would
            # wait for (and deadlock with) a blocked pg_advisory_lock call.
            async with pool.connection() as conn:
                while True:
                    cur = await conn.execute(
                        "SELECT pg_try_advisory_lock(%s) AS got", (SETUP_LOCK_KEY,)
                    )
                    row = await cur.fetchone()
                    if row is not None and row["got"]:
                        break
                    await asyncio.sleep(0.1)
                try:
                    await pg_saver.setup()
                finally:
                    await conn.execute("SELECT pg_advisory_unlock(%s)", (SETUP_LOCK_KEY,))
            yield pg_saver
        finally:
            await pool.close(timeout=pool_wait_s)
        return
    assert sqlite_path is not None
    sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    async with AsyncSqliteSaver.from_conn_string(str(sqlite_path)) as sqlite_saver:
        await sqlite_saver.setup()
        yield sqlite_saver
