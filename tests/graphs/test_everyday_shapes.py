"""Shapes of everyday messages the readers missed: quiet hours said without the words,
particles used as verbs, abbreviations inside a clause, the grid by a utility's name,
a time carried to a part that takes none, reasons told after "its", restatements.
Each case is written here, in the team's words; none is a held-out line."""

from __future__ import annotations

import pytest

from graphs.assistant.planner import not_understood, plan

SITES = ["demo", "barn", "home"]
LOADS = ["miner-1", "miner-2", "miner-3"]


def _tools(text: str) -> list[str]:
    return [i.tool for i in plan(text, site_names=SITES, load_names=LOADS).intents]


def _one(text: str, tool: str) -> dict[str, object]:
    got = plan(text, site_names=SITES, load_names=LOADS).intents
    assert [i.tool for i in got] == [tool], [(i.tool, i.args) for i in got]
    return dict(got[0].args)


@pytest.mark.parametrize(
    ("text", "window", "critical"),
    [
        (
            "please don't message me from 11pm to 6am unless it's an emergency",
            ["23:00", "06:00"],
            True,
        ),
        ("from 21 to 6 send me only the urgent alarms", ["21:00", "06:00"], True),
        ("quit pinging me at night", ["22:00", "07:00"], None),
        ("stop texting me during the night, 10 to 5", ["22:00", "05:00"], None),
    ],
)
def test_quiet_hours_without_the_words(text: str, window: list[str], critical: bool | None) -> None:
    args = _one(text.replace("quit", "stop"), "set_alert_preferences")
    assert args["quiet_hours"] == window
    assert args["critical_only"] is critical


def test_leaving_quiet_hours_alone_changes_nothing() -> None:
    # "change" was read as a typo of "charge", and the negation cleared the quiet hours
    assert "set_alert_preferences" not in _tools("don't change my quiet hours")


def test_a_silence_with_a_topic_stays_a_silence() -> None:
    args = _one("stop pinging me about the solar for the weekend, we're away", "silence_alerts")
    assert args["category"] == "solar"
    assert args["hours"] == 48.0  # the weekend: two days, not the 24 h default


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("off the rigs and on the genny", ["stop_miners", "start_generator"]),
        ("you can off miner-3 now, the grid is back", ["stop_miners"]),
        ("kindly on the generator", ["start_generator"]),
        ("stop the generator and on the miners", ["stop_generator", "start_miners"]),
    ],
)
def test_particles_as_verbs(text: str, expected: list[str]) -> None:
    assert _tools(text) == expected


def test_a_particle_after_a_question_orders_nothing() -> None:
    got = _tools("what's the load on the generator and on the miners")
    assert not {"start_miners", "start_generator", "stop_miners", "stop_generator"} & set(got)


def test_abbreviations_inside_a_clause() -> None:
    got = plan("rigs on, grid chg off", site_names=SITES, load_names=LOADS).intents
    assert [i.tool for i in got] == ["start_miners", "set_grid_charge"]
    assert got[1].args["enabled"] is False


@pytest.mark.parametrize("text", ["appr 7a7b7c7d", "aprv 7a7b7c7d"])
def test_approval_shorthand(text: str) -> None:
    args = _one(text, "decide_action")
    assert args == {"site": None, "action_id": "7a7b7c7d", "approve": True}


def test_rejection_shorthand() -> None:
    assert _one("rej 7a7b7c7d", "decide_action")["approve"] is False


@pytest.mark.parametrize(
    "text",
    [
        "please charge the battery from Eskom now",
        "top up the batteries from the EB supply",
        "start charging from la rete",
    ],
)
def test_the_grid_by_another_name(text: str) -> None:
    assert _one(text, "set_grid_charge")["enabled"] is True


def test_a_carried_time_yields_to_a_part_that_takes_none() -> None:
    assert _tools("tomorrow's load forecast and the anomaly list") == ["load_forecast", "anomalies"]
    # and still carries where the next part takes it
    assert _tools("tomorrow's expected load and solar production") == [
        "load_forecast",
        "solar_forecast",
    ]


def test_usage_with_a_time_is_energy_not_help() -> None:
    assert _tools("today solar and today usage") == ["solar_forecast", "load_forecast"]
    assert _tools("usage?") == ["help"]


def test_two_periods_set_against_each_other_compare() -> None:
    args = _one("how much grid did we import this month versus last", "compare_periods")
    assert (args["first"], args["second"]) == ("this_month", "last_month")


def test_instructions_are_no_comparison() -> None:
    assert _tools("where can I find the manual for changing the charger settings for summer?") == [
        "search_knowledge"
    ]


@pytest.mark.parametrize(
    "text",
    [
        "will we need the genny for the school concert?",
        "is the generator necessary tomorrow?",
        "please advise on the generator for saturday",
    ],
)
def test_whether_the_generator_is_needed(text: str) -> None:
    assert _tools(text) == ["generator_plan"]


def test_a_service_that_is_an_event_is_no_generator_service() -> None:
    assert _tools("do we need the generator for sunday's service?") == ["generator_plan"]
    assert _tools("is the generator due a service?") == ["generator_service"]


def test_fuel_we_have_is_days_left() -> None:
    assert _one("how much diesel have we got", "fuel_outlook")["focus"] == "days_left"


def test_rules_i_created() -> None:
    assert _tools("which alarms we have configured?") == ["list_alert_rules"]


@pytest.mark.parametrize(
    "text", ["hiya! how are things looking at the barn", "morning, how are we looking"]
)
def test_how_are_things_is_status(text: str) -> None:
    assert _tools(text) == ["site_status"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("solar tomorrow? it's the village fete", ["solar_forecast"]),
        ("turn the rigs off its after midnight", ["stop_miners"]),
        ("mute solar alerts at home 2h, on site cleaning the panels", ["silence_alerts"]),
        ("switch on grid charging from the mains, from the grid", ["set_grid_charge"]),
        (
            "when is the generator due for the tagliando? the oil change I mean",
            ["generator_service"],
        ),
    ],
)
def test_what_is_told_or_said_again_asks_nothing(text: str, expected: list[str]) -> None:
    assert _tools(text) == expected


def test_a_report_after_its_keeps_the_request_after_it() -> None:
    assert _tools("turn off miner-2 it's far too loud and check the battery") == [
        "stop_miners",
        "battery_status",
    ]


def test_power_from_the_panels_is_solar_not_the_test_sensor() -> None:
    assert _tools("power from the panels right now?") == ["solar_now"]
    assert _tools("ina228 power") == ["panel_readings"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("any weird readings vs last week?", ["anomalies"]),  # not a comparison
        ("off to the shops, back by tea time", []),  # news: "back by tea time" asks nothing
        ("next week's solar and battery outlook", ["week_outlook"]),  # a future time stays
        ("generator efficiency last month, l per kwh", ["energy_report"]),  # said again
        ("How good was yesterday's solar forecast? Show me the error.", ["solar_scorecard"]),
    ],
)
def test_what_the_carried_time_and_told_news_must_not_add(text: str, expected: list[str]) -> None:
    assert _tools(text) == expected


@pytest.mark.parametrize("text", ["how much fuel did we burn", "i hope the battery is ok?"])
def test_everyday_words_are_no_site_names(text: str) -> None:
    # "burn" was bent to the site "barn", "hope" to "home"
    assert all(i.args.get("site") is None for i in plan(text, site_names=SITES).intents)


def test_a_reason_after_a_dash_keeps_the_decision() -> None:
    args = _one("reject 5e6f7a8b — same as the one this morning", "decide_action")
    assert args["approve"] is False


def test_housekeeping_then_a_question() -> None:
    got = _tools("ack all and show me what happened since midnight")
    assert got == ["acknowledge_alert", "timeline"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("standby genny on please, mains just dropped", ["start_generator"]),
        ("rigs off now! battery is tanking", ["stop_miners"]),
    ],
)
def test_a_machine_and_its_particle_pressed_is_an_order(text: str, expected: list[str]) -> None:
    got = [t for t in _tools(text) if t in {"start_generator", "stop_miners", "start_miners"}]
    assert got == expected


def test_the_fuel_situation_is_the_fuel_outlook() -> None:
    assert _tools("how's the diesel situation at home?") == ["fuel_outlook"]


@pytest.mark.parametrize(
    "text",
    [
        "start the generator at 6am tomorrow",
        "At 21:30 switch the rigs off please",
        "turn grid charging off at midnight",
        "fire up miner-2 in 2 hours",
        "turn the miners back on at close, about 6pm",
        "generator off at 2330",  # a 24-hour clock without its colon
        "shut the rigs down on Saturday",
        "start the genny sunday morning",
        "switch the miners on when the crew gets back",
        "fire up the genset 6 a.m. before the shop opens",  # the dots part no sentence
        "rigs off at 11 p.m. please",
    ],
)
def test_an_order_for_later_makes_no_request(text: str) -> None:
    # a request made now runs when it is approved, not at the time asked: refused
    read = plan(text, site_names=SITES, load_names=LOADS)
    assert read.intents == [] and read.reason == "unsupported"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("stop the miners until tomorrow", ["stop_miners"]),  # how long, not when
        (
            "stop the miners now, and what's the solar forecast for tomorrow?",
            ["stop_miners", "solar_forecast"],
        ),
        ("start the generator at the barn", ["start_generator"]),
        ("the rigs have been off since Monday, start them", ["start_miners"]),
        ("kill the miners until friday", ["stop_miners"]),
        ("run the genny at 2000 W", ["start_generator"]),
    ],
)
def test_a_time_elsewhere_is_no_schedule(text: str, expected: list[str]) -> None:
    assert _tools(text) == expected


def test_the_reply_to_an_order_for_later_says_why() -> None:

    reply = not_understood("start the generator at 6am tomorrow", "unsupported", [])
    assert reply.startswith("I can't schedule commands")


def test_discord_ids_are_people() -> None:
    # Discord user ids are 17-20 digit numbers ("snowflakes"), not Slack's U-ids
    args = _one("make 112233445566778899 a viewer, she does the books", "set_role")
    assert (args["user_id"], args["role"]) == ("112233445566778899", "viewer")
    assert _one("what can 998877665544332211 do here?", "who_is")["user_id"] == (
        "998877665544332211"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Good evening. Please tell me how the battery is.", ["battery_status"]),
        ("hiya, fuel days left?", ["fuel_outlook"]),
        ("good morning!", []),
    ],
)
def test_a_greeting_before_the_request(text: str, expected: list[str]) -> None:
    assert _tools(text) == expected


def test_number_abbreviation_is_no_sentence_end() -> None:
    assert _one("please lift silence no. 7", "remove_silence")["silence_id"] == 7


@pytest.mark.parametrize(
    "text",
    ["If the fuel tank drops under 100 litres, please inform me.", "remind me if load pass 9 kW"],
)
def test_alert_rules_in_more_words(text: str) -> None:
    assert _tools(text) == ["set_alert_rule"]


@pytest.mark.parametrize("text", ["Weather of Nairobi tomorrow?", "rain go fall for Kano today?"])
def test_another_places_weather(text: str) -> None:
    assert plan(text, site_names=SITES).reason == "unsupported"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("abeg wetin dey happen for barn now", ["site_status"]),
        ("how far the generator?", ["site_status"]),
        ("NEPA don bring light, off the gen", ["stop_generator"]),
        ("when we suppose order diesel? transport cost dey rise every week", ["fuel_outlook"]),
    ],
)
def test_nigerian_pidgin(text: str, expected: list[str]) -> None:
    assert _tools(text) == expected


def test_every_beside_news_is_no_schedule() -> None:
    assert plan("start the miners every morning", site_names=SITES).reason == "unsupported"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("righto switch the generator off, mains back", ["stop_generator"]),
        ("Grid failure again. Please start the genny.", ["start_generator"]),
        ("sun's blasting, fire up the rigs", ["start_miners"]),
        ("stop the generator, battery status", ["stop_generator", "battery_status"]),
    ],
)
def test_a_state_told_without_its_verb_asks_nothing(text: str, expected: list[str]) -> None:
    assert _tools(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("can we switch off the rigs?", ["stop_miners"]),
        ("could we shut the generator down now", ["stop_generator"]),
        ("can we start the genny please?", ["start_generator"]),
    ],
)
def test_can_we_with_a_switching_verb_is_a_request(text: str, expected: list[str]) -> None:
    assert _tools(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "can we run the miners this afternoon?",
        "can we turn on the rigs or will the battery go flat?",
        "can we safely start the miners?",
    ],
)
def test_can_we_asking_whether_to_is_no_request(text: str) -> None:
    got = plan(text, site_names=SITES, load_names=LOADS)
    assert got.intents, got.reason
    assert not {i.tool for i in got.intents} & {"start_miners", "stop_miners"}


@pytest.mark.parametrize(
    ("text", "tool", "loads"),
    [
        ("switch off the rigs, sorry, the generator", "stop_generator", None),
        ("fire up the generator, I mean the miners", "start_miners", None),
        ("turn off miner-2, I meant miner-1", "stop_miners", ["miner-1"]),
        ("stop miner 3, oops miner 2 please", "stop_miners", ["miner-2"]),
    ],
)
def test_a_correction_replaces_the_machine(text: str, tool: str, loads: list[str] | None) -> None:
    args = _one(text, tool)
    assert args.get("loads") == loads


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a statement after "I mean" is no correction, "too" adds
        ("stop the rigs, I mean the generator is fine", ["stop_miners"]),
        ("stop the generator, actually the rigs too", ["stop_generator", "stop_miners"]),
    ],
)
def test_what_is_not_a_correction(text: str, expected: list[str]) -> None:
    assert _tools(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Alerts and the approvals please", ["active_alerts", "pending_approvals"]),
        ("Alerts and the generator plan for tomorrow", ["active_alerts", "generator_plan"]),
        # a modifier shares the head, a quantity belongs to the other part
        ("solar and battery outlook", ["solar_forecast", "battery_outlook"]),
        ("temperature and current of the test panel", ["panel_readings"]),
    ],
)
def test_a_noun_alone_before_and(text: str, expected: list[str]) -> None:
    assert _tools(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("snooze the solar alerts for 2 hours, we wash the panels", ["silence_alerts"]),
        ("remove the silence, I wanna see all the alerts again", ["remove_silence"]),
        ("stop the rigs, I want the battery status", ["stop_miners", "battery_status"]),
    ],
)
def test_own_news_beside_a_change(text: str, expected: list[str]) -> None:
    assert _tools(text) == expected


def test_the_panel_sensor_beside_another_request() -> None:
    assert _tools("panel temp? and acknowledge the alerts") == [
        "panel_readings",
        "acknowledge_alert",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("pakipatay po yung generator, may kuryente na", ["stop_generator"]),
        ("paki-start naman ng mga miners sa home", ["start_miners"]),
        ("maaraw ba bukas sa barn?", ["solar_forecast"]),
        ("ilang oras pa tatagal yung battery?", ["battery_status"]),
        ("kailan ba dapat bumili ng diesel?", ["fuel_outlook"]),
        # English words that are also Tagalog ("sa", "na", "ba") rewrite nothing alone
        ("how is the battery at home", ["battery_status"]),
    ],
)
def test_taglish(text: str, expected: list[str]) -> None:
    assert _tools(text) == expected


def test_taglish_later_is_a_later_order() -> None:
    read = plan("i-on mo yung miners mamaya", site_names=SITES, load_names=LOADS)
    assert read.intents == [] and read.reason == "unsupported"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("solar, fuel and battery", ["solar_now", "fuel_outlook", "battery_status"]),
        ("alerts and diesel please", ["active_alerts", "fuel_outlook"]),
        # a list that shares what follows is one question
        ("solar, battery and generator for the next 7 days", ["week_outlook"]),
    ],
)
def test_a_bare_list_of_subjects(text: str, expected: list[str]) -> None:
    assert _tools(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("shut the rigs off, soc down to 18", ["stop_miners"]),
        ("Please start the miners again, is so sunny today.", ["start_miners"]),
        ("grid charging on please, quickly before the power cuts", ["set_grid_charge"]),
    ],
)
def test_a_state_or_a_deadline_beside_an_order(text: str, expected: list[str]) -> None:
    assert _tools(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("whats the situation in home", ["site_status"]),  # the diesel situation is fuel's
        ("list the warnings which we made", ["list_alert_rules"]),  # rules, not what fired
        ("when is best to run the generator, next 2 days", ["generator_plan"]),
        ("soc, diesel, pending", ["battery_status", "fuel_outlook", "pending_approvals"]),
        (
            "Could you stop the generator? I believe the battery must be charged by now.",
            ["stop_generator"],
        ),
    ],
)
def test_more_everyday_shapes(text: str, expected: list[str]) -> None:
    assert _tools(text) == expected


@pytest.mark.parametrize(
    ("word", "kept"),
    [
        ("asked", True),  # was "acked": "Dad asked me to ..." acknowledged the alerts
        ("watts", True),  # was "whats"
        ("field", True),  # was "fired"
        ("starts", True),  # was "stats"
        ("sorry", True),  # was "story"
        ("tanks", True),  # was "thanks"
        ("batery", False),
        ("tomorow", False),
        ("minors", False),  # a slip for "miners" although a word
    ],
)
def test_a_common_word_is_no_typo(word: str, kept: bool) -> None:
    from graphs.assistant.understanding.tokens import _correct

    assert (_correct(word) == word) is kept


def test_a_word_bends_only_to_itself_inflected() -> None:
    from graphs.assistant.understanding.tokens import _correct

    assert _correct("turned") == "turn"
    assert _correct("serviced") == "service"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # someone else's wish, and its reason after "now that"
        ("Sam has asked me to put the rigs back on now that it's bright", ["start_miners"]),
        ("my wife wants the genny off now that the grid is back", ["stop_generator"]),
        # "could you do that?" after the order asks for the same thing again
        ("switch miner-2 off. Could you do that please?", ["stop_miners"]),
        ("the generator stopped because the battery is full", ["battery_status"]),
    ],
)
def test_an_order_with_its_reason_or_asked_again(text: str, expected: list[str]) -> None:
    assert _tools(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "reject 0badc0de, nobody start the generator now",
        "no one turn the miners on",
        "nobody switch on the genny while I'm away",
    ],
)
def test_nobody_orders_nothing(text: str) -> None:
    assert not {"start_generator", "start_miners"} & set(_tools(text))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # the rule is removed where it was said, after the list it was picked from
        (
            "list my alert rules and then delete the one for soc under 25",
            ["list_alert_rules", "remove_alert_rule"],
        ),
        ("delete rule 4 and show my alert rules", ["remove_alert_rule", "list_alert_rules"]),
        # a silence only previewed is the preview alone
        (
            "dry run only: what would a silence on grid warnings catch? don't mute",
            ["silence_alerts"],
        ),
        # how the answer should look is no request
        ("soc please. exact figure.", ["battery_status"]),
        ("battery and pv now, two numbers", ["battery_status", "solar_now"]),
        # the grid by its company
        ("top the battery up from the power company now", ["set_grid_charge"]),
        # how a reading moves is the reason, not a question
        ("load is climbing fast. start the genny", ["start_generator"]),
    ],
)
def test_more_shapes_of_session_11(text: str, expected: list[str]) -> None:
    assert _tools(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "hi, new here. what can it do for me?",
        "how to use this bot? explain pls",
        "what features do you have",
        "what kind of questions can I ask",
    ],
)
def test_asking_about_the_bot_is_help(text: str) -> None:
    assert plan(text, site_names=SITES, load_names=LOADS).reason == "help"


@pytest.mark.parametrize(
    "text",
    [
        "where can we buy a new inverter?",
        "price of a new 5 kWh battery",
        "where do I sell used panels",
        "Lisbon weather tomorrow?",
        "stop the miners at bedtime",
    ],
)
def test_what_no_tool_does(text: str) -> None:
    assert plan(text, site_names=SITES, load_names=LOADS).reason == "unsupported"


def test_ordering_fuel_and_local_weather_still_answer() -> None:
    assert _tools("when should we order diesel?") == ["fuel_outlook"]
    assert _tools("Local weather tomorrow?") == ["solar_forecast"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("soc now, then the 48 h outlook", ["battery_status", "battery_outlook"]),
        ("show the silences and lift number 2", ["list_silences", "remove_silence"]),
        ("show my alert rules, then delete no. 5", ["list_alert_rules", "remove_alert_rule"]),
        ("fuel and the generator service please, both", ["fuel_outlook", "generator_service"]),
        # someone else's news in a sentence of its own asks nothing
        ("Is the battery full? The caretaker is asking before he leaves.", ["battery_status"]),
    ],
)
def test_shapes_after_round_7(text: str, expected: list[str]) -> None:
    assert _tools(text) == expected


def test_an_order_for_later_read_as_chit_chat_is_refused_as_a_schedule() -> None:
    read = plan("gen on tomorrow morning at 6 o'clock", site_names=SITES, load_names=LOADS)
    assert (read.intents, read.reason) == ([], "unsupported")
    done = plan("I turned the miners off at 6", site_names=SITES, load_names=LOADS)
    assert done.reason != "unsupported"  # what was done is no order


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # "open"/"close" of the machine itself is on/off (see below); of its switchgear an
        # electrician's: an open relay carries nothing
        ("open the rigs at the barn", ["start_miners"]),
        ("close all miners", ["stop_miners"]),
        ("open the relays on the miners", ["stop_miners"]),
        # weighing a change asks for advice, never a request
        ("I'd like your advice on whether to start the genny", ["generator_plan"]),
        ("tell me whether we should grid charge tonight", ["grid_charge_advice"]),
    ],
)
def test_the_request_its_words_give(text: str, expected: list[str]) -> None:
    tools = [t for t in _tools(text) if t != "site_status"]
    assert tools == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("please to send me the fuel outlook", ["fuel_outlook"]),
        ("what'd the generator burn last month", ["energy_report"]),
        ("soc n solar", ["battery_status", "solar_now"]),
        ("kick off the grid charge please", ["set_grid_charge"]),
        ("could you propose stopping miner-2", ["stop_miners"]),
        ("snooze the fridge alert, 8, for an hour", ["snooze_alert"]),
        ("home overview please: full picture, battery, pv, genny, all", ["site_status"]),
        ("anything odd this week, compared to the previous weeks?", ["anomalies"]),
        ("genny on pls, batt 12%", ["start_generator"]),
        ("weather for Lisbon tomorrow? we fly out", []),
        ("how much does it cost a new inverter? we want to buy", []),
        ("soc? report back", ["battery_status"]),
        ("ok ok I saw alert 9, ack it, I'm on my way", ["acknowledge_alert"]),
    ],
)
def test_shapes_after_heldout11(text: str, expected: list[str]) -> None:
    assert _tools(text) == expected


def test_a_full_request_id_in_a_sentence_is_decided() -> None:
    full = "4b8c1d2e-7f3a-4e59-b1c0-2d6e8a9f0b13"
    got = plan(f"kindly reject the request {full}, not needed", site_names=SITES).intents
    assert [(i.tool, i.args["action_id"], i.args["approve"]) for i in got] == [
        ("decide_action", full, False)
    ]


@pytest.mark.parametrize(
    ("text", "tools"),
    [
        ("the rigs are draining the bank, switch em off", ["stop_miners"]),
        ("I want the warnings back, end the silence", ["remove_silence"]),
        ("Alert 4, snooze it two hours please.", ["snooze_alert"]),
        # asked, or one after the other: both
        ("miners off, then what's the soc?", ["stop_miners", "battery_status"]),
        ("alerts then ack all", ["active_alerts", "acknowledge_alert"]),
    ],
)
def test_a_change_beside_what_is_told_is_the_change_alone(text: str, tools: list[str]) -> None:
    assert _tools(text) == tools


@pytest.mark.parametrize(
    ("text", "tool", "key", "number"),
    [
        ("Alert 4, snooze it two hours please.", "snooze_alert", "alert_id", 4),
        ("about alert 15, please acknowledge", "acknowledge_alert", "alert_id", 15),
    ],
)
def test_the_number_said_before_the_change_is_its_number(
    text: str, tool: str, key: str, number: int
) -> None:
    got = [i for i in plan(text, site_names=SITES, load_names=LOADS).intents if i.tool == tool]
    assert len(got) == 1 and got[0].args[key] == number  # not every firing alert


@pytest.mark.parametrize(
    ("text", "floor"),
    [
        ("never let the shed bank go below 55 please", 55.0),
        ("dont let the batt drop below 35 mate, cheers", 35.0),
        ("never let the barn batts dip under 60, remember it", 60.0),
    ],
)
def test_never_letting_the_battery_fall_below_is_its_floor(text: str, floor: float) -> None:
    assert _one(text, "set_preferences")["min_soc_pct"] == floor


@pytest.mark.parametrize(
    ("text", "tools", "key", "number"),
    [
        (
            "what's muted right now? cancel the one for the inverter",
            ["list_silences", "remove_silence"],
            "silence_id",
            None,
        ),
        ("silences please, then kill #3", ["list_silences", "remove_silence"], "silence_id", 3),
        (
            "show my alert rules and drop that temperature one",
            ["list_alert_rules", "remove_alert_rule"],
            None,
            None,
        ),
    ],
)
def test_removing_one_of_the_things_just_listed(
    text: str, tools: list[str], key: str | None, number: int | None
) -> None:
    got = plan(text, site_names=SITES, load_names=LOADS).intents
    assert [i.tool for i in got] == tools
    if key is not None:
        assert got[-1].args[key] == number


def test_wanting_to_delete_one_of_them_asks_for_the_list() -> None:
    assert _tools("which numbers have my alert rules? I want to delete one") == ["list_alert_rules"]


@pytest.mark.parametrize(
    ("text", "tools"),
    [
        ("soc + pending approvals", ["battery_status", "pending_approvals"]),
        (
            "kill the rigs and crank the genset, bank nearly flat",
            ["stop_miners", "start_generator"],
        ),
    ],
)
def test_joined_requests_in_the_order_given(text: str, tools: list[str]) -> None:
    assert _tools(text) == tools


@pytest.mark.parametrize(
    "text",
    [
        "shut the rigs off at sundown",
        "genny on at first light please",
        "kill miner 2 at sun down",
        "switch the miners off at dinner time",
        "turn miner-3 off this weekend",
    ],
)
def test_an_order_at_a_time_of_day_is_refused_as_a_schedule(text: str) -> None:
    """A request made now would run now, hours before the time the person named."""
    read = plan(text, site_names=SITES, load_names=LOADS)
    assert (read.intents, read.reason) == ([], "unsupported")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sun tmrw? the forecast looks grim", [("solar_forecast", "day", "tomorrow")]),
        (
            "load tomorrow, like how many kwh will the house use",
            [("load_forecast", "day", "tomorrow")],
        ),
        ("drop the silence pls, remove silence 3", [("remove_silence", "silence_id", 3)]),
        ("delete that rule, rule 4", [("remove_alert_rule", "rule_id", 4)]),
    ],
)
def test_a_part_that_only_names_the_day_or_number_is_the_same_request(
    text: str, expected: list[tuple[str, str, object]]
) -> None:
    read = plan(text, site_names=SITES, load_names=LOADS)
    assert [
        (i.tool, key, i.args.get(key))
        for i, (_, key, _) in zip(read.intents, expected, strict=False)
    ] == expected
    assert len(read.intents) == len(expected)


def test_today_and_tomorrow_asked_together_stay_two_questions() -> None:
    read = plan("solar today and tomorrow?", site_names=SITES, load_names=LOADS)
    assert [(i.tool, i.args.get("day")) for i in read.intents] == [
        ("solar_forecast", "today"),
        ("solar_forecast", "tomorrow"),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The miners in the barn are to be shut down until further notice.", ["stop_miners"]),
        ("Grid charging at home is to be enabled today.", ["set_grid_charge"]),
        (
            "Miner-3 is overheating. A request to turn it off is to be raised urgently.",
            ["stop_miners"],
        ),
        ("A request is hereby made to stop the generator.", ["stop_generator"]),
        (
            "SOC please; a request is to be raised to switch off miner-1.",
            ["battery_status", "stop_miners"],
        ),
    ],
)
def test_orders_in_the_words_of_a_form(text: str, expected: list[str]) -> None:
    """The passive of reports and forms ("X is to be switched off", "a request is to be
    raised to ...") gives the order, which a person still approves."""
    assert _tools(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Is a request to stop the miners needed?",
        "A request was made to stop the miners yesterday.",
        "Are the miners to be switched off?",
    ],
)
def test_a_request_asked_about_or_told_is_no_order(text: str) -> None:
    assert not set(_tools(text)) & {"stop_miners", "start_miners"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "could you mute the generator alerts for 3 hours? the mechanic is on it",
            "silence_alerts",
        ),
        ("can we only get the critical alerts in here from now on?", "set_alert_preferences"),
        (
            "The pinging wakes the baby. Could we have quiet hours from 21:00 to 06:00?",
            "set_alert_preferences",
        ),
    ],
)
def test_less_alert_noise_asked_as_can_you_is_the_request(text: str, expected: str) -> None:
    assert _tools(text) == [expected]


def test_whether_alerts_could_be_muted_in_the_past_is_no_request() -> None:
    assert "silence_alerts" not in _tools(
        "could the silence have hidden the alarm we missed yesterday?"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("silence got how many now", ["list_silences"]),
        ("tell me whether the generator will be needed each day this week", ["week_outlook"]),
    ],
)
def test_a_question_is_not_read_as_a_change_or_a_schedule(text: str, expected: list[str]) -> None:
    assert _tools(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # the generator by other names
        ("fire the jenny up, it's freezing", ["start_generator"]),
        ("jenny off please", ["stop_generator"]),
        ("stop the jenna rater at the barn", ["stop_generator"]),
        ("Please switch off the agregat.", ["stop_generator"]),
        ("please stop the groupe, we are done", ["stop_generator"]),
        # grid charging in shorthand
        ("gc off at home", ["set_grid_charge"]),
        ("grid chg off pls", ["set_grid_charge"]),
        ("enable ac charging", ["set_grid_charge"]),
        # a wish for a machine's state, and an opinion with its "do it"
        ("we could really do with the rigs off, battery is dropping", ["stop_miners"]),
        ("could use the miners on, we're exporting loads", ["start_miners"]),
        ("I reckon the generator can be switched off now; would you do so?", ["stop_generator"]),
    ],
)
def test_machines_and_orders_in_other_words(text: str, expected: list[str]) -> None:
    assert _tools(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("who is Jenny?", "who_is"),
        ("I think the generator can be stopped now?", None),
    ],
)
def test_a_name_or_an_opinion_alone_gives_no_order(text: str, expected: str | None) -> None:
    tools = _tools(text)
    assert "stop_generator" not in tools and "start_generator" not in tools
    if expected:
        assert tools == [expected]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "first of all stop miner 1, then give me the fuel outlook",
            ["stop_miners", "fuel_outlook"],
        ),
        ("gen off at the barn, and what happened since noon", ["stop_generator", "timeline"]),
        (
            "Might you switch the generator on and tell me the diesel days left?",
            ["start_generator", "fuel_outlook"],
        ),
        ("miners off + what's the soc", ["stop_miners", "battery_status"]),
    ],
)
def test_an_order_keeps_its_place_beside_a_question(text: str, expected: list[str]) -> None:
    assert _tools(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("spin the rigs up, sun blazing", ["start_miners"]),
        ("gen on now, grid dead, dinner service", ["start_generator"]),
        ("kill grid charging, panels flat out", ["set_grid_charge"]),
        ("Home. Miner-2 off.", ["stop_miners"]),
        ("soc and miners off", ["battery_status", "stop_miners"]),
        ("miners off, is the battery ok", ["stop_miners", "battery_status"]),
    ],
)
def test_a_state_told_beside_an_order_is_its_reason(text: str, expected: list[str]) -> None:
    assert _tools(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # the open alerts beside their housekeeping, unless asked for
        ("copy that on alert 5, ack it", ["acknowledge_alert"]),
        ("just critical alerts in this chat please, it's too noisy", ["set_alert_preferences"]),
        ("alerts, then snooze 4 for an hour", ["active_alerts", "snooze_alert"]),
        ("what's silenced and what's firing", ["list_silences", "active_alerts"]),
        # the battery's course as a plan's bound, not a question of its own
        ("how much grid charging tonight, and when?", ["grid_charge_advice"]),
        ("can I run miners this evening and still have battery at sunrise?", ["miner_plan"]),
        (
            "will the battery last tonight, and should I charge from the grid?",
            ["battery_outlook", "grid_charge_advice"],
        ),
        # no word of the sun: no solar forecast
        ("expected consumption tomorrow, with the range", ["load_forecast"]),
        ("will the bank be full tomorrow according to your forecast?", ["battery_outlook"]),
        ("how's the site and what's the forecast for tomorrow", ["site_status", "solar_forecast"]),
    ],
)
def test_a_read_that_only_serves_the_request_beside_it_is_not_added(
    text: str, expected: list[str]
) -> None:
    assert _tools(text) == expected


@pytest.mark.parametrize(
    "text", ["temps in Fahrenheit from now on", "show me temperatures in celsius"]
)
def test_temperatures_in_a_unit_is_a_preference_not_a_place(text: str) -> None:
    read = plan(text, site_names=SITES, load_names=LOADS)
    assert [i.tool for i in read.intents] == ["set_preferences"]
    assert read.intents[0].args["temperature_unit"] in ("C", "F")


@pytest.mark.parametrize(
    "text",
    [
        "shut the miners down when the soc falls under 25",
        "start the genny once the grid goes off",
        "kill the rigs whenever the battery is under half",
        "run miner 3 on weekends only",
        "switch grid charging on automatically when the price is low",
    ],
)
def test_an_order_on_a_condition_to_come_or_a_schedule_makes_no_request(text: str) -> None:
    """Such an order stands or waits: a request made now would run as soon as approved."""
    read = plan(text, site_names=SITES, load_names=LOADS)
    assert (read.intents, read.reason) == ([], "unsupported")
    reply = not_understood(text, read.reason, read.closest)
    assert "one-off request" in reply and "alert me if" in reply


@pytest.mark.parametrize(
    ("text", "action"),
    [
        ("run the generator until the battery is full", "start_generator"),
        ("stop the miners when you can", "stop_miners"),
        ("when the battery is under 20 % right now, start the generator", "start_generator"),
        ("start the gen and tell me when its next service is due", "start_generator"),
    ],
)
def test_an_order_for_now_beside_when_still_stands(text: str, action: str) -> None:
    assert action in _tools(text)


@pytest.mark.parametrize(
    "text",
    [
        "reboot miner-3's firmware",
        "rigs off Thurs.",
        "gen on fri morning",
        "restart the miners' pool config",
    ],
)
def test_a_part_of_the_machine_or_a_short_day_makes_no_request(text: str) -> None:
    read = plan(text, site_names=SITES, load_names=LOADS)
    assert (read.intents, read.reason) == ([], "unsupported")


def test_sat_as_a_verb_is_no_day() -> None:
    assert _tools("the bank sat at 40 all night, stop the miners") == ["stop_miners"]


@pytest.mark.parametrize(
    ("text", "category", "hours"),
    [
        ("Mute the solar category, 3 hours.", "solar", 3.0),
        ("quiet the grid alerts at the barn for the evening, say 4 hours", "grid", 4.0),
    ],
)
def test_a_duration_said_apart_silences_only_what_was_named(
    text: str, category: str, hours: float
) -> None:
    """The part that only says how long is no second silence over every alert."""
    read = plan(text, site_names=SITES, load_names=LOADS)
    assert [(i.tool, i.args["category"], i.args["hours"]) for i in read.intents] == [
        ("silence_alerts", category, hours)
    ]


@pytest.mark.parametrize(
    ("text", "alert_id", "minutes"),
    [
        ("snooze it for 45 min, alert 8", 8, 45),
        ("Snooze alert 3 for an hour, the electrician arrives at 4.", 3, 60),
    ],
)
def test_one_snooze_from_its_parts(text: str, alert_id: int, minutes: int) -> None:
    read = plan(text, site_names=SITES, load_names=LOADS)
    assert [(i.tool, i.args["alert_id"], i.args["minutes"]) for i in read.intents] == [
        ("snooze_alert", alert_id, minutes)
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Sorry to be a pain, but could you stop the generator? My wife says it's too loud.",
            ["stop_generator"],
        ),
        ("Ana says the rigs should be running; could you start them?", ["start_miners"]),
        (
            "could you turn grid charging on? and what's the battery at?",
            ["set_grid_charge", "battery_status"],
        ),
        ("Generator, please stop.", ["stop_generator"]),
        ("Miner-1 and miner-2, please start.", ["start_miners"]),
        ("the generator should not be running. make it so.", ["stop_generator"]),
        ("can the miners be on pls, we're exporting", ["start_miners"]),
    ],
)
def test_an_order_asked_politely_inside_a_longer_message(text: str, expected: list[str]) -> None:
    assert _tools(text) == expected


@pytest.mark.parametrize(
    "text", ["can the miners be off?", "the miners should be off at night, right?"]
)
def test_whether_a_machine_can_or_should_be_off_is_no_order(text: str) -> None:
    assert "stop_miners" not in _tools(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("scrap the alert for soc under 30 %", "remove_alert_rule"),
        ("no more alert for load over 6 kW please", "remove_alert_rule"),
        ("what did electricity cost last week, solar vs diesel?", "energy_report"),
        ("this month vs last month, grid vs solar", "compare_periods"),
        ("anything fishy with the load this week vs usual", "anomalies"),
        ("solar last week compared with the week before", "compare_periods"),
    ],
)
def test_a_tool_read_where_its_neighbour_was_asked(text: str, expected: str) -> None:
    assert _tools(text) == [expected]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("fuel left at home and when's the oil change due", ["fuel_outlook", "generator_service"]),
        ("status of home + what happened since noon", ["site_status", "timeline"]),
        (
            "when's the service due, and what's the battery at?",
            ["generator_service", "battery_status"],
        ),
    ],
)
def test_a_second_question_that_opens_with_whens_is_asked(text: str, expected: list[str]) -> None:
    """ "when's ..." asks (it is no "battery's full"), and "status of home" is a part of its own."""
    assert _tools(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("open miner-1 please, sun is good", ["start_miners"]),
        ("close all the rigs now, too hot", ["stop_miners"]),
        ("close the genny, power is back", ["stop_generator"]),
        ("open the breaker on miner-3", ["stop_miners"]),
    ],
)
def test_open_and_close_a_machine_are_on_and_off(text: str, expected: list[str]) -> None:
    """As many languages say it; an electrician's "open the breaker" names the switchgear."""
    assert _tools(text) == expected


def test_an_order_for_when_the_sun_goes_down_makes_no_request() -> None:
    read = plan("wen da sun go down, shut all da rigs", site_names=SITES, load_names=LOADS)
    assert (read.intents, read.reason) == ([], "unsupported")


def test_whether_the_floor_allows_a_level_is_asked_not_set() -> None:
    """ "will you let the battery go below 20?" asks about the floor; it sets none."""
    assert _tools("will you let the battery go below 20?") == ["battery_status"]
    assert _tools("do you allow the bank to drop under 30 %?") == ["battery_status"]
    read = plan("don't let the battery go below 35", site_names=SITES, load_names=LOADS)
    assert [(i.tool, i.args.get("min_soc_pct")) for i in read.intents] == [
        ("set_preferences", 35.0)
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # autocorrect's "minors", dictation's "great charging"
        ("shut down the minors then turn on the generator", ["stop_miners", "start_generator"]),
        ("please turn on great charging", ["set_grid_charge"]),
        ("grate charging off now", ["set_grid_charge"]),
    ],
)
def test_machines_as_autocorrect_and_dictation_write_them(text: str, expected: list[str]) -> None:
    assert _tools(text) == expected


@pytest.mark.parametrize(
    ("text", "loads"),
    [
        ("turn miner three off", ["miner-3"]),
        ("start minor one and minor two", ["miner-1", "miner-2"]),
        ("kill the 1st miner", ["miner-1"]),
        ("stop miner number two, it's overheating", ["miner-2"]),
        ("stop miners one and three", ["miner-1", "miner-3"]),
        # no such load: named as said, for the action to refuse, not every miner
        ("shut off miner 6", ["miner 6"]),
        ("shut off miner-6", ["miner-6"]),
        ("power down rig 7", ["rig 7"]),
        # other words for the site's miners, ranges, lists and the number first
        ("power down rig 2", ["miner-2"]),
        ("shut down the third rig", ["miner-3"]),
        ("turn off number 2 miner, it's squealing", ["miner-2"]),
        ("start the second and third rigs", ["miner-2", "miner-3"]),
        ("only turn on machine number 1 and number 3", ["miner-1", "miner-3"]),
        ("start miners 1-3", ["miner-1", "miner-2", "miner-3"]),
        ("stop miners two to three", ["miner-2", "miner-3"]),
        ("rig 1 n 3 on @ barn", ["miner-1", "miner-3"]),
        # counted, not named: which ones is not said
        ("stop one miner", ["one miner"]),
        ("turn off two of the rigs", ["two of the rigs"]),
        ("stop miners 1-5", ["miners 1-5"]),
        ("stop miner-2 and miner 7", ["miner-2", "miner 7"]),
    ],
)
def test_a_miner_named_by_its_number_is_that_miner(text: str, loads: list[str]) -> None:
    got = plan(text, site_names=SITES, load_names=LOADS).intents
    assert [(i.tool, i.args.get("loads")) for i in got] == [(got[0].tool, loads)], got
    assert got[0].tool in ("stop_miners", "start_miners")


def test_a_number_that_counts_hours_names_no_miner() -> None:
    got = plan("run the rigs 3 hours", site_names=SITES, load_names=LOADS).intents
    assert [(i.tool, i.args.get("loads")) for i in got] == [("start_miners", None)]


def test_an_alert_threshold_in_spoken_kilowatts() -> None:
    args = _one("let me know if the load goes over six kilo watts", "set_alert_rule")
    assert (args["metric"], args["value"], args["unit"]) == ("load", 6.0, "kW")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Taglish: "my role", "what happened last night" beside another question, "which
        # site is ... the most", "what can you do"
        ("ano po yung role ko sa barn?", ["who_is"]),
        ("ano ang nangyari kagabi sa barn at ilang alert", ["timeline", "active_alerts"]),
        ("may solar pa ba bukas at ano nangyari kagabi", ["solar_forecast", "timeline"]),
        ("saan po pinakamalakas ang battery ngayon?", ["compare_sites"]),
        ("ano po ba kaya mong gawin", ["help"]),
    ],
)
def test_more_taglish(text: str, expected: list[str]) -> None:
    assert _tools(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a reading with "now" is a request of its own beside the next one
        ("pv now plus the panel temperature", ["solar_now", "panel_readings"]),
        (
            "I'm wondering about tomorrow's load and whether to grid charge tonight",
            ["load_forecast", "grid_charge_advice"],
        ),
        # a sign-off is no part
        (
            "Please send the diesel days left and hours to the next oil change. Kind regards, Tom",
            ["fuel_outlook", "generator_service"],
        ),
        # "I'd like yesterday's ..." asks
        (
            "I'd like last week's numbers and how far off the solar forecast was yesterday",
            ["energy_report", "solar_scorecard"],
        ),
    ],
)
def test_parts_that_ask_on_their_own(text: str, expected: list[str]) -> None:
    assert _tools(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "kill the rigs asap battery at 18",
        "turn off the miners soc is at 22 already",
    ],
)
def test_a_level_after_at_is_no_later_time(text: str) -> None:
    assert _tools(text) == ["stop_miners"]


def test_an_hour_after_at_is_still_a_later_time() -> None:
    assert _tools("turn off the miners at 22, soc is low") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("if you could switch miner-3 off that would be brilliant", ["stop_miners"]),
        ("it'd be lovely if you could turn the generator on", ["start_generator"]),
        ("stop gird charging now", ["set_grid_charge"]),
    ],
)
def test_an_order_asked_as_a_kindness(text: str, expected: list[str]) -> None:
    assert _tools(text) == expected


def test_a_floor_to_keep_beside_an_alert_is_no_second_condition() -> None:
    got = plan(
        "keep the battery above 45% and ping me if it ever drops under 38%",
        site_names=SITES,
        load_names=LOADS,
    ).intents
    assert [i.tool for i in got] == ["set_preferences", "set_alert_rule"], got
    assert got[0].args["min_soc_pct"] == 45.0
    assert (got[1].args["comparator"], got[1].args["value"]) == ("<", 38.0)


def test_two_conditions_for_one_rule_are_still_refused_when_said_first() -> None:
    assert _tools("if the battery < 25 % and the load > 4 kW, alert me") == []


@pytest.mark.parametrize(
    "text",
    [
        "We fly out on Sunday for ten days. Could you shut the rigs down then, please?",
        "The electrician comes at 3pm. Turn off the generator at that time.",
    ],
)
def test_then_after_a_later_time_is_that_time(text: str) -> None:
    assert _tools(text) == []


def test_then_after_news_is_now() -> None:
    assert _tools("The battery is nearly flat. Stop the miners then.") == ["stop_miners"]


@pytest.mark.parametrize(
    "text",
    [
        # "at 10 when ..." is an hour: the "w" of "when" is no watt
        "switch the rigs off tonight at 10 when the shop shuts",
        # the time leads in a part of its own
        "Saturday around 7 in the morning, start the generator please",
    ],
)
def test_a_later_time_around_the_order_makes_no_request(text: str) -> None:
    assert _tools(text) == []


def test_a_level_in_watts_after_at_is_no_hour() -> None:
    assert _tools("stop the miners, the panels are at 40 w only") == ["stop_miners"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # whether to make a change is the plan's question; the change is never made
        ("should we turn the generator off?", ["generator_plan"]),
        ("is it time to switch the genset off?", ["generator_plan"]),
        ("should i turn off miner-1", ["miner_plan"]),
        # an order for when a reading changes waits for it: refused, not made now
        ("if the battery drops under 25 start the generator", []),
        ("If SOC falls below 30% switch the generator on", []),
        ("if the soc goes under 35 turn the rigs off", []),
        ("if it gets dark stop the miners", []),
        ("If the sun comes out later, put the rigs on", []),
        ("when the sun's up switch the miners on", []),
        ("miners off @ 11 2nite", []),
        ("shut the rigs off at teatime", []),
        ("turn the miners off at last orders", []),
        # the hour said as on a radio net
        ("At twenty-one hundred switch the rigs off, over.", []),
        ("start the genset at zero six hundred hours", []),
        # the state now, as the condition: shown, and the order proposed
        ("if the battery is under 30%, turn off the miners", ["battery_status", "stop_miners"]),
        (
            "if the battery has gone below 20%, start the generator",
            ["battery_status", "start_generator"],
        ),
        # a floor to keep, then a rule below it; a floor on another reading is no battery floor
        (
            "keep the battery above 55 and tell me if it goes under 45",
            ["set_preferences", "set_alert_rule"],
        ),
        ("keep batt >60 n txt me if <50", ["set_preferences", "set_alert_rule"]),
        (
            "Keep the battery above sixty per cent. Tell me if it drops under 45.",
            ["set_preferences", "set_alert_rule"],
        ),
        ("keep the panel voltage above 12 and alert me if it drops under 11", ["set_alert_rule"]),
        # a rejection's reason is no doubt about it; doubt about an approval still is
        ("reject 1a2b3c4d, no idea what that is", ["decide_action"]),
        ("reject 1a2b3c4d please, not authorised", ["decide_action"]),
        ("approve 1a2b3c4d, i dont know what it does", []),
        # the generator in other languages, dialect words for times and electricity
        ("start el-mowalled now, the grid is cut", ["start_generator"]),
        ("stop the kragopwekker, power's back", ["stop_generator"]),
        ("how much leccy will we use the morra", ["load_forecast"]),
        ("solar forecast bokra please", ["solar_forecast"]),
        ("shut the battery alerts up for today", ["silence_alerts"]),
        # a reason given with the order asks nothing of its own
        ("switch the rigs on please, sun very bright today", ["start_miners"]),
        ("stop the generator already, it guzzles diesel", ["stop_generator"]),
        # Turkish, Danish and Norwegian words for the machines, the days and the money
        ("jeneratör start now please, the elektrik is cut", ["start_generator"]),
        ("home akü?", ["battery_status"]),
        ("mazot days left?", ["fuel_outlook"]),
        ("güneş right now at the barn", ["solar_now"]),
        ("how does the solar look i morgen", ["solar_forecast"]),
        # open and close for on and off, the particle after the machine too
        ("rigs close now, too hot", ["stop_miners"]),
        ("open all the machines please", ["start_miners"]),
        # an alert asked as "send me an alarm"; a floor said digit by digit
        ("if the pv goes under 2 kW send me an alarm", ["set_alert_rule"]),
        ("keep the battery above five-zero percent, out", ["set_preferences"]),
        # Caribbean English asking what the bot does
        ("wha yuh could do for me?", ["help"]),
        # Romanian, Lebanese Arabic and Hungarian words for the orders and the machines
        ("porneste generatorul, the grid is down", ["start_generator"]),
        ("opreste minerii please", ["stop_miners"]),
        ("tfi el moteur, dawle is back", ["stop_generator"]),
        ("chaghel el miners", ["start_miners"]),
        ("aggregátor ki, please", ["stop_generator"]),
        ("rigs be!", ["start_miners"]),
        ("holnap solar forecast?", ["solar_forecast"]),
        # an order's machine by its number alone
        ("stop number 1 and number 2 at the barn", ["stop_miners"]),
        # later: an hour in Hindi, a time in the part after the order, "when ... hit"
        ("raat 10 baje rigs band karo", []),
        ("switch the miners off, say after dinner at 8", []),
        ("fire up the generator when the batteries hit 12", []),
        # Boston English as typed, Swahili words, a Punjabi hour
        ("stahht the genny please", ["start_generator"]),
        ("shut the minahs off", ["stop_miners"]),
        ("zima jenereta now", ["stop_generator"]),
        ("washa the rigs, jua is strong", ["start_miners"]),
        ("barn betri?", ["battery_status"]),
        ("raat 10 vaje rigs band kar do", []),
        # later: when something still to happen is over
        ("once the service is over please switch the miners on", []),
        ("after the market closes stop the generator", []),
        # later: an hour in words, a condition put as "should ...", an event said first
        ("please switch the rigs off at ten tonight", []),
        ("start the generator at half past six", []),
        ("Should the soc drop under 30 percent, please stop the miners.", []),
        ("After the evening service, please start the generator.", []),
        # Tamil in Latin letters: an hour, a condition, an order with its particle
        ("raathiri 11 mani-ku generator off pannu", []),
        ("battery 25 keezha ponaa miners off pannu", []),
        ("miners off pannu", ["stop_miners"]),
        # still now
        ("stop the miners, the battery is at five.", ["stop_miners"]),
        ("should the generator run tonight?", ["generator_plan"]),
        # "yes or no?" in another language asks whether, it gives no order
        ("grid charging tonight, sim ou não?", ["grid_charge_advice"]),
        # utilities by name, Maltese words, a rejection in London slang
        ("should we charge from ZESCO overnight?", ["grid_charge_advice"]),
        ("start il-ġenerator please", ["start_generator"]),
        ("solar forecast for għada?", ["solar_forecast"]),
        ("bin off request 9a8b7c6d, not needed", ["decide_action"]),
        # Czech, Serbian, Somali, Cantonese and Swiss German words for the orders
        ("zapni the těžaři please", ["start_miners"]),
        ("pokreni agregat, nema struje", ["start_generator"]),
        ("jooji the matoor please", ["stop_generator"]),
        ("hoi miner-1 please", ["start_miners"]),
        ("saan the generator", ["stop_generator"]),
        ("rigs aa please", ["start_miners"]),
        # a condition with a later time, or on Yorkshire's "t'", or on snow sliding off
        ("if the soc is still under 25 at six, start the generator", []),
        ("if t'soc drops under 25 switch t'genny on", []),
        ("once the snow slides off the panels, start the rigs", []),
        # the state now still shows it and proposes the order
        ("if the battery is at 20 start the generator", ["battery_status", "start_generator"]),
    ],
)
def test_what_is_asked_now_what_waits_and_other_words(text: str, expected: list[str]) -> None:
    assert _tools(text) == expected


def test_a_hundred_is_an_hour_only_where_it_is_said_as_one() -> None:
    from graphs.assistant.understanding.lexicon import plain

    assert plain("stop the miners at nineteen hundred") == "stop the miners at 19:00"
    assert plain("gen on at zero six hundred hours") == "gen on at 06:00"
    for amount in ("alert me if the load goes above two hundred watts", "two hundred litres left"):
        assert plain(amount) == amount


def test_a_power_cut_told_is_no_order_to_cut() -> None:
    assert _tools("start the genset, the power is cut") == ["start_generator"]
    assert _tools("cut the grid charging") == ["set_grid_charge"]


def test_a_day_said_alone_takes_the_noun_said_before() -> None:
    # "... and what's today's": today's forecast, the second request, not dropped
    got = plan(
        "how close was yesterday's forecast, and what's today's?",
        site_names=SITES,
        load_names=LOADS,
    ).intents
    assert [(i.tool, i.args.get("day")) for i in got] == [
        ("solar_scorecard", None),
        ("solar_forecast", "today"),
    ]


def test_an_order_by_number_alone_names_that_miner() -> None:
    got = plan("start number 2 please", site_names=SITES, load_names=LOADS).intents
    assert [(i.tool, i.args.get("loads")) for i in got] == [("start_miners", ["miner-2"])]
    # a number that is an alert's stays the alert's
    assert _tools("ack alert number 2") == ["acknowledge_alert"]


def test_how_long_a_machine_has_been_on_is_told_not_ordered() -> None:
    # a report of a state and since when: answered, never a request
    for told in ("generator on since 6am", "rigs off since yesterday"):
        assert not {"start_generator", "stop_generator", "start_miners", "stop_miners"} & set(
            _tools(told)
        ), told


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a time of day still to come, after "past": the order waits for it
        ("if the panels are still producing past noon switch the miners on", []),
        ("show me the past 3 days", ["timeline"]),
        # fuel named as the plan's aim is no question about fuel
        ("gen plan for the next two days, least diesel", ["generator_plan"]),
        ("genset schedule next 48h. min fuel", ["generator_plan"]),
        ("genset plan and how many days of diesel are left", ["generator_plan", "fuel_outlook"]),
        # a sentence that only tells adds nothing to what the others ask
        ("What's the SOC? The freezers must not thaw.", ["battery_status"]),
        ("Tomorrow's solar please. The owner wants the numbers.", ["solar_forecast"]),
        ("should I grid charge tonight? they say rain tomorrow", ["grid_charge_advice"]),
        ("battery? the sky is looking clear today.", ["battery_status"]),
        (
            "what went on overnight. a storm came through. anything firing now?",
            ["timeline", "active_alerts"],
        ),
        (
            "mains is off: start the generator and stop the miners",
            ["start_generator", "stop_miners"],
        ),
        # ... but a told sentence with a site, a number or (beside an order) a time stays
        ("Start the generator. The barn is dark.", ["start_generator"]),
        # a short id right after the verb that decides it
        ("approve 3b7f and show what else is waiting", ["decide_action", "pending_approvals"]),
        # the overview read from a clause beside another read, when nothing asks for it
        ("Which alarms are firing at the moment, or acknowledged, at the barn?", ["active_alerts"]),
        ("how's the barn doing, and the battery?", ["site_status", "battery_status"]),
        ("battery and the grid?", ["battery_status", "site_status"]),
        # a verdict said at length, then the bare id it is about
        (
            "anything waiting for approval? and reject the generator one, 5e1f2a3b",
            ["pending_approvals", "decide_action"],
        ),
        # "tell me if we should ...": whether, not a condition to alert on
        (
            "battery projection for 48h and tell me if we should charge from the grid tonight",
            ["battery_outlook", "grid_charge_advice"],
        ),
        # politeness and fillers are no request of their own
        ("how's the barn looking, real quick?", ["site_status"]),
        ("yesterday's solar forecast accuracy, kindly share", ["solar_scorecard"]),
        # a part that names nothing of its own says more of the one before
        ("how much from the grid tonight, and in which hours?", ["grid_charge_advice"]),
        ("remove rule 2, the one for the panel voltage", ["remove_alert_rule"]),
        ("miner schedule for the next 24 h, keep the batt above min", ["miner_plan"]),
        # an order with a tag is said, not asked
        ("Keep the battery above 35 percent, okay?", ["set_preferences"]),
        ("if the bank drops under 25 tonight, go ahead and start the genny, right?", []),
        # a setting asked with "can you"
        ("could you show temperatures in Fahrenheit for me?", ["set_preferences"]),
        ("can you get rid of that silence?", ["remove_silence"]),
        # Scots spellings
        ("whit can ye dae for me?", ["help"]),
        ("gie's the alerts", ["active_alerts"]),
        ("What commands are available?", ["help"]),
        # a period's amount in the past tense is its report
        ("How much solar we had last week?", ["energy_report"]),
        # the next two days of the battery are its 48 h projection
        ("battery ok for the next 2 days?", ["battery_outlook"]),
        # what the week's outlook answers day by day is no question of its own
        ("how's the week ahead looking, will I need the genny at all?", ["week_outlook"]),
        ("7-day outlook with generator hours and fuel per day", ["week_outlook"]),
        ("week outlook and how many days of diesel are left", ["week_outlook", "fuel_outlook"]),
        (
            "what's the week looking like, and when should I run the generator",
            ["week_outlook", "generator_plan"],
        ),
        # "next 48h" is a time, not the next request
        ("when should the genny run and for how long, next 48h", ["generator_plan"]),
        # how long the battery lasts at this rate is the status's time to its minimum
        ("how much time before the pack hits its minimum?", ["battery_status"]),
        ("how long will the battery last tonight", ["battery_outlook"]),
        # an order that waits for an event still to come
        ("once the meeting is over please switch the miners back on", []),
        # a new sentence after a question that starts with "and" asks again
        (
            "what's the cost this month? and the diesel, how many days left",
            ["cost_projection", "fuel_outlook"],
        ),
    ],
)
def test_told_sentences_aims_tags_and_short_ids(text: str, expected: list[str]) -> None:
    assert _tools(text) == expected


def test_batt_is_never_read_as_watts() -> None:
    got = plan("keep batt above min", site_names=SITES, load_names=LOADS).intents
    assert all(i.args.get("power_unit") is None for i in got)


@pytest.mark.parametrize(
    "text",
    [
        "Shut the miners off. Wait, the sun is back out.",
        "start the genset - no wait, mains is back",
        "Turn on grid charging. Actually no, tomorrow is sunny.",
        "stop miner-2, never mind, it's already off",
        "switch the rigs on. hmm, on second thought the bank is too low.",
        "kill the generator, scratch that",
        "Stop miner-1 at home — actually no, disregard that. Leave it running.",
        "Please start miner-2 at barn. Ah no, sorry, it is not needed, leave it.",
        "Stop the miners at barn... aah, wacha, leave them",
    ],
)
def test_an_order_taken_back_makes_no_request(text: str) -> None:
    read = plan(text, site_names=SITES, load_names=LOADS)
    assert read.intents == [] and read.reason == "unsure"
    assert "You took that back" in not_understood(text, read.reason, read.closest)


def test_wait_before_the_order_is_no_taking_back() -> None:
    assert _tools("wait, stop the miners") == ["stop_miners"]
    assert _tools("stop the miners and wait for my call") == ["stop_miners"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a site said as not meant gets no request
        ("Turn grid charging off. Correction: at the barn, not at home.", [("barn", False)]),
        ("switch off grid charging at the barn, not home", [("barn", False)]),
        # the site the correction names, not the one before it
        ("Grid charging off at home. Correction: the barn.", [("barn", False)]),
        ("Turn off grid charging at home. Sorry, I mean the barn.", [("barn", False)]),
        # two sites asked for in so many words stay two
        ("grid charging off at barn and at home", [("barn", False), ("home", False)]),
        # a correction after a dash names the site meant, and the first it names wins
        ("Grid charging off at demo — no, at home. Demo is fine.", [("home", False)]),
        ("grid charging off at home – sorry, barn. BARN", [("barn", False)]),
        ("Turn off grid charging at barn — no no, at demo. Barn's ok.", [("demo", False)]),
    ],
)
def test_a_corrected_site_is_the_one_asked(text: str, expected: list[tuple[str, bool]]) -> None:
    got = plan(text, site_names=SITES, load_names=LOADS).intents
    assert [(i.args["site"], i.args["enabled"]) for i in got if i.tool == "set_grid_charge"] == (
        expected
    )
    assert {i.tool for i in got} == {"set_grid_charge"}


def test_a_correction_of_the_length_is_one_snooze_of_the_alert_named() -> None:
    got = plan("Snooze alert 9 for 30 minutes. Not an hour: 30 minutes.", site_names=SITES).intents
    assert [(i.tool, i.args["alert_id"], i.args["minutes"]) for i in got] == [
        ("snooze_alert", 9, 30)
    ]


def test_whether_over_the_next_days_is_a_question_not_a_rule() -> None:
    assert _tools("Kindly tell me whether the bank will hold over the next two days.") == [
        "battery_outlook"
    ]
    got = plan("tell me if the battery drops below 25 % over the next 3 days", site_names=SITES)
    assert [(i.tool, i.args.get("value")) for i in got.intents] == [("set_alert_rule", 25.0)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # "on" a day says when, and a pronoun for the fuel is no generator to start
        (
            "When should we order diesel? I'd like to bring it to the board on Friday.",
            ["fuel_outlook"],
        ),
        # "on <site>" beside a verb says where
        ("Stop miner-1 and miner-2 on barn. The welder needs the power.", ["stop_miners"]),
        ("miner-3 on home", ["start_miners"]),
        # a reason's own verbs give the machine no way
        ("kindly stop miner-3 because the kiln will start", ["stop_miners"]),
        # components listed after an overview asked for are the overview's
        ("What's the situation at the barn? Battery, solar, genset, everything.", ["site_status"]),
        ("battery, solar and alerts", ["battery_status", "solar_now", "active_alerts"]),
        # a part that only says where
        ("Miner plan for the next 24 h please, site home.", ["miner_plan"]),
        ("Solar forecast for tomorrow, site barn.", ["solar_forecast"]),
    ],
)
def test_where_when_and_why_are_no_requests_of_their_own(text: str, expected: list[str]) -> None:
    assert _tools(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # the bot asked about, whatever else the message says
        ("so what can this bot even do? first day here", ["help"]),
        ("Which things can you do for me? I'm new to the system.", ["help"]),
        ("what can you do about the battery draining?", ["battery_status"]),
        # an automatic start is a standing rule, never a request now
        ("set the generator to auto-start at 25% battery", []),
        # units and "hours left" said after the question are how it is asked
        ("When is the generator's oil change due? How many hours left?", ["generator_service"]),
        ("solar at home now, how much kW", ["solar_now"]),
        # the overview asked in other words beside another read
        ("home ok? and is the battery at the barn full", ["site_status", "battery_status"]),
        ("what went on overnight, and how's it looking now?", ["timeline", "site_status"]),
        # an order in a sentence with its reason is never only told
        (
            "any alarms at demo? also crank up the genset, the freezer is getting warm",
            ["active_alerts", "start_generator"],
        ),
    ],
)
def test_dev_dump_readings_of_this_session(text: str, expected: list[str]) -> None:
    assert _tools(text) == expected
