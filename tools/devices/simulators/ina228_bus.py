"""A fake I²C bus with INA228 chips on it, for tests and demos without a Raspberry Pi.

It implements the two ``smbus2.SMBus`` methods the driver uses and the register semantics
the driver relies on (PROTOCOLS.md §6): big-endian registers of 2, 3 or 5 bytes; writes to
CONFIG (RST resets every register and the accumulators, RSTACC the accumulators only),
ADC_CONFIG and SHUNT_CAL are stored; CURRENT, POWER, ENERGY and CHARGE are computed from a
settable true current and bus voltage through the *programmed* SHUNT_CAL and ADCRANGE, so a
driver that programs the wrong calibration reads wrong values, as on real hardware.
ENERGY and CHARGE accumulate over :meth:`FakeI2CBus.advance` steps while conversions run
continuously. An address with no chip answers ``OSError(121)`` (EREMOTEIO), as smbus2 does
when nothing acknowledges.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass, field

from tools.devices.ina228 import (
    CONFIG_ADCRANGE,
    CONFIG_RST,
    CONFIG_RSTACC,
    REGISTER_WIDTHS,
    SHUNT_CAL_FACTOR,
    Reg,
    encode_charge_c,
    encode_current_a,
    encode_dietemp_c,
    encode_energy_j,
    encode_power_w,
    encode_vbus_v,
    encode_vshunt_v,
)

__all__ = ["FakeI2CBus", "FakeIna228"]

_RESET_VALUES = {
    Reg.CONFIG: 0x0000,
    Reg.ADC_CONFIG: 0xFB68,  # continuous, 1052 µs conversions, no averaging
    Reg.SHUNT_CAL: 0x1000,
    Reg.SHUNT_TEMPCO: 0x0000,
}
_WRITABLE = {Reg.CONFIG, Reg.ADC_CONFIG, Reg.SHUNT_CAL, Reg.SHUNT_TEMPCO, *range(0x0B, 0x12)}


@dataclass
class FakeIna228:
    """One simulated chip: set the true physics, read the registers."""

    shunt_ohms: float = 0.015  # the real shunt on the board [Ω]
    current_a: float = 0.0  # true current, positive IN+ -> IN- [A]
    bus_voltage_v: float = 0.0  # [V]
    die_temp_c: float = 25.0  # [°C]
    manufacturer_id: int = 0x5449
    device_id: int = 0x2281
    registers: dict[int, int] = field(default_factory=lambda: dict(_RESET_VALUES))
    energy_j: float = 0.0  # true accumulated |P| dt since the last reset [J]
    charge_c: float = 0.0  # true accumulated I dt since the last reset [C]
    writes: list[tuple[int, int]] = field(default_factory=list)  # (register, value) in order

    @property
    def adcrange(self) -> int:
        return 1 if self.registers[Reg.CONFIG] & CONFIG_ADCRANGE else 0

    @property
    def converting(self) -> bool:
        """Continuous conversion modes are 0x9..0xF (ADC_CONFIG bits 15..12)."""
        return self.registers[Reg.ADC_CONFIG] >> 12 >= 0x9

    @property
    def current_lsb_a(self) -> float:
        """The CURRENT_LSB that the programmed SHUNT_CAL implies for the real shunt [A]."""
        cal = self.registers[Reg.SHUNT_CAL] & 0x7FFF
        return cal / (SHUNT_CAL_FACTOR * self.shunt_ohms * (4 if self.adcrange else 1)) or 1e-12

    def reset(self) -> None:
        self.registers = dict(_RESET_VALUES)
        self.reset_accumulators()

    def reset_accumulators(self) -> None:
        self.energy_j = 0.0
        self.charge_c = 0.0

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` of conversions accumulate at the present current and voltage."""
        if self.converting and seconds > 0:
            self.energy_j += abs(self.current_a * self.bus_voltage_v) * seconds
            self.charge_c += self.current_a * seconds

    def write(self, reg: int, value: int) -> None:
        self.writes.append((reg, value))
        if reg == Reg.CONFIG:
            if value & CONFIG_RST:
                self.reset()
                return
            if value & CONFIG_RSTACC:
                self.reset_accumulators()
            value &= ~(CONFIG_RST | CONFIG_RSTACC)
        if reg in _WRITABLE:
            self.registers[reg] = value & 0xFFFF

    def read(self, reg: int) -> bytes:
        lsb = self.current_lsb_a
        shunt_v = self.current_a * self.shunt_ohms
        if reg == Reg.VSHUNT:
            return encode_vshunt_v(shunt_v, self.adcrange)
        if reg == Reg.VBUS:
            return encode_vbus_v(self.bus_voltage_v)
        if reg == Reg.DIETEMP:
            return encode_dietemp_c(self.die_temp_c)
        if reg == Reg.CURRENT:
            return encode_current_a(self.current_a, lsb)
        if reg == Reg.POWER:
            return encode_power_w(self.current_a * self.bus_voltage_v, lsb)
        if reg == Reg.ENERGY:
            return encode_energy_j(self.energy_j, lsb)
        if reg == Reg.CHARGE:
            return encode_charge_c(self.charge_c, lsb)
        if reg == Reg.MANUFACTURER_ID:
            return self.manufacturer_id.to_bytes(2, "big")
        if reg == Reg.DEVICE_ID:
            return self.device_id.to_bytes(2, "big")
        return self.registers.get(reg, 0).to_bytes(2, "big")


class FakeI2CBus:
    """A bus holding chips by address; implements the ``smbus2.SMBus`` block methods."""

    def __init__(self, chips: dict[int, FakeIna228] | None = None) -> None:
        self.chips: dict[int, FakeIna228] = {0x40: FakeIna228()} if chips is None else chips
        self.closed = False

    def _chip(self, address: int) -> FakeIna228:
        if self.closed:
            raise OSError(errno.EBADF, os.strerror(errno.EBADF))
        chip = self.chips.get(address)
        if chip is None:
            raise OSError(errno.EREMOTEIO, os.strerror(errno.EREMOTEIO))
        return chip

    def read_i2c_block_data(
        self, i2c_addr: int, register: int, length: int, force: bool | None = None
    ) -> list[int]:
        chip = self._chip(i2c_addr)
        width = REGISTER_WIDTHS.get(register, 2)
        if length != width:
            raise ValueError(f"register 0x{register:02X} is {width} bytes wide, read {length}")
        return list(chip.read(register))

    def write_i2c_block_data(
        self, i2c_addr: int, register: int, data: list[int], force: bool | None = None
    ) -> None:
        chip = self._chip(i2c_addr)
        if len(data) != 2:
            raise ValueError(f"register 0x{register:02X} takes 2 bytes, got {len(data)}")
        chip.write(register, (data[0] << 8) | data[1])

    def advance(self, seconds: float) -> None:
        """Advance every chip's accumulators by ``seconds``."""
        for chip in self.chips.values():
            chip.advance(seconds)

    def close(self) -> None:
        self.closed = True
