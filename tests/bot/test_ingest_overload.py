"""A worker overloaded by a bounded burst on the real broker: it sheds in the stated order
(superseded values first, so every topic keeps its newest value), counts everything it
shed or delayed, raises its own alert and shows it on /metrics; the alert resolves
after a clean window."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from prometheus_client.parser import text_string_to_metric_families

from bot.chat.base import Adapters
from bot.chat.memory import MemoryAdapter
from bot.metrics import Metrics
from bot.monitoring import IngestWatch
from bot.runtime import Monitor
from storage import repositories as repo
from storage.engine import create_engine, create_sessionmaker, upgrade_database
from tools.clock import SystemClock
from tools.devices.base import SiteDriver
from tools.devices.config import MqttBroker
from tools.devices.mqtt import MqttHub, MqttHubs
from tools.devices.victron import VictronMqttDevice
from tools.domain import Reading
from tools.ingest_health import IngestGuard
from tools.site import Device, Location, Site
from tools.telemetry import TelemetryPipeline

pytestmark = pytest.mark.mqtt

BURST_ROUNDS = 300  # 300 rounds x 3 topics = 900 messages into a hub that holds 100


def _wait_blocking(predicate: Callable[[], bool], timeout_s: float = 30.0) -> None:
    """Wait with the event loop blocked (that is the overload), for a network-thread count."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("the burst did not arrive")
        time.sleep(0.01)


def _keep_busy(seconds: float) -> None:
    """The event loop's thread busy elsewhere (a slow batch, a slow database)."""
    time.sleep(seconds)


async def _until(predicate: Callable[[], bool], timeout_s: float = 30.0) -> None:
    async with asyncio.timeout(timeout_s):
        while True:
            if predicate():
                return
            await asyncio.sleep(0.01)


def _samples(text: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text.decode()):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


async def test_an_overloaded_worker_sheds_in_order_alerts_and_shows_it(
    mqtt_broker: tuple[str, int], sqlite_url: str
) -> None:
    host, port = mqtt_broker
    portal = f"0ad{uuid.uuid4().hex[:9]}"
    site = Site(
        name="burst",
        location=Location(latitude=0, longitude=0),
        devices=[
            Device(
                name="gx",
                driver="victron_mqtt",
                connection={"host": host, "port": port, "portal_id": portal},
            )
        ],
    )
    engine = create_engine(sqlite_url)
    await upgrade_database(engine)
    sessionmaker = create_sessionmaker(engine)
    async with sessionmaker() as session, session.begin():
        await repo.upsert_site(
            session, name="burst", title="", timezone="UTC", now=datetime.now(UTC)
        )
    hubs = MqttHubs(lambda b: MqttHub(b, max_backlog=100, delay_limit_s=0.2))
    device = VictronMqttDevice(site.devices[0], site, hubs=hubs, start_timeout_s=10)
    hub = hubs.get(device.config)
    pipeline = TelemetryPipeline(sessionmaker=sessionmaker)
    ops = MemoryAdapter()
    now_s = [0.0]
    watch = IngestWatch(
        hubs=hubs,
        pipeline=pipeline,
        guard=IngestGuard(window_s=10.0, delay_limit_s=0.2),
        adapters=Adapters([ops]),
        channel="#ops",
        clock_s=lambda: now_s[0],
    )
    monitor = Monitor(
        drivers={"burst": SiteDriver(site, [device], intervals_s={})},
        pipeline=pipeline,
        clock=SystemClock(),
        sites={"burst": site},
        after_poll=watch.check,
    )
    metrics = Metrics(pipeline=pipeline, sessionmaker=sessionmaker, ingest=watch)
    gx = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
    gx.connect(host, port)
    gx.loop_start()

    def send(path: str, value: float) -> None:
        gx.publish(f"N/{portal}/{path}", json.dumps({"value": value}), qos=0)

    try:
        first_poll = asyncio.create_task(monitor.poll_once())  # starts the driver
        await _until(lambda: hub.connected and device._subscribed)
        while not first_poll.done():  # the GX answers the keep-alive
            send("system/0/Dc/Battery/Soc", 50.0)
            await asyncio.wait([first_poll], timeout=0.2)
        await first_poll
        assert watch.alerts == [] and not watch.guard.firing
        arrived, handed = hub.arrived, hub.messages

        # The burst arrives while the event loop is busy: a high-rate topic (power, every
        # round), two lower-rate ones (SOC every 10th round, voltage every 100th).
        expected = 0
        for n in range(BURST_ROUNDS):
            send("system/0/Dc/Battery/Power", float(n))
            expected += 1
            if n % 10 == 9:
                send("system/0/Dc/Battery/Soc", 10.0 + n / 10)
                expected += 1
            if n % 100 == 99:
                send("system/0/Dc/Battery/Voltage", 50.0 + n / 100)
                expected += 1
        _wait_blocking(lambda: hub.arrived - arrived >= expected)
        _keep_busy(0.3)  # the loop stays blocked past the delay limit: that is the overload

        # Unblocked, the loop takes what the hub kept; nothing is unaccounted for.
        await _until(lambda: hub.backlog == 0 and hub.messages - handed + hub.shed == expected)
        now_s[0] += 1.0
        await monitor.poll_once()

        # Shed in order: superseded values only (three topics never fill 100 slots),
        # and every topic kept its newest value.
        assert hub.shed_superseded >= expected - 100 and hub.shed_oldest == 0
        latest = pipeline.latest("burst")
        assert latest.get("battery_power_w") == float(BURST_ROUNDS - 1)
        assert latest.get("battery_soc_pct") == 10.0 + (BURST_ROUNDS - 1) / 10
        assert latest.get("battery_voltage_v") == 50.0 + (BURST_ROUNDS - 1) / 100

        # The worker's own alert fired, with the numbers, and reached the ops channel.
        assert watch.guard.firing
        assert len(watch.alerts) == 1 and watch.alerts[0].firing
        text = watch.alerts[0].text
        assert text.startswith("ingest overloaded: ") and "readings/s dropped or delayed" in text
        assert [(m.channel, m.text) for m in ops.messages.values()] == [("#ops", text)]

        seen = _samples(metrics.render())
        assert seen[("commandcenter_ingest_overloaded", ())] == 1.0
        assert seen[("commandcenter_ingest_shed_total", (("reason", "superseded"),))] == (
            hub.shed_superseded
        )
        assert seen[("commandcenter_ingest_shed_total", (("reason", "oldest"),))] == 0
        assert seen[("commandcenter_ingest_delayed_total", ())] == hub.delayed > 0
        dropped_rate = seen[
            ("commandcenter_ingest_overload_readings_per_second", (("kind", "dropped"),))
        ]
        assert dropped_rate == pytest.approx(hub.shed_superseded / 1.0)

        # A clean window later the alert resolves.
        now_s[0] += 5.0
        await monitor.poll_once()
        assert watch.guard.firing  # the window still holds the burst
        now_s[0] += 11.0
        await monitor.poll_once()
        assert not watch.guard.firing
        assert watch.alerts[-1].text.startswith("ingest recovered")
        assert _samples(metrics.render())[("commandcenter_ingest_overloaded", ())] == 0.0
    finally:
        gx.loop_stop()
        gx.disconnect()
        await device.close()
        await hubs.close()
        await pipeline.close()
        await engine.dispose()


async def test_past_the_bound_the_oldest_distinct_topics_go_and_are_counted(
    mqtt_broker: tuple[str, int],
) -> None:
    host, port = mqtt_broker
    prefix = f"cc-test/{uuid.uuid4().hex[:8]}"
    hub = MqttHub(MqttBroker(host=host, port=port), max_backlog=100)
    got: list[str] = []
    sender = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
    sender.connect(host, port)
    sender.loop_start()
    try:
        await hub.connect()
        probe = asyncio.Event()
        hub.subscribe(f"{prefix}/probe", lambda _t, _p: probe.set())
        hub.subscribe(f"{prefix}/t/#", lambda t, _p: got.append(t))
        while not probe.is_set():  # both subscriptions are in place once the probe is back
            sender.publish(f"{prefix}/probe", b"1")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(probe.wait(), 0.2)
        arrived = hub.arrived
        for n in range(250):  # 250 distinct topics, each once
            sender.publish(f"{prefix}/t/{n}", b"x")
        _wait_blocking(lambda: hub.arrived - arrived >= 250)
        await _until(lambda: hub.backlog == 0 and bool(got))
        assert hub.shed_superseded == 0 and hub.shed_oldest > 0
        assert len(got) + hub.shed_oldest == 250
        assert got[-1] == f"{prefix}/t/249"  # the newest survive
        assert got == sorted(got, key=lambda t: int(t.rsplit("/", 1)[1]))
    finally:
        sender.loop_stop()
        sender.disconnect()
        await hub.close()


async def test_gaps_between_a_devices_readings_are_counted(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url)
    await upgrade_database(engine)
    sessionmaker = create_sessionmaker(engine)
    t0 = datetime(2026, 6, 1, tzinfo=UTC)
    async with sessionmaker() as session, session.begin():
        await repo.upsert_site(session, name="s", title="", timezone="UTC", now=t0)
    pipeline = TelemetryPipeline(sessionmaker=sessionmaker, gap_limit_s=60)
    try:
        for seconds in (0, 30, 60, 200, 210, 400):
            reading = Reading(
                site="s",
                metric="battery_soc_pct",
                time=t0 + timedelta(seconds=seconds),
                value=50.0,
                device="gx",
            )
            await pipeline.ingest([reading])
        assert pipeline.stats.gaps == {("s", "gx"): 2}
        assert pipeline.stats.last_gap_s[("s", "gx")] == 190.0
    finally:
        await engine.dispose()
