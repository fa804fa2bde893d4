"""``commandcenter eval routing FILE.jsonl [--json]``: how the assistant routes phrasings.

Every line ``{"q": ..., "tools": [...], "actions": [...]}`` goes through the whole
chat service in one process: no language model (the offline planner), a throwaway
SQLite database, the simulated demo site plus two simulated sites (``barn`` and
``home``) so that questions about several sites can be asked. Each line is its own
conversation, and independent of the others: the requests a line's action tools
create stay pending until the line is scored, then are rejected (never approved,
so nothing is executed: the command checks the actions table and says so). Lines that
carry ``tools`` are scored: the tools called, in order, must equal them (and the
actions created must equal ``actions`` when the line has that key, named by their
kind, e.g. ``generator_start``, or by the tool that proposes them).
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer

from bot.commands.common import native_output_to_stderr

EVAL_USER = "eval"
EXTRA_SITES = ("barn", "home")
EXECUTED = ("approved", "executing", "succeeded", "failed")
# Action kinds by the tool that proposes them: expected actions may name either.
ACTION_TOOLS = {
    "grid_charge_on": "set_grid_charge",
    "grid_charge_off": "set_grid_charge",
    "generator_start": "start_generator",
    "generator_stop": "stop_generator",
}


COMMAND_TOOLS = frozenset(
    {"stop_miners", "start_miners", "set_grid_charge", "start_generator", "stop_generator"}
)
ALREADY = "Nothing to do:"  # how an action tool says the change is already in place


def _as_tools(kinds: list[str]) -> list[str]:
    return [ACTION_TOOLS.get(kind, kind) for kind in kinds]


def already_in_place(tools: list[str], created: list[str], answer: str) -> list[str]:
    """The command tools that were called and answered that their change is already in
    place (no request needed: "stop the generator" when it is stopped), in call order."""
    left = _as_tools(created)
    budget = answer.count(ALREADY)
    out: list[str] = []
    for tool in tools:
        if tool not in COMMAND_TOOLS:
            continue
        if tool in left:
            left.remove(tool)
        elif budget > 0:
            out.append(tool)
            budget -= 1
    return out


eval_app = typer.Typer(no_args_is_help=True, help="Measure the assistant on phrasing files.")


HELP = "help"


@dataclass(slots=True)
class Line:
    q: str
    tools: list[str] | None
    actions: list[str] | None


@dataclass(slots=True)
class Routed:
    line: Line
    tools: list[str]
    actions: list[str]
    answer: str
    already: list[str] = field(default_factory=list)

    @property
    def scored(self) -> bool:
        return self.line.tools is not None

    @property
    def intended(self) -> list[str]:
        """The changes asked for: requests created, and changes found already in place
        (the command was understood; the site's state made a request unneeded)."""
        created, already = _as_tools(self.actions), list(self.already)
        out: list[str] = []
        for tool in self.tools:
            if tool in created:
                created.remove(tool)
                out.append(tool)
            elif tool in already:
                already.remove(tool)
                out.append(tool)
        return out

    @property
    def helped(self) -> bool:
        """The reply was the list of what the assistant can do (no tool is called for it)."""
        from graphs.assistant.planner import help_text

        return not self.tools and self.answer.startswith(help_text().split("\n", 1)[0])

    def _right(self, actions: list[str]) -> bool:
        if self.line.tools is None:
            return False
        # "help" is no tool: a line that asks what the bot can do is right when the reply
        # is that list (older sets wrote such lines with no tools, which still holds)
        wanted = [t for t in self.line.tools if t != HELP]
        if self.tools != wanted or (HELP in self.line.tools and not self.helped):
            return False
        return self.line.actions is None or sorted(actions) == sorted(_as_tools(self.line.actions))

    @property
    def correct(self) -> bool:
        """Right tools, and the changes asked for were requested or already in place."""
        return self._right(self.intended)

    @property
    def strict(self) -> bool:
        """Right tools, and a request created for every change asked for."""
        return self._right(_as_tools(self.actions))


@dataclass(slots=True)
class Outcome:
    routed: list[Routed] = field(default_factory=list)
    executed: int = 0

    def summary(self) -> dict[str, Any]:
        scored = [r for r in self.routed if r.scored]
        correct = sum(1 for r in scored if r.correct)
        strict = sum(1 for r in scored if r.strict)
        return {
            "lines": len(self.routed),
            "scored": len(scored),
            "correct": correct,
            "score_pct": round(100 * correct / len(scored), 1) if scored else None,
            "strict_correct": strict,
            "strict_score_pct": round(100 * strict / len(scored), 1) if scored else None,
            "actions_created": sum(len(r.actions) for r in self.routed),
            "already_in_place": sum(len(r.already) for r in self.routed),
            "actions_executed": self.executed,
        }


def read_lines(path: Path) -> list[Line]:
    """The phrasings of a JSON Lines file; a bad line is a one-line error."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ValueError(f"cannot read {path}: {err.strerror}") from None
    lines: list[Line] = []
    for n, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw)
        except json.JSONDecodeError as err:
            raise ValueError(f"{path}:{n}: not JSON ({err.msg})") from None
        if not isinstance(row, dict) or not isinstance(row.get("q"), str):
            raise ValueError(f'{path}:{n}: each line needs {{"q": "..."}}')
        tools, actions = row.get("tools"), row.get("actions")
        for key, value in (("tools", tools), ("actions", actions)):
            if value is not None and not (
                isinstance(value, list) and all(isinstance(v, str) for v in value)
            ):
                raise ValueError(f"{path}:{n}: {key!r} must be a list of tool names")
        lines.append(Line(q=row["q"], tools=tools, actions=actions))
    if not lines:
        raise ValueError(f"{path} has no lines")
    return lines


def _site_file() -> Any:
    from tools.site import Channels, Person, demo_site_file

    demo = demo_site_file()
    base = demo.sites[0]
    extra = [
        base.model_copy(
            update={"name": name, "title": name.title(), "channels": Channels(console=f"#{name}")}
        )
        for name in EXTRA_SITES
    ]
    person = Person(platform="console", user_id=EVAL_USER, name="Eval", role="admin")
    return demo.model_copy(update={"sites": [base, *extra], "people": [person]})


async def route_lines(lines: list[Line]) -> Outcome:
    """Ask every line in its own conversation; count what was created and executed."""
    from bot.app import open_app
    from bot.chat.base import InboundMessage
    from bot.chat.memory import MemoryAdapter
    from bot.settings import Settings
    from storage.repositories import list_action_requests, transition_action

    outcome = Outcome()
    with tempfile.TemporaryDirectory(prefix="cc-eval-routing-") as tmp:
        settings = Settings(
            data_dir=Path(tmp),
            database_url=None,
            openai_api_key=None,
            chat_rate_per_min=0,
            model_rate_per_min=0,
            channel_min_interval_s=0,
        )
        from bot.logs import configure

        configure("WARNING", fmt=settings.log_format)
        async with open_app(
            settings, adapter=MemoryAdapter(), site_file=_site_file(), model=None
        ) as app:
            await app.monitor.poll_once()
            for n, line in enumerate(lines):
                result = await app.chat.handle_message(
                    InboundMessage(
                        platform="console",
                        user_id=EVAL_USER,
                        channel=f"#eval-{n}",
                        text=line.q,
                    ),
                    site=app.default_site,  # a question naming no site is about the demo
                    post=False,
                )
                # Lines are independent: withdraw what this one proposed (a rejection, not an
                # execution), so the next "stop the miners" is not "already awaiting approval".
                async with app.sessionmaker() as session, session.begin():
                    for action in result.actions:
                        await transition_action(
                            session,
                            action_id=str(action["id"]),
                            from_statuses=["pending"],
                            to_status="rejected",
                            decided_by="eval routing",
                        )
                created = [str(a["kind"]) for a in result.actions]
                outcome.routed.append(
                    Routed(
                        line=line,
                        tools=list(result.tools),
                        actions=created,
                        answer=result.answer,
                        already=already_in_place(list(result.tools), created, result.answer),
                    )
                )
            async with app.sessionmaker() as session:
                done = await list_action_requests(session, statuses=EXECUTED)
            outcome.executed = len(done)
    return outcome


def _text(outcome: Outcome) -> str:
    out: list[str] = []
    for r in outcome.routed:
        mark = " " if not r.scored else ("✓" if r.correct else "✗")
        tools = ", ".join(r.tools) or (HELP if r.helped else "-")
        acts = f"  actions: {', '.join(r.actions)}" if r.actions else ""
        if r.already:
            acts += f"  already in place: {', '.join(r.already)}"
        want = ""
        if r.scored and not r.correct:
            want = f"  (expected: {', '.join(r.line.tools or []) or '-'}"
            if r.line.actions is not None and sorted(r.intended) != sorted(
                _as_tools(r.line.actions)
            ):
                want += f"; actions {', '.join(r.line.actions) or '-'}"
            want += ")"
        out.append(f"{mark} {r.line.q!r} -> {tools}{acts}{want}")
    s = outcome.summary()
    tail = f"{s['lines']} lines routed"
    if s["scored"]:
        tail += f"; score {s['correct']}/{s['scored']} = {s['score_pct']} %"
        tail += (
            f" (strict, a request for every change asked: {s['strict_correct']}/{s['scored']}"
            f" = {s['strict_score_pct']} %)"
        )
    tail += f"; actions created {s['actions_created']}, executed {s['actions_executed']}"
    if s["already_in_place"]:
        tail += f", already in place {s['already_in_place']}"
    out.append(tail)
    return "\n".join(out)


@eval_app.command("routing")
def routing(
    path: Annotated[Path, typer.Argument(help='JSON Lines: {"q": ..., "tools": [...]}')],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
) -> None:
    """Route every line through the assistant (no model, throwaway database, simulated
    sites): the tools called in order and the actions created (never executed), and the
    score when lines carry the expected tools."""
    import asyncio

    try:
        lines = read_lines(path)
    except ValueError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from None
    with native_output_to_stderr():
        outcome = asyncio.run(route_lines(lines))
    if as_json:
        payload = {
            "summary": outcome.summary(),
            "lines": [
                {
                    "q": r.line.q,
                    "tools": r.tools,
                    "actions": r.actions,
                    "expected_tools": r.line.tools,
                    "expected_actions": r.line.actions,
                    "already_in_place": r.already,
                    "correct": r.correct if r.scored else None,
                    "answer": r.answer,
                }
                for r in outcome.routed
            ],
        }
        typer.echo(json.dumps(payload, indent=2, ensure_ascii=False))
    else:
        typer.echo(_text(outcome))
    if outcome.executed:
        raise typer.Exit(1)
