"""Role changes and questions about people in full sentences reach set_role / who_is
with the person as written and the role named (the tool checks who may grant it)."""

from __future__ import annotations

import pytest

from graphs.assistant.planner import plan

SITES = ["demo", "barn", "home"]
LOADS = ["miner-1", "miner-2", "miner-3"]


def _read(text: str) -> list[tuple[str, dict[str, object]]]:
    got = plan(text, site_names=SITES, load_names=LOADS).intents
    return [(i.tool, {k: v for k, v in i.args.items() if k != "site"}) for i in got]


@pytest.mark.parametrize(
    ("text", "user", "role"),
    [
        ("Please grant Ms. Keller the viewer role for the plant.", "Keller", "viewer"),
        ("Promote Thomas to operator so he can approve actions at night.", "Thomas", "operator"),
        ("Change Robert's role to administrator.", "Robert", "admin"),
        ("make @tom operator at both home and barn", "tom", "operator"),
        ("Grant Mark Ellis viewer access to the facility.", "Mark Ellis", "viewer"),
        ("let my brother tom approve stuff at the cabin", "tom", "operator"),
        ("Please change Linda's role to operator so she can approve actions.", "Linda", "operator"),
        ("set the role of olga to finance", "olga", "finance"),
        ("give <@80351110224678912> admin", "80351110224678912", "admin"),
        ("demote jake to read-only", "jake", "viewer"),
        ("make sam a manager", "sam", "manager"),
    ],
)
def test_role_changes_in_sentences(text: str, user: str, role: str) -> None:
    assert _read(text) == [("set_role", {"user_id": user, "role": role})]


@pytest.mark.parametrize(
    ("text", "user"),
    [
        ("Who is Ms. Keller and what permissions does she have?", "Keller"),
        ("who's @lee, what sites", "lee"),
        ("can jake approve stuff or not", "jake"),
        ("what role does olga have?", "olga"),
        ("what access does Priya have", "Priya"),
        ("who is U024BE7LH?", "U024BE7LH"),
        ("What is the role of Wanjiku?", "Wanjiku"),
        ("Tom's role?", "Tom"),
        ("what may Pieter do here?", "Pieter"),
    ],
)
def test_questions_about_a_person(text: str, user: str) -> None:
    assert _read(text) == [("who_is", {"user_id": user})]


@pytest.mark.parametrize(
    "text",
    [
        "Who is Mark, and please make him an operator.",
        "what is the role of Mark? make him operator",
        "what can Mark do? make him an operator",
    ],
)
def test_a_question_then_a_grant_for_the_same_person(text: str) -> None:
    assert _read(text) == [
        ("who_is", {"user_id": "Mark"}),
        ("set_role", {"user_id": "Mark", "role": "operator"}),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "set the battery floor to 40%",
        "make the miners stop",
        "give me the status",
        "who is on call",
        "can the generator run all night",
        "let me see the battery",
        "can you make me an admin",
    ],
)
def test_no_role_change_without_a_person_and_a_role(text: str) -> None:
    assert "set_role" not in [tool for tool, _ in _read(text)]


@pytest.mark.parametrize(
    ("text", "user", "role"),
    [
        ("give my landlord's agent Sam (sam_k) the manager role", "sam_k", "manager"),
        ("user jo_r should only see things, make her a viewer", "jo_r", "viewer"),
        ("our bookkeeper pat_w needs finance access", "pat_w", "finance"),
        ("grant x42 operator", "x42", "operator"),
        ("Could you make my nephew Ian (ian_b) an operator so he can help?", "ian_b", "operator"),
    ],
)
def test_chat_handles_in_sentences_are_the_person(text: str, user: str, role: str) -> None:
    assert _read(text) == [("set_role", {"user_id": user, "role": role})]


@pytest.mark.parametrize(
    ("text", "user"),
    [("whoami", "me"), ("who am i?", "me"), ("could you tell me who Dana is?", "Dana")],
)
def test_who_am_i_and_who_is_someone(text: str, user: str) -> None:
    assert _read(text) == [("who_is", {"user_id": user})]


def test_a_need_without_a_handle_is_no_grant() -> None:
    assert not [t for t, _ in _read("the manager needs the monthly report") if t == "set_role"]


@pytest.mark.parametrize("text", ["what can ya do for me", "so what can ye do?"])
def test_what_you_can_do_asks_the_bot_not_a_person(text: str) -> None:
    tools = [i.tool for i in plan(text, site_names=["demo", "barn", "home"]).intents]
    assert "who_is" not in tools


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a person named in passing, by a capitalised name, a title or a handle
        ("the new electrician Kwame needs operator, please", ("set_role", "Kwame", "operator")),
        ("our bookkeeper Ines, give her finance", ("set_role", "Ines", "finance")),
        ("the locum Dr. Nwosu gets operator, please.", ("set_role", "Nwosu", "operator")),
        ("Rosa (rosa_m) moves to viewer", ("set_role", "rosa_m", "viewer")),
        ("what can the plumber Dmitri see here?", ("who_is", "Dmitri", None)),
        ("Which sites Yusuf is allowed on?", ("who_is", "Yusuf", None)),
    ],
)
def test_a_person_named_in_passing(text: str, expected: tuple[str, str, str | None]) -> None:
    tool, user, role = expected
    read = _read(text)
    assert [t for t, _ in read] == [tool]
    assert read[0][1]["user_id"] == user
    if role is not None:
        assert read[0][1]["role"] == role


def test_a_capitalised_day_or_unit_is_no_person() -> None:
    read = _read("Monday Priya starts, make her a viewer")
    assert read[0][1]["user_id"] == "Priya"
