"""``commandcenter bench chat``: signed ``/energy status`` commands through the Slack app.

The whole bot runs on a scratch SQLite data folder (demo simulator, offline
planner). Requests go over loopback HTTP to ``POST /slack/events`` (Bolt checks
each signature); Slack's Web API is a small local fake that notes when each
answer arrives. Two figures per request:

- ack latency: from sending the request to Slack's HTTP response (must stay < 3 s);
- reply latency: from sending the request to the answer's ``chat.postMessage``.

``concurrency`` commands are in flight at once (each worker sends the next when
its answer arrived), so acks are measured while the bot is busy answering.
"""

from __future__ import annotations

import asyncio
import secrets
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web
from slack_sdk.signature import SignatureVerifier

BENCH_TOKEN = "xoxb-bench-not-a-real-token"


class _FakeWebApi:
    """Just enough of Slack's Web API for the benchmark; notes when answers arrive."""

    def __init__(self) -> None:
        self.answered: dict[str, float] = {}  # channel -> perf_counter of its first answer
        self.posts = 0
        self._ts = 0

    async def handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if method == "auth.test":
            return web.json_response(
                {"ok": True, "team_id": "TBENCH", "user_id": "UBENCHBOT", "bot_id": "BBENCH"}
            )
        if method in ("chat.postMessage", "chat.postEphemeral", "chat.update"):
            args = await request.json() if request.content_type == "application/json" else {}
            channel = str(args.get("channel", ""))
            if method == "chat.postMessage":
                self.posts += 1
                if "blocks" not in args:  # the text answer (a card may follow)
                    self.answered.setdefault(channel, time.perf_counter())
            self._ts += 1
            return web.json_response({"ok": True, "channel": channel, "ts": f"{self._ts}.000"})
        return web.json_response({"ok": False, "error": "unknown_method"})


@asynccontextmanager
async def _serve(app: web.Application) -> AsyncIterator[str]:
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


async def bench_chat(
    *, requests: int = 200, concurrency: int = 4, reply_timeout_s: float = 30.0
) -> dict[str, Any]:
    """Send ``requests`` signed slash commands; ack and reply latencies in milliseconds."""
    from bot.app import open_app
    from bot.chat.slack import InFlight, SlackAdapter, build_slack_app, slack_client, slack_routes
    from bot.settings import Settings
    from bot.web import build_web_app
    from tools.site import demo_site_file

    secret = secrets.token_hex(16)
    verifier = SignatureVerifier(secret)
    fake = _FakeWebApi()
    api = web.Application()
    api.router.add_post("/api/{method}", fake.handle)
    acks_ms: list[float] = []
    replies_ms: list[float] = []
    failures = 0

    with tempfile.TemporaryDirectory(prefix="cc-bench-chat-") as tmp:
        # 200 commands from one user: no per-person rate limit in the benchmark
        settings = Settings(
            data_dir=Path(tmp), database_url=None, channel_min_interval_s=0, chat_rate_per_min=0
        )
        async with _serve(api) as api_url:
            client = slack_client(BENCH_TOKEN, base_url=f"{api_url}/api/")
            async with open_app(
                settings, adapter=[SlackAdapter(client)], site_file=demo_site_file()
            ) as cc:
                await cc.monitor.poll_once()
                inflight = InFlight()
                bolt = build_slack_app(
                    chat=cc.chat,
                    signing_secret=secret,
                    token=BENCH_TOKEN,
                    client=client,
                    socket_mode=False,
                    inflight=inflight,
                )
                web_app = build_web_app(cc.engine, routes=slack_routes(bolt))
                async with _serve(web_app) as bot_url, aiohttp.ClientSession() as http:

                    async def one(n: int, *, measure: bool) -> None:
                        nonlocal failures
                        channel = f"CBENCH{n:06d}"
                        body = urlencode(
                            {
                                "token": "bench",
                                "team_id": "TBENCH",
                                "channel_id": channel,
                                "user_id": "UBENCHUSER",
                                "user_name": "bench",
                                "command": "/energy",
                                "text": "status",
                                "response_url": "https://hooks.slack.com/commands/TBENCH/1/x",
                                "trigger_id": f"{n}.bench",
                            }
                        )
                        ts = str(int(time.time()))
                        signature = verifier.generate_signature(timestamp=ts, body=body)
                        headers = {
                            "Content-Type": "application/x-www-form-urlencoded",
                            "X-Slack-Request-Timestamp": ts,
                            "X-Slack-Signature": signature or "",
                        }
                        sent = time.perf_counter()
                        async with http.post(
                            f"{bot_url}/slack/events", data=body, headers=headers
                        ) as response:
                            await response.read()
                            acked = time.perf_counter()
                            ok = response.status == 200
                        deadline = sent + reply_timeout_s
                        while ok and channel not in fake.answered:
                            if time.perf_counter() > deadline:
                                ok = False
                                break
                            await asyncio.sleep(0.002)
                        if not measure:
                            return
                        if not ok:
                            failures += 1
                            return
                        acks_ms.append((acked - sent) * 1000)
                        replies_ms.append((fake.answered[channel] - sent) * 1000)

                    await one(0, measure=False)  # warm-up: auth.test, first graph run
                    queue: asyncio.Queue[int] = asyncio.Queue()
                    for n in range(1, requests + 1):
                        queue.put_nowait(n)

                    async def worker() -> None:
                        while not queue.empty():
                            await one(queue.get_nowait(), measure=True)

                    started = time.perf_counter()
                    await asyncio.gather(*(worker() for _ in range(max(1, concurrency))))
                    wall = time.perf_counter() - started
                    await inflight.drain(reply_timeout_s)
    return {
        "requests": requests,
        "concurrency": concurrency,
        "ack_p50_ms": _percentile(acks_ms, 0.50),
        "ack_p99_ms": _percentile(acks_ms, 0.99),
        "ack_max_ms": round(max(acks_ms), 1) if acks_ms else None,
        "reply_p50_ms": _percentile(replies_ms, 0.50),
        "reply_p95_ms": _percentile(replies_ms, 0.95),
        "replies_per_s": round(len(replies_ms) / wall, 1) if wall > 0 else None,
        "failed": failures,
    }
