"""A worker killed with SIGKILL in the middle of an action: the next start of that worker
settles the request from the device's read-back, audits it and edits its card.

The worker is a real ``python -m bot worker`` process on PostgreSQL; the device is the
protocol-true Shelly simulator on loopback, made to switch the relay and then hold its
answer, so the worker is provably mid-action when it is killed.
"""

from __future__ import annotations

import asyncio
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml
from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import repositories as repo
from storage.engine import create_engine, create_sessionmaker
from storage.models import ActionRequestRow, AuditRow
from tests.bot.test_workers import Worker, until, worker_env
from tools.devices.simulators.shelly_http import ShellySimulator

CARD_REF = {"platform": "console", "channel": "#barn", "ref": "card-1"}


class StallingShelly(ShellySimulator):
    """Switches the relay on ``Switch.Set``, then holds the answer until released."""

    def __init__(self) -> None:
        super().__init__(on=True, watts=1450)
        self.switched = asyncio.Event()
        self.release = asyncio.Event()

    async def _stall(self, request: web.Request, answer: web.Response) -> web.Response:
        if "Switch.Set" in request.raw_path or "Switch.Set" in (await request.text()):
            self.switched.set()
            await self.release.wait()
        return answer

    async def _rpc_method(self, request: web.Request) -> web.Response:
        return await self._stall(request, await super()._rpc_method(request))

    async def _rpc_frame(self, request: web.Request) -> web.Response:
        return await self._stall(request, await super()._rpc_frame(request))


def write_site_file(tmp_path: Path, port: int) -> Path:
    site = {
        "name": "barn",
        "timezone": "UTC",
        "location": {"latitude": 39.74, "longitude": -105.18},
        "loads": [{"name": "miner-1", "power_kw": 1.45, "relay": "shelly-1"}],
        "devices": [
            {
                "name": "shelly-1",
                "driver": "shelly",
                "connection": {
                    "host": "127.0.0.1",
                    "port": port,
                    "load": "miner-1",
                    "timeout_s": 30,
                },
            }
        ],
    }
    people = [{"platform": "console", "user_id": "ada", "name": "Ada", "role": "admin"}]
    path = tmp_path / "barn.yaml"
    path.write_text(yaml.safe_dump({"sites": [site], "people": people}))
    return path


async def test_a_request_interrupted_by_sigkill_is_settled_at_the_next_start(
    postgres_url: str, tmp_path: Path
) -> None:
    deadline = time.monotonic() + 90
    shelly = StallingShelly()
    await shelly.start()
    env = worker_env(postgres_url, tmp_path, "w1")
    env.pop("COMMANDCENTER_SIM_SPEED")
    env["COMMANDCENTER_SITE_FILE"] = str(write_site_file(tmp_path, shelly.port))
    engine = create_engine(postgres_url)
    sessionmaker = create_sessionmaker(engine)
    first = await Worker.start(env, tmp_path, "w1-first")
    second: Worker | None = None
    try:
        await until("w1 to start", lambda: running(first, "w1"), deadline=deadline)
        async with sessionmaker() as session, session.begin():
            row = await repo.insert_action_request(
                session,
                site="barn",
                kind="stop_miners",
                params={"loads": ["miner-1"]},
                reason="test",
                requested_by="console:ada",
                now=(now := datetime.now(UTC)),
                expires_at=now + timedelta(days=1),
            )
            await repo.update_action_message(session, action_id=row.id, message=CARD_REF)
            assert await repo.transition_action(  # approved elsewhere (the web face)
                session,
                action_id=row.id,
                from_statuses=("pending",),
                to_status="approved",
                decided_by="Ada",
                decided_at=now,
                approvals={"by": [{"actor": "console:ada", "name": "Ada", "role": "admin"}]},
            )
        action_id = row.id

        # The worker picks the approval up and switches the relay; the answer never comes.
        async with asyncio.timeout(max(1.0, deadline - time.monotonic())):
            await shelly.switched.wait()
        first.proc.send_signal(signal.SIGKILL)
        assert await first.proc.wait() == -signal.SIGKILL
        stuck = await load(sessionmaker, action_id)
        assert (stuck.status, stuck.executor, stuck.outcome) == ("executing", "w1", None)
        assert shelly.is_on() is False  # the command did reach the device

        # The same worker starts again: it reads the relay back and settles the request.
        second = await Worker.start(env, tmp_path, "w1-second")

        async def settled() -> ActionRequestRow | None:
            found = await load(sessionmaker, action_id)
            return found if found.status != "executing" else None

        done = await until("the request to be settled", settled, deadline=deadline)
        assert done.status == "succeeded", done.outcome
        assert done.outcome is not None
        assert "Interrupted: worker w1 stopped" in done.outcome
        assert "miner-1.load_on = 0" in done.outcome
        await until("w1 to run again", lambda: running(second, "w1"), deadline=deadline)
        assert await second.stop() == 0, second.text()[-3000:]
        log = second.text()
        assert "Traceback" not in log
        # The card of the request was edited in place with the outcome.
        edited = log[log.index("#barn (card updated)") :]
        assert "Done: Stop miner-1" in edited and "Interrupted: worker w1" in edited

        async with sessionmaker() as session, session.begin():
            audit = (
                await session.scalars(
                    select(AuditRow).where(AuditRow.action_id == action_id).order_by(AuditRow.id)
                )
            ).all()
        assert [a.event for a in audit] == ["action_succeeded"]
        assert audit[0].details["recovered_from"] == "w1"
        assert audit[0].details["read_back"] == {"miner-1.load_on": 0.0}
        switch_sets = [r for r in shelly.requests if "Switch.Set" in r]
        assert len(switch_sets) <= 1  # nothing was sent again (a POST frame logs no method)
    finally:
        shelly.release.set()
        for w in (first, second):
            if w is not None and w.proc.returncode is None:
                w.proc.kill()
                await w.proc.wait()
        await shelly.close()
        await engine.dispose()


async def load(sessionmaker: async_sessionmaker[AsyncSession], action_id: str) -> ActionRequestRow:
    async with sessionmaker() as session, session.begin():
        row = await repo.get_action_request(session, action_id=action_id)
    assert row is not None
    return row


async def running(worker: Worker, name: str) -> bool:
    if worker.proc.returncode is not None:
        raise AssertionError(f"{name} exited:\n{worker.text()[-3000:]}")
    return f"worker {name} running" in worker.text()
