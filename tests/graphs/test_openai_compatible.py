"""The real ChatOpenAI client against a local OpenAI-compatible server (as vLLM, Ollama
or LM Studio would be reached through OPENAI_BASE_URL): the wire format end to end."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from pydantic import SecretStr
from sqlalchemy import select

from bot.app import build_model
from bot.settings import Settings
from storage.models import ModelTurnRow
from tests.bot.helpers import EVENING, running_bot, say
from tools.clock import ManualClock


class FakeOpenAI:
    """``POST /v1/chat/completions``: a tool call first, then an answer quoting the result."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.auth: list[str] = []

    async def completions(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append(body)
        self.auth.append(request.headers.get("Authorization", ""))
        tool_results = [m for m in body["messages"] if m["role"] == "tool"]
        if not tool_results:
            message: dict[str, Any] = {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "battery_status", "arguments": "{}"},
                    }
                ],
            }
            finish = "tool_calls"
        else:
            first_line = str(tool_results[-1]["content"]).split(".")[0]
            message = {"role": "assistant", "content": f"From the tool: {first_line}."}
            finish = "stop"
        return web.json_response(
            {
                "id": f"chatcmpl-{len(self.requests)}",
                "object": "chat.completion",
                "created": 1_800_000_000,
                "model": body["model"],
                "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                "usage": {"prompt_tokens": 700, "completion_tokens": 20, "total_tokens": 720},
            }
        )


@pytest.fixture
async def fake_openai() -> AsyncIterator[tuple[FakeOpenAI, str]]:
    fake = FakeOpenAI()
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
        await runner.cleanup()


async def test_chat_openai_drives_the_tools_over_the_wire(
    fake_openai: tuple[FakeOpenAI, str], sqlite_url: str, tmp_path: Path
) -> None:
    fake, base_url = fake_openai
    settings = Settings(
        openai_api_key=SecretStr("sk-local-test"),
        openai_base_url=base_url,
        openai_model="llama3.1:8b",
        openai_timeout_s=10,
    )
    model = build_model(settings)
    assert model is not None
    clock = ManualClock(EVENING)
    async with running_bot(
        db_url=sqlite_url,
        data_dir=tmp_path,
        clock=clock,
        model=model,
        openai_model="llama3.1:8b",
        openai_api_key=SecretStr("sk-local-test"),
        model_price_input_per_mtok=0.0,
        model_price_output_per_mtok=0.0,
    ) as (app, _c, _d):
        await app.monitor.poll_once()
        result = await app.chat.handle_message(say("olga", "how is the battery?"))
        async with app.sessionmaker() as session:
            row = (await session.scalars(select(ModelTurnRow))).one()
    assert result.tools == ["battery_status"]
    assert result.answer.startswith("From the tool: Demo home lab: Battery at")
    first, second = fake.requests
    assert first["model"] == "llama3.1:8b" and all(a == "Bearer sk-local-test" for a in fake.auth)
    names = {tool["function"]["name"] for tool in first["tools"]}
    assert "battery_status" in names and "stop_miners" not in names  # tools chosen per question
    assert first["messages"][0]["role"] == "system"
    assert "Site now:" in first["messages"][0]["content"]
    tool_message = second["messages"][-1]
    assert tool_message["role"] == "tool" and tool_message["tool_call_id"] == "call_1"
    assert json.loads(second["messages"][-2]["tool_calls"][0]["function"]["arguments"]) == {}
    # The server's own token counts are what the turn records.
    assert (row.model, row.model_calls, row.tokens_counted) == ("llama3.1:8b", 2, "server")
    assert (row.prompt_tokens, row.completion_tokens, row.cost_usd) == (1400, 40, 0.0)
