"""Discord: embeds and buttons, /energy, mentions, and button presses that survive a restart.

No network. Discord's side is played by :class:`FakeDiscord` (channels that keep
the messages, embeds and button rows they were sent, and their edits) and by
``spec_set`` mocks of discord.py's own ``Interaction``/``Message``/``Member``, so
a renamed attribute or parameter fails here instead of in production.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import discord
import pytest
from discord import app_commands

from bot.app import App, open_app
from bot.chat.discord_bot import (
    STALE_BUTTON,
    CardButton,
    CommandCenterClient,
    DiscordAdapter,
    build_discord_client,
    card_view,
    client_channels,
    where,
)
from bot.chat.discord_render import (
    CUSTOM_ID_RE,
    MAX_CUSTOM_ID,
    TONE_COLOURS,
    button_specs,
    embed_dict,
)
from bot.chat.service import ChatService
from bot.settings import Settings
from tests.bot.helpers import EVENING, CountingDriver, run_minutes
from tests.bot.helpers import test_site_file as base_site_file
from tools.cards import Button, Card
from tools.clock import ManualClock
from tools.devices.simulator import SimulatedSite
from tools.site import Channels, Group, Person, SiteFile

BOT_ID = 900000000000000001
GUILD_ID = 910000000000000001
SITE_CHANNEL = 920000000000000001
DM_CHANNEL = 920000000000000002
OPERATOR_ROLE = 930000000000000001
EVERYONE_ROLE = GUILD_ID  # Discord's @everyone role has the guild's id

OLGA, VIC, RITA = 1001, 1002, 1003  # operator by the site file, viewer, operator by role


# -- Discord's side ----------------------------------------------------------------------


@dataclass(slots=True)
class FakeMessage:
    """A message as Discord keeps it: text, one embed, button rows, and its edits."""

    id: int
    channel_id: int
    content: str | None
    embed: dict[str, Any] | None
    rows: list[dict[str, Any]]
    edits: int = 0

    async def edit(
        self,
        *,
        embed: discord.Embed | None = discord.utils.MISSING,
        view: Any = discord.utils.MISSING,
    ) -> FakeMessage:
        if embed is not discord.utils.MISSING:
            self.embed = dict(embed.to_dict()) if embed is not None else None
        if view is not discord.utils.MISSING:
            self.rows = view.to_components() if view is not None else []
        self.edits += 1
        return self

    def custom_ids(self) -> list[str]:
        return [c["custom_id"] for row in self.rows for c in row["components"]]

    def fields(self) -> dict[str, str]:
        assert self.embed is not None
        return {f["name"]: f["value"] for f in self.embed.get("fields", [])}

    def components(self) -> list[discord.ActionRow]:
        """The rows as discord.py parses them from a received message."""
        return [discord.ActionRow(row) for row in self.rows]  # type: ignore[arg-type]


@dataclass(slots=True)
class FakeChannel:
    id: int
    server: FakeDiscord

    async def send(
        self,
        content: str | None = None,
        *,
        embed: discord.Embed | None = None,
        view: discord.ui.View | None = None,
    ) -> FakeMessage:
        message = FakeMessage(
            id=next(self.server.ids),
            channel_id=self.id,
            content=content,
            embed=dict(embed.to_dict()) if embed is not None else None,
            rows=view.to_components() if view is not None else [],
        )
        self.server.messages[message.id] = message
        return message

    def get_partial_message(self, message_id: int, /) -> FakeMessage:
        return self.server.messages[message_id]


@dataclass(slots=True)
class FakeDiscord:
    """Outlives the bot: a restarted bot edits messages an earlier run posted."""

    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(940000000000000001))
    messages: dict[int, FakeMessage] = field(default_factory=dict)

    async def channel(self, channel_id: int) -> FakeChannel:
        return FakeChannel(id=channel_id, server=self)

    def in_channel(self, channel_id: int = SITE_CHANNEL) -> list[FakeMessage]:
        return [m for m in self.messages.values() if m.channel_id == channel_id]

    def cards(self, prefix: str) -> list[FakeMessage]:
        return [
            m for m in self.messages.values() if m.embed and m.embed["title"].startswith(prefix)
        ]

    def texts(self, channel_id: int = SITE_CHANNEL) -> list[str]:
        return [m.content for m in self.in_channel(channel_id) if m.content]


def test_fakes_take_only_what_discord_takes() -> None:
    """The fakes accept no parameter discord.py's real methods lack (no drift)."""
    pairs = [
        (FakeChannel.send, discord.TextChannel.send),
        (FakeChannel.get_partial_message, discord.TextChannel.get_partial_message),
        (FakeMessage.edit, discord.PartialMessage.edit),
    ]
    for fake, real in pairs:
        assert callable(fake) and callable(real)
        ours = set(inspect.signature(fake).parameters) - {"self"}
        theirs = set(inspect.signature(real).parameters)
        assert ours <= theirs, (fake, ours - theirs)


# -- people, interactions, messages --------------------------------------------------------


def role(role_id: int) -> discord.Role:
    r = mock.create_autospec(discord.Role, instance=True, spec_set=True)
    r.id = role_id
    return r


def member(user_id: int, name: str, *role_ids: int) -> discord.Member:
    m = mock.create_autospec(discord.Member, instance=True, spec_set=True)
    m.id = user_id
    m.display_name = name
    m.bot = user_id == BOT_ID
    m.roles = [role(EVERYONE_ROLE), *(role(r) for r in role_ids)]
    return m


PEOPLE = {
    OLGA: ("Olga", ()),
    VIC: ("Vic", ()),
    RITA: ("Rita", (OPERATOR_ROLE,)),
}


def person(user_id: int) -> discord.Member:
    name, roles = PEOPLE[user_id]
    return member(user_id, name, *roles)


def interaction(
    client: discord.Client,
    user: discord.Member,
    *,
    kind: discord.InteractionType,
    custom_id: str | None = None,
    message: FakeMessage | None = None,
) -> Any:
    i = mock.create_autospec(discord.Interaction, instance=True, spec_set=True)
    i.response = mock.create_autospec(discord.InteractionResponse, instance=True, spec_set=True)
    i.response.is_done.return_value = False
    i.followup = mock.create_autospec(discord.Webhook, instance=True, spec_set=True)
    i.client = client
    i.user = user
    i.type = kind
    i.guild_id = GUILD_ID
    i.channel_id = SITE_CHANNEL
    i.channel = None
    i.data = {"custom_id": custom_id, "component_type": 2} if custom_id else {}
    if message is not None:
        m = mock.create_autospec(discord.Message, instance=True, spec_set=True)
        m.id = message.id
        m.flags = discord.MessageFlags()
        m.components = message.components()
        i.message = m
    return i


def press(client: discord.Client, user: discord.Member, custom_id: str, msg: FakeMessage) -> Any:
    return interaction(
        client, user, kind=discord.InteractionType.component, custom_id=custom_id, message=msg
    )


async def click(i: Any, custom_id: str) -> None:
    """The button built as discord.py builds it on a press (``from_custom_id``), then run."""
    match = CardButton.__discord_ui_compiled_template__.fullmatch(custom_id)
    assert match is not None
    base = discord.ui.Button[discord.ui.View](label="x", custom_id=custom_id)
    button = await CardButton.from_custom_id(i, base, match)
    await button.callback(i)


async def dispatch(client: discord.Client, i: Any, custom_id: str) -> int:
    """A press through discord.py's own component dispatcher, as a gateway event is;
    returns how many dynamic items it ran. (``_connection`` is discord.py's internal
    state: the only way to reach the dispatcher without a gateway.)"""
    before = set(asyncio.all_tasks())
    client._connection._view_store.dispatch_view(2, custom_id, i)
    tasks = [
        t
        for t in asyncio.all_tasks() - before
        if t.get_name().startswith("discord-ui-dynamic-item-")
    ]
    await asyncio.gather(*tasks)
    return len(tasks)


def ephemeral_reply(i: Any) -> str:
    """The one follow-up the person saw, after a deferred ephemeral 'thinking'."""
    i.response.defer.assert_awaited_once_with(ephemeral=True, thinking=True)
    i.followup.send.assert_awaited_once()
    assert i.followup.send.await_args.kwargs == {"ephemeral": True}
    return str(i.followup.send.await_args.args[0])


def mention(text: str, *, message_id: int, author: discord.Member, dm: bool = False) -> Any:
    m = mock.create_autospec(discord.Message, instance=True, spec_set=True)
    m.id = message_id
    m.author = author
    m.content = text if dm else f"<@{BOT_ID}> {text}"
    bot_user = mock.create_autospec(discord.ClientUser, instance=True, spec_set=True)
    bot_user.id = BOT_ID
    m.mentions = [] if dm else [bot_user]
    m.guild = None if dm else mock.create_autospec(discord.Guild, instance=True, spec_set=True)
    m.channel = FakeChannel(id=DM_CHANNEL if dm else SITE_CHANNEL, server=FakeDiscord())
    return m


# -- the bot ---------------------------------------------------------------------------


def discord_site_file() -> SiteFile:
    base = base_site_file()
    site = base.sites[0].model_copy(
        update={"channels": Channels(console="#demo", discord=str(SITE_CHANNEL))}
    )
    return SiteFile(
        sites=[site],
        people=[
            Person(platform="discord", user_id=str(OLGA), name="Olga", role="operator"),
            Person(platform="discord", user_id=str(VIC), name="Vic", role="viewer"),
        ],
        groups=[Group(platform="discord", group_id=str(OPERATOR_ROLE), role="operator")],
    )


@asynccontextmanager
async def discord_bot(
    *, db_url: str, data_dir: Path, clock: ManualClock, server: FakeDiscord
) -> AsyncIterator[tuple[App, CommandCenterClient, CountingDriver]]:
    """One process: an app on ``db_url`` and a fresh Discord client (setup_hook run)."""
    site_file = discord_site_file()
    driver = CountingDriver(SimulatedSite(site_file.sites[0], seed=7, start=clock.now()))
    settings = Settings(data_dir=data_dir, database_url=db_url, channel_min_interval_s=0)
    async with open_app(
        settings,
        adapter=[DiscordAdapter(server.channel)],  # type: ignore[arg-type]
        clock=clock,
        site_file=site_file,
        drivers={site_file.sites[0].name: driver},
    ) as app:
        client = build_discord_client(chat=app.chat, sync_commands=False)
        await client.setup_hook()  # what login runs: registers CardButton
        bot_user = mock.create_autospec(discord.ClientUser, instance=True, spec_set=True)
        bot_user.id = BOT_ID
        try:
            with mock.patch.object(
                CommandCenterClient, "user", new_callable=mock.PropertyMock, return_value=bot_user
            ):
                yield app, client, driver
        finally:
            await client.close()


async def drain_until_alert(app: App, clock: ManualClock, server: FakeDiscord) -> FakeMessage:
    for _ in range(180):
        await run_minutes(app, clock, 1)
        if server.cards("Warning: Battery low"):
            break
    (alert,) = server.cards("Warning: Battery low")
    return alert


# -- rendering (pure) --------------------------------------------------------------------


def test_card_renders_within_discord_limits() -> None:
    card = Card(
        kind="alert",
        title="T" * 300,
        text="x" * 5000,
        fields=[(f"f{i}", "v" * 2000) for i in range(30)],
        buttons=[
            Button(label="Acknowledge", action="ack", value="12,13"),
            Button(label="Stop miners", action="approve", value="a" * 32, style="primary"),
            Button(label="Reject", action="reject", value="a" * 32, style="danger"),
            Button(label="Too long", action="ack", value="1" * 81),  # cannot fit: left out
            Button(label="Bad id", action="ack", value="1 2"),  # outside the template
        ],
        tone="critical",
        footer="alert 12",
    )
    embed = embed_dict(card)
    assert len(embed["title"]) == 256 and embed["title"].endswith("…")
    assert len(embed["fields"]) <= 25
    assert all(len(f["value"]) <= 1024 for f in embed["fields"])
    total = len(embed["title"]) + len(embed.get("description", "")) + len("alert 12")
    total += sum(len(f["name"]) + len(f["value"]) for f in embed["fields"])
    assert total <= 6000
    assert embed["color"] == TONE_COLOURS["critical"]
    assert discord.Embed.from_dict(embed).footer.text == "alert 12"

    specs = button_specs(card)
    assert [(s.action, s.style) for s in specs] == [
        ("ack", "secondary"),
        ("approve", "primary"),
        ("reject", "danger"),
    ]
    assert all(
        len(s.custom_id) <= MAX_CUSTOM_ID and CUSTOM_ID_RE.fullmatch(s.custom_id) for s in specs
    )


async def test_decided_card_has_no_view() -> None:
    decided = Card(kind="action", title="Done: Stop miners", fields=[("Status", "Done")])
    assert button_specs(decided) == [] and card_view(decided) is None
    view = card_view(
        Card(kind="action", title="t", buttons=[Button(label="A", action="approve", value="x")])
    )
    assert view is not None and view.timeout is None and view.is_persistent()


async def test_client_wiring_without_a_connection() -> None:
    client = build_discord_client(chat=mock.create_autospec(ChatService, instance=True))
    intents = client.intents
    assert intents.guilds and intents.guild_messages and intents.dm_messages
    # No privileged intents: mentions and DMs carry their content without them.
    assert not intents.message_content and not intents.members and not intents.presences
    assert client.tree.get_command("energy") is not None

    # The adapter built on a client finds channels through it.
    text = mock.create_autospec(discord.TextChannel, instance=True, spec_set=True)
    category = mock.create_autospec(discord.CategoryChannel, instance=True, spec_set=True)
    found = {SITE_CHANNEL: text, DM_CHANNEL: category}
    with mock.patch.object(client, "get_channel", side_effect=found.get):
        lookup = client_channels(client)
        assert await lookup(SITE_CHANNEL) is text
        with pytest.raises(ValueError, match="cannot hold messages"):
            await lookup(DM_CHANNEL)
        with pytest.raises(ValueError, match="numeric id"):
            await DiscordAdapter(client).post("#demo", text="hi")

    # A thread counts as its parent channel (the site) plus itself (the conversation).
    thread = mock.create_autospec(discord.Thread, instance=True, spec_set=True)
    thread.id, thread.parent_id = 5, SITE_CHANNEL
    assert where(thread, 5) == (str(SITE_CHANNEL), "5")
    assert where(None, SITE_CHANNEL) == (str(SITE_CHANNEL), None)
    await client.close()


# -- /energy -----------------------------------------------------------------------------


async def test_energy_status_defers_before_work_and_follows_up(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = ManualClock(EVENING)
    server = FakeDiscord()
    async with discord_bot(db_url=sqlite_url, data_dir=tmp_path, clock=clock, server=server) as (
        app,
        client,
        _driver,
    ):
        await app.monitor.poll_once()
        command = client.tree.get_command("energy")
        assert isinstance(command, app_commands.Command)
        assert [c.value for c in command.parameters[0].choices][:2] == ["status", "forecast"]

        i = interaction(client, person(VIC), kind=discord.InteractionType.application_command)
        seen_by_work: list[int] = []
        handle_command = app.chat.handle_command

        async def slow_work(msg: Any) -> Any:
            seen_by_work.append(i.response.defer.await_count)  # deferred already?
            assert (msg.platform, msg.channel, msg.text) == ("discord", str(SITE_CHANNEL), "status")
            return await handle_command(msg)

        monkeypatch.setattr(app.chat, "handle_command", slow_work)
        await command.callback(i, app_commands.Choice(name="status", value="status"))  # type: ignore[arg-type]

        assert seen_by_work == [1], "the interaction must be deferred before the slow work"
        answer = ephemeral_reply(i)
        assert "Battery" in answer
        # The chat service also answered in the site's channel, through the adapter.
        assert answer in server.texts()


# -- alerts, buttons, restarts --------------------------------------------------------------


async def test_alert_embed_with_buttons_approved_by_role(sqlite_url: str, tmp_path: Path) -> None:
    clock = ManualClock(EVENING)
    server = FakeDiscord()
    async with discord_bot(db_url=sqlite_url, data_dir=tmp_path, clock=clock, server=server) as (
        app,
        client,
        driver,
    ):
        alert = await drain_until_alert(app, clock, server)
        assert alert.channel_id == SITE_CHANNEL
        assert alert.embed is not None and alert.embed["color"] == TONE_COLOURS["warning"]
        ids = alert.custom_ids()
        assert all(len(c) <= 100 and CUSTOM_ID_RE.fullmatch(c) for c in ids)
        assert {c.split(":")[1] for c in ids} == {"ack", "snooze", "approve", "reject"}
        (approve,) = [c for c in ids if c.startswith("cc:approve:")]

        # A viewer is refused, privately; nothing touches hardware.
        vic = press(client, person(VIC), approve, alert)
        await click(vic, approve)
        assert "viewer" in ephemeral_reply(vic).lower()
        assert driver.commands == [] and alert.edits == 0

        # Rita is an operator through her Discord role.
        rita = press(client, person(RITA), approve, alert)
        await click(rita, approve)
        assert "Done and verified" in ephemeral_reply(rita)
        assert driver.inner.state.loads_on == {"miner-1": False, "miner-2": False, "miner-3": False}

        # The same message was edited: the decision shown, approve/reject gone. (The
        # alert itself is still firing, so Acknowledge/Snooze stay.)
        assert alert.edits >= 1 and len(server.cards("Warning: Battery low")) == 1
        fields = alert.fields()
        assert fields["Status"] == "Done" and fields["Decided by"].startswith("Rita at ")
        assert {c.split(":")[1] for c in alert.custom_ids()} == {"ack", "snooze"}

        # A second press changes nothing.
        again = press(client, person(OLGA), approve, alert)
        await click(again, approve)
        assert ephemeral_reply(again).startswith("Already succeeded")
        assert len(driver.commands) == 3


async def test_button_posted_before_a_restart_still_routes(db_url: str, tmp_path: Path) -> None:
    clock = ManualClock(EVENING)
    server = FakeDiscord()
    async with discord_bot(db_url=db_url, data_dir=tmp_path, clock=clock, server=server) as (
        app,
        client,
        driver,
    ):
        await app.monitor.poll_once()
        await client.on_message(
            mention("please stop the miners", message_id=1, author=person(OLGA))
        )
        (card,) = server.cards("Approval needed")
        approve = next(c for c in card.custom_ids() if c.startswith("cc:approve:"))
        assert driver.commands == []

    # A new process: a new app on the same database, a new client, the same Discord.
    async with discord_bot(db_url=db_url, data_dir=tmp_path, clock=clock, server=server) as (
        app,
        client,
        driver,
    ):
        await app.monitor.poll_once()
        # A client that never registered CardButton would drop the press...
        bare = discord.Client(intents=discord.Intents.none())
        assert await dispatch(bare, press(bare, person(OLGA), approve, card), approve) == 0
        # ...the new client routes it (registered in setup_hook) to the stored request.
        i = press(client, person(OLGA), approve, card)
        assert await dispatch(client, i, approve) == 1
        assert "Done and verified" in ephemeral_reply(i)
        assert [c.target for c in driver.commands] == ["miner-1", "miner-2", "miner-3"]

        # The old message now shows the decision and has no buttons at all.
        assert card.rows == [] and card.embed is not None
        assert card.embed["title"].startswith("Done") and card.fields()["Status"] == "Done"
        # The suspended conversation resumed in its channel.
        assert [t for t in server.texts() if "succeeded" in t]


async def test_unknown_and_stale_ids_explain_and_do_nothing(
    sqlite_url: str, tmp_path: Path
) -> None:
    clock = ManualClock(EVENING)
    server = FakeDiscord()
    async with discord_bot(db_url=sqlite_url, data_dir=tmp_path, clock=clock, server=server) as (
        app,
        client,
        driver,
    ):
        await app.monitor.poll_once()
        posted = await (await server.channel(SITE_CHANNEL)).send("old card")

        # An id that is ours in form but not a known action: no CardButton takes it,
        # so the client explains (rather than let Discord say "interaction failed").
        foreign = "cc:launch:rockets"
        i = press(client, person(OLGA), foreign, posted)
        assert await dispatch(client, i, foreign) == 0
        await client.on_interaction(i)
        i.response.send_message.assert_awaited_once_with(STALE_BUTTON, ephemeral=True)

        # Another app's button is left alone.
        other = press(client, person(OLGA), "other-bot:thing", posted)
        await client.on_interaction(other)
        assert other.response.method_calls == []

        # Well-formed ids of requests/alerts that do not exist: an explanation only.
        stale = "cc:approve:0123456789abcdef0123456789abcdef"
        s = press(client, person(OLGA), stale, posted)
        await click(s, stale)
        assert "No action request" in ephemeral_reply(s)
        gone = press(client, person(OLGA), "cc:ack:999", posted)
        await click(gone, "cc:ack:999")
        assert ephemeral_reply(gone) == "Unknown alert 999."
        assert driver.commands == []
        assert list(server.messages) == [posted.id] and posted.edits == 0
        with pytest.raises(ValueError):
            CardButton("approve", "x" * 81)


async def test_mention_answered_once(sqlite_url: str, tmp_path: Path) -> None:
    clock = ManualClock(EVENING)
    server = FakeDiscord()
    async with discord_bot(db_url=sqlite_url, data_dir=tmp_path, clock=clock, server=server) as (
        app,
        client,
        _driver,
    ):
        await app.monitor.poll_once()
        question = mention("how is the battery?", message_id=42, author=person(OLGA))
        await client.on_message(question)
        await client.on_message(question)  # Discord delivered it again
        assert len(server.texts()) == 1 and "Battery at" in server.texts()[0]

        # Not for the bot, or from the bot: no answer.
        plain = mention("hello all", message_id=43, author=person(OLGA))
        plain.mentions = []
        await client.on_message(plain)
        await client.on_message(
            mention("Battery at 40 %", message_id=44, author=member(BOT_ID, "CC"))
        )
        assert len(server.texts()) == 1

        # A DM needs no mention and is answered in the DM.
        await client.on_message(
            mention("how is the battery?", message_id=45, author=person(VIC), dm=True)
        )
        assert len(server.texts(DM_CHANNEL)) == 1


async def test_each_mention_in_a_channel_gets_its_own_request(
    sqlite_url: str, tmp_path: Path
) -> None:
    """Discord channel messages of one person share a conversation; each ask is its own."""
    clock = ManualClock(EVENING)
    server = FakeDiscord()
    async with discord_bot(db_url=sqlite_url, data_dir=tmp_path, clock=clock, server=server) as (
        app,
        client,
        _driver,
    ):
        await app.monitor.poll_once()
        stop = mention("please stop the miners", message_id=71, author=person(OLGA))
        await client.on_message(stop)
        await client.on_message(stop)  # delivered again
        await client.on_message(
            mention("turn on grid charging", message_id=72, author=person(OLGA))
        )
        requests = await app.actions.list_requests()
        assert sorted(r.kind for r in requests) == ["grid_charge_on", "stop_miners"]
        assert len({r.thread_id for r in requests}) == 1
