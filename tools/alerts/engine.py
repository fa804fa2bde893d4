"""The alert engine: rule verdicts → alert lifecycles in the database → events.

Lifecycle (Alertmanager-like)::

    pending --(condition held for `for`)--> firing --> acknowledged / snoozed --> resolved
       \\--(condition cleared first)--> discarded (never notified)

One open alert per fingerprint (``<site>:<rule>``), enforced by a partial unique
index, so a condition that stays true never posts twice, also across processes.
A snooze ends by itself (``unsnoozed``); firing, unacknowledged alerts get
reminders every ``repeat_interval_min`` and critical ones are escalated after
``escalate_after_min``. Silences mute notifications without touching the state.
The engine keeps its open alerts in memory so that evaluating every telemetry
batch touches the database only when something changes.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import func, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import repositories as repo
from storage.models import AlertRow, SilenceRow
from tools.alerts.context import History, RuleContext, RuleSpec, Verdict
from tools.alerts.rules import BUILTIN_RULES
from tools.alerts.silences import Matcher, alert_labels, matchers_from, matches_all
from tools.alerts.user_rules import UserRule
from tools.clock import Clock
from tools.errors import ToolsError
from tools.site import AlertThresholds, Site
from tools.telemetry import SiteState

log = logging.getLogger(__name__)

EventKind = Literal[
    "fired",
    "escalated",  # severity rose
    "acknowledged",
    "snoozed",
    "unsnoozed",
    "reminder",
    "escalation",  # unacknowledged critical handed to someone else
    "resolved",
    "unsilenced",  # a silence ended while the alert still fires
]
OPEN_STATUSES = ("pending", "firing", "acknowledged", "snoozed")
# How old a site's last batch evaluation may get before time alone re-evaluates it
# (a silent device); pending alerts due to fire are evaluated on time regardless.
DEFAULT_TICK_S = 10.0


class AlertError(ToolsError):
    """An alert or silence operation that cannot be done as asked."""


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
    category: str = ""
    evidence: tuple[tuple[str, str], ...] = ()
    proposed_params: dict[str, Any] | None = None
    fired_at: datetime | None = None
    snoozed_until: datetime | None = None
    snoozed_by: str | None = None
    reminders: int = 0
    escalated_at: datetime | None = None
    silenced_by: int | None = None

    @classmethod
    def of(cls, row: AlertRow) -> AlertView:
        evidence = row.evidence or {}
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
            category=row.category or "",
            evidence=tuple((str(a), str(b)) for a, b in evidence.get("readings", [])),
            proposed_params=evidence.get("params"),
            fired_at=row.fired_at,
            snoozed_until=row.snoozed_until,
            snoozed_by=row.snoozed_by,
            reminders=row.reminders or 0,
            escalated_at=row.escalated_at,
            silenced_by=row.silenced_by,
        )

    @property
    def labels(self) -> dict[str, str]:
        return alert_labels(
            site=self.site, rule=self.rule, category=self.category, severity=self.severity
        )


@dataclass(frozen=True, slots=True)
class AlertEvent:
    kind: EventKind
    alert: AlertView
    silenced: bool = False  # a live silence matches: do not notify


@dataclass(frozen=True, slots=True, kw_only=True)
class SilenceView:
    id: int
    matchers: tuple[Matcher, ...]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str
    removed_at: datetime | None

    def active(self, now: datetime) -> bool:
        return self.removed_at is None and self.starts_at <= now < self.ends_at

    def describe(self) -> str:
        return " and ".join(str(m) for m in self.matchers)

    @classmethod
    def of(cls, row: SilenceRow) -> SilenceView:
        return cls(
            id=row.id,
            matchers=tuple(matchers_from(row.matchers.get("all", []))),
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            created_by=row.created_by,
            comment=row.comment,
            removed_at=row.removed_at,
        )


@dataclass(slots=True)
class _Open:
    id: int
    severity: str
    status: str
    started_at: datetime
    for_s: float


def fingerprint(site: str, rule: str) -> str:
    return f"{site}:{rule}"


ThresholdSource = Callable[[str], AlertThresholds]
# The rules people set in chat for a site (tools.alerts.user_rules.UserRuleStore.for_site).
UserRuleSource = Callable[[str], Sequence[UserRule]]


@dataclass(slots=True)
class _SilenceCache:
    views: list[SilenceView] = field(default_factory=list)
    loaded_at: datetime | None = None


class AlertEngine:
    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        sites: Mapping[str, Site],
        clock: Clock,
        rules: Sequence[RuleSpec] = BUILTIN_RULES,
        thresholds: ThresholdSource | None = None,
        tick_s: float = DEFAULT_TICK_S,
        user_rules: UserRuleSource | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._sites = sites
        self._clock = clock
        self._rules = tuple(rules)
        self._thresholds = thresholds or (lambda name: sites[name].alerts)
        self._user_rules: UserRuleSource = user_rules or (lambda _name: ())
        self._open: dict[str, dict[str, _Open]] = {}
        self._silences = _SilenceCache()
        self._tick = timedelta(seconds=tick_s)
        self._evaluated_at: dict[str, datetime] = {}  # site -> its last batch evaluation

    # -- evaluation ----------------------------------------------------------------

    async def _open_for(self, site: str, *, refresh: bool = False) -> dict[str, _Open]:
        """Open alerts of a site by rule, cached: evaluation only hits the database on change."""
        cached = self._open.get(site)
        if cached is not None and not refresh:
            return cached
        async with self._sessionmaker() as session, session.begin():
            rows = await repo.list_open_alerts(session, site=site)
        fresh = {r.rule: _Open(r.id, r.severity, r.status, r.started_at, _for_of(r)) for r in rows}
        self._open[site] = fresh
        return fresh

    async def preload(self, sites: Sequence[str]) -> None:
        """Cache the open alerts of many sites with one query (a worker starting with
        thousands of sites would otherwise ask once per site on its first readings)."""
        async with self._sessionmaker() as session, session.begin():
            rows = await repo.list_open_alerts(session)
        by_site: dict[str, dict[str, _Open]] = {site: {} for site in sites}
        for r in rows:
            if r.site in by_site:
                open_row = _Open(r.id, r.severity, r.status, r.started_at, _for_of(r))
                by_site[r.site][r.rule] = open_row
        self._open.update(by_site)

    def forget(self, site: str | None = None) -> None:
        """Drop cached state (another process changed alerts)."""
        if site is None:
            self._open.clear()
        else:
            self._open.pop(site, None)

    async def evaluate(
        self,
        site_name: str,
        state: SiteState,
        *,
        history: History | None = None,
        now: datetime | None = None,
    ) -> list[AlertEvent]:
        """Run the rules for one site and apply the verdicts; returns what changed.

        Without ``history`` only the batch rules run (every telemetry batch);
        with it every rule runs (the scheduled evaluation). ``now`` is the time the
        state is judged at (the clock's by default): a batch handed on after its poll
        is judged as of that poll (see :meth:`bot.monitoring.Monitoring.on_batch`),
        or as of the site's last batch evaluation if that was later: judgement time
        never goes back.
        """
        site = self._sites[site_name]
        as_of_poll = now is not None
        now = now or self._clock.now()
        thresholds = self._thresholds(site_name)
        open_rows = await self._open_for(site_name)
        if history is None:
            judged = self._evaluated_at.get(site_name)
            if as_of_poll and judged is not None and now < judged:
                # A batch whose write landed after a later tick judged the site: judged as
                # of its own poll it could undo that later verdict (a silent device
                # resolved, then raised again). The state is already as new as the
                # tick's, so it is judged as of the later time instead.
                now = judged
            self._evaluated_at[site_name] = now
        ctx = RuleContext(
            site=site,
            state=state,
            now=now,
            thresholds=thresholds,
            open_alerts={r: o.severity for r, o in open_rows.items()},  # type: ignore[misc]
            history=history,
            user_rules=self._user_rules(site_name),
        )
        verdicts: list[Verdict] = []
        for spec in self._rules:
            if spec.schedule == "periodic" and history is None:
                continue
            try:
                for v in spec.fn(ctx):
                    verdicts.append(v if v.category else _with_category(v, spec))
            except Exception:  # one broken rule must not silence the others
                log.exception("rule %s failed for site %s", spec.name, site_name)
        events: list[AlertEvent] = []
        # An inactive verdict without an open alert changes nothing: the common case on
        # every telemetry batch, so no session is opened for it.
        verdicts = [v for v in verdicts if v.active or v.rule in open_rows]
        if not verdicts:
            return []
        async with self._sessionmaker() as session:
            for verdict in verdicts:
                current = open_rows.get(verdict.rule)
                default_for = thresholds.default_for_s
                event = await self._apply(session, site_name, verdict, current, now, default_for)
                if event is not None:
                    events.append(event)
        return await self._mark_silenced(events)

    async def evaluate_due(self, site_name: str, state: SiteState) -> list[AlertEvent]:
        """The batch rules for a site whose conditions may have changed with time alone.

        Readings evaluate a site as they arrive (:meth:`evaluate`); what can change
        without them is time: a device falling silent, a pending alert whose ``for``
        has passed. So this runs the rules only when the site's last evaluation is
        ``tick_s`` old, or a pending alert of the site is due to fire; otherwise it
        returns at once (a worker calls it for every site once a second). A site
        seen for the first time is first evaluated within ``tick_s``.
        """
        now = self._clock.now()
        last = self._evaluated_at.get(site_name)
        if last is None:
            # First sight (a worker starting with thousands of sites): silence counts from
            # now, so nothing time-based is due yet; the first tick evaluation of each site
            # is spread over the next ``tick_s`` instead of all of them in one poll.
            share = zlib.crc32(site_name.encode()) % 1000 / 1000
            last = self._evaluated_at[site_name] = now - self._tick * share
        if now - last < self._tick and now >= last:
            rows = self._open.get(site_name)
            if rows is None or not any(
                o.status == "pending" and (now - o.started_at).total_seconds() >= o.for_s
                for o in rows.values()
            ):
                return []
        return await self.evaluate(site_name, state)

    async def _apply(
        self,
        session: AsyncSession,
        site: str,
        verdict: Verdict,
        row: _Open | None,
        now: datetime,
        default_for_s: float,
    ) -> AlertEvent | None:
        if verdict.active and row is None:
            for_s = verdict.for_s if verdict.for_s is not None else default_for_s
            return await self._open_alert(session, site, verdict, now, for_s)
        if row is None:
            return None
        if not verdict.active:
            return await self._close(session, site, verdict, row, now)
        if row.status == "pending":
            if (now - row.started_at).total_seconds() >= row.for_s:
                return await self._transition(
                    session,
                    site,
                    verdict.rule,
                    row,
                    ("pending",),
                    "firing",
                    now,
                    "fired",
                    severity=verdict.severity,
                    title=verdict.title,
                    summary=verdict.summary,
                    value=verdict.value,
                    fired_at=now,
                    evidence=_evidence(verdict),
                )
            return None
        if verdict.severity != row.severity:
            moved = await self._transition(
                session,
                site,
                verdict.rule,
                row,
                ("firing", "acknowledged", "snoozed"),
                None,
                now,
                "escalated",
                severity=verdict.severity,
                title=verdict.title,
                summary=verdict.summary,
                value=verdict.value,
                evidence=_evidence(verdict),
            )
            return moved
        return None

    async def _open_alert(
        self, session: AsyncSession, site: str, verdict: Verdict, now: datetime, for_s: float
    ) -> AlertEvent | None:
        status = "pending" if for_s > 0 else "firing"
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
                await repo.update_alert(
                    session,
                    alert_id=new.id,
                    status=status,
                    category=verdict.category or "",
                    evidence=_evidence(verdict) | {"for_s": for_s},
                    fired_at=now if status == "firing" else None,
                )
                row = await session.get(AlertRow, new.id, populate_existing=True)
                assert row is not None
                view = AlertView.of(row)
        except IntegrityError:
            # Another process opened the same alert first: nothing to post from here.
            log.info("alert %s already open elsewhere", fingerprint(site, verdict.rule))
            await self._open_for(site, refresh=True)
            return None
        self._open.setdefault(site, {})[verdict.rule] = _Open(
            view.id, view.severity, status, now, for_s
        )
        return AlertEvent("fired", view) if status == "firing" else None

    async def _close(
        self, session: AsyncSession, site: str, verdict: Verdict, row: _Open, now: datetime
    ) -> AlertEvent | None:
        self._open.get(site, {}).pop(verdict.rule, None)
        async with session.begin():
            moved = await repo.transition_alert(
                session,
                alert_id=row.id,
                from_statuses=OPEN_STATUSES,
                to_status="resolved",
                resolved_at=now,
                updated_at=now,
                value=verdict.value,
            )
        if not moved or row.status == "pending":  # resolved elsewhere, or never notified
            return None
        return AlertEvent("resolved", await self._view(session, row.id))

    async def _transition(
        self,
        session: AsyncSession,
        site: str,
        rule: str,
        row: _Open,
        from_statuses: Sequence[str],
        to_status: str | None,
        now: datetime,
        kind: EventKind,
        **values: Any,
    ) -> AlertEvent | None:
        async with session.begin():
            moved = (
                await repo.transition_alert(
                    session,
                    alert_id=row.id,
                    from_statuses=from_statuses,
                    to_status=to_status or row.status,
                    updated_at=now,
                    **values,
                )
                if to_status is not None
                else await _update_open(
                    session, row.id, from_statuses, row.severity, updated_at=now, **values
                )
            )
        if not moved:
            await self._open_for(site, refresh=True)
            return None
        view = await self._view(session, row.id)
        self._open.setdefault(site, {})[rule] = _Open(
            view.id, view.severity, view.status, row.started_at, row.for_s
        )
        return AlertEvent(kind, view)

    async def _view(self, session: AsyncSession, alert_id: int) -> AlertView:
        async with session.begin():
            row = await session.get(AlertRow, alert_id, populate_existing=True)
            if row is None:
                raise AlertError(f"No alert {alert_id}.")
            return AlertView.of(row)

    # -- time-based transitions -------------------------------------------------------

    async def tick(self) -> list[AlertEvent]:
        """Snoozes that ended, silences that ended, reminders and escalations due now.

        Each kind of change is set-based (one UPDATE per batch of alerts), so thousands of
        snoozes ending together cost a few statements, not a transaction each.
        """
        now = self._clock.now()
        silences = await self._live_silences(now, refresh=True)
        async with self._sessionmaker() as session, session.begin():
            rows = (
                await session.scalars(
                    select(AlertRow).where(
                        AlertRow.status.in_(("firing", "snoozed")),
                    )
                )
            ).all()
        woke: list[int] = []
        unsilenced: list[int] = []
        reminders: list[int] = []
        escalations: list[int] = []
        for row in rows:
            site = self._sites.get(row.site)
            if site is None:
                continue
            t = self._thresholds(row.site)
            if row.status == "snoozed" and row.snoozed_until and row.snoozed_until <= now:
                woke.append(row.id)
                continue
            if row.status != "firing":
                continue
            labels = AlertView.of(row).labels
            muted = next((s for s in silences if matches_all(s.matchers, labels)), None)
            if row.silenced_by is not None and muted is None:
                unsilenced.append(row.id)
                continue
            if muted is not None:
                continue
            since = row.last_notified_at or row.fired_at or row.started_at
            if (now - since) >= timedelta(minutes=t.repeat_interval_min):
                reminders.append(row.id)
            fired = row.fired_at or row.started_at
            if (
                row.severity == "critical"
                and t.escalate_after_min is not None
                and row.escalated_at is None
                and (now - fired) >= timedelta(minutes=t.escalate_after_min)
            ):
                escalations.append(row.id)
        changed: list[tuple[EventKind, list[int]]] = []
        async with self._sessionmaker() as session, session.begin():
            if woke:
                moved = await repo.transition_alerts(
                    session,
                    alert_ids=woke,
                    from_statuses=("snoozed",),
                    to_status="firing",
                    updated_at=now,
                    last_notified_at=now,
                )
                changed.append(("unsnoozed", moved))
            if unsilenced:
                await repo.update_alerts(
                    session, alert_ids=unsilenced, silenced_by=None, last_notified_at=now
                )
                changed.append(("unsilenced", unsilenced))
            if reminders:
                await repo.update_alerts(
                    session,
                    alert_ids=reminders,
                    last_notified_at=now,
                    reminders=func.coalesce(AlertRow.reminders, 0) + 1,
                )
                changed.append(("reminder", reminders))
            if escalations:
                await repo.update_alerts(session, alert_ids=escalations, escalated_at=now)
                changed.append(("escalation", escalations))
            ids = [i for _kind, some in changed for i in some]
            views = {r.id: AlertView.of(r) for r in await repo.get_alerts(session, alert_ids=ids)}
        # Events in the order the per-alert loop gave them: by alert, then by kind.
        order = {row.id: n for n, row in enumerate(rows)}
        kinds: list[EventKind] = ["unsnoozed", "unsilenced", "reminder", "escalation"]
        pairs = sorted(
            ((alert_id, kind) for kind, some in changed for alert_id in some),
            key=lambda p: (order.get(p[0], 0), kinds.index(p[1])),
        )
        return [AlertEvent(kind, views[alert_id]) for alert_id, kind in pairs]

    # -- people's actions -----------------------------------------------------------

    async def acknowledge(self, *, alert_id: int, actor: str) -> AlertEvent | None:
        """Acknowledge a firing (or snoozed) alert; None when it is unknown or not open."""
        events = await self.acknowledge_many(alert_ids=[alert_id], actor=actor)
        return events[0] if events else None

    async def acknowledge_many(self, *, alert_ids: Sequence[int], actor: str) -> list[AlertEvent]:
        """Acknowledge every firing (or snoozed) alert among ``alert_ids`` at once (one
        UPDATE and one bulk audit INSERT per batch); events for those that moved."""
        return await self._by_person(
            alert_ids,
            actor,
            ("firing", "snoozed"),
            "acknowledged",
            "acknowledged",
            "alert_acknowledged",
            acknowledged_by=actor,
        )

    async def snooze(self, *, alert_id: int, actor: str, until: datetime) -> AlertEvent | None:
        """Mute a firing or acknowledged alert until ``until``; it fires again if still true."""
        events = await self.snooze_many(alert_ids=[alert_id], actor=actor, until=until)
        return events[0] if events else None

    async def snooze_many(
        self, *, alert_ids: Sequence[int], actor: str, until: datetime
    ) -> list[AlertEvent]:
        """Snooze many alerts at once (set-based, like :meth:`acknowledge_many`)."""
        now = self._clock.now()
        if until <= now:
            raise AlertError("A snooze must end in the future.")
        return await self._by_person(
            alert_ids,
            actor,
            ("firing", "acknowledged", "snoozed"),
            "snoozed",
            "snoozed",
            "alert_snoozed",
            snoozed_until=until,
            snoozed_by=actor,
        )

    async def _by_person(
        self,
        alert_ids: Sequence[int],
        actor: str,
        from_statuses: Sequence[str],
        to_status: str,
        kind: EventKind,
        audit_event: str,
        **values: Any,
    ) -> list[AlertEvent]:
        now = self._clock.now()
        if "acknowledged_by" in values:
            values["acknowledged_at"] = now
        details = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in values.items()}
        async with self._sessionmaker() as session, session.begin():
            moved = await repo.transition_alerts(
                session,
                alert_ids=alert_ids,
                from_statuses=from_statuses,
                to_status=to_status,
                updated_at=now,
                **values,
            )
            rows = await repo.get_alerts(session, alert_ids=moved)
            await repo.append_audits(
                session,
                [
                    {
                        "time": now,
                        "actor": actor,
                        "event": audit_event,
                        "site": row.site,
                        "details": {"alert_id": row.id} | details,
                    }
                    for row in rows
                ],
            )
            views = [AlertView.of(row) for row in rows]
        for view in views:
            cached = self._open.get(view.site, {}).get(view.rule)
            if cached is not None:
                cached.status = view.status
        return [AlertEvent(kind, view) for view in views]

    # -- silences -----------------------------------------------------------------------

    async def add_silence(
        self,
        *,
        matchers: Sequence[Matcher],
        ends_at: datetime,
        created_by: str,
        comment: str = "",
    ) -> SilenceView:
        now = self._clock.now()
        if not matchers:
            raise AlertError("A silence needs at least one matcher (e.g. site=barn).")
        if ends_at <= now:
            raise AlertError("A silence must end in the future.")
        async with self._sessionmaker() as session, session.begin():
            row = SilenceRow(
                matchers={"all": [m.to_dict() for m in matchers]},
                starts_at=now,
                ends_at=ends_at,
                created_by=created_by,
                comment=comment,
                created_at=now,
            )
            session.add(row)
            await session.flush()
            await repo.append_audit(
                session,
                time=now,
                actor=created_by,
                event="silence_added",
                details={
                    "silence_id": row.id,
                    "matchers": row.matchers["all"],
                    "ends_at": ends_at.isoformat(),
                },
            )
            view = SilenceView.of(row)
        self._silences.loaded_at = None
        return view

    async def remove_silence(self, *, silence_id: int, removed_by: str) -> SilenceView:
        now = self._clock.now()
        async with self._sessionmaker() as session, session.begin():
            row = await session.get(SilenceRow, silence_id)
            if row is None or row.removed_at is not None:
                raise AlertError(f"No active silence {silence_id}.")
            row.removed_at, row.removed_by = now, removed_by
            await repo.append_audit(
                session,
                time=now,
                actor=removed_by,
                event="silence_removed",
                details={"silence_id": silence_id},
            )
            await session.flush()
            view = SilenceView.of(row)
        self._silences.loaded_at = None
        return view

    async def list_silences(self, *, active_only: bool = True) -> list[SilenceView]:
        now = self._clock.now()
        async with self._sessionmaker() as session, session.begin():
            rows = (await session.scalars(select(SilenceRow).order_by(SilenceRow.id))).all()
        views = [SilenceView.of(r) for r in rows]
        return [v for v in views if v.active(now)] if active_only else views

    async def preview_silence(self, matchers: Sequence[Matcher]) -> list[AlertView]:
        """The open alerts a silence with these matchers would mute right now."""
        return [a for a in await self.open_alerts() if matches_all(matchers, a.labels)]

    async def _live_silences(self, now: datetime, *, refresh: bool = False) -> list[SilenceView]:
        cache = self._silences
        if refresh or cache.loaded_at is None or (now - cache.loaded_at) > timedelta(seconds=30):
            cache.views = await self.list_silences(active_only=False)
            cache.loaded_at = now
        return [s for s in cache.views if s.active(now)]

    async def _mark_silenced(self, events: list[AlertEvent]) -> list[AlertEvent]:
        if not events:
            return events
        now = self._clock.now()
        silences = await self._live_silences(now)
        out = []
        for event in events:
            muting = next(
                (s for s in silences if matches_all(s.matchers, event.alert.labels)), None
            )
            if muting is None:
                out.append(event)
                continue
            if event.kind == "fired":
                await self.update(alert_id=event.alert.id, silenced_by=muting.id)
            out.append(AlertEvent(event.kind, event.alert, silenced=True))
        return out

    # -- reads and bookkeeping ------------------------------------------------------------

    async def get(self, alert_id: int) -> AlertView | None:
        async with self._sessionmaker() as session, session.begin():
            row = await repo.get_alert(session, alert_id=alert_id)
            return AlertView.of(row) if row is not None else None

    async def sites_of(self, alert_ids: Sequence[int]) -> dict[int, str]:
        """The site of each known alert id (unknown ids are left out), in a few queries."""
        unique = list(dict.fromkeys(alert_ids))
        out: dict[int, str] = {}
        async with self._sessionmaker() as session, session.begin():
            for start in range(0, len(unique), 1000):
                chunk = unique[start : start + 1000]
                rows = await session.execute(
                    select(AlertRow.id, AlertRow.site).where(AlertRow.id.in_(chunk))
                )
                out.update({int(i): str(site) for i, site in rows})
        return out

    async def open_alerts(self, site: str | None = None) -> list[AlertView]:
        """Alerts that have fired and are not resolved (pending ones are not shown)."""
        async with self._sessionmaker() as session, session.begin():
            rows = await repo.list_open_alerts(session, site=site)
        return [AlertView.of(r) for r in rows if r.status != "pending"]

    async def set_message(self, *, alert_id: int, message: dict[str, Any]) -> None:
        key = f"{message.get('platform', '')}:{message.get('channel', '')}:{message.get('ref', '')}"
        await self.update(
            alert_id=alert_id, message=message, message_key=key, last_notified_at=self._clock.now()
        )

    async def update(self, *, alert_id: int, **values: Any) -> None:
        async with self._sessionmaker() as session, session.begin():
            await repo.update_alert(session, alert_id=alert_id, **values)

    async def alerts_on_message(self, message_key: str) -> list[AlertView]:
        async with self._sessionmaker() as session, session.begin():
            rows = (
                await session.scalars(
                    select(AlertRow)
                    .where(AlertRow.message_key == message_key)
                    .order_by(AlertRow.id)
                )
            ).all()
        return [AlertView.of(r) for r in rows]


async def _update_open(
    session: AsyncSession,
    alert_id: int,
    from_statuses: Sequence[str],
    severity_was: str,
    **values: Any,
) -> bool:
    """Change an open alert's severity (and fields) only while it is in ``from_statuses``
    with the severity this process saw: a compare-and-set, so when two workers see the
    same change only one reports it."""
    result: CursorResult[Any] = await session.execute(  # type: ignore[assignment]
        update(AlertRow)
        .where(
            AlertRow.id == alert_id,
            AlertRow.status.in_(from_statuses),
            AlertRow.severity == severity_was,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def _evidence(verdict: Verdict) -> dict[str, Any]:
    data: dict[str, Any] = {"readings": [list(e) for e in verdict.evidence]}
    if verdict.proposed_params is not None:
        data["params"] = dict(verdict.proposed_params)
    return data


def _for_of(row: AlertRow) -> float:
    return float((row.evidence or {}).get("for_s", 0.0))


def _with_category(verdict: Verdict, spec: RuleSpec) -> Verdict:
    return replace(verdict, category=spec.category)
