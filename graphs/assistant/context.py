"""Per-run facts handed to the graph as its runtime context (never persisted)."""

from __future__ import annotations

from dataclasses import dataclass

from langchain_core.language_models import BaseChatModel

from tools.agent_tools import Toolbox


@dataclass(frozen=True, slots=True, kw_only=True)
class AssistantContext:
    toolbox: Toolbox
    site: str
    requested_by: str
    thread_id: str
    role: str = "viewer"
    channel: str = ""
    actor_label: str = ""
    model: BaseChatModel | None = None
    max_steps: int = 6
