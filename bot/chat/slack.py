"""Slack: the chat adapter (Web API out) and the Bolt app (commands, events, clicks in).

- :class:`SlackAdapter` posts and edits messages with ``chat.postMessage`` /
  ``chat.update``; cards are rendered by :mod:`bot.chat.slack_blocks`. 429
  answers are retried after ``Retry-After``; other failures are logged and never
  raised into alert delivery.
- :func:`build_slack_app` builds a Bolt ``AsyncApp`` whose listeners ``ack()``
  at once and hand the slow work (the assistant run, a click that switches
  relays) to lazy listeners, so Slack gets its answer well inside 3 s.
- HTTP mode: :func:`slack_routes` gives ``POST /slack/events`` for events,
  slash commands and interactivity; Bolt checks the signing secret and the
  5-minute window and answers 401 before any listener runs.
- Socket Mode: :func:`run_socket_mode` (no public endpoint, no signing).

Slack user groups are not part of event, command or click payloads: the
payloads' ``groups`` stay empty and :mod:`bot.chat.slack_groups` looks up the
members of the groups the site file maps to roles (``usergroups.users.list``,
cached).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from aiohttp import ClientError, web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackClientError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.chat.base import Click, InboundMessage, MessageRef
from bot.chat.service import ChatService
from bot.chat.slack_blocks import (
    BUTTON_ACTIONS,
    action_of,
    card_blocks,
    fallback_text,
    message_text,
)
from tools.cards import Card

log = logging.getLogger(__name__)

T = TypeVar("T")

PLATFORM = "slack"
EVENTS_PATH = "/slack/events"
WORKING_TEXT = "Working on it…"
RATE_LIMIT_RETRIES = 3
_ACTION_PATTERN = re.compile(rf"^cc_({'|'.join(BUTTON_ACTIONS)})$")
_MENTION = re.compile(r"<@[UW][A-Z0-9]+(?:\|[^>]*)?>")

__all__ = [
    "EVENTS_PATH",
    "InFlight",
    "SlackAdapter",
    "SlackConfigError",
    "build_slack_app",
    "run_socket_mode",
    "slack_client",
    "slack_routes",
]


class SlackConfigError(ValueError):
    """The Slack settings cannot run the asked mode; the message says what to set."""


def slack_client(token: str, *, base_url: str | None = None, timeout_s: int = 30) -> AsyncWebClient:
    """A Web API client that waits out 429s (``Retry-After``) and retries a dropped connection.

    ``base_url`` points the client elsewhere (tests use a local fake of the Web API).
    """
    kwargs: dict[str, Any] = {"token": token, "timeout": timeout_s}
    if base_url is not None:
        kwargs["base_url"] = base_url
    client = AsyncWebClient(**kwargs)
    client.retry_handlers = [
        AsyncConnectionErrorRetryHandler(),
        AsyncRateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
    ]
    return client


def _describe(err: Exception) -> str:
    """What went wrong, without the request (which carries the token in its headers)."""
    response = getattr(err, "response", None)
    if response is not None:
        data = getattr(response, "data", None)
        code = data.get("error") if isinstance(data, dict) else None
        return f"HTTP {getattr(response, 'status_code', '?')} {code or ''}".strip()
    return type(err).__name__


# -- out: the adapter ---------------------------------------------------------------------


class SlackAdapter:
    """Posts and edits Slack messages through the Web API.

    The client gets a 429 handler (``Retry-After``, at most 3 retries) when it has
    none. A post that fails is logged and returns a reference with an empty
    ``ref``; editing such a reference posts the card as a new message instead.
    """

    platform = PLATFORM

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client
        handlers = list(client.retry_handlers or [])
        if not any(isinstance(h, AsyncRateLimitErrorRetryHandler) for h in handlers):
            handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES))
            client.retry_handlers = handlers

    async def post(
        self, channel: str, *, text: str = "", card: Card | None = None, thread: str | None = None
    ) -> MessageRef:
        kwargs: dict[str, Any] = {"channel": channel}
        if card is not None:
            kwargs["blocks"] = card_blocks(card, text=text)
            kwargs["text"] = fallback_text(card, text=text)
        else:
            kwargs["text"] = message_text(text or " ")
        if thread:
            kwargs["thread_ts"] = thread
        try:
            response = await self.client.chat_postMessage(**kwargs)
        except (SlackClientError, ClientError, TimeoutError) as err:
            log.error("Slack chat.postMessage to %s failed: %s", channel, _describe(err))
            return {"platform": PLATFORM, "channel": channel, "ref": ""}
        posted_channel = str(response.get("channel") or channel)
        ts = str(response.get("ts") or "")
        if card is not None and card.image_png is not None:
            await self._upload_image(posted_channel, card, thread=thread or ts or None)
        return {"platform": PLATFORM, "channel": posted_channel, "ref": ts}

    async def _upload_image(self, channel: str, card: Card, *, thread: str | None) -> None:
        """The card's image as a file in the card's thread (``files_upload_v2``: get an
        upload URL, upload, complete). A failure is logged; the card is already posted."""
        kwargs: dict[str, Any] = {
            "channel": channel,
            "file": card.image_png,
            "filename": card.image_name,
            "title": card.title,
        }
        if thread:
            kwargs["thread_ts"] = thread
        try:
            await self.client.files_upload_v2(**kwargs)
        except (SlackClientError, ClientError, TimeoutError) as err:
            log.error("Slack file upload to %s failed: %s", channel, _describe(err))

    async def update(self, ref: MessageRef, *, card: Card) -> None:
        channel = str(ref.get("channel", ""))
        ts = str(ref.get("ref", ""))
        if not ts:  # the first post failed: show the current state as a new message
            await self.post(channel, card=card)
            return
        try:
            await self.client.chat_update(
                channel=channel, ts=ts, text=fallback_text(card), blocks=card_blocks(card)
            )
        except (SlackClientError, ClientError, TimeoutError) as err:
            log.error("Slack chat.update of %s in %s failed: %s", ts, channel, _describe(err))

    async def ephemeral(
        self, channel: str, user: str, text: str, *, thread: str | None = None
    ) -> None:
        """A message only ``user`` sees (replies to clicks and command errors)."""
        kwargs: dict[str, Any] = {"channel": channel, "user": user, "text": message_text(text)}
        if thread:
            kwargs["thread_ts"] = thread
        try:
            await self.client.chat_postEphemeral(**kwargs)
        except (SlackClientError, ClientError, TimeoutError) as err:
            log.error("Slack chat.postEphemeral in %s failed: %s", channel, _describe(err))


# -- in: the Bolt app ---------------------------------------------------------------------


class InFlight:
    """The slow halves of requests still running (lazy listeners).

    Holds a reference to each task (Bolt starts them with ``ensure_future``), and
    lets shutdown wait for them (:meth:`drain`) or stop them (:meth:`cancel`).
    """

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def __len__(self) -> int:
        return len(self._tasks)

    @contextmanager
    def track(self) -> Iterator[None]:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            yield
        finally:
            if task is not None:
                self._tasks.discard(task)

    async def drain(self, timeout_s: float = 30.0) -> bool:
        """Wait until nothing is running (True) or ``timeout_s`` passed (False)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while self._tasks:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            await asyncio.wait(set(self._tasks), timeout=remaining)
        return True

    async def cancel(self) -> None:
        tasks = set(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def build_slack_app(
    *,
    chat: ChatService,
    signing_secret: str | None,
    token: str,
    client: AsyncWebClient,
    socket_mode: bool,
    inflight: InFlight | None = None,
) -> AsyncApp:
    """The Bolt app with the ``/energy`` command, mentions and DMs, and card buttons.

    ``client`` is the Web API client (the same one the :class:`SlackAdapter` uses);
    ``token`` is set on it when it has none. HTTP mode needs ``signing_secret``;
    Socket Mode does not use it. Nothing connects until a request arrives.
    """
    if not socket_mode and not signing_secret:
        raise SlackConfigError(
            "Slack over HTTP needs the app's signing secret to verify requests: set "
            "SLACK_SIGNING_SECRET (Basic Information > App Credentials), or use Socket Mode "
            "with SLACK_APP_TOKEN."
        )
    if not token and not client.token:
        raise SlackConfigError("Slack needs the bot token: set SLACK_BOT_TOKEN (xoxb-...).")
    if client.token is None:
        client.token = token
    app = AsyncApp(
        client=client,
        signing_secret=signing_secret or "",
        # Bolt returns as soon as ack() is called; the slow work runs in lazy listeners.
        process_before_response=True,
        request_verification_enabled=not socket_mode,
        logger=logging.getLogger("bot.chat.slack.bolt"),
        name="commandcenter",
    )
    work = inflight if inflight is not None else InFlight()
    adapter = SlackAdapter(client)
    register_commands(app, chat=chat, adapter=adapter, inflight=work)
    register_events(app, chat=chat, inflight=work)
    register_actions(app, chat=chat, adapter=adapter, inflight=work)
    return app


def register_commands(
    app: AsyncApp, *, chat: ChatService, adapter: SlackAdapter, inflight: InFlight
) -> None:
    """``/energy ...``: ack with "Working on it…", answer in the channel from a lazy listener."""

    async def ack_energy(ack: AsyncAck) -> None:
        await ack(text=WORKING_TEXT)

    async def run_energy(command: dict[str, Any]) -> None:
        with inflight.track():
            msg = InboundMessage(
                platform=PLATFORM,
                user_id=str(command.get("user_id", "")),
                channel=str(command.get("channel_id", "")),
                text=str(command.get("text", "")),
                user_name=str(command.get("user_name", "")),
                direct=str(command.get("channel_id", "")).startswith("D"),
                delivery_id=str(command.get("trigger_id", "")),
            )
            await _guarded(
                chat.handle_command(msg),
                on_error=lambda: adapter.ephemeral(
                    msg.channel,
                    msg.user_id,
                    f"Sorry, `/energy {msg.text}` failed on our side; please try again, "
                    "and tell the bot's operator if it keeps failing.",
                ),
                what=f"/energy {msg.text!r}",
            )

    app.command("/energy")(ack=ack_energy, lazy=[run_energy])


def register_events(app: AsyncApp, *, chat: ChatService, inflight: InFlight) -> None:
    """Mentions in channels and direct messages; one answer per event, in its thread."""

    async def ack_event(ack: AsyncAck) -> None:
        await ack()

    async def answer(body: dict[str, Any], direct: bool, bot_user_id: str | None) -> None:
        event = body.get("event") or {}
        event_id = str(body.get("event_id") or "")
        if not event_id or not await chat.claim_event(PLATFORM, event_id):
            return  # a retry of an event already answered (X-Slack-Retry-Num)
        msg = InboundMessage(
            platform=PLATFORM,
            user_id=str(event.get("user", "")),
            channel=str(event.get("channel", "")),
            text=_strip_mention(str(event.get("text", "")), bot_user_id),
            thread=str(event.get("thread_ts") or event.get("ts") or "") or None,
            direct=direct,
            delivery_id=event_id,
            attachments=_file_names(event),
        )
        await _guarded(chat.handle_message(msg), what=f"Slack event {event_id}")

    async def on_mention(body: dict[str, Any], context: dict[str, Any]) -> None:
        with inflight.track():
            await answer(body, False, context.get("bot_user_id"))

    async def on_message(body: dict[str, Any], context: dict[str, Any]) -> None:
        event = body.get("event") or {}
        if (
            event.get("channel_type") != "im"
            # edits, deletions, joins, bot_message ...; a message with files is a person's
            or event.get("subtype") not in _ANSWERED_SUBTYPES
            or event.get("bot_id")
            or not event.get("user")
            or event.get("user") == context.get("bot_user_id")
        ):
            return
        with inflight.track():
            await answer(body, True, context.get("bot_user_id"))

    app.event("app_mention")(ack=ack_event, lazy=[on_mention])
    app.event("message")(ack=ack_event, lazy=[on_message])


def register_actions(
    app: AsyncApp, *, chat: ChatService, adapter: SlackAdapter, inflight: InFlight
) -> None:
    """Card buttons ``cc_approve|cc_reject|cc_ack|cc_snooze``: ack, decide, tell the clicker.

    The card itself is edited by the chat service (through ``chat.update``).
    """

    async def ack_click(ack: AsyncAck) -> None:
        await ack()

    async def run_click(body: dict[str, Any], action: dict[str, Any]) -> None:
        with inflight.track():
            click = _click(body, action)
            if click is None:
                return
            container = body.get("container") or {}
            thread = container.get("thread_ts")
            reply = await _guarded(chat.handle_click(click), what=f"Slack click {click.action}")
            if reply is None:
                reply = "Sorry, that button failed on our side; nothing was changed. Try again."
            await adapter.ephemeral(click.channel, click.user_id, reply, thread=thread)

    app.action(_ACTION_PATTERN)(ack=ack_click, lazy=[run_click])


def _click(body: dict[str, Any], action: dict[str, Any]) -> Click | None:
    name = action_of(str(action.get("action_id", "")))
    if name is None:
        return None
    user = body.get("user") or {}
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
        "channel_id", ""
    )
    return Click(
        platform=PLATFORM,
        user_id=str(user.get("id", "")),
        channel=str(channel),
        action=name,
        value=str(action.get("value", "")),
        user_name=str(user.get("name") or user.get("username") or ""),
    )


_ANSWERED_SUBTYPES = frozenset({None, "", "file_share"})


def _file_names(event: dict[str, Any]) -> tuple[str, ...]:
    """The names of the files shared with a message (``subtype: file_share``)."""
    files = event.get("files")
    if not isinstance(files, list):
        return ()
    names = []
    for item in files:
        if isinstance(item, dict):
            name = item.get("name") or item.get("title") or item.get("id") or "a file"
            names.append(str(name)[:100])
    return tuple(names)


def _strip_mention(text: str, bot_user_id: str | None) -> str:
    if bot_user_id:
        text = re.sub(rf"<@{re.escape(bot_user_id)}(?:\|[^>]*)?>", "", text)
    else:
        text = _MENTION.sub("", text, count=1)
    return " ".join(text.split())


async def _guarded(
    work: Awaitable[T],
    *,
    what: str,
    on_error: Callable[[], Awaitable[None]] | None = None,
) -> T | None:
    """Run the slow half of a request; a failure is logged with its traceback and, when
    given, the person is told (the request was acknowledged long ago)."""
    try:
        return await work
    except asyncio.CancelledError:
        raise
    except Exception:  # the boundary of a background task: nothing above it would see this
        log.exception("%s failed", what)
        if on_error is not None:
            await on_error()
        return None


# -- HTTP mode and Socket Mode ----------------------------------------------------------


def slack_routes(app: AsyncApp, path: str = EVENTS_PATH) -> list[web.RouteDef]:
    """``POST /slack/events`` for events, slash commands and interactivity (one URL).

    Bolt verifies ``X-Slack-Signature`` / ``X-Slack-Request-Timestamp`` (5-minute
    window) first: a forged, tampered, unsigned or stale request gets 401 and runs
    nothing.
    """

    async def handle(request: web.Request) -> web.Response:
        problem = _timestamp_problem(request.headers.get("X-Slack-Request-Timestamp"))
        if problem is None:
            try:
                bolt_request = await to_bolt_request(request)
            except (UnicodeDecodeError, ValueError, TypeError, AttributeError, KeyError) as err:
                problem = f"the body does not parse ({type(err).__name__})"
            else:
                problem = _body_problem(bolt_request.body)
        if problem is not None:
            log.warning(
                "Slack endpoint: 400 for a request from %s: %s", request.remote or "?", problem
            )
            return web.Response(status=400, text=f"Bad request: {problem}.")
        bolt_response = await app.async_dispatch(bolt_request)
        return await to_aiohttp_response(bolt_response)

    return [web.post(path, handle)]


def _timestamp_problem(value: str | None) -> str | None:
    """Why ``X-Slack-Request-Timestamp`` cannot be checked, or None (a missing header is
    left to Bolt's signature check, which answers 401)."""
    if value is None:
        return None
    text = value.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 12:
        return "X-Slack-Request-Timestamp must be whole seconds since 1970"
    return None


# Top-level fields of Slack payloads that Bolt reads as objects (or lists of objects).
_OBJECT_FIELDS = ("event", "user", "team", "channel", "enterprise", "container", "view")
_LIST_FIELDS = ("actions", "authorizations")


def _body_problem(body: object) -> str | None:
    """Why a parsed request body is not a Slack payload Bolt can route, or None."""
    if not isinstance(body, dict):
        return f"the body is a JSON {type(body).__name__}, not an object"
    for name in _OBJECT_FIELDS:
        value = body.get(name)
        if value is not None and not isinstance(value, dict):
            return f"{name!r} must be an object"
    for name in _LIST_FIELDS:
        value = body.get(name)
        if value is not None and not (
            isinstance(value, list) and all(isinstance(v, dict) for v in value)
        ):
            return f"{name!r} must be a list of objects"
    return None


async def run_socket_mode(app: AsyncApp, app_token: str) -> None:
    """Connect over Socket Mode (``xapp-`` token) and serve until cancelled."""
    if not app_token.startswith("xapp-"):
        raise SlackConfigError(
            "Socket Mode needs an app-level token starting with xapp- in SLACK_APP_TOKEN "
            "(Basic Information > App-Level Tokens, scope connections:write)."
        )
    handler = AsyncSocketModeHandler(app, app_token)
    try:
        await handler.connect_async()
        log.info("Slack Socket Mode connected")
        await asyncio.Event().wait()
    finally:
        await handler.close_async()
