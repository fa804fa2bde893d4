"""Commands go the way their words say: a stop phrase never starts, a start phrase never
stops, and words that say both ways create no request (the planner says it is unsure)."""

from __future__ import annotations

import pytest

from graphs.assistant.planner import plan
from graphs.assistant.understanding import commands, routing

SITES = ["demo", "barn", "home"]
LOADS = ["miner-1", "miner-2", "miner-3"]

STOP_MINERS = [
    "stop the miners",
    "kill miner-2",
    "nuke the rigs",
    "curtail miner 2 and 3 now",
    "pull the plug on miner-1",
    "power down the miners",
    "shut off the rigs",
    "shut the bitcoin stuff off",
    "pause mining",
    "turn the miners off",
    "switch off miner-3",
    "please shut down the asics",
    "can you turn off the miners on barn",
    "I would like the miners shut down until further notice.",
    "stp miners",
    "put the miners to sleep",
    "take the rigs offline",
    "can you switch the mining rigs off",
    "please have the miners switched off",
    "de-energise the rigs",
    "Miners to be stopped immediately please.",
    "i need the miners off",
    "idle the antminers",  # no direction word: the classifier is sure and nothing says otherwise
    "we're not there this week so switch off the mining rigs",  # the order after "so"
]
START_MINERS = [
    "start the miners",
    "spin the rigs back up",
    "fire up the rigs",
    "bring the miners back",
    "resume mining",
    "back to hashing, all of em",
    "turn the miners back on",
    "switch miner-2 on",
    "power up miner-1",
    "restart the rigs",
    "strat miners",
    "please turn on the asics at home",
    "bring the rigs back online",
    "unpause the miners",
    "get the rigs hashing again",
    "can you arrange for the miners to be turned back on?",
    "get the rigs humming again",
    "the battery is full now, you can start the miners again please",
]
STOP_GENERATOR = [
    "stop the generator",
    "secure the generator",
    "Cut the group electrogen.",
    "kill the genny",
    "shut the genset down",
    "power off the generator",
    "turn off the diesel",
    "make sure the generator gets stopped",
    "stand the generator down",
    "Do switch the genny off, it's been running all morning.",
]
START_GENERATOR = [
    "start the generator",
    "fire up the genny",
    "turn the generator on",
    "crank up the genset",
    "kick the gen on",
    "Go ahead and get the genny running!",
    "arrange for the generator to be started",
    "I want the generator to be started",
    "Generator to be started at the earliest.",
    "we need the genny running now",
    "the genny needs to go on, fridge is on battery",
    "gen up pls",
    "could someone turn the genny on, it's getting dark and the battery is at 20",
]


def _tools(text: str) -> list[str]:
    return [i.tool for i in plan(text, site_names=SITES, load_names=LOADS).intents]


@pytest.mark.parametrize("text", STOP_MINERS)
def test_stop_phrases_stop_the_miners(text: str) -> None:
    assert _tools(text) == ["stop_miners"]


@pytest.mark.parametrize("text", START_MINERS)
def test_start_phrases_start_the_miners(text: str) -> None:
    assert _tools(text) == ["start_miners"]


@pytest.mark.parametrize("text", STOP_GENERATOR)
def test_stop_phrases_stop_the_generator(text: str) -> None:
    assert _tools(text) == ["stop_generator"]


@pytest.mark.parametrize("text", START_GENERATOR)
def test_start_phrases_start_the_generator(text: str) -> None:
    assert _tools(text) == ["start_generator"]


@pytest.mark.parametrize("text", STOP_MINERS + STOP_GENERATOR)
def test_no_stop_phrase_ever_starts_anything(text: str) -> None:
    assert not any(t.startswith("start_") for t in _tools(text))
    for family in ("miners", "generator"):
        assert commands.reading(text, family, LOADS).sure in ("stop", None)


@pytest.mark.parametrize("text", START_MINERS + START_GENERATOR)
def test_no_start_phrase_ever_stops_anything(text: str) -> None:
    assert not any(t.startswith("stop_") for t in _tools(text))


@pytest.mark.parametrize(
    ("text", "enabled"),
    [
        ("charge from the grid tonight", True),
        ("enable grid charging at barn", True),
        ("Please charge my battery from the mains tonight.", True),
        ("disable grid charging", False),
        ("turn grid charging off", False),
        ("stop charging from the grid", False),
        ("turn on charging from shore power", True),
        ("stop charging off the shore power", False),
    ],
)
def test_grid_charging_goes_the_way_the_words_say(text: str, enabled: bool) -> None:
    got = plan(text, site_names=SITES, load_names=LOADS).intents
    assert [i.tool for i in got] == ["set_grid_charge"]
    assert got[0].args["enabled"] is enabled


@pytest.mark.parametrize(
    "text",
    [
        "please arrange for the battery to be charged from the grid",
        "get the battery charged off the grid",  # "off the grid": from it
    ],
)
def test_a_grid_charge_arranged_turns_it_on(text: str) -> None:
    got = plan(text, site_names=SITES, load_names=LOADS).intents
    assert [(i.tool, i.args["enabled"]) for i in got] == [("set_grid_charge", True)]


def test_a_command_turned_the_wrong_way_is_turned_back() -> None:
    """The checker itself: a start request read from stop words becomes the stop."""
    assert commands.check("start_miners", {"site": None}, "pull the plug on miner-1", LOADS) == (
        "stop_miners",
        {"site": None},
    )
    assert commands.check("set_grid_charge", {"enabled": True}, "disable grid charging") == (
        "set_grid_charge",
        {"enabled": False},
    )


@pytest.mark.parametrize(
    "text",
    [
        "dont stop the miners",
        "stop the miners, no, start them",
        "stop the miners no wait start them",
        "don't turn off the generator",
    ],
)
def test_both_ways_or_negated_creates_no_request(text: str) -> None:
    got = plan(text, site_names=SITES, load_names=LOADS)
    assert not {i.tool for i in got.intents} & {
        "stop_miners",
        "start_miners",
        "stop_generator",
        "start_generator",
    }


def test_two_machines_two_directions() -> None:
    assert _tools("stop the genset and spin the rigs back up") == [
        "stop_generator",
        "start_miners",
    ]
    assert _tools("turn off the miners and the generator") == ["stop_miners", "stop_generator"]


def test_a_bare_machine_with_its_own_particle_goes_its_own_way() -> None:
    """ "... and the generator on" starts the generator; before, the "off" said before it
    was carried over and the card would have stopped it."""
    assert _tools("turn the miners off and the generator on") == [
        "stop_miners",
        "start_generator",
    ]
    assert _tools("switch off the genny and the miners") == ["stop_generator", "stop_miners"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "stop miner-1 and start miner-2",
            [("stop_miners", ["miner-1"]), ("start_miners", ["miner-2"])],
        ),
        (
            "turn miner-3 off and miner-1 on",
            [("stop_miners", ["miner-3"]), ("start_miners", ["miner-1"])],
        ),
        (
            "stop miner-1 and miner-2, start miner-3",
            [("stop_miners", ["miner-1", "miner-2"]), ("start_miners", ["miner-3"])],
        ),
        (
            "kill miner-2 and bring miner-3 back online",
            [("stop_miners", ["miner-2"]), ("start_miners", ["miner-3"])],
        ),
    ],
)
def test_one_miner_stopped_another_started_are_two_requests(
    text: str, expected: list[tuple[str, list[str]]]
) -> None:
    """Each command reads its direction in the parts that name its own miners."""
    got = plan(text, site_names=SITES, load_names=LOADS).intents
    assert [(i.tool, i.args["loads"]) for i in got] == expected


def test_one_miner_both_ways_is_still_unsure() -> None:
    for text in ("stop miner-1 and start it again", "start miner-1 but stop miner-2"):
        got = plan(text, site_names=SITES, load_names=LOADS).intents
        assert not {i.tool for i in got} & {"stop_miners", "start_miners"}, text


@pytest.mark.parametrize(
    "text",
    [
        "is miner-2 off?",
        "should i pull some rigs off tonight?",
        "the miners stopped",
        "did the generator start?",
        "miner 2 is making a weird noise",
        "start the miners every morning at 8",
        "shut up about the generator alerts for the weekend",
        "Run-hours remaining until the genset's next PM.",
        "shore power: should I plug in and charge from the grid tonight?",
        "do we need to stop the rigs and run the genny tonight?",
        "gen run hours this month?",
        "stop the miner warnings for tonight",
        "turn off the generator notifications",
    ],
)
def test_questions_and_reports_are_not_orders(text: str) -> None:
    assert commands.ordered(text, LOADS) == [] or "every" in text
    assert not set(_tools(text)) & {
        "stop_miners",
        "start_miners",
        "stop_generator",
        "start_generator",
    }


def test_a_command_with_no_direction_in_its_words_is_not_requested() -> None:
    """The readers may reach a command from a noun ("gen runs"): no direction, no request."""
    assert (
        commands.check("start_generator", {"site": None}, "any gen runs expected monday?") is None
    )
    assert commands.check("start_miners", {"site": None}, "miner-2 on barn", LOADS) == (
        "start_miners",
        {"site": None},
    )


def test_a_guess_for_a_machine_the_message_does_not_name_is_not_taken() -> None:
    got = plan("please turn the warnings back on", site_names=SITES, load_names=LOADS)
    assert not {i.tool for i in got.intents} & {"start_miners", "start_generator"}


@pytest.mark.parametrize(
    ("text", "tool"),
    [
        ("the generator is running, stop it", "stop_generator"),
        ("miner-2 is overheating, kill it", "stop_miners"),
        ("dont stop the miners, start them", "start_miners"),
    ],
)
def test_an_order_about_the_machine_named_before(text: str, tool: str) -> None:
    assert _tools(text) == [tool]


@pytest.mark.parametrize(
    ("text", "tools"),
    [
        ("rigs off genset on", ["stop_miners", "start_generator"]),
        ("gen off miners back on", ["stop_generator", "start_miners"]),
    ],
)
def test_two_machines_with_their_particles_and_no_comma(text: str, tools: list[str]) -> None:
    assert _tools(text) == tools


def test_a_machine_with_its_particle_inside_a_question_is_not_parted() -> None:
    assert not set(_tools("are the rigs on generator power?")) & {
        "stop_miners",
        "start_generator",
    }


@pytest.mark.parametrize(
    ("text", "sure"),
    [
        ("gen up pls", True),
        ("genny go", True),
        ("genny burn rate", False),  # a reading of the machine, however sure the classifier
        ("gen run hours", False),
        ("rig uptime", False),
    ],
)
def test_a_sure_order_without_direction_words_names_no_reading(text: str, sure: bool) -> None:
    tool = "start_miners" if "rig" in text else "start_generator"
    assert routing._sure_order(tool, tool, 0.99, text, LOADS) is sure


@pytest.mark.parametrize(
    ("text", "tools"),
    [
        ("rigs back up pls", ["start_miners"]),
        ("genset down please", ["stop_generator"]),
    ],
)
def test_up_and_down_with_a_word_that_presses_are_orders(text: str, tools: list[str]) -> None:
    assert _tools(text) == tools


@pytest.mark.parametrize("text", ["rigs back up, thanks", "genset down", "rigs back up?"])
def test_up_and_down_alone_are_told_or_asked(text: str) -> None:
    assert commands.ordered(text, LOADS) == []


@pytest.mark.parametrize(
    ("text", "tools"),
    [
        ("I'd be grateful if you could get the rigs going again", ["start_miners"]),
        ("We would really appreciate it if the genset could be shut down now", ["stop_generator"]),
    ],
)
def test_an_order_in_polite_words(text: str, tools: list[str]) -> None:
    assert _tools(text) == tools


@pytest.mark.parametrize(
    "text",
    [
        "I'd like to know if the rigs are running",
        "I'd be grateful if you could tell me whether the genset started",
    ],
)
def test_polite_questions_are_no_orders(text: str) -> None:
    assert not set(_tools(text)) & {"start_miners", "stop_miners", "start_generator"}


@pytest.mark.parametrize(
    ("text", "tools"),
    [
        ("grid charging tonight or nah", ["grid_charge_advice"]),
        ("fire up the genset, yes or no", ["generator_plan"]),
        ("rigs on or nah", ["miner_plan"]),
    ],
)
def test_an_order_asked_yes_or_no_is_whether_to(text: str, tools: list[str]) -> None:
    assert _tools(text) == tools
