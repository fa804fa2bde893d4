"""Approval tools: the action requests waiting for a decision, and deciding one by text
(the same checks as pressing its button)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from tools.agent.spec import CallContext, NoArgs, ToolOutput, ToolSpec
from tools.cards import action_card
from tools.permissions import Permission
from tools.site import Site

if TYPE_CHECKING:
    from tools.agent.toolbox import Toolbox


class DecideArgs(BaseModel):
    action_id: str = Field(
        min_length=4, max_length=64, description="The request id, or its first 8 characters"
    )
    approve: bool = Field(description="True to approve, False to reject")


async def pending_approvals(
    tb: Toolbox, _site: Site, _args: NoArgs, ctx: CallContext
) -> ToolOutput:
    pending = [
        a
        for a in await tb.actions.list_requests(statuses=("pending",))
        if ctx.principal.may_see(a.site)
    ]
    if not pending:
        return ToolOutput(text="Nothing is waiting for approval.")
    lines = []
    for a in pending:
        site = tb.sites.get(a.site)
        tier = site.actions.tier(a.kind) if site is not None else None
        got = len(await tb.actions.approvals(a.id))
        need = f"; needs {tier.describe()}, {got} so far" if tier is not None else ""
        lines.append(f"- {a.id[:8]} at {a.site}: {a.title} (asked by {a.requested_by}{need})")
    return ToolOutput(
        text=f"{len(pending)} request(s) waiting for approval:\n"
        + "\n".join(lines)
        + "\nSay 'approve <id>' or 'reject <id>', or press the buttons on the cards.",
        cards=[action_card(a, tb.sites[a.site].tz) for a in pending if a.site in tb.sites],
    )


async def decide_action(tb: Toolbox, _site: Site, args: DecideArgs, ctx: CallContext) -> ToolOutput:
    decision = await tb.actions.decide(
        action_id=args.action_id, actor=ctx.actor, approve=args.approve
    )
    if decision.changed and tb.on_action_decided is not None:
        await tb.on_action_decided(decision.action, ctx.thread_id)
    site = tb.sites.get(decision.action.site)
    cards = [action_card(decision.action, site.tz)] if site is not None else []
    return ToolOutput(text=decision.message, cards=cards, error=decision.verdict == "denied")


SPECS: tuple[ToolSpec, ...] = (
    ToolSpec(
        name="pending_approvals",
        kind="read",
        args=NoArgs,
        run=pending_approvals,
        description="Action requests waiting for approval at the sites this person may see, "
        "with their short ids and what each needs.",
    ),
    ToolSpec(
        name="decide_action",
        kind="change",
        permission=Permission.APPROVE_ACTION,
        args=DecideArgs,
        run=decide_action,
        description="Approve or reject a pending action request by its id (as pressing its "
        "button: the person's role, sites and the action's tier are checked).",
    ),
)
