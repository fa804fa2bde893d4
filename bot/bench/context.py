"""``commandcenter bench context``: prompt tokens per question on the model path.

The whole bot runs on a scratch SQLite folder with the demo simulator. A scripted
chat model stands in for the language model: for a new question it calls the
tools the offline planner picks (a model that routes perfectly), and once the
tool results are in it answers with their first sentences. Nothing goes over the
network, so the figures are the prompt as assembled, counted with the same
tokenizer the bot uses.

The questions come as conversations of several turns, so that history, its
summary and the site summary all play their part. For comparison the benchmark
also counts what the same turns would cost with every tool bound and the whole
conversation sent (``naive_*``).
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import Field, PrivateAttr

from graphs.assistant import planner
from graphs.assistant.tokens import TokenCounter

# Conversations of the benchmark: each list is one chat thread, asked in order.
CONVERSATIONS: tuple[tuple[str, ...], ...] = (
    (
        "how is the site?",
        "and the battery?",
        "how much solar right now",
        "will tomorrow be sunny?",
        "any alerts?",
        "battery and solar?",
    ),
    (
        "whats the battery at",
        "when will the battery run out?",
        "should I charge from the grid tonight?",
        "how much diesel will we burn this month?",
        "solar forecast for tomorrow",
        "status",
    ),
    (
        "can the miners run all day tomorrow?",
        "miner plan for the next two days",
        "how did yesterday's forecast do?",
        "solar now and tomorrow",
        "is everything ok?",
        "any alarms right now",
    ),
    (
        "overview please",
        "batery level?",
        "solr output",
        "what's the load right now?",
        "is the generator running?",
        "how much fuel is left?",
    ),
    (
        "quiet hours 22:00-07:00",
        "only alert me for critical",
        "show silences",
        "all alerts again",
        "keep the battery above 40 %",
        "when will the battery run out?",
    ),
    (
        "sitrep",
        "how long will the battery last tonight?",
        "grid charge tonight?",
        "will there be enough sun tomorrow to run the miners?",
        "fuel outlook",
        "forecast accuracy yesterday",
    ),
    (
        "how's the battery doing",
        "how much are the panels producing",
        "tomorrow's solar",
        "what's going on?",
        "any warnings?",
        "battery, solar & alerts",
    ),
    (
        "is the battery charging?",
        "what will solar do today?",
        "should I run the generator tonight?",
        "how many days of fuel do we have?",
        "any open alerts?",
        "status of the site",
    ),
    (
        "what's the state of charge",
        "pv power now",
        "expected solar tomorrow",
        "all good?",
        "I prefer watts",
        "status",
    ),
    (
        "how is everything",
        "battery outlook",
        "should I grid charge",
        "miner schedule tomorrow",
        "any alerts",
        "stop miner-2",
    ),
)


class PlannerModel(BaseChatModel):
    """A chat model that routes like the offline planner and answers from tool results.

    ``calls`` keeps, per model call, the prompt tokens as sent (messages and bound
    tool definitions) and the tool count.
    """

    site_names: list[str] = Field(default_factory=list)
    load_names: list[str] = Field(default_factory=list)
    calls: list[dict[str, int]] = Field(default_factory=list)
    _tools: list[dict[str, Any]] = PrivateAttr(default_factory=list)
    _counter: TokenCounter = PrivateAttr(default_factory=TokenCounter)

    @property
    def _llm_type(self) -> str:
        return "planner-bench"

    def bind_tools(self, tools: Sequence[Any], **_kwargs: Any) -> PlannerModel:
        bound = self.model_copy()
        bound._tools = [dict(t) for t in tools]
        bound._counter = self._counter
        bound.calls = self.calls  # the same list: the benchmark reads it
        return bound

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        prompt = self._counter.messages(messages) + self._counter.tools(self._tools)
        self.calls.append({"prompt_tokens": prompt, "tools": len(self._tools)})
        last = messages[-1]
        if isinstance(last, HumanMessage):
            names = {t["function"]["name"] for t in self._tools}
            intents = planner.route(
                str(last.content), site_names=self.site_names, load_names=self.load_names
            )
            calls = [
                {
                    "name": i.tool,
                    "args": {k: v for k, v in i.args.items() if v is not None},
                    "id": f"bench-{len(self.calls)}-{n}",
                    "type": "tool_call",
                }
                for n, i in enumerate(intents)
                if i.tool in names
            ]
            if calls:
                return ChatResult(
                    generations=[ChatGeneration(message=AIMessage("", tool_calls=calls))]
                )
            return ChatResult(
                generations=[ChatGeneration(message=AIMessage("I can help with site questions."))]
            )
        results: list[str] = []
        for message in reversed(messages):
            if not isinstance(message, ToolMessage):
                break
            results.insert(0, ". ".join(str(message.content).split(". ")[:2]))
        answer = " ".join(results) or "Done."
        return ChatResult(generations=[ChatGeneration(message=AIMessage(answer))])


def _percentile(values: list[int], q: float) -> int:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def bench_context(*, budget_tokens: int = 3000) -> dict[str, Any]:
    """Run every conversation through the bot; prompt token figures per question."""
    from langchain_core.runnables import RunnableConfig

    from bot.app import open_app
    from bot.chat.base import InboundMessage
    from bot.chat.memory import MemoryAdapter
    from bot.settings import Settings
    from graphs.assistant.prompts import SYSTEM_PROMPT
    from tools.agent import TOOL_SPECS
    from tools.site import Person, demo_site_file

    counter = TokenCounter()
    site_file = demo_site_file()
    site_file = site_file.model_copy(
        update={
            "people": [Person(platform="console", user_id="bench", name="Bench", role="operator")]
        }
    )
    site = site_file.sites[0]
    model = PlannerModel(
        site_names=[s.name for s in site_file.sites], load_names=[x.name for x in site.loads]
    )
    all_tools = counter.tools([spec.openai_schema() for spec in TOOL_SPECS])
    per_question: list[int] = []
    naive: list[int] = []
    questions = 0
    with tempfile.TemporaryDirectory(prefix="cc-bench-context-") as tmp:
        settings = Settings(
            data_dir=Path(tmp),
            database_url=None,
            chat_rate_per_min=0,
            model_rate_per_min=0,
            channel_min_interval_s=0,
            context_budget_tokens=budget_tokens,
            openai_model="bench",
        )
        async with open_app(
            settings, adapter=MemoryAdapter(), site_file=site_file, model=model
        ) as app:
            await app.monitor.poll_once()
            for n, conversation in enumerate(CONVERSATIONS):
                channel = f"#bench-{n}"
                for text in conversation:
                    before = len(model.calls)
                    result = await app.chat.handle_message(
                        InboundMessage(
                            platform="console", user_id="bench", channel=channel, text=text
                        ),
                        post=False,
                    )
                    questions += 1
                    per_question.append(sum(c["prompt_tokens"] for c in model.calls[before:]))
                    # The same turn with every tool and the whole history, for comparison.
                    config: RunnableConfig = {"configurable": {"thread_id": result.thread_id}}
                    state = await app.chat._graph.aget_state(config)
                    history = list(state.values.get("messages", []))
                    system = SystemMessage(
                        content=SYSTEM_PROMPT.format(site=site.name, sites="none")
                    )
                    start = max(
                        (i for i, m in enumerate(history) if isinstance(m, HumanMessage)),
                        default=0,
                    )
                    naive_total = sum(
                        counter.messages([system, *history[:i]]) + all_tools
                        for i in range(start, len(history))
                        if isinstance(history[i], AIMessage)
                    )
                    naive.append(naive_total)
    calls = [c["prompt_tokens"] for c in model.calls]
    return {
        "questions": questions,
        "conversations": len(CONVERSATIONS),
        "budget_tokens": budget_tokens,
        "prompt_tokens_avg": round(sum(per_question) / len(per_question)),
        "prompt_tokens_p95": _percentile(per_question, 0.95),
        "prompt_tokens_max": max(per_question),
        "model_calls": len(calls),
        "prompt_tokens_per_call_avg": round(sum(calls) / len(calls)),
        "prompt_tokens_per_call_max": max(calls),
        "tools_bound_avg": round(sum(c["tools"] for c in model.calls) / len(calls), 1),
        "tools_total": len(TOOL_SPECS),
        "naive_prompt_tokens_avg": round(sum(naive) / len(naive)),
        "naive_prompt_tokens_p95": _percentile(naive, 0.95),
        "tokenizer": "cl100k_base (tiktoken, bundled)" if counter.exact else "estimate",
    }
