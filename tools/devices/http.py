"""One HTTP call to a device, bounded in time and size.

httpx's ``timeout`` is per operation (connect, each read): a device that trickles
its answer a byte at a time never trips it, and one poll took a minute with
``timeout_s: 2``. :func:`device_request` puts a TOTAL deadline around the whole
call (connect, send, headers and every byte of the body) and stops reading once
the body passes ``max_bytes``.

Drivers translate the errors into their own words: the deadline is raised as an
``httpx.TimeoutException`` (so the driver's existing timeout message applies),
an oversized body as :class:`ResponseTooLarge`.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import httpx

from tools.errors import DeviceProtocolError

# Far above any device status or Home Assistant state list we read; history calls pass more.
DEFAULT_MAX_RESPONSE_BYTES = 4 * 1024 * 1024


class ResponseTooLarge(DeviceProtocolError):
    """The device's answer passed the size limit; reading was stopped."""


@dataclass(frozen=True, slots=True)
class DeviceResponse:
    """A complete, size-checked answer."""

    status_code: int
    headers: httpx.Headers
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body as JSON; ``ValueError`` when it is not."""
        return json.loads(self.content)


async def device_request(
    http: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    deadline_s: float,
    what: str,
    max_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    **kwargs: Any,
) -> DeviceResponse:
    """``method url`` with a total deadline of ``deadline_s`` and at most ``max_bytes`` of
    (decoded) body. ``what`` names the device in errors; ``kwargs`` go to httpx
    (``params``, ``json``, ``headers``, ``auth``)."""
    try:
        async with asyncio.timeout(deadline_s):
            async with http.stream(method, url, timeout=deadline_s, **kwargs) as response:
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > max_bytes:
                    raise _too_large(what, max_bytes, f"it announced {int(declared):,} bytes")
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > max_bytes:
                        raise _too_large(what, max_bytes, "reading was stopped")
                    chunks.append(chunk)
                return DeviceResponse(response.status_code, response.headers, b"".join(chunks))
    except TimeoutError as err:
        raise httpx.TimeoutException(
            f"{what} sent no complete answer within {deadline_s:g} s"
        ) from err


def _too_large(what: str, max_bytes: int, detail: str) -> ResponseTooLarge:
    return ResponseTooLarge(
        f"{what} answered with more than {max_bytes:,} bytes ({detail}); "
        "check the URL points at the device's API"
    )
