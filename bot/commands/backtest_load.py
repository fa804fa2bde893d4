"""``commandcenter backtest load``: score the load forecast on a recorded CSV.

The lead registers :func:`load` on the ``backtest`` group, e.g.
``backtest_app.command("load")(load)``.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from bot.progress import progress_bar


def load(
    data: Annotated[
        Path,
        typer.Option("--data", help="CSV with columns time (ISO 8601 + offset) and load_w [W]"),
    ],
    score_from: Annotated[
        str | None,
        typer.Option("--score-from", help="first local day to score, YYYY-MM-DD"),
    ] = None,
    tz: Annotated[str, typer.Option("--tz", help="site time zone, e.g. Europe/Paris")] = "UTC",
    as_json: Annotated[bool, typer.Option("--json", help="print the metrics as JSON")] = False,
    plot: Annotated[
        Path | None, typer.Option("--plot", help="write a PNG of the last scored week here")
    ] = None,
    gap: Annotated[
        list[str] | None,
        typer.Option(
            "--gap",
            help="remove DAYS local days from YYYY-MM-DD (an artificial outage), e.g. "
            "2024-05-06:12; repeatable; the days after each gap are scored apart",
        ),
    ] = None,
) -> None:
    """Backtest the day-ahead load forecast (P10/P50/P90) against same-hour-yesterday."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from tools.forecast.backtest import BacktestDataError, read_backtest_csv
    from tools.forecast.backtest_load import backtest_load, plot_load_backtest

    def fail(message: str) -> typer.Exit:
        typer.echo(f"error: {message}", err=True)
        return typer.Exit(2)

    first_day: date | None = None
    if score_from is not None:
        try:
            first_day = date.fromisoformat(score_from)
        except ValueError:
            raise fail(f"--score-from {score_from!r} is not a date; use YYYY-MM-DD") from None
    gaps: list[tuple[date, int]] = []
    for text in gap or []:
        day_text, _, days_text = text.partition(":")
        try:
            gaps.append((date.fromisoformat(day_text), int(days_text)))
        except ValueError:
            raise fail(f"--gap {text!r} is not YYYY-MM-DD:DAYS (e.g. 2024-05-06:12)") from None
        if gaps[-1][1] < 1:
            raise fail(f"--gap {text!r}: DAYS must be at least 1")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise fail(f"--tz {tz!r} is not a known time zone; use e.g. Europe/Paris or UTC") from None
    try:
        frame = read_backtest_csv(data)
        if "load_w" not in frame.columns:
            raise BacktestDataError(f"{data}: no load_w column; add one with the load in W")
        with progress_bar("backtest load", unit="days") as advance:
            result = backtest_load(frame, score_from=first_day, tz=tz, gaps=gaps, on_day=advance)
        png = plot_load_backtest(frame, tz=tz) if plot is not None else None
    except BacktestDataError as err:
        raise fail(str(err)) from None
    if png is not None and plot is not None:
        try:
            plot.write_bytes(png)
        except OSError as err:
            raise fail(f"cannot write {plot}: {err.strerror}") from None
    if as_json:
        typer.echo(json.dumps(result))
        return
    typer.echo(
        f"load backtest {result['score_from']}..{result['score_to']} ({tz}): "
        f"{result['days']} days, {result['hours']} hours"
    )
    typer.echo(
        f"  MAE {result['mae_w']} W ({result['nmae_mean_pct']} % of mean), "
        f"RMSE {result['rmse_w']} W, bias {result['bias_w']} W"
    )
    typer.echo(
        f"  persistence MAE {result['persistence_mae_w']} W, skill {result['skill_vs_persistence']}"
    )
    if "skill_vs_mean28" in result:
        typer.echo(
            f"  28-day same-hour mean MAE {result['mean28_mae_w']} W, "
            f"skill vs it {result['skill_vs_mean28']}"
        )
    typer.echo(
        f"  P10-P90 coverage {result['p10_p90_coverage_pct']} % (target 80), "
        f"pinball loss P10 {result['pinball_p10_w']} W, P90 {result['pinball_p90_w']} W"
    )
    after = result.get("after_gaps")
    if after and after.get("hours"):
        typer.echo(
            f"  after the gaps ({after['hours']} hours): skill vs persistence "
            f"{after['skill_vs_persistence']}, vs the 28-day mean {after['skill_vs_mean28']} "
            f"(that mean vs persistence {after['mean28_skill_vs_persistence']})"
        )
    if plot is not None:
        typer.echo(f"  plot: {plot}")
