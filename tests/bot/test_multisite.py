"""Several sites: the channel's site, a site named in the question, or a question back."""

from __future__ import annotations

from pathlib import Path

from tests.bot.helpers import EVENING, running_bot, say
from tests.bot.helpers import test_site_file as base_site_file
from tools.clock import ManualClock
from tools.site import Channels, SiteFile


def two_sites() -> SiteFile:
    base = base_site_file()
    demo = base.sites[0]
    barn = demo.model_copy(
        update={"name": "barn", "title": "Barn", "channels": Channels(console="#barn")}
    )
    return base.model_copy(update={"sites": [demo, barn]})


async def test_an_unclear_site_is_asked_back_and_the_question_answered(
    sqlite_url: str, tmp_path: Path
) -> None:
    clock = ManualClock(EVENING)
    async with running_bot(
        db_url=sqlite_url, data_dir=tmp_path, clock=clock, site_file=two_sites()
    ) as (app, chat, _d):
        await app.monitor.poll_once()
        asked = await app.chat.handle_message(say("olga", "how is the battery?", channel="#ops"))
        assert asked.tools == []
        assert asked.answer.startswith("Which site do you mean: demo or barn?")
        assert chat.texts()[-1] == asked.answer
        answered = await app.chat.handle_message(say("olga", "the barn", channel="#ops"))
        assert answered.tools == ["battery_status"]
        assert "No readings have arrived" in answered.answer  # barn has no driver in this test
        # A question that names its site, or one in a site's channel, is answered at once.
        named = await app.chat.handle_message(say("olga", "battery at demo?", channel="#ops"))
        assert named.tools == ["battery_status"] and "Battery at" in named.answer
        in_channel = await app.chat.handle_message(say("olga", "battery?", channel="#barn"))
        assert in_channel.tools == ["battery_status"]
        assert "No readings have arrived" in in_channel.answer
        # Questions that are not about a site are not held up.
        prefs = await app.chat.handle_message(say("olga", "quiet hours 22:00-07:00", "#ops"))
        assert prefs.tools == ["set_alert_preferences"]


async def test_a_reply_that_names_no_site_is_a_new_question(
    sqlite_url: str, tmp_path: Path
) -> None:
    clock = ManualClock(EVENING)
    async with running_bot(
        db_url=sqlite_url, data_dir=tmp_path, clock=clock, site_file=two_sites()
    ) as (app, _chat, _d):
        await app.chat.handle_message(say("olga", "any alerts?", channel="#ops"))
        again = await app.chat.handle_message(say("olga", "solar forecast", channel="#ops"))
        assert again.answer.startswith("Which site do you mean")
