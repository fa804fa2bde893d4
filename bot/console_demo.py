"""The console demo and the chat-less worker loop."""

from __future__ import annotations

import asyncio
import logging
import sys
from datetime import UTC, datetime, time, timedelta

from bot.app import App, open_app
from bot.chat.base import Click
from bot.chat.console import ConsoleAdapter
from bot.settings import Settings
from graphs.assistant import planner
from storage import repositories as repo
from tools.clock import SimClock
from tools.site import Site, SiteFile

MAX_EXPIRY = 7 * 24 * 60.0  # the site file's upper bound [min]

log = logging.getLogger(__name__)


def evening_start(site: Site, *, now: datetime, hour: int) -> datetime:
    """The most recent ``hour``:00 local time at the site, in UTC."""
    local = now.astimezone(site.tz)
    start = datetime.combine(local.date(), time(hour=hour), tzinfo=site.tz)
    if start > local:
        start -= timedelta(days=1)
    return start.astimezone(UTC)


def accelerated_expiry(site_file: SiteFile, *, speed: float) -> SiteFile:
    """Give people the configured minutes of *real* time to decide in an accelerated demo."""
    sites = [
        site.model_copy(
            update={
                "actions": site.actions.model_copy(
                    update={"expiry_minutes": min(site.actions.expiry_minutes * speed, MAX_EXPIRY)}
                )
            }
        )
        for site in site_file.sites
    ]
    return site_file.model_copy(update={"sites": sites})


async def _ensure_console_user(cc: App, user_id: str) -> None:
    """The person at the local terminal may decide unless the site file says otherwise."""
    async with cc.sessionmaker() as session, session.begin():
        row = await repo.get_identity(session, platform="console", user_id=user_id)
        if row is None:
            await repo.upsert_identity(
                session,
                platform="console",
                user_id=user_id,
                role="admin",
                display_name=user_id,
                now=cc.clock.now(),
            )


async def run_demo(
    settings: Settings,
    *,
    speed: float,
    user_id: str,
    start_hour: int = 19,
    duration_s: float | None = None,
) -> None:
    from bot.app import load_sites

    site_file = accelerated_expiry(load_sites(settings), speed=speed)
    first = site_file.sites[0]
    start = evening_start(first, now=datetime.now(UTC), hour=start_hour)
    clock = SimClock(start=start, speed=speed)
    adapter = ConsoleAdapter(channel=first.channels.console)
    async with open_app(settings, adapter=adapter, clock=clock, site_file=site_file) as cc:
        await _ensure_console_user(cc, user_id)
        out = sys.stdout
        out.write(
            f"CommandCenter demo — site {first.display_name!r}, simulated from "
            f"{start.astimezone(first.tz):%Y-%m-%d %H:%M %Z} at {speed:g}x.\n"
            f"Type a question, or the number of a button to press it. Ctrl-C stops.\n\n"
            f"{planner.help_text()}\n\n"
        )
        out.flush()
        await cc.monitor.poll_once()
        jobs = cc.jobs(poll_interval_s=1.0)
        jobs.start()

        async def handle(line: str) -> None:
            parsed = adapter.parse(line, user_id=user_id, user_name=user_id)
            if isinstance(parsed, str):
                out.write(parsed + "\n")
            elif isinstance(parsed, Click):
                out.write(await cc.chat.handle_click(parsed) + "\n")
            else:
                await cc.chat.handle_message(parsed)
            out.flush()

        try:
            reading = asyncio.create_task(adapter.read_lines(handle))
            if duration_s is not None:
                await asyncio.sleep(duration_s)
            else:
                await reading
                await asyncio.Event().wait()  # input closed: keep monitoring until Ctrl-C
        finally:
            reading.cancel()
            await jobs.stop()
