"""Reports for a live site: reads the rollups, alerts and actions of a period from the
database and hands them to the pure analytics; the rendering lives in render.py."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pandas as pd
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import repositories as repo
from tools.clock import Clock
from tools.errors import UnknownSiteError
from tools.forecast.scorecard import Scorecard, scorecard
from tools.forecast.service import ForecastService
from tools.reports.analytics import Change, HourlyStats, PeriodAnalytics, analyse, compare
from tools.reports.anomalies import BASELINE, METRICS, WEEK, AnomalyReport, find_anomalies
from tools.reports.periods import Period, previous_period
from tools.reports.timeline import ActionFact, AlertFact, Timeline, build
from tools.reports.windows import Window
from tools.site import Site

__all__ = ["EventBrief", "Report", "ReportService", "stats_from_rollups"]

TIMELINE_METRICS = ("battery_soc_pct", "pv_power_w", "generator_running", "grid_connected")
"""Readings a timeline looks at (extremes, starts and stops)."""
STATE_LOOKBACK = timedelta(hours=6)
"""Read before a timeline window, so a generator already running at its start is known."""

FUEL_LOOKBACK = timedelta(hours=2)
"""Rollups read before a period so the first hour's fuel burn (a level drop) is known."""


PARTIAL_SHARE = 0.9
"""A previous period with fewer hours of data than this share of the current one's is
partial: figures against it are given without percentages."""


@dataclass(frozen=True, slots=True, kw_only=True)
class EventBrief:
    """An alert or action of the period, as a report lists it."""

    time: datetime
    kind: str  # alert | action
    severity: str  # alert severity, or the action's final status
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Report:
    site: Site
    period: Period
    analytics: PeriodAnalytics
    previous: PeriodAnalytics | None
    changes: list[Change]
    events: list[EventBrief]
    solar: Scorecard | None
    hourly: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def has_data(self) -> bool:
        return self.analytics.flows.hours > 0

    @property
    def previous_is_partial(self) -> bool:
        """The period before has much less data than this one (the site was new, or the
        bot was down), so percentage changes against it would mislead."""
        if self.previous is None:
            return False
        return self.previous.flows.hours < PARTIAL_SHARE * self.analytics.flows.hours

    @property
    def alerts(self) -> list[EventBrief]:
        return [e for e in self.events if e.kind == "alert"]

    @property
    def actions(self) -> list[EventBrief]:
        return [e for e in self.events if e.kind == "action"]


def stats_from_rollups(rows: list[repo.RollupRecord]) -> HourlyStats:
    """Series of hourly means, minima and maxima from rollup records."""
    cols: dict[str, dict[tuple[str, str], tuple[list[datetime], list[float]]]] = {
        k: defaultdict(lambda: ([], [])) for k in ("mean", "min", "max")
    }
    for r in rows:
        key = (r.metric, r.device)
        for name, value in (
            ("mean", r.sum / r.count if r.count else float("nan")),
            ("min", r.min),
            ("max", r.max),
        ):
            times, values = cols[name][key]
            times.append(r.hour)
            values.append(value)

    def series(data: dict[tuple[str, str], tuple[list[datetime], list[float]]]) -> dict:
        out = {}
        for key, (times, values) in data.items():
            index = pd.DatetimeIndex(times)
            index = index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
            s = pd.Series(values, index=index, dtype="float64")
            out[key] = s[~s.index.duplicated(keep="last")].sort_index()
        return out

    return HourlyStats(mean=series(cols["mean"]), min=series(cols["min"]), max=series(cols["max"]))


def _hourly_frame(stats: HourlyStats, start: datetime, end: datetime) -> pd.DataFrame:
    def kw(metric: str) -> pd.Series:
        s = stats.mean_of(metric)
        return s[(s.index >= start) & (s.index < end)] / 1000.0

    frame = pd.DataFrame(
        {
            "solar_kw": kw("pv_power_w"),
            "load_kw": kw("load_power_w"),
            "grid_kw": kw("grid_power_w"),
            "generator_kw": kw("generator_power_w"),
        }
    )
    soc = stats.mean_of("battery_soc_pct")
    frame["soc_pct"] = soc[(soc.index >= start) & (soc.index < end)]
    return frame.sort_index()


def _aware(when: datetime) -> datetime:
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when


class ReportService:
    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        sites: Mapping[str, Site],
        clock: Clock,
        forecasts: ForecastService | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._sites = sites
        self._clock = clock
        self._forecasts = forecasts

    def site(self, name: str) -> Site:
        site = self._sites.get(name)
        if site is None:
            raise UnknownSiteError(name, list(self._sites))
        return site

    def now(self) -> datetime:
        return self._clock.now()

    async def stats(self, site: Site, start: datetime, end: datetime) -> HourlyStats:
        async with self._sessionmaker() as session, session.begin():
            rows = await repo.rollups_between(
                session, site=site.name, start=start - FUEL_LOOKBACK, end=end
            )
            # Rollups run on a schedule and cover only recent hours each time, so hours
            # still held as raw readings are aggregated from them now: a report agrees
            # with what was stored even when the rollup job has not caught up (an
            # accelerated demo, a worker that was down). Raw aggregates win ties.
            rows += await repo.raw_hourly_between(
                session, site=site.name, start=start - FUEL_LOOKBACK, end=end
            )
        return stats_from_rollups(rows)

    async def _events(self, site: Site, start: datetime, end: datetime) -> list[EventBrief]:
        async with self._sessionmaker() as session, session.begin():
            alerts = await repo.alerts_started_between(
                session, site=site.name, start=start, end=end
            )
            actions = await repo.actions_in_period(session, site=site.name, start=start, end=end)
        events = [
            EventBrief(time=a.started_at, kind="alert", severity=a.severity, text=a.title)
            for a in alerts
        ]
        for a in actions:
            by = f" by {a.decided_by}" if a.decided_by else ""
            when = a.created_at
            if _aware(when) < start:  # requested earlier, decided or run in the period
                when = a.finished_at or a.decided_at or when
            events.append(
                EventBrief(
                    time=_aware(when),
                    kind="action",
                    severity=a.status,
                    text=f"{a.kind.replace('_', ' ')}: {a.status}{by}",
                )
            )
        return sorted(events, key=lambda e: _aware(e.time))

    def _solar(self, site: Site, stats: HourlyStats, period: Period) -> Scorecard | None:
        if self._forecasts is None or not site.pv_arrays:
            return None
        actual = stats.mean_of("pv_power_w")
        actual = actual[(actual.index >= period.start) & (actual.index < period.until)]
        if actual.empty:
            return None
        forecast = self._forecasts.pv_clear_sky_hourly(site, period.start, period.until)
        try:
            return scorecard(forecast_w=forecast, actual_w=actual)
        except ValueError:
            return None

    async def report(self, site: Site, period: Period, *, with_previous: bool = True) -> Report:
        """Everything a digest or PDF shows for ``period`` (and the period before it)."""
        prev = previous_period(period, tz=site.tz) if with_previous else None
        first = prev.start if prev is not None else period.start
        stats = await self.stats(site, first, period.until)
        current = analyse(stats, site, start=period.start, end=period.until)
        previous = (
            analyse(stats, site, start=prev.start, end=prev.until) if prev is not None else None
        )
        return Report(
            site=site,
            period=period,
            analytics=current,
            previous=previous,
            changes=compare(current, previous) if previous and previous.flows.hours else [],
            events=await self._events(site, period.start, period.until),
            solar=self._solar(site, stats, period),
            hourly=_hourly_frame(stats, period.start, period.until),
        )

    async def timeline(self, site: Site, window: Window) -> Timeline:
        """Alerts, action requests and notable readings of ``window`` (see
        :mod:`tools.reports.timeline`): raw readings where they are kept, else the hourly
        minima and maxima."""
        async with self._sessionmaker() as session, session.begin():
            alerts = await repo.alerts_touched_between(
                session, site=site.name, start=window.start, end=window.end
            )
            actions = await repo.actions_in_period(
                session, site=site.name, start=window.start, end=window.end
            )
            raw = await repo.readings_of_metrics(
                session,
                site=site.name,
                metrics=TIMELINE_METRICS,
                start=window.start - STATE_LOOKBACK,
                end=window.end,
            )
        series = _raw_series(raw)
        inside = [r for r in raw if _aware(r[2]) >= window.start]
        readings_from = "raw readings"
        if not any(m in ("battery_soc_pct", "pv_power_w") for m, _d, _t, _v in inside):
            readings_from = "the hourly rollups' minima and maxima (no raw readings kept)"
            stats = await self.stats(site, window.start, window.end)
            for metric in ("battery_soc_pct", "pv_power_w"):
                if not stats.mean_of(metric).empty:
                    series[f"{metric}_min"] = stats.min_of(metric)
                    series[f"{metric}_max"] = stats.max_of(metric)
            for metric in ("generator_running", "grid_connected"):
                if metric not in series and not stats.mean_of(metric).empty:
                    series[metric] = stats.max_of(metric)
        return build(
            window,
            alerts=[
                AlertFact(
                    id=a.id,
                    title=a.title,
                    severity=a.severity,
                    started_at=a.started_at,
                    acknowledged_at=a.acknowledged_at,
                    acknowledged_by=a.acknowledged_by,
                    resolved_at=a.resolved_at,
                )
                for a in alerts
            ],
            actions=[
                ActionFact(
                    id=a.id,
                    kind=a.kind,
                    status=a.status,
                    requested_by=a.requested_by,
                    created_at=a.created_at,
                    decided_by=a.decided_by,
                    decided_at=a.decided_at,
                    finished_at=a.finished_at,
                    outcome=a.outcome,
                )
                for a in actions
            ],
            series=series,
            readings_from=readings_from,
        )

    async def anomalies(self, site: Site, now: datetime) -> AnomalyReport:
        """This week against the weeks before, from the stored hourly data (see
        :mod:`tools.reports.anomalies`)."""
        stats = await self.stats(site, now - WEEK - BASELINE, now)
        hourly = {m.name: stats.mean_of(m.name) for m in METRICS}
        hourly["generator_running"] = stats.mean_of("generator_running")
        presence: dict[str, pd.DatetimeIndex] = {}
        for (_metric, device), series in stats.mean.items():
            hours = pd.DatetimeIndex(series.dropna().index)
            presence[device] = presence[device].union(hours) if device in presence else hours
        return find_anomalies(hourly, now=now, tz=site.tz, presence=presence)


def _raw_series(rows: list[tuple[str, str, datetime, float]]) -> dict[str, pd.Series]:
    """Raw readings per metric (devices merged: the newest value at each time wins)."""
    by_metric: dict[str, tuple[list[datetime], list[float]]] = defaultdict(lambda: ([], []))
    for metric, _device, time, value in rows:
        times, values = by_metric[metric]
        times.append(_aware(time))
        values.append(value)
    out: dict[str, pd.Series] = {}
    for metric, (times, values) in by_metric.items():
        index = pd.DatetimeIndex(times).tz_convert("UTC")
        s = pd.Series(values, index=index, dtype="float64")
        out[metric] = s[~s.index.duplicated(keep="last")].sort_index()
    return out
