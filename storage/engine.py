"""Engine and session factories, URL handling and migrations.

``DATABASE_URL`` may be a plain ``postgres://`` / ``postgresql://`` URL (as
hosting providers hand them out) or ``sqlite:///path``; the async drivers are
filled in here.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
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


def psycopg_url(url: str, timeouts: DbTimeouts | None = None) -> str:
    """A libpq URL for the same PostgreSQL database (for the LangGraph checkpointer);
    with ``timeouts``, libpq's connect timeout and TCP keep-alives are set in it too."""
    parsed = make_url(normalise_database_url(url)).set(drivername="postgresql")
    if timeouts is not None:
        probing_s = timeouts.keepalive_interval_s * timeouts.keepalive_count
        parsed = parsed.update_query_dict(
            {
                "connect_timeout": str(max(2, round(timeouts.connect_s))),
                "keepalives": "1",
                "keepalives_idle": str(timeouts.keepalive_idle_s),
                "keepalives_interval": str(timeouts.keepalive_interval_s),
                "keepalives_count": str(timeouts.keepalive_count),
                "tcp_user_timeout": str(1000 * (timeouts.keepalive_idle_s + probing_s)),
            }
        )
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


@dataclass(frozen=True, slots=True)
class DbTimeouts:
    """Every wait on the database is bounded: a link that goes silent fails fast and
    the connection is replaced, rather than hanging the process."""

    connect_s: float = 10.0  # open a connection (asyncpg ``timeout``)
    command_s: float = 30.0  # one statement (asyncpg ``command_timeout``; SQLite busy wait)
    pool_s: float = 10.0  # wait for a free pooled connection
    # TCP keep-alives on PostgreSQL connections: probe after this idle time, then every
    # interval, and give up after count unanswered probes (or this much unacknowledged data).
    keepalive_idle_s: int = 30
    keepalive_interval_s: int = 10
    keepalive_count: int = 3


def _sqlite_pragmas(busy_timeout_ms: int) -> Any:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms:d}")
        cursor.close()

    return on_connect


def _keepalives(timeouts: DbTimeouts) -> Any:
    """Turn TCP keep-alives on for each new asyncpg connection (asyncpg has no option)."""

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        transport = getattr(dbapi_connection.driver_connection, "_transport", None)
        sock = transport.get_extra_info("socket") if transport is not None else None
        if sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
            return
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        probing_s = timeouts.keepalive_interval_s * timeouts.keepalive_count
        options = {
            "TCP_KEEPIDLE": timeouts.keepalive_idle_s,
            "TCP_KEEPINTVL": timeouts.keepalive_interval_s,
            "TCP_KEEPCNT": timeouts.keepalive_count,
            # Linux: data unacknowledged for this long closes the connection.
            "TCP_USER_TIMEOUT": 1000 * (timeouts.keepalive_idle_s + probing_s),
        }
        for name, value in options.items():
            option = getattr(socket, name, None)
            if option is not None:
                sock.setsockopt(socket.IPPROTO_TCP, option, value)

    return on_connect


def _timeout_is_disconnect(context: Any) -> None:
    """A statement that timed out leaves its connection in an unknown state (a silent
    link): treat it as a disconnect, so the pool drops it and opens a new one."""
    if isinstance(context.original_exception, TimeoutError):
        context.is_disconnect = True


def create_engine(
    url: str, *, echo: bool = False, timeouts: DbTimeouts | None = None
) -> AsyncEngine:
    """An async engine for ``url`` with bounded waits (see :class:`DbTimeouts`); creates
    the SQLite file's folder when needed."""
    timeouts = timeouts or DbTimeouts()
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
    backend = make_url(async_url).get_backend_name()
    kwargs: dict[str, Any] = {"echo": echo, "pool_timeout": timeouts.pool_s}
    if backend == "postgresql":
        kwargs.update(
            pool_size=10,
            max_overflow=10,
            pool_pre_ping=True,
            connect_args={
                "timeout": timeouts.connect_s,
                "command_timeout": timeouts.command_s,
                "server_settings": {  # the server notices a vanished client too
                    "tcp_keepalives_idle": str(timeouts.keepalive_idle_s),
                    "tcp_keepalives_interval": str(timeouts.keepalive_interval_s),
                    "tcp_keepalives_count": str(timeouts.keepalive_count),
                },
            },
        )
    elif backend == "sqlite":
        kwargs["connect_args"] = {"timeout": timeouts.command_s}
    engine = create_async_engine(async_url, **kwargs)
    if backend == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas(int(timeouts.command_s * 1000)))
    else:
        event.listen(engine.sync_engine, "connect", _keepalives(timeouts))
    event.listen(engine.sync_engine, "handle_error", _timeout_is_disconnect)
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


def head_revision() -> str:
    """The newest migration this release ships."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships migrations
        raise RuntimeError("no database migrations found")
    return head
