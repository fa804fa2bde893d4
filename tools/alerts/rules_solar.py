"""Solar rules: PV output well below what the sky should give, for a sustained while.

Without an irradiance sensor a rule cannot tell a cloud from a fault, so the
expectation is the site's clear-sky output scaled by the weather the site has
actually seen lately:

``expected(t) = clear_sky_power_w(site, t) × csi``

where ``csi`` (the *recent clear-sky index*) is the median, over the previous
:data:`CSI_DAYS` local days, of each day's measured PV energy divided by the
clear-sky energy of the same hours, clipped to ``[CSI_MIN, CSI_MAX]``:

- the **median** of daily ratios rather than their mean or the last day: one
  odd day (yesterday's outage, a single storm) neither drags the baseline down
  nor inflates it, while a settled change of season or of the model's fit to
  the site (shading, soiling, a wrongly stated kWp) is learnt within days;
- **daily energy ratios** rather than hourly ones: they average out the shape
  error of the clear-sky model (low sun, horizon shading) and passing clouds;
- the **floor** ``CSI_MIN = 0.3``: after a dark week the expectation would
  otherwise sink so low that a dead array could hide inside it; with the
  floor and the default ratio 0.5 an alert still needs output below 15 % of
  clear-sky, which overcast rarely produces for an hour around midday but a
  snow-covered or tripped array does;
- the **ceiling** ``CSI_MAX = 1.0``: a model that under-states the array
  (kWp too low) never makes the expectation exceed clear-sky.

The verdict is judged on raw readings, only where the sun is high enough that
clear-sky output is at least :data:`DAYLIGHT_SHARE` of the site's capacity.
It becomes active when every such reading over at least
``thresholds.underperformance_for_min`` minutes was below
``thresholds.underperformance_ratio × expected`` (gaps up to :data:`MAX_GAP`
between readings are tolerated), and clears when the last
:data:`RECOVERY_WINDOW` of readings averages above
``ratio + RECOVERY_MARGIN`` of expected. At night, or while the battery is
full (PV may be curtailed on purpose), an open alert is held and a closed one
stays closed.

Powers are [W] inside and [kW] in summaries; times are UTC.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import numpy.typing as npt
import pandas as pd

from tools.alerts.context import History, RuleContext, RuleSpec, Verdict
from tools.forecast.solar import clear_sky_power_w
from tools.site import Location, PvArray, Site

__all__ = [
    "CSI_DAYS",
    "CSI_MAX",
    "CSI_MIN",
    "DAYLIGHT_SHARE",
    "RULES",
    "ClearSkyIndex",
    "clear_sky_index",
    "solar_underperformance",
]

RULE = "solar_underperformance"
CSI_DAYS = 7
"""Local days before today that set the recent clear-sky index."""
CSI_MIN = 0.3
CSI_MAX = 1.0
MIN_CSI_DAYS = 2
"""Fewer usable days than this: no judgement (a new site has no weather baseline yet)."""
MIN_DAY_COVERAGE = 0.6
"""A day counts when its hourly readings cover this share of its clear-sky energy."""
DAYLIGHT_SHARE = 0.10
"""Readings count only when clear-sky output is at least this share of capacity."""
MAX_GAP = timedelta(minutes=45)
"""Longest silence between readings that still continues a run."""
RECOVERY_WINDOW = timedelta(minutes=30)
RECOVERY_MARGIN = 0.1
GRID_STEP = timedelta(minutes=15)
"""Clear-sky is computed at the middle of each quarter hour and interpolated."""

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True, kw_only=True)
class ClearSkyIndex:
    """The recent clear-sky index: ``value`` (clipped) from ``ratios`` of ``days`` usable days."""

    value: float
    ratios: tuple[float, ...]

    @property
    def days(self) -> int:
        return len(self.ratios)

    @property
    def raw(self) -> float:
        return float(np.median(self.ratios)) if self.ratios else float("nan")


def capacity_w(site: Site) -> float:
    """AC capacity of the site [W]: per array the smaller of kWp and the inverter limit."""
    return 1000.0 * sum(
        min(a.kwp, a.inverter_kw) if a.inverter_kw is not None else a.kwp for a in site.pv_arrays
    )


def _local_midnight(tz: str, day: date) -> pd.Timestamp:
    naive = pd.Timestamp(day.year, day.month, day.day)
    return naive.tz_localize(tz, nonexistent="shift_forward", ambiguous=True).tz_convert("UTC")


def _ns(index: pd.DatetimeIndex) -> npt.NDArray[np.int64]:
    return index.tz_convert("UTC").as_unit("ns").asi8


@functools.lru_cache(maxsize=512)
def _clear_sky_day(
    location: Location, arrays: tuple[PvArray, ...], timezone: str, day: date
) -> tuple[npt.NDArray[np.int64], FloatArray]:
    """Clear-sky AC power [W] at the quarter-hour midpoints of one local day: (UTC ns, W).

    Memoised: the result depends only on the arguments (the pvlib model reads no
    clock), and a periodic rule re-evaluated every few minutes would otherwise
    recompute the same week of clear-sky each time.
    """
    site = Site(name="clear-sky", timezone=timezone, location=location, pv_arrays=list(arrays))
    start = _local_midnight(timezone, day)
    end = _local_midnight(timezone, day + timedelta(days=1))
    times = pd.date_range(start + GRID_STEP / 2, end, freq=GRID_STEP)
    power = clear_sky_power_w(site, times).to_numpy(dtype=np.float64)
    ns = _ns(times)
    power.flags.writeable = False
    ns.flags.writeable = False
    return ns, power


def _clear_sky_days(site: Site, days: list[date]) -> list[tuple[npt.NDArray[np.int64], FloatArray]]:
    arrays = tuple(site.pv_arrays)
    return [_clear_sky_day(site.location, arrays, site.timezone, day) for day in days]


def _interp(grid: tuple[npt.NDArray[np.int64], FloatArray], times: pd.DatetimeIndex) -> FloatArray:
    return np.interp(_ns(times), grid[0], grid[1])


def clear_sky_index(
    hourly_pv: pd.Series, days: list[tuple[npt.NDArray[np.int64], FloatArray]]
) -> ClearSkyIndex:
    """Median daily measured/clear-sky energy ratio, clipped to ``[CSI_MIN, CSI_MAX]``.

    ``hourly_pv``: hourly mean PV power [W] labelled by hour start (UTC). ``days``:
    per day, clear-sky power [W] at the quarter-hour midpoints (UTC ns, W). A day
    counts when its readings cover :data:`MIN_DAY_COVERAGE` of its clear-sky energy;
    the clip is skipped (``value`` NaN) when no day counts.
    """
    measured = hourly_pv.dropna()
    ratios: list[float] = []
    for ns, power in days:
        cs = power.reshape(-1, 4).mean(axis=1)  # hourly mean clear-sky, 4 quarter-hours
        total = float(cs.sum())
        if total <= 0.0:
            continue
        starts = pd.DatetimeIndex(ns[::4] - int(GRID_STEP.total_seconds() * 1e9) // 2, tz="UTC")
        have = measured.reindex(starts).to_numpy(dtype=np.float64)
        covered = ~np.isnan(have)
        cs_covered = float(cs[covered].sum())
        if cs_covered < MIN_DAY_COVERAGE * total:
            continue
        ratios.append(float(np.clip(have[covered], 0.0, None).sum()) / cs_covered)
    value = float(np.clip(np.median(ratios), CSI_MIN, CSI_MAX)) if ratios else float("nan")
    return ClearSkyIndex(value=value, ratios=tuple(ratios))


def _battery_full(ctx: RuleContext) -> float | None:
    if ctx.site.battery is None:
        return None
    soc = ctx.state.get("battery_soc_pct")
    if soc is not None and soc >= ctx.thresholds.battery_full_pct:
        return soc
    return None


def _hold(ctx: RuleContext, why: str) -> Verdict:
    """No judgement possible now: keep an open alert open, report a closed one as clear."""
    if ctx.current(RULE) is None:
        return Verdict(rule=RULE, active=False, category="solar", summary=why)
    return Verdict(
        rule=RULE,
        active=True,
        severity="warning",
        category="solar",
        title=f"Solar under-performing at {ctx.site.display_name}",
        summary=f"{why} The under-performance seen earlier stands until the array is seen again.",
    )


def _kw(watts: float) -> str:
    return f"{watts / 1000:.1f} kW" if watts >= 1000 else f"{watts / 1000:.2f} kW"


def _minutes(delta: pd.Timedelta | timedelta) -> str:
    minutes = delta.total_seconds() / 60
    return f"{minutes:.0f} min" if minutes < 120 else f"{minutes / 60:.1f} h"


def solar_underperformance(ctx: RuleContext) -> list[Verdict]:
    """PV below ``underperformance_ratio`` × expected for ``underperformance_for_min`` minutes.

    Expected = clear-sky × recent clear-sky index (see the module docstring).
    Returns ``[]`` when there is no history (batch evaluation) or no PV.
    """
    history: History | None = ctx.history
    site = ctx.site
    if history is None or not site.pv_arrays:
        return []
    t = ctx.thresholds
    is_open = ctx.current(RULE) is not None
    now = pd.Timestamp(ctx.now).tz_convert("UTC")
    sustain = timedelta(minutes=t.underperformance_for_min)
    recent = history.recent("pv_power_w")
    recent = recent[(recent.index > now - sustain - 2 * MAX_GAP) & (recent.index <= now)].dropna()

    today = now.tz_convert(site.tz).date()
    days = _clear_sky_days(site, [today - timedelta(days=k) for k in range(CSI_DAYS, -1, -1)])
    grid = (np.concatenate([d[0] for d in days]), np.concatenate([d[1] for d in days]))
    daylight_w = DAYLIGHT_SHARE * capacity_w(site)
    if float(_interp(grid, pd.DatetimeIndex([now]))[0]) < daylight_w:
        return [_hold(ctx, "Sun too low to judge the array.")]
    full = _battery_full(ctx)
    if full is not None:
        return [_hold(ctx, f"Battery full ({full:.0f} %): PV may be curtailed on purpose.")]

    csi = clear_sky_index(history.hourly_mean("pv_power_w"), days[:-1])
    if csi.days < MIN_CSI_DAYS:
        return [
            _hold(
                ctx,
                f"Only {csi.days} day(s) of PV history; {MIN_CSI_DAYS} needed to know the "
                "site's usual output.",
            )
        ]

    clear = _interp(grid, pd.DatetimeIndex(recent.index))
    keep = clear >= daylight_w
    times = pd.DatetimeIndex(recent.index[keep])
    actual = np.clip(recent.to_numpy(dtype=np.float64)[keep], 0.0, None)
    expected = clear[keep] * csi.value
    if len(times) == 0 or now - times[-1] > MAX_GAP:
        return [_hold(ctx, "No recent PV readings in daylight.")]
    ratios = actual / expected

    if is_open:
        window = times >= times[-1] - RECOVERY_WINDOW
        recovered_ratio = float(actual[window].sum() / expected[window].sum())
        if recovered_ratio >= t.underperformance_ratio + RECOVERY_MARGIN:
            return [
                Verdict(
                    rule=RULE,
                    active=False,
                    category="solar",
                    value=recovered_ratio,
                    summary=(
                        f"PV recovered: {_kw(float(actual[window].mean()))} vs expected "
                        f"{_kw(float(expected[window].mean()))} ({recovered_ratio:.0%})."
                    ),
                )
            ]
        below = ratios < t.underperformance_ratio + RECOVERY_MARGIN
    else:
        below = ratios < t.underperformance_ratio

    # the run of low readings that ends with the latest one, gaps up to MAX_GAP allowed
    start = len(times)
    for i in range(len(times) - 1, -1, -1):
        if not below[i] or (i < len(times) - 1 and times[i + 1] - times[i] > MAX_GAP):
            break
        start = i
    lasted = times[-1] - times[start] if start < len(times) else pd.Timedelta(0)
    if not is_open and (start == len(times) or lasted < sustain):
        return [
            Verdict(
                rule=RULE,
                active=False,
                category="solar",
                value=float(ratios[-1]),
                summary=(
                    f"PV {_kw(float(actual[-1]))} vs expected {_kw(float(expected[-1]))} "
                    f"({ratios[-1]:.0%})."
                ),
            )
        ]
    if is_open:  # describe at least the recovery window that failed to recover
        start = min(start, int(np.argmax(times >= times[-1] - RECOVERY_WINDOW)))
        lasted = times[-1] - times[start]
    run = slice(start, len(times))
    mean_actual = float(actual[run].mean())
    mean_expected = float(expected[run].mean())
    share = mean_actual / mean_expected
    clear_now = float(clear[keep][-1])
    summary = (
        f"PV has produced {_kw(mean_actual)} on average vs {_kw(mean_expected)} expected "
        f"({share:.0%}) over the last {_minutes(lasted)}, "
        + (
            f"not yet above the {t.underperformance_ratio + RECOVERY_MARGIN:.0%} that clears "
            "the alert. "
            if is_open
            else f"below the {t.underperformance_ratio:.0%} threshold. "
        )
        + f"Expected = clear-sky ({_kw(clear_now)} now) × recent clear-sky index "
        f"{csi.value:.2f} (median of the last {csi.days} days' measured/clear-sky energy"
        f"{', clipped' if csi.value != csi.raw else ''}). "
        "Possible causes: snow or heavy soiling, a tripped inverter or string, heavy overcast."
    )
    return [
        Verdict(
            rule=RULE,
            active=True,
            severity="warning",
            category="solar",
            title=f"Solar under-performing at {site.display_name}",
            summary=summary,
            value=share,
            evidence=(
                ("actual", _kw(mean_actual)),
                ("expected", _kw(mean_expected)),
                ("actual / expected", f"{share:.0%}"),
                ("for", _minutes(lasted)),
                ("clear-sky now", _kw(clear_now)),
                ("clear-sky index", f"{csi.value:.2f} ({csi.days} days, raw {csi.raw:.2f})"),
                ("latest reading", times[-1].isoformat(timespec="minutes")),
            ),
        )
    ]


RULES: tuple[RuleSpec, ...] = (
    RuleSpec(name=RULE, category="solar", fn=solar_underperformance, schedule="periodic"),
)
