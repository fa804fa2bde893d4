"""The assistant graph's state, as persisted by the checkpointer."""

from __future__ import annotations

from typing import Annotated, Any, TypedDict

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages


class AssistantState(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]
    # The ask this turn answers: a platform delivery id (so a redelivered message maps
    # to the same action requests) or a fresh id per message; part of every request's
    # idempotency key, so two asks in one thread never share a request.
    turn_id: str
    # Per turn (reset when a new message arrives):
    cards: list[dict[str, Any]]
    tools_called: list[str]
    actions: list[dict[str, Any]]
    pending: list[str]
    steps: int
    usage: dict[str, Any]  # model calls, tokens, latency of this turn
    offline_note: str  # why the offline planner answered on the model path
    # What the tools of this turn answered, for the follow-ups "more" and "why?":
    # [{"tool", "text", "more", "why", "error"}] (reset when a new message arrives).
    details: list[dict[str, Any]]
    # The details of the last turn that ran tools (kept across turns that ran none).
    previous_details: list[dict[str, Any]]
