"""Decisions on action requests in everyday words: which request, which way, and nothing
decided when the words go both ways, doubt, ask or report (approving runs the action)."""

from __future__ import annotations

import pytest

from graphs.assistant.planner import plan
from graphs.assistant.understanding import verdicts

SITES = ["demo", "barn", "home"]
LOADS = ["miner-1", "miner-2", "miner-3"]


def _decisions(text: str) -> list[tuple[str, bool]]:
    got = plan(text, site_names=SITES, load_names=LOADS).intents
    assert {i.tool for i in got} <= {"decide_action"}, [i.tool for i in got]
    return [(str(i.args["action_id"]), bool(i.args["approve"])) for i in got]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("green light for 0badc0de", [("0badc0de", True)]),
        ("i'll allow deadbeef", [("deadbeef", True)]),
        ("ship it 5a6b7c8d", [("5a6b7c8d", True)]),
        ("+1 on 6c7d8e9f", [("6c7d8e9f", True)]),
        ("let 0a0a1b1b through", [("0a0a1b1b", True)]),
        ("Sanction request 2d3e4f5a, kindly.", [("2d3e4f5a", True)]),
        ("on break, ok 77665544 is approved", [("77665544", True)]),
        ("approve both 11aa22bb and 33cc44dd", [("11aa22bb", True), ("33cc44dd", True)]),
        ("station 2 asked for the gen, request 6d7e8f9a, approve it", [("6d7e8f9a", True)]),
        ("is it ok if I approve 1e2f3a4b? yes, approve it", [("1e2f3a4b", True)]),
        ("no cap approve 9b8a7f6e", [("9b8a7f6e", True)]),  # slang, not a "no"
        ("turn down 88cc44aa, not today", [("88cc44aa", False)]),
        ("that one's a no: 66778899", [("66778899", False)]),
        ("do not approve 6c6c7d7d", [("6c6c7d7d", False)]),
        ("yeah nah, reject 7f6e5d4c", [("7f6e5d4c", False)]),
        ("hard pass on 0c1d2e3f", [("0c1d2e3f", False)]),
        ("nack 9e8d7c6b", [("9e8d7c6b", False)]),
        (
            "Hello, request 1f6ac8e4 has not been authorised by the landlord. Please reject it.",
            [("1f6ac8e4", False)],
        ),
        # the reason given beside a decision asks nothing
        ("reject 77be0a3c, wrong site", [("77be0a3c", False)]),
        ("reject f1e2d3c4 please, not budgeted", [("f1e2d3c4", False)]),
        ("ok approve the gen start 2d3e4f5a, tower batts are low", [("2d3e4f5a", True)]),
    ],
)
def test_a_decision_in_everyday_words(text: str, expected: list[tuple[str, bool]]) -> None:
    assert _decisions(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "approve 8c41fea3, no wait, reject it",  # both ways
        "not sure about 8c41fea3, ok?",  # doubt
        "hold 8c41fea3 for now, ok",
        "maybe approve 8c41fea3 later",
        "should I approve 8c41fea3?",  # a question
        "what is 8c41fea3?",
        "was 8c41fea3 approved?",
        "Request 4be81d0c was approved by the operations director by phone.",  # a report
        "approved 3f9a12bc on my phone already",
    ],
)
def test_doubt_questions_and_reports_decide_nothing(text: str) -> None:
    got = plan(text, site_names=SITES, load_names=LOADS).intents
    assert "decide_action" not in {i.tool for i in got}


@pytest.mark.parametrize(
    "text",
    [
        "reject 5e6f7a8b, barn miners stay off per owner",
        "reject 5e6f7a8b, genny stays off",
        "decline 5e6f7a8b - generator remains off till the fuel comes",
        "approve 5e6f7a8b, miners stay on till noon",
    ],
)
def test_what_a_decision_keeps_as_it_is_orders_nothing(text: str) -> None:
    tools = [i.tool for i in plan(text, site_names=SITES, load_names=LOADS).intents]
    assert tools == ["decide_action"]


@pytest.mark.parametrize(
    ("text", "tools"),
    [
        ("reject a1b2c3d4. anything else waiting?", ["decide_action", "pending_approvals"]),
        ("what's my role, and approve 4c4c5d5d", ["who_is", "decide_action"]),
        (
            "reject 3d4e5f6a and mute the grid alerts for an hour",
            ["decide_action", "silence_alerts"],
        ),
        (
            "Dear CommandCenter, please list pending approvals and approve request 4a1c7b9e. "
            "Regards",
            ["pending_approvals", "decide_action"],
        ),
    ],
)
def test_the_rest_of_the_message_is_read_in_order(text: str, tools: list[str]) -> None:
    assert [i.tool for i in plan(text, site_names=SITES, load_names=LOADS).intents] == tools


def test_words_that_are_no_request_id_are_not_read_as_one() -> None:
    assert verdicts.read("ok, the battery is at 100000 mAh") is None  # digits only, not 8
    assert verdicts.read("sure, add the decade of data") is None  # a word, not 8 letters
    assert verdicts.read("approve the plan please") is None  # no id at all
