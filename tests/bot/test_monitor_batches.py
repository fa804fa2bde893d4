"""The monitor at fleet scale: many push sites start together, a poll writes all the
sites' readings in one write (not one per site), a poll does not wait for the previous
poll's commit (two writes in flight, a third poll waits), sites with nothing new are not
polled, and the time-based tick reaches every site once per tick interval however
often the poll runs, and a batch written after the clock moved on is judged as of its
poll. On a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import App
from bot.runtime import DEFAULT_POLL_CONCURRENCY, Monitor
from storage import repositories as repo
from tests.bot.helpers import running_bot
from tools.clock import ManualClock
from tools.devices.base import Driver, SiteDriver
from tools.domain import Reading
from tools.errors import DeviceError
from tools.site import Device, Location, Site
from tools.telemetry import SiteState, TelemetryPipeline

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
SITES = 40  # well above the poll concurrency
Sessions = async_sessionmaker[AsyncSession]


class PushDevice:
    """A push device (like a Victron GX on MQTT): readings arrive on their own."""

    push = True

    def __init__(self, site: str, starting: list[str], all_starting: asyncio.Event) -> None:
        self.name = "gx"
        self.site = site
        self.queue: list[Reading] = []
        self.reads = 0
        self._starting = starting
        self._all_starting = all_starting

    async def start(self) -> None:
        # Like a GX: the start waits for the device's first answer. Here that answer comes
        # only once every site is starting, so starts a few at a time would never end.
        self._starting.append(self.site)
        if len(self._starting) == SITES:
            self._all_starting.set()
        await self._all_starting.wait()

    def arrive(self, at: datetime, count: int = 20) -> None:
        self.queue.extend(
            Reading(
                site=self.site, metric="battery_power_w", time=at, value=float(i), device=f"d{i}"
            )
            for i in range(count)
        )

    def waiting(self) -> bool:
        return bool(self.queue)

    async def read(self, now: datetime) -> list[Reading]:
        self.reads += 1
        batch, self.queue = self.queue, []
        return batch

    def handles(self, command: Any) -> bool:
        return False

    async def execute(self, command: Any) -> None:
        raise AssertionError("no commands here")

    async def close(self) -> None:
        return None


def _site(name: str) -> Site:
    return Site(
        name=name,
        location=Location(latitude=0, longitude=0),
        devices=[Device(name="gx", driver="simulator")],
    )


async def test_a_fleet_of_push_sites_starts_together_and_is_written_in_batches(
    sessionmaker: Sessions,
    pipelines: Callable[..., TelemetryPipeline],
) -> None:
    assert SITES > DEFAULT_POLL_CONCURRENCY
    clock = ManualClock(NOW)
    sites = {f"site-{i:02d}": _site(f"site-{i:02d}") for i in range(SITES)}
    async with sessionmaker() as session, session.begin():
        for name in sites:
            await repo.upsert_site(session, name=name, title="", timezone="UTC", now=NOW)
    starting: list[str] = []
    all_starting = asyncio.Event()
    devices = {name: PushDevice(name, starting, all_starting) for name in sites}
    drivers: dict[str, Driver] = {
        name: SiteDriver(site, [devices[name]], intervals_s={}) for name, site in sites.items()
    }
    pipeline = pipelines(sessionmaker=sessionmaker)
    batches: list[str] = []
    ticks: list[tuple[datetime, str]] = []

    async def on_batch(
        site: str, _state: SiteState, _batch: list[Reading], _read_at: datetime | None
    ) -> None:
        batches.append(site)

    async def on_tick(site: str, _state: SiteState) -> None:
        ticks.append((clock.now(), site))

    pipeline.set_batch_handler(on_batch)
    monitor = Monitor(drivers=drivers, pipeline=pipeline, clock=clock, sites=sites, on_tick=on_tick)
    # The first poll starts every site at once (each start waits for all the others).
    async with asyncio.timeout(30):
        assert await monitor.poll_once() == 0
    assert sorted(starting) == sorted(sites)
    assert len(ticks) == SITES  # the first poll is a tick

    for device in devices.values():
        device.arrive(clock.now())
    writes = pipeline.writer.writes
    async with asyncio.timeout(30):
        assert await monitor.poll_once() == SITES * 20
        await monitor.settle()
    assert pipeline.stats.written == SITES * 20
    assert pipeline.writer.writes - writes == 1, "one write for one poll of every site"
    assert sorted(batches) == sorted(sites)  # every site's batch handed on, once
    async with sessionmaker() as session:
        assert await repo.count_readings(session) == SITES * 20
    assert len(ticks) == SITES  # same time: within the tick interval, no tick

    # Nothing new: no site is read, nothing written.
    reads = {name: d.reads for name, d in devices.items()}
    writes = pipeline.writer.writes
    clock.advance(timedelta(seconds=0.5))
    assert await monitor.poll_once() == 0
    assert {name: d.reads for name, d in devices.items()} == reads
    assert pipeline.writer.writes == writes
    # One site has news: only that one is read.
    devices["site-07"].arrive(clock.now(), count=3)
    assert await monitor.poll_once() == 3
    await monitor.settle()
    assert devices["site-07"].reads == reads["site-07"] + 1
    assert sum(d.reads for d in devices.values()) == sum(reads.values()) + 1
    # A tick interval later every site gets its tick, the idle ones too.
    clock.advance(timedelta(seconds=0.6))
    await monitor.poll_once()
    assert len(ticks) == 2 * SITES
    assert {site for at, site in ticks if at == clock.now()} == set(sites)


async def test_a_failing_hand_off_of_one_site_does_not_skip_the_others(
    sessionmaker: Sessions,
    pipelines: Callable[..., TelemetryPipeline],
) -> None:
    """Sites share a batch now: the alert hand-off of one site failing still hands the
    other sites' readings on, and the poll reports the failure."""
    clock = ManualClock(NOW)
    sites = {f"site-{i}": _site(f"site-{i}") for i in range(5)}
    async with sessionmaker() as session, session.begin():
        for name in sites:
            await repo.upsert_site(session, name=name, title="", timezone="UTC", now=NOW)
    starting: list[str] = []
    ready = asyncio.Event()
    ready.set()
    devices = {name: PushDevice(name, starting, ready) for name in sites}
    pipeline = pipelines(sessionmaker=sessionmaker)
    handed: list[str] = []

    async def on_batch(
        site: str, _state: SiteState, _batch: list[Reading], _read_at: datetime | None
    ) -> None:
        if site == "site-1":
            raise RuntimeError("the alert engine broke for site-1")
        handed.append(site)

    pipeline.set_batch_handler(on_batch)
    monitor = Monitor(
        drivers={n: SiteDriver(s, [devices[n]], intervals_s={}) for n, s in sites.items()},
        pipeline=pipeline,
        clock=clock,
        sites=sites,
    )
    await monitor.poll_once()  # starts them
    for device in devices.values():
        device.arrive(clock.now(), count=2)
    await monitor.poll_once()  # its batch is written and handed on in the background
    try:
        await monitor.settle()
    except RuntimeError as err:
        assert "site-1" in str(err)
    else:
        raise AssertionError("the failing hand-off was not reported")
    assert sorted(handed) == sorted(set(sites) - {"site-1"})
    assert pipeline.stats.written == 5 * 2  # every site's readings are stored


async def test_a_poll_does_not_wait_for_the_previous_commit_and_writes_stay_bounded(
    sessionmaker: Sessions,
    pipelines: Callable[..., TelemetryPipeline],
) -> None:
    """Writes are held open: two polls hand their batches on without waiting for them to
    commit, a third waits for a free slot; once the writes go through, every reading is
    stored once and every batch reaches the alert engine, in order per site, with the
    time of the poll that read it."""
    clock = ManualClock(NOW)
    sites = {f"site-{i}": _site(f"site-{i}") for i in range(3)}
    async with sessionmaker() as session, session.begin():
        for name in sites:
            await repo.upsert_site(session, name=name, title="", timezone="UTC", now=NOW)
    ready = asyncio.Event()
    ready.set()
    devices = {name: PushDevice(name, [], ready) for name in sites}
    pipeline = pipelines(sessionmaker=sessionmaker)
    handed: list[tuple[str, float]] = []

    async def on_batch(
        site: str, _state: SiteState, batch: list[Reading], read_at: datetime | None
    ) -> None:
        assert read_at == batch[0].time  # the poll's time, however late it is handed on
        handed.append((site, batch[0].time.timestamp()))

    pipeline.set_batch_handler(on_batch)
    monitor = Monitor(
        drivers={n: SiteDriver(s, [devices[n]], intervals_s={}) for n, s in sites.items()},
        pipeline=pipeline,
        clock=clock,
        sites=sites,
    )
    await monitor.poll_once()  # starts them
    real_write = pipeline.writer.write
    gate = asyncio.Event()
    started: list[int] = []

    write_started = asyncio.Event()

    async def held_write(rows: Any) -> int:
        started.append(len(rows))
        write_started.set()
        await gate.wait()
        return await real_write(rows)

    pipeline.writer.write = held_write  # type: ignore[method-assign]
    async with asyncio.timeout(10):
        for _ in range(2):  # two polls return while their writes are held
            clock.advance(timedelta(seconds=1))
            for device in devices.values():
                device.arrive(clock.now(), count=5)
            write_started.clear()
            assert await monitor.poll_once() == 3 * 5
            await write_started.wait()  # its write began (and is held)
    assert started == [15, 15]
    clock.advance(timedelta(seconds=1))
    for device in devices.values():
        device.arrive(clock.now(), count=5)
    third = asyncio.create_task(monitor.poll_once())
    done, _ = await asyncio.wait({third}, timeout=0.3)
    assert not done, "a third poll went ahead with two writes in flight"
    # Accepted already: the latest state has the third poll's readings.
    assert pipeline.latest("site-0").sample("battery_power_w", "d0").time == clock.now()  # type: ignore[union-attr]
    gate.set()
    async with asyncio.timeout(10):
        assert await third == 3 * 5
        await monitor.settle()
    assert pipeline.stats.written == 3 * 3 * 5 and pipeline.buffered == 0
    async with sessionmaker() as session:
        assert await repo.count_readings(session) == 3 * 3 * 5
    assert len(handed) == 3 * 3
    for site in sites:
        times = [t for s, t in handed if s == site]
        assert len(times) == 3 and times == sorted(times)


async def test_a_batch_handed_on_after_the_clock_moved_on_is_judged_as_of_its_poll(
    db_url: str, tmp_path: Path
) -> None:
    """A poll hands its batch to the alert engine only once the batch is written, and
    the poll does not wait for that. When the clock moves on by more than the device's
    stale time before the write lands (a loaded database, an accelerated demo clock, a
    test on a manual clock), the batch is still judged as of the poll that read it: a
    device that answered that poll is not "silent" (before, the simulator went offline
    and back on every such poll). A device that stops answering is still raised."""
    clock = ManualClock(NOW)
    async with running_bot(db_url=db_url, data_dir=tmp_path, clock=clock) as (app, _a, driver):
        device = app.sites["demo"].devices[0]
        step = timedelta(seconds=device.stale_after + 30)
        await app.monitor.poll_once()
        await app.monitor.settle()
        for _ in range(3):
            clock.advance(step)
            assert await app.monitor.poll_once() > 0  # the device answers
            clock.advance(step)  # time moves on while the batch is being written
            await app.monitor.settle()  # written now, and handed to the alert engine
        assert await _offline(app, NOW, clock.now()) == []

        async def silent(now: datetime) -> list[Reading]:
            raise DeviceError("no answer")

        driver.poll = silent  # type: ignore[method-assign]
        since = clock.now()
        clock.advance(step)
        await app.monitor.poll_once()  # the tick of this poll finds it silent
        await app.monitor.settle()
        assert await _offline(app, since, clock.now() + step) == [f"{device.name} {clock.now()}"]


async def _offline(app: App, start: datetime, end: datetime) -> list[str]:
    """The device_offline alerts that started in ``[start, end)``: device and start."""
    async with app.sessionmaker() as session:
        rows = await repo.alerts_started_between(session, site="demo", start=start, end=end)
    return [
        f"{r.rule.removeprefix('device_offline:')} {r.started_at.replace(tzinfo=UTC)}"
        for r in rows
        if r.rule.startswith("device_offline:")
    ]
