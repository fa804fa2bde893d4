"""Two real worker processes on one PostgreSQL (alerts, actions, scheduled jobs and the
daily digest each happen once), and a worker stopped with SIGTERM."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
import signal
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from datetime import time as day_time
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml
from sqlalchemy import func, select

from bot.console_demo import evening_start
from storage import repositories as repo
from storage.engine import create_engine, create_sessionmaker, upgrade_database
from storage.models import ActionRequestRow, AlertRow, AuditRow, ReadingRow, ReportDigestRow
from tools.devices.simulator import SimulatedSite
from tools.site import Site, demo_site_file

T = TypeVar("T")

ROLLUP_S = 2.0
DIGEST_S = 1.0
_INTERVALS_S = {
    "rollup": ROLLUP_S,
    "expire_actions": 1,
    "alerts_periodic": 2,
    "alerts_lifecycle": 1,
    "execute_actions": 0.5,
}
JOB_INTERVALS = json.dumps(_INTERVALS_S)
# The digest job looks every second (instead of every minute) in the two-worker test.
DIGEST_JOB_INTERVALS = json.dumps({**_INTERVALS_S, "digests": DIGEST_S})
SIM_SPEED = "300"
LOG_TIME = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) ")
# Limits for waits on events (never sleeps): generous, because on a loaded 2-core machine
# starting one worker process alone can take half a minute. A passing run never waits them.
TEST_BUDGET_S = 600
PROCESS_EXIT_S = 120


def write_site_file(tmp_path: Path) -> Path:
    """The demo site, with a week to decide (the clock runs 300 times faster), and the
    daily digest (alone) due from local midnight (so at once) and posted to the site's
    channel."""
    data = demo_site_file().model_dump(mode="json", exclude_defaults=True)
    data["sites"][0]["actions"] = {"expiry_minutes": 7 * 24 * 60}
    data["sites"][0]["reports"] = {
        "daily": {"time": "00:00", "channels": ["chat"]},
        "weekly": {"enabled": False},
        "monthly": {"enabled": False},
    }
    path = tmp_path / "sites.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def worker_env(
    db_url: str, tmp_path: Path, worker_id: str, *, job_intervals: str = JOB_INTERVALS
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY",)}
    env.update(
        DATABASE_URL=db_url,
        COMMANDCENTER_DATA_DIR=str(tmp_path / worker_id),
        COMMANDCENTER_SITE_FILE=str(write_site_file(tmp_path)),
        COMMANDCENTER_SIM_SPEED=SIM_SPEED,
        COMMANDCENTER_JOB_INTERVALS=job_intervals,
        COMMANDCENTER_WORKER_ID=worker_id,
        LOG_LEVEL="INFO",
        LOG_FORMAT="text",
    )
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "DISCORD_BOT_TOKEN"):
        env.pop(name, None)
    return env


class Worker:
    """``python -m bot worker`` with its output in files (a full pipe never blocks it)."""

    def __init__(self, proc: asyncio.subprocess.Process, log: Path) -> None:
        self.proc = proc
        self.log = log

    @classmethod
    async def start(cls, env: dict[str, str], tmp_path: Path, name: str) -> Worker:
        log = tmp_path / f"{name}.log"
        with log.open("wb") as out:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "worker",
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
                env=env,
                cwd=tmp_path,
            )
        return cls(proc, log)

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    async def stop(self) -> int:
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
        async with asyncio.timeout(PROCESS_EXIT_S):
            return await self.proc.wait()


async def until(what: str, probe: Callable[[], Awaitable[T | None]], *, deadline: float) -> T:
    """Poll ``probe`` until it returns something, or fail naming ``what``."""
    while True:
        value = await probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.2)


def log_times(text: str, needle: str) -> list[datetime]:
    out = []
    for line in text.splitlines():
        if needle in line and (m := LOG_TIME.match(line)):
            out.append(datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S,%f"))
    return out


async def run_cli(env: dict[str, str], tmp_path: Path, *args: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=env,
        cwd=tmp_path,
    )
    async with asyncio.timeout(PROCESS_EXIT_S):
        out, _ = await proc.communicate()
    assert proc.returncode == 0, out.decode()
    return out.decode()


def workers_today(site: Site) -> date:
    """The local date the workers' simulated clock starts on (19:00 local, see
    ``bot.gateways._clock``); the sped-up clock stays on it for the whole test."""
    return evening_start(site, now=datetime.now(UTC), hour=19).astimezone(site.tz).date()


def local_midnight(day: date, site: Site) -> datetime:
    return datetime.combine(day, day_time(0), tzinfo=site.tz).astimezone(UTC)


async def seed_day(db_url: str, site: Site, day: date) -> None:
    """The simulated site's readings every 10 minutes through the local ``day``, stored
    with their hourly rollups (what a digest reads), in a freshly migrated database."""
    start, end = local_midnight(day, site), local_midnight(day + timedelta(days=1), site)
    sim = SimulatedSite(site, seed=5, start=start)
    records: list[repo.ReadingRecord] = []
    t = start
    while t < end:
        records.extend(
            repo.ReadingRecord(
                site=r.site, device=r.device, metric=r.metric, time=r.time, value=r.value
            )
            for r in await sim.poll(t)
        )
        t += timedelta(minutes=10)
    engine = create_engine(db_url)
    try:
        await upgrade_database(engine)
        async with create_sessionmaker(engine)() as session, session.begin():
            await repo.upsert_site(
                session, name=site.name, title=site.title, timezone=site.timezone, now=start
            )
            await repo.insert_readings(session, readings=records)
            await repo.rollup_hours(session, start=start, end=end + timedelta(hours=1))
    finally:
        await engine.dispose()


async def test_two_workers_share_one_postgres(postgres_url: str, tmp_path: Path) -> None:
    deadline = time.monotonic() + TEST_BUDGET_S
    # Yesterday, as the workers will see it, has readings: its daily digest is due at once.
    site = demo_site_file().sites[0]
    today = workers_today(site)
    yesterday = today - timedelta(days=1)
    await seed_day(postgres_url, site, yesterday)
    spawned = time.monotonic()
    workers = [
        await Worker.start(
            worker_env(postgres_url, tmp_path, name, job_intervals=DIGEST_JOB_INTERVALS),
            tmp_path,
            name,
        )
        for name in ("w1", "w2")
    ]
    engine = create_engine(postgres_url)
    sessionmaker = create_sessionmaker(engine)
    try:
        await until("w1 to start", lambda: _running(workers[0], "w1"), deadline=deadline)
        await until("w2 to start", lambda: _running(workers[1], "w2"), deadline=deadline)
        started = time.monotonic()
        if workers_today(site) != today:  # 19:00 local passed while the workers started
            pytest.skip("the workers' simulated day is ambiguous this second; run again")

        # The accelerated evening drains the battery: alerts with a proposed action.
        async def proposal() -> ActionRequestRow | None:
            async with sessionmaker() as session, session.begin():
                rows = await repo.list_action_requests(session, statuses=("pending",))
            return next((r for r in rows if r.alert_id is not None), None)

        request = await until("an alert's proposed action", proposal, deadline=deadline)

        # Approved in a third process that executes nothing (as the web face does).
        out = await run_cli(
            worker_env(postgres_url, tmp_path, "cli"),
            tmp_path,
            "actions",
            "approve",
            request.id,
            "--by-worker",
            "--user",
            "you",
        )
        assert "the worker that runs demo carries it out" in out

        async def finished() -> ActionRequestRow | None:
            async with sessionmaker() as session, session.begin():
                row = await repo.get_action_request(session, action_id=request.id)
            return row if row is not None and row.status in ("succeeded", "failed") else None

        done = await until("a worker to execute the approval", finished, deadline=deadline)
        assert done.status == "succeeded", done.outcome
        assert done.outcome is not None and "Done and verified" in done.outcome

        # Yesterday's daily digest, claimed and posted by one of the two workers.
        async def digest_sent() -> bool:
            async with sessionmaker() as session, session.begin():
                rows = await repo.list_digests(session, site=site.name)
            return any(r.status == "sent" for r in rows)

        await until("the daily digest to be posted", digest_sent, deadline=deadline)
        digest_seen = time.monotonic()

        # Let both workers keep running past a few more rollup periods (and digest checks).
        await until(
            "three rollup periods",
            lambda: _after(max(started + 3 * ROLLUP_S, digest_seen + 3 * DIGEST_S)),
            deadline=deadline,
        )
        codes = [await w.stop() for w in workers]
        # From the first spawn to both stopped: every rollup either worker logged is inside.
        elapsed_s = time.monotonic() - spawned
        assert codes == [0, 0], [w.text()[-2000:] for w in workers]
        logs = [w.text() for w in workers]

        async with sessionmaker() as session, session.begin():
            audit = (
                await session.scalars(
                    select(AuditRow).where(AuditRow.action_id == request.id).order_by(AuditRow.id)
                )
            ).all()
            alerts = (await session.scalars(select(AlertRow))).all()
            runs = {r.name: r for r in await repo.list_job_runs(session)}
            digests = (await session.scalars(select(ReportDigestRow))).all()
            stuck = await session.scalar(
                select(func.count())
                .select_from(ActionRequestRow)
                .where(ActionRequestRow.status == "executing")
            )

        # Exactly once: one execution in the status history, the audit log and the logs.
        assert [a.event for a in audit] == [
            "action_requested",
            "action_approved",
            "action_succeeded",
        ]
        executor = audit[-1].details["worker"]
        assert executor in ("w1", "w2")
        executed = [
            line for text in logs for line in text.splitlines() if f"action {request.id}" in line
        ]
        assert len(executed) == 1 and f"on worker {executor}" in executed[0]
        assert stuck == 0

        # No duplicate alerts: one open alert per fingerprint, one card per alert.
        open_by_fp = Counter(a.fingerprint for a in alerts if a.status != "resolved")
        assert open_by_fp and max(open_by_fp.values()) == 1
        posted = Counter(
            int(alert_id)
            for text in logs
            for ids in re.findall(r"card posted for alert\(s\) ([\d,]+)", text)
            for alert_id in ids.split(",")
        )
        assert posted, "no alert card was posted"
        assert max(posted.values()) == 1, posted
        assert set(posted) <= {a.id for a in alerts}

        # Scheduled jobs once per period across both workers.
        rollups = sorted(t for text in logs for t in log_times(text, "job rollup runs on"))
        assert len(rollups) == runs["rollup"].runs >= 2
        gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(rollups)]
        assert min(gaps) >= 0.9 * ROLLUP_S - 0.1, gaps
        assert len(rollups) <= elapsed_s / (0.9 * ROLLUP_S) + 2

        # One daily digest for yesterday: one row, sent, one card on one chat channel,
        # one "posted" line and one card in the two workers' output together. (On a slow
        # machine the sped-up clock can pass midnight, making the day the workers started
        # on due too; it gets its own row, so only yesterday's are counted.)
        yesterdays = [d for d in digests if d.period_start == local_midnight(yesterday, site)]
        assert [(d.site, d.kind, d.status) for d in yesterdays] == [(site.name, "daily", "sent")]
        assert len({(d.site, d.kind, d.period_start) for d in digests}) == len(digests)
        [digest] = yesterdays
        assert digest.message is not None
        assert [p["channel"] for p in digest.message["posts"]] == ["#demo"]
        label = f"{yesterday:%a %d %b %Y}"
        posted_digests = [
            line
            for text in logs
            for line in text.splitlines()
            if f"posted the daily digest of {site.name}" in line and label in line
        ]
        assert len(posted_digests) == 1, posted_digests
        digest_cards = [
            (name, line)
            for name, text in zip(("w1", "w2"), logs, strict=True)
            for line in text.splitlines()
            if f"Daily digest: {site.title}" in line and label in line
        ]
        assert len(digest_cards) == 1, digest_cards
        poster = next(n for n, t in zip(("w1", "w2"), logs, strict=True) if posted_digests[0] in t)
        assert digest_cards[0][0] == poster
        assert not any(f"digest for {site.name} failed" in text for text in logs)
    finally:
        for w in workers:
            if w.proc.returncode is None:
                w.proc.kill()
                await w.proc.wait()
        await engine.dispose()


async def _running(worker: Worker, name: str) -> bool:
    if worker.proc.returncode is not None:
        raise AssertionError(f"{name} exited:\n{worker.text()[-3000:]}")
    return f"worker {name} running" in worker.text()


async def _after(moment: float) -> bool:
    return time.monotonic() >= moment


async def _batch_sizes(sessionmaker: Any) -> Counter[int]:
    """How many readings each poll wrote (a simulator poll is one timestamp)."""
    async with sessionmaker() as session, session.begin():
        rows = (
            await session.execute(select(ReadingRow.time, func.count()).group_by(ReadingRow.time))
        ).all()
    return Counter(int(n) for _t, n in rows)


async def test_sigterm_finishes_work_in_flight(db_url: str, tmp_path: Path) -> None:
    """SIGTERM during work: no half-written telemetry batch, no request left executing."""
    deadline = time.monotonic() + TEST_BUDGET_S
    worker = await Worker.start(worker_env(db_url, tmp_path, "w1"), tmp_path, "w1")
    engine = create_engine(db_url)
    sessionmaker = create_sessionmaker(engine)
    try:
        await until("the worker to start", lambda: _running(worker, "w1"), deadline=deadline)

        async def proposal() -> ActionRequestRow | None:
            async with sessionmaker() as session, session.begin():
                rows = await repo.list_action_requests(session, statuses=("pending",))
            return next(iter(rows), None)

        request = await until("an alert's proposed action", proposal, deadline=deadline)
        async with sessionmaker() as session, session.begin():  # approved elsewhere
            assert await repo.transition_action(
                session,
                action_id=request.id,
                from_statuses=("pending",),
                to_status="approved",
                decided_by="You",
                decided_at=request.created_at,
                approvals={"by": [{"actor": "console:you", "name": "You", "role": "admin"}]},
            )

        async def picked_up() -> str | None:
            async with sessionmaker() as session, session.begin():
                row = await repo.get_action_request(session, action_id=request.id)
            return row.status if row is not None and row.status != "approved" else None

        await until("the worker to pick the approval up", picked_up, deadline=deadline)
        assert await worker.stop() == 0, worker.text()[-3000:]
        assert "Traceback" not in worker.text()
        # Once started, the worker froze its start-up objects out of the collector's scans.
        assert re.search(r"garbage collector: [1-9]\d* start-up objects frozen", worker.text())

        async with sessionmaker() as session, session.begin():
            row = await repo.get_action_request(session, action_id=request.id)
            outcomes = (
                await session.scalars(
                    select(AuditRow.event).where(
                        AuditRow.action_id == request.id,
                        AuditRow.event.in_(("action_succeeded", "action_failed")),
                    )
                )
            ).all()
        assert row is not None and row.status in ("succeeded", "failed")
        assert len(outcomes) == 1
        sizes = await _batch_sizes(sessionmaker)
        assert len(sizes) == 1, f"polls wrote batches of different sizes: {sizes}"
    finally:
        if worker.proc.returncode is None:
            worker.proc.kill()
            await worker.proc.wait()
        await engine.dispose()
