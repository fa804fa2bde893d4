"""Engine and session factories, URL handling and migrations.

``DATABASE_URL`` may be a plain ``postgres://`` / ``postgresql://`` URL (as
hosting providers hand them out) or ``sqlite:///path``; the async drivers are
filled in here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from storage.errors import DatabaseUrlError

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def normalise_database_url(url: str) -> str:
    """Return a SQLAlchemy async URL for ``url``.

    >>> normalise_database_url("postgres://u:p@h/db")
    'postgresql+asyncpg://u:p@h/db'
    >>> normalise_database_url("sqlite:///data/cc.sqlite")
    'sqlite+aiosqlite:///data/cc.sqlite'
    """
    raw = url.strip()
    if raw.startswith("postgres://"):
        raw = "postgresql://" + raw[len("postgres://") :]
    try:
        parsed = make_url(raw)
    except (ArgumentError, ValueError) as err:  # ValueError: e.g. a non-numeric port
        raise DatabaseUrlError(
            f"DATABASE_URL {redact_url(url)!r} is not a database URL; "
            "expected postgresql://user@host/db or sqlite:///path/to/file.sqlite"
        ) from err
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        parsed = parsed.set(drivername="postgresql+asyncpg")
    elif backend == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    else:
        raise DatabaseUrlError(
            f"DATABASE_URL uses {backend!r}; CommandCenter supports PostgreSQL and SQLite"
        )
    return parsed.render_as_string(hide_password=False)


def redact_url(url: str) -> str:
    """The URL with any password replaced, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return "<unparseable URL>"


def is_postgres(url: str) -> bool:
    return make_url(normalise_database_url(url)).get_backend_name() == "postgresql"


def psycopg_url(url: str) -> str:
    """A libpq URL for the same PostgreSQL database (for the LangGraph checkpointer)."""
    parsed = make_url(normalise_database_url(url)).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=False)


def sqlite_path(url: str) -> Path | None:
    parsed = make_url(normalise_database_url(url))
    if (
        parsed.get_backend_name() != "sqlite"
        or not parsed.database
        or parsed.database == ":memory:"
    ):
        return None
    return Path(parsed.database)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """An async engine for ``url``; creates the SQLite file's folder when needed."""
    async_url = normalise_database_url(url)
    path = sqlite_path(url)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise DatabaseUrlError(
                f"cannot create the folder {path.parent} for the SQLite database "
                f"({err.strerror}); set COMMANDCENTER_DATA_DIR or DATABASE_URL to a "
                "writable place"
            ) from err
    kwargs: dict[str, Any] = {"echo": echo}
    if make_url(async_url).get_backend_name() == "postgresql":
        kwargs.update(pool_size=10, max_overflow=10, pool_pre_ping=True)
    engine = create_async_engine(async_url, **kwargs)
    if make_url(async_url).get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def _upgrade(connection: Connection, revision: str) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, revision)


def _current(connection: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


# pg_advisory_xact_lock key serialising schema upgrades of workers starting together.
MIGRATION_LOCK_KEY = 0x5CC_0000_0001


async def upgrade_database(engine: AsyncEngine, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` (idempotent).

    On PostgreSQL a transaction-level advisory lock makes workers that start at the
    same moment take turns: the first migrates, the others then find nothing to do.
    """
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
        await conn.run_sync(_upgrade, revision)


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as conn:
        return await conn.run_sync(_current)
