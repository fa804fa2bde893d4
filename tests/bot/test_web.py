"""The HTTP face: liveness and readiness against a real database."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from langchain_core.messages import AIMessage
from pydantic import SecretStr

from bot.metrics import Metrics
from bot.web import build_web_app, site_brokers, warn_if_open
from storage.engine import create_engine, create_sessionmaker, upgrade_database
from tests.bot.helpers import EVENING, run_minutes, running_bot, say
from tests.graphs.scripted_model import ScriptedChatModel
from tools.clock import ManualClock
from tools.site import Device, SiteFile, demo_site_file


async def test_healthz_and_readyz_with_a_database(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        await upgrade_database(engine)  # not ready without the schema (test_same_truth.py)
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


async def test_readyz_checks_the_site_files_brokers(
    sqlite_url: str, mqtt_broker: tuple[str, int]
) -> None:
    host, port = mqtt_broker
    devices = [
        Device(name="gx", driver="victron_mqtt", connection={"host": host, "port": port}),
        # A second device on the same broker is checked once; a broker nobody runs fails.
        Device(name="gx2", driver="victron_mqtt", connection={"host": host, "port": port}),
        Device(
            name="plug",
            driver="shelly",
            connection={"host": "127.0.0.1", "mqtt": {"host": "127.0.0.1", "port": 1}},
        ),
    ]
    site = demo_site_file().sites[0].model_copy(update={"devices": devices})
    brokers = site_brokers(SiteFile(sites=[site]))
    assert brokers == [(host, port), ("127.0.0.1", 1)]
    engine = create_engine(sqlite_url)
    try:
        await upgrade_database(engine)
        app = build_web_app(engine, brokers=brokers[:1])
        async with TestClient(TestServer(app)) as client:
            ready = await client.get("/readyz")
            assert ready.status == 200
            assert (await ready.json())["brokers"] == {f"{host}:{port}": "ok"}
        async with TestClient(TestServer(build_web_app(engine, brokers=brokers))) as client:
            ready = await client.get("/readyz")
            body = await ready.json()
        assert ready.status == 503 and body["status"] == "unavailable"
        assert body["database"] == "ok"
        assert body["brokers"]["127.0.0.1:1"] == "ConnectionRefusedError"
    finally:
        await engine.dispose()


async def test_metrics_change_with_activity(sqlite_url: str, tmp_path: Path) -> None:
    clock = ManualClock(EVENING)
    async with running_bot(db_url=sqlite_url, data_dir=tmp_path, clock=clock) as (app, _c, _d):
        server = TestServer(build_web_app(app.engine, metrics=app.metrics))
        async with TestClient(server) as client:
            await app.metrics.refresh()
            before = await (await client.get("/metrics")).text()
            assert 'commandcenter_readings_total{outcome="accepted"} 0.0' in before
            for _ in range(40):  # the battery drains: readings flow and an alert fires
                await run_minutes(app, clock, 1)
            await app.chat.handle_message(say("olga", "status"))
            await app.metrics.refresh()
            after = await (await client.get("/metrics")).text()
        accepted = [
            line
            for line in after.splitlines()
            if line.startswith('commandcenter_readings_total{outcome="accepted"}')
        ]
        assert float(accepted[0].split()[-1]) > 100
        assert 'commandcenter_alerts{status="firing"}' in after
        assert 'commandcenter_action_requests{status="pending"}' in after
        assert 'commandcenter_chat_seconds_count{kind="message",platform="console"} 1.0' in after
        assert 'commandcenter_ingest_lag_seconds{site="demo"}' in after


async def test_metrics_count_model_tokens_and_cost(sqlite_url: str, tmp_path: Path) -> None:
    reply = AIMessage(
        content="All quiet.",
        usage_metadata={"input_tokens": 1000, "output_tokens": 100, "total_tokens": 1100},
    )
    model = ScriptedChatModel(script=[reply, reply])
    clock = ManualClock(EVENING)
    async with running_bot(
        db_url=sqlite_url,
        data_dir=tmp_path,
        clock=clock,
        model=model,
        openai_model="gpt-4o-mini",
        openai_api_key=SecretStr("sk-test"),
    ) as (app, _c, _d):
        server = TestServer(build_web_app(app.engine, metrics=app.metrics))
        async with TestClient(server) as client:
            await app.chat.handle_message(say("olga", "anything new?"))
            await app.metrics.refresh()
            one = await (await client.get("/metrics")).text()
            await app.chat.handle_message(say("olga", "and now?"))
            await app.metrics.refresh()
            two = await (await client.get("/metrics")).text()
    assert 'commandcenter_model_tokens_total{kind="prompt",model="gpt-4o-mini"} 1000.0' in one
    assert 'commandcenter_model_tokens_total{kind="prompt",model="gpt-4o-mini"} 2000.0' in two
    assert 'commandcenter_model_tokens_total{kind="completion",model="gpt-4o-mini"} 200.0' in two
    assert 'commandcenter_model_turns_total{model="gpt-4o-mini"} 2.0' in two
    cost = next(
        line for line in two.splitlines() if line.startswith("commandcenter_model_cost_usd_total")
    )
    assert abs(float(cost.split()[-1]) - 2 * (1000 * 0.15 + 100 * 0.60) / 1e6) < 1e-9


async def test_metrics_with_a_token_answer_only_the_bearer(
    sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Behind a public Slack endpoint the web face's /metrics would tell anyone the
    sites' names, readings and activity: with COMMANDCENTER_METRICS_TOKEN set it answers
    only ``Authorization: Bearer <token>``; served beyond loopback without one, the
    process says so at start."""
    engine = create_engine(sqlite_url)
    try:
        await upgrade_database(engine)
        metrics = Metrics(pipeline=None, sessionmaker=create_sessionmaker(engine))
        app = build_web_app(engine, metrics=metrics, metrics_token="s3cret-scrape")
        async with TestClient(TestServer(app)) as client:
            bare = await client.get("/metrics")
            assert bare.status == 401
            assert "COMMANDCENTER_METRICS_TOKEN" in await bare.text()
            assert bare.headers["WWW-Authenticate"].startswith("Bearer")
            for wrong in ("Bearer s3cret", "Basic s3cret-scrape", "Bearer s3cret-scrape2"):
                response = await client.get("/metrics", headers={"Authorization": wrong})
                assert response.status == 401, wrong
            ok = await client.get("/metrics", headers={"Authorization": "Bearer s3cret-scrape"})
            assert ok.status == 200
            assert "commandcenter_build_info" in await ok.text()
            assert (await client.get("/healthz")).status == 200  # health stays open
        async with TestClient(TestServer(build_web_app(engine, metrics=metrics))) as client:
            assert (await client.get("/metrics")).status == 200  # no token: as before
    finally:
        await engine.dispose()
    with caplog.at_level(logging.WARNING, logger="bot.web"):
        assert warn_if_open("0.0.0.0", 8000, None) is True
        assert warn_if_open("0.0.0.0", 8000, "s3cret-scrape") is False
        assert warn_if_open("127.0.0.1", 8000, None) is False
        assert warn_if_open("::1", 8000, None) is False
    assert [r.getMessage().split(" answers")[0] for r in caplog.records] == [
        "/metrics on 0.0.0.0:8000"
    ]
