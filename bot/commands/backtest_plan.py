"""``commandcenter backtest plan miners|generator``: plans scored against hindsight.

Registered on the ``backtest`` group as ``backtest_app.command("plan")(plan)``. The
CSV needs ``time``, ``pv_w`` and ``load_w`` (see :mod:`tools.forecast.backtest`);
the site is described by the options (an off-grid battery site).
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from bot.commands.common import fail, native_output_to_stderr, plain
from bot.progress import progress_bar

__all__ = ["plan"]

MINER_FULL_TAKE_QUANTILE_DEFAULT = 0.75
"""Mirrors :data:`tools.forecast.backtest_plan.FULL_TAKE_MARGIN_QUANTILE` (kept out of the
import so the CLI starts without pandas)."""
MINER_FULL_SOC_PCT_DEFAULT = 90.0
"""Mirrors :data:`tools.forecast.backtest_plan.MINER_FULL_SOC_PCT`."""
MINER_MORNING_RISE_PCT_DEFAULT = 2.0
"""Mirrors :data:`tools.forecast.backtest_plan.MORNING_RISE_PCT`."""
MINER_MORNING_NIGHT_BACK_H_DEFAULT = 12
"""Mirrors :data:`tools.forecast.backtest_plan.MORNING_NIGHT_BACK_H`."""
MINER_TAKE_MARGIN_QUANTILE_DEFAULT = 0.9
"""Mirrors :data:`tools.forecast.backtest_plan.TAKE_MARGIN_QUANTILE`."""


def _day(option: str, text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise fail(f"{option} {text!r} is not a date like 2024-06-01") from None


def plan(
    kind: Annotated[str, typer.Argument(help="miners or generator")],
    data: Annotated[Path, typer.Option("--data", help="CSV: time, pv_w, load_w [W]")],
    lat: Annotated[float, typer.Option("--lat", min=-90, max=90, help="latitude [deg]")],
    lon: Annotated[float, typer.Option("--lon", min=-180, max=180, help="longitude [deg]")],
    tilt: Annotated[float, typer.Option("--tilt", min=0, max=90, help="panel tilt [deg]")],
    azimuth: Annotated[
        float, typer.Option("--azimuth", min=0, max=360, help="clockwise from north, 180 = south")
    ],
    kwp: Annotated[float, typer.Option("--kwp", min=0.001, help="DC capacity [kWp]")],
    tz: Annotated[str, typer.Option("--tz", help="site time zone, e.g. Europe/Paris")] = "UTC",
    battery_kwh: Annotated[
        float, typer.Option("--battery-kwh", min=0.1, help="battery capacity [kWh]")
    ] = 10.0,
    min_soc: Annotated[
        float, typer.Option("--min-soc", min=0, max=100, help="battery minimum [%]")
    ] = 20.0,
    miners: Annotated[int, typer.Option("--miners", min=0, help="number of miners")] = 2,
    miner_kw: Annotated[float, typer.Option("--miner-kw", min=0.01, help="each miner [kW]")] = 0.5,
    generator_kw: Annotated[
        float, typer.Option("--generator-kw", min=0.1, help="generator rating [kW]")
    ] = 5.0,
    score_from: Annotated[str | None, typer.Option("--score-from", help="YYYY-MM-DD")] = None,
    score_to: Annotated[str | None, typer.Option("--score-to", help="YYYY-MM-DD")] = None,
    pv_quantile: Annotated[
        float,
        typer.Option(
            "--pv-quantile",
            min=0.05,
            max=0.5,
            help="plan the hours after this one on this PV quantile (0.5 = median)",
        ),
    ] = 0.3,
    load_p50: Annotated[
        bool,
        typer.Option(
            "--load-p50", help="plan the hours after this one on the median load, not P90"
        ),
    ] = False,
    replan_h: Annotated[
        int,
        typer.Option("--replan-h", min=1, max=24, help="re-plan every N hours on the measured SOC"),
    ] = 1,
    reserve_pct: Annotated[
        float,
        typer.Option("--reserve-pct", min=0, max=60, help="points the plan keeps above the floor"),
    ] = 0.0,
    guard_pct: Annotated[
        float | None,
        typer.Option(
            "--guard-pct",
            min=0,
            max=50,
            help="stop miners / start the generator when a bad hour ends this near the floor "
            "(default: sized from the site's own forecast errors)",
        ),
    ] = None,
    no_nowcast: Annotated[
        bool,
        typer.Option(
            "--no-nowcast",
            help="keep the midnight PV forecast all day (do not correct it by today's measured PV)",
        ),
    ] = False,
    hourly_guard: Annotated[
        bool,
        typer.Option(
            "--hourly-guard",
            help="size the guard per hour of day from the misses past the pessimistic hour "
            "(less fuel, but a load spike unseen at that hour gets through; default: each "
            "day's worst one-hour miss)",
        ),
    ] = False,
    daily_guard: Annotated[
        bool,
        typer.Option(
            "--daily-guard",
            help="generator: size the guard's reserve from each day's worst one-hour miss "
            "(the miners' default) instead of per hour of day",
        ),
    ] = False,
    old_guard: Annotated[
        bool,
        typer.Option(
            "--old-guard",
            help="generator: the controller before 2026-12-02 (the plan keeps only the floor, "
            "the guard tops a daily reserve up hour by hour at part load, earliest runs, "
            "no look within the hour)",
        ),
    ] = False,
    spike_quantile: Annotated[
        float | None,
        typer.Option(
            "--spike-quantile",
            min=0.0,
            max=1.0,
            help="no hour's guard reserve below this quantile of each day's largest miss "
            "(a spike seen at one hour may come at another; default: per hour only)",
        ),
    ] = None,
    spill_margin_quantile: Annotated[
        float | None,
        typer.Option(
            "--spill-margin-quantile",
            min=0.5,
            max=1.0,
            help="miners: also run on what the battery would spill today on the median "
            "outlook, with this quantile of the site's past misses of the rest of the day "
            "to spare (default: off; 0.9 took EMHASS June from 39 to 52 % of hindsight, "
            "with 4 avoidable hours instead of 1)",
        ),
    ] = None,
    half_hour_guard: Annotated[
        bool,
        typer.Option(
            "--half-hour-guard",
            help="miners: stop them at half past when the measured first half-hour drains "
            "the battery (default: decide on the hour; it changed nothing on EMHASS June "
            "and cost 0.2 points on SERF + OpenMV August)",
        ),
    ] = False,
    full_take: Annotated[
        bool,
        typer.Option(
            "--full-take/--no-full-take",
            help="miners: also run them on a full battery on the PV it curtails (the surplus "
            "measured in the last hour, no more than the outlook's for this one) when, should "
            "the hour go badly, the median fills the battery again today and its night keeps "
            "the site's past miss to spare (default since 2026-12-02; --no-full-take "
            "--no-morning-guard --no-full-carry runs the controller before: EMHASS June "
            "39.2 %, SERF August 84.4 %)",
        ),
    ] = True,
    full_take_margin_quantile: Annotated[
        float,
        typer.Option(
            "--full-take-margin-quantile",
            min=0.5,
            max=1.0,
            help="miners: the quantile of the site's past misses of the median night the "
            "full-battery take keeps to spare (0.5 took EMHASS June to 49 % with 4 "
            "avoidable hours, 0.9 to 42 % with 1)",
        ),
    ] = MINER_FULL_TAKE_QUANTILE_DEFAULT,
    full_soc_pct: Annotated[
        float,
        typer.Option(
            "--full-soc-pct",
            min=50.0,
            max=100.0,
            help="miners: the SOC from which the battery counts as full for the full-battery "
            "take (99 before 2026-12-03)",
        ),
    ] = MINER_FULL_SOC_PCT_DEFAULT,
    morning_guard: Annotated[
        bool,
        typer.Option(
            "--morning-guard/--no-morning-guard",
            help="miners: in the morning, below a full battery, wait until the measured SOC "
            "has risen over the night's low, then run on the median's surplus when the "
            "median still fills the battery today (default since 2026-12-03)",
        ),
    ] = True,
    morning_rise_pct: Annotated[
        float,
        typer.Option(
            "--morning-rise-pct",
            min=0.0,
            max=50.0,
            help="miners: points over the night's low that prove the morning is producing",
        ),
    ] = MINER_MORNING_RISE_PCT_DEFAULT,
    morning_night_back: Annotated[
        int,
        typer.Option(
            "--morning-night-back",
            min=1,
            max=48,
            help="miners: hours of measured SOC behind the hour in which the night's low is",
        ),
    ] = MINER_MORNING_NIGHT_BACK_H_DEFAULT,
    take_below_full: Annotated[
        bool,
        typer.Option(
            "--take-below-full/--no-take-below-full",
            help="miners: also run them below a full battery on the median's surplus when, "
            "should the hour go badly, the median still fills the battery today with the "
            "site's own past shortfall of it to spare (default: off)",
        ),
    ] = False,
    take_margin_quantile: Annotated[
        float,
        typer.Option(
            "--take-margin-quantile",
            min=0.5,
            max=1.0,
            help="miners: the quantile of the site's past shortfalls of the median to the "
            "day's end that a take below full keeps to spare",
        ),
    ] = MINER_TAKE_MARGIN_QUANTILE_DEFAULT,
    full_carry: Annotated[
        bool,
        typer.Option(
            "--full-carry/--no-full-carry",
            help="miners: on a full battery run only those the surplus measured in the last "
            "hour carries, whatever asked for them (default since 2026-12-03; "
            "--no-full-carry runs the controller before)",
        ),
    ] = True,
    full_take_spill_margin: Annotated[
        bool,
        typer.Option(
            "--full-take-spill-margin/--no-full-take-spill-margin",
            help="miners: the full-battery take also runs when, should the hour go badly, "
            "the median fills the battery again today with the site's own past shortfall "
            "of it to the day's end (--take-margin-quantile) to spare (default: off; "
            "EMHASS July 28.9 -> 33.1 % at 0.75, 39.6 % with an avoidable hour at 0.5)",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """Replay a history day by day: plan each morning on the forecast, apply it to what
    happened, compare with perfect foresight and with the simple rule."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from pydantic import ValidationError

    from tools.errors import ToolsError
    from tools.forecast.backtest import read_backtest_csv
    from tools.forecast.backtest_plan import (
        SPILL_MARGIN_QUANTILE,
        Controller,
        backtest_plan,
        generator_controller,
        miner_controller,
    )
    from tools.site import Battery, Generator, Grid, Location, PvArray, Site, SwitchableLoad

    if kind not in ("miners", "generator"):
        raise fail(f"plan kind {kind!r} is not miners or generator")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise fail(f"--tz {tz!r} is not a known time zone; use e.g. Europe/Paris") from None
    first, last = _day("--score-from", score_from), _day("--score-to", score_to)
    gen = kind == "generator"
    try:
        site = Site(
            name="backtest",
            timezone=tz,
            location=Location(latitude=lat, longitude=lon),
            pv_arrays=[PvArray(name="pv", kwp=kwp, tilt_deg=tilt, azimuth_deg=azimuth % 360)],
            battery=Battery(capacity_kwh=battery_kwh, min_soc_pct=min_soc),
            loads=[
                SwitchableLoad(name=f"miner{i + 1}", power_kw=miner_kw)
                for i in range(miners if kind == "miners" else 0)
            ],
            generator=(
                Generator(rated_kw=generator_kw, tank_l=1000.0) if kind == "generator" else None
            ),
            grid=Grid(present=False),
        )
    except ValidationError as err:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors())
        raise fail(f"invalid site: {problems}") from None
    common: dict[str, Any] = {
        "replan_h": replan_h,
        "pv_low_q": pv_quantile,
        "load_p90": not load_p50,
        "reserve_pct": reserve_pct,
        "guard_pct": guard_pct,
        "nowcast": not no_nowcast,
        "any_hour_quantile": spike_quantile,
    }
    if gen:
        # planned on the median, the plan holding the guard's reserve (refilled in few
        # full hours), the reserve per hour of day, the guard fearing the last measured
        # load: see generator_controller and the README's plan backtest
        controller = (
            Controller(**common, reserve_by_hour=hourly_guard, plan_on_median=True)
            if old_guard
            else replace(
                generator_controller(), **common, reserve_by_hour=not daily_guard or hourly_guard
            )
        )
    else:
        # since 2026-12-02 also on a full battery (see miner_controller); --no-full-take
        # runs the controller before
        base = (
            replace(
                miner_controller(),
                full_take_margin_quantile=full_take_margin_quantile,
                full_soc_pct=full_soc_pct,
            )
            if full_take
            else Controller()
        )
        controller = replace(
            base,
            **common,
            reserve_by_hour=hourly_guard,
            spill=spill_margin_quantile is not None,
            spill_quantile=spill_margin_quantile or SPILL_MARGIN_QUANTILE,
            half_hour_guard=half_hour_guard,
            morning_guard=morning_guard,
            morning_rise_pct=morning_rise_pct,
            morning_night_back_h=morning_night_back,
            take_below_full=take_below_full,
            take_margin_quantile=take_margin_quantile,
            full_carry=full_carry,
            full_take_spill_margin=full_take_spill_margin,
        )
    try:
        frame = read_backtest_csv(data)
        with (
            native_output_to_stderr(),
            progress_bar(f"backtest plan {kind}", unit="days") as advance,
        ):
            result = backtest_plan(
                frame,
                site,
                kind="miners" if kind == "miners" else "generator",
                score_from=first,
                score_to=last,
                controller=controller,
                on_day=advance,
            )
    except ToolsError as err:
        raise fail(str(err)) from None
    if as_json:
        typer.echo(json.dumps(plain(result), sort_keys=True))
        return
    typer.echo(
        f"{kind} plan backtest of {data.name}: {result['score_from']}..{result['score_to']} "
        f"({result['days']} days, {result['days_skipped']} skipped)"
    )
    for name in ("plan", "hindsight", "rule"):
        figures = ", ".join(f"{k} {v}" for k, v in result[name].items())
        typer.echo(f"  {name:<9} {figures}")
    typer.echo(
        f"  value captured {result['value_captured_pct']} % of hindsight (rule "
        f"{result['rule_value_captured_pct']} %), floor violations hindsight avoids: "
        f"{result['avoidable_violation_hours']} h"
    )
