"""Action requests: create, decide (with roles), execute with policy and read-back, expire.

Every state change is a compare-and-set on the request's row, so a second
click, a concurrent Approve and Reject, or a second process yields exactly one
decision and at most one execution. Every decision, refusal and outcome is
written to the audit log in the same transaction as the state change.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import repositories as repo
from storage.models import ActionRequestRow
from tools.actions import policy
from tools.actions.catalogue import Expectation, get_kind
from tools.actions.recovery import settle_interrupted
from tools.clock import Clock
from tools.devices.base import Driver
from tools.domain import Reading
from tools.errors import ActionError, DeviceError, UnknownSiteError
from tools.permissions import (
    Forbidden,
    Permission,
    Principal,
    Role,
    as_role,
    authorize,
    refusal,
)
from tools.site import PLATFORM_NAMES, ApprovalTier, Humans, Site
from tools.telemetry import SiteState

log = logging.getLogger(__name__)

FINAL_STATUSES = frozenset({"rejected", "expired", "succeeded", "failed", "unknown"})

# How long (wall clock) a worker's claim on a request it is executing holds; after
# that another worker of the site may settle it (see tools.actions.recovery).
EXECUTION_LEASE_S = 600.0

# The width of the decided_by column: who decided, as shown on the card.
DECIDED_BY_MAX = 128


@dataclass(frozen=True, slots=True, kw_only=True)
class Actor:
    """A person (or the bot itself) acting on a request."""

    platform: str
    user_id: str
    role: Role
    name: str = ""
    sites: frozenset[str] | None = None  # the sites this person may use (None: all)

    @property
    def principal(self) -> Principal:
        return Principal(self.role, self.sites)

    @property
    def label(self) -> str:
        return self.name or f"{self.platform}:{self.user_id}"

    @property
    def key(self) -> str:
        return f"{self.platform}:{self.user_id}"


SYSTEM_ACTOR = Actor(
    platform="system", user_id="commandcenter", role="viewer", name="CommandCenter"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionView:
    id: str
    site: str
    kind: str
    title: str
    effect: str
    params: dict[str, Any]
    status: str
    reason: str
    requested_by: str
    created_at: datetime
    expires_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    finished_at: datetime | None
    outcome: str | None
    alert_id: int | None
    thread_id: str | None
    message: dict[str, Any] | None

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES


Verdict = Literal[
    "succeeded",
    "failed",
    "rejected",
    "expired",
    "denied",
    "already_decided",
    "refused",
    "partial",
    "approved",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Decision:
    """What a click did. ``changed`` is False when nothing moved (denied, too late, duplicate)."""

    verdict: Verdict
    message: str
    action: ActionView
    changed: bool


ChangeHandler = Callable[[ActionView], Awaitable[None]]
ReadingsHandler = Callable[[list[Reading]], Awaitable[Any]]
StateSource = Callable[[str], SiteState]


class ActionService:
    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        sites: Mapping[str, Site],
        drivers: Mapping[str, Driver],
        clock: Clock,
        state: StateSource,
        on_readings: ReadingsHandler | None = None,
        executes: Collection[str] | None = None,
        worker: str = "",
        lease_s: float = EXECUTION_LEASE_S,
        wall_clock: Callable[[], datetime] | None = None,
        humans: Humans | None = None,
    ) -> None:
        """``executes``: the sites whose approved requests this process carries out
        (default: every site it has a driver for). An approval of any other site is
        recorded and left to the worker that runs the site (:meth:`run_approved`).

        ``humans``: which accounts the site file says are one human (``person:``); such
        accounts are one approver, and one requester, whatever platform they use."""
        self._sessionmaker = sessionmaker
        self._humans = humans or Humans()
        self._sites = sites
        self._drivers = drivers
        self._clock = clock
        self._state = state
        self._on_readings = on_readings
        self._executes = frozenset(drivers if executes is None else executes)
        self._worker = worker
        self._lease = timedelta(seconds=lease_s)
        self._wall = wall_clock or (lambda: datetime.now(UTC))
        self._running: set[asyncio.Task[tuple[bool, str]]] = set()

    def executes_here(self, site: str) -> bool:
        return site in self._executes and site in self._drivers

    # -- views ------------------------------------------------------------------

    def _view(self, row: ActionRequestRow) -> ActionView:
        site = self._sites.get(row.site)
        kind = get_kind(row.kind)
        title = kind.title(site, row.params) if site else row.kind
        effect = kind.effect(site, row.params) if site else ""
        return ActionView(
            id=row.id,
            site=row.site,
            kind=row.kind,
            title=title,
            effect=effect,
            params=dict(row.params),
            status=row.status,
            reason=row.reason,
            requested_by=row.requested_by,
            created_at=row.created_at,
            expires_at=row.expires_at,
            decided_by=row.decided_by,
            decided_at=row.decided_at,
            finished_at=row.finished_at,
            outcome=row.outcome,
            alert_id=row.alert_id,
            thread_id=row.thread_id,
            message=row.message,
        )

    async def resolve_id(self, action_id: str, *, seen_by: Principal | None = None) -> str:
        """The full id of a request given in full or as the short id shown in chat
        (at least 4 hex digits); an unknown or ambiguous one is an :class:`ActionError`.

        With ``seen_by``, a short id is first looked for among the requests of the sites
        that person may use: the short id in their list of pending requests means the
        one they were shown, and an ambiguity never lists another site's requests. Only
        when none of theirs matches is it looked for everywhere (the decision then
        refuses it for its site, as it does a full id)."""
        given = action_id.strip().lower()
        if len(given) == 32 and re.fullmatch(r"[0-9a-f]{32}", given):
            return given  # a full id: no look-up
        if not re.fullmatch(r"[0-9a-f]{4,64}", given):
            raise ActionError(
                f"{action_id[:80]!r} is not a request id (the hex id on the card, e.g. 8c41fea3)."
            )
        async with self._sessionmaker() as session, session.begin():
            found: Sequence[str] = []
            if seen_by is not None and seen_by.sites is not None:
                found = await repo.action_ids_starting(session, prefix=given, sites=seen_by.sites)
            if not found:
                found = await repo.action_ids_starting(session, prefix=given)
                if seen_by is not None and seen_by.sites is not None and len(found) > 1:
                    # none of theirs: name none of the other sites' ids
                    found = found[:1]
        if given in found:
            return given
        if not found:
            raise ActionError(f"No action request with id {given!r}; it may have been mistyped.")
        if len(found) > 1:
            raise ActionError(
                f"{given!r} matches several requests ({', '.join(i[:12] for i in found)}); "
                "give more of the id."
            )
        return found[0]

    async def approvals(self, action_id: str) -> list[dict[str, Any]]:
        """The approvals recorded so far (partial ones of a multi-person tier included)."""
        async with self._sessionmaker() as session, session.begin():
            row = await repo.get_action_request(session, action_id=action_id)
            return list(((row.approvals if row is not None else None) or {}).get("by", []))

    async def get(self, action_id: str) -> ActionView:
        action_id = await self.resolve_id(action_id)
        async with self._sessionmaker() as session, session.begin():
            row = await repo.get_action_request(session, action_id=action_id)
            if row is None:
                raise ActionError(f"No action request with id {action_id!r}.")
            return self._view(row)

    async def list_requests(
        self, *, site: str | None = None, statuses: tuple[str, ...] | None = None
    ) -> list[ActionView]:
        async with self._sessionmaker() as session, session.begin():
            rows = await repo.list_action_requests(session, site=site, statuses=statuses)
            return [self._view(r) for r in rows]

    def _site(self, name: str) -> Site:
        site = self._sites.get(name)
        if site is None:
            raise UnknownSiteError(name, list(self._sites))
        return site

    # -- create -------------------------------------------------------------------

    async def request(
        self,
        *,
        site: str,
        kind: str,
        params: dict[str, Any] | None = None,
        requested_by: str,
        reason: str = "",
        alert_id: int | None = None,
        thread_id: str | None = None,
        idempotency_key: str | None = None,
        actor: Actor | None = None,
    ) -> ActionView:
        """Create a pending request after validating it against the catalogue and policy.

        ``actor`` is the person asking (None: the bot itself, e.g. for an alert); they
        need the request permission on ``site``. With an ``idempotency_key`` a repeated
        call returns the request created first.
        """
        if actor is not None:
            try:
                authorize(actor.principal, Permission.REQUEST_ACTION, site)
            except Forbidden as err:
                raise ActionError(f"Refused: {err}") from None
        site_cfg = self._site(site)
        action_kind = get_kind(kind)
        clean = action_kind.normalise(site_cfg, dict(params or {}))
        refusal = policy.check(site_cfg, kind, clean, self._state(site))
        if refusal is not None:
            raise ActionError(f"Refused: {refusal}.")
        now = self._clock.now()
        expires_at = now + timedelta(minutes=site_cfg.actions.expiry_minutes)
        async with self._sessionmaker() as session:
            if idempotency_key is not None:
                async with session.begin():
                    existing = await repo.get_action_by_idempotency_key(
                        session, key=idempotency_key
                    )
                if existing is not None:
                    return self._view(existing)
            try:
                async with session.begin():
                    row = await repo.insert_action_request(
                        session,
                        site=site,
                        kind=kind,
                        params=clean,
                        reason=reason,
                        requested_by=requested_by,
                        now=now,
                        expires_at=expires_at,
                        alert_id=alert_id,
                        thread_id=thread_id,
                        idempotency_key=idempotency_key,
                    )
                    await repo.append_audit(
                        session,
                        time=now,
                        actor=requested_by,
                        event="action_requested",
                        site=site,
                        action_id=row.id,
                        details={"kind": kind, "params": clean, "reason": reason},
                    )
            except IntegrityError:
                if idempotency_key is None:
                    raise
                async with session.begin():
                    again = await repo.get_action_by_idempotency_key(session, key=idempotency_key)
                assert again is not None
                return self._view(again)
            return self._view(row)

    async def set_message(self, *, action_id: str, message: dict[str, Any]) -> None:
        async with self._sessionmaker() as session, session.begin():
            await repo.update_action_message(session, action_id=action_id, message=message)

    # -- decide -------------------------------------------------------------------

    async def decide(self, *, action_id: str, actor: Actor, approve: bool) -> Decision:
        """Approve or reject; an approval is executed before this returns."""
        action_id = await self.resolve_id(action_id, seen_by=actor.principal)
        now = self._clock.now()
        verb = "approve" if approve else "reject"
        async with self._sessionmaker() as session:
            async with session.begin():
                row = await repo.get_action_request(session, action_id=action_id)
                if row is None:
                    raise ActionError(
                        f"No action request with id {action_id!r}; it may have been mistyped."
                    )
                site_cfg = self._sites.get(row.site)
                tier = site_cfg.actions.tier(row.kind) if site_cfg else ApprovalTier()
                refusal = _refusal(tier, row, actor, approve, self._humans)
                if refusal is not None:
                    await self._deny(session, row, actor, verb, refusal, now)
                    return Decision(
                        verdict="denied",
                        message=f"{actor.label}, {refusal}. Nothing was changed.",
                        action=self._view(row),
                        changed=False,
                    )
                expired_now = False
                if row.status == "pending" and row.expires_at <= now:
                    expired_now = await self._expire(session, row.id, now)
                # The approvals exactly as stored: a partial approval is written only if
                # they are still these (compare-and-set), so none is lost or doubled.
                seen = await repo.approvals_text(session, action_id=action_id)
            if expired_now or row.status != "pending":
                return _too_late(await self.get(action_id), expired_now=expired_now)
            given = _recorded(seen)
            have = self._people(given)
            earlier = self._earlier_approval(given, actor) if approve else None
            if earlier is not None and earlier.get("actor") == actor.key:  # a second click
                return Decision(
                    verdict="already_decided",
                    message=f"{actor.label}, you already approved this; it needs "
                    f"{tier.approvals - have} more approval(s) from someone else.",
                    action=self._view(row),
                    changed=False,
                )
            if earlier is not None:  # the same human with another account or platform
                # The reply may be read in a channel: it names the platform and the name
                # shown there, not the other account's id (the audit entry has it).
                why = (
                    f"you already approved this {_where(earlier)} as {earlier.get('name')!s}, "
                    "and one person counts once, so it needs "
                    f"{tier.approvals - have} more approval(s) from someone else"
                )
                async with session.begin():
                    await self._deny(
                        session, row, actor, verb, why, now, earlier=str(earlier.get("actor"))
                    )
                return Decision(
                    verdict="denied",
                    message=f"{actor.label}, {why}. Nothing was changed.",
                    action=self._view(row),
                    changed=False,
                )
            mine = {
                "actor": actor.key,
                "platform": actor.platform,
                "person": self._humans.person_id(actor.key),
                "name": actor.label,
                "role": actor.role,
                "sites": None if actor.sites is None else sorted(actor.sites),
                "at": now.isoformat(),
            }
            if approve and have + 1 < tier.approvals:
                return await self._partial_approval(
                    session, row, actor, given, mine, seen, tier, now
                )
            async with session.begin():
                won = await repo.transition_action(
                    session,
                    action_id=action_id,
                    from_statuses=("pending",),
                    to_status="approved" if approve else "rejected",
                    decided_by=_fit(
                        ", ".join(_signature(a) for a in [*given, mine])
                        if approve
                        else self._signature(actor)
                    ),
                    decided_at=now,
                    approvals={"by": [*given, mine]} if approve else row.approvals,
                    **({} if approve else {"finished_at": now, "outcome": "rejected"}),
                )
                if won:
                    await repo.append_audit(
                        session,
                        time=now,
                        actor=actor.key,
                        event="action_approved" if approve else "action_rejected",
                        site=row.site,
                        action_id=action_id,
                        details=self._who(actor),
                    )
        if not won:
            return _too_late(await self.get(action_id), expired_now=False)
        if not approve:
            view = await self.get(action_id)
            return Decision(
                verdict="rejected",
                message=f"Rejected by {self._signature(actor)}.",
                action=view,
                changed=True,
            )
        if not self.executes_here(row.site):
            view = await self.get(action_id)
            return Decision(
                verdict="approved",
                message=f"Approved by {self._signature(actor)}; the worker that runs {row.site} "
                "carries it out and updates this card.",
                action=view,
                changed=True,
            )
        return await self.execute(action_id, actor=actor)

    def _signature(self, actor: Actor) -> str:
        """How a decider is shown: their name, and the platform when the site file lists
        them on several ('Alice on Slack')."""
        return _signature({"name": actor.label, "platform": actor.platform} | self._linked(actor))

    def _linked(self, actor: Actor) -> dict[str, str]:
        person = self._humans.person_id(actor.key)
        return {"person": person} if person else {}

    def _who(self, actor: Actor) -> dict[str, Any]:
        """An audit entry's details about the decider."""
        return {"role": actor.role} | self._linked(actor)

    def _people(self, approvals: Iterable[Mapping[str, Any]]) -> int:
        """How many distinct humans gave ``approvals``."""
        return _count_people(approvals, self._humans)

    def _earlier_approval(
        self, given: Sequence[Mapping[str, Any]], actor: Actor
    ) -> Mapping[str, Any] | None:
        """The approval already given by ``actor``'s human (any of their accounts)."""
        mine = self._humans.identities(actor.key)
        return next((a for a in given if _identities(a, self._humans) & mine), None)

    async def _deny(
        self,
        session: AsyncSession,
        row: ActionRequestRow,
        actor: Actor,
        verb: str,
        reason: str,
        now: datetime,
        *,
        earlier: str | None = None,
    ) -> None:
        """Audit a refused decision (``earlier``: the account the same human approved with)."""
        details: dict[str, Any] = {"wanted": verb, "reason": reason} | self._who(actor)
        if earlier is not None:
            details["approved_as"] = earlier
        await repo.append_audit(
            session,
            time=now,
            actor=actor.key,
            event="decision_denied",
            site=row.site,
            action_id=row.id,
            details=details,
        )

    async def _partial_approval(
        self,
        session: AsyncSession,
        row: ActionRequestRow,
        actor: Actor,
        given: list[dict[str, Any]],
        mine: dict[str, Any],
        seen: str | None,
        tier: ApprovalTier,
        now: datetime,
    ) -> Decision:
        """Record an approval that is not yet enough (two-person rule), unless the
        approvals changed since ``seen`` (then nothing is written: press again)."""
        approvals = [*given, mine]
        so_far = self._people(approvals)
        async with session.begin():
            won = await repo.add_partial_approval(
                session, action_id=row.id, seen_text=seen, approvals={"by": approvals}
            )
            if won:
                await repo.append_audit(
                    session,
                    time=now,
                    actor=actor.key,
                    event="action_approval_recorded",
                    site=row.site,
                    action_id=row.id,
                    details={"of": tier.approvals, "so_far": so_far} | self._who(actor),
                )
        view = await self.get(row.id)
        if not won:
            return (
                _too_late(view, expired_now=False)
                if view.status != "pending"
                else Decision(
                    verdict="already_decided",
                    message="Someone approved at the same moment; press again to add yours.",
                    action=view,
                    changed=False,
                )
            )
        missing = tier.approvals - so_far
        return Decision(
            verdict="partial",
            message=f"Approval {so_far} of {tier.approvals} recorded ({self._signature(actor)}); "
            f"needs {missing} more from another {' or '.join(tier.roles)}.",
            action=view,
            changed=True,
        )

    async def _expire(self, session: AsyncSession, action_id: str, now: datetime) -> bool:
        moved = await repo.expire_action(session, action_id=action_id, now=now)
        if moved:
            await repo.append_audit(
                session, time=now, actor="system", event="action_expired", action_id=action_id
            )
        return moved

    async def expire_due(self) -> list[ActionView]:
        """Expire every pending request whose time is up (a scheduled job)."""
        now = self._clock.now()
        async with self._sessionmaker() as session, session.begin():
            ids = await repo.expire_due_actions(session, now=now)
            for action_id in ids:
                await repo.append_audit(
                    session, time=now, actor="system", event="action_expired", action_id=action_id
                )
        return [await self.get(i) for i in ids]

    # -- execute ------------------------------------------------------------------

    async def execute(self, action_id: str, *, actor: Actor) -> Decision:
        """Run an approved request exactly once: claim it, check policy, command, verify."""
        now = self._clock.now()
        async with self._sessionmaker() as session, session.begin():
            claimed = await repo.transition_action(
                session,
                action_id=action_id,
                from_statuses=("approved",),
                to_status="executing",
                started_at=now,
                executor=self._worker,
                lease_until=self._wall() + self._lease,
            )
            row = await repo.get_action_request(session, action_id=action_id)
        assert row is not None
        if not claimed:
            return Decision(
                verdict="already_decided",
                message=f"Request is {row.status}; it was not executed again.",
                action=self._view(row),
                changed=False,
            )
        ok, outcome = await self._carry_out(row, actor_key=actor.key)
        view = await self.get(action_id)
        return Decision(
            verdict="succeeded" if ok else "failed",
            message=f"Approved by {self._signature(actor)}. {outcome}",
            action=view,
            changed=True,
        )

    async def run_approved(self, *, limit: int = 10) -> list[ActionView]:
        """Execute approved requests of this process's sites that nobody executed yet
        (approved in another process, e.g. the web face or the CLI); a scheduled job.

        Rows are claimed ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so each request
        is executed by exactly one worker, and never again by a click's own path.
        """
        sites = sorted(s for s in self._executes if s in self._drivers)
        now = self._clock.now()
        async with self._sessionmaker() as session, session.begin():
            stale = await repo.expire_overdue_approved(session, sites=sites, now=now)
            for action_id in stale:
                await repo.append_audit(
                    session,
                    time=now,
                    actor="system",
                    event="action_expired",
                    action_id=action_id,
                    details={"approved": True, "reason": "not carried out before it expired"},
                )
            ids = await repo.claim_approved_actions(
                session,
                sites=sites,
                now=now,
                limit=limit,
                executor=self._worker,
                lease_until=self._wall() + self._lease,
            )
            rows = [await repo.get_action_request(session, action_id=i) for i in ids]
        done = [await self.get(i) for i in stale]
        for row in rows:
            assert row is not None
            by = (row.approvals or {}).get("by") or [{}]
            await self._carry_out(row, actor_key=str(by[-1].get("actor", "system")))
            done.append(await self.get(row.id))
        return done

    async def _carry_out(self, row: ActionRequestRow, *, actor_key: str) -> tuple[bool, str]:
        """Command, verify and record a request this process has moved to ``executing``.

        It runs as its own task: cancelling the caller (a shutdown, a dropped chat
        request) does not cut it short, and :meth:`drain` waits for it, so no request
        is left ``executing``.
        """
        task = asyncio.create_task(self._carry_out_now(row, actor_key=actor_key))
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        return await asyncio.shield(task)

    async def _carry_out_now(self, row: ActionRequestRow, *, actor_key: str) -> tuple[bool, str]:
        ok, outcome = await self._run(row)
        log.info(
            "action %s %s on worker %s: %s",
            row.id,
            "succeeded" if ok else "failed",
            self._worker or "-",
            outcome,
        )
        done = self._clock.now()
        details: dict[str, Any] = {"kind": row.kind, "params": row.params, "outcome": outcome}
        if self._worker:
            details["worker"] = self._worker
        async with self._sessionmaker() as session, session.begin():
            settled = await repo.finish_execution(
                session,
                action_id=row.id,
                executor=self._worker,
                to_status="succeeded" if ok else "failed",
                finished_at=done,
                outcome=outcome,
            )
            if not settled:  # another worker settled it after this one's claim ran out
                log.warning("action %s was settled elsewhere meanwhile; not recorded", row.id)
                return ok, outcome
            await repo.append_audit(
                session,
                time=done,
                actor=actor_key,
                event="action_succeeded" if ok else "action_failed",
                site=row.site,
                action_id=row.id,
                details=details,
            )
        return ok, outcome

    async def recover_interrupted(self, *, at_start: bool) -> list[ActionView]:
        """Settle requests left ``executing`` by a worker that died mid-action (its claim
        ran out, or, ``at_start``, this worker's own from before a restart), from the
        device's read-back. Nothing is sent again."""
        sites = sorted(s for s in self._executes if s in self._drivers)
        ids = await settle_interrupted(
            sessionmaker=self._sessionmaker,
            sites={name: self._sites[name] for name in sites if name in self._sites},
            drivers=self._drivers,
            clock=self._clock,
            worker=self._worker,
            wall_now=self._wall(),
            lease=self._lease,
            owned=at_start,
        )
        return [await self.get(i) for i in ids]

    async def drain(self) -> int:
        """Wait for executions in flight (at shutdown); returns how many were waited for."""
        pending = list(self._running)
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        return len(pending)

    async def _run(self, row: ActionRequestRow) -> tuple[bool, str]:
        site = self._sites.get(row.site)
        driver = self._drivers.get(row.site)
        if site is None or driver is None:
            return False, f"Site {row.site} has no driver configured; nothing was sent."
        kind = get_kind(row.kind)
        unapproved = approvals_problem(site.actions.tier(row.kind), row, self._humans)
        if unapproved is not None:
            log.warning("action %s not executed: %s", row.id, unapproved)
            return False, f"Not executed: {unapproved}."
        reason = policy.check(site, row.kind, row.params, self._state(row.site))
        if reason is not None:
            return False, f"Not executed: {reason}."
        try:
            for command in kind.commands(site, row.params):
                await driver.execute(command)
            readings = await driver.poll(self._clock.now())
        except DeviceError as err:
            return False, f"Device error: {err}"
        except Exception as err:
            # The request is already claimed: record the failure instead of leaving it
            # "executing" forever.
            log.exception("action %s failed unexpectedly", row.id)
            return False, f"Failed with an internal error ({type(err).__name__}: {err})."
        if self._on_readings is not None:
            try:
                await self._on_readings(readings)
            except Exception:
                # Telemetry bookkeeping must never undo or hide a command already sent.
                log.exception("action %s: could not hand read-back readings on", row.id)
        mismatches = _verify(kind.expected(site, row.params), readings)
        if mismatches:
            return False, "Sent, but the read-back does not match: " + "; ".join(mismatches)
        return True, f"Done and verified: {kind.effect(site, row.params)}."


def _refusal(
    tier: ApprovalTier, row: ActionRequestRow, actor: Actor, approve: bool, humans: Humans
) -> str | None:
    """Why this person may not decide this request, or None: the permission table for
    the request's own site first, then the action kind's tier."""
    verb = "approve" if approve else "reject"
    if actor.role not in tier.roles:
        return f"your role is {actor.role}: only {' or '.join(tier.roles)} may {verb} this request"
    denied = refusal(actor.principal, Permission.APPROVE_ACTION, row.site)
    if denied is not None:
        return denied
    if approve and not tier.self_approve and humans.of(actor.key) == humans.of(row.requested_by):
        asked = _with_account(actor, row.requested_by)
        return f"you asked for this action{asked}, so someone else must approve it"
    return None


def _with_account(actor: Actor, account: str) -> str:
    """' (on Discord)' when ``account`` is another of the actor's accounts (never its id:
    the reply may be read in a channel)."""
    if account == actor.key:
        return ""
    platform = account.partition(":")[0]
    name = PLATFORM_NAMES.get(platform, platform)
    return f" (with your other {name} account)" if platform == actor.platform else f" (on {name})"


def approvals_problem(
    tier: ApprovalTier, row: ActionRequestRow, humans: Humans | None = None
) -> str | None:
    """Why the approvals recorded on ``row`` do not allow it to run, or None.

    The executor checks this again right before commanding a device, with the same
    permission table, so a request approved by an older process, by hand in the
    database or by anyone outside the tier never reaches hardware. Approvals count
    distinct humans: the accounts the site file links (``humans``), or that were
    recorded with the same person id, count once.
    """
    humans = humans or Humans()
    requester = humans.identities(row.requested_by)
    valid: list[Mapping[str, Any]] = []
    for entry in (row.approvals or {}).get("by", []):
        sites = entry.get("sites")
        principal = Principal(as_role(str(entry.get("role", ""))), None)
        if sites is not None:
            principal = Principal(principal.role, frozenset(map(str, sites)))
        if refusal(principal, Permission.APPROVE_ACTION, row.site) is not None:
            continue
        if principal.role not in tier.roles:
            continue
        if not tier.self_approve and _identities(entry, humans) & requester:
            continue
        valid.append(entry)
    people = _count_people(valid, humans)
    if people < tier.approvals:
        return (
            f"it has {people} valid approval(s) and needs {tier.describe()}"
            if people
            else f"it has no valid approval (it needs {tier.describe()})"
        )
    return None


def _recorded(text: str | None) -> list[dict[str, Any]]:
    """The approvals in a request's stored ``approvals`` JSON text."""
    data = json.loads(text) if text else None
    by = data.get("by") if isinstance(data, dict) else None
    return [dict(a) for a in by if isinstance(a, dict)] if isinstance(by, list) else []


def _identities(entry: Mapping[str, Any], humans: Humans) -> frozenset[str]:
    person = entry.get("person")
    return humans.identities(str(entry.get("actor", "")), str(person) if person else None)


def _count_people(approvals: Iterable[Mapping[str, Any]], humans: Humans) -> int:
    """How many distinct humans gave ``approvals``: two that share an account, or a
    person id (by the site file now, or as recorded then), are one."""
    people: list[frozenset[str]] = []
    for entry in approvals:
        ids = _identities(entry, humans)
        same = [p for p in people if p & ids]
        people = [p for p in people if not p & ids] + [ids.union(*same)]
    return len(people)


def _fit(text: str, limit: int = DECIDED_BY_MAX) -> str:
    """``text`` cut to the ``decided_by`` column (names come from the chat platform)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _where(entry: Mapping[str, Any]) -> str:
    platform = str(entry.get("platform") or str(entry.get("actor", "")).partition(":")[0])
    return f"on {PLATFORM_NAMES.get(platform, platform)}"


def _signature(entry: Mapping[str, Any]) -> str:
    """A decider as shown on the card: 'Alice on Slack' for a person the site file
    lists on several platforms (``person``), else their name."""
    name = str(entry.get("name") or entry.get("actor") or "someone")
    return f"{name} {_where(entry)}" if entry.get("person") else name


def _too_late(view: ActionView, *, expired_now: bool) -> Decision:
    """The answer to a click on a request that is no longer pending."""
    if view.status == "expired":
        return Decision(
            verdict="expired",
            message=f"This request expired at {_hm(view.expires_at)} UTC before anyone "
            "decided; ask again if it is still needed.",
            action=view,
            changed=expired_now,
        )
    return Decision(
        verdict="already_decided",
        message=f"Already {view.status}"
        + (f" by {view.decided_by}" if view.decided_by else "")
        + "; your click changed nothing.",
        action=view,
        changed=False,
    )


def _verify(expected: list[Expectation], readings: list[Reading]) -> list[str]:
    problems = []
    for exp in expected:
        values = [
            r.value
            for r in readings
            if r.metric == exp.metric and (not exp.device or r.device == exp.device)
        ]
        if not values:
            problems.append(f"no {exp.metric} reading{' for ' + exp.device if exp.device else ''}")
        elif values[-1] != exp.value:
            problems.append(
                f"{exp.device or exp.metric} reads {values[-1]:g}, expected {exp.value:g}"
            )
    return problems


def _hm(t: datetime) -> str:
    return t.strftime("%H:%M")
