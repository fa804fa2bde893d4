"""The Shelly driver on real device dumps from aioshelly (cover profile, Pro 3EM, BLU
gateway): ``tests/fixtures/shelly/aioshelly_get_status.json`` (see its ``.source.txt``).
Our simulator serves each dump's ``/shelly`` and ``Shelly.GetStatus`` as captured."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tools.devices.mqtt import MqttHubs
from tools.devices.shelly import ShellyDevice, components, missing_switch
from tools.devices.simulators.shelly_http import ShellySimulator
from tools.errors import DeviceRefused
from tools.site import Device, Location, Site

DUMPS: dict[str, Any] = json.loads(
    (Path(__file__).parents[2] / "fixtures" / "shelly" / "aioshelly_get_status.json").read_text()
)
EXPECTED = {
    "shelly_2pm_gen3_cover": "cover:0, input:0, input:1, number:200, script:1, script:2",
    "shelly_pro_3em": "em:0, emdata:0, temperature:0",
    "shelly_blu_gateway": "script:1",
}


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def _device(port: int, http: httpx.AsyncClient, switch_id: int = 0) -> ShellyDevice:
    device = Device(
        name="relay",
        driver="shelly",
        connection={"host": "127.0.0.1", "port": port, "switch_id": switch_id, "timeout_s": 2.0},
    )
    site = Site(name="s", location=Location(latitude=45.5, longitude=7.9), devices=[device])
    return ShellyDevice(device, site, http=http, hubs=MqttHubs())


@pytest.mark.parametrize("dump", sorted(EXPECTED))
async def test_start_refuses_a_device_without_the_switch_and_names_its_components(
    dump: str, http: httpx.AsyncClient
) -> None:
    async with ShellySimulator(captured=DUMPS[dump]) as sim:
        shelly = _device(sim.port, http)
        with pytest.raises(DeviceRefused) as err:
            await shelly.start()
    message = str(err.value)
    assert f"has no switch:0; its components are {EXPECTED[dump]}" in message
    assert "no relay this driver can switch" in message
    if "shelly" in DUMPS[dump]:
        assert DUMPS[dump]["shelly"]["model"] in message


def test_a_wrong_switch_id_lists_the_switches_there_are() -> None:
    status = {**DUMPS["shelly_pro_3em"]["status"], "switch:0": {"id": 0, "output": False}}
    assert components(status)[-1] == "temperature:0"
    assert missing_switch(status, 0) == ""
    assert missing_switch(status, 2).endswith("set switch_id to one of 0")


async def test_a_plain_relay_still_starts(http: httpx.AsyncClient) -> None:
    async with ShellySimulator(watts=12.0) as sim:
        shelly = _device(sim.port, http)
        await shelly.start()
        with pytest.raises(DeviceRefused, match=r"has no switch:1; its components are input:0, "):
            await _device(sim.port, http, switch_id=1).start()
