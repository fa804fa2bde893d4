"""Action tools: switching miners, grid charging and the generator. None of them touches
hardware: each creates an action request that a person must approve (tools/actions),
or says why none is needed (already so, or already waiting for approval)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field

from tools.actions.catalogue import get_kind
from tools.actions.service import ActionView
from tools.agent.spec import CallContext, SiteArgs, ToolOutput, ToolSpec
from tools.cards import action_card
from tools.permissions import Permission
from tools.site import Site

if TYPE_CHECKING:
    from tools.agent.toolbox import Toolbox


class LoadsArgs(SiteArgs):
    loads: list[str] | None = Field(
        default=None, description="Names of the miners/loads; omit for all miners"
    )


class GridChargeArgs(SiteArgs):
    enabled: bool = Field(description="True to start charging from the grid, False to stop")


def _switch_states(
    tb: Toolbox, site: Site, kind: str, params: dict[str, Any]
) -> tuple[list[str], dict[str, float]] | None:
    """The loads a miner switch names and their latest on/off readings; None when a
    load has no reading yet (then nothing is known to be in place)."""
    names: list[str] = get_kind(kind).normalise(site, dict(params))["loads"]
    on = tb.state(site.name).devices("load_on")
    if any(name not in on for name in names):
        return None
    return names, on


def _already_so(tb: Toolbox, site: Site, kind: str, params: dict[str, Any]) -> str | None:
    """What already holds, when the change asked for is in place (per the latest
    readings), so no request is made for it; None when it is not (or not known)."""
    if kind in ("stop_miners", "start_miners"):
        want_on = kind == "start_miners"
        known = _switch_states(tb, site, kind, params)
        if known is None:
            return None
        names, on = known
        if all((on[name] >= 0.5) == want_on for name in names):
            verb = "is" if len(names) == 1 else "are"
            state_word = "on" if want_on else "off"
            return f"{', '.join(names)} {verb} already {state_word} at {site.display_name}"
        return None
    flags = {
        "grid_charge_on": ("grid_charge_on", 1.0, "grid charging is already on"),
        "grid_charge_off": ("grid_charge_on", 0.0, "grid charging is already off"),
        "generator_start": ("generator_running", 1.0, "the generator is already running"),
        "generator_stop": ("generator_running", 0.0, "the generator is already stopped"),
    }
    if kind in flags:
        metric, value, text = flags[kind]
        now = tb.state(site.name).get(metric)
        if now is not None and (now >= 0.5) == (value >= 0.5):
            return f"{text} at {site.display_name}"
    return None


def _only_those_to_change(
    tb: Toolbox, site: Site, kind: str, params: dict[str, Any]
) -> dict[str, Any]:
    """For 'stop the miners' when some are off already: only the ones still on."""
    known = _switch_states(tb, site, kind, params)
    if known is None:
        return params
    names, on = known
    want_on = kind == "start_miners"
    to_change = [n for n in names if (on[n] >= 0.5) != want_on]
    return {"loads": to_change} if to_change else params


async def _already_waiting(
    tb: Toolbox, site: Site, kind: str, params: dict[str, Any], ctx: CallContext
) -> ActionView | None:
    """A pending request for the same change made elsewhere (an alert, another chat)."""
    clean = get_kind(kind).normalise(site, dict(params))
    for view in await tb.actions.list_requests(site=site.name, statuses=("pending",)):
        if view.kind == kind and view.params == clean and view.thread_id != ctx.thread_id:
            return view
    return None


async def request(
    tb: Toolbox, site: Site, kind: str, params: dict[str, Any], ctx: CallContext
) -> ToolOutput:
    """Ask for approval of one change, unless it is already so or already waiting."""
    if kind in ("stop_miners", "start_miners"):
        params = _only_those_to_change(tb, site, kind, params)
    done = _already_so(tb, site, kind, params)
    if done is not None:
        return ToolOutput(text=f"Nothing to do: {done} (latest readings); no request made.")
    waiting = await _already_waiting(tb, site, kind, params, ctx)
    if waiting is not None:
        return ToolOutput(
            text=f"That is already awaiting approval: {waiting.title} "
            f"(request {waiting.id[:8]}). Approve or reject it on its card.",
            cards=[action_card(waiting, site.tz)],
        )
    action = await tb.actions.request(
        site=site.name,
        kind=kind,
        params=params,
        requested_by=ctx.requested_by,
        reason=f"Asked in chat by {ctx.requested_by}.",
        thread_id=ctx.thread_id,
        idempotency_key=f"{ctx.thread_id}:{ctx.call_id}",
        actor=ctx.actor,
    )
    return ToolOutput(
        text=f"I have asked for approval to {action.title[0].lower()}{action.title[1:]} "
        f"(request {action.id[:8]}); nothing changes until an operator or admin approves.",
        cards=[action_card(action, site.tz)],
        action=action,
    )


async def stop_miners(tb: Toolbox, site: Site, args: LoadsArgs, ctx: CallContext) -> ToolOutput:
    return await request(tb, site, "stop_miners", {"loads": args.loads}, ctx)


async def start_miners(tb: Toolbox, site: Site, args: LoadsArgs, ctx: CallContext) -> ToolOutput:
    return await request(tb, site, "start_miners", {"loads": args.loads}, ctx)


async def set_grid_charge(
    tb: Toolbox, site: Site, args: GridChargeArgs, ctx: CallContext
) -> ToolOutput:
    kind = "grid_charge_on" if args.enabled else "grid_charge_off"
    return await request(tb, site, kind, {}, ctx)


async def start_generator(tb: Toolbox, site: Site, _args: SiteArgs, ctx: CallContext) -> ToolOutput:
    return await request(tb, site, "generator_start", {}, ctx)


async def stop_generator(tb: Toolbox, site: Site, _args: SiteArgs, ctx: CallContext) -> ToolOutput:
    return await request(tb, site, "generator_stop", {}, ctx)


SPECS: tuple[ToolSpec, ...] = (
    ToolSpec(
        name="stop_miners",
        kind="action",
        permission=Permission.REQUEST_ACTION,
        args=LoadsArgs,
        run=stop_miners,
        description="Propose switching miners off (all, or the named ones). "
        "Creates an action request that a person must approve.",
    ),
    ToolSpec(
        name="start_miners",
        kind="action",
        permission=Permission.REQUEST_ACTION,
        args=LoadsArgs,
        run=start_miners,
        description="Propose switching miners on (all, or the named ones). "
        "Creates an action request that a person must approve.",
    ),
    ToolSpec(
        name="set_grid_charge",
        kind="action",
        permission=Permission.REQUEST_ACTION,
        args=GridChargeArgs,
        run=set_grid_charge,
        description="Propose turning charging the battery from the grid on or off. "
        "Creates an action request that a person must approve.",
    ),
    ToolSpec(
        name="start_generator",
        kind="action",
        permission=Permission.REQUEST_ACTION,
        args=SiteArgs,
        run=start_generator,
        description="Propose starting the generator. Creates an action request that a "
        "person must approve.",
    ),
    ToolSpec(
        name="stop_generator",
        kind="action",
        permission=Permission.REQUEST_ACTION,
        args=SiteArgs,
        run=stop_generator,
        description="Propose stopping the generator. Creates an action request that a "
        "person must approve.",
    ),
)
