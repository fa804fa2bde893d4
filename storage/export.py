"""Streaming reads of whole tables for export: bounded memory, one batch at a time.

Rows come from a server-side cursor (``AsyncConnection.stream`` with ``yield_per``):
asyncpg fetches ``batch`` rows per round trip, aiosqlite steps its cursor, and only
one batch of plain dicts lives in Python at once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import JSON, Column, Float, Integer, Select, Table, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from storage.models import ActionRequestRow, AlertRow, AuditRow, ReadingRow, UTCDateTime

ExportKind = Literal["readings", "alerts", "actions", "audit"]
ColumnKind = Literal["int", "float", "str", "time", "json"]

EXPORT_KINDS: tuple[ExportKind, ...] = ("readings", "alerts", "actions", "audit")

# table and the time column that --from/--to select on
_SOURCES: dict[str, tuple[Table, str]] = {
    "readings": (ReadingRow.__table__, "time"),  # type: ignore[dict-item]
    "alerts": (AlertRow.__table__, "started_at"),  # type: ignore[dict-item]
    "actions": (ActionRequestRow.__table__, "created_at"),  # type: ignore[dict-item]
    "audit": (AuditRow.__table__, "time"),  # type: ignore[dict-item]
}


def _source(kind: str) -> tuple[Table, str]:
    try:
        return _SOURCES[kind]
    except KeyError:
        raise ValueError(
            f"unknown export kind {kind!r}; expected one of {', '.join(EXPORT_KINDS)}"
        ) from None


def _column_kind(column: Column[Any]) -> ColumnKind:
    if isinstance(column.type, UTCDateTime):
        return "time"
    if isinstance(column.type, JSON):
        return "json"
    if isinstance(column.type, Integer):  # BigInteger and the SQLite variant included
        return "int"
    if isinstance(column.type, Float):
        return "float"
    return "str"


def export_columns(kind: str) -> list[tuple[str, ColumnKind]]:
    """(name, kind) of each exported column, in table order: the file's schema."""
    table, _ = _source(kind)
    return [(c.name, _column_kind(c)) for c in table.columns]


def export_query(
    kind: str, *, site: str | None, start: datetime | None, end: datetime | None
) -> Select[Any]:
    """Rows of ``kind`` for ``site`` (all when None) with start <= time < end, oldest first."""
    table, time_name = _source(kind)
    time_col = table.c[time_name]
    stmt = select(table).order_by(time_col, *table.primary_key.columns)
    if site is not None:
        stmt = stmt.where(table.c.site == site)
    if start is not None:
        stmt = stmt.where(time_col >= start)
    if end is not None:
        stmt = stmt.where(time_col < end)
    return stmt


async def stream_rows(
    session_or_conn: AsyncSession | AsyncConnection,
    kind: str,
    *,
    site: str | None,
    start: datetime | None,
    end: datetime | None,
    batch: int = 5000,
) -> AsyncIterator[list[dict[str, Any]]]:
    """Yield the rows of ``kind`` as lists of at most ``batch`` dicts (column -> value).

    Needs an open transaction on PostgreSQL (server-side cursors live in one); a
    session or connection autobegins one.
    """
    if batch < 1:
        raise ValueError("batch must be at least 1")
    stmt = export_query(kind, site=site, start=start, end=end).execution_options(yield_per=batch)
    result = await session_or_conn.stream(stmt)
    try:
        async for part in result.mappings().partitions(batch):
            yield [dict(row) for row in part]
    finally:
        await result.close()
