"""The Home Assistant driver on real state objects: HA's own REST documentation and a
recorder capture from EMHASS (see ``tests/fixtures/homeassistant/*.source.txt``).

The states are served by our HA simulator exactly as captured (``put_raw``).
"""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tools.devices.config import HaEntity
from tools.devices.homeassistant import HomeAssistantDevice, parse_history
from tools.devices.simulators.homeassistant_http import HomeAssistantSimulator
from tools.site import Device, Location, Site

FIXTURES = Path(__file__).parents[2] / "fixtures" / "homeassistant"
DOCS: dict[str, Any] = json.loads((FIXTURES / "rest_api_states_sample.json").read_text())
HISTORY: list[list[dict[str, Any]]] = json.loads(
    (FIXTURES / "emhass_history_excerpt.json").read_text()
)
ROWS = HISTORY[0]
LOAD = "sensor.power_load_no_var_loads"
TOKEN_ENV = "CC_TEST_HA_CAPTURE_TOKEN"
TOKEN = "capture-token"
NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
async def sim() -> AsyncIterator[HomeAssistantSimulator]:
    async with HomeAssistantSimulator(token=TOKEN) as simulator:
        yield simulator


def _ha(url: str, http: httpx.AsyncClient, entities: dict[str, Any]) -> HomeAssistantDevice:
    device = Device(
        name="ha",
        driver="homeassistant",
        connection={"url": url, "token_env": TOKEN_ENV, "timeout_s": 2.0, "entities": entities},
    )
    site = Site(name="house", location=Location(latitude=48.8, longitude=6.9), devices=[device])
    return HomeAssistantDevice(device, site, http=http)


def _row(index: int, **changes: Any) -> dict[str, Any]:
    row = copy.deepcopy(ROWS[index])
    attributes = changes.pop("attributes", None)
    row.update(changes)
    if attributes:
        row["attributes"].update(attributes)
    return row


def _values(readings: list[Any]) -> dict[str, float]:
    return {r.metric: r.value for r in readings}


async def test_one_state_with_a_broken_time_does_not_discard_the_bulk_poll(
    sim: HomeAssistantSimulator, http: httpx.AsyncClient
) -> None:
    for state in DOCS["get_api_states"]:  # process.Dropbox has last_changed "22016-..."
        sim.put_raw(state)
    sim.put_raw(_row(0))
    extra = {f"sensor.extra_{n}": {"metric": "temp_c", "device": f"t{n}"} for n in range(4)}
    for n in range(4):
        sim.set_state(f"sensor.extra_{n}", str(20 + n), {"unit_of_measurement": "°C"})
    ha = _ha(
        sim.url,
        http,
        {
            LOAD: {"metric": "load_power_w"},
            "process.Dropbox": {"metric": "generator_running"},
            **extra,
        },
    )
    readings = await ha.read(NOW)
    assert [r for r in sim.requests if r.startswith("GET /api/states")] == ["GET /api/states"]
    got = {(r.metric, r.device): r.value for r in readings}
    assert got[("load_power_w", "")] == float(ROWS[0]["state"])
    assert got[("temp_c", "t3")] == 23.0
    assert ("generator_running", "") not in got
    assert ha.rejected_by_reason == {"bad time": 1}


async def test_an_entity_switched_to_kw_reads_the_same_watts(
    sim: HomeAssistantSimulator, http: httpx.AsyncClient
) -> None:
    row = _row(0)  # 407.23 W
    sim.put_raw(row)
    ha = _ha(sim.url, http, {LOAD: {"metric": "load_power_w"}})
    (in_w,) = await ha.read(NOW)
    kw = float(row["state"]) / 1000
    sim.put_raw(
        _row(1, state=f"{kw:.5f}", attributes={"unit_of_measurement": "kW"})
    )  # the same power, the entity now in kW (a later time, so it is new)
    (in_kw,) = await ha.read(NOW)
    assert in_w.value == pytest.approx(407.23)
    assert in_kw.value == pytest.approx(407.23)  # not 0.407 W
    # a unit that does not fit the metric is rejected, not misread
    sim.put_raw(_row(2, attributes={"unit_of_measurement": "kWh"}))
    assert await ha.read(NOW) == []
    assert ha.rejected_by_reason == {"unit": 1}


@pytest.mark.parametrize(
    ("metric", "unit", "state", "expected"),
    [
        ("load_energy_today_kwh", "Wh", "12500", 12.5),
        ("load_energy_today_kwh", "kWh", "12.5", 12.5),
        ("generator_fuel_l", "gal", "10", 37.85411784),
        ("generator_fuel_l", "L", "37.5", 37.5),
        ("fuel_level_pct", "%", "64", 64.0),
        ("temp_c", "°F", "77", 25.0),
        ("pv_power_w", "W", "936", 936.0),
    ],
)
def test_units_of_measurement_are_converted(
    metric: str, unit: str, state: str, expected: float
) -> None:
    row = _row(0, state=state, attributes={"unit_of_measurement": unit})
    (reading,) = parse_history([[row]], {LOAD: HaEntity(metric=metric)}, site="s")
    assert reading.value == pytest.approx(expected)


def test_scale_stays_for_entities_without_a_unit() -> None:
    row = _row(0, state="2.5")
    del row["attributes"]["unit_of_measurement"]
    entity = HaEntity(metric="pv_power_w", scale=1000)
    assert parse_history([[row]], {LOAD: entity}, site="s")[0].value == 2500.0
    # the documented POST body: a temperature in °C
    body = DOCS["post_api_states_body"]
    doc_row = {**_row(0), **body}
    (temp,) = parse_history([[doc_row]], {LOAD: HaEntity(metric="temp_c")}, site="s")
    assert temp.value == 25.0


async def test_negative_load_from_a_real_history_is_rejected_and_said_in_status(
    sim: HomeAssistantSimulator, http: httpx.AsyncClient
) -> None:
    ha = _ha(sim.url, http, {LOAD: {"metric": "load_power_w"}})
    kept: list[float] = []
    for index in range(len(ROWS)):  # 407.23, 405.54, 171.81, -480.81, -482.36 W
        sim.put_raw(ROWS[index])
        kept += [r.value for r in await ha.read(NOW)]
    assert kept == [407.23, 405.54, 171.81]
    assert ha.rejected_by_reason == {"negative": 2}
    assert ha.status_notes == [
        f"{LOAD} (load_power_w): down to -50 W is read as 0 (noise), below that rejected "
        "(2 negative so far)"
    ]
    # sensor noise just below zero reads as 0 W
    sim.put_raw(_row(0, state="-3.2", last_updated="2022-10-20T01:00:00+00:00"))
    assert _values(await ha.read(NOW)) == {"load_power_w": 0.0}
    assert "1 clamped" in ha.status_notes[0]


async def test_negative_grid_power_is_valid_and_an_entity_may_clamp(
    sim: HomeAssistantSimulator, http: httpx.AsyncClient
) -> None:
    sim.put_raw(ROWS[3])  # -480.81 W
    grid = _ha(sim.url, http, {LOAD: {"metric": "grid_power_w"}})
    assert _values(await grid.read(NOW)) == {"grid_power_w": -480.81}  # export
    assert grid.status_notes == []
    clamp = _ha(sim.url, http, {LOAD: {"metric": "load_power_w", "negative": "clamp"}})
    assert _values(await clamp.read(NOW)) == {"load_power_w": 0.0}
    assert "negative values are read as 0 (1 clamped so far)" in clamp.status_notes[0]
