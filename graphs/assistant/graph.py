"""The assistant: a LangGraph graph over the agent tools, with approval interrupts.

    start → agent ⇄ tools → approval → END

``agent`` is a chat model bound to the tool schemas when one is configured,
otherwise the offline planner. ``tools`` runs the calls through the
:class:`~tools.agent_tools.Toolbox`; action tools only create pending action
requests (idempotently, keyed by thread and tool call). ``approval`` suspends
the run with :func:`~langgraph.types.interrupt` for each pending request and is
resumed with ``Command(resume={"action_id", "status", "message"})`` once a
person decides. Nothing with a side effect comes before the interrupt: the node
re-runs from its top when resumed.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, SystemMessage, ToolMessage
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime
from langgraph.types import interrupt

from graphs.assistant import planner
from graphs.assistant.context import AssistantContext
from graphs.assistant.prompts import SYSTEM_PROMPT
from graphs.assistant.state import AssistantState
from tools.agent_tools import TOOL_SPECS, CallContext

log = logging.getLogger(__name__)


def _turn_messages(messages: list[AnyMessage]) -> list[AnyMessage]:
    """The messages since the last human message (inclusive)."""
    for i in range(len(messages) - 1, -1, -1):
        if isinstance(messages[i], HumanMessage):
            return messages[i:]
    return messages


async def start(state: AssistantState) -> dict[str, Any]:
    return {"cards": [], "tools_called": [], "actions": [], "pending": [], "steps": 0}


def _offline_reply(state: AssistantState, ctx: AssistantContext) -> AIMessage:
    turn = _turn_messages(state.get("messages", []))
    results = [m for m in turn if isinstance(m, ToolMessage)]
    if results:
        return AIMessage(content="\n\n".join(str(m.content) for m in results))
    human = turn[0] if turn and isinstance(turn[0], HumanMessage) else None
    text = str(human.content) if human is not None else ""
    site = ctx.toolbox.site(None, ctx.site)
    intents = planner.route(
        text, site_names=ctx.toolbox.site_names, load_names=[load.name for load in site.loads]
    )
    if any(i.tool == "help" for i in intents) and all(i.tool == "help" for i in intents):
        return AIMessage(content=planner.help_text())
    calls = [
        {
            "name": intent.tool,
            "args": {k: v for k, v in intent.args.items() if v is not None},
            "id": f"offline-{state.get('steps', 0)}-{n}",
            "type": "tool_call",
        }
        for n, intent in enumerate(i for i in intents if i.tool != "help")
    ]
    if not calls:
        return AIMessage(content="Sorry, I did not understand that.\n\n" + planner.help_text())
    return AIMessage(content="", tool_calls=calls)


async def agent(state: AssistantState, runtime: Runtime[AssistantContext]) -> dict[str, Any]:
    ctx = runtime.context
    steps = state.get("steps", 0) + 1
    if steps > ctx.max_steps:
        return {
            "messages": [
                AIMessage(content=f"I stopped after {ctx.max_steps} steps without a final answer.")
            ],
            "steps": steps,
        }
    if ctx.model is None:
        return {"messages": [_offline_reply(state, ctx)], "steps": steps}
    sites = ", ".join(n for n in ctx.toolbox.site_names if n != ctx.site) or "none"
    system = SystemMessage(content=SYSTEM_PROMPT.format(site=ctx.site, sites=sites))
    bound = ctx.model.bind_tools([spec.openai_schema() for spec in TOOL_SPECS])
    reply = await bound.ainvoke([system, *state.get("messages", [])])
    return {"messages": [reply], "steps": steps}


async def run_tools(state: AssistantState, runtime: Runtime[AssistantContext]) -> dict[str, Any]:
    ctx = runtime.context
    last = state["messages"][-1]
    assert isinstance(last, AIMessage)
    messages: list[ToolMessage] = []
    cards = list(state.get("cards", []))
    called = list(state.get("tools_called", []))
    actions = list(state.get("actions", []))
    pending = list(state.get("pending", []))
    for call in last.tool_calls:
        call_id = call.get("id") or f"call-{len(called)}"
        called.append(call["name"])
        out = await ctx.toolbox.call(
            call["name"],
            call.get("args", {}),
            CallContext(
                default_site=ctx.site,
                requested_by=ctx.requested_by,
                thread_id=ctx.thread_id,
                call_id=call_id,
                role=ctx.role,
                channel=ctx.channel,
                actor_label=ctx.actor_label,
            ),
        )
        messages.append(
            ToolMessage(
                content=out.text,
                tool_call_id=call_id,
                name=call["name"],
                status="error" if out.error else "success",
            )
        )
        cards.extend(card.to_dict() for card in out.cards)
        if out.action is not None:
            actions.append({"id": out.action.id, "kind": out.action.kind, "status": "pending"})
            if out.action.status == "pending":
                pending.append(out.action.id)
    return {
        "messages": messages,
        "cards": cards,
        "tools_called": called,
        "actions": actions,
        "pending": pending,
    }


async def approval(state: AssistantState) -> dict[str, Any]:
    """Wait for a person's decision on each pending request (no side effects before this)."""
    outcomes = []
    actions = [dict(a) for a in state.get("actions", [])]
    for action_id in state.get("pending", []):
        decision = interrupt({"action_id": action_id})
        status = str(decision.get("status", "unknown"))
        outcomes.append(str(decision.get("message", status)))
        for a in actions:
            if a["id"] == action_id:
                a["status"] = status
    return {
        "messages": [AIMessage(content="\n".join(outcomes))],
        "actions": actions,
        "pending": [],
    }


def _after_agent(state: AssistantState) -> Literal["tools", "__end__"]:
    last = state["messages"][-1]
    if isinstance(last, AIMessage) and last.tool_calls:
        return "tools"
    return "__end__"


def _after_tools(state: AssistantState) -> Literal["approval", "agent"]:
    return "approval" if state.get("pending") else "agent"


def build_graph(
    *, checkpointer: BaseCheckpointSaver[Any] | None
) -> CompiledStateGraph[AssistantState, AssistantContext, AssistantState, AssistantState]:
    """Compile the assistant graph with the given checkpointer."""
    builder = StateGraph(AssistantState, context_schema=AssistantContext)
    builder.add_node("start", start)
    builder.add_node("agent", agent)
    builder.add_node("tools", run_tools)
    builder.add_node("approval", approval)
    builder.add_edge(START, "start")
    builder.add_edge("start", "agent")
    builder.add_conditional_edges("agent", _after_agent, ["tools", END])
    builder.add_conditional_edges("tools", _after_tools, ["approval", "agent"])
    builder.add_edge("approval", END)
    return builder.compile(checkpointer=checkpointer)
