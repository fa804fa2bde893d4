"""Acknowledging or snoozing thousands of alerts in one click is set-based: a bounded
number of SQL statements (one UPDATE per batch, audit rows in bulk, the shared card
edited once), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, insert, select

from storage.models import AlertRow, AuditRow
from tests.bot.helpers import EVENING, click, running_bot
from tools.clock import ManualClock

COUNT = 10_000
GROUP = {"platform": "console", "channel": "#demo", "ref": "group-1"}
GROUP_KEY = "console:#demo:group-1"


class StatementCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, *_args: Any, **_kw: Any) -> None:
        self.count += 1


async def _seed(app: Any, *, status: str = "firing") -> list[int]:
    now = EVENING
    rows = [
        {
            "site": "demo",
            "fingerprint": f"demo:bulk-{i}",
            "rule": f"bulk-{i}",
            "severity": "warning",
            "status": status,
            "title": f"Bulk alert {i}",
            "summary": "seeded",
            "started_at": now,
            "updated_at": now,
            "fired_at": now,
            "message": GROUP,
            "message_key": GROUP_KEY,
        }
        for i in range(COUNT)
    ]
    async with app.sessionmaker() as session, session.begin():
        await session.execute(insert(AlertRow), rows)
        ids = (await session.scalars(select(AlertRow.id).order_by(AlertRow.id))).all()
    return list(ids)


async def test_ten_thousand_alerts_acknowledged_in_one_click(db_url: str, tmp_path: Path) -> None:
    clock = ManualClock(EVENING)
    async with running_bot(db_url=db_url, data_dir=tmp_path, clock=clock) as (app, chat, _d):
        ids = await _seed(app)
        # one already acknowledged, one unknown id: reported, not fatal
        await app.alerts.acknowledge(alert_id=ids[0], actor="Ada")
        counter = StatementCounter()
        event.listen(app.engine.sync_engine, "before_cursor_execute", counter)
        try:
            value = ",".join(str(i) for i in [*ids, 99_999_999])
            reply = await app.chat.handle_click(click("olga", "ack", value))
        finally:
            event.remove(app.engine.sync_engine, "before_cursor_execute", counter)
        assert reply.startswith(f"Acknowledged {COUNT - 1} alerts ({ids[1]}, {ids[2]},")
        assert reply.endswith(f"alerts {ids[0]}, 99999999 unchanged (unknown, or no longer open).")
        # Set-based: a few statements per batch of 1000, never one per alert.
        assert counter.count < 200, counter.count
        async with app.sessionmaker() as session:
            statuses = dict(
                (
                    await session.execute(
                        select(AlertRow.status, func.count()).group_by(AlertRow.status)
                    )
                ).all()
            )
            audits = await session.scalar(
                select(func.count())
                .select_from(AuditRow)
                .where(AuditRow.event == "alert_acknowledged")
            )
        assert statuses == {"acknowledged": COUNT}
        assert audits == COUNT  # one audit row per alert, the earlier single one included
        # The shared group card was edited once for the whole click.
        [group] = chat.cards("alert_group")  # (posted anew: another process posted it)
        assert group.card is not None and group.history == []
        assert "Acknowledge all" not in [b.label for b in group.card.buttons]


async def test_a_bulk_snooze_is_set_based_too(db_url: str, tmp_path: Path) -> None:
    clock = ManualClock(EVENING)
    async with running_bot(db_url=db_url, data_dir=tmp_path, clock=clock) as (app, _chat, _d):
        ids = await _seed(app)
        until = clock.now() + timedelta(minutes=30)
        counter = StatementCounter()
        event.listen(app.engine.sync_engine, "before_cursor_execute", counter)
        try:
            events = await app.alerts.snooze_many(alert_ids=ids, actor="Olga", until=until)
        finally:
            event.remove(app.engine.sync_engine, "before_cursor_execute", counter)
        assert len(events) == COUNT and all(e.alert.status == "snoozed" for e in events)
        assert all(e.alert.snoozed_until == until for e in events)
        assert counter.count < 100, counter.count
        # Snoozing again is a no-op for none of them (snoozed may be re-snoozed), and an
        # acknowledge after that moves them all in one go.
        acked = await app.alerts.acknowledge_many(alert_ids=ids[:10], actor="Olga")
        assert [e.alert.id for e in acked] == ids[:10]


async def test_ten_thousand_snoozes_ending_together_wake_in_a_few_statements(
    db_url: str, tmp_path: Path
) -> None:
    clock = ManualClock(EVENING)
    async with running_bot(db_url=db_url, data_dir=tmp_path, clock=clock) as (app, _chat, _d):
        ids = await _seed(app)
        await app.alerts.snooze_many(
            alert_ids=ids, actor="Olga", until=clock.now() + timedelta(minutes=10)
        )
        clock.advance(timedelta(minutes=11))
        counter = StatementCounter()
        event.listen(app.engine.sync_engine, "before_cursor_execute", counter)
        try:
            events = await app.alerts.tick()
        finally:
            event.remove(app.engine.sync_engine, "before_cursor_execute", counter)
        assert sorted(e.alert.id for e in events if e.kind == "unsnoozed") == ids
        assert all(e.alert.status == "firing" for e in events if e.kind == "unsnoozed")
        assert counter.count < 100, counter.count
