"""The driver interface every device (real or simulated) implements."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from tools.domain import Reading

CommandKind = Literal["set_load", "grid_charge", "generator"]


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceCommand:
    """One change to hardware.

    - ``set_load``: switch the relay of the load named ``target`` on or off.
    - ``grid_charge``: enable or disable charging the battery from the grid.
    - ``generator``: start (``on=True``) or stop the generator.
    """

    kind: CommandKind
    on: bool
    target: str = ""


class Driver(Protocol):
    """A source of readings and a sink of commands for one site."""

    site: str

    async def poll(self, now: datetime) -> list[Reading]:
        """Current readings. Simulators advance their physics up to ``now`` first."""
        ...

    async def execute(self, command: DeviceCommand) -> None:
        """Apply a command; raise :class:`tools.errors.DeviceError` when it cannot be applied."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...
