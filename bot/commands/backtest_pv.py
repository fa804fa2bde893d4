"""``commandcenter backtest pv``: score the PV forecast on a recorded CSV.

The lead registers :func:`pv` on the ``backtest`` group, e.g.
``backtest_app.command("pv")(pv)``. The CSV format is described in
:mod:`tools.forecast.backtest`.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from bot.commands.common import fail, plain
from bot.progress import progress_bar

__all__ = ["pv"]

_LABELS = (
    ("days", "days scored", ""),
    ("hours", "daylight hours", ""),
    ("mae_w", "MAE", " W"),
    ("rmse_w", "RMSE", " W"),
    ("bias_w", "bias", " W"),
    ("nmae_capacity_pct", "nMAE (capacity)", " %"),
    ("nmae_mean_pct", "nMAE (mean)", " %"),
    ("persistence_nmae_capacity_pct", "persistence nMAE (capacity)", " %"),
    ("skill_vs_persistence", "skill vs persistence", ""),
    ("p10_p90_coverage_pct", "P10-P90 coverage (target 80)", " %"),
    ("pinball_p10_w", "pinball loss P10", " W"),
    ("pinball_p90_w", "pinball loss P90", " W"),
)


def _solar_zone(lon: float) -> str:
    """The whole-hour zone nearest solar time, so days split at night (Etc/GMT+7 = UTC-7)."""
    offset = round(lon / 15.0)
    return "UTC" if offset == 0 else f"Etc/GMT{'+' if offset < 0 else '-'}{abs(offset)}"


def pv(
    data: Annotated[Path, typer.Option("--data", help="CSV: time, pv_w [, ghi_wm2, temp_c]")],
    lat: Annotated[float, typer.Option("--lat", min=-90, max=90, help="latitude [deg]")],
    lon: Annotated[float, typer.Option("--lon", min=-180, max=180, help="longitude [deg]")],
    tilt: Annotated[float, typer.Option("--tilt", min=0, max=90, help="panel tilt [deg]")],
    azimuth: Annotated[
        float, typer.Option("--azimuth", min=0, max=360, help="clockwise from north, 180 = south")
    ],
    kwp: Annotated[float, typer.Option("--kwp", min=0.001, help="DC capacity [kWp]")],
    inverter_kw: Annotated[
        float | None, typer.Option("--inverter-kw", min=0.001, help="AC limit [kW]")
    ] = None,
    score_from: Annotated[
        str | None, typer.Option("--score-from", help="first scored local day, YYYY-MM-DD")
    ] = None,
    timezone: Annotated[
        str | None,
        typer.Option(
            "--timezone",
            help="IANA zone that defines the days, e.g. America/Denver "
            "(default: the whole-hour offset nearest the longitude)",
        ),
    ] = None,
    altitude_m: Annotated[float, typer.Option("--altitude", help="site altitude [m]")] = 0.0,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    plot: Annotated[Path | None, typer.Option("--plot", help="write a PNG chart here")] = None,
) -> None:
    """Backtest the PV forecast day by day (no look-ahead) and print hourly error figures."""
    from pydantic import ValidationError

    from tools.errors import ToolsError
    from tools.forecast.backtest import backtest_pv, plot_backtest, read_backtest_csv
    from tools.site import Location, PvArray, Site

    try:
        start = date.fromisoformat(score_from) if score_from else None
    except ValueError:
        raise fail(f"--score-from {score_from!r} is not a date like 2016-08-01") from None
    try:
        site = Site(
            name="backtest",
            timezone=timezone or _solar_zone(lon),
            location=Location(latitude=lat, longitude=lon, altitude_m=altitude_m),
            pv_arrays=[
                PvArray(
                    name="pv",
                    kwp=kwp,
                    tilt_deg=tilt,
                    azimuth_deg=azimuth % 360,
                    inverter_kw=inverter_kw,
                )
            ],
        )
    except ValidationError as err:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors())
        raise fail(f"invalid site: {problems}") from None
    try:
        frame = read_backtest_csv(data)
        with progress_bar("backtest pv", unit="days") as advance:
            result = backtest_pv(
                frame, site, score_from=start, keep_series=plot is not None, on_day=advance
            )
    except ToolsError as err:
        raise fail(str(err)) from None
    if plot is not None:
        try:
            plot.write_bytes(plot_backtest(result, title=f"PV backtest: {data.name}"))
        except OSError as err:
            raise fail(f"cannot write {plot}: {err.strerror}") from None
        result.pop("hourly", None)
    if as_json:
        typer.echo(json.dumps(plain(result), sort_keys=True))
        return
    typer.echo(
        f"PV backtest of {data.name}: {result['score_from']}..{result['score_to']}, "
        f"{result['capacity_kwp']:g} kWp; hourly means over daylight hours"
    )
    for block, title in (("with_weather", "with weather"), ("without_weather", "no weather")):
        figures = result.get(block)
        if not figures:
            continue
        typer.echo(f"\n{title}:")
        for key, label, unit in _LABELS:
            typer.echo(f"  {label:<30} {figures[key]}{unit}")
    cal = result.get("calibration")
    if cal:
        typer.echo(
            f"\ncalibration (last day): derate {cal['derate']}, "
            f"time shift {cal['time_shift_min']} min"
        )
    if plot is not None:
        typer.echo(f"\nchart written to {plot}")
