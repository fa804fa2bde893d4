"""The command line's error boundary: a known problem becomes one ``error:`` line.

Configuration and connection problems (a wrong site file, a bad environment value,
a database that cannot be reached or opened, a port that cannot be listened on) are
the operator's to fix, so the command prints what to fix on one line and exits with
code 2. Anything else is a bug: one line too, with a hint to run again with
``--debug`` for the traceback.
"""

from __future__ import annotations

import errno
import re
import traceback
from collections.abc import Iterator
from dataclasses import dataclass

from bot.settings import SettingsInvalid, describe_settings_error
from storage.errors import StorageError
from tools.errors import ToolsError

#: Exit code of a problem the operator can fix (the same as a usage error).
EXIT_CONFIG = 2
#: Exit code of an unexpected error (a bug).
EXIT_BUG = 1


@dataclass(frozen=True, slots=True)
class Context:
    """What the command was using when it failed, for naming it in the message."""

    database_url: str | None = None
    listen: tuple[str, int] | None = None


def one_line(text: str) -> str:
    """A message of several lines (a heading and indented details) as one line."""
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    if len(lines) <= 1:
        return lines[0] if lines else ""
    head, rest = lines[0], lines[1:]
    return f"{head.rstrip(':')}: {'; '.join(rest)}"


def _chain(err: BaseException) -> Iterator[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = err
    while current is not None and not any(current is s for s in seen):
        seen.append(current)
        yield current
        current = current.__cause__ or current.__context__


def _frames(err: BaseException) -> Iterator[traceback.FrameSummary]:
    for ex in _chain(err):
        yield from traceback.extract_tb(ex.__traceback__)


def _while_connecting_to_database(err: BaseException) -> bool:
    """True when the error arose opening a database connection (SQLAlchemy's pool)."""
    return any(
        f.name == "__connect" and "sqlalchemy" in f.filename.replace("\\", "/")
        for f in _frames(err)
    )


def _while_listening(err: BaseException) -> bool:
    return any(f.name == "create_server" and "asyncio" in f.filename for f in _frames(err))


def _is_database_error(err: BaseException) -> bool:
    from sqlalchemy.exc import InterfaceError, OperationalError

    if isinstance(err, OperationalError | InterfaceError):
        return True
    if type(err).__module__.split(".")[0] in ("psycopg", "psycopg_pool", "asyncpg"):
        return isinstance(err, OSError) or type(err).__name__.endswith(
            ("OperationalError", "ConnectionError", "CannotConnectNowError")
        )
    return _while_connecting_to_database(err)


_CLASS_PREFIX = re.compile(r"^<class '[\w.]+'>:\s*")
_SQLA_PREFIX = re.compile(r"^\([\w.]+\)\s*")


def _reason(err: BaseException) -> str:
    """The innermost useful message: the driver's, not SQLAlchemy's wrapping of it."""
    from sqlalchemy.exc import DBAPIError

    inner: BaseException = err
    if isinstance(err, DBAPIError) and err.orig is not None:
        inner = err.orig
        if inner.__cause__ is not None:
            inner = inner.__cause__
    if isinstance(inner, OSError) and inner.strerror:
        text = inner.strerror
        if isinstance(inner, ConnectionRefusedError) or inner.errno == errno.ECONNREFUSED:
            text = "connection refused (is the server running, on that host and port?)"
    else:
        text = str(inner) or type(inner).__name__
    text = _SQLA_PREFIX.sub("", _CLASS_PREFIX.sub("", text.splitlines()[0] if text else ""))
    if isinstance(inner, TimeoutError) and not text:
        text = "timed out"
    return text or type(inner).__name__


def database_message(err: BaseException, url: str | None) -> str:
    from storage.engine import redact_url

    where = f"the database {redact_url(url)}" if url else "the database"
    fix = (
        "DATABASE_URL"
        if url and not url.startswith("sqlite")
        else "DATABASE_URL or COMMANDCENTER_DATA_DIR"
    )
    return f"cannot use {where}: {_reason(err)}; check {fix}"


def listen_message(err: BaseException, listen: tuple[str, int] | None) -> str:
    where = f"{listen[0]}:{listen[1]}" if listen else "the HTTP address"
    if isinstance(err, OSError) and err.errno == errno.EADDRINUSE:
        why = "the port is already in use; stop the other process or choose another --port (PORT)"
    elif isinstance(err, OSError) and err.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):
        why = "that address is not on this machine; use --host (HOST) 127.0.0.1 or 0.0.0.0"
    elif isinstance(err, OSError) and err.errno == errno.EACCES:
        why = "permission denied (ports below 1024 need privileges); choose another --port"
    else:
        why = f"{_reason(err)}; check --host/--port (HOST/PORT)"
    return f"cannot listen on {where}: {why}"


def explain(err: BaseException, context: Context) -> str | None:
    """The one-line message for a problem the operator can fix, else None (a bug)."""
    if isinstance(err, SettingsInvalid | ToolsError | StorageError):
        return one_line(str(err))
    settings_problem = describe_settings_error(err) if isinstance(err, Exception) else None
    if settings_problem is not None:
        return settings_problem
    if _is_database_error(err):
        return database_message(err, context.database_url)
    if isinstance(err, OSError | OverflowError) and _while_listening(err):
        return listen_message(err, context.listen)
    from bot.chat.slack import SlackConfigError
    from bot.commands.edge import EdgeError

    if isinstance(err, SlackConfigError | EdgeError):
        return one_line(str(err))
    return None


def bug_message(err: BaseException) -> str:
    text = one_line(str(err))
    detail = f"{type(err).__name__}: {text}" if text else type(err).__name__
    return f"unexpected {detail} (a bug: run again with --debug for the traceback)"
