"""Alert tools: what is open, and acknowledging, snoozing and silencing it, and this
channel's alert preferences. The lifecycle rules live in tools/alerts."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field

from tools.agent.common import alert_reason
from tools.agent.spec import CallContext, NoArgs, SiteArgs, ToolOutput, ToolSpec
from tools.alerts.engine import AlertError, AlertView
from tools.alerts.silences import Matcher
from tools.cards import local_time
from tools.permissions import Forbidden, Permission, authorize
from tools.site import Site

if TYPE_CHECKING:
    from tools.agent.toolbox import Toolbox


class AlertRefArgs(SiteArgs):
    alert_id: int | None = Field(
        default=None, description="The alert's number; omit for every firing alert at the site"
    )


class SnoozeArgs(AlertRefArgs):
    minutes: int | None = Field(default=None, gt=0, le=60 * 24 * 14, description="How long")
    until: Literal["tomorrow"] | None = Field(
        default=None, description="'tomorrow' snoozes until 08:00 local time tomorrow"
    )


class SilenceArgs(SiteArgs):
    category: (
        Literal[
            "battery",
            "grid",
            "inverter",
            "device",
            "solar",
            "load",
            "generator",
            "cost",
            "opportunity",
        ]
        | None
    ) = None
    rule: str | None = Field(default=None, description="A rule name, e.g. device_offline")
    severity: Literal["info", "warning", "critical"] | None = None
    hours: float = Field(default=24.0, gt=0, le=24 * 90)
    preview: bool = Field(default=False, description="Only show what the silence would match")


class SilenceRefArgs(BaseModel):
    silence_id: int | None = Field(default=None, description="Omit when exactly one is active")


class AlertPrefsArgs(BaseModel):
    critical_only: bool | None = None
    quiet_hours: list[str] | None = Field(
        default=None, description='Local ["HH:MM", "HH:MM"]: only critical alerts then'
    )
    clear: bool = Field(default=False, description="Remove quiet hours")


async def active_alerts(tb: Toolbox, site: Site, _args: SiteArgs, _ctx: CallContext) -> ToolOutput:
    alerts = await tb.alerts.open_alerts(site.name)
    if not alerts:
        return ToolOutput(text=f"No open alerts at {site.display_name}.")
    lines = [
        f"- [{a.severity}] {a.title} ({a.status}, since "
        f"{local_time(a.started_at, site.tz)}): {a.summary}"
        for a in alerts
    ]
    return ToolOutput(
        text=f"{len(alerts)} open alert(s) at {site.display_name}:\n" + "\n".join(lines),
        why="\n".join(alert_reason(a) for a in alerts),
    )


async def _alert_site(tb: Toolbox, args: AlertRefArgs) -> str | None:
    """The site of the alert ``args`` names by number (the call is about that site)."""
    if args.alert_id is None:
        return None
    alert = await tb.alerts.get(args.alert_id)
    return alert.site if alert is not None else None


async def _targets(
    tb: Toolbox, site: Site, alert_id: int | None, statuses: tuple[str, ...], ctx: CallContext
) -> list[AlertView]:
    if alert_id is not None:
        alert = await tb.alerts.get(alert_id)
        if alert is None:
            raise AlertError(f"There is no alert {alert_id}.")
        # The toolbox authorised the alert's own site (``_alert_site``); a site named
        # in the same breath must be that one.
        authorize(ctx.principal, Permission.HANDLE_ALERTS, alert.site)
        if alert.site != site.name:
            raise AlertError(f"Alert {alert_id} is at {alert.site}, not at {site.display_name}.")
        return [alert]
    return [a for a in await tb.alerts.open_alerts(site.name) if a.status in statuses]


async def acknowledge_alert(
    tb: Toolbox, site: Site, args: AlertRefArgs, ctx: CallContext
) -> ToolOutput:
    targets = await _targets(tb, site, args.alert_id, ("firing", "snoozed"), ctx)
    if not targets:
        return ToolOutput(text=f"No firing alerts to acknowledge at {site.display_name}.")
    done: list[AlertView] = []
    skipped: list[AlertView] = []
    for alert in targets:
        event = await tb.alerts.acknowledge(
            alert_id=alert.id, actor=ctx.actor_label or ctx.requested_by
        )
        await tb.emit(event)
        (done if event else skipped).append(alert)
    text = "; ".join(f"acknowledged alert {a.id} ({a.title})" for a in done) or ""
    if skipped:
        text += ("; " if text else "") + "; ".join(
            f"alert {a.id} is {a.status}, nothing to acknowledge" for a in skipped
        )
    return ToolOutput(text=text[0].upper() + text[1:] + ".")


async def snooze_alert(tb: Toolbox, site: Site, args: SnoozeArgs, ctx: CallContext) -> ToolOutput:
    now = tb.clock.now()
    if args.until == "tomorrow":
        local = now.astimezone(site.tz)
        until = datetime.combine(
            local.date() + timedelta(days=1),
            datetime.min.time().replace(hour=8),
            tzinfo=site.tz,
        ).astimezone(UTC)
    else:
        until = now + timedelta(minutes=args.minutes or 60)
    targets = await _targets(tb, site, args.alert_id, ("firing", "acknowledged", "snoozed"), ctx)
    if not targets:
        return ToolOutput(text=f"No open alerts to snooze at {site.display_name}.")
    lines = []
    for alert in targets:
        event = await tb.alerts.snooze(
            alert_id=alert.id, actor=ctx.actor_label or ctx.requested_by, until=until
        )
        await tb.emit(event)
        lines.append(
            f"Snoozed alert {alert.id} ({alert.title}) until {local_time(until, site.tz)}"
            if event
            else f"Alert {alert.id} is {alert.status}; not snoozed"
        )
    return ToolOutput(text=". ".join(lines) + ".")


async def silence_alerts(
    tb: Toolbox, site: Site, args: SilenceArgs, ctx: CallContext
) -> ToolOutput:
    matchers = [Matcher("site", "=", site.name)]
    if args.category:
        matchers.append(Matcher("category", "=", args.category))
    if args.rule:
        matchers.append(Matcher("rule", "=", args.rule))
    if args.severity:
        matchers.append(Matcher("severity", "=", args.severity))
    matched = await tb.alerts.preview_silence(matchers)
    what = " and ".join(str(m) for m in matchers)
    listing = (
        "; ".join(f"alert {a.id} {a.title}" for a in matched)
        if matched
        else "no open alert right now"
    )
    if args.preview:
        return ToolOutput(text=f"A silence of {what} would match {listing}.")
    ends = tb.clock.now() + timedelta(hours=args.hours)
    silence = await tb.alerts.add_silence(
        matchers=matchers,
        ends_at=ends,
        created_by=ctx.actor_label or ctx.requested_by,
        comment=f"from chat in {ctx.channel or 'a DM'}",
    )
    return ToolOutput(
        text=f"Silence {silence.id} ({what}) until {local_time(ends, site.tz)}. "
        f"It matches {listing}. Remove it with 'remove silence {silence.id}'."
    )


def _silence_sites(matchers: Sequence[Matcher]) -> list[str]:
    """The sites a silence is limited to ([] when it may match every site)."""
    return [m.value for m in matchers if m.label == "site" and m.op == "="]


async def list_silences(tb: Toolbox, site: Site, _args: NoArgs, ctx: CallContext) -> ToolOutput:
    silences = [
        s
        for s in await tb.alerts.list_silences()
        if all(ctx.principal.may_see(name) for name in _silence_sites(s.matchers))
    ]
    if not silences:
        return ToolOutput(text="No active silences.")
    return ToolOutput(
        text="Active silences:\n"
        + "\n".join(
            f"- {s.id}: {s.describe()} until {local_time(s.ends_at, site.tz)} (by {s.created_by})"
            for s in silences
        )
    )


async def remove_silence(
    tb: Toolbox, _site: Site, args: SilenceRefArgs, ctx: CallContext
) -> ToolOutput:
    silence_id = args.silence_id
    active = await tb.alerts.list_silences()
    for found in active:
        if silence_id is None or found.id == silence_id:
            names = _silence_sites(found.matchers)
            if not names and ctx.sites is not None:
                raise Forbidden(
                    f"Silence {found.id} covers every site and you are limited to "
                    f"{', '.join(sorted(ctx.sites))}; ask an admin to remove it."
                )
            for name in names:
                authorize(ctx.principal, Permission.HANDLE_ALERTS, name)
    if silence_id is None:
        if len(active) != 1:
            return ToolOutput(
                text=f"There are {len(active)} active silences; say which one to remove.",
                error=True,
            )
        silence_id = active[0].id
    removed = await tb.alerts.remove_silence(
        silence_id=silence_id, removed_by=ctx.actor_label or ctx.requested_by
    )
    return ToolOutput(text=f"Removed silence {removed.id} ({removed.describe()}).")


async def set_alert_preferences(
    tb: Toolbox, _site: Site, args: AlertPrefsArgs, ctx: CallContext
) -> ToolOutput:
    if tb.preferences is None:
        return ToolOutput(text="Preferences are not available here.", error=True)
    channel = ctx.channel or ctx.requested_by
    # A channel's settings hold back the alerts of the sites that post there: they are
    # those sites' settings, whichever site the person asked from may use.
    for name in _sites_posting_to(tb, ctx):
        authorize(ctx.principal, Permission.SET_SITE_PREFERENCES, name)
    current = tb.preferences.get("channel", channel, "alerts")
    if args.critical_only is not None:
        current["critical_only"] = args.critical_only
    if args.clear:
        current.pop("quiet_hours", None)
    elif args.quiet_hours is not None:
        if len(args.quiet_hours) != 2 or not all(
            re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", t) for t in args.quiet_hours
        ):
            return ToolOutput(
                text="Quiet hours need a start and an end as HH:MM, e.g. 22:00 and 07:00.",
                error=True,
            )
        current["quiet_hours"] = list(args.quiet_hours)
    await tb.preferences.set(
        scope="channel", scope_id=channel, key="alerts", value=current, now=tb.clock.now()
    )
    prefs = await tb.preferences.channel_prefs(channel)
    parts = ["critical alerts only" if prefs.critical_only else "all alerts"]
    if prefs.quiet_hours:
        parts.append(
            f"quiet hours {prefs.quiet_hours[0]}–{prefs.quiet_hours[1]} (critical still posted)"
        )
    return ToolOutput(text=f"This channel now gets {', '.join(parts)}.")


def _sites_posting_to(tb: Toolbox, ctx: CallContext) -> list[str]:
    """The sites whose alerts go to the channel the person is speaking in."""
    platform = ctx.requested_by.partition(":")[0]
    return [
        site.name
        for site in tb.sites.values()
        if ctx.channel and getattr(site.channels, platform, None) == ctx.channel
    ]


SPECS: tuple[ToolSpec, ...] = (
    ToolSpec(
        name="active_alerts",
        kind="read",
        args=SiteArgs,
        run=active_alerts,
        description="Alerts that are firing or acknowledged at a site.",
    ),
    ToolSpec(
        name="acknowledge_alert",
        kind="change",
        permission=Permission.HANDLE_ALERTS,
        args=AlertRefArgs,
        run=acknowledge_alert,
        site_of_ids=_alert_site,
        description="Acknowledge a firing alert (or every firing alert at the site): it "
        "stops reminders and escalation; the alert still resolves by itself.",
    ),
    ToolSpec(
        name="snooze_alert",
        kind="change",
        permission=Permission.HANDLE_ALERTS,
        args=SnoozeArgs,
        run=snooze_alert,
        site_of_ids=_alert_site,
        description="Snooze an alert (default 1 hour, or until tomorrow morning); it "
        "fires again afterwards if the condition still holds.",
    ),
    ToolSpec(
        name="silence_alerts",
        kind="change",
        permission=Permission.HANDLE_ALERTS,
        args=SilenceArgs,
        run=silence_alerts,
        description="Mute notifications of alerts matching site/category/rule/severity "
        "for some hours, showing which open alerts it matches (or only preview that).",
    ),
    ToolSpec(
        name="list_silences",
        kind="read",
        args=NoArgs,
        run=list_silences,
        description="The active silences with what they match and when they end.",
    ),
    ToolSpec(
        name="remove_silence",
        kind="change",
        permission=Permission.HANDLE_ALERTS,
        args=SilenceRefArgs,
        run=remove_silence,
        description="End a silence early.",
    ),
    ToolSpec(
        name="set_alert_preferences",
        kind="change",
        permission=Permission.SET_SITE_PREFERENCES,
        args=AlertPrefsArgs,
        run=set_alert_preferences,
        description="This channel's alert preferences: critical alerts only, and quiet "
        "hours during which only critical alerts are posted.",
    ),
)
