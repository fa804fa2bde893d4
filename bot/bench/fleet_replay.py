"""A fixed replay of fleet traffic through the worker's hot path, without a broker
(``python -m bot.bench.fleet_replay``): CPU microseconds per message, per stage.

Wall-clock rates on a shared machine move with the neighbours; the CPU this
process spends on a fixed sequence of messages does not (much), and under
``valgrind --tool=callgrind`` its instruction count does not at all. The replay
feeds ``--rounds`` rounds of ``--sites`` simulated GX sites (the topics and
payloads of :mod:`bot.bench.fleet_publisher`) into the real hub as its network
thread would, and polls the way the runtime does (:class:`bot.runtime.Monitor`:
drivers, pipeline, the batch rules per site and the per-poll tick), ``--per-poll``
messages between polls.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from bot.bench.fleet_publisher import FLEET_TOPICS, payload, portal_id
from bot.bench.fleet_worker import fleet_sites
from bot.bench.ingest import scratch_postgres
from bot.gc_tuning import restore_gc, tune_worker_gc
from bot.runtime import Monitor
from storage import repositories as repo
from storage.engine import create_engine, create_sessionmaker, upgrade_database
from tools.alerts.engine import AlertEngine
from tools.alerts.registry import all_rules
from tools.clock import SystemClock
from tools.devices.base import Driver, SiteDriver
from tools.devices.mqtt import MqttHubs
from tools.devices.victron import VictronMqttDevice
from tools.domain import Reading
from tools.telemetry import SiteState, TelemetryPipeline


class GcWatch:
    """Collections by generation and the CPU they took, from ``gc.callbacks``."""

    def __init__(self) -> None:
        self.collections = [0, 0, 0]
        self.seconds = 0.0
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.process_time()
        else:
            self.collections[info["generation"]] += 1
            self.seconds += time.process_time() - self._started


class CpuStages:
    """CPU seconds (this process, all threads) spent in each named stage."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def add(self, name: str, since: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + time.process_time() - since

    def timed_async(
        self, name: str, fn: Callable[..., Awaitable[Any]]
    ) -> Callable[..., Awaitable[Any]]:
        async def wrapper(*args: Any) -> Any:
            started = time.process_time()
            try:
                return await fn(*args)
            finally:
                self.add(name, started)

        return wrapper


def _rss_mb() -> float:
    """This process's resident memory now (Linux; 0 elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
    except OSError:
        return 0.0
    import resource

    return round(pages * resource.getpagesize() / 2**20, 1)


async def replay(
    db_url: str, *, sites: int, rounds: int, per_poll: int, gc_mode: str = "worker"
) -> dict[str, Any]:
    """``gc_mode``: ``worker`` (what the worker does after start-up: freeze and raise
    the young threshold), ``default`` (CPython's settings) or ``off``."""
    run = "f1ee7"
    all_sites = fleet_sites(run, sites, "127.0.0.1", 1883)
    engine = create_engine(db_url)
    await upgrade_database(engine)
    sessionmaker = create_sessionmaker(engine)
    now = datetime.now(UTC)
    async with sessionmaker() as session, session.begin():
        for s in all_sites:
            await repo.upsert_site(session, name=s.name, title="", timezone="UTC", now=now)
    hubs = MqttHubs()
    devices = [VictronMqttDevice(s.devices[0], s, hubs=hubs) for s in all_sites]
    hub = hubs.get(all_sites[0].devices[0].config)  # type: ignore[arg-type]
    hub._loop = asyncio.get_running_loop()  # as if connected: messages are queued for it
    hub._connected.set()
    for d in devices:  # what start() does once the GX answers
        hub.subscribe(f"N/{d.portal_id}/#", d._on_message)
        d._subscribed = True
    drivers: dict[str, Driver] = {}
    for s, d in zip(all_sites, devices, strict=True):
        site_driver = SiteDriver(s, [d], intervals_s={"gx": 10.0})
        site_driver._slots["gx"].health.started = True
        drivers[s.name] = site_driver
    stages = CpuStages()
    clock = SystemClock()
    alerts = AlertEngine(
        sessionmaker=sessionmaker,
        sites={s.name: s for s in all_sites},
        clock=clock,
        rules=all_rules(),
    )
    await alerts.preload([s.name for s in all_sites])

    async def on_batch(
        site: str, state: SiteState, _batch: list[Reading], read_at: datetime | None
    ) -> None:
        await alerts.evaluate(site, state, now=read_at)

    async def on_tick(site: str, state: SiteState) -> None:
        await alerts.evaluate_due(site, state)

    pipeline = TelemetryPipeline(sessionmaker=sessionmaker)
    pipeline.set_batch_handler(stages.timed_async("alert_handoff", on_batch))
    pipeline.flush = stages.timed_async("store", pipeline.flush)  # type: ignore[method-assign,assignment]
    monitor = Monitor(
        drivers=drivers,
        pipeline=pipeline,
        clock=clock,
        sites={s.name: s for s in all_sites},
        on_tick=stages.timed_async("tick", on_tick),
    )
    messages = [
        (f"N/{portal_id(run, i)}/{path}", payload(i, c, n, base, swing))
        for c in range(rounds)
        for i in range(sites)
        for n, (path, base, swing) in enumerate(FLEET_TOPICS)
    ]
    await monitor.poll_once()  # the first poll (watching_since, empty state) is not counted
    gc_settings = tune_worker_gc() if gc_mode == "worker" else None
    if gc_mode == "off":
        gc.disable()
    rss_before_mb = _rss_mb()
    gc_watch = GcWatch()
    gc.callbacks.append(gc_watch)
    stages.seconds.clear()
    started_all = time.process_time()
    for start in range(0, len(messages), per_poll):
        started = time.process_time()
        for topic, body in messages[start : start + per_poll]:
            hub._on_publish(topic, body)
        stages.add("network_thread_route", started)
        started = time.process_time()
        hub._drain()
        stages.add("decode", started)
        started = time.process_time()
        await monitor.poll_once()
        # The batch is written in the background; waiting for it here keeps the stages
        # apart (a stage timed across an await would count whatever else ran meanwhile).
        await monitor.settle()
        stages.add("poll", started)
    total = time.process_time() - started_all
    gc.callbacks.remove(gc_watch)
    rss_after_mb = _rss_mb()
    if gc_settings is not None:
        restore_gc(gc_settings)
    gc.enable()
    await asyncio.sleep(0.02)  # the hub's own drain call, scheduled by the first message
    await pipeline.close()
    await engine.dispose()
    poll = stages.seconds.pop("poll", 0.0)
    inner = sum(stages.seconds.get(k, 0.0) for k in ("alert_handoff", "store", "tick"))
    stages.seconds["validate_state_batch"] = poll - inner
    n = len(messages)
    return {
        "sites": sites,
        "messages": n,
        "readings_written": pipeline.stats.written,
        "gc": gc_mode,
        "rss_mb_before": rss_before_mb,
        "rss_mb_after": rss_after_mb,
        "gc_collections": gc_watch.collections,
        "gc_cpu_us_per_msg": round(gc_watch.seconds / n * 1e6, 2),
        "cpu_us_per_msg": round(total / n * 1e6, 2),
        "cpu_us_per_msg_by_stage": {
            k: round(v / n * 1e6, 2) for k, v in sorted(stages.seconds.items())
        },
    }


async def _main(args: argparse.Namespace) -> dict[str, Any]:
    async with scratch_postgres(args.postgres_url) as db_url:
        return await replay(
            db_url, sites=args.sites, rounds=args.rounds, per_poll=args.per_poll, gc_mode=args.gc
        )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--postgres-url", default=None)
    parser.add_argument("--sites", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--per-poll", type=int, default=1000)
    parser.add_argument("--gc", choices=("worker", "default", "off"), default="worker")
    parser.add_argument("--profile", type=int, default=0, help="list the N top functions")
    args = parser.parse_args(argv)
    if not args.profile:
        print(json.dumps(asyncio.run(_main(args))))
        return 0
    import cProfile
    import io
    import pstats

    profiler = cProfile.Profile(time.process_time)  # CPU, not waits for the database
    report = profiler.runcall(asyncio.run, _main(args))
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(args.profile)
    report["profile"] = [
        line.strip() for line in text.getvalue().splitlines() if line.strip()[:1].isdigit()
    ]
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
