"""Settle action requests left ``executing`` by a worker that died mid-action.

A worker killed while it carries a request out (``kill -9``, a power cut) leaves the
row ``executing`` with no outcome. When a worker of that site starts again, or when
the dead worker's claim (lease, wall clock) has run out, the request is taken over
with a compare-and-set, the device is read back, and the request is settled:

- ``succeeded`` when the read-back shows the expected state,
- ``failed`` when it shows the state did not change,
- ``unknown`` when the device cannot be read or does not report what would tell,

with the read-back state in the outcome and an audit row. Nothing is sent again: the
person who asked can ask again once they know what happened.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import repositories as repo
from storage.models import ActionRequestRow
from tools.actions.catalogue import Expectation, get_kind
from tools.clock import Clock
from tools.devices.base import Driver
from tools.domain import Reading
from tools.errors import DeviceError
from tools.site import Site

log = logging.getLogger(__name__)

Settled = Literal["succeeded", "failed", "unknown"]


@dataclass(frozen=True, slots=True)
class ReadBack:
    """What the device says now about the request's expected state."""

    status: Settled
    outcome: str
    state: dict[str, float]


def judge(expected: list[Expectation], readings: list[Reading]) -> tuple[Settled, dict[str, float]]:
    """Pure: the verdict for an interrupted request from a read-back, and what was read.

    Every expectation met: ``succeeded``; any one contradicted: ``failed``; otherwise
    (no expectations, or a metric not reported) ``unknown``.
    """
    state: dict[str, float] = {}
    verdicts = []
    for exp in expected:
        values = [
            r.value
            for r in readings
            if r.metric == exp.metric and (not exp.device or r.device == exp.device)
        ]
        label = f"{exp.device}.{exp.metric}" if exp.device else exp.metric
        if not values:
            verdicts.append("unknown")
            continue
        state[label] = values[-1]
        verdicts.append("met" if values[-1] == exp.value else "contradicted")
    if "contradicted" in verdicts:
        return "failed", state
    if verdicts and all(v == "met" for v in verdicts):
        return "succeeded", state
    return "unknown", state


def _state_text(state: Mapping[str, float]) -> str:
    return ", ".join(f"{k} = {v:g}" for k, v in state.items()) or "nothing relevant"


async def read_back(
    row: ActionRequestRow, site: Site, driver: Driver, *, now: datetime, lost: str
) -> ReadBack:
    """Read the device and explain what an interrupted request did. ``lost`` names the
    worker that was carrying it out."""
    kind = get_kind(row.kind)
    head = f"Interrupted: worker {lost} stopped while carrying this out."
    try:
        readings = await driver.poll(now)
    except DeviceError as err:
        return ReadBack(
            "unknown",
            f"{head} The device could not be read back ({err}), so whether it took "
            "effect is unknown; check the site before asking again. Nothing was re-sent.",
            {},
        )
    except Exception as err:  # a driver bug must not stop the other requests settling
        log.exception("action %s: read-back after an interruption failed", row.id)
        return ReadBack(
            "unknown",
            f"{head} The read-back failed ({type(err).__name__}), so whether it took effect "
            "is unknown; check the site before asking again. Nothing was re-sent.",
            {},
        )
    status, state = judge(kind.expected(site, row.params), readings)
    seen = _state_text(state)
    if status == "succeeded":
        effect = kind.effect(site, row.params).rstrip(".")
        text = f"{head} Read back after the restart: {seen}, as expected ({effect})"
    elif status == "failed":
        partly = len(state) > 1 and any(
            state.get(f"{e.device}.{e.metric}" if e.device else e.metric) == e.value
            for e in kind.expected(site, row.params)
        )
        text = (
            f"{head} Read back after the restart: {seen}; it "
            + ("took effect only in part" if partly else "did not take effect")
            + ". Nothing was re-sent; ask again if it is still needed."
        )
    else:
        text = (
            f"{head} Read back after the restart: {seen}; that does not tell whether it "
            "took effect. Check the site before asking again. Nothing was re-sent."
        )
    return ReadBack(status, text.rstrip(".") + ".", state)


async def settle_interrupted(
    *,
    sessionmaker: async_sessionmaker[AsyncSession],
    sites: Mapping[str, Site],
    drivers: Mapping[str, Driver],
    clock: Clock,
    worker: str,
    wall_now: datetime,
    lease: timedelta,
    owned: bool,
) -> list[str]:
    """Settle the interrupted requests of ``sites`` (those this worker runs); their ids.

    ``owned``: also this worker's own ``executing`` requests (at start, when nothing of
    its own can be in flight). Every request is first taken over with a compare-and-set
    on its claim, so two workers never settle the same one.
    """
    names = [name for name in sites if name in drivers]
    async with sessionmaker() as session, session.begin():
        found = await repo.interrupted_actions(
            session, sites=names, executor=worker, wall_now=wall_now, owned=owned
        )
    settled: list[str] = []
    for action_id, seen_executor, seen_lease in found:
        async with sessionmaker() as session, session.begin():
            mine = await repo.take_over_execution(
                session,
                action_id=action_id,
                seen_executor=seen_executor,
                seen_lease_until=seen_lease,
                executor=worker,
                lease_until=wall_now + lease,
            )
            row = await repo.get_action_request(session, action_id=action_id)
        if not mine or row is None:
            continue
        lost = seen_executor or "(unknown)"
        result = await read_back(
            row, sites[row.site], drivers[row.site], now=clock.now(), lost=lost
        )
        done = clock.now()
        async with sessionmaker() as session, session.begin():
            if not await repo.finish_execution(
                session,
                action_id=action_id,
                executor=worker,
                to_status=result.status,
                finished_at=done,
                outcome=result.outcome,
            ):
                continue
            await repo.append_audit(
                session,
                time=done,
                actor="system",
                event={
                    "succeeded": "action_succeeded",
                    "failed": "action_failed",
                    "unknown": "action_outcome_unknown",
                }[result.status],
                site=row.site,
                action_id=action_id,
                details={
                    "kind": row.kind,
                    "params": row.params,
                    "outcome": result.outcome,
                    "recovered_from": lost,
                    "worker": worker,
                    "read_back": result.state,
                },
            )
        log.warning(
            "action %s was left executing by worker %s; settled as %s on worker %s: %s",
            action_id,
            lost,
            result.status,
            worker,
            result.outcome,
        )
        settled.append(action_id)
    return settled
