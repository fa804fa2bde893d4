"""An order on a condition about now is read as the state the condition is about, then
the order (a person approves it after seeing that state); a question, a standing rule or a
condition about later gives no order."""

from __future__ import annotations

import pytest

from graphs.assistant.planner import plan

SITES = ["demo", "barn", "home"]
LOADS = ["miner-1", "miner-2", "miner-3", "s9-rack"]


def _read(text: str) -> list[tuple[str, object]]:
    got = plan(text, site_names=SITES, load_names=LOADS).intents
    return [(i.tool, i.args.get("site")) for i in got]


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("if batteries under 25 shut the rigs off", ["battery_status", "stop_miners"]),
        ("if the battery is under 30 %, stop the miners", ["battery_status", "stop_miners"]),
        ("if we're under 50% right now, switch the miner off", ["battery_status", "stop_miners"]),
        (
            "If battery has gone below 20%, please start the DG.",
            ["battery_status", "start_generator"],
        ),
        ("if the grid is still down start the gen", ["site_status", "start_generator"]),
        ("if batt above 80 rn turn on s9-rack", ["battery_status", "start_miners"]),
    ],
)
def test_an_order_on_a_condition_about_now(text: str, want: list[str]) -> None:
    assert [tool for tool, _ in _read(text)] == want


def test_the_site_of_the_condition_is_the_site_of_the_order() -> None:
    assert _read("if the barn battery is under 30 stop miner-1") == [
        ("battery_status", "barn"),
        ("stop_miners", "barn"),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "if the battery is low should I stop the miners?",
        "Whenever the battery falls below 25%, please stop the miners.",
        "if it rains tomorrow start the generator",
    ],
)
def test_a_question_a_standing_rule_or_a_later_condition_gives_no_order(text: str) -> None:
    got = plan(text, site_names=SITES, load_names=LOADS)
    assert not {i.tool for i in got.intents} & {"stop_miners", "start_generator"}
