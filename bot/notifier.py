"""Alerts and action requests in the site's channel.

- One message per alert (or per group of alerts that started together), edited
  in place as the alert is acknowledged, snoozed, escalated or resolved.
- Critical alerts are posted at once; others wait ``group_wait_s`` so that a
  burst at one site folds into one grouped message, and a site that just posted
  waits ``group_interval_s`` before the next group.
- Posts and edits to one channel are spaced at least ``min_interval_s`` apart.
- Silenced alerts are not posted; channel preferences can ask for critical
  alerts only and for quiet hours (critical alerts still go through).
- Reminders and escalations are short messages pointing at the alert.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.chat.base import Adapters, ChatAdapter, MessageRef
from tools.actions.service import SYSTEM_ACTOR, ActionService, ActionView
from tools.alerts.engine import AlertEngine, AlertEvent, AlertView
from tools.cards import Card, action_card, alert_card, alert_group_card, local_time
from tools.clock import Clock
from tools.errors import ActionError
from tools.preferences import ChannelPrefs
from tools.site import Site

log = logging.getLogger(__name__)


PrefsSource = Callable[[str], Awaitable[ChannelPrefs]]


async def _no_prefs(_channel: str) -> ChannelPrefs:
    return ChannelPrefs()


class ChannelLimiter:
    """Spaces the messages sent to one channel at least ``min_interval_s`` apart."""

    def __init__(self, min_interval_s: float = 1.0) -> None:
        self._min = min_interval_s
        self._next: dict[str, float] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def wait(self, channel: str) -> None:
        lock = self._locks.setdefault(channel, asyncio.Lock())
        async with lock:
            now = time.monotonic()
            at = self._next.get(channel, now)
            if at > now:
                await asyncio.sleep(at - now)
            # from the moment this message really goes (a busy loop may wake it late),
            # not from the slot it was given: the next one then never comes sooner
            self._next[channel] = time.monotonic() + self._min


@dataclass(slots=True)
class _Group:
    deadline: datetime
    alerts: list[AlertView] = field(default_factory=list)


class Notifier:
    def __init__(
        self,
        *,
        adapters: Adapters,
        sites: Mapping[str, Site],
        alerts: AlertEngine,
        actions: ActionService,
        clock: Clock,
        prefs: PrefsSource = _no_prefs,
        limiter: ChannelLimiter | None = None,
        on_deliver: Callable[[AlertEvent, Card], Awaitable[None]] | None = None,
    ) -> None:
        self._adapters = adapters
        self._sites = sites
        self._alerts = alerts
        self._actions = actions
        self._clock = clock
        self._prefs = prefs
        self._limiter = limiter or ChannelLimiter()
        self._on_deliver = on_deliver
        self._groups: dict[str, _Group] = {}
        self._last_group_post: dict[str, datetime] = {}
        self.held_back: list[tuple[int, str]] = []  # (alert id, why) for status and tests

    def channel(self, site: str, platform: str = "console") -> str | None:
        """The site's channel on ``platform`` (the console always has one)."""
        channels = self._sites[site].channels
        value = getattr(channels, platform, None)
        if value:
            return str(value)
        return channels.console if platform == "console" else None

    def _targets(self, site: str) -> list[tuple[ChatAdapter, str]]:
        out = []
        for adapter in self._adapters:
            channel = self.channel(site, adapter.platform)
            if channel is not None:
                out.append((adapter, channel))
        return out

    # -- sending (rate limited) ----------------------------------------------------------

    async def _post_site(
        self, site: str, *, card: Card | None = None, text: str = "", channel: str | None = None
    ) -> MessageRef | None:
        """Post to the site's channel on every platform; the first reference carries the
        others under ``also`` so that one stored reference edits them all."""
        refs: list[MessageRef] = []
        for adapter, site_channel in self._targets(site):
            target = channel or site_channel
            await self._limiter.wait(f"{adapter.platform}:{target}")
            try:
                refs.append(await adapter.post(target, text=text, card=card))
            except Exception:  # one platform's outage must not stop the others
                log.exception("posting to %s %s failed", adapter.platform, target)
        if not refs:
            return None
        first = dict(refs[0])
        if len(refs) > 1:
            first["also"] = refs[1:]
        return first

    async def _update(self, ref: MessageRef, card: Card) -> None:
        for one in [ref, *ref.get("also", [])]:
            adapter = self._adapters.get(str(one.get("platform", "console")))
            if adapter is None:
                continue
            await self._limiter.wait(f"{adapter.platform}:{one.get('channel', '')}")
            clean = {k: v for k, v in one.items() if k != "also"}
            try:
                await adapter.update(clean, card=card)
            except Exception:
                log.exception("editing a %s message failed", adapter.platform)

    # -- proposals ---------------------------------------------------------------------

    async def _proposal(self, alert: AlertView) -> tuple[ActionView | None, str]:
        """The approval-gated action an alert proposes, created once per alert.

        When the same action already awaits approval for the site (proposed by
        another alert or asked for in chat), no second request is made; the
        returned note points to the existing one instead.
        """
        if alert.proposed_action is None:
            return None, ""
        waiting = [
            a
            for a in await self._actions.list_requests(site=alert.site, statuses=("pending",))
            if a.kind == alert.proposed_action and a.alert_id != alert.id
        ]
        if waiting:
            return None, (
                f"Proposed action already awaiting approval: {waiting[0].title} "
                f"(request {waiting[0].id[:8]})."
            )
        try:
            return await self._actions.request(
                site=alert.site,
                kind=alert.proposed_action,
                params=dict(alert.proposed_params or {}),
                requested_by=SYSTEM_ACTOR.key,
                reason=f"Proposed by alert: {alert.summary}",
                alert_id=alert.id,
                idempotency_key=f"alert:{alert.id}:{alert.proposed_action}",
            ), ""
        except ActionError as err:
            log.info("alert %s: no action proposed: %s", alert.id, err)
            return None, ""

    async def _linked_action(self, alert: AlertView) -> ActionView | None:
        linked = [
            a for a in await self._actions.list_requests(site=alert.site) if a.alert_id == alert.id
        ]
        return linked[-1] if linked else None

    # -- events ------------------------------------------------------------------------

    async def on_alert_event(self, event: AlertEvent) -> None:
        alert = event.alert
        site = self._sites[alert.site]
        if event.kind == "fired":
            if event.silenced:
                self.held_back.append((alert.id, "silenced"))
                return
            channel = self.channel(alert.site) or ""
            why = (await self._prefs(channel)).mutes(alert.severity, self._local(site))
            if why is not None:
                self.held_back.append((alert.id, why))
                return
            await self._deliver(event, alert_card(alert, None, site.tz))
            if alert.severity == "critical" or site.alerts.group_wait_s <= 0:
                await self._post_alone(alert)
            else:
                self._enqueue(alert, site)
            return
        if event.kind == "unsilenced":
            await self._post_alone(alert)
            return
        if event.kind == "reminder":
            await self._remind(alert, site)
            return
        if event.kind == "escalation":
            await self._escalate(alert, site)
            return
        if event.kind == "resolved":
            await self._deliver(event, alert_card(alert, None, site.tz))
        group = self._groups.get(alert.site)
        if group is not None and any(a.id == alert.id for a in group.alerts):
            group.alerts = [alert if a.id == alert.id else a for a in group.alerts]
            return  # not posted yet: the group shows the latest state when it goes out
        await self._rerender(alert)

    async def on_alert_events(self, events: Sequence[AlertEvent]) -> None:
        """Many people's changes at once (a bulk acknowledge or snooze): each card that
        shows any of them is edited once, not once per alert."""
        cards: dict[str, AlertView] = {}
        for event in events:
            if event.kind not in ("acknowledged", "snoozed"):
                await self.on_alert_event(event)
                continue
            alert = event.alert
            group = self._groups.get(alert.site)
            if group is not None and any(a.id == alert.id for a in group.alerts):
                group.alerts = [alert if a.id == alert.id else a for a in group.alerts]
                continue
            if alert.message is None:
                continue
            ref = alert.message
            key = f"{ref.get('platform', '')}:{ref.get('channel', '')}:{ref.get('ref', '')}"
            cards[key] = alert
        for alert in cards.values():
            await self._rerender(alert)

    def _local(self, site: Site) -> datetime:
        return self._clock.now().astimezone(site.tz)

    def _enqueue(self, alert: AlertView, site: Site) -> None:
        now = self._clock.now()
        group = self._groups.get(alert.site)
        if group is None:
            deadline = now + timedelta(seconds=site.alerts.group_wait_s)
            last = self._last_group_post.get(alert.site)
            if last is not None:
                deadline = max(deadline, last + timedelta(seconds=site.alerts.group_interval_s))
            group = self._groups[alert.site] = _Group(deadline=deadline)
        group.alerts.append(alert)

    async def flush_due(self) -> int:
        """Post the groups whose wait is over; returns how many messages went out."""
        now = self._clock.now()
        due = [s for s, g in self._groups.items() if g.deadline <= now]
        for site_name in due:
            group = self._groups.pop(site_name)
            self._last_group_post[site_name] = now
            fresh = [await self._alerts.get(a.id) or a for a in group.alerts]
            still = [a for a in fresh if a.status != "resolved"]
            if not still:
                continue  # everything cleared while waiting: nothing to say
            if len(still) == 1:
                await self._post_alone(still[0])
                continue
            await self._post_group(site_name, still)
        return len(due)

    async def _post_alone(self, alert: AlertView) -> None:
        site = self._sites[alert.site]
        action, note = await self._proposal(alert)
        card = alert_card(alert, action, site.tz, note=note)
        ref = await self._post_site(alert.site, card=card)
        if ref is None:
            return
        log.info("card posted for alert(s) %d", alert.id)
        await self._alerts.set_message(alert_id=alert.id, message=ref)
        if action is not None:
            await self._actions.set_message(action_id=action.id, message=ref)

    async def _post_group(self, site_name: str, alerts: list[AlertView]) -> None:
        site = self._sites[site_name]
        actions: dict[int, ActionView] = {}
        for alert in alerts:
            action, _ = await self._proposal(alert)
            if action is not None:
                actions[alert.id] = action
        card = alert_group_card(alerts, actions, site.tz, site_title=site.display_name)
        ref = await self._post_site(site_name, card=card)
        if ref is None:
            return
        log.info("card posted for alert(s) %s", ",".join(str(a.id) for a in alerts))
        for alert in alerts:
            await self._alerts.set_message(alert_id=alert.id, message=ref)
        for action in actions.values():
            await self._actions.set_message(action_id=action.id, message=ref)

    async def _rerender(self, alert: AlertView) -> None:
        """Edit the card that shows ``alert`` (alone or in its group)."""
        if alert.message is None:
            return
        site = self._sites[alert.site]
        ref = alert.message
        key = f"{ref.get('platform', '')}:{ref.get('channel', '')}:{ref.get('ref', '')}"
        members = await self._alerts.alerts_on_message(key)
        if len(members) <= 1:
            action = await self._linked_action(alert)
            await self._update(ref, alert_card(alert, action, site.tz))
            return
        ids = {m.id for m in members}
        actions: dict[int, ActionView] = {}
        for request in await self._actions.list_requests(site=alert.site):  # one query
            if request.alert_id in ids:
                actions[request.alert_id] = request  # the latest one per alert wins
        card = alert_group_card(members, actions, site.tz, site_title=site.display_name)
        await self._update(ref, card)

    async def _remind(self, alert: AlertView, site: Site) -> None:
        since = alert.fired_at or alert.started_at
        hours = (self._clock.now() - since).total_seconds() / 3600
        await self._post_site(
            alert.site,
            text=f"Reminder: still firing after {hours:.1f} h and not acknowledged: "
            f"{alert.title} (alert {alert.id}, since {local_time(since, site.tz)}).",
        )

    async def _escalate(self, alert: AlertView, site: Site) -> None:
        target = site.alerts.escalate_to
        minutes = site.alerts.escalate_after_min or 0
        text = (
            f"Escalation: critical alert unacknowledged for {minutes:g} min at "
            f"{site.display_name}: {alert.title} (alert {alert.id}). {alert.summary}"
        )
        if target and target.startswith("#"):
            action = await self._linked_action(alert)
            await self._post_site(
                alert.site, text=text, card=alert_card(alert, action, site.tz), channel=target
            )
        else:
            mention = f"{target} " if target else ""
            await self._post_site(alert.site, text=mention + text)

    async def _deliver(self, event: AlertEvent, card: Card) -> None:
        if self._on_deliver is not None:
            try:
                await self._on_deliver(event, card)
            except Exception:  # e-mail/webhook trouble must never stop chat notifications
                log.exception("could not queue deliveries for alert %s", event.alert.id)

    async def on_action_change(self, action: ActionView) -> None:
        """Re-render whichever card shows this request."""
        tz = self._sites[action.site].tz
        if action.alert_id is not None:
            alert = await self._alerts.get(action.alert_id)
            if alert is not None and alert.message is not None:
                await self._rerender(alert)
                return
        if action.message is not None:
            await self._update(action.message, action_card(action, tz))
