"""Benchmarks shipped with the bot (``commandcenter bench ...``): they print figures.

Each benchmark runs the real code paths against real services on this
machine; none is a timed unit test.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from storage import repositories as repo
from storage.engine import create_engine, create_sessionmaker, upgrade_database
from tools.domain import Reading
from tools.telemetry import TelemetryPipeline

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
BENCH_METRICS = (
    "battery_soc_pct",
    "battery_power_w",
    "battery_voltage_v",
    "battery_current_a",
    "battery_temp_c",
    "pv_power_w",
    "load_power_w",
    "grid_power_w",
    "grid_voltage_v",
    "grid_frequency_hz",
    "generator_power_w",
    "generator_fuel_l",
    "pv_energy_today_kwh",
    "load_energy_today_kwh",
    "grid_import_today_kwh",
    "grid_export_today_kwh",
    "battery_charge_today_kwh",
    "battery_discharge_today_kwh",
    "temp_c",
    "ess_min_soc_pct",
)


def synthetic_readings(*, count: int, sites: int, start: datetime) -> list[Reading]:
    """``count`` plausible readings spread over ``sites`` sites, 20 metrics each, 10 s apart."""
    out: list[Reading] = []
    per_tick = sites * len(BENCH_METRICS)
    for i in range(count):
        tick, rest = divmod(i, per_tick)
        site, m = divmod(rest, len(BENCH_METRICS))
        out.append(
            Reading(
                site=f"bench-{site:04d}",
                metric=BENCH_METRICS[m],
                time=start + timedelta(seconds=10 * tick),
                value=float((i * 7919) % 50),
                device="bench",
            )
        )
    return out


async def _ingest_rate(url: str, readings: Sequence[Reading], *, batch: int) -> float:
    engine = create_engine(url)
    try:
        await upgrade_database(engine)
        sessionmaker = create_sessionmaker(engine)
        now = datetime.now(UTC)
        async with sessionmaker() as session, session.begin():
            for name in sorted({r.site for r in readings}):
                await repo.upsert_site(session, name=name, title="", timezone="UTC", now=now)
        pipeline = TelemetryPipeline(sessionmaker=sessionmaker)
        started = time.perf_counter()
        for i in range(0, len(readings), batch):
            await pipeline.ingest(readings[i : i + batch])
        elapsed = time.perf_counter() - started
        if pipeline.stats.written != len(readings):
            raise RuntimeError(
                f"wrote {pipeline.stats.written} of {len(readings)} readings "
                f"({pipeline.stats.last_error or 'rejected'})"
            )
        return len(readings) / elapsed
    finally:
        await engine.dispose()


async def _raw_copy_rate(libpq_url: str, readings: Sequence[Reading], *, batch: int) -> float:
    conn = await asyncpg.connect(libpq_url)
    try:
        # The same columns, defaults and indexes as the readings table, so that the
        # comparison measures the pipeline's own cost, not the table's.
        await conn.execute(
            "CREATE TABLE bench_raw (LIKE readings INCLUDING DEFAULTS INCLUDING INDEXES)"
        )
        records = [(r.site, r.device, r.metric, r.time, r.value) for r in readings]
        started = time.perf_counter()
        for i in range(0, len(records), batch):
            async with conn.transaction():
                await conn.copy_records_to_table(
                    "bench_raw",
                    records=records[i : i + batch],
                    columns=["site", "device", "metric", "time", "value"],
                )
        return len(records) / (time.perf_counter() - started)
    finally:
        await conn.close()


async def bench_ingest(
    *, readings: int, sites: int, batch: int, postgres_url: str | None
) -> dict[str, Any]:
    """Readings per second through the real pipeline into SQLite and PostgreSQL, and raw COPY."""
    data = synthetic_readings(count=readings, sites=sites, start=datetime(2026, 1, 1, tzinfo=UTC))
    result: dict[str, Any] = {"readings": readings, "sites": sites, "batch": batch}
    with tempfile.TemporaryDirectory() as folder:
        result["sqlite_readings_per_s"] = round(
            await _ingest_rate(f"sqlite:///{Path(folder) / 'bench.sqlite'}", data, batch=batch)
        )
    admin = postgres_url or os.environ.get("BENCH_POSTGRES_URL") or DEFAULT_POSTGRES_URL
    admin_libpq = make_url(admin).set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"cc_bench_{uuid.uuid4().hex[:10]}"
    try:
        conn = await asyncpg.connect(admin_libpq, timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError) as err:
        result["postgres_readings_per_s"] = None
        result["raw_copy_readings_per_s"] = None
        result["postgres_error"] = f"PostgreSQL not reachable ({type(err).__name__}: {err})"
        return result
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
        db_url = make_url(admin_libpq).set(database=name).render_as_string(hide_password=False)
        result["postgres_readings_per_s"] = round(await _ingest_rate(db_url, data, batch=batch))
        result["raw_copy_readings_per_s"] = round(await _raw_copy_rate(db_url, data, batch=batch))
        result["pipeline_vs_raw_copy"] = round(
            result["postgres_readings_per_s"] / result["raw_copy_readings_per_s"], 3
        )
    finally:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()
    return result


def run(coro: Any) -> Any:
    return asyncio.run(coro)
