"""The names of the action kinds, apart from the catalogue so the site file can check them."""

from __future__ import annotations

ACTION_KINDS: tuple[str, ...] = (
    "stop_miners",
    "start_miners",
    "grid_charge_on",
    "grid_charge_off",
    "generator_start",
    "generator_stop",
)
