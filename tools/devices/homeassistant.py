"""Home Assistant over its REST API: sensor states as readings, switches as commands, history.

Wire format: ``shared/PROTOCOLS.md`` §4. Every call carries ``Authorization:
Bearer <long-lived token>`` read from the environment variable named by
``token_env``. The parse functions are pure; :func:`_request` is the one place
httpx errors and HTTP statuses become :class:`~tools.errors.DeviceError`.

Readings: each entity in ``entities`` yields its configured ``metric`` and
``device``. The state is converted from the entity's ``unit_of_measurement``
(W/kW/MW, Wh/kWh/MWh, %, L/mL/m³/gal, °C/°F/K, V, A, Hz, h, L/h) to the
metric's unit; ``unit`` in the site file overrides HA's, and ``scale`` applies
only to entities that have no unit. A unit that does not fit the metric (kWh on
a power metric) rejects the state. Negative values of metrics that cannot be
negative follow a per-metric policy (:func:`negative_policy`): power within
-50 W is sensor noise and read as 0, anything else is rejected; an entity's
``negative`` (``clamp`` or ``reject``) overrides it. Metrics that can be negative
(grid and battery power, battery current) are taken as they are. In a bulk
``/api/states`` poll a state that cannot be used (no usable time, a wrong unit,
not an object) is rejected and counted by reason in ``rejected_by_reason``; the
other states are kept. Each load in ``switches`` also yields
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
import dataclasses
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
    "NEGATIVE_NOISE_W",
    "HomeAssistantDevice",
    "StateRejected",
    "convert_unit",
    "fetch_history",
    "history_url",
    "negative_policy",
    "parse_history",
    "parse_state",
    "parse_state_value",
    "parse_time",
]

log = logging.getLogger(__name__)

BULK_THRESHOLD = 5  # more entities than this: one GET /api/states instead of one per entity
HISTORY_TIMEOUT_S = 60.0  # a day of history from a Raspberry Pi's recorder can take a while
HISTORY_MAX_BYTES = 256 * 1024 * 1024  # one history window (the backfill fetches day by day)


NEGATIVE_NOISE_W = 50.0
"""A power reading down to this far below zero is sensor noise (read as 0 W)."""

GALLON_L = 3.785411784  # US gallon, HA's UnitOfVolume.GALLONS

# metric unit -> HA unit -> factor to the metric unit
_UNIT_FACTORS: dict[str, dict[str, float]] = {
    "W": {"W": 1.0, "kW": 1e3, "MW": 1e6, "mW": 1e-3},
    "Wh": {"Wh": 1.0, "kWh": 1e3, "MWh": 1e6},
    "kWh": {"Wh": 1e-3, "kWh": 1.0, "MWh": 1e3},
    "%": {"%": 1.0},
    "L": {"L": 1.0, "mL": 1e-3, "m³": 1e3, "gal": GALLON_L, "ft³": 28.316846592},
    "L/h": {"L/h": 1.0, "gal/h": GALLON_L, "m³/h": 1e3, "L/min": 60.0},
    "V": {"V": 1.0, "mV": 1e-3, "kV": 1e3},
    "A": {"A": 1.0, "mA": 1e-3},
    "Hz": {"Hz": 1.0, "kHz": 1e3},
    "h": {"h": 1.0, "min": 1 / 60, "s": 1 / 3600, "d": 24.0},
}
_UNITLESS = frozenset({"bool", "code", ""})


class EntityMissing(DeviceProtocolError):
    """Home Assistant has no entity with a configured id (a typo, or a renamed entity)."""


class StateRejected(DeviceProtocolError):
    """A state that cannot be used; ``reason`` is counted (e.g. "bad time", "unit")."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def convert_unit(value: float, unit: str, metric: str) -> float:
    """``value`` in HA unit ``unit`` as the metric's unit; ValueError when they do not fit."""
    target = METRICS[metric].unit
    if target in _UNITLESS:
        return value
    if target == "°C":
        if unit in ("°C", "C"):
            return value
        if unit in ("°F", "F"):
            return (value - 32.0) * 5.0 / 9.0
        if unit == "K":
            return value - 273.15
    else:
        factor = _UNIT_FACTORS.get(target, {}).get(unit)
        if factor is not None:
            return value * factor
    raise ValueError(f"unit {unit!r} does not fit {metric} (which is in {target})")


def negative_policy(metric: str, override: str | None = None) -> str:
    """What a negative value of ``metric`` means: "valid" (the metric can be negative:
    grid or battery power), "clamp" (read as 0), "reject", or "noise" (power: within
    :data:`NEGATIVE_NOISE_W` read as 0, beyond rejected)."""
    spec = METRICS[metric]
    if spec.min_value < 0:
        return "valid"
    if override is not None:
        return override
    return "noise" if spec.unit == "W" else "reject"


def apply_negative_policy(value: float, policy: str) -> tuple[float | None, str]:
    """(value to use or None, what happened: "", "clamped" or "negative")."""
    if value >= 0 or policy == "valid":
        return value, ""
    if policy == "clamp" or (policy == "noise" and value >= -NEGATIVE_NOISE_W):
        return 0.0, "clamped"
    return None, "negative"


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


def parse_state_value(
    state: object, *, metric: str, scale: float = 1.0, unit: str | None = None
) -> float | None:
    """A state string as a number in the metric's unit; None for unknown/unavailable/
    non-numeric. With ``unit`` (HA's ``unit_of_measurement``) the value is converted
    (ValueError when the unit does not fit the metric); without, it is × ``scale``.

    ``on``/``off`` are 1/0 for on/off metrics (unit ``bool``, e.g. ``generator_running``).
    """
    if not isinstance(state, str):
        return None
    text = state.strip().lower()
    spec = METRICS.get(metric)
    if spec is not None and spec.unit == "bool" and text in ("on", "off"):
        return 1.0 if text == "on" else 0.0
    try:
        number = float(text)
    except (ValueError, OverflowError):
        return None
    if not math.isfinite(number):
        return None
    value = convert_unit(number, unit, metric) if unit else number * scale
    return value if math.isfinite(value) else None


def _unit(row: Mapping[str, Any], entity: HaEntity) -> str | None:
    """The unit a state is in: the site file's ``unit``, else HA's unit_of_measurement."""
    if entity.unit:
        return entity.unit
    attributes = row.get("attributes")
    if isinstance(attributes, dict):
        unit = attributes.get("unit_of_measurement")
        if isinstance(unit, str) and unit.strip():
            return unit.strip()
    return None


def _state_time(row: Mapping[str, Any]) -> datetime | None:
    for key in ("last_reported", "last_updated", "last_changed"):
        when = parse_time(row.get(key))
        if when is not None:
            return when
    return None


def parse_state(payload: object, entity: HaEntity, *, site: str) -> Reading | None:
    """One ``/api/states/<id>`` object as a reading; None when its state is not a number.

    Raises :class:`StateRejected` when it is not a state object with a usable time, or
    its unit does not fit the metric.
    """
    if not isinstance(payload, dict):
        raise StateRejected(
            f"state is not a JSON object (got {type(payload).__name__})", "not an object"
        )
    name = str(payload.get("entity_id"))[:80]
    when = _state_time(payload)
    if when is None:
        raise StateRejected(f"state of {name!r} has no usable last_updated time", "bad time")
    try:
        value = parse_state_value(
            payload.get("state"),
            metric=entity.metric,
            scale=entity.scale,
            unit=_unit(payload, entity),
        )
    except ValueError as err:
        raise StateRejected(f"state of {name!r}: {err}", "unit") from err
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
    unit: str | None = None
    unit_of: object = None
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
            if "attributes" in row:  # full rows carry the unit; minimal rows keep the last one
                unit = _unit(row, entity)
            elif entity_id != unit_of:
                unit = _unit({}, entity)
            unit_of = entity_id
            try:
                value = parse_state_value(
                    row.get("state"), metric=entity.metric, scale=entity.scale, unit=unit
                )
            except ValueError:
                continue
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
        raise EntityMissing(
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
        # states that could not be used (bad time, wrong unit, negative), by reason
        self.rejected_by_reason: dict[str, int] = {}
        # entity id -> {"clamped": n, "negative": n}
        self.negatives: dict[str, dict[str, int]] = {}
        self._last_rejection: dict[str, str] = {}

    @property
    def status_notes(self) -> list[str]:
        """The negative-value policy of each entity that has met it, with counts."""
        notes: list[str] = []
        for entity_id, counts in sorted(self.negatives.items()):
            entity = self.watched[entity_id]
            policy = negative_policy(entity.metric, entity.negative)
            rule = {
                "clamp": "negative values are read as 0",
                "reject": "negative values are rejected",
                "noise": f"down to -{NEGATIVE_NOISE_W:g} W is read as 0 (noise), below that "
                "rejected",
            }[policy]
            seen = ", ".join(f"{n} {what}" for what, n in sorted(counts.items()) if n)
            notes.append(f"{entity_id} ({entity.metric}): {rule} ({seen} so far)")
        return notes

    def _reject(self, entity_id: str, reason: str, why: str) -> None:
        self.rejected_by_reason[reason] = self.rejected_by_reason.get(reason, 0) + 1
        if self._last_rejection.get(entity_id) != why:
            self._last_rejection[entity_id] = why
            log.warning("%s, %s: %s rejected: %s", self.site, self.name, entity_id, why)

    async def start(self) -> None:
        """Check the URL and token with ``GET /api/``."""
        response = await _request(self._http, self._conn, "GET", "/api/")
        answer = _json(response, self.label)
        if not isinstance(answer, dict) or "message" not in answer:
            raise DeviceProtocolError(f"{self.label}: /api/ did not answer like Home Assistant")

    async def _states(self) -> dict[str, object]:
        """The raw state object of every watched entity that exists (the cheaper way for
        their number). A missing entity is rejected (logged once, counted) and the others
        are read; only when none of them exists is the poll an error."""
        ids = list(self.watched)
        if len(ids) > BULK_THRESHOLD:
            payload = _json(await _request(self._http, self._conn, "GET", "/api/states"), "states")
            if not isinstance(payload, list):
                raise DeviceProtocolError(f"{self.label}: /api/states is not a list")
            found: dict[str, object] = {
                row["entity_id"]: row
                for row in payload
                if isinstance(row, dict) and row.get("entity_id") in self.watched
            }
        else:
            answers = await asyncio.gather(
                *(self._get_state(x) for x in ids), return_exceptions=True
            )
            found = {}
            for entity_id, answer in zip(ids, answers, strict=True):
                if isinstance(answer, EntityMissing):
                    continue
                if isinstance(answer, BaseException):
                    raise answer
                found[entity_id] = answer
        missing = [x for x in ids if x not in found]
        why = (
            "{label} has no entity {ids}; check the entity ids in the site file against "
            "Developer tools > States"
        )
        if missing and not found:
            raise EntityMissing(why.format(label=self.label, ids=", ".join(missing)))
        for entity_id in missing:
            self._reject(entity_id, "missing", why.format(label=self.label, ids=entity_id))
        return {x: found[x] for x in ids if x in found}

    async def _get_state(self, entity_id: str) -> object:
        response = await _request(
            self._http, self._conn, "GET", f"/api/states/{quote(entity_id, safe='.')}"
        )
        return _json(response, f"{self.label} ({entity_id})")

    async def read(self, now: datetime) -> list[Reading]:
        """New readings; one unusable state is rejected and counted, the others are kept."""
        readings: list[Reading] = []
        for entity_id, payload in (await self._states()).items():
            entity = self.watched[entity_id]
            try:
                reading = parse_state(payload, entity, site=self.site)
            except StateRejected as err:
                self._reject(entity_id, err.reason, str(err))
                continue
            if reading is None:
                self.skipped += 1
                self.skipped_by_entity[entity_id] = self.skipped_by_entity.get(entity_id, 0) + 1
                continue
            if self._last_time.get(entity_id) == reading.time:
                continue  # HA has not written this state since the last poll
            self._last_time[entity_id] = reading.time
            value, happened = apply_negative_policy(
                reading.value, negative_policy(entity.metric, entity.negative)
            )
            if happened:
                counts = self.negatives.setdefault(entity_id, {})
                counts[happened] = counts.get(happened, 0) + 1
            if value is None:
                self._reject(
                    entity_id, "negative", f"{reading.value:g} is not a valid {entity.metric}"
                )
                continue
            if value != reading.value:
                reading = dataclasses.replace(reading, value=value)
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
