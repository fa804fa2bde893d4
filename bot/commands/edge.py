"""``commandcenter edge``: run on a Raspberry Pi, read local sensors, publish them over MQTT.

``commandcenter edge ina228 --shunt-ohms 0.015 --max-current 10 --mqtt mqtt://bot.lan
--topic-device panel-1`` configures the INA228, samples it every ``--interval`` seconds and
publishes each sample (QoS 1) to ``commandcenter/edge/<NAME>/ina228``, where an
``ina228_mqtt`` device of the bot's site file receives it.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, cast
from urllib.parse import urlsplit

import typer

from tools.errors import DeviceError

if TYPE_CHECKING:  # imported when the command runs, so `commandcenter --help` stays fast
    import paho.mqtt.client as mqtt

    from tools.devices.ina228 import I2CBus, Ina228, MetricPrefix

edge_app = typer.Typer(
    no_args_is_help=True,
    help="Run on an edge device (Raspberry Pi): read local sensors and publish them over MQTT.",
)

#: How the edge command opens the I²C bus (``None``: the real smbus). Tests replace it
#: (monkeypatch) with a fake bus.
bus_factory: Callable[[int], I2CBus] | None = None

CONNECT_TIMEOUT_S = 10.0
FLUSH_TIMEOUT_S = 10.0


class EdgeError(Exception):
    """A problem the edge command reports on one line before exiting with code 2."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MqttTarget:
    host: str
    port: int
    tls: bool
    username: str | None


def parse_mqtt_url(url: str) -> MqttTarget:
    """``mqtt://[user@]host[:port]`` or ``mqtts://...`` (TLS, default port 8883)."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        raise typer.BadParameter(f"{url!r} is not mqtt://HOST[:PORT] or mqtts://HOST[:PORT]")
    if parts.password:
        raise typer.BadParameter("put the password in an environment variable (--password-env)")
    tls = parts.scheme == "mqtts"
    try:
        port = parts.port or (8883 if tls else 1883)
    except ValueError as err:
        raise typer.BadParameter(f"{url!r}: {err}") from err
    return MqttTarget(host=parts.hostname, port=port, tls=tls, username=parts.username)


def parse_address(text: str) -> int:
    try:
        value = int(text, 0)
    except ValueError as err:
        raise typer.BadParameter(f"{text!r} is not a number such as 0x40") from err
    if not 0x40 <= value <= 0x4F:
        raise typer.BadParameter(f"0x{value:02X} is not an INA228 address (0x40..0x4F)")
    return value


class _Publisher:
    """A paho client with its own network thread; publishes QoS 1 and waits on close."""

    def __init__(self, target: MqttTarget, *, password: str | None) -> None:
        self.label = f"MQTT broker {target.host}:{target.port}"
        self._connected = threading.Event()
        self._refused = ""
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=f"commandcenter-edge-{uuid.uuid4().hex[:10]}",
            clean_session=True,
        )
        client.max_queued_messages_set(1000)  # bounded while the broker is away
        if target.username:
            client.username_pw_set(target.username, password)
        if target.tls:
            client.tls_set()
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        self.client = client
        self.pending: list[mqtt.MQTTMessageInfo] = []
        try:
            client.connect(target.host, target.port, keepalive=30)
        except (OSError, ValueError) as err:
            raise EdgeError(f"cannot reach {self.label}: {err}; check --mqtt") from err
        client.loop_start()
        if not self._connected.wait(CONNECT_TIMEOUT_S):
            self.close()
            raise EdgeError(f"{self.label} did not accept the connection; check --mqtt")
        if self._refused:
            self.close()
            raise EdgeError(f"{self.label} refused the connection: {self._refused}")

    def _on_connect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        self._refused = str(reason) if reason.is_failure else ""
        self._connected.set()

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            typer.echo(f"warning: {self.label} disconnected ({reason}); reconnecting", err=True)

    def publish(self, topic: str, payload: bytes) -> None:
        import paho.mqtt.client as mqtt

        info = self.client.publish(topic, payload, qos=1)
        if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
            typer.echo(f"warning: publish failed: {mqtt.error_string(info.rc)}", err=True)
            return
        self.pending = [p for p in self.pending if not p.is_published()]
        self.pending.append(info)

    def close(self) -> None:
        deadline = time.monotonic() + FLUSH_TIMEOUT_S
        for info in self.pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            with contextlib.suppress(RuntimeError, ValueError):  # not queued: no connection
                info.wait_for_publish(remaining)
        unsent = sum(1 for p in self.pending if not p.is_published())
        if unsent:
            typer.echo(f"warning: {unsent} samples were not delivered to {self.label}", err=True)
        self.client.disconnect()
        self.client.loop_stop()


def publish_ina228(
    *,
    bus: int,
    address: int,
    shunt_ohms: float,
    max_current_a: float,
    target: MqttTarget,
    device: str,
    interval_s: float,
    count: int | None,
    metric_prefix: MetricPrefix | None = None,
    password: str | None = None,
    bus_factory: Callable[[int], I2CBus] | None = None,
    echo: Callable[[str], None] = typer.echo,
) -> int:
    """Configure the chip, then sample and publish every ``interval_s``; returns samples sent."""
    from tools.devices.ina228 import EDGE_TOPIC, Ina228, close_bus, open_smbus

    topic = EDGE_TOPIC.format(device=device)
    handle = (bus_factory or open_smbus)(bus)
    try:
        try:
            chip = Ina228(
                handle,
                address=address,
                shunt_ohms=shunt_ohms,
                max_current_a=max_current_a,
                bus_number=bus,
            )
        except ValueError as err:
            raise EdgeError(str(err)) from err
        chip.configure()
        publisher = _Publisher(target, password=password)
        try:
            return _loop(chip, publisher, topic, device, interval_s, count, metric_prefix, echo)
        finally:
            publisher.close()
    finally:
        close_bus(handle)


def _loop(
    chip: Ina228,
    publisher: _Publisher,
    topic: str,
    device: str,
    interval_s: float,
    count: int | None,
    metric_prefix: MetricPrefix | None,
    echo: Callable[[str], None],
) -> int:
    from tools.devices.ina228 import edge_payload

    sent = 0
    taken = 0
    next_at = time.monotonic()
    configured = True
    while count is None or taken < count:
        taken += 1
        now = datetime.now(UTC)
        try:
            if not configured or not chip.calibrated():
                chip.configure()  # after a read error or a power cycle of the chip
            configured = True
            sample = chip.sample()
        except DeviceError as err:
            configured = False
            echo(f"{now:%Y-%m-%dT%H:%M:%SZ} error: {err}")
        else:
            publisher.publish(
                topic, edge_payload(sample, device=device, time=now, metric_prefix=metric_prefix)
            )
            sent += 1
            echo(
                f"{now:%Y-%m-%dT%H:%M:%SZ} {device}: {sample.bus_voltage_v:.3f} V "
                f"{sample.current_a:.4f} A {sample.power_w:.3f} W {sample.energy_wh:.4f} Wh "
                f"{sample.die_temp_c:.1f} °C -> {topic}"
            )
        if count is not None and taken >= count:
            break
        next_at += interval_s
        time.sleep(max(0.0, next_at - time.monotonic()))
    return sent


@edge_app.command("ina228")
def ina228(
    shunt_ohms: Annotated[
        float, typer.Option("--shunt-ohms", min=0, help="Shunt resistance [Ω], e.g. 0.015")
    ],
    max_current: Annotated[
        float, typer.Option("--max-current", min=0, help="Largest expected current [A]")
    ],
    mqtt_url: Annotated[
        str,
        typer.Option(
            "--mqtt", help="Broker: mqtt://HOST:PORT, mqtt://USER@HOST:PORT, or mqtts://... for TLS"
        ),
    ],
    topic_device: Annotated[
        str,
        typer.Option(
            "--topic-device", help="This edge's name: publishes to commandcenter/edge/NAME/ina228"
        ),
    ],
    bus: Annotated[int, typer.Option("--bus", min=0, help="I²C bus number (/dev/i2c-N)")] = 1,
    address: Annotated[str, typer.Option("--address", help="I²C address, 0x40..0x4F")] = "0x40",
    interval: Annotated[
        float, typer.Option("--interval", min=0.01, help="Seconds between samples")
    ] = 5.0,
    count: Annotated[
        int | None, typer.Option("--count", min=1, help="Stop after N samples (default: run on)")
    ] = None,
    metric_prefix: Annotated[
        str | None,
        typer.Option("--metric-prefix", help="What the shunt measures: pv, battery or load"),
    ] = None,
    password_env: Annotated[
        str | None,
        typer.Option("--password-env", help="Environment variable holding the MQTT password"),
    ] = None,
) -> None:
    """Read an INA228 shunt monitor and publish every sample to the bot's MQTT broker."""
    if not shunt_ohms > 0 or not max_current > 0:
        raise typer.BadParameter("--shunt-ohms and --max-current must be greater than 0")
    if metric_prefix not in (None, "pv", "battery", "load"):
        raise typer.BadParameter("--metric-prefix must be pv, battery or load")
    if "/" in topic_device or "+" in topic_device or "#" in topic_device or not topic_device:
        raise typer.BadParameter("--topic-device must be a name without /, + or #")
    target = parse_mqtt_url(mqtt_url)
    password = None
    if password_env:
        password = os.environ.get(password_env)
        if not password:
            typer.echo(f"error: environment variable {password_env} is not set", err=True)
            raise typer.Exit(2)
    try:
        publish_ina228(
            bus=bus,
            address=parse_address(address),
            shunt_ohms=shunt_ohms,
            max_current_a=max_current,
            target=target,
            device=topic_device,
            interval_s=interval,
            count=count,
            metric_prefix=cast("MetricPrefix | None", metric_prefix),  # checked above
            password=password,
            bus_factory=bus_factory,
        )
    except (DeviceError, EdgeError) as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        raise typer.Exit(0) from None
