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


async def test_a_broker_that_is_not_there_is_a_clear_timeout() -> None:
    hub = MqttHub(MqttBroker(host="127.0.0.1", port=1))  # nothing listens on port 1
    try:
        with pytest.raises(DeviceTimeout, match=r"127\.0\.0\.1:1 did not accept a connection"):
            await hub.connect(timeout_s=1.0)
        assert not hub.connected
    finally:
        await hub.close()
