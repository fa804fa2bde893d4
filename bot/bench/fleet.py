"""``commandcenter bench fleet``: simulated Victron sites through the broker into workers.

Every figure comes from one run on this machine:

- **limit**: the broker's own fan-out rate, fleet-shaped messages from a C
  publisher (``mosquitto_pub``) to a do-nothing C subscriber (``mosquitto_sub``);
  Python paho clients when those are not installed. Absolute rates on a shared
  machine are noisy; the ratio of a worker's rate to this limit is not.
- **a step**: N sites × 20 metrics every ``interval_s`` from publisher processes
  into ``workers`` worker processes (:mod:`bot.bench.fleet_worker`, each
  ``SHARD=i/n``): offered and handled messages per second, lag from the
  scheduled publish to the database write (p50/p95), messages lost or doubled,
  readings shed, CPU of each party from ``/proc`` (workers, broker, publishers,
  the database's backends) and where the worker's time goes.
- **find-ceiling**: steps of growing N until lag p95 passes 1 s or anything is
  lost or shed; the ceiling is the last step held.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from bot.bench.fleet_publisher import FLEET_TOPICS
from bot.bench.fleet_worker import fleet_site_name
from bot.bench.ingest import scratch_postgres
from storage import repositories as repo
from storage.engine import create_engine, create_sessionmaker, upgrade_database

LAG_LIMIT_MS = 1000.0
STEP_FACTOR = 1.5


# -- /proc ------------------------------------------------------------------------------


def proc_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of a process (all threads); None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def broker_pid(port: int) -> int | None:
    """The process listening on ``port`` (via the socket inode), or the only mosquitto."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as f:
            for line in f.readlines()[1:]:
                cols = line.split()
                if cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(f"socket:[{cols[9]}]")
    candidates: list[int] = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        if inodes:
            with contextlib.suppress(OSError):
                for fd in os.listdir(f"/proc/{entry}/fd"):
                    if os.readlink(f"/proc/{entry}/fd/{fd}") in inodes:
                        return int(entry)
        with contextlib.suppress(OSError), open(f"/proc/{entry}/comm") as f:
            if f.read().strip() == "mosquitto":
                candidates.append(int(entry))
    return candidates[0] if len(candidates) == 1 else None


class CpuMeter:
    """CPU seconds of named groups of processes between :meth:`start` and :meth:`stop`."""

    def __init__(self) -> None:
        self._from: dict[int, float] = {}
        self._to: dict[int, float] = {}
        self.groups: dict[str, set[int]] = {}

    def add(self, group: str, pids: Sequence[int], *, new: bool = False) -> None:
        for pid in pids:
            self.groups.setdefault(group, set()).add(pid)
            if pid not in self._from:
                self._from[pid] = 0.0 if new else (proc_cpu_s(pid) or 0.0)

    def sample(self) -> None:
        for pid in self._from:
            value = proc_cpu_s(pid)
            if value is not None:
                self._to[pid] = value

    def percent(self, wall_s: float) -> dict[str, float]:
        return {
            group: round(
                100 * sum(self._to.get(p, self._from[p]) - self._from[p] for p in pids) / wall_s, 1
            )
            for group, pids in self.groups.items()
        }


async def _db_backends(admin_libpq: str | None, database: str) -> list[int]:
    if admin_libpq is None:
        return []
    conn = await asyncpg.connect(admin_libpq, timeout=5)
    try:
        rows = await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            database,
        )
    finally:
        await conn.close()
    return [int(r["pid"]) for r in rows]


# -- the broker's limit -------------------------------------------------------------------


async def broker_limit(host: str, port: int, *, messages: int = 60_000) -> dict[str, Any]:
    """Fleet-shaped messages per second from a publisher to a do-nothing subscriber."""
    sub_bin, pub_bin = shutil.which("mosquitto_sub"), shutil.which("mosquitto_pub")
    if sub_bin is None or pub_bin is None:
        return await asyncio.to_thread(_paho_limit, host, port, messages)
    topic = f"bench/{uuid.uuid4().hex[:8]}/N/f1ee7000001/system/0/Ac/Grid/L1/Power"
    line = b'{"value": 1234.56}\n'
    with tempfile.TemporaryFile() as out:
        sub = subprocess.Popen(  # noqa: ASYNC220 - a short-lived helper, waited for below
            [sub_bin, "-h", host, "-p", str(port), "-t", topic, "-F", "%U"],
            stdout=out,
            stderr=subprocess.DEVNULL,
        )
        try:
            # Wait until the subscription is in place: probes come back.
            deadline = time.monotonic() + 10
            while out.tell() == 0 and os.fstat(out.fileno()).st_size == 0:
                if time.monotonic() > deadline:
                    raise RuntimeError("mosquitto_sub did not receive the probe within 10 s")
                await asyncio.to_thread(
                    subprocess.run,
                    [pub_bin, "-h", host, "-p", str(port), "-t", topic, "-m", "probe"],
                    check=True,
                )
                await asyncio.sleep(0.2)
            out.seek(0)
            probes = len(out.read().splitlines())
            out.seek(0, os.SEEK_END)
            await asyncio.to_thread(
                subprocess.run,
                [pub_bin, "-h", host, "-p", str(port), "-t", topic, "-l"],
                input=line * messages,
                check=True,
            )
            count, last_change = -1, time.monotonic()
            while time.monotonic() - last_change < 1.0:
                await asyncio.sleep(0.2)
                size = os.fstat(out.fileno()).st_size
                if size != count:
                    count, last_change = size, time.monotonic()
        finally:
            sub.terminate()
            await asyncio.to_thread(sub.wait)
        out.seek(0)
        stamps = [float(x) for x in out.read().split()[probes:]]
    if len(stamps) < 2:
        raise RuntimeError("the do-nothing subscriber received no messages")
    return {
        "limit_msg_per_s": round((len(stamps) - 1) / (stamps[-1] - stamps[0])),
        "limit_client": "mosquitto_pub -> mosquitto_sub",
        "limit_received": len(stamps),
        "limit_sent": messages,
    }


def _paho_limit(host: str, port: int, messages: int) -> dict[str, Any]:
    import threading

    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    topic = f"bench/{uuid.uuid4().hex[:8]}/limit"
    stamps: list[float] = []
    subscribed = threading.Event()
    sub = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
    sub.on_message = lambda _c, _u, _m: stamps.append(time.perf_counter())
    sub.on_subscribe = lambda *_a: subscribed.set()
    sub.connect(host, port)
    sub.subscribe(topic)
    sub.loop_start()
    pub = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
    pub.max_queued_messages_set(0)
    pub.connect(host, port)
    pub.loop_start()
    try:
        subscribed.wait(10)
        for _ in range(messages):
            pub.publish(topic, b'{"value": 1234.56}')
        last, since = -1, time.monotonic()
        while time.monotonic() - since < 1.0:
            time.sleep(0.2)
            if len(stamps) != last:
                last, since = len(stamps), time.monotonic()
    finally:
        for c in (pub, sub):
            c.loop_stop()
            c.disconnect()
    if len(stamps) < 2:
        raise RuntimeError("the do-nothing subscriber received no messages")
    return {
        "limit_msg_per_s": round((len(stamps) - 1) / (stamps[-1] - stamps[0])),
        "limit_client": "paho -> paho",
        "limit_received": len(stamps),
        "limit_sent": messages,
    }


# -- one step -----------------------------------------------------------------------------


class _Worker:
    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc

    async def read(self, timeout_s: float) -> dict[str, Any]:
        assert self.proc.stdout is not None
        text = await asyncio.wait_for(asyncio.to_thread(self.proc.stdout.readline), timeout_s)
        if not text:
            raise RuntimeError(f"worker {self.proc.pid} exited (code {self.proc.poll()})")
        doc: dict[str, Any] = json.loads(text)
        return doc

    def send(self, doc: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(doc) + "\n")
        self.proc.stdin.flush()


def _percentile(sorted_values: list[float], share: float) -> float | None:
    if not sorted_values:
        return None
    return round(sorted_values[int(share * (len(sorted_values) - 1))], 1)


async def fleet_step(
    *,
    db_url: str,
    admin_libpq: str | None,
    sites: int,
    duration_s: float,
    interval_s: float,
    host: str,
    port: int,
    workers: int = 1,
    publishers: int = 1,
    broker: int | None = None,
    profile: int = 0,
) -> dict[str, Any]:
    """One measured run of ``sites`` sites into ``workers`` worker processes."""
    run = uuid.uuid4().hex[:5]
    engine = create_engine(db_url)
    try:
        await upgrade_database(engine)
        now = datetime.now(UTC)
        async with create_sessionmaker(engine)() as session, session.begin():
            for i in range(sites):
                name = fleet_site_name(i)
                await repo.upsert_site(session, name=name, title="", timezone="UTC", now=now)
    finally:
        await engine.dispose()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    procs: list[subprocess.Popen[str]] = []
    pubs: list[subprocess.Popen[str]] = []
    try:
        for shard in range(1, workers + 1):
            procs.append(
                subprocess.Popen(  # noqa: ASYNC220 - long-lived, talked to through pipes
                    [
                        sys.executable,
                        "-m",
                        "bot.bench.fleet_worker",
                        *("--db", db_url, "--host", host, "--port", str(port), "--run", run),
                        *("--sites", str(sites), "--shard", f"{shard}/{workers}"),
                        *("--interval", str(interval_s), "--profile", str(profile)),
                    ],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                    env=env,
                )
            )
        crew = [_Worker(p) for p in procs]
        ready = [await w.read(timeout_s=120 + sites / 50) for w in crew]
        rounds = max(1, int(duration_s // interval_s))
        cpu = CpuMeter()
        cpu.add("worker", [p.pid for p in procs])
        if broker is not None:
            cpu.add("broker", [broker])
        database = make_url(db_url).database or ""
        cpu.add("database", await _db_backends(admin_libpq, database))
        t0 = time.time() + 1.0
        for w in crew:
            w.send({"t0": t0, "interval_s": interval_s})
        for part in range(1, publishers + 1):
            pubs.append(
                subprocess.Popen(  # noqa: ASYNC220 - waited for below
                    [
                        sys.executable,
                        "-m",
                        "bot.bench.fleet_publisher",
                        *("--host", host, "--port", str(port), "--run", run),
                        *("--sites", str(sites), "--part", f"{part}/{publishers}"),
                        *("--interval", str(interval_s), "--duration", str(rounds * interval_s)),
                        *("--t0", str(t0)),
                    ],
                    stdout=subprocess.PIPE,
                    text=True,
                    env=env,
                )
            )
        cpu.add("publisher", [p.pid for p in pubs], new=True)

        async def sample() -> None:  # a process's CPU can only be read while it lives
            while True:
                cpu.sample()
                await asyncio.sleep(0.25)

        sampler = asyncio.create_task(sample())
        outs = []
        try:
            for p in pubs:
                out, _ = await asyncio.to_thread(p.communicate, timeout=rounds * interval_s + 120)
                outs.append(json.loads(out.strip().splitlines()[-1]))
        finally:
            sampler.cancel()
        sent = sum(o["sent"] for o in outs)
        per_site = rounds * len(FLEET_TOPICS)
        for w, r in zip(crew, ready, strict=True):
            w.send({"expect": r["ready"] * per_site})
        cpu.add("database", await _db_backends(admin_libpq, database), new=True)
        reports = [await w.read(timeout_s=600) for w in crew]
        cpu.sample()
        wall = max(r["last_write_at"] for r in reports) - t0
    finally:
        for p in [*procs, *pubs]:
            if p.poll() is None:
                p.kill()
            with contextlib.suppress(Exception):
                await asyncio.to_thread(p.wait, 10)
    received = sum(r["received"] for r in reports)
    lags = sorted(x for r in reports for x in r["lags_ms"])
    stages: dict[str, float] = {}
    longest: dict[str, float] = {}
    for r in reports:
        for k, v in r["stages_s"].items():
            stages[k] = stages.get(k, 0.0) + v
        for k, v in r["longest_ms"].items():
            longest[k] = max(longest.get(k, 0.0), v)
    offered = sites * len(FLEET_TOPICS) / interval_s
    cpu_pct = cpu.percent(wall)
    return {
        "sites": sites,
        "workers": workers,
        "offered_msg_per_s": round(offered),
        "handled_msg_per_s": round(received / wall) if wall > 0 else None,
        "lag_p50_ms": round(statistics.median(lags), 1) if lags else None,
        "lag_p95_ms": _percentile(lags, 0.95),
        "lag_max_ms": lags[-1] if lags else None,
        "lag_samples": len(lags),
        "sent": sent,
        "received": received,
        "lost": max(0, sent - received),
        "doubled": max(0, received - sent),
        "shed": sum(r["dropped"] for r in reports),
        "readings_written": sum(r["readings_written"] for r in reports),
        "publisher_slip_ms": max(o["slip_ms"] for o in outs),
        "cpu_pct": cpu_pct,
        # CPU per message is what a worker's share of a core buys; it does not depend
        # on how busy the machine is, unlike the lag.
        "worker_cpu_us_per_msg": round(cpu_pct["worker"] / 100 * wall / received * 1e6, 1)
        if received
        else None,
        "worker_time_s": {k: round(v, 2) for k, v in sorted(stages.items())},
        "worker_longest_call_ms": dict(sorted(longest.items())),
        "wall_s": round(wall, 1),
        **({"profile": reports[0].get("profile")} if profile else {}),
        "per_worker": [
            {"shard": r["shard"], "sites": r["sites"], "received": r["received"]} for r in reports
        ],
    }


def held(step: dict[str, Any]) -> bool:
    """Whether the workers kept up: lag p95 within 1 s, nothing lost, doubled or shed."""
    p95 = step["lag_p95_ms"]
    return (
        p95 is not None
        and p95 <= LAG_LIMIT_MS
        and step["lost"] == 0
        and step["doubled"] == 0
        and step["shed"] == 0
    )


@asynccontextmanager
async def _database(postgres_url: str | None) -> AsyncIterator[tuple[str, str | None]]:
    if postgres_url is None:  # one worker on a scratch SQLite file
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{Path(folder) / 'fleet.sqlite'}", None
        return
    async with scratch_postgres(postgres_url) as db_url:
        yield (
            db_url,
            make_url(db_url).set(database="postgres").render_as_string(hide_password=False),
        )


async def bench_fleet(
    *,
    sites: int,
    duration_s: float,
    interval_s: float = 10.0,
    host: str = "127.0.0.1",
    port: int = 1883,
    postgres_url: str | None = None,
    workers: int = 1,
    publishers: int = 1,
    find_ceiling: bool = False,
    max_sites: int = 20_000,
    profile: int = 0,
) -> dict[str, Any]:
    """One step of ``sites`` sites, or (``find_ceiling``) steps from ``sites`` up by 1.5×
    until one is not held; both with the broker's limit measured first."""
    if workers > 1 and postgres_url is None:
        raise ValueError("several workers need PostgreSQL (--postgres-url)")
    limit = await broker_limit(host, port)
    broker = broker_pid(port)
    steps: list[dict[str, Any]] = []
    async with _database(postgres_url) as (db_url, admin):
        n = sites
        while True:
            step = await fleet_step(
                db_url=db_url,
                admin_libpq=admin,
                sites=n,
                duration_s=duration_s,
                interval_s=interval_s,
                host=host,
                port=port,
                workers=workers,
                publishers=publishers,
                broker=broker,
                profile=profile,
            )
            step["held"] = held(step)
            steps.append(step)
            if not find_ceiling or not step["held"] or n >= max_sites:
                break
            n = min(max_sites, int(math.ceil(n * STEP_FACTOR / 100) * 100))
    result: dict[str, Any] = {**limit}
    if not find_ceiling:
        step = steps[0]
        result.update(step)
        result["vs_limit"] = _ratio(step["handled_msg_per_s"], limit["limit_msg_per_s"])
        return result
    good = [s for s in steps if s["held"]]
    best = good[-1] if good else None
    result.update(
        {
            "ceiling_msg_per_s": best["offered_msg_per_s"] if best else 0,
            "ceiling_sites": best["sites"] if best else 0,
            "ceiling_vs_limit": _ratio(
                best["offered_msg_per_s"] if best else 0, limit["limit_msg_per_s"]
            ),
            "workers": workers,
            "ceiling_cpu_pct": best["cpu_pct"] if best else None,
            "worker_cpu_us_per_msg": steps[0]["worker_cpu_us_per_msg"],
            "ceiling_worker_time_s": best["worker_time_s"] if best else None,
            "first_failure": None if steps[-1]["held"] else _why(steps[-1]),
            "steps": steps,
        }
    )
    return result


def _why(step: dict[str, Any]) -> str:
    reasons = []
    if step["lag_p95_ms"] is None or step["lag_p95_ms"] > LAG_LIMIT_MS:
        reasons.append(f"lag p95 {step['lag_p95_ms']} ms")
    for key in ("lost", "doubled", "shed"):
        if step[key]:
            reasons.append(f"{key} {step[key]}")
    return f"{step['offered_msg_per_s']} msg/s: " + ", ".join(reasons)


def _ratio(part: float, whole: float) -> float:
    """``part / whole`` to 3 significant digits (a small fleet against a fast broker is a
    small ratio, not 0)."""
    return float(f"{part / whole:.3g}") if whole else 0.0
