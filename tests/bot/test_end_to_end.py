"""The whole loop through every layer, on SQLite and on real PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from storage import repositories as repo
from tests.bot.helpers import EVENING, click, run_minutes, running_bot
from tools.clock import ManualClock


async def test_battery_drains_alert_operator_approves_miners_stop(
    db_url: str, tmp_path: Path
) -> None:
    clock = ManualClock(EVENING)
    async with running_bot(db_url=db_url, data_dir=tmp_path, clock=clock) as (app, chat, driver):
        await app.monitor.poll_once()
        assert chat.cards("alert") == [], "a battery at 44 % must not alert yet"

        # The battery drains below 40 % with three miners on: one warning card.
        for _ in range(180):
            await run_minutes(app, clock, 1)
            if chat.cards("alert"):
                break
        posted = chat.cards("alert")
        assert len(posted) == 1
        card = posted[0].card
        assert card is not None
        assert card.title.startswith("Warning: Battery low")
        assert "Miners running: miner-1, miner-2, miner-3" in card.text
        approve = [b for b in card.buttons if b.action == "approve"]
        assert [b.label for b in approve] == ["Stop miners"]
        assert {b.action for b in card.buttons} == {"ack", "snooze", "approve", "reject"}

        # The condition stays true for a while: still one card (dedup by fingerprint).
        await run_minutes(app, clock, 5)
        assert len(chat.cards("alert")) == 1
        assert driver.commands == [], "nothing touches hardware before approval"

        load_before = app.pipeline.latest("demo").get("load_power_w")
        reply = await app.chat.handle_click(click("olga", "approve", approve[0].value))
        assert "Done and verified" in reply

        # The relays are off in the simulator and in the read-back telemetry.
        assert driver.inner.state.loads_on == {"miner-1": False, "miner-2": False, "miner-3": False}
        assert len(driver.commands) == 3
        await run_minutes(app, clock, 1)
        load_after = app.pipeline.latest("demo").get("load_power_w")
        assert load_before is not None and load_after is not None
        assert load_after < load_before - 4000

        # The same card was edited in place to show the decision and outcome.
        assert len(chat.cards("alert")) == 1
        edited = chat.cards("alert")[0].card
        assert edited is not None
        fields = dict(edited.fields)
        assert fields["Status"] == "Done"
        assert fields["Decided by"].startswith("Olga at ")
        assert "verified" in fields["Outcome"]
        assert not [b for b in edited.buttons if b.action in ("approve", "reject")]

        action = await app.actions.get(approve[0].value)
        assert action.status == "succeeded"
        async with app.sessionmaker() as session, session.begin():
            audit = await repo.list_audit(session, action_id=action.id)
        assert [a.event for a in audit] == [
            "action_requested",
            "action_approved",
            "action_succeeded",
        ]
        assert audit[1].actor == "console:olga"


async def test_alert_resolves_and_card_is_edited(db_url: str, tmp_path: Path) -> None:
    clock = ManualClock(EVENING)
    async with running_bot(db_url=db_url, data_dir=tmp_path, clock=clock) as (app, chat, _driver):
        for _ in range(180):
            await run_minutes(app, clock, 1)
            if chat.cards("alert"):
                break
        alert_id = int(chat.cards("alert")[0].card.footer.split()[1])  # type: ignore[union-attr]
        assert "Acknowledged" in await app.chat.handle_click(click("olga", "ack", str(alert_id)))
        # An admin approves grid charging; the battery recovers above the threshold.
        grid = await app.actions.request(
            site="demo", kind="grid_charge_on", requested_by="console:ada"
        )
        await app.chat.handle_click(click("ada", "approve", grid.id))
        await run_minutes(app, clock, 240)
        posted = chat.cards("alert")
        assert len(posted) == 1
        final = posted[0].card
        assert final is not None
        assert final.title.startswith("Resolved:")
        assert "Resolved" in dict(final.fields)
        assert [c.title.split(":")[0] for c in posted[0].history][:2] == ["Warning", "Warning"]
        alert = await app.alerts.get(alert_id)
        assert alert is not None and alert.status == "resolved"
        assert alert.acknowledged_by == "Olga"
