"""The alert engine: rule verdicts → alert lifecycles in the database → events.

One open alert per fingerprint (``<site>:<rule>``), enforced by a partial
unique index, so a condition that stays true never posts twice, also across
processes. Lifecycle: firing → acknowledged → resolved (resolved straight from
firing when the condition clears). A rising severity updates the same alert.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import repositories as repo
from storage.models import AlertRow
from tools.alerts.rules import Severity, Verdict, evaluate
from tools.clock import Clock
from tools.site import Site
from tools.telemetry import SiteState

log = logging.getLogger(__name__)

EventKind = Literal["fired", "escalated", "acknowledged", "resolved"]


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertView:
    id: int
    site: str
    rule: str
    fingerprint: str
    severity: str
    status: str
    title: str
    summary: str
    value: float | None
    proposed_action: str | None
    started_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    message: dict[str, Any] | None

    @classmethod
    def of(cls, row: AlertRow) -> AlertView:
        return cls(
            id=row.id,
            site=row.site,
            rule=row.rule,
            fingerprint=row.fingerprint,
            severity=row.severity,
            status=row.status,
            title=row.title,
            summary=row.summary,
            value=row.value,
            proposed_action=row.proposed_action,
            started_at=row.started_at,
            updated_at=row.updated_at,
            resolved_at=row.resolved_at,
            acknowledged_by=row.acknowledged_by,
            acknowledged_at=row.acknowledged_at,
            message=row.message,
        )


@dataclass(frozen=True, slots=True)
class AlertEvent:
    kind: EventKind
    alert: AlertView


@dataclass(frozen=True, slots=True)
class _Open:
    id: int
    severity: str
    proposed_action: str | None


def fingerprint(site: str, rule: str) -> str:
    return f"{site}:{rule}"


class AlertEngine:
    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        sites: Mapping[str, Site],
        clock: Clock,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._sites = sites
        self._clock = clock
        self._open: dict[str, dict[str, _Open]] = {}

    async def _open_for(self, site: str, *, refresh: bool = False) -> dict[str, _Open]:
        """Open alerts of a site by rule, cached: evaluation only hits the database on change."""
        cached = self._open.get(site)
        if cached is not None and not refresh:
            return cached
        async with self._sessionmaker() as session, session.begin():
            rows = await repo.list_open_alerts(session, site=site)
        fresh = {r.rule: _Open(r.id, r.severity, r.proposed_action) for r in rows}
        self._open[site] = fresh
        return fresh

    async def evaluate(self, site_name: str, state: SiteState) -> list[AlertEvent]:
        """Evaluate every rule for one site and apply the verdicts; returns what changed."""
        site = self._sites[site_name]
        now = self._clock.now()
        open_rows = await self._open_for(site_name)
        open_severity: dict[str, Severity] = {
            rule: row.severity  # type: ignore[misc]
            for rule, row in open_rows.items()
        }
        changes = [
            v
            for v in evaluate(site, state, open_alerts=open_severity, now=now)
            if (v.active and (v.rule not in open_rows or open_rows[v.rule].severity != v.severity))
            or (not v.active and v.rule in open_rows)
        ]
        if not changes:
            return []
        events: list[AlertEvent] = []
        async with self._sessionmaker() as session:
            for verdict in changes:
                event = await self._apply(
                    session, site_name, verdict, open_rows.get(verdict.rule), now
                )
                if event is not None:
                    events.append(event)
        return events

    async def _apply(
        self,
        session: AsyncSession,
        site: str,
        verdict: Verdict,
        row: _Open | None,
        now: datetime,
    ) -> AlertEvent | None:
        if verdict.active and row is None:
            try:
                async with session.begin():
                    new = await repo.insert_alert(
                        session,
                        site=site,
                        fingerprint=fingerprint(site, verdict.rule),
                        rule=verdict.rule,
                        severity=verdict.severity,
                        title=verdict.title,
                        summary=verdict.summary,
                        value=verdict.value,
                        proposed_action=verdict.proposed_action,
                        now=now,
                    )
            except IntegrityError:
                # Another process opened the same alert first: nothing to post from here.
                log.info("alert %s already open elsewhere", fingerprint(site, verdict.rule))
                await self._open_for(site, refresh=True)
                return None
            self._open.setdefault(site, {})[verdict.rule] = _Open(
                new.id, new.severity, new.proposed_action
            )
            return AlertEvent("fired", AlertView.of(new))
        if row is None:
            return None
        if not verdict.active:
            async with session.begin():
                moved = await repo.transition_alert(
                    session,
                    alert_id=row.id,
                    from_statuses=("firing", "acknowledged"),
                    to_status="resolved",
                    resolved_at=now,
                    updated_at=now,
                    value=verdict.value,
                )
            self._open.get(site, {}).pop(verdict.rule, None)
            if not moved:  # resolved elsewhere already
                return None
            return AlertEvent("resolved", await self._view(session, row.id))
        if verdict.severity != row.severity:
            async with session.begin():
                await repo.update_alert(
                    session,
                    alert_id=row.id,
                    severity=verdict.severity,
                    title=verdict.title,
                    summary=verdict.summary,
                    value=verdict.value,
                    proposed_action=verdict.proposed_action or row.proposed_action,
                    updated_at=now,
                )
            view = await self._view(session, row.id)
            if view.status == "resolved":  # resolved elsewhere meanwhile
                self._open.get(site, {}).pop(verdict.rule, None)
                return None
            self._open.setdefault(site, {})[verdict.rule] = _Open(
                view.id, view.severity, view.proposed_action
            )
            return AlertEvent("escalated", view)
        return None

    async def _view(self, session: AsyncSession, alert_id: int) -> AlertView:
        async with session.begin():
            row = await session.get(AlertRow, alert_id, populate_existing=True)
            assert row is not None
            return AlertView.of(row)

    async def acknowledge(self, *, alert_id: int, actor: str) -> AlertEvent | None:
        """Acknowledge a firing alert; None when it is unknown or no longer firing."""
        now = self._clock.now()
        async with self._sessionmaker() as session:
            async with session.begin():
                moved = await repo.transition_alert(
                    session,
                    alert_id=alert_id,
                    from_statuses=("firing",),
                    to_status="acknowledged",
                    acknowledged_by=actor,
                    acknowledged_at=now,
                    updated_at=now,
                )
                if moved:
                    await repo.append_audit(
                        session,
                        time=now,
                        actor=actor,
                        event="alert_acknowledged",
                        details={"alert_id": alert_id},
                    )
            if not moved:
                return None
            return AlertEvent("acknowledged", await self._view(session, alert_id))

    async def get(self, alert_id: int) -> AlertView | None:
        async with self._sessionmaker() as session, session.begin():
            row = await repo.get_alert(session, alert_id=alert_id)
            return AlertView.of(row) if row is not None else None

    async def open_alerts(self, site: str | None = None) -> list[AlertView]:
        async with self._sessionmaker() as session, session.begin():
            return [AlertView.of(r) for r in await repo.list_open_alerts(session, site=site)]

    async def set_message(self, *, alert_id: int, message: dict[str, Any]) -> None:
        async with self._sessionmaker() as session, session.begin():
            await repo.update_alert(session, alert_id=alert_id, message=message)
