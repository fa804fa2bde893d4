"""The shared MQTT hub against the real broker."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable

import pytest

from tools.devices.config import MqttBroker
from tools.devices.mqtt import MqttHub, MqttHubs
from tools.errors import DeviceTimeout

pytestmark = pytest.mark.mqtt


async def _until(predicate: Callable[[], bool], timeout_s: float = 60.0) -> None:
    """Wait until ``predicate()`` holds, checking every 10 ms."""
    async with asyncio.timeout(timeout_s):
        while True:
            if predicate():
                return
            await asyncio.sleep(0.01)


async def test_messages_reach_every_matching_handler_in_order(
    mqtt_broker: tuple[str, int],
) -> None:
    host, port = mqtt_broker
    prefix = f"cc-test/{uuid.uuid4().hex[:8]}"
    hubs = MqttHubs()
    listener = hubs.get(MqttBroker(host=host, port=port))
    sender = MqttHub(MqttBroker(host=host, port=port))
    assert hubs.get(MqttBroker(host=host, port=port)) is listener  # one client per broker
    try:
        await listener.connect()
        await sender.connect()
        everything: list[tuple[str, bytes]] = []
        only_a: list[bytes] = []
        listener.subscribe(f"{prefix}/#", lambda t, p: everything.append((t, p)), qos=1)
        listener.subscribe(f"{prefix}/a", lambda _t, p: only_a.append(p), qos=1)
        # A probe subscribed and published after them on the same connection comes back
        # only once the broker has processed the SUBSCRIBEs before it.
        probed = asyncio.Event()
        listener.subscribe(f"{prefix}-probe", lambda _t, _p: probed.set(), qos=1)
        listener.publish(f"{prefix}-probe", b"x", qos=1)
        await asyncio.wait_for(probed.wait(), 60)
        for i in range(500):
            sender.publish(f"{prefix}/{'a' if i % 2 else 'b'}", str(i), qos=1)
        await _until(lambda: len(everything) == 500)
        assert [int(p) for _t, p in everything] == list(range(500))
        await _until(lambda: len(only_a) == 250)
        assert [int(p) for p in only_a] == list(range(1, 500, 2))

        listener.unsubscribe(lambda _t, _p: None)  # not a registered handler: no effect
        sender.publish(f"{prefix}/a", b"late", qos=1)
        await _until(lambda: only_a[-1] == b"late")
    finally:
        await sender.close()
        await hubs.close()


async def test_bursts_of_every_packet_shape_arrive_whole_and_in_order(
    mqtt_broker: tuple[str, int],
) -> None:
    """The hub reads many packets per read of the socket and takes QoS 0 PUBLISHes from
    its buffer itself: bursts of small messages, payloads with a 3-byte length, payloads
    larger than one read (so a packet spans reads), a retained message, an empty payload,
    UTF-8 topics, and QoS 1 packets mixed in, which paho reads and acknowledges, all
    arrive exactly once, whole, in the order sent."""
    host, port = mqtt_broker
    prefix = f"cc-test/{uuid.uuid4().hex[:8]}"
    listener = MqttHub(MqttBroker(host=host, port=port))
    sender = MqttHub(MqttBroker(host=host, port=port))
    try:
        await sender.connect()
        sender.publish(f"{prefix}/retained", b"kept", retain=True, qos=1)
        await listener.connect()
        got: list[tuple[str, bytes]] = []
        listener.subscribe(f"{prefix}/#", lambda t, p: got.append((t, p)), qos=1)
        await _until(lambda: got == [(f"{prefix}/retained", b"kept")])
        sent: list[tuple[str, bytes]] = []
        acked: set[tuple[str, bytes]] = set()  # QoS 1 (the sender may queue them behind)
        for i in range(3000):
            if i % 500 == 7:  # longer than one read of the socket
                topic, body = f"{prefix}/big/{i}", bytes([i % 251]) * (70_000 + i)
            elif i % 50 == 9:  # a 3-byte length, often whole in one read
                topic, body = f"{prefix}/mid/{i}", bytes([i % 241]) * (17_000 + i)
            elif i % 100 == 3:
                topic, body = f"{prefix}/zählerstand/{i}", b""
            else:
                topic, body = f"{prefix}/n/{i % 20}", b'{"value": %d}' % i
            sender.publish(topic, body, qos=1 if i % 7 == 0 else 0)
            sent.append((topic, body))
            if i % 7 == 0:
                acked.add((topic, body))
        await _until(lambda: len(got) >= 1 + len(sent))
        assert sorted(got[1:]) == sorted(sent)
        # In order within each QoS (a sender sends QoS 1 only as its in-flight window allows).
        assert [m for m in got[1:] if m not in acked] == [m for m in sent if m not in acked]
        assert [m for m in got[1:] if m in acked] == [m for m in sent if m in acked]
        assert listener.messages == 1 + len(sent)
    finally:
        await sender.close()
        await listener.close()


async def test_a_broker_that_is_not_there_is_a_clear_timeout() -> None:
    hub = MqttHub(MqttBroker(host="127.0.0.1", port=1))  # nothing listens on port 1
    try:
        with pytest.raises(DeviceTimeout, match=r"127\.0\.0\.1:1 did not accept a connection"):
            await hub.connect(timeout_s=1.0)
        assert not hub.connected
    finally:
        await hub.close()
