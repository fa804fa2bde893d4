"""Storage layer on both backends: migrations, repositories, constraints, URLs, concurrency."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import func, inspect, select
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from storage import repositories as repo
from storage.engine import (
    alembic_config,
    create_engine,
    create_sessionmaker,
    current_revision,
    is_postgres,
    normalise_database_url,
    psycopg_url,
    redact_url,
    sqlite_path,
    upgrade_database,
)
from storage.errors import DatabaseUrlError
from storage.models import Base, ChatIdentityRow, PreferenceRow, SiteRow

Sessions = async_sessionmaker[AsyncSession]

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SITE = "home"


async def make_site(sessionmaker: Sessions, name: str = SITE) -> None:
    async with sessionmaker() as s, s.begin():
        await repo.upsert_site(s, name=name, title="Home lab", timezone="Europe/Berlin", now=T0)


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


# --- migrations -----------------------------------------------------------------------------


def _schema(sync_conn: object) -> dict[str, set[str]]:
    insp = inspect(sync_conn)
    return {
        table: {ix["name"] for ix in insp.get_indexes(table) if ix["name"]}
        for table in insp.get_table_names()
    }


async def test_migrations_from_empty_create_every_table(db_url: str) -> None:
    eng = create_engine(db_url)
    try:
        assert await current_revision(eng) is None
        await upgrade_database(eng)
        async with eng.connect() as conn:
            schema = await conn.run_sync(_schema)
        assert set(Base.metadata.tables) <= set(schema)
        assert "alembic_version" in schema
        assert "uq_alerts_open_fingerprint" in schema["alerts"]
        assert "ix_readings_site_metric_time" in schema["readings"]
        assert await current_revision(eng) == head_revision()

        # A second upgrade is a no-op: same revision, same schema, data kept.
        sm = create_sessionmaker(eng)
        await make_site(sm)
        await upgrade_database(eng)
        assert await current_revision(eng) == head_revision()
        async with eng.connect() as conn:
            assert await conn.run_sync(_schema) == schema
        async with sm() as s:
            assert [site.name for site in await repo.list_sites(s)] == [SITE]
    finally:
        await eng.dispose()


async def test_migrations_match_models(engine: AsyncEngine) -> None:
    """Autogenerate finds nothing to do: the migration builds exactly the models' schema."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    def diff(sync_conn: object) -> list[object]:
        ctx = MigrationContext.configure(sync_conn, opts={"compare_type": True})  # type: ignore[arg-type]
        return list(compare_metadata(ctx, Base.metadata))

    async with engine.connect() as conn:
        assert await conn.run_sync(diff) == []


# --- sites ----------------------------------------------------------------------------------


async def test_upsert_site_twice_updates(sessionmaker: Sessions) -> None:
    await make_site(sessionmaker)
    later = T0 + timedelta(hours=1)
    async with sessionmaker() as s, s.begin():
        await repo.upsert_site(s, name=SITE, title="Renamed", timezone="UTC", now=later)
    async with sessionmaker() as s:
        sites = await repo.list_sites(s)
        assert [x.name for x in sites] == [SITE]
        site = await repo.get_site(s, name=SITE)
        assert site is not None
        assert (site.title, site.timezone) == ("Renamed", "UTC")
        assert site.created_at == T0
        assert site.updated_at == later
        assert await repo.get_site(s, name="nope") is None


# --- readings -------------------------------------------------------------------------------


async def test_readings_round_trip(sessionmaker: Sessions) -> None:
    await make_site(sessionmaker)
    await make_site(sessionmaker, "other")
    records = [
        repo.ReadingRecord(
            site=SITE,
            device="bms",
            metric="soc_pct",
            time=T0 + timedelta(seconds=i, microseconds=123 * i),
            value=50.0 + i / 10,
        )
        for i in range(500)
    ]
    shuffled = records[:]
    random.Random(7).shuffle(shuffled)
    other = [
        repo.ReadingRecord(site="other", device="bms", metric="soc_pct", time=T0, value=1.0),
        repo.ReadingRecord(site=SITE, device="pv", metric="power_w", time=T0, value=2.0),
    ]
    async with sessionmaker() as s, s.begin():
        assert await repo.insert_readings(s, readings=shuffled) == 500
        assert await repo.insert_readings(s, readings=other) == 2
        assert await repo.insert_readings(s, readings=[]) == 0

    async with sessionmaker() as s:
        assert await repo.count_readings(s) == 502
        assert await repo.count_readings(s, site=SITE) == 501
        rows = await repo.readings_between(
            s, site=SITE, metric="soc_pct", start=T0, end=T0 + timedelta(hours=1)
        )
        assert [(r.time, r.value, r.device) for r in rows] == [
            (r.time, r.value, r.device) for r in records
        ]
        assert all(r.time.tzinfo is not None and r.time.utcoffset() == timedelta(0) for r in rows)

        # end is exclusive, start inclusive; the device filter works.
        window = await repo.readings_between(
            s,
            site=SITE,
            metric="soc_pct",
            start=records[10].time,
            end=records[20].time,
            device="bms",
        )
        assert [r.time for r in window] == [r.time for r in records[10:20]]
        assert not await repo.readings_between(
            s, site=SITE, metric="soc_pct", start=T0, end=T0 + timedelta(hours=1), device="pv"
        )


async def test_non_utc_aware_times_come_back_as_utc(sessionmaker: Sessions) -> None:
    await make_site(sessionmaker)
    plus2 = timezone(timedelta(hours=2))
    local = datetime(2026, 6, 1, 14, 30, 0, 250_000, tzinfo=plus2)
    async with sessionmaker() as s, s.begin():
        await repo.insert_readings(
            s,
            readings=[repo.ReadingRecord(site=SITE, device="", metric="m", time=local, value=1.0)],
        )
    async with sessionmaker() as s:
        (row,) = await repo.readings_between(
            s, site=SITE, metric="m", start=T0, end=T0 + timedelta(days=1)
        )
        assert row.time == local
        assert row.time.utcoffset() == timedelta(0)
        assert row.time == datetime(2026, 6, 1, 12, 30, 0, 250_000, tzinfo=UTC)


async def test_naive_datetimes_are_refused(sessionmaker: Sessions) -> None:
    naive = datetime(2026, 6, 1, 12, 0)
    with pytest.raises((ValueError, StatementError), match="naive datetime"):
        async with sessionmaker() as s, s.begin():
            await repo.upsert_site(s, name=SITE, title="", timezone="UTC", now=naive)
    await make_site(sessionmaker)
    with pytest.raises((ValueError, StatementError), match="naive datetime"):
        async with sessionmaker() as s, s.begin():
            await repo.insert_readings(
                s,
                readings=[
                    repo.ReadingRecord(site=SITE, device="", metric="m", time=naive, value=1.0)
                ],
            )
    async with sessionmaker() as s:
        assert await repo.count_readings(s) == 0


# --- alerts ---------------------------------------------------------------------------------


async def _insert_alert(s: AsyncSession, fingerprint: str, now: datetime = T0) -> int:
    row = await repo.insert_alert(
        s,
        site=SITE,
        fingerprint=fingerprint,
        rule="low_soc",
        severity="warning",
        title="Battery low",
        summary="SOC 28 %",
        value=28.0,
        proposed_action="stop_miners",
        now=now,
    )
    return row.id


async def test_alert_lifecycle_and_open_fingerprint_dedup(sessionmaker: Sessions) -> None:
    await make_site(sessionmaker)
    async with sessionmaker() as s, s.begin():
        first = await _insert_alert(s, "home:low_soc")

    async with sessionmaker() as s:
        open_alert = await repo.get_open_alert(s, fingerprint="home:low_soc")
        assert open_alert is not None
        assert (open_alert.id, open_alert.status, open_alert.started_at) == (first, "firing", T0)
        assert await repo.get_open_alert(s, fingerprint="other") is None

    # A second OPEN alert with the same fingerprint is refused by the partial unique index.
    with pytest.raises(IntegrityError):
        async with sessionmaker() as s, s.begin():
            await _insert_alert(s, "home:low_soc")

    # Compare-and-set: firing -> acknowledged once.
    async with sessionmaker() as s, s.begin():
        assert await repo.transition_alert(
            s,
            alert_id=first,
            from_statuses=("firing",),
            to_status="acknowledged",
            acknowledged_by="slack:U1",
            acknowledged_at=T0 + timedelta(minutes=1),
        )
    async with sessionmaker() as s, s.begin():
        assert not await repo.transition_alert(
            s, alert_id=first, from_statuses=("firing",), to_status="acknowledged"
        )
    # Still open while acknowledged, so still refused.
    with pytest.raises(IntegrityError):
        async with sessionmaker() as s, s.begin():
            await _insert_alert(s, "home:low_soc")

    resolved_at = T0 + timedelta(minutes=5)
    async with sessionmaker() as s, s.begin():
        assert await repo.transition_alert(
            s,
            alert_id=first,
            from_statuses=("firing", "acknowledged"),
            to_status="resolved",
            resolved_at=resolved_at,
        )
    # After resolution a new open alert with the same fingerprint is allowed.
    async with sessionmaker() as s, s.begin():
        second = await _insert_alert(s, "home:low_soc", T0 + timedelta(hours=1))
        await repo.update_alert(s, alert_id=second, message={"channel": "C1", "ref": "123.4"})

    async with sessionmaker() as s:
        open_alert = await repo.get_open_alert(s, fingerprint="home:low_soc")
        assert open_alert is not None and open_alert.id == second
        assert open_alert.message == {"channel": "C1", "ref": "123.4"}
        old = await repo.get_alert(s, alert_id=first)
        assert old is not None
        assert (old.status, old.resolved_at, old.acknowledged_by) == (
            "resolved",
            resolved_at,
            "slack:U1",
        )
        assert [a.id for a in await repo.list_open_alerts(s, site=SITE)] == [second]
        assert [a.id for a in await repo.list_alerts(s)] == [first, second]


# --- action requests ------------------------------------------------------------------------


async def _insert_action(
    s: AsyncSession,
    *,
    expires_at: datetime = T0 + timedelta(minutes=15),
    key: str | None = None,
) -> str:
    row = await repo.insert_action_request(
        s,
        site=SITE,
        kind="stop_miners",
        params={"loads": ["miner1", "miner2"], "minutes": 30},
        reason="SOC low",
        requested_by="assistant",
        now=T0,
        expires_at=expires_at,
        thread_id="slack:C1:123.4",
        idempotency_key=key,
    )
    return row.id


async def test_action_request_round_trip_and_cas(sessionmaker: Sessions) -> None:
    await make_site(sessionmaker)
    async with sessionmaker() as s, s.begin():
        action_id = await _insert_action(s, key="alert-1:stop_miners")

    async with sessionmaker() as s:
        row = await repo.get_action_request(s, action_id=action_id)
        assert row is not None
        assert row.status == "pending"
        assert row.params == {"loads": ["miner1", "miner2"], "minutes": 30}
        assert (row.created_at, row.expires_at) == (T0, T0 + timedelta(minutes=15))
        by_key = await repo.get_action_by_idempotency_key(s, key="alert-1:stop_miners")
        assert by_key is not None and by_key.id == action_id

    decided_at = T0 + timedelta(minutes=2)
    async with sessionmaker() as s, s.begin():
        assert await repo.transition_action(
            s,
            action_id=action_id,
            from_statuses=("pending",),
            to_status="approved",
            decided_by="slack:U1",
            decided_at=decided_at,
        )
    async with sessionmaker() as s, s.begin():
        # A second click loses, and changes nothing.
        assert not await repo.transition_action(
            s,
            action_id=action_id,
            from_statuses=("pending",),
            to_status="rejected",
            decided_by="slack:U2",
        )
        assert not await repo.transition_action(
            s, action_id=action_id, from_statuses=("pending",), to_status="approved"
        )
    async with sessionmaker() as s, s.begin():
        await repo.update_action_message(
            s, action_id=action_id, message={"channel": "C1", "ref": "9.9"}
        )
    async with sessionmaker() as s:
        row = await repo.get_action_request(s, action_id=action_id)
        assert row is not None
        assert (row.status, row.decided_by, row.decided_at) == ("approved", "slack:U1", decided_at)
        assert row.message == {"channel": "C1", "ref": "9.9"}
        assert [r.id for r in await repo.list_action_requests(s, statuses=["approved"])] == [
            action_id
        ]
        assert not await repo.list_action_requests(s, site=SITE, statuses=["pending"])


async def test_action_idempotency_key_is_unique(sessionmaker: Sessions) -> None:
    await make_site(sessionmaker)
    async with sessionmaker() as s, s.begin():
        await _insert_action(s, key="k1")
        await _insert_action(s)  # NULL keys never collide
        await _insert_action(s)
    with pytest.raises(IntegrityError):
        async with sessionmaker() as s, s.begin():
            await _insert_action(s, key="k1")
    async with sessionmaker() as s:
        assert len(await repo.list_action_requests(s)) == 3


async def test_expire_due_actions_moves_only_due_pending(sessionmaker: Sessions) -> None:
    await make_site(sessionmaker)
    now = T0 + timedelta(hours=1)
    async with sessionmaker() as s, s.begin():
        overdue = await _insert_action(s, expires_at=now - timedelta(minutes=1))
        exactly_due = await _insert_action(s, expires_at=now)
        future = await _insert_action(s, expires_at=now + timedelta(seconds=1))
        approved = await _insert_action(s, expires_at=now - timedelta(minutes=5))
        assert await repo.transition_action(
            s, action_id=approved, from_statuses=("pending",), to_status="approved"
        )

    async with sessionmaker() as s, s.begin():
        expired = await repo.expire_due_actions(s, now=now)
    assert sorted(expired) == sorted([overdue, exactly_due])

    async with sessionmaker() as s:
        statuses = {r.id: r.status for r in await repo.list_action_requests(s)}
        assert statuses == {
            overdue: "expired",
            exactly_due: "expired",
            future: "pending",
            approved: "approved",
        }
        row = await repo.get_action_request(s, action_id=overdue)
        assert row is not None and row.finished_at == now

    async with sessionmaker() as s, s.begin():
        assert await repo.expire_due_actions(s, now=now) == []


# --- audit ----------------------------------------------------------------------------------


async def test_audit_append_and_list(sessionmaker: Sessions) -> None:
    await make_site(sessionmaker)
    events = ["requested", "approved", "executing", "succeeded"]
    async with sessionmaker() as s, s.begin():
        for i, event in enumerate(events):
            await repo.append_audit(
                s,
                time=T0 + timedelta(seconds=i),
                actor="slack:U1",
                event=event,
                site=SITE,
                action_id="a1",
                details={"step": i},
            )
            await repo.append_audit(s, time=T0, actor="system", event=f"other-{i}", action_id="a2")
    async with sessionmaker() as s:
        rows = await repo.list_audit(s, action_id="a1")
        assert [r.event for r in rows] == events
        assert [r.details for r in rows] == [{"step": i} for i in range(4)]
        assert [r.time for r in rows] == [T0 + timedelta(seconds=i) for i in range(4)]
        assert len(await repo.list_audit(s, action_id="a2")) == 4
        assert len(await repo.list_audit(s, site=SITE)) == 4
        other = await repo.list_audit(s, action_id="a2")
        assert other[0].details == {} and other[0].site is None
        assert len(await repo.list_audit(s)) == 8


# --- chat identities ------------------------------------------------------------------------


async def test_upsert_identity_creates_then_changes_role(sessionmaker: Sessions) -> None:
    async with sessionmaker() as s, s.begin():
        row = await repo.upsert_identity(
            s, platform="slack", user_id="U1", role="viewer", display_name="Ana", now=T0
        )
        first_id = row.id
    later = T0 + timedelta(days=1)
    async with sessionmaker() as s, s.begin():
        row = await repo.upsert_identity(
            s, platform="slack", user_id="U1", role="operator", now=later
        )
        assert row.id == first_id
        # Same user id on another platform is another person.
        await repo.upsert_identity(s, platform="discord", user_id="U1", role="viewer", now=T0)
    async with sessionmaker() as s:
        found = await repo.get_identity(s, platform="slack", user_id="U1")
        assert found is not None
        assert (found.id, found.role, found.display_name) == (first_id, "operator", "Ana")
        assert (found.created_at, found.updated_at) == (T0, later)
        assert await repo.get_identity(s, platform="slack", user_id="U2") is None
        count = len((await s.scalars(select(ChatIdentityRow))).all())
        assert count == 2

    with pytest.raises(IntegrityError):
        async with sessionmaker() as s, s.begin():
            s.add(
                ChatIdentityRow(
                    platform="slack", user_id="U1", role="admin", created_at=T0, updated_at=T0
                )
            )
            await s.flush()


# --- preferences ----------------------------------------------------------------------------


async def test_preferences_set_get_delete(sessionmaker: Sessions) -> None:
    async with sessionmaker() as s, s.begin():
        await repo.set_preference(
            s, scope="site", scope_id=SITE, key="min_soc", value={"pct": 20}, now=T0
        )
        await repo.set_preference(
            s, scope="site", scope_id=SITE, key="quiet", value={"from": "22:00"}, now=T0
        )
        await repo.set_preference(
            s, scope="person", scope_id="slack:U1", key="min_soc", value={"pct": 50}, now=T0
        )
    later = T0 + timedelta(hours=1)
    async with sessionmaker() as s, s.begin():
        await repo.set_preference(
            s, scope="site", scope_id=SITE, key="min_soc", value={"pct": 30}, now=later
        )
    async with sessionmaker() as s:
        assert await repo.get_preferences(s, scope="site", scope_id=SITE) == {
            "min_soc": {"pct": 30},
            "quiet": {"from": "22:00"},
        }
        rows = (await s.scalars(select(PreferenceRow).where(PreferenceRow.key == "min_soc"))).all()
        assert len(rows) == 2
        assert await repo.get_preferences(s, scope="channel", scope_id="C1") == {}

    async with sessionmaker() as s, s.begin():
        assert await repo.delete_preference(s, scope="site", scope_id=SITE, key="min_soc")
        assert not await repo.delete_preference(s, scope="site", scope_id=SITE, key="min_soc")
    async with sessionmaker() as s:
        assert await repo.get_preferences(s, scope="site", scope_id=SITE) == {
            "quiet": {"from": "22:00"}
        }
        assert await repo.get_preferences(s, scope="person", scope_id="slack:U1") == {
            "min_soc": {"pct": 50}
        }


async def test_repositories_do_not_commit(sessionmaker: Sessions) -> None:
    async with sessionmaker() as s:
        await repo.upsert_site(s, name=SITE, title="", timezone="UTC", now=T0)
        await s.rollback()
    async with sessionmaker() as s:
        assert await s.get(SiteRow, SITE) is None


# --- URLs ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@db.example:5432/cc", "postgresql+asyncpg://u:p@db.example:5432/cc"),
        ("postgresql://u@h/cc", "postgresql+asyncpg://u@h/cc"),
        ("postgresql+asyncpg://u@h/cc", "postgresql+asyncpg://u@h/cc"),
        ("  postgresql://u@h/cc\n", "postgresql+asyncpg://u@h/cc"),
        ("sqlite:///x", "sqlite+aiosqlite:///x"),
        ("sqlite:///data/cc.sqlite", "sqlite+aiosqlite:///data/cc.sqlite"),
        ("sqlite:////abs/cc.sqlite", "sqlite+aiosqlite:////abs/cc.sqlite"),
    ],
)
def test_normalise_database_url(given: str, expected: str) -> None:
    assert normalise_database_url(given) == expected


def test_unsupported_backend_is_a_clear_error_without_password() -> None:
    with pytest.raises(DatabaseUrlError, match="PostgreSQL and SQLite") as info:
        normalise_database_url("mysql://admin:s3cretpw@db.example/cc")
    assert "mysql" in str(info.value)
    assert "s3cretpw" not in str(info.value)


@pytest.mark.parametrize(
    "garbage",
    ["garbage", "", "://nothing", "postgresql://admin:s3cretpw@host:notaport/cc"],
)
def test_garbage_url_is_a_database_url_error(garbage: str) -> None:
    with pytest.raises(DatabaseUrlError, match="not a database URL") as info:
        normalise_database_url(garbage)
    assert "s3cretpw" not in str(info.value)


def test_redact_url_and_helpers() -> None:
    redacted = redact_url("postgresql://admin:s3cretpw@h/cc")
    assert "s3cretpw" not in redacted and "admin" in redacted
    assert redact_url("garbage") == "<unparseable URL>"
    assert is_postgres("postgres://u@h/cc")
    assert not is_postgres("sqlite:///x.sqlite")
    assert psycopg_url("postgres://u:p@h/cc") == "postgresql://u:p@h/cc"
    assert str(sqlite_path("sqlite:///data/cc.sqlite")) == "data/cc.sqlite"
    assert sqlite_path("sqlite://") is None
    assert sqlite_path("postgresql://u@h/cc") is None


# --- real concurrency on PostgreSQL ------------------------------------------------------------


@pytest.mark.postgres
async def test_concurrent_decisions_have_exactly_one_winner(postgres_url: str) -> None:
    eng = create_engine(postgres_url)
    try:
        await upgrade_database(eng)
        sm = create_sessionmaker(eng)
        await make_site(sm)

        for round_no in range(20):
            async with sm() as s, s.begin():
                action_id = await _insert_action(s)

            barrier = asyncio.Barrier(2)
            backend_pids: set[int] = set()

            async def decide(
                to_status: str,
                actor: str,
                aid: str = action_id,
                barrier: asyncio.Barrier = barrier,
                pids: set[int] = backend_pids,
            ) -> bool:
                async with sm() as s, s.begin():
                    # Each side holds its own connection in an open transaction, then both race.
                    pids.add(int((await s.execute(select(func.pg_backend_pid()))).scalar_one()))
                    await barrier.wait()
                    return await repo.transition_action(
                        s,
                        action_id=aid,
                        from_statuses=("pending",),
                        to_status=to_status,
                        decided_by=actor,
                    )

            approved, rejected = await asyncio.wait_for(
                asyncio.gather(decide("approved", "U1"), decide("rejected", "U2")), timeout=120
            )
            assert len(backend_pids) == 2, "the two deciders must use two connections"
            assert approved != rejected, f"round {round_no}: both={approved}"
            async with sm() as s:
                row = await repo.get_action_request(s, action_id=action_id)
                assert row is not None
                winner = ("approved", "U1") if approved else ("rejected", "U2")
                assert (row.status, row.decided_by) == winner
    finally:
        await eng.dispose()
