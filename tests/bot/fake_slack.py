"""A local fake of the Slack Web API (and a Socket Mode websocket) that records every call.

Point ``AsyncWebClient(base_url=fake.api_url)`` at it. It answers the methods the
bot uses with the shapes Slack documents: ``auth.test``, ``chat.postMessage``
(returns a fresh ``ts``), ``chat.update``, ``chat.postEphemeral``, the three-step
file upload (``files.getUploadURLExternal``, the upload URL,
``files.completeUploadExternal``) and ``apps.connections.open`` (returns the
``ws://`` URL of its own websocket, which replays envelopes a test hands it and
records the acks). :meth:`FakeSlack.fail_once` makes a method answer 429 with
``Retry-After`` (or an ``ok: false`` error) the next time it is called.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
TEAM_ID = "T111"


@dataclass(slots=True)
class Call:
    method: str
    args: dict[str, Any]
    token: str
    status: int  # the HTTP status the fake answered with
    ok: bool
    response: dict[str, Any] = field(default_factory=dict)  # what the fake answered
    at: float = field(default_factory=time.monotonic)


@dataclass(slots=True)
class _Failure:
    status: int
    retry_after: int | None
    error: str


class FakeSlack:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.uploads: list[dict[str, Any]] = []  # {"file_id", "bytes", "filename"}
        self.acks: list[dict[str, Any]] = []  # Socket Mode acks sent by the client
        self.socket_connected = asyncio.Event()
        self._failures: dict[str, list[_Failure]] = {}
        self._ts = itertools.count(1)
        self._files = itertools.count(1)
        self._pending_files: dict[str, dict[str, Any]] = {}
        self._sockets: list[web.WebSocketResponse] = []
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.usergroups: dict[str, list[str]] = {}  # usergroups.users.list answers

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> FakeSlack:
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/api/{method}", self._api)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_get("/link", self._socket)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def close(self) -> None:
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> FakeSlack:
        return await self.start()

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    # -- test controls -------------------------------------------------------------------

    def fail_once(
        self, method: str, *, status: int = 429, retry_after: int | None = 1, error: str = ""
    ) -> None:
        """The next call of ``method`` gets ``status`` (429 + Retry-After by default),
        or, with ``status=200`` and ``error``, ``{"ok": false, "error": error}``."""
        failure = _Failure(status=status, retry_after=retry_after, error=error or "ratelimited")
        self._failures.setdefault(method, []).append(failure)

    def calls_to(self, method: str, *, ok: bool | None = True) -> list[Call]:
        return [c for c in self.calls if c.method == method and (ok is None or c.ok == ok)]

    def posts(self, channel: str | None = None) -> list[Call]:
        return [
            c
            for c in self.calls_to("chat.postMessage")
            if channel is None or c.args.get("channel") == channel
        ]

    async def wait_for(
        self, predicate: Callable[[], Any], *, timeout_s: float = 60.0, what: str = ""
    ) -> Any:
        """Poll until ``predicate()`` is truthy; returns its value."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while not (result := predicate()):
            if loop.time() > deadline:
                raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
            await asyncio.sleep(0.01)
        return result

    async def send_envelope(self, envelope: dict[str, Any]) -> None:
        """Push a Socket Mode envelope to every connected client."""
        await asyncio.wait_for(self.socket_connected.wait(), 60)
        for ws in list(self._sockets):
            await ws.send_str(json.dumps(envelope))

    # -- handlers ------------------------------------------------------------------------

    async def _record(self, call: Call) -> None:
        self.calls.append(call)

    async def _args(self, request: web.Request) -> dict[str, Any]:
        args: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                args.update(await request.json())
            else:
                args.update(dict(await request.post()))
        for key in ("blocks", "files", "attachments"):
            value = args.get(key)
            if isinstance(value, str):
                with contextlib.suppress(ValueError):
                    args[key] = json.loads(value)
        return args

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await self._args(request)
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        token = token or str(args.get("token", ""))
        failures = self._failures.get(method)
        if failures:
            failure = failures.pop(0)
            await self._record(Call(method, args, token, failure.status, ok=False))
            headers = {}
            if failure.retry_after is not None:
                headers["Retry-After"] = str(failure.retry_after)
            return web.json_response(
                {"ok": False, "error": failure.error}, status=failure.status, headers=headers
            )
        if not token:
            await self._record(Call(method, args, token, 200, ok=False))
            return web.json_response({"ok": False, "error": "not_authed"})
        body = self._answer(method, args)
        await self._record(Call(method, args, token, 200, ok=bool(body.get("ok")), response=body))
        return web.json_response(body)

    def _answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://fake.slack.com/",
                "team": "Fake",
                "user": "commandcenter",
                "team_id": TEAM_ID,
                "user_id": BOT_USER_ID,
                "bot_id": BOT_ID,
                "is_enterprise_install": False,
            }
        if method == "chat.postMessage":
            ts = f"{1_700_000_000 + next(self._ts)}.000100"
            return {
                "ok": True,
                "channel": args.get("channel"),
                "ts": ts,
                "message": {"text": args.get("text", ""), "ts": ts, "bot_id": BOT_ID},
            }
        if method == "chat.update":
            return {"ok": True, "channel": args.get("channel"), "ts": args.get("ts")}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": f"{1_700_000_000 + next(self._ts)}.000200"}
        if method == "files.getUploadURLExternal":
            file_id = f"F{next(self._files):06d}"
            self._pending_files[file_id] = {"filename": args.get("filename")}
            return {
                "ok": True,
                "upload_url": f"{self.base_url}/upload/{file_id}",
                "file_id": file_id,
            }
        if method == "files.completeUploadExternal":
            files = args.get("files") or []
            return {
                "ok": True,
                "files": [{"id": f.get("id"), "title": f.get("title")} for f in files],
            }
        if method == "usergroups.users.list":
            group = str(args.get("usergroup", ""))
            if group not in self.usergroups:
                return {"ok": False, "error": "no_such_subteam"}
            return {"ok": True, "users": list(self.usergroups[group])}
        if method == "apps.connections.open":
            return {"ok": True, "url": f"ws://127.0.0.1:{self.port}/link"}
        return {"ok": False, "error": "unknown_method"}

    async def _upload(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        data = await request.read()
        meta = self._pending_files.pop(file_id, None)
        if meta is None:
            return web.Response(status=404, text="unknown upload")
        self.uploads.append({"file_id": file_id, "bytes": data, **meta})
        await self._record(Call("upload", {"file_id": file_id}, "", 200, ok=True))
        return web.Response(text="OK - " + str(len(data)))

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()  # answers the client's pings itself (autoping)
        await ws.prepare(request)
        self._sockets.append(ws)
        await ws.send_str(
            json.dumps(
                {
                    "type": "hello",
                    "num_connections": 1,
                    "connection_info": {"app_id": "A111"},
                    "debug_info": {"host": "fake"},
                }
            )
        )
        self.socket_connected.set()
        try:
            async for message in ws:
                if message.type != WSMsgType.TEXT:
                    continue
                data = json.loads(message.data)
                self.acks.append(data)
                await self._record(Call("socket.ack", data, "", 200, ok=True))
        finally:
            self._sockets.remove(ws)
        return ws
