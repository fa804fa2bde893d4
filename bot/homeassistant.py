"""Home Assistant, the other way: the bot's own sensors over MQTT discovery.

Each site becomes a Home Assistant device with read-only sensors (battery floor
in force, open alerts by severity, pending approvals, solar forecast, next
generator run, miner plan, fuel days left, bot online). Discovery configs go to
``<discovery prefix>/<component>/<node id>/<object id>/config`` (retained, so Home
Assistant finds them after a restart, and sent again when Home Assistant announces
itself on ``<discovery prefix>/status``); states and attributes go to
``<state prefix>/<site>/<object id>/state|attributes`` (retained); the bot's
availability is ``<state prefix>/status`` with a last will of ``offline``.

There is no command topic anywhere: Home Assistant gets sensors, never a way
around the approval gate. The topics published are recorded in the database, so
a site or entity that is no longer configured is removed from Home Assistant (an
empty retained config) on the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import ssl
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

import pandas as pd
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import ActionRequestRow, AlertRow, HaDiscoveryRow
from tools.clock import Clock
from tools.errors import SiteConfigError
from tools.forecast.battery import project_soc
from tools.forecast.fuel import fuel_forecast
from tools.forecast.plans import plan_generator, plan_miners
from tools.forecast.service import ForecastService, SiteForecast
from tools.site import Site
from tools.telemetry import SiteState

log = logging.getLogger(__name__)

Component = Literal["sensor", "binary_sensor"]
SEVERITIES = ("critical", "warning", "info")
PAYLOAD_NONE = "None"  # Home Assistant's MQTT sensor reads this payload as "unknown"
ONLINE, OFFLINE = "online", "offline"
MANUFACTURER = "CommandCenter"
ORIGIN_URL = "https://github.com/commandcenter/commandcenter"


# -- what is published (pure) -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HaEntity:
    object_id: str
    component: Component
    name: str
    unit: str | None = None
    device_class: str | None = None
    state_class: str | None = None
    icon: str | None = None
    attributes: bool = False
    entity_category: str | None = None


BOT_ONLINE = HaEntity(
    "bot_online",
    "binary_sensor",
    "Bot online",
    device_class="connectivity",
    entity_category="diagnostic",
)


def site_entities(site: Site) -> list[HaEntity]:
    """The sensors a site gets: only those its equipment makes meaningful."""
    entities: list[HaEntity] = []
    if site.battery is not None:
        entities.append(
            HaEntity(
                "battery_floor",
                "sensor",
                "Battery floor",
                unit="%",
                state_class="measurement",
                icon="mdi:battery-lock",
            )
        )
    for severity in SEVERITIES:
        entities.append(
            HaEntity(
                f"open_alerts_{severity}",
                "sensor",
                f"Open alerts ({severity})",
                state_class="measurement",
                icon="mdi:alert",
                attributes=True,
            )
        )
    entities.append(
        HaEntity(
            "pending_approvals",
            "sensor",
            "Pending approvals",
            state_class="measurement",
            icon="mdi:account-clock",
            attributes=True,
        )
    )
    if site.pv_arrays:
        for day in ("today", "tomorrow"):
            label = "rest of today" if day == "today" else day
            entities.append(
                HaEntity(
                    f"solar_forecast_{day}",
                    "sensor",
                    f"Solar forecast {label}",
                    unit="kWh",
                    device_class="energy",
                    icon="mdi:solar-power",
                    attributes=True,
                )
            )
    if site.generator is not None and site.battery is not None:
        entities.append(
            HaEntity(
                "next_generator_run",
                "sensor",
                "Next generator run",
                device_class="timestamp",
                icon="mdi:engine",
                attributes=True,
            )
        )
        entities.append(
            HaEntity(
                "fuel_days_left",
                "sensor",
                "Fuel days left",
                unit="d",
                device_class="duration",
                state_class="measurement",
                icon="mdi:gas-station",
                attributes=True,
            )
        )
    if site.miners and site.battery is not None:
        entities.append(
            HaEntity(
                "miner_plan",
                "sensor",
                "Miner hours planned (24 h)",
                unit="h",
                device_class="duration",
                state_class="measurement",
                icon="mdi:pickaxe",
                attributes=True,
            )
        )
    entities.append(BOT_ONLINE)
    return entities


@dataclass(frozen=True, slots=True)
class Topics:
    discovery_prefix: str = "homeassistant"
    state_prefix: str = "commandcenter"
    worker: str | None = None
    """With several workers (``COMMANDCENTER_WORKER_ID``), each has its own availability
    topic and last will, so one stopping marks only its own sites unavailable."""

    @property
    def availability(self) -> str:
        if self.worker:
            safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in self.worker)
            return f"{self.state_prefix}/status/{safe}"
        return f"{self.state_prefix}/status"

    @property
    def ha_status(self) -> str:
        """Where Home Assistant announces itself (its birth message)."""
        return f"{self.discovery_prefix}/status"

    @staticmethod
    def node_id(site: str) -> str:
        return "commandcenter_" + site.replace("-", "_")

    def config(self, site: str, entity: HaEntity) -> str:
        return (
            f"{self.discovery_prefix}/{entity.component}/{self.node_id(site)}/"
            f"{entity.object_id}/config"
        )

    def state(self, site: str, entity: HaEntity) -> str:
        if entity is BOT_ONLINE:
            return self.availability
        return f"{self.state_prefix}/{site}/{entity.object_id}/state"

    def attributes(self, site: str, object_id: str) -> str:
        return f"{self.state_prefix}/{site}/{object_id}/attributes"


def discovery_payload(
    site: Site, entity: HaEntity, topics: Topics, *, version: str
) -> dict[str, Any]:
    """The discovery config of one entity (Home Assistant's full key names)."""
    node = topics.node_id(site.name)
    payload: dict[str, Any] = {
        "name": entity.name,
        "unique_id": f"{node}_{entity.object_id}",
        "state_topic": topics.state(site.name, entity),
        "device": {
            "identifiers": [node],
            "name": f"{site.display_name} (CommandCenter)",
            "manufacturer": MANUFACTURER,
            "model": "Energy site",
            "sw_version": version,
        },
        "origin": {"name": "CommandCenter", "sw_version": version, "support_url": ORIGIN_URL},
    }
    if entity is BOT_ONLINE:
        payload["payload_on"] = ONLINE
        payload["payload_off"] = OFFLINE
    else:
        payload["availability_topic"] = topics.availability
        payload["payload_available"] = ONLINE
        payload["payload_not_available"] = OFFLINE
    for key, value in (
        ("unit_of_measurement", entity.unit),
        ("device_class", entity.device_class),
        ("state_class", entity.state_class),
        ("icon", entity.icon),
        ("entity_category", entity.entity_category),
    ):
        if value is not None:
            payload[key] = value
    if entity.attributes:
        payload["json_attributes_topic"] = topics.attributes(site.name, entity.object_id)
    return payload


@dataclass(slots=True)
class SiteValues:
    """States (the payload text) and attributes by object id."""

    states: dict[str, str] = field(default_factory=dict)
    attributes: dict[str, dict[str, Any]] = field(default_factory=dict)

    def merge(self, other: SiteValues) -> None:
        self.states.update(other.states)
        self.attributes.update(other.attributes)


def _num(value: float | None, digits: int = 1) -> str:
    return PAYLOAD_NONE if value is None else f"{round(value, digits):g}"


def _iso(when: datetime | None) -> str:
    return PAYLOAD_NONE if when is None else when.isoformat()


def status_values(
    site: Site,
    *,
    alerts: Sequence[tuple[str, str]],
    pending: Sequence[tuple[str, str]],
) -> SiteValues:
    """Floor, alerts by severity and pending approvals (cheap: every refresh).

    ``alerts`` is (severity, title) of the open alerts; ``pending`` (id, title) of the
    action requests waiting for approval. ``site`` is the effective site, so a floor
    set in chat is the floor in force.
    """
    values = SiteValues()
    if site.battery is not None:
        values.states["battery_floor"] = _num(site.battery.min_soc_pct)
    for severity in SEVERITIES:
        titles = [title for sev, title in alerts if sev == severity]
        values.states[f"open_alerts_{severity}"] = str(len(titles))
        values.attributes[f"open_alerts_{severity}"] = {"alerts": titles}
    values.states["pending_approvals"] = str(len(pending))
    values.attributes["pending_approvals"] = {
        "requests": [{"id": action_id, "title": title} for action_id, title in pending],
        "how_to_decide": "approve or reject in chat",
    }
    return values


def _day_bounds(site: Site, now: datetime, offset_days: int) -> tuple[datetime, datetime]:
    day = now.astimezone(site.tz).date() + timedelta(days=offset_days)
    start = datetime.combine(day, datetime.min.time(), tzinfo=site.tz)
    return start, start + timedelta(days=1)


def plan_values(
    site: Site, forecast: SiteForecast, state: SiteState, *, now: datetime
) -> SiteValues:
    """Solar forecast, next generator run, miner plan and fuel days left (CPU: run it
    off the event loop)."""
    values = SiteValues()
    if site.pv_arrays:
        for day, offset in (("today", 0), ("tomorrow", 1)):
            start, end = _day_bounds(site, now, offset)
            p10, p50, p90 = (
                forecast.energy_kwh(series, start, end)
                for series in (forecast.pv_p10_w, forecast.pv_p50_w, forecast.pv_p90_w)
            )
            values.states[f"solar_forecast_{day}"] = _num(p50, 2)
            values.attributes[f"solar_forecast_{day}"] = {
                "p10_kwh": round(p10, 2),
                "p50_kwh": round(p50, 2),
                "p90_kwh": round(p90, 2),
                "period_start": max(start, forecast.times[0].to_pydatetime())
                .astimezone(site.tz)
                .isoformat(),
                "period_end": end.isoformat(),
                "weather_source": forecast.weather_source,
            }
    soc = state.get("battery_soc_pct")
    if site.battery is None or soc is None:
        return values
    if site.generator is not None:
        values.merge(_generator_values(site, forecast, state, soc))
    if site.miners:
        values.merge(_miner_values(site, forecast, state, soc))
    return values


def _generator_values(
    site: Site, forecast: SiteForecast, state: SiteState, soc: float
) -> SiteValues:
    assert site.generator is not None and site.battery is not None
    running_now = (state.get("generator_running") or 0) >= 0.5
    floor = site.battery.min_soc_pct
    target = min(floor + site.generator.plan_reserve_pct, 95.0)

    def plan_for(min_soc_pct: float) -> Any:
        return plan_generator(
            site,
            soc_start_pct=soc,
            pv_w=forecast.pv_p50_w,
            load_w=forecast.load_p50_w,
            min_soc_pct=min_soc_pct,
            running_now=running_now,
            times=forecast.times,
        )

    plan = plan_for(target)
    if target > floor and not plan.feasible:
        plan = plan_for(floor)
    first = plan.runs[0] if plan.runs else None
    values = SiteValues()
    values.states["next_generator_run"] = _iso(first[0] if first else None)
    values.attributes["next_generator_run"] = {
        "run_end": _iso(first[1]) if first else None,
        "runs": [[a.isoformat(), b.isoformat()] for a, b in plan.runs],
        "hours": plan.hours,
        "fuel_l": round(plan.fuel_l, 1),
        "running_now": running_now,
        "feasible": plan.feasible,
        "reason": plan.reason,
        "planned_as_off_grid": site.grid.present,  # the grid covers a shortfall while up
        "note": "nothing starts by itself: a run is requested and approved in chat",
    }
    projection = project_soc(
        site,
        soc_start_pct=soc,
        pv_w=forecast.pv_p50_w,
        load_w=forecast.load_p50_w,
        times=forecast.times,
        grid_present=False,
    )
    hours = max(len(forecast.times), 1)
    per_day = projection.energy_needed_to_stay_above_floor_wh * 24.0 / hours
    fuel = fuel_forecast(
        site, deficit_wh_per_day=[per_day] * 30, fuel_now_l=state.get("generator_fuel_l")
    )
    values.states["fuel_days_left"] = _num(fuel.days_of_tank_left)
    values.attributes["fuel_days_left"] = {
        "fuel_now_l": round(fuel.fuel_now_l, 1),
        "litres_30d": round(fuel.total_l, 1),
        "litres_per_kwh": round(fuel.litres_per_kwh, 3),
        "lasts_beyond_forecast": fuel.days_of_tank_left is None,
        "curve": fuel.curve_label,
    }
    return values


def _miner_values(site: Site, forecast: SiteForecast, state: SiteState, soc: float) -> SiteValues:
    hours = 24
    times = forecast.times[:hours]
    running_w = sum(
        m.power_kw * 1000 for m in site.miners if (state.devices("load_on").get(m.name) or 0) >= 0.5
    )
    base_load = (forecast.load_p50_w.iloc[:hours] - running_w).clip(lower=0.0)
    plan = plan_miners(
        site,
        soc_start_pct=soc,
        pv_w=forecast.pv_p50_w.iloc[:hours],
        load_w=base_load,
        times=times,
    )
    on = plan.plan.miners_on
    starts = [pd.Timestamp(t).to_pydatetime() for t, n in on.items() if n]
    values = SiteValues()
    values.states["miner_plan"] = str(int(plan.plan.miner_hours))
    values.attributes["miner_plan"] = {
        "next_on": _iso(starts[0]) if starts else None,
        "schedule": [
            {"hour": pd.Timestamp(t).isoformat(), "miners": int(n)} for t, n in on.items() if n
        ],
        "min_soc_pct": round(plan.min_soc_pct, 1),
        "summary": plan.summary,
    }
    return values


# -- the MQTT connection ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BrokerUrl:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    tls: bool = False


def parse_broker_url(url: str) -> BrokerUrl:
    """``mqtt://[user:password@]host[:port]`` or ``mqtts://...``; a clear error otherwise."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl") or not parts.hostname:
        raise SiteConfigError(
            "COMMANDCENTER_HA_MQTT_URL must look like mqtt://user:password@host:1883 "
            f"(or mqtts:// for TLS), got scheme {parts.scheme or 'none'!r}"
        )
    tls = parts.scheme in ("mqtts", "ssl")
    try:
        port = parts.port or (8883 if tls else 1883)
    except ValueError as err:
        raise SiteConfigError(f"COMMANDCENTER_HA_MQTT_URL has a bad port: {err}") from None
    return BrokerUrl(
        host=parts.hostname,
        port=port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        tls=tls,
    )


class HaMqtt:
    """A paho-mqtt connection with the bot's last will on the availability topic."""

    def __init__(self, broker: BrokerUrl, *, will_topic: str) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        self._mqtt = mqtt
        self.broker = broker
        self._will_topic = will_topic
        self._connected = threading.Event()
        self._refused = ""
        self._handlers: dict[str, Callable[[bytes], None]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self.on_connect: Callable[[], None] | None = None
        client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=f"commandcenter-ha-{uuid.uuid4().hex[:10]}",
            clean_session=True,
        )
        if broker.username:
            client.username_pw_set(broker.username, broker.password)
        if broker.tls:
            client.tls_set_context(ssl.create_default_context())
        client.will_set(will_topic, OFFLINE, qos=1, retain=True)
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        self._client = client

    @property
    def label(self) -> str:
        return f"Home Assistant MQTT broker {self.broker.host}:{self.broker.port}"

    def _on_connect(self, client: Any, _u: Any, _f: Any, reason: Any, _p: Any = None) -> None:
        if reason.is_failure:
            self._refused = str(reason)
            return
        self._refused = ""
        for topic in self._handlers:
            client.subscribe(topic, qos=1)
        self._connected.set()
        if self.on_connect is not None and self._loop is not None:
            self._loop.call_soon_threadsafe(self.on_connect)

    def _on_disconnect(self, *_args: Any) -> None:
        self._connected.clear()

    def _on_message(self, _client: Any, _userdata: Any, msg: Any) -> None:
        handler = self._handlers.get(msg.topic)
        if handler is not None and self._loop is not None:
            self._loop.call_soon_threadsafe(handler, bytes(msg.payload))

    def subscribe(self, topic: str, handler: Callable[[bytes], None]) -> None:
        """Call ``handler`` on the event loop for each message on ``topic`` (exact)."""
        self._handlers[topic] = handler
        if self._connected.is_set():
            self._client.subscribe(topic, qos=1)

    async def connect(self, timeout_s: float = 10.0) -> None:
        self._loop = asyncio.get_running_loop()
        try:
            self._client.connect_async(self.broker.host, self.broker.port, keepalive=30)
        except (OSError, ValueError) as err:
            raise SiteConfigError(f"{self.label}: {err}; check COMMANDCENTER_HA_MQTT_URL") from err
        self._client.loop_start()
        ok = await asyncio.to_thread(self._connected.wait, timeout_s)
        if self._refused:
            await self.close()
            raise SiteConfigError(f"{self.label} refused the connection: {self._refused}")
        if not ok:
            log.warning("%s not reachable yet; the sensors follow when it is", self.label)

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    async def publish(self, topic: str, payload: str, *, retain: bool = True) -> None:
        """Publish with QoS 1 and wait (bounded) until the broker has it."""
        info = self._client.publish(topic, payload, qos=1, retain=retain)
        if info.rc == self._mqtt.MQTT_ERR_NO_CONN:
            return  # paho keeps QoS 1 messages for the reconnect
        with contextlib.suppress(RuntimeError, ValueError):
            await asyncio.to_thread(info.wait_for_publish, 5.0)

    async def close(self) -> None:
        self._client.disconnect()
        await asyncio.to_thread(self._client.loop_stop)
        self._connected.clear()


# -- the publisher --------------------------------------------------------------------------


class HaPublisher:
    """Publishes discovery configs, states and availability; removes what is gone."""

    def __init__(
        self,
        *,
        mqtt: HaMqtt,
        sessionmaker: async_sessionmaker[AsyncSession],
        sites: Mapping[str, Site],
        served: Sequence[str],
        state: Callable[[str], SiteState],
        forecasts: ForecastService | None,
        clock: Clock,
        topics: Topics,
        version: str,
        plan_interval_s: float = 600.0,
    ) -> None:
        self._mqtt = mqtt
        self._sessionmaker = sessionmaker
        self._sites = sites
        self._served = [name for name in served if name in sites]
        self._state = state
        self._forecasts = forecasts
        self._clock = clock
        self.topics = topics
        self._version = version
        self._plan_interval_s = plan_interval_s
        self._plans: dict[str, tuple[float, SiteValues]] = {}
        self._republish = asyncio.Event()
        self.published: dict[str, str] = {}  # topic -> last payload (states and attributes)

    # discovery

    def discovery(self) -> dict[str, dict[str, Any]]:
        """Every config topic of the served sites with its payload."""
        out: dict[str, dict[str, Any]] = {}
        for name in self._served:
            site = self._sites[name]
            for entity in site_entities(site):
                out[self.topics.config(name, entity)] = discovery_payload(
                    site, entity, self.topics, version=self._version
                )
        return out

    async def announce(self) -> None:
        """Availability online, every discovery config (retained), and removal of the
        configs recorded earlier that are no longer wanted."""
        configs = self.discovery()
        await self._remove_stale(set(configs))
        for topic, payload in configs.items():
            await self._mqtt.publish(topic, json.dumps(payload, sort_keys=True))
        await self._record(configs)
        await self._mqtt.publish(self.topics.availability, ONLINE)

    async def _remove_stale(self, wanted: set[str]) -> None:
        """Empty retained configs (and states) for topics published before but no longer
        configured: a removed site, or an entity its equipment no longer has. Sites
        configured but run by another worker are left alone."""
        async with self._sessionmaker() as session, session.begin():
            rows = (await session.scalars(select(HaDiscoveryRow))).all()
            stale = [
                r
                for r in rows
                if r.topic not in wanted
                and (r.site not in self._sites or r.site in self._served)
                and r.topic.startswith(self.topics.discovery_prefix + "/")
            ]
            for row in stale:
                log.info("removing Home Assistant entity %s", row.topic)
                await self._mqtt.publish(row.topic, "")
                for topic in row.state_topics.get("topics", []):
                    await self._mqtt.publish(topic, "")
                await session.execute(
                    delete(HaDiscoveryRow).where(HaDiscoveryRow.topic == row.topic)
                )

    async def _record(self, configs: Mapping[str, dict[str, Any]]) -> None:
        now = self._clock.now()
        site_of = {Topics.node_id(n): n for n in self._served}
        async with self._sessionmaker() as session, session.begin():
            for topic, payload in configs.items():
                own = [
                    t
                    for t in (payload["state_topic"], payload.get("json_attributes_topic"))
                    if t and t != self.topics.availability
                ]
                await session.merge(
                    HaDiscoveryRow(
                        topic=topic,
                        site=site_of[payload["device"]["identifiers"][0]],
                        state_topics={"topics": own},
                        published_at=now,
                    )
                )

    # states

    async def _status(self) -> dict[str, SiteValues]:
        out: dict[str, SiteValues] = {}
        async with self._sessionmaker() as session:
            alerts = (
                await session.execute(
                    select(AlertRow.site, AlertRow.severity, AlertRow.title)
                    .where(AlertRow.status != "resolved", AlertRow.site.in_(self._served))
                    .order_by(AlertRow.started_at)
                )
            ).all()
            pending = (
                await session.execute(
                    select(ActionRequestRow.site, ActionRequestRow.id, ActionRequestRow.kind)
                    .where(
                        ActionRequestRow.status == "pending",
                        ActionRequestRow.site.in_(self._served),
                    )
                    .order_by(ActionRequestRow.created_at)
                )
            ).all()
        for name in self._served:
            out[name] = status_values(
                self._sites[name],
                alerts=[(sev, title) for site, sev, title in alerts if site == name],
                pending=[(aid, kind) for site, aid, kind in pending if site == name],
            )
        return out

    async def _plan(self, name: str) -> SiteValues:
        site = self._sites[name]
        now_s = self._clock.now().timestamp()
        cached = self._plans.get(name)
        if cached is not None and now_s - cached[0] < self._plan_interval_s:
            return cached[1]
        values = SiteValues()
        wants = site.pv_arrays or (site.battery and (site.generator or site.miners))
        if self._forecasts is not None and wants:
            state = self._state(name)
            try:
                forecast = await self._forecasts.forecast(
                    site, hours=48, current_load_w=state.get("load_power_w")
                )
                values = await asyncio.to_thread(
                    plan_values, site, forecast, state, now=self._clock.now()
                )
            except Exception:
                log.exception("Home Assistant: the forecast of %s failed", name)
        self._plans[name] = (now_s, values)
        return values

    async def refresh(self) -> int:
        """Publish every served site's states and attributes; returns how many changed."""
        if self._republish.is_set():
            self._republish.clear()
            await self.announce()
        status = await self._status()
        changed = 0
        for name in self._served:
            values = status[name]
            values.merge(await self._plan(name))
            site = self._sites[name]
            for entity in site_entities(site):
                if entity is BOT_ONLINE:
                    continue
                state = values.states.get(entity.object_id, PAYLOAD_NONE)
                changed += await self._put(self.topics.state(name, entity), state)
                if entity.attributes:
                    attrs = json.dumps(values.attributes.get(entity.object_id, {}), sort_keys=True)
                    changed += await self._put(
                        self.topics.attributes(name, entity.object_id), attrs
                    )
        return changed

    async def _put(self, topic: str, payload: str) -> int:
        if self.published.get(topic) == payload:
            return 0
        await self._mqtt.publish(topic, payload)
        self.published[topic] = payload
        return 1

    def on_ha_status(self, payload: bytes) -> None:
        """Home Assistant came online: send the configs again at the next refresh."""
        if payload.strip() == ONLINE.encode():
            self._republish.set()
            self.published.clear()

    def on_reconnect(self) -> None:
        self._republish.set()
        self.published.clear()

    async def goodbye(self) -> None:
        await self._mqtt.publish(self.topics.availability, OFFLINE)


@dataclass(slots=True)
class HaBridge:
    """A running publisher and its loop task (``stop`` says goodbye)."""

    publisher: HaPublisher
    mqtt: HaMqtt
    task: asyncio.Task[None] | None = None

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        with contextlib.suppress(Exception):
            await self.publisher.goodbye()
        await self.mqtt.close()


async def _loop(publisher: HaPublisher, interval_s: float) -> None:
    while True:
        try:
            await publisher.refresh()
        except Exception:
            log.exception("Home Assistant: publishing the sensors failed")
        await asyncio.sleep(interval_s)


async def start_bridge(
    *,
    url: str,
    sessionmaker: async_sessionmaker[AsyncSession],
    sites: Mapping[str, Site],
    served: Sequence[str],
    state: Callable[[str], SiteState],
    forecasts: ForecastService | None,
    clock: Clock,
    topics: Topics,
    version: str,
    interval_s: float = 30.0,
    run_loop: bool = True,
) -> HaBridge:
    """Connect, announce, and (with ``run_loop``) refresh the states every ``interval_s``."""
    mqtt = HaMqtt(parse_broker_url(url), will_topic=topics.availability)
    publisher = HaPublisher(
        mqtt=mqtt,
        sessionmaker=sessionmaker,
        sites=sites,
        served=served,
        state=state,
        forecasts=forecasts,
        clock=clock,
        topics=topics,
        version=version,
    )
    mqtt.subscribe(topics.ha_status, publisher.on_ha_status)
    await mqtt.connect()
    mqtt.on_connect = publisher.on_reconnect  # later reconnects announce again
    await publisher.announce()
    bridge = HaBridge(publisher=publisher, mqtt=mqtt)
    if run_loop:
        bridge.task = asyncio.create_task(_loop(publisher, interval_s))
    log.info(
        "Home Assistant: %d sensors of %d site(s) on %s (discovery prefix %s)",
        len(publisher.discovery()),
        len(publisher._served),
        mqtt.label,
        topics.discovery_prefix,
    )
    return bridge
