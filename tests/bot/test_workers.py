"""Two real worker processes on one PostgreSQL, and a worker stopped with SIGTERM."""

from __future__ import annotations

import asyncio
import itertools
import os
import re
import signal
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import yaml
from sqlalchemy import func, select

from storage import repositories as repo
from storage.engine import create_engine, create_sessionmaker
from storage.models import ActionRequestRow, AlertRow, AuditRow, ReadingRow
from tools.site import demo_site_file

T = TypeVar("T")

ROLLUP_S = 2.0
JOB_INTERVALS = (
    '{"rollup": 2, "expire_actions": 1, "alerts_periodic": 2, "alerts_lifecycle": 1, '
    '"execute_actions": 0.5}'
)
LOG_TIME = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) ")


def write_site_file(tmp_path: Path) -> Path:
    """The demo site, with a week to decide (the clock runs 300 times faster)."""
    data = demo_site_file().model_dump(mode="json", exclude_defaults=True)
    data["sites"][0]["actions"] = {"expiry_minutes": 7 * 24 * 60}
    path = tmp_path / "sites.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def worker_env(db_url: str, tmp_path: Path, worker_id: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY",)}
    env.update(
        DATABASE_URL=db_url,
        COMMANDCENTER_DATA_DIR=str(tmp_path / worker_id),
        COMMANDCENTER_SITE_FILE=str(write_site_file(tmp_path)),
        COMMANDCENTER_SIM_SPEED="300",
        COMMANDCENTER_JOB_INTERVALS=JOB_INTERVALS,
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
        async with asyncio.timeout(40):
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
    async with asyncio.timeout(40):
        out, _ = await proc.communicate()
    assert proc.returncode == 0, out.decode()
    return out.decode()


async def test_two_workers_share_one_postgres(postgres_url: str, tmp_path: Path) -> None:
    deadline = time.monotonic() + 55
    workers = [
        await Worker.start(worker_env(postgres_url, tmp_path, name), tmp_path, name)
        for name in ("w1", "w2")
    ]
    engine = create_engine(postgres_url)
    sessionmaker = create_sessionmaker(engine)
    try:
        await until("w1 to start", lambda: _running(workers[0], "w1"), deadline=deadline)
        await until("w2 to start", lambda: _running(workers[1], "w2"), deadline=deadline)
        started = time.monotonic()

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

        # Let both workers keep running past a few more rollup periods.
        await until(
            "three rollup periods",
            lambda: _after(started + 3 * ROLLUP_S),
            deadline=deadline,
        )
        elapsed_s = time.monotonic() - started
        codes = [await w.stop() for w in workers]
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
    deadline = time.monotonic() + 50
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
                approvals={"by": [{"actor": "console:you", "name": "You"}]},
            )

        async def picked_up() -> str | None:
            async with sessionmaker() as session, session.begin():
                row = await repo.get_action_request(session, action_id=request.id)
            return row.status if row is not None and row.status != "approved" else None

        await until("the worker to pick the approval up", picked_up, deadline=deadline)
        assert await worker.stop() == 0, worker.text()[-3000:]
        assert "Traceback" not in worker.text()

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
