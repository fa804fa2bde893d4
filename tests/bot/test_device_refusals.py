"""Values a driver refuses (issue 12: oversized Victron payloads) show in status and /metrics;
what drivers state about their devices (status notes) shows in status."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from bot.app import open_app
from bot.chat.memory import MemoryAdapter
from bot.settings import Settings
from tests.bot.helpers import say
from tools.clock import ManualClock
from tools.devices.simulators.solark_modbus import SolArkModbusSimulator
from tools.devices.simulators.victron_gx import VictronGxSimulator
from tools.devices.victron import VictronMqttDevice
from tools.site import Battery, Device, Location, Person, PvArray, Site, SiteFile

T0 = datetime(2026, 6, 21, 10, 0, tzinfo=UTC)


def _site(host: str, port: int, portal_id: str) -> Site:
    return Site(
        name="cabin",
        location=Location(latitude=47.4, longitude=8.5),
        pv_arrays=[PvArray(name="roof", kwp=6.0, tilt_deg=30, azimuth_deg=180)],
        battery=Battery(capacity_kwh=10.0, initial_soc_pct=60.0, min_soc_pct=20.0),
        devices=[
            Device(
                name="gx",
                driver="victron_mqtt",
                connection={"host": host, "port": port, "portal_id": portal_id},
            )
        ],
    )


async def test_oversized_payloads_are_counted_in_status_and_metrics(
    sqlite_url: str, tmp_path: Path, mqtt_broker: tuple[str, int]
) -> None:
    host, port = mqtt_broker
    pid = uuid.uuid4().hex[:12]
    site = _site(host, port, pid)
    sim = VictronGxSimulator(site, host=host, port=port, portal_id=pid, start=T0)
    await sim.start()
    publisher = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
    publisher.connect(host, port)
    publisher.loop_start()
    site_file = SiteFile(
        sites=[site], people=[Person(platform="console", user_id="ada", name="Ada", role="admin")]
    )
    settings = Settings(data_dir=tmp_path, database_url=sqlite_url)
    try:
        async with open_app(
            settings, adapter=MemoryAdapter(), clock=ManualClock(T0), site_file=site_file
        ) as app:
            await app.monitor.poll_once()  # starts the driver
            driver = app.drivers["cabin"]
            device = driver.device("gx")  # type: ignore[attr-defined]
            assert isinstance(device, VictronMqttDevice)
            big = json.dumps({"value": "x" * 5000}).encode()
            for _ in range(3):
                publisher.publish(f"N/{pid}/system/0/Dc/Battery/Soc", big).wait_for_publish(5)
            publisher.publish(f"N/{pid}/system/0/Unused/Path", big).wait_for_publish(5)
            deadline = time.monotonic() + 15
            while device.rejected_by_reason.get("oversized", 0) < 3:
                assert time.monotonic() < deadline, device.rejected_by_reason
                await asyncio.sleep(0.02)
            await app.monitor.poll_once()
            status = await app.chat.handle_message(say("ada", "status"))
            assert "gx sent 3 value(s) that were refused (oversized 3)" in status.answer
            metrics = app.metrics.render().decode()
            assert (
                'commandcenter_device_payloads_rejected_total{device="gx",reason="oversized",'
                'site="cabin"} 3.0' in metrics
            )
    finally:
        publisher.loop_stop()
        publisher.disconnect()
        await sim.stop()


async def test_use_timer_off_is_said_in_the_status_answer(sqlite_url: str, tmp_path: Path) -> None:
    """A driver's status notes (here: SolArk "Use Timer" off) reach the person."""
    probe = Site(
        name="barn",
        location=Location(latitude=39.74, longitude=-105.18),
        pv_arrays=[PvArray(name="roof", kwp=6.0, tilt_deg=30, azimuth_deg=180)],
        battery=Battery(capacity_kwh=10.0, initial_soc_pct=55.0, min_soc_pct=20.0),
    )
    sim = SolArkModbusSimulator(probe, start=T0, seed=3, use_timer=False)
    port = await sim.start()
    await sim.step(T0)
    site = probe.model_copy(
        update={
            "devices": [
                Device(
                    name="solark",
                    driver="solark_modbus",
                    connection={"host": "127.0.0.1", "port": port, "timeout_s": 1.0},
                )
            ]
        }
    )
    site_file = SiteFile(
        sites=[site], people=[Person(platform="console", user_id="ada", name="Ada", role="admin")]
    )
    settings = Settings(data_dir=tmp_path, database_url=sqlite_url)
    clock = ManualClock(T0)
    try:
        async with open_app(
            settings, adapter=MemoryAdapter(), clock=clock, site_file=site_file
        ) as app:
            await app.monitor.poll_once()
            status = await app.chat.handle_message(say("ada", "status"))
            assert "Notes: solark: Use Timer (register 248) is off" in status.answer
            sim.set_register(248, 1)
            clock.advance(timedelta(seconds=15))  # the inverter is read every 10 s
            await app.monitor.poll_once()
            again = await app.chat.handle_message(say("ada", "status"))
            assert "Use Timer" not in again.answer
    finally:
        await sim.stop()
