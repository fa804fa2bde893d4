"""Which chat gateways a process starts, from settings alone (no network)."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from bot.app import open_app
from bot.gateways import chat_adapters, slack_mode, start_gateways
from bot.settings import Settings
from bot.web import build_web_app
from tests.bot.helpers import EVENING
from tests.bot.helpers import test_site_file as base_site_file
from tools.clock import ManualClock


def test_slack_mode_follows_the_tokens() -> None:
    assert slack_mode(Settings()) is None
    assert (
        slack_mode(
            Settings(slack_bot_token=SecretStr("xoxb-1"), slack_app_token=SecretStr("xapp-1"))
        )
        == "socket"
    )
    assert (
        slack_mode(
            Settings(slack_bot_token=SecretStr("xoxb-1"), slack_signing_secret=SecretStr("s"))
        )
        == "http"
    )


async def test_http_mode_serves_signed_slack_events_on_the_web_face(
    sqlite_url: str, tmp_path: Path
) -> None:
    settings = Settings(
        data_dir=tmp_path,
        database_url=sqlite_url,
        slack_bot_token=SecretStr("xoxb-test"),
        slack_signing_secret=SecretStr("secret"),
    )
    adapters, slack = chat_adapters(settings, console=False)
    assert [a.platform for a in adapters] == ["slack"]
    async with open_app(
        settings, adapter=adapters, clock=ManualClock(EVENING), site_file=base_site_file()
    ) as cc:
        gateways = await start_gateways(cc, settings, slack, socket=False, http=True)
        assert gateways.tasks == []  # HTTP mode: nothing to connect out to
        async with TestClient(TestServer(build_web_app(cc.engine, routes=gateways.routes))) as web:
            unsigned = await web.post("/slack/events", data="command=%2Fenergy&text=status")
            assert unsigned.status == 401
        await gateways.stop()


def test_http_mode_without_a_signing_secret_is_refused() -> None:
    from bot.chat.slack import SlackConfigError, build_slack_app, slack_client

    with pytest.raises(SlackConfigError, match="SLACK_SIGNING_SECRET"):
        build_slack_app(
            chat=None,  # type: ignore[arg-type]
            signing_secret=None,
            token="xoxb-test",
            client=slack_client("xoxb-test"),
            socket_mode=False,
        )
