"""A SolArk / Sunsynk / Deye single-phase inverter on Modbus TCP, driven by the physics simulator.

:class:`SolArkModbusSimulator` is a pymodbus TCP server on loopback holding the
inverter's holding registers encoded as the real inverter does (PROTOCOLS §2):
unsigned 16-bit unless signed (int16 two's complement), multi-register values
with the LOW word first, temperatures as ``(T + 100) * 10``, battery power and
current positive when DISCHARGING. The encoding here is written out register
by register on purpose and does not reuse the driver's map, so a mistake in
one shows up against the other.

Values come from :class:`tools.devices.simulator.SimulatedSite` whenever
:meth:`SolArkModbusSimulator.step` is called. A client writing register 232
switches the simulated grid charging; 219 (battery low capacity, 0..50) and
268..273 (time-of-use capacities, 0..100) are stored, out-of-range values are
answered with exception 3 (ILLEGAL DATA VALUE) [assumed behaviour]. Registers
outside the map read 0. Needs pymodbus >= 3.11 (``SimDevice``).

Fault injection for tests: ``ignore_writes`` (writes are acknowledged but not
stored, so a read-back differs), ``exception_on`` (``{address: code}``: any
request touching ``address`` gets that Modbus exception) and ``silent``
(requests are processed but never answered).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, cast

from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from tools.devices.base import DeviceCommand
from tools.devices.simulator import EnergyTotals, SimulatedSite
from tools.domain import Reading
from tools.errors import DeviceError
from tools.site import Site

__all__ = ["REGISTER_COUNT", "SolArkModbusSimulator"]

REGISTER_COUNT = 400
"""Registers 0..399 exist (read as 0 unless set); beyond them reads get ILLEGAL DATA ADDRESS."""

DEVICE_TYPE_SINGLE_PHASE_HYBRID = 0x0003
INVERTER_STATE_NORMAL = 2
SERIAL = "SIM0000001"

_GRID_CHARGE = 232
_LOW_CAPACITY = 219
_TOU_CAPACITY = range(268, 274)


def _u16(value: float) -> int:
    """Unsigned 16-bit register, rounded and clamped to 0..65535."""
    return min(max(round(value), 0), 0xFFFF)


def _s16(value: float) -> int:
    """Signed int16 (clamped to -32768..32767) as the register's two's-complement word."""
    return min(max(round(value), -0x8000), 0x7FFF) & 0xFFFF


def _tenths_kwh(energy_wh: float) -> int:
    """Energy counter in 0.1 kWh steps."""
    return _u16(energy_wh / 100.0)


class SolArkModbusSimulator:
    """The inverter's registers over real Modbus TCP on ``host:port`` (port 0 = any free port).

    ``physics`` may be given to share a :class:`SimulatedSite`; otherwise one is
    built from ``site``, ``seed`` and ``start``.
    """

    def __init__(
        self,
        site: Site,
        *,
        start: datetime,
        seed: int = 0,
        physics: SimulatedSite | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        unit_id: int = 1,
        ignore_writes: bool = False,
        exception_on: Mapping[int, int] | None = None,
        silent: bool = False,
        battery_temp_c: float | None = 25.0,
        grid_voltage_v: float = 240.0,
        grid_frequency_hz: float = 60.0,
        rated_power_w: float = 8000.0,
        grid_power_step_w: int = 1,
        shutdown_capacity_pct: int = 10,
        use_timer: bool = True,
    ) -> None:
        self.site = site
        self.physics = (
            physics if physics is not None else SimulatedSite(site, seed=seed, start=start)
        )
        self.host = host
        self.port = port
        self.unit_id = unit_id
        self.ignore_writes = ignore_writes
        self.exception_on: dict[int, int] = dict(exception_on or {})
        self.silent = silent
        self.battery_temp_c = battery_temp_c
        self.grid_voltage_v = grid_voltage_v
        self.grid_frequency_hz = grid_frequency_hz
        # 16 kW single-phase / SG02LP1 firmware: register 169 in 10 W steps
        self.rated_power_w = rated_power_w
        self.grid_power_step_w = grid_power_step_w
        self.shutdown_capacity_pct = shutdown_capacity_pct
        self.use_timer = use_timer
        self.writes: list[tuple[int, int]] = []  # (address, value) as received, for tests
        self._regs: dict[int, int] = {}
        self._fault_bits = 0
        self._day: date | None = None
        self._day_base = EnergyTotals()
        self._server: ModbusTcpServer | None = None
        self._listener: Any = None
        self._initial_settings()

    # ----------------------------------------------------------------- registers

    def register(self, address: int) -> int:
        """The raw 16-bit value of holding register ``address``."""
        return self._regs.get(address, 0)

    def set_register(self, address: int, value: int) -> None:
        """Set a raw register (tests: e.g. a value no inverter would send)."""
        if not 0 <= address < REGISTER_COUNT:
            raise ValueError(f"register {address} is outside 0..{REGISTER_COUNT - 1}")
        self._regs[address] = value & 0xFFFF

    @property
    def fault_bits(self) -> int:
        """Active faults: bit n = fault F(n+1), stored low word first in 103..106."""
        return self._fault_bits

    @fault_bits.setter
    def fault_bits(self, bits: int) -> None:
        if not 0 <= bits < 1 << 64:
            raise ValueError("fault bits must fit in 64 bits")
        self._fault_bits = bits
        self._encode_faults()

    def _encode_faults(self) -> None:
        for i, address in enumerate((103, 104, 105, 106)):
            self._regs[address] = (self._fault_bits >> (16 * i)) & 0xFFFF

    def _initial_settings(self) -> None:
        regs = self._regs
        regs[0] = DEVICE_TYPE_SINGLE_PHASE_HYBRID
        regs[2] = 0x0102  # protocol version 1.2 (hi.lo byte)
        for i in range(
            5
        ):  # serial number: two ASCII characters per register, first in the high byte
            regs[3 + i] = ord(SERIAL[2 * i]) << 8 | ord(SERIAL[2 * i + 1])
        battery = self.site.battery
        low = min(round(battery.min_soc_pct), 50) if battery else 20
        regs[_LOW_CAPACITY] = low
        regs[217] = min(self.shutdown_capacity_pct, low)  # battery shutdown capacity
        rated = round(self.rated_power_w * 10)  # 0.1 W, two words low first
        regs[16], regs[17] = rated & 0xFFFF, rated >> 16 & 0xFFFF
        regs[_GRID_CHARGE] = 0
        regs[248] = 1 if self.use_timer else 0  # Use Timer (bit 0)
        for n, hhmm in enumerate((0, 400, 800, 1200, 1600, 2000)):
            regs[250 + n] = hhmm  # program start times
            regs[256 + n] = 5000  # program power [W]
            regs[268 + n] = low  # program capacity [%]
            regs[274 + n] = 0x04  # mode General, no grid/gen charge
        regs[59] = INVERTER_STATE_NORMAL
        self._encode_faults()

    async def step(self, now: datetime) -> list[Reading]:
        """Advance the physics to ``now`` and encode its values; returns the physics readings."""
        readings = await self.physics.poll(now)
        device = self.physics.device
        values = {r.metric: r.value for r in readings if r.device == device}
        regs = self._regs
        grid_present = self.site.grid.present

        soc = values.get("battery_soc_pct")
        if soc is not None:
            battery_w = values.get("battery_power_w", 0.0)
            volts = values.get("battery_voltage_v", 0.0)
            amps = battery_w / volts if volts else 0.0
            regs[184] = _u16(soc)
            regs[183] = _u16(volts * 100.0)
            regs[190] = _s16(-battery_w)  # wire: positive = discharging
            regs[191] = _s16(-amps * 100.0)
            # no probe fitted: the register reads 0 (-100 °C after the offset)
            temp = self.battery_temp_c
            regs[182] = 0 if temp is None else _u16((temp + 100.0) * 10.0)
        pv_w = values.get("pv_power_w", 0.0)
        pv1 = round(pv_w / 2.0)
        regs[186], regs[187], regs[188] = _s16(pv1), _s16(round(pv_w) - pv1), 0
        load_w = values.get("load_power_w", 0.0)
        regs[176], regs[177], regs[178] = _s16(load_w), 0, _s16(load_w)
        grid_w = values.get("grid_power_w", 0.0)  # positive = import, as the driver assumes
        step = self.grid_power_step_w
        regs[167], regs[168] = _s16(grid_w / step), 0
        regs[169], regs[172] = _s16(grid_w / step), _s16(grid_w / step)
        regs[194] = 1 if grid_present else 0
        regs[150] = _u16(self.grid_voltage_v * 10.0) if grid_present else 0
        regs[79] = _u16(self.grid_frequency_hz * 100.0) if grid_present else 0

        totals = self.physics.totals
        today = now.astimezone(self.site.tz).date()
        if today != self._day:  # counters restart at the first step after local midnight
            self._day, self._day_base = today, totals
        base = self._day_base
        regs[108] = _tenths_kwh(totals.pv_wh - base.pv_wh)
        regs[70] = _tenths_kwh(totals.battery_charge_wh - base.battery_charge_wh)
        regs[71] = _tenths_kwh(totals.battery_discharge_wh - base.battery_discharge_wh)
        regs[76] = _tenths_kwh(totals.grid_import_wh - base.grid_import_wh)
        regs[77] = _tenths_kwh(totals.grid_export_wh - base.grid_export_wh)
        regs[84] = _tenths_kwh(totals.load_wh - base.load_wh)
        return readings

    # ----------------------------------------------------------------- server

    async def start(self) -> int:
        """Encode the initial state, listen, and return the bound port."""
        if self._server is not None:
            return self.port
        await self.step(self.physics.time)
        device = SimDevice(
            id=self.unit_id,
            simdata=SimData(0, count=REGISTER_COUNT, values=0, datatype=DataType.REGISTERS),
            action=self._action,
        )
        server = ModbusTcpServer(device, address=(self.host, self.port), trace_packet=self._trace)
        await server.serve_forever(background=True)
        self._server = server
        self._listener = server.transport
        self.port = int(self._listener.sockets[0].getsockname()[1])
        return self.port

    async def stop(self) -> None:
        """Close the listener and every client connection."""
        server, self._server = self._server, None
        if server is None:
            return
        listener, self._listener = self._listener, None
        await server.shutdown()
        if listener is not None:
            await asyncio.wait_for(listener.wait_closed(), timeout=2.0)

    def _trace(self, sending: bool, data: bytes) -> bytes:
        return b"" if sending and self.silent else data

    async def _action(
        self,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        for a in range(address, address + count):
            if a in self.exception_on:
                return ExcCodes(self.exception_on[a])
        if set_values is None:  # a read: serve from our registers
            for i in range(count):
                registers[address - start_address + i] = self._regs.get(address + i, 0)
            return None
        values = [int(v) for v in set_values]
        self.writes += [(address + i, v) for i, v in enumerate(values)]
        if self.ignore_writes:  # acknowledge, keep the old values
            cast(list[int], set_values)[:] = [self._regs.get(address + i, 0) for i in range(count)]
            return None
        for i, value in enumerate(values):
            if (refused := self._check(address + i, value)) is not None:
                return refused
        for i, value in enumerate(values):
            if (refused := await self._apply(address + i, value)) is not None:
                return refused
        return None

    def _check(self, address: int, value: int) -> ExcCodes | None:
        if address == _LOW_CAPACITY and value > 50:
            return ExcCodes.ILLEGAL_VALUE
        if address in _TOU_CAPACITY and value > 100:
            return ExcCodes.ILLEGAL_VALUE
        return None

    async def _apply(self, address: int, value: int) -> ExcCodes | None:
        if address == _GRID_CHARGE:
            on = bool(value & 0x0001)
            try:
                await self.physics.execute(DeviceCommand(kind="grid_charge", on=on))
            except DeviceError:  # no grid or no battery: the inverter refuses
                return ExcCodes.ILLEGAL_VALUE
        self._regs[address] = value & 0xFFFF
        return None
