"""``commandcenter backfill homeassistant``: import a site's Home Assistant history.

Fetches the recorder's history of every entity mapped in the site's
``homeassistant`` device, one day per request, and writes it as readings
in batches of :data:`BATCH_SIZE`. Readings that
fail validation (outside the metric's range) are counted and skipped; readings
already stored for the same site, device, metric and time are skipped too, so a
second run over the same period imports nothing twice. The hourly rollups of
the imported hours are recomputed afterwards.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bot.commands.common import fail
from bot.progress import progress_bar

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.settings import Settings
    from tools.devices.config import HomeAssistantConnection
    from tools.domain import Reading
    from tools.site import Site

__all__ = ["BATCH_SIZE", "BackfillResult", "backfill_homeassistant", "homeassistant"]

BATCH_SIZE = 5_000
WINDOW = timedelta(days=1)  # one history request per day keeps answers (and memory) bounded


@dataclass(slots=True)
class BackfillResult:
    fetched: int = 0
    imported: int = 0
    already_stored: int = 0
    rejected: int = 0  # implausible values (validate_reading)


async def _stored_keys(
    session: AsyncSession,
    *,
    site: str,
    pairs: set[tuple[str, str]],
    start: datetime,
    end: datetime,
) -> set[tuple[str, str, datetime]]:
    """The (metric, device, time) of readings already stored for ``site`` in ``[start, end)``."""
    from storage import repositories as repo

    keys: set[tuple[str, str, datetime]] = set()
    for metric, device in pairs:
        rows = await repo.readings_between(
            session, site=site, metric=metric, start=start, end=end, device=device
        )
        keys.update((metric, device, row.time) for row in rows)
    return keys


async def backfill_homeassistant(
    settings: Settings,
    site: Site,
    conn: HomeAssistantConnection,
    *,
    start: datetime,
    end: datetime,
    now: datetime,
    on_window: Callable[[int, int | None], None] | None = None,
) -> BackfillResult:
    """Import ``[start, end)`` of the site's HA history into the configured database;
    ``on_window(done, total)`` is told after each day's window (a progress bar)."""
    import httpx

    from storage import repositories as repo
    from storage.engine import create_engine, create_sessionmaker, upgrade_database
    from tools.devices.homeassistant import fetch_history
    from tools.domain import ReadingError, validate_reading

    result = BackfillResult()
    engine = create_engine(settings.effective_database_url)
    try:
        await upgrade_database(engine)
        sessionmaker = create_sessionmaker(engine)
        async with sessionmaker() as session, session.begin():
            await repo.upsert_site(
                session, name=site.name, title=site.title, timezone=site.timezone, now=now
            )
        pairs = {(e.metric, e.device) for e in conn.entities.values()}
        async with httpx.AsyncClient() as http:
            window_start = start
            windows = max(1, math.ceil((end - start) / WINDOW))
            while window_start < end:
                if on_window is not None:
                    on_window(round((window_start - start) / WINDOW), windows)
                window_end = min(window_start + WINDOW, end)
                fetched = await fetch_history(
                    http, conn, start=window_start, end=window_end, site=site.name
                )
                # HA adds the state current at `start` (which may be older): keep [start, end)
                inside = [r for r in fetched if window_start <= r.time < window_end]
                result.fetched += len(inside)
                valid: list[Reading] = []
                for reading in inside:
                    try:
                        valid.append(validate_reading(reading))
                    except ReadingError:
                        result.rejected += 1
                async with sessionmaker() as session:
                    stored = await _stored_keys(
                        session, site=site.name, pairs=pairs, start=window_start, end=window_end
                    )
                fresh = [r for r in valid if (r.metric, r.device, r.time) not in stored]
                result.already_stored += len(valid) - len(fresh)
                for i in range(0, len(fresh), BATCH_SIZE):
                    batch = fresh[i : i + BATCH_SIZE]
                    records = [
                        repo.ReadingRecord(
                            site=r.site,
                            device=r.device,
                            metric=r.metric,
                            time=r.time,
                            value=r.value,
                        )
                        for r in batch
                    ]
                    async with sessionmaker() as session, session.begin():
                        result.imported += await repo.insert_readings(session, readings=records)
                window_start = window_end
        if result.imported:
            # recompute the hourly rollups of every hour touched (whole hours, all readings)
            last_hour = end.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
            async with sessionmaker() as session, session.begin():
                await repo.rollup_hours(session, start=start, end=last_hour)
    finally:
        await engine.dispose()
    return result


def homeassistant(
    site: Annotated[str, typer.Option("--site", help="Name of the site in the site file")],
    days: Annotated[
        float, typer.Option("--days", min=0.001, max=3650, help="How many days back to import")
    ] = 1.0,
    site_file: Annotated[
        str | None,
        typer.Option("--site-file", help="YAML/TOML site file (default: $COMMANDCENTER_SITE_FILE)"),
    ] = None,
) -> None:
    """Import a site's Home Assistant history (the mapped entities) as readings."""
    from sqlalchemy.exc import SQLAlchemyError

    from bot.app import load_sites
    from bot.settings import Settings
    from storage.errors import StorageError
    from tools.devices.config import HomeAssistantConnection
    from tools.errors import ToolsError

    settings = Settings()
    if site_file:
        settings = settings.model_copy(update={"site_file": Path(site_file)})
    try:
        site_cfg = load_sites(settings).site(site)
    except ToolsError as err:  # SiteConfigError, UnknownSiteError
        raise fail(str(err)) from None
    device = next((d for d in site_cfg.devices if d.driver == "homeassistant"), None)
    if device is None:
        drivers = ", ".join(f"{d.name} ({d.driver})" for d in site_cfg.devices) or "none"
        raise fail(
            f"site {site!r} has no homeassistant device (devices: {drivers}); add one with "
            "driver: homeassistant to the site file"
        )
    conn = device.config
    assert isinstance(conn, HomeAssistantConnection)
    if not conn.entities:
        raise fail(
            f"homeassistant device {device.name!r} of site {site!r} maps no entities; "
            "list them under connection.entities"
        )
    now = datetime.now(UTC)
    start = now - timedelta(days=days)
    try:
        with progress_bar("backfill homeassistant", unit="days") as advance:
            result = asyncio.run(
                backfill_homeassistant(
                    settings, site_cfg, conn, start=start, end=now, now=now, on_window=advance
                )
            )
    except (ToolsError, StorageError) as err:
        raise fail(str(err)) from None
    except (SQLAlchemyError, OSError) as err:
        from bot.boundary import database_message

        raise fail(database_message(err, settings.effective_database_url)) from None
    typer.echo(
        f"Imported {result.imported} readings from Home Assistant ({device.name}) into site "
        f"{site} for {start:%Y-%m-%d %H:%M} to {now:%Y-%m-%d %H:%M} UTC"
    )
    if result.already_stored or result.rejected:
        typer.echo(
            f"Skipped {result.already_stored} already stored and {result.rejected} outside "
            "their metric's range."
        )
