"""Alert delivery beyond chat: email (SMTP) and generic webhooks (JSON POST).

Nothing is sent at the moment an alert changes. :meth:`Deliverer.enqueue` writes
one ``deliveries`` row per email target and webhook (an outbox; pass ``session=``
to write it in the same transaction as the alert change), and
:meth:`Deliverer.run_due`, run by a scheduled job, claims the due rows, sends
them and marks each one ``sent``, retried later with exponential backoff, or
``failed``. Failed rows stay in the table and show in :meth:`Deliverer.stats`:
a delivery is never dropped silently.

Guarantees: on PostgreSQL two workers never claim the same row (``FOR UPDATE
SKIP LOCKED``, then a lease on ``next_attempt_at``). Delivery is at least once:
a worker that dies between sending and recording the result sends the row
again when its lease runs out. Receivers can deduplicate on the delivery id
(``X-CommandCenter-Delivery`` header, also in the email headers; the email's
``Message-ID`` is the same for every attempt).

Webhook body (``Content-Type: application/json``), version 1::

    {"version": 1, "site": "home", "alert_id": 7, "event": "fired",
     "severity": "critical", "title": "CRITICAL: Battery low",
     "text": "Battery at 12 %...", "fields": {"Since": "2026-06-01 14:00 CEST"},
     "time": "2026-06-01T12:00:00+00:00"}

``fields`` maps the card's field names to their values. When the webhook has a
``secret_env``, the exact body bytes are signed with HMAC-SHA256 and sent as
``X-CommandCenter-Signature: sha256=<hex>``.

Secrets (the SMTP password, the webhook signing secret) are read from the
environment at send time and are never stored, logged or put in an error
message; webhook URLs in messages are shortened to scheme, host and port.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import os
import random
import smtplib
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Any, Literal

import httpx
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import repositories as repo
from storage.models import DeliveryRow
from tools.alerts.context import SEVERITY_RANK
from tools.cards import Card
from tools.clock import Clock
from tools.delivery_config import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    DeliveryConfig,
    EmailTarget,
    WebhookTarget,
    short_url,
)
from tools.errors import ToolsError

__all__ = [
    "DELIVERY_HEADER",
    "EVENT_HEADER",
    "SIGNATURE_HEADER",
    "Deliverer",
    "DeliveryBrief",
    "DeliveryConfig",
    "DeliveryError",
    "DeliveryReport",
    "DeliveryStats",
    "EmailTarget",
    "SmtpSender",
    "WebhookTarget",
    "build_email",
    "encode_body",
    "format_email",
    "send_smtp",
    "short_url",
    "sign_body",
    "webhook_payload",
]

log = logging.getLogger(__name__)

USER_AGENT = "CommandCenter-Delivery/1"
PAYLOAD_VERSION = 1
SEND_TIMEOUT_S = 10.0
_MAX_ERROR_CHARS = 300
_MAX_SUBJECT_CHARS = 200


class DeliveryError(ToolsError):
    """A delivery could not be sent. ``retry`` says whether trying again may help."""

    def __init__(self, message: str, *, retry: bool, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry = retry
        self.retry_after_s = retry_after_s


# --- configuration ---------------------------------------------------------------------


# --- pure formatting ---------------------------------------------------------------------


def _one_line(text: str) -> str:
    return " ".join(text.split())


def format_email(card: Card, *, site_title: str) -> tuple[str, str]:
    """The (subject, plain-text body) of an alert email for ``card``."""
    title = _one_line(card.title)
    site = _one_line(site_title)
    subject = f"[{site}] {title}" if site else title
    if len(subject) > _MAX_SUBJECT_CHARS:
        subject = subject[: _MAX_SUBJECT_CHARS - 1] + "…"
    lines = [card.title.strip(), ""]
    if card.text.strip():
        lines += [card.text.strip(), ""]
    if card.fields:
        lines += [f"{name}: {value}" for name, value in card.fields]
        lines.append("")
    if card.buttons:
        lines += ["Acknowledge or decide in the chat channel of this site.", ""]
    if card.footer:
        lines += [card.footer, ""]
    lines.append(f"-- \nCommandCenter{f', {site}' if site else ''}")
    return subject, "\n".join(lines) + "\n"


def webhook_payload(
    card: Card,
    *,
    site: str,
    alert_id: int | None,
    event: str,
    severity: str,
    time: datetime,
) -> dict[str, Any]:
    """The version-1 JSON body of a webhook delivery (see the module docstring)."""
    if time.tzinfo is None:
        raise ValueError("naive datetime given as the event time")
    return {
        "version": PAYLOAD_VERSION,
        "site": site,
        "alert_id": alert_id,
        "event": event,
        "severity": severity,
        "title": card.title,
        "text": card.text,
        "fields": {name: value for name, value in card.fields},
        "time": time.astimezone(UTC).isoformat(),
    }


def encode_body(body: dict[str, Any]) -> bytes:
    """The exact bytes sent (and signed) for a webhook body."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def sign_body(secret: str, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 of the body bytes with the shared secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def build_email(
    *,
    delivery_id: int,
    subject: str,
    text: str,
    target: EmailTarget,
    created_at: datetime,
    now: datetime,
) -> EmailMessage:
    """The message for one delivery; its Message-ID is the same for every attempt."""
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = target.sender
    message["To"] = ", ".join(target.to)
    message["Date"] = format_datetime(now.astimezone(UTC))
    domain = parseaddr(target.sender)[1].rpartition("@")[2] or "commandcenter.invalid"
    message["Message-ID"] = f"<delivery-{delivery_id}.{int(created_at.timestamp())}@{domain}>"
    message[DELIVERY_HEADER] = str(delivery_id)
    message.set_content(text)
    return message


# --- SMTP -------------------------------------------------------------------------------

SmtpSender = Callable[[EmailTarget, EmailMessage], Awaitable[None]]


async def send_smtp(
    target: EmailTarget, message: EmailMessage, *, timeout_s: float = SEND_TIMEOUT_S
) -> None:
    """Send with the standard library's ``smtplib`` in a worker thread.

    STARTTLS (certificate verified) when ``target.starttls``; login when a
    username is set, with the password from ``target.password_env``.
    """
    password: str | None = None
    if target.username:
        password = os.environ.get(target.password_env or "")
        if not password:
            raise DeliveryError(
                f"the SMTP password environment variable {target.password_env} is not set "
                f"(needed to log in to {target.server})",
                retry=True,
            )
    await asyncio.to_thread(_send_smtp_blocking, target, message, password, timeout_s)


def _send_smtp_blocking(
    target: EmailTarget, message: EmailMessage, password: str | None, timeout_s: float
) -> None:
    with smtplib.SMTP(target.smtp_host, target.smtp_port, timeout=timeout_s) as smtp:
        if target.starttls:
            smtp.starttls(context=ssl.create_default_context())
        if target.username and password is not None:
            smtp.login(target.username, password)
        refused = smtp.send_message(message)
    if refused:
        log.warning("SMTP server %s refused some recipients: %s", target.server, sorted(refused))


def _smtp_reply(err: smtplib.SMTPResponseException) -> str:
    raw = err.smtp_error
    text = raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
    return _clip(f"{err.smtp_code} {_one_line(text)}")


def _smtp_error(err: Exception, target: EmailTarget) -> DeliveryError:
    """Translate what ``smtplib`` / the socket raised into a short message and a verdict."""
    server = f"SMTP server {target.server}"
    if isinstance(err, DeliveryError):
        return err
    if isinstance(err, smtplib.SMTPAuthenticationError):
        return DeliveryError(
            f"{server} refused the login of {target.username} ({_smtp_reply(err)}); "
            f"check the username and the password in ${target.password_env}",
            retry=False,
        )
    if isinstance(err, smtplib.SMTPRecipientsRefused):
        refused = ", ".join(sorted(err.recipients))
        return DeliveryError(_clip(f"{server} refused every recipient: {refused}"), retry=False)
    if isinstance(err, smtplib.SMTPNotSupportedError):
        return DeliveryError(
            f"{server} does not support what we asked ({_one_line(str(err))}); "
            "check the starttls and username settings",
            retry=False,
        )
    if isinstance(err, smtplib.SMTPResponseException):
        permanent = err.smtp_code >= 500
        return DeliveryError(f"{server} answered {_smtp_reply(err)}", retry=not permanent)
    if isinstance(err, smtplib.SMTPServerDisconnected):
        return DeliveryError(f"{server} closed the connection unexpectedly", retry=True)
    if isinstance(err, smtplib.SMTPException):
        return DeliveryError(_clip(f"{server}: {_one_line(str(err))}"), retry=True)
    if isinstance(err, TimeoutError):
        return DeliveryError(f"{server} did not answer within {SEND_TIMEOUT_S:.0f} s", retry=True)
    if isinstance(err, ssl.SSLCertVerificationError):
        return DeliveryError(
            f"{server} presented a TLS certificate that could not be verified "
            f"({err.verify_message})",
            retry=False,
        )
    if isinstance(err, ssl.SSLError):
        return DeliveryError(f"TLS with {server} failed ({err.reason or 'SSL error'})", retry=True)
    if isinstance(err, ConnectionRefusedError):
        return DeliveryError(f"could not connect to {server}: connection refused", retry=True)
    if isinstance(err, OSError):
        reason = err.strerror or type(err).__name__
        return DeliveryError(f"could not reach {server}: {reason}", retry=True)
    return DeliveryError(f"sending to {server} failed ({type(err).__name__})", retry=True)


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_ERROR_CHARS else text[: _MAX_ERROR_CHARS - 1] + "…"


# --- results ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryReport:
    """What one :meth:`Deliverer.run_due` did."""

    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    # Sent or not, but the result could not be written (database trouble): these
    # rows come due again when their lease runs out and may be sent twice.
    unrecorded: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryBrief:
    id: int
    channel: str
    target: str  # shortened for display
    event: str
    attempts: int
    created_at: datetime
    last_error: str | None

    @classmethod
    def of(cls, row: DeliveryRow) -> DeliveryBrief:
        target = short_url(row.target) if row.channel == "webhook" else row.target
        return cls(
            id=row.id,
            channel=row.channel,
            target=target,
            event=row.event,
            attempts=row.attempts,
            created_at=row.created_at,
            last_error=row.last_error,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryStats:
    pending: int
    sent: int
    failed: int
    oldest_pending: DeliveryBrief | None
    latest_failed: DeliveryBrief | None

    def summary(self) -> str:
        """One line for status answers, e.g.
        "3 deliveries pending, 1 failed: webhook https://host/… returned 500"."""
        if not (self.pending or self.failed):
            return f"All {self.sent} deliveries sent." if self.sent else "No deliveries yet."
        parts = []
        if self.pending:
            part = f"{self.pending} {'delivery' if self.pending == 1 else 'deliveries'} pending"
            oldest = self.oldest_pending
            if oldest is not None and oldest.last_error:
                part += (
                    f" (oldest queued {oldest.created_at:%Y-%m-%d %H:%M} UTC, "
                    f"{oldest.attempts} attempts, last error: {oldest.last_error})"
                )
            parts.append(part)
        if self.failed:
            part = f"{self.failed} failed"
            if not self.pending:
                part = f"{self.failed} {'delivery' if self.failed == 1 else 'deliveries'} failed"
            if self.latest_failed is not None and self.latest_failed.last_error:
                part += f": {self.latest_failed.last_error}"
            parts.append(part)
        return ", ".join(parts)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Claimed:
    """A claimed row, copied out of its session."""

    id: int
    channel: str
    event: str
    attempts: int
    payload: dict[str, Any]
    created_at: datetime

    @classmethod
    def of(cls, row: DeliveryRow) -> _Claimed:
        return cls(
            id=row.id,
            channel=row.channel,
            event=row.event,
            attempts=row.attempts,
            payload=row.payload,
            created_at=row.created_at,
        )


Outcome = Literal["sent", "retried", "failed", "unrecorded"]


# --- the deliverer ------------------------------------------------------------------------


class Deliverer:
    """Queues alert deliveries and sends the due ones. See the module docstring."""

    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        http: httpx.AsyncClient,
        clock: Clock,
        smtp_send: SmtpSender = send_smtp,
        rng: random.Random | None = None,
        max_attempts: int = 8,
        base_delay: timedelta = timedelta(seconds=30),
        max_delay: timedelta = timedelta(hours=1),
        jitter: float = 0.1,
        lease: timedelta = repo.DEFAULT_DELIVERY_LEASE,
        concurrency: int = 8,
        timeout_s: float = SEND_TIMEOUT_S,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._sessionmaker = sessionmaker
        self._http = http
        self._clock = clock
        self._smtp_send = smtp_send
        self._rng = rng or random.Random()
        self._max_attempts = max_attempts
        self._base_delay = base_delay
        self._max_delay = max_delay
        self._jitter = jitter
        self._lease = lease
        self._concurrency = concurrency
        self._timeout_s = timeout_s

    # -- queueing --

    async def enqueue(
        self,
        *,
        card: Card,
        site: str,
        site_title: str,
        alert_id: int | None,
        event: str,
        severity: str,
        config: DeliveryConfig,
        session: AsyncSession | None = None,
    ) -> int:
        """Queue one delivery per email target and webhook; returns how many.

        Nothing is queued when ``severity`` is below ``config.min_severity``.
        With ``session`` the rows join the caller's transaction (commit is the
        caller's); otherwise they are committed here.
        """
        if severity not in SEVERITY_RANK:
            raise DeliveryError(
                f"unknown severity {severity!r}; expected one of {', '.join(SEVERITY_RANK)}",
                retry=False,
            )
        if SEVERITY_RANK[severity] < SEVERITY_RANK[config.min_severity]:
            return 0
        now = self._clock.now()
        rows: list[dict[str, Any]] = []
        card_dict = card.to_dict()
        if config.email is not None:
            subject, text = format_email(card, site_title=site_title)
            rows.append(
                {
                    "channel": "email",
                    "target": ", ".join(config.email.to),
                    "payload": {
                        "site": site,
                        "card": card_dict,
                        "subject": subject,
                        "text": text,
                        "target": config.email.model_dump(mode="json"),
                    },
                }
            )
        for hook in config.webhooks:
            body = webhook_payload(
                card, site=site, alert_id=alert_id, event=event, severity=severity, time=now
            )
            rows.append(
                {
                    "channel": "webhook",
                    "target": hook.url,
                    "payload": {
                        "site": site,
                        "card": card_dict,
                        "body": body,
                        "target": hook.model_dump(mode="json"),
                    },
                }
            )
        if not rows:
            return 0
        if session is not None:
            await self._insert(session, rows, alert_id=alert_id, event=event, now=now)
        else:
            async with self._sessionmaker() as own, own.begin():
                await self._insert(own, rows, alert_id=alert_id, event=event, now=now)
        return len(rows)

    @staticmethod
    async def _insert(
        session: AsyncSession,
        rows: list[dict[str, Any]],
        *,
        alert_id: int | None,
        event: str,
        now: datetime,
    ) -> None:
        for row in rows:
            await repo.enqueue_delivery(session, alert_id=alert_id, event=event, now=now, **row)

    # -- sending --

    async def run_due(self, limit: int = 50) -> DeliveryReport:
        """Claim up to ``limit`` due deliveries, send them, and record each result."""
        async with self._sessionmaker() as session, session.begin():
            rows = await repo.claim_due_deliveries(
                session, now=self._clock.now(), limit=limit, lease=self._lease
            )
            claimed = [_Claimed.of(row) for row in rows]
        if not claimed:
            return DeliveryReport()
        gate = asyncio.Semaphore(self._concurrency)

        async def one(item: _Claimed) -> Outcome:
            async with gate:
                return await self._deliver(item)

        outcomes = await asyncio.gather(*(one(item) for item in claimed))
        return DeliveryReport(
            claimed=len(claimed),
            sent=outcomes.count("sent"),
            retried=outcomes.count("retried"),
            failed=outcomes.count("failed"),
            unrecorded=outcomes.count("unrecorded"),
        )

    async def _deliver(self, item: _Claimed) -> Outcome:
        try:
            await self._send(item)
            error: DeliveryError | None = None
        except DeliveryError as err:
            error = err
        except Exception as err:  # a bug must not stall the rest of the batch
            log.exception("delivery %s: unexpected error while sending", item.id)
            error = DeliveryError(f"unexpected error ({type(err).__name__})", retry=True)
        outcome: Outcome
        try:
            async with self._sessionmaker() as session, session.begin():
                if error is None:
                    outcome = "sent"
                    await repo.mark_delivery_sent(
                        session, delivery_id=item.id, now=self._clock.now()
                    )
                elif error.retry and item.attempts < self._max_attempts:
                    outcome = "retried"
                    await repo.mark_delivery_retry(
                        session,
                        delivery_id=item.id,
                        next_attempt_at=self._clock.now() + self._retry_delay(item, error),
                        error=str(error),
                    )
                else:
                    outcome = "failed"
                    message = str(error)
                    if error.retry:
                        message += f" (gave up after {item.attempts} attempts)"
                    await repo.mark_delivery_failed(session, delivery_id=item.id, error=message)
        except SQLAlchemyError as err:
            log.warning(
                "delivery %s: could not record the result (%s); it will be tried again "
                "after its lease",
                item.id,
                type(err).__name__,
            )
            return "unrecorded"
        if outcome == "failed":
            log.warning("delivery %s failed for good: %s", item.id, error)
        elif outcome == "retried":
            log.info("delivery %s will be retried: %s", item.id, error)
        return outcome

    def _retry_delay(self, item: _Claimed, error: DeliveryError) -> timedelta:
        """``base × 2^(attempts-1)`` capped at ``max_delay``, then ± ``jitter``;
        at least what a ``Retry-After`` asked for (up to ``max_delay``)."""
        seconds = min(
            self._base_delay.total_seconds() * 2 ** (item.attempts - 1),
            self._max_delay.total_seconds(),
        )
        seconds *= 1 + self._rng.uniform(-self._jitter, self._jitter)
        if error.retry_after_s is not None:
            seconds = max(seconds, min(error.retry_after_s, self._max_delay.total_seconds()))
        return timedelta(seconds=seconds)

    async def _send(self, item: _Claimed) -> None:
        if item.channel == "webhook":
            await self._send_webhook(item)
        elif item.channel == "email":
            await self._send_email(item)
        else:
            raise DeliveryError(f"unknown delivery channel {item.channel!r}", retry=False)

    async def _send_email(self, item: _Claimed) -> None:
        target = EmailTarget.model_validate(item.payload["target"])
        message = build_email(
            delivery_id=item.id,
            subject=item.payload["subject"],
            text=item.payload["text"],
            target=target,
            created_at=item.created_at,
            now=self._clock.now(),
        )
        try:
            await self._smtp_send(target, message)
        except (DeliveryError, OSError) as err:  # smtplib's errors are OSErrors
            raise _smtp_error(err, target) from err

    async def _send_webhook(self, item: _Claimed) -> None:
        target = WebhookTarget.model_validate(item.payload["target"])
        where = f"webhook {short_url(target.url)}"
        body = encode_body(item.payload["body"])
        headers = {
            **target.headers,
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            DELIVERY_HEADER: str(item.id),
            EVENT_HEADER: item.event,
        }
        if target.secret_env:
            secret = os.environ.get(target.secret_env)
            if not secret:
                raise DeliveryError(
                    f"{where}: the signing secret environment variable {target.secret_env} "
                    "is not set",
                    retry=True,
                )
            headers[SIGNATURE_HEADER] = sign_body(secret, body)
        try:
            response = await self._http.post(
                target.url, content=body, headers=headers, timeout=self._timeout_s
            )
        except httpx.TimeoutException as err:
            raise DeliveryError(
                f"{where} did not answer within {self._timeout_s:g} s", retry=True
            ) from err
        except httpx.ConnectError as err:
            raise DeliveryError(
                f"could not connect to {where}: {_connect_reason(err)}", retry=True
            ) from err
        except httpx.HTTPError as err:
            raise DeliveryError(
                f"{where}: the connection failed ({type(err).__name__})", retry=True
            ) from err
        except httpx.InvalidURL as err:
            raise DeliveryError(f"{where}: invalid URL", retry=False) from err
        status = response.status_code
        if 200 <= status < 300:
            return
        answer = f"{where} returned {status} {response.reason_phrase}".rstrip()
        if status == 429 or status >= 500:
            raise DeliveryError(answer, retry=True, retry_after_s=_retry_after(response))
        if 300 <= status < 400:
            answer += " (redirects are not followed: configure the final URL)"
        raise DeliveryError(answer, retry=False)

    # -- status --

    async def stats(self) -> DeliveryStats:
        async with self._sessionmaker() as session:
            record = await repo.delivery_stats(session)
            return DeliveryStats(
                pending=record.counts["pending"],
                sent=record.counts["sent"],
                failed=record.counts["failed"],
                oldest_pending=DeliveryBrief.of(record.oldest_pending)
                if record.oldest_pending
                else None,
                latest_failed=DeliveryBrief.of(record.latest_failed)
                if record.latest_failed
                else None,
            )


def _connect_reason(err: httpx.ConnectError) -> str:
    cause: BaseException | None = err
    while cause is not None:
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, OSError) and cause.strerror:
            return cause.strerror.lower()
        cause = cause.__cause__ or cause.__context__
    text = _one_line(str(err))
    return _clip(text) if text else "connection failed"


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "").strip()
    return float(value) if value.isdigit() else None
