"""Time-based evaluation on a coarse tick: a worker asks the engine for every site on
every poll, and the rules run only when time alone may have changed their verdicts
(the site's last evaluation is ``tick_s`` old, or a pending alert is due to fire).
Conditions that need no new reading — a device gone silent, a ``for`` that has
passed — still become alerts on time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import repositories as repo
from tools.alerts.context import RuleContext, RuleSpec, Verdict
from tools.alerts.engine import AlertEngine
from tools.alerts.registry import all_rules
from tools.clock import ManualClock
from tools.domain import Reading
from tools.site import Site, demo_site_file
from tools.telemetry import SiteState

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
def site() -> Site:
    return demo_site_file().sites[0]


async def _engine(
    sessionmaker: Sessions, site: Site, clock: ManualClock, rules: tuple[RuleSpec, ...]
) -> AlertEngine:
    async with sessionmaker() as session, session.begin():
        await repo.upsert_site(
            session, name=site.name, title=site.title, timezone=site.timezone, now=clock.now()
        )
    return AlertEngine(
        sessionmaker=sessionmaker, sites={site.name: site}, clock=clock, rules=rules, tick_s=10.0
    )


def _fresh_state(site: Site, clock: ManualClock, soc: float = 60.0) -> SiteState:
    state = SiteState(site.name, watching_since=clock.now())
    state.update(Reading(site=site.name, metric="battery_soc_pct", time=clock.now(), value=soc))
    for device in site.devices:
        state.mark_seen(device.name, clock.now())
    return state


async def test_rules_run_again_only_when_time_may_have_changed_them(
    sessionmaker: Sessions, site: Site
) -> None:
    clock = ManualClock(T0)
    runs: list[datetime] = []

    def counting(ctx: RuleContext) -> list[Verdict]:
        runs.append(ctx.now)
        return []

    alerts = await _engine(
        sessionmaker, site, clock, (RuleSpec(name="count", category="device", fn=counting),)
    )
    state = _fresh_state(site, clock)
    await alerts.evaluate(site.name, state)  # readings arrived: evaluated
    assert runs == [T0]
    for _ in range(9):  # polls within the tick: nothing to do
        clock.advance(timedelta(seconds=1))
        assert await alerts.evaluate_due(site.name, state) == []
    assert runs == [T0]
    clock.advance(timedelta(seconds=1))  # the tick has passed since the last evaluation
    await alerts.evaluate_due(site.name, state)
    assert runs == [T0, T0 + timedelta(seconds=10)]
    clock.advance(timedelta(seconds=3))
    await alerts.evaluate(site.name, state)  # new readings restart the tick
    clock.advance(timedelta(seconds=9))
    await alerts.evaluate_due(site.name, state)
    assert len(runs) == 3
    # A site seen for the first time is evaluated within one tick (the first evaluations
    # of many sites are spread over the tick, not all in one poll).
    fresh = await _engine(
        sessionmaker, site, clock, (RuleSpec(name="count", category="device", fn=counting),)
    )
    for _ in range(11):  # 0 s .. 10 s
        await fresh.evaluate_due(site.name, SiteState(site.name, watching_since=T0))
        clock.advance(timedelta(seconds=1))
    assert len(runs) == 4


async def test_a_silent_device_is_raised_without_any_new_reading(
    sessionmaker: Sessions, site: Site
) -> None:
    """Stale data: the readings stop, nothing else happens, the tick raises the alert."""
    clock = ManualClock(T0)
    alerts = await _engine(sessionmaker, site, clock, all_rules())
    state = _fresh_state(site, clock)
    assert await alerts.evaluate(site.name, state) == []
    device = site.devices[0]
    fired_at: datetime | None = None
    for _ in range(int(device.stale_after) + 30):  # one poll a second, no readings
        clock.advance(timedelta(seconds=1))
        events = await alerts.evaluate_due(site.name, state)
        if events:
            assert [e.alert.rule for e in events] == [f"device_offline:{device.name}"]
            assert events[0].kind == "fired"
            fired_at = clock.now()
            break
    assert fired_at is not None, "the silent device was never raised"
    silent_s = (fired_at - T0).total_seconds()
    # Noticed after stale_after, and at most one tick late.
    assert device.stale_after < silent_s <= device.stale_after + 10.0
    # The device comes back: its readings resolve it through the batch evaluation.
    state.mark_seen(device.name, clock.now())
    events = await alerts.evaluate(site.name, state)
    assert [e.kind for e in events] == ["resolved"]


async def test_a_pending_alert_fires_when_its_for_has_passed_not_a_tick_later(
    sessionmaker: Sessions, site: Site
) -> None:
    clock = ManualClock(T0)

    def low(ctx: RuleContext) -> list[Verdict]:
        soc = ctx.state.get("battery_soc_pct")
        active = soc is not None and soc < 20
        return [Verdict(rule="low", active=active, title="low", value=soc, for_s=4.0)]

    alerts = await _engine(
        sessionmaker, site, clock, (RuleSpec(name="low", category="battery", fn=low),)
    )
    state = _fresh_state(site, clock, soc=10.0)
    assert await alerts.evaluate(site.name, state) == []  # pending: not shown yet
    assert await alerts.open_alerts(site.name) == []
    kinds: list[tuple[float, str]] = []
    for _ in range(8):  # a poll a second; the tick (10 s) is never reached
        clock.advance(timedelta(seconds=1))
        for event in await alerts.evaluate_due(site.name, state):
            kinds.append(((clock.now() - T0).total_seconds(), event.kind))
    assert kinds == [(4.0, "fired")]
    assert [a.status for a in await alerts.open_alerts(site.name)] == ["firing"]


async def test_a_batch_judged_as_of_an_earlier_poll_does_not_undo_a_later_verdict(
    sessionmaker: Sessions, site: Site
) -> None:
    """Under load a poll's batch can reach the engine after the next poll's tick has
    judged the site (the write was slow). The tick raised the silent device as of the
    later time; the late batch, judged as of its earlier poll, would find the device
    not silent yet and resolve it, and the next evaluation would raise it again: a
    fired, resolved, fired flap on one outage. Judgement time never goes back."""
    clock = ManualClock(T0)
    alerts = await _engine(sessionmaker, site, clock, all_rules())
    state = _fresh_state(site, clock)
    assert await alerts.evaluate(site.name, state) == []
    device = site.devices[0]
    poll_before = T0 + timedelta(seconds=device.stale_after)  # not silent for long enough
    clock.advance(timedelta(seconds=device.stale_after + 10))
    fired = await alerts.evaluate_due(site.name, state)
    assert [(e.kind, e.alert.rule) for e in fired] == [("fired", f"device_offline:{device.name}")]
    late = await alerts.evaluate(site.name, state, now=poll_before)  # the slow write lands
    assert late == []
    assert [a.rule for a in await alerts.open_alerts(site.name)] == [
        f"device_offline:{device.name}"
    ]
    # The device answering again still resolves it.
    state.mark_seen(device.name, clock.now())
    assert [e.kind for e in await alerts.evaluate(site.name, state)] == ["resolved"]
