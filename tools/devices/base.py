"""The driver interfaces.

A :class:`Driver` is what the rest of the bot sees: one per site, polled for
readings and sent commands. Real sites are made of several devices (an
inverter, relays, a Home Assistant), each a :class:`DeviceDriver`;
:class:`SiteDriver` composes them, routes each command to the device that can
carry it out, and keeps a failing device from stopping the others.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal, Protocol

from tools.domain import Reading
from tools.errors import DeviceError, DeviceRefused
from tools.site import Site

log = logging.getLogger(__name__)

CommandKind = Literal["set_load", "grid_charge", "generator", "min_soc", "tou_soc_target"]


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceCommand:
    """One change to hardware.

    - ``set_load``: switch the relay of the load named ``target`` on or off.
    - ``grid_charge``: enable or disable charging the battery from the grid.
    - ``generator``: start (``on=True``) or stop the generator.
    - ``min_soc``: set the battery's minimum SOC (ESS minimum / battery low capacity) to
      ``value`` [%].
    - ``tou_soc_target``: set the time-of-use program's SOC target to ``value`` [%].
    """

    kind: CommandKind
    on: bool = True
    target: str = ""
    value: float | None = None


class Driver(Protocol):
    """A source of readings and a sink of commands for one site."""

    site: str

    async def poll(self, now: datetime) -> list[Reading]:
        """New readings. Simulators advance their physics up to ``now`` first."""
        ...

    async def execute(self, command: DeviceCommand) -> None:
        """Apply a command; raise :class:`tools.errors.DeviceError` when it cannot be applied."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


class DeviceDriver(Protocol):
    """One device of a site."""

    name: str
    push: bool  # True when readings arrive on their own (MQTT); read() then drains them

    async def start(self) -> None:
        """Connect or subscribe; raise DeviceError when the device cannot be reached."""
        ...

    async def read(self, now: datetime) -> list[Reading]:
        """Poll devices read now; push devices return what arrived since the last call."""
        ...

    def handles(self, command: DeviceCommand) -> bool:
        """Whether this device can carry out ``command``."""
        ...

    async def execute(self, command: DeviceCommand) -> None:
        """Write, then read the value back; raise DeviceError (ReadbackMismatch) otherwise."""
        ...

    async def close(self) -> None: ...


@dataclass(slots=True)
class DeviceHealth:
    """What the bot knows about one device's connection, for status answers."""

    started: bool = False
    last_ok: datetime | None = None
    last_reading: datetime | None = None
    last_error: str = ""
    errors: int = 0
    # payloads or states the device sent that its driver refused, by reason
    # (from the driver's optional ``rejected_by_reason``)
    rejected: dict[str, int] = field(default_factory=dict)
    # facts about the device worth a line in status (the driver's optional ``status_notes``)
    notes: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Slot:
    device: DeviceDriver
    interval_s: float
    next_due: datetime | None = None
    start_tried: datetime | None = None  # the poll that last tried to start it
    health: DeviceHealth = field(default_factory=DeviceHealth)


class SiteDriver:
    """All devices of one site behind the :class:`Driver` interface."""

    def __init__(
        self,
        site: Site,
        devices: Sequence[DeviceDriver],
        *,
        intervals_s: dict[str, float],
        max_concurrent: int = 8,
    ) -> None:
        self.site = site.name
        self._limit = asyncio.Semaphore(max_concurrent)
        self._config = site
        self._slots = {
            d.name: _Slot(device=d, interval_s=intervals_s.get(d.name, 10.0)) for d in devices
        }
        self._idle_checks: tuple[Callable[[], bool], ...] | None = None  # see idle()

    @property
    def health(self) -> dict[str, DeviceHealth]:
        return {name: slot.health for name, slot in self._slots.items()}

    def device(self, name: str) -> DeviceDriver | None:
        slot = self._slots.get(name)
        return slot.device if slot else None

    async def _ensure_started(self, slot: _Slot, now: datetime | None) -> bool:
        """Start the device unless it runs; ``now`` (a poll's time) tries once per poll."""
        if slot.health.started:
            return True
        if now is not None:
            if slot.start_tried == now:  # tried (and failed) earlier in this poll
                return False
            slot.start_tried = now
        try:
            await slot.device.start()
        except DeviceError as err:
            self._failed(slot, err)
            return False
        slot.health.started = True
        return True

    def _failed(self, slot: _Slot, err: DeviceError) -> None:
        slot.health.errors += 1
        if str(err) != slot.health.last_error:
            log.warning("site %s, device %s: %s", self.site, slot.device.name, err)
        slot.health.last_error = str(err)

    def unstarted(self) -> bool:
        """Whether a device of the site has not been started yet (or its start failed)."""
        return any(not slot.health.started for slot in self._slots.values())

    async def start(self, now: datetime) -> None:
        """Start every device not started yet, together; failures are recorded (and the
        next poll, not this one, tries again)."""
        slots = [slot for slot in self._slots.values() if not slot.health.started]
        await asyncio.gather(*(self._ensure_started(slot, now) for slot in slots))

    def idle(self) -> bool:
        """Whether a poll would find nothing to do: every device is a started push device
        that says nothing arrived since its last read (its optional ``waiting()``).

        Asked for every site on every poll (thousands of times a second in a fleet
        worker), so once every device has started (which it stays) the checks are kept."""
        checks = self._idle_checks
        if checks is None:
            checks = self._idle_checks = self._push_checks()
            if checks is None:
                return False
        for waiting in checks:  # noqa: SIM110 - a loop, no generator: thousands of calls a poll
            if waiting():
                return False
        return True

    def _push_checks(self) -> tuple[Callable[[], bool], ...] | None:
        """Every device's ``waiting()`` once all are started push devices that have one."""
        checks = []
        for slot in self._slots.values():
            waiting = getattr(slot.device, "waiting", None)
            if not slot.health.started or not slot.device.push or waiting is None:
                return None
            checks.append(waiting)
        return tuple(checks)

    async def poll(self, now: datetime) -> list[Reading]:
        """Read every device that is due (push devices every time), up to
        ``max_concurrent`` at once, so one slow device does not hold up the others;
        failures are recorded."""
        due = [
            slot
            for slot in self._slots.values()
            if slot.device.push or slot.next_due is None or now >= slot.next_due
        ]
        for slot in due:
            slot.next_due = _after(now, slot.interval_s)
        if len(due) == 1:  # nothing to overlap: read it in this task
            return await self._read(due[0], now)
        batches = await asyncio.gather(*(self._read(slot, now) for slot in due))
        return [reading for batch in batches for reading in batch]

    async def _read(self, slot: _Slot, now: datetime) -> list[Reading]:
        async with self._limit:
            if not await self._ensure_started(slot, now):
                return []
            try:
                batch = await slot.device.read(now)
            except DeviceError as err:
                self._failed(slot, err)
                return []
            finally:
                _note_counters(slot)
        slot.health.last_error = ""
        slot.health.last_ok = now
        if batch:
            slot.health.last_reading = now
        return batch

    def route(self, command: DeviceCommand) -> DeviceDriver:
        """The device that carries out ``command``."""
        if command.kind == "set_load":
            load = next((x for x in self._config.loads if x.name == command.target), None)
            if load is None:
                known = ", ".join(x.name for x in self._config.loads) or "none"
                raise DeviceRefused(f"{self.site} has no load {command.target!r} (known: {known})")
            if load.relay:
                slot = self._slots.get(load.relay)
                if slot is None:
                    raise DeviceRefused(f"relay device {load.relay!r} of {load.name} is not set up")
                return slot.device
        for slot in self._slots.values():
            if slot.device.handles(command):
                return slot.device
        raise DeviceRefused(f"no device at {self.site} can carry out {command.kind}")

    async def execute(self, command: DeviceCommand) -> None:
        device = self.route(command)
        slot = self._slots[device.name]
        if not await self._ensure_started(slot, None):
            raise DeviceError(slot.health.last_error)
        await device.execute(command)
        slot.next_due = None  # read it again on the next poll

    async def close(self) -> None:
        for slot in self._slots.values():
            try:
                await slot.device.close()
            except DeviceError as err:  # closing must never stop the others closing
                log.warning("closing %s: %s", slot.device.name, err)


def _note_counters(slot: _Slot) -> None:
    """Copy the driver's optional refusal counters and status notes into its health."""
    rejected = getattr(slot.device, "rejected_by_reason", None)
    if isinstance(rejected, dict):
        slot.health.rejected = {str(k): int(v) for k, v in rejected.items()}
    notes = getattr(slot.device, "status_notes", None)
    if isinstance(notes, list | tuple):
        slot.health.notes = [str(n) for n in notes]


def _after(now: datetime, seconds: float) -> datetime:
    return now + timedelta(seconds=seconds)
