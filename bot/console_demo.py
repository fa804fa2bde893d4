"""The console demo and the chat-less worker loop."""

from __future__ import annotations

import asyncio
import logging
import sys
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

from bot.app import App, checkpoint_path, open_app
from bot.chat.base import Click
from bot.chat.console import ConsoleAdapter
from bot.settings import Settings
from graphs.assistant import planner
from storage import repositories as repo
from storage.engine import create_engine, create_sessionmaker, sqlite_path, upgrade_database
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


DEMO_DATABASE = "demo.sqlite"
RESUME_GAP = timedelta(minutes=1)


def demo_settings(settings: Settings) -> Settings:
    """The demo keeps its own SQLite file in the data folder (never the bot's database),
    unless ``DATABASE_URL`` names one."""
    if settings.database_url:
        return settings
    path = settings.data_dir / DEMO_DATABASE
    return settings.model_copy(update={"database_url": f"sqlite:///{path.as_posix()}"})


def clear_demo_data(settings: Settings) -> list[Path]:
    """Delete the demo's own SQLite files (database, its journal files and checkpoints);
    the paths removed. Nothing is deleted for a ``DATABASE_URL`` database."""
    path = sqlite_path(settings.effective_database_url)
    if path is None or path.name != DEMO_DATABASE:
        return []
    removed = []
    for candidate in (
        path,
        path.with_name(path.name + "-wal"),
        path.with_name(path.name + "-shm"),
        checkpoint_path(settings),
        checkpoint_path(settings).with_name(checkpoint_path(settings).name + "-wal"),
        checkpoint_path(settings).with_name(checkpoint_path(settings).name + "-shm"),
    ):
        if candidate.exists():
            candidate.unlink()
            removed.append(candidate)
    return removed


async def latest_stored(settings: Settings) -> datetime | None:
    """The latest time stored in the demo's database (None when it is empty)."""
    engine = create_engine(settings.effective_database_url)
    try:
        await upgrade_database(engine)
        async with create_sessionmaker(engine)() as session, session.begin():
            return await repo.latest_stored_time(session)
    finally:
        await engine.dispose()


def resume_start(evening: datetime, latest: datetime | None) -> datetime:
    """Where the simulated clock starts: the evening, or just after the latest stored
    time when history reaches past it (so no event is dated before an earlier one)."""
    if latest is None or latest + RESUME_GAP <= evening:
        return evening
    return latest + RESUME_GAP


async def run_demo(
    settings: Settings,
    *,
    speed: float,
    user_id: str,
    start_hour: int = 19,
    duration_s: float | None = None,
    keep: bool = False,
) -> None:
    """``keep``: continue the previous demo's data instead of starting fresh (the
    default). On a ``DATABASE_URL`` database nothing is ever deleted: the clock resumes."""
    from bot.app import load_sites

    settings = demo_settings(settings)
    site_file = accelerated_expiry(load_sites(settings), speed=speed)
    first = site_file.sites[0]
    note = ""
    if not keep and (removed := clear_demo_data(settings)):
        note = (
            f"Starting a fresh demo: the previous demo's data in {removed[0].parent} was "
            "cleared (run with --keep to continue it).\n"
        )
    start = evening_start(first, now=datetime.now(UTC), hour=start_hour)
    latest = await latest_stored(settings)
    resumed = resume_start(start, latest)
    if resumed != start:
        note += (
            "Continuing the stored history: the simulated clock resumes after its latest "
            f"entry ({latest.astimezone(first.tz):%Y-%m-%d %H:%M %Z}).\n"
            if latest is not None
            else ""
        )
        start = resumed
    clock = SimClock(start=start, speed=speed)
    adapter = ConsoleAdapter(channel=first.channels.console)
    async with open_app(settings, adapter=adapter, clock=clock, site_file=site_file) as cc:
        await _ensure_console_user(cc, user_id)
        out = sys.stdout
        out.write(note)
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
