"""Is this worker keeping up with its telemetry? Overload made visible, on the worker itself.

The MQTT hub (:mod:`tools.devices.mqtt`) and the pipeline (:mod:`tools.telemetry`)
count what they shed, drop and delay; :class:`IngestGuard` turns those counters
into rates over a sliding window and into an alert about the worker (not about
a site): it fires when any reading was dropped or delayed past the hub's delay
limit within the window ("ingest overloaded: N readings/s dropped or delayed")
and resolves once a whole window passed clean (and nothing waits longer than
the delay limit). Pure logic: the caller passes snapshots and the time, and
posts what :meth:`IngestGuard.observe` returns.

Messages and readings are counted alike (a Victron notification carries one value).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

DEFAULT_WINDOW_S = 30.0


@dataclass(frozen=True, slots=True)
class IngestSnapshot:
    """Cumulative counters of one worker at one moment (from its hubs and pipeline)."""

    arrived: int = 0  # messages received from brokers
    delayed: int = 0  # handed on after waiting longer than the delay limit
    shed: int = 0  # dropped by the hubs (superseded values, then the oldest)
    dropped: int = 0  # dropped by the pipeline (database down past its buffer)
    backlog: int = 0  # messages waiting now
    backlog_age_s: float = 0.0  # how long the oldest of them has waited


@dataclass(frozen=True, slots=True)
class IngestAlert:
    """A change of the worker's overload alert."""

    firing: bool
    lost_per_s: float  # readings dropped per second over the window
    delayed_per_s: float
    backlog: int
    backlog_age_s: float

    @property
    def text(self) -> str:
        if not self.firing:
            return "ingest recovered: no reading dropped or delayed in the last window"
        bad = self.lost_per_s + self.delayed_per_s
        return (
            f"ingest overloaded: {bad:,.0f} readings/s dropped or delayed "
            f"({self.lost_per_s:,.0f}/s dropped, {self.delayed_per_s:,.0f}/s delayed; "
            f"backlog {self.backlog:,} messages, oldest {self.backlog_age_s:.1f} s)"
        )


class IngestGuard:
    """Rates over the last ``window_s`` seconds and the overload alert's state."""

    def __init__(self, *, window_s: float = DEFAULT_WINDOW_S, delay_limit_s: float = 1.0) -> None:
        self._window_s = window_s
        self._delay_limit_s = delay_limit_s
        self._history: deque[tuple[float, IngestSnapshot]] = deque()
        self.firing = False
        self.last: IngestAlert | None = None  # the latest evaluation (for /metrics)

    def rates(self) -> tuple[float, float, float]:
        """(arrived, dropped, delayed) per second over the window."""
        if len(self._history) < 2:
            return 0.0, 0.0, 0.0
        (t_a, a), (t_b, b) = self._history[0], self._history[-1]
        span = max(t_b - t_a, 1e-9)
        lost = (b.shed - a.shed) + (b.dropped - a.dropped)
        return (b.arrived - a.arrived) / span, lost / span, (b.delayed - a.delayed) / span

    def observe(self, snapshot: IngestSnapshot, now_s: float) -> IngestAlert | None:
        """Take a snapshot; return the alert when it fires or resolves, else None."""
        self._history.append((now_s, snapshot))
        while len(self._history) > 2 and now_s - self._history[1][0] >= self._window_s:
            self._history.popleft()
        _arrived, lost, delayed = self.rates()
        covered = now_s - self._history[0][0] >= self._window_s
        # A backlog older than the delay limit counts even before it is handed on.
        bad = lost > 0 or delayed > 0 or snapshot.backlog_age_s > self._delay_limit_s
        alert = IngestAlert(
            firing=bad or (self.firing and not covered),
            lost_per_s=lost,
            delayed_per_s=delayed,
            backlog=snapshot.backlog,
            backlog_age_s=snapshot.backlog_age_s,
        )
        self.last = alert
        if alert.firing == self.firing:
            return None
        self.firing = alert.firing
        return alert
