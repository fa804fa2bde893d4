"""Load the history that periodic rules read (hourly rollups and recent raw readings)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

import pandas as pd
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import HourlyRollupRow, ReadingRow
from tools.alerts.context import History


async def load_history(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    site: str,
    now: datetime,
    hourly_days: float = 42.0,
    raw_hours: float = 6.0,
) -> History:
    """Hourly means for ``hourly_days`` and raw readings for ``raw_hours`` before ``now``."""
    hourly_from = now - timedelta(days=hourly_days)
    raw_from = now - timedelta(hours=raw_hours)
    async with sessionmaker() as session, session.begin():
        hourly_rows = (
            await session.execute(
                select(
                    HourlyRollupRow.metric,
                    HourlyRollupRow.device,
                    HourlyRollupRow.hour,
                    HourlyRollupRow.sum,
                    HourlyRollupRow.count,
                ).where(
                    HourlyRollupRow.site == site,
                    HourlyRollupRow.hour >= hourly_from,
                    HourlyRollupRow.hour < now,
                )
            )
        ).all()
        raw_rows = (
            await session.execute(
                select(ReadingRow.metric, ReadingRow.device, ReadingRow.time, ReadingRow.value)
                .where(ReadingRow.site == site, ReadingRow.time >= raw_from, ReadingRow.time <= now)
                .order_by(ReadingRow.time)
            )
        ).all()
    hourly: dict[tuple[str, str], tuple[list[datetime], list[float]]] = defaultdict(
        lambda: ([], [])
    )
    for metric, device, hour, total, count in hourly_rows:
        times, values = hourly[(metric, device)]
        times.append(hour)
        values.append(total / count if count else float("nan"))
    raw: dict[tuple[str, str], tuple[list[datetime], list[float]]] = defaultdict(lambda: ([], []))
    for metric, device, time, value in raw_rows:
        times, values = raw[(metric, device)]
        times.append(time)
        values.append(value)
    return History(hourly=_series(hourly), raw=_series(raw))


def _series(
    data: dict[tuple[str, str], tuple[list[datetime], list[float]]],
) -> dict[tuple[str, str], pd.Series]:
    out = {}
    for key, (times, values) in data.items():
        index = pd.DatetimeIndex(times)
        index = index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
        series = pd.Series(values, index=index, dtype="float64")
        out[key] = series[~series.index.duplicated(keep="last")].sort_index()
    return out
