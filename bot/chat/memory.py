"""An adapter that keeps what it was asked to post: for one-shot commands and tests."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from bot.chat.base import MessageRef
from tools.cards import Card


@dataclass(slots=True)
class Posted:
    channel: str
    ref: str
    text: str = ""
    card: Card | None = None
    thread: str | None = None
    history: list[Card] = field(default_factory=list)


class MemoryAdapter:
    def __init__(self, platform: str = "console") -> None:
        self.platform = platform
        self.messages: dict[str, Posted] = {}
        self._ids = itertools.count(1)

    async def post(
        self, channel: str, *, text: str = "", card: Card | None = None, thread: str | None = None
    ) -> MessageRef:
        ref = str(next(self._ids))
        self.messages[ref] = Posted(channel=channel, ref=ref, text=text, card=card, thread=thread)
        return {"platform": self.platform, "channel": channel, "ref": ref}

    async def update(self, ref: MessageRef, *, card: Card) -> None:
        posted = self.messages.get(str(ref["ref"]))
        if posted is None:  # posted by another process: show the new version as a new message
            await self.post(str(ref.get("channel", "")), card=card)
            return
        if posted.card is not None:
            posted.history.append(posted.card)
        posted.card = card

    def cards(self, kind: str | None = None) -> list[Posted]:
        return [
            p
            for p in self.messages.values()
            if p.card is not None and (kind is None or p.card.kind == kind)
        ]

    def images(self) -> list[tuple[str, bytes]]:
        """``(file name, PNG bytes)`` of every posted card that carries an image."""
        return [
            (p.card.image_name, p.card.image_png)
            for p in self.messages.values()
            if p.card is not None and p.card.image_png is not None
        ]

    def texts(self) -> list[str]:
        return [p.text for p in self.messages.values() if p.text]
