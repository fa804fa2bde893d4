"""``commandcenter backtest week``: coverage of the week-ahead bands by lead day.

Registered on the ``backtest`` group as ``backtest_app.command("week")(week)``. The CSV
holds ``time`` and ``load_w`` and/or ``pv_w`` [W] (see :mod:`tools.forecast.backtest`);
PV is scored when ``--kwp`` describes the array.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from bot.commands.common import fail, plain
from bot.progress import progress_bar

__all__ = ["week"]


def _day(option: str, text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise fail(f"{option} {text!r} is not a date like 2024-06-01") from None


def week(
    data: Annotated[Path, typer.Option("--data", help="CSV: time, load_w and/or pv_w [W]")],
    tz: Annotated[str, typer.Option("--tz", help="site time zone, e.g. Europe/Paris")] = "UTC",
    lat: Annotated[float, typer.Option("--lat", min=-90, max=90, help="latitude [deg]")] = 0.0,
    lon: Annotated[float, typer.Option("--lon", min=-180, max=180, help="longitude [deg]")] = 0.0,
    tilt: Annotated[float, typer.Option("--tilt", min=0, max=90, help="panel tilt [deg]")] = 30.0,
    azimuth: Annotated[
        float, typer.Option("--azimuth", min=0, max=360, help="clockwise from north, 180 = south")
    ] = 180.0,
    kwp: Annotated[
        float | None, typer.Option("--kwp", min=0.001, help="DC capacity [kWp]; omit: load only")
    ] = None,
    horizon_days: Annotated[
        int, typer.Option("--horizon-days", min=1, max=16, help="days forecast at each issue")
    ] = 7,
    every_days: Annotated[
        int, typer.Option("--every-days", min=1, max=30, help="issue a forecast every N days")
    ] = 1,
    score_from: Annotated[str | None, typer.Option("--score-from", help="YYYY-MM-DD")] = None,
    score_to: Annotated[str | None, typer.Option("--score-to", help="last issue day")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """Forecast the next --horizon-days days at each local midnight (no look-ahead) and
    print the P10-P90 coverage by lead day: the model's band and the week band."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from tools.errors import ToolsError
    from tools.forecast.backtest import read_backtest_csv
    from tools.forecast.backtest_week import backtest_week
    from tools.site import Location, PvArray, Site

    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise fail(f"--tz {tz!r} is not a time zone") from None
    first, last = _day("--score-from", score_from), _day("--score-to", score_to)
    arrays = (
        [PvArray(name="pv", kwp=kwp, tilt_deg=tilt, azimuth_deg=azimuth % 360)]
        if kwp is not None
        else []
    )
    site = Site(
        name="backtest",
        timezone=tz,
        location=Location(latitude=lat, longitude=lon),
        pv_arrays=arrays,
    )
    try:
        frame = read_backtest_csv(data)
        with progress_bar("backtest week", unit="issues") as advance:
            result = backtest_week(
                frame,
                site,
                score_from=first,
                score_to=last,
                horizon_days=horizon_days,
                every_days=every_days,
                on_issue=advance,
            )
    except ToolsError as err:
        raise fail(str(err)) from None
    if as_json:
        typer.echo(json.dumps(plain(result), sort_keys=True))
        return
    typer.echo(
        f"Week-ahead backtest of {data.name}: issues {result['score_from']}..{result['score_to']}"
        f" every {every_days} d, {horizon_days} days each; P10-P90 coverage by lead day "
        "(target 80 %)"
    )
    for block, title in (("load", "load"), ("pv_no_weather", "PV without weather")):
        figures = result.get(block)
        if not figures:
            continue
        typer.echo(f"\n{title} ({figures['issues']} issues; {figures['growth_note']}):")
        typer.echo("  lead  hours  model band  week band  growth  MAE")
        for row in figures["by_lead"]:
            growth = figures["growth"][row["lead"] - 1]
            typer.echo(
                f"  {row['lead']:>4}  {row['hours']:>5}  {row['coverage_model_pct']:>9.1f} %"
                f"  {row['coverage_week_pct']:>8.1f} %  {growth:>6.2f}  {row['mae_w']:.0f} W"
            )
