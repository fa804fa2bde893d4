"""Orders for one machine named by its number, through the running bot: a spoken number
or an ordinal is that load, and a number the site has no load for is refused with the
loads it has, never read as every miner."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from tests.bot.helpers import EVENING, running_bot, say
from tools.clock import ManualClock


async def _requests(app: object) -> list[tuple[str, str]]:
    async with app.sessionmaker() as session:  # type: ignore[attr-defined]
        rows = await session.execute(text("SELECT kind, params FROM action_requests"))
        return [(str(kind), str(params)) for kind, params in rows.all()]


@pytest.mark.parametrize(
    ("order", "named"),
    [
        ("switch off the second miner please", {"miner-2"}),
        ("stop miners 2-3", {"miner-2", "miner-3"}),
    ],
)
async def test_miners_named_by_number_are_those_miners(
    db_url: str, tmp_path: Path, order: str, named: set[str]
) -> None:
    clock = ManualClock(EVENING)
    async with running_bot(db_url=db_url, data_dir=tmp_path, clock=clock) as (app, _c, _d):
        await app.monitor.poll_once()
        await app.chat.handle_message(say("olga", order))
        made = await _requests(app)
        assert len(made) == 1, made
        kind, params = made[0]
        assert kind == "stop_miners"
        assert {m for m in ("miner-1", "miner-2", "miner-3") if m in params} == named


async def test_a_miner_the_site_does_not_have_is_refused(db_url: str, tmp_path: Path) -> None:
    clock = ManualClock(EVENING)
    async with running_bot(db_url=db_url, data_dir=tmp_path, clock=clock) as (app, _c, driver):
        await app.monitor.poll_once()
        for order in ("stop miner 7", "turn off rig 5", "stop the fifth miner"):
            answer = (await app.chat.handle_message(say("olga", order))).answer
            assert "known loads: miner-1, miner-2, miner-3" in answer, (order, answer)
        assert await _requests(app) == []
        assert driver.commands == []


async def test_a_count_of_miners_is_not_every_miner(db_url: str, tmp_path: Path) -> None:
    """'Stop one miner' at a site with three does not say which: it is refused with the
    loads to choose from, never read as all three (a range past the last is refused too)."""
    clock = ManualClock(EVENING)
    async with running_bot(db_url=db_url, data_dir=tmp_path, clock=clock) as (app, _c, driver):
        await app.monitor.poll_once()
        for order in ("stop one miner", "turn off two of the rigs", "stop miners 1-5"):
            answer = (await app.chat.handle_message(say("olga", order))).answer
            assert "known loads: miner-1, miner-2, miner-3" in answer, (order, answer)
        assert await _requests(app) == []
        assert driver.commands == []
