"""Home Assistant over its REST API: sensor states as readings, switches as commands, history.

Wire format: ``shared/PROTOCOLS.md`` §4. Every call carries ``Authorization:
Bearer <long-lived token>`` read from the environment variable named by
``token_env``. The parse functions are pure; :func:`_request` is the one place
httpx errors and HTTP statuses become :class:`~tools.errors.DeviceError`.

Readings: each entity in ``entities`` yields its configured ``metric`` and
``device`` with the state × ``scale``. Each load in ``switches`` also yields
``load_on`` (device = the load's name) and ``grid_charge_switch`` yields
``grid_charge_on`` unless those entities are mapped explicitly. ``unknown``,
``unavailable`` and other non-numeric states are skipped and counted
(``on``/``off`` count as 1/0 for on/off metrics). A reading's time is when HA
last wrote the state: ``last_reported`` (HA >= 2024.3), else ``last_updated``,
else ``last_changed``; a state whose time has not moved since the previous poll
is not repeated.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx

from tools.devices.base import DeviceCommand
from tools.devices.config import HaEntity, HomeAssistantConnection, secret_from_env
from tools.devices.http import DEFAULT_MAX_RESPONSE_BYTES, DeviceResponse, device_request
from tools.domain import METRICS, Reading
from tools.errors import (
    DeviceAuthError,
    DeviceProtocolError,
    DeviceRefused,
    DeviceTimeout,
    DeviceUnreachable,
    ReadbackMismatch,
)
from tools.site import Device, Site

__all__ = [
    "BULK_THRESHOLD",
    "HomeAssistantDevice",
    "fetch_history",
    "history_url",
    "parse_history",
    "parse_state",
    "parse_state_value",
    "parse_time",
]

log = logging.getLogger(__name__)

BULK_THRESHOLD = 5  # more entities than this: one GET /api/states instead of one per entity
HISTORY_TIMEOUT_S = 60.0  # a day of history from a Raspberry Pi's recorder can take a while
HISTORY_MAX_BYTES = 256 * 1024 * 1024  # one history window (the backfill fetches day by day)


# --- pure parsing --------------------------------------------------------------------------


def parse_time(value: object) -> datetime | None:
    """An HA ISO-8601 timestamp as aware UTC (naive counts as UTC); None when unusable."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):  # year 1 with a positive offset, and the like
        return None


def parse_state_value(state: object, *, metric: str, scale: float = 1.0) -> float | None:
    """A state string as a number × ``scale``; None for unknown/unavailable/non-numeric.

    ``on``/``off`` are 1/0 for on/off metrics (unit ``bool``, e.g. ``generator_running``).
    """
    if not isinstance(state, str):
        return None
    text = state.strip().lower()
    spec = METRICS.get(metric)
    if spec is not None and spec.unit == "bool" and text in ("on", "off"):
        return 1.0 if text == "on" else 0.0
    try:
        value = float(text) * scale
    except (ValueError, OverflowError):
        return None
    return value if math.isfinite(value) else None


def _state_time(row: Mapping[str, Any]) -> datetime | None:
    for key in ("last_reported", "last_updated", "last_changed"):
        when = parse_time(row.get(key))
        if when is not None:
            return when
    return None


def parse_state(payload: object, entity: HaEntity, *, site: str) -> Reading | None:
    """One ``/api/states/<id>`` object as a reading; None when its state is not a number.

    Raises :class:`DeviceProtocolError` when it is not a state object with a time.
    """
    if not isinstance(payload, dict):
        raise DeviceProtocolError(f"state is not a JSON object (got {type(payload).__name__})")
    when = _state_time(payload)
    if when is None:
        raise DeviceProtocolError(
            f"state of {str(payload.get('entity_id'))[:80]!r} has no last_updated time"
        )
    value = parse_state_value(payload.get("state"), metric=entity.metric, scale=entity.scale)
    if value is None:
        return None
    return Reading(site=site, metric=entity.metric, time=when, value=value, device=entity.device)


def parse_history(
    payload: object, entity_map: Mapping[str, HaEntity], *, site: str
) -> list[Reading]:
    """Readings from a ``/api/history/period`` answer: a list with one list of states per entity.

    Handles full rows (``entity_id``, ``state``, ``attributes``, ``last_changed``,
    ``last_updated``) and the ``minimal_response`` rows that follow the first row
    of each list (only ``state`` and ``last_changed``; the entity is the first
    row's). Entities not in ``entity_map``, non-numeric states and rows without a
    time are skipped. Raises :class:`DeviceProtocolError` when the top level is not
    a list of lists.
    """
    if not isinstance(payload, list):
        raise DeviceProtocolError(
            f"history is not a JSON list (got {type(payload).__name__}); is this /api/history?"
        )
    out: list[Reading] = []
    for series in payload:
        if not isinstance(series, list):
            raise DeviceProtocolError("history is not a list of lists of states")
        entity_id: object = None
        for row in series:
            if not isinstance(row, dict):
                continue
            entity_id = row.get("entity_id", entity_id)
            entity = entity_map.get(entity_id) if isinstance(entity_id, str) else None
            if entity is None:
                continue
            when = parse_time(row.get("last_updated")) or parse_time(row.get("last_changed"))
            value = parse_state_value(row.get("state"), metric=entity.metric, scale=entity.scale)
            if when is None or value is None:
                continue
            out.append(
                Reading(
                    site=site, metric=entity.metric, time=when, value=value, device=entity.device
                )
            )
    return out


def _iso(when: datetime) -> str:
    if when.tzinfo is None:
        raise ValueError("history times must be timezone-aware")
    return when.astimezone(UTC).isoformat()


def history_url(base: str, entity_ids: Iterable[str], *, start: datetime, end: datetime) -> str:
    """The history request: ``/api/history/period/<start>?end_time=<end>&filter_entity_id=a,b``.

    With ``minimal_response`` and ``no_attributes``: the smallest answer the recorder gives.
    """
    ids = ",".join(entity_ids)
    return (
        f"{_base_url(base)}/api/history/period/{quote(_iso(start), safe=':')}"
        f"?end_time={quote(_iso(end), safe=':')}&filter_entity_id={quote(ids, safe=',.')}"
        "&minimal_response&no_attributes"
    )


# --- HTTP boundary -----------------------------------------------------------------------------


def _base_url(url: str) -> str:
    return url.rstrip("/").removesuffix("/api")


def _token(conn: HomeAssistantConnection) -> str:
    try:
        token = secret_from_env(conn.token_env, what=f"Home Assistant at {_base_url(conn.url)}")
    except ValueError as err:
        raise DeviceAuthError(
            f"{err}; create a long-lived access token on your HA profile page and export it"
        ) from err
    assert token is not None
    return token


async def _request(
    http: httpx.AsyncClient,
    conn: HomeAssistantConnection,
    method: str,
    path: str,
    *,
    body: dict[str, Any] | None = None,
    timeout_s: float | None = None,
    url: str | None = None,
    max_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
) -> DeviceResponse:
    """One request within a total deadline (``timeout_s``, default the connection's) and a
    size limit; translates transport errors and 401/404/4xx/5xx into DeviceErrors."""
    base = _base_url(conn.url)
    label = f"Home Assistant at {base}"
    timeout = timeout_s or conn.timeout_s
    headers = {"Authorization": f"Bearer {_token(conn)}", "Accept": "application/json"}
    try:
        response = await device_request(
            http,
            method,
            url or base + path,
            deadline_s=timeout,
            what=label,
            max_bytes=max_bytes,
            json=body,
            headers=headers,
        )
    except httpx.TimeoutException as err:
        raise DeviceTimeout(
            f"{label} did not answer {path.split('?')[0]} within {timeout:g} s; "
            "check that it is running, or raise timeout_s"
        ) from err
    except httpx.ConnectError as err:
        raise DeviceUnreachable(
            f"{label} is unreachable ({err or 'connection failed'}); "
            "check url in the site file and that Home Assistant is running"
        ) from err
    except httpx.HTTPError as err:
        raise DeviceProtocolError(f"{label}: {type(err).__name__}: {err}") from err
    if response.status_code == 401:
        raise DeviceAuthError(
            f"{label} refused the token (HTTP 401); check {conn.token_env} "
            "(a long-lived access token from your HA profile page)"
        )
    if response.status_code == 404 and path.startswith("/api/states/"):
        entity_id = path.removeprefix("/api/states/")
        raise DeviceProtocolError(
            f"{label} has no entity {entity_id} (HTTP 404); check the entity id in the site "
            "file against Developer tools > States"
        )
    if response.status_code >= 400:
        detail = response.text[:200].strip()
        error = DeviceRefused if response.status_code < 500 else DeviceProtocolError
        raise error(
            f"{label}: {method} {path.split('?')[0]} answered HTTP {response.status_code}"
            + (f" ({detail})" if detail else "")
        )
    return response


def _json(response: DeviceResponse, what: str) -> object:
    try:
        return response.json()
    except ValueError as err:
        raise DeviceProtocolError(f"{what} did not answer with JSON") from err


async def fetch_history(
    http: httpx.AsyncClient,
    conn: HomeAssistantConnection,
    *,
    start: datetime,
    end: datetime,
    site: str,
    timeout_s: float | None = None,
) -> list[Reading]:
    """The recorder's history of every mapped entity between ``start`` and ``end`` (aware).

    ``timeout_s`` defaults to the larger of the connection's and 60 s: history is slow.
    """
    if not conn.entities:
        raise DeviceRefused(
            f"Home Assistant at {_base_url(conn.url)}: no entities are mapped in the site file"
        )
    url = history_url(conn.url, conn.entities, start=start, end=end)
    timeout = timeout_s or max(conn.timeout_s, HISTORY_TIMEOUT_S)
    response = await _request(
        http,
        conn,
        "GET",
        "/api/history/period",
        url=url,
        timeout_s=timeout,
        max_bytes=HISTORY_MAX_BYTES,
    )
    payload = _json(response, f"Home Assistant at {_base_url(conn.url)} history")
    try:
        return parse_history(payload, conn.entities, site=site)
    except DeviceProtocolError as err:
        raise DeviceProtocolError(f"Home Assistant at {_base_url(conn.url)}: {err}") from err


# --- the driver ----------------------------------------------------------------------------------


def _domain(entity_id: str) -> str:
    return entity_id.split(".", 1)[0]


class HomeAssistantDevice:
    """A Home Assistant instance: polled for states, commanded through services."""

    push = False

    def __init__(
        self,
        device: Device,
        site: Site,
        *,
        http: httpx.AsyncClient,
        readback_timeout_s: float = 3.0,
        readback_interval_s: float = 0.25,
    ) -> None:
        conn = device.config
        if not isinstance(conn, HomeAssistantConnection):
            raise TypeError(f"device {device.name!r} is not a homeassistant device")
        self.name = device.name
        self.site = site.name
        self._conn = conn
        self._http = http
        self.label = f"Home Assistant at {_base_url(conn.url)}"
        self._readback = (readback_timeout_s, readback_interval_s)
        # entity id -> what it yields; explicit entity mappings win over derived switch states
        watch: dict[str, HaEntity] = {}
        for load, entity_id in conn.switches.items():
            watch[entity_id] = HaEntity(metric="load_on", device=load)
        if conn.grid_charge_switch:
            watch[conn.grid_charge_switch] = HaEntity(metric="grid_charge_on", device=self.name)
        watch.update(conn.entities)
        self.watched: dict[str, HaEntity] = watch
        self._last_time: dict[str, datetime] = {}
        self.skipped = 0  # states that were unknown, unavailable or not numbers
        self.skipped_by_entity: dict[str, int] = {}

    async def start(self) -> None:
        """Check the URL and token with ``GET /api/``."""
        response = await _request(self._http, self._conn, "GET", "/api/")
        answer = _json(response, self.label)
        if not isinstance(answer, dict) or "message" not in answer:
            raise DeviceProtocolError(f"{self.label}: /api/ did not answer like Home Assistant")

    async def _states(self) -> dict[str, object]:
        """The raw state object of every watched entity (the cheaper way for their number)."""
        ids = list(self.watched)
        if len(ids) > BULK_THRESHOLD:
            payload = _json(await _request(self._http, self._conn, "GET", "/api/states"), "states")
            if not isinstance(payload, list):
                raise DeviceProtocolError(f"{self.label}: /api/states is not a list")
            by_id = {
                row.get("entity_id"): row
                for row in payload
                if isinstance(row, dict) and row.get("entity_id") in self.watched
            }
            missing = [x for x in ids if x not in by_id]
            if missing:
                raise DeviceProtocolError(
                    f"{self.label} has no entity {', '.join(missing)}; check the entity ids in "
                    "the site file against Developer tools > States"
                )
            return {x: by_id[x] for x in ids}
        answers = await asyncio.gather(*(self._get_state(x) for x in ids))
        return dict(zip(ids, answers, strict=True))

    async def _get_state(self, entity_id: str) -> object:
        response = await _request(
            self._http, self._conn, "GET", f"/api/states/{quote(entity_id, safe='.')}"
        )
        return _json(response, f"{self.label} ({entity_id})")

    async def read(self, now: datetime) -> list[Reading]:
        readings: list[Reading] = []
        for entity_id, payload in (await self._states()).items():
            try:
                reading = parse_state(payload, self.watched[entity_id], site=self.site)
            except DeviceProtocolError as err:
                raise DeviceProtocolError(f"{self.label} ({entity_id}): {err}") from err
            if reading is None:
                self.skipped += 1
                self.skipped_by_entity[entity_id] = self.skipped_by_entity.get(entity_id, 0) + 1
                continue
            if self._last_time.get(entity_id) == reading.time:
                continue  # HA has not written this state since the last poll
            self._last_time[entity_id] = reading.time
            readings.append(reading)
        return readings

    def _entity_for(self, command: DeviceCommand) -> str | None:
        if command.kind == "set_load":
            return self._conn.switches.get(command.target)
        if command.kind == "generator":
            return self._conn.generator_switch
        if command.kind == "grid_charge":
            return self._conn.grid_charge_switch
        return None

    def handles(self, command: DeviceCommand) -> bool:
        return self._entity_for(command) is not None

    async def execute(self, command: DeviceCommand) -> None:
        """Call ``<domain>.turn_on|turn_off`` on the entity, then read its state back."""
        entity_id = self._entity_for(command)
        if entity_id is None:
            raise DeviceRefused(
                f"{self.name} ({self.label}) has no switch for {command.kind} {command.target!r}"
            )
        want = "on" if command.on else "off"
        service = f"/api/services/{_domain(entity_id)}/turn_{want}"
        await _request(self._http, self._conn, "POST", service, body={"entity_id": entity_id})
        timeout_s, interval_s = self._readback
        deadline = asyncio.get_running_loop().time() + timeout_s
        while True:
            state = await self._get_state(entity_id)
            got = state.get("state") if isinstance(state, dict) else None
            if got == want:
                self._last_time.pop(entity_id, None)  # report the new state on the next poll
                return
            if asyncio.get_running_loop().time() >= deadline:
                break
            await asyncio.sleep(interval_s)
        raise ReadbackMismatch(
            f"{self.label} was asked to turn {entity_id} {want} but it reads {got!r} after "
            f"{timeout_s:g} s; check the device behind it in Home Assistant"
        )

    async def close(self) -> None:
        return None
