"""Platform-neutral message cards.

Tools and the assistant produce :class:`Card` objects; each chat adapter renders
them its own way (terminal text, Block Kit, Discord embeds). Buttons carry only
an action name and an opaque id: the state behind them lives in the database
and is checked when the button is pressed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from tools.actions.service import ActionView
from tools.alerts.engine import AlertView

ButtonAction = Literal["approve", "reject", "ack"]
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

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["fields"] = [list(f) for f in self.fields]
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
        )


def local_time(t: datetime, tz: ZoneInfo) -> str:
    return t.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")


_STATUS_WORDS = {
    "pending": "Awaiting approval",
    "approved": "Approved, executing",
    "executing": "Executing",
    "succeeded": "Done",
    "failed": "Failed",
    "rejected": "Rejected",
    "expired": "Expired",
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
    if action.outcome and action.status in ("succeeded", "failed", "expired"):
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
    tone: Tone = {"succeeded": "good", "failed": "critical", "pending": "warning"}.get(
        action.status, "neutral"
    )  # type: ignore[assignment]
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
    if alert.status == "resolved":
        tone: Tone = "good"
        head = "Resolved"
    elif alert.severity == "critical":
        tone, head = "critical", "CRITICAL"
    else:
        tone, head = "warning", "Warning"
    fields = [("Since", local_time(alert.started_at, tz))]
    if alert.status == "acknowledged" and alert.acknowledged_by and alert.acknowledged_at:
        fields.append(
            (
                "Acknowledged",
                f"by {alert.acknowledged_by} at {local_time(alert.acknowledged_at, tz)}",
            )
        )
    if alert.status == "resolved" and alert.resolved_at:
        minutes = (alert.resolved_at - alert.started_at).total_seconds() / 60
        fields.append(("Resolved", f"{local_time(alert.resolved_at, tz)} after {minutes:.0f} min"))
    if action is not None:
        fields.append(("Proposed", action.title))
        fields.extend((k, v) for k, v in action_fields(action, tz) if k not in ("Action",))
    buttons: list[Button] = []
    if alert.status == "firing":
        buttons.append(Button(label="Acknowledge", action="ack", value=str(alert.id)))
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


def _short(action: ActionView) -> str:
    return {
        "stop_miners": "Stop miners",
        "start_miners": "Start miners",
        "grid_charge_on": "Grid-charge",
        "grid_charge_off": "Stop grid charge",
        "generator_start": "Start generator",
        "generator_stop": "Stop generator",
    }.get(action.kind, "Approve")
