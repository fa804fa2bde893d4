"""Alert and action cards in the site's channel: one message per alert, edited in place."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from bot.chat.base import ChatAdapter
from tools.actions.service import SYSTEM_ACTOR, ActionService, ActionView
from tools.alerts.engine import AlertEngine, AlertEvent, AlertView
from tools.cards import action_card, alert_card
from tools.errors import ActionError
from tools.site import Site

log = logging.getLogger(__name__)


class Notifier:
    def __init__(
        self,
        *,
        adapter: ChatAdapter,
        sites: Mapping[str, Site],
        alerts: AlertEngine,
        actions: ActionService,
    ) -> None:
        self._adapter = adapter
        self._sites = sites
        self._alerts = alerts
        self._actions = actions

    def channel(self, site: str) -> str:
        channels = self._sites[site].channels
        value = getattr(channels, self._adapter.platform, None)
        return str(value or channels.console)

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

    async def on_alert_event(self, event: AlertEvent) -> None:
        alert = event.alert
        tz = self._sites[alert.site].tz
        if event.kind == "fired":
            action, note = await self._proposal(alert)
            card = alert_card(alert, action, tz, note=note)
            ref = await self._adapter.post(self.channel(alert.site), card=card)
            await self._alerts.set_message(alert_id=alert.id, message=ref)
            if action is not None:
                await self._actions.set_message(action_id=action.id, message=ref)
            return
        action = await self._linked_action(alert)
        card = alert_card(alert, action, tz)
        if alert.message is not None:
            await self._adapter.update(alert.message, card=card)
        else:
            await self._adapter.post(self.channel(alert.site), card=card)

    async def on_action_change(self, action: ActionView) -> None:
        """Re-render whichever card shows this request."""
        tz = self._sites[action.site].tz
        if action.alert_id is not None:
            alert = await self._alerts.get(action.alert_id)
            if alert is not None and alert.message is not None:
                await self._adapter.update(alert.message, card=alert_card(alert, action, tz))
                return
        if action.message is not None:
            await self._adapter.update(action.message, card=action_card(action, tz))
