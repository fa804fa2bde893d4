"""A local fake of the VRM API v2 endpoints the bot uses (aiohttp, on loopback).

- ``GET /v2/users/me`` and ``GET /v2/installations/{id}/stats?type=custom&...`` answer in
  VRM's shape (``{"success": true, "records": {"bs": [[ts_ms, v, min, max], ...]}}``);
- every request must carry ``X-Authorization: Token <token>`` (else 401, as VRM does);
- :attr:`FakeVrmApi.rate_limit_next` answers that many next requests with 429 and
  ``Retry-After``;
- every request is recorded in :attr:`FakeVrmApi.requests` (path and query pairs).

Generated data: hourly (or per ``interval``) points aligned to the interval in
``[start, end]``; ``bs`` follows a smooth daily curve between 30 % and 90 %.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from aiohttp import web

__all__ = ["FakeVrmApi", "RecordedRequest"]

INTERVAL_S = {"15mins": 900, "hours": 3600, "2hours": 7200, "days": 86400}


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    path: str
    query: list[tuple[str, str]]
    authorized: bool

    def get(self, key: str) -> str | None:
        return next((v for k, v in self.query if k == key), None)

    def getall(self, key: str) -> list[str]:
        return [v for k, v in self.query if k == key]


def soc_at(ts: int) -> float:
    """The fake's battery SOC [%] at unix time ``ts``."""
    return 60.0 + 30.0 * math.sin(2 * math.pi * (ts % 86400) / 86400)


class FakeVrmApi:
    """``async with FakeVrmApi(...) as api:`` then point a VrmAccount at ``api.base_url``."""

    def __init__(
        self,
        *,
        token: str = "test-token",
        installation_id: int = 12345,
        retry_after: str = "1",
        host: str = "127.0.0.1",
    ) -> None:
        self.token = token
        self.installation_id = installation_id
        self.retry_after = retry_after
        self.rate_limit_next = 0
        self.requests: list[RecordedRequest] = []
        self._host = host
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    def _app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        app.router.add_get("/v2/users/me", self._me)
        app.router.add_get("/v2/installations/{id}/stats", self._stats)
        return app

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        authorized = request.headers.get("X-Authorization") == f"Token {self.token}"
        self.requests.append(RecordedRequest(request.path, list(request.query.items()), authorized))
        if self.rate_limit_next > 0:
            self.rate_limit_next -= 1
            return web.json_response(
                {"success": False, "errors": "Too many requests", "error_code": "rate_limited"},
                status=429,
                headers={"Retry-After": self.retry_after},
            )
        if not authorized:
            return web.json_response(
                {"success": False, "errors": "Not logged in", "error_code": "not_logged_in"},
                status=401,
            )
        response: web.StreamResponse = await handler(request)
        return response

    async def _me(self, _request: web.Request) -> web.Response:
        user = {"id": 1, "name": "Test User", "email": "test@example.com"}
        return web.json_response({"success": True, "user": user})

    async def _stats(self, request: web.Request) -> web.Response:
        if request.match_info["id"] != str(self.installation_id):
            return web.json_response(
                {"success": False, "errors": "Forbidden", "error_code": "forbidden"}, status=403
            )
        query = request.query
        step = INTERVAL_S.get(query.get("interval", "hours"))
        try:
            start, end = int(query["start"]), int(query["end"])
        except (KeyError, ValueError):
            step = None
        if query.get("type") != "custom" or step is None:
            return web.json_response(
                {"success": False, "errors": "Invalid parameters", "error_code": "invalid_input"},
                status=400,
            )
        codes = query.getall("attributeCodes[]", [])
        first = -(-start // step) * step  # aligned, inclusive of both ends as VRM is
        stamps = range(first, end + 1, step)
        records: dict[str, Any] = {}
        for code in codes:
            if code == "bs":
                records[code] = [
                    [ts * 1000, round(soc_at(ts), 3), soc_at(ts) - 1, soc_at(ts) + 1]
                    for ts in stamps
                ]
            elif code in ("Pc", "Pb", "Gc", "Gb", "Bc", "Bg"):
                records[code] = [[ts * 1000, 0.25] for ts in stamps]
            else:
                records[code] = False
        return web.json_response({"success": True, "records": records, "totals": {}})

    async def start(self) -> str:
        runner = web.AppRunner(self._app())
        await runner.setup()
        site = web.TCPSite(runner, self._host, 0)
        await site.start()
        self._runner = runner
        host, port = runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}/v2"
        return self.base_url

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeVrmApi:
        await self.start()
        return self

    async def __aexit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        await self.close()
