"""Tables, as SQLAlchemy 2 typed declarative models.

The same models run on SQLite (aiosqlite) and PostgreSQL (asyncpg). Times are
stored as timezone-aware UTC; :class:`UTCDateTime` restores the zone that
SQLite drops.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# BIGINT on PostgreSQL, INTEGER (so it autoincrements as ROWID) on SQLite.
BigIntId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
    }


class SiteRow(Base):
    __tablename__ = "sites"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(String(200), default="")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ReadingRow(Base):
    __tablename__ = "readings"
    __table_args__ = (
        Index("ix_readings_site_metric_time", "site", "metric", "time"),
        # One row per reading: retries and concurrent flushes insert nothing twice.
        Index(
            "uq_readings_site_device_metric_time", "site", "device", "metric", "time", unique=True
        ),
        # BRIN on PostgreSQL: time-ordered appends keep it tiny and nearly free to maintain.
        Index("ix_readings_time", "time", postgresql_using="brin"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    # No foreign key to sites: a per-row check would halve the ingest rate, and only
    # configured sites are polled.
    site: Mapped[str] = mapped_column(String(64))
    device: Mapped[str] = mapped_column(String(64), default="")
    metric: Mapped[str] = mapped_column(String(64))
    time: Mapped[datetime]
    value: Mapped[float] = mapped_column(Float)


class HourlyRollupRow(Base):
    """Hourly aggregates of readings, made by a scheduled job from the raw rows.

    Long-range questions ("last 30 days") read these instead of raw rows, which
    are kept for a limited time.
    """

    __tablename__ = "readings_hourly"

    site: Mapped[str] = mapped_column(String(64), ForeignKey("sites.name"), primary_key=True)
    device: Mapped[str] = mapped_column(String(64), primary_key=True)
    metric: Mapped[str] = mapped_column(String(64), primary_key=True)
    hour: Mapped[datetime] = mapped_column(primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    sum: Mapped[float] = mapped_column(Float)
    min: Mapped[float] = mapped_column(Float)
    max: Mapped[float] = mapped_column(Float)

    @property
    def mean(self) -> float:
        return self.sum / self.count if self.count else 0.0


class AlertRow(Base):
    __tablename__ = "alerts"
    __table_args__ = (
        # At most one open alert per fingerprint: the dedup guarantee lives in the database.
        Index(
            "uq_alerts_open_fingerprint",
            "fingerprint",
            unique=True,
            sqlite_where=text("status != 'resolved'"),
            postgresql_where=text("status != 'resolved'"),
        ),
        Index("ix_alerts_site_status", "site", "status"),
        Index("ix_alerts_message_key", "message_key"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    site: Mapped[str] = mapped_column(String(64), ForeignKey("sites.name"))
    fingerprint: Mapped[str] = mapped_column(String(200))
    rule: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))  # firing | acknowledged | resolved
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text)
    value: Mapped[float | None] = mapped_column(Float)
    proposed_action: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(String(128))
    acknowledged_at: Mapped[datetime | None]
    # Where the card was posted, so it can be edited in place: {"channel": ..., "ref": ...}
    message: Mapped[dict[str, Any] | None]
    category: Mapped[str] = mapped_column(String(32), default="", server_default="")
    # what the triggering readings were ([[label, value], ...]) and the proposal's parameters
    evidence: Mapped[dict[str, Any] | None]
    fired_at: Mapped[datetime | None]  # pending -> firing
    snoozed_until: Mapped[datetime | None]
    snoozed_by: Mapped[str | None] = mapped_column(String(128))
    last_notified_at: Mapped[datetime | None]
    reminders: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    escalated_at: Mapped[datetime | None]
    silenced_by: Mapped[int | None] = mapped_column(BigIntId)  # the silence that muted it
    # "<platform>:<channel>:<ref>" of the posted card, to find the alerts sharing a group card
    message_key: Mapped[str | None] = mapped_column(String(300))


class SilenceRow(Base):
    """Mutes notifications of alerts whose labels match every matcher, for a time."""

    __tablename__ = "silences"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    # [{"label": "site", "op": "=", "value": "barn"}, {"label": "category", ...}]
    matchers: Mapped[dict[str, Any]]
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(128))
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    removed_at: Mapped[datetime | None]
    removed_by: Mapped[str | None] = mapped_column(String(128))


class ActionRequestRow(Base):
    __tablename__ = "action_requests"
    __table_args__ = (Index("ix_action_requests_site_status", "site", "status"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    site: Mapped[str] = mapped_column(String(64), ForeignKey("sites.name"))
    kind: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")
    requested_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    decided_by: Mapped[str | None] = mapped_column(String(128))
    decided_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(Text)
    alert_id: Mapped[int | None] = mapped_column(BigIntId, ForeignKey("alerts.id"))
    thread_id: Mapped[str | None] = mapped_column(String(200))
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    message: Mapped[dict[str, Any] | None]
    # {"by": [{"actor": "slack:U1", "name": "Olga", "role": "operator", "at": iso}, ...]}
    approvals: Mapped[dict[str, Any] | None]
    # The worker carrying the request out, and until when (wall clock) its claim holds:
    # after that another worker may settle a request left ``executing`` by a crash.
    executor: Mapped[str | None] = mapped_column(String(200))
    lease_until: Mapped[datetime | None]


class AuditRow(Base):
    """Append-only: the code has no update or delete path for this table."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_action_id", "action_id"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    time: Mapped[datetime]
    site: Mapped[str | None] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(128))
    event: Mapped[str] = mapped_column(String(64))
    action_id: Mapped[str | None] = mapped_column(String(32))
    details: Mapped[dict[str, Any]]


class ChatIdentityRow(Base):
    __tablename__ = "chat_identities"
    __table_args__ = (UniqueConstraint("platform", "user_id"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    platform: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[str] = mapped_column(String(128))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(16))
    # "site_file": written from the site file at start-up; "chat": granted by an admin
    role_source: Mapped[str] = mapped_column(String(16), default="site_file")
    granted_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class PreferenceRow(Base):
    __tablename__ = "preferences"
    __table_args__ = (UniqueConstraint("scope", "scope_id", "key"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(String(16))  # person | site | channel
    scope_id: Mapped[str] = mapped_column(String(200))
    key: Mapped[str] = mapped_column(String(64))
    value: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime]


class DeliveryRow(Base):
    """One alert notification to send by email or webhook: an outbox row.

    Rows are claimed by due time, sent, and marked; a failed send is retried with
    backoff and, after the last attempt, kept as ``failed``. Rows are never
    deleted, so nothing is lost silently. ``alert_id`` has no foreign key: a
    delivery may be about something that is not an alert row (a test message),
    and the outbox must accept it regardless.
    """

    __tablename__ = "deliveries"
    __table_args__ = (Index("ix_deliveries_status_next_attempt_at", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(16))  # email | webhook
    target: Mapped[str] = mapped_column(Text)  # addresses (comma-separated) or URL
    alert_id: Mapped[int | None] = mapped_column(BigIntId)
    event: Mapped[str] = mapped_column(String(32))  # fired | resolved | ...
    # What to send and how: {"card": ..., "subject"/"text" or "body", "target": {...}}.
    payload: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16))  # pending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # sends started
    next_attempt_at: Mapped[datetime | None]  # None once sent or failed
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class InboundEventRow(Base):
    """Chat events already handled, so a platform's retry produces no second reply."""

    __tablename__ = "inbound_events"
    __table_args__ = (UniqueConstraint("platform", "event_id"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    platform: Mapped[str] = mapped_column(String(16))
    event_id: Mapped[str] = mapped_column(String(200))
    received_at: Mapped[datetime]


class ModelTurnRow(Base):
    """What one assistant turn cost: tokens, time and money, for budgets and metrics."""

    __tablename__ = "model_turns"
    __table_args__ = (Index("ix_model_turns_created_at", "created_at"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime]
    thread_id: Mapped[str] = mapped_column(String(300))
    site: Mapped[str] = mapped_column(String(64))
    requested_by: Mapped[str] = mapped_column(String(200))
    model: Mapped[str] = mapped_column(String(120))  # "offline" when the planner answered
    model_calls: Mapped[int] = mapped_column(Integer)
    prompt_tokens: Mapped[int] = mapped_column(Integer)
    completion_tokens: Mapped[int] = mapped_column(Integer)
    latency_ms: Mapped[float] = mapped_column(Float)
    cost_usd: Mapped[float | None] = mapped_column(Float, nullable=True)
    tokens_counted: Mapped[str] = mapped_column(String(16))  # "server" or "local"


class ReportDigestRow(Base):
    """A scheduled digest claimed (and then posted) for one site, kind and period.

    The unique key on (site, kind, period_start) is what makes a digest go out once:
    a second worker, or the same one after a restart, cannot claim it again.
    """

    __tablename__ = "report_digests"
    __table_args__ = (UniqueConstraint("site", "kind", "period_start"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    site: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # daily | weekly | monthly
    period_start: Mapped[datetime]
    period_end: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16))  # posting | sent
    claimed_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    # where it was posted: [{"platform": ..., "channel": ..., "ref": ...}, ...] and deliveries
    message: Mapped[dict[str, Any] | None]


class JobRunRow(Base):
    """The last start of each scheduled job that runs once across worker processes.

    A worker runs such a job only after moving ``started_at`` forward with a
    compare-and-set (see ``repositories.claim_job_run``); ``runs`` counts the starts.
    """

    __tablename__ = "job_runs"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    started_at: Mapped[datetime]
    worker: Mapped[str] = mapped_column(String(200), default="")
    runs: Mapped[int] = mapped_column(BigInteger, default=0)


class KnowledgeDocumentRow(Base):
    """One ingested document in a knowledge namespace (a site, or the shared one).

    ``backend`` keeps the local index's documents apart from those whose chunks live
    in Pinecone, so switching backends re-ingests instead of skipping.
    """

    __tablename__ = "kb_documents"
    __table_args__ = (UniqueConstraint("backend", "namespace", "source"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    backend: Mapped[str] = mapped_column(String(16))  # local | pinecone
    namespace: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(500))  # relative path or file name
    title: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(16))  # markdown | text | pdf
    content_hash: Mapped[str] = mapped_column(String(64))  # sha256 of the file's bytes
    chunk_count: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class KnowledgeChunkRow(Base):
    """A passage of a document in the local index, with its length in index terms."""

    __tablename__ = "kb_chunks"
    __table_args__ = (
        UniqueConstraint("document_id", "ordinal"),
        Index("ix_kb_chunks_namespace", "namespace"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    document_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("kb_documents.id", ondelete="CASCADE")
    )
    namespace: Mapped[str] = mapped_column(String(64))
    ordinal: Mapped[int] = mapped_column(Integer)
    section: Mapped[str] = mapped_column(Text)  # heading path "A > B", or "page 3"
    page: Mapped[int | None] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    token_count: Mapped[int] = mapped_column(Integer)


class KnowledgePostingRow(Base):
    """Inverted index of the local knowledge index: a term's frequency in one chunk.

    Document frequencies per namespace are counts over ``(namespace, term)``.
    """

    __tablename__ = "kb_postings"
    __table_args__ = (Index("ix_kb_postings_namespace_term", "namespace", "term"),)

    chunk_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("kb_chunks.id", ondelete="CASCADE"), primary_key=True
    )
    term: Mapped[str] = mapped_column(String(64), primary_key=True)
    namespace: Mapped[str] = mapped_column(String(64))
    tf: Mapped[int] = mapped_column(Integer)


class ForecastSnapshotRow(Base):
    """One hour of a forecast as it was issued (P10/P50/P90 of PV and load [W]).

    A daily job stores each site's day-ahead forecast so that the scorecard can
    later compare what was measured with what was actually forecast.
    """

    __tablename__ = "forecast_snapshots"

    site: Mapped[str] = mapped_column(String(64), ForeignKey("sites.name"), primary_key=True)
    issued_at: Mapped[datetime] = mapped_column(primary_key=True)
    target_hour: Mapped[datetime] = mapped_column(primary_key=True)
    pv_p10_w: Mapped[float] = mapped_column(Float)
    pv_p50_w: Mapped[float] = mapped_column(Float)
    pv_p90_w: Mapped[float] = mapped_column(Float)
    load_p10_w: Mapped[float] = mapped_column(Float)
    load_p50_w: Mapped[float] = mapped_column(Float)
    load_p90_w: Mapped[float] = mapped_column(Float)
    weather_source: Mapped[str] = mapped_column(String(32), default="")
    # the model's own band as issued (the columns above hold the calibrated one);
    # NULL in rows stored before calibration, whose band was the model's
    pv_model_p10_w: Mapped[float | None] = mapped_column(Float, nullable=True, default=None)
    pv_model_p90_w: Mapped[float | None] = mapped_column(Float, nullable=True, default=None)
    load_model_p10_w: Mapped[float | None] = mapped_column(Float, nullable=True, default=None)
    load_model_p90_w: Mapped[float | None] = mapped_column(Float, nullable=True, default=None)


class HaDiscoveryRow(Base):
    """A Home Assistant MQTT discovery topic this bot published (retained).

    Kept so that a site (or an entity) that is no longer configured can be removed
    from Home Assistant: an empty retained message on its config topic deletes it.
    No foreign key on ``site``: the row must outlive a site removed from the site file.
    """

    __tablename__ = "ha_discovery"

    topic: Mapped[str] = mapped_column(String(300), primary_key=True)
    site: Mapped[str] = mapped_column(String(64), index=True)
    state_topics: Mapped[dict[str, Any]]
    published_at: Mapped[datetime]


class UserAlertRuleRow(Base):
    """A threshold someone set in chat ("alert me if the panel voltage drops below 12 V").

    The alert engine evaluates the enabled rules of a site beside the built-in ones.
    ``threshold`` is in the metric's own unit (``unit``, e.g. V, %, W, °C, L); the
    words the person used are kept in ``threshold_text`` for the alert text.
    """

    __tablename__ = "user_alert_rules"
    __table_args__ = (Index("ix_user_alert_rules_site", "site"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    site: Mapped[str] = mapped_column(String(64), ForeignKey("sites.name"))
    metric: Mapped[str] = mapped_column(String(64))
    comparator: Mapped[str] = mapped_column(String(2))
    threshold: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(16))
    threshold_text: Mapped[str] = mapped_column(String(64), default="")
    hold_s: Mapped[float] = mapped_column(Float, default=0.0)
    severity: Mapped[str] = mapped_column(String(16), default="warning")
    created_by: Mapped[str] = mapped_column(String(128))
    created_by_name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime]
    enabled: Mapped[bool] = mapped_column(default=True)
    removed_at: Mapped[datetime | None]
    removed_by: Mapped[str | None] = mapped_column(String(128))
