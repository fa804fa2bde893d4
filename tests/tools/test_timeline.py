"""Time windows and the timeline of alerts, actions and readings (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from tools.reports.timeline import ActionFact, AlertFact, build, render
from tools.reports.windows import WindowError, resolve_window, window_spec

DENVER = ZoneInfo("America/Denver")
# 08:30 on Friday 20 November 2026 in Golden, Colorado (UTC-7)
MORNING = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)


def _local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=DENVER).astimezone(UTC)


@pytest.mark.parametrize(
    ("text", "spec", "start", "end", "label"),
    [
        (
            "what happened overnight?",
            "overnight",
            _local(19, 22),
            _local(20, 7),
            "Overnight (22:00–07:00 local, MST)",
        ),
        ("anything since 6am?", "since 06:00", _local(20, 6), MORNING, "Since 06:00"),
        (
            "events since yesterday 18:00",
            "since yesterday 18:00",
            _local(19, 18),
            MORNING,
            "Since yesterday 18:00",
        ),
        (
            "what happened in the last 3 hours",
            "last 3 h",
            MORNING - timedelta(hours=3),
            MORNING,
            "Last 3 h",
        ),
        ("anything today", "today", _local(20, 0), MORNING, "Today"),
        ("what went on this morning", "this morning", _local(20, 0), MORNING, "This morning"),
        (
            "since yesterday evening",
            "since yesterday 18:00",
            _local(19, 18),
            MORNING,
            "Since yesterday 18:00",
        ),
        ("since 9 pm", "since 21:00", _local(19, 21), MORNING, "Since yesterday 21:00"),
        (
            "what did I miss while I was away",
            "last 24 h",
            MORNING - timedelta(days=1),
            MORNING,
            "Last 24 h",
        ),
        ("away since friday", "since friday", _local(13, 0), MORNING, "Since Friday 13 Nov"),
        ("past 2 days", "last 48 h", MORNING - timedelta(days=2), MORNING, "Last 2 days"),
    ],
)
def test_windows_people_name_in_local_time(
    text: str, spec: str, start: datetime, end: datetime, label: str
) -> None:
    assert window_spec(text) == spec
    window = resolve_window(spec, now=MORNING, tz=DENVER)
    assert (window.start, window.end) == (start, end)
    assert window.label.startswith(label), window.label
    # the person's own words give the same window as the canonical spec
    assert resolve_window(text, now=MORNING, tz=DENVER) == window


def test_overnight_asked_during_the_night_ends_now() -> None:
    three_am = _local(20, 3)
    window = resolve_window("overnight", now=three_am, tz=DENVER)
    assert (window.start, window.end) == (_local(19, 22), three_am)
    assert window.label.startswith("Overnight (22:00–03:00 local")


def test_a_window_that_has_not_started_is_refused() -> None:
    with pytest.raises(WindowError):
        resolve_window("overnight", now=_local(20, 22), tz=DENVER)  # the night starts now


def test_long_windows_are_capped_at_a_week() -> None:
    window = resolve_window("last 2000 h", now=MORNING, tz=DENVER)
    assert window.duration == timedelta(days=7)


def _alerts() -> list[AlertFact]:
    return [
        AlertFact(
            id=7,
            title="Battery low",
            severity="warning",
            started_at=_local(19, 23, 10),
            acknowledged_at=_local(19, 23, 30),
            acknowledged_by="console:olga",
            resolved_at=_local(20, 6, 5),
        ),
        # opened before the window, resolved in it
        AlertFact(
            id=3,
            title="Grid lost",
            severity="critical",
            started_at=_local(19, 12),
            resolved_at=_local(19, 22, 40),
        ),
    ]


def _actions() -> list[ActionFact]:
    return [
        ActionFact(
            id="8c41fea3aa",
            kind="stop_miners",
            status="succeeded",
            requested_by="console:olga",
            created_at=_local(19, 23, 12),
            decided_by="console:ada",
            decided_at=_local(19, 23, 20),
            finished_at=_local(19, 23, 21),
        ),
        ActionFact(
            id="77aa00bb11",
            kind="generator_start",
            status="failed",
            requested_by="console:olga",
            created_at=_local(20, 4),
            decided_by="console:ada",
            decided_at=_local(20, 4, 5),
            finished_at=_local(20, 4, 6),
            outcome="the genset did not answer",
        ),
    ]


def _readings() -> dict[str, pd.Series]:
    times = pd.date_range(_local(19, 21), _local(20, 8), freq="10min")
    soc = pd.Series(60.0 - 0.4 * pd.RangeIndex(len(times)), index=times)  # a steady drain
    running = pd.Series(0.0, index=times)
    running[(times >= _local(20, 2)) & (times < _local(20, 3, 30))] = 1.0
    grid = pd.Series(1.0, index=times)
    grid[(times >= _local(20, 1)) & (times < _local(20, 1, 40))] = 0.0
    return {"battery_soc_pct": soc, "generator_running": running, "grid_connected": grid}


def test_the_timeline_lists_what_happened_in_order_with_who() -> None:
    window = resolve_window("overnight", now=MORNING, tz=DENVER)
    timeline = build(window, alerts=_alerts(), actions=_actions(), series=_readings())
    lines = render(timeline, DENVER, site="Demo").splitlines()
    assert lines[0] == (
        "Overnight (22:00–07:00 local, MST) at Demo: 1 alert opened, 2 action requests, "
        "generator ran 1 h 30 min, grid down 40 min."
    )
    assert lines[1:] == [
        "- 22:40 resolved: #3 Grid lost",
        "- 23:10 alert #7 Battery low (warning)",
        "- 23:12 stop miners requested by olga (8c41fea3)",
        "- 23:20 stop miners approved by ada",
        "- 23:21 stop miners executed",
        "- 23:30 alert #7 acknowledged by olga",
        "- 01:00 grid lost",
        "- 01:40 grid back (after 40 min)",
        "- 02:00 generator started",
        "- 03:30 generator stopped (after 1 h 30 min)",
        "- 04:00 generator start requested by olga (77aa00bb)",
        "- 04:05 generator start approved by ada",
        "- 04:06 generator start failed: the genset did not answer",
        "- 06:05 resolved: #7 Battery low",
        # 22:00 is 6 steps of 10 min after 21:00 (57.6 %); 06:50 is 59 steps (36.4 %)
        "Readings: battery 36–58 % (lowest at 06:50, highest at 22:00).",
    ]


def test_a_long_timeline_shows_the_newest_and_says_how_to_see_all() -> None:
    window = resolve_window("last 24 h", now=MORNING, tz=DENVER)
    alerts = [
        AlertFact(
            id=i, title=f"Alert {i}", severity="info", started_at=MORNING - timedelta(hours=i)
        )
        for i in range(1, 21)
    ]
    timeline = build(window, alerts=alerts, actions=[], series={})
    lines = render(timeline, DENVER, site="Demo").splitlines()
    assert lines[0].endswith("20 alerts opened.")
    assert lines[1] == "(5 earlier not shown; say 'more' for all)"
    shown = [line for line in lines if line.startswith("- ")]
    assert len(shown) == 15 and "#15 Alert 15" in shown[0] and "#1 Alert 1" in shown[-1]
    assert lines[-1] == "No readings were stored in this window."
    full = render(timeline, DENVER, site="Demo", limit=None)
    assert sum(line.startswith("- ") for line in full.splitlines()) == 20


def test_a_quiet_window_says_so() -> None:
    window = resolve_window("since 06:00", now=MORNING, tz=DENVER)
    soc = pd.Series([80.0, 81.0], index=[_local(20, 6, 30), _local(20, 7, 30)])
    text = render(
        build(window, alerts=_alerts(), actions=[], series={"battery_soc_pct": soc}),
        DENVER,
        site="Demo",
    )
    first, *rest = text.splitlines()
    # alert 7 resolved at 06:05: an event, but nothing opened or asked
    assert first == "Since 06:00 (local, MST) at Demo: 1 event."
    assert rest[-1] == "Readings: battery 80–81 % (lowest at 06:30, highest at 07:30)."
