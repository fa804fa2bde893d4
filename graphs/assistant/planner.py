"""Offline planner: what people type → assistant tool calls, with no language model.

The public face of :mod:`graphs.assistant.understanding`: an intent classifier
trained on the shipped phrasing corpus decides which tools a message asks for,
rules read the arguments, and a message it is not sure about gets an honest
"I didn't understand" (or "I can't do that") instead of a guess.
"""

from __future__ import annotations

from graphs.assistant.understanding.followups import DetailKind, detail_request, is_follow_up
from graphs.assistant.understanding.followups import resolve as follow_up
from graphs.assistant.understanding.lexicon import HELP_TOOL, TOOL_NAMES, Intent
from graphs.assistant.understanding.replies import help_text, not_understood
from graphs.assistant.understanding.routing import Plan, plan, route

__all__ = [
    "HELP_TOOL",
    "TOOL_NAMES",
    "DetailKind",
    "Intent",
    "Plan",
    "detail_request",
    "follow_up",
    "help_text",
    "is_follow_up",
    "not_understood",
    "plan",
    "route",
]
