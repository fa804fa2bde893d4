"""Durable checkpointers for the assistant graph: SQLite by default, PostgreSQL in production."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver


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
            await pg_saver.setup()
            yield pg_saver
        return
    assert sqlite_path is not None
    sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    async with AsyncSqliteSaver.from_conn_string(str(sqlite_path)) as sqlite_saver:
        await sqlite_saver.setup()
        yield sqlite_saver
