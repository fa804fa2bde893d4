"""Cards as Slack Block Kit (pure functions, no I/O).

A :class:`~tools.cards.Card` becomes a header, a section with the card's text,
sections of fields (at most 10 per section), a context footer and one or more
actions blocks. Buttons get ``action_id`` ``cc_<action>`` and carry the card's
opaque value unchanged; the state behind it is checked server-side on a click.

Slack limits kept here (Block Kit reference): header text 150 characters,
section text 3000, a field 2000 and at most 10 fields per section, a context
element 3000, button text 75 and value 2000, at most 25 elements per actions
block, at most 50 blocks per message; ``action_id`` must be unique within a
block, so buttons with the same action go into separate actions blocks.
"""

from __future__ import annotations

from typing import Any

from tools.cards import Button, Card

ACTION_PREFIX = "cc_"
BUTTON_ACTIONS = ("approve", "reject", "ack", "snooze")

MAX_BLOCKS = 50
MAX_HEADER = 150
MAX_SECTION_TEXT = 3000
MAX_FIELD = 2000
MAX_FIELDS_PER_SECTION = 10
MAX_CONTEXT_TEXT = 3000
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_ACTION_ELEMENTS = 25
MAX_FALLBACK_TEXT = 3000  # chat.postMessage accepts 40 000; notifications show far less

_TONE_EMOJI = {
    "critical": ":red_circle:",
    "warning": ":warning:",
    "good": ":white_check_mark:",
    "info": ":information_source:",
    "neutral": "",
}

Block = dict[str, Any]


def action_id(action: str) -> str:
    """The Slack ``action_id`` of a button doing ``action`` (``approve`` -> ``cc_approve``)."""
    return f"{ACTION_PREFIX}{action}"


def action_of(slack_action_id: str) -> str | None:
    """The card action behind an ``action_id``, or None when it is not one of ours."""
    if not slack_action_id.startswith(ACTION_PREFIX):
        return None
    action = slack_action_id[len(ACTION_PREFIX) :]
    return action if action in BUTTON_ACTIONS else None


def escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn and message text treat as control."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, marked with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _mrkdwn(text: str, limit: int) -> dict[str, str]:
    # Escape first, then clip, so the limit holds for what Slack receives.
    return {"type": "mrkdwn", "text": clip(escape(text), limit)}


def _header(card: Card) -> Block:
    emoji = _TONE_EMOJI.get(card.tone, "")
    title = f"{emoji} {card.title}" if emoji else card.title
    return {
        "type": "header",
        "text": {"type": "plain_text", "text": clip(title or " ", MAX_HEADER), "emoji": True},
    }


def _field_sections(fields: list[tuple[str, str]]) -> list[Block]:
    sections: list[Block] = []
    for start in range(0, len(fields), MAX_FIELDS_PER_SECTION):
        chunk = fields[start : start + MAX_FIELDS_PER_SECTION]
        sections.append(
            {
                "type": "section",
                "fields": [
                    # Escaped before clipping so that the field stays within 2000 characters.
                    {"type": "mrkdwn", "text": clip(f"*{escape(k)}*\n{escape(v)}", MAX_FIELD)}
                    for k, v in chunk
                ],
            }
        )
    return sections


def _button(button: Button) -> Block:
    element: Block = {
        "type": "button",
        "action_id": action_id(button.action),
        "text": {"type": "plain_text", "text": clip(button.label, MAX_BUTTON_TEXT), "emoji": True},
        "value": button.value[:MAX_BUTTON_VALUE],
    }
    if button.style in ("primary", "danger"):
        element["style"] = button.style
    return element


def _action_blocks(buttons: list[Button]) -> list[Block]:
    """Buttons in order, split so that no block repeats an ``action_id`` or exceeds 25."""
    rows: list[list[Block]] = []
    for button in buttons:
        element = _button(button)
        for row in rows:
            taken = {e["action_id"] for e in row}
            if element["action_id"] not in taken and len(row) < MAX_ACTION_ELEMENTS:
                row.append(element)
                break
        else:
            rows.append([element])
    return [{"type": "actions", "elements": row} for row in rows]


def card_blocks(card: Card, *, text: str = "") -> list[Block]:
    """The Block Kit blocks of ``card`` (``text``, when given, is shown above it).

    A card without buttons (decided, expired, resolved) has no actions block.
    """
    blocks: list[Block] = []
    if text:
        blocks.append({"type": "section", "text": _mrkdwn(text, MAX_SECTION_TEXT)})
    blocks.append(_header(card))
    if card.text:
        blocks.append({"type": "section", "text": _mrkdwn(card.text, MAX_SECTION_TEXT)})
    actions = _action_blocks(card.buttons)
    footer: list[Block] = []
    if card.footer:
        footer.append({"type": "context", "elements": [_mrkdwn(card.footer, MAX_CONTEXT_TEXT)]})
    fields = _field_sections(list(card.fields))
    room = MAX_BLOCKS - len(blocks) - len(actions) - len(footer)
    if len(fields) > room:
        # Never drop the buttons: cut fields and say how many were left out.
        kept = max(room - 1, 0)
        left_out = len(card.fields) - kept * MAX_FIELDS_PER_SECTION
        fields = fields[:kept]
        footer.insert(
            0,
            {
                "type": "context",
                "elements": [_mrkdwn(f"… {left_out} more field(s) not shown", MAX_CONTEXT_TEXT)],
            },
        )
    blocks.extend(fields)
    blocks.extend(footer)
    blocks.extend(actions)
    return blocks[:MAX_BLOCKS]


def fallback_text(card: Card, *, text: str = "") -> str:
    """Plain text for notifications and clients that cannot show blocks."""
    lines = [text] if text else []
    lines.append(card.title)
    if card.text:
        lines.append(card.text)
    lines.extend(f"{k}: {v}" for k, v in card.fields)
    if card.footer:
        lines.append(card.footer)
    return clip(escape("\n".join(lines)), MAX_FALLBACK_TEXT)


def message_text(text: str, limit: int = 40_000) -> str:
    """A plain chat answer as Slack message text (escaped, within the API's limit)."""
    return clip(escape(text), limit)
