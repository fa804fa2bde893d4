"""The alert engine on a real database: dedup, escalation, resolve, acknowledge, races."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import repositories as repo
from storage.engine import create_engine, create_sessionmaker, upgrade_database
from storage.models import AlertRow
from tools.alerts.engine import AlertEngine, AlertEvent
from tools.clock import ManualClock
from tools.domain import Reading
from tools.site import Site, demo_site_file
from tools.telemetry import SiteState

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


@pytest.fixture
def site() -> Site:
    return demo_site_file().sites[0]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


async def add_site(sm: async_sessionmaker[AsyncSession], site: Site, now: datetime) -> None:
    async with sm() as session, session.begin():
        await repo.upsert_site(
            session, name=site.name, title=site.title, timezone=site.timezone, now=now
        )


@pytest.fixture
async def alerts(
    sessionmaker: async_sessionmaker[AsyncSession], site: Site, clock: ManualClock
) -> AlertEngine:
    await add_site(sessionmaker, site, clock.now())
    return AlertEngine(sessionmaker=sessionmaker, sites={site.name: site}, clock=clock)


def soc_state(soc: float, clock: ManualClock, *, miners_on: bool = True) -> SiteState:
    """Only the SOC rule has data (no battery power reading: the discharge rule is silent)."""
    s = SiteState("demo")
    s.update(Reading(site="demo", metric="battery_soc_pct", time=clock.now(), value=soc))
    for name in ("miner-1", "miner-2", "miner-3"):
        s.update(
            Reading(
                site="demo",
                metric="load_on",
                time=clock.now(),
                value=1.0 if miners_on else 0.0,
                device=name,
            )
        )
    return s


async def step(engine: AlertEngine, clock: ManualClock, soc: float) -> list[AlertEvent]:
    clock.advance(timedelta(minutes=1))
    return await engine.evaluate("demo", soc_state(soc, clock))


async def alert_rows(sm: async_sessionmaker[AsyncSession]) -> list[AlertRow]:
    async with sm() as session, session.begin():
        return list(await repo.list_alerts(session))


async def test_no_alert_for_healthy_battery(
    alerts: AlertEngine, clock: ManualClock, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    for _ in range(5):
        assert await step(alerts, clock, 55.0) == []
    assert await alert_rows(sessionmaker) == []


async def test_sustained_condition_fires_once(
    alerts: AlertEngine, clock: ManualClock, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    events: list[AlertEvent] = []
    for i in range(50):
        events.extend(await step(alerts, clock, 36.0 - (i % 3) * 0.5))
    assert [e.kind for e in events] == ["fired"]
    fired = events[0].alert
    assert fired.rule == "battery_soc_low"
    assert fired.fingerprint == "demo:battery_soc_low"
    assert fired.severity == "warning" and fired.status == "firing"
    assert fired.proposed_action == "stop_miners"
    assert fired.started_at == T0 + timedelta(minutes=1)
    rows = await alert_rows(sessionmaker)
    assert len(rows) == 1 and rows[0].id == fired.id
    assert [a.id for a in await alerts.open_alerts("demo")] == [fired.id]


async def test_escalation_updates_the_same_alert(
    alerts: AlertEngine, clock: ManualClock, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    [fired] = await step(alerts, clock, 38.0)
    events = await step(alerts, clock, 29.0)
    assert [e.kind for e in events] == ["escalated"]
    escalated = events[0].alert
    assert escalated.id == fired.alert.id
    assert escalated.severity == "critical" and escalated.status == "firing"
    assert escalated.title.startswith("Battery critically low")
    assert escalated.updated_at == clock.now()
    assert escalated.started_at == fired.alert.started_at
    # staying critical (also at 31 % thanks to hysteresis) changes nothing further
    assert await step(alerts, clock, 28.0) == []
    assert await step(alerts, clock, 31.0) == []
    assert len(await alert_rows(sessionmaker)) == 1


async def test_resolve_then_new_occurrence_is_a_new_alert(
    alerts: AlertEngine, clock: ManualClock, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    [fired] = await step(alerts, clock, 38.0)
    assert await step(alerts, clock, 41.0) == [], "hysteresis: 41 % does not clear it"
    events = await step(alerts, clock, 43.0)
    assert [e.kind for e in events] == ["resolved"]
    resolved = events[0].alert
    assert resolved.id == fired.alert.id
    assert resolved.status == "resolved"
    assert resolved.resolved_at == clock.now()
    assert resolved.value == 43.0
    assert await alerts.open_alerts("demo") == []
    assert await step(alerts, clock, 45.0) == []

    [again] = await step(alerts, clock, 37.0)
    assert again.kind == "fired"
    assert again.alert.id != fired.alert.id
    assert again.alert.resolved_at is None
    rows = await alert_rows(sessionmaker)
    assert sorted(r.status for r in rows) == ["firing", "resolved"]


async def test_acknowledge_is_compare_and_set_and_audited(
    alerts: AlertEngine, clock: ManualClock, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    [fired] = await step(alerts, clock, 38.0)
    alert_id = fired.alert.id
    clock.advance(timedelta(minutes=2))
    acked = await alerts.acknowledge(alert_id=alert_id, actor="Olga")
    assert acked is not None and acked.kind == "acknowledged"
    assert acked.alert.status == "acknowledged"
    assert acked.alert.acknowledged_by == "Olga"
    assert acked.alert.acknowledged_at == clock.now()

    assert await alerts.acknowledge(alert_id=alert_id, actor="Ada") is None
    assert await alerts.acknowledge(alert_id=987654, actor="Ada") is None
    view = await alerts.get(alert_id)
    assert view is not None and view.acknowledged_by == "Olga"

    async with sessionmaker() as session, session.begin():
        audit = [a for a in await repo.list_audit(session) if a.event == "alert_acknowledged"]
    assert len(audit) == 1
    assert audit[0].actor == "Olga" and audit[0].details["alert_id"] == alert_id

    # an acknowledged alert still resolves when the condition clears, and stays one alert
    assert await step(alerts, clock, 38.5) == []
    events = await step(alerts, clock, 45.0)
    assert [e.kind for e in events] == ["resolved"]
    assert events[0].alert.acknowledged_by == "Olga"
    assert await alerts.acknowledge(alert_id=alert_id, actor="Ada") is None


async def test_unknown_alert_get_is_none(alerts: AlertEngine) -> None:
    assert await alerts.get(424242) is None


@pytest.mark.postgres
async def test_two_engines_racing_fire_once(
    postgres_url: str, site: Site, clock: ManualClock
) -> None:
    engines = [create_engine(postgres_url), create_engine(postgres_url)]
    try:
        await upgrade_database(engines[0])
        makers = [create_sessionmaker(e) for e in engines]
        await add_site(makers[0], site, clock.now())
        a, b = (AlertEngine(sessionmaker=m, sites={site.name: site}, clock=clock) for m in makers)
        for round_ in range(5):
            clock.advance(timedelta(minutes=1))
            low = soc_state(35.0, clock)
            results = await asyncio.gather(a.evaluate("demo", low), b.evaluate("demo", low))
            kinds = [e.kind for events in results for e in events]
            assert kinds == ["fired"], f"round {round_}: {kinds}"

            clock.advance(timedelta(minutes=1))
            high = soc_state(60.0, clock)
            results = await asyncio.gather(a.evaluate("demo", high), b.evaluate("demo", high))
            kinds = [e.kind for events in results for e in events]
            assert kinds == ["resolved"], f"round {round_}: {kinds}"
        async with makers[0]() as session, session.begin():
            count = await session.scalar(select(func.count()).select_from(AlertRow))
        assert count == 5
    finally:
        for e in engines:
            await e.dispose()
