"""A hostile user on two sites, through the Discord client's own handlers.

The fakes of test_discord.py play Discord (channels that keep what they were sent,
``spec_set`` mocks of discord.py's Interaction, Message, Member and User). ``home``
and ``barn`` each have their Discord channel; Hank is an operator limited to home,
Bea one limited to barn, Hal an admin limited to home, Ada an admin of every site
and Ray an admin through a mapped Discord role only. Role grants name people by
their Discord ids (17-20 digit snowflakes) and mentions.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import discord
from discord import app_commands

from bot.app import App, open_app
from bot.chat.discord_bot import (
    STALE_BUTTON,
    CommandCenterClient,
    DiscordAdapter,
    build_discord_client,
)
from bot.settings import Settings
from storage import repositories as repo
from tests.bot.helpers import EVENING, CountingDriver
from tests.bot.test_discord import (
    BOT_ID,
    FakeChannel,
    FakeDiscord,
    FakeMessage,
    click,
    dispatch,
    ephemeral_reply,
    interaction,
    member,
    press,
)
from tools.clock import ManualClock
from tools.devices.simulator import SimulatedSite
from tools.site import Channels, Group, Person, SiteFile, demo_site_file

HOME_CH, BARN_CH, DM_CH = 950000000000000001, 950000000000000002, 950000000000000003
ADMIN_ROLE = 960000000000000001
ADA, HAL, HANK, BEA, VIC, RAY = (
    970000000000000001,
    970000000000000002,
    970000000000000003,
    970000000000000004,
    970000000000000005,
    970000000000000006,
)
NEWBIE = "830144552912345678"
NAMES = {ADA: "Ada", HAL: "Hal", HANK: "Hank", BEA: "Bea", VIC: "Vic", RAY: "Ray"}
NO_BARN = "do not have access to the site 'barn'"


def site_file() -> SiteFile:
    demo = demo_site_file().sites[0]
    home = demo.model_copy(
        update={"name": "home", "title": "Home", "channels": Channels(discord=str(HOME_CH))}
    )
    barn = demo.model_copy(
        update={"name": "barn", "title": "Barn", "channels": Channels(discord=str(BARN_CH))}
    )

    def person(user: int, role: str, sites: list[str] | None = None) -> Person:
        return Person(
            platform="discord", user_id=str(user), name=NAMES[user], role=role, sites=sites
        )  # type: ignore[arg-type]

    return SiteFile(
        sites=[home, barn],
        people=[
            person(ADA, "admin"),
            person(HAL, "admin", ["home"]),
            person(HANK, "operator", ["home"]),
            person(BEA, "operator", ["barn"]),
            person(VIC, "viewer"),
        ],
        groups=[Group(platform="discord", group_id=str(ADMIN_ROLE), role="admin")],
    )


def who(user: int) -> discord.Member:
    return member(user, NAMES[user], *((ADMIN_ROLE,) if user == RAY else ()))


def dm_user(user: int) -> discord.User:
    """The author of a DM: a User, who has no guild roles."""
    u = mock.create_autospec(discord.User, instance=True, spec_set=True)
    u.id = user
    u.display_name = NAMES[user]
    u.bot = False
    return u


class Rig:
    def __init__(self, app: App, client: CommandCenterClient, server: FakeDiscord) -> None:
        self.app, self.client, self.server = app, client, server
        self._ids = iter(range(1, 1_000_000))

    async def say(self, user: int, text: str, channel: int) -> str:
        """A mention in a channel, or a DM (``DM_CH``); returns the bot's answer there."""
        dm = channel == DM_CH
        m = mock.create_autospec(discord.Message, instance=True, spec_set=True)
        m.id = next(self._ids)
        m.author = dm_user(user) if dm else who(user)
        m.content = text if dm else f"<@{BOT_ID}> {text}"
        bot_user = mock.create_autospec(discord.ClientUser, instance=True, spec_set=True)
        bot_user.id = BOT_ID
        m.mentions = [] if dm else [bot_user]
        m.guild = None if dm else mock.create_autospec(discord.Guild, instance=True, spec_set=True)
        m.channel = FakeChannel(id=channel, server=self.server)
        before = len(self.server.texts(channel))
        await self.client.on_message(m)
        said = self.server.texts(channel)[before:]
        assert said, f"no answer to {text!r} in {channel}"
        return "\n".join(said)

    async def command(self, user: int, subcommand: str, text: str, channel: int) -> str:
        """``/energy <subcommand> <text>``; returns the ephemeral follow-up."""
        command = self.client.tree.get_command("energy")
        assert isinstance(command, app_commands.Command)
        i = interaction(self.client, who(user), kind=discord.InteractionType.application_command)
        i.channel_id = channel
        choice = app_commands.Choice(name=subcommand, value=subcommand)
        await command.callback(i, choice, text)  # type: ignore[arg-type]
        return ephemeral_reply(i)

    async def press(self, user: int, custom_id: str, card: FakeMessage, channel: int) -> str:
        """A button press as discord.py dispatches it; the ephemeral reply."""
        i = press(self.client, who(user), custom_id, card)
        i.channel_id = channel
        assert await dispatch(self.client, i, custom_id) == 1
        return ephemeral_reply(i)


@asynccontextmanager
async def discord_two_sites(
    db_url: str, data_dir: Path
) -> AsyncIterator[tuple[Rig, dict[str, CountingDriver], ManualClock]]:
    clock = ManualClock(EVENING)
    server = FakeDiscord()
    sites = site_file()
    drivers = {
        s.name: CountingDriver(SimulatedSite(s, seed=7, start=clock.now())) for s in sites.sites
    }
    settings = Settings(data_dir=data_dir, database_url=db_url, channel_min_interval_s=0)
    async with open_app(
        settings,
        adapter=[DiscordAdapter(server.channel)],  # type: ignore[arg-type]
        clock=clock,
        site_file=sites,
        drivers=drivers,
    ) as app:
        await app.monitor.poll_once()
        client = build_discord_client(chat=app.chat, sync_commands=False)
        await client.setup_hook()
        bot_user = mock.create_autospec(discord.ClientUser, instance=True, spec_set=True)
        bot_user.id = BOT_ID
        try:
            with mock.patch.object(
                CommandCenterClient, "user", new_callable=mock.PropertyMock, return_value=bot_user
            ):
                yield Rig(app, client, server), drivers, clock
        finally:
            await client.close()


async def _role_events(app: App) -> list[dict[str, Any]]:
    async with app.sessionmaker() as session:
        return [a.details for a in await repo.list_audit(session) if a.event == "role_changed"]


# -- 2. role grants with Discord ids ------------------------------------------------------


async def test_discord_role_grants_only_by_an_admin_of_every_site(
    sqlite_url: str, tmp_path: Path
) -> None:
    async with discord_two_sites(sqlite_url, tmp_path) as (rig, _drivers, _clock):
        app = rig.app
        grant = f"make {NEWBIE} an operator"
        # An operator, in their own site's channel, the other site's, or by /energy.
        for channel in (HOME_CH, BARN_CH):
            said = await rig.say(HANK, grant, channel)
            assert "Your role is operator: only admin may change roles." in said, said
        said = await rig.command(HANK, "ask", f"make <@{NEWBIE}> an admin", HOME_CH)
        assert "only admin may change roles" in said, said
        # An admin limited to home, in a channel or a DM, naming a site or not.
        for text, channel in (
            (grant, HOME_CH),
            (grant, DM_CH),
            (f"make {NEWBIE} an operator at the barn", HOME_CH),
            (f"make <@!{NEWBIE}> a viewer", BARN_CH),
        ):
            said = await rig.say(HAL, text, channel)
            assert "You are limited to home, so you may not change roles." in said, (text, said)
        # The barn's operator may not either; nor may anyone give themselves a role.
        said = await rig.say(BEA, f"make <@{NEWBIE}> an admin", BARN_CH)
        assert "only admin may change roles" in said
        said = await rig.say(HANK, f"make <@{HANK}> an admin", HOME_CH)
        assert "only admin may change roles" in said
        # Ray is an admin through his Discord role, not the site file: in a guild channel
        # he may grant, but not to himself...
        said = await rig.say(RAY, f"make <@{RAY}> an admin", BARN_CH)
        assert "You cannot change your own role." in said, said
        # ...and in a DM Discord sends no roles, so there he is a viewer.
        said = await rig.say(RAY, grant, DM_CH)
        assert "Your role is viewer: only admin may change roles." in said, said
        # An admin of every site naming one site: a chat role would hold at both.
        for text in (
            f"make {NEWBIE} an operator for the barn only",
            f"make <@{NEWBIE}> the barn operator",
        ):
            said = await rig.say(ADA, text, BARN_CH)
            assert "holds at every site" in said and "Nothing was changed" in said, said
        assert await _role_events(app) == []
        newbie = await app.chat.actor("discord", NEWBIE)
        assert newbie.role == "viewer"
        # Ada, in a DM, gives the role at every site, and it says so.
        said = await rig.say(ADA, grant, DM_CH)
        assert f"{NEWBIE} on discord is now operator (was viewer), on every site" in said
        assert (await app.chat.actor("discord", NEWBIE)).role == "operator"
        said = await rig.command(VIC, "ask", f"who is {NEWBIE}?", BARN_CH)
        assert "is operator (granted in chat by Ada" in said and "may use every site" in said
        # Ray, in a channel, may grant; a site-file person's role stays the file's.
        said = await rig.say(RAY, f"make <@{NEWBIE}> a finance", HOME_CH)
        assert "now finance (was operator)" in said, said
        said = await rig.say(RAY, f"make <@{HANK}> an admin", HOME_CH)
        assert "listed in the site file as operator" in said, said
        events = await _role_events(app)
        assert [(e["user_id"], e["role"], e["was"]) for e in events] == [
            (NEWBIE, "operator", "viewer"),
            (NEWBIE, "finance", "operator"),
        ]


# -- 4. replays and forged button presses -------------------------------------------------


async def test_discord_presses_forged_replayed_late_or_huge_change_nothing(
    sqlite_url: str, tmp_path: Path
) -> None:
    async with discord_two_sites(sqlite_url, tmp_path) as (rig, drivers, clock):
        app, server = rig.app, rig.server
        said = await rig.say(BEA, "please stop the miners", BARN_CH)
        assert "Approval needed" in said or server.cards("Approval needed"), said
        (card,) = server.cards("Approval needed")
        assert card.channel_id == BARN_CH
        approve = next(c for c in card.custom_ids() if c.startswith("cc:approve:"))
        reject = next(c for c in card.custom_ids() if c.startswith("cc:reject:"))
        barn_id = approve.split(":")[2]
        # Hank presses the barn card's buttons from either channel: refused, privately.
        for custom_id in (approve, reject):
            for channel in (HOME_CH, BARN_CH):
                reply = await rig.press(HANK, custom_id, card, channel)
                assert NO_BARN in reply and "Nothing was changed" in reply, reply
        # Forged ids (Discord only sends ids that are on the message, so these run the
        # button's callback directly): another person's id carried along is no request
        # id; a short prefix of the barn id is the barn request all the same.
        for forged, expected in (
            (f"cc:approve:{barn_id}:{BEA}", "is not a request id"),
            (f"cc:approve:{barn_id[:8]}", NO_BARN),
            (f"cc:reject:{barn_id.upper()}", NO_BARN),
        ):
            i = press(rig.client, who(HANK), forged, card)
            await click(i, forged)
            assert expected in ephemeral_reply(i), forged
        # Ids of odd characters never reach the bot as a button: the client explains.
        for odd in (
            "cc:approve:０ｂａｄｃ０ｄｅ",
            "cc:approve:0bad\u200bc0de",
            "cc:ack:" + "1," * 60,
        ):
            i = press(rig.client, who(HANK), odd, card)
            assert await dispatch(rig.client, i, odd) == 0
            await rig.client.on_interaction(i)
            i.response.send_message.assert_awaited_once_with(STALE_BUTTON, ephemeral=True)
        assert (await app.actions.get(barn_id)).status == "pending"
        assert drivers["barn"].commands == [] and card.edits == 0
        # Bea approves; pressing again (a client still showing the old buttons), or
        # rejecting now, changes nothing.
        stale = dataclasses.replace(card)
        assert "Done and verified" in await rig.press(BEA, approve, card, BARN_CH)
        assert card.custom_ids() == []
        assert (await rig.press(BEA, approve, stale, BARN_CH)).startswith("Already succeeded")
        assert (await rig.press(BEA, reject, stale, BARN_CH)).startswith("Already succeeded")
        assert len(drivers["barn"].commands) == 3
        # A rejected request stays rejected; an expired one stays expired.
        await rig.say(BEA, "turn on grid charging", BARN_CH)
        await rig.say(BEA, "start the miners again", BARN_CH)
        cards = server.cards("Approval needed")
        assert len(cards) == 2, [c.embed for c in server.messages.values() if c.embed]
        first, second = cards
        ids = [next(c for c in m.custom_ids() if c.startswith("cc:approve:")) for m in cards]
        no = next(c for c in first.custom_ids() if c.startswith("cc:reject:"))
        stale = dataclasses.replace(first)
        assert (await rig.press(BEA, no, first, BARN_CH)).startswith("Rejected by Bea")
        assert (await rig.press(BEA, ids[0], stale, BARN_CH)).startswith("Already rejected")
        clock.advance(timedelta(minutes=16))
        late = await rig.press(BEA, ids[1], second, BARN_CH)
        assert "expired" in late, late
        assert (await app.actions.get(ids[1].split(":")[2])).status == "expired"
        assert len(drivers["barn"].commands) == 3 and drivers["home"].commands == []


async def test_discord_huge_messages_are_refused_unread(sqlite_url: str, tmp_path: Path) -> None:
    async with discord_two_sites(sqlite_url, tmp_path) as (rig, drivers, _clock):
        huge = "stop the miners at the barn " * 3_700  # ~100 kB
        ids = " ".join(f"{n:08x}" for n in range(10_000))  # 10,000 request ids
        for text in (huge, f"approve {ids}", f"make {NEWBIE} an admin " * 5_000):
            for user, channel in ((BEA, BARN_CH), (ADA, DM_CH)):
                said = await rig.say(user, text, channel)
                assert "characters long" in said and "fewer words" in said, said[:200]
        assert await rig.app.actions.list_requests() == []
        assert (await rig.app.chat.actor("discord", NEWBIE)).role == "viewer"
        assert drivers["barn"].commands == []
