"""Shared test infrastructure: databases (SQLite and real PostgreSQL) and the MQTT broker.

External services follow one rule (see :func:`require_service`): in CI (``CI`` is
``true`` or ``1``) a test that needs PostgreSQL or MQTT runs and FAILS when the
service is missing; on a developer's machine it is SKIPPED with a reason.

Configuration:

- ``TEST_POSTGRES_URL``: an admin URL (default ``postgresql://postgres@127.0.0.1:5432/postgres``);
  every test gets a brand-new database created from it and dropped afterwards (for the
  ``engine`` fixture, a copy of one migrated once per session).
- ``TEST_MQTT_HOST`` / ``TEST_MQTT_PORT``: the broker (default ``127.0.0.1:1883``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import socket
import sqlite3
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from graphs.assistant.understanding.model_cache import CACHE_DIR_ENV
from storage.engine import create_engine, create_sessionmaker, upgrade_database
from tools.telemetry import TelemetryPipeline

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_MQTT_HOST = "127.0.0.1"
DEFAULT_MQTT_PORT = 1883
CONNECT_TIMEOUT_S = 3.0

T = TypeVar("T")


# --- the service rule -----------------------------------------------------------------


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1"}


def require_service(error: str, reason: str) -> None:
    """Fail in CI, skip elsewhere, when a required external service is missing.

    ``error`` is empty when the service answered, else what went wrong; ``reason``
    says what is missing and how to point the tests elsewhere, e.g.
    "PostgreSQL not reachable at 127.0.0.1:5432 (set TEST_POSTGRES_URL)".
    """
    if not error:
        return
    if in_ci():
        pytest.fail(f"{reason}: {error}; required in CI (CI={os.environ['CI']})", pytrace=False)
    pytest.skip(f"{reason}; skipped outside CI")


def _run_in_thread(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion on its own loop in a worker thread.

    Used by session-scoped sync fixtures so they never touch pytest-asyncio's loops.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def _libpq_url(url: str) -> str:
    """``postgresql://...`` (no ``+driver``) as asyncpg and psycopg expect."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _host_port(url: str) -> str:
    parsed = make_url(url)
    return f"{parsed.host or 'localhost'}:{parsed.port or 5432}"


# --- PostgreSQL ---------------------------------------------------------------------------


async def _postgres_probe(admin_url: str) -> str:
    """'' when the server answers, else the error."""
    try:
        conn = await asyncpg.connect(admin_url, timeout=CONNECT_TIMEOUT_S)
    except Exception as err:  # refused, timeout, auth, missing database ...
        return f"{type(err).__name__}: {err}"
    try:
        await conn.fetchval("SELECT 1")
    finally:
        await conn.close()
    return ""


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    """The admin URL (libpq form) of a reachable PostgreSQL server; skip/fail otherwise."""
    url = _libpq_url(os.environ.get("TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL))
    error = _run_in_thread(_postgres_probe(url))
    require_service(error, f"PostgreSQL not reachable at {_host_port(url)} (set TEST_POSTGRES_URL)")
    return url


async def _create_database(admin_url: str, template: str | None = None) -> str:
    """A new database with a unique name (a copy of ``template`` when given); its name."""
    name = f"cc_test_{uuid.uuid4().hex[:12]}"
    copy = f' TEMPLATE "{template}"' if template else ""
    admin = await asyncpg.connect(admin_url, timeout=CONNECT_TIMEOUT_S)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"{copy}')
    finally:
        await admin.close()
    return name


async def _drop_database(admin_url: str, name: str) -> None:
    admin = await asyncpg.connect(admin_url, timeout=CONNECT_TIMEOUT_S)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def _database_url(admin_url: str, name: str) -> str:
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture
async def postgres_url(postgres_admin_url: str) -> AsyncIterator[str]:
    """A brand-new empty database (unique name), dropped after the test."""
    name = await _create_database(postgres_admin_url)
    try:
        yield _database_url(postgres_admin_url, name)
    finally:
        await _drop_database(postgres_admin_url, name)


@pytest.fixture(scope="session")
def postgres_template(postgres_admin_url: str) -> Iterator[str]:
    """A database migrated to the newest revision once per session (dropped at its end).

    The databases the ``engine`` fixture hands out are copies of it (``CREATE DATABASE
    ... TEMPLATE``, ~0.07 s) instead of empty ones migrated test by test (~0.2-0.5 s);
    ``engine`` still runs the migrations on each copy, which then find nothing to do."""

    async def build() -> str:
        name = await _create_database(postgres_admin_url)
        eng = create_engine(_database_url(postgres_admin_url, name))
        try:
            await upgrade_database(eng)
        finally:
            await eng.dispose()
        return name

    name = _run_in_thread(build())
    yield name
    _run_in_thread(_drop_database(postgres_admin_url, name))


@pytest.fixture
async def migrated_postgres_url(
    postgres_admin_url: str, postgres_template: str
) -> AsyncIterator[str]:
    """A brand-new database already at the newest revision (a copy of the session's
    migrated template), dropped after the test."""
    name = await _create_database(postgres_admin_url, template=postgres_template)
    try:
        yield _database_url(postgres_admin_url, name)
    finally:
        await _drop_database(postgres_admin_url, name)


# --- SQLite and the either-backend fixtures ----------------------------------------------


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/cc.sqlite"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to the newest revision once per session (see
    ``postgres_template``); its write-ahead log folded in, so the file alone is the
    whole database."""
    path = tmp_path_factory.mktemp("sqlite-template") / "cc.sqlite"

    async def build() -> None:
        eng = create_engine(f"sqlite:///{path}")
        try:
            await upgrade_database(eng)
        finally:
            await eng.dispose()

    _run_in_thread(build())
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert not path.with_name(path.name + "-wal").exists(), "the template's WAL was not folded in"
    return path


@pytest.fixture
def migrated_sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    """``sqlite_url``'s file, already at the newest revision (a copy of the template)."""
    shutil.copyfile(sqlite_template, tmp_path / "cc.sqlite")
    return f"sqlite:///{tmp_path}/cc.sqlite"


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ]
)
def db_url(request: pytest.FixtureRequest) -> str:
    """A fresh database URL, once per backend: empty, or, for a test that uses ``engine``
    (which migrates it before the test starts either way), a copy of a database
    migrated once per session."""
    fixtures = {"sqlite": "sqlite_url", "postgres": "postgres_url"}
    if "engine" in request.fixturenames:
        fixtures = {"sqlite": "migrated_sqlite_url", "postgres": "migrated_postgres_url"}
    url: str = request.getfixturevalue(fixtures[request.param])
    return url


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on ``db_url`` with every migration applied; disposed afterwards. (Its
    database is a copy of one migrated once per session, see ``db_url``: the migrations
    run here find nothing left to do.)"""
    eng = create_engine(db_url)
    try:
        await upgrade_database(eng)
        yield eng
    finally:
        await eng.dispose()


@pytest.fixture
def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_sessionmaker(engine)


@pytest.fixture
async def pipelines(engine: AsyncEngine) -> AsyncIterator[Callable[..., TelemetryPipeline]]:
    """Build telemetry pipelines that are closed (their kept connections given back to the
    pool) before ``engine`` is disposed, whatever the test did."""
    made: list[TelemetryPipeline] = []

    def make(**kwargs: Any) -> TelemetryPipeline:
        pipeline = TelemetryPipeline(**kwargs)
        made.append(pipeline)
        return pipeline

    yield make
    for pipeline in made:
        await pipeline.close()


# --- MQTT -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def mqtt_broker() -> tuple[str, int]:
    """(host, port) of a reachable MQTT broker; skip/fail otherwise."""
    host = os.environ.get("TEST_MQTT_HOST", DEFAULT_MQTT_HOST)
    port = int(os.environ.get("TEST_MQTT_PORT", str(DEFAULT_MQTT_PORT)))
    error = ""
    try:
        with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S):
            pass
    except OSError as err:
        error = f"{type(err).__name__}: {err}"
    require_service(
        error, f"MQTT broker not reachable at {host}:{port} (set TEST_MQTT_HOST/TEST_MQTT_PORT)"
    )
    return host, port


# --- the intent classifier's cache ------------------------------------------------------------


@pytest.fixture(scope="session", autouse=True)
def model_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One private cache folder for the session (``COMMANDCENTER_CACHE_DIR``), inherited by
    every ``python -m bot`` the tests start: the intent classifier is trained once per
    session, not once per process, and never read from or written to the user's own cache."""
    folder = tmp_path_factory.mktemp("model-cache")
    before = os.environ.get(CACHE_DIR_ENV)
    os.environ[CACHE_DIR_ENV] = str(folder)
    yield folder
    if before is None:
        os.environ.pop(CACHE_DIR_ENV, None)
    else:
        os.environ[CACHE_DIR_ENV] = before


# --- logging ----------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _root_logging_restored() -> Iterator[None]:
    """The CLI sets up the root logger for its process (``bot.logs.configure``: one
    handler on ``sys.stderr``). Run inside a test, that ``sys.stderr`` is the test's
    capture, closed once the test ends; left in place, every later log line of the
    session failed with "Logging error ... I/O operation on closed file". Each test
    gets the root logger back as it found it."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


# --- markers ----------------------------------------------------------------------------------


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tag tests by the services their fixtures use, so ``-m "not postgres"`` works."""
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if names & {"postgres_url", "postgres_admin_url"}:
            item.add_marker(pytest.mark.postgres)
        if "mqtt_broker" in names:
            item.add_marker(pytest.mark.mqtt)


@pytest.fixture(autouse=True)
def _require_marked_services(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test marked ``postgres`` or ``mqtt`` gets the service check even without the fixture."""
    if request.node.get_closest_marker("postgres") is not None:
        request.getfixturevalue("postgres_admin_url")
    if request.node.get_closest_marker("mqtt") is not None:
        request.getfixturevalue("mqtt_broker")
    yield


# --- the team's shared measured data (../shared/data beside the repository) -------------


def shared_data_dir() -> Path:
    """``shared/data`` beside the repository (as in CI), overridable with CC_SHARED_DATA."""
    override = os.environ.get("CC_SHARED_DATA")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[1].parent / "shared" / "data"


def shared_data(relative: str) -> Path:
    """A file of the team's shared data, or a skip saying where it was looked for.

    Unlike a service, the data folder is not something CI can start, so its
    absence skips (with the reason) rather than fails, also in CI.
    """
    path = shared_data_dir() / relative
    if not path.exists():
        pytest.skip(f"shared data file {path} not found (set CC_SHARED_DATA to its folder)")
    return path
