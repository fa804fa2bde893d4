"""Handling alerts from chat: acknowledge, snooze, silence, preferences (offline planner)."""

from __future__ import annotations

from pathlib import Path

from tests.bot.helpers import EVENING, click, run_minutes, running_bot, say
from tools.clock import ManualClock


async def _until_alert(app, chat, clock) -> int:  # type: ignore[no-untyped-def]
    for _ in range(240):
        await run_minutes(app, clock, 1)
        if chat.cards("alert"):
            break
    card = chat.cards("alert")[0].card
    assert card is not None
    return int(card.footer.split()[1])


async def test_acknowledge_and_snooze_from_chat_edit_the_card(
    sqlite_url: str, tmp_path: Path
) -> None:
    clock = ManualClock(EVENING)
    async with running_bot(db_url=sqlite_url, data_dir=tmp_path, clock=clock) as (app, chat, _d):
        alert_id = await _until_alert(app, chat, clock)

        refused = await app.chat.handle_message(say("vic", f"ack alert {alert_id}"))
        assert refused.tools == ["acknowledge_alert"]
        assert (
            "Your role is viewer: only admin, manager, operator may acknowledge" in refused.answer
        )
        assert (await app.alerts.get(alert_id)).status == "firing"  # type: ignore[union-attr]

        acked = await app.chat.handle_message(say("olga", "ack"))
        assert acked.answer.startswith(f"Acknowledged alert {alert_id}")
        card = chat.cards("alert")[0].card
        assert card is not None and dict(card.fields)["Acknowledged"].startswith("by Olga at")

        snoozed = await app.chat.handle_message(say("olga", f"snooze alert {alert_id} for 2h"))
        assert snoozed.tools == ["snooze_alert"]
        assert "until 2026-11-19 21:" in snoozed.answer  # local Denver time, 2 h later
        card = chat.cards("alert")[0].card
        assert card is not None and "Snoozed" in dict(card.fields)

        # A button press snoozes too: "<alert id>:<minutes>".
        reply = await app.chat.handle_click(click("ada", "snooze", f"{alert_id}:30"))
        assert reply == f"Snoozed alert {alert_id} for 30 min."
        assert len(chat.cards("alert")) == 1  # still one message, edited


async def test_silence_list_and_remove_from_chat(sqlite_url: str, tmp_path: Path) -> None:
    clock = ManualClock(EVENING)
    async with running_bot(db_url=sqlite_url, data_dir=tmp_path, clock=clock) as (app, chat, _d):
        alert_id = await _until_alert(app, chat, clock)
        preview = await app.chat.handle_message(
            say("olga", "what would silencing battery alerts match?")
        )
        assert f"alert {alert_id} " in preview.answer
        assert await app.alerts.list_silences() == []

        made = await app.chat.handle_message(
            say("olga", "silence battery alerts at the demo site for 2 days")
        )
        assert made.tools == ["silence_alerts"]
        assert 'site="demo" and category="battery"' in made.answer
        assert f"alert {alert_id} " in made.answer
        [silence] = await app.alerts.list_silences()
        assert (silence.ends_at - clock.now()).total_seconds() == 48 * 3600

        listed = await app.chat.handle_message(say("olga", "list silences"))
        assert listed.answer.startswith("Active silences:") and f"- {silence.id}:" in listed.answer

        removed = await app.chat.handle_message(say("olga", f"remove silence {silence.id}"))
        assert removed.answer.startswith(f"Removed silence {silence.id}")
        assert await app.alerts.list_silences() == []


async def test_channel_preferences_are_stored_and_obeyed(sqlite_url: str, tmp_path: Path) -> None:
    clock = ManualClock(EVENING)
    async with running_bot(db_url=sqlite_url, data_dir=tmp_path, clock=clock) as (app, chat, _d):
        answer = await app.chat.handle_message(say("olga", "only critical alerts here please"))
        assert answer.tools == ["set_alert_preferences"]
        assert answer.answer == "This channel now gets critical alerts only."
        quiet = await app.chat.handle_message(say("olga", "quiet hours 22:00-07:00"))
        assert "quiet hours 22:00–07:00" in quiet.answer
        prefs = await app.preferences.channel_prefs("#demo")
        assert prefs.critical_only and prefs.quiet_hours == ("22:00", "07:00")
        # The SOC warning is held back; only critical alerts reach this channel.
        for _ in range(30):
            await run_minutes(app, clock, 1)
        assert [p.card.title for p in chat.cards("alert") if p.card] == []
        assert any(
            why == "this channel asked for critical alerts only"
            for _id, why in app.notifier.held_back
        )


async def test_admins_manage_roles_in_chat(sqlite_url: str, tmp_path: Path) -> None:
    clock = ManualClock(EVENING)
    async with running_bot(db_url=sqlite_url, data_dir=tmp_path, clock=clock) as (app, _c, _d):
        refused = await app.chat.handle_message(say("olga", "make sam an operator"))
        assert refused.tools == ["set_role"]
        assert refused.answer == "Your role is operator: only admin may change roles."
        assert (await app.chat.actor("console", "sam")).role == "viewer"
        done = await app.chat.handle_message(say("ada", "make sam an operator"))
        assert done.answer.startswith("sam on console is now operator (was viewer)")
        assert (await app.chat.actor("console", "sam")).role == "operator"
