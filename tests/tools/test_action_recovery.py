"""Requests a dead worker left ``executing`` are settled from the device's read-back, and
approvals that outlived their request's expiry are never carried out (both backends).

The state a ``kill -9`` leaves (a row ``executing``, claimed by a worker that is gone) is
made here by an execution that never returns; ``tests/bot/test_action_crash.py`` kills a
real worker process.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import repositories as repo
from tests.bot import helpers
from tests.bot.helpers import EVENING
from tools.actions.catalogue import Expectation
from tools.actions.recovery import judge
from tools.actions.service import ActionService, Actor
from tools.cards import action_card
from tools.clock import ManualClock
from tools.devices.base import DeviceCommand
from tools.devices.simulator import SimulatedSite
from tools.domain import Reading
from tools.errors import DeviceError
from tools.site import Site
from tools.telemetry import TelemetryPipeline

OLGA = Actor(platform="console", user_id="olga", role="operator", name="Olga")
ADA = Actor(platform="console", user_id="ada", role="admin", name="Ada")


class Device:
    """The simulated site behind a switchboard: ``hang`` makes commands apply and then
    never answer (the worker dies waiting); ``broken`` makes every call fail; ``drop``
    makes commands vanish (the wire lost them)."""

    def __init__(self, inner: SimulatedSite) -> None:
        self.inner = inner
        self.hang = False
        self.broken = False
        self.drop = False
        self.commands: list[DeviceCommand] = []
        self.sent = asyncio.Event()
        self.release = asyncio.Event()

    async def poll(self, now: datetime) -> list[Reading]:
        if self.broken:
            raise DeviceError("shelly-1 did not answer within 2 s")
        return await self.inner.poll(now)

    async def execute(self, command: DeviceCommand) -> None:
        self.commands.append(command)
        if self.broken:
            raise DeviceError("shelly-1 did not answer within 2 s")
        if not self.drop:
            await self.inner.execute(command)
        self.sent.set()
        if self.hang:
            await self.release.wait()

    async def close(self) -> None:
        await self.inner.close()


@dataclass
class World:
    sessionmaker: async_sessionmaker[AsyncSession]
    site: Site
    clock: ManualClock
    wall: list[datetime]
    device: Device
    pipeline: TelemetryPipeline

    def worker(self, name: str, *, lease_s: float = 60.0) -> ActionService:
        return ActionService(
            sessionmaker=self.sessionmaker,
            sites={self.site.name: self.site},
            drivers={self.site.name: self.device},  # type: ignore[dict-item]
            clock=self.clock,
            state=self.pipeline.latest,
            worker=name,
            lease_s=lease_s,
            wall_clock=lambda: self.wall[0],
        )


@pytest.fixture
async def world(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[World]:
    clock = ManualClock(EVENING)
    site = helpers.test_site_file(expiry_minutes=30).sites[0]
    async with sessionmaker() as session, session.begin():
        await repo.upsert_site(
            session, name=site.name, title=site.title, timezone=site.timezone, now=clock.now()
        )
    device = Device(SimulatedSite(site, seed=3, start=clock.now()))
    pipeline = TelemetryPipeline(sessionmaker=sessionmaker)
    await pipeline.ingest(await device.poll(clock.now()))
    yield World(
        sessionmaker, site, clock, [datetime(2026, 12, 2, 8, 0, tzinfo=UTC)], device, pipeline
    )
    await device.close()
    await pipeline.close()


async def crash_mid_action(
    world: World, *, worker: str = "w1", loads: tuple[str, ...] = ("miner-1",)
) -> str:
    """Approve a stop-the-miners request on ``worker`` whose first command never returns,
    and abandon that worker (what ``kill -9`` leaves: the row stays ``executing``)."""
    dead = world.worker(worker)
    view = await dead.request(
        site="demo",
        kind="stop_miners",
        params={"loads": list(loads)},
        requested_by="console:olga",
    )
    world.device.hang = True
    world.device.sent.clear()
    task = asyncio.create_task(dead.decide(action_id=view.id, actor=ADA, approve=True))
    async with asyncio.timeout(10):
        await world.device.sent.wait()
    assert (await dead.get(view.id)).status == "executing"
    world.device.hang = False
    task.cancel()  # the caller gives up; the shielded execution is abandoned, as in a crash
    return view.id


async def events(world: World, action_id: str) -> list[tuple[str, dict[str, object]]]:
    async with world.sessionmaker() as session, session.begin():
        return [(a.event, a.details) for a in await repo.list_audit(session, action_id=action_id)]


async def test_a_restarted_worker_settles_its_request_from_the_read_back(world: World) -> None:
    action_id = await crash_mid_action(world)
    # The same worker comes back: its own request cannot still be in flight.
    settled = await world.worker("w1").recover_interrupted(at_start=True)
    assert [a.id for a in settled] == [action_id]
    [view] = settled
    assert view.status == "succeeded"
    assert view.outcome is not None
    assert "Interrupted: worker w1 stopped" in view.outcome
    assert "miner-1.load_on = 0" in view.outcome and "Nothing" not in view.outcome
    assert view.finished_at == world.clock.now()
    assert len(world.device.commands) == 1  # nothing re-sent
    audit = await events(world, action_id)
    assert [e for e, _ in audit] == ["action_requested", "action_approved", "action_succeeded"]
    details = audit[-1][1]
    assert details["recovered_from"] == "w1" and details["worker"] == "w1"
    assert details["read_back"] == {"miner-1.load_on": 0.0}
    card = action_card(view, world.site.tz)
    assert card.title.startswith("Done: ") and ("Outcome", view.outcome) in card.fields
    # Settled once: a second start finds nothing.
    assert await world.worker("w1").recover_interrupted(at_start=True) == []


async def test_a_command_that_never_arrived_is_settled_failed(world: World) -> None:
    world.device.drop = True
    action_id = await crash_mid_action(world)
    [view] = await world.worker("w1").recover_interrupted(at_start=True)
    assert view.id == action_id and view.status == "failed"
    assert view.outcome is not None and "did not take effect" in view.outcome
    assert "miner-1.load_on = 1" in view.outcome and "Nothing was re-sent" in view.outcome
    assert [e for e, _ in await events(world, action_id)][-1] == "action_failed"


async def test_a_crash_between_commands_is_settled_as_partly_done(world: World) -> None:
    action_id = await crash_mid_action(world, loads=("miner-1", "miner-2"))
    [view] = await world.worker("w1").recover_interrupted(at_start=True)
    assert view.id == action_id and view.status == "failed"
    assert view.outcome is not None and "took effect only in part" in view.outcome
    assert "miner-1.load_on = 0, miner-2.load_on = 1" in view.outcome


async def test_an_unreadable_device_leaves_the_outcome_unknown(world: World) -> None:
    action_id = await crash_mid_action(world)
    world.device.broken = True
    [view] = await world.worker("w1").recover_interrupted(at_start=True)
    assert view.id == action_id and view.status == "unknown" and view.is_final
    assert view.outcome is not None and "could not be read back" in view.outcome
    assert "did not answer within 2 s" in view.outcome
    card = action_card(view, world.site.tz)
    assert card.title.startswith("Outcome unknown: ") and card.tone == "warning"
    audit = await events(world, action_id)
    assert audit[-1][0] == "action_outcome_unknown" and audit[-1][1]["read_back"] == {}


async def test_another_worker_waits_for_the_lease_then_settles(world: World) -> None:
    action_id = await crash_mid_action(world, worker="w1")
    other = world.worker("w2")
    # w1's claim still holds: w2 (periodic recovery, or at its own start) leaves it alone.
    assert await other.recover_interrupted(at_start=False) == []
    assert await other.recover_interrupted(at_start=True) == []
    assert (await other.get(action_id)).status == "executing"
    world.wall[0] += timedelta(seconds=61)  # w1 never came back
    [view] = await other.recover_interrupted(at_start=False)
    assert view.status == "succeeded"
    assert view.outcome is not None and "worker w1 stopped" in view.outcome
    audit = await events(world, action_id)
    assert audit[-1][1]["worker"] == "w2" and audit[-1][1]["recovered_from"] == "w1"


async def test_a_late_finish_after_a_takeover_is_not_recorded_twice(world: World) -> None:
    slow = world.worker("w1")
    view = await slow.request(
        site="demo", kind="stop_miners", params={"loads": ["miner-1"]}, requested_by="console:olga"
    )
    world.device.hang = True
    task = asyncio.create_task(slow.decide(action_id=view.id, actor=ADA, approve=True))
    async with asyncio.timeout(10):
        await world.device.sent.wait()
    world.wall[0] += timedelta(seconds=61)  # w1's claim ran out while it was stuck
    [settled] = await world.worker("w2").recover_interrupted(at_start=False)
    assert settled.status == "succeeded"
    world.device.release.set()  # w1's command finally returns
    async with asyncio.timeout(10):
        await task
    outcomes = [e for e, _ in await events(world, view.id) if e.startswith("action_")]
    assert outcomes == ["action_requested", "action_approved", "action_succeeded"]
    assert (await slow.get(view.id)).outcome == settled.outcome


async def test_an_approval_that_outlived_its_request_is_never_executed(world: World) -> None:
    """Approved where nothing executes (the web face), while the site's worker is down;
    the worker returns after the request expired: it expires, nothing is sent."""
    web = ActionService(
        sessionmaker=world.sessionmaker,
        sites={world.site.name: world.site},
        drivers={},
        clock=world.clock,
        state=world.pipeline.latest,
        executes=(),
    )
    view = await web.request(site="demo", kind="stop_miners", requested_by="console:olga")
    decision = await web.decide(action_id=view.id, actor=ADA, approve=True)
    assert decision.verdict == "approved"
    world.clock.advance(timedelta(minutes=31))
    worker = world.worker("w1")
    [expired] = await worker.run_approved()
    assert expired.id == view.id and expired.status == "expired"
    assert expired.outcome is not None and "nothing was sent" in expired.outcome
    assert world.device.commands == []
    assert action_card(expired, world.site.tz).title.startswith("Expired: ")
    assert await worker.run_approved() == []
    assert [e for e, _ in await events(world, view.id)][-1] == "action_expired"
    # A click that arrives after expiry is refused too (and executes nothing).
    late = await web.request(site="demo", kind="stop_miners", requested_by="console:olga")
    world.clock.advance(timedelta(minutes=31))
    too_late = await worker.decide(action_id=late.id, actor=ADA, approve=True)
    assert too_late.verdict == "expired" and world.device.commands == []


def test_judge_read_backs() -> None:
    t = EVENING
    want = [Expectation(metric="load_on", device="m1", value=0.0)]
    off = [Reading(site="s", device="m1", metric="load_on", time=t, value=0.0)]
    on = [Reading(site="s", device="m1", metric="load_on", time=t, value=1.0)]
    assert judge(want, off) == ("succeeded", {"m1.load_on": 0.0})
    assert judge(want, on) == ("failed", {"m1.load_on": 1.0})
    assert judge(want, []) == ("unknown", {})
    assert judge([], off) == ("unknown", {})
    two = [*want, Expectation(metric="grid_charge_on", value=1.0)]
    assert judge(two, off) == ("unknown", {"m1.load_on": 0.0})
    assert judge(two, on)[0] == "failed"
