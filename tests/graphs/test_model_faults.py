"""A misbehaving OpenAI-compatible model server never breaks an answer: HTML with 200, an
empty ``choices``, malformed tool-call arguments, 500s and answers slower than the
timeout all end in the offline planner's answer with a one-line note, in the chat
service and through the real ``commandcenter ask`` process."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from pydantic import SecretStr

from bot.app import build_model
from bot.settings import Settings
from tests.bot.helpers import EVENING, running_bot, say
from tools.clock import ManualClock

NOTE = "(The language model "
REPO = Path(__file__).parents[2]


@dataclass
class FaultyOpenAI:
    """``POST /v1/chat/completions`` answering in the way ``mode`` says."""

    mode: str = "html"
    calls: int = 0
    release: asyncio.Event = field(default_factory=asyncio.Event)

    async def completions(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.calls += 1
        if self.mode == "html":
            return web.Response(
                text="<html><body><h1>502 Bad Gateway</h1></body></html>",
                content_type="text/html",
            )
        if self.mode == "html_as_json":  # a proxy page with the wrong content type
            return web.Response(text="<html>oops</html>", content_type="application/json")
        if self.mode == "status_500":
            return web.json_response({"error": {"message": "model crashed"}}, status=500)
        if self.mode == "slow":
            await self.release.wait()
        message: dict[str, Any] = {"role": "assistant", "content": "unused"}
        if self.mode == "bad_args":
            message = {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "battery_status", "arguments": '{"site": "de'},
                    }
                ],
            }
        choices = (
            []
            if self.mode == "empty_choices"
            else [{"index": 0, "message": message, "finish_reason": "stop"}]
        )
        return web.json_response(
            {
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "created": 1_800_000_000,
                "model": body["model"],
                "choices": choices,
            }
        )


@pytest.fixture
async def server() -> AsyncIterator[tuple[FaultyOpenAI, str]]:
    fake = FaultyOpenAI()
    app = web.Application()
    app.router.add_post("/v1/chat/completions", fake.completions)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield fake, f"http://127.0.0.1:{port}/v1"
    finally:
        fake.release.set()
        await runner.cleanup()


WHY = {
    "html": "answered with something other than a chat completion",
    "html_as_json": "answered with something other than a chat completion",
    "empty_choices": "sent a reply without any choices",
    "bad_args": "sent a malformed tool call (battery_status)",
    "status_500": "answered with HTTP 500",
    "slow": "did not answer in time",
}


@pytest.mark.parametrize("mode", list(WHY))
async def test_a_faulty_model_server_falls_back_to_the_offline_planner(
    mode: str, server: tuple[FaultyOpenAI, str], sqlite_url: str, tmp_path: Path
) -> None:
    fake, base_url = server
    fake.mode = mode
    settings = Settings(
        openai_api_key=SecretStr("sk-local-test"),
        openai_base_url=base_url,
        openai_model="llama3.1:8b",
        openai_timeout_s=1,
    )
    model = build_model(settings)
    assert model is not None
    async with running_bot(
        db_url=sqlite_url,
        data_dir=tmp_path,
        clock=ManualClock(EVENING),
        model=model,
        openai_model="llama3.1:8b",
        openai_api_key=SecretStr("sk-local-test"),
    ) as (app, _c, _d):
        await app.monitor.poll_once()
        async with asyncio.timeout(60):
            result = await app.chat.handle_message(say("olga", "how is the battery?"))
    assert fake.calls >= 1
    assert result.tools == ["battery_status"]
    assert "Battery at" in result.answer, result.answer
    notes = [line for line in result.answer.splitlines() if line.startswith(NOTE)]
    assert len(notes) == 1, result.answer
    assert WHY[mode] in notes[0] and "offline planner answered" in notes[0]


async def test_ask_prints_the_offline_answer_when_the_model_sends_html(
    server: tuple[FaultyOpenAI, str], tmp_path: Path
) -> None:
    """The real CLI process: exit 0, the offline answer, one note line, no traceback."""
    fake, base_url = server
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_"))}
    env.update(
        OPENAI_API_KEY="sk-local-test",
        OPENAI_BASE_URL=base_url,
        OPENAI_TIMEOUT_S="2",
        COMMANDCENTER_DATA_DIR=str(tmp_path),
        DATABASE_URL=f"sqlite:///{tmp_path / 'cc.sqlite'}",
        PYTHONPATH=str(REPO),
    )
    env.pop("COMMANDCENTER_SITE_FILE", None)
    for mode in ("html",):  # the other faults take the same path (tested above)
        fake.mode = mode
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "ask",
            "how is the battery?",
            "--json",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
            cwd=tmp_path,
        )
        async with asyncio.timeout(120):
            out, err = await proc.communicate()
        assert proc.returncode == 0, (mode, err.decode()[-3000:])
        assert b"Traceback" not in err, err.decode()[-3000:]
        answer = json.loads(out)["answer"]
        assert "Battery at" in answer, (mode, answer)
        [note] = [line for line in answer.splitlines() if line.startswith(NOTE)]
        assert WHY[mode] in note, note
