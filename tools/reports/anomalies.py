"""What was unusual at a site this week, against its own recent past (pure).

The week's load, PV, battery SOC and grid power are compared with the same local time of
day over the weeks before (by default the previous 28 days): each hour's 3-hour trailing
mean against the baseline's values at that hour and the hour either side. An hour is
unusual when its robust z-score, the distance from the baseline median in units of the
scaled median absolute deviation (MAD × 1.4826, the standard deviation of a normal
distribution with that MAD; Iglewicz & Hoaglin, "How to Detect and Handle Outliers",
1993), is 4 or more AND it lies outside every baseline value: a household's evening oven
or a cloudy day has happened before and is not news. A floor on the scale keeps flat
hours (PV at night) from turning small wobbles into large scores. Two or more
consecutive unusual hours make one finding.

Also found: hours a device that used to report stopped reporting (gaps), and days the
generator ran much longer than it usually does. The few strongest findings are kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

__all__ = [
    "BASELINE",
    "MIN_HISTORY_DAYS",
    "WEEK",
    "AnomalyReport",
    "Finding",
    "find_anomalies",
    "render",
    "why_text",
]

WEEK = timedelta(days=7)
BASELINE = timedelta(days=28)
MIN_HISTORY_DAYS = 7
"""Days of baseline with data below which no comparison is made ("not enough history")."""
MIN_SAMPLES = 15
"""Baseline values an hour of day needs before it is compared."""
MAD_TO_SIGMA = 1.4826
Z_FLAG = 4.0
"""|z| from which an hour is unusual."""
Z_SINGLE = 7.0
"""A single unusual hour must be at least this far out to count on its own."""
SMOOTH_HOURS = 3
"""Hours of the trailing mean compared (one busy hour of a household is not unusual)."""
POOL_HOURS = 1
"""Baseline hours either side of the same hour of day pooled with it."""
MIN_RUN_HOURS = 2
GAP_MIN_HOURS = 2
GAP_COVERAGE = 0.8
"""A device is expected to report when it did in this share of its baseline hours."""
GENERATOR_MIN_EXTRA_H = 1.0
TOP = 5


@dataclass(frozen=True, slots=True)
class _Metric:
    name: str
    label: str
    unit: str
    scale: float  # value / scale in the unit
    floor: float  # the least scale of a z-score [metric units]
    floor_share: float  # ... or this share of the baseline's 95th percentile magnitude
    word: str  # as the answer lists what was compared


METRICS: tuple[_Metric, ...] = (
    _Metric("load_power_w", "Load", "kW", 1000.0, 100.0, 0.1, "load"),
    _Metric("pv_power_w", "PV", "kW", 1000.0, 100.0, 0.1, "PV"),
    _Metric("battery_soc_pct", "Battery SOC", "%", 1.0, 5.0, 0.0, "battery SOC"),
    _Metric("grid_power_w", "Grid power", "kW", 1000.0, 100.0, 0.1, "grid power"),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    kind: str  # level | gap | generator
    metric: str
    start: datetime  # UTC
    end: datetime  # UTC, exclusive
    score: float
    text: str
    value: float | None = None  # the finding's mean, in the metric's unit
    usual: float | None = None  # the baseline's median at those hours
    peak_z: float | None = None  # the largest robust z of its hours (level findings)


@dataclass(frozen=True, slots=True, kw_only=True)
class AnomalyReport:
    start: datetime
    end: datetime
    history_days: int
    findings: list[Finding] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)

    @property
    def enough_history(self) -> bool:
        return self.history_days >= MIN_HISTORY_DAYS


def _window(series: pd.Series, start: datetime, end: datetime) -> pd.Series:
    s = series.dropna()
    return s[(s.index >= start) & (s.index < end)]


def _days_with_data(series: pd.Series, tz: ZoneInfo, min_hours: int = 12) -> int:
    if series.empty:
        return 0
    days = series.index.tz_convert(tz).date
    counts = pd.Series(1, index=days).groupby(level=0).sum()
    return int((counts >= min_hours).sum())


def _span(start: datetime, end: datetime, tz: ZoneInfo) -> str:
    a = start.astimezone(tz)
    b = end.astimezone(tz)
    if b - a <= timedelta(hours=1):
        return f"{a:%a %H:%M}"
    if a.date() == (b - timedelta(seconds=1)).date():
        return f"{a:%a %H:%M}–{b:%H:%M}"
    return f"{a:%a %H:%M}–{b:%a %H:%M}"


def _runs(index: pd.DatetimeIndex, step: timedelta = timedelta(hours=1)) -> list[list[int]]:
    """Positions of ``index`` grouped into runs of consecutive hours."""
    runs: list[list[int]] = []
    for i, t in enumerate(index):
        if runs and t - index[runs[-1][-1]] <= step:
            runs[-1].append(i)
        else:
            runs.append([i])
    return runs


def _pooled(values: pd.Series, tz: ZoneInfo) -> dict[int, np.ndarray]:
    """Baseline values per local hour of day, each pooled with the hours either side."""
    hours = values.index.tz_convert(tz).hour
    by_hour = {h: values.to_numpy()[hours == h] for h in range(24)}
    return {
        h: np.concatenate([by_hour[(h + d) % 24] for d in range(-POOL_HOURS, POOL_HOURS + 1)])
        for h in range(24)
    }


def _level_findings(
    m: _Metric, series: pd.Series, start: datetime, end: datetime, tz: ZoneInfo
) -> list[Finding]:
    """Runs of hours whose smoothed level is far from, and outside, what the baseline saw
    at the same time of day."""
    clean = series.dropna()
    smooth = clean.rolling(f"{SMOOTH_HOURS}h", min_periods=SMOOTH_HOURS - 1).mean().dropna()
    base = _window(smooth, start - BASELINE, start)
    week = _window(smooth, start, end)
    if (
        week.empty
        or _days_with_data(_window(clean, start - BASELINE, start), tz) < MIN_HISTORY_DAYS
    ):
        return []
    pooled = _pooled(base, tz)
    p95 = float(np.nanpercentile(np.abs(base.to_numpy()), 95)) if len(base) else 0.0
    floor = max(m.floor, m.floor_share * p95)
    rows = []
    for when, value in week.items():
        ref = pooled[when.tz_convert(tz).hour]
        if len(ref) < MIN_SAMPLES:
            continue
        med = float(np.median(ref))
        scale = max(MAD_TO_SIGMA * float(np.median(np.abs(ref - med))), floor)
        z = (float(value) - med) / scale
        outside = float(value) > float(ref.max()) or float(value) < float(ref.min())
        if abs(z) >= Z_FLAG and outside:
            rows.append((when, z, med))
    out: list[Finding] = []
    for sign in (1, -1):
        side = [r for r in rows if np.sign(r[1]) == sign]
        index = pd.DatetimeIndex([r[0] for r in side])
        for run in _runs(index):
            if len(run) < MIN_RUN_HOURS:
                continue
            picked = [side[i] for i in run]
            # the smoothed value at hour t covers the hours t-2..t: the episode starts earlier
            first = picked[0][0].to_pydatetime() - timedelta(hours=SMOOTH_HOURS - 1)
            last = picked[-1][0].to_pydatetime() + timedelta(hours=1)
            usual_raw = float(np.mean([r[2] for r in picked]))
            raw = _window(clean, first, last)
            # trim the smoothing's spill-over: the hours themselves far from usual
            far = raw[np.abs(raw - usual_raw) >= 0.5 * abs(float(raw.mean()) - usual_raw)]
            if not far.empty:
                first = far.index[0].to_pydatetime()
                last = far.index[-1].to_pydatetime() + timedelta(hours=1)
                raw = _window(clean, first, last)
            value = float(raw.mean()) / m.scale
            usual = usual_raw / m.scale
            word = "above" if sign > 0 else "below"
            if m.unit == "%":
                figures = f"{value:.0f} % vs usually {usual:.0f} %"
            else:
                figures = f"{value:.1f} {m.unit} vs usually {usual:.1f} {m.unit}"
            out.append(
                Finding(
                    kind="level",
                    metric=m.name,
                    start=first,
                    end=last,
                    score=float(sum(min(abs(r[1]), 20.0) for r in picked)),
                    value=value,
                    usual=usual,
                    peak_z=float(max(abs(r[1]) for r in picked)),
                    text=f"{m.label} {word} usual {_span(first, last, tz)}: {figures} at "
                    f"those hours",
                )
            )
    return out


def _gap_findings(
    presence: Mapping[str, pd.DatetimeIndex], start: datetime, end: datetime, tz: ZoneInfo
) -> list[Finding]:
    """Runs of hours in the week with nothing from a device that reported in the baseline."""
    out: list[Finding] = []
    last_full = pd.Timestamp(end).floor("h")
    week_hours = pd.date_range(pd.Timestamp(start).ceil("h"), last_full, freq="h", inclusive="left")
    for device, hours in presence.items():
        hours = pd.DatetimeIndex(hours)
        base = hours[(hours >= start - BASELINE) & (hours < start)]
        if base.empty:
            continue
        expected = pd.date_range(base.min(), pd.Timestamp(start), freq="h", inclusive="left")
        days = len({t.date() for t in base.tz_convert(tz)})
        if days < MIN_HISTORY_DAYS or len(base) < GAP_COVERAGE * len(expected):
            continue
        missing = week_hours.difference(hours)
        for run in _runs(missing):
            if len(run) < GAP_MIN_HOURS:
                continue
            first = missing[run[0]].to_pydatetime()
            last = missing[run[-1]].to_pydatetime() + timedelta(hours=1)
            name = device or "the site's main device"
            out.append(
                Finding(
                    kind="gap",
                    metric=device,
                    start=first,
                    end=last,
                    score=2.0 * len(run),
                    value=float(len(run)),
                    text=f"No readings from {name} {_span(first, last, tz)} ({len(run)} h)",
                )
            )
    return out


def _generator_findings(
    running: pd.Series, start: datetime, end: datetime, tz: ZoneInfo
) -> list[Finding]:
    """Days the generator ran far longer than on the baseline's days."""
    if running.empty:
        return []

    def per_day(s: pd.Series) -> pd.Series:
        local = s.index.tz_convert(tz)
        return s.groupby(local.date).sum()  # hourly means of 0/1 -> run hours per day

    base = _window(running, start - BASELINE, start)
    week = _window(running, start, end)
    if week.empty or _days_with_data(base, tz) < MIN_HISTORY_DAYS:
        return []
    base_days = per_day(base)
    usual = float(base_days.median())
    spread = max(MAD_TO_SIGMA * float((base_days - usual).abs().median()), 0.5)
    out: list[Finding] = []
    for day, run_h in per_day(week).items():
        extra = float(run_h) - usual
        z = extra / spread
        if extra < GENERATOR_MIN_EXTRA_H or z < Z_FLAG:
            continue
        first = datetime.combine(day, datetime.min.time(), tzinfo=tz)
        out.append(
            Finding(
                kind="generator",
                metric="generator_running",
                start=first,
                end=first + timedelta(days=1),
                score=float(min(z, 20.0)) * 2.0,
                value=float(run_h),
                usual=usual,
                text=f"Generator ran {float(run_h):.1f} h on {first:%a %d %b}, usually "
                f"{usual:.1f} h a day",
            )
        )
    return out


def find_anomalies(
    hourly: Mapping[str, pd.Series],
    *,
    now: datetime,
    tz: ZoneInfo,
    presence: Mapping[str, pd.DatetimeIndex] | None = None,
    week: timedelta = WEEK,
    top: int = TOP,
) -> AnomalyReport:
    """The strongest findings of the ``week`` before ``now``.

    ``hourly`` maps metric -> hourly means (UTC hour starts; a site's devices summed);
    ``presence`` maps device -> the hours it delivered anything.
    """
    start = now - week
    history = 0
    checked: list[str] = []
    findings: list[Finding] = []
    for m in METRICS:
        series = hourly.get(m.name)
        if series is None or series.dropna().empty:
            continue
        days = _days_with_data(_window(series, start - BASELINE, start), tz)
        history = max(history, days)
        if days >= MIN_HISTORY_DAYS:
            checked.append(m.word)
        findings += _level_findings(m, series, start, now, tz)
    running = hourly.get("generator_running")
    if running is not None and not running.dropna().empty:
        if _days_with_data(_window(running, start - BASELINE, start), tz) >= MIN_HISTORY_DAYS:
            checked.append("generator run hours")
        findings += _generator_findings(running, start, now, tz)
    if presence:
        findings += _gap_findings(presence, start, now, tz)
    findings.sort(key=lambda f: -f.score)
    return AnomalyReport(
        start=start, end=now, history_days=history, findings=findings[:top], checked=checked
    )


def render(report: AnomalyReport, *, site: str, total: int | None = None) -> str:
    """The answer: unusual or not first, then a line per finding, strongest first."""
    if not report.enough_history:
        return (
            f"Not enough history at {site} to say what is unusual: {report.history_days} "
            f"day(s) of readings before this week; I compare with at least "
            f"{MIN_HISTORY_DAYS} days."
        )
    against = f"compared with the {BASELINE.days} days before ({', '.join(report.checked)})"
    if not report.findings:
        return f"Nothing unusual at {site} this week, {against}."
    n = len(report.findings)
    head = f"{n} unusual thing{'s' if n > 1 else ''} at {site} this week, {against}:"
    return "\n".join([head, *(f"- {f.text}" for f in report.findings)])


def why_text(report: AnomalyReport, tz: ZoneInfo) -> str:
    """The reasons behind the anomalies answer (pure): the baseline window, what was
    compared, the thresholds, and each finding's own figures."""
    base_start = report.start - BASELINE
    stamp = "%a %d %b %H:%M"
    span = f"{base_start.astimezone(tz):{stamp}} to {report.start.astimezone(tz):{stamp}}"
    lines = [
        f"Week: {report.start.astimezone(tz):{stamp}} to now; baseline: the "
        f"{BASELINE.days} days before it, {span} ({tz.key}), from the hourly rollups: "
        f"{report.history_days} day(s) with at least 12 h of readings ({MIN_HISTORY_DAYS} needed)."
    ]
    if not report.enough_history:
        return "Why: " + "\n".join(lines)
    lines.append(f"Compared: {', '.join(report.checked) or 'nothing (no readings)'}.")
    lines.append(
        f"Threshold: an hour's {SMOOTH_HOURS}-hour trailing mean is unusual when its robust z "
        f"(distance from the baseline median at that hour ±{POOL_HOURS} h, in MAD × "
        f"{MAD_TO_SIGMA}) is ≥ {Z_FLAG:g} AND it lies outside every baseline value there; "
        f"{MIN_RUN_HOURS}+ consecutive such hours make one finding. A device gap counts from "
        f"{GAP_MIN_HOURS} h without readings from a device that reported in "
        f"{GAP_COVERAGE * 100:.0f} % of its baseline hours; a generator day from "
        f"{GENERATOR_MIN_EXTRA_H:g} h above its usual run hours. The {TOP} strongest are kept."
    )
    for f in report.findings:
        if f.kind == "level" and f.peak_z is not None:
            lines.append(f"{f.text}: robust z up to {f.peak_z:.1f}, outside the range seen.")
        elif f.kind == "generator" and f.usual is not None and f.value is not None:
            lines.append(f"{f.text}: {f.value - f.usual:.1f} h more than the baseline's median.")
        else:
            lines.append(f"{f.text}.")
    return "Why: " + "\n".join(lines)
