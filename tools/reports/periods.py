"""Report periods in the site's local time (pure): yesterday, weeks, months, custom
ranges, the period before, and which scheduled digest is due."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from tools.errors import ToolsError
from tools.site import WEEKDAYS, DigestSchedule, MonthlySchedule

__all__ = [
    "PERIOD_NAMES",
    "Period",
    "PeriodError",
    "PeriodName",
    "custom_period",
    "due_period",
    "named_period",
    "previous_period",
]

PeriodName = Literal["yesterday", "today", "last_week", "this_week", "last_month", "this_month"]
PERIOD_NAMES: tuple[PeriodName, ...] = (
    "yesterday",
    "today",
    "last_week",
    "this_week",
    "last_month",
    "this_month",
)
Kind = Literal["day", "week", "month", "custom"]


class PeriodError(ToolsError):
    """A report period that cannot be understood (bad dates, end before start)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Period:
    """``[start, end)`` in UTC covering whole local days from ``first`` to ``last``;
    ``until`` is where the data stops when the period is still in progress."""

    kind: Kind
    first: date
    last: date
    start: datetime
    end: datetime
    until: datetime
    label: str

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def in_progress(self) -> bool:
        return self.until < self.end


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def _make(kind: Kind, first: date, last: date, tz: ZoneInfo, now: datetime, label: str) -> Period:
    start, end = _midnight(first, tz), _midnight(last + timedelta(days=1), tz)
    return Period(
        kind=kind,
        first=first,
        last=last,
        start=start,
        end=end,
        until=min(end, max(start, now)),
        label=label,
    )


def _month_bounds(day: date) -> tuple[date, date]:
    first = day.replace(day=1)
    nxt = (first + timedelta(days=32)).replace(day=1)
    return first, nxt - timedelta(days=1)


def _day_label(day: date) -> str:
    return f"{day:%a %d %b %Y}"


def _range_label(first: date, last: date) -> str:
    return f"{first:%d %b} – {last:%d %b %Y}"


def named_period(name: str, *, now: datetime, tz: ZoneInfo) -> Period:
    """One of :data:`PERIOD_NAMES` relative to ``now`` in the site's zone. Weeks start on
    Monday ("last week" is the last whole Monday–Sunday); months are calendar months."""
    today = now.astimezone(tz).date()
    if name == "yesterday":
        day = today - timedelta(days=1)
        return _make("day", day, day, tz, now, _day_label(day))
    if name == "today":
        return _make("day", today, today, tz, now, f"{_day_label(today)} (so far)")
    monday = today - timedelta(days=today.weekday())
    if name == "this_week":
        return _make("week", monday, monday + timedelta(days=6), tz, now, "this week (so far)")
    if name == "last_week":
        first = monday - timedelta(days=7)
        last = first + timedelta(days=6)
        return _make("week", first, last, tz, now, f"week {_range_label(first, last)}")
    if name == "this_month":
        first, last = _month_bounds(today)
        return _make("month", first, last, tz, now, f"{first:%B %Y} (so far)")
    if name == "last_month":
        first, last = _month_bounds(today.replace(day=1) - timedelta(days=1))
        return _make("month", first, last, tz, now, f"{first:%B %Y}")
    raise PeriodError(f"Unknown period {name!r}; use one of {', '.join(PERIOD_NAMES)}.")


def custom_period(first: date, last: date, *, now: datetime, tz: ZoneInfo) -> Period:
    """Whole local days ``first`` … ``last`` (inclusive)."""
    if last < first:
        raise PeriodError(f"The end date {last} is before the start date {first}.")
    if (last - first).days > 366 * 2:
        raise PeriodError("A report covers at most two years; choose a shorter range.")
    if first > now.astimezone(tz).date():
        raise PeriodError(f"The start date {first} is in the future: there is no data yet.")
    label = _day_label(first) if first == last else _range_label(first, last)
    return _make("custom", first, last, tz, now, label)


def previous_period(period: Period, *, tz: ZoneInfo) -> Period:
    """The period just before: the previous calendar month for a month, else the same
    number of days immediately before. A period in progress is compared with the same
    elapsed time of the previous one."""
    if period.kind == "month":
        first, last = _month_bounds(period.first - timedelta(days=1))
    else:
        last = period.first - timedelta(days=1)
        first = last - timedelta(days=period.days - 1)
    start = _midnight(first, tz)
    elapsed = period.until - period.start
    prev = _make(period.kind, first, last, tz, start + elapsed, _range_label(first, last))
    return prev


def due_period(
    kind: Literal["daily", "weekly", "monthly"],
    schedule: DigestSchedule | MonthlySchedule,
    *,
    now: datetime,
    tz: ZoneInfo,
) -> Period:
    """The period of the most recent scheduled digest that is due at ``now``.

    Daily: the local day before the latest ``time`` that has passed. Weekly: the seven
    local days before the latest ``day`` at ``time`` that has passed. Monthly: the
    calendar month before the latest ``day`` of the month at ``time`` that has passed.
    """
    hours, minutes = (int(x) for x in schedule.time.split(":"))
    local = now.astimezone(tz)
    send_day = local.date()
    if (local.hour, local.minute) < (hours, minutes):
        send_day -= timedelta(days=1)
    if (kind == "monthly") != isinstance(schedule, MonthlySchedule):
        raise TypeError(f"a {kind} digest needs a {kind} schedule, not {schedule!r}")
    if isinstance(schedule, MonthlySchedule):
        if send_day.day < schedule.day:  # this month's has not come yet: last month's
            send_day = send_day.replace(day=1) - timedelta(days=1)
        first, last = _month_bounds(send_day.replace(day=1) - timedelta(days=1))
        return _make("month", first, last, tz, now, f"{first:%B %Y}")
    if kind == "weekly":
        want = WEEKDAYS.index(schedule.day)
        send_day -= timedelta(days=(send_day.weekday() - want) % 7)
        first = send_day - timedelta(days=7)
        last = send_day - timedelta(days=1)
        return _make("week", first, last, tz, now, f"week {_range_label(first, last)}")
    day = send_day - timedelta(days=1)
    return _make("day", day, day, tz, now, _day_label(day))
