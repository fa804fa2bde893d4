"""People tools: remembered preferences (battery floor, display units), roles, and who
a person is."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field

from tools.agent.spec import CallContext, SiteArgs, ToolOutput, ToolSpec
from tools.permissions import Permission, authorize
from tools.site import Site

if TYPE_CHECKING:
    from tools.agent.toolbox import Toolbox


class PreferencesArgs(SiteArgs):
    min_soc_pct: float | None = Field(
        default=None,
        ge=0,
        le=100,
        description="Keep the battery above this SOC %: plans, forecasts and alerts use it "
        "(operators and admins; it can only raise the site file's floor)",
    )
    power_unit: Literal["W", "kW"] | None = Field(default=None, description="This person's unit")
    temperature_unit: Literal["C", "F"] | None = Field(
        default=None, description="This person's unit: C or F"
    )


class RoleArgs(BaseModel):
    user_id: str = Field(min_length=1, description="The person's user id on this platform")
    role: Literal["admin", "manager", "operator", "finance", "viewer"]
    site: str | None = Field(
        default=None, description="Only when a site was named (a role given in chat holds at all)"
    )


class WhoArgs(BaseModel):
    user_id: str = Field(
        min_length=1,
        max_length=128,
        description='The person\'s user id on this platform, or "me" for the asker',
    )


async def set_preferences(
    tb: Toolbox, site: Site, args: PreferencesArgs, ctx: CallContext
) -> ToolOutput:
    if tb.preferences is None:
        return ToolOutput(text="Preferences are not available here.", error=True)
    if args.min_soc_pct is None and args.power_unit is None and args.temperature_unit is None:
        return ToolOutput(
            text="Tell me what to remember: a battery floor (e.g. keep the battery above "
            "45 %) or units (kW or W, °C or °F).",
            error=True,
        )
    done: list[str] = []
    now = tb.clock.now()
    if args.min_soc_pct is not None:
        authorize(ctx.principal, Permission.SET_SITE_PREFERENCES, site.name)
        floor = tb.preferences.check_battery_floor(site.name, args.min_soc_pct)
        await tb.preferences.set(
            scope="site",
            scope_id=site.name,
            key="battery",
            value={"min_soc_pct": floor, "set_by": ctx.requested_by},
            now=now,
        )
        done.append(
            f"I will keep {site.display_name}'s battery above {floor:g} %: plans, forecasts "
            "and the low-battery warning now use this floor"
        )
    if args.power_unit is not None or args.temperature_unit is not None:
        current = tb.preferences.get("person", ctx.requested_by, "display")
        if args.power_unit is not None:
            current["power_unit"] = args.power_unit
        if args.temperature_unit is not None:
            current["temperature_unit"] = args.temperature_unit
        await tb.preferences.set(
            scope="person", scope_id=ctx.requested_by, key="display", value=current, now=now
        )
        units = tb.preferences.display(ctx.requested_by)
        done.append(
            f"I will show you power in {units['power_unit']} and temperatures in "
            f"°{units['temperature_unit']}"
        )
    return ToolOutput(text=". ".join(done) + ".")


async def set_role(tb: Toolbox, _site: Site, args: RoleArgs, ctx: CallContext) -> ToolOutput:
    if tb.directory is None:
        return ToolOutput(text="Roles cannot be changed here.", error=True)
    if args.site is not None:
        # A role given in chat holds at every site: granting it "for the barn" would give
        # more than was asked. Site limits live in the site file.
        return ToolOutput(
            text=f"A role given in chat holds at every site, so I cannot make "
            f"{args.user_id} {args.role} at {args.site} only. To limit them to {args.site}, "
            f"list them in the site file with sites: [{args.site}] and restart; to give the "
            "role at every site, ask again without naming a site. Nothing was changed.",
            error=True,
        )
    by = ctx.actor
    text = await tb.directory.grant(by, platform=by.platform, user_id=args.user_id, role=args.role)
    return ToolOutput(text=text)


async def who_is(tb: Toolbox, _site: Site, args: WhoArgs, ctx: CallContext) -> ToolOutput:
    if tb.directory is None:
        return ToolOutput(text="People are not known here.", error=True)
    platform, _, asker = ctx.requested_by.partition(":")
    user_id = args.user_id.strip().lstrip("@").strip("<>@")
    if user_id.lower() in ("me", "myself", "i"):
        user_id = asker  # "what's my role?"
    else:
        user_id = await tb.directory.resolve(platform, user_id)  # a name: the one person
    who = await tb.directory.identity(platform, user_id)
    return ToolOutput(text=who.describe())


SPECS: tuple[ToolSpec, ...] = (
    ToolSpec(
        name="set_preferences",
        kind="change",
        args=PreferencesArgs,
        run=set_preferences,
        description="Remember preferences: the battery floor to keep ('keep the battery above "
        "45 %') and this person's display units (kW or W, °C or °F).",
    ),
    ToolSpec(
        name="set_role",
        kind="change",
        permission=Permission.MANAGE_ROLES,
        args=RoleArgs,
        run=set_role,
        description="Admins with access to every site: give a person on this chat platform "
        "a role (admin, manager, operator, finance, viewer).",
    ),
    ToolSpec(
        name="who_is",
        kind="read",
        args=WhoArgs,
        run=who_is,
        description="A person's role, where it comes from (site file, chat grant, group) "
        "and the sites they may use.",
    ),
)
