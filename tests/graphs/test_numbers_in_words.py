"""Numbers said in words reach the tools that take them, the words around a level
falling are not a request to delete a rule, and the week ahead named outright is the week."""

from __future__ import annotations

import pytest

from graphs.assistant.planner import plan
from graphs.assistant.understanding.shorthand import numbers_as_digits

SITES = ["demo", "barn", "home"]
LOADS = ["miner-1", "miner-2", "miner-3"]


def _read(text: str) -> list[tuple[str, dict[str, object]]]:
    got = plan(text, site_names=SITES, load_names=LOADS).intents
    return [(i.tool, {k: v for k, v in i.args.items() if k != "site"}) for i in got]


@pytest.mark.parametrize(
    ("said", "digits"),
    [
        ("above forty percent", "above 40 percent"),
        ("below twenty five percent", "below 25 percent"),
        ("forty-five %", "45 %"),
        ("under a hundred liters", "under 100 liters"),
        ("one hundred and twenty volts", "120 volts"),
        ("go below half", "go below 50 %"),
        ("delete rule three", "delete rule 3"),
        # a lone small number word that is not a quantity stays a word
        ("remove the battery one", "remove the battery one"),
        ("I have one question", "I have one question"),
    ],
)
def test_numbers_in_words_become_digits_only_where_they_are_quantities(
    said: str, digits: str
) -> None:
    assert numbers_as_digits(said) == digits


def test_a_floor_in_words_is_a_preference() -> None:
    assert _read("keep the battery above forty percent from now on") == [
        ("set_preferences", {"min_soc_pct": 40.0})
    ]
    assert _read("don't let the battery go below half") == [
        ("set_preferences", {"min_soc_pct": 50.0})
    ]
    assert _read("Don't ever let the battery drop under 40% please, it's the rule now") == [
        ("set_preferences", {"min_soc_pct": 40.0})
    ]


def test_a_threshold_in_words_is_an_alert_rule() -> None:
    (tool, args), *rest = _read("tell me if the battery drops below twenty five percent")
    assert (tool, args["comparator"], args["value"], rest) == ("set_alert_rule", "<", 25.0, [])
    (tool, args), *rest = _read("alert me if the diesel goes under a hundred liters")
    assert (tool, args["metric"], args["value"], rest) == ("set_alert_rule", "fuel", 100.0, [])


def test_a_threshold_is_not_a_rule_number() -> None:
    assert _read("drop the 30 % battery rule") == [
        ("remove_alert_rule", {"metric": "battery", "value": 30.0})
    ]
    assert _read("delete rule 3") == [("remove_alert_rule", {"rule_id": 3})]


@pytest.mark.parametrize(
    "text",
    [
        "Dear CommandCenter, please provide the outlook for the coming week at the barn, "
        "including generator hours and fuel. Kind regards",
        "Summarise the seven-day outlook: solar, load, minimum battery and generator fuel.",
    ],
)
def test_the_week_ahead_named_outright_is_the_week_outlook_even_with_fuel(text: str) -> None:
    assert [tool for tool, _ in _read(text)] == ["week_outlook"]
