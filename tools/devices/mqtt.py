"""MQTT for drivers: one paho-mqtt client per broker, shared by every driver on it.

paho runs its network loop in a thread; messages are handed to the asyncio
loop in batches (one ``call_soon_threadsafe`` per burst, not per message).
Subscriptions are remembered and made again after every reconnect, so a
broker restart costs a gap, not a dead driver.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import threading
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from tools.devices.config import MqttBroker, secret_from_env
from tools.errors import DeviceAuthError, DeviceTimeout, DeviceUnreachable

log = logging.getLogger(__name__)

Handler = Callable[[str, bytes], None]
ROUTE_CACHE_SIZE = 200_000  # distinct topics remembered before the cache starts over


@dataclass(frozen=True, slots=True)
class _Sub:
    topic_filter: str
    handler: Handler
    qos: int


class MqttHub:
    """A connection to one broker with any number of topic subscriptions."""

    def __init__(
        self,
        broker: MqttBroker,
        *,
        client_id: str | None = None,
        reconnect_min_s: float = 0.5,
        reconnect_max_s: float = 10.0,
    ) -> None:
        self.broker = broker
        self._client_id = client_id or f"commandcenter-{uuid.uuid4().hex[:10]}"
        self._subs: list[_Sub] = []
        # topic -> handlers; replaced (not mutated) when subscriptions change
        self._route_cache: dict[str, list[Handler]] = {}
        self._prefix_index: dict[str, list[tuple[int, Handler]]] = {}
        self._wildcard_subs: list[tuple[int, _Sub]] = []
        self._inbox: deque[tuple[Handler, str, bytes]] = deque()
        self._drain_scheduled = False
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._connected = threading.Event()
        self._refused: str = ""
        self._client: mqtt.Client | None = None
        self._reconnect = (reconnect_min_s, reconnect_max_s)
        self.connects = 0
        self.messages = 0

    @property
    def label(self) -> str:
        return f"MQTT broker {self.broker.host}:{self.broker.port}"

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    async def connect(self, timeout_s: float = 5.0) -> None:
        """Connect (idempotent); raise a DeviceError a person can act on when it fails."""
        if self._client is not None:
            if not self._connected.is_set():
                await self._wait_connected(timeout_s)
            return
        self._loop = asyncio.get_running_loop()
        client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=self._client_id,
            clean_session=True,
        )
        if self.broker.username:
            password = secret_from_env(self.broker.password_env, what=self.label)
            client.username_pw_set(self.broker.username, password)
        if self.broker.tls:
            client.tls_set_context(ssl.create_default_context())
        client.reconnect_delay_set(
            min_delay=max(1, int(self._reconnect[0])), max_delay=int(self._reconnect[1])
        )
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        self._client = client
        try:
            client.connect_async(self.broker.host, self.broker.port, keepalive=30)
        except (OSError, ValueError) as err:
            self._client = None
            raise DeviceUnreachable(f"{self.label}: {err}; check host and port") from err
        client.loop_start()
        await self._wait_connected(timeout_s)

    async def _wait_connected(self, timeout_s: float) -> None:
        ok = await asyncio.to_thread(self._connected.wait, timeout_s)
        if self._refused:
            raise DeviceAuthError(f"{self.label} refused the connection: {self._refused}")
        if not ok:
            raise DeviceTimeout(
                f"{self.label} did not accept a connection within {timeout_s:g} s; "
                "check that the broker runs and the address is right"
            )

    # -- paho callbacks (network thread) ---------------------------------------------

    def _on_connect(
        self, client: mqtt.Client, _userdata: Any, _flags: Any, reason: Any, _props: Any
    ) -> None:
        if reason.is_failure:
            self._refused = str(reason)
            self._connected.set()
            return
        self._refused = ""
        self.connects += 1
        with self._lock:
            subs = list(self._subs)
        for sub in subs:
            client.subscribe(sub.topic_filter, qos=sub.qos)
        self._connected.set()
        log.info("%s connected (%d subscriptions)", self.label, len(subs))

    def _on_disconnect(
        self, _client: mqtt.Client, _userdata: Any, _flags: Any, reason: Any, _props: Any
    ) -> None:
        self._connected.clear()
        if self._client is not None:  # not a disconnect we asked for
            log.warning("%s disconnected (%s); reconnecting", self.label, reason)

    def _handlers_for(self, topic: str) -> list[Handler]:
        """Handlers whose filter matches ``topic``; cached, since a fleet repeats its topics.

        Filters of the form ``a/b/#`` (one per device in a fleet) are found by
        looking up each prefix of the topic, so a miss costs O(topic levels), not
        O(subscriptions); only filters with ``+`` are matched one by one.
        """
        handlers = self._route_cache.get(topic)
        if handlers is None:
            with self._lock:
                by_prefix, others = self._prefix_index, self._wildcard_subs
            matched: list[tuple[int, Handler]] = []
            if by_prefix:
                levels = topic.split("/")
                for n in range(len(levels) + 1):
                    key = "/".join(levels[:n])
                    for order, handler in by_prefix.get(key, ()):
                        matched.append((order, handler))
            for order, sub in others:
                if mqtt.topic_matches_sub(sub.topic_filter, topic):
                    matched.append((order, sub.handler))
            handlers = [h for _, h in sorted(matched, key=lambda m: m[0])]
            if len(self._route_cache) >= ROUTE_CACHE_SIZE:
                self._route_cache.clear()
            self._route_cache[topic] = handlers
        return handlers

    def _reindex(self) -> None:
        """Rebuild the routing index (call with the lock held)."""
        by_prefix: dict[str, list[tuple[int, Handler]]] = {}
        others: list[tuple[int, _Sub]] = []
        for order, sub in enumerate(self._subs):
            f = sub.topic_filter
            if f == "#":
                by_prefix.setdefault("", []).append((order, sub.handler))
            elif f.endswith("/#") and "+" not in f:
                by_prefix.setdefault(f[:-2], []).append((order, sub.handler))
            else:  # filters with "+", and exact topics (rare): matched one by one
                others.append((order, sub))
        self._prefix_index, self._wildcard_subs = by_prefix, others
        self._route_cache = {}

    def _on_message(self, _client: mqtt.Client, _userdata: Any, msg: mqtt.MQTTMessage) -> None:
        handlers = self._handlers_for(msg.topic)
        if not handlers or self._loop is None:
            return
        with self._lock:
            for handler in handlers:
                self._inbox.append((handler, msg.topic, bytes(msg.payload)))
            if self._drain_scheduled:
                return
            self._drain_scheduled = True
        with contextlib.suppress(RuntimeError):  # the loop is closed: we are shutting down
            self._loop.call_soon_threadsafe(self._drain)

    # -- event loop side ---------------------------------------------------------------

    def _drain(self) -> None:
        with self._lock:
            batch = list(self._inbox)
            self._inbox.clear()
            self._drain_scheduled = False
        for handler, topic, payload in batch:
            self.messages += 1
            try:
                handler(topic, payload)
            except Exception:  # one bad handler must not stop the others
                log.exception("MQTT handler for %s failed", topic)

    def subscribe(self, topic_filter: str, handler: Handler, *, qos: int = 0) -> None:
        """Call ``handler(topic, payload)`` on the event loop for every matching message."""
        with self._lock:
            self._subs.append(_Sub(topic_filter, handler, qos))
            self._reindex()
        if self._client is not None and self._connected.is_set():
            self._client.subscribe(topic_filter, qos=qos)

    def unsubscribe(self, handler: Handler) -> None:
        with self._lock:
            gone = [s for s in self._subs if s.handler is handler]
            self._subs = [s for s in self._subs if s.handler is not handler]
            self._reindex()
        if self._client is not None:
            for sub in gone:
                if not any(s.topic_filter == sub.topic_filter for s in self._subs):
                    self._client.unsubscribe(sub.topic_filter)

    def publish(
        self, topic: str, payload: bytes | str = b"", *, qos: int = 0, retain: bool = False
    ) -> None:
        if self._client is None:
            raise DeviceUnreachable(f"{self.label}: not connected")
        info = self._client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc != mqtt.MQTT_ERR_SUCCESS and info.rc != mqtt.MQTT_ERR_NO_CONN:
            raise DeviceUnreachable(f"{self.label}: publish failed ({mqtt.error_string(info.rc)})")

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.disconnect()
            await asyncio.to_thread(client.loop_stop)
        self._connected.clear()


class MqttHubs:
    """One hub per broker address and credentials, created on first use."""

    def __init__(self, factory: Callable[[MqttBroker], MqttHub] = MqttHub) -> None:
        self._factory = factory
        self._hubs: dict[tuple[str, int, str | None, bool], MqttHub] = {}

    def get(self, broker: MqttBroker) -> MqttHub:
        key = (broker.host, broker.port, broker.username, broker.tls)
        hub = self._hubs.get(key)
        if hub is None:
            hub = self._hubs[key] = self._factory(
                MqttBroker(
                    host=broker.host,
                    port=broker.port,
                    username=broker.username,
                    password_env=broker.password_env,
                    tls=broker.tls,
                )
            )
        return hub

    async def close(self) -> None:
        for hub in self._hubs.values():
            await hub.close()
        self._hubs.clear()
