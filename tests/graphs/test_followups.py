"""Multi-turn follow-ups on the offline planner: each kind keeps the previous question."""

from __future__ import annotations

from pathlib import Path

from bot.chat.base import InboundMessage
from graphs.assistant import planner
from tests.bot.helpers import EVENING, running_bot, say
from tests.bot.helpers import test_site_file as base_site_file
from tools.clock import ManualClock
from tools.site import Channels, SiteFile


def two_sites() -> SiteFile:
    base = base_site_file()
    home = base.sites[0]
    barn = home.model_copy(
        update={"name": "barn", "title": "Barn", "channels": Channels(console="#barn")}
    )
    return base.model_copy(update={"sites": [home, barn]})


async def test_follow_ups_keep_the_question_and_change_what_they_name(
    sqlite_url: str, tmp_path: Path
) -> None:
    clock = ManualClock(EVENING)
    files = two_sites()
    home = files.sites[0].name
    async with running_bot(db_url=sqlite_url, data_dir=tmp_path, clock=clock, site_file=files) as (
        app,
        _c,
        _d,
    ):
        await app.monitor.poll_once()

        async def ask(text: str) -> tuple[list[str], str]:
            result = await app.chat.handle_message(say("olga", text), site=home)
            return result.tools, result.answer

        tools, _ = await ask("solar forecast for today")
        assert tools == ["solar_forecast"]
        tools, answer = await ask("and tomorrow?")  # another day
        assert tools == ["solar_forecast"]
        assert "tomorrow" in answer.lower()

        tools, _ = await ask("how is the battery?")
        assert tools == ["battery_status"]
        tools, answer = await ask("what about the barn?")  # another site
        assert tools == ["battery_status"]
        assert "Barn" in answer

        tools, _ = await ask("weekly report")
        assert tools == ["energy_report"]
        tools, answer = await ask("and last month?")  # another period
        assert tools == ["energy_report"]
        assert "October 2026" in answer  # last month of the clock's November


async def test_a_follow_up_never_repeats_a_command(sqlite_url: str, tmp_path: Path) -> None:
    clock = ManualClock(EVENING)
    files = two_sites()
    async with running_bot(db_url=sqlite_url, data_dir=tmp_path, clock=clock, site_file=files) as (
        app,
        _c,
        _d,
    ):
        first = await app.chat.handle_message(say("olga", "stop the miners"), site="demo")
        assert first.tools == ["stop_miners"]
        again = await app.chat.handle_message(say("olga", "what about the barn?"), site="demo")
        assert "stop_miners" not in again.tools
        assert again.actions == []


async def test_more_gives_the_breakdown_of_the_previous_answer(
    sqlite_url: str, tmp_path: Path
) -> None:
    clock = ManualClock(EVENING)
    files = two_sites()
    home = files.sites[0]
    async with running_bot(db_url=sqlite_url, data_dir=tmp_path, clock=clock, site_file=files) as (
        app,
        _c,
        _d,
    ):
        await app.monitor.poll_once()
        # Nothing asked yet in this conversation: "more" says so (it used to be guessed at
        # as a question of its own and answered with a comparison of two months).
        alone = await app.chat.handle_message(say("ada", "more"), site=home.name)
        assert alone.tools == [] and alone.answer.startswith("There is no earlier answer")

        status = await app.chat.handle_message(say("olga", "how is the site?"), site=home.name)
        assert status.tools == ["site_status"]
        first, *rest = status.answer.splitlines()
        assert first.startswith(f"{home.display_name}: Battery at "), status.answer
        assert len(rest) <= 4 and rest[-1] == "Say 'more' for the breakdown."
        assert "last reading" not in status.answer  # the breakdown waits for "more"

        more = await app.chat.handle_message(say("olga", "more"), site=home.name)
        assert more.tools == [] and more.actions == []  # answered from the stored details
        assert more.answer.startswith(f"{home.display_name} in detail:"), more.answer
        for device in home.devices:  # every device of the site, with its last reading
            assert f"- {device.name} ({device.driver}): last reading " in more.answer
        assert f"floor {home.battery.min_soc_pct:g} %" in more.answer  # type: ignore[union-attr]

        # Other words for it give the same breakdown; a new question moves on.
        again = await app.chat.handle_message(say("olga", "tell me more"), site=home.name)
        assert again.answer == more.answer
        barn = await app.chat.handle_message(say("olga", "what about the barn?"), site=home.name)
        assert barn.tools == ["site_status"] and "Barn" in barn.answer
        barn_more = await app.chat.handle_message(say("olga", "details"), site=home.name)
        assert barn_more.answer.startswith("Barn in detail:"), barn_more.answer


async def test_why_gives_the_reasons_behind_the_previous_answer(
    sqlite_url: str, tmp_path: Path
) -> None:
    clock = ManualClock(EVENING)
    files = two_sites()
    home = files.sites[0]
    assert home.battery is not None
    async with running_bot(db_url=sqlite_url, data_dir=tmp_path, clock=clock, site_file=files) as (
        app,
        _c,
        _d,
    ):
        await app.monitor.poll_once()
        plan = await app.chat.handle_message(say("olga", "generator plan"), site=home.name)
        assert plan.tools == ["generator_plan"]
        soc = app.toolbox.state(home.name).get("battery_soc_pct")
        assert soc is not None

        why = await app.chat.handle_message(say("olga", "why?"), site=home.name)
        assert why.tools == []  # not a new question (alone, "why?" asks for the alerts)
        assert why.answer.startswith(f"Why: the battery is at {soc:.0f} % and over the next"), (
            why.answer
        )
        assert f"the {home.battery.min_soc_pct:g} % floor plus" in why.answer
        assert "simple start/stop rule would burn" in why.answer
        # "why?" after "more" still explains the answer before.
        await app.chat.handle_message(say("olga", "more"), site=home.name)
        again = await app.chat.handle_message(say("olga", "how come"), site=home.name)
        assert again.answer == why.answer

        # A refusal: the reasons say who is asking and what they may do.
        refused = await app.chat.handle_message(say("vic", "stop the miners"), site=home.name)
        assert refused.actions == []
        because = await app.chat.handle_message(say("vic", "why is that?"), site=home.name)
        assert because.tools == []
        assert "refused" in because.answer and "you are viewer" in because.answer, because.answer


def test_more_and_why_are_told_apart_from_new_questions() -> None:
    for text in ("more", "More please", "tell me more", "details", "the breakdown", "full report"):
        assert planner.detail_request(text) == "more", text
    for text in ("why?", "Why is that?", "how come", "explain", "ok, why?", "what's the reason"):
        assert planner.detail_request(text) == "why", text
    for text in (
        "why is the battery low?",
        "more solar tomorrow?",
        "explain the generator plan",
        "stop the miners",
        "",
    ):
        assert planner.detail_request(text) is None, text


async def test_more_in_a_shared_thread_is_only_for_the_person_answered(
    sqlite_url: str, tmp_path: Path
) -> None:
    clock = ManualClock(EVENING)
    async with running_bot(db_url=sqlite_url, data_dir=tmp_path, clock=clock) as (app, _c, _d):
        await app.monitor.poll_once()

        def in_thread(user: str, text: str) -> InboundMessage:
            return InboundMessage(
                platform="console", user_id=user, channel="#demo", text=text, thread="t1"
            )

        asked = await app.chat.handle_message(in_thread("olga", "how is the site?"))
        assert asked.tools == ["site_status"]
        other = await app.chat.handle_message(in_thread("vic", "more"))
        assert other.tools == []
        assert other.answer.startswith("That answer was for olga"), other.answer
        assert "last reading" not in other.answer
        own = await app.chat.handle_message(in_thread("olga", "more"))
        assert "last reading" in own.answer, own.answer
