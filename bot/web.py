"""The HTTP face: liveness and readiness (Slack endpoints arrive with the Slack adapter)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from aiohttp import web
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.metrics import CONTENT_TYPE, Metrics
from bot.settings import Settings
from storage.engine import create_engine, create_sessionmaker

log = logging.getLogger(__name__)

ENGINE_KEY = web.AppKey("engine", AsyncEngine)
METRICS_KEY = web.AppKey("metrics", Metrics)


async def metrics_endpoint(request: web.Request) -> web.Response:
    metrics = request.app[METRICS_KEY]
    if metrics.pipeline is None or metrics.snapshot.taken_at == 0.0:
        await metrics.refresh()  # a web-only process has no job refreshing it
    return web.Response(body=metrics.render(), headers={"Content-Type": CONTENT_TYPE})


async def healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    engine = request.app[ENGINE_KEY]
    try:
        async with asyncio.timeout(3):
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError, TimeoutError) as err:
        return web.json_response(
            {"status": "unavailable", "database": f"{type(err).__name__}"}, status=503
        )
    return web.json_response({"status": "ready", "database": "ok"})


def build_web_app(
    engine: AsyncEngine,
    *,
    routes: Iterable[web.AbstractRouteDef] = (),
    metrics: Metrics | None = None,
) -> web.Application:
    """Health endpoints, plus ``routes`` (e.g. ``bot.chat.slack.slack_routes(...)``)."""
    app = web.Application()
    app[ENGINE_KEY] = engine
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    if metrics is not None:
        app[METRICS_KEY] = metrics
        app.router.add_get("/metrics", metrics_endpoint)
    app.add_routes(list(routes))
    return app


async def serve(settings: Settings) -> None:
    engine = create_engine(settings.effective_database_url)
    metrics = Metrics(pipeline=None, sessionmaker=create_sessionmaker(engine))
    runner = web.AppRunner(build_web_app(engine, metrics=metrics))
    await runner.setup()
    site = web.TCPSite(runner, settings.http_host, settings.http_port)
    await site.start()
    log.info("listening on http://%s:%d", settings.http_host, settings.http_port)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
        await engine.dispose()
