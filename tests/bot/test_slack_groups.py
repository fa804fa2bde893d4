"""Slack user groups map to roles: members read with usergroups.users.list, cached."""

from __future__ import annotations

from pathlib import Path

from bot.app import open_app
from bot.chat.slack import slack_client
from bot.chat.slack_groups import SlackGroups
from bot.gateways import chat_adapters, start_gateways
from bot.settings import Settings
from tests.bot.fake_slack import FakeSlack
from tests.bot.helpers import EVENING
from tests.bot.helpers import test_site_file as demo_with_people
from tools.clock import ManualClock
from tools.site import Group


async def test_a_slack_user_group_gives_its_members_the_role(
    sqlite_url: str, tmp_path: Path
) -> None:
    async with FakeSlack() as fake:
        fake.usergroups = {"S0OPS": ["U0ANNA"], "S0FIN": ["U0BEN"]}
        site_file = demo_with_people().model_copy(
            update={"groups": [Group(platform="slack", group_id="S0OPS", role="operator")]}
        )
        settings = Settings(
            data_dir=tmp_path,
            database_url=sqlite_url,
            slack_bot_token="xoxb-test",  # type: ignore[arg-type]
            slack_signing_secret="secret",  # type: ignore[arg-type]
            slack_api_url=fake.api_url,
        )
        adapters, slack = chat_adapters(settings, console=False)
        assert slack.base_url == fake.api_url  # SLACK_API_URL points the Web API elsewhere
        async with open_app(
            settings, adapter=adapters, clock=ManualClock(EVENING), site_file=site_file
        ) as cc:
            gateways = await start_gateways(cc, settings, slack, socket=False, http=True)
            try:
                assert (await cc.chat.actor("slack", "U0ANNA")).role == "operator"
                assert (await cc.chat.actor("slack", "U0BEN")).role == "viewer"
                assert (await cc.chat.actor("discord", "U0ANNA")).role == "viewer"
                calls = fake.calls_to("usergroups.users.list")
                assert [c.args["usergroup"] for c in calls] == ["S0OPS"]  # only mapped groups
            finally:
                await gateways.stop()


async def test_members_are_cached_and_refreshed() -> None:
    now = [0.0]
    async with FakeSlack() as fake:
        fake.usergroups = {"S0OPS": ["U1"]}
        groups = SlackGroups(
            slack_client("xoxb-test", base_url=fake.api_url), ["S0OPS"], ttl_s=300,
            clock=lambda: now[0],
        )  # fmt: skip
        assert await groups.lookup("slack", "U1") == ("S0OPS",)
        fake.usergroups = {"S0OPS": ["U2"]}
        assert await groups.lookup("slack", "U1") == ("S0OPS",)  # cached
        assert len(fake.calls_to("usergroups.users.list")) == 1
        now[0] = 301.0
        assert await groups.lookup("slack", "U1") == ()  # refreshed: U1 left the group
        assert await groups.lookup("slack", "U2") == ("S0OPS",)
        # A failed refresh keeps the members last read.
        now[0] = 700.0
        fake.fail_once("usergroups.users.list", status=200, error="missing_scope")
        assert await groups.lookup("slack", "U2") == ("S0OPS",)
        assert groups.refreshes == 3


def test_manifest_asks_for_what_the_code_uses() -> None:
    import yaml

    manifest = yaml.safe_load(
        (Path(__file__).resolve().parents[2] / "slack-manifest.yaml").read_text()
    )
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert scopes == {
        "app_mentions:read",  # app_mention events
        "chat:write",  # postMessage, update, postEphemeral
        "chat:write.public",
        "commands",  # /energy
        "files:write",  # chart uploads
        "im:history",  # message.im events
        "usergroups:read",  # usergroups.users.list
    }
    assert set(manifest["settings"]["event_subscriptions"]["bot_events"]) == {
        "app_mention",
        "message.im",
    }
    home = manifest["features"]["app_home"]
    assert home["messages_tab_enabled"] and not home["messages_tab_read_only_enabled"]
