"""Export writers: CSV, JSON Lines and Parquet, written batch by batch as rows stream in.

Nothing holds the whole export: each batch from :func:`storage.export.stream_rows`
is written (CSV/JSON lines to a text handle, a Parquet row group per batch) and
dropped before the next one is fetched.
"""

from __future__ import annotations

import csv
import json
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Literal

from sqlalchemy.ext.asyncio import AsyncEngine

from storage.export import ColumnKind, export_columns, stream_rows
from tools.errors import ToolsError

ExportFormat = Literal["csv", "json", "parquet"]
EXPORT_FORMATS: tuple[ExportFormat, ...] = ("csv", "json", "parquet")

Batches = AsyncIterator[list[dict[str, Any]]]
Columns = Sequence[tuple[str, ColumnKind]]


class ExportError(ToolsError):
    """An export cannot be written as asked."""


def _text(value: Any, kind: ColumnKind) -> Any:
    """A value as it appears in CSV: ISO times, JSON for nested data, '' for None."""
    if value is None:
        return ""
    if kind == "time" and isinstance(value, datetime):
        return value.isoformat()
    if kind == "json":
        return json.dumps(value, separators=(",", ":"), default=str)
    return value


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


async def write_csv(batches: Batches, out: IO[str], columns: Columns) -> int:
    """CSV with a header row; returns the number of rows written."""
    writer = csv.writer(out)
    writer.writerow([name for name, _ in columns])
    count = 0
    async for rows in batches:
        writer.writerows([_text(row[name], kind) for name, kind in columns] for row in rows)
        count += len(rows)
    return count


async def write_jsonl(batches: Batches, out: IO[str]) -> int:
    """One JSON object per line (times as ISO strings); returns the number of rows."""
    count = 0
    async for rows in batches:
        out.writelines(
            json.dumps({k: _plain(v) for k, v in row.items()}, default=str) + "\n" for row in rows
        )
        count += len(rows)
    return count


def require_pyarrow() -> Any:
    """The ``pyarrow.parquet`` module, or a clear error when pyarrow is not installed."""
    try:
        import pyarrow.parquet as pq
    except ImportError as err:
        raise ExportError(
            "install pyarrow for parquet (pip install 'commandcenter[parquet]'), "
            "or use --format csv or json"
        ) from err
    return pq


def _arrow_schema(columns: Columns) -> Any:
    import pyarrow as pa

    types = {
        "int": pa.int64(),
        "float": pa.float64(),
        "str": pa.string(),
        "time": pa.timestamp("us", tz="UTC"),
        "json": pa.string(),  # nested data as JSON text: its shape varies row to row
    }
    return pa.schema([(name, types[kind]) for name, kind in columns])


async def write_parquet(batches: Batches, out: Path | IO[bytes], columns: Columns) -> int:
    """Parquet with one row group per batch; returns the number of rows."""
    pq = require_pyarrow()
    import pyarrow as pa

    schema = _arrow_schema(columns)
    json_cols = [name for name, kind in columns if kind == "json"]
    count = 0
    with pq.ParquetWriter(out, schema) as writer:
        async for rows in batches:
            data = {name: [row[name] for row in rows] for name, _ in columns}
            for name in json_cols:
                data[name] = [None if v is None else json.dumps(v, default=str) for v in data[name]]
            writer.write_table(pa.Table.from_pydict(data, schema=schema))
            count += len(rows)
    return count


async def _counted(batches: Batches, on_rows: Callable[[int, int | None], None] | None) -> Batches:
    """The same batches, reporting the running row count to ``on_rows``."""
    done = 0
    async for rows in batches:
        yield rows
        done += len(rows)
        if on_rows is not None:
            on_rows(done, None)


async def export_to_file(
    engine: AsyncEngine,
    kind: str,
    *,
    fmt: str,
    out: Path,
    site: str | None,
    start: datetime | None,
    end: datetime | None,
    batch: int = 5000,
    on_rows: Callable[[int, int | None], None] | None = None,
) -> int:
    """Stream ``kind`` rows into ``out`` in ``fmt``; returns the number of rows written.
    ``on_rows(written, None)`` is told after each batch (a progress bar)."""
    if fmt not in EXPORT_FORMATS:
        raise ExportError(f"unknown format {fmt!r}; expected one of {', '.join(EXPORT_FORMATS)}")
    if fmt == "parquet":
        require_pyarrow()  # fail before touching the file
    try:
        columns = export_columns(kind)
    except ValueError as err:
        raise ExportError(str(err)) from None
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ExportError(f"cannot write {out}: {err.strerror or err}") from err
    # Connected first: a database that cannot be reached is not reported as the file's fault.
    async with engine.connect() as conn:
        try:
            batches = _counted(
                stream_rows(conn, kind, site=site, start=start, end=end, batch=batch), on_rows
            )
            if fmt == "parquet":
                return await write_parquet(batches, out, columns)
            with out.open("w", encoding="utf-8", newline="") as fh:
                if fmt == "csv":
                    return await write_csv(batches, fh, columns)
                return await write_jsonl(batches, fh)
        except OSError as err:
            raise ExportError(f"cannot write {out}: {err.strerror or err}") from err
