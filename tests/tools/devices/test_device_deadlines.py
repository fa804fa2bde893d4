"""A device that trickles its answer, or sends a huge one, is bounded: every HTTP device
call has a TOTAL deadline and a size limit, and sites are polled concurrently so one slow
device never holds up another site or the other scheduled jobs.

The misbehaving devices are loopback HTTP servers (asyncio) that answer with real HTTP:
one sends its body a byte at a time (each byte well inside the per-read timeout, so only
a total deadline stops it), one streams a body far past the limit, one announces one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from bot.runtime import Jobs, JobSpec, Monitor
from tools.clock import ManualClock
from tools.devices.base import SiteDriver
from tools.devices.homeassistant import HomeAssistantDevice
from tools.devices.http import ResponseTooLarge, device_request
from tools.devices.mqtt import MqttHubs
from tools.devices.shelly import ShellyDevice
from tools.domain import Reading
from tools.errors import DeviceTimeout
from tools.site import Device, Location, Site, SwitchableLoad
from tools.telemetry import TelemetryPipeline

TOKEN_ENV = "CC_TEST_SLOW_HA_TOKEN"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@asynccontextmanager
async def bad_device(
    mode: str, *, body: bytes = b'{"message": "API running."}', byte_every_s: float = 0.2
) -> AsyncIterator[str]:
    """A loopback HTTP server: ``trickle`` sends ``body`` one byte every ``byte_every_s``;
    ``huge`` streams 64 MiB chunked as fast as it can; ``announce`` declares 1 GiB."""
    writers: list[asyncio.StreamWriter] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        try:
            while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                pass  # the request line and headers
            if mode == "trickle":
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    + f"Content-Length: {len(body)}\r\n\r\n".encode()
                )
                for i in range(len(body)):
                    writer.write(body[i : i + 1])
                    await writer.drain()
                    await asyncio.sleep(byte_every_s)
            elif mode == "huge":
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Transfer-Encoding: chunked\r\n\r\n"
                )
                chunk = b"[" + b"1," * 32_767 + b"1"
                for _ in range(64 * 1024 * 1024 // len(chunk)):
                    writer.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                    await writer.drain()
                writer.write(b"0\r\n\r\n")
            else:  # announce
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Content-Length: 1073741824\r\n\r\n{"
                )
                await writer.drain()
                await asyncio.sleep(3600)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()
        for writer in writers:
            writer.close()
        await server.wait_closed()


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, "test-token")


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def _ha_site(url: str, *, name: str = "factory", timeout_s: float = 1.0) -> Site:
    connection: dict[str, Any] = {
        "url": url,
        "token_env": TOKEN_ENV,
        "timeout_s": timeout_s,
        "entities": {"sensor.battery_soc": {"metric": "battery_soc_pct"}},
    }
    return Site(
        name=name,
        location=Location(latitude=48.85, longitude=2.35),
        devices=[Device(name="ha", driver="homeassistant", connection=connection)],
    )


def _shelly(url: str, http: httpx.AsyncClient, hubs: MqttHubs) -> ShellyDevice:
    port = int(url.rsplit(":", 1)[1])
    connection = {"host": "127.0.0.1", "port": port, "generation": 2, "timeout_s": 1.0}
    device = Device(name="relay-1", driver="shelly", connection=connection)
    site = Site(
        name="lab",
        location=Location(latitude=39.74, longitude=-105.18),
        loads=[SwitchableLoad(name="miner-1", power_kw=1.45, relay="relay-1")],
        devices=[device],
    )
    return ShellyDevice(device, site, http=http, hubs=hubs)


async def test_home_assistant_trickling_its_answer_times_out_on_the_total_deadline(
    http: httpx.AsyncClient,
) -> None:
    # 27 bytes at one per 0.2 s: 5.4 s in all, yet every single read is far inside 1 s.
    async with bad_device("trickle") as url:
        site = _ha_site(url, timeout_s=1.0)
        device = HomeAssistantDevice(site.devices[0], site, http=http)
        started = time.monotonic()
        with pytest.raises(DeviceTimeout, match=r"did not answer /api/ within 1 s"):
            await device.start()
        assert time.monotonic() - started < 3.0


async def test_shelly_trickling_its_answer_times_out_on_the_total_deadline(
    http: httpx.AsyncClient,
) -> None:
    hubs = MqttHubs()
    try:
        async with bad_device("trickle", body=b'{"gen": 2, "auth_en": false}') as url:
            shelly = _shelly(url, http, hubs)
            started = time.monotonic()
            with pytest.raises(DeviceTimeout, match=r"did not answer within 1 s"):
                await shelly.start()
            assert time.monotonic() - started < 3.0
    finally:
        await hubs.close()


@pytest.mark.parametrize("mode", ["huge", "announce"])
async def test_an_oversized_answer_is_cut_off_with_a_clear_error(
    http: httpx.AsyncClient, mode: str
) -> None:
    async with bad_device(mode) as url:
        site = _ha_site(url, timeout_s=20.0)
        device = HomeAssistantDevice(site.devices[0], site, http=http)
        started = time.monotonic()
        with pytest.raises(ResponseTooLarge, match=r"more than 4,194,304 bytes") as err:
            await device.start()
        assert "Home Assistant at" in str(err.value)
        assert time.monotonic() - started < 15.0
        # The helper takes a smaller limit per call, too.
        with pytest.raises(ResponseTooLarge, match=r"more than 1,000 bytes"):
            await device_request(
                http, "GET", url + "/", deadline_s=20.0, what="test device", max_bytes=1000
            )


async def test_a_slow_device_delays_neither_another_site_nor_the_other_jobs(
    http: httpx.AsyncClient,
    sessionmaker: Any,
    pipelines: Callable[..., TelemetryPipeline],
) -> None:
    """One site's Home Assistant trickles; the other site's readings are stored at once,
    the alert job keeps its rhythm, and the slow site ends as a timeout in its health."""
    fast_done = asyncio.Event()

    class FastDriver:
        site = "home"

        async def poll(self, now: datetime) -> list[Reading]:
            return [Reading(site="home", metric="battery_soc_pct", time=now, value=64.0)]

        async def execute(self, command: Any) -> None:
            raise AssertionError("no commands here")

        async def close(self) -> None:
            return None

    async with bad_device("trickle", byte_every_s=0.1) as url:
        slow_site = _ha_site(url, name="factory", timeout_s=2.0)
        slow = SiteDriver(
            slow_site,
            [HomeAssistantDevice(slow_site.devices[0], slow_site, http=http)],
            intervals_s={},
        )
        pipeline = pipelines(sessionmaker=sessionmaker)

        async def on_tick(site: str, _state: Any) -> None:
            if site == "home":
                fast_done.set()

        monitor = Monitor(
            drivers={"factory": slow, "home": FastDriver()},
            pipeline=pipeline,
            clock=ManualClock(NOW),
            sites={"factory": slow_site},
            on_tick=on_tick,
        )
        ticks: list[float] = []
        five_ticks = asyncio.Event()

        async def alerts_job() -> None:
            ticks.append(time.monotonic())
            if len(ticks) >= 5:
                five_ticks.set()

        jobs = Jobs(
            [JobSpec("poll", monitor.poll_once, 60.0), JobSpec("alerts", alerts_job, 0.1)],
            timeout_s=30.0,
            grace_s=1.0,
        )
        poll = asyncio.create_task(monitor.poll_once())
        jobs.start()
        try:
            # The fast site is stored and handed on while the slow one is still answering.
            async with asyncio.timeout(10):
                await fast_done.wait()
            assert not poll.done()
            assert pipeline.latest("home").get("battery_soc_pct") == 64.0
            # Meanwhile the other jobs run on their own schedule.
            async with asyncio.timeout(10):
                await five_ticks.wait()
            assert not poll.done()
            async with asyncio.timeout(10):
                assert await poll == 1  # only the fast site delivered
        finally:
            await jobs.stop()
        health = slow.health["ha"]
        assert "did not answer /api/ within 2 s" in health.last_error
        assert pipeline.latest("factory").device_errors["ha"] == health.last_error
