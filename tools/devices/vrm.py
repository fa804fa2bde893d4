"""Victron VRM API v2: fetch an installation's history to backfill readings.

Only what backfilling needs (PROTOCOLS.md §1.8): ``GET /installations/{id}/stats`` with
``type=custom``, authenticated with a personal access token
(``X-Authorization: Token <token>``). Long ranges are fetched in chunks of at most
:data:`MAX_CHUNK` (31 days); HTTP 429 is retried after ``Retry-After``, a bounded number
of times. Vendor and transport errors are translated here into :mod:`tools.errors`.

Attribute codes mapped to metrics (:data:`VRM_METRICS`): only ``bs`` (battery state of
charge [%]). The energy-flow codes (``Pc``, ``Pb``, ``Gc``, ...) are not mapped: their
units and interval semantics in ``type=custom`` stats are not documented well enough to
turn them into the project's power metrics with confidence.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import math
import re
from collections.abc import Awaitable, Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import httpx

from tools.devices.config import VrmAccount, secret_from_env
from tools.domain import Reading, ReadingError, validate_reading
from tools.errors import (
    DeviceAuthError,
    DeviceProtocolError,
    DeviceRefused,
    DeviceTimeout,
    DeviceUnreachable,
)

__all__ = [
    "MAX_CHUNK",
    "VRM_DEVICE",
    "VRM_METRICS",
    "VrmClient",
    "VrmInterval",
    "VrmRateLimited",
    "backfill_readings",
    "chunk_range",
]

log = logging.getLogger(__name__)

VrmInterval = Literal["15mins", "hours", "2hours", "days", "weeks", "months", "years"]
MAX_CHUNK = timedelta(days=31)
#: VRM attribute code -> metric. Extend only with codes whose units are certain.
VRM_METRICS: dict[str, str] = {"bs": "battery_soc_pct"}
VRM_DEVICE = "vrm"  # Reading.device of backfilled readings
TOKEN_ADVICE = "create an access token in VRM → Preferences → Integrations"


class VrmRateLimited(DeviceRefused):
    """VRM kept answering HTTP 429 (too many requests)."""


def chunk_range(
    start: datetime, end: datetime, size: timedelta = MAX_CHUNK
) -> Iterator[tuple[datetime, datetime]]:
    """Consecutive ``[a, b)`` windows of at most ``size`` covering ``[start, end)``."""
    cursor = start
    while cursor < end:
        stop = min(cursor + size, end)
        yield cursor, stop
        cursor = stop


def _retry_after_s(value: str | None, *, default: float) -> float:
    """Seconds to wait from a Retry-After header (delta seconds or an HTTP date)."""
    if not value:
        return default
    if re.fullmatch(r"\s*\d+(\.\d+)?\s*", value):  # delta seconds
        return max(0.0, float(value))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class VrmClient:
    """A VRM API v2 client for one installation, on a shared ``httpx.AsyncClient``."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        account: VrmAccount,
        *,
        token: str | None = None,
        timeout_s: float = 30.0,
        max_retries: int = 3,
        max_retry_after_s: float = 120.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        """``token`` defaults to the environment variable ``account.token_env``."""
        if token is None:
            try:
                token = secret_from_env(account.token_env, what="VRM")
            except ValueError as err:
                raise DeviceAuthError(f"{err}; {TOKEN_ADVICE} and export it there") from err
        if not token:
            raise DeviceAuthError(f"VRM: the access token is empty; {TOKEN_ADVICE}")
        self._http = http
        self.account = account
        self._headers = {"X-Authorization": f"Token {token}", "Accept": "application/json"}
        self._timeout = httpx.Timeout(timeout_s)
        self._max_retries = max_retries
        self._max_retry_after_s = max_retry_after_s
        self._sleep = sleep
        self.requests = 0

    @property
    def base_url(self) -> str:
        return self.account.base_url.rstrip("/")

    async def _get(self, path: str, params: Sequence[tuple[str, str]]) -> dict[str, Any]:
        url = f"{self.base_url}{path}"
        attempt = 0
        while True:
            self.requests += 1
            try:
                response = await self._http.get(
                    url, params=list(params), headers=self._headers, timeout=self._timeout
                )
            except httpx.TimeoutException as err:
                raise DeviceTimeout(
                    f"VRM API at {self.base_url} did not answer in time ({type(err).__name__}); "
                    "try again later or with fewer days"
                ) from err
            except httpx.HTTPError as err:
                raise DeviceUnreachable(
                    f"cannot reach the VRM API at {self.base_url} ({type(err).__name__}: {err}); "
                    "check the network and vrm.base_url"
                ) from err
            status = response.status_code
            retryable = status == 429 or status in (502, 503, 504)
            if retryable and attempt < self._max_retries:
                wait = _retry_after_s(
                    response.headers.get("Retry-After"), default=min(2.0**attempt, 30.0)
                )
                if wait <= self._max_retry_after_s:
                    attempt += 1
                    log.info("VRM answered HTTP %d; retrying in %.1f s", status, wait)
                    await self._sleep(wait)
                    continue
            return self._body(response)

    def _body(self, response: httpx.Response) -> dict[str, Any]:
        status = response.status_code
        installation = self.account.installation_id
        if status == 401:
            raise DeviceAuthError(
                f"VRM refused the token (HTTP 401); {TOKEN_ADVICE} "
                f"and put it in {self.account.token_env}"
            )
        if status == 403:
            raise DeviceAuthError(
                f"VRM token may not read installation {installation} (HTTP 403); check "
                "vrm.installation_id and that the token's user has access to the installation"
            )
        if status == 404:
            raise DeviceRefused(
                f"VRM has no installation {installation} (HTTP 404); vrm.installation_id is "
                "the idSite number in the installation's VRM address"
            )
        if status == 429:
            raise VrmRateLimited(
                "VRM rate limit reached (HTTP 429) after "
                f"{self._max_retries} retries; wait a few minutes and run again"
            )
        if status >= 500:
            raise DeviceUnreachable(f"VRM API failed (HTTP {status}); try again later")
        try:
            body = response.json()
        except ValueError as err:
            kind = response.headers.get("content-type", "no content type")
            raise DeviceProtocolError(
                f"VRM API answered HTTP {status} with something that is not JSON ({kind}); "
                "check vrm.base_url (it should end in /v2)"
            ) from err
        if not isinstance(body, dict):
            raise DeviceProtocolError(f"VRM API answered HTTP {status} with unexpected JSON")
        if status >= 400 or body.get("success") is False:
            errors = body.get("errors") or body.get("error_code") or "no details"
            raise DeviceProtocolError(f"VRM API refused the request (HTTP {status}): {errors}")
        return body

    async def stats(
        self,
        start: datetime,
        end: datetime,
        *,
        interval: VrmInterval = "hours",
        attribute_codes: Sequence[str] = ("bs",),
    ) -> dict[str, list[tuple[datetime, float]]]:
        """``{code: [(time UTC, value), ...]}`` for ``[start, end)``, sorted, deduplicated.

        Each record's first value is used (records of some codes carry more numbers whose
        meaning VRM does not document). Records without a numeric value are skipped.
        """
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError("start and end must be timezone-aware")
        if not attribute_codes:
            raise ValueError("attribute_codes is empty")
        series: dict[str, dict[datetime, float]] = {code: {} for code in attribute_codes}
        path = f"/installations/{self.account.installation_id}/stats"
        for a, b in chunk_range(start, end):
            params = [("type", "custom"), ("interval", interval)]
            params += [("attributeCodes[]", code) for code in attribute_codes]
            params += [("start", str(int(a.timestamp()))), ("end", str(int(b.timestamp())))]
            body = await self._get(path, params)
            for code, points in _records(body).items():
                if code in series:
                    for when, value in points:
                        if start <= when < end:
                            series[code][when] = value
        return {code: sorted(points.items()) for code, points in series.items()}


def _records(body: dict[str, Any]) -> dict[str, list[tuple[datetime, float]]]:
    records = body.get("records")
    if isinstance(records, list) and not records:  # PHP's empty array: no data at all
        return {}
    if not isinstance(records, dict):
        raise DeviceProtocolError("VRM stats answer has no records object")
    out: dict[str, list[tuple[datetime, float]]] = {}
    for code, rows in records.items():
        if not rows:  # false, null or [] when the installation has no such data
            out[code] = []
            continue
        if not isinstance(rows, list):
            raise DeviceProtocolError(f"VRM stats records for {code!r} are not a list")
        points: list[tuple[datetime, float]] = []
        for row in rows:
            if not isinstance(row, list) or len(row) < 2:
                raise DeviceProtocolError(f"VRM stats record {row!r} for {code!r} is malformed")
            ts, value = row[0], row[1]
            if isinstance(ts, bool) or not isinstance(ts, int | float):
                raise DeviceProtocolError(f"VRM stats record {row!r} has no timestamp")
            if isinstance(value, bool) or not isinstance(value, int | float):
                continue  # null: no data in that interval
            if not math.isfinite(value):
                continue
            points.append((datetime.fromtimestamp(ts / 1000, UTC), float(value)))
        out[code] = points
    return out


async def backfill_readings(
    client: VrmClient,
    *,
    site: str,
    start: datetime,
    end: datetime,
    interval: VrmInterval = "hours",
) -> list[Reading]:
    """Readings (``device="vrm"``) for every mapped attribute in ``[start, end)``.

    Values outside a metric's plausible range are dropped and logged.
    """
    series = await client.stats(start, end, interval=interval, attribute_codes=list(VRM_METRICS))
    readings: list[Reading] = []
    dropped = 0
    for code, points in series.items():
        metric = VRM_METRICS[code]
        for when, value in points:
            reading = Reading(site=site, metric=metric, time=when, value=value, device=VRM_DEVICE)
            try:
                readings.append(validate_reading(reading))
            except ReadingError as err:
                dropped += 1
                log.debug("VRM %s at %s: %s", code, when.isoformat(), err)
    if dropped:
        log.warning("dropped %d implausible VRM values for %s", dropped, site)
    return readings
