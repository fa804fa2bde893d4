"""Risk tiers: who may approve, self-approval, and the two-person rule (generator start)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.tools.test_actions import Rig, audit_events, make_rig
from tools.actions.service import Actor
from tools.site import ActionSettings, ApprovalTier

OLGA = Actor(platform="console", user_id="olga", role="operator", name="Olga")
OTTO = Actor(platform="console", user_id="otto", role="operator", name="Otto")
ADA = Actor(platform="console", user_id="ada", role="admin", name="Ada")
FIN = Actor(platform="console", user_id="fin", role="finance", name="Fin")


@pytest.fixture
async def rig(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[Rig]:
    r = await make_rig(sessionmaker)
    yield r
    await r.driver.close()


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
