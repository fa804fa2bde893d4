"""What happened at a site in a window: alerts, action requests and notable readings, in
the site's local time, oldest first (pure; the database reads live in the report service).

Entries come from three sources:

- alerts: opened, acknowledged (by whom) and resolved inside the window;
- action requests: requested (by whom), approved or rejected (by whom), executed
  (succeeded or failed, with the outcome), expired;
- readings: generator starts and stops, grid lost and back, and a closing summary of
  the battery's lowest and highest SOC and the PV peak.

:func:`render` answers first ("Overnight (22:00–07:00 local, MST): 2 alerts, 1 action,
generator ran 1 h 10 min."), then at most ``limit`` lines, newest last.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd

from tools.reports.windows import Window

__all__ = [
    "ActionFact",
    "AlertFact",
    "Entry",
    "ReadingSummary",
    "Timeline",
    "action_entries",
    "alert_entries",
    "build",
    "reading_entries",
    "render",
    "summarise_readings",
]

LIMIT = 15
PV_PEAK_MIN_W = 50.0  # a "peak" below this is night-time noise, not worth a line


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertFact:
    id: int
    title: str
    severity: str
    started_at: datetime
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    resolved_at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionFact:
    id: str
    kind: str
    status: str
    requested_by: str
    created_at: datetime
    decided_by: str | None = None
    decided_at: datetime | None = None
    finished_at: datetime | None = None
    outcome: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Entry:
    time: datetime
    kind: str  # alert | action | generator | grid
    text: str
    event: str = ""  # opened | acknowledged | resolved | requested | decided | finished


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadingSummary:
    soc_min_pct: float | None = None
    soc_min_at: datetime | None = None
    soc_max_pct: float | None = None
    soc_max_at: datetime | None = None
    pv_peak_w: float | None = None
    pv_peak_at: datetime | None = None
    generator_run: timedelta = timedelta(0)
    grid_down: timedelta = timedelta(0)
    has_readings: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Timeline:
    window: Window
    entries: list[Entry]
    readings: ReadingSummary
    readings_from: str = "raw readings"
    """Where the SOC range and PV peak came from: raw readings, or the hourly rollups'
    minima and maxima where raw readings are no longer kept."""

    def count(self, kind: str) -> int:
        return sum(1 for e in self.entries if e.kind == kind)


def _aware(when: datetime) -> datetime:
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when


def _inside(when: datetime | None, window: Window) -> bool:
    return when is not None and window.start <= _aware(when) < window.end


def _who(person: str | None) -> str:
    if not person:
        return "someone"
    return person.split(":", 1)[1] if ":" in person else person


def alert_entries(alerts: Sequence[AlertFact], window: Window) -> list[Entry]:
    """Each alert's opening, acknowledgement and resolution that fall inside the window."""
    out: list[Entry] = []
    for a in alerts:
        name = f"#{a.id} {a.title}"
        if _inside(a.started_at, window):
            out.append(
                Entry(
                    time=_aware(a.started_at),
                    kind="alert",
                    text=f"alert {name} ({a.severity})",
                    event="opened",
                )
            )
        if _inside(a.acknowledged_at, window) and a.acknowledged_at is not None:
            out.append(
                Entry(
                    time=_aware(a.acknowledged_at),
                    kind="alert",
                    text=f"alert #{a.id} acknowledged by {_who(a.acknowledged_by)}",
                    event="acknowledged",
                )
            )
        if _inside(a.resolved_at, window) and a.resolved_at is not None:
            out.append(
                Entry(
                    time=_aware(a.resolved_at),
                    kind="alert",
                    text=f"resolved: {name}",
                    event="resolved",
                )
            )
    return out


_DECIDED = {"rejected": "rejected", "expired": "expired"}


def action_entries(actions: Sequence[ActionFact], window: Window) -> list[Entry]:
    """Each request's asking, decision and result that fall inside the window."""
    out: list[Entry] = []
    for a in actions:
        what = a.kind.replace("_", " ")
        short = a.id[:8]
        if _inside(a.created_at, window):
            out.append(
                Entry(
                    time=_aware(a.created_at),
                    kind="action",
                    text=f"{what} requested by {_who(a.requested_by)} ({short})",
                    event="requested",
                )
            )
        if _inside(a.decided_at, window) and a.decided_at is not None:
            verb = _DECIDED.get(a.status, "approved")
            by = f" by {_who(a.decided_by)}" if a.decided_by else ""
            out.append(
                Entry(
                    time=_aware(a.decided_at),
                    kind="action",
                    text=f"{what} {verb}{by}",
                    event="decided",
                )
            )
        if _inside(a.finished_at, window) and a.finished_at is not None:
            if a.status == "succeeded":
                result = "executed"
            elif a.status == "expired":
                result = "expired"
            else:
                result = a.status
            detail = f": {a.outcome.strip()[:80]}" if a.status == "failed" and a.outcome else ""
            out.append(
                Entry(
                    time=_aware(a.finished_at),
                    kind="action",
                    text=f"{what} {result}{detail}",
                    event="finished",
                )
            )
    return out


def _duration(delta: timedelta) -> str:
    minutes = round(delta.total_seconds() / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def _switches(
    series: pd.Series, window: Window, on_text: str, off_text: str, kind: str
) -> tuple[list[Entry], timedelta]:
    """Entries where a 0/1 series changes inside the window, and the time spent at 1."""
    s = series.dropna().sort_index()
    if s.empty:
        return [], timedelta(0)
    state = s > 0.5
    out: list[Entry] = []
    on_total = timedelta(0)
    since: datetime | None = None
    before = state[state.index < window.start]
    prev = bool(before.iloc[-1]) if not before.empty else None
    if prev:
        since = window.start
    for when, on in state[(state.index >= window.start) & (state.index < window.end)].items():
        t = when.to_pydatetime()
        if prev is None:
            prev = bool(on)
            since = t if on else None
            continue
        if on and not prev:
            out.append(Entry(time=t, kind=kind, text=on_text))
            since = t
        elif prev and not on:
            ran = t - since if since is not None else None
            tail = f" (after {_duration(ran)})" if ran is not None else ""
            out.append(Entry(time=t, kind=kind, text=off_text + tail))
            if ran is not None:
                on_total += ran
            since = None
        prev = bool(on)
    if prev and since is not None:
        last = min(window.end, state.index[-1].to_pydatetime() + timedelta(minutes=1))
        on_total += max(timedelta(0), last - since)
    return out, on_total


def reading_entries(
    series: dict[str, pd.Series], window: Window
) -> tuple[list[Entry], ReadingSummary]:
    """Generator starts/stops, grid outages and the SOC and PV extremes in the window.

    ``series`` maps metric -> values indexed by UTC time (raw readings, or hourly
    minima/maxima when raw ones are gone: ``battery_soc_pct_min``/``_max`` keys).
    """
    entries: list[Entry] = []
    gen_entries, gen_run = _switches(
        series.get("generator_running", pd.Series(dtype="float64")),
        window,
        "generator started",
        "generator stopped",
        "generator",
    )
    entries += gen_entries
    down = series.get("grid_connected", pd.Series(dtype="float64"))
    grid_entries, down_total = _switches(
        1.0 - down if not down.empty else down, window, "grid lost", "grid back", "grid"
    )
    entries += grid_entries
    summary = summarise_readings(series, window, generator_run=gen_run, grid_down=down_total)
    return entries, summary


def _within(series: pd.Series | None, window: Window) -> pd.Series:
    if series is None or series.empty:
        return pd.Series(dtype="float64")
    s = series.dropna()
    return s[(s.index >= window.start) & (s.index < window.end)]


def summarise_readings(
    series: dict[str, pd.Series],
    window: Window,
    *,
    generator_run: timedelta = timedelta(0),
    grid_down: timedelta = timedelta(0),
) -> ReadingSummary:
    soc_lo = _within(series.get("battery_soc_pct_min", series.get("battery_soc_pct")), window)
    soc_hi = _within(series.get("battery_soc_pct_max", series.get("battery_soc_pct")), window)
    pv = _within(series.get("pv_power_w_max", series.get("pv_power_w")), window)
    has = any(not _within(s, window).empty for s in series.values())
    out: dict[str, object] = {}
    if not soc_lo.empty and not soc_hi.empty:
        out.update(
            soc_min_pct=float(soc_lo.min()),
            soc_min_at=soc_lo.idxmin().to_pydatetime(),
            soc_max_pct=float(soc_hi.max()),
            soc_max_at=soc_hi.idxmax().to_pydatetime(),
        )
    if not pv.empty and float(pv.max()) >= PV_PEAK_MIN_W:
        out.update(pv_peak_w=float(pv.max()), pv_peak_at=pv.idxmax().to_pydatetime())
    return ReadingSummary(
        generator_run=generator_run,
        grid_down=grid_down,
        has_readings=has,
        **out,  # type: ignore[arg-type]
    )


def build(
    window: Window,
    *,
    alerts: Sequence[AlertFact],
    actions: Sequence[ActionFact],
    series: dict[str, pd.Series],
    readings_from: str = "raw readings",
) -> Timeline:
    entries, summary = reading_entries(series, window)
    entries += alert_entries(alerts, window) + action_entries(actions, window)
    entries.sort(key=lambda e: e.time)
    return Timeline(window=window, entries=entries, readings=summary, readings_from=readings_from)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _clock(when: datetime, tz: ZoneInfo, window: Window) -> str:
    local = when.astimezone(tz)
    if window.duration > timedelta(hours=12):
        return f"{local:%a %H:%M}"
    return f"{local:%H:%M}"


def render(timeline: Timeline, tz: ZoneInfo, *, site: str, limit: int | None = LIMIT) -> str:
    """The answer: the period and what happened in one line, then the events, newest last."""
    w = timeline.window
    r = timeline.readings
    alerts_opened = sum(1 for e in timeline.entries if e.event == "opened")
    actions_asked = sum(1 for e in timeline.entries if e.event == "requested")
    facts: list[str] = []
    if alerts_opened:
        facts.append(f"{_plural(alerts_opened, 'alert')} opened")
    if actions_asked:
        facts.append(f"{_plural(actions_asked, 'action request')}")
    if r.generator_run > timedelta(0):
        facts.append(f"generator ran {_duration(r.generator_run)}")
    if r.grid_down > timedelta(0):
        facts.append(f"grid down {_duration(r.grid_down)}")
    if timeline.entries and not facts:
        facts.append(_plural(len(timeline.entries), "event"))
    head = f"{w.label} at {site}: " + (", ".join(facts) if facts else "quiet, no alerts or actions")
    lines = [head + "."]
    shown = timeline.entries
    hidden = 0
    if limit is not None and len(shown) > limit:
        hidden = len(shown) - limit
        shown = shown[-limit:]
    if hidden:
        lines.append(f"({hidden} earlier not shown; say 'more' for all)")
    lines += [f"- {_clock(e.time, tz, w)} {e.text}" for e in shown]
    notes: list[str] = []
    if (
        r.soc_min_pct is not None
        and r.soc_max_pct is not None
        and round(r.soc_min_pct) == round(r.soc_max_pct)
    ):
        notes.append(f"battery at {r.soc_min_pct:.0f} % throughout")
    elif r.soc_min_pct is not None and r.soc_max_pct is not None and r.soc_min_at and r.soc_max_at:
        notes.append(
            f"battery {r.soc_min_pct:.0f}–{r.soc_max_pct:.0f} % (lowest at "
            f"{_clock(r.soc_min_at, tz, w)}, highest at {_clock(r.soc_max_at, tz, w)})"
        )
    if r.pv_peak_w is not None and r.pv_peak_at is not None:
        notes.append(f"PV peak {r.pv_peak_w / 1000:.1f} kW at {_clock(r.pv_peak_at, tz, w)}")
    if notes:
        lines.append("Readings: " + "; ".join(notes) + ".")
    elif not r.has_readings:
        lines.append("No readings were stored in this window.")
    return "\n".join(lines)


def why_text(timeline: Timeline, tz: ZoneInfo, *, limit: int | None = LIMIT) -> str:
    """The reasons behind the timeline answer (pure): the window as resolved, where each
    kind of event came from, and what was left out."""
    w = timeline.window
    counts = {kind: timeline.count(kind) for kind in ("alert", "action", "generator", "grid")}
    lines = [
        f"Window: '{w.spec}' read as {w.start.astimezone(tz):%a %d %b %H:%M} to "
        f"{w.end.astimezone(tz):%a %d %b %H:%M} ({tz.key})"
        + (" (no time was named: the last 24 h)" if w.spec == "last 24 h" else "")
        + ".",
        f"Events: {counts['alert']} from the alerts table (opened, acknowledged, resolved), "
        f"{counts['action']} from the action requests (asked, decided, run), "
        f"{counts['generator']} generator starts/stops (generator_running) and "
        f"{counts['grid']} grid changes (grid_connected).",
    ]
    r = timeline.readings
    if r.has_readings:
        lines.append(f"Readings: the battery range and PV peak from {timeline.readings_from}.")
    else:
        lines.append("Readings: none stored in the window.")
    if limit is not None and len(timeline.entries) > limit:
        lines.append(
            f"Shown: the newest {limit} of {len(timeline.entries)} events ('more' gives all)."
        )
    return "Why: " + "\n".join(lines)
