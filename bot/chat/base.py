"""What every chat adapter offers the rest of the bot, and the neutral inbound types."""

from __future__ import annotations

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


@dataclass(frozen=True, slots=True, kw_only=True)
class InboundMessage:
    platform: str
    user_id: str
    channel: str
    text: str
    user_name: str = ""
    thread: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Click:
    platform: str
    user_id: str
    channel: str
    action: str  # approve | reject | ack
    value: str  # the opaque id the button carries
    user_name: str = ""
