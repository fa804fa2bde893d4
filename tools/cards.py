"""Platform-neutral message cards.

Tools and the assistant produce :class:`Card` objects; each chat adapter renders
them its own way (terminal text, Block Kit, Discord embeds). Buttons carry only
an action name and an opaque id: the state behind them lives in the database
and is checked when the button is pressed.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from tools.actions.service import ActionView
from tools.alerts.engine import AlertView

ButtonAction = Literal["approve", "reject", "ack", "snooze"]
Tone = Literal["info", "good", "warning", "critical", "neutral"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Button:
    label: str
    action: ButtonAction
    value: str
    style: Literal["primary", "danger", "default"] = "default"


@dataclass(frozen=True, slots=True, kw_only=True)
class Card:
    kind: str
    title: str
    text: str = ""
    fields: list[tuple[str, str]] = field(default_factory=list)
    buttons: list[Button] = field(default_factory=list)
    tone: Tone = "info"
    footer: str = ""
    # An optional picture (a chart, ~50 KB): it rides in the graph state, so keep it small.
    image_png: bytes | None = None
    image_name: str = "chart.png"

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable: the image, if any, as base64 under ``image_png_b64``."""
        data = asdict(self)
        data["fields"] = [list(f) for f in self.fields]
        image = data.pop("image_png")
        if image is not None:
            data["image_png_b64"] = base64.b64encode(image).decode("ascii")
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Card:
        return cls(
            kind=data["kind"],
            title=data["title"],
            text=data.get("text", ""),
            fields=[(str(a), str(b)) for a, b in data.get("fields", [])],
            buttons=[Button(**b) for b in data.get("buttons", [])],
            tone=data.get("tone", "info"),
            footer=data.get("footer", ""),
            image_png=base64.b64decode(data["image_png_b64"])
            if data.get("image_png_b64")
            else None,
            image_name=data.get("image_name", "chart.png"),
        )


def local_time(t: datetime, tz: ZoneInfo) -> str:
    return t.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")


def age_text(age: timedelta) -> str:
    """A duration in words for people: '40 s', '12 min', '3 h 5 min', '2 days'."""
    seconds = max(0, int(age.total_seconds()))
    if seconds < 90:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 120:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{hours // 24} days"


_STATUS_WORDS = {
    "pending": "Awaiting approval",
    "approved": "Approved, executing",
    "executing": "Executing",
    "succeeded": "Done",
    "failed": "Failed",
    "rejected": "Rejected",
    "expired": "Expired",
    "unknown": "Outcome unknown",
}


def action_fields(action: ActionView, tz: ZoneInfo) -> list[tuple[str, str]]:
    fields = [
        ("Action", action.title),
        ("Expected effect", action.effect),
        ("Status", _STATUS_WORDS.get(action.status, action.status)),
    ]
    if action.status == "pending":
        fields.append(("Expires", local_time(action.expires_at, tz)))
    if action.decided_by and action.decided_at:
        fields.append(("Decided by", f"{action.decided_by} at {local_time(action.decided_at, tz)}"))
    if action.outcome and action.status in ("succeeded", "failed", "expired", "unknown"):
        fields.append(("Outcome", action.outcome))
    return fields


def approval_buttons(action: ActionView, label: str | None = None) -> list[Button]:
    if action.status != "pending":
        return []
    return [
        Button(label=label or "Approve", action="approve", value=action.id, style="primary"),
        Button(label="Reject", action="reject", value=action.id, style="danger"),
    ]


def action_card(action: ActionView, tz: ZoneInfo) -> Card:
    tone: Tone = {
        "succeeded": "good",
        "failed": "critical",
        "pending": "warning",
        "unknown": "warning",
    }.get(action.status, "neutral")  # type: ignore[assignment]
    text = action.reason or "Requested in chat."
    return Card(
        kind="action",
        title=f"Approval needed: {action.title}"
        if action.status == "pending"
        else f"{_STATUS_WORDS.get(action.status, action.status)}: {action.title}",
        text=text,
        fields=action_fields(action, tz),
        buttons=approval_buttons(action),
        tone=tone,
        footer=f"request {action.id[:8]} · requested by {action.requested_by}",
    )


def alert_card(
    alert: AlertView, action: ActionView | None, tz: ZoneInfo, *, note: str = ""
) -> Card:
    """One card per alert, re-rendered in place as the alert and its proposed action change."""
    tone, head = _tone_head(alert)
    fields = [("Since", local_time(alert.fired_at or alert.started_at, tz))]
    fields.extend(alert.evidence)
    fields.extend(_state_fields(alert, tz))
    if action is not None:
        fields.append(("Proposed", action.title))
        fields.extend((k, v) for k, v in action_fields(action, tz) if k not in ("Action",))
    buttons = _alert_buttons(alert)
    if action is not None:
        buttons.extend(approval_buttons(action, label=_short(action)))
    return Card(
        kind="alert",
        title=f"{head}: {alert.title}",
        text=f"{alert.summary}\n{note}" if note else alert.summary,
        fields=fields,
        buttons=buttons,
        tone=tone,
        footer=f"alert {alert.id} · {alert.fingerprint}",
    )


# A group card lists this many alerts; the rest are counted ("say 'alerts' ...").
MAX_GROUP_LINES = 20
# A button value must fit every platform whole (Discord's custom_id holds 100 characters
# with its prefix); a list of ids is never cut inside an id.
MAX_IDS_VALUE_CHARS = 80


def ids_value(ids: Sequence[int], limit: int = MAX_IDS_VALUE_CHARS) -> tuple[str, int]:
    """``"12,13,14"`` for as many whole ids as fit in ``limit`` characters, and how many."""
    value, count = "", 0
    for alert_id in ids:
        more = f"{value},{alert_id}" if value else str(alert_id)
        if len(more) > limit:
            break
        value, count = more, count + 1
    return value, count


def alert_group_card(
    alerts: list[AlertView], actions: dict[int, ActionView], tz: ZoneInfo, *, site_title: str
) -> Card:
    """Several alerts of one site that started together, folded into one message.

    However many alerts there are, the card stays within every platform's limits: it
    lists the first :data:`MAX_GROUP_LINES` and counts the rest, and its button
    acknowledges exactly the ids it carries (all of them when they fit, else the first
    ones, said on the button); "ack all" in chat acknowledges the rest.
    """
    open_ = [a for a in alerts if a.status != "resolved"]
    worst = max(alerts, key=lambda a: ("info", "warning", "critical").index(a.severity))
    tone, _ = _tone_head(worst) if open_ else ("good", "Resolved")
    lines = []
    for a in alerts[:MAX_GROUP_LINES]:
        _, head = _tone_head(a)
        line = f"{head}: {a.title} (alert {a.id})"
        state = "; ".join(v for _k, v in _state_fields(a, tz))
        lines.append(line + (f" — {state}" if state else ""))
    if len(alerts) > MAX_GROUP_LINES:
        lines.append(
            f"… and {len(alerts) - MAX_GROUP_LINES} more; say 'alerts' to list the open ones"
        )
    buttons: list[Button] = []
    firing = [a.id for a in alerts if a.status in ("firing", "snoozed")]
    if firing:
        value, count = ids_value(firing)
        label = "Acknowledge all" if count == len(firing) else f"Acknowledge first {count}"
        buttons.append(Button(label=label, action="ack", value=value))
    for action in actions.values():
        buttons.extend(approval_buttons(action, label=_short(action)))
    proposals: list[tuple[str, str]] = []
    for action in actions.values():
        proposals.append(("Proposed", action.title))
        proposals.extend((k, v) for k, v in action_fields(action, tz) if k != "Action")
    shown, _ = ids_value([a.id for a in alerts], 200)
    listed = shown.replace(",", ", ")
    if shown.count(",") + 1 < len(alerts):
        listed += f", … ({len(alerts)} in all)"
    return Card(
        kind="alert_group",
        title=f"{len(open_)} of {len(alerts)} alerts open at {site_title}"
        if len(open_) != len(alerts)
        else f"{len(alerts)} alerts at {site_title}",
        text="\n".join(lines),
        fields=proposals,
        buttons=buttons,
        tone=tone,
        footer="alerts " + listed,
    )


def _tone_head(alert: AlertView) -> tuple[Tone, str]:
    if alert.status == "resolved":
        return "good", "Resolved"
    if alert.severity == "critical":
        return "critical", "CRITICAL"
    if alert.severity == "info":
        return "info", "Info"
    return "warning", "Warning"


def _state_fields(alert: AlertView, tz: ZoneInfo) -> list[tuple[str, str]]:
    fields: list[tuple[str, str]] = []
    if alert.acknowledged_by and alert.acknowledged_at and alert.status != "resolved":
        fields.append(
            (
                "Acknowledged",
                f"by {alert.acknowledged_by} at {local_time(alert.acknowledged_at, tz)}",
            )
        )
    if alert.status == "snoozed" and alert.snoozed_until:
        fields.append(
            ("Snoozed", f"until {local_time(alert.snoozed_until, tz)} by {alert.snoozed_by}")
        )
    if alert.status == "resolved" and alert.resolved_at:
        minutes = (alert.resolved_at - (alert.fired_at or alert.started_at)).total_seconds() / 60
        fields.append(("Resolved", f"{local_time(alert.resolved_at, tz)} after {minutes:.0f} min"))
    if alert.escalated_at and alert.status != "resolved":
        fields.append(("Escalated", local_time(alert.escalated_at, tz)))
    return fields


def _alert_buttons(alert: AlertView) -> list[Button]:
    buttons: list[Button] = []
    if alert.status in ("firing", "snoozed"):
        buttons.append(Button(label="Acknowledge", action="ack", value=str(alert.id)))
    if alert.status in ("firing", "acknowledged"):
        buttons.append(Button(label="Snooze 1 h", action="snooze", value=f"{alert.id}:60"))
    return buttons


def _short(action: ActionView) -> str:
    return {
        "stop_miners": "Stop miners",
        "start_miners": "Start miners",
        "grid_charge_on": "Grid-charge",
        "grid_charge_off": "Stop grid charge",
        "generator_start": "Start generator",
        "generator_stop": "Stop generator",
    }.get(action.kind, "Approve")
