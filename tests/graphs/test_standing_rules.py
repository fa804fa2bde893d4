"""A standing rule ("whenever ..., stop the miners") is automation the bot does not do:
no request is made and the reply says so; an alert asked that way is still an alert rule."""

from __future__ import annotations

import pytest

from graphs.assistant.planner import not_understood, plan

SITES = ["demo", "barn", "home"]
LOADS = ["miner-1", "miner-2", "miner-3"]


@pytest.mark.parametrize(
    "text",
    [
        "Whenever the battery falls below 25%, please stop the mining computers.",
        "any time the sun is out, start the rigs",
        "every time the grid drops, start the generator",
    ],
)
def test_a_standing_rule_makes_no_request_and_says_why(text: str) -> None:
    got = plan(text, site_names=SITES, load_names=LOADS)
    assert got.intents == []
    assert got.reason == "unsupported"
    assert "can't schedule" in not_understood(text, got.reason, got.closest)


def test_an_alert_asked_as_a_standing_rule_is_still_an_alert_rule() -> None:
    got = plan("whenever the battery drops below 20 % alert me", site_names=SITES)
    assert [(i.tool, i.args["value"]) for i in got.intents] == [("set_alert_rule", 20.0)]
