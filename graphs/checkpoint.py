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
from psycopg import AsyncConnection

SETUP_LOCK_KEY = 0x5CC_0000_0002


@asynccontextmanager
async def open_checkpointer(
    *, postgres_url: str | None = None, sqlite_path: Path | None = None
) -> AsyncIterator[BaseCheckpointSaver[Any]]:
    """Open (and set up) a checkpointer; exactly one of the two locations must be given.

    ``postgres_url`` is a libpq URL (``postgresql://...``).
    """
    if (postgres_url is None) == (sqlite_path is None):
        raise ValueError("give exactly one of postgres_url or sqlite_path")
    if postgres_url is not None:
        async with AsyncPostgresSaver.from_conn_string(postgres_url) as pg_saver:
            # Workers starting together take turns creating the tables.
            conn = pg_saver.conn
            assert isinstance(conn, AsyncConnection)  # from_conn_string: one connection
            # Try and wait outside any transaction: setup() creates indexes CONCURRENTLY,
            # which would wait for (and deadlock with) a blocked pg_advisory_lock call.
            while True:
                cur = await conn.execute(
                    "SELECT pg_try_advisory_lock(%s) AS got", (SETUP_LOCK_KEY,)
                )
                row = await cur.fetchone()  # the saver's connection returns dict rows
                if row is not None and row["got"]:
                    break
                await asyncio.sleep(0.1)
            try:
                await pg_saver.setup()
            finally:
                await conn.execute("SELECT pg_advisory_unlock(%s)", (SETUP_LOCK_KEY,))
            yield pg_saver
        return
    assert sqlite_path is not None
    sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    async with AsyncSqliteSaver.from_conn_string(str(sqlite_path)) as sqlite_saver:
        await sqlite_saver.setup()
        yield sqlite_saver
