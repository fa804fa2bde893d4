"""``commandcenter report daily|weekly|monthly --site NAME [--from D --to D] --out FILE``:
a PDF report (figures, charts, a table by day) from the stored history."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from bot.commands.common import fail
from bot.progress import progress_bar

TITLES = {"daily": "Daily report", "weekly": "Weekly report", "monthly": "Monthly report"}
DEFAULT_PERIODS = {"daily": "yesterday", "weekly": "last_week", "monthly": "last_month"}


class ReportKind(StrEnum):
    daily = "daily"
    weekly = "weekly"
    monthly = "monthly"


def _date(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise fail(f"{option} {value!r} is not a date; use YYYY-MM-DD (e.g. 2026-11-01)") from None


def _last_day(kind: str, first: date) -> date:
    if kind == "daily":
        return first
    if kind == "weekly":
        return first + timedelta(days=6)
    nxt = (first.replace(day=1) + timedelta(days=32)).replace(day=1)
    return nxt - timedelta(days=1)


def report(
    kind: Annotated[ReportKind, typer.Argument(help="daily, weekly or monthly")],
    out: Annotated[Path, typer.Option("--out", help="PDF file to write")],
    site: Annotated[
        str | None, typer.Option("--site", help="Site name (default: the first site)")
    ] = None,
    start: Annotated[
        str | None,
        typer.Option("--from", help="first local day, YYYY-MM-DD (default: the last whole period)"),
    ] = None,
    end: Annotated[
        str | None,
        typer.Option("--to", help="last local day, YYYY-MM-DD, inclusive (needs --from)"),
    ] = None,
    site_file: Annotated[
        str | None, typer.Option("--site-file", help="YAML/TOML site file")
    ] = None,
) -> None:
    """Write a PDF report of a site's energy, cost, fuel and carbon for a period."""
    from sqlalchemy.exc import SQLAlchemyError

    from bot.app import load_sites
    from bot.settings import Settings
    from storage.engine import create_engine, create_sessionmaker, upgrade_database
    from storage.errors import StorageError
    from tools.clock import SystemClock
    from tools.errors import ToolsError
    from tools.forecast.service import ForecastService
    from tools.reports.pdf import write_report_pdf
    from tools.reports.periods import Period, custom_period, named_period
    from tools.reports.service import ReportService

    if end is not None and start is None:
        raise fail("--to needs --from (the first day of the report)")
    first = _date(start, "--from") if start is not None else None
    last = _date(end, "--to") if end is not None else None
    if out.suffix.lower() != ".pdf":
        raise fail(f"--out {str(out)!r} should be a .pdf file")
    if not out.parent.exists():
        raise fail(f"--out: the folder {str(out.parent)!r} does not exist")
    settings = Settings()
    if site_file:
        settings = settings.model_copy(update={"site_file": Path(site_file)})
    try:
        site_conf = load_sites(settings).site(site)
    except ToolsError as err:
        raise fail(str(err)) from None
    clock = SystemClock()
    now = clock.now()
    try:
        period: Period
        if first is None:
            period = named_period(DEFAULT_PERIODS[kind.value], now=now, tz=site_conf.tz)
        else:
            period = custom_period(
                first, last or _last_day(kind.value, first), now=now, tz=site_conf.tz
            )
    except ToolsError as err:
        raise fail(str(err)) from None

    async def go() -> tuple[int, bool]:
        engine = create_engine(settings.effective_database_url)
        try:
            await upgrade_database(engine)
            sessionmaker = create_sessionmaker(engine)
            service = ReportService(
                sessionmaker=sessionmaker,
                sites={site_conf.name: site_conf},
                clock=clock,
                forecasts=ForecastService(sessionmaker=sessionmaker, clock=clock),
            )
            result = await service.report(site_conf, period)
            size = write_report_pdf(result, out, title=TITLES[kind.value])
            return size, result.has_data
        finally:
            await engine.dispose()

    try:
        with progress_bar(f"{kind.value} report"):  # a spinner: one query and one render
            size, has_data = asyncio.run(go())
    except (ToolsError, StorageError) as err:
        raise fail(str(err)) from None
    except SQLAlchemyError as err:
        from bot.boundary import database_message

        raise fail(database_message(err, settings.effective_database_url)) from None
    except OSError as err:
        from bot.boundary import Context, explain

        reached = explain(err, Context(database_url=settings.effective_database_url))
        raise fail(reached or f"cannot write {out}: {err.strerror}") from None
    typer.echo(
        f"wrote the {kind.value} report of {site_conf.display_name} for {period.label} "
        f"({period.first} to {period.last}) to {out} ({size:,} bytes)"
    )
    if not has_data:
        typer.echo("note: no readings were stored for this period; the report says so", err=True)
