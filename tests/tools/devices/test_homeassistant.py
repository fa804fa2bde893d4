"""Home Assistant: state mapping, switching, history parsing and the backfill command.

The history fixture is a real ``/api/history/period`` answer captured by the EMHASS
author (davidusb-geek/emhass@d4928d8, MIT licence); see its ``.source.txt``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from bot.commands.backfill_ha import homeassistant as backfill_command
from storage import repositories as repo
from storage.engine import create_engine, create_sessionmaker
from tests.conftest import shared_data
from tools.devices.base import DeviceCommand
from tools.devices.config import HaEntity, HomeAssistantConnection
from tools.devices.homeassistant import (
    HomeAssistantDevice,
    fetch_history,
    history_url,
    parse_history,
    parse_state,
    parse_state_value,
)
from tools.devices.simulators.homeassistant_http import HomeAssistantSimulator
from tools.domain import Reading
from tools.errors import (
    DeviceAuthError,
    DeviceProtocolError,
    DeviceRefused,
    DeviceTimeout,
    DeviceUnreachable,
    ReadbackMismatch,
)
from tools.site import Device, Location, Site, SwitchableLoad

FIXTURE_NAME = "homeassistant/ha_history_api_power_load_2022-10-19.json"
ENTITY = "sensor.power_load_no_var_loads"
TOKEN_ENV = "CC_TEST_HA_TOKEN"
TOKEN = "eyJhbGciOiJIUzI1NiJ9.test-long-lived-token"
NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)

ENTITIES = {
    "sensor.pv_power_kw": {"metric": "pv_power_w", "scale": 1000.0},
    "sensor.battery_soc": {"metric": "battery_soc_pct", "device": "bank"},
    "sensor.grid_power": {"metric": "grid_power_w"},
    "sensor.inverter_temp": {"metric": "temp_c", "device": "inverter"},
}
STATES = {
    "sensor.pv_power_kw": "2.345",
    "sensor.battery_soc": "87",
    "sensor.grid_power": "unavailable",
    "sensor.inverter_temp": "unknown",
    "switch.miner_1": "on",
    "input_boolean.generator": "off",
    "switch.grid_charge": "off",
}


@pytest.fixture(scope="module")
def history_payload() -> list[list[dict[str, Any]]]:
    data: list[list[dict[str, Any]]] = json.loads(
        shared_data(FIXTURE_NAME).read_text(encoding="utf-8")
    )
    return data


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
async def sim() -> AsyncIterator[HomeAssistantSimulator]:
    async with HomeAssistantSimulator(token=TOKEN, states=STATES) as simulator:
        yield simulator


def _connection(url: str, **extra: Any) -> dict[str, Any]:
    return {
        "url": url,
        "token_env": TOKEN_ENV,
        "timeout_s": 2.0,
        "entities": ENTITIES,
        "switches": {"miner-1": "switch.miner_1"},
        "generator_switch": "input_boolean.generator",
        "grid_charge_switch": "switch.grid_charge",
        **extra,
    }


def _device(
    url: str, http: httpx.AsyncClient, *, readback_timeout_s: float = 1.0, **extra: Any
) -> HomeAssistantDevice:
    device = Device(name="ha", driver="homeassistant", connection=_connection(url, **extra))
    site = Site(
        name="factory",
        location=Location(latitude=48.85, longitude=2.35),
        loads=[SwitchableLoad(name="miner-1", power_kw=1.45)],
        devices=[device],
    )
    return HomeAssistantDevice(device, site, http=http, readback_timeout_s=readback_timeout_s)


def _by_metric(readings: list[Reading]) -> dict[tuple[str, str], float]:
    return {(r.metric, r.device): r.value for r in readings}


# ------------------------------------------------------------------------------ pure parsing


def test_state_values() -> None:
    assert parse_state_value("21.5", metric="temp_c") == 21.5
    assert parse_state_value("2.5", metric="pv_power_w", scale=1000) == 2500.0
    assert parse_state_value("on", metric="generator_running") == 1.0
    assert parse_state_value("off", metric="load_on") == 0.0
    for bad in ("unknown", "unavailable", "on", "", "nan", "inf", None, 3.0):
        assert parse_state_value(bad, metric="pv_power_w") is None


def test_state_object_from_the_documented_example() -> None:
    state = {  # PROTOCOLS.md §4.1
        "entity_id": "sensor.kitchen_temperature",
        "state": "21.5",
        "attributes": {"unit_of_measurement": "°C", "friendly_name": "Kitchen"},
        "last_changed": "2016-05-30T21:43:29.204838+00:00",
        "last_reported": "2016-05-30T21:43:29.204838+00:00",
        "last_updated": "2016-05-30T21:50:30.529465+00:00",
        "context": {"id": "01H...", "parent_id": None, "user_id": None},
    }
    reading = parse_state(state, HaEntity(metric="temp_c", device="kitchen"), site="home")
    assert reading == Reading(
        site="home",
        metric="temp_c",
        time=datetime(2016, 5, 30, 21, 43, 29, 204838, tzinfo=UTC),  # last_reported first
        value=21.5,
        device="kitchen",
    )
    del state["last_reported"]  # older HA: last_updated
    reading = parse_state(state, HaEntity(metric="temp_c"), site="home")
    assert reading is not None and reading.time.minute == 50
    with pytest.raises(DeviceProtocolError):
        parse_state({"state": "1"}, HaEntity(metric="temp_c"), site="home")


def test_history_fixture(history_payload: list[list[dict[str, Any]]]) -> None:
    readings = parse_history(
        history_payload, {ENTITY: HaEntity(metric="load_power_w", device="house")}, site="home"
    )
    # every one of the 8,723 state changes is numeric
    assert len(readings) == 8723
    first, last = readings[0], readings[-1]
    assert (first.time, first.value) == (datetime(2022, 10, 19, 19, 0, tzinfo=UTC), 407.23)
    assert (last.time, last.value) == (
        datetime(2022, 10, 20, 18, 59, 54, 25690, tzinfo=UTC),
        3050.28,
    )
    assert {(r.metric, r.device, r.site) for r in readings} == {("load_power_w", "house", "home")}
    values = [r.value for r in readings]
    peak = values.index(max(values))
    assert max(values) == 4070.23
    assert readings[peak].time == datetime(2022, 10, 19, 19, 50, 3, 22238, tzinfo=UTC)
    assert min(values) == -501.59  # the house exported: 69 states are below zero
    assert sum(v < 0 for v in values) == 69
    assert sum(values) / len(values) == pytest.approx(683.5067, abs=1e-3)
    assert readings[1000].value == 2985.29
    assert all(a.time < b.time for a, b in itertools.pairwise(readings))
    # not mapped: nothing
    assert (
        parse_history(history_payload, {"sensor.other": HaEntity(metric="pv_power_w")}, site="x")
        == []
    )


def test_history_minimal_rows_and_non_numeric_states() -> None:
    payload = [
        [
            {
                "entity_id": "sensor.pv",
                "state": "1.5",
                "attributes": {},
                "last_changed": "2024-06-01T10:00:00+00:00",
                "last_updated": "2024-06-01T10:00:00+00:00",
            },
            {"state": "unavailable", "last_changed": "2024-06-01T10:01:00+00:00"},
            {"state": "2.0", "last_changed": "2024-06-01T10:02:00+00:00"},
            {"state": "2.5"},  # no time: skipped
        ],
        [{"entity_id": "sensor.not_mapped", "state": "9", "last_changed": "2024-06-01T10:00:00Z"}],
        [],
    ]
    readings = parse_history(
        payload, {"sensor.pv": HaEntity(metric="pv_power_w", scale=1000)}, site="s"
    )
    assert [(r.time.minute, r.value) for r in readings] == [(0, 1500.0), (2, 2000.0)]
    with pytest.raises(DeviceProtocolError):
        parse_history({"message": "oops"}, {}, site="s")


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.recursive(
        st.none() | st.booleans() | st.floats() | st.text(max_size=8) | st.integers(),
        lambda inner: (
            st.lists(inner, max_size=4)
            | st.dictionaries(
                st.sampled_from(["entity_id", "state", "last_changed", "last_updated", "x"]), inner
            )
        ),
        max_leaves=12,
    )
)
def test_fuzz_history_and_state(payload: Any) -> None:
    entity_map = {"sensor.pv": HaEntity(metric="pv_power_w")}
    for parse in (
        lambda p: parse_history(p, entity_map, site="s"),
        lambda p: parse_state(p, entity_map["sensor.pv"], site="s"),
    ):
        with contextlib.suppress(DeviceProtocolError):
            parse(payload)


def test_history_url_encodes_times() -> None:
    url = history_url(
        "http://ha.local:8123/",
        ["sensor.a", "sensor.b"],
        start=datetime(2022, 10, 19, 19, 0, tzinfo=UTC),
        end=datetime(2022, 10, 20, 19, 0, tzinfo=UTC),
    )
    assert url == (
        "http://ha.local:8123/api/history/period/2022-10-19T19:00:00%2B00:00"
        "?end_time=2022-10-20T19:00:00%2B00:00&filter_entity_id=sensor.a,sensor.b"
        "&minimal_response&no_attributes"
    )


# --------------------------------------------------------------------------- driver <-> simulator


async def test_states_are_mapped_with_scale_and_device(
    sim: HomeAssistantSimulator, http: httpx.AsyncClient
) -> None:
    ha = _device(sim.url, http)
    await ha.start()
    readings = await ha.read(NOW)
    assert _by_metric(readings) == {
        ("pv_power_w", ""): 2345.0,
        ("battery_soc_pct", "bank"): 87.0,
        ("load_on", "miner-1"): 1.0,  # from the load's switch
        ("grid_charge_on", "ha"): 0.0,  # from grid_charge_switch
    }
    # 6 entities: one GET /api/states rather than six requests
    assert [r for r in sim.requests if r.startswith("GET /api/states")] == ["GET /api/states"]
    soc = next(r for r in readings if r.metric == "battery_soc_pct")
    raw = (await http.get(f"{sim.url}/api/states/sensor.battery_soc", headers=_auth())).json()
    assert soc.time == datetime.fromisoformat(raw["last_reported"])
    # unavailable and unknown are dropped and counted
    assert ha.skipped == 2
    assert ha.skipped_by_entity == {"sensor.grid_power": 1, "sensor.inverter_temp": 1}

    # nothing new written by HA: nothing repeated; a new value: just that one
    assert await ha.read(NOW) == []
    sim.set_state("sensor.grid_power", "-1250.5")
    assert _by_metric(await ha.read(NOW)) == {("grid_power_w", ""): -1250.5}
    assert ha.skipped == 5  # counted per poll: 2 + 2 + inverter_temp still unknown


def _auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}"}


async def test_few_entities_are_fetched_one_by_one(
    sim: HomeAssistantSimulator, http: httpx.AsyncClient
) -> None:
    ha = _device(
        sim.url,
        http,
        entities={"sensor.battery_soc": {"metric": "battery_soc_pct"}},
        switches={},
        grid_charge_switch=None,
    )
    assert _by_metric(await ha.read(NOW)) == {("battery_soc_pct", ""): 87.0}
    assert sim.requests == ["GET /api/states/sensor.battery_soc"]


async def test_switch_turn_off_is_verified_by_reading_back(
    sim: HomeAssistantSimulator, http: httpx.AsyncClient
) -> None:
    ha = _device(sim.url, http)
    command = DeviceCommand(kind="set_load", target="miner-1", on=False)
    assert ha.handles(command)
    assert not ha.handles(DeviceCommand(kind="set_load", target="pump"))
    assert not ha.handles(DeviceCommand(kind="min_soc", value=30))
    await ha.execute(command)
    assert sim.state("switch.miner_1") == "off"
    assert sim.service_calls == [("switch", "turn_off", {"entity_id": "switch.miner_1"})]
    assert sim.requests[-1] == "GET /api/states/switch.miner_1"  # the read-back
    # the domain comes from the entity id
    await ha.execute(DeviceCommand(kind="generator", on=True))
    assert sim.service_calls[-1] == (
        "input_boolean",
        "turn_on",
        {"entity_id": "input_boolean.generator"},
    )
    assert sim.state("input_boolean.generator") == "on"
    await ha.execute(DeviceCommand(kind="grid_charge", on=True))
    assert sim.state("switch.grid_charge") == "on"
    with pytest.raises(DeviceRefused):
        await ha.execute(DeviceCommand(kind="min_soc", value=30))


async def test_switch_that_does_not_follow_is_a_readback_mismatch(
    sim: HomeAssistantSimulator, http: httpx.AsyncClient
) -> None:
    sim.stuck.add("switch.miner_1")
    ha = _device(sim.url, http, readback_timeout_s=0.3)
    with pytest.raises(ReadbackMismatch, match=r"turn switch\.miner_1 off but it reads 'on'"):
        await ha.execute(DeviceCommand(kind="set_load", target="miner-1", on=False))


async def test_bad_token_is_an_auth_error(
    sim: HomeAssistantSimulator, http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_ENV, "not-the-token")
    ha = _device(sim.url, http)
    with pytest.raises(DeviceAuthError) as err:
        await ha.start()
    assert "refused the token (HTTP 401)" in str(err.value)
    assert TOKEN_ENV in str(err.value) and "not-the-token" not in str(err.value)
    monkeypatch.delenv(TOKEN_ENV)
    with pytest.raises(DeviceAuthError, match=f"{TOKEN_ENV} is not set"):
        await ha.read(NOW)


async def test_a_missing_entity_is_named_and_the_others_are_still_read(
    sim: HomeAssistantSimulator, http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    few = {"sensor.battery_soc": {"metric": "battery_soc_pct"}, "sensor.typo": {"metric": "temp_c"}}
    many = {**ENTITIES, "sensor.typo": {"metric": "temp_c"}}
    for entities in (few, many):  # one GET per entity, and the bulk /api/states path
        ha = _device(sim.url, http, entities=entities, switches={}, grid_charge_switch=None)
        with caplog.at_level(logging.WARNING):
            readings = await ha.read(NOW)
            await ha.read(NOW)
        assert "battery_soc_pct" in {r.metric for r in readings}
        assert "temp_c" not in {r.metric for r in readings}
        assert ha.rejected_by_reason == {"missing": 2}
        said = [r.getMessage() for r in caplog.records if "sensor.typo" in r.getMessage()]
        assert len(said) == 1 and "has no entity sensor.typo" in said[0], said  # said once
        caplog.clear()
    only_typos = {"sensor.typo": {"metric": "temp_c"}}
    ha = _device(sim.url, http, entities=only_typos, switches={}, grid_charge_switch=None)
    with pytest.raises(DeviceProtocolError, match=r"no entity sensor\.typo"):
        await ha.read(NOW)


async def test_unreachable_and_slow(http: httpx.AsyncClient) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(DeviceUnreachable, match="unreachable"):
        await _device(f"http://127.0.0.1:{port}", http).start()
    async with HomeAssistantSimulator(token=TOKEN, states=STATES) as slow:
        slow.delay_s = 0.5
        with pytest.raises(DeviceTimeout, match=r"within 0\.2 s"):
            await _device(slow.url, http, timeout_s=0.2).start()


async def test_fetch_history_through_the_simulator(
    http: httpx.AsyncClient, history_payload: list[list[dict[str, Any]]]
) -> None:
    async with HomeAssistantSimulator(token=TOKEN, history=history_payload) as sim:
        conn = HomeAssistantConnection(
            url=sim.url,
            token_env=TOKEN_ENV,
            entities={
                ENTITY: HaEntity(metric="load_power_w"),
                "sensor.pv": HaEntity(metric="pv_power_w"),
            },
        )
        readings = await fetch_history(
            http,
            conn,
            start=datetime(2022, 10, 19, 19, 0, tzinfo=UTC),
            end=datetime(2022, 10, 20, 19, 0, tzinfo=UTC),
            site="home",
        )
        # the simulator answered in the minimal format: one full row, then state+last_changed
        assert len(readings) == 8723
        assert readings[0].value == 407.23 and readings[-1].value == 3050.28
        assert "minimal_response&no_attributes" in sim.requests[-1]
        # an evening only
        evening = await fetch_history(
            http,
            conn,
            start=datetime(2022, 10, 19, 19, 0, tzinfo=UTC),
            end=datetime(2022, 10, 19, 20, 0, tzinfo=UTC),
            site="home",
        )
        assert 0 < len(evening) < 400
        assert all(r.time <= datetime(2022, 10, 19, 20, 0, tzinfo=UTC) for r in evening)


# ------------------------------------------------------------------------------- backfill command


def _shifted(payload: list[list[dict[str, Any]]], delta: timedelta) -> list[list[dict[str, Any]]]:
    """The fixture moved in time by ``delta`` (so that it falls within "the last day")."""

    def move(text: str) -> str:
        return (datetime.fromisoformat(text) + delta).isoformat()

    return [
        [
            {
                **row,
                **{k: move(row[k]) for k in ("last_changed", "last_updated") if k in row},
            }
            for row in series
        ]
        for series in payload
    ]


def _cli() -> typer.Typer:
    app = typer.Typer()
    app.command()(backfill_command)
    return app


def _write_site_file(path: Path, url: str | None) -> Path:
    devices: list[dict[str, Any]] = [{"name": "inverter", "driver": "simulator"}]
    if url is not None:
        devices = [
            {
                "name": "ha",
                "driver": "homeassistant",
                "connection": {
                    "url": url,
                    "token_env": TOKEN_ENV,
                    "entities": {ENTITY: {"metric": "load_power_w"}},
                },
            }
        ]
    site = {"name": "home", "location": {"latitude": 48.85, "longitude": 2.35}, "devices": devices}
    path.write_text(yaml.safe_dump({"sites": [site]}), encoding="utf-8")
    return path


async def test_backfill_command_imports_the_history(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    history_payload: list[list[dict[str, Any]]],
) -> None:
    monkeypatch.setenv("COMMANDCENTER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DATABASE_URL", "")  # the SQLite file in the data dir
    last = datetime.fromisoformat(history_payload[0][-1]["last_changed"])
    recent = _shifted(history_payload, datetime.now(UTC) - timedelta(minutes=10) - last)
    async with HomeAssistantSimulator(token=TOKEN, history=recent) as sim:
        site_file = _write_site_file(tmp_path / "sites.yaml", sim.url)
        args = ["--site", "home", "--days", "1.1", "--site-file", str(site_file)]
        runner = CliRunner()
        # the command runs its own event loop: give it a thread, keep ours serving the simulator
        first = await asyncio.to_thread(runner.invoke, _cli(), args)
        assert first.exit_code == 0, first.output
        # 8,723 states, of which 69 negative ones are outside load_power_w's range
        assert "Imported 8654 readings" in first.output
        assert "69 outside their metric's range" in first.output
        assert sum("/api/history/period/" in r for r in sim.requests) == 2  # 1.1 days: 2 windows

        again = await asyncio.to_thread(runner.invoke, _cli(), args)
        assert again.exit_code == 0, again.output
        assert "Imported 0 readings" in again.output
        assert "Skipped 8654 already stored" in again.output

    engine = create_engine(f"sqlite:///{tmp_path / 'data' / 'commandcenter.sqlite'}")
    try:
        async with create_sessionmaker(engine)() as session:
            assert await repo.count_readings(session, site="home") == 8654
            end = datetime.now(UTC) + timedelta(hours=1)
            hours = await repo.hourly_between(
                session, site="home", metric="load_power_w", start=end - timedelta(days=2), end=end
            )
            assert sum(h.count for h in hours) == 8654
    finally:
        await engine.dispose()


def test_backfill_command_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMMANDCENTER_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    no_ha = _write_site_file(tmp_path / "plain.yaml", None)
    result = runner.invoke(_cli(), ["--site", "home", "--site-file", str(no_ha)])
    assert result.exit_code == 2
    assert "has no homeassistant device" in result.output
    result = runner.invoke(_cli(), ["--site", "nowhere", "--site-file", str(no_ha)])
    assert result.exit_code == 2
    assert "Unknown site 'nowhere'" in result.output
