"""``commandcenter backfill vrm --site NAME [--days N]``: history from Victron VRM.

Fetches the site's VRM history (``vrm:`` block of the site file, token from the named
environment variable) and stores it as readings with ``device="vrm"``. Running it again
over the same days adds nothing twice: timestamps already stored for the VRM device are
skipped.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bot.progress import progress_bar
from storage.errors import StorageError
from tools.errors import ToolsError

if TYPE_CHECKING:  # imported when the command runs, so `--help` stays fast
    from tools.site import Site


async def backfill_site(
    *, database_url: str, site: Site, start: datetime, end: datetime
) -> tuple[int, int]:
    """Fetch ``[start, end)`` from VRM and store it; returns (stored, fetched)."""
    import httpx

    from storage import repositories as repo
    from storage.engine import create_engine, create_sessionmaker, upgrade_database
    from tools.devices.vrm import VRM_DEVICE, VrmClient, backfill_readings

    if site.vrm is None:
        raise ToolsError(f"site {site.name!r} has no vrm: block in the site file")
    async with httpx.AsyncClient(timeout=30.0) as http:
        client = VrmClient(http, site.vrm)
        readings = await backfill_readings(client, site=site.name, start=start, end=end)
    engine = create_engine(database_url)
    try:
        await upgrade_database(engine)
        async with create_sessionmaker(engine)() as session, session.begin():
            await repo.upsert_site(
                session,
                name=site.name,
                title=site.title,
                timezone=site.timezone,
                now=datetime.now(UTC),
            )
            fresh: list[repo.ReadingRecord] = []
            for metric in sorted({r.metric for r in readings}):
                rows = await repo.readings_between(
                    session, site=site.name, metric=metric, start=start, end=end, device=VRM_DEVICE
                )
                have = {row.time.astimezone(UTC) for row in rows}
                fresh += [
                    repo.ReadingRecord(
                        site=r.site, device=r.device, metric=r.metric, time=r.time, value=r.value
                    )
                    for r in readings
                    if r.metric == metric and r.time not in have
                ]
            stored = await repo.insert_readings(session, readings=fresh)
    finally:
        await engine.dispose()
    return stored, len(readings)


def vrm(
    site: Annotated[str, typer.Option("--site", help="Site name from the site file")],
    days: Annotated[
        float, typer.Option("--days", min=0.01, max=3660, help="How many days back to fetch")
    ] = 7.0,
    site_file: Annotated[
        str | None,
        typer.Option(
            "--site-file", help="YAML/TOML site file (default: $COMMANDCENTER_SITE_FILE or demo)"
        ),
    ] = None,
) -> None:
    """Backfill a site's history (battery SOC) from the Victron VRM API."""
    from sqlalchemy.exc import SQLAlchemyError

    from bot.app import load_sites
    from bot.settings import Settings

    try:
        settings = Settings()
        if site_file:
            settings = settings.model_copy(update={"site_file": Path(site_file)})
        config = load_sites(settings).site(site)
        if config.vrm is None:
            raise ToolsError(
                f"site {config.name!r} has no vrm: block in the site file; add one with "
                "installation_id (the idSite in the VRM address) and token_env "
                "(the environment variable holding a VRM access token)"
            )
        end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        start = end - timedelta(days=days)
        with progress_bar("backfill vrm"):  # one VRM request, then one insert
            stored, fetched = asyncio.run(
                backfill_site(
                    database_url=settings.effective_database_url,
                    site=config,
                    start=start,
                    end=end,
                )
            )
    except (ToolsError, StorageError) as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from None
    except (SQLAlchemyError, OSError) as err:
        from bot.boundary import database_message

        typer.echo(f"error: {database_message(err, settings.effective_database_url)}", err=True)
        raise typer.Exit(2) from None
    skipped = fetched - stored
    note = f" ({skipped} already stored)" if skipped else ""
    typer.echo(
        f"Backfilled {stored} readings for {config.name} from VRM installation "
        f"{config.vrm.installation_id}, {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC{note}."
    )
