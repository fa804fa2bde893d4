"""The alert lifecycle on a fake clock: pending, firing, snooze, reminders, escalation,
silences, grouping and the posting rate — through the engine and the notifier."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.chat.base import Adapters
from bot.chat.memory import MemoryAdapter
from bot.locks import leader
from bot.notifier import ChannelLimiter, Notifier
from storage import repositories as repo
from storage.engine import create_engine, create_sessionmaker
from tools.actions.service import ActionService
from tools.alerts.context import RuleContext, RuleSpec, Verdict
from tools.alerts.engine import AlertEngine, AlertEvent
from tools.alerts.silences import Matcher
from tools.clock import ManualClock
from tools.site import AlertThresholds, SiteFile, demo_site_file
from tools.telemetry import SiteState

T0 = datetime(2026, 5, 4, 18, 0, tzinfo=UTC)


def level_rule(name: str, *, category: str = "load", for_s: float | None = None) -> RuleSpec:
    """A rule active while the state's ``temp_c`` of device ``name`` is above 50 (critical
    above 80)."""

    def fn(ctx: RuleContext) -> list[Verdict]:
        value = ctx.state.get("temp_c", name)
        if value is None:
            return []
        return [
            Verdict(
                rule=name,
                active=value > 50,
                severity="critical" if value > 80 else "warning",
                title=f"{name} hot",
                summary=f"{name} at {value:g} °C",
                value=value,
                for_s=for_s,
            )
        ]

    return RuleSpec(name=name, category=category, fn=fn)  # type: ignore[arg-type]


def set_temp(state: SiteState, name: str, value: float, when: datetime) -> None:
    from tools.domain import Reading

    state.update(Reading(site="demo", metric="temp_c", time=when, value=value, device=name))


@dataclass
class Rig:
    clock: ManualClock
    engine: AlertEngine
    notifier: Notifier
    chat: MemoryAdapter
    state: SiteState
    sessionmaker: async_sessionmaker[AsyncSession]
    db: AsyncEngine

    async def run(self) -> list[AlertEvent]:
        events = await self.engine.evaluate("demo", self.state)
        for event in events:
            await self.notifier.on_alert_event(event)
        await self.notifier.flush_due()
        return events

    async def tick(self) -> list[AlertEvent]:
        events = await self.engine.tick()
        for event in events:
            await self.notifier.on_alert_event(event)
        await self.notifier.flush_due()
        return events


def _sites(**thresholds: object) -> SiteFile:
    demo = demo_site_file()
    site = demo.sites[0]
    alerts = AlertThresholds.model_validate(site.alerts.model_dump() | thresholds)
    return demo.model_copy(update={"sites": [site.model_copy(update={"alerts": alerts})]})


@pytest.fixture
async def rig(engine: AsyncEngine) -> AsyncIterator[Rig]:
    db = engine  # migrated, and disposed after the test, by the fixture
    sessionmaker = create_sessionmaker(db)
    clock = ManualClock(T0)
    site_file = _sites(group_wait_s=30, group_interval_s=0, escalate_to="#ops")
    sites = {s.name: s for s in site_file.sites}
    async with sessionmaker() as session, session.begin():
        await repo.upsert_site(session, name="demo", title="", timezone="UTC", now=T0)
    rules = [
        level_rule("pump"),
        level_rule("fan"),
        level_rule("heater"),
        level_rule("slow", for_s=300),
    ]
    alerts = AlertEngine(sessionmaker=sessionmaker, sites=sites, clock=clock, rules=rules)
    actions = ActionService(
        sessionmaker=sessionmaker,
        sites=sites,
        drivers={},
        clock=clock,
        state=lambda _s: SiteState("demo"),
    )
    chat = MemoryAdapter()
    notifier = Notifier(
        adapters=Adapters([chat]),
        sites=sites,
        alerts=alerts,
        actions=actions,
        clock=clock,
        limiter=ChannelLimiter(0.0),
    )
    yield Rig(clock, alerts, notifier, chat, SiteState("demo"), sessionmaker, db)


async def test_pending_until_the_for_time_then_firing(rig: Rig) -> None:
    set_temp(rig.state, "slow", 60, T0)
    assert await rig.run() == []  # pending: nothing to tell anyone yet
    rig.clock.advance(timedelta(minutes=4))
    assert await rig.run() == []
    assert await rig.engine.open_alerts() == []  # pending alerts are not shown
    rig.clock.advance(timedelta(minutes=1))
    events = await rig.run()
    assert [e.kind for e in events] == ["fired"]
    assert events[0].alert.fired_at == T0 + timedelta(minutes=5)


async def test_a_condition_that_clears_while_pending_is_never_notified(rig: Rig) -> None:
    set_temp(rig.state, "slow", 60, T0)
    await rig.run()
    rig.clock.advance(timedelta(minutes=2))
    set_temp(rig.state, "slow", 40, rig.clock.now())
    assert await rig.run() == []
    rig.clock.advance(timedelta(minutes=10))
    set_temp(rig.state, "slow", 60, rig.clock.now())
    assert await rig.run() == []  # a fresh pending period starts
    assert rig.chat.messages == {}


async def test_the_same_alert_a_hundred_times_is_one_message_edited_on_resolve(rig: Rig) -> None:
    for i in range(100):
        set_temp(rig.state, "pump", 60 + (i % 5), rig.clock.now())
        await rig.run()
        rig.clock.advance(timedelta(seconds=1))
    assert len(rig.chat.cards()) == 1
    set_temp(rig.state, "pump", 20, rig.clock.now())
    events = await rig.run()
    assert [e.kind for e in events] == ["resolved"]
    [posted] = rig.chat.cards()
    assert posted.card is not None and posted.card.title == "Resolved: pump hot"
    assert "after 2 min" in dict(posted.card.fields)["Resolved"]


async def test_snooze_ends_by_itself_and_reminders_stop_after_ack(rig: Rig) -> None:
    set_temp(rig.state, "pump", 60, T0)
    [fired] = await rig.run()
    rig.clock.advance(timedelta(seconds=31))
    await rig.notifier.flush_due()
    snoozed = await rig.engine.snooze(
        alert_id=fired.alert.id, actor="Olga", until=rig.clock.now() + timedelta(hours=1)
    )
    assert snoozed is not None and snoozed.alert.status == "snoozed"
    await rig.notifier.on_alert_event(snoozed)
    card = rig.chat.cards()[0].card
    assert card is not None and dict(card.fields)["Snoozed"].startswith(
        "until 2026-05-04 13:00 MDT"
    )
    rig.clock.advance(timedelta(minutes=59))
    assert await rig.tick() == []
    rig.clock.advance(timedelta(minutes=2))
    assert [e.kind for e in await rig.tick()] == ["unsnoozed"]
    # Firing and unacknowledged: a reminder every repeat interval (default 4 h).
    rig.clock.advance(timedelta(hours=4))
    assert [e.kind for e in await rig.tick()] == ["reminder"]
    assert any(t.startswith("Reminder: still firing") for t in rig.chat.texts())
    acked = await rig.engine.acknowledge(alert_id=fired.alert.id, actor="Olga")
    assert acked is not None
    rig.clock.advance(timedelta(hours=5))
    assert await rig.tick() == []


async def test_unacknowledged_critical_alert_escalates_once(rig: Rig) -> None:
    set_temp(rig.state, "heater", 90, T0)
    [fired] = await rig.run()
    assert fired.alert.severity == "critical"
    assert len(rig.chat.cards()) == 1  # critical: posted at once, no group wait
    rig.clock.advance(timedelta(minutes=29))
    assert await rig.tick() == []
    rig.clock.advance(timedelta(minutes=2))
    assert [e.kind for e in await rig.tick()] == ["escalation"]
    escalated = [p for p in rig.chat.messages.values() if p.channel == "#ops"]
    assert len(escalated) == 1 and "unacknowledged for 30 min" in escalated[0].text
    rig.clock.advance(timedelta(minutes=30))
    assert "escalation" not in [e.kind for e in await rig.tick()]


async def test_a_burst_folds_into_one_grouped_message(rig: Rig) -> None:
    for name in ("pump", "fan"):
        set_temp(rig.state, name, 60, T0)
    await rig.run()
    assert rig.chat.cards() == []  # waiting for the group
    rig.clock.advance(timedelta(seconds=10))
    set_temp(rig.state, "heater", 60, rig.clock.now())
    await rig.run()
    rig.clock.advance(timedelta(seconds=25))
    await rig.notifier.flush_due()
    [group] = rig.chat.cards()
    assert group.card is not None and group.card.kind == "alert_group"
    assert group.card.title == "3 alerts at Demo home lab"
    ack_all = [b for b in group.card.buttons if b.action == "ack"]
    assert len(ack_all) == 1 and len(ack_all[0].value.split(",")) == 3
    # One of them resolves: the same message is edited.
    set_temp(rig.state, "fan", 10, rig.clock.now())
    await rig.run()
    assert len(rig.chat.cards()) == 1
    edited = rig.chat.cards()[0].card
    assert edited is not None and edited.title == "2 of 3 alerts open at Demo home lab"


async def test_silences_mute_persist_across_restart_and_can_be_removed(rig: Rig) -> None:
    silence = await rig.engine.add_silence(
        matchers=[Matcher("site", "=", "demo"), Matcher("category", "=", "load")],
        ends_at=T0 + timedelta(days=2),
        created_by="Olga",
    )
    set_temp(rig.state, "pump", 60, T0)
    [event] = await rig.run()
    assert event.silenced
    rig.clock.advance(timedelta(minutes=5))
    await rig.notifier.flush_due()
    assert rig.chat.cards() == []
    assert (event.alert.id, "silenced") in rig.notifier.held_back
    # A new engine (a restart) still knows the silence.
    fresh = AlertEngine(
        sessionmaker=rig.sessionmaker,
        sites={"demo": demo_site_file().sites[0]},
        clock=rig.clock,
    )
    [kept] = await fresh.list_silences()
    assert kept.id == silence.id and kept.describe() == 'site="demo" and category="load"'
    preview = await fresh.preview_silence([Matcher("category", "=", "load")])
    assert [a.id for a in preview] == [event.alert.id]
    await fresh.remove_silence(silence_id=silence.id, removed_by="Ada")
    events = await rig.tick()
    assert [e.kind for e in events] == ["unsilenced"]
    assert len(rig.chat.cards()) == 1


async def test_channel_preferences_hold_back_non_critical(rig: Rig) -> None:
    from tools.preferences import ChannelPrefs

    async def quiet(_channel: str) -> ChannelPrefs:
        return ChannelPrefs(quiet_hours=("11:00", "13:00"))

    rig.notifier._prefs = quiet  # the channel asked for quiet evenings
    set_temp(rig.state, "pump", 60, T0)  # 12:00 at the demo site (America/Denver)
    set_temp(rig.state, "heater", 95, T0)
    await rig.run()
    rig.clock.advance(timedelta(minutes=1))
    await rig.notifier.flush_due()
    titles = [p.card.title for p in rig.chat.cards() if p.card is not None]
    assert titles == ["CRITICAL: heater hot"]


async def test_posts_to_one_channel_are_spaced(rig: Rig) -> None:
    limiter = ChannelLimiter(0.2)
    stamps: list[float] = []
    for _ in range(5):
        await limiter.wait("#demo")
        stamps.append(time.monotonic())
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert min(gaps) >= 0.19
    # Another channel is not held up: with a minute between posts to #demo, a post to
    # #other still goes at once (no upper bound on timing a busy machine could break).
    slow = ChannelLimiter(60.0)
    await slow.wait("#demo")
    await asyncio.wait_for(slow.wait("#other"), 30)


@pytest.mark.postgres
async def test_only_one_worker_runs_the_periodic_evaluation(postgres_url: str) -> None:
    first = create_engine(postgres_url)
    second = create_engine(postgres_url)
    try:
        async with leader(first, "alerts:periodic") as mine:
            assert mine
            async with leader(second, "alerts:periodic") as theirs:
                assert not theirs
        async with leader(second, "alerts:periodic") as theirs:
            assert theirs  # released when the first finished
    finally:
        await first.dispose()
        await second.dispose()
