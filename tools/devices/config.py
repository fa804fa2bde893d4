"""How each driver is configured in the site file (``devices[].connection``).

Secrets never go into the site file: a driver that needs a password or token
names the environment variable holding it (``password_env``, ``token_env``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

DriverName = Literal[
    "simulator",
    "victron_mqtt",
    "solark_modbus",
    "shelly",
    "homeassistant",
    "ina228",
    "ina228_mqtt",
]
DRIVER_NAMES: tuple[str, ...] = DriverName.__args__  # type: ignore[attr-defined]


class Connection(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def secret_from_env(variable: str | None, *, what: str) -> str | None:
    """The secret held by environment variable ``variable`` (None when no variable is named)."""
    if variable is None:
        return None
    value = os.environ.get(variable)
    if not value:
        raise ValueError(f"{what}: environment variable {variable} is not set")
    return value


class SimulatorConnection(Connection):
    seed: int = 0


class MqttBroker(Connection):
    host: str = Field(min_length=1)
    port: int = Field(default=1883, ge=1, le=65535)
    username: str | None = None
    password_env: str | None = None
    tls: bool = False


class VictronMqttConnection(MqttBroker):
    """A Victron GX (Cerbo, Venus OS >= 3.20) on its LAN MQTT broker (dbus-flashmq)."""

    portal_id: str | None = Field(
        default=None, description="VRM portal id; discovered from N/+/system/0/Serial when unset"
    )
    keepalive_s: float = Field(default=30.0, gt=0, le=55)
    generator_instance: int = Field(default=0, ge=0, description="generator/<n>/ManualStart")
    relays: dict[str, int] = Field(
        default_factory=dict,
        description="load name -> GX relay number (the relay must be in manual mode)",
    )
    battery_instances: list[int] | None = Field(
        default=None,
        description="battery/<n> services that are this site's banks when system/0 is absent "
        "(summed); default: all, or the Lynx parallel BMS when there is one",
    )
    tank_instance: int | None = Field(
        default=None,
        ge=0,
        description="tank/<n> holding the generator's fuel; default: any fuel tank",
    )
    max_payload_bytes: int = Field(
        default=1024, ge=64, le=1_000_000, description="longer payloads on used paths are refused"
    )


class SolArkModbusConnection(Connection):
    """A SolArk / Sunsynk / Deye single-phase hybrid through a Modbus TCP gateway."""

    host: str = Field(min_length=1)
    port: int = Field(default=502, ge=1, le=65535)
    unit_id: int = Field(default=1, ge=0, le=247)
    timeout_s: float = Field(default=3.0, gt=0, le=60)
    tou_program: int = Field(
        default=1, ge=1, le=6, description="time-of-use program whose SOC target is set"
    )
    register_profile: Literal["auto", "single_phase", "single_phase_16kw", "sg02lp1"] = Field(
        default="auto",
        description="auto: from the device type (register 0) and rated power (16-17); "
        "single_phase_16kw / sg02lp1: grid power (169) in 10 W steps",
    )


class ShellyConnection(Connection):
    """A Shelly relay: Gen2/Gen3 HTTP RPC (digest auth) or Gen1 HTTP."""

    host: str = Field(min_length=1)
    port: int = Field(default=80, ge=1, le=65535)
    generation: Literal[1, 2] = 2
    switch_id: int = Field(default=0, ge=0, le=15)
    username: str = "admin"
    password_env: str | None = None
    timeout_s: float = Field(default=3.0, gt=0, le=60)
    load: str | None = Field(default=None, description="the switchable load this relay feeds")
    mqtt: MqttBroker | None = Field(default=None, description="read status from MQTT instead")
    mqtt_prefix: str | None = Field(default=None, description="Gen2 topic prefix (device id)")


class HaEntity(Connection):
    metric: str
    device: str = ""
    scale: float = Field(default=1.0, description="only for entities without a unit")
    unit: str | None = Field(
        default=None,
        description="the unit the state is in when HA's unit_of_measurement is missing or wrong "
        "(W, kW, Wh, kWh, %, L, gal, ...)",
    )
    negative: Literal["clamp", "reject"] | None = Field(
        default=None,
        description="negative values of a metric that cannot be negative: clamp to 0 or reject; "
        "default: power within -50 W is clamped (noise), anything else rejected",
    )


class HomeAssistantConnection(Connection):
    url: str = Field(min_length=1, description="e.g. http://homeassistant.local:8123")
    token_env: str = Field(min_length=1)
    timeout_s: float = Field(default=5.0, gt=0, le=60)
    entities: dict[str, HaEntity] = Field(
        default_factory=dict, description="entity_id -> metric (with optional device and scale)"
    )
    switches: dict[str, str] = Field(
        default_factory=dict, description="load name -> switch entity_id"
    )
    generator_switch: str | None = None
    grid_charge_switch: str | None = None


class Ina228Connection(Connection):
    """An INA228 on this machine's I²C bus (Raspberry Pi)."""

    bus: int = Field(default=1, ge=0)
    address: int = Field(default=0x40, ge=0x40, le=0x4F)
    shunt_ohms: float = Field(gt=0, le=10)
    max_current_a: float = Field(gt=0, le=10_000)
    metric_prefix: Literal["pv", "battery", "load"] = "pv"


class Ina228MqttConnection(MqttBroker):
    """INA228 readings published by `commandcenter edge ina228` on a Raspberry Pi."""

    topic: str = Field(default="commandcenter/edge/+/ina228", min_length=1)


CONNECTION_MODELS: dict[str, type[Connection]] = {
    "simulator": SimulatorConnection,
    "victron_mqtt": VictronMqttConnection,
    "solark_modbus": SolArkModbusConnection,
    "shelly": ShellyConnection,
    "homeassistant": HomeAssistantConnection,
    "ina228": Ina228Connection,
    "ina228_mqtt": Ina228MqttConnection,
}


class VrmAccount(Connection):
    """Victron VRM API v2, to backfill history for a site."""

    installation_id: int = Field(gt=0)
    token_env: str = Field(min_length=1)
    base_url: str = "https://vrmapi.victronenergy.com/v2"


def mqtt_brokers(devices: Iterable[tuple[str, dict[str, Any]]]) -> list[tuple[str, int]]:
    """The MQTT brokers ``(host, port)`` that devices given as ``(driver, connection)``
    read from, each once, in order of appearance."""
    found: list[tuple[str, int]] = []
    for driver, raw in devices:
        model = CONNECTION_MODELS.get(driver)
        if model is None:
            continue
        conn = model.model_validate(raw)
        for broker in (conn, getattr(conn, "mqtt", None)):
            if isinstance(broker, MqttBroker) and (broker.host, broker.port) not in found:
                found.append((broker.host, broker.port))
    return found
