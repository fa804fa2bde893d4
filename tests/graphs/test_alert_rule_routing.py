"""The offline planner routes alert-rule requests with their arguments parsed."""

from __future__ import annotations

import pytest

from graphs.assistant.planner import not_understood, plan

SITES = ["home", "barn"]


def _one(text: str) -> tuple[str, dict[str, object]]:
    got = plan(text, site_names=SITES)
    assert got.reason == "ok", (text, got)
    assert len(got.intents) == 1, (text, got.intents)
    return got.intents[0].tool, dict(got.intents[0].args)


@pytest.mark.parametrize(
    ("text", "metric", "comparator", "value", "unit", "hold"),
    [
        ("alert me if voltage < 12 V", "voltage", "<", 12.0, "V", None),
        ("alert me if the panel voltage drops below 12 V", "panel voltage", "<", 12.0, "V", None),
        ("warn me when the battery drops under 30%", "battery", "<", 30.0, "%", None),
        ("ping me if the generator runs low on fuel", "fuel", "<", 20.0, "%", None),
        ("notify me when the load exceeds 5 kW for 10 minutes", "load", ">", 5.0, "kW", 10.0),
        (
            "let me know if pv output is below 2000 W for half an hour",
            "solar power",
            "<",
            2000.0,
            "W",
            30.0,
        ),
        (
            "tell me when battery temp goes above 104 F",
            "battery temperature",
            ">",
            104.0,
            "F",
            None,
        ),
        ("alert me if the die temperature is over 40 °C", "die temperature", ">", 40.0, "C", None),
        ("can you text me when the soc hits 15%?", "battery", "<=", 15.0, "%", None),
        ("if the grid voltage goes over 250v, warn me", "grid voltage", ">", 250.0, "v", None),
        ("set an alarm when the tank < 50 litres", "fuel", "<", 50.0, "litres", None),
        ("alert me if it drops below 11.8V for 5 min", "voltage", "<", 11.8, "V", 5.0),
        ("create an alert rule for load >= 3.5 kw", "load", ">=", 3.5, "kw", None),
    ],
)
def test_thresholds_route_to_set_alert_rule_with_their_arguments(
    text: str, metric: str, comparator: str, value: float, unit: str, hold: float | None
) -> None:
    tool, args = _one(text)
    assert tool == "set_alert_rule"
    assert args["metric"] == metric
    assert args["comparator"] == comparator
    assert args["value"] == pytest.approx(value)
    assert args["unit"] == unit
    assert args["hold_minutes"] == hold
    assert args["severity"] == "warning"


def test_site_and_severity_are_read() -> None:
    tool, args = _one("critical alert if the battery drops below 20 % at the barn")
    assert tool == "set_alert_rule"
    assert (args["site"], args["severity"], args["value"]) == ("barn", "critical", 20.0)


@pytest.mark.parametrize(
    "text",
    [
        "what alert rules do I have",
        "show my thresholds",
        "list the alert rules at barn",
        "which thresholds did we set?",
    ],
)
def test_listing(text: str) -> None:
    assert _one(text)[0] == "list_alert_rules"


@pytest.mark.parametrize(
    ("text", "rule_id"),
    [
        ("delete rule 3", 3),
        ("remove alert rule #12", 12),
        ("get rid of threshold 7", 7),
        ("rule 4 keeps firing, delete it", 4),
    ],
)
def test_removal(text: str, rule_id: int) -> None:
    tool, args = _one(text)
    assert (tool, args["rule_id"]) == ("remove_alert_rule", rule_id)


@pytest.mark.parametrize(
    "text",
    [
        "is the battery low?",
        "remove silence 3",
        "silence battery alerts for 2 days",
        "keep the battery above 45 %",
        "any alerts?",
        "explain the alert rules",
    ],
)
def test_other_questions_do_not_become_alert_rules(text: str) -> None:
    tools = [i.tool for i in plan(text, site_names=SITES).intents]
    assert not {"set_alert_rule", "remove_alert_rule", "list_alert_rules"} & set(tools), tools


def test_schedules_and_unreadable_thresholds_are_refused_with_the_reason() -> None:
    schedule = plan("alert me every morning if the battery is below 30%", site_names=SITES)
    assert schedule.intents == [] and schedule.reason == "unsupported"
    assert "schedule" in not_understood(
        "alert me every morning if the battery is below 30%", "unsupported", []
    )
    vague = "text me when the barn goes offline"
    got = plan(vague, site_names=SITES)
    assert got.intents == [] and got.reason == "unsupported"
    reply = not_understood(vague, "unsupported", got.closest)
    assert "couldn't read a threshold" in reply and "can't set alert thresholds" not in reply


def test_a_rule_beside_another_request_keeps_both_in_order() -> None:
    got = plan("alert me if the battery drops below 30% and stop the miners", site_names=SITES)
    assert [i.tool for i in got.intents] == ["set_alert_rule", "stop_miners"]
    got = plan("delete rule 3 and show my alert rules", site_names=SITES)
    assert [i.tool for i in got.intents] == ["remove_alert_rule", "list_alert_rules"]
    # A condition clause belongs to the rule, not to a tool of its own.
    got = plan("when the soc drops below 20%, alert me", site_names=SITES)
    assert [(i.tool, i.args["value"]) for i in got.intents] == [("set_alert_rule", 20.0)]


@pytest.mark.parametrize(
    "text",
    [
        "alert me if battery < 30 % and load > 5 kW",
        "warn me when the soc drops below 20% or the panel temp goes over 60C",
        "notify me if the panel voltage is under 11.5 V while the current is above 8 A",
    ],
)
def test_a_threshold_on_two_readings_is_refused_not_halved(text: str) -> None:
    """A rule watches one reading: setting the first condition alone would alert on
    something the person did not ask for, so nothing is set and the reply says why."""
    got = plan(text, site_names=SITES)
    assert got.intents == [] and got.reason == "unsupported", got
    reply = not_understood(text, "unsupported", got.closest)
    assert reply.startswith("An alert rule watches one reading"), reply
    assert "one rule per condition" in reply


@pytest.mark.parametrize(
    "text",
    [
        "alert me if voltage < 12 V for 10 min and make it critical",
        "ping me if the battery drops below 30% and stop the miners",
    ],
)
def test_one_threshold_beside_other_words_is_still_a_rule(text: str) -> None:
    assert "set_alert_rule" in [i.tool for i in plan(text, site_names=SITES).intents]
