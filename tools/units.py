"""Showing answers in the units a person prefers (pure text conversion).

Tool answers are written in kW and °C ("Solar 3.42 kW", "21.5 °C"); a person who
asked for watts or Fahrenheit gets the same sentences with the figures converted.
kWh and other units are left alone.
"""

from __future__ import annotations

import re
from typing import Any

_KW = re.compile(r"(?P<sign>[+-]?)(?P<value>\d+(?:\.\d+)?) ?kW(?![a-zA-Z])")
_CELSIUS = re.compile(r"(?P<value>-?\d+(?:\.\d+)?) ?°C\b")


def convert_units(text: str, *, power_unit: str = "kW", temperature_unit: str = "C") -> str:
    """``text`` with kW figures in W and °C figures in °F when asked for."""
    if power_unit == "W":
        text = _KW.sub(lambda m: f"{m['sign']}{float(m['value']) * 1000:,.0f} W", text)
    if temperature_unit == "F":
        text = _CELSIUS.sub(lambda m: f"{float(m['value']) * 9 / 5 + 32:.1f} °F", text)
    return text


def convert_card_units(
    card: dict[str, Any], *, power_unit: str = "kW", temperature_unit: str = "C"
) -> dict[str, Any]:
    """A card (as :meth:`tools.cards.Card.to_dict`) with its text and field values
    converted like :func:`convert_units`; the chart image is left as drawn."""
    if power_unit == "kW" and temperature_unit == "C":
        return card

    def conv(text: str) -> str:
        return convert_units(text, power_unit=power_unit, temperature_unit=temperature_unit)

    out = dict(card)
    out["text"] = conv(str(card.get("text", "")))
    out["fields"] = [[label, conv(str(value))] for label, value in card.get("fields", [])]
    return out
