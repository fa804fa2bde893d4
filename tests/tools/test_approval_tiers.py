"""Risk tiers: who may approve, self-approval, and the two-person rule (generator start)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import ActionRequestRow
from tests.tools.test_actions import Rig, audit_events, make_rig
from tools.actions.service import DECIDED_BY_MAX, Actor
from tools.site import ActionSettings, ApprovalTier, Humans, Person

OLGA = Actor(platform="console", user_id="olga", role="operator", name="Olga")
OTTO = Actor(platform="console", user_id="otto", role="operator", name="Otto")
ADA = Actor(platform="console", user_id="ada", role="admin", name="Ada")
FIN = Actor(platform="console", user_id="fin", role="finance", name="Fin")
# One human, Alice, on Slack and on Discord (the site file links the two with person: alice).
ALICE_SLACK = Actor(platform="slack", user_id="UALICE01", role="operator", name="Alice")
ALICE_DISCORD = Actor(platform="discord", user_id="4242", role="operator", name="alice_d")
HUMANS = Humans(
    Person(platform=a.platform, user_id=a.user_id, role="operator", person="alice")  # type: ignore[arg-type]
    for a in (ALICE_SLACK, ALICE_DISCORD)
)


@pytest.fixture
async def rig(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[Rig]:
    r = await make_rig(sessionmaker)
    yield r
    await r.driver.close()
    await r.pipeline.close()  # its writer holds a pooled connection until closed


async def _generator(rig: Rig) -> str:
    view = await rig.service.request(site="demo", kind="generator_start", requested_by=OLGA.key)
    return view.id


async def test_generator_start_needs_two_people_other_than_the_requester(rig: Rig) -> None:
    action_id = await _generator(rig)
    own = await rig.service.decide(action_id=action_id, actor=OLGA, approve=True)
    assert own.verdict == "denied" and "someone else must approve" in own.message

    first = await rig.service.decide(action_id=action_id, actor=OTTO, approve=True)
    assert first.verdict == "partial" and first.changed
    assert first.message.startswith("Approval 1 of 2 recorded (Otto); needs 1 more")
    assert (await rig.service.get(action_id)).status == "pending"
    assert rig.driver.commands == []

    again = await rig.service.decide(action_id=action_id, actor=OTTO, approve=True)
    assert again.verdict == "already_decided" and "you already approved" in again.message
    assert rig.driver.commands == []

    second = await rig.service.decide(action_id=action_id, actor=ADA, approve=True)
    assert second.verdict == "succeeded"
    assert [c.kind for c in rig.driver.commands] == ["generator"]
    done = await rig.service.get(action_id)
    assert done.decided_by == "Otto, Ada"
    assert await audit_events(rig, action_id) == [
        "action_requested",
        "decision_denied",
        "action_approval_recorded",
        "action_approved",
        "action_succeeded",
    ]


async def test_roles_outside_the_tier_cannot_decide(rig: Rig) -> None:
    strict = ActionSettings(tiers={"stop_miners": ApprovalTier(roles=["admin"])})
    rig.service._sites["demo"] = rig.site.model_copy(update={"actions": strict})  # type: ignore[index]
    view = await rig.service.request(site="demo", kind="stop_miners", requested_by=OLGA.key)
    for person in (FIN, OTTO):
        refused = await rig.service.decide(action_id=view.id, actor=person, approve=True)
        assert refused.verdict == "denied"
        assert f"your role is {person.role}: only admin may approve" in refused.message
    assert (await rig.service.decide(action_id=view.id, actor=ADA, approve=True)).verdict == (
        "succeeded"
    )


def _tier(rig: Rig, kind: str, **fields: object) -> None:
    strict = ActionSettings.model_validate({"tiers": {kind: fields}})
    rig.service._sites["demo"] = rig.site.model_copy(update={"actions": strict})  # type: ignore[index]


@pytest.fixture
async def linked(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[Rig]:
    """The service told that ALICE_SLACK and ALICE_DISCORD are one human."""
    r = await make_rig(sessionmaker, humans=HUMANS)
    yield r
    await r.driver.close()
    await r.pipeline.close()  # its writer holds a pooled connection until closed
    await r.pipeline.close()


async def test_one_human_on_two_platforms_is_one_approver(linked: Rig) -> None:
    action_id = await _generator(linked)
    first = await linked.service.decide(action_id=action_id, actor=ALICE_SLACK, approve=True)
    assert first.verdict == "partial"
    assert first.message.startswith("Approval 1 of 2 recorded (Alice on Slack); needs 1 more")
    other = await linked.service.decide(action_id=action_id, actor=ALICE_DISCORD, approve=True)
    assert other.verdict == "denied" and not other.changed
    assert other.message == (
        "alice_d, you already approved this on Slack as Alice, and one person counts once, "
        "so it needs 1 more approval(s) from someone else. Nothing was changed."
    )
    assert linked.driver.commands == []
    done = await linked.service.decide(action_id=action_id, actor=ADA, approve=True)
    assert done.verdict == "succeeded" and done.action.decided_by == "Alice on Slack, Ada"
    assert [a["actor"] for a in await linked.service.approvals(action_id)] == [
        "slack:UALICE01",
        "console:ada",
    ]
    assert await audit_events(linked, action_id) == [
        "action_requested",
        "action_approval_recorded",
        "decision_denied",
        "action_approved",
        "action_succeeded",
    ]


async def test_the_requesters_other_account_is_the_requester(linked: Rig) -> None:
    view = await linked.service.request(
        site="demo", kind="generator_start", requested_by=ALICE_DISCORD.key
    )
    refused = await linked.service.decide(action_id=view.id, actor=ALICE_SLACK, approve=True)
    assert refused.verdict == "denied"
    assert "you asked for this action (on Discord), so someone else must" in refused.message
    # Without the link (another site file) they are two people, as before.
    unlinked = await linked.service.request(
        site="demo", kind="generator_start", requested_by="slack:USOMEONE"
    )
    first = await linked.service.decide(action_id=unlinked.id, actor=ALICE_SLACK, approve=True)
    assert first.verdict == "partial"


async def test_the_executor_joins_approvals_by_recorded_person(rig: Rig) -> None:
    """A service whose site file no longer links Alice's accounts still counts approvals
    recorded under one person id once (and the requester's never)."""
    action_id = await _generator(rig)
    recorded = {
        "by": [
            {"actor": "slack:UALICE01", "person": "alice", "role": "operator", "sites": None},
            {"actor": "discord:4242", "person": "alice", "role": "operator", "sites": None},
            {"actor": OLGA.key, "role": "operator", "sites": None},  # the requester
        ]
    }
    async with rig.sessionmaker() as session, session.begin():
        await session.execute(
            update(ActionRequestRow)
            .where(ActionRequestRow.id == action_id)
            .values(status="approved", approvals=recorded)
        )
    decision = await rig.service.execute(action_id, actor=OTTO)
    assert decision.verdict == "failed"
    assert "it has 1 valid approval(s) and needs 2 approvals" in decision.message
    assert rig.driver.commands == []


async def test_two_people_approving_at_once_are_both_recorded_or_told_to_press_again(
    rig: Rig,
) -> None:
    """Three approvals needed; Otto and Ada press at the same moment. Whatever the
    interleaving, a person told their approval was recorded finds it recorded."""
    _tier(rig, "stop_miners", approvals=3)
    for _ in range(5):
        view = await rig.service.request(site="demo", kind="stop_miners", requested_by=OLGA.key)
        decisions = await asyncio.gather(
            *(rig.service.decide(action_id=view.id, actor=a, approve=True) for a in (OTTO, ADA))
        )
        recorded = {a["actor"] for a in await rig.service.approvals(view.id)}
        for person, decision in zip((OTTO, ADA), decisions, strict=True):
            assert decision.verdict in ("partial", "already_decided"), decision.message
            told = decision.verdict == "partial"
            assert told == (person.key in recorded), (decision.message, recorded)
            if not told:
                assert "press again" in decision.message
        assert recorded  # at least one of them got in
    assert rig.driver.commands == []


async def test_long_names_fit_the_decided_by_column(rig: Rig) -> None:
    _tier(rig, "stop_miners", approvals=3)
    view = await rig.service.request(site="demo", kind="stop_miners", requested_by=OLGA.key)
    for person in (OTTO, ADA, OLGA):
        named = Actor(platform="slack", user_id=person.user_id, role="admin", name="N" * 80)
        decision = await rig.service.decide(action_id=view.id, actor=named, approve=True)
    assert decision.verdict == "succeeded", decision.message
    decided_by = decision.action.decided_by or ""
    assert len(decided_by) == DECIDED_BY_MAX and decided_by.endswith("…")
