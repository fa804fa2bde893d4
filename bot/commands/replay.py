"""``commandcenter replay``: play recorded device traffic onto an MQTT broker.

Useful to demo or test a site against real recorded data without the hardware:
point a ``victron_mqtt`` device at the broker with the same portal id.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

import typer

replay_app = typer.Typer(
    no_args_is_help=True,
    help="Replay recorded device traffic onto an MQTT broker (e.g. Victron Venus OS recordings).",
)


@replay_app.callback()
def _group() -> None:
    """Replay recorded device traffic onto an MQTT broker."""


def _broker(url: str) -> tuple[str, int, bool]:
    """``(host, port, tls)`` from ``mqtt://host:port`` or ``mqtts://host:port``."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        raise typer.BadParameter(
            f"{url!r} is not a broker URL; use mqtt://HOST:PORT (or mqtts:// for TLS)",
            param_hint="--mqtt",
        )
    tls = parts.scheme == "mqtts"
    try:
        port = parts.port or (8883 if tls else 1883)
    except ValueError as err:
        raise typer.BadParameter(f"bad port in {url!r}", param_hint="--mqtt") from err
    return parts.hostname, port, tls


@replay_app.command("victron")
def victron(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True, dir_okay=False, readable=True, help="Venus OS recording (JSON Lines)"
        ),
    ],
    mqtt_url: Annotated[str, typer.Option("--mqtt", help="broker, e.g. mqtt://127.0.0.1:1883")],
    portal_id: Annotated[
        str, typer.Option("--portal-id", help="portal id to publish under (N/<id>/...)")
    ],
    speed: Annotated[
        float, typer.Option("--speed", min=0.0, help="time scale; 0 = as fast as possible")
    ] = 1.0,
) -> None:
    """Replay a Venus OS D-Bus recording as Victron GX MQTT notifications."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    from tools.devices.simulators.victron_gx import replay_recording

    host, port, tls = _broker(mqtt_url)
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, clean_session=True)
    if tls:
        client.tls_set()
    connected = threading.Event()
    client.on_connect = lambda *_args: connected.set()
    try:
        client.connect(host, port, keepalive=30)
    except OSError as err:
        typer.echo(f"error: cannot reach MQTT broker {host}:{port}: {err}", err=True)
        raise typer.Exit(2) from None
    client.loop_start()
    try:
        if not connected.wait(5.0):
            typer.echo(f"error: MQTT broker {host}:{port} did not accept the connection", err=True)
            raise typer.Exit(2)
        last: list[mqtt.MQTTMessageInfo] = []

        def publish(topic: str, payload: bytes) -> None:
            info = client.publish(topic, payload, qos=1, retain=False)
            last[:] = [info]

        try:
            count = asyncio.run(
                replay_recording(file, publish=publish, portal_id=portal_id, speed=speed)
            )
        except (ValueError, KeyError) as err:
            typer.echo(f"error: {file} is not a Venus OS recording: {err}", err=True)
            raise typer.Exit(2) from None
        if last:
            last[0].wait_for_publish(10.0)
    finally:
        client.disconnect()
        client.loop_stop()
    typer.echo(f"sent {count} messages from {file.name} to {host}:{port} as portal {portal_id}")
