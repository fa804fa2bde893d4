"""Prompt assembly within a token budget, tool selection, token counting, prices."""

from __future__ import annotations

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage

from graphs.assistant.budget import Briefing, Budget, assemble, split_turns
from graphs.assistant.pricing import price_for
from graphs.assistant.tokens import TokenCounter
from graphs.assistant.tool_selection import ALWAYS, FAMILIES, select_by_likeness, select_tools
from tools.agent import SPECS_BY_NAME, TOOL_SPECS

COUNTER = TokenCounter()
ALL_TOOLS = [spec.name for spec in TOOL_SPECS]


def _conversation(turns: int, *, with_tools: bool = True) -> list[BaseMessage]:
    messages: list[BaseMessage] = []
    for n in range(turns):
        messages.append(HumanMessage(content=f"question number {n}: how is the battery doing?"))
        if with_tools:
            call = {"name": "battery_status", "args": {}, "id": f"c{n}", "type": "tool_call"}
            messages.append(AIMessage(content="", tool_calls=[call]))
            messages.append(
                ToolMessage(content="Battery at 55 %, discharging. " * 40, tool_call_id=f"c{n}")
            )
        messages.append(AIMessage(content=f"answer number {n}: the battery is at 55 %."))
    return messages


def test_counter_uses_the_real_encoding() -> None:
    assert COUNTER.exact
    # cl100k_base: "hello" and " world" are one token each.
    assert COUNTER.text("hello world") == 2
    assert COUNTER.text("") == 0
    cut = COUNTER.truncate("one two three four five six", 3)
    assert cut == "one two three"


def test_a_short_conversation_is_kept_whole_and_within_budget() -> None:
    history = _conversation(2)
    history.append(HumanMessage(content="and the solar?"))
    out = assemble(
        history,
        instructions="You are a test.",
        briefing=Briefing(site_summary="demo; battery 20 kWh", preferences="- use W"),
        tool_schemas=[],
        counter=COUNTER,
    )
    assert isinstance(out.messages[0], SystemMessage)
    system = str(out.messages[0].content)
    assert "demo; battery 20 kWh" in system and "- use W" in system
    assert out.turns_kept == 2 and out.turns_summarised == 0
    # Earlier turns keep the question and the final answer, not their tool traffic.
    assert not any(isinstance(m, ToolMessage) for m in out.messages)
    assert [str(m.content) for m in out.messages[1:]] == [
        "question number 0: how is the battery doing?",
        "answer number 0: the battery is at 55 %.",
        "question number 1: how is the battery doing?",
        "answer number 1: the battery is at 55 %.",
        "and the solar?",
    ]
    assert out.prompt_tokens == COUNTER.messages(out.messages)


def test_a_long_conversation_is_summarised_not_dropped() -> None:
    history = _conversation(60, with_tools=False)
    history.append(HumanMessage(content="what did I ask first?"))
    budget = Budget(total_tokens=1200)
    out = assemble(
        history,
        instructions="You are a test.",
        briefing=Briefing(),
        tool_schemas=[],
        counter=COUNTER,
        budget=budget,
    )
    assert out.prompt_tokens <= budget.total_tokens
    assert 0 < out.turns_kept < 60
    assert out.turns_kept + out.turns_summarised == 60
    system = str(out.messages[0].content)
    assert "Earlier in this conversation" in system
    # The newest dropped turn is summarised by name; the oldest ones are counted.
    newest_dropped = 60 - out.turns_kept - 1
    assert f"question number {newest_dropped}" in system
    assert "older exchanges not shown" in system
    assert str(out.messages[-1].content) == "what did I ask first?"
    # The kept turns are the newest, in order.
    assert str(out.messages[-2].content) == "answer number 59: the battery is at 55 %."


def test_the_current_turn_is_whole_and_long_tool_results_are_cut() -> None:
    history: list[BaseMessage] = [HumanMessage(content="status?")]
    history.append(
        AIMessage(
            content="",
            tool_calls=[{"name": "site_status", "args": {}, "id": "x", "type": "tool_call"}],
        )
    )
    history.append(ToolMessage(content="word " * 5000, tool_call_id="x"))
    budget = Budget(tool_result_tokens=300)
    out = assemble(
        history,
        instructions="I",
        briefing=Briefing(),
        tool_schemas=[],
        counter=COUNTER,
        budget=budget,
    )
    result = out.messages[-1]
    assert isinstance(result, ToolMessage) and result.tool_call_id == "x"
    assert COUNTER.text(str(result.content)) < 320
    assert str(result.content).endswith("[cut to fit the budget]")
    assert isinstance(out.messages[-2], AIMessage) and out.messages[-2].tool_calls


def test_knowledge_passages_fit_their_share() -> None:
    passages = tuple(f"(runbook § part {n}) " + "battery safety " * 60 for n in range(6))
    out = assemble(
        [HumanMessage(content="how low can the battery go?")],
        instructions="I",
        briefing=Briefing(knowledge=passages),
        tool_schemas=[],
        counter=COUNTER,
        budget=Budget(knowledge_tokens=400),
    )
    system = str(out.messages[0].content)
    assert "(runbook § part 0)" in system
    assert 0 < out.passages < len(passages)
    assert f"(runbook § part {out.passages})" not in system


def test_split_turns_starts_each_turn_at_a_person() -> None:
    turns = split_turns(_conversation(3))
    assert len(turns) == 3
    assert all(isinstance(turn[0], HumanMessage) for turn in turns)


def test_tool_selection_binds_the_family_and_the_basics() -> None:
    chosen = select_tools(["battery_status"], ALL_TOOLS)
    assert set(FAMILIES["now"]) <= set(chosen)
    assert {name for name in ALWAYS if name in ALL_TOOLS} <= set(chosen)
    assert "stop_miners" not in chosen
    assert len(chosen) < len(ALL_TOOLS) / 2
    actions = select_tools(["stop_miners"], ALL_TOOLS)
    assert "start_miners" in actions and "set_grid_charge" in actions
    # Nothing understood: the model sees every tool.
    assert select_tools([], ALL_TOOLS) == ALL_TOOLS
    assert select_tools(["help"], ALL_TOOLS) == ALL_TOOLS


def test_selected_tools_cost_far_less_than_all_of_them() -> None:
    def cost(names: list[str]) -> int:
        return COUNTER.tools([spec.openai_schema() for spec in TOOL_SPECS if spec.name in names])

    everything = cost(ALL_TOOLS)
    assert everything > 2000
    assert cost(select_tools(["battery_status"], ALL_TOOLS)) < everything / 3


def test_prices_by_model_prefix_and_override() -> None:
    mini = price_for("gpt-4o-mini-2024-07-18")
    assert mini is not None
    assert mini.cost_usd(1_000_000, 1_000_000) == 0.15 + 0.60
    big = price_for("gpt-4o")
    assert big is not None and big.cost_usd(2_000, 0) == 0.005
    assert price_for("llama3.1:8b") is None
    local = price_for("llama3.1:8b", input_override=0.0, output_override=0.0)
    assert local is not None and local.cost_usd(10_000, 10_000) == 0.0


def test_tool_schemas_are_compact_but_complete() -> None:
    import json

    from tools.agent import SPECS_BY_NAME

    schema = SPECS_BY_NAME["set_preferences"].openai_schema()
    text = json.dumps(schema)
    assert '"title"' not in text and '"anyOf"' not in text
    props = schema["function"]["parameters"]["properties"]
    assert props["min_soc_pct"]["type"] == "number" and props["min_soc_pct"]["maximum"] == 100
    assert props["power_unit"]["enum"] == ["W", "kW"]
    assert "required" not in schema["function"]["parameters"]  # every field is optional
    # Required fields stay required.
    role = SPECS_BY_NAME["set_role"].openai_schema()["function"]["parameters"]
    assert set(role["required"]) == {"user_id", "role"}


def test_unsure_questions_get_the_most_alike_tools_within_the_allowance() -> None:
    counter = TokenCounter()

    def cost(names: list[str]) -> int:
        return counter.tools([SPECS_BY_NAME[name].openai_schema() for name in names])

    everything = cost(ALL_TOOLS)
    assert select_by_likeness([], ALL_TOOLS, cost=cost, allowance_tokens=everything) == ALL_TOOLS
    ranked = ["fuel_outlook", "generator_plan", "start_generator"]
    chosen = select_by_likeness(ranked, ALL_TOOLS, cost=cost, allowance_tokens=everything // 3)
    assert set(ranked) | set(ALWAYS) <= set(chosen)
    assert cost(chosen) <= everything // 3
    assert len(chosen) < len(ALL_TOOLS)
