"""Alert delivery by webhook and email, against local servers, on SQLite and PostgreSQL.

The webhook receiver is a real aiohttp server on 127.0.0.1 and the mail server a
real aiosmtpd SMTP server, both on ephemeral ports in the test's own loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import random
import socket
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import Message
from typing import Any

import httpx
import pytest
from aiohttp import web
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import repositories as repo
from storage.engine import create_engine, create_sessionmaker, upgrade_database
from tools.cards import Card
from tools.clock import ManualClock
from tools.delivery import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    Deliverer,
    DeliveryConfig,
    DeliveryError,
    DeliveryStats,
    EmailTarget,
    WebhookTarget,
    format_email,
    short_url,
    webhook_payload,
)

Sessions = async_sessionmaker[AsyncSession]

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SECRET = "s3cret-signing-key"

CARD = Card(
    kind="alert",
    title="CRITICAL: Battery low",
    text="Battery at 12 %, below the 15 % floor.",
    fields=[("Since", "2026-06-01 14:00 CEST"), ("Proposed", "Stop miners")],
    tone="critical",
    footer="alert 7 · home:battery_low",
)


class FixedRandom(random.Random):
    """A random whose ``uniform`` always returns ``value`` (the jitter fraction)."""

    def __init__(self, value: float = 0.0) -> None:
        super().__init__(0)
        self.value = value

    def uniform(self, a: float, b: float) -> float:
        assert a <= self.value <= b
        return self.value


# --- local servers ------------------------------------------------------------------------


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    status: int


@dataclass
class WebhookServer:
    """Answers with ``respond(request_number)`` -> (status, headers); records every request."""

    url: str = ""
    requests: list[Received] = field(default_factory=list)
    respond: Callable[[int], tuple[int, dict[str, str]]] = lambda _n: (200, {})
    delay_s: float = 0.0

    def delivered_ids(self) -> Counter[str]:
        return Counter(r.headers[DELIVERY_HEADER] for r in self.requests if 200 <= r.status < 300)


@pytest.fixture
async def hook() -> AsyncIterator[WebhookServer]:
    server = WebhookServer()

    async def handle(request: web.Request) -> web.Response:
        body = await request.read()
        if server.delay_s:
            await asyncio.sleep(server.delay_s)
        status, headers = server.respond(len(server.requests))
        server.requests.append(Received(dict(request.headers), body, status))
        return web.Response(status=status, headers=headers)

    app = web.Application()
    app.router.add_post("/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    server.url = f"http://{host}:{port}/hooks/T0K3N"
    try:
        yield server
    finally:
        await runner.cleanup()


@dataclass
class MailServer:
    host: str
    port: int
    envelopes: list[Envelope] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)

    def message(self, n: int = 0) -> Message:
        content = self.envelopes[n].original_content
        assert content is not None
        return message_from_bytes(content)


@pytest.fixture
async def smtp() -> AsyncIterator[MailServer]:
    mail = MailServer("127.0.0.1", 0)

    class Handler:
        async def handle_DATA(
            self, server: SMTPServer, session: Session, envelope: Envelope
        ) -> str:
            mail.envelopes.append(envelope)
            return "250 Message accepted"

    def authenticator(
        server: SMTPServer, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        login, password = data.login.decode(), data.password.decode()
        mail.logins.append((login, password))
        return AuthResult(success=(login, password) == ("alerts", "mail-pw"), handled=False)

    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTPServer(
            Handler(),
            hostname="mail.test",
            authenticator=authenticator,
            auth_require_tls=False,
        ),
        "127.0.0.1",
        0,
    )
    mail.port = server.sockets[0].getsockname()[1]
    try:
        yield mail
    finally:
        server.close()
        await server.wait_closed()


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (connections are refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


# --- helpers ------------------------------------------------------------------------------


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


def make_deliverer(
    sessionmaker: Sessions,
    http: httpx.AsyncClient,
    clock: ManualClock,
    *,
    jitter: float = 0.0,
    **kwargs: Any,
) -> Deliverer:
    return Deliverer(
        sessionmaker=sessionmaker, http=http, clock=clock, rng=FixedRandom(jitter), **kwargs
    )


async def enqueue(
    deliverer: Deliverer,
    config: DeliveryConfig,
    *,
    severity: str = "critical",
    event: str = "fired",
    alert_id: int | None = 7,
) -> int:
    return await deliverer.enqueue(
        card=CARD,
        site="home",
        site_title="Home lab",
        alert_id=alert_id,
        event=event,
        severity=severity,
        config=config,
    )


async def rows(sessionmaker: Sessions) -> list[Any]:
    async with sessionmaker() as s:
        return list(await repo.list_deliveries(s))


def webhook(url: str, **kwargs: Any) -> DeliveryConfig:
    return DeliveryConfig(webhooks=[WebhookTarget(url=url, **kwargs)])


def email(mail: MailServer, **kwargs: Any) -> DeliveryConfig:
    target = EmailTarget(
        to=["ops@example.com", "owner@example.com"],
        smtp_host=mail.host,
        smtp_port=mail.port,
        starttls=False,
        sender="CommandCenter <cc@example.com>",
        **kwargs,
    )
    return DeliveryConfig(email=target)


# --- pure parts -----------------------------------------------------------------------------


def test_format_email_subject_and_body() -> None:
    subject, body = format_email(CARD, site_title="Home lab")
    assert subject == "[Home lab] CRITICAL: Battery low"
    assert body.startswith("CRITICAL: Battery low\n\nBattery at 12 %, below the 15 % floor.\n")
    assert "Since: 2026-06-01 14:00 CEST\nProposed: Stop miners\n" in body
    assert "alert 7 · home:battery_low" in body
    # A title with line breaks cannot inject headers; long subjects are cut.
    long = Card(kind="alert", title="Fuel\r\nBcc: x@y.z " + "spike " * 60)
    subject, _ = format_email(long, site_title="Factory")
    assert "\n" not in subject and "\r" not in subject
    assert len(subject) == 200 and subject.endswith("…")


def test_webhook_payload_shape() -> None:
    payload = webhook_payload(
        CARD, site="home", alert_id=7, event="fired", severity="critical", time=T0
    )
    assert payload == {
        "version": 1,
        "site": "home",
        "alert_id": 7,
        "event": "fired",
        "severity": "critical",
        "title": "CRITICAL: Battery low",
        "text": "Battery at 12 %, below the 15 % floor.",
        "fields": {"Since": "2026-06-01 14:00 CEST", "Proposed": "Stop miners"},
        "time": "2026-06-01T12:00:00+00:00",
    }
    with pytest.raises(ValueError, match="naive"):
        webhook_payload(
            CARD,
            site="home",
            alert_id=7,
            event="fired",
            severity="critical",
            time=datetime(2026, 1, 1),
        )


def test_config_is_strict() -> None:
    with pytest.raises(ValidationError, match="extra"):
        DeliveryConfig.model_validate({"webhooks": [], "smtp": "x"})
    with pytest.raises(ValidationError, match="password_env"):
        EmailTarget(to=["a@b.c"], smtp_host="h", sender="c@d.e", username="u")
    with pytest.raises(ValidationError, match="not an email address"):
        EmailTarget(to=["nobody"], smtp_host="h", sender="c@d.e")
    with pytest.raises(ValidationError, match="http"):
        WebhookTarget(url="ftp://example.com/x")
    with pytest.raises(ValidationError, match="set by CommandCenter"):
        WebhookTarget(url="https://example.com/x", headers={"X-CommandCenter-Signature": "x"})
    with pytest.raises(ValidationError, match="one line"):
        WebhookTarget(url="https://example.com/x", headers={"Authorization": "a\r\nb: c"})
    config = DeliveryConfig.model_validate(
        {"webhooks": [{"url": "https://example.com/x"}], "min_severity": "critical"}
    )
    with pytest.raises(ValidationError, match="frozen"):
        config.min_severity = "info"
    assert DeliveryConfig().min_severity == "warning"


def test_short_url_hides_paths_and_queries() -> None:
    assert short_url("https://hooks.example.com/services/T0/B0/SECRET") == (
        "https://hooks.example.com/…"
    )
    assert short_url("http://127.0.0.1:8080/?token=abc") == "http://127.0.0.1:8080/…"
    assert short_url("https://example.com") == "https://example.com"


def test_stats_summary_wording() -> None:
    assert DeliveryStats(
        pending=0, sent=0, failed=0, oldest_pending=None, latest_failed=None
    ).summary() == ("No deliveries yet.")
    assert DeliveryStats(
        pending=0, sent=4, failed=0, oldest_pending=None, latest_failed=None
    ).summary() == ("All 4 deliveries sent.")


# --- webhooks -------------------------------------------------------------------------------


async def test_webhook_payload_headers_and_signature(
    sessionmaker: Sessions,
    http: httpx.AsyncClient,
    clock: ManualClock,
    hook: WebhookServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CC_HOOK_SECRET", SECRET)
    deliverer = make_deliverer(sessionmaker, http, clock)
    config = webhook(hook.url, headers={"X-Team": "ops"}, secret_env="CC_HOOK_SECRET")
    assert await enqueue(deliverer, config) == 1

    report = await deliverer.run_due()
    assert (report.claimed, report.sent, report.retried, report.failed) == (1, 1, 0, 0)

    [request] = hook.requests
    assert json.loads(request.body) == webhook_payload(
        CARD, site="home", alert_id=7, event="fired", severity="critical", time=T0
    )
    expected = hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    assert request.headers[SIGNATURE_HEADER] == f"sha256={expected}"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-Team"] == "ops"
    assert request.headers[EVENT_HEADER] == "fired"
    [row] = await rows(sessionmaker)
    assert request.headers[DELIVERY_HEADER] == str(row.id)
    assert (row.status, row.attempts, row.sent_at, row.next_attempt_at) == ("sent", 1, T0, None)
    assert SECRET not in json.dumps(row.payload)
    assert (await deliverer.stats()).summary() == "All 1 deliveries sent."

    # Nothing is due any more: a second run claims nothing and sends nothing.
    assert (await deliverer.run_due()).claimed == 0
    assert len(hook.requests) == 1


async def test_webhook_500_twice_then_200_is_sent_on_the_third_attempt(
    sessionmaker: Sessions, http: httpx.AsyncClient, clock: ManualClock, hook: WebhookServer
) -> None:
    hook.respond = lambda n: (500, {}) if n < 2 else (200, {})
    deliverer = make_deliverer(sessionmaker, http, clock)
    await enqueue(deliverer, webhook(hook.url))

    assert (await deliverer.run_due()).retried == 1
    [row] = await rows(sessionmaker)
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.next_attempt_at == T0 + timedelta(seconds=30)
    assert row.last_error == f"webhook {short_url(hook.url)} returned 500 Internal Server Error"
    assert "T0K3N" not in row.last_error

    clock.advance(timedelta(seconds=29))  # not yet due
    assert (await deliverer.run_due()).claimed == 0
    clock.advance(timedelta(seconds=1))
    assert (await deliverer.run_due()).retried == 1
    [row] = await rows(sessionmaker)
    assert row.attempts == 2
    assert row.next_attempt_at == T0 + timedelta(seconds=30 + 60)

    clock.advance(timedelta(seconds=60))
    assert (await deliverer.run_due()).sent == 1
    [row] = await rows(sessionmaker)
    assert (row.status, row.attempts) == ("sent", 3)
    assert row.sent_at == T0 + timedelta(seconds=90)
    assert [r.status for r in hook.requests] == [500, 500, 200]
    assert len(set(r.headers[DELIVERY_HEADER] for r in hook.requests)) == 1


async def test_backoff_doubles_with_jitter_is_capped_and_gives_up(
    sessionmaker: Sessions, http: httpx.AsyncClient, clock: ManualClock, hook: WebhookServer
) -> None:
    hook.respond = lambda n: (503, {})
    deliverer = make_deliverer(sessionmaker, http, clock, jitter=-0.1, max_attempts=9)
    await enqueue(deliverer, webhook(hook.url))

    delays = []
    for _ in range(8):
        assert (await deliverer.run_due()).retried == 1
        [row] = await rows(sessionmaker)
        assert row.next_attempt_at is not None
        delays.append((row.next_attempt_at - clock.now()).total_seconds())
        clock.set(row.next_attempt_at)
    # 30 s × 2^(n-1), capped at 1 h, each 10 % short (the injected jitter).
    assert delays == pytest.approx([27, 54, 108, 216, 432, 864, 1728, 3240])

    assert (await deliverer.run_due()).failed == 1
    [row] = await rows(sessionmaker)
    assert (row.status, row.attempts, row.next_attempt_at) == ("failed", 9, None)
    assert row.last_error.endswith("returned 503 Service Unavailable (gave up after 9 attempts)")
    stats = await deliverer.stats()
    assert (stats.pending, stats.sent, stats.failed) == (0, 0, 1)
    assert stats.summary() == f"1 delivery failed: {row.last_error}"
    assert (await deliverer.run_due()).claimed == 0  # failed rows are kept, not retried


async def test_webhook_429_honours_retry_after(
    sessionmaker: Sessions, http: httpx.AsyncClient, clock: ManualClock, hook: WebhookServer
) -> None:
    hook.respond = lambda n: (429, {"Retry-After": "300"}) if n == 0 else (204, {})
    deliverer = make_deliverer(sessionmaker, http, clock)
    await enqueue(deliverer, webhook(hook.url))
    assert (await deliverer.run_due()).retried == 1
    [row] = await rows(sessionmaker)
    assert row.next_attempt_at == T0 + timedelta(seconds=300)
    clock.advance(timedelta(seconds=300))
    assert (await deliverer.run_due()).sent == 1


async def test_webhook_404_fails_at_once_and_shows_in_stats(
    sessionmaker: Sessions, http: httpx.AsyncClient, clock: ManualClock, hook: WebhookServer
) -> None:
    hook.respond = lambda n: (404, {})
    deliverer = make_deliverer(sessionmaker, http, clock)
    await enqueue(deliverer, DeliveryConfig(webhooks=[WebhookTarget(url=hook.url)] * 2))

    report = await deliverer.run_due()
    assert (report.claimed, report.failed) == (2, 2)
    for row in await rows(sessionmaker):
        assert (row.status, row.attempts) == ("failed", 1)
        assert row.last_error == f"webhook {short_url(hook.url)} returned 404 Not Found"
    stats = await deliverer.stats()
    assert (stats.pending, stats.sent, stats.failed) == (0, 0, 2)
    assert stats.latest_failed is not None and stats.latest_failed.channel == "webhook"
    assert stats.summary() == (
        f"2 deliveries failed: webhook http://127.0.0.1:{hook.url.split(':')[2].split('/')[0]}/…"
        " returned 404 Not Found"
    )
    clock.advance(timedelta(hours=2))
    assert (await deliverer.run_due()).claimed == 0
    assert len(hook.requests) == 2


async def test_webhook_down_schedules_a_retry_with_a_clear_error(
    sessionmaker: Sessions, http: httpx.AsyncClient, clock: ManualClock
) -> None:
    port = closed_port()
    deliverer = make_deliverer(sessionmaker, http, clock)
    await enqueue(deliverer, webhook(f"http://127.0.0.1:{port}/hook?token=abc"))

    assert (await deliverer.run_due()).retried == 1
    [row] = await rows(sessionmaker)
    assert row.status == "pending"
    assert row.next_attempt_at == T0 + timedelta(seconds=30)
    assert row.last_error == (
        f"could not connect to webhook http://127.0.0.1:{port}/…: connection refused"
    )
    stats = await deliverer.stats()
    assert stats.summary() == (
        "1 delivery pending (oldest queued 2026-06-01 12:00 UTC, 1 attempts, "
        f"last error: {row.last_error})"
    )


async def test_webhook_timeout_retries(
    sessionmaker: Sessions, http: httpx.AsyncClient, clock: ManualClock, hook: WebhookServer
) -> None:
    hook.delay_s = 0.5
    deliverer = make_deliverer(sessionmaker, http, clock, timeout_s=0.1)
    await enqueue(deliverer, webhook(hook.url))
    assert (await deliverer.run_due()).retried == 1
    [row] = await rows(sessionmaker)
    assert row.last_error == f"webhook {short_url(hook.url)} did not answer within 0.1 s"


async def test_missing_signing_secret_is_retried_not_sent_unsigned(
    sessionmaker: Sessions,
    http: httpx.AsyncClient,
    clock: ManualClock,
    hook: WebhookServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CC_MISSING_SECRET", raising=False)
    deliverer = make_deliverer(sessionmaker, http, clock)
    await enqueue(deliverer, webhook(hook.url, secret_env="CC_MISSING_SECRET"))
    assert (await deliverer.run_due()).retried == 1
    assert hook.requests == []
    [row] = await rows(sessionmaker)
    assert "CC_MISSING_SECRET is not set" in row.last_error


# --- email ----------------------------------------------------------------------------------


async def test_email_is_sent_with_subject_body_and_recipients(
    sessionmaker: Sessions, http: httpx.AsyncClient, clock: ManualClock, smtp: MailServer
) -> None:
    deliverer = make_deliverer(sessionmaker, http, clock)
    assert await enqueue(deliverer, email(smtp)) == 1
    assert (await deliverer.run_due()).sent == 1

    [envelope] = smtp.envelopes
    assert envelope.mail_from == "cc@example.com"
    assert envelope.rcpt_tos == ["ops@example.com", "owner@example.com"]
    message = smtp.message()
    subject, body = format_email(CARD, site_title="Home lab")
    assert message["Subject"] == subject == "[Home lab] CRITICAL: Battery low"
    assert message["From"] == "CommandCenter <cc@example.com>"
    assert message["To"] == "ops@example.com, owner@example.com"
    [row] = await rows(sessionmaker)
    assert message[DELIVERY_HEADER] == str(row.id)
    assert message["Message-ID"] == f"<delivery-{row.id}.{int(T0.timestamp())}@example.com>"
    text = message.get_payload(decode=True).decode()  # type: ignore[union-attr]
    assert text.replace("\r\n", "\n") == body
    assert "Proposed: Stop miners" in text
    assert (row.channel, row.target, row.status) == (
        "email",
        "ops@example.com, owner@example.com",
        "sent",
    )


async def test_email_login_takes_the_password_from_the_environment(
    sessionmaker: Sessions,
    http: httpx.AsyncClient,
    clock: ManualClock,
    smtp: MailServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    deliverer = make_deliverer(sessionmaker, http, clock)
    config = email(smtp, username="alerts", password_env="CC_SMTP_PASSWORD")

    monkeypatch.delenv("CC_SMTP_PASSWORD", raising=False)
    await enqueue(deliverer, config)
    assert (await deliverer.run_due()).retried == 1
    [row] = await rows(sessionmaker)
    assert "CC_SMTP_PASSWORD is not set" in row.last_error

    monkeypatch.setenv("CC_SMTP_PASSWORD", "mail-pw")
    clock.advance(timedelta(minutes=1))
    assert (await deliverer.run_due()).sent == 1
    assert smtp.logins == [("alerts", "mail-pw")]
    assert len(smtp.envelopes) == 1

    # A wrong password is refused by the server: failed at once, no secret in the message.
    monkeypatch.setenv("CC_SMTP_PASSWORD", "wrong-pw")
    await enqueue(deliverer, config)
    assert (await deliverer.run_due()).failed == 1
    failed = (await rows(sessionmaker))[-1]
    assert failed.last_error.startswith(f"SMTP server 127.0.0.1:{smtp.port} refused the login")
    assert "wrong-pw" not in failed.last_error and "mail-pw" not in failed.last_error


async def test_email_connection_refused_is_retried(
    sessionmaker: Sessions, http: httpx.AsyncClient, clock: ManualClock
) -> None:
    port = closed_port()
    deliverer = make_deliverer(sessionmaker, http, clock)
    await enqueue(deliverer, email(MailServer("127.0.0.1", port)))
    assert (await deliverer.run_due()).retried == 1
    [row] = await rows(sessionmaker)
    assert (row.status, row.next_attempt_at) == ("pending", T0 + timedelta(seconds=30))
    assert row.last_error == (
        f"could not connect to SMTP server 127.0.0.1:{port}: connection refused"
    )


async def test_injected_smtp_sender_and_permanent_errors(
    sessionmaker: Sessions, http: httpx.AsyncClient, clock: ManualClock
) -> None:
    sent: list[str] = []

    async def sender(target: EmailTarget, message: Any) -> None:
        sent.append(message["Subject"])
        raise DeliveryError("mailbox full", retry=False)

    deliverer = make_deliverer(sessionmaker, http, clock, smtp_send=sender)
    await enqueue(deliverer, email(MailServer("127.0.0.1", 25)))
    assert (await deliverer.run_due()).failed == 1
    assert sent == ["[Home lab] CRITICAL: Battery low"]
    [row] = await rows(sessionmaker)
    assert (row.status, row.last_error) == ("failed", "mailbox full")


# --- queueing -------------------------------------------------------------------------------


async def test_min_severity_filters_and_each_target_gets_a_row(
    sessionmaker: Sessions, http: httpx.AsyncClient, clock: ManualClock
) -> None:
    deliverer = make_deliverer(sessionmaker, http, clock)
    target = EmailTarget(to=["ops@example.com"], smtp_host="mail.test", sender="cc@example.com")
    config = DeliveryConfig(
        email=target,
        webhooks=[
            WebhookTarget(url="https://a.example/x"),
            WebhookTarget(url="https://b.example/"),
        ],
    )
    assert await enqueue(deliverer, config, severity="info") == 0
    assert await enqueue(deliverer, config, severity="warning") == 3
    critical_only = config.model_copy(update={"min_severity": "critical"})
    assert await enqueue(deliverer, critical_only, severity="warning") == 0
    assert await enqueue(deliverer, critical_only, severity="critical", event="resolved") == 3
    assert await enqueue(deliverer, DeliveryConfig(), severity="critical") == 0
    with pytest.raises(DeliveryError, match="unknown severity"):
        await enqueue(deliverer, config, severity="fatal")

    queued = await rows(sessionmaker)
    assert [(r.channel, r.event, r.status) for r in queued] == [
        ("email", "fired", "pending"),
        ("webhook", "fired", "pending"),
        ("webhook", "fired", "pending"),
        ("email", "resolved", "pending"),
        ("webhook", "resolved", "pending"),
        ("webhook", "resolved", "pending"),
    ]
    assert queued[1].target == "https://a.example/x"
    assert queued[1].payload["body"]["severity"] == "warning"
    stats = await deliverer.stats()
    assert (stats.pending, stats.sent, stats.failed) == (6, 0, 0)
    assert stats.summary() == "6 deliveries pending"


async def test_enqueue_in_the_callers_transaction(
    sessionmaker: Sessions, http: httpx.AsyncClient, clock: ManualClock
) -> None:
    deliverer = make_deliverer(sessionmaker, http, clock)
    config = webhook("https://example.com/hook")
    async with sessionmaker() as session, session.begin():
        assert (
            await deliverer.enqueue(
                card=CARD,
                site="home",
                site_title="Home lab",
                alert_id=None,
                event="fired",
                severity="critical",
                config=config,
                session=session,
            )
            == 1
        )
        await session.rollback()
    assert await rows(sessionmaker) == []  # rolled back with the caller's transaction


async def test_burst_while_the_webhook_is_down_is_sent_exactly_once_each(
    sessionmaker: Sessions, http: httpx.AsyncClient, clock: ManualClock, hook: WebhookServer
) -> None:
    # Down (503) for the first five minutes, then up.
    hook.respond = lambda n: (503, {}) if clock.now() < T0 + timedelta(minutes=5) else (200, {})
    deliverer = make_deliverer(sessionmaker, http, clock, jitter=0.1)
    config = webhook(hook.url)
    for i in range(20):
        await enqueue(deliverer, config, alert_id=i)

    for _ in range(100):
        await deliverer.run_due(limit=7)
        stats = await deliverer.stats()
        if stats.pending == 0:
            break
        clock.advance(timedelta(seconds=15))
    assert (stats.pending, stats.sent, stats.failed) == (0, 20, 0)

    ids = {str(r.id) for r in await rows(sessionmaker)}
    delivered = hook.delivered_ids()
    assert set(delivered) == ids and set(delivered.values()) == {1}
    assert any(r.status == 503 for r in hook.requests)
    # No request for a delivery after it succeeded.
    seen_ok: set[str] = set()
    for request in hook.requests:
        assert request.headers[DELIVERY_HEADER] not in seen_ok
        if request.status == 200:
            seen_ok.add(request.headers[DELIVERY_HEADER])


async def test_two_workers_send_each_delivery_once(
    postgres_url: str, http: httpx.AsyncClient, clock: ManualClock, hook: WebhookServer
) -> None:
    """Two processes' worth of Deliverers (separate engines) on the same due rows."""
    hook.delay_s = 0.01
    engines = [create_engine(postgres_url), create_engine(postgres_url)]
    try:
        await upgrade_database(engines[0])
        workers = [
            make_deliverer(create_sessionmaker(e), http, clock, concurrency=4) for e in engines
        ]
        for i in range(40):
            await enqueue(workers[0], webhook(hook.url), alert_id=i)

        async def drain(worker: Deliverer) -> int:
            total = 0
            while (report := await worker.run_due(limit=3)).claimed:
                total += report.sent
            return total

        counts = await asyncio.gather(drain(workers[0]), drain(workers[1]))
        assert sum(counts) == 40
        assert all(counts), f"both workers should have taken part: {counts}"
        delivered = hook.delivered_ids()
        assert len(delivered) == 40 and set(delivered.values()) == {1}
        assert len(hook.requests) == 40
    finally:
        for e in engines:
            await e.dispose()
