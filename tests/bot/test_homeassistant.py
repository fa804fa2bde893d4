"""Home Assistant MQTT discovery on the real broker: payloads, states, last will, removal."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from bot.homeassistant import SEVERITIES, Topics, parse_broker_url, start_bridge
from tests.bot import helpers
from tests.bot.helpers import EVENING, run_minutes, running_bot, say
from tools.clock import ManualClock
from tools.errors import SiteConfigError
from tools.site import SiteFile

SCHEMA = json.loads(
    (Path(__file__).parents[1] / "fixtures/homeassistant/mqtt_discovery_schema.json").read_text()
)
WAIT_S = 30.0


class Recorder:
    """A plain paho subscriber that records every message under a prefix."""

    def __init__(self, host: str, port: int, topic_filter: str) -> None:
        self.messages: list[tuple[str, bytes, bool]] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
        client.on_connect = lambda c, *_a: c.subscribe(topic_filter, qos=1)
        client.on_subscribe = lambda *_a: self._subscribed.set()
        client.on_message = self._on_message
        client.connect(host, port, keepalive=30)
        client.loop_start()
        self.client = client
        if not self._subscribed.wait(10):
            raise TimeoutError("the recorder could not subscribe")

    def _on_message(self, _c: Any, _u: Any, msg: Any) -> None:
        with self._lock:
            self.messages.append((msg.topic, bytes(msg.payload), bool(msg.retain)))

    def latest(self) -> dict[str, bytes]:
        with self._lock:
            return {topic: payload for topic, payload, _r in self.messages}

    async def wait(self, what: str, ok: Callable[[dict[str, bytes]], bool]) -> dict[str, bytes]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT_S
        while loop.time() < deadline:
            latest = self.latest()
            if ok(latest):
                return latest
            await asyncio.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}; saw {sorted(self.latest())}")

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def prefix() -> str:
    return f"cc-test-ha-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def recorder(mqtt_broker: tuple[str, int], prefix: str) -> Iterator[Recorder]:
    rec = Recorder(*mqtt_broker, f"{prefix}/#")
    yield rec
    rec.close()


def _clear_retained(host: str, port: int, topics: list[str]) -> None:
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
    client.connect(host, port)
    client.loop_start()
    for topic in topics:
        client.publish(topic, b"", qos=1, retain=True).wait_for_publish(5)
    client.disconnect()
    client.loop_stop()


def check_discovery(topic: str, payload: dict[str, Any]) -> None:
    """Check one config against Home Assistant's documented schema (the fixture)."""
    assert re.match(SCHEMA["discovery_topic"], topic), topic
    component = topic.split("/")[-4]
    allowed = set(SCHEMA[f"{component}_keys"])
    assert set(payload) <= allowed, f"{topic}: unknown keys {set(payload) - allowed}"
    for key in SCHEMA["required"][component]:
        assert payload.get(key), f"{topic}: {key} missing"
    assert payload["unique_id"] and re.fullmatch(r"[a-z0-9_]+", payload["unique_id"])
    device = payload["device"]
    assert set(device) <= set(SCHEMA["device_keys"]) and device["identifiers"], device
    assert set(payload["origin"]) <= set(SCHEMA["origin_keys"]) and payload["origin"]["name"]
    if "entity_category" in payload:
        assert payload["entity_category"] in SCHEMA["entity_categories"]
    if component == "binary_sensor":
        assert payload["device_class"] in SCHEMA["binary_sensor_device_classes"]
        assert "unit_of_measurement" not in payload and "state_class" not in payload
        return
    state_class = payload.get("state_class")
    if state_class is not None:
        assert state_class in SCHEMA["state_classes"]
    device_class = payload.get("device_class")
    if device_class is not None:
        units = SCHEMA["sensor_device_class_units"][device_class]
        unit = payload.get("unit_of_measurement")
        assert (unit in units) if units else unit is None, f"{topic}: unit {unit!r}"
        if state_class is not None:
            assert state_class in SCHEMA["sensor_device_class_state_classes"][device_class]
    # Every sensor of the bot goes unavailable with the bot.
    assert payload["availability_topic"] and payload["payload_not_available"] == "offline"


def _two_sites() -> SiteFile:
    base = helpers.test_site_file()
    barn = base.sites[0].model_copy(update={"name": "barn", "title": "Barn"})
    return base.model_copy(update={"sites": [base.sites[0], barn]})


async def test_discovery_states_and_last_will_on_the_broker(
    db_url: str,
    tmp_path: Path,
    mqtt_broker: tuple[str, int],
    prefix: str,
    recorder: Recorder,
) -> None:
    host, port = mqtt_broker
    clock = ManualClock(EVENING)
    topics = Topics(f"{prefix}/homeassistant", f"{prefix}/commandcenter")
    async with running_bot(db_url=db_url, data_dir=tmp_path, clock=clock) as (app, _ad, _drv):
        await run_minutes(app, clock, 3)
        await app.chat.handle_message(say("olga", "stop the miners"))
        bridge = await start_bridge(
            url=f"mqtt://{host}:{port}",
            sessionmaker=app.sessionmaker,
            sites=app.sites,
            served=app.cluster.sites,
            state=app.pipeline.latest,
            forecasts=app.forecasts,
            clock=clock,
            topics=topics,
            version="9.9.9",
            run_loop=False,
        )
        try:
            await bridge.publisher.refresh()
            configs = {
                t: json.loads(p)
                for t, p in (
                    await recorder.wait(
                        "11 discovery configs and the states",
                        lambda m: (
                            sum(t.endswith("/config") for t in m) == 11
                            and set(bridge.publisher.published) <= set(m)
                        ),
                    )
                ).items()
                if t.endswith("/config")
            }
            for topic, payload in configs.items():
                check_discovery(topic, payload)
            by_id = {p["unique_id"]: p for p in configs.values()}
            assert set(by_id) == {
                f"commandcenter_demo_{o}"
                for o in (
                    "battery_floor",
                    *(f"open_alerts_{s}" for s in SEVERITIES),
                    "pending_approvals",
                    "solar_forecast_today",
                    "solar_forecast_tomorrow",
                    "next_generator_run",
                    "fuel_days_left",
                    "miner_plan",
                    "bot_online",
                )
            }
            # One device for the site, shared by every entity.
            devices = {json.dumps(p["device"], sort_keys=True) for p in configs.values()}
            assert len(devices) == 1
            device = next(iter(configs.values()))["device"]
            assert device["identifiers"] == ["commandcenter_demo"]
            assert device["name"] == f"{app.sites['demo'].display_name} (CommandCenter)"
            assert device["sw_version"] == "9.9.9"
            tomorrow = by_id["commandcenter_demo_solar_forecast_tomorrow"]
            assert (tomorrow["unit_of_measurement"], tomorrow["device_class"]) == ("kWh", "energy")
            assert "state_class" not in tomorrow  # a forecast is not a meter total
            online = by_id["commandcenter_demo_bot_online"]
            assert online["state_topic"] == topics.availability
            assert "command_topic" not in json.dumps(list(configs.values()))  # sensors only

            state = recorder.latest()

            def value(obj: str, kind: str = "state") -> str:
                return state[f"{topics.state_prefix}/demo/{obj}/{kind}"].decode()

            assert value("battery_floor") == "20"
            assert value("pending_approvals") == "1"
            pending = json.loads(value("pending_approvals", "attributes"))["requests"]
            assert pending[0]["title"] == "stop_miners"
            assert int(value("open_alerts_critical")) >= 0
            attrs = json.loads(value("solar_forecast_tomorrow", "attributes"))
            assert 0 < attrs["p10_kwh"] <= attrs["p50_kwh"] <= attrs["p90_kwh"]
            assert float(value("solar_forecast_tomorrow")) == attrs["p50_kwh"]
            run = value("next_generator_run")
            assert run == "None" or datetime.fromisoformat(run).tzinfo is not None
            days = value("fuel_days_left")
            assert days == "None" or float(days) > 0
            assert "fuel_now_l" in json.loads(value("fuel_days_left", "attributes"))
            assert float(value("miner_plan")) >= 0
            assert "summary" in json.loads(value("miner_plan", "attributes"))
            assert state[topics.availability] == b"online"
            # Retained: a client arriving later gets the configs and states at once.
            late = Recorder(host, port, f"{prefix}/#")
            try:
                await late.wait(
                    "retained configs",
                    lambda m: (
                        sum(t.endswith("/config") for t in m) == 11
                        and m.get(topics.availability) == b"online"
                    ),
                )
            finally:
                late.close()

            # The connection dies without a goodbye: the broker publishes the last will.
            sock = bridge.mqtt._client.socket()
            assert isinstance(sock, socket.socket)
            sock.shutdown(socket.SHUT_RDWR)
            await recorder.wait("the last will", lambda m: m.get(topics.availability) == b"offline")
            # paho reconnects; the next refresh announces the bot again
            await recorder.wait(
                "reconnect",
                lambda _m: bridge.mqtt.connected and bridge.publisher._republish.is_set(),
            )
            await bridge.publisher.refresh()
            await recorder.wait("online again", lambda m: m.get(topics.availability) == b"online")
        finally:
            await bridge.stop()
        await recorder.wait("offline on stop", lambda m: m.get(topics.availability) == b"offline")
    _clear_retained(host, port, [*configs, topics.availability])


async def test_a_removed_site_is_removed_from_home_assistant(
    sqlite_url: str,
    tmp_path: Path,
    mqtt_broker: tuple[str, int],
    prefix: str,
    recorder: Recorder,
) -> None:
    host, port = mqtt_broker
    clock = ManualClock(EVENING)
    topics = Topics(f"{prefix}/ha", f"{prefix}/cc")
    two = _two_sites()
    async with running_bot(db_url=sqlite_url, data_dir=tmp_path, clock=clock, site_file=two) as (
        app,
        _ad,
        _drv,
    ):
        common = {
            "url": f"mqtt://{host}:{port}",
            "sessionmaker": app.sessionmaker,
            "state": app.pipeline.latest,
            "forecasts": None,
            "clock": clock,
            "topics": topics,
            "version": "1",
            "run_loop": False,
        }
        first = await start_bridge(sites=app.sites, served=["demo", "barn"], **common)  # type: ignore[arg-type]
        await first.publisher.refresh()
        await first.stop()
        barn_floor = f"{topics.state_prefix}/barn/battery_floor/state"
        seen = await recorder.wait(
            "both sites",
            lambda m: (
                f"{topics.discovery_prefix}/sensor/commandcenter_barn/battery_floor/config" in m
                and barn_floor in m
            ),
        )
        barn_configs = [t for t in seen if "/commandcenter_barn/" in t]
        assert len(barn_configs) == 11

        # The barn leaves the site file: the next start empties its retained topics.
        demo_only = {"demo": app.sites["demo"]}
        second = await start_bridge(sites=demo_only, served=["demo"], **common)  # type: ignore[arg-type]
        await second.stop()
        await recorder.wait(
            "empty retained configs for the barn",
            lambda m: all(m.get(t) == b"" for t in barn_configs) and m.get(barn_floor) == b"",
        )
        late = Recorder(host, port, f"{prefix}/#")
        try:
            got = await late.wait(
                "the demo's retained configs",
                lambda m: sum("/commandcenter_demo/" in t for t in m) == 11,
            )
            assert not [t for t in got if "/barn" in t or "commandcenter_barn" in t]
        finally:
            late.close()
    _clear_retained(host, port, [t for t in got if t.endswith("/config")] + [topics.availability])


def test_broker_url_is_checked() -> None:
    broker = parse_broker_url("mqtts://ha%40home:p%3Ass@broker.lan")
    assert (broker.host, broker.port, broker.username, broker.password, broker.tls) == (
        "broker.lan",
        8883,
        "ha@home",
        "p:ss",
        True,
    )
    assert parse_broker_url("mqtt://127.0.0.1").port == 1883
    with pytest.raises(SiteConfigError, match="mqtt://"):
        parse_broker_url("http://broker:1883")


async def test_settings_turn_on_the_sensors_and_the_metrics_port(
    sqlite_url: str,
    tmp_path: Path,
    mqtt_broker: tuple[str, int],
    prefix: str,
    recorder: Recorder,
) -> None:
    """COMMANDCENTER_HA_MQTT_URL and COMMANDCENTER_METRICS_PORT, as the worker starts them."""
    import aiohttp

    from bot.gateways import start_worker_extras
    from bot.settings import Settings

    host, port = mqtt_broker
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        metrics_port = s.getsockname()[1]
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        COMMANDCENTER_HA_MQTT_URL=f"mqtt://{host}:{port}",
        COMMANDCENTER_HA_DISCOVERY_PREFIX=f"{prefix}/ha",
        COMMANDCENTER_HA_STATE_PREFIX=f"{prefix}/cc",
        COMMANDCENTER_METRICS_PORT=str(metrics_port),
    )
    clock = ManualClock(EVENING)
    async with running_bot(db_url=sqlite_url, data_dir=tmp_path, clock=clock) as (app, _a, _d):
        await run_minutes(app, clock, 2)
        extras = await start_worker_extras(app, settings)
        try:
            seen = await recorder.wait(
                "the configs and the first states",
                lambda m: (
                    sum(t.endswith("/config") for t in m) == 11
                    and m.get(f"{prefix}/cc/demo/battery_floor/state") == b"20"
                ),
            )
            async with aiohttp.ClientSession() as http:
                base = f"http://127.0.0.1:{metrics_port}"
                async with http.get(f"{base}/metrics") as response:
                    assert "commandcenter_site_soc_percent" in await response.text()
                async with http.get(f"{base}/readyz") as response:
                    assert response.status == 200
        finally:
            await extras.stop()
        await recorder.wait("offline", lambda m: m.get(f"{prefix}/cc/status") == b"offline")
    _clear_retained(
        host, port, [t for t in seen if t.endswith("/config")] + [f"{prefix}/cc/status"]
    )


def test_each_named_worker_has_its_own_availability() -> None:
    assert Topics("ha", "cc").availability == "cc/status"
    assert Topics("ha", "cc", worker="pi-1").availability == "cc/status/pi-1"
    assert Topics("ha", "cc", worker="host:12/+#").availability == "cc/status/host_12___"
