"""SolArk / Sunsynk / Deye single-phase hybrid inverters over Modbus TCP.

The register map follows ``kellerza/sunsynk`` ``definitions/single_phase.py``
(see ``shared/PROTOCOLS.md`` §2). It is kept as data (:class:`SolArkSensor`,
:class:`SolArkSetting`) and decoded by pure functions over a ``dict`` of raw
16-bit register values, so the decoding can be tested on plain numbers.

Models differ: the grid power (register 169) is in 10 W steps on the 16 kW
single-phase units and on the newer 8/10/16 kW (SG02LP1 family) firmware
(``definitions/single_phase_16kw.py``). :func:`choose_profile` picks the
:class:`RegisterProfile` from the device type (register 0) and rated power
(16-17); a site file can name the profile (``register_profile``) when the
automatic choice is wrong (an 8 or 10 kW SG02LP1).

Wire rules (PROTOCOLS §2.2):

- a value is unsigned unless the map marks it signed (int16, two's complement);
- values spanning several registers are **little-endian in word order**: the
  first address holds the low word;
- temperatures are ``raw * 0.1 - 100`` [°C];
- bit settings are ``raw & mask``.

Sign conventions (ours: battery positive = charging, grid positive = import):

- register 190 (battery power) and 191 (battery current) are positive when the
  battery **discharges** on the wire; the map flips both.
- register 169 (grid power) is taken as positive = import, as PROTOCOLS states,
  but that is **UNCERTAIN** (not confirmed on hardware); if a site shows the
  grid exporting at night, this is the register to check.

A temperature register reading 0 (-100 °C after the offset, seen on units
without the probe) means "not fitted": no reading, said once in status, not
counted as a fault. Other decoded values outside the plausible range of
:data:`tools.domain.METRICS` are dropped and counted, never emitted.

"Use Timer" (register 248 bit 0) must be on for the time-of-use programs (and so
the SOC targets written to 268-273) to act; when it is off the driver says so
in status. The minimum SOC (219) can be set no lower than the battery shutdown
capacity (217) and no higher than 50 %.

Writes use function code 0x10 with one register, as the inverter requires;
bit settings are read, patched and written back with the other bits kept; every
write is read back and a difference raises :class:`ReadbackMismatch`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import inspect
import logging
import math
import socket
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException
from pymodbus.pdu import ModbusPDU

from tools.devices.base import DeviceCommand
from tools.devices.config import SolArkModbusConnection
from tools.domain import METRICS, Reading, ReadingError, validate_reading
from tools.errors import (
    DeviceError,
    DeviceProtocolError,
    DeviceRefused,
    DeviceTimeout,
    DeviceUnreachable,
    ReadbackMismatch,
)
from tools.site import Device, Site

__all__ = [
    "BATTERY_LOW_CAPACITY",
    "BATTERY_SHUTDOWN_CAPACITY",
    "DEVICE_TYPES",
    "GRID_CHARGE",
    "MAX_BLOCK_REGISTERS",
    "MODBUS_EXCEPTION_NAMES",
    "PROFILES",
    "SENSORS",
    "USE_TIMER",
    "Decoded",
    "RegisterProfile",
    "SolArkModbusDevice",
    "SolArkSensor",
    "SolArkSetting",
    "apply_mask",
    "choose_profile",
    "decode_registers",
    "decode_sensor",
    "fault_codes",
    "plan_blocks",
    "register_map",
    "to_int16",
    "tou_capacity_setting",
    "words_to_int",
]

log = logging.getLogger(__name__)

MAX_BLOCK_REGISTERS = 60
"""Longest single read [registers]. The inverter allows ~125, some RS485 gateways choke on more."""

Combine = Literal["single", "sum", "words_le"]


# --------------------------------------------------------------------------- the map


def charging_positive(value: float) -> float:
    """Registers 190/191 are positive when discharging; ours are positive when charging."""
    return -value


def celsius_from_offset(value: float) -> float:
    """Temperature registers hold (T + 100 °C) × 10; after ×0.1 subtract the offset [°C]."""
    return value - 100.0


def nonzero(value: float) -> float:
    """A status register: any non-zero value means yes (1.0)."""
    return 1.0 if value else 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class SolArkSensor:
    """One reading from one or more holding registers.

    ``value = transform(combine(words) * factor)`` where ``combine`` is

    - ``"single"``: one register, ``& mask`` when given, int16 when ``signed``;
    - ``"sum"``: the sum of each register decoded on its own (PV1 + PV2 + PV3);
    - ``"words_le"``: one integer from several registers, first address = low word.
    """

    metric: str
    addresses: tuple[int, ...]
    factor: float = 1.0
    signed: bool = False
    combine: Combine = "single"
    mask: int | None = None
    transform: Callable[[float], float] | None = None
    absent_raw: int | None = None  # this raw word means "not fitted" (no reading, no fault)
    note: str = ""

    def __post_init__(self) -> None:
        if self.metric not in METRICS:
            raise ValueError(f"unknown metric {self.metric!r}")
        if not self.addresses:
            raise ValueError(f"{self.metric}: no register addresses")
        if self.combine == "single" and len(self.addresses) != 1:
            raise ValueError(f"{self.metric}: 'single' takes exactly one address")
        if self.mask is not None and self.combine != "single":
            raise ValueError(f"{self.metric}: a mask applies to one register only")


SENSORS: tuple[SolArkSensor, ...] = (
    SolArkSensor(metric="battery_soc_pct", addresses=(184,)),
    SolArkSensor(metric="battery_voltage_v", addresses=(183,), factor=0.01),
    SolArkSensor(
        metric="battery_power_w",
        addresses=(190,),
        signed=True,
        transform=charging_positive,
        note="wire: positive = discharging (flipped)",
    ),
    SolArkSensor(
        metric="battery_current_a",
        addresses=(191,),
        factor=0.01,
        signed=True,
        transform=charging_positive,
        note="wire: positive = discharging (flipped)",
    ),
    SolArkSensor(
        metric="battery_temp_c",
        addresses=(182,),
        factor=0.1,
        transform=celsius_from_offset,
        absent_raw=0,
        note="raw 0 (-100 °C) = no probe fitted",
    ),
    SolArkSensor(
        metric="pv_power_w",
        addresses=(186, 187, 188),
        signed=True,
        combine="sum",
        note="PV1 + PV2 + PV3; 188 is assumed to read 0 on two-MPPT models",
    ),
    SolArkSensor(metric="load_power_w", addresses=(178,), signed=True),
    SolArkSensor(
        metric="grid_power_w",
        addresses=(169,),
        signed=True,
        note="assumed positive = import (UNCERTAIN, confirm on hardware); the factor is the "
        "register profile's (x10 on 16 kW / SG02LP1)",
    ),
    SolArkSensor(metric="grid_connected", addresses=(194,), transform=nonzero),
    SolArkSensor(metric="grid_voltage_v", addresses=(150,), factor=0.1),
    SolArkSensor(metric="grid_frequency_hz", addresses=(79,), factor=0.01),
    SolArkSensor(metric="pv_energy_today_kwh", addresses=(108,), factor=0.1),
    SolArkSensor(metric="battery_charge_today_kwh", addresses=(70,), factor=0.1),
    SolArkSensor(metric="battery_discharge_today_kwh", addresses=(71,), factor=0.1),
    SolArkSensor(metric="grid_import_today_kwh", addresses=(76,), factor=0.1),
    SolArkSensor(metric="grid_export_today_kwh", addresses=(77,), factor=0.1),
    SolArkSensor(metric="load_energy_today_kwh", addresses=(84,), factor=0.1),
    SolArkSensor(metric="inverter_state", addresses=(59,), note="vendor enum"),
    SolArkSensor(
        metric="inverter_fault_code",
        addresses=(103, 104, 105, 106),
        combine="words_le",
        note="bit n set = fault F(n+1); see fault_codes()",
    ),
    SolArkSensor(metric="grid_charge_on", addresses=(232,), mask=0x0001),
    SolArkSensor(metric="ess_min_soc_pct", addresses=(219,), note="battery low capacity"),
)
"""Every reading except the time-of-use target, whose register depends on the program."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SolArkSetting:
    """A writable register: whole numbers in ``low..high``, or the bits of ``mask``."""

    address: int
    what: str
    low: int = 0
    high: int = 0xFFFF
    mask: int | None = None


GRID_CHARGE = SolArkSetting(address=232, what="grid charge enable", mask=0x0001)
BATTERY_LOW_CAPACITY = SolArkSetting(
    address=219, what="battery low capacity (minimum SOC)", low=0, high=50
)
BATTERY_SHUTDOWN_CAPACITY = SolArkSetting(
    address=217, what="battery shutdown capacity", low=0, high=50
)
USE_TIMER = SolArkSetting(address=248, what="Use Timer (time-of-use programs)", mask=0x0001)

DEVICE_TYPES: dict[int, str] = {
    2: "string inverter",
    3: "single-phase hybrid",
    4: "microinverter",
    5: "low-voltage three-phase hybrid",
    6: "high-voltage three-phase hybrid",
}
"""Register 0 (``definitions/__init__.py`` DEVICE_TYPE in kellerza/sunsynk)."""

RATED_POWER_ADDRESSES = (16, 17)
"""Rated power, two words low first, in 0.1 W."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RegisterProfile:
    """How one family of single-phase models differs from the common map."""

    name: str
    what: str
    grid_power_factor: float


PROFILES: dict[str, RegisterProfile] = {
    "single_phase": RegisterProfile(
        name="single_phase", what="single-phase 3.6-12 kW (grid power in W)", grid_power_factor=1.0
    ),
    "single_phase_16kw": RegisterProfile(
        name="single_phase_16kw",
        what="single-phase 16 kW or SG02LP1 firmware (grid power in 10 W steps)",
        grid_power_factor=10.0,
    ),
}
PROFILE_ALIASES = {"sg02lp1": "single_phase_16kw"}
RATED_16KW_FROM_W = 14_000.0
"""A single-phase hybrid rated at this or more is read with the 16 kW profile."""


def choose_profile(
    device_type: int | None, rated_power_w: float | None, override: str = "auto"
) -> RegisterProfile:
    """The register profile for a device; ValueError (with what to do) when register 0
    names a type this driver does not read (an unknown value is read as single-phase and
    said in status). ``override`` (the site file's ``register_profile``) wins."""
    if override != "auto":
        name = PROFILE_ALIASES.get(override, override)
        if name not in PROFILES:
            known = ", ".join(["auto", *PROFILES, *PROFILE_ALIASES])
            raise ValueError(f"unknown register profile {override!r} (known: {known})")
        return PROFILES[name]
    if device_type in DEVICE_TYPES and device_type != 3:
        what = DEVICE_TYPES[device_type]
        raise ValueError(
            f"register 0 says the device is a {what}; this driver reads single-phase hybrids "
            "(type 3). If it is one, set register_profile (single_phase, single_phase_16kw or "
            "sg02lp1) in the site file"
        )
    if rated_power_w is not None and rated_power_w >= RATED_16KW_FROM_W:
        return PROFILES["single_phase_16kw"]
    return PROFILES["single_phase"]


def tou_capacity_setting(program: int) -> SolArkSetting:
    """The SOC-target (capacity) register of time-of-use program ``program`` (1..6)."""
    if not 1 <= program <= 6:
        raise ValueError(f"time-of-use program must be 1..6, not {program}")
    return SolArkSetting(
        address=268 + program - 1, what=f"time-of-use program {program} capacity", low=0, high=100
    )


def register_map(
    tou_program: int = 1, profile: RegisterProfile | None = None
) -> tuple[SolArkSensor, ...]:
    """All sensors read from an inverter of ``profile`` (default: the common single-phase
    map) whose SOC target lives in program ``tou_program``."""
    tou = tou_capacity_setting(tou_program)
    sensors = SENSORS
    if profile is not None:
        sensors = tuple(
            dataclasses.replace(s, factor=profile.grid_power_factor)
            if s.metric == "grid_power_w"
            else s
            for s in sensors
        )
    return (*sensors, SolArkSensor(metric="tou_soc_target_pct", addresses=(tou.address,)))


# --------------------------------------------------------------------------- pure decoding


def to_int16(word: int) -> int:
    """A 16-bit register as two's-complement int16 (0xFFFF -> -1)."""
    word &= 0xFFFF
    return word - 0x10000 if word & 0x8000 else word


def words_to_int(words: Sequence[int], *, signed: bool = False) -> int:
    """Registers as one integer, first word = least significant (little-endian word order)."""
    value = 0
    for i, word in enumerate(words):
        value |= (word & 0xFFFF) << (16 * i)
    bits = 16 * len(words)
    if signed and value >= 1 << (bits - 1):
        value -= 1 << bits
    return value


def apply_mask(current: int, mask: int, bits: int) -> int:
    """``current`` with the bits of ``mask`` replaced by those of ``bits`` (the rest kept)."""
    return (current & ~mask & 0xFFFF) | (bits & mask)


def _raw(sensor: SolArkSensor, words: Sequence[int]) -> int:
    if sensor.combine == "words_le":
        return words_to_int(words, signed=sensor.signed)
    if sensor.combine == "sum":
        return sum(to_int16(w) if sensor.signed else w & 0xFFFF for w in words)
    word = words[0] & 0xFFFF
    if sensor.mask is not None:
        word &= sensor.mask
    return to_int16(word) if sensor.signed else word


def decode_sensor(sensor: SolArkSensor, registers: Mapping[int, int]) -> float | None:
    """The value of ``sensor`` in our units, or None when one of its registers was not read.

    Range checks are not applied here (see :func:`decode_registers`).
    """
    try:
        words = [registers[a] for a in sensor.addresses]
    except KeyError:
        return None
    raw = _raw(sensor, words)
    if sensor.factor == 1.0 and sensor.transform is None:
        return float(raw)
    value = raw * sensor.factor
    if sensor.transform is not None:
        value = sensor.transform(value)
    if sensor.factor != 1.0:
        value = round(value, 6)  # 5123 * 0.01 -> 51.23, not 51.230000000000004
    return float(value) + 0.0  # no -0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Decoded:
    """Result of :func:`decode_registers`.

    ``values``: metric -> value, each within its METRICS range; ``dropped``:
    metric -> why it was left out (out of range); ``missing``: metrics whose
    registers were not in the input; ``not_fitted``: metrics whose register holds
    the sensor's "not fitted" value (e.g. no battery temperature probe).
    """

    values: dict[str, float]
    dropped: dict[str, str]
    missing: tuple[str, ...]
    not_fitted: tuple[str, ...] = ()


def decode_registers(
    registers: Mapping[int, int], sensors: Iterable[SolArkSensor] = SENSORS
) -> Decoded:
    """Decode every sensor from raw registers; implausible values are dropped, not emitted."""
    values: dict[str, float] = {}
    dropped: dict[str, str] = {}
    missing: list[str] = []
    not_fitted: list[str] = []
    for sensor in sensors:
        if sensor.absent_raw is not None and all(
            registers.get(a) == sensor.absent_raw for a in sensor.addresses
        ):
            not_fitted.append(sensor.metric)
            continue
        value = decode_sensor(sensor, registers)
        if value is None:
            missing.append(sensor.metric)
            continue
        spec = METRICS[sensor.metric]
        if not spec.min_value <= value <= spec.max_value:
            regs = ",".join(str(a) for a in sensor.addresses)
            dropped[sensor.metric] = (
                f"register {regs} decodes to {value:g} {spec.unit}, "
                f"outside [{spec.min_value:g}, {spec.max_value:g}]"
            )
            continue
        values[sensor.metric] = value
    return Decoded(
        values=values, dropped=dropped, missing=tuple(missing), not_fitted=tuple(not_fitted)
    )


def fault_codes(
    registers: Mapping[int, int], addresses: Sequence[int] = (103, 104, 105, 106)
) -> list[str]:
    """Active fault codes ("F13", ...) from the fault registers: bit n (low word first) = F(n+1).

    Exact, unlike the float ``inverter_fault_code`` reading, which loses low bits
    when a fault above F53 is set together with low ones.
    """
    value = words_to_int([registers.get(a, 0) for a in addresses])
    return [f"F{bit + 1:02d}" for bit in range(16 * len(addresses)) if value >> bit & 1]


def plan_blocks(
    addresses: Iterable[int], max_count: int = MAX_BLOCK_REGISTERS
) -> tuple[tuple[int, int], ...]:
    """The fewest ``(start, count)`` reads of <= ``max_count`` registers covering ``addresses``.

    Greedy from the lowest address, which is optimal for fixed-length intervals.
    """
    blocks: list[tuple[int, int]] = []
    start = last = -1
    for address in sorted(set(addresses)):
        if start >= 0 and address - start < max_count:
            last = address
            continue
        if start >= 0:
            blocks.append((start, last - start + 1))
        start = last = address
    if start >= 0:
        blocks.append((start, last - start + 1))
    return tuple(blocks)


MODBUS_EXCEPTION_NAMES: dict[int, str] = {
    0x01: "ILLEGAL FUNCTION",
    0x02: "ILLEGAL DATA ADDRESS",
    0x03: "ILLEGAL DATA VALUE",
    0x04: "SERVER DEVICE FAILURE",
    0x05: "ACKNOWLEDGE",
    0x06: "SERVER DEVICE BUSY",
    0x08: "MEMORY PARITY ERROR",
    0x0A: "GATEWAY PATH UNAVAILABLE",
    0x0B: "GATEWAY TARGET DEVICE FAILED TO RESPOND",
}

_EXCEPTION_HINTS: dict[int, str] = {
    0x01: "the inverter does not support this request",
    0x02: "the register is not on this model; is it a single-phase SolArk/Sunsynk/Deye?",
    0x03: "the inverter rejected the value",
    0x04: "the inverter reported an internal failure; try again, then check the inverter",
    0x06: "the inverter is busy; try again shortly",
    0x0A: "check the Modbus gateway's RS485 configuration",
    0x0B: "the gateway got no answer from the inverter; check the RS485 wiring and the unit id",
}


# --------------------------------------------------------------------------- the driver


@functools.cache
def _unit_keyword() -> str:
    """pymodbus >= 3.10 names the unit ``device_id``; older 3.x call it ``slave``."""
    params = inspect.signature(AsyncModbusTcpClient.read_holding_registers).parameters
    return "device_id" if "device_id" in params else "slave"


def _seconds(value: float) -> str:
    return f"{value:g} s"


class SolArkModbusDevice:
    """A SolArk / Sunsynk / Deye single-phase hybrid inverter behind a Modbus TCP gateway.

    Carries out ``grid_charge`` (register 232 bit 0), ``min_soc`` (219, from the
    shutdown capacity in 217 up to 50 %) and ``tou_soc_target`` (268 + program - 1,
    0..100 % and not below 219). ``dropped`` counts decoded values left out as
    implausible; :attr:`status_notes` says which register profile is used, whether
    Use Timer is off and which sensors are not fitted.
    """

    push = False

    def __init__(self, device: Device, site: Site) -> None:
        config = device.config
        if not isinstance(config, SolArkModbusConnection):
            raise TypeError(f"device {device.name!r} is not a solark_modbus device")
        self.name = device.name
        self.site = site.name
        self.config = config
        self.dropped = 0
        self.device_type: int | None = None
        self.rated_power_w: float | None = None
        self.profile: RegisterProfile | None = None
        self.use_timer_on: bool | None = None
        self.not_fitted: tuple[str, ...] = ()
        self._tou = tou_capacity_setting(config.tou_program)
        self._use_profile(
            None
            if config.register_profile == "auto"
            else choose_profile(None, None, config.register_profile)
        )
        self._client: AsyncModbusTcpClient | None = None
        self._lock = asyncio.Lock()
        self._last_dropped: dict[str, str] = {}

    def _use_profile(self, profile: RegisterProfile | None) -> None:
        self.profile = profile
        self._sensors = register_map(self.config.tou_program, profile)
        self._blocks = plan_blocks(
            [a for s in self._sensors for a in s.addresses] + [USE_TIMER.address]
        )

    @property
    def status_notes(self) -> list[str]:
        """Facts for status: the register profile, Use Timer off, sensors not fitted."""
        notes: list[str] = []
        if self.profile is not None and (
            self.profile.name != "single_phase" or self.config.register_profile != "auto"
        ):  # the common map needs no word; a x10 profile or an override does
            how = (
                "set in the site file"
                if self.config.register_profile != "auto"
                else f"register 0: {DEVICE_TYPES.get(self.device_type or 0, 'unknown')}"
                + (f", rated {self.rated_power_w / 1000:g} kW" if self.rated_power_w else "")
            )
            notes.append(f"register profile {self.profile.name} ({how})")
        if self.device_type is not None and self.device_type not in DEVICE_TYPES:
            notes.append(
                f"register 0 reads {self.device_type}, not a known device type; read as a "
                "single-phase hybrid (set register_profile to confirm)"
            )
        if self.use_timer_on is False:
            notes.append(
                "Use Timer (register 248) is off, so time-of-use programs and their SOC "
                "targets have no effect; turn it on at the inverter to use them"
            )
        for metric in self.not_fitted:
            notes.append(f"{METRICS[metric].description.lower()} sensor not fitted (reads 0)")
        return notes

    @property
    def blocks(self) -> tuple[tuple[int, int], ...]:
        """The ``(start, count)`` reads made by each :meth:`read`."""
        return self._blocks

    @property
    def _where(self) -> str:
        return f"SolArk at {self.config.host}:{self.config.port}"

    # ----------------------------------------------------------------- connection

    async def start(self) -> None:
        async with self._lock:
            await self._connected()
            if self.profile is None:
                await self._identify()

    async def _identify(self) -> None:
        """Read the device type (register 0) and rated power (16-17); pick the profile."""
        (device_type,) = await self._read(0, 1)
        low, high = await self._read(RATED_POWER_ADDRESSES[0], 2)
        self.device_type = device_type
        rated = words_to_int([low, high]) * 0.1
        self.rated_power_w = rated if rated > 0 else None
        try:
            profile = choose_profile(device_type, self.rated_power_w, self.config.register_profile)
        except ValueError as err:
            raise DeviceRefused(f"{self._where}: {err}") from err
        self._use_profile(profile)
        log.info(
            "%s: %s (type %d, rated %s W): register profile %s",
            self._where,
            DEVICE_TYPES.get(device_type, "unknown"),
            device_type,
            f"{rated:g}",
            profile.name,
        )

    async def close(self) -> None:
        async with self._lock:
            self._disconnect()

    def _disconnect(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()

    async def _connected(self) -> AsyncModbusTcpClient:
        if self._client is not None and self._client.connected:
            return self._client
        self._disconnect()
        cfg = self.config
        client = AsyncModbusTcpClient(
            cfg.host,
            port=cfg.port,
            # our own timeout (asyncio.timeout) fires first; pymodbus must not retry
            # or reconnect behind our back: a late answer would confuse the next request
            timeout=cfg.timeout_s * 2,
            retries=0,
            reconnect_delay=0,
        )
        try:
            async with asyncio.timeout(cfg.timeout_s):
                ok = await client.connect()
        except TimeoutError as err:
            client.close()
            raise DeviceTimeout(
                f"{self._where} did not accept a connection within {_seconds(cfg.timeout_s)}; "
                "check the Modbus gateway is powered and on the network"
            ) from err
        if not ok:
            client.close()
            raise await self._connect_failure()
        self._client = client
        return client

    async def _connect_failure(self) -> DeviceError:
        """pymodbus hides why a connect failed; one plain TCP attempt tells the person why."""
        cfg = self.config
        where = self._where
        try:
            async with asyncio.timeout(cfg.timeout_s):
                _, writer = await asyncio.open_connection(cfg.host, cfg.port)
        except socket.gaierror as err:
            error: DeviceError = DeviceUnreachable(
                f"{where}: cannot resolve host {cfg.host!r}; check the host name in the site "
                "file and the Modbus gateway's address"
            )
            error.__cause__ = err
            return error
        except ConnectionRefusedError as err:
            error = DeviceUnreachable(
                f"{where} refused the connection (nothing listening on port {cfg.port}); "
                "check the Modbus gateway is running and the port is right"
            )
            error.__cause__ = err
            return error
        except TimeoutError as err:
            error = DeviceTimeout(
                f"{where} did not accept a connection within {_seconds(cfg.timeout_s)}; "
                "check the Modbus gateway is powered and on the network"
            )
            error.__cause__ = err
            return error
        except OSError as err:
            error = DeviceUnreachable(
                f"{where} cannot be reached ({err.strerror or err}); check the Modbus gateway "
                "and the network"
            )
            error.__cause__ = err
            return error
        writer.close()
        return DeviceUnreachable(
            f"{where} accepted TCP but the Modbus connection failed; check the Modbus gateway"
        )

    async def _call(
        self, what: str, request: Callable[[AsyncModbusTcpClient], Awaitable[ModbusPDU]]
    ) -> ModbusPDU:
        """One Modbus request with every pymodbus/OS error translated (the only boundary)."""
        client = await self._connected()
        cfg = self.config
        try:
            async with asyncio.timeout(cfg.timeout_s):
                response = await request(client)
        except TimeoutError as err:
            self._disconnect()  # a late answer must not be taken for the next request's
            raise DeviceTimeout(
                f"{self._where} did not answer within {_seconds(cfg.timeout_s)} ({what}); "
                f"check the Modbus gateway and that the inverter's Modbus id is {cfg.unit_id}"
            ) from err
        except ConnectionException as err:
            self._disconnect()
            raise DeviceUnreachable(
                f"{self._where} dropped the connection ({what}); check the Modbus gateway"
            ) from err
        except ModbusIOException as err:
            self._disconnect()
            raise DeviceProtocolError(
                f"{self._where} sent an answer that does not fit the request ({what}): {err}; "
                "check the Modbus gateway"
            ) from err
        except ModbusException as err:
            self._disconnect()
            raise DeviceProtocolError(f"{self._where}: Modbus error ({what}): {err}") from err
        except OSError as err:
            self._disconnect()
            raise DeviceUnreachable(
                f"{self._where}: connection failed ({what}): {err.strerror or err}; "
                "check the Modbus gateway"
            ) from err
        if response.isError():
            code = int(getattr(response, "exception_code", 0))
            name = MODBUS_EXCEPTION_NAMES.get(code, "UNKNOWN")
            hint = _EXCEPTION_HINTS.get(code, "check the inverter and the Modbus gateway")
            raise DeviceProtocolError(
                f"{self._where} answered {what} with Modbus exception {code} ({name}); {hint}"
            )
        return response

    async def _read(self, start: int, count: int) -> list[int]:
        unit: dict[str, Any] = {_unit_keyword(): self.config.unit_id}
        what = f"reading registers {start}..{start + count - 1}"

        def request(client: AsyncModbusTcpClient) -> Awaitable[ModbusPDU]:
            return client.read_holding_registers(start, count=count, **unit)

        response = await self._call(what, request)
        registers = list(response.registers)
        if len(registers) != count:
            raise DeviceProtocolError(
                f"{self._where} returned {len(registers)} registers for {what}, expected {count}"
            )
        return registers

    async def _write(self, address: int, value: int) -> None:
        unit: dict[str, Any] = {_unit_keyword(): self.config.unit_id}

        def request(client: AsyncModbusTcpClient) -> Awaitable[ModbusPDU]:
            # function code 0x10 with one register: the inverter ignores 0x06
            return client.write_registers(address, [value], **unit)

        await self._call(f"writing {value} to register {address}", request)

    # ----------------------------------------------------------------- reading

    async def read(self, now: datetime) -> list[Reading]:
        async with self._lock:
            if self.profile is None:
                await self._identify()
            registers: dict[int, int] = {}
            for start, count in self._blocks:
                values = await self._read(start, count)
                registers.update(zip(range(start, start + count), values, strict=True))
        decoded = decode_registers(registers, self._sensors)
        if USE_TIMER.address in registers:
            assert USE_TIMER.mask is not None
            self.use_timer_on = bool(registers[USE_TIMER.address] & USE_TIMER.mask)
        if decoded.not_fitted != self.not_fitted:
            self.not_fitted = decoded.not_fitted
            for metric in decoded.not_fitted:
                log.info("%s, %s: %s not fitted (register reads 0)", self.site, self.name, metric)
        readings: list[Reading] = []
        dropped = dict(decoded.dropped)
        for metric, value in decoded.values.items():
            reading = Reading(
                site=self.site, metric=metric, time=now, value=value, device=self.name
            )
            try:
                readings.append(validate_reading(reading))
            except ReadingError as err:
                dropped[metric] = str(err)
        self.dropped += len(dropped)
        for metric, why in dropped.items():
            if self._last_dropped.get(metric) != why:
                log.warning("%s, %s: %s dropped: %s", self.site, self.name, metric, why)
        self._last_dropped = dropped
        return readings

    # ----------------------------------------------------------------- commands

    def handles(self, command: DeviceCommand) -> bool:
        return command.kind in ("grid_charge", "min_soc", "tou_soc_target")

    async def execute(self, command: DeviceCommand) -> None:
        if command.kind == "grid_charge":
            async with self._lock:
                await self._set_bits(GRID_CHARGE, 1 if command.on else 0)
        elif command.kind == "min_soc":
            value = _whole_percent(command, BATTERY_LOW_CAPACITY)
            async with self._lock:
                (shutdown,) = await self._read(BATTERY_SHUTDOWN_CAPACITY.address, 1)
                if value < shutdown:
                    raise DeviceRefused(
                        f"{self.name}: a minimum SOC of {value} % is below the battery shutdown "
                        f"capacity of {shutdown} % (register {BATTERY_SHUTDOWN_CAPACITY.address}); "
                        f"the inverter would shut down first. Choose {shutdown} % or more"
                    )
                await self._set_value(BATTERY_LOW_CAPACITY, value)
        elif command.kind == "tou_soc_target":
            value = _whole_percent(command, self._tou)
            async with self._lock:
                (floor,) = await self._read(BATTERY_LOW_CAPACITY.address, 1)
                if value < floor:
                    raise DeviceRefused(
                        f"{self.name}: a time-of-use SOC target of {value} % is below the "
                        f"battery low capacity of {floor} % (register "
                        f"{BATTERY_LOW_CAPACITY.address}), which the inverter does not allow; "
                        f"choose {floor} % or more, or lower the minimum SOC first"
                    )
                await self._set_value(self._tou, value)
        else:
            raise DeviceRefused(
                f"{self.name} (SolArk inverter) cannot carry out {command.kind}; "
                "use the relay or generator controller that does"
            )

    async def _set_bits(self, setting: SolArkSetting, bits: int) -> None:
        assert setting.mask is not None
        (current,) = await self._read(setting.address, 1)
        wanted = apply_mask(current, setting.mask, bits)
        if wanted != current:
            await self._write(setting.address, wanted)
        else:
            log.info("%s: %s already %d", self.name, setting.what, bits)
        await self._verify(setting, wanted)

    async def _set_value(self, setting: SolArkSetting, value: int) -> None:
        await self._write(setting.address, value)
        await self._verify(setting, value)

    async def _verify(self, setting: SolArkSetting, wanted: int) -> None:
        (actual,) = await self._read(setting.address, 1)
        if actual != wanted:
            raise ReadbackMismatch(
                f"{self.name}: wrote {wanted} to {setting.what} (register {setting.address}) "
                f"but it reads back {actual}; the inverter did not take the setting. Check "
                "that the inverter accepts remote settings and the Modbus gateway passes writes"
            )


def _whole_percent(command: DeviceCommand, setting: SolArkSetting) -> int:
    """The command's value as a whole percent within the setting's limits, else DeviceRefused."""
    value = command.value
    if value is None:
        raise DeviceRefused(f"{command.kind} needs a value in percent")
    if math.isnan(value) or not setting.low <= value <= setting.high:
        raise DeviceRefused(
            f"{command.kind} {value:g} % is outside {setting.low}..{setting.high} %, the limit "
            f"of the inverter's {setting.what} (register {setting.address})"
        )
    if value != int(value):
        raise DeviceRefused(
            f"{command.kind} {value:g} %: the inverter stores whole percent; use "
            f"{int(value)} or {int(value) + 1}"
        )
    return int(value)
