"""SolArk / Sunsynk / Deye single-phase hybrid inverters over Modbus TCP.

The register map follows ``kellerza/sunsynk`` ``definitions/single_phase.py``
(see ``shared/PROTOCOLS.md`` §2). It is kept as data (:class:`SolArkSensor`,
:class:`SolArkSetting`) and decoded by pure functions over a ``dict`` of raw
16-bit register values, so the decoding can be tested on plain numbers.

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

Decoded values outside the plausible range of :data:`tools.domain.METRICS`
(e.g. a temperature register reading 0, i.e. -100 °C) are dropped and counted,
never emitted.

Writes use function code 0x10 with one register, as the inverter requires;
bit settings are read, patched and written back with the other bits kept; every
write is read back and a difference raises :class:`ReadbackMismatch`.
"""

from __future__ import annotations

import asyncio
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
    "GRID_CHARGE",
    "MAX_BLOCK_REGISTERS",
    "MODBUS_EXCEPTION_NAMES",
    "SENSORS",
    "Decoded",
    "SolArkModbusDevice",
    "SolArkSensor",
    "SolArkSetting",
    "apply_mask",
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
        metric="battery_temp_c", addresses=(182,), factor=0.1, transform=celsius_from_offset
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
        note="assumed positive = import (UNCERTAIN, confirm on hardware)",
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


def tou_capacity_setting(program: int) -> SolArkSetting:
    """The SOC-target (capacity) register of time-of-use program ``program`` (1..6)."""
    if not 1 <= program <= 6:
        raise ValueError(f"time-of-use program must be 1..6, not {program}")
    return SolArkSetting(
        address=268 + program - 1, what=f"time-of-use program {program} capacity", low=0, high=100
    )


def register_map(tou_program: int = 1) -> tuple[SolArkSensor, ...]:
    """All sensors read from an inverter whose SOC target lives in program ``tou_program``."""
    tou = tou_capacity_setting(tou_program)
    return (*SENSORS, SolArkSensor(metric="tou_soc_target_pct", addresses=(tou.address,)))


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
    registers were not in the input.
    """

    values: dict[str, float]
    dropped: dict[str, str]
    missing: tuple[str, ...]


def decode_registers(
    registers: Mapping[int, int], sensors: Iterable[SolArkSensor] = SENSORS
) -> Decoded:
    """Decode every sensor from raw registers; implausible values are dropped, not emitted."""
    values: dict[str, float] = {}
    dropped: dict[str, str] = {}
    missing: list[str] = []
    for sensor in sensors:
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
    return Decoded(values=values, dropped=dropped, missing=tuple(missing))


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

    Carries out ``grid_charge`` (register 232 bit 0), ``min_soc`` (219, 0..50 %)
    and ``tou_soc_target`` (268 + program - 1, 0..100 % and not below 219).
    ``dropped`` counts decoded values left out as implausible.
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
        self._sensors = register_map(config.tou_program)
        self._tou = tou_capacity_setting(config.tou_program)
        self._blocks = plan_blocks(a for s in self._sensors for a in s.addresses)
        self._client: AsyncModbusTcpClient | None = None
        self._lock = asyncio.Lock()
        self._last_dropped: dict[str, str] = {}

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
            registers: dict[int, int] = {}
            for start, count in self._blocks:
                values = await self._read(start, count)
                registers.update(zip(range(start, start + count), values, strict=True))
        decoded = decode_registers(registers, self._sensors)
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
