"""Several workers on one database, in-process: shards, job claims, the executor."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.cluster import served_sites, shard_of
from bot.runtime import Jobs, JobSpec
from storage import repositories as repo
from storage.engine import create_engine, create_sessionmaker, upgrade_database
from storage.models import AuditRow
from tests.bot import helpers
from tests.bot.helpers import EVENING, CountingDriver
from tools.actions.service import ActionService, Actor
from tools.clock import ManualClock
from tools.devices.base import DeviceCommand
from tools.devices.simulator import SimulatedSite
from tools.errors import SiteConfigError
from tools.site import Site
from tools.telemetry import TelemetryPipeline

ADA = Actor(platform="console", user_id="ada", role="admin", name="Ada")
NAMES = [f"site-{i}" for i in range(12)]


def test_shards_split_the_sites_without_overlap() -> None:
    shards = [served_sites(NAMES, shard=f"{i}/3") for i in (1, 2, 3)]
    assert sorted(n for s in shards for n in s) == sorted(NAMES)
    assert all(shards), shards  # twelve sites spread over three shards
    assert shards[0] == [n for n in NAMES if shard_of(n, 3) == 1]
    assert served_sites(NAMES, worker_sites="site-3, site-1") == ["site-1", "site-3"]
    assert served_sites(NAMES, worker_sites="site-1,site-2", shard="1/1") == ["site-1", "site-2"]
    assert served_sites(NAMES) == NAMES


@pytest.mark.parametrize(
    ("worker_sites", "shard", "message"),
    [
        ("barn", None, "WORKER_SITES names unknown site(s) barn"),
        (None, "3/2", "SHARD '3/2': the shard must be between 1 and 2"),
        (None, "half", "SHARD must look like 1/2"),
    ],
)
def test_bad_shard_settings_are_explained(
    worker_sites: str | None, shard: str | None, message: str
) -> None:
    with pytest.raises(SiteConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        served_sites(NAMES, worker_sites=worker_sites, shard=shard)


def test_unknown_job_interval_is_explained() -> None:
    async def nothing() -> None:
        return None

    with pytest.raises(SiteConfigError, match="unknown job\\(s\\) rolup"):
        Jobs([JobSpec("rollup", nothing, 300.0)], intervals={"rolup": 10})


async def test_a_job_is_claimed_once_per_interval(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    gap = timedelta(seconds=54)

    async def claim(worker: str, at: timedelta) -> bool:
        async with sessionmaker() as session, session.begin():
            return await repo.claim_job_run(
                session, name="rollup", now=EVENING + at, min_gap=gap, worker=worker
            )

    assert await claim("w1", timedelta(0))
    assert not await claim("w2", timedelta(seconds=1))
    assert not await claim("w1", timedelta(seconds=53))
    assert await claim("w2", timedelta(seconds=61))
    async with sessionmaker() as session, session.begin():
        (row,) = await repo.list_job_runs(session)
    assert (row.runs, row.worker, row.started_at) == (2, "w2", EVENING + timedelta(seconds=61))


class Rig:
    def __init__(self, service: ActionService, driver: CountingDriver) -> None:
        self.service = service
        self.driver = driver


@asynccontextmanager
async def worker_rig(
    db_url: str, site: Site, *, executes: bool = True, driver: CountingDriver | None = None
) -> AsyncIterator[Rig]:
    """One process's action service: its own engine, simulator and state."""
    engine = create_engine(db_url)
    sm = create_sessionmaker(engine)
    clock = ManualClock(EVENING)
    counting = driver or CountingDriver(SimulatedSite(site, seed=3, start=clock.now()))
    pipeline = TelemetryPipeline(sessionmaker=sm)
    await pipeline.ingest(await counting.poll(clock.now()))
    service = ActionService(
        sessionmaker=sm,
        sites={site.name: site},
        drivers={site.name: counting},
        clock=clock,
        state=pipeline.latest,
        executes=None if executes else (),
        worker="w",
    )
    try:
        yield Rig(service, counting)
    finally:
        await service.drain()
        await pipeline.close()
        await engine.dispose()


async def _prepared(db_url: str) -> Site:
    site = helpers.test_site_file().sites[0]
    engine = create_engine(db_url)
    await upgrade_database(engine)
    async with create_sessionmaker(engine)() as session, session.begin():
        await repo.upsert_site(
            session, name=site.name, title=site.title, timezone=site.timezone, now=EVENING
        )
    await engine.dispose()
    return site


async def _outcomes(db_url: str, action_id: str) -> list[str]:
    engine = create_engine(db_url)
    async with create_sessionmaker(engine)() as session, session.begin():
        events = (
            await session.scalars(
                select(AuditRow.event).where(AuditRow.action_id == action_id).order_by(AuditRow.id)
            )
        ).all()
    await engine.dispose()
    return list(events)


async def test_an_approval_from_elsewhere_is_executed_exactly_once(db_url: str) -> None:
    site = await _prepared(db_url)
    async with (
        worker_rig(db_url, site, executes=False) as web,
        worker_rig(db_url, site) as one,
        worker_rig(db_url, site) as two,
    ):
        asked = await web.service.request(site=site.name, kind="stop_miners", requested_by="x")
        decided = await web.service.decide(action_id=asked.id, actor=ADA, approve=True)
        assert decided.verdict == "approved" and decided.action.status == "approved"
        assert web.driver.commands == []

        # Two executors and a late click's own path race for the same row.
        results = await asyncio.gather(
            one.service.run_approved(),
            two.service.run_approved(),
            two.service.execute(asked.id, actor=ADA),
            one.service.run_approved(),
        )
        ran = [r for r in results[:2] + results[3:] if r]
        commands = len(one.driver.commands) + len(two.driver.commands)
        assert commands == 3  # three miners, switched by exactly one process
        assert len(ran) + int(results[2].changed) == 1
        assert (await one.service.get(asked.id)).status == "succeeded"
        assert await _outcomes(db_url, asked.id) == [
            "action_requested",
            "action_approved",
            "action_succeeded",
        ]
        assert await one.service.run_approved() == []


class BlockingDriver(CountingDriver):
    """Holds its first command until released (a slow relay during shutdown)."""

    def __init__(self, inner: SimulatedSite) -> None:
        super().__init__(inner)
        self.started = asyncio.Event()
        self.release = asyncio.Event()

    async def execute(self, command: DeviceCommand) -> None:
        self.started.set()
        await self.release.wait()
        await super().execute(command)


async def test_shutdown_waits_for_an_execution_in_flight(db_url: str) -> None:
    site = await _prepared(db_url)
    driver = BlockingDriver(SimulatedSite(site, seed=3, start=EVENING))
    async with worker_rig(db_url, site, executes=False) as web:
        asked = await web.service.request(site=site.name, kind="stop_miners", requested_by="x")
        await web.service.decide(action_id=asked.id, actor=ADA, approve=True)
    async with worker_rig(db_url, site, driver=driver) as worker:
        job = asyncio.create_task(worker.service.run_approved())
        await asyncio.wait_for(driver.started.wait(), 60)
        job.cancel()  # what a stopping process does to its tasks
        with pytest.raises(asyncio.CancelledError):
            await job
        assert (await worker.service.get(asked.id)).status == "executing"
        driver.release.set()
        assert await worker.service.drain() == 1
        assert (await worker.service.get(asked.id)).status == "succeeded"
        assert len(driver.commands) == 3
