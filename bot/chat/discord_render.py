"""Cards as Discord embeds and button specs (pure: no client, no I/O).

Discord's limits are applied here, once: an embed title of at most 256
characters, a description of 4096, at most 25 fields with names of 256 and
values of 1024, a footer of 2048 and 6000 characters in all; at most 25 buttons
(5 rows of 5) with labels of 80 and a ``custom_id`` of at most 100 characters.

A button's ``custom_id`` is ``cc:<action>:<value>``: the action and the opaque id
the card carries, nothing else. What the id refers to is looked up (and checked)
in the database when the button is pressed.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any, Final, Literal

import discord

from tools.cards import Card

log = logging.getLogger(__name__)

CUSTOM_ID_TEMPLATE: Final = (
    r"cc:(?P<action>approve|reject|ack|snooze):(?P<value>[A-Za-z0-9:,_-]{1,80})"
)
CUSTOM_ID_RE: Final = re.compile(CUSTOM_ID_TEMPLATE)
CUSTOM_ID_PREFIX: Final = "cc:"

MAX_CUSTOM_ID: Final = 100
MAX_TITLE: Final = 256
MAX_DESCRIPTION: Final = 4096
MAX_FIELDS: Final = 25
MAX_FIELD_NAME: Final = 256
MAX_FIELD_VALUE: Final = 1024
MAX_FOOTER: Final = 2048
MAX_EMBED_TOTAL: Final = 6000
MAX_BUTTONS: Final = 25
MAX_LABEL: Final = 80
MAX_CONTENT: Final = 2000  # a plain message's text

_INLINE_UP_TO: Final = 40  # short field values sit side by side
_EMPTY: Final = "\u200b"  # Discord rejects empty field names and values

TONE_COLOURS: Final[dict[str, int]] = {
    "critical": 0xED4245,  # red
    "warning": 0xFEE75C,  # yellow
    "good": 0x57F287,  # green
    "info": 0x5865F2,  # blurple
    "neutral": 0x95A5A6,  # grey
}

ButtonStyleName = Literal["primary", "danger", "secondary"]
_STYLES: Final[dict[str, ButtonStyleName]] = {
    "primary": "primary",
    "danger": "danger",
    "default": "secondary",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class ButtonSpec:
    """One button as Discord will show it."""

    label: str
    action: str
    value: str
    style: ButtonStyleName
    custom_id: str


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, with an ellipsis when cut."""
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)] + "…" if limit > 0 else ""


def custom_id_for(action: str, value: str) -> str | None:
    """The ``custom_id`` of a button, or None when it cannot carry this id."""
    custom_id = f"{CUSTOM_ID_PREFIX}{action}:{value}"
    if len(custom_id) > MAX_CUSTOM_ID or CUSTOM_ID_RE.fullmatch(custom_id) is None:
        return None
    return custom_id


def parse_custom_id(custom_id: str) -> tuple[str, str] | None:
    """``(action, value)`` from a ``custom_id`` this bot made, else None."""
    match = CUSTOM_ID_RE.fullmatch(custom_id)
    if match is None:
        return None
    return match["action"], match["value"]


def embed_dict(card: Card) -> dict[str, Any]:
    """The card as a Discord embed payload, within every embed limit."""
    title = clip(card.title or _EMPTY, MAX_TITLE)
    footer = clip(card.footer, MAX_FOOTER)
    fields = [
        {
            "name": clip(name or _EMPTY, MAX_FIELD_NAME),
            "value": clip(value or _EMPTY, MAX_FIELD_VALUE),
            "inline": len(value) <= _INLINE_UP_TO,
        }
        for name, value in card.fields[:MAX_FIELDS]
    ]
    if len(card.fields) > MAX_FIELDS:
        fields[-1] = {
            "name": "…",
            "value": f"{len(card.fields) - MAX_FIELDS + 1} more not shown",
            "inline": False,
        }

    def size(fs: list[dict[str, Any]]) -> int:
        return len(title) + len(footer) + sum(len(f["name"]) + len(f["value"]) for f in fs)

    while fields and size(fields) > MAX_EMBED_TOTAL:
        fields.pop()
    description = clip(card.text, min(MAX_DESCRIPTION, MAX_EMBED_TOTAL - size(fields)))
    data: dict[str, Any] = {
        "type": "rich",
        "title": title,
        "color": TONE_COLOURS.get(card.tone, TONE_COLOURS["neutral"]),
    }
    if description:
        data["description"] = description
    if fields:
        data["fields"] = fields
    if footer:
        data["footer"] = {"text": footer}
    return data


def to_embed(card: Card) -> discord.Embed:
    return discord.Embed.from_dict(embed_dict(card))


def button_specs(card: Card) -> list[ButtonSpec]:
    """The card's buttons (none on a decided card, whose buttons list is empty).

    A button whose id cannot be carried in a ``custom_id`` is left out and logged:
    the same decision can still be made with ``/energy approvals``.
    """
    specs: list[ButtonSpec] = []
    for button in card.buttons:
        custom_id = custom_id_for(button.action, button.value)
        if custom_id is None:
            log.warning(
                "button %s:%r does not fit a Discord custom_id", button.action, button.value
            )
            continue
        if any(s.custom_id == custom_id for s in specs):
            continue  # Discord rejects two components with one custom_id in a message
        specs.append(
            ButtonSpec(
                label=clip(button.label or button.action, MAX_LABEL),
                action=button.action,
                value=button.value,
                style=_STYLES.get(button.style, "secondary"),
                custom_id=custom_id,
            )
        )
    if len(specs) > MAX_BUTTONS:
        log.warning("card %r has %d buttons; showing %d", card.title, len(specs), MAX_BUTTONS)
    return specs[:MAX_BUTTONS]
