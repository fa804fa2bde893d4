"""A site built from real drivers (SolArk over Modbus TCP, a Shelly relay over HTTP RPC with
digest auth) talking to their protocol-true simulators, through the whole bot."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from bot.app import App, open_app
from bot.chat.memory import MemoryAdapter
from bot.settings import Settings
from storage import repositories as repo
from tests.bot.helpers import EVENING, click, say
from tools.clock import ManualClock
from tools.devices.simulators.shelly_http import ShellySimulator
from tools.devices.simulators.solark_modbus import SolArkModbusSimulator
from tools.site import (
    Battery,
    Device,
    Location,
    Person,
    PvArray,
    Site,
    SiteFile,
    SwitchableLoad,
)


@dataclass
class Rig:
    app: App
    chat: MemoryAdapter
    clock: ManualClock
    solark: SolArkModbusSimulator
    shelly: ShellySimulator


def _site(solark_port: int, shelly_port: int) -> Site:
    return Site(
        name="barn",
        timezone="America/Denver",
        location=Location(latitude=39.74, longitude=-105.18),
        pv_arrays=[PvArray(name="roof", kwp=6, tilt_deg=30, azimuth_deg=180)],
        battery=Battery(capacity_kwh=10, min_soc_pct=20, initial_soc_pct=55),
        loads=[SwitchableLoad(name="miner-1", power_kw=1.45, relay="shelly-1")],
        devices=[
            Device(
                name="solark",
                driver="solark_modbus",
                connection={"host": "127.0.0.1", "port": solark_port, "timeout_s": 1.0},
                interval_s=10,
            ),
            Device(
                name="shelly-1",
                driver="shelly",
                connection={
                    "host": "127.0.0.1",
                    "port": shelly_port,
                    "password_env": "TEST_SHELLY_PASSWORD",
                    "load": "miner-1",
                    "timeout_s": 1.0,
                },
                interval_s=10,
            ),
        ],
    )


@pytest.fixture
async def rig(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Rig]:
    monkeypatch.setenv("TEST_SHELLY_PASSWORD", "s3cret!")
    clock = ManualClock(EVENING)
    before_ports = _site(1, 1)  # the simulator needs the site; ports are known only later
    solark = SolArkModbusSimulator(before_ports, start=EVENING, seed=3)
    shelly = ShellySimulator(password="s3cret!", on=True, watts=1450)
    solark_port = await solark.start()
    await shelly.start()
    await solark.step(EVENING)
    site_file = SiteFile(
        sites=[_site(solark_port, shelly.port)],
        people=[Person(platform="console", user_id="ada", name="Ada", role="admin")],
    )
    chat = MemoryAdapter()
    settings = Settings(data_dir=tmp_path, database_url=sqlite_url)
    try:
        async with open_app(settings, adapter=chat, clock=clock, site_file=site_file) as app:
            yield Rig(app=app, chat=chat, clock=clock, solark=solark, shelly=shelly)
    finally:
        await shelly.close()
        await solark.stop()


async def test_readings_from_both_devices_reach_the_site_state(rig: Rig) -> None:
    await rig.app.monitor.poll_once()
    state = rig.app.pipeline.latest("barn")
    soc = state.get("battery_soc_pct", "solark")
    assert soc is not None and abs(soc - rig.solark.register(184)) < 1e-9
    assert state.get("load_on", "miner-1") == 1.0
    assert state.get("relay_on", "shelly-1") == 1.0
    assert set(state.seen) == {"solark", "shelly-1"}
    status = await rig.app.chat.handle_message(say("ada", "status"))
    assert "Loads on: miner-1." in status.answer
    assert "Devices:" not in status.answer


async def test_approved_actions_reach_each_device_and_are_verified(rig: Rig) -> None:
    await rig.app.monitor.poll_once()
    stop = await rig.app.actions.request(
        site="barn", kind="stop_miners", requested_by="console:ada"
    )
    reply = await rig.app.chat.handle_click(click("ada", "approve", stop.id))
    assert "Done and verified" in reply
    assert rig.shelly.is_on() is False

    charge = await rig.app.actions.request(
        site="barn", kind="grid_charge_on", requested_by="console:ada"
    )
    assert "Done and verified" in await rig.app.chat.handle_click(
        click("ada", "approve", charge.id)
    )
    assert rig.solark.register(232) & 1 == 1


async def test_a_failed_read_back_is_a_failed_action(rig: Rig) -> None:
    await rig.app.monitor.poll_once()
    rig.solark.ignore_writes = True
    charge = await rig.app.actions.request(
        site="barn", kind="grid_charge_on", requested_by="console:ada"
    )
    reply = await rig.app.chat.handle_click(click("ada", "approve", charge.id))
    assert "Device error" in reply
    done = await rig.app.actions.get(charge.id)
    assert done.status == "failed"
    assert done.outcome is not None and "read" in done.outcome.lower()
    async with rig.app.sessionmaker() as session, session.begin():
        events = [a.event for a in await repo.list_audit(session, action_id=charge.id)]
    assert events == ["action_requested", "action_approved", "action_failed"]
    assert rig.solark.register(232) & 1 == 0


async def test_a_silent_device_raises_an_offline_alert_and_shows_in_status(rig: Rig) -> None:
    await rig.app.monitor.poll_once()
    await rig.shelly.close()  # the relay drops off the network
    for _ in range(8):  # 80 s > 3 x 10 s + 30 s
        rig.clock.advance(timedelta(seconds=10))
        await rig.app.monitor.poll_once()
    cards = [p.card for p in rig.chat.cards("alert") if p.card is not None]
    assert [c.title for c in cards] == ["Warning: shelly-1 offline at barn"]
    assert "shelly-1 (shelly) has been silent for 70 s (expected every 10 s" in cards[0].text
    assert f"Last error: Shelly at 127.0.0.1:{rig.shelly.port} is unreachable" in cards[0].text
    status = await rig.app.chat.handle_message(say("ada", "status"))
    assert "Devices: shelly-1 is stale" in status.answer
    # SolArk kept reporting all along: the failing relay never stopped it.
    assert "solark" not in [c.title.split()[1] for c in cards]
