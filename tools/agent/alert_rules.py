"""Alert-rule tools: thresholds people set in chat ("alert me if the panel voltage drops
below 12 V"), listing and removing them. The rule logic and storage live in
:mod:`tools.alerts.user_rules`; the alert engine evaluates the stored rules."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from tools.agent.spec import CallContext, SiteArgs, ToolOutput, ToolSpec
from tools.alerts.user_rules import (
    AlertRuleError,
    UserRule,
    UserRuleStore,
    current_value,
    draft_rule,
    resolve_metric,
    show,
)
from tools.permissions import Permission, authorize
from tools.site import Site

if TYPE_CHECKING:
    from tools.agent.toolbox import Toolbox


class AlertRuleArgs(SiteArgs):
    # Kept short: every bound tool's schema costs prompt tokens. Lengths and the hold
    # time are checked by draft_rule, with a clear error.
    metric: str = Field(description="e.g. battery soc, panel voltage, load, fuel")
    comparator: Literal["<", "<=", ">", ">="]
    value: float
    unit: str | None = Field(default=None, description="V, W, kW, %, C, F, L ...")
    hold_minutes: float | None = None
    severity: Literal["info", "warning", "critical"] = "warning"


class AlertRuleRefArgs(SiteArgs):
    rule_id: int | None = Field(default=None, ge=1)
    metric: str | None = Field(
        default=None, max_length=64, description="Without a number: the rule's reading"
    )
    value: float | None = Field(default=None, description="and its threshold")


def _store(tb: Toolbox) -> UserRuleStore:
    if tb.alert_rules is None:
        raise AlertRuleError("Alert rules are not available in this process.")
    return tb.alert_rules


async def set_alert_rule(
    tb: Toolbox, site: Site, args: AlertRuleArgs, ctx: CallContext
) -> ToolOutput:
    store = _store(tb)
    if not 0 < len(args.metric.strip()) <= 64 or len(args.unit or "") > 16:
        raise AlertRuleError("Name the reading (e.g. 'battery soc') and a unit such as V or %.")
    state = tb.state(site.name)
    draft = draft_rule(
        site,
        state,
        metric=args.metric,
        comparator=args.comparator,
        value=args.value,
        unit=args.unit,
        hold_minutes=args.hold_minutes,
        severity=args.severity,
    )
    name = ctx.actor_label or ctx.requested_by.partition(":")[2] or ctx.requested_by
    rule = await store.add(draft, created_by=ctx.requested_by, created_by_name=name, now=tb.now())
    value = current_value(rule, state)
    now = (
        f" Now {show(value, rule.unit)}."
        if value is not None
        else " No reading of it yet; it is checked as readings arrive."
    )
    return ToolOutput(
        text=f"Alert rule #{rule.id} set at {site.display_name}: {rule.condition}"
        + (f" for {args.hold_minutes:g} min" if rule.hold_s > 0 else "")
        + f" ({rule.severity}).{now} Remove it with 'delete rule {rule.id}'."
    )


async def list_alert_rules(
    tb: Toolbox, site: Site, _args: SiteArgs, _ctx: CallContext
) -> ToolOutput:
    rules = await _store(tb).list(site.name)
    if not rules:
        return ToolOutput(
            text=f"No alert rules set in chat at {site.display_name}. Set one with e.g. "
            "'alert me if the battery drops below 30 %'."
        )
    state = tb.state(site.name)
    lines = []
    for rule in rules:
        value = current_value(rule, state)
        now = f", now {show(value, rule.unit)}" if value is not None else ""
        lines.append(f"- {rule.describe()}{now}")
    return ToolOutput(
        text=f"{len(rules)} alert rule(s) at {site.display_name}:\n" + "\n".join(lines)
    )


async def _rule_site(tb: Toolbox, args: AlertRuleRefArgs) -> str | None:
    """The site of the rule ``args`` names by number (the call is about that site)."""
    if args.rule_id is None:
        return None
    rule = await _store(tb).get(args.rule_id)
    return rule.site if rule is not None else None


async def remove_alert_rule(
    tb: Toolbox, site: Site, args: AlertRuleRefArgs, ctx: CallContext
) -> ToolOutput:
    store = _store(tb)
    if args.rule_id is None:
        # "remove my 30 % battery warning": the one rule of the site that fits.
        matches = await _rules_like(tb, store, site, args)
        if len(matches) != 1:
            described = "\n".join(f"- {r.describe()}" for r in matches)
            return ToolOutput(
                text=(
                    f"Several alert rules at {site.display_name} fit; say which by number "
                    f"(e.g. 'delete rule {matches[0].id}'):\n{described}"
                    if matches
                    else f"No alert rule at {site.display_name} fits that; "
                    "'list alert rules' shows them with their numbers."
                ),
                error=not matches,
            )
        rule: UserRule | None = matches[0]
    else:
        rule = await store.get(args.rule_id)
        if rule is None:
            raise AlertRuleError(f"There is no alert rule #{args.rule_id}.")
    assert rule is not None
    # The toolbox authorised the rule's own site (``_rule_site``); a site named in the
    # same breath must be that one.
    authorize(ctx.principal, Permission.MANAGE_ALERT_RULES, rule.site)
    if rule.site != site.name:
        raise AlertRuleError(
            f"Alert rule #{rule.id} is at {rule.site}, not at {site.display_name}."
        )
    removed = await store.remove(rule.id, removed_by=ctx.requested_by, now=tb.now())
    known = tb.sites.get(removed.site)
    where = known.display_name if known is not None else removed.site
    return ToolOutput(
        text=f"Removed alert rule #{removed.id} at {where} ({removed.condition}); its open "
        "alert, if any, resolves with the next readings."
    )


async def _rules_like(
    tb: Toolbox, store: UserRuleStore, site: Site, args: AlertRuleRefArgs
) -> list[UserRule]:
    """The site's rules on the reading ``args.metric`` names (and at ``args.value`` when
    given, in the unit the rule was set in); every rule of the site when it names none."""
    rules = await store.list(site.name)
    if args.metric:
        try:
            metric = resolve_metric(site, tb.state(site.name), args.metric, None)
        except AlertRuleError:
            return []
        rules = [r for r in rules if r.metric == metric]
    if args.value is not None:
        value = args.value
        rules = [r for r in rules if f"{value:g}" in r.threshold_text] or rules
    return rules


SPECS: tuple[ToolSpec, ...] = (
    ToolSpec(
        name="set_alert_rule",
        kind="change",
        permission=Permission.MANAGE_ALERT_RULES,
        args=AlertRuleArgs,
        run=set_alert_rule,
        description="Alert when a reading crosses a threshold ('alert me if the panel voltage "
        "drops below 12 V').",
    ),
    ToolSpec(
        name="list_alert_rules",
        kind="read",
        args=SiteArgs,
        run=list_alert_rules,
        description="The alert rules people set in chat for a site, with their numbers.",
    ),
    ToolSpec(
        name="remove_alert_rule",
        kind="change",
        permission=Permission.MANAGE_ALERT_RULES,
        args=AlertRuleRefArgs,
        run=remove_alert_rule,
        site_of_ids=_rule_site,
        description="Delete an alert rule by its number; its open alert resolves.",
    ),
)
