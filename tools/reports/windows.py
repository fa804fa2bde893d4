"""Time windows people ask about ("overnight", "since 6am", "last 3 hours") in the site's
local time (pure).

Two steps, so the planner and a language model can both name a window:

- :func:`window_spec` reads a message and returns a short canonical spec
  ("overnight", "since 06:00", "since yesterday 18:00", "last 3 h", "today",
  "this morning", "since yesterday", "yesterday", "last 24 h"), or None when the
  message names no window;
- :func:`resolve_window` turns a spec (or the person's own words) into UTC bounds
  at a given time and zone, with a label that states the period in local time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from tools.errors import ToolsError

__all__ = [
    "DEFAULT_SPEC",
    "MAX_WINDOW",
    "NIGHT_END",
    "NIGHT_START",
    "Window",
    "WindowError",
    "resolve_window",
    "window_spec",
]

NIGHT_START = time(22, 0)
NIGHT_END = time(7, 0)
MORNING_END = time(12, 0)
MAX_WINDOW = timedelta(days=7)
DEFAULT_SPEC = "last 24 h"
"""What "what did I miss?" covers when the message names no window."""


class WindowError(ToolsError):
    """A window that cannot be read (a time that does not exist, a window in the future)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Window:
    """``[start, end)`` in UTC with how to say it ("Overnight (22:00–07:00 local)")."""

    spec: str
    start: datetime
    end: datetime
    label: str

    @property
    def duration(self) -> timedelta:
        return self.end - self.start


_CLOCK = (
    r"(?:(?P<h>\d{1,2})(?::(?P<m>\d{2}))?\s*(?P<ampm>a\.?m\.?|p\.?m\.?)?(?![\d:])"
    r"|(?P<word>noon|midday|midnight))"
)
_SINCE = re.compile(
    rf"\b(?:since|from|after)\s+(?P<yday>yesterday(?:\s+at)?\s+|last night(?:\s+at)?\s+)?"
    rf"(?:(?:at|around)\s+)?{_CLOCK}",
    re.IGNORECASE,
)
_LAST_N = re.compile(
    r"\b(?:last|past|previous|recent|the last|in the last|over the last)\s+"
    r"(?P<n>\d{1,3}|a|an|one|two|three|four|five|six|twelve|couple of|few)\s*"
    r"(?P<unit>h|hrs?|hours?|days?|d|min(?:ute)?s?)\b",
    re.IGNORECASE,
)
_LAST_UNIT = re.compile(r"\b(?:last|past|the last|in the last)\s+(?P<unit>hour|day)\b", re.I)
_WORD_N = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "twelve": 12,
    "couple of": 2,
    "few": 3,
}
_OVERNIGHT = re.compile(
    r"\b(over\s*night|overnite|last night|during the night|through the night|while i slept"
    r"|while i was (?:asleep|sleeping)|in the night|night shift|the night|tonight so far)\b",
    re.IGNORECASE,
)
_SINCE_YESTERDAY = re.compile(r"\bsince yesterday\b", re.IGNORECASE)
_YESTERDAY = re.compile(r"\byesterday\b", re.IGNORECASE)
_THIS_MORNING = re.compile(r"\b(this morning|since (?:i woke up|breakfast|dawn|sunrise))\b", re.I)
_TODAY = re.compile(r"\b(today|so far today|since midnight|2day)\b", re.IGNORECASE)
_AWAY = re.compile(
    r"\b(while (?:i|we) (?:was|were) (?:away|out|gone|off)|since (?:i|we) left"
    r"|since i was here|since my last|since last time|miss(?:ed)?|while away"
    r"|(?:this|the) weekend)\b",
    re.IGNORECASE,
)
_PARTS = {
    "morning": "06:00",
    "lunch": "12:00",
    "lunchtime": "12:00",
    "afternoon": "12:00",
    "evening": "18:00",
    "dinner": "18:00",
}
_SINCE_PART = re.compile(
    r"\b(?:since|from)\s+(?P<yday>yesterday\s+|last\s+)?(?:the\s+)?"
    r"(?P<part>morning|lunchtime|lunch|afternoon|evening|dinner)\b",
    re.IGNORECASE,
)
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_SINCE_DAY = re.compile(
    r"\bsince (?:last )?(?P<day>mon|tues?|wed(?:nes)?|thu(?:rs?)?|fri|sat(?:ur)?|sun)(?:day)?\b",
    re.IGNORECASE,
)
_WEEK = re.compile(r"\b(this week|past week|last 7 days|since monday)\b", re.IGNORECASE)


def _clock(match: re.Match[str]) -> time | None:
    word = (match["word"] or "").lower()
    if word in ("noon", "midday"):
        return time(12, 0)
    if word == "midnight":
        return time(0, 0)
    hour = int(match["h"])
    minute = int(match["m"] or 0)
    ampm = (match["ampm"] or "").replace(".", "").lower()
    if ampm == "pm" and hour < 12:
        hour += 12
    elif ampm == "am" and hour == 12:
        hour = 0
    if not match["m"] and not ampm and hour > 24:
        return None
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def window_spec(text: str) -> str | None:
    """The window ``text`` names, as a canonical spec; None when it names none."""
    since = _SINCE.search(text)
    if since is not None:
        at = _clock(since)
        if at is not None:
            day = "yesterday " if since["yday"] else ""
            return f"since {day}{at:%H:%M}"
    last = _LAST_N.search(text)
    if last is not None:
        raw = last["n"].lower()
        n = int(raw) if raw.isdigit() else _WORD_N[raw]
        unit = last["unit"].lower()
        if unit.startswith("d"):
            return f"last {n * 24} h"
        if unit.startswith("m"):
            return f"last {max(1, round(n / 60))} h"
        return f"last {n} h"
    unit_only = _LAST_UNIT.search(text)
    if unit_only is not None:
        return "last 1 h" if unit_only["unit"].lower() == "hour" else "last 24 h"
    part = _SINCE_PART.search(text)
    if part is not None:
        when = "yesterday " if part["yday"] else ""
        return f"since {when}{_PARTS[part['part'].lower()]}"
    weekday = _SINCE_DAY.search(text)
    if weekday is not None:
        prefix = weekday["day"].lower()[:3]
        return "since " + next(d for d in _WEEKDAYS if d.startswith(prefix))
    if _SINCE_YESTERDAY.search(text):
        return "since yesterday"
    if _OVERNIGHT.search(text):
        return "overnight"
    if _THIS_MORNING.search(text):
        return "this morning"
    if _TODAY.search(text):
        return "today"
    if _YESTERDAY.search(text):
        return "yesterday"
    if _WEEK.search(text):
        return "last 168 h"
    if _AWAY.search(text):
        return DEFAULT_SPEC
    return None


def _at(day: datetime, at: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day.date(), at, tzinfo=tz)


def _hm(when: datetime) -> str:
    return f"{when:%H:%M}"


def resolve_window(spec: str | None, *, now: datetime, tz: ZoneInfo) -> Window:
    """``spec`` (canonical or the person's words; None: the last 24 h) at ``now``."""
    canonical = window_spec(spec or "") or (spec or DEFAULT_SPEC).strip().lower()
    if canonical not in _FIXED and not canonical.startswith(("since ", "last ")):
        canonical = DEFAULT_SPEC
    local = now.astimezone(tz)
    zone = local.tzname() or str(tz)
    end = local
    if canonical == "overnight":
        # the last night that has begun: 22:00 the evening before this morning's 07:00
        night_day = local if local.time() >= NIGHT_START else local - timedelta(days=1)
        start = _at(night_day, NIGHT_START, tz)
        end = min(local, _at(night_day + timedelta(days=1), NIGHT_END, tz))
        label = f"Overnight ({_hm(start)}–{_hm(end)} local, {zone})"
    elif canonical == "today":
        start = _at(local, time(0, 0), tz)
        label = f"Today (since 00:00 local, {zone})"
    elif canonical == "this morning":
        start = _at(local, time(0, 0), tz)
        end = min(local, _at(local, MORNING_END, tz))
        label = f"This morning (00:00–{_hm(end)} local, {zone})"
    elif canonical == "yesterday":
        start = _at(local - timedelta(days=1), time(0, 0), tz)
        end = _at(local, time(0, 0), tz)
        label = f"Yesterday ({start:%a %d %b}, local {zone})"
    elif canonical == "since yesterday":
        start = _at(local - timedelta(days=1), time(0, 0), tz)
        label = f"Since yesterday 00:00 (local, {zone})"
    elif canonical.removeprefix("since ") in _WEEKDAYS:
        wanted = _WEEKDAYS.index(canonical.removeprefix("since "))
        back = (local.weekday() - wanted) % 7 or 7  # "since friday" on a friday: last week's
        start = _at(local - timedelta(days=back), time(0, 0), tz)
        label = f"Since {start:%A %d %b} 00:00 (local, {zone})"
    elif canonical.startswith("last "):
        match = re.fullmatch(r"last (\d{1,4}) h", canonical)
        if match is None:
            raise WindowError(f"I could not read the window {spec!r}.")
        hours = int(match[1])
        start = local - min(timedelta(hours=max(hours, 1)), MAX_WINDOW)
        span = f"{hours // 24} days" if hours >= 48 and hours % 24 == 0 else f"{hours} h"
        label = f"Last {span} (since {start:%a %H:%M} local, {zone})"
    else:
        match = re.fullmatch(r"since (yesterday )?(\d{2}):(\d{2})", canonical)
        if match is None:
            raise WindowError(f"I could not read the window {spec!r}.")
        at = time(int(match[2]), int(match[3]))
        day = local - timedelta(days=1) if match[1] else local
        start = _at(day, at, tz)
        if start > local:  # "since 18:00" asked at 09:00: yesterday's 18:00
            start -= timedelta(days=1)
        when = "yesterday " if start.date() < local.date() else ""
        label = f"Since {when}{_hm(start)} (local, {zone})"
    if start >= end:
        raise WindowError(f"That window ({label}) has not started yet.")
    return Window(spec=canonical, start=start.astimezone(UTC), end=end.astimezone(UTC), label=label)


_FIXED = frozenset({"overnight", "today", "this morning", "yesterday", "since yesterday"})
