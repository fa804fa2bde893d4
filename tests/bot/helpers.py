"""Shared builders for tests that run the whole bot in-process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from langchain_core.language_models import BaseChatModel

from bot.app import App, open_app
from bot.chat.base import Click, InboundMessage
from bot.chat.memory import MemoryAdapter
from bot.settings import Settings
from tools.clock import ManualClock
from tools.devices.base import DeviceCommand
from tools.devices.simulator import SimulatedSite
from tools.domain import Reading
from tools.site import AlertThresholds, Person, SiteFile, demo_site_file

# 19:00 in Golden, Colorado (UTC-7 in November): the sun is down and the miners run.
EVENING = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


class CountingDriver:
    """A real simulator that also counts the commands it was sent."""

    def __init__(self, inner: SimulatedSite) -> None:
        self.inner = inner
        self.site = inner.site
        self.commands: list[DeviceCommand] = []

    async def poll(self, now: datetime) -> list[Reading]:
        return await self.inner.poll(now)

    async def execute(self, command: DeviceCommand) -> None:
        self.commands.append(command)
        await self.inner.execute(command)

    async def close(self) -> None:
        await self.inner.close()


def test_site_file(*, discharge_warning_kw: float = 20.0, expiry_minutes: float = 15) -> SiteFile:
    """The demo site with only the SOC rule in play, and three people with roles."""
    demo = demo_site_file().sites[0]
    site = demo.model_copy(
        update={
            "alerts": AlertThresholds(discharge_warning_kw=discharge_warning_kw),
            "actions": demo.actions.model_copy(update={"expiry_minutes": expiry_minutes}),
        }
    )
    return SiteFile(
        sites=[site],
        people=[
            Person(platform="console", user_id="olga", name="Olga", role="operator"),
            Person(platform="console", user_id="vic", name="Vic", role="viewer"),
            Person(platform="console", user_id="ada", name="Ada", role="admin"),
        ],
    )


# A helper, not a test: modules that import it by name would otherwise collect it.
test_site_file.__test__ = False  # type: ignore[attr-defined]


@asynccontextmanager
async def running_bot(
    *,
    db_url: str,
    data_dir: Path,
    clock: ManualClock,
    site_file: SiteFile | None = None,
    seed: int = 7,
    model: BaseChatModel | None = None,
    **settings_overrides: object,
) -> AsyncIterator[tuple[App, MemoryAdapter, CountingDriver]]:
    site_file = site_file or test_site_file()
    driver = CountingDriver(SimulatedSite(site_file.sites[0], seed=seed, start=clock.now()))
    adapter = MemoryAdapter()
    # Messages to one channel go out unspaced unless a test asks for the spacing: its
    # 1 s default is real time (seconds a test on a bot that posts alert cards) and is
    # tested on its own (test_alert_lifecycle.test_posts_to_one_channel_are_spaced).
    settings_overrides.setdefault("channel_min_interval_s", 0)
    settings = Settings(data_dir=data_dir, database_url=db_url, **settings_overrides)  # type: ignore[arg-type]
    async with open_app(
        settings,
        adapter=adapter,
        clock=clock,
        site_file=site_file,
        drivers={site_file.sites[0].name: driver},
        model=model,
    ) as app:
        yield app, adapter, driver


async def run_minutes(app: App, clock: ManualClock, minutes: int) -> None:
    for _ in range(minutes):
        clock.advance(timedelta(minutes=1))
        await app.monitor.poll_once()


def click(user: str, action: str, value: str) -> Click:
    return Click(platform="console", user_id=user, channel="#demo", action=action, value=value)


def say(user: str, text: str, channel: str = "#demo") -> InboundMessage:
    return InboundMessage(platform="console", user_id=user, channel=channel, text=text)
