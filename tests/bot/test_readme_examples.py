"""Every example question of the README's demo walkthrough, asked on the demo site: each
routes to the tool that answers it and gets a real answer (not an error, not "I did not
understand"), and the walkthrough's card is the one the demo shows."""

from __future__ import annotations

import re
from pathlib import Path

from bot.chat.console import render_card
from tests.bot.helpers import EVENING, run_minutes, running_bot, say
from tools.clock import ManualClock
from tools.site import demo_site_file

README = Path(__file__).resolve().parents[2] / "README.md"

# what each README question is about -> the tool that answers it
EXPECTED = {
    "status": ["site_status"],
    "how's the batery?": ["battery_status"],
    "solar right now": ["solar_now"],
    "will tomorrow be sunny?": ["solar_forecast"],
    "when will the battery run out?": ["battery_outlook"],
    "will the battery charge this week?": ["week_outlook"],
    "load tomorrow?": ["load_forecast"],
    "plan the miners": ["miner_plan"],
    "should I charge from the grid tonight?": ["grid_charge_advice"],
    "any alerts?": ["active_alerts"],
    "ack": ["acknowledge_alert"],
    "turn off miner 2": ["stop_miners"],
    "what does the stuck value alert mean?": ["search_knowledge"],
    "weekly report": ["energy_report"],
    "when should I run the generator tonight?": ["generator_plan"],
    "keep the battery above 45 %": ["set_preferences"],
    "what will this month cost?": ["cost_projection"],
    "status of all sites": ["compare_sites"],
    "what happened in the last hour?": ["timeline"],
    "anything unusual this week?": ["anomalies"],
    "help": [],
}


def readme_questions() -> list[str]:
    text = README.read_text(encoding="utf-8")
    start = text.index("Type questions in between:")
    end = text.index("Ctrl-C stops it.", start)
    return re.findall(r"`([^`]+)`", text[start:end].replace("\n", " "))


def test_the_readme_lists_the_questions_this_test_asks() -> None:
    assert readme_questions() == list(EXPECTED)


async def test_every_readme_question_gets_a_real_answer_on_the_demo_site(
    sqlite_url: str, tmp_path: Path
) -> None:
    clock = ManualClock(EVENING)
    async with running_bot(
        db_url=sqlite_url, data_dir=tmp_path, clock=clock, site_file=demo_site_file()
    ) as (app, _chat, driver):
        await run_minutes(app, clock, 20)  # the evening drain: an alert to acknowledge
        for question in readme_questions():
            result = await app.chat.handle_message(say("you", question))
            answer = result.answer
            assert result.tools == EXPECTED[question], (question, result.tools, answer)
            assert answer.strip(), question
            for bad in ("did not understand", "Traceback", "Refused", "Error"):
                assert bad not in answer, (question, answer)
        # the grid-charge answer on a site without a time-of-use tariff says what a
        # user can act on, not "No cheap window: pass one"
        advice = await app.chat.handle_message(say("you", "should I charge from the grid tonight?"))
        assert "No cheap window" not in advice.answer
        assert "flat price" in advice.answer and "grid_periods" in advice.answer
        # after "keep the battery above 45 %", a battery under it is said to be under it,
        # and the outlook starts from there (not "reaches the 45 % minimum around ...")
        outlook = await app.chat.handle_message(say("you", "when will the battery run out?"))
        soc = driver.inner.state.soc_pct
        assert soc is not None and soc < 45
        assert f"battery at {soc:.0f} % now, below the 45 % minimum" in outlook.answer, (
            outlook.answer
        )
        assert "reaches the 45 % minimum" not in outlook.answer


async def test_the_walkthrough_card_matches_the_demo(sqlite_url: str, tmp_path: Path) -> None:
    """The README shows the first alert card with its numbered buttons and says which
    number approves: the console renders that card with those buttons in that order."""
    text = README.read_text(encoding="utf-8")
    buttons_line = next(
        line.strip() for line in text.splitlines() if line.strip().startswith("[1] Acknowledge")
    )
    approve = re.search(r"Type `(\d)` to approve", text)
    assert approve is not None
    labels = dict(re.findall(r"\[(\d)\] ([^\[]+?)(?=\s{2,}\[|$)", buttons_line))
    assert labels[approve.group(1)] == "Stop miners"
    clock = ManualClock(EVENING)
    async with running_bot(
        db_url=sqlite_url, data_dir=tmp_path, clock=clock, site_file=demo_site_file()
    ) as (app, chat, _driver):
        for _ in range(10):
            await run_minutes(app, clock, 1)
            if chat.cards("alert"):
                break
        posted = chat.cards("alert")
        assert posted, "the demo's first minutes post an alert card"
        card = posted[0].card
        assert card is not None
        title_line = next(
            line.strip() for line in text.splitlines() if line.strip().startswith("[! ] Warning")
        )
        assert title_line.endswith(card.title.split(": ", 1)[1])
        # the first card on screen numbers its buttons from 1
        rendered = render_card(card, list(range(1, len(card.buttons) + 1)))
        assert buttons_line in rendered, rendered
