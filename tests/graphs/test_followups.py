"""Multi-turn follow-ups on the offline planner: each kind keeps the previous question."""

from __future__ import annotations

from pathlib import Path

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
