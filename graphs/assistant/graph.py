"""The assistant: a LangGraph graph over the agent tools, with approval interrupts.

    start → agent ⇄ tools → approval → END

``agent`` is a chat model bound to the tool schemas when one is configured,
otherwise the offline planner. ``tools`` runs the calls through the
:class:`~tools.agent.Toolbox`; action tools only create pending action
requests (idempotently, keyed by thread and tool call). ``approval`` suspends
the run with :func:`~langgraph.types.interrupt` for each pending request and is
resumed with ``Command(resume={"action_id", "status", "message"})`` once a
person decides. Nothing with a side effect comes before the interrupt: the node
re-runs from its top when resumed.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any, Literal

import httpx
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AnyMessage, BaseMessage, HumanMessage, ToolMessage
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime
from langgraph.types import interrupt

from graphs.assistant import planner
from graphs.assistant.budget import Briefing, assemble
from graphs.assistant.context import AssistantContext
from graphs.assistant.details import NOTHING_BEFORE, detail_reply, record
from graphs.assistant.prompts import SYSTEM_PROMPT
from graphs.assistant.state import AssistantState
from graphs.assistant.tool_selection import select_by_likeness, select_tools
from tools.agent import SPECS_BY_NAME, TOOL_SPECS, CallContext

log = logging.getLogger(__name__)

# When the planner is unsure, tool definitions may use this share of the prompt budget
# (the rest keeps the instructions, the question and the conversation so far).
UNSURE_TOOL_SHARE = 0.5


def model_failure(exc: BaseException) -> str:
    """What went wrong with a model call, in words for the person (one clause)."""
    import openai  # loaded only once a model call has failed

    if isinstance(exc, openai.APITimeoutError | TimeoutError | httpx.TimeoutException):
        return "did not answer in time"
    if isinstance(exc, openai.APIConnectionError | ConnectionError | httpx.TransportError):
        return "could not be reached"
    if isinstance(exc, openai.APIStatusError):
        return f"answered with HTTP {exc.status_code}"
    if isinstance(exc, ValueError) and (
        "Unexpected response type" in str(exc) or isinstance(exc, json.JSONDecodeError)
    ):
        return "answered with something other than a chat completion (an HTML page?)"
    if isinstance(exc, IndexError | KeyError):
        return "sent a reply without any choices"
    return f"failed ({type(exc).__name__})"


def reply_problem(reply: object) -> str | None:
    """Why a model reply cannot be used (it parsed, but says nothing usable), or None."""
    if not isinstance(reply, AIMessage):
        return f"sent a {type(reply).__name__} instead of a chat message"
    if reply.tool_calls:
        return None
    broken = [c.get("name") or "?" for c in reply.invalid_tool_calls]
    if broken:
        return "sent a malformed tool call (" + ", ".join(str(b) for b in broken) + ")"
    if not str(reply.content).strip():
        return "sent an empty answer"
    return None


def _turn_messages(messages: list[AnyMessage]) -> list[AnyMessage]:
    """The messages since the last human message (inclusive)."""
    for i in range(len(messages) - 1, -1, -1):
        if isinstance(messages[i], HumanMessage):
            return messages[i:]
    return messages


async def start(state: AssistantState) -> dict[str, Any]:
    return {
        # What the last turn's tools answered stays for "more" and "why?".
        "previous_details": state.get("details") or state.get("previous_details", []),
        "details": [],
        "cards": [],
        "tools_called": [],
        "actions": [],
        "pending": [],
        "steps": 0,
        "usage": {},
        "offline_note": "",
    }


def _previous_question(messages: list[AnyMessage]) -> str:
    """The person's question before the current turn ("" when there is none); "more"
    and "why?" are about an answer, not questions, so the one before them counts."""
    humans = [str(m.content) for m in messages if isinstance(m, HumanMessage)]
    for text in reversed(humans[:-1]):
        if planner.detail_request(text) is None:
            return text
    return ""


def _detail_reply(state: AssistantState, ctx: AssistantContext, text: str) -> AIMessage | None:
    """The answer to "more" or "why?" about the previous answer; None when ``text`` is
    not one of those, or nothing was answered before in this conversation (then it is
    read as a question of its own)."""
    kind = planner.detail_request(text)
    previous = state.get("previous_details", [])
    if kind is None or not previous:
        return None
    return AIMessage(
        content=detail_reply(
            kind, previous, requested_by=ctx.requested_by, role=ctx.role, sites=ctx.sites
        )
    )


def _offline_reply(state: AssistantState, ctx: AssistantContext) -> AIMessage:
    turn = _turn_messages(state.get("messages", []))
    results = [m for m in turn if isinstance(m, ToolMessage)]
    if results:
        return AIMessage(content="\n\n".join(str(m.content) for m in results))
    human = turn[0] if turn and isinstance(turn[0], HumanMessage) else None
    text = str(human.content) if human is not None else ""
    details = _detail_reply(state, ctx, text)
    if details is not None:
        return details
    kind = planner.detail_request(text)
    if kind is not None:  # "more" with nothing answered before: not a question to guess at
        return AIMessage(content=NOTHING_BEFORE[kind])
    site = ctx.toolbox.site(None, ctx.site)
    site_names, load_names = ctx.toolbox.site_names, [load.name for load in site.loads]
    planned = planner.plan(text, site_names=site_names, load_names=load_names)
    if planned.reason == "help":
        return AIMessage(content=planner.help_text())
    intents = planned.intents
    if planner.is_follow_up(text) or not intents:
        previous = _previous_question(state.get("messages", []))
        again = planner.follow_up(previous, text, site_names=site_names, load_names=load_names)
        intents = again or intents
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
        return AIMessage(content=planner.not_understood(text, planned.reason, planned.closest))
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
    if steps == 1:  # "more" and "why?" are answered from what the tools stored
        turn = _turn_messages(state.get("messages", []))
        human = turn[0] if turn and isinstance(turn[0], HumanMessage) else None
        details = _detail_reply(state, ctx, str(human.content) if human is not None else "")
        if details is not None:
            return {"messages": [details], "steps": steps}
    note = state.get("offline_note", "")
    if not note and steps == 1 and ctx.model_limiter is not None:
        wait_s = ctx.model_limiter(ctx.requested_by)
        if wait_s > 0:
            note = (
                f"You have reached your limit of {ctx.model_limit_text or 'model questions'}; "
                f"the offline planner answered this one (the model is yours again in "
                f"{max(1, round(wait_s))} s)."
            )
    if note:
        return _offline_update(state, ctx, steps, note)
    return await _model_step(state, ctx, ctx.model, steps)


def _offline_update(
    state: AssistantState, ctx: AssistantContext, steps: int, note: str
) -> dict[str, Any]:
    """The offline planner's next step on the model path, with the reason shown once."""
    reply = _offline_reply(state, ctx)
    if not reply.tool_calls:
        reply = AIMessage(content=f"({note})\n\n{reply.content}")
    return {"messages": [reply], "steps": steps, "offline_note": note}


async def _model_step(
    state: AssistantState, ctx: AssistantContext, model: BaseChatModel, steps: int
) -> dict[str, Any]:
    """One model call on a prompt assembled within the budget (see ``budget.py``)."""
    messages = state.get("messages", [])
    turn = _turn_messages(messages)
    question = str(turn[0].content) if turn and isinstance(turn[0], HumanMessage) else ""
    site = ctx.toolbox.site(None, ctx.site)
    planned = planner.plan(
        question, site_names=ctx.toolbox.site_names, load_names=[x.name for x in site.loads]
    )
    available = [spec.name for spec in TOOL_SPECS]
    if planned.confident and planned.intents:
        names = select_tools((i.tool for i in planned.intents), available)
    else:
        # Unsure: the planner's guess must not hide the right tool from the model.
        names = select_by_likeness(
            planned.ranked_tools,
            available,
            cost=lambda chosen: ctx.counter.tools(
                [SPECS_BY_NAME[name].openai_schema() for name in chosen]
            ),
            allowance_tokens=int(ctx.budget.total_tokens * UNSURE_TOOL_SHARE),
        )
    schemas = [SPECS_BY_NAME[name].openai_schema() for name in names]
    asked_site = next(
        (str(i.args["site"]) for i in planned.intents if i.args.get("site")), ctx.site
    )
    briefing = Briefing()
    if ctx.briefing is not None:
        briefing = await ctx.briefing(
            site=asked_site,
            question=question,
            requested_by=ctx.requested_by,
            channel=ctx.channel,
            thread_id=ctx.thread_id,
            # runbook passages only for questions that may need them
            knowledge=any(i.tool == "search_knowledge" for i in planned.intents),
        )
    others = ", ".join(n for n in ctx.toolbox.site_names if n != ctx.site) or "none"
    assembled = assemble(
        messages,
        instructions=SYSTEM_PROMPT.format(site=ctx.site, sites=others),
        briefing=briefing,
        tool_schemas=schemas,
        counter=ctx.counter,
        budget=ctx.budget,
    )
    bound = model.bind_tools(schemas)
    started = time.perf_counter()
    try:
        reply = await bound.ainvoke(assembled.messages)
    except Exception as exc:  # any failure of the model service: the planner answers
        problem = model_failure(exc)
        log.warning(
            "model call failed (%s: %s); the offline planner answers",
            type(exc).__name__,
            str(exc).splitlines()[0][:200] if str(exc) else "",
        )
        return _offline_update(
            state, ctx, steps, f"The language model {problem}; the offline planner answered"
        )
    unusable = reply_problem(reply)
    if unusable is not None:
        log.warning("model reply unusable (%s); the offline planner answers", unusable)
        return _offline_update(
            state, ctx, steps, f"The language model {unusable}; the offline planner answered"
        )
    latency_ms = (time.perf_counter() - started) * 1000
    usage = _add_usage(state.get("usage", {}), reply, assembled.prompt_tokens, latency_ms, ctx)
    log.info(
        "model call: %d prompt tokens (%d for %d tools), %d turns kept, %d summarised, %d passages",
        usage["last_prompt_tokens"],
        assembled.tool_tokens,
        len(schemas),
        assembled.turns_kept,
        assembled.turns_summarised,
        assembled.passages,
    )
    return {"messages": [reply], "steps": steps, "usage": usage}


def _add_usage(
    usage: dict[str, Any],
    reply: BaseMessage,
    local_prompt_tokens: int,
    latency_ms: float,
    ctx: AssistantContext,
) -> dict[str, Any]:
    meta = getattr(reply, "usage_metadata", None)
    if meta and meta.get("input_tokens"):
        prompt, completion, counted = (
            int(meta["input_tokens"]),
            int(meta["output_tokens"]),
            "server",
        )
    else:
        prompt = local_prompt_tokens
        completion = ctx.counter.message(reply)
        counted = "local"
    out = dict(usage)
    out["model"] = ctx.model_name
    out["calls"] = int(out.get("calls", 0)) + 1
    out["prompt_tokens"] = int(out.get("prompt_tokens", 0)) + prompt
    out["completion_tokens"] = int(out.get("completion_tokens", 0)) + completion
    out["latency_ms"] = float(out.get("latency_ms", 0.0)) + latency_ms
    out["last_prompt_tokens"] = prompt
    out["counted"] = "local" if out.get("counted") == "local" else counted
    if ctx.price is not None:
        out["cost_usd"] = ctx.price.cost_usd(out["prompt_tokens"], out["completion_tokens"])
    return out


async def run_tools(state: AssistantState, runtime: Runtime[AssistantContext]) -> dict[str, Any]:
    ctx = runtime.context
    last = state["messages"][-1]
    assert isinstance(last, AIMessage)
    messages: list[ToolMessage] = []
    cards = list(state.get("cards", []))
    called = list(state.get("tools_called", []))
    actions = list(state.get("actions", []))
    pending = list(state.get("pending", []))
    details = list(state.get("details", []))
    turn_id = state.get("turn_id") or "-"
    for call in last.tool_calls:
        # Position in the turn, not the model's id: models repeat or omit call ids, and
        # the offline planner numbers its calls from zero on every turn.
        seq = len(called)
        call_id = call.get("id") or f"call-{seq}"
        called.append(call["name"])
        spec = SPECS_BY_NAME.get(call["name"])
        if spec is not None and spec.needs_approval and len(actions) >= ctx.max_actions_per_turn:
            messages.append(
                ToolMessage(
                    content=f"Refused: one message may ask for at most "
                    f"{ctx.max_actions_per_turn} actions; {call['name']} was not requested. "
                    "Ask for it in a separate message.",
                    tool_call_id=call_id,
                    name=call["name"],
                    status="error",
                )
            )
            continue
        out = await ctx.toolbox.call(
            call["name"],
            call.get("args", {}),
            CallContext(
                default_site=ctx.site,
                requested_by=ctx.requested_by,
                thread_id=ctx.thread_id,
                call_id=f"{turn_id}:{seq}",
                role=ctx.role,
                sites=ctx.sites,
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
        details.append(
            record(
                call["name"],
                text=out.text,
                more=out.more,
                why=out.why,
                error=out.error,
                requested_by=ctx.requested_by,
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
        "details": details,
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
