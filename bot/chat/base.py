"""What every chat adapter offers the rest of the bot, and the neutral inbound types."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from tools.cards import Card

MessageRef = dict[str, Any]  # {"platform", "channel", "ref"}: enough to edit the message later


class ChatAdapter(Protocol):
    platform: str

    async def post(
        self, channel: str, *, text: str = "", card: Card | None = None, thread: str | None = None
    ) -> MessageRef:
        """Post a message (text, a card, or both); returns a reference for later edits."""
        ...

    async def update(self, ref: MessageRef, *, card: Card) -> None:
        """Replace a posted card in place."""
        ...


class Adapters:
    """The chat platforms the bot is connected to, by platform name."""

    def __init__(self, adapters: Iterable[ChatAdapter]) -> None:
        self._by_platform: dict[str, ChatAdapter] = {}
        for adapter in adapters:
            self._by_platform[adapter.platform] = adapter

    def get(self, platform: str) -> ChatAdapter | None:
        return self._by_platform.get(platform)

    def __iter__(self) -> Iterator[ChatAdapter]:
        return iter(self._by_platform.values())

    def add(self, adapter: ChatAdapter) -> None:
        self._by_platform[adapter.platform] = adapter


@dataclass(frozen=True, slots=True, kw_only=True)
class InboundMessage:
    platform: str
    user_id: str
    channel: str
    text: str
    user_name: str = ""
    thread: str | None = None
    groups: tuple[str, ...] = ()  # Slack user groups / Discord roles of the person
    direct: bool = False  # a DM
    # The platform's id of this delivery (Slack client_msg_id / ts / trigger_id, Discord
    # message or interaction id): a redelivery carries the same one. "" when there is none.
    delivery_id: str = ""
    attachments: tuple[str, ...] = ()  # names of files sent with the message (not read)


@dataclass(frozen=True, slots=True, kw_only=True)
class Click:
    platform: str
    user_id: str
    channel: str
    action: str  # approve | reject | ack | snooze
    value: str  # the opaque id the button carries
    user_name: str = ""
    groups: tuple[str, ...] = ()
