"""The HTTP face: liveness, readiness (database and MQTT brokers), Prometheus metrics,
and the routes the chat adapters add (Slack's HTTP endpoints)."""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging
from collections.abc import Iterable

from aiohttp import web
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.metrics import CONTENT_TYPE, Metrics
from bot.settings import Settings
from storage.engine import (
    create_engine,
    create_sessionmaker,
    current_revision,
    head_revision,
    upgrade_database,
)
from tools.devices.config import mqtt_brokers
from tools.site import SiteFile

log = logging.getLogger(__name__)

ENGINE_KEY = web.AppKey("engine", AsyncEngine)
BROKERS_KEY = web.AppKey("brokers", list[tuple[str, int]])
CHECK_TIMEOUT_S = 3.0
METRICS_KEY = web.AppKey("metrics", Metrics)
HEAD_KEY = web.AppKey("schema_head", str)
TOKEN_KEY = web.AppKey("metrics_token", str)


async def metrics_endpoint(request: web.Request) -> web.Response:
    """Prometheus text; with a token configured, only for ``Authorization: Bearer <token>``
    (the figures name sites, devices and people's activity)."""
    token = request.app.get(TOKEN_KEY)
    if token and not _bearer_matches(request.headers.get("Authorization", ""), token):
        return web.Response(
            status=401,
            text="/metrics needs 'Authorization: Bearer <COMMANDCENTER_METRICS_TOKEN>'\n",
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    metrics = request.app[METRICS_KEY]
    if metrics.pipeline is None or metrics.snapshot.taken_at == 0.0:
        await metrics.refresh()  # a web-only process has no job refreshing it
    return web.Response(body=metrics.render(), headers={"Content-Type": CONTENT_TYPE})


def _bearer_matches(header: str, token: str) -> bool:
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), token.encode()
    )


def warn_if_open(host: str, port: int, token: str | None) -> bool:
    """Log a warning when ``/metrics`` is served beyond this machine without a token;
    returns whether it did."""
    if token or _loopback(host):
        return False
    log.warning(
        "/metrics on %s:%d answers anyone who can reach it (site names, readings, alert and "
        "action counts); set COMMANDCENTER_METRICS_TOKEN and give Prometheus the token",
        host,
        port,
    )
    return True


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Ready when the database answers with this release's schema and every MQTT broker
    of the site file accepts a connection; otherwise 503 naming what failed."""
    engine = request.app[ENGINE_KEY]
    body: dict[str, object] = {}
    ok = True
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S):
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            revision = await current_revision(engine)
        body["database"] = "ok"
        head = request.app[HEAD_KEY]
        # Not ready until the schema is this release's: queries would fail on an older one.
        body["schema"] = "ok" if revision == head else f"at {revision or 'none'}, needs {head}"
        ok = revision == head
    except (SQLAlchemyError, OSError, TimeoutError) as err:
        body["database"] = type(err).__name__
        ok = False
    brokers: dict[str, str] = {}
    for host, port in request.app.get(BROKERS_KEY, []):
        brokers[f"{host}:{port}"] = await _reachable(host, port)
        ok = ok and brokers[f"{host}:{port}"] == "ok"
    if brokers:
        body["brokers"] = brokers
    body["status"] = "ready" if ok else "unavailable"
    return web.json_response(body, status=200 if ok else 503)


async def _reachable(host: str, port: int) -> str:
    """'ok' when a TCP connection to the broker opens, else the error's name."""
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S):
            _reader, writer = await asyncio.open_connection(host, port)
        writer.close()
        await writer.wait_closed()
    except (OSError, TimeoutError) as err:
        return type(err).__name__
    return "ok"


def build_web_app(
    engine: AsyncEngine,
    *,
    routes: Iterable[web.AbstractRouteDef] = (),
    metrics: Metrics | None = None,
    brokers: Iterable[tuple[str, int]] = (),
    metrics_token: str | None = None,
) -> web.Application:
    """Health endpoints, plus ``routes`` (e.g. ``bot.chat.slack.slack_routes(...)``);
    ``/readyz`` also checks ``brokers``; ``/metrics`` asks for ``metrics_token`` if given."""
    app = web.Application()
    if metrics_token:
        app[TOKEN_KEY] = metrics_token
    app[ENGINE_KEY] = engine
    app[BROKERS_KEY] = list(brokers)
    app[HEAD_KEY] = head_revision()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    if metrics is not None:
        app[METRICS_KEY] = metrics
        app.router.add_get("/metrics", metrics_endpoint)
    app.add_routes(list(routes))
    return app


async def serve(settings: Settings) -> None:
    """The health and metrics endpoints alone (``web`` without Slack in HTTP mode).

    Like every entry point it applies the migrations before it serves, so a fresh
    data directory answers ``/metrics`` at once.
    """
    from bot.app import load_sites

    brokers = site_brokers(load_sites(settings))
    from bot.app import db_timeouts

    engine = create_engine(settings.effective_database_url, timeouts=db_timeouts(settings))
    try:
        await upgrade_database(engine)
    except BaseException:
        await engine.dispose()
        raise
    metrics = Metrics(pipeline=None, sessionmaker=create_sessionmaker(engine))
    token = settings.metrics_token.get_secret_value() if settings.metrics_token else None
    runner = web.AppRunner(
        build_web_app(engine, metrics=metrics, brokers=brokers, metrics_token=token)
    )
    await runner.setup()
    warn_if_open(settings.http_host, settings.http_port, token)
    site = web.TCPSite(runner, settings.http_host, settings.http_port)
    await site.start()
    log.info("listening on http://%s:%d", settings.http_host, settings.http_port)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
        await engine.dispose()


def site_brokers(site_file: SiteFile) -> list[tuple[str, int]]:
    """The MQTT brokers the site file's devices use (checked by ``/readyz``)."""
    return mqtt_brokers(
        (device.driver, device.connection) for site in site_file.sites for device in site.devices
    )


async def serve_metrics(
    metrics: Metrics,
    *,
    host: str,
    port: int,
    engine: AsyncEngine | None = None,
    brokers: Iterable[tuple[str, int]] = (),
    token: str | None = None,
) -> web.AppRunner:
    """The worker's own ``/metrics`` and ``/healthz`` (and, given its ``engine``,
    ``/readyz``, the container's health check) on ``COMMANDCENTER_METRICS_PORT``;
    ``/metrics`` asks for ``token`` if given."""
    app = web.Application()
    app[METRICS_KEY] = metrics
    if token:
        app[TOKEN_KEY] = token
    app.router.add_get("/metrics", metrics_endpoint)
    app.router.add_get("/healthz", healthz)
    if engine is not None:
        app[ENGINE_KEY] = engine
        app[BROKERS_KEY] = list(brokers)
        app[HEAD_KEY] = head_revision()
        app.router.add_get("/readyz", readyz)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    log.info("metrics on http://%s:%d/metrics", host, port)
    warn_if_open(host, port, token)
    return runner
