"""One human on Slack and on Discord is one approver, on every path.

Alice is in the site file three times, all with ``person: alice``: on Slack, on
Discord and with a second Slack account. She is an operator limited to ``home``. Bob
(Slack) and Dan (Discord) are operators of every site, Bea (Discord) an operator of
``barn``, Ada (Discord) an admin; Alice's Discord id ``MALLORY`` is a fourth account
the file does not list.

Starting the generator needs two people other than the requester (the default tier).
Each test tries to get one past that alone: approving on the other platform, with
the second account, by replaying a press, by pressing on both at once, by asking on
one platform and approving on the other, through the assistant, and with approvals
written by hand. Every test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import quote

import discord
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import update

from bot.app import App, open_app
from bot.chat.base import ChatAdapter, Click, InboundMessage
from bot.chat.discord_bot import CommandCenterClient, DiscordAdapter, build_discord_client
from bot.chat.memory import MemoryAdapter
from bot.chat.slack import InFlight, SlackAdapter, build_slack_app, slack_client, slack_routes
from bot.settings import Settings
from bot.web import build_web_app
from storage import repositories as repo
from storage.models import ActionRequestRow
from tests.bot.fake_slack import FakeSlack
from tests.bot.helpers import EVENING, CountingDriver
from tests.bot.test_discord import (
    BOT_ID,
    FakeDiscord,
    FakeMessage,
    dispatch,
    ephemeral_reply,
    member,
    mention,
    press,
)
from tests.bot.test_slack import BOT_TOKEN, SECRET, sign
from tests.conftest import shared_data
from tools.clock import ManualClock
from tools.devices.simulator import SimulatedSite
from tools.site import Channels, Person, SiteFile, demo_site_file

ALICE_SLACK, ALICE_PHONE, BOB = "UALICE01", "UALICE02", "UBOB0001"
ALICE_DISCORD, DAN, BEA, ADA, MALLORY = (
    "971000000000000001",
    "971000000000000002",
    "971000000000000003",
    "971000000000000004",
    "971000000000000009",
)
SLACK = {"home": "CHOME001", "barn": "CBARN001"}
DISCORD = {"home": "950000000000000001", "barn": "950000000000000002"}
NAMES = {
    ALICE_SLACK: "Alice",
    ALICE_PHONE: "Alice",
    ALICE_DISCORD: "Alice",
    MALLORY: "Alice",
    BOB: "Bob",
    DAN: "Dan",
    BEA: "Bea",
    ADA: "Ada",
}
PLATFORM = {ALICE_SLACK: "slack", ALICE_PHONE: "slack", BOB: "slack"}  # others: discord
ONCE = "one person counts once"


def alice(platform: str, user_id: str) -> Person:
    return Person(
        platform=platform,  # type: ignore[arg-type]
        user_id=user_id,
        name="Alice",
        role="operator",
        sites=["home"],
        person="alice",
    )


def site_file() -> SiteFile:
    demo = demo_site_file().sites[0]
    sites = [
        demo.model_copy(
            update={
                "name": name,
                "title": name.title(),
                "channels": Channels(console=f"#{name}", slack=SLACK[name], discord=DISCORD[name]),
            }
        )
        for name in ("home", "barn")
    ]
    return SiteFile(
        sites=sites,
        people=[
            alice("slack", ALICE_SLACK),
            alice("discord", ALICE_DISCORD),
            alice("slack", ALICE_PHONE),
            Person(platform="slack", user_id=BOB, name="Bob", role="operator"),
            Person(platform="discord", user_id=DAN, name="Dan", role="operator"),
            Person(platform="discord", user_id=BEA, name="Bea", role="operator", sites=["barn"]),
            Person(platform="discord", user_id=ADA, name="Ada", role="admin"),
        ],
    )


def platform_of(user: str) -> str:
    return PLATFORM.get(user, "discord")


def say(user: str, text: str, site: str = "home") -> InboundMessage:
    platform = platform_of(user)
    channel = (SLACK if platform == "slack" else DISCORD)[site]
    return InboundMessage(
        platform=platform, user_id=user, user_name=NAMES[user], channel=channel, text=text
    )


def click(user: str, action_id: str, *, approve: bool = True, site: str = "home") -> Click:
    platform = platform_of(user)
    return Click(
        platform=platform,
        user_id=user,
        user_name=NAMES[user],
        channel=(SLACK if platform == "slack" else DISCORD)[site],
        action="approve" if approve else "reject",
        value=action_id,
    )


@asynccontextmanager
async def chat_rig(
    db_url: str, data_dir: Path
) -> AsyncIterator[tuple[App, dict[str, CountingDriver], dict[str, MemoryAdapter]]]:
    """The bot on both platforms (adapters that keep what they were sent), two sites."""
    clock = ManualClock(EVENING)
    sites = site_file()
    drivers = {
        s.name: CountingDriver(SimulatedSite(s, seed=7, start=clock.now())) for s in sites.sites
    }
    adapters = {p: MemoryAdapter(p) for p in ("slack", "discord")}
    settings = Settings(data_dir=data_dir, database_url=db_url, channel_min_interval_s=0)
    async with open_app(
        settings, adapter=list(adapters.values()), clock=clock, site_file=sites, drivers=drivers
    ) as app:
        await app.monitor.poll_once()
        yield app, drivers, adapters


async def ask_generator(app: App, user: str, site: str = "home") -> str:
    made = await app.chat.handle_message(say(user, "start the generator", site))
    assert [a["kind"] for a in made.actions] == ["generator_start"], made.answer
    return str(made.actions[0]["id"])


async def audit(app: App, action_id: str) -> list[tuple[str, str]]:
    async with app.sessionmaker() as session:
        return [(a.event, a.actor) for a in await repo.list_audit(session, action_id=action_id)]


# -- the chat service (what both adapters call) and the action service ------------------------


async def test_approving_again_on_the_other_platform_or_account_counts_once(
    db_url: str, tmp_path: Path
) -> None:
    async with chat_rig(db_url, tmp_path) as (app, drivers, adapters):
        action_id = await ask_generator(app, BOB)
        first = await app.chat.handle_click(click(ALICE_SLACK, action_id))
        # Alice again: on Discord, with her second Slack account, by the assistant on
        # Discord, and by the action service itself (as the CLI decides).
        for user in (ALICE_DISCORD, ALICE_PHONE):
            again = await app.chat.handle_click(click(user, action_id))
            assert (await app.actions.get(action_id)).status == "pending", again
            assert drivers["home"].commands == []
            assert "you already approved this on Slack" in again, again
            assert ONCE in again and "Nothing was changed" in again, again
        said = await app.chat.handle_message(say(ALICE_DISCORD, f"approve {action_id[:8]}"))
        assert said.tools == ["decide_action"] and "you already approved" in said.answer
        actor = await app.chat.actor("discord", ALICE_DISCORD)
        decision = await app.actions.decide(action_id=action_id, actor=actor, approve=True)
        assert decision.verdict == "denied" and not decision.changed
        # A replay of her own Slack press is a double click: nothing new.
        replay = await app.chat.handle_click(click(ALICE_SLACK, action_id))
        assert "you already approved this" in replay
        # An account the file does not list is nobody's: a viewer.
        stranger = await app.chat.handle_click(click(MALLORY, action_id))
        assert "your role is viewer" in stranger
        assert (await app.actions.get(action_id)).status == "pending"
        assert drivers["home"].commands == []
        assert first.startswith("Approval 1 of 2 recorded (Alice on Slack)"), first
        # A second human makes two.
        done = await app.chat.handle_click(click(DAN, action_id))
        assert "Done and verified" in done, done
        view = await app.actions.get(action_id)
        assert view.status == "succeeded"
        assert view.decided_by == "Alice on Slack, Dan"
        assert [c.kind for c in drivers["home"].commands] == ["generator"]
        assert drivers["barn"].commands == []
        # The history says who approved on which platform, and that Alice is one person.
        history = [
            (a["actor"], a["platform"], a.get("person"))
            for a in await app.actions.approvals(view.id)
        ]
        assert history == [
            (f"slack:{ALICE_SLACK}", "slack", "alice"),
            (f"discord:{DAN}", "discord", None),
        ]
        events = await audit(app, action_id)
        assert events.count(("decision_denied", f"discord:{ALICE_DISCORD}")) == 3
        assert events.count(("decision_denied", f"slack:{ALICE_PHONE}")) == 1
        async with app.sessionmaker() as session:
            denied = [
                a.details
                for a in await repo.list_audit(session, action_id=action_id)
                if a.event == "decision_denied" and a.actor != f"discord:{MALLORY}"
            ]
        assert {(d["approved_as"], d["person"]) for d in denied} == {
            (f"slack:{ALICE_SLACK}", "alice")
        }
        assert ("action_approval_recorded", f"slack:{ALICE_SLACK}") in events
        assert ("action_approved", f"discord:{DAN}") in events
        # The card in the Slack conversation that asked shows both deciders.
        [card] = adapters["slack"].cards("action")
        assert card.card is not None
        assert dict(card.card.fields)["Decided by"].startswith("Alice on Slack, Dan at ")


async def test_asking_on_one_platform_and_approving_on_the_other_is_self_approval(
    db_url: str, tmp_path: Path
) -> None:
    async with chat_rig(db_url, tmp_path) as (app, drivers, _adapters):
        action_id = await ask_generator(app, ALICE_DISCORD)
        for user, where in (
            (ALICE_SLACK, " (on Discord)"),
            (ALICE_PHONE, " (on Discord)"),
            (ALICE_DISCORD, ""),
        ):
            refused = await app.chat.handle_click(click(user, action_id))
            assert await app.actions.approvals(action_id) == [], refused
            assert f"you asked for this action{where}, so someone else must approve" in refused
            assert ALICE_DISCORD not in refused
        first = await app.chat.handle_click(click(BOB, action_id))
        assert first.startswith("Approval 1 of 2 recorded (Bob)"), first
        assert "Done and verified" in await app.chat.handle_click(click(DAN, action_id))
        assert (await app.actions.get(action_id)).decided_by == "Bob, Dan"
        # Rejecting her own request stays hers to do, from any of her accounts.
        made = await app.chat.handle_message(say(ALICE_SLACK, "stop the miners"))
        [other] = [str(a["id"]) for a in made.actions]
        rejected = await app.chat.handle_click(click(ALICE_DISCORD, other, approve=False))
        assert rejected.startswith("Rejected by Alice on Discord"), rejected
        assert len(drivers["home"].commands) == 1


async def test_pressing_on_both_platforms_at_once_counts_once(db_url: str, tmp_path: Path) -> None:
    async with chat_rig(db_url, tmp_path) as (app, drivers, _adapters):
        action_id = await ask_generator(app, BOB)
        replies = await asyncio.gather(
            *(app.chat.handle_click(click(u, action_id)) for u in (ALICE_SLACK, ALICE_DISCORD))
        )
        assert sum(r.startswith("Approval 1 of 2 recorded") for r in replies) == 1, replies
        assert len(await app.actions.approvals(action_id)) == 1
        for user in (ALICE_SLACK, ALICE_DISCORD, ALICE_PHONE):  # pressing again: still one
            await app.chat.handle_click(click(user, action_id))
        assert (await app.actions.get(action_id)).status == "pending"
        assert drivers["home"].commands == []
        # With Dan's approval recorded, Alice on both at once: one of them completes it.
        second = await ask_generator(app, BOB)
        await app.chat.handle_click(click(DAN, second))
        await asyncio.gather(
            *(app.chat.handle_click(click(u, second)) for u in (ALICE_SLACK, ALICE_DISCORD))
        )
        assert (await app.actions.get(second)).status == "succeeded"
        assert len(await app.actions.approvals(second)) == 2
        assert [c.kind for c in drivers["home"].commands] == ["generator"]


async def test_a_person_limited_to_home_is_limited_on_every_platform(
    db_url: str, tmp_path: Path
) -> None:
    async with chat_rig(db_url, tmp_path) as (app, drivers, _adapters):
        made = await app.chat.handle_message(say(BEA, "stop the miners", "barn"))
        [barn] = [str(a["id"]) for a in made.actions]
        for user in (ALICE_SLACK, ALICE_DISCORD, ALICE_PHONE):
            for site in ("home", "barn"):  # the channel pressed in is not what counts
                for approve in (True, False):
                    reply = await app.chat.handle_click(
                        click(user, barn, approve=approve, site=site)
                    )
                    assert "do not have access to the site 'barn'" in reply, reply
        assert (await app.actions.get(barn)).status == "pending"
        assert drivers["barn"].commands == []


async def test_the_executor_counts_people_in_recorded_approvals(
    db_url: str, tmp_path: Path
) -> None:
    async with chat_rig(db_url, tmp_path) as (app, drivers, _adapters):
        action_id = await ask_generator(app, BOB)
        # Written by something other than the decision path (an older process, a hand
        # edit): Alice's two accounts recorded as the two approvers, one of them even
        # claiming no person id.
        forged = {
            "by": [
                {"actor": f"slack:{ALICE_SLACK}", "role": "operator", "sites": ["home"]},
                {"actor": f"discord:{ALICE_DISCORD}", "role": "operator", "sites": ["home"]},
            ]
        }
        async with app.sessionmaker() as session, session.begin():
            await session.execute(
                update(ActionRequestRow)
                .where(ActionRequestRow.id == action_id)
                .values(status="approved", approvals=forged)
            )
        done = await app.actions.run_approved()
        assert [d.status for d in done] == ["failed"]
        assert "it has 1 valid approval(s) and needs 2 approvals" in (done[0].outcome or "")
        assert drivers["home"].commands == []


async def test_roles_of_a_linked_person_come_from_the_site_file_only(
    db_url: str, tmp_path: Path
) -> None:
    async with chat_rig(db_url, tmp_path) as (app, _drivers, _adapters):
        # An admin may not give one of Alice's accounts a role of its own in chat: her
        # other accounts would keep the file's, and she would act with the stronger.
        for role in ("admin", "viewer"):
            said = await app.chat.handle_message(say(ADA, f"make {ALICE_DISCORD} an {role}"))
            assert said.tools == ["set_role"], said.answer
            assert (
                "Alice is listed in the site file as operator (person 'alice', 3 accounts: "
                "2 on Slack, 1 on Discord); the site file decides their role, so change it "
                "there on every entry of the person and restart." in said.answer
            ), said.answer
        for platform, user in (
            ("slack", ALICE_SLACK),
            ("discord", ALICE_DISCORD),
            ("slack", ALICE_PHONE),
        ):
            actor = await app.chat.actor(platform, user)
            assert (actor.role, actor.sites) == ("operator", frozenset({"home"}))
        async with app.sessionmaker() as session:
            assert [a for a in await repo.list_audit(session) if a.event == "role_changed"] == []
        # "who is" says the accounts are one person (and how many), on either platform.
        for asker, text in ((BOB, f"who is {ALICE_SLACK}?"), (ALICE_DISCORD, "what's my role?")):
            said = await app.chat.handle_message(say(asker, text))
            assert said.tools == ["who_is"], said.answer
            assert "is operator (set in the site file); may use home." in said.answer
            assert (
                "In the site file they are person 'alice' with 3 accounts (2 on Slack, "
                "1 on Discord): one approver." in said.answer
            ), said.answer
        said = await app.chat.handle_message(say(ALICE_SLACK, f"who is {BOB}?"))
        assert "is operator (set in the site file); may use every site." in said.answer
        assert "one approver" not in said.answer, said.answer


# -- the real adapters: Slack's signed block_actions and Discord's button dispatcher ----------


def slack_click(*, user: str, channel: str, action_id: str, value: str) -> str:
    """Slack's recorded block_actions payload: ``user`` pressed our button in ``channel``."""
    payload = json.loads(shared_data("slack/block_actions_payload.json").read_text())
    payload["user"].update(id=user, username=NAMES[user], name=NAMES[user])
    payload["container"].update(message_ts="1.000001", channel_id=channel, is_ephemeral=False)
    payload["channel"]["id"] = channel
    payload["actions"][0].update(action_id=action_id, value=value, block_id="cc")
    return "payload=" + quote(json.dumps(payload))


class Platforms:
    """One bot answering on Slack (over HTTP) and on Discord at once."""

    def __init__(
        self,
        app: App,
        fake: FakeSlack,
        http: TestClient[Any, Any],
        client: CommandCenterClient,
        server: FakeDiscord,
    ) -> None:
        self.app, self.fake, self.http = app, fake, http
        self.client, self.server = client, server

    async def slack_post(self, body: str) -> None:
        response = await self.http.post(
            "/slack/events",
            data=body.encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded", **sign(body)},
        )
        assert response.status == 200

    async def slack_press(self, user: str, action_id: str, *, replays: int = 0) -> list[str]:
        """A signed Approve press, and ``replays`` identical deliveries of it; the replies."""
        before = len(self.slack_replies(user))
        body = slack_click(
            user=user, channel=SLACK["home"], action_id="cc_approve", value=action_id
        )
        for _ in range(1 + replays):
            await self.slack_post(body)
        await self.fake.wait_for(
            lambda: len(self.slack_replies(user)) >= before + 1 + replays, what="the replies"
        )
        return self.slack_replies(user)[before:]

    def slack_replies(self, user: str) -> list[str]:
        return [
            str(c.args["text"])
            for c in self.fake.calls_to("chat.postEphemeral")
            if c.args["user"] == user
        ]

    async def discord_press(self, user: str, custom_id: str, card: FakeMessage) -> str:
        i = press(self.client, member(int(user), NAMES[user]), custom_id, card)
        i.channel_id = int(DISCORD["home"])
        assert await dispatch(self.client, i, custom_id) == 1
        return ephemeral_reply(i)


@asynccontextmanager
async def both_platforms(
    db_url: str, data_dir: Path
) -> AsyncIterator[tuple[Platforms, dict[str, CountingDriver]]]:
    clock = ManualClock(EVENING)
    sites = site_file()
    drivers = {
        s.name: CountingDriver(SimulatedSite(s, seed=7, start=clock.now())) for s in sites.sites
    }
    settings = Settings(data_dir=data_dir, database_url=db_url, channel_min_interval_s=0)
    server = FakeDiscord()
    async with FakeSlack() as fake:
        slack = slack_client(BOT_TOKEN, base_url=fake.api_url)
        discord_adapter = DiscordAdapter(server.channel)  # type: ignore[arg-type]
        adapters: list[ChatAdapter] = [SlackAdapter(slack), discord_adapter]
        async with open_app(
            settings, adapter=adapters, clock=clock, site_file=sites, drivers=drivers
        ) as app:
            await app.monitor.poll_once()
            inflight = InFlight()
            bolt = build_slack_app(
                chat=app.chat,
                signing_secret=SECRET,
                token=BOT_TOKEN,
                client=slack,
                socket_mode=False,
                inflight=inflight,
            )
            client = build_discord_client(chat=app.chat, sync_commands=False)
            await client.setup_hook()
            bot_user = mock.create_autospec(discord.ClientUser, instance=True, spec_set=True)
            bot_user.id = BOT_ID
            web = build_web_app(app.engine, routes=slack_routes(bolt))
            try:
                async with TestClient(TestServer(web)) as http:
                    with mock.patch.object(
                        CommandCenterClient,
                        "user",
                        new_callable=mock.PropertyMock,
                        return_value=bot_user,
                    ):
                        yield Platforms(app, fake, http, client, server), drivers
            finally:
                await inflight.cancel()
                await client.close()


async def test_slack_and_discord_buttons_count_one_human_once(db_url: str, tmp_path: Path) -> None:
    async with both_platforms(db_url, tmp_path) as (rig, drivers):
        # Dan asks on Discord: the card with its buttons is in the home Discord channel.
        m = mention("start the generator", message_id=1, author=member(int(DAN), "Dan"))
        m.channel = await rig.server.channel(int(DISCORD["home"]))
        await rig.client.on_message(m)
        (card,) = rig.server.cards("Approval needed")
        approve = next(c for c in card.custom_ids() if c.startswith("cc:approve:"))
        action_id = approve.split(":")[2]
        # Alice presses Approve on Slack, and the same signed press arrives twice more (a
        # replay; Bolt handles the three at once): one approval is recorded.
        replies = await rig.slack_press(ALICE_SLACK, action_id, replays=2)
        assert len(await rig.app.actions.approvals(action_id)) == 1, replies
        recorded = [r for r in replies if r.startswith("Approval 1 of 2 recorded")]
        assert recorded == [
            "Approval 1 of 2 recorded (Alice on Slack); needs 1 more from "
            "another admin or manager or operator."
        ], replies
        # Then the Discord card's button, as Alice on Discord, and her second Slack account.
        on_discord = await rig.discord_press(ALICE_DISCORD, approve, card)
        [phone] = await rig.slack_press(ALICE_PHONE, action_id)
        assert (await rig.app.actions.get(action_id)).status == "pending", (on_discord, phone)
        assert drivers["home"].commands == []
        assert "you already approved this on Slack" in on_discord and ONCE in on_discord
        assert "you already approved this on Slack" in phone
        # Bob is the second person: it runs, once, and the Discord card says who decided where.
        [done] = await rig.slack_press(BOB, action_id)
        assert "Done and verified" in done, done
        assert [c.kind for c in drivers["home"].commands] == ["generator"]
        assert card.fields()["Decided by"].startswith("Alice on Slack, Bob at "), card.fields()
        assert card.custom_ids() == []
