"""The chat service: who is speaking, what they may do, and the assistant graph run.

Adapters hand it platform-neutral messages and clicks; it answers through the
adapter with text and cards. Button clicks are checked server-side against the
database: the id on a button is only a reference.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.chat.base import Adapters, Click, InboundMessage
from bot.chat.commands import parse_energy
from bot.logs import correlated
from bot.notifier import Notifier
from bot.ratelimit import RateLimiter, wait_text
from graphs.assistant import planner
from graphs.assistant.budget import Budget
from graphs.assistant.context import AssistantContext, BriefingFn
from graphs.assistant.pricing import Price
from graphs.assistant.tokens import TokenCounter
from storage import repositories as repo
from storage import usage as usage_repo
from storage.errors import StorageError
from tools.actions.service import ActionService, ActionView, Actor
from tools.agent import Toolbox
from tools.alerts.engine import AlertEngine
from tools.cards import Card, action_card
from tools.errors import ActionError
from tools.people import Directory
from tools.permissions import Permission, refusal
from tools.site import Site
from tools.units import convert_card_units, convert_units

log = logging.getLogger(__name__)


@dataclass(slots=True)
class TurnResult:
    """What one message produced."""

    answer: str
    tools: list[str] = field(default_factory=list)
    cards: list[dict[str, Any]] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)
    thread_id: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "answer": self.answer,
            "tools": self.tools,
            "cards": self.cards,
            "actions": self.actions,
            "thread_id": self.thread_id,
        }


def thread_id_for(platform: str, channel: str, thread: str | None, user_id: str) -> str:
    return f"{platform}:{channel}:{thread or user_id}"


def channel_of(thread_id: str) -> tuple[str, str]:
    platform, channel, _ = thread_id.split(":", 2)
    return platform, channel


def attachments_note(names: tuple[str, ...], *, admin: bool) -> str:
    """What the bot says about files sent with a message: it does not read them."""
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    note = f"(I don't read attachments, so I answered your text only; not read: {shown}.)"
    if admin:
        note += (
            " To add a document to the knowledge base, run `commandcenter kb ingest PATH` "
            "on the bot's host."
        )
    return note


class ChatService:
    def __init__(
        self,
        *,
        adapters: Adapters,
        graph: CompiledStateGraph[Any, Any, Any, Any],
        toolbox: Toolbox,
        sites: Mapping[str, Site],
        sessionmaker: async_sessionmaker[AsyncSession],
        alerts: AlertEngine,
        actions: ActionService,
        notifier: Notifier,
        model: BaseChatModel | None = None,
        default_site: str,
        directory: Directory,
        observe: Callable[[str, str, float], None] | None = None,
        rate_per_min: float = 0,
        rate_clock: Callable[[], float] = time.monotonic,
        model_name: str = "offline",
        model_rate_per_min: float = 0,
        briefing: BriefingFn | None = None,
        budget: Budget | None = None,
        price: Price | None = None,
    ) -> None:
        self._adapters = adapters
        self._graph = graph
        self._toolbox = toolbox
        self._sites = sites
        self._sessionmaker = sessionmaker
        self._alerts = alerts
        self._actions = actions
        self._notifier = notifier
        self._model = model
        self._default_site = default_site
        self._directory = directory
        # groups of a person when the payload carries none (Slack: see bot.chat.slack_groups)
        self.group_lookup: Callable[[str, str], Awaitable[Sequence[str]]] | None = None
        self._observe = observe
        # messages and commands per person (button clicks are not limited)
        self._limiter = RateLimiter(rate_per_min, clock=rate_clock)
        # questions that reach the language model, per person
        self._model_limiter = RateLimiter(model_rate_per_min, clock=rate_clock)
        self._model_rate_per_min = model_rate_per_min
        self._model_name = model_name if model is not None else "offline"
        self._briefing = briefing
        self._budget = budget or Budget()
        self._price = price
        self._counter = TokenCounter()
        # questions held back while we ask which site is meant, per thread
        self._held_questions: dict[str, str] = {}

    async def actor(
        self, platform: str, user_id: str, user_name: str = "", groups: Sequence[str] = ()
    ) -> Actor:
        """The person with their role and the sites they may use (see tools.people);
        a Slack payload carries no user groups, so they are looked up when mapped."""
        if not groups and self.group_lookup is not None:
            groups = await self.group_lookup(platform, user_id)
        return await self._directory.actor(platform, user_id, user_name, groups)

    def may_see(self, actor: Actor, site: str) -> bool:
        """Whether the person may see the site (people can be limited to some sites)."""
        return actor.principal.may_see(site)

    async def claim_event(self, platform: str, event_id: str) -> bool:
        """False when this platform event was handled before (a retry): do not answer twice."""
        async with self._sessionmaker() as session, session.begin():
            return await repo.claim_inbound_event(
                session, platform=platform, event_id=event_id, now=self._toolbox.now()
            )

    async def handle_command(self, msg: InboundMessage) -> TurnResult:
        """``/energy ...``: the text after the command name, answered in the channel."""
        limited = await self._rate_limited(msg, post=True)
        if limited is not None:
            return limited
        command = parse_energy(msg.text, site_names=list(self._sites))
        adapter = self._adapters.get(msg.platform)
        if command.error:
            result = TurnResult(answer=command.error)
            if adapter is not None:
                await adapter.post(msg.channel, text=command.error, thread=msg.thread)
            return result
        if command.name == "approvals":
            return await self.show_approvals(msg, site=command.site)
        if command.name == "prefs" and not command.question:
            text = await self.prefs_text(msg.channel)
            if adapter is not None:
                await adapter.post(msg.channel, text=text, thread=msg.thread)
            return TurnResult(answer=text)
        question = InboundMessage(
            platform=msg.platform,
            user_id=msg.user_id,
            channel=msg.channel,
            text=command.question,
            user_name=msg.user_name,
            thread=msg.thread,
            groups=msg.groups,
            direct=msg.direct,
            delivery_id=msg.delivery_id,
        )
        return await self._timed_message(question, site=command.site, post=True)

    async def show_approvals(self, msg: InboundMessage, *, site: str | None) -> TurnResult:
        """Post a card for every pending request the person may see."""
        actor = await self.actor(msg.platform, msg.user_id, msg.user_name, msg.groups)
        pending = [
            a
            for a in await self._actions.list_requests(site=site, statuses=("pending",))
            if self.may_see(actor, a.site)
        ]
        adapter = self._adapters.get(msg.platform)
        if not pending:
            text = "Nothing is waiting for approval."
            if adapter is not None:
                await adapter.post(msg.channel, text=text, thread=msg.thread)
            return TurnResult(answer=text)
        cards = [action_card(a, self._sites[a.site].tz) for a in pending]
        text = f"{len(pending)} request(s) waiting for approval."
        if adapter is not None:
            await adapter.post(msg.channel, text=text, thread=msg.thread)
            for card in cards:
                await adapter.post(msg.channel, card=card, thread=msg.thread)
        return TurnResult(answer=text, cards=[c.to_dict() for c in cards])

    async def prefs_text(self, channel: str) -> str:
        prefs = await self._toolbox.channel_prefs(channel)
        parts = ["critical alerts only" if prefs.critical_only else "all alerts"]
        if prefs.quiet_hours:
            parts.append(f"quiet hours {prefs.quiet_hours[0]}–{prefs.quiet_hours[1]}")
        return f"This channel gets {', '.join(parts)}."

    def _site_question(
        self, msg: InboundMessage, actor: Actor, thread_id: str, site: str | None
    ) -> TurnResult | tuple[InboundMessage, str] | None:
        """Ask which site is meant when it matters and nothing says; or, when ``msg``
        answers that question, the held-back question and the site named.

        Nothing is asked when the site is given, the channel belongs to a site, the
        person sees one site only, the question names a site, or it is not about a site
        (including "more" and "why?" about the previous answer).
        """
        held = self._held_questions.pop(thread_id, None)
        visible = [name for name in self._sites if self.may_see(actor, name)]
        if held is not None:
            named = _site_named(msg.text, visible)
            if named is not None and len(msg.text.split()) <= 4:
                return replace(msg, text=held), named
        if site is not None or len(visible) < 2 or self._channel_site(msg) is not None:
            return None
        if planner.detail_request(msg.text) is not None:
            return None  # "more" / "why?" are about the previous answer, whatever its site
        intents = planner.route(msg.text, site_names=visible)
        if not intents or any(i.args.get("site") for i in intents):
            return None
        if all(i.tool in SITE_FREE_TOOLS for i in intents):
            return None
        self._held_questions[thread_id] = msg.text
        if len(self._held_questions) > 10_000:  # forget the oldest
            self._held_questions.pop(next(iter(self._held_questions)))
        names = ", ".join(visible[:-1]) + f" or {visible[-1]}"
        return TurnResult(
            answer=f"Which site do you mean: {names}? Reply with its name "
            f'(or ask again with it, e.g. "battery at {visible[0]}").',
            thread_id=thread_id,
        )

    def _channel_site(self, msg: InboundMessage) -> str | None:
        for site in self._sites.values():
            if getattr(site.channels, msg.platform, None) == msg.channel:
                return site.name
        return None

    def site_for_channel(self, platform: str, channel: str) -> str:
        for site in self._sites.values():
            if getattr(site.channels, platform, None) == channel:
                return site.name
        return self._default_site

    def _context(
        self,
        *,
        site: str,
        requested_by: str,
        thread_id: str,
        actor: Actor | None = None,
        channel: str = "",
    ) -> AssistantContext:
        return AssistantContext(
            toolbox=self._toolbox,
            site=site,
            requested_by=requested_by,
            thread_id=thread_id,
            model=self._model,
            model_name=self._model_name,
            role=actor.role if actor else "viewer",
            sites=actor.sites if actor else frozenset(),
            channel=channel,
            actor_label=actor.label if actor else "",
            budget=self._budget,
            counter=self._counter,
            briefing=self._briefing,
            model_limiter=self._model_limiter.check if self._model_limiter.enabled else None,
            model_limit_text=f"{self._model_rate_per_min:g} model questions a minute",
            price=self._price,
        )

    async def _record_usage(self, state: dict[str, Any], ctx: AssistantContext, ms: float) -> None:
        """One row per turn: what the model calls of this turn cost (offline: nothing)."""
        usage = state.get("usage") or {}
        try:
            async with self._sessionmaker() as session, session.begin():
                await usage_repo.record_model_turn(
                    session,
                    created_at=self._clock_now(),
                    thread_id=ctx.thread_id,
                    site=ctx.site,
                    requested_by=ctx.requested_by,
                    model=str(usage.get("model") or "offline"),
                    model_calls=int(usage.get("calls", 0)),
                    prompt_tokens=int(usage.get("prompt_tokens", 0)),
                    completion_tokens=int(usage.get("completion_tokens", 0)),
                    latency_ms=float(usage.get("latency_ms", ms)),
                    cost_usd=usage.get("cost_usd"),
                    tokens_counted=str(usage.get("counted") or "none"),
                )
        except StorageError:
            log.warning("could not record model usage for %s", ctx.thread_id, exc_info=True)

    async def handle_message(
        self, msg: InboundMessage, *, site: str | None = None, post: bool = True
    ) -> TurnResult:
        """Run the assistant on one message and (unless ``post`` is False) answer in chat."""
        limited = await self._rate_limited(msg, post=post)
        if limited is not None:
            return limited
        return await self._timed_message(msg, site=site, post=post)

    async def _rate_limited(self, msg: InboundMessage, *, post: bool) -> TurnResult | None:
        """The reply when the person is over their rate limit (posted unless ``post`` is
        False), else None."""
        wait_s = self._limiter.check((msg.platform, msg.user_id))
        if wait_s <= 0:
            return None
        text = wait_text(wait_s)
        log.warning(
            "rate limit: %s:%s in %s, retry in %.1f s",
            msg.platform,
            msg.user_id,
            msg.channel,
            wait_s,
        )
        adapter = self._adapters.get(msg.platform)
        if post and adapter is not None:
            await adapter.post(msg.channel, text=text, thread=msg.thread)
        thread_id = thread_id_for(msg.platform, msg.channel, msg.thread, msg.user_id)
        return TurnResult(answer=text, thread_id=thread_id)

    async def _timed_message(
        self, msg: InboundMessage, *, site: str | None, post: bool
    ) -> TurnResult:
        started = time.perf_counter()
        try:
            with correlated():
                log.info("message from %s:%s in %s", msg.platform, msg.user_id, msg.channel)
                return await self._handle_message(msg, site=site, post=post)
        finally:
            if self._observe is not None:
                self._observe(msg.platform, "message", time.perf_counter() - started)

    async def _handle_message(
        self, msg: InboundMessage, *, site: str | None, post: bool
    ) -> TurnResult:
        actor = await self.actor(msg.platform, msg.user_id, msg.user_name, msg.groups)
        thread_id = thread_id_for(msg.platform, msg.channel, msg.thread, msg.user_id)
        if len(msg.text) > MAX_MESSAGE_CHARS:
            # Nothing reads it: a huge message must not stall the planner or the model.
            log.warning("message of %d characters from %s refused", len(msg.text), actor.key)
            too_long = TurnResult(
                answer=f"That message is {len(msg.text):,} characters long; I read questions "
                f"of up to {MAX_MESSAGE_CHARS:,}. Please ask in fewer words.",
                thread_id=thread_id,
            )
            if post:
                await self._post_turn(msg.platform, msg.channel, msg.thread, too_long)
            return too_long
        if msg.attachments:
            note = attachments_note(msg.attachments, admin=actor.role == "admin")
            if not msg.text.strip():  # only files: nothing to ask the assistant
                result = TurnResult(answer=note, thread_id=thread_id)
                if post:
                    await self._post_turn(msg.platform, msg.channel, msg.thread, result)
                return result
            answered = await self._handle_message(
                dataclasses.replace(msg, attachments=()), site=site, post=False
            )
            answered.answer = f"{answered.answer}\n\n{note}"
            if post:
                await self._post_turn(msg.platform, msg.channel, msg.thread, answered)
            return answered
        asked_back = self._site_question(msg, actor, thread_id, site)
        if isinstance(asked_back, TurnResult):
            if post:
                await self._post_turn(msg.platform, msg.channel, msg.thread, asked_back)
            return asked_back
        if asked_back is not None:  # the answer to "which site?": run the question held back
            msg, site = asked_back
        site_name = site or self.site_for_channel(msg.platform, msg.channel)
        if not self.may_see(actor, site_name):
            visible = [s for s in self._sites if self.may_see(actor, s)]
            if site is None and visible:
                site_name = visible[0]
            else:
                text = f"{actor.label}, you do not have access to the site {site_name!r}."
                adapter = self._adapters.get(msg.platform)
                if post and adapter is not None:
                    await adapter.post(msg.channel, text=text, thread=msg.thread)
                return TurnResult(answer=text, thread_id=thread_id)
        self._toolbox.site(site_name, self._default_site)  # unknown site: raise before the run
        ctx = self._context(
            site=site_name,
            requested_by=actor.key,
            thread_id=thread_id,
            actor=actor,
            channel=msg.channel,
        )
        config: RunnableConfig = {"configurable": {"thread_id": thread_id}}
        started = time.perf_counter()
        # One ask: a redelivery of the same platform message keeps its id (and so its
        # action requests); every other message gets a new one.
        turn_id = _turn_id(msg)
        state = await self._graph.ainvoke(
            {"messages": [HumanMessage(content=msg.text)], "turn_id": turn_id},
            config,
            context=ctx,
            durability="sync",
        )
        await self._record_usage(state, ctx, (time.perf_counter() - started) * 1000)
        result = _turn_result(state, thread_id)
        units = self._toolbox.display_units(actor.key)
        result.answer = convert_units(result.answer, **units)
        result.cards = [convert_card_units(card, **units) for card in result.cards]
        if post:
            await self._post_turn(msg.platform, msg.channel, msg.thread, result)
        return result

    async def _post_turn(
        self, platform: str, channel: str, thread: str | None, result: TurnResult
    ) -> None:
        adapter = self._adapters.get(platform)
        if adapter is None:
            log.warning("no %s adapter to answer on", platform)
            return
        await adapter.post(channel, text=result.answer, thread=thread)
        for data in result.cards:
            card = Card.from_dict(data)
            ref = await adapter.post(channel, card=card, thread=thread)
            if card.kind == "action":
                for action in result.actions:
                    if action["status"] == "pending":
                        await self._actions.set_message(action_id=action["id"], message=ref)

    async def handle_click(self, click: Click) -> str:
        """Apply a button press; returns the (ephemeral) reply for the person who clicked."""
        with correlated():
            log.info("%s by %s:%s on %s", click.action, click.platform, click.user_id, click.value)
            return await self._handle_click(click)

    async def _handle_click(self, click: Click) -> str:
        actor = await self.actor(click.platform, click.user_id, click.user_name, click.groups)
        if click.action in ("ack", "snooze"):
            return await self._alert_click(click, actor)
        if click.action not in ("approve", "reject"):
            return f"Unknown button action {click.action!r}."
        return await self.decide(click.value, actor, approve=click.action == "approve")

    async def _alert_click(self, click: Click, actor: Actor) -> str:
        """Acknowledge (one alert or a group: "12,13") or snooze ("12:60" minutes)."""
        denied = refusal(actor.principal, Permission.HANDLE_ALERTS)
        if denied is not None:
            return f"{actor.label}, {denied}. Nothing was changed."
        try:
            if click.action == "snooze":
                alert_part, _, minutes_part = click.value.partition(":")
                ids = [int(alert_part)]
                minutes = int(minutes_part or "60")
            else:
                ids = [int(v) for v in click.value.split(",") if v.strip()]
                minutes = 0
        except ValueError:
            return f"Unknown alert {click.value[:80]!r}."
        if click.action == "snooze" and not 0 < minutes <= MAX_SNOOZE_MIN:
            # only a hand-made payload carries this (the cards' buttons say 60)
            return f"A snooze lasts from 1 minute to 14 days; {minutes_part[:20]!r} is not that."
        # Each alert is checked for its own site (an id may belong to a site the person
        # may not use); the rest are changed in one set-based step.
        sites = await self._alerts.sites_of(ids)
        refused = [
            i for i in dict.fromkeys(ids) if i in sites and not actor.principal.may_see(sites[i])
        ]
        denied = ""
        if refused:
            denied = refusal(actor.principal, Permission.HANDLE_ALERTS, sites[refused[0]])
            ids = [i for i in ids if i not in set(refused)]
        if click.action == "snooze":
            until = self._clock_now() + timedelta(minutes=minutes)
            events = await self._alerts.snooze_many(alert_ids=ids, actor=actor.label, until=until)
        else:
            events = await self._alerts.acknowledge_many(alert_ids=ids, actor=actor.label)
        await self._notifier.on_alert_events(events)
        moved = [e.alert.id for e in events]
        done = (
            f"Snoozed {_ids_text('alert', moved)} for {minutes} min"
            if click.action == "snooze"
            else f"Acknowledged {_ids_text('alert', moved)}"
        )
        replies = [done] if moved else []
        if refused:
            replies.append(f"{_ids_text('alert', refused)}: {denied}; nothing changed")
        unchanged = [i for i in dict.fromkeys(ids) if i not in set(moved)]
        if len(unchanged) == 1:
            alert = await self._alerts.get(unchanged[0])
            replies.append(
                f"Unknown alert {unchanged[0]}"
                if alert is None
                else f"Alert {unchanged[0]} is already {alert.status}; nothing changed"
            )
        elif unchanged:
            replies.append(
                f"{_ids_text('alert', unchanged)} unchanged (unknown, or no longer open)"
            )
        return ". ".join(replies) + "."

    def _clock_now(self) -> datetime:
        return self._toolbox.now()

    async def decide(self, action_id: str, actor: Actor, *, approve: bool) -> str:
        message, _refused = await self.decide_verdict(action_id, actor, approve=approve)
        return message

    async def decide_verdict(
        self, action_id: str, actor: Actor, *, approve: bool
    ) -> tuple[str, bool]:
        """The reply, and whether the person was refused (no such request, not allowed)."""
        try:
            decision = await self._actions.decide(action_id=action_id, actor=actor, approve=approve)
        except ActionError as err:
            return str(err), True
        if decision.changed:
            await self.on_action_final(decision.action)
        return decision.message, decision.verdict == "denied"

    async def on_action_final(self, action: ActionView, *, running_thread: str = "") -> None:
        """Update the card and resume the conversation that asked for the action (unless
        that conversation is the one deciding it right now: ``running_thread``)."""
        await self._notifier.on_action_change(action)
        if action.thread_id is None or not action.is_final:
            return
        if action.thread_id == running_thread:
            return
        await self.resume(action)

    async def resume(self, action: ActionView) -> TurnResult | None:
        """Resume a suspended assistant run with the decision on ``action``."""
        assert action.thread_id is not None
        config: RunnableConfig = {"configurable": {"thread_id": action.thread_id}}
        snapshot = await self._graph.aget_state(config)
        waiting = [
            i
            for task in snapshot.tasks
            for i in task.interrupts
            if isinstance(i.value, dict) and i.value.get("action_id") == action.id
        ]
        if not waiting:
            return None
        # The conversation goes on as the person who asked (their role and sites now).
        platform, _, user_id = action.requested_by.partition(":")
        requester = await self.actor(platform, user_id)
        ctx = self._context(
            site=action.site,
            requested_by=action.requested_by,
            thread_id=action.thread_id,
            actor=requester,
        )
        resume_value = {
            "action_id": action.id,
            "status": action.status,
            "message": f"{action.title}: {action.status}"
            + (f" by {action.decided_by}" if action.decided_by else "")
            + (f". {action.outcome}" if action.outcome and action.outcome != "rejected" else "."),
        }
        state = await self._graph.ainvoke(
            Command(resume=resume_value), config, context=ctx, durability="sync"
        )
        result = _turn_result(state, action.thread_id)
        platform, channel = channel_of(action.thread_id)
        adapter = self._adapters.get(platform)
        if adapter is not None:
            await adapter.post(channel, text=result.answer)
        return result

    async def execute_approved(self) -> list[ActionView]:
        """Carry out requests approved elsewhere (a scheduled job on workers), then update
        their cards and resume the conversations that asked for them."""
        done = await self._actions.recover_interrupted(at_start=False)
        done += await self._actions.run_approved()
        for action in done:
            await self.on_action_final(action)
        return done

    async def recover_interrupted(self) -> list[ActionView]:
        """At a worker's start: settle the requests a crash left ``executing`` (read the
        device back), update their cards and tell the conversations that asked."""
        settled = await self._actions.recover_interrupted(at_start=True)
        for action in settled:
            await self.on_action_final(action)
        return settled

    async def expire_due(self) -> list[ActionView]:
        """Expire overdue requests, update their cards, and tell waiting conversations."""
        expired = await self._actions.expire_due()
        for action in expired:
            await self.on_action_final(action)
        return expired


# Longer messages are refused unread (the planner's work grows with the text).
MAX_MESSAGE_CHARS = 2_000
# The longest snooze a button may ask for (as the snooze tool's limit).
MAX_SNOOZE_MIN = 60 * 24 * 14

# Tools whose answer does not depend on which site is meant.
SITE_FREE_TOOLS = frozenset(
    {
        "help",
        "set_role",
        "who_is",
        "pending_approvals",
        "decide_action",
        "compare_sites",  # about several sites: all the person may see
        "set_alert_preferences",
        "list_silences",
        "remove_silence",
        "remove_alert_rule",  # the rule's number says which site
    }
)


def _turn_id(msg: InboundMessage) -> str:
    """The id of one ask. A redelivery (same platform delivery id, person and words) gets
    the same id; anything else a new one, even if a platform id repeats."""
    if not msg.delivery_id:
        return uuid.uuid4().hex
    what = hashlib.sha256(f"{msg.user_id}\n{msg.channel}\n{msg.text}".encode()).hexdigest()
    return f"{msg.platform}:{msg.delivery_id}:{what[:12]}"


def _ids_text(noun: str, ids: Sequence[int], *, shown: int = 10) -> str:
    """ "alert 12", "alerts 12, 13", or "10000 alerts (12, 13, … and 9990 more)"."""
    if len(ids) == 1:
        return f"{noun} {ids[0]}"
    listed = ", ".join(str(i) for i in ids[:shown])
    if len(ids) <= shown:
        return f"{noun}s {listed}"
    return f"{len(ids)} {noun}s ({listed} and {len(ids) - shown} more)"


def _site_named(text: str, sites: Sequence[str]) -> str | None:
    """The site a short reply names ("barn", "the barn site", "at home")."""
    words = set(re.findall(r"[a-z0-9_-]+", text.lower()))
    found = [name for name in sites if name.lower() in words]
    return found[0] if len(found) == 1 else None


def _turn_result(state: dict[str, Any], thread_id: str) -> TurnResult:
    messages = state.get("messages", [])
    answer = ""
    for message in reversed(messages):
        if isinstance(message, AIMessage) and message.content and not message.tool_calls:
            answer = str(message.content)
            break
    if state.get("__interrupt__") and state.get("pending"):
        answer = "\n\n".join(
            str(m.content)
            for m in messages[-len(state.get("tools_called", [])) :]
            if getattr(m, "type", "") == "tool"
        )
    return TurnResult(
        answer=answer,
        tools=list(state.get("tools_called", [])),
        cards=list(state.get("cards", [])),
        actions=list(state.get("actions", [])),
        thread_id=thread_id,
    )
