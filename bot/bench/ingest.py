"""Benchmarks shipped with the bot (``commandcenter bench ...``): they print figures.

Each benchmark runs the real code paths against real services on this
machine; none is a timed unit test.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
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
        await pipeline.close()
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
    try:
        async with scratch_postgres(postgres_url) as db_url:
            result["postgres_readings_per_s"] = round(await _ingest_rate(db_url, data, batch=batch))
            result["raw_copy_readings_per_s"] = round(
                await _raw_copy_rate(db_url, data, batch=batch)
            )
    except PostgresUnavailable as err:
        result["postgres_readings_per_s"] = None
        result["raw_copy_readings_per_s"] = None
        result["postgres_error"] = str(err)
        return result
    result["pipeline_vs_raw_copy"] = round(
        result["postgres_readings_per_s"] / result["raw_copy_readings_per_s"], 3
    )
    return result


class PostgresUnavailable(Exception):
    """The benchmark's PostgreSQL server cannot be reached."""


@asynccontextmanager
async def scratch_postgres(server_url: str | None) -> AsyncIterator[str]:
    """A new empty database on the server (dropped afterwards), as a libpq URL.

    ``server_url`` defaults to ``$BENCH_POSTGRES_URL`` or the local server.
    """
    admin = server_url or os.environ.get("BENCH_POSTGRES_URL") or DEFAULT_POSTGRES_URL
    admin_libpq = make_url(admin).set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        conn = await asyncpg.connect(admin_libpq, timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError) as err:
        raise PostgresUnavailable(
            f"PostgreSQL not reachable ({type(err).__name__}: {err})"
        ) from err
    name = f"cc_bench_{uuid.uuid4().hex[:10]}"
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
        yield make_url(admin_libpq).set(database=name).render_as_string(hide_password=False)
    finally:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()


async def bench_alerts(
    *, samples: int = 20, host: str = "127.0.0.1", port: int = 1883, poll_s: float = 0.05
) -> dict[str, Any]:
    """From a Victron-format SOC message below the critical threshold on the real broker to
    the alert card reaching the chat channel, ``samples`` times.

    Runs the whole bot (Victron driver, pipeline, alert engine, notifier) on a
    scratch SQLite database; the chat channel is an in-memory adapter that notes
    when each card arrives.
    """
    import statistics

    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    from bot.app import open_app
    from bot.chat.memory import MemoryAdapter
    from bot.settings import Settings
    from tools.cards import Card
    from tools.site import Battery, Device, Location, Site, SiteFile

    portal = f"be7c{uuid.uuid4().hex[:8]}"
    site = Site(
        name="bench",
        location=Location(latitude=0, longitude=0),
        battery=Battery(capacity_kwh=10, min_soc_pct=10),
        devices=[
            Device(
                name="gx",
                driver="victron_mqtt",
                connection={"host": host, "port": port, "portal_id": portal},
            )
        ],
    )
    arrivals: list[tuple[float, Card]] = []

    class TimedAdapter(MemoryAdapter):
        async def post(
            self,
            channel: str,
            *,
            text: str = "",
            card: Card | None = None,
            thread: str | None = None,
        ) -> dict[str, Any]:
            if card is not None:
                arrivals.append((time.perf_counter(), card))
            return await super().post(channel, text=text, card=card, thread=thread)

    publisher = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
    publisher.connect(host, port)
    publisher.loop_start()

    def soc(value: float) -> None:
        topic = f"N/{portal}/system/0/Dc/Battery/Soc"
        publisher.publish(topic, json.dumps({"value": value}), qos=1).wait_for_publish(5)

    latencies_ms: list[float] = []
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(data_dir=Path(folder), channel_min_interval_s=0.0)
        sites = SiteFile(sites=[site])
        try:
            async with open_app(settings, adapter=TimedAdapter(), site_file=sites) as app:

                async def pump() -> None:
                    while True:
                        await app.monitor.poll_once()
                        await asyncio.sleep(poll_s)

                async def until(predicate: Any, timeout_s: float = 10.0) -> None:
                    deadline = time.perf_counter() + timeout_s
                    while not predicate():
                        if time.perf_counter() > deadline:
                            raise TimeoutError("the alert card did not arrive within 10 s")
                        await asyncio.sleep(0.002)

                starting = asyncio.create_task(pump())
                try:
                    # The driver waits for the GX's first message before it counts as started.
                    for _ in range(50):
                        soc(80.0)
                        await asyncio.sleep(0.1)
                        if app.pipeline.latest("bench").get("battery_soc_pct") is not None:
                            break
                    for _ in range(samples):
                        before = len(arrivals)
                        sent = time.perf_counter()
                        soc(20.0)
                        await until(lambda b=before: len(arrivals) > b)
                        latencies_ms.append((arrivals[-1][0] - sent) * 1000)
                        soc(80.0)  # resolve, so the next sample is a new alert
                        deadline = time.perf_counter() + 10
                        while await app.alerts.open_alerts("bench"):
                            if time.perf_counter() > deadline:
                                raise TimeoutError("the alert did not resolve within 10 s")
                            await asyncio.sleep(0.01)
                finally:
                    starting.cancel()
        finally:
            publisher.loop_stop()
            publisher.disconnect()
    latencies_ms.sort()
    return {
        "samples": len(latencies_ms),
        "latency_p50_ms": round(statistics.median(latencies_ms), 1),
        "latency_p95_ms": round(latencies_ms[int(0.95 * (len(latencies_ms) - 1))], 1),
        "latency_max_ms": round(latencies_ms[-1], 1),
    }
