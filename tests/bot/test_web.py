"""The HTTP face: liveness and readiness against a real database."""

from __future__ import annotations

from aiohttp.test_utils import TestClient, TestServer

from bot.web import build_web_app
from storage.engine import create_engine


async def test_healthz_and_readyz_with_a_database(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        async with TestClient(TestServer(build_web_app(engine))) as client:
            health = await client.get("/healthz")
            assert health.status == 200
            assert await health.json() == {"status": "ok"}
            ready = await client.get("/readyz")
            assert ready.status == 200
            assert (await ready.json())["database"] == "ok"
    finally:
        await engine.dispose()


async def test_readyz_fails_when_the_database_is_down() -> None:
    # Nothing listens on port 1: the connection is refused at once.
    engine = create_engine("postgresql://postgres@127.0.0.1:1/nothing")
    try:
        async with TestClient(TestServer(build_web_app(engine))) as client:
            assert (await client.get("/healthz")).status == 200
            ready = await client.get("/readyz")
            assert ready.status == 503
            assert (await ready.json())["status"] == "unavailable"
    finally:
        await engine.dispose()
