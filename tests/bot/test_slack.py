"""Slack end to end: signed requests into the Bolt app, a local fake of the Web API out.

The whole bot runs (offline planner, simulator, SQLite); Slack's side is real
wire formats: the slash command and block_actions bodies from Slack's own Bolt
test-suite (``shared/data/slack``), re-signed with the test secret.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

import pytest
import slack_sdk.signature
from aiohttp.test_utils import TestClient, TestServer
from slack_bolt.async_app import AsyncApp
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from bot.app import App, open_app
from bot.chat.slack import (
    InFlight,
    SlackAdapter,
    SlackConfigError,
    build_slack_app,
    run_socket_mode,
    slack_client,
    slack_routes,
)
from bot.chat.slack_blocks import card_blocks
from bot.settings import Settings
from bot.web import build_web_app
from storage import repositories as repo
from tests.bot.fake_slack import BOT_USER_ID, FakeSlack
from tests.bot.helpers import EVENING, CountingDriver, run_minutes
from tests.bot.helpers import test_site_file as demo_with_people
from tests.conftest import shared_data
from tools.cards import Button, Card
from tools.clock import ManualClock
from tools.devices.simulator import SimulatedSite
from tools.site import Channels, Person, SiteFile

SECRET = "test-signing-secret-0123456789abcdef"
BOT_TOKEN = "xoxb-test-token"
CHANNEL = "C111"
OPERATOR, VIEWER = "UOLGA", "UVIC"
HANDLES = {OPERATOR: "olga.k", VIEWER: "vic"}  # Slack user names, as in block_actions payloads


def slack_site_file() -> SiteFile:
    base = demo_with_people()
    site = base.sites[0].model_copy(update={"channels": Channels(console="#demo", slack=CHANNEL)})
    return SiteFile(
        sites=[site],
        people=[
            Person(platform="slack", user_id=OPERATOR, name="Olga", role="operator"),
            Person(platform="slack", user_id=VIEWER, name="Vic", role="viewer"),
        ],
    )


@dataclass
class Rig:
    app: App
    fake: FakeSlack
    driver: CountingDriver
    http: TestClient[Any, Any]
    bolt: AsyncApp
    inflight: InFlight
    client: AsyncWebClient
    clock: ManualClock

    async def post(
        self, body: str, *, content_type: str, headers: dict[str, str] | None = None
    ) -> tuple[int, str, float]:
        """POST to /slack/events; returns (status, body, seconds to the response)."""
        started = time.perf_counter()
        response = await self.http.post(
            "/slack/events",
            data=body.encode(),
            headers={"Content-Type": content_type, **(headers or {})},
        )
        text = await response.text()
        return response.status, text, time.perf_counter() - started

    async def signed(
        self, body: str, *, content_type: str = "application/x-www-form-urlencoded", **extra: str
    ) -> tuple[int, str, float]:
        return await self.post(body, content_type=content_type, headers={**sign(body), **extra})


def sign(body: str, *, secret: str = SECRET, timestamp: int | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    assert signature is not None
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature}


def slash_body(text: str, *, user: str = OPERATOR, channel: str = CHANNEL) -> str:
    """Slack's recorded slash-command body with our command, text, user and channel."""
    raw = shared_data("slack/slash_command_body.txt").read_text().strip()
    fields = dict(parse_qsl(raw, keep_blank_values=True))
    fields.update(command="/energy", text=text, user_id=user, channel_id=channel)
    return urlencode(fields)


def click_body(*, user: str, action_id: str, value: str, message_ts: str) -> str:
    """Slack's recorded block_actions payload pressing our button on our message."""
    payload = json.loads(shared_data("slack/block_actions_payload.json").read_text())
    payload["user"].update(id=user, username=HANDLES[user], name=HANDLES[user])
    payload["container"].update(message_ts=message_ts, channel_id=CHANNEL, is_ephemeral=False)
    payload["channel"]["id"] = CHANNEL
    payload["actions"][0].update(action_id=action_id, value=value, block_id="cc")
    return "payload=" + quote(json.dumps(payload))


def event_body(event_id: str, event: dict[str, Any]) -> str:
    return json.dumps(
        {
            "token": "verification_token",
            "team_id": "T111",
            "api_app_id": "A111",
            "event": event,
            "type": "event_callback",
            "event_id": event_id,
            "event_time": 1_700_000_000,
            "authorizations": [{"team_id": "T111", "user_id": BOT_USER_ID, "is_bot": True}],
        }
    )


@asynccontextmanager
async def slack_rig(tmp_path: Path, *, signing_secret: str = SECRET) -> AsyncIterator[Rig]:
    clock = ManualClock(EVENING)
    site_file = slack_site_file()
    driver = CountingDriver(SimulatedSite(site_file.sites[0], seed=7, start=clock.now()))
    settings = Settings(
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path}/cc.sqlite",
        channel_min_interval_s=0,
    )
    async with FakeSlack() as fake:
        client = slack_client(BOT_TOKEN, base_url=fake.api_url)
        async with open_app(
            settings,
            adapter=[SlackAdapter(client)],
            clock=clock,
            site_file=site_file,
            drivers={site_file.sites[0].name: driver},
        ) as app:
            inflight = InFlight()
            bolt = build_slack_app(
                chat=app.chat,
                signing_secret=signing_secret,
                token=BOT_TOKEN,
                client=client,
                socket_mode=False,
                inflight=inflight,
            )
            web_app = build_web_app(app.engine, routes=slack_routes(bolt))
            async with TestClient(TestServer(web_app)) as http:
                try:
                    yield Rig(app, fake, driver, http, bolt, inflight, client, clock)
                finally:
                    await inflight.cancel()


def buttons_of(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for b in blocks if b["type"] == "actions" for e in b["elements"]]


# -- commands ----------------------------------------------------------------------------


async def test_slash_command_acks_fast_and_answers_in_the_channel(tmp_path: Path) -> None:
    async with slack_rig(tmp_path) as rig:
        await rig.app.monitor.poll_once()
        status, body, seconds = await rig.signed(slash_body("status"))
        assert status == 200 and seconds < 3
        assert body == "Working on it…"  # shown to the person only (ephemeral)
        answer, card = await rig.fake.wait_for(
            lambda: len(rig.fake.posts(CHANNEL)) >= 2 and rig.fake.posts(CHANNEL),
            what="the answer and the status card",
        )
        assert answer.args["text"].startswith("Demo home lab: Battery at 44.0 %")
        assert answer.token == BOT_TOKEN and "blocks" not in answer.args
        assert card.args["blocks"][0]["text"]["text"].endswith("Demo home lab status")
        assert "Battery: 44.0 %" in card.args["text"]  # the plain-text fallback
        assert rig.fake.calls_to("auth.test"), "Bolt authorised the request with auth.test"


async def test_a_30_second_handler_still_acks_within_3_seconds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with slack_rig(tmp_path) as rig:
        started = asyncio.Event()

        async def slow(_msg: object) -> None:
            started.set()
            await asyncio.sleep(30)

        monkeypatch.setattr(rig.app.chat, "handle_command", slow)
        status, _body, seconds = await rig.signed(slash_body("status"))
        assert status == 200 and seconds < 3
        await asyncio.wait_for(started.wait(), 30)
        assert len(rig.inflight) == 1  # still running after the ack
        await rig.inflight.cancel()
        assert len(rig.inflight) == 0
        assert rig.fake.posts() == []


async def test_two_asks_in_one_channel_get_two_requests_and_a_redelivery_one(
    tmp_path: Path,
) -> None:
    """Every /energy of a person in a channel shares one conversation; each ask is its own.

    The recorded slash-command body carries one trigger_id for both commands, as a
    hostile or buggy client could: the request key is not the trigger id alone.
    """
    async with slack_rig(tmp_path) as rig:
        await rig.app.monitor.poll_once()
        for text in ("ask stop the miners", "ask turn on grid charging"):
            status, _body, _s = await rig.signed(slash_body(text))
            assert status == 200
        await rig.fake.wait_for(
            lambda: len(rig.fake.posts(CHANNEL)) >= 4, what="two answers with their cards"
        )
        requests = await rig.app.actions.list_requests()
        assert sorted(r.kind for r in requests) == ["grid_charge_on", "stop_miners"]
        assert len({r.thread_id for r in requests}) == 1
        # A mention event delivered twice (Slack's retry): one answer, one request.
        event = {
            "type": "app_mention",
            "user": OPERATOR,
            "channel": CHANNEL,
            "text": f"<@{BOT_USER_ID}> start the generator",
            "ts": "1700000001.000100",
        }
        for retry in ("", "1"):
            extra = {"X-Slack-Retry-Num": retry, "X-Slack-Retry-Reason": "timeout"} if retry else {}
            status, _body, _s = await rig.signed(
                event_body("Ev0GEN", event), content_type="application/json", **extra
            )
            assert status == 200
        await rig.fake.wait_for(
            lambda: len(rig.fake.posts(CHANNEL)) >= 6, what="the generator answer and its card"
        )
        assert await rig.inflight.drain(60.0)
        kinds = sorted(r.kind for r in await rig.app.actions.list_requests())
        assert kinds == ["generator_start", "grid_charge_on", "stop_miners"]


# -- signatures --------------------------------------------------------------------------


async def test_forged_tampered_unsigned_and_stale_requests_get_401(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with slack_rig(tmp_path) as rig:
        ran: list[object] = []

        async def spy(msg: object) -> None:
            ran.append(msg)

        monkeypatch.setattr(rig.app.chat, "handle_command", spy)
        body = slash_body("status")
        form = "application/x-www-form-urlencoded"
        forged = sign(body, secret="not-the-secret")
        tampered = sign(body)
        old = sign(body, timestamp=int(time.time()) - 301)
        cases = {
            "forged": (body, forged),
            "tampered": (body.replace("text=status", "text=approvals"), tampered),
            "missing": (body, {}),
            "no signature": (
                body,
                {"X-Slack-Request-Timestamp": tampered["X-Slack-Request-Timestamp"]},
            ),
            "301 s old": (body, old),
        }
        for name, (data, headers) in cases.items():
            status, _text, _s = await rig.post(data, content_type=form, headers=headers)
            assert status == 401, name
        assert ran == [] and rig.fake.calls == [] and len(rig.inflight) == 0
        # The same body, correctly signed, is accepted: the 401s were the signature's doing.
        # Handled after them, it also shows none of them was run late (no fixed sleep).
        status, _text, _s = await rig.post(body, content_type=form, headers=sign(body))
        assert status == 200
        await rig.fake.wait_for(lambda: ran, what="the command to run")
        assert len(ran) == 1


# Slack's published example (docs "Verifying requests from Slack"; slack_sdk's tests).
VECTOR_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
VECTOR_TIMESTAMP = 1531420618
VECTOR_BODY = (
    "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
    "&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
    "&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmib"
    "IGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
VECTOR_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"


async def test_slacks_published_signature_vector(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Then(slack_sdk.signature.Clock):
        def now(self) -> float:
            return VECTOR_TIMESTAMP + 10.0

    verifier = SignatureVerifier(VECTOR_SECRET, clock=Then())
    assert verifier.generate_signature(timestamp=str(VECTOR_TIMESTAMP), body=VECTOR_BODY) == (
        VECTOR_SIGNATURE
    )
    assert verifier.is_valid(VECTOR_BODY, str(VECTOR_TIMESTAMP), VECTOR_SIGNATURE)

    # Through our route, with Bolt's clock set to 2018: accepted (404: no /webhook-collect
    # listener, but past verification), and 401 with one hex digit changed.
    monkeypatch.setattr(slack_sdk.signature.Clock, "now", lambda _self: VECTOR_TIMESTAMP + 10.0)
    async with slack_rig(tmp_path, signing_secret=VECTOR_SECRET) as rig:
        headers = {
            "X-Slack-Request-Timestamp": str(VECTOR_TIMESTAMP),
            "X-Slack-Signature": VECTOR_SIGNATURE,
        }
        form = "application/x-www-form-urlencoded"
        status, _t, _s = await rig.post(VECTOR_BODY, content_type=form, headers=headers)
        assert status == 404
        bad = {**headers, "X-Slack-Signature": VECTOR_SIGNATURE[:-1] + "0"}
        status, _t, _s = await rig.post(VECTOR_BODY, content_type=form, headers=bad)
        assert status == 401


def test_http_mode_refuses_to_build_without_a_signing_secret() -> None:
    client = AsyncWebClient(token=BOT_TOKEN)
    with pytest.raises(SlackConfigError, match="SLACK_SIGNING_SECRET"):
        build_slack_app(
            chat=None,  # type: ignore[arg-type]  # refused before it is used
            signing_secret=None,
            token=BOT_TOKEN,
            client=client,
            socket_mode=False,
        )


# -- events ------------------------------------------------------------------------------


async def test_an_event_delivered_three_times_is_answered_once_in_its_thread(
    tmp_path: Path,
) -> None:
    async with slack_rig(tmp_path) as rig:
        await rig.app.monitor.poll_once()
        mention = {
            "type": "app_mention",
            "user": OPERATOR,
            "text": f"<@{BOT_USER_ID}> how is the battery?",
            "ts": "1700000000.000100",
            "channel": CHANNEL,
            "event_ts": "1700000000.000100",
        }
        body = event_body("Ev0MENTION", mention)
        for retry in ("", "1", "2"):  # the delivery, then Slack's retries of it
            extra = {"X-Slack-Retry-Num": retry, "X-Slack-Retry-Reason": "http_timeout"}
            status, _t, seconds = await rig.signed(
                body, content_type="application/json", **(extra if retry else {})
            )
            assert status == 200 and seconds < 3
        # A DM is answered too; bot messages, edits and plain channel chatter are not.
        dm = {**mention, "type": "message", "channel": "D123", "channel_type": "im"}
        dm |= {"text": "how is the battery?", "ts": "1700000001.000100"}
        ignored = [
            {**dm, "bot_id": "B999", "ts": "1700000002.000100"},
            {**dm, "subtype": "message_changed", "ts": "1700000003.000100"},
            {**dm, "channel": CHANNEL, "channel_type": "channel", "ts": "1700000004.000100"},
        ]
        await rig.signed(event_body("Ev0DM", dm), content_type="application/json")
        for n, event in enumerate(ignored):
            await rig.signed(event_body(f"Ev0IGNORED{n}", event), content_type="application/json")
        await rig.fake.wait_for(lambda: len(answers(rig.fake)) >= 2, what="two answers")
        assert await rig.inflight.drain(10)
        assert sorted((p.args["channel"], p.args["thread_ts"]) for p in answers(rig.fake)) == [
            (CHANNEL, "1700000000.000100"),
            ("D123", "1700000001.000100"),
        ]
        assert all(
            p.args["text"].startswith("Demo home lab: Battery at") for p in answers(rig.fake)
        )
        # Each answer comes with its battery card, in the same thread.
        cards = [p for p in rig.fake.posts() if "blocks" in p.args]
        assert sorted(p.args["thread_ts"] for p in cards) == [
            "1700000000.000100",
            "1700000001.000100",
        ]


def answers(fake: FakeSlack) -> list[Any]:
    """The text answers the bot posted (cards carry blocks)."""
    return [p for p in fake.posts() if "blocks" not in p.args]


# -- alerts, cards and buttons -------------------------------------------------------------


async def test_alert_card_buttons_approve_viewer_refused_double_click_once(
    tmp_path: Path,
) -> None:
    async with slack_rig(tmp_path) as rig:
        app, fake = rig.app, rig.fake

        def alert_posts() -> list[Any]:
            return [p for p in fake.posts(CHANNEL) if p.args.get("blocks")]

        for _ in range(180):
            await run_minutes(app, rig.clock, 1)
            if alert_posts():
                break
        [card] = alert_posts()
        header = card.args["blocks"][0]
        assert header["type"] == "header" and "Battery low" in header["text"]["text"]
        buttons = {b["action_id"]: b for b in buttons_of(card.args["blocks"])}
        assert set(buttons) == {"cc_ack", "cc_snooze", "cc_approve", "cc_reject"}
        assert buttons["cc_approve"]["style"] == "primary"
        assert buttons["cc_reject"]["style"] == "danger"
        assert buttons["cc_ack"]["text"]["text"] == "Acknowledge"
        action_id = buttons["cc_approve"]["value"]
        message_ts = card.response["ts"]

        # A viewer's click is refused: an ephemeral reply, an audit entry, no relay moves.
        body = click_body(
            user=VIEWER, action_id="cc_approve", value=action_id, message_ts=message_ts
        )
        status, text, seconds = await rig.signed(body)
        assert status == 200 and text == "" and seconds < 3
        [refusal] = await fake.wait_for(lambda: fake.calls_to("chat.postEphemeral"))
        assert refusal.args["user"] == VIEWER and refusal.args["channel"] == CHANNEL
        assert "Nothing was changed" in refusal.args["text"]
        assert rig.driver.commands == []
        async with app.sessionmaker() as session, session.begin():
            audit = await repo.list_audit(session, action_id=action_id)
        assert [a.event for a in audit] == ["action_requested", "decision_denied"]
        assert audit[1].actor == f"slack:{VIEWER}"

        # The operator presses Approve twice in quick succession: one execution.
        body = click_body(
            user=OPERATOR, action_id="cc_approve", value=action_id, message_ts=message_ts
        )
        first, second = await asyncio.gather(rig.signed(body), rig.signed(body))
        assert first[0] == second[0] == 200 and max(first[2], second[2]) < 3

        def operator_replies() -> list[Any]:
            return [c for c in fake.calls_to("chat.postEphemeral") if c.args["user"] == OPERATOR]

        await fake.wait_for(lambda: len(operator_replies()) == 2, what="two replies")
        replies = operator_replies()
        texts = sorted(r.args["text"] for r in replies)
        assert any("Done and verified" in t for t in texts), texts
        assert rig.driver.inner.state.loads_on == {
            "miner-1": False,
            "miner-2": False,
            "miner-3": False,
        }
        assert len(rig.driver.commands) == 3  # three relays, switched once
        async with app.sessionmaker() as session, session.begin():
            audit = await repo.list_audit(session, action_id=action_id)
        assert [a.event for a in audit].count("action_approved") == 1
        assert [a.event for a in audit].count("action_succeeded") == 1

        # The original message was edited: the decision shown, approve/reject gone.
        updates = [u for u in fake.calls_to("chat.update") if u.args["ts"] == message_ts]
        assert updates and updates[-1].args["channel"] == CHANNEL
        final = updates[-1].args["blocks"]
        assert {b["action_id"] for b in buttons_of(final)} <= {"cc_ack", "cc_snooze"}
        shown = json.dumps(final)
        assert "*Decided by*\\nolga.k at " in shown and "*Status*\\nDone" in shown
        assert len(alert_posts()) == 1  # edited in place, not re-posted


# -- the adapter ---------------------------------------------------------------------------


async def test_429_with_retry_after_is_posted_once_later(tmp_path: Path) -> None:
    async with FakeSlack() as fake:
        adapter = SlackAdapter(slack_client(BOT_TOKEN, base_url=fake.api_url))
        fake.fail_once("chat.postMessage", status=429, retry_after=1)
        started = time.monotonic()
        ref = await adapter.post(CHANNEL, text="Battery at 38 % & falling <fast>")
        waited = time.monotonic() - started
        assert ref["platform"] == "slack" and ref["channel"] == CHANNEL and ref["ref"]
        [limited] = fake.calls_to("chat.postMessage", ok=False)
        [posted] = fake.calls_to("chat.postMessage")
        assert limited.status == 429
        assert posted.at - limited.at >= 1.0 and waited >= 1.0
        assert posted.args["text"] == "Battery at 38 % &amp; falling &lt;fast&gt;"


async def test_errors_are_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    card = Card(
        kind="action",
        title="Approval needed: Stop miners",
        buttons=[Button(label="Approve", action="approve", value="a1", style="primary")],
    )
    async with FakeSlack() as fake:
        adapter = SlackAdapter(slack_client(BOT_TOKEN, base_url=fake.api_url))
        fake.fail_once("chat.postMessage", status=200, retry_after=None, error="not_in_channel")
        ref = await adapter.post(CHANNEL, card=card)
        assert ref == {"platform": "slack", "channel": CHANNEL, "ref": ""}
        fake.fail_once("chat.update", status=200, retry_after=None, error="message_not_found")
        await adapter.update({"platform": "slack", "channel": CHANNEL, "ref": "1.2"}, card=card)
        # Editing a message that never went out posts the card instead.
        await adapter.update(ref, card=card)
        assert len(fake.posts(CHANNEL)) == 1
    assert "not_in_channel" in caplog.text and "message_not_found" in caplog.text
    assert BOT_TOKEN not in caplog.text


async def test_the_fake_records_file_uploads() -> None:
    async with FakeSlack() as fake:
        client = slack_client(BOT_TOKEN, base_url=fake.api_url)
        result = await client.files_upload_v2(
            channel=CHANNEL, content="day,kwh\n1,12.5\n", filename="report.csv", title="Report"
        )
        assert result["file"]["id"] == "F000001"
        [upload] = fake.uploads
        assert upload["filename"] == "report.csv" and upload["bytes"] == b"day,kwh\n1,12.5\n"
        [done] = fake.calls_to("files.completeUploadExternal")
        assert done.args["channel_id"] == CHANNEL


# -- Socket Mode ---------------------------------------------------------------------------


async def test_socket_mode_acks_every_envelope_and_answers_each_event_once(
    tmp_path: Path,
) -> None:
    async with slack_rig(tmp_path) as rig:
        await rig.app.monitor.poll_once()
        fake = rig.fake
        socket_app = build_slack_app(
            chat=rig.app.chat,
            signing_secret=None,
            token=BOT_TOKEN,
            client=rig.client,
            socket_mode=True,
            inflight=rig.inflight,
        )
        runner = asyncio.create_task(run_socket_mode(socket_app, "xapp-1-test"))
        try:
            command = dict(parse_qsl(slash_body("status"), keep_blank_values=True))
            await fake.send_envelope(
                {
                    "envelope_id": "env-command",
                    "type": "slash_commands",
                    "accepts_response_payload": True,
                    "payload": command,
                }
            )
            mention = json.loads(
                event_body(
                    "Ev0SOCKET",
                    {
                        "type": "app_mention",
                        "user": OPERATOR,
                        "text": f"<@{BOT_USER_ID}> battery?",
                        "ts": "1700000009.000100",
                        "channel": CHANNEL,
                    },
                )
            )
            for n in range(2):
                await fake.send_envelope(
                    {
                        "envelope_id": f"env-event-{n}",
                        "type": "events_api",
                        "accepts_response_payload": False,
                        "retry_attempt": n,
                        "retry_reason": "timeout" if n else "",
                        "payload": mention,
                    }
                )
            acks = await fake.wait_for(lambda: len(fake.acks) >= 3 and fake.acks, what="three acks")
            by_id = {a["envelope_id"]: a for a in acks}
            assert set(by_id) == {"env-command", "env-event-0", "env-event-1"}
            assert by_id["env-command"]["payload"] == {"text": "Working on it…"}
            await fake.wait_for(lambda: len(answers(fake)) >= 2, what="two answers")
            assert await rig.inflight.drain(10)
            # One answer to the command (in the channel), one to the event (in its thread).
            threads = sorted(str(p.args.get("thread_ts")) for p in answers(fake))
            assert threads == ["1700000009.000100", "None"]
            assert fake.calls_to("apps.connections.open")[0].token == "xapp-1-test"
        finally:
            runner.cancel()
            await asyncio.gather(runner, return_exceptions=True)


# -- rendering -----------------------------------------------------------------------------


def test_card_blocks_keep_slacks_limits() -> None:
    card = Card(
        kind="alert",
        title="T" * 400,
        text="<b>&" * 2000,
        fields=[(f"k{i}", "v" * 3000) for i in range(600)],
        buttons=[
            Button(label="Stop miners", action="approve", value="a1", style="primary"),
            Button(label="Grid-charge", action="approve", value="a2", style="primary"),
            Button(label="Reject", action="reject", value="a1", style="danger"),
        ],
        footer="alert 1",
    )
    blocks = card_blocks(card)
    assert len(blocks) <= 50
    assert len(blocks[0]["text"]["text"]) <= 150
    for block in blocks:
        if block["type"] == "section":
            assert len(block.get("fields", [])) <= 10
            assert all(len(f["text"]) <= 2000 for f in block.get("fields", []))
            assert len(block.get("text", {}).get("text", "")) <= 3000
        if block["type"] == "actions":
            ids = [e["action_id"] for e in block["elements"]]
            assert len(ids) == len(set(ids))
    assert [b["value"] for b in buttons_of(blocks)] == ["a1", "a1", "a2"]  # two actions blocks
    assert "&lt;b&gt;&amp;" in blocks[1]["text"]["text"]
    decided = Card(kind="action", title="Done: Stop miners", fields=[("Status", "Done")])
    assert [b["type"] for b in card_blocks(decided)] == ["header", "section"]


def test_a_group_of_thousands_of_alerts_fits_both_platforms_and_acks_whole_ids() -> None:
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from bot.chat.discord_render import button_specs, embed_dict
    from tools.alerts.engine import AlertView
    from tools.cards import MAX_GROUP_LINES, alert_group_card

    when = datetime(2026, 6, 1, 18, 0, tzinfo=UTC)
    alerts = [
        AlertView(
            id=100_000 + i,
            site="demo",
            rule=f"bulk-{i}",
            fingerprint=f"demo:bulk-{i}",
            severity="warning",
            status="firing",
            title=f"Bulk alert {i}",
            summary="seeded",
            value=None,
            proposed_action=None,
            started_at=when,
            updated_at=when,
            resolved_at=None,
            acknowledged_by=None,
            acknowledged_at=None,
            message=None,
        )
        for i in range(3_000)
    ]
    card = alert_group_card(alerts, {}, ZoneInfo("Europe/Berlin"), site_title="Demo")
    assert card.title == "3000 alerts at Demo"
    assert card.text.count("\n") == MAX_GROUP_LINES  # 20 alerts and a line counting the rest
    assert "… and 2980 more" in card.text
    [ack] = card.buttons
    ids = [int(v) for v in ack.value.split(",")]
    assert set(ids) <= {a.id for a in alerts} and ack.label == f"Acknowledge first {len(ids)}"
    assert card.footer.endswith("(3000 in all)")
    blocks = card_blocks(card)
    assert len(blocks) <= 50
    assert [b["value"] for b in buttons_of(blocks)] == [ack.value]  # whole, not cut
    assert [s.action for s in button_specs(card)] == ["ack"]  # Discord keeps the button too
    assert len(embed_dict(card).get("description", "")) <= 4096
    few = alert_group_card(alerts[:3], {}, ZoneInfo("Europe/Berlin"), site_title="Demo")
    assert few.buttons[0].label == "Acknowledge all"
    assert few.buttons[0].value == "100000,100001,100002"
