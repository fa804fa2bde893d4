"""Showing answers in the units a person prefers (pure text conversion).

Tool answers are written in kW and °C ("Solar 3.42 kW", "21.5 °C"); a person who
asked for watts or Fahrenheit gets the same sentences with the figures converted.
kWh and other units are left alone.
"""

from __future__ import annotations

import re

_KW = re.compile(r"(?P<sign>[+-]?)(?P<value>\d+(?:\.\d+)?) ?kW(?![a-zA-Z])")
_CELSIUS = re.compile(r"(?P<value>-?\d+(?:\.\d+)?) ?°C\b")


def convert_units(text: str, *, power_unit: str = "kW", temperature_unit: str = "C") -> str:
    """``text`` with kW figures in W and °C figures in °F when asked for."""
    if power_unit == "W":
        text = _KW.sub(lambda m: f"{m['sign']}{float(m['value']) * 1000:,.0f} W", text)
    if temperature_unit == "F":
        text = _CELSIUS.sub(lambda m: f"{float(m['value']) * 9 / 5 + 32:.1f} °F", text)
    return text
