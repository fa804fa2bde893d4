"""Words other people use: second-language English, wishes and passives for orders, levels
said in words, reasons and conditions beside a request, runtime at the present load."""

from __future__ import annotations

from typing import Any

import pytest

from graphs.assistant.planner import plan
from graphs.assistant.understanding.lexicon import plain

SITES = ["demo", "barn", "home"]
LOADS = ["miner-1", "miner-2", "miner-3"]


def _read(text: str) -> list[tuple[str, dict[str, Any]]]:
    return [(i.tool, i.args) for i in plan(text, site_names=SITES, load_names=LOADS).intents]


def _tools(text: str) -> list[str]:
    return [tool for tool, _ in _read(text)]


@pytest.mark.parametrize(
    ("text", "tools"),
    [
        ("please acquit the alert 3", ["acknowledge_alert"]),
        ("launch the group electrogen at the barn", ["start_generator"]),
        ("you can cut the group now", ["stop_generator"]),
        ("please activate the charging by the network at home", ["set_grid_charge"]),
        ("is the electric network present at home?", ["site_status"]),
        ("which demands are in waiting of validation", ["pending_approvals"]),
        ("shed miner-2 please", ["stop_miners"]),
        ("what is the tension of the panels", ["panel_readings"]),
        ("kindly start the DG", ["start_generator"]),
    ],
)
def test_second_language_words_read_as_the_plain_ones(text: str, tools: list[str]) -> None:
    assert _tools(text) == tools


def test_a_request_decided_in_other_words_carries_its_id_and_decision() -> None:
    assert _read("I validate the demand 5b7c9d10") == [
        ("decide_action", {"site": None, "action_id": "5b7c9d10", "approve": True})
    ]
    assert _read("veto 5b7c9d10, wrong machine")[0][1]["approve"] is False
    # a decision that goes both ways is not made
    assert _tools("approve or reject 5b7c9d10, not sure") != ["decide_action"]


@pytest.mark.parametrize(
    "text",
    [
        "how long will the bank hold at the current draw",
        "if we carry on like this how long before the batteries are flat",
        "hours left on the battery at present load",
    ],
)
def test_runtime_at_the_present_load_is_the_battery_now(text: str) -> None:
    assert _tools(text) == ["battery_status"]


def test_runtime_of_the_tank_at_the_present_load_stays_the_fuel_outlook() -> None:
    assert _tools("how long will the tank last at current draw") == ["fuel_outlook"]


@pytest.mark.parametrize(
    ("text", "pct"),
    [
        ("keep the battery above 45% from now on, the freezer can't go off", 45.0),
        ("I'd like the batteries never to go below half please", 50.0),
        ("make sure the battery is never drained below 30 percent", 30.0),
        ("don't let the lithium drop under 25", 25.0),
    ],
)
def test_a_standing_floor_is_read_with_its_reason_or_in_words(text: str, pct: float) -> None:
    assert _read(text) == [("set_preferences", {"site": None, "min_soc_pct": pct})]


def test_levels_in_words_become_figures_only_after_a_comparison() -> None:
    assert plain("alert me if the battery drops below thirty-five per cent") == (
        "alert me if the battery drops below 35 per cent"
    )
    assert plain("tell me when it is under a quarter full") == "tell me when it is under 25%"
    assert plain("snooze it for half an hour") == "snooze it for half an hour"
    assert plain("I have thirty panels") == "I have thirty panels"
    tools = _read("let me know if the battery falls below forty percent")
    assert tools[0][0] == "set_alert_rule" and tools[0][1]["value"] == 40.0


@pytest.mark.parametrize(
    ("text", "tools"),
    [
        ("any alerts at the barn? if so, acknowledge them", ["active_alerts", "acknowledge_alert"]),
        (
            "should I charge from the grid tonight? if yes turn it on",
            ["grid_charge_advice", "set_grid_charge"],
        ),
    ],
)
def test_a_change_asked_on_condition_of_the_answer_follows_it(text: str, tools: list[str]) -> None:
    assert _tools(text) == tools


@pytest.mark.parametrize(
    ("text", "tools"),
    [
        ("Could the rigs be switched off please.", ["stop_miners"]),
        ("it's getting cloudy so I'd like the miners turned off at the barn", ["stop_miners"]),
        ("it would be great if you could start the generator", ["start_generator"]),
        ("when were the miners switched back on", ["timeline"]),  # a question, no order
    ],
)
def test_an_order_said_as_a_wish_or_in_the_passive_is_the_order(
    text: str, tools: list[str]
) -> None:
    assert _tools(text) == tools


@pytest.mark.parametrize(
    ("text", "tools"),
    [
        ("is everything fine at the barn? I haven't checked since Monday", ["site_status"]),
        ("turn the miners back on please. my daughter asked me to", ["start_miners"]),
        ("stop miner-1 because it is far too hot in there", ["stop_miners"]),
        ("stop the miners as well as the generator", ["stop_miners", "stop_generator"]),
        # a second question is never taken for a reason
        ("any alerts? and how much fuel is left", ["active_alerts", "fuel_outlook"]),
    ],
)
def test_a_reason_beside_a_request_asks_nothing(text: str, tools: list[str]) -> None:
    assert _tools(text) == tools


@pytest.mark.parametrize(
    ("text", "tools"),
    [
        ("have I switched off any of the messages?", ["list_silences"]),
        ("turn the messages back on, I'm home", ["remove_silence"]),
        (
            "could we have no alerts from 11pm to 7am unless they are critical?",
            ["set_alert_preferences"],
        ),
    ],
)
def test_messages_are_alerts(text: str, tools: list[str]) -> None:
    assert _tools(text) == tools


def test_no_alerts_at_night_unless_critical_is_critical_only_quiet_hours() -> None:
    [(tool, args)] = _read("no alerts between 10pm and 6am unless critical please")
    assert tool == "set_alert_preferences"
    assert args["critical_only"] is True and args["quiet_hours"] == ["22:00", "06:00"]


def test_an_advice_question_asked_two_ways_is_one_request() -> None:
    assert _tools("should we run the generator tonight, or will the battery cope?") == [
        "generator_plan"
    ]


def test_a_handle_names_the_person_of_a_role_question_or_change() -> None:
    assert _read("what's the role of user kim_t?") == [
        ("who_is", {"site": None, "user_id": "kim_t"})
    ]
    assert _read("my brother (sam.b) should be an operator") == [
        ("set_role", {"site": None, "user_id": "sam.b", "role": "operator"})
    ]
    assert _tools("sam.b is our electrician") != ["set_role"]  # a statement changes nothing


def test_weather_alone_is_not_the_solar_forecast_when_the_classifier_reads_chit_chat() -> None:
    assert _tools("is it going to rain for the garden party on Saturday?") == []


@pytest.mark.parametrize(
    ("text", "tool"),
    [
        ("desliga o gerador por favor", "stop_generator"),
        ("liga o gerador na barn", "start_generator"),
        ("enciende el generador", "start_generator"),
        ("apaga los miners ahora", "stop_miners"),
        ("accendi il generatore", "start_generator"),
        ("spegni miner-2", "stop_miners"),
        ("the generator shall stop now", "stop_generator"),
        ("switch aff the genny", "stop_generator"),
        ("please stop to charge from the grid", "set_grid_charge"),
        ("start the aggregat at the barn", "start_generator"),  # German, after heldout7
    ],
)
def test_orders_in_words_of_other_languages_are_the_orders(text: str, tool: str) -> None:
    assert _tools(text) == [tool]


@pytest.mark.parametrize(
    ("text", "tool"),
    [
        ("is the gerador running?", "site_status"),
        ("how full is the bateria at home?", "battery_status"),
        ("what will we use the morn?", "load_forecast"),
        ("akku at home?", "battery_status"),
    ],
)
def test_questions_in_words_of_other_languages_stay_questions(text: str, tool: str) -> None:
    got = _tools(text)
    assert tool in got
    assert not {"start_generator", "stop_generator", "stop_miners", "start_miners"} & set(got)


def test_let_me_ken_is_an_alert_rule() -> None:
    assert _read("let me ken if the bateria goes under 30 %") == [
        (
            "set_alert_rule",
            {
                "site": None,
                "metric": "battery",
                "comparator": "<",
                "value": 30.0,
                "unit": "%",
                "hold_minutes": None,
                "severity": "warning",
            },
        )
    ]


def test_shorthand_for_requests_and_a_units_letter_are_read() -> None:
    assert _tools("any pending reqs") == ["pending_approvals"]
    assert _read("temps in F") == [
        ("set_preferences", {"site": None, "power_unit": None, "temperature_unit": "F"})
    ]
    # the letter alone, with no temperature word, sets nothing
    assert "set_preferences" not in _tools("plan f")


def test_sitrep_and_discontinue_are_status_and_stop() -> None:
    assert _read("sitrep on the barn") == [("site_status", {"site": "barn"})]
    assert _tools("please discontinue grid charging") == ["set_grid_charge"]
    assert _read("please discontinue grid charging")[0][1]["enabled"] is False


def test_english_words_near_a_mixed_in_one_stay_english() -> None:
    assert plain("aggregate load of all sites") == "aggregate load of all sites"
    assert plain("the Aggregat at the barn") == "the generator at the barn"
