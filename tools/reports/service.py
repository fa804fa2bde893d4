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
from tools.reports.periods import Period, previous_period
from tools.site import Site

__all__ = ["EventBrief", "Report", "ReportService", "stats_from_rollups"]

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
