"""One ingest worker for ``bench fleet``, in its own process (``python -m bot.bench.fleet_worker``).

It runs the worker's real telemetry path for its share of the simulated fleet:
one MQTT hub, a Victron driver per site, and the runtime's own
:class:`bot.runtime.Monitor` polling them every ``POLL_S``: the telemetry
pipeline writing to the database, each site's batch to the alert engine (batch
rules) and the time-based tick (:meth:`AlertEngine.evaluate_due`). Protocol
with the benchmark on stdin/stdout, one JSON object per line:

1. it prints ``{"ready": ...}`` once every subscription is in place;
2. it reads ``{"t0": ..., "sites": ..., "interval_s": ...}``: the publisher's schedule;
3. it reads ``{"expect": N}`` after the publisher finished, waits until N messages
   arrived (or nothing arrived for ``--quiet`` seconds), writes what is left and
   prints its figures.

Lag is measured per site and round, from the scheduled publish time of the
round (read back from the SOC value, see :func:`bot.bench.fleet_publisher.round_of`)
to the hand-off of the batch that stored it (right after its database write).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from bot.bench.fleet_publisher import portal_id, round_of
from bot.cluster import served_sites
from bot.gc_tuning import tune_worker_gc
from bot.runtime import Monitor
from storage.engine import create_engine, create_sessionmaker
from tools.alerts.engine import AlertEngine
from tools.alerts.registry import all_rules
from tools.clock import SystemClock
from tools.devices.base import Driver, SiteDriver
from tools.devices.mqtt import MqttHub, MqttHubs
from tools.devices.victron import VictronMqttDevice
from tools.domain import Reading
from tools.site import Device, Location, Site
from tools.telemetry import SiteState, TelemetryPipeline

POLL_S = 0.1


def fleet_site_name(index: int) -> str:
    return f"fleet-{index:05d}"


def fleet_sites(run: str, count: int, host: str, port: int) -> list[Site]:
    return [
        Site(
            name=fleet_site_name(i),
            location=Location(latitude=0, longitude=0),
            devices=[
                Device(
                    name="gx",
                    driver="victron_mqtt",
                    connection={"host": host, "port": port, "portal_id": portal_id(run, i)},
                )
            ],
        )
        for i in range(count)
    ]


def _thread_cpu_s(native_id: int | None) -> float:
    """CPU seconds of one thread of this process (0 where /proc is missing)."""
    if native_id is None:
        return 0.0
    try:
        with open(f"/proc/self/task/{native_id}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Stages:
    """Wall time spent in each stage of the hot path (on the event loop)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.longest: dict[str, float] = {}  # the longest single call of each stage

    def add(self, name: str, seconds: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds
        if seconds > self.longest.get(name, 0.0):
            self.longest[name] = seconds

    def timed(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any) -> Any:
            started = time.perf_counter()
            try:
                return fn(*args)
            finally:
                self.add(name, time.perf_counter() - started)

        return wrapper

    def timed_async(
        self, name: str, fn: Callable[..., Awaitable[Any]]
    ) -> Callable[..., Awaitable[Any]]:
        async def wrapper(*args: Any) -> Any:
            started = time.perf_counter()
            try:
                return await fn(*args)
            finally:
                self.add(name, time.perf_counter() - started)

        return wrapper


async def _line() -> dict[str, Any]:
    text = await asyncio.to_thread(sys.stdin.readline)
    if not text:
        raise SystemExit("the benchmark went away")
    doc: dict[str, Any] = json.loads(text)
    return doc


def _say(doc: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(doc) + "\n")
    sys.stdout.flush()


async def run(args: argparse.Namespace) -> dict[str, Any]:
    all_sites = fleet_sites(args.run, args.sites, args.host, args.port)
    index_of = {s.name: i for i, s in enumerate(all_sites)}
    mine_names = set(served_sites([s.name for s in all_sites], shard=args.shard))
    mine = [s for s in all_sites if s.name in mine_names]
    engine = create_engine(args.db)
    sessionmaker = create_sessionmaker(engine)
    hubs = MqttHubs()
    devices = [
        VictronMqttDevice(s.devices[0], s, hubs=hubs, start_timeout_s=3 * args.interval + 30)
        for s in mine
    ]
    stages = Stages()
    clock = SystemClock()
    alerts = AlertEngine(
        sessionmaker=sessionmaker,
        sites={s.name: s for s in mine},
        clock=clock,
        rules=all_rules(),
    )
    lags_ms: list[float] = []
    timing: dict[str, float] = {}  # the publisher's schedule, once known

    async def hand_off(
        site: str, state: SiteState, batch: list[Reading], read_at: datetime | None
    ) -> None:
        done = time.time()
        if timing:
            t0, interval_s = timing["t0"], timing["interval_s"]
            i = index_of[site]
            for r in batch:
                if r.metric == "battery_soc_pct" and r.device == "gx":
                    c = round_of(
                        r.value, t0=t0, index=i, sites=args.sites, interval_s=interval_s, now=done
                    )
                    sent_at = t0 + i * interval_s / args.sites + c * interval_s
                    lags_ms.append((done - sent_at) * 1000)
        await alerts.evaluate(site, state, now=read_at)

    pipeline = TelemetryPipeline(sessionmaker=sessionmaker)
    pipeline.set_batch_handler(stages.timed_async("alert_handoff", hand_off))
    pipeline.flush = stages.timed_async("copy", pipeline.flush)  # type: ignore[method-assign,assignment]
    drivers: dict[str, Driver] = {
        s.name: SiteDriver(s, [d], intervals_s={"gx": args.interval})
        for s, d in zip(mine, devices, strict=True)
    }
    monitor = Monitor(
        drivers=drivers,
        pipeline=pipeline,
        clock=clock,
        sites={s.name: s for s in mine},
        on_tick=stages.timed_async("tick", alerts.evaluate_due),
    )
    if not mine:
        raise SystemExit(f"shard {args.shard} has none of the {args.sites} sites")
    hub: MqttHub = hubs.get(mine[0].devices[0].config)  # type: ignore[arg-type]
    starting = [asyncio.create_task(d.start()) for d in devices]
    try:
        await alerts.preload([s.name for s in mine])
        await hub.connect()
        while True:  # the drivers subscribe early in start(); there is no event for it
            if all(d._subscribed or t.done() for d, t in zip(devices, starting, strict=True)):
                break
            await asyncio.sleep(0.05)
        # Subscribed is enough to read them: a GX here answers only once the publisher runs,
        # so its start() (which waits for that answer) goes on in the background.
        for driver in drivers.values():
            assert isinstance(driver, SiteDriver)
            driver._slots["gx"].health.started = True
        # The broker handles one client's packets in order: once a probe published after
        # the subscriptions comes back, every subscription is in place.
        probe = asyncio.Event()
        probe_topic = f"bench/{args.run}/probe/{os.getpid()}"
        hub.subscribe(probe_topic, lambda _t, _p: probe.set())
        while not probe.is_set():
            hub.publish(probe_topic, b"1")
            try:
                await asyncio.wait_for(probe.wait(), 1.0)
            except TimeoutError:
                continue
        hub._drain = stages.timed("mqtt_callback_decode", hub._drain)  # type: ignore[method-assign]
        paho_thread = getattr(hub._client, "_thread", None)
        native_id = getattr(paho_thread, "native_id", None)
        tune_worker_gc()  # as the worker does once started
        _say({"ready": len(devices), "pid": os.getpid()})
        schedule = await _line()
        timing.update(t0=float(schedule["t0"]), interval_s=float(schedule["interval_s"]))
        messages_from = hub.messages
        net_cpu_from = _thread_cpu_s(native_id)
        stages.seconds.clear()
        stages.longest.clear()
        lags_ms.clear()
        expect: list[int] = []

        async def stop_when_told() -> None:
            expect.append(int((await _line())["expect"]))

        told = asyncio.create_task(stop_when_told())
        last_count, last_change = hub.messages, time.monotonic()
        last_write_at = time.time()
        while True:
            await asyncio.sleep(POLL_S)
            started = time.perf_counter()
            if await monitor.poll_once():
                last_write_at = time.time()
            stages.add("poll_total", time.perf_counter() - started)
            if hub.messages != last_count:
                last_count, last_change = hub.messages, time.monotonic()
            if expect:
                received = hub.messages - messages_from
                quiet = time.monotonic() - last_change > args.quiet
                idle = all(isinstance(d, SiteDriver) and d.idle() for d in drivers.values())
                if (received >= expect[0] or quiet) and idle and not pipeline.buffered:
                    break
        await told
        await monitor.settle()  # the last batches' writes
        stages.seconds["mqtt_network_thread_cpu"] = _thread_cpu_s(native_id) - net_cpu_from
        # The writes and their alert hand-offs run alongside the polls (two in flight), so
        # only the ticks are inside the polls' own time; that time includes waiting for a
        # free write slot.
        validate = stages.seconds.pop("poll_total", 0.0) - stages.seconds.get("tick", 0.0)
        stages.seconds["validate_state_batch"] = validate
        return {
            "pid": os.getpid(),
            "shard": args.shard,
            "sites": len(devices),
            "received": hub.messages - messages_from,
            "last_write_at": last_write_at,
            "readings_written": pipeline.stats.written,
            "dropped": pipeline.stats.dropped + sum(d.dropped for d in devices),
            "lags_ms": [round(x, 1) for x in lags_ms],
            "stages_s": {k: round(v, 3) for k, v in stages.seconds.items()},
            "longest_ms": {
                k: round(v * 1000, 1) for k, v in stages.longest.items() if k != "poll_total"
            },
        }
    finally:
        for t in starting:
            t.cancel()
        await asyncio.gather(*starting, return_exceptions=True)
        for d in devices:
            await d.close()
        await hubs.close()
        await pipeline.close()
        await engine.dispose()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1883)
    parser.add_argument("--run", required=True)
    parser.add_argument("--sites", type=int, required=True)
    parser.add_argument("--shard", default="1/1")
    parser.add_argument("--interval", type=float, default=10.0)
    parser.add_argument("--quiet", type=float, default=3.0)
    parser.add_argument("--profile", type=int, default=0, help="report the N top functions")
    args = parser.parse_args(argv)
    threading.current_thread().name = "fleet-worker"
    if not args.profile:
        _say(asyncio.run(run(args)))
        return 0
    import cProfile
    import io
    import pstats

    profiler = cProfile.Profile()
    report = profiler.runcall(asyncio.run, run(args))
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(args.profile)
    report["profile"] = [
        line.strip() for line in text.getvalue().splitlines() if line.strip()[:1].isdigit()
    ]
    _say(report)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
