"""TI INA228 20-bit power/energy monitor on I²C, read locally or through an edge device.

Three layers, as in PROTOCOLS.md §6:

- pure codec functions: calibration (:func:`current_lsb_a`, :func:`shunt_cal`) and the
  register decoders/encoders (big-endian; 24-bit values hold a 20-bit number in bits 23..4;
  ENERGY and CHARGE are 40-bit);
- :class:`Ina228`: one chip on an :class:`I2CBus` (``smbus2.SMBus`` or
  :class:`tools.devices.simulators.ina228_bus.FakeI2CBus`), blocking and synchronous;
- the drivers: :class:`Ina228Device` reads the chip on this machine's bus;
  :class:`Ina228MqttDevice` receives what ``commandcenter edge ina228`` publishes from a
  Raspberry Pi elsewhere (the payload is built by :func:`edge_payload`).

Sign conventions: current is positive when it flows from IN+ to IN- through the shunt.
The chip's POWER and ENERGY registers are unsigned (magnitudes); :attr:`Ina228Sample.power_w`
carries the sign of the current. For ``metric_prefix: battery`` wire the shunt so that
charging current is positive (the project's convention for ``battery_*``).
"""

from __future__ import annotations

import asyncio
import errno
import json
import logging
import math
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from tools.devices.base import DeviceCommand
from tools.devices.config import Ina228Connection, Ina228MqttConnection
from tools.devices.mqtt import MqttHub, MqttHubs
from tools.domain import Reading
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
    "ADC_RANGE_MAX_SHUNT_V",
    "AVERAGING",
    "DEVICE_ID",
    "EDGE_TOPIC",
    "MANUFACTURER_ID",
    "REGISTER_WIDTHS",
    "Calibration",
    "EdgeMessage",
    "I2CBus",
    "Ina228",
    "Ina228Device",
    "Ina228MqttDevice",
    "Ina228Sample",
    "MetricPrefix",
    "Reg",
    "calibration",
    "close_bus",
    "current_lsb_a",
    "decode_charge_c",
    "decode_current_a",
    "decode_dietemp_c",
    "decode_energy_j",
    "decode_power_w",
    "decode_vbus_v",
    "decode_vshunt_v",
    "edge_payload",
    "encode_charge_c",
    "encode_current_a",
    "encode_dietemp_c",
    "encode_energy_j",
    "encode_power_w",
    "encode_vbus_v",
    "encode_vshunt_v",
    "open_smbus",
    "parse_edge_payload",
    "sample_readings",
    "shunt_cal",
]

log = logging.getLogger(__name__)

MetricPrefix = Literal["pv", "battery", "load"]


class Reg:
    """Register addresses (PROTOCOLS.md §6)."""

    CONFIG = 0x00
    ADC_CONFIG = 0x01
    SHUNT_CAL = 0x02
    SHUNT_TEMPCO = 0x03
    VSHUNT = 0x04
    VBUS = 0x05
    DIETEMP = 0x06
    CURRENT = 0x07
    POWER = 0x08
    ENERGY = 0x09
    CHARGE = 0x0A
    DIAG_ALRT = 0x0B
    MANUFACTURER_ID = 0x3E
    DEVICE_ID = 0x3F


#: Register widths in bytes; registers not listed are 16-bit.
REGISTER_WIDTHS: dict[int, int] = {
    Reg.VSHUNT: 3,
    Reg.VBUS: 3,
    Reg.CURRENT: 3,
    Reg.POWER: 3,
    Reg.ENERGY: 5,
    Reg.CHARGE: 5,
}

MANUFACTURER_ID = 0x5449  # "TI"
DEVICE_ID = 0x228  # DEVICE_ID bits 15..4; bits 3..0 are the silicon revision

CONFIG_RST = 1 << 15
CONFIG_RSTACC = 1 << 14
CONFIG_ADCRANGE = 1 << 4
MODE_CONTINUOUS_ALL = 0xF  # continuous bus voltage, shunt voltage and temperature
CONVERSION_TIME_1052_US = 5
#: Samples averaged -> ADC_CONFIG AVG field.
AVERAGING: dict[int, int] = {1: 0, 4: 1, 16: 2, 64: 3, 128: 4, 256: 5, 512: 6, 1024: 7}

#: Full-scale shunt voltage by ADCRANGE [V].
ADC_RANGE_MAX_SHUNT_V: dict[int, float] = {0: 0.16384, 1: 0.04096}
VSHUNT_LSB_V: dict[int, float] = {0: 312.5e-9, 1: 78.125e-9}
VBUS_LSB_V = 195.3125e-6
DIETEMP_LSB_C = 7.8125e-3
POWER_FACTOR = 3.2
ENERGY_FACTOR = 16 * 3.2
SHUNT_CAL_FACTOR = 13107.2e6
SHUNT_CAL_MAX = 0x7FFF  # 15 bits


# --- calibration -------------------------------------------------------------------------


def current_lsb_a(max_current_a: float) -> float:
    """CURRENT_LSB = max expected current / 2^19 [A/bit]."""
    if not max_current_a > 0:
        raise ValueError(f"max_current_a must be > 0, got {max_current_a}")
    return max_current_a / 2**19


def shunt_cal(current_lsb_a: float, shunt_ohms: float, adcrange: int = 0) -> int:
    """SHUNT_CAL = 13107.2e6 × CURRENT_LSB [A] × R_shunt [Ω], ×4 when ADCRANGE = 1.

    Truncated to an integer as the reference drivers do (after removing float noise, so the
    worked example R = 0.015 Ω, Imax = 10 A gives exactly 3750). Raises ValueError when the
    value does not fit the register's 15 bits.
    """
    if adcrange not in (0, 1):
        raise ValueError(f"adcrange must be 0 or 1, got {adcrange}")
    value = SHUNT_CAL_FACTOR * current_lsb_a * shunt_ohms * (4 if adcrange else 1)
    cal = int(round(value, 6))
    if not 0 < cal <= SHUNT_CAL_MAX:
        raise ValueError(
            f"SHUNT_CAL {value:.1f} does not fit the INA228's 15-bit register (1..32767); "
            "check shunt_ohms and max_current_a"
        )
    return cal


@dataclass(frozen=True, slots=True, kw_only=True)
class Calibration:
    """The programmed scale of one chip."""

    current_lsb_a: float  # [A/bit]
    shunt_cal: int
    adcrange: Literal[0, 1]


def calibration(
    *, shunt_ohms: float, max_current_a: float, adcrange: Literal[0, 1] | None = None
) -> Calibration:
    """The calibration for a shunt [Ω] and the largest expected current [A].

    ``adcrange=None`` picks ±40.96 mV (ADCRANGE = 1, four times the resolution) when the
    shunt voltage at ``max_current_a`` fits in it, else ±163.84 mV. Raises ValueError when
    even ±163.84 mV is too small: the reading would clip.
    """
    shunt_v = shunt_ohms * max_current_a
    if shunt_v > ADC_RANGE_MAX_SHUNT_V[0]:
        raise ValueError(
            f"{max_current_a:g} A through {shunt_ohms:g} Ω is {shunt_v * 1000:.1f} mV, beyond "
            "the INA228's ±163.84 mV shunt range; use a smaller shunt or a lower max_current_a"
        )
    if adcrange is None:
        adcrange = 1 if shunt_v <= ADC_RANGE_MAX_SHUNT_V[1] else 0
    lsb = current_lsb_a(max_current_a)
    return Calibration(
        current_lsb_a=lsb, shunt_cal=shunt_cal(lsb, shunt_ohms, adcrange), adcrange=adcrange
    )


# --- codec ---------------------------------------------------------------------------------


def _unsigned(raw: bytes | Sequence[int], width: int, name: str) -> int:
    if len(raw) != width:
        raise ValueError(f"{name} is {width} bytes wide, got {len(raw)}")
    return int.from_bytes(bytes(raw), "big")


def _signed(value: int, bits: int) -> int:
    return value - (1 << bits) if value & (1 << (bits - 1)) else value


def _s20(raw: bytes | Sequence[int], name: str) -> int:
    """The signed 20-bit number in bits 23..4 of a 24-bit register."""
    return _signed(_unsigned(raw, 3, name) >> 4, 20)


def decode_vshunt_v(raw: bytes | Sequence[int], adcrange: int = 0) -> float:
    """VSHUNT (0x04, 24-bit): shunt voltage [V]."""
    return _s20(raw, "VSHUNT") * VSHUNT_LSB_V[1 if adcrange else 0]


def decode_vbus_v(raw: bytes | Sequence[int]) -> float:
    """VBUS (0x05, 24-bit): bus voltage [V], 20 bits in 23..4, always positive."""
    return (_unsigned(raw, 3, "VBUS") >> 4) * VBUS_LSB_V


def decode_dietemp_c(raw: bytes | Sequence[int]) -> float:
    """DIETEMP (0x06, 16-bit two's complement): die temperature [°C]."""
    return _signed(_unsigned(raw, 2, "DIETEMP"), 16) * DIETEMP_LSB_C


def decode_current_a(raw: bytes | Sequence[int], current_lsb_a: float) -> float:
    """CURRENT (0x07, 24-bit): current [A], signed 20 bits in 23..4."""
    return _s20(raw, "CURRENT") * current_lsb_a


def decode_power_w(raw: bytes | Sequence[int], current_lsb_a: float) -> float:
    """POWER (0x08, 24-bit unsigned): power magnitude [W] = raw × 3.2 × CURRENT_LSB."""
    return _unsigned(raw, 3, "POWER") * POWER_FACTOR * current_lsb_a


def decode_energy_j(raw: bytes | Sequence[int], current_lsb_a: float) -> float:
    """ENERGY (0x09, 40-bit unsigned): energy since the last reset [J] = raw × 16 × 3.2 × LSB."""
    return _unsigned(raw, 5, "ENERGY") * ENERGY_FACTOR * current_lsb_a


def decode_charge_c(raw: bytes | Sequence[int], current_lsb_a: float) -> float:
    """CHARGE (0x0A, 40-bit two's complement): charge since the last reset [C] = raw × LSB."""
    return _signed(_unsigned(raw, 5, "CHARGE"), 40) * current_lsb_a


def _clamp(value: int, lo: int, hi: int) -> int:
    return max(lo, min(hi, value))


def _s20_bytes(code: int) -> bytes:
    code = _clamp(code, -(2**19), 2**19 - 1)
    return ((code & 0xFFFFF) << 4).to_bytes(3, "big")


def encode_vshunt_v(volts: float, adcrange: int = 0) -> bytes:
    """VSHUNT bytes for a shunt voltage [V] (saturating at full scale)."""
    return _s20_bytes(round(volts / VSHUNT_LSB_V[1 if adcrange else 0]))


def encode_vbus_v(volts: float) -> bytes:
    """VBUS bytes for a bus voltage [V] (0 .. 204.8 V)."""
    return (_clamp(round(volts / VBUS_LSB_V), 0, 2**19 - 1) << 4).to_bytes(3, "big")


def encode_dietemp_c(temp_c: float) -> bytes:
    """DIETEMP bytes for a die temperature [°C]."""
    return (_clamp(round(temp_c / DIETEMP_LSB_C), -(2**15), 2**15 - 1) & 0xFFFF).to_bytes(2, "big")


def encode_current_a(amps: float, current_lsb_a: float) -> bytes:
    """CURRENT bytes for a current [A] (saturating at ±2^19 LSB)."""
    return _s20_bytes(round(amps / current_lsb_a))


def encode_power_w(watts: float, current_lsb_a: float) -> bytes:
    """POWER bytes for a power magnitude [W]."""
    code = round(abs(watts) / (POWER_FACTOR * current_lsb_a))
    return _clamp(code, 0, 2**24 - 1).to_bytes(3, "big")


def encode_energy_j(joules: float, current_lsb_a: float) -> bytes:
    """ENERGY bytes for an accumulated energy [J] (the chip truncates; so does this)."""
    code = int(max(joules, 0.0) / (ENERGY_FACTOR * current_lsb_a))
    return (code & (2**40 - 1)).to_bytes(5, "big")


def encode_charge_c(coulombs: float, current_lsb_a: float) -> bytes:
    """CHARGE bytes for an accumulated charge [C] (two's complement, 40-bit)."""
    code = _clamp(int(coulombs / current_lsb_a), -(2**39), 2**39 - 1)
    return (code & (2**40 - 1)).to_bytes(5, "big")


# --- the chip --------------------------------------------------------------------------------


class I2CBus(Protocol):
    """The two ``smbus2.SMBus`` methods the driver uses."""

    def read_i2c_block_data(self, i2c_addr: int, register: int, length: int) -> list[int]: ...

    def write_i2c_block_data(self, i2c_addr: int, register: int, data: list[int]) -> None: ...


def open_smbus(bus: int) -> I2CBus:
    """``smbus2.SMBus(bus)``; raises DeviceUnreachable with what to do when it cannot open."""
    import smbus2

    path = f"/dev/i2c-{bus}"
    try:
        handle: I2CBus = smbus2.SMBus(bus)
    except FileNotFoundError as err:
        raise DeviceUnreachable(
            f"I²C bus {bus} ({path}) does not exist; enable I²C with `sudo raspi-config` → "
            "Interface Options → I2C and reboot, or set the right bus number"
        ) from err
    except PermissionError as err:
        raise DeviceUnreachable(
            f"no permission to open {path}; add the user to the i2c group "
            "(`sudo usermod -aG i2c $USER`, then log in again)"
        ) from err
    except OSError as err:
        raise DeviceUnreachable(
            f"cannot open I²C bus {bus} ({path}): {err}; enable I²C with `sudo raspi-config` "
            "and add the user to the i2c group"
        ) from err
    return handle


def close_bus(bus: I2CBus) -> None:
    """Close the bus handle when it has a ``close()`` (smbus2 does)."""
    close = getattr(bus, "close", None)
    if callable(close):
        try:
            close()
        except OSError as err:
            log.debug("closing I²C bus: %s", err)


@dataclass(frozen=True, slots=True, kw_only=True)
class Ina228Sample:
    """One set of measurements."""

    bus_voltage_v: float  # [V]
    shunt_voltage_v: float  # [V]
    current_a: float  # [A], positive IN+ -> IN-
    power_w: float  # [W], with the sign of the current
    energy_wh: float  # [Wh] since the accumulators were last reset (unsigned: |P| integrated)
    charge_c: float  # [C] since the accumulators were last reset (signed)
    die_temp_c: float  # [°C]


class Ina228:
    """One INA228 on an I²C bus. Blocking: call from a worker thread in async code."""

    def __init__(
        self,
        bus: I2CBus,
        *,
        address: int = 0x40,
        shunt_ohms: float,
        max_current_a: float,
        adcrange: Literal[0, 1] | None = None,
        averaging: int = 64,
        bus_number: int | None = None,
    ) -> None:
        if averaging not in AVERAGING:
            raise ValueError(f"averaging must be one of {sorted(AVERAGING)}, got {averaging}")
        self.bus = bus
        self.address = address
        self.calibration = calibration(
            shunt_ohms=shunt_ohms, max_current_a=max_current_a, adcrange=adcrange
        )
        self.averaging = averaging
        where = f"I²C bus {bus_number} " if bus_number is not None else ""
        self.label = f"INA228 at {where}address 0x{address:02X}"

    # -- register access (errors translated here) -----------------------------------------

    def _fail(self, err: OSError, doing: str) -> DeviceError:
        code = f"OSError {err.errno}" if err.errno is not None else f"OSError: {err}"
        if err.errno in (errno.ETIMEDOUT, errno.EAGAIN):
            return DeviceTimeout(
                f"{self.label} timed out while {doing} ({code}); check the wiring and pull-ups"
            )
        return DeviceUnreachable(
            f"{self.label} did not answer ({code}) while {doing}; "
            "check the wiring and the address jumpers"
        )

    def read_register(self, reg: int) -> bytes:
        width = REGISTER_WIDTHS.get(reg, 2)
        try:
            data = self.bus.read_i2c_block_data(self.address, reg, width)
        except OSError as err:
            raise self._fail(err, f"reading register 0x{reg:02X}") from err
        if len(data) != width:
            raise DeviceProtocolError(
                f"{self.label} returned {len(data)} bytes for register 0x{reg:02X}, "
                f"expected {width}"
            )
        return bytes(data)

    def read_u16(self, reg: int) -> int:
        return int.from_bytes(self.read_register(reg), "big")

    def write_u16(self, reg: int, value: int) -> None:
        try:
            self.bus.write_i2c_block_data(self.address, reg, [(value >> 8) & 0xFF, value & 0xFF])
        except OSError as err:
            raise self._fail(err, f"writing register 0x{reg:02X}") from err

    # -- operations ------------------------------------------------------------------------

    def identify(self) -> tuple[int, int]:
        """Check MANUFACTURER_ID and DEVICE_ID; returns them; DeviceProtocolError when not ours."""
        manufacturer = self.read_u16(Reg.MANUFACTURER_ID)
        device = self.read_u16(Reg.DEVICE_ID)
        if manufacturer != MANUFACTURER_ID or device >> 4 != DEVICE_ID:
            raise DeviceProtocolError(
                f"the chip at {self.label.removeprefix('INA228 at ')} is not an INA228: "
                f"manufacturer id 0x{manufacturer:04X}, device id 0x{device:04X} "
                f"(expected 0x{MANUFACTURER_ID:04X} and 0x{DEVICE_ID:03X}x); "
                "check the address (another sensor may answer there) and the part number"
            )
        return manufacturer, device

    def configure(self) -> None:
        """Identify the chip, reset it, start continuous conversions and program SHUNT_CAL.

        The identity is checked before anything is written, so a wrong address never resets
        some other chip. Resetting clears the energy and charge accumulators.
        """
        self.identify()
        cal = self.calibration
        self.write_u16(Reg.CONFIG, CONFIG_RST)
        self.write_u16(Reg.CONFIG, CONFIG_ADCRANGE if cal.adcrange else 0)
        ct = CONVERSION_TIME_1052_US
        adc_config = ((MODE_CONTINUOUS_ALL << 12) | (ct << 9) | (ct << 6) | (ct << 3)) | AVERAGING[
            self.averaging
        ]
        self.write_u16(Reg.ADC_CONFIG, adc_config)
        self.write_u16(Reg.SHUNT_CAL, cal.shunt_cal)
        back = self.read_u16(Reg.SHUNT_CAL)
        if back != cal.shunt_cal:
            raise ReadbackMismatch(
                f"{self.label}: SHUNT_CAL reads {back} after writing {cal.shunt_cal}; "
                "check the wiring (noise on SDA/SCL?)"
            )

    def calibrated(self) -> bool:
        """Whether SHUNT_CAL still holds our value (False after the chip lost power)."""
        return self.read_u16(Reg.SHUNT_CAL) == self.calibration.shunt_cal

    def reset_accumulators(self) -> None:
        """Zero ENERGY and CHARGE (CONFIG.RSTACC), keeping the ADC range."""
        adcrange = CONFIG_ADCRANGE if self.calibration.adcrange else 0
        self.write_u16(Reg.CONFIG, CONFIG_RSTACC | adcrange)

    def sample(self) -> Ina228Sample:
        """Read every measurement register once."""
        lsb = self.calibration.current_lsb_a
        current = decode_current_a(self.read_register(Reg.CURRENT), lsb)
        power = decode_power_w(self.read_register(Reg.POWER), lsb)
        return Ina228Sample(
            bus_voltage_v=decode_vbus_v(self.read_register(Reg.VBUS)),
            shunt_voltage_v=decode_vshunt_v(
                self.read_register(Reg.VSHUNT), self.calibration.adcrange
            ),
            current_a=current,
            power_w=-power if current < 0 else power,
            energy_wh=decode_energy_j(self.read_register(Reg.ENERGY), lsb) / 3600.0,
            charge_c=decode_charge_c(self.read_register(Reg.CHARGE), lsb),
            die_temp_c=decode_dietemp_c(self.read_register(Reg.DIETEMP)),
        )


# --- readings ---------------------------------------------------------------------------------


def sample_readings(
    sample: Ina228Sample,
    *,
    site: str,
    device: str,
    time: datetime,
    metric_prefix: MetricPrefix | None,
) -> list[Reading]:
    """The normalised readings of one sample.

    Always ``voltage_v``, ``current_a``, ``power_w``, ``energy_wh``, ``temp_c`` (die);
    ``pv`` adds ``pv_power_w``, ``load`` adds ``load_power_w`` (both the unsigned power
    magnitude the chip measures), ``battery`` adds ``battery_voltage_v``,
    ``battery_current_a`` and ``battery_power_w`` (signed, positive = charging).
    """

    def reading(metric: str, value: float) -> Reading:
        return Reading(site=site, metric=metric, time=time, value=value, device=device)

    out = [
        reading("voltage_v", sample.bus_voltage_v),
        reading("current_a", sample.current_a),
        reading("power_w", sample.power_w),
        reading("energy_wh", sample.energy_wh),
        reading("temp_c", sample.die_temp_c),
    ]
    if metric_prefix == "pv":
        out.append(reading("pv_power_w", abs(sample.power_w)))
    elif metric_prefix == "load":
        out.append(reading("load_power_w", abs(sample.power_w)))
    elif metric_prefix == "battery":
        out += [
            reading("battery_voltage_v", sample.bus_voltage_v),
            reading("battery_current_a", sample.current_a),
            reading("battery_power_w", sample.power_w),
        ]
    return out


class Ina228Device:
    """An INA228 on this machine's I²C bus (driver ``ina228``)."""

    push = False

    def __init__(
        self,
        device: Device,
        site: Site,
        *,
        bus_factory: Callable[[int], I2CBus] = open_smbus,
    ) -> None:
        config = device.config
        if not isinstance(config, Ina228Connection):
            raise TypeError(f"device {device.name!r} is not an ina228 device")
        self.name = device.name
        self.site = site.name
        self.config = config
        self._bus_factory = bus_factory
        self._bus: I2CBus | None = None
        self._chip: Ina228 | None = None
        self._configured = False
        self.reconfigurations = 0

    def _open(self) -> Ina228:
        if self._chip is None:
            bus = self._bus_factory(self.config.bus)
            try:
                chip = Ina228(
                    bus,
                    address=self.config.address,
                    shunt_ohms=self.config.shunt_ohms,
                    max_current_a=self.config.max_current_a,
                    bus_number=self.config.bus,
                )
            except ValueError as err:
                close_bus(bus)
                raise DeviceRefused(f"{self.name}: {err}") from err
            self._bus, self._chip = bus, chip
        return self._chip

    def _start(self) -> None:
        chip = self._open()
        if not self._configured:
            chip.configure()
            self._configured = True

    async def start(self) -> None:
        """Open the bus and configure the chip; DeviceError with advice when that fails."""
        await asyncio.to_thread(self._start)

    def _read(self) -> Ina228Sample:
        self._start()
        chip = self._open()
        try:
            if not chip.calibrated():  # the chip lost power: program it again
                log.warning("%s lost its calibration; configuring it again", chip.label)
                self.reconfigurations += 1
                chip.configure()
            return chip.sample()
        except DeviceError:
            self._configured = False  # configure again on the next read
            raise

    async def read(self, now: datetime) -> list[Reading]:
        sample = await asyncio.to_thread(self._read)
        return sample_readings(
            sample,
            site=self.site,
            device=self.name,
            time=now,
            metric_prefix=self.config.metric_prefix,
        )

    def handles(self, command: DeviceCommand) -> bool:
        return False

    async def execute(self, command: DeviceCommand) -> None:
        raise DeviceRefused(f"{self.name} (INA228) only measures; it cannot {command.kind}")

    async def close(self) -> None:
        bus, self._bus, self._chip = self._bus, None, None
        self._configured = False
        if bus is not None:
            close_bus(bus)


# --- edge payloads over MQTT ------------------------------------------------------------------

EDGE_TOPIC = "commandcenter/edge/{device}/ina228"
_EDGE_FIELDS = ("bus_voltage_v", "current_a", "power_w")
_EDGE_OPTIONAL = ("shunt_voltage_v", "energy_wh", "charge_c", "die_temp_c")


def edge_payload(
    sample: Ina228Sample,
    *,
    device: str,
    time: datetime,
    metric_prefix: MetricPrefix | None = None,
) -> bytes:
    """The JSON an edge publishes per sample (UTF-8).

    ``{"device", "time" (ISO 8601 UTC), "bus_voltage_v", "shunt_voltage_v", "current_a",
    "power_w", "energy_wh", "charge_c", "die_temp_c"}`` plus ``"metric_prefix"`` when the
    edge was told what it measures.
    """
    body: dict[str, Any] = {
        "device": device,
        "time": time.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "bus_voltage_v": round(sample.bus_voltage_v, 6),
        "shunt_voltage_v": round(sample.shunt_voltage_v, 9),
        "current_a": round(sample.current_a, 6),
        "power_w": round(sample.power_w, 6),
        "energy_wh": round(sample.energy_wh, 6),
        "charge_c": round(sample.charge_c, 6),
        "die_temp_c": round(sample.die_temp_c, 4),
    }
    if metric_prefix is not None:
        body["metric_prefix"] = metric_prefix
    return json.dumps(body, separators=(",", ":")).encode()


@dataclass(frozen=True, slots=True, kw_only=True)
class EdgeMessage:
    device: str
    time: datetime
    sample: Ina228Sample
    metric_prefix: MetricPrefix | None


def _number(body: Mapping[str, Any], key: str, *, required: bool) -> float:
    value = body.get(key)
    if value is None and not required:
        return math.nan
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{key} is {value!r}, expected a finite number")
    return float(value)


def parse_edge_payload(payload: bytes) -> EdgeMessage:
    """Parse an edge payload; ValueError saying what is wrong."""
    try:
        body = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"not JSON: {err}") from err
    if not isinstance(body, dict):
        raise ValueError("not a JSON object")
    device = body.get("device")
    if not isinstance(device, str) or not device:
        raise ValueError("device is missing")
    stamp = body.get("time")
    if not isinstance(stamp, str):
        raise ValueError("time is missing")
    try:
        time = datetime.fromisoformat(stamp)
    except ValueError as err:
        raise ValueError(f"time {stamp!r} is not ISO 8601") from err
    if time.tzinfo is None:
        raise ValueError(f"time {stamp!r} has no time zone")
    prefix = body.get("metric_prefix")
    if prefix not in (None, "pv", "battery", "load"):
        raise ValueError(f"metric_prefix {prefix!r} is not pv, battery or load")
    values = {k: _number(body, k, required=True) for k in _EDGE_FIELDS}
    values |= {k: _number(body, k, required=False) for k in _EDGE_OPTIONAL}
    return EdgeMessage(
        device=device,
        time=time.astimezone(UTC),
        sample=Ina228Sample(**values),
        metric_prefix=prefix,
    )


def _edge_name(topic_filter: str, topic: str) -> str | None:
    """The topic level matched by the filter's single ``+`` (the edge's name), if any."""
    levels, actual = topic_filter.split("/"), topic.split("/")
    if levels.count("+") != 1 or "#" in levels or len(levels) != len(actual):
        return None
    return actual[levels.index("+")]


class Ina228MqttDevice:
    """INA228 readings published by ``commandcenter edge ina228`` (driver ``ina228_mqtt``).

    Readings carry the edge's name as their ``device`` (the topic level matched by ``+``),
    so one device entry can listen to several Raspberry Pis. Malformed payloads are counted
    in :attr:`malformed` and skipped, never raised.
    """

    push = True
    MAX_BUFFERED = 10_000  # readings kept between two read() calls

    def __init__(self, device: Device, site: Site, *, hubs: MqttHubs) -> None:
        config = device.config
        if not isinstance(config, Ina228MqttConnection):
            raise TypeError(f"device {device.name!r} is not an ina228_mqtt device")
        self.name = device.name
        self.site = site.name
        self.config = config
        self._hub: MqttHub = hubs.get(config)
        self._buffer: deque[Reading] = deque(maxlen=self.MAX_BUFFERED)
        self._subscribed = False
        self.received = 0
        self.malformed = 0
        self.last_error = ""

    async def start(self) -> None:
        await self._hub.connect()
        if not self._subscribed:
            self._hub.subscribe(self.config.topic, self.on_message, qos=1)
            self._subscribed = True

    def on_message(self, topic: str, payload: bytes) -> None:
        """Turn one edge payload into readings (malformed ones are counted, not raised)."""
        try:
            message = parse_edge_payload(payload)
            name = _edge_name(self.config.topic, topic)
            if name is not None and name != message.device:
                raise ValueError(f"payload device {message.device!r} differs from topic {topic}")
        except ValueError as err:
            self.malformed += 1
            self.last_error = f"{topic}: {err}"
            level = logging.WARNING if self.malformed == 1 else logging.DEBUG
            log.log(level, "%s: malformed INA228 payload on %s: %s", self.name, topic, err)
            return
        self.received += 1
        readings = sample_readings(
            message.sample,
            site=self.site,
            device=message.device,
            time=message.time,
            metric_prefix=message.metric_prefix,
        )
        self._buffer.extend(r for r in readings if not math.isnan(r.value))

    async def read(self, now: datetime) -> list[Reading]:
        out = list(self._buffer)
        self._buffer.clear()
        return out

    def handles(self, command: DeviceCommand) -> bool:
        return False

    async def execute(self, command: DeviceCommand) -> None:
        raise DeviceRefused(
            f"{self.name} (INA228 over MQTT) only measures; it cannot {command.kind}"
        )

    async def close(self) -> None:
        if self._subscribed:
            self._hub.unsubscribe(self.on_message)
            self._subscribed = False
