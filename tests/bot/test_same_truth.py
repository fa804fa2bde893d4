"""Every process answers from the same truth: a process that does not poll (the web face
in Slack HTTP mode) answers and checks action policy from the readings the workers
stored, saying how old they are; and every entry point migrates before it serves."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import open_app
from bot.chat.memory import MemoryAdapter
from bot.settings import Settings
from bot.web import build_web_app
from storage.engine import create_engine, upgrade_database
from tests.bot import helpers
from tests.bot.helpers import EVENING, run_minutes, running_bot, say
from tools.clock import ManualClock
from tools.domain import Reading
from tools.telemetry import TelemetryPipeline


async def _eventually(probe, *, timeout_s: float = 30.0):  # type: ignore[no-untyped-def]
    async with asyncio.timeout(timeout_s):
        while True:
            value = await probe()
            if value:
                return value
            await asyncio.sleep(0.05)


async def test_web_process_answers_and_checks_policy_from_stored_readings(
    db_url: str, tmp_path: Path
) -> None:
    clock = ManualClock(EVENING)
    site_file = helpers.test_site_file()
    site = site_file.sites[0].name
    # A worker polls its devices and stores what they report.
    async with running_bot(
        db_url=db_url, data_dir=tmp_path / "worker", clock=clock, site_file=site_file
    ) as (worker, _chat, _driver):
        await run_minutes(worker, clock, 3)
        stored_soc = worker.pipeline.latest(site).get("battery_soc_pct")
    assert stored_soc is not None

    clock.advance(timedelta(minutes=4))
    settings = Settings(data_dir=tmp_path / "web", database_url=db_url, state_refresh_s=0.1)
    async with open_app(
        settings,
        adapter=MemoryAdapter(),
        clock=clock,
        site_file=site_file,
        executes=False,
        polls=False,
    ) as web:
        reply = await web.chat.handle_message(say("olga", "status"), post=False)
        assert "No readings have arrived" not in reply.answer
        assert f"Battery at {stored_soc:.1f} %" in reply.answer
        assert "From the stored readings; the newest is 4 min old." in reply.answer

        # A worker stores a battery below the floor: the web process's policy sees it.
        writer = TelemetryPipeline(sessionmaker=web.sessionmaker)
        low = clock.now() - timedelta(seconds=30)
        await writer.ingest(
            [
                Reading(site=site, metric="battery_soc_pct", time=low, value=21.0, device="sim"),
                Reading(site=site, metric="pv_power_w", time=low, value=0.0, device="sim"),
                # one miner is off, so starting the miners is a real change to check
                Reading(site=site, metric="load_on", time=low, value=0.0, device="miner-1"),
            ]
        )

        async def refused() -> str | None:
            answer = (
                await web.chat.handle_message(say("olga", "start the miners"), post=False)
            ).answer
            return answer if "21.0 %" in answer else None

        message = await _eventually(refused)
        assert "no battery reading" not in message
        await writer.close()


async def test_a_fresh_data_dir_web_migrates_before_it_serves(tmp_path: Path) -> None:
    """``commandcenter web`` on an empty data folder: /readyz and /metrics both 200."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_"))}
    env.pop("DATABASE_URL", None)
    env.pop("COMMANDCENTER_SITE_FILE", None)
    env.update(COMMANDCENTER_DATA_DIR=str(tmp_path / "fresh"), HOST="127.0.0.1", PORT=str(port))
    log = (tmp_path / "web.log").open("wb")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "web", env=env, stdout=log, stderr=log, cwd=tmp_path
    )
    try:
        async with aiohttp.ClientSession() as http:

            async def ready() -> int | None:
                assert proc.returncode is None, (tmp_path / "web.log").read_text()
                try:
                    async with http.get(f"http://127.0.0.1:{port}/readyz") as r:
                        return r.status if r.status == 200 else None
                except aiohttp.ClientConnectionError:
                    return None

            assert await _eventually(ready, timeout_s=60) == 200
            async with http.get(f"http://127.0.0.1:{port}/metrics") as r:
                assert r.status == 200
                assert "commandcenter_" in await r.text()
    finally:
        if proc.returncode is None:
            proc.terminate()
        await asyncio.wait_for(proc.wait(), 30)
        log.close()


async def test_readyz_fails_until_the_schema_is_there(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        async with TestClient(TestServer(build_web_app(engine))) as client:
            before = await client.get("/readyz")
            body = await before.json()
            assert before.status == 503
            assert body["database"] == "ok" and body["schema"].startswith("at none, needs ")
            await upgrade_database(engine)
            after = await client.get("/readyz")
            assert after.status == 200 and (await after.json())["schema"] == "ok"
    finally:
        await engine.dispose()


@pytest.fixture(autouse=True)
def _no_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


async def test_a_worker_answers_for_another_shards_site_from_stored_readings(
    sqlite_url: str, tmp_path: Path
) -> None:
    """Two sharded workers: the one that runs only ``barn`` answers about ``demo`` from
    what the ``demo`` worker stored, not "no readings"."""
    clock = ManualClock(EVENING)
    one = helpers.test_site_file()
    demo = one.sites[0]
    barn = demo.model_copy(update={"name": "barn", "title": "Barn"})
    two = one.model_copy(update={"sites": [demo, barn]})
    async with running_bot(
        db_url=sqlite_url,
        data_dir=tmp_path / "w1",
        clock=clock,
        site_file=two,
        worker_sites="demo",
    ) as (worker, _chat, _driver):
        await run_minutes(worker, clock, 2)
        stored_soc = worker.pipeline.latest("demo").get("battery_soc_pct")
    assert stored_soc is not None
    clock.advance(timedelta(minutes=1))
    settings = Settings(data_dir=tmp_path / "w2", database_url=sqlite_url, worker_sites="barn")
    async with open_app(settings, adapter=MemoryAdapter(), clock=clock, site_file=two) as other:
        assert set(other.drivers) == {"barn"}
        reply = await other.chat.handle_message(say("olga", "status"), site="demo", post=False)
    assert f"Battery at {stored_soc:.1f} %" in reply.answer
    assert "From the stored readings; the newest is 60 s old." in reply.answer


def test_ask_answers_from_stored_readings_when_its_own_poll_gets_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``commandcenter ask`` starts cold: its device (here an unreachable Home Assistant)
    has told it nothing, yet the workers stored readings a minute ago."""
    import json
    from datetime import UTC, datetime

    import yaml
    from typer.testing import CliRunner

    from bot.cli import app
    from storage import repositories as repo
    from storage.engine import create_sessionmaker

    monkeypatch.chdir(tmp_path)
    for name in ("DATABASE_URL", "OPENAI_API_KEY", "SLACK_BOT_TOKEN", "DISCORD_BOT_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    demo = helpers.test_site_file().sites[0]
    site = demo.model_dump(mode="json", exclude_defaults=True)
    site["devices"] = [
        {
            "name": "ha",
            "driver": "homeassistant",
            "connection": {
                "url": "http://127.0.0.1:1",
                "token_env": "CC_TEST_ASK_HA_TOKEN",
                "timeout_s": 1,
                "entities": {"sensor.soc": {"metric": "battery_soc_pct"}},
            },
        }
    ]
    site_path = tmp_path / "sites.yaml"
    site_path.write_text(yaml.safe_dump({"sites": [site]}), encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'cc.sqlite'}"
    stored_at = datetime.now(UTC) - timedelta(minutes=2)

    async def store() -> None:
        engine = create_engine(db)
        try:
            await upgrade_database(engine)
            sessions = create_sessionmaker(engine)
            async with sessions() as s, s.begin():
                await repo.upsert_site(s, name=demo.name, title="", timezone="UTC", now=stored_at)
            pipeline = TelemetryPipeline(sessionmaker=sessions)
            await pipeline.ingest(
                [
                    Reading(
                        site=demo.name,
                        metric="battery_soc_pct",
                        time=stored_at,
                        value=73.5,
                        device="ha",
                    )
                ]
            )
            await pipeline.close()
        finally:
            await engine.dispose()

    asyncio.run(store())
    result = CliRunner(
        env={
            "DATABASE_URL": db,
            "COMMANDCENTER_DATA_DIR": str(tmp_path / "data"),
            "COMMANDCENTER_SITE_FILE": str(site_path),
            "CC_TEST_ASK_HA_TOKEN": "token",
        }
    ).invoke(app, ["ask", "how is the battery", "--json"])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)["answer"]
    assert "73.5 %" in answer
    assert "From the stored readings; the newest is 2 min old." in answer
