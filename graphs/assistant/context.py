"""Per-run facts handed to the graph as its runtime context (never persisted)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from langchain_core.language_models import BaseChatModel

from graphs.assistant.budget import Briefing, Budget
from graphs.assistant.pricing import Price
from graphs.assistant.tokens import TokenCounter
from tools.agent import Toolbox


class BriefingFn(Protocol):
    def __call__(
        self,
        *,
        site: str,
        question: str,
        requested_by: str,
        channel: str,
        thread_id: str,
        knowledge: bool = True,
    ) -> Awaitable[Briefing]: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class AssistantContext:
    toolbox: Toolbox
    site: str
    requested_by: str
    thread_id: str
    role: str = "viewer"
    sites: frozenset[str] | None = None  # the sites the person may use (None: every site)
    channel: str = ""
    actor_label: str = ""
    model: BaseChatModel | None = None
    model_name: str = "offline"
    max_steps: int = 6
    # One message may create at most this many action requests; the rest are refused.
    max_actions_per_turn: int = 3
    # Cost control (used on the model path only):
    budget: Budget = field(default_factory=Budget)
    counter: TokenCounter = field(default_factory=TokenCounter)
    briefing: BriefingFn | None = None
    # person -> seconds to wait before their next model question (0: go ahead)
    model_limiter: Callable[[str], float] | None = None
    model_limit_text: str = ""
    price: Price | None = None
