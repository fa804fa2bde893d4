"""Actions: policy and catalogue as pure data, the approval-gated service on a real database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import repositories as repo
from storage.models import ActionRequestRow, AuditRow
from tests.bot import helpers
from tests.bot.helpers import EVENING, CountingDriver
from tools.actions import policy
from tools.actions.catalogue import CATALOGUE, get_kind
from tools.actions.service import ActionService, Actor
from tools.clock import ManualClock
from tools.devices.base import DeviceCommand
from tools.devices.simulator import SimulatedSite
from tools.domain import Reading
from tools.errors import ActionError, DeviceError, UnknownSiteError
from tools.site import Generator, Grid, Humans, Site, demo_site_file
from tools.telemetry import SiteState, TelemetryPipeline

OLGA = Actor(platform="console", user_id="olga", role="operator", name="Olga")
ADA = Actor(platform="console", user_id="ada", role="admin", name="Ada")
VIC = Actor(platform="console", user_id="vic", role="viewer", name="Vic")
T0 = datetime(2026, 6, 1, 18, 0, tzinfo=UTC)


# --- policy (pure) --------------------------------------------------------------------------------


@pytest.fixture
def site() -> Site:
    return demo_site_file().sites[0]


def state(**values: float) -> SiteState:
    s = SiteState("demo")
    for metric, value in values.items():
        s.update(Reading(site="demo", metric=metric, time=T0, value=value))
    return s


ALL_MINERS = {"loads": ["miner-1", "miner-2", "miner-3"]}


def test_start_miners_refused_near_min_soc_without_surplus(site: Site) -> None:
    # minimum 20 %, margin 5 points: 24.9 % is too close, 15 % is below
    for soc in (24.9, 15.0):
        reason = policy.check(
            site,
            "start_miners",
            ALL_MINERS,
            state(battery_soc_pct=soc, pv_power_w=0, load_power_w=600),
        )
        assert reason is not None
        assert f"battery is at {soc:.1f} %" in reason
        assert "minimum of 20 %" in reason and "below the floor" in reason


def test_start_miners_allowed_with_solar_surplus(site: Site) -> None:
    # 600 W base load + 4.35 kW of miners, 6 kW of sun: covered
    sunny = state(battery_soc_pct=21.0, pv_power_w=6000, load_power_w=600)
    assert policy.check(site, "start_miners", ALL_MINERS, sunny) is None
    # one miner needs less sun than three
    partly = state(battery_soc_pct=21.0, pv_power_w=2500, load_power_w=600)
    assert policy.check(site, "start_miners", ALL_MINERS, partly) is not None
    assert policy.check(site, "start_miners", {"loads": ["miner-1"]}, partly) is None


def test_start_miners_allowed_well_above_floor(site: Site) -> None:
    ok = state(battery_soc_pct=25.0, pv_power_w=0, load_power_w=600)
    assert policy.check(site, "start_miners", ALL_MINERS, ok) is None


def test_start_miners_refused_without_battery_reading(site: Site) -> None:
    reason = policy.check(site, "start_miners", ALL_MINERS, state(pv_power_w=9000))
    assert reason is not None and "no battery reading" in reason


def test_grid_charge_refused_without_grid(site: Site) -> None:
    assert policy.check(site, "grid_charge_on", {}, state(battery_soc_pct=30)) is None
    off_grid = site.model_copy(update={"grid": Grid(present=False)})
    reason = policy.check(off_grid, "grid_charge_on", {}, state(battery_soc_pct=30))
    assert reason == "Demo home lab has no grid connection"


def test_generator_start_refused_without_generator_or_fuel(site: Site) -> None:
    assert policy.check(site, "generator_start", {}, state(generator_fuel_l=50)) is None
    none = site.model_copy(update={"generator": None})
    assert policy.check(none, "generator_start", {}, state()) == "Demo home lab has no generator"
    assert policy.check(none, "generator_stop", {}, state()) == "Demo home lab has no generator"
    empty = policy.check(site, "generator_start", {}, state(generator_fuel_l=0.2))
    assert empty == "the generator tank is empty (0.2 L)"


def test_generator_stop_refused_below_floor_off_grid(site: Site) -> None:
    off_grid = site.model_copy(
        update={"grid": Grid(present=False), "generator": Generator(rated_kw=8, tank_l=100)}
    )
    reason = policy.check(off_grid, "generator_stop", {}, state(battery_soc_pct=15))
    assert reason is not None and "below the minimum of 20 %" in reason
    assert policy.check(off_grid, "generator_stop", {}, state(battery_soc_pct=25)) is None
    assert policy.check(site, "generator_stop", {}, state(battery_soc_pct=15)) is None  # grid


def test_stop_miners_always_allowed(site: Site) -> None:
    for s in (state(), state(battery_soc_pct=1.0, pv_power_w=0, load_power_w=9000)):
        assert policy.check(site, "stop_miners", ALL_MINERS, s) is None
    no_battery = site.model_copy(update={"battery": None})
    assert policy.check(no_battery, "stop_miners", ALL_MINERS, state()) is None


# --- catalogue (pure) -----------------------------------------------------------------------------


def test_unknown_kind_lists_known_kinds() -> None:
    with pytest.raises(ActionError) as info:
        get_kind("self_destruct")
    message = str(info.value)
    assert "Unknown action 'self_destruct'" in message
    for name in CATALOGUE:
        assert name in message
    assert set(CATALOGUE) == {
        "stop_miners",
        "start_miners",
        "grid_charge_on",
        "grid_charge_off",
        "generator_start",
        "generator_stop",
    }


def test_unknown_load_names_known_loads(site: Site) -> None:
    with pytest.raises(ActionError) as info:
        get_kind("stop_miners").normalise(site, {"loads": ["miner-9", "miner-1"]})
    message = str(info.value)
    assert "Unknown load(s) miner-9 at demo" in message
    assert "known loads: miner-1, miner-2, miner-3" in message


def test_catalogue_commands_and_expectations(site: Site) -> None:
    stop = get_kind("stop_miners")
    params = stop.normalise(site, {"loads": ["miner-3", "miner-1", "miner-3"]})
    assert params == {"loads": ["miner-1", "miner-3"]}
    assert stop.normalise(site, {}) == ALL_MINERS
    assert stop.commands(site, params) == [
        DeviceCommand(kind="set_load", target="miner-1", on=False),
        DeviceCommand(kind="set_load", target="miner-3", on=False),
    ]
    assert [e.value for e in stop.expected(site, params)] == [0.0, 0.0]
    assert stop.effect(site, params) == "removes about 2.90 kW of load"
    with pytest.raises(ActionError, match="non-empty list"):
        stop.normalise(site, {"loads": []})
    with pytest.raises(ActionError, match="takes no parameters"):
        get_kind("grid_charge_on").normalise(site, {"kw": 3})
    no_miners = site.model_copy(update={"loads": []})
    with pytest.raises(ActionError, match="has no miners"):
        stop.normalise(no_miners, {})


# --- the service on a real database ---------------------------------------------------------


@dataclass
class Rig:
    service: ActionService
    driver: CountingDriver
    clock: ManualClock
    pipeline: TelemetryPipeline
    sessionmaker: async_sessionmaker[AsyncSession]
    site: Site


async def make_rig(
    sm: async_sessionmaker[AsyncSession],
    *,
    expiry_minutes: float = 15,
    driver: object = None,
    humans: Humans | None = None,
) -> Rig:
    clock = ManualClock(EVENING)
    site = helpers.test_site_file(expiry_minutes=expiry_minutes).sites[0]
    async with sm() as session, session.begin():
        await repo.upsert_site(
            session, name=site.name, title=site.title, timezone=site.timezone, now=clock.now()
        )
    counting = CountingDriver(SimulatedSite(site, seed=3, start=clock.now()))
    pipeline = TelemetryPipeline(sessionmaker=sm)
    await pipeline.ingest(await counting.poll(clock.now()))
    service = ActionService(
        sessionmaker=sm,
        sites={site.name: site},
        drivers={site.name: driver or counting},  # type: ignore[dict-item]
        clock=clock,
        state=pipeline.latest,
        on_readings=pipeline.ingest,
        humans=humans,
    )
    return Rig(service, counting, clock, pipeline, sm, site)


@pytest.fixture
async def rig(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[Rig]:
    r = await make_rig(sessionmaker, expiry_minutes=10)
    yield r
    await r.driver.close()
    await r.pipeline.close()


async def count_rows(sm: async_sessionmaker[AsyncSession]) -> tuple[int, int]:
    async with sm() as session, session.begin():
        actions = await session.scalar(select(func.count()).select_from(ActionRequestRow))
        audit = await session.scalar(select(func.count()).select_from(AuditRow))
    return int(actions or 0), int(audit or 0)


async def audit_events(rig: Rig, action_id: str) -> list[str]:
    async with rig.sessionmaker() as session, session.begin():
        return [a.event for a in await repo.list_audit(session, action_id=action_id)]


async def stop_miners(rig: Rig, **kw: object) -> str:
    view = await rig.service.request(
        site="demo",
        kind="stop_miners",
        requested_by="console:olga",
        **kw,  # type: ignore[arg-type]
    )
    return view.id


async def test_request_is_pending_with_expiry(rig: Rig) -> None:
    view = await rig.service.request(
        site="demo",
        kind="stop_miners",
        params={"loads": ["miner-2"]},
        requested_by="console:olga",
        reason="battery low",
    )
    assert view.status == "pending" and not view.is_final
    assert view.kind == "stop_miners" and view.params == {"loads": ["miner-2"]}
    assert view.created_at == rig.clock.now()
    assert view.expires_at == rig.clock.now() + timedelta(minutes=10)
    assert view.title == "Stop miner-2 at Demo home lab"
    assert view.effect == "removes about 1.45 kW of load"
    assert view.decided_by is None and view.outcome is None
    assert await rig.service.get(view.id) == view
    assert [v.id for v in await rig.service.list_requests(statuses=("pending",))] == [view.id]
    assert await audit_events(rig, view.id) == ["action_requested"]
    assert rig.driver.commands == []


async def test_request_refused_by_policy_writes_nothing(rig: Rig) -> None:
    # the simulated battery starts at 44 % at night: a 60 % floor refuses starting loads
    strict = rig.site.model_copy(
        update={"battery": rig.site.battery.model_copy(update={"min_soc_pct": 60})}  # type: ignore[union-attr]
    )
    service = ActionService(
        sessionmaker=rig.sessionmaker,
        sites={"demo": strict},
        drivers={"demo": rig.driver},
        clock=rig.clock,
        state=rig.pipeline.latest,
    )
    before = await count_rows(rig.sessionmaker)
    with pytest.raises(ActionError, match=r"^Refused: the battery is at"):
        await service.request(site="demo", kind="start_miners", requested_by="console:olga")
    with pytest.raises(ActionError, match="known actions"):
        await service.request(site="demo", kind="nuke", requested_by="console:olga")
    with pytest.raises(ActionError, match="known loads: miner-1, miner-2, miner-3"):
        await service.request(
            site="demo", kind="stop_miners", params={"loads": ["pump"]}, requested_by="x"
        )
    with pytest.raises(UnknownSiteError, match="Configured sites: demo"):
        await service.request(site="mars", kind="stop_miners", requested_by="x")
    assert await count_rows(rig.sessionmaker) == before


async def test_idempotency_key_returns_the_same_request(rig: Rig) -> None:
    first = await rig.service.request(
        site="demo", kind="stop_miners", requested_by="console:olga", idempotency_key="alert-7"
    )
    rig.clock.advance(timedelta(minutes=1))
    second = await rig.service.request(
        site="demo", kind="stop_miners", requested_by="console:ada", idempotency_key="alert-7"
    )
    assert second.id == first.id and second.requested_by == "console:olga"
    other = await rig.service.request(
        site="demo", kind="stop_miners", requested_by="console:ada", idempotency_key="alert-8"
    )
    assert other.id != first.id
    assert (await count_rows(rig.sessionmaker))[0] == 2


async def test_viewer_approval_is_denied_and_audited(rig: Rig) -> None:
    action_id = await stop_miners(rig)
    decision = await rig.service.decide(action_id=action_id, actor=VIC, approve=True)
    assert decision.verdict == "denied" and decision.changed is False
    assert "your role is viewer" in decision.message and "Nothing was changed" in decision.message
    assert decision.action.status == "pending"
    assert (await rig.service.get(action_id)).status == "pending"
    assert rig.driver.commands == []
    assert await audit_events(rig, action_id) == ["action_requested", "decision_denied"]
    async with rig.sessionmaker() as session, session.begin():
        denied = (await repo.list_audit(session, action_id=action_id))[1]
    assert denied.actor == "console:vic"
    assert denied.details["wanted"] == "approve" and denied.details["role"] == "viewer"


async def test_operator_approves_exactly_once(rig: Rig) -> None:
    action_id = await stop_miners(rig)
    decision = await rig.service.decide(action_id=action_id, actor=OLGA, approve=True)
    assert decision.verdict == "succeeded" and decision.changed is True
    assert decision.message.startswith("Approved by Olga. Done and verified")
    assert len(rig.driver.commands) == 3
    assert rig.driver.inner.state.loads_on == {
        "miner-1": False,
        "miner-2": False,
        "miner-3": False,
    }
    view = decision.action
    assert view.status == "succeeded" and view.decided_by == "Olga"
    assert view.decided_at == rig.clock.now() and view.finished_at == rig.clock.now()
    # the read-back was handed to the telemetry pipeline
    assert rig.pipeline.latest("demo").devices("load_on") == {
        "miner-1": 0.0,
        "miner-2": 0.0,
        "miner-3": 0.0,
    }

    again = await rig.service.decide(action_id=action_id, actor=ADA, approve=True)
    assert again.verdict == "already_decided" and again.changed is False
    assert again.message.startswith("Already succeeded by Olga")
    assert len(rig.driver.commands) == 3
    # executing directly again does nothing either
    direct = await rig.service.execute(action_id, actor=ADA)
    assert direct.verdict == "already_decided" and len(rig.driver.commands) == 3
    assert await audit_events(rig, action_id) == [
        "action_requested",
        "action_approved",
        "action_succeeded",
    ]


async def test_reject_then_approve_stays_rejected(rig: Rig) -> None:
    action_id = await stop_miners(rig)
    rejected = await rig.service.decide(action_id=action_id, actor=ADA, approve=False)
    assert rejected.verdict == "rejected" and rejected.changed is True
    assert rejected.action.status == "rejected" and rejected.action.decided_by == "Ada"
    late = await rig.service.decide(action_id=action_id, actor=OLGA, approve=True)
    assert late.verdict == "already_decided" and late.changed is False
    assert late.message.startswith("Already rejected by Ada")
    assert (await rig.service.get(action_id)).status == "rejected"
    assert rig.driver.commands == []
    assert await audit_events(rig, action_id) == ["action_requested", "action_rejected"]


async def test_expired_request_cannot_execute(rig: Rig) -> None:
    action_id = await stop_miners(rig)
    view = await rig.service.get(action_id)
    rig.clock.set(view.expires_at)  # the moment it is due counts as expired
    decision = await rig.service.decide(action_id=action_id, actor=OLGA, approve=True)
    assert decision.verdict == "expired" and decision.changed is True
    assert "expired" in decision.message and "ask again" in decision.message
    assert decision.action.status == "expired"
    assert rig.driver.commands == []
    assert await audit_events(rig, action_id) == ["action_requested", "action_expired"]

    rig.clock.advance(timedelta(minutes=5))
    later = await rig.service.decide(action_id=action_id, actor=ADA, approve=True)
    assert later.verdict == "expired" and later.changed is False
    assert rig.driver.commands == []
    assert await audit_events(rig, action_id) == ["action_requested", "action_expired"]


async def test_expire_due_moves_only_due_requests(rig: Rig) -> None:
    early = await stop_miners(rig)
    rig.clock.advance(timedelta(minutes=6))
    late = await stop_miners(rig)
    decided = await stop_miners(rig)
    await rig.service.decide(action_id=decided, actor=ADA, approve=False)

    assert await rig.service.expire_due() == []
    rig.clock.advance(timedelta(minutes=4))  # early is due now (10 min), late is not
    expired = await rig.service.expire_due()
    assert [v.id for v in expired] == [early]
    assert expired[0].status == "expired"
    assert expired[0].outcome == "expired before anyone decided"
    assert (await rig.service.get(late)).status == "pending"
    assert (await rig.service.get(decided)).status == "rejected"
    assert await audit_events(rig, early) == ["action_requested", "action_expired"]
    assert await audit_events(rig, late) == ["action_requested"]
    assert await rig.service.expire_due() == [], "already expired requests are not moved again"

    rig.clock.advance(timedelta(minutes=6))
    assert [v.id for v in await rig.service.expire_due()] == [late]


async def test_unknown_action_id_is_a_clear_error_and_writes_nothing(rig: Rig) -> None:
    await stop_miners(rig)
    before = await count_rows(rig.sessionmaker)
    for actor, approve in ((OLGA, True), (ADA, False), (VIC, True)):
        with pytest.raises(ActionError) as info:
            await rig.service.decide(action_id="d0e5beef", actor=actor, approve=approve)
        assert str(info.value) == (
            "No action request with id 'd0e5beef'; it may have been mistyped."
        )
    with pytest.raises(ActionError, match="'nope' is not a request id"):
        await rig.service.get("nope")
    with pytest.raises(ActionError, match="'x%' is not a request id"):
        await rig.service.get("x%")  # no LIKE wildcard reaches SQL
    assert await count_rows(rig.sessionmaker) == before
    assert rig.driver.commands == []


class BrokenRelayDriver:
    """A simulated site whose relays refuse every command."""

    def __init__(self, inner: SimulatedSite) -> None:
        self.inner = inner
        self.site = inner.site
        self.attempts = 0

    async def poll(self, now: datetime) -> list[Reading]:
        return await self.inner.poll(now)

    async def execute(self, command: DeviceCommand) -> None:
        self.attempts += 1
        raise DeviceError(f"relay for {command.target} did not answer (timeout after 3 s)")

    async def close(self) -> None:
        await self.inner.close()


async def test_device_error_marks_request_failed(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    site = helpers.test_site_file().sites[0]
    broken = BrokenRelayDriver(SimulatedSite(site, seed=1, start=EVENING))
    rig = await make_rig(sessionmaker, driver=broken)
    action_id = await stop_miners(rig)
    decision = await rig.service.decide(action_id=action_id, actor=OLGA, approve=True)
    assert decision.verdict == "failed" and decision.changed is True
    assert broken.attempts == 1, "the first failure stops the remaining commands"
    view = await rig.service.get(action_id)
    assert view.status == "failed"
    assert view.outcome == "Device error: relay for miner-1 did not answer (timeout after 3 s)"
    assert "relay for miner-1 did not answer" in decision.message
    assert await audit_events(rig, action_id) == [
        "action_requested",
        "action_approved",
        "action_failed",
    ]
    again = await rig.service.decide(action_id=action_id, actor=ADA, approve=True)
    assert again.verdict == "already_decided" and broken.attempts == 1
    await rig.pipeline.close()


@pytest.mark.postgres
async def test_approve_and_reject_race(postgres_url: str) -> None:
    from storage.engine import create_engine, create_sessionmaker, upgrade_database

    engine = create_engine(postgres_url)
    try:
        await upgrade_database(engine)
        rig = await make_rig(create_sessionmaker(engine))
        for round_ in range(10):
            action_id = await stop_miners(rig)
            before = len(rig.driver.commands)
            calls = [
                rig.service.decide(action_id=action_id, actor=OLGA, approve=True),
                rig.service.decide(action_id=action_id, actor=ADA, approve=False),
            ]
            if round_ % 2:
                calls.reverse()
            decisions = await asyncio.gather(*calls)
            changed = [d for d in decisions if d.changed]
            assert len(changed) == 1, f"round {round_}: {[d.verdict for d in decisions]}"
            winner = changed[0].verdict
            assert winner in ("succeeded", "rejected")
            loser = next(d for d in decisions if not d.changed)
            assert loser.verdict == "already_decided"
            sent = len(rig.driver.commands) - before
            assert sent == (3 if winner == "succeeded" else 0), f"round {round_}: {sent} commands"
            final = await rig.service.get(action_id)
            assert final.status == winner
            events = await audit_events(rig, action_id)
            assert [e for e in events if e in ("action_approved", "action_rejected")] == [
                "action_approved" if winner == "succeeded" else "action_rejected"
            ]
        await rig.driver.close()
        await rig.pipeline.close()
    finally:
        await engine.dispose()
