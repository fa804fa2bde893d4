"""Victron VRM API v2 client and backfill, against a local fake of the API."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import typer
import yaml
from typer.testing import CliRunner

from bot.commands.backfill_vrm import vrm
from tools.devices.config import VrmAccount
from tools.devices.simulators.vrm_api import FakeVrmApi, soc_at
from tools.devices.vrm import (
    VRM_DEVICE,
    VrmClient,
    VrmRateLimited,
    backfill_readings,
    chunk_range,
)
from tools.errors import DeviceAuthError, DeviceProtocolError, DeviceTimeout, DeviceUnreachable

TOKEN = "test-token"
START = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.fixture
async def api() -> AsyncIterator[FakeVrmApi]:
    async with FakeVrmApi(token=TOKEN, installation_id=12345) as fake:
        yield fake


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def _account(base_url: str, installation_id: int = 12345) -> VrmAccount:
    return VrmAccount(
        installation_id=installation_id, token_env="VRM_TEST_TOKEN", base_url=base_url
    )


async def test_stats_sends_the_token_and_parses_records(
    api: FakeVrmApi, http: httpx.AsyncClient
) -> None:
    client = VrmClient(http, _account(api.base_url), token=TOKEN)
    series = await client.stats(START, START + timedelta(hours=6), attribute_codes=["bs", "Pc"])
    assert [r.authorized for r in api.requests] == [True]
    request = api.requests[0]
    assert request.path == "/v2/installations/12345/stats"
    assert request.get("type") == "custom" and request.get("interval") == "hours"
    assert request.getall("attributeCodes[]") == ["bs", "Pc"]
    assert request.get("start") == str(int(START.timestamp()))
    bs = series["bs"]
    assert [t for t, _ in bs] == [START + timedelta(hours=h) for h in range(6)]  # end excluded
    assert bs[1][1] == pytest.approx(soc_at(int(START.timestamp()) + 3600), abs=1e-3)
    assert len(series["Pc"]) == 6


async def test_token_comes_from_the_environment(
    api: FakeVrmApi, http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VRM_TEST_TOKEN", raising=False)
    with pytest.raises(DeviceAuthError, match=r"VRM_TEST_TOKEN is not set.*Integrations"):
        VrmClient(http, _account(api.base_url))
    monkeypatch.setenv("VRM_TEST_TOKEN", TOKEN)
    client = VrmClient(http, _account(api.base_url))
    assert (await client.stats(START, START + timedelta(hours=1)))["bs"]


async def test_a_refused_token_says_what_to_do(api: FakeVrmApi, http: httpx.AsyncClient) -> None:
    client = VrmClient(http, _account(api.base_url), token="wrong")
    with pytest.raises(DeviceAuthError) as info:
        await client.stats(START, START + timedelta(hours=1))
    assert "VRM refused the token (HTTP 401)" in str(info.value)
    assert "VRM → Preferences → Integrations" in str(info.value)
    assert "wrong" not in str(info.value)  # never echo the secret

    other = VrmClient(http, _account(api.base_url, installation_id=999), token=TOKEN)
    with pytest.raises(DeviceAuthError, match="installation 999"):
        await other.stats(START, START + timedelta(hours=1))


async def test_429_is_retried_after_retry_after(api: FakeVrmApi, http: httpx.AsyncClient) -> None:
    api.rate_limit_next = 1  # Retry-After: 1
    client = VrmClient(http, _account(api.base_url), token=TOKEN)
    loop = asyncio.get_running_loop()
    began = loop.time()
    series = await client.stats(START, START + timedelta(hours=2))
    assert loop.time() - began >= 0.95
    assert len(series["bs"]) == 2 and len(api.requests) == 2


async def test_429_retries_are_bounded(api: FakeVrmApi, http: httpx.AsyncClient) -> None:
    api.rate_limit_next = 100
    waits: list[float] = []

    async def no_sleep(seconds: float) -> None:
        waits.append(seconds)

    client = VrmClient(http, _account(api.base_url), token=TOKEN, max_retries=2, sleep=no_sleep)
    with pytest.raises(VrmRateLimited, match="HTTP 429"):
        await client.stats(START, START + timedelta(hours=1))
    assert waits == [1.0, 1.0] and len(api.requests) == 3


async def test_a_70_day_range_takes_three_requests(
    api: FakeVrmApi, http: httpx.AsyncClient
) -> None:
    client = VrmClient(http, _account(api.base_url), token=TOKEN)
    end = START + timedelta(days=70)
    series = await client.stats(START, end)
    windows = [(int(r.get("start") or 0), int(r.get("end") or 0)) for r in api.requests]
    assert len(windows) == 3
    assert [b - a for a, b in windows] == [31 * 86400, 31 * 86400, 8 * 86400]
    assert windows[0][0] == START.timestamp() and windows[-1][1] == end.timestamp()
    times = [t for t, _ in series["bs"]]
    assert len(times) == 70 * 24 == len(set(times))  # chunk edges are not counted twice
    assert list(chunk_range(START, START)) == []


async def test_transport_and_payload_errors_are_translated() -> None:
    account = _account("http://vrm.test/v2")

    def html(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<html>login</html>", headers={"content-type": "text/html"})

    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    def shape(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"success": True, "records": {"bs": [[1, 2], "x"]}})

    def empty(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"success": True, "records": [], "totals": []})

    cases: list[tuple[object, type[Exception], str]] = [
        (html, DeviceProtocolError, "not JSON"),
        (timeout, DeviceTimeout, "did not answer in time"),
        (shape, DeviceProtocolError, "malformed"),
    ]
    for handler, error, text in cases:
        transport = httpx.MockTransport(handler)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport) as http:
            client = VrmClient(http, account, token=TOKEN)
            with pytest.raises(error, match=text) as info:
                await client.stats(START, START + timedelta(hours=1))
            assert info.value.__cause__ is not None or error is DeviceProtocolError

    async with httpx.AsyncClient(transport=httpx.MockTransport(empty)) as http:
        series = await VrmClient(http, account, token=TOKEN).stats(
            START, START + timedelta(hours=1)
        )
        assert series == {"bs": []}

    async with httpx.AsyncClient() as http:  # nothing listens on port 1
        client = VrmClient(http, _account("http://127.0.0.1:1/v2"), token=TOKEN)
        with pytest.raises(DeviceUnreachable, match="cannot reach the VRM API"):
            await client.stats(START, START + timedelta(hours=1))


async def test_backfill_readings_maps_battery_soc(api: FakeVrmApi, http: httpx.AsyncClient) -> None:
    client = VrmClient(http, _account(api.base_url), token=TOKEN)
    readings = await backfill_readings(
        client, site="cabin", start=START, end=START + timedelta(days=2)
    )
    assert api.requests[0].getall("attributeCodes[]") == ["bs"]
    assert len(readings) == 48
    assert {(r.site, r.metric, r.device) for r in readings} == {
        ("cabin", "battery_soc_pct", VRM_DEVICE)
    }
    first = readings[0]
    assert first.time == START
    assert first.value == pytest.approx(soc_at(int(START.timestamp())), abs=1e-3)
    assert all(0 <= r.value <= 100 for r in readings)


# --- the backfill command ------------------------------------------------------------------


def _cli() -> typer.Typer:
    root = typer.Typer()
    backfill = typer.Typer()
    backfill.command("vrm")(vrm)
    root.add_typer(backfill, name="backfill")
    return root


def _site_file(folder: Path, base_url: str) -> Path:
    path = folder / "sites.yaml"
    data = {
        "sites": [
            {
                "name": "cabin",
                "location": {"latitude": 47.0, "longitude": 8.0},
                "vrm": {
                    "installation_id": 12345,
                    "token_env": "VRM_TEST_TOKEN",
                    "base_url": base_url,
                },
            },
            {"name": "shed", "location": {"latitude": 47.0, "longitude": 8.0}},
        ]
    }
    path.write_text(yaml.safe_dump(data))
    return path


def _count(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        (n,) = conn.execute(
            "SELECT count(*) FROM readings WHERE site = 'cabin' AND device = 'vrm' "
            "AND metric = 'battery_soc_pct'"
        ).fetchone()
    return int(n)


async def test_backfill_command_stores_readings_once(
    api: FakeVrmApi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name in ("DATABASE_URL", "COMMANDCENTER_SITE_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COMMANDCENTER_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("VRM_TEST_TOKEN", TOKEN)
    site_file = str(_site_file(tmp_path, api.base_url))
    args = ["backfill", "vrm", "--site", "cabin", "--days", "3", "--site-file", site_file]

    result = await asyncio.to_thread(CliRunner().invoke, _cli(), args)
    assert result.exit_code == 0, result.output
    assert "Backfilled 72 readings for cabin from VRM installation 12345" in result.output
    db = tmp_path / "commandcenter.sqlite"
    assert _count(db) == 72

    again = await asyncio.to_thread(CliRunner().invoke, _cli(), args)
    assert again.exit_code == 0, again.output
    assert "Backfilled 0 readings" in again.output and "72 already stored" in again.output
    assert _count(db) == 72


async def test_backfill_command_errors_exit_2(
    api: FakeVrmApi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("COMMANDCENTER_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("VRM_TEST_TOKEN", "wrong-token")
    site_file = str(_site_file(tmp_path, api.base_url))

    def run(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(_cli(), ["backfill", "vrm", *args, "--site-file", site_file])
        return result.exit_code, result.output

    code, out = await asyncio.to_thread(run, "--site", "shed")
    assert code == 2 and "has no vrm: block" in out
    code, out = await asyncio.to_thread(run, "--site", "barn")
    assert code == 2 and "Unknown site 'barn'" in out
    code, out = await asyncio.to_thread(run, "--site", "cabin", "--days", "1")
    assert code == 2 and "VRM refused the token" in out and "wrong-token" not in out
