"""Showing answers in a person's preferred units."""

from __future__ import annotations

from tools.units import convert_card_units, convert_units


def test_kilowatts_become_watts_and_energy_stays() -> None:
    text = "Solar 3.42 kW. Grid -0.25 kW. Battery +1.50 kW. Today 12.3 kWh."
    assert convert_units(text, power_unit="W") == (
        "Solar 3,420 W. Grid -250 W. Battery +1,500 W. Today 12.3 kWh."
    )


def test_celsius_becomes_fahrenheit() -> None:
    assert convert_units("Cell 25 °C, ambient -40 °C", temperature_unit="F") == (
        "Cell 77.0 °F, ambient -40.0 °F"
    )


def test_defaults_change_nothing() -> None:
    text = "Solar 3.42 kW at 25 °C"
    assert convert_units(text) == text


def test_cards_are_converted_too() -> None:
    card = {"kind": "status", "text": "Load 2.50 kW", "fields": [["Solar", "1.20 kW"]]}
    out = convert_card_units(card, power_unit="W")
    assert out["text"] == "Load 2,500 W" and out["fields"] == [["Solar", "1,200 W"]]
    assert card["text"] == "Load 2.50 kW"  # the original is not changed
    assert convert_card_units(card) is card
