"""Build each site's driver from its site-file devices.

Driver modules are imported only when a site uses them, so a simulated site
never loads pymodbus or smbus2.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import httpx

from tools.devices.base import DeviceDriver, Driver, SiteDriver
from tools.devices.mqtt import MqttHubs
from tools.site import Device, Site


@dataclass(frozen=True, slots=True, kw_only=True)
class DriverDeps:
    """Shared clients that drivers receive instead of creating their own."""

    http: httpx.AsyncClient
    mqtt: MqttHubs
    start: datetime  # where simulated time begins


def build_device(device: Device, site: Site, deps: DriverDeps) -> DeviceDriver:
    if device.driver == "victron_mqtt":
        from tools.devices.victron import VictronMqttDevice

        return VictronMqttDevice(device, site, hubs=deps.mqtt)
    if device.driver == "solark_modbus":
        from tools.devices.solark import SolArkModbusDevice

        return SolArkModbusDevice(device, site)
    if device.driver == "shelly":
        from tools.devices.shelly import ShellyDevice

        return ShellyDevice(device, site, http=deps.http, hubs=deps.mqtt)
    if device.driver == "homeassistant":
        from tools.devices.homeassistant import HomeAssistantDevice

        return HomeAssistantDevice(device, site, http=deps.http)
    if device.driver == "ina228":
        from tools.devices.ina228 import Ina228Device

        return Ina228Device(device, site)
    if device.driver == "ina228_mqtt":
        from tools.devices.ina228 import Ina228MqttDevice

        return Ina228MqttDevice(device, site, hubs=deps.mqtt)
    raise ValueError(f"driver {device.driver!r} cannot be combined with other devices")


def build_driver(site: Site, deps: DriverDeps) -> Driver | None:
    """The site's driver: the simulator alone, or its real devices composed."""
    if not site.devices:
        return None
    first = site.devices[0]
    if first.driver == "simulator":
        from tools.devices.simulator import SimulatedSite

        seed = int(first.connection.get("seed", 0))
        return SimulatedSite(site, seed=seed, start=deps.start)
    devices = [build_device(d, site, deps) for d in site.devices]
    return SiteDriver(site, devices, intervals_s={d.name: d.interval_s for d in site.devices})
