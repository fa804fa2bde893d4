"""The audit log cannot be changed after the fact on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from storage import repositories as repo
from storage.engine import create_engine, create_sessionmaker, upgrade_database


@pytest.mark.postgres
async def test_audit_rows_refuse_update_delete_and_truncate(postgres_url: str) -> None:
    engine = create_engine(postgres_url)
    try:
        await upgrade_database(engine)
        sessionmaker = create_sessionmaker(engine)
        async with sessionmaker() as session, session.begin():
            await repo.append_audit(
                session, time=datetime.now(UTC), actor="console:ada", event="action_approved"
            )
        for statement in (
            "UPDATE audit_log SET actor = 'someone else'",
            "DELETE FROM audit_log",
            "TRUNCATE audit_log",
        ):
            with pytest.raises(DBAPIError, match="audit_log is append-only"):
                async with engine.begin() as conn:
                    await conn.execute(text(statement))
        async with sessionmaker() as session, session.begin():
            [row] = await repo.list_audit(session)
        assert row.actor == "console:ada"  # untouched
    finally:
        await engine.dispose()
