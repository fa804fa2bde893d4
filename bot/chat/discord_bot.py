"""Discord: the ``/energy`` command, mentions and DMs, cards as embeds with buttons.

- :class:`DiscordAdapter` posts and edits cards; it finds channels through a
  lookup callable (the client's, or a fake in tests).
- :class:`CardButton` is a :class:`discord.ui.DynamicItem`: its state is the
  ``custom_id`` alone (``cc:<action>:<id>``), so buttons keep working after a
  restart once the class is registered in ``setup_hook``. The id is checked
  against the database by the chat service when the button is pressed.
- Every interaction is answered (deferred) before any slow work: Discord drops
  an interaction that gets no initial response within 3 seconds.

Nothing here connects at import time; :func:`build_discord_client` builds the
client and :func:`run_discord` runs it.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import discord
from discord import app_commands

from bot.chat.base import Click, InboundMessage, MessageRef
from bot.chat.commands import SUBCOMMANDS
from bot.chat.discord_render import (
    CUSTOM_ID_PREFIX,
    CUSTOM_ID_TEMPLATE,
    MAX_CONTENT,
    ButtonSpec,
    button_specs,
    clip,
    custom_id_for,
    parse_custom_id,
    to_embed,
)
from bot.chat.service import ChatService
from tools.cards import Card

log = logging.getLogger(__name__)

PLATFORM = "discord"

STALE_BUTTON = (
    "This button is not one CommandCenter can act on (it may come from an older "
    "version of the bot). Use /energy approvals or /energy alerts to see what is open."
)
FAILED = "Sorry, that did not work: {error}. Nothing more was done; please try again."

_STYLES = {
    "primary": discord.ButtonStyle.primary,
    "danger": discord.ButtonStyle.danger,
    "secondary": discord.ButtonStyle.secondary,
}


class CardChannel(Protocol):
    """What the adapter needs of a channel (text channel, thread or DM)."""

    @property
    def id(self) -> int: ...

    async def send(
        self,
        content: str | None = ...,
        *,
        embed: discord.Embed = ...,
        view: discord.ui.View = ...,
        file: discord.File = ...,
    ) -> discord.Message: ...

    def get_partial_message(self, message_id: int, /) -> discord.PartialMessage: ...


ChannelLookup = Callable[[int], Awaitable[CardChannel]]


def client_channels(client: discord.Client) -> ChannelLookup:
    """A channel lookup through the client: its cache first, then the API."""

    async def lookup(channel_id: int) -> CardChannel:
        channel = client.get_channel(channel_id) or await client.fetch_channel(channel_id)
        if not isinstance(
            channel,
            discord.TextChannel
            | discord.Thread
            | discord.DMChannel
            | discord.VoiceChannel
            | discord.StageChannel,
        ):
            raise ValueError(
                f"Discord channel {channel_id} is a {type(channel).__name__}, which cannot "
                "hold messages; set channels.discord in the site file to a text channel id."
            )
        return channel

    return lookup


def _channel_id(value: str) -> int:
    try:
        return int(value)
    except ValueError as err:
        raise ValueError(
            f"{value!r} is not a Discord channel id; channels.discord in the site file "
            "must be the channel's numeric id (Developer Mode → Copy Channel ID)."
        ) from err


# -- buttons ---------------------------------------------------------------------------


class CardButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]], template=CUSTOM_ID_TEMPLATE
):
    """A card's button; everything it needs is in its ``custom_id``."""

    def __init__(
        self,
        action: str,
        value: str,
        *,
        label: str | None = None,
        style: discord.ButtonStyle = discord.ButtonStyle.secondary,
    ) -> None:
        custom_id = custom_id_for(action, value)
        if custom_id is None:
            raise ValueError(f"{action}:{value!r} cannot be carried by a Discord button")
        super().__init__(
            discord.ui.Button(label=label or action.title(), style=style, custom_id=custom_id)
        )
        self.action = action
        self.value = value

    @classmethod
    def from_spec(cls, spec: ButtonSpec) -> CardButton:
        return cls(spec.action, spec.value, label=spec.label, style=_STYLES[spec.style])

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[discord.Client],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> CardButton:
        label = item.label if isinstance(item, discord.ui.Button) else None
        style = item.style if isinstance(item, discord.ui.Button) else discord.ButtonStyle.secondary
        return cls(match["action"], match["value"], label=label, style=style)

    async def callback(self, interaction: discord.Interaction[discord.Client]) -> None:
        # The initial response first: the database work below may take longer than 3 s.
        await interaction.response.defer(ephemeral=True, thinking=True)
        client = interaction.client
        if not isinstance(client, CommandCenterClient):
            await interaction.followup.send(STALE_BUTTON, ephemeral=True)
            return
        click = Click(
            platform=PLATFORM,
            user_id=str(interaction.user.id),
            channel=str(interaction.channel_id),
            action=self.action,
            value=self.value,
            user_name=interaction.user.display_name,
            groups=role_ids(interaction.user),
        )
        try:
            reply = await client.chat.handle_click(click)
        except Exception as err:  # the person must hear back; the traceback goes to the log
            log.exception("button %s:%s failed", self.action, self.value)
            reply = FAILED.format(error=type(err).__name__)
        await interaction.followup.send(clip(reply or "Done.", MAX_CONTENT), ephemeral=True)


def card_view(card: Card) -> discord.ui.View | None:
    """A persistent view with the card's buttons, or None when it has none."""
    specs = button_specs(card)
    if not specs:
        return None
    view = discord.ui.View(timeout=None)
    for spec in specs:
        view.add_item(CardButton.from_spec(spec))
    return view


async def explain_unknown_button(interaction: discord.Interaction[discord.Client]) -> bool:
    """Answer a press of a ``cc:`` button that no :class:`CardButton` will take.

    Returns True when it answered. Matching ids are left to :class:`CardButton`.
    """
    if interaction.type is not discord.InteractionType.component:
        return False
    data: Any = interaction.data or {}
    custom_id = str(data.get("custom_id", ""))
    if not custom_id.startswith(CUSTOM_ID_PREFIX) or parse_custom_id(custom_id) is not None:
        return False
    if interaction.response.is_done():
        return False
    await interaction.response.send_message(STALE_BUTTON, ephemeral=True)
    return True


# -- people and places -----------------------------------------------------------------


def role_ids(user: discord.abc.User) -> tuple[str, ...]:
    """A member's Discord role ids (a DM's user has none)."""
    if isinstance(user, discord.Member):
        return tuple(str(role.id) for role in user.roles)
    return ()


def where(channel: object, channel_id: int | None) -> tuple[str, str | None]:
    """``(channel, thread)``: a thread counts as its parent channel (for the site)
    plus the thread (for the conversation and the reply)."""
    if isinstance(channel, discord.Thread) and channel.parent_id is not None:
        return str(channel.parent_id), str(channel.id)
    return str(channel_id), None


def strip_mentions(text: str, user_id: int) -> str:
    return re.sub(rf"<@!?{user_id}>", " ", text).strip()


# -- the adapter -----------------------------------------------------------------------


class DiscordAdapter:
    """Posts text and cards to Discord channels and edits posted cards."""

    platform = PLATFORM

    def __init__(self, channels: discord.Client | ChannelLookup) -> None:
        self._lookup: ChannelLookup = (
            client_channels(channels) if isinstance(channels, discord.Client) else channels
        )

    async def post(
        self, channel: str, *, text: str = "", card: Card | None = None, thread: str | None = None
    ) -> MessageRef:
        target_id = _channel_id(thread or channel)
        if not text and card is None:  # Discord rejects an empty message
            return {"platform": PLATFORM, "channel": str(target_id), "ref": ""}
        target = await self._lookup(target_id)
        chunks = [text[i : i + MAX_CONTENT] for i in range(0, len(text), MAX_CONTENT)]
        for chunk in chunks[:-1]:
            await target.send(chunk)
        content = chunks[-1] if chunks else None
        if card is None:
            message = await target.send(content)
        else:
            kwargs: dict[str, Any] = {"embed": card_embed(card)}
            view = card_view(card)
            if view is not None:
                kwargs["view"] = view
            image = card_file(card)
            if image is not None:
                kwargs["file"] = image
            message = await target.send(content, **kwargs)
        return {"platform": PLATFORM, "channel": str(target_id), "ref": str(message.id)}

    async def update(self, ref: MessageRef, *, card: Card) -> None:
        target = await self._lookup(_channel_id(str(ref["channel"])))
        message = target.get_partial_message(int(ref["ref"]))
        # view=None removes the buttons of a decided card.
        image = card_file(card)
        if image is None:
            await message.edit(embed=card_embed(card), view=card_view(card))
        else:
            await message.edit(embed=card_embed(card), view=card_view(card), attachments=[image])


def card_file(card: Card) -> discord.File | None:
    """The card's image as an attachment, or None when it has none."""
    if card.image_png is None:
        return None
    return discord.File(io.BytesIO(card.image_png), filename=card.image_name)


def card_embed(card: Card) -> discord.Embed:
    """The card's embed; an image is shown from the message's attachment."""
    embed = to_embed(card)
    if card.image_png is not None:
        embed.set_image(url=f"attachment://{card.image_name}")
    return embed


# -- the client ------------------------------------------------------------------------


class CommandCenterClient(discord.Client):
    """The Discord client: ``/energy``, mentions, DMs and card buttons."""

    def __init__(
        self,
        *,
        chat: ChatService,
        intents: discord.Intents,
        guild_id: int | None = None,
        sync_commands: bool = True,
    ) -> None:
        super().__init__(intents=intents)
        self.chat = chat
        self.tree = app_commands.CommandTree(self)
        self._guild = discord.Object(id=guild_id) if guild_id is not None else None
        self._sync_commands = sync_commands
        self.tree.add_command(energy_command(chat))

    async def setup_hook(self) -> None:
        # Buttons posted by any earlier run route here again.
        self.add_dynamic_items(CardButton)
        if not self._sync_commands:
            return
        if self._guild is not None:
            # A guild's commands appear at once; global ones can take up to an hour.
            self.tree.copy_global_to(guild=self._guild)
            await self.tree.sync(guild=self._guild)
        else:
            await self.tree.sync()

    async def on_message(self, message: discord.Message) -> None:
        if self.user is None:
            return
        await handle_mention(self.chat, message, bot_id=self.user.id)

    async def on_interaction(self, interaction: discord.Interaction[discord.Client]) -> None:
        await explain_unknown_button(interaction)


def energy_command(chat: ChatService) -> app_commands.Command[Any, ..., None]:
    """``/energy <subcommand> [text]``, answered through the chat service."""

    @app_commands.command(name="energy", description="Ask CommandCenter about your energy sites")
    @app_commands.describe(
        subcommand="what to do", text="a site name, a question, or options (see help)"
    )
    @app_commands.choices(
        subcommand=[app_commands.Choice(name=name, value=name) for name in SUBCOMMANDS]
    )
    async def energy(
        interaction: discord.Interaction[discord.Client],
        subcommand: app_commands.Choice[str],
        text: str | None = None,
    ) -> None:
        # The initial response first (3-second rule); the answer follows.
        await interaction.response.defer(ephemeral=True, thinking=True)
        channel, thread = where(interaction.channel, interaction.channel_id)
        msg = InboundMessage(
            platform=PLATFORM,
            user_id=str(interaction.user.id),
            channel=channel,
            text=f"{subcommand.value} {text or ''}".strip(),
            user_name=interaction.user.display_name,
            thread=thread,
            groups=role_ids(interaction.user),
            direct=interaction.guild_id is None,
            delivery_id=str(interaction.id),
        )
        try:
            result = await chat.handle_command(msg)
            answer = result.answer or "Done."
        except Exception as err:  # the person must hear back; the traceback goes to the log
            log.exception("/energy %s failed", msg.text)
            answer = FAILED.format(error=type(err).__name__)
        await interaction.followup.send(clip(answer, MAX_CONTENT), ephemeral=True)

    return energy


async def handle_mention(chat: ChatService, message: discord.Message, *, bot_id: int) -> bool:
    """Answer a message that mentions the bot, or any DM; True when it was handled.

    The bot's own and other bots' messages are ignored, and a message id is
    answered once even if Discord delivers it twice.
    """
    if message.author.id == bot_id or message.author.bot:
        return False
    direct = message.guild is None
    if not direct and not any(user.id == bot_id for user in message.mentions):
        return False
    if not await chat.claim_event(PLATFORM, str(message.id)):
        return False
    channel, thread = where(message.channel, message.channel.id)
    inbound = InboundMessage(
        platform=PLATFORM,
        user_id=str(message.author.id),
        channel=channel,
        text=strip_mentions(message.content, bot_id) or "help",
        user_name=message.author.display_name,
        thread=thread,
        groups=role_ids(message.author),
        direct=direct,
        delivery_id=str(message.id),
    )
    try:
        await chat.handle_message(inbound)
    except Exception as err:  # the person must hear back; the traceback goes to the log
        log.exception("answering Discord message %s failed", message.id)
        await message.channel.send(FAILED.format(error=type(err).__name__))
    return True


def discord_intents() -> discord.Intents:
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_messages = True
    intents.dm_messages = True
    # No privileged Message Content intent: Discord still sends the content of messages
    # that mention the bot and of DMs, the only messages it answers.
    return intents


def build_discord_client(
    *, chat: ChatService, guild_id: int | None = None, sync_commands: bool = True
) -> CommandCenterClient:
    """The Discord client for ``chat``; ``guild_id`` syncs ``/energy`` to one guild
    (instant) instead of globally. Nothing connects until :func:`run_discord`."""
    return CommandCenterClient(
        chat=chat, intents=discord_intents(), guild_id=guild_id, sync_commands=sync_commands
    )


async def run_discord(client: discord.Client, token: str) -> None:
    """Log in and serve until the client is closed (or the task cancelled)."""
    async with client:
        await client.start(token)
