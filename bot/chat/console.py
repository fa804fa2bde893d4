"""The console adapter: chat in a terminal, cards as text, buttons as numbered choices."""

from __future__ import annotations

import asyncio
import io
import itertools
import os
import re
import stat
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TextIO

from bot.chat.base import Click, InboundMessage, MessageRef
from tools.cards import Button, Card

_TONE_MARK = {"critical": "!!", "warning": "! ", "good": "ok", "info": "--", "neutral": "--"}


def render_card(card: Card, choice_numbers: list[int]) -> str:
    """A card as plain text; ``choice_numbers`` label its buttons in order."""
    mark = _TONE_MARK.get(card.tone, "--")
    lines = [f"[{mark}] {card.title}"]
    if card.text:
        lines.extend(f"     {line}" for line in card.text.splitlines())
    width = max((len(k) for k, _ in card.fields), default=0)
    lines.extend(f"     {k.ljust(width)} : {v}" for k, v in card.fields)
    if card.buttons:
        lines.append(
            "     "
            + "   ".join(
                f"[{n}] {b.label}" for n, b in zip(choice_numbers, card.buttons, strict=True)
            )
        )
    if card.footer:
        lines.append(f"     ({card.footer})")
    return "\n".join(lines)


class ConsoleAdapter:
    """Prints to ``out``; typed lines become messages, typed numbers press buttons."""

    platform = "console"

    def __init__(
        self,
        *,
        out: TextIO | None = None,
        channel: str = "#console",
        media_dir: Path | None = None,
    ) -> None:
        self._out = out or sys.stdout
        self.channel = channel
        self._media_dir = media_dir
        self._message_ids = itertools.count(1)
        self._image_ids = itertools.count(1)
        self._choice_ids = itertools.count(1)
        self._choices: dict[int, Button] = {}
        self._card_choices: dict[str, list[int]] = {}

    def _write(self, text: str) -> None:
        self._out.write(text + "\n")
        self._out.flush()

    @property
    def media_dir(self) -> Path:
        """Where card images are written (a temporary folder unless one was given)."""
        if self._media_dir is None:
            self._media_dir = Path(tempfile.mkdtemp(prefix="commandcenter-media-"))
        self._media_dir.mkdir(parents=True, exist_ok=True)
        return self._media_dir

    def _save_image(self, ref: str, card: Card) -> Path | None:
        """Write the card's image, if any, and return its path."""
        if card.image_png is None:
            return None
        name = re.sub(r"[^A-Za-z0-9._-]", "_", Path(card.image_name).name) or "chart.png"
        path = self.media_dir / f"{ref}-{next(self._image_ids)}-{name}"
        path.write_bytes(card.image_png)
        return path

    def _show(self, ref: str, card: Card) -> None:
        self._write(render_card(card, self._register(ref, card)))
        path = self._save_image(ref, card)
        if path is not None:
            self._write(f"     image: {path}")

    def _register(self, ref: str, card: Card) -> list[int]:
        """Number a card's buttons; a button that survives an edit keeps its number."""
        previous = {
            (self._choices[n].action, self._choices[n].value): n
            for n in self._card_choices.pop(ref, [])
            if n in self._choices
        }
        numbers = []
        for button in card.buttons:
            number = previous.pop((button.action, button.value), None) or next(self._choice_ids)
            self._choices[number] = button
            numbers.append(number)
        for gone in previous.values():
            self._choices.pop(gone, None)
        self._card_choices[ref] = numbers
        return numbers

    async def post(
        self, channel: str, *, text: str = "", card: Card | None = None, thread: str | None = None
    ) -> MessageRef:
        ref = str(next(self._message_ids))
        if text:
            self._write(f"{channel} bot> {text}")
        if card is not None:
            self._show(ref, card)
        return {"platform": self.platform, "channel": channel, "ref": ref}

    async def update(self, ref: MessageRef, *, card: Card) -> None:
        key = str(ref.get("ref"))
        self._write(f"{ref.get('channel', '')} (card updated)")
        self._show(key, card)

    def button(self, number: int) -> Button | None:
        return self._choices.get(number)

    def parse(self, line: str, *, user_id: str, user_name: str) -> InboundMessage | Click | str:
        """A typed line as a message or a click; a string is a note to show the person."""
        text = line.strip()
        if text.isdigit():
            button = self.button(int(text))
            if button is None:
                return f"There is no choice [{text}] on screen (it may have been used already)."
            return Click(
                platform=self.platform,
                user_id=user_id,
                user_name=user_name,
                channel=self.channel,
                action=button.action,
                value=button.value,
            )
        return InboundMessage(
            platform=self.platform,
            user_id=user_id,
            user_name=user_name,
            channel=self.channel,
            text=text,
        )

    async def read_lines(
        self,
        handle: Callable[[str], Awaitable[None]],
        *,
        stdin: TextIO | None = None,
    ) -> None:
        """Feed each line typed on stdin to ``handle`` until end of input."""
        stream = stdin or sys.stdin
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        try:
            if not _watchable(stream):
                raise ValueError("not a pipe, socket or terminal")
            await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), stream)
        except (ValueError, OSError, NotImplementedError):
            # Not a pipe or tty the loop can watch (a file, /dev/null under a service
            # manager, Windows): read in a thread instead.
            while True:
                line = await asyncio.to_thread(stream.readline)
                if not line:
                    return
                if line.strip():
                    await handle(line)
        while True:
            raw = await reader.readline()
            if not raw:
                return
            line = raw.decode("utf-8", errors="replace")
            if line.strip():
                await handle(line)


def _watchable(stream: TextIO) -> bool:
    """Whether the event loop can wait on ``stream``: a pipe, a socket or a terminal.
    A regular file or a device such as /dev/null is always "ready" and epoll refuses it
    (an error raised later in a callback, not by ``connect_read_pipe``)."""
    try:
        fd = stream.fileno()
        mode = os.fstat(fd).st_mode
    except (OSError, ValueError, io.UnsupportedOperation):
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or os.isatty(fd)
