"""A pending approval outlives the process that asked for it."""

from __future__ import annotations

from pathlib import Path

from langchain_core.runnables import RunnableConfig

from tests.bot.helpers import EVENING, click, running_bot, say
from tools.clock import ManualClock


async def test_pending_approval_survives_restart(db_url: str, tmp_path: Path) -> None:
    clock = ManualClock(EVENING)
    async with running_bot(db_url=db_url, data_dir=tmp_path, clock=clock) as (app, chat, driver):
        await app.monitor.poll_once()
        result = await app.chat.handle_message(say("olga", "please stop the miners"))
        assert result.tools == ["stop_miners"]
        assert [a["status"] for a in result.actions] == ["pending"]
        action_id = result.actions[0]["id"]
        assert "approval" in result.answer
        assert [c["kind"] for c in result.cards] == ["action"]
        assert driver.commands == []
        config: RunnableConfig = {"configurable": {"thread_id": result.thread_id}}
        snapshot = await app.graph.aget_state(config)
        assert [i.value for t in snapshot.tasks for i in t.interrupts] == [{"action_id": action_id}]
        first_driver = driver

    # A new app instance: new process state, same database and checkpoints.
    async with running_bot(db_url=db_url, data_dir=tmp_path, clock=clock) as (app, chat, driver):
        await app.monitor.poll_once()
        reply = await app.chat.handle_click(click("ada", "approve", action_id))
        assert "Done and verified" in reply
        assert [c.target for c in driver.commands] == ["miner-1", "miner-2", "miner-3"]
        assert first_driver.commands == []
        assert driver.inner.state.loads_on == {
            "miner-1": False,
            "miner-2": False,
            "miner-3": False,
        }

        # The suspended conversation resumed and answered in its channel.
        resumed = [t for t in chat.texts() if "succeeded" in t]
        assert len(resumed) == 1
        assert resumed[0].startswith("Stop miner-1, miner-2, miner-3 at Demo home lab: succeeded")
        config = {"configurable": {"thread_id": "console:#demo:olga"}}
        snapshot = await app.graph.aget_state(config)
        assert not snapshot.next and not [i for t in snapshot.tasks for i in t.interrupts]

        # Nothing runs twice: a second click and a second resume change nothing.
        again = await app.chat.handle_click(click("olga", "approve", action_id))
        assert again.startswith("Already succeeded")
        assert await app.chat.resume(await app.actions.get(action_id)) is None
        assert len(driver.commands) == 3


async def test_conversation_continues_after_decision(db_url: str, tmp_path: Path) -> None:
    clock = ManualClock(EVENING)
    async with running_bot(db_url=db_url, data_dir=tmp_path, clock=clock) as (app, _chat, driver):
        await app.monitor.poll_once()
        asked = await app.chat.handle_message(say("olga", "turn off miner 2"))
        assert asked.actions and asked.actions[0]["kind"] == "stop_miners"
        reply = await app.chat.handle_click(click("olga", "reject", asked.actions[0]["id"]))
        assert reply == "Rejected by Olga."
        assert driver.commands == []
        # The same thread answers the next question normally.
        nxt = await app.chat.handle_message(say("olga", "how is the battery?"))
        assert nxt.tools == ["battery_status"]
        assert "Battery at" in nxt.answer
        assert nxt.actions == []
