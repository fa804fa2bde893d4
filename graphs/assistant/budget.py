"""Assembling a model prompt within a token budget (pure: no I/O, no model).

Each model call gets, in this order of priority:

1. the instructions, the bound tool definitions and the current turn (the person's
   message, the tool calls and their results so far; very long tool results are
   cut to ``tool_result_tokens``) — always;
2. a compact site summary and the person's preferences;
3. knowledge passages for the question, up to ``knowledge_tokens``;
4. earlier turns of the conversation, newest first, as question and final answer
   (the tool traffic of earlier turns is left out: its answer carries the facts);
5. the turns that no longer fit, summarised in one line each (up to
   ``summary_tokens``; beyond that, a count of how many exchanges are not shown),
   so nothing is dropped silently.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage

from graphs.assistant.tokens import TOKENS_PER_REPLY, TokenCounter


@dataclass(frozen=True, slots=True, kw_only=True)
class Budget:
    """Token limits for one model call (prompt side)."""

    total_tokens: int = 3000
    tool_result_tokens: int = 700
    knowledge_tokens: int = 600
    summary_tokens: int = 200
    answer_tokens: int = 250  # an earlier answer kept whole up to this


@dataclass(frozen=True, slots=True, kw_only=True)
class Briefing:
    """What the assistant should know about this turn besides the conversation."""

    site_summary: str = ""
    preferences: str = ""
    knowledge: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Assembled:
    messages: list[BaseMessage]
    prompt_tokens: int  # messages + tool definitions, as counted here
    tool_tokens: int
    turns_kept: int
    turns_summarised: int
    passages: int
    notes: list[str] = field(default_factory=list)


def split_turns(messages: Sequence[BaseMessage]) -> list[list[BaseMessage]]:
    """The conversation cut into turns, each starting at a person's message."""
    turns: list[list[BaseMessage]] = []
    for message in messages:
        if isinstance(message, HumanMessage) or not turns:
            turns.append([message])
        else:
            turns[-1].append(message)
    return turns


def final_answer(turn: Sequence[BaseMessage]) -> str:
    """The last thing the assistant said in ``turn`` without calling a tool."""
    for message in reversed(turn):
        if isinstance(message, AIMessage) and not message.tool_calls:
            return str(message.content).strip()
    return ""


def assemble(
    history: Sequence[BaseMessage],
    *,
    instructions: str,
    briefing: Briefing,
    tool_schemas: Sequence[dict[str, Any]],
    counter: TokenCounter,
    budget: Budget | None = None,
) -> Assembled:
    """The messages to send for the next model call of the current (last) turn."""
    budget = budget or Budget()
    turns = split_turns(history)
    current = _shrink_tool_results(turns[-1] if turns else [], counter, budget.tool_result_tokens)
    earlier = turns[:-1]
    notes: list[str] = []

    tool_tokens = counter.tools(tool_schemas)
    passages = _fit_passages(briefing.knowledge, counter, budget.knowledge_tokens)
    head = _system_text(instructions, briefing, passages, summary="")
    fixed = tool_tokens + counter.message(SystemMessage(content=head))
    fixed += counter.messages(current)
    # What the earlier turns and their summary may use:
    room = budget.total_tokens - fixed

    kept: list[list[BaseMessage]] = []
    reserve = min(budget.summary_tokens, max(room, 0)) if earlier else 0
    for turn in reversed(earlier):
        compact = _compact(turn, counter, budget.answer_tokens)
        cost = counter.messages(compact) - TOKENS_PER_REPLY
        if cost > room - reserve:
            break
        kept.insert(0, compact)
        room -= cost
    dropped = earlier[: len(earlier) - len(kept)]
    summary = _summarise(dropped, counter, min(budget.summary_tokens, max(room, 0)))
    if dropped:
        notes.append(f"{len(dropped)} earlier turn(s) summarised")
    if len(passages) < len(briefing.knowledge):
        notes.append(f"{len(briefing.knowledge) - len(passages)} passage(s) left out")

    system = SystemMessage(content=_system_text(instructions, briefing, passages, summary))
    messages: list[BaseMessage] = [system, *(m for turn in kept for m in turn), *current]
    return Assembled(
        messages=messages,
        prompt_tokens=counter.messages(messages) + tool_tokens,
        tool_tokens=tool_tokens,
        turns_kept=len(kept),
        turns_summarised=len(dropped),
        passages=len(passages),
        notes=notes,
    )


def _system_text(
    instructions: str, briefing: Briefing, passages: Sequence[str], summary: str
) -> str:
    parts = [instructions.strip()]
    if briefing.site_summary:
        parts.append("Site now:\n" + briefing.site_summary.strip())
    if briefing.preferences:
        parts.append("This person's preferences:\n" + briefing.preferences.strip())
    if passages:
        parts.append(
            "Knowledge base passages (cite them as given when you use them):\n"
            + "\n---\n".join(p.strip() for p in passages)
        )
    if summary:
        parts.append("Earlier in this conversation (summary):\n" + summary)
    return "\n\n".join(parts)


def _fit_passages(passages: Sequence[str], counter: TokenCounter, limit: int) -> list[str]:
    out: list[str] = []
    used = 0
    for passage in passages:
        cost = counter.text(passage) + 2
        if used + cost > limit:
            break
        out.append(passage)
        used += cost
    return out


def _shrink_tool_results(
    turn: Sequence[BaseMessage], counter: TokenCounter, limit: int
) -> list[BaseMessage]:
    out: list[BaseMessage] = []
    for message in turn:
        if isinstance(message, ToolMessage) and counter.text(str(message.content)) > limit:
            text = counter.truncate(str(message.content), limit)
            message = message.model_copy(update={"content": text + " … [cut to fit the budget]"})
        out.append(message)
    return out


def _compact(turn: Sequence[BaseMessage], counter: TokenCounter, limit: int) -> list[BaseMessage]:
    """An earlier turn as the person's message and the final answer only."""
    out: list[BaseMessage] = []
    first = turn[0]
    if isinstance(first, HumanMessage):
        out.append(HumanMessage(content=counter.truncate(str(first.content), limit)))
    answer = final_answer(turn)
    if answer:
        out.append(AIMessage(content=counter.truncate(answer, limit)))
    return out


def _summarise(turns: Sequence[Sequence[BaseMessage]], counter: TokenCounter, limit: int) -> str:
    """One line per turn, newest kept first when they do not all fit."""
    if not turns or limit <= 0:
        return f"({len(turns)} earlier exchanges not shown)" if turns else ""
    lines: list[str] = []
    used = 0
    for turn in reversed(turns):
        question = str(turn[0].content) if isinstance(turn[0], HumanMessage) else ""
        answer = final_answer(turn).split("\n")[0]
        line = (
            f"- asked {_quote(counter.truncate(question, 24))}; "
            f"answered {_quote(counter.truncate(answer, 36))}"
        )
        cost = counter.text(line) + 1
        if used + cost > limit:
            break
        lines.insert(0, line)
        used += cost
    missing = len(turns) - len(lines)
    if missing:
        lines.insert(0, f"({missing} older exchanges not shown)")
    return "\n".join(lines)


def _quote(text: str) -> str:
    return '"' + " ".join(text.split()) + '"'
