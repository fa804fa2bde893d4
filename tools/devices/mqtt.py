"""MQTT for drivers: one paho-mqtt client per broker, shared by every driver on it.

paho runs its network loop in a thread; messages are handed to the asyncio
loop in batches (one ``call_soon_threadsafe`` per burst, not per message).
Subscriptions are remembered and made again after every reconnect, so a
broker restart costs a gap, not a dead driver.

Overload is bounded and counted, never silent. Messages wait in the hub's inbox
until the event loop takes them; the hub measures that backlog (how many, how
old) and, when it passes ``max_backlog`` messages, sheds in this order:

1. **superseded values**: only the latest message per topic (one metric of one
   device) is kept, so high-rate topics are thinned first and every topic keeps
   its newest value;
2. **the oldest messages**: if distinct topics alone exceed the bound, the
   oldest half of the inbox goes.

Both are counted (:attr:`MqttHub.shed_superseded`, :attr:`MqttHub.shed_oldest`),
as are messages that waited longer than ``delay_limit_s`` (:attr:`MqttHub.delayed`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import threading
import time
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
DEFAULT_MAX_BACKLOG = 200_000  # messages waiting for the event loop before shedding starts
DEFAULT_DELAY_LIMIT_S = 1.0  # a message that waited longer than this counts as delayed
# The loop takes waiting messages this long after the first of them arrived: one wake-up
# of the event loop per burst instead of one per message or two.
DEFAULT_DRAIN_DELAY_S = 0.005


class _BufferedClient(mqtt.Client):
    """paho's client with a read buffer and a short path for QoS 0 messages.

    Stock paho reads every packet with three or more ``recv`` calls (the command
    byte, the length byte by byte, then the rest), handles one packet per
    ``select``, and builds, logs and matches an ``MQTTMessage`` per message: at
    thousands of messages a second that loop, not the broker, is the ceiling.
    Here one ``recv`` of up to 64 KiB serves every packet in it, :meth:`loop_read`
    handles every packet already buffered before the next select, and a QoS 0
    PUBLISH (MQTT 3.1.1, what drivers subscribe with) goes straight to
    :attr:`on_publish_qos0` as ``(topic, payload)``; QoS 1/2 take paho's own path.
    """

    on_publish_qos0: Callable[[str, bytes], None] | None = None

    READ_SIZE = 65536
    # Before each read from the socket, let more packets arrive (one wake-up and read for
    # a burst instead of one per message or two; this thread's CPU a message halves).
    read_coalesce_s = 0.002

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._rbuf = b""
        self._rpos = 0
        self._rsock: object = None

    def _sock_recv(self, bufsize: int) -> bytes:
        if self._rsock is not self._sock:  # a new connection: nothing buffered is valid
            self._rbuf, self._rpos, self._rsock = b"", 0, self._sock
        if self._rpos >= len(self._rbuf):
            if self.read_coalesce_s > 0:  # let a few more packets arrive: one read for all
                time.sleep(self.read_coalesce_s)
            data = super()._sock_recv(max(bufsize, self.READ_SIZE))
            if not data:
                return data
            self._rbuf, self._rpos = data, 0
        start = self._rpos
        self._rpos = min(start + bufsize, len(self._rbuf))
        return self._rbuf[start : self._rpos]

    def _handle_publish(self) -> mqtt.MQTTErrorCode:
        fast = self.on_publish_qos0
        if fast is None or self._in_packet["command"] & 0x06 or self._protocol == mqtt.MQTTv5:
            return super()._handle_publish()  # QoS 1/2 (acknowledged by paho), MQTT 5
        packet = self._in_packet["packet"]
        end = 2 + ((packet[0] << 8) | packet[1])
        try:
            topic = packet[2:end].decode("utf-8")
        except UnicodeDecodeError:
            return super()._handle_publish()  # paho logs and skips it
        fast(topic, bytes(packet[end:]))
        return mqtt.MQTT_ERR_SUCCESS

    def loop_read(self, max_packets: int = 1) -> mqtt.MQTTErrorCode:
        rc = super().loop_read(max_packets)
        while (
            rc == mqtt.MQTT_ERR_SUCCESS
            and self._sock is not None
            and self._rsock is self._sock
            and self._rpos < len(self._rbuf)
        ):
            if self._in_packet["command"] == 0 and self._publishes_in_buffer():
                continue
            rc = super().loop_read(max_packets)
        return rc

    def _publishes_in_buffer(self) -> bool:
        """Hand on every complete QoS 0 PUBLISH at the front of the read buffer without
        paho's per-packet state machine (its reads byte by byte cost most of this
        thread's time). Stops at anything else, an incomplete packet or a topic that
        is not UTF-8, which paho then reads as usual. Returns whether it took any."""
        fast = self.on_publish_qos0
        if fast is None or self._protocol == mqtt.MQTTv5:
            return False
        buf, pos, end = self._rbuf, self._rpos, len(self._rbuf)
        start = pos
        while pos < end and buf[pos] & 0xF6 == 0x30:  # PUBLISH, QoS 0 (dup, retain: any)
            at, length, shift = pos + 1, 0, 0
            while at < end and shift <= 21:  # the remaining length: up to 4 bytes
                byte = buf[at]
                length |= (byte & 0x7F) << shift
                at += 1
                if byte < 0x80:
                    break
                shift += 7
            else:
                break  # incomplete (or malformed: paho refuses it)
            if at + length > end or length < 2:
                break
            topic_end = at + 2 + ((buf[at] << 8) | buf[at + 1])
            if topic_end > at + length:
                break
            try:
                topic = buf[at + 2 : topic_end].decode("utf-8")
            except UnicodeDecodeError:
                break
            fast(topic, buf[topic_end : at + length])
            pos = at + length
        if pos == start:
            return False
        self._rpos = pos
        with self._msgtime_mutex:
            self._last_bytes_received = mqtt.time_func()
        return True


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
        max_backlog: int = DEFAULT_MAX_BACKLOG,
        delay_limit_s: float = DEFAULT_DELAY_LIMIT_S,
        drain_delay_s: float = DEFAULT_DRAIN_DELAY_S,
    ) -> None:
        self.broker = broker
        self._drain_delay_s = drain_delay_s
        self._client_id = client_id or f"commandcenter-{uuid.uuid4().hex[:10]}"
        # order of subscription -> subscription (dicts keep insertion order)
        self._subs: dict[int, _Sub] = {}
        self._next_order = 0
        self._orders_of: dict[Handler, list[int]] = {}  # handler -> its subscriptions
        self._filter_users: dict[str, int] = {}  # topic filter -> subscriptions using it
        # topic -> handlers; replaced (not mutated) when subscriptions change
        self._route_cache: dict[str, list[Handler]] = {}
        # the index lists are replaced, never mutated, so the network thread can read them
        self._prefix_index: dict[str, tuple[tuple[int, Handler], ...]] = {}
        self._wildcard_subs: tuple[tuple[int, _Sub], ...] = ()
        # (handlers, topic, payload, arrival time on the monotonic clock)
        self._inbox: deque[tuple[list[Handler], str, bytes, float]] = deque()
        self._drain_scheduled = False
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._connected = threading.Event()
        self._refused: str = ""
        self._client: mqtt.Client | None = None
        self._reconnect = (reconnect_min_s, reconnect_max_s)
        self._max_backlog = max(2, max_backlog)
        self._delay_limit_s = delay_limit_s
        self._connect_waiters: list[asyncio.Future[None]] = []
        self.connects = 0
        self.messages = 0  # handed to handlers
        self.arrived = 0  # received from the broker for some handler
        self.delayed = 0  # handed on after waiting longer than delay_limit_s
        self.shed_superseded = 0  # dropped because a newer message of the topic was waiting
        self.shed_oldest = 0  # dropped because the inbox was full of distinct topics
        self.max_wait_s = 0.0  # the longest wait of a message since the last read of it

    @property
    def label(self) -> str:
        return f"MQTT broker {self.broker.host}:{self.broker.port}"

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    @property
    def backlog(self) -> int:
        """Messages waiting for the event loop."""
        return len(self._inbox)

    @property
    def backlog_age_s(self) -> float:
        """How long the oldest waiting message has waited (0 when none waits)."""
        with self._lock:
            oldest = self._inbox[0][3] if self._inbox else None
        return 0.0 if oldest is None else max(0.0, time.monotonic() - oldest)

    @property
    def shed(self) -> int:
        return self.shed_superseded + self.shed_oldest

    def take_max_wait_s(self) -> float:
        """The longest wait of a message since the last call (and reset it)."""
        value, self.max_wait_s = self.max_wait_s, 0.0
        return value

    async def next_connect(self) -> None:
        """Resolve at the next successful (re)connection."""
        future = asyncio.get_running_loop().create_future()
        self._connect_waiters.append(future)
        try:
            await future
        finally:
            if future in self._connect_waiters:
                self._connect_waiters.remove(future)

    def _wake_connect_waiters(self) -> None:
        waiters, self._connect_waiters = self._connect_waiters, []
        for future in waiters:
            if not future.done():
                future.set_result(None)

    async def connect(self, timeout_s: float = 5.0) -> None:
        """Connect (idempotent); raise a DeviceError a person can act on when it fails."""
        if self._client is not None:
            if not self._connected.is_set():
                await self._wait_connected(timeout_s)
            return
        self._loop = asyncio.get_running_loop()
        client = _BufferedClient(
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
        client.on_publish_qos0 = self._on_publish
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
            subs = list(self._subs.values())
        filters = list({(sub.topic_filter, sub.qos): None for sub in subs})
        for start in range(0, len(filters), 100):  # one SUBSCRIBE packet per 100 filters
            client.subscribe(filters[start : start + 100])
        self._connected.set()
        log.info("%s connected (%d subscriptions)", self.label, len(subs))
        if self._loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop is closed: shutting down
                self._loop.call_soon_threadsafe(self._wake_connect_waiters)

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
            if by_prefix:  # every prefix at a level boundary: "", "a", "a/b", ..., the topic
                keys = [""]
                at = topic.find("/")
                while at >= 0:
                    keys.append(topic[:at])
                    at = topic.find("/", at + 1)
                keys.append(topic)
                for key in keys:
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

    def _index(self, order: int, sub: _Sub) -> None:
        """Add one subscription to the routing index (call with the lock held)."""
        f = sub.topic_filter
        key = "" if f == "#" else f[:-2] if f.endswith("/#") and "+" not in f else None
        if key is None:  # filters with "+", and exact topics (rare): matched one by one
            self._wildcard_subs = (*self._wildcard_subs, (order, sub))
        else:
            self._prefix_index[key] = (*self._prefix_index.get(key, ()), (order, sub.handler))
        self._route_cache = {}

    def _unindex(self, gone: list[tuple[int, _Sub]]) -> None:
        """Remove subscriptions from the routing index (call with the lock held)."""
        orders = {order for order, _ in gone}
        for _, sub in gone:
            f = sub.topic_filter
            key = "" if f == "#" else f[:-2] if f.endswith("/#") and "+" not in f else None
            if key is None:
                self._wildcard_subs = tuple(w for w in self._wildcard_subs if w[0] not in orders)
                continue
            kept = tuple(e for e in self._prefix_index.get(key, ()) if e[0] not in orders)
            if kept:
                self._prefix_index[key] = kept
            else:
                self._prefix_index.pop(key, None)
        self._route_cache = {}

    def _on_message(self, _client: mqtt.Client, _userdata: Any, msg: mqtt.MQTTMessage) -> None:
        self._on_publish(msg.topic, bytes(msg.payload))

    def _on_publish(self, topic: str, payload: bytes) -> None:
        """Every message, on the network thread: route it and queue it for the loop."""
        handlers = self._handlers_for(topic)
        if not handlers or self._loop is None:
            return
        with self._lock:
            self.arrived += 1
            inbox = self._inbox
            inbox.append((handlers, topic, payload, time.monotonic()))
            if len(inbox) > self._max_backlog:
                self._shed()
            if self._drain_scheduled:
                return
            self._drain_scheduled = True
        with contextlib.suppress(RuntimeError):  # the loop is closed: we are shutting down
            self._loop.call_soon_threadsafe(self._arm_drain)

    def _shed(self) -> None:
        """The inbox is over its bound (lock held): keep the latest message per topic,
        then, if that is not enough, drop the oldest half. Everything dropped is counted."""
        latest: dict[str, tuple[list[Handler], str, bytes, float]] = {}
        for entry in self._inbox:
            latest.pop(entry[1], None)  # re-insert: the topic moves to its newest position
            latest[entry[1]] = entry
        superseded = len(self._inbox) - len(latest)
        kept = list(latest.values())
        oldest = 0
        if len(kept) > self._max_backlog // 2:
            oldest = len(kept) - self._max_backlog // 2
            kept = kept[oldest:]
        self._inbox = deque(kept)
        self.shed_superseded += superseded
        self.shed_oldest += oldest
        log.warning(
            "%s: %d messages waiting for the event loop; shed %d superseded and %d oldest",
            self.label,
            len(kept) + superseded + oldest,
            superseded,
            oldest,
        )

    # -- event loop side ---------------------------------------------------------------

    def _arm_drain(self) -> None:
        if self._loop is not None:
            self._loop.call_later(self._drain_delay_s, self._drain)

    def _drain(self) -> None:
        with self._lock:
            batch, self._inbox = self._inbox, deque()
            self._drain_scheduled = False
        if not batch:
            return
        now = time.monotonic()
        waited = now - batch[0][3]
        if waited > self.max_wait_s:
            self.max_wait_s = waited
        if waited > self._delay_limit_s:
            limit = now - self._delay_limit_s
            self.delayed += sum(1 for entry in batch if entry[3] < limit)
        self.messages += len(batch)
        for handlers, topic, payload, _at in batch:
            for handler in handlers:
                try:
                    handler(topic, payload)
                except Exception:  # one bad handler must not stop the others
                    log.exception("MQTT handler for %s failed", topic)

    def subscribe(self, topic_filter: str, handler: Handler, *, qos: int = 0) -> None:
        """Call ``handler(topic, payload)`` on the event loop for every matching message."""
        sub = _Sub(topic_filter, handler, qos)
        with self._lock:
            order = self._next_order
            self._next_order += 1
            self._subs[order] = sub
            self._orders_of.setdefault(handler, []).append(order)
            self._filter_users[topic_filter] = self._filter_users.get(topic_filter, 0) + 1
            self._index(order, sub)
        if self._client is not None and self._connected.is_set():
            self._client.subscribe(topic_filter, qos=qos)

    def unsubscribe(self, handler: Handler) -> None:
        """Remove every subscription of ``handler`` (compared with ==, so a bound method
        passed again is the same handler)."""
        unused: list[str] = []
        with self._lock:
            gone = [(o, self._subs.pop(o)) for o in self._orders_of.pop(handler, [])]
            for _, sub in gone:
                users = self._filter_users.pop(sub.topic_filter, 1) - 1
                if users > 0:
                    self._filter_users[sub.topic_filter] = users
                else:
                    unused.append(sub.topic_filter)
            if gone:
                self._unindex(gone)
        if self._client is not None:
            for topic_filter in unused:
                self._client.unsubscribe(topic_filter)

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

    def all(self) -> list[MqttHub]:
        """Every hub created so far."""
        return list(self._hubs.values())

    async def close(self) -> None:
        for hub in self._hubs.values():
            await hub.close()
        self._hubs.clear()
