"""One request is one call; two requests are two: how the planner reads joined messages,
reasons given beside a change, and alert housekeeping in everyday words."""

from __future__ import annotations

import pytest

from graphs.assistant.planner import plan

SITES = ["demo", "barn", "home"]
LOADS = ["miner-1", "miner-2", "miner-3"]


def _tools(text: str) -> list[str]:
    return [i.tool for i in plan(text, site_names=SITES, load_names=LOADS).intents]


@pytest.mark.parametrize(
    ("text", "tools"),
    [
        ("home batt kw + soc", ["battery_status"]),
        ("snooze it till morning, barn", ["snooze_alert"]),
        ("state of home now, pv/batt/grid/gen in one go", ["site_status"]),
        (
            "Could you give me an overview of the plant, including the grid draw and any issues?",
            ["site_status"],
        ),
        ("compare home and barn", ["compare_sites"]),
    ],
)
def test_one_request_in_several_parts_is_one_call(text: str, tools: list[str]) -> None:
    assert _tools(text) == tools


@pytest.mark.parametrize(
    ("text", "tools"),
    [
        ("batt outlook and genny plan pls", ["battery_outlook", "generator_plan"]),
        ("week outlook barn and gen service hrs", ["week_outlook", "generator_service"]),
        (
            "Please provide the site status and the pending approvals.",
            ["site_status", "pending_approvals"],
        ),
        ("stop the miners, then tell me when to run the genny", ["stop_miners", "generator_plan"]),
        # a first noun shares the head and the time of the part after it
        ("pv + load forecast for tomorrow", ["solar_forecast", "load_forecast"]),
        ("miners and generator plan", ["miner_plan", "generator_plan"]),
        # ... and every noun of a list shares it
        (
            "battery, solar and load forecast for tomorrow",
            ["battery_outlook", "solar_forecast", "load_forecast"],
        ),
        ("solar, load and battery outlook", ["solar_forecast", "load_forecast", "battery_outlook"]),
        # politeness alone is no part; a time's possessive reports nothing
        ("battery outlook and solar forecast, thanks", ["battery_outlook", "solar_forecast"]),
        (
            "yesterday's figures please, and was anything odd this week?",
            ["energy_report", "anomalies"],
        ),
        # two periods asked about two things, not compared
        ("last month's cost and this month's projection", ["energy_report", "cost_projection"]),
    ],
)
def test_two_requests_are_two_calls(text: str, tools: list[str]) -> None:
    assert _tools(text) == tools


@pytest.mark.parametrize(
    ("text", "tools"),
    [
        ("bot, battery forecast for the barn", ["battery_outlook"]),  # "bot" is no battery
        ("morning, load forecast for today?", ["load_forecast"]),
        ("given tomorrow's solar, is a grid charge tonight worth it?", ["grid_charge_advice"]),
        ("the week outlook please, we must decide on a diesel order", ["week_outlook"]),
        ("is a grid charge worth it tonight, given tomorrow's forecast?", ["grid_charge_advice"]),
        ("this month and last month", ["compare_periods"]),
        ("how much solar are we making now? the sky is totally clear", ["solar_now"]),
    ],
)
def test_a_greeting_or_a_premise_beside_a_request_is_no_second_request(
    text: str, tools: list[str]
) -> None:
    assert _tools(text) == tools


@pytest.mark.parametrize(
    ("text", "tools"),
    [
        ("turn off the generator, battery's full", ["stop_generator"]),
        ("fire up the genset, rigs need juice", ["start_generator"]),
        ("Disable grid charging; solar will cover tomorrow.", ["set_grid_charge"]),
        ("ack the fast discharge one, i know, rigs are on", ["acknowledge_alert"]),
        ("silence barn 2h, on site working", ["silence_alerts"]),
        (
            "i am moving my power station, can you turn off the warnings for 2 hours",
            ["silence_alerts"],
        ),
        ("stop the miners and show me the battery", ["stop_miners", "battery_status"]),
    ],
)
def test_a_reason_beside_a_change_asks_nothing(text: str, tools: list[str]) -> None:
    assert _tools(text) == tools


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Snooze alert 10, 45 minutes", [(10, 45)]),
        ("snooze 10 and 12 for an hour", [(10, 60), (12, 60)]),
    ],
)
def test_a_snooze_said_in_parts_is_one_per_alert(
    text: str, expected: list[tuple[int, int]]
) -> None:
    """The part after an alert's id that only says how long is not a second snooze."""
    got = plan(text, site_names=SITES, load_names=LOADS).intents
    assert [(i.args["alert_id"], i.args["minutes"]) for i in got] == expected
    assert {i.tool for i in got} == {"snooze_alert"}


def test_snoozing_one_alert_of_a_category_is_a_snooze() -> None:
    got = plan("snooze the battery alert till morning", site_names=SITES, load_names=LOADS)
    assert [(i.tool, i.args.get("until")) for i in got.intents] == [("snooze_alert", "tomorrow")]
    assert _tools("Postpone the low state of charge alert until tomorrow morning.") == [
        "snooze_alert"
    ]


@pytest.mark.parametrize(
    "text", ["what alerts did i mute", "what did i silence earlier", "did i turn off some warnings"]
)
def test_asking_what_was_muted_lists_the_silences(text: str) -> None:
    from graphs.assistant.understanding import rules

    assert [i.tool for i in rules.route(text, site_names=SITES)] == ["list_silences"]


def test_alerts_back_on_ends_a_silence_in_the_rules() -> None:
    from graphs.assistant.understanding import rules

    for text in ("turn alerts back on for the barn", "please turn the warnings back on"):
        assert [i.tool for i in rules.route(text, site_names=SITES)] == ["remove_silence"]


def test_i_acknowledge_is_a_statement_not_a_question() -> None:
    assert _tools("I acknowledge the low battery alert.") == ["acknowledge_alert"]


@pytest.mark.parametrize(
    "text",
    [
        "the battery is low",
        "my panel is on the balcony",
        "The maintenance crew will arrive on Thursday.",
        "miner 2 is making a weird noise",
        "swapped the CT clamp at home",
        "i put new panels on the shed roof last week",
    ],
)
def test_a_report_of_state_asks_nothing(text: str) -> None:
    got = plan(text, site_names=SITES, load_names=LOADS)
    assert got.intents == [] and got.reason == "none"


@pytest.mark.parametrize(
    ("text", "tools"),
    [
        ("the battery is low, what should I do?", ["battery_status"]),
        ("is the battery low?", ["battery_status"]),
        ("expected solar today", ["solar_forecast"]),
        ("the generator is running, stop it", ["stop_generator"]),
    ],
)
def test_a_report_that_asks_or_orders_is_read(text: str, tools: list[str]) -> None:
    assert _tools(text) == tools


@pytest.mark.parametrize(
    ("text", "tool"),
    [
        ("load fcst tmrw barn", "load_forecast"),
        ("report yday barn", "energy_report"),
        ("how long can the battery keep going at this rate", "battery_status"),
        ("battery over the next 2 days", "battery_outlook"),
        ("should we keep the rigs hashing overnight?", "miner_plan"),
        ("how many days of diesel in the tank at the barn", "fuel_outlook"),
        ("when is the genset due for a checkup", "generator_service"),
        ("what happened since 6am", "timeline"),
        ("anything unusual at the barn this week?", "anomalies"),
        ("panel voltage and current at home", "panel_readings"),
        ("what does error code E21 mean on the inverter", "search_knowledge"),
        ("rule: home battery < 30% warn me", "set_alert_rule"),
        ("which alerts did I set up?", "list_alert_rules"),
        ("delete the fuel threshold I created", "remove_alert_rule"),
        ("is there something i need to say yes to?", "pending_approvals"),
    ],
)
def test_specific_readings(text: str, tool: str) -> None:
    assert _tools(text) == [tool]


@pytest.mark.parametrize(
    ("text", "hours"),
    [
        ("no alerts after 11pm pls", ["23:00", "07:00"]),
        ("dont ping me at nite unless its critical", ["22:00", "07:00"]),
        (
            "Could you keep the messages quiet between 10 at night and 8 in the morning?",
            ["22:00", "08:00"],
        ),
        ("quiet hours between 11pm and 7am", ["23:00", "07:00"]),
    ],
)
def test_quiet_hours_in_everyday_words(text: str, hours: list[str]) -> None:
    got = plan(text, site_names=SITES, load_names=LOADS).intents
    assert [(i.tool, i.args["quiet_hours"]) for i in got] == [("set_alert_preferences", hours)]


@pytest.mark.parametrize(
    ("text", "tool"),
    [
        ("don't start the generator, just tell me if I need it tonight", "generator_plan"),
        ("don't touch the miners, just tell me the best hours to run them", "miner_plan"),
        ("do not run the genny today, how many days of diesel are left?", "fuel_outlook"),
    ],
)
def test_a_refused_change_then_a_question_answers_the_question(text: str, tool: str) -> None:
    got = plan(text, site_names=SITES, load_names=LOADS)
    assert [i.tool for i in got.intents] == [tool], got


def test_a_refusal_with_thanks_asks_nothing() -> None:
    assert plan("don't worry about it, thanks", site_names=SITES, load_names=LOADS).intents == []


@pytest.mark.parametrize(
    ("text", "decided"),
    [
        ("anything pending? approve 2f8a61cd", [None, ("2f8a61cd", True)]),
        ("What is waiting for approval? And please reject 77aa12cd.", [None, ("77aa12cd", False)]),
        ("Approve 2f8e6a1c, reject 7c90b3d4.", [("2f8e6a1c", True), ("7c90b3d4", False)]),
    ],
)
def test_approvals_in_several_parts_keep_every_id_and_verdict(
    text: str, decided: list[tuple[str, bool] | None]
) -> None:
    got = plan(text, site_names=SITES, load_names=LOADS).intents
    want = [
        ("pending_approvals", {})
        if d is None
        else ("decide_action", {"action_id": d[0], "approve": d[1]})
        for d in decided
    ]
    assert [(i.tool, {k: v for k, v in i.args.items() if k != "site"}) for i in got] == want


def test_a_plan_names_no_site_called_plant() -> None:
    """ "generator plan" at a fleet with a site called "plant" is that fleet's plan."""
    got = plan("generator plan", site_names=["plant", "home"], load_names=LOADS).intents
    assert [(i.tool, i.args["site"]) for i in got] == [("generator_plan", None)]
    there = plan("generator plan for the plant", site_names=["plant", "home"], load_names=LOADS)
    assert [(i.tool, i.args["site"]) for i in there.intents] == [("generator_plan", "plant")]


def test_settings_said_in_parts_are_one_change() -> None:
    got = plan(
        "quiet hours 23:00 to 07:00, only critical alerts in that time",
        site_names=SITES,
        load_names=LOADS,
    ).intents
    assert [i.tool for i in got] == ["set_alert_preferences"]
    assert got[0].args["quiet_hours"] == ["23:00", "07:00"]
    assert got[0].args["critical_only"] is True


@pytest.mark.parametrize(
    "text",
    [
        "is it wise to run the rigs this evening, or would that drain the battery?",
        "is it sensible to let the miners run tonight, or do we go under the floor?",
    ],
)
def test_an_advice_question_with_its_alternative_is_one_question(text: str) -> None:
    assert _tools(text) == ["miner_plan"]


@pytest.mark.parametrize(
    ("text", "loads"),
    [
        ("turn miner-2 and miner-3 back on", ["miner-2", "miner-3"]),
        ("miner-1 and miner-3 on please", ["miner-1", "miner-3"]),
    ],
)
def test_an_order_for_two_named_loads_is_one_request_for_both(text: str, loads: list[str]) -> None:
    """Found in heldout7 after its scoring: the first load was read as a status question."""
    got = plan(text, site_names=SITES, load_names=LOADS).intents
    assert [(i.tool, i.args["loads"]) for i in got] == [("start_miners", loads)]


@pytest.mark.parametrize(
    "text",
    [
        "what's pending? approve 8c41fea3 while you're at it",
        "Is anything awaiting approval? Please approve 8c41fea3.",
    ],
)
def test_a_pending_question_then_an_approval_is_both(text: str) -> None:
    got = plan(text, site_names=SITES, load_names=LOADS).intents
    assert [(i.tool, i.args.get("action_id")) for i in got] == [
        ("pending_approvals", None),
        ("decide_action", "8c41fea3"),
    ]
