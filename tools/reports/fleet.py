"""Several sites side by side (pure): one row per site from its latest state, open alerts
and today's solar, and the answer's first line for what was asked ("status of all
sites", "which site has the most solar today")."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal, get_args

from tools.cards import Card, age_text

__all__ = ["RANKINGS", "Ranking", "SiteRow", "fleet_card", "fleet_text"]

Ranking = Literal["status", "solar_today", "solar_now", "battery", "load", "alerts"]
RANKINGS: tuple[str, ...] = get_args(Ranking)
STALE_AFTER = timedelta(minutes=15)


@dataclass(frozen=True, slots=True, kw_only=True)
class SiteRow:
    name: str
    title: str
    soc_pct: float | None
    pv_w: float | None
    load_w: float | None
    generator: str | None  # "running" / "stopped"; None without a generator
    open_alerts: int
    critical_alerts: int
    data_age: timedelta | None  # None: no reading yet
    solar_today_kwh: float | None

    @property
    def stale(self) -> bool:
        return self.data_age is None or self.data_age > STALE_AFTER

    def cells(self) -> str:
        parts = [
            f"battery {self.soc_pct:.0f} %" if self.soc_pct is not None else "no battery reading",
            f"PV {self.pv_w / 1000:.2f} kW" if self.pv_w is not None else "PV n/a",
            f"load {self.load_w / 1000:.2f} kW" if self.load_w is not None else "load n/a",
        ]
        if self.solar_today_kwh is not None:
            parts.append(f"solar today {round(self.solar_today_kwh, 1) + 0.0:.1f} kWh")
        if self.generator is not None:
            parts.append(f"generator {self.generator}")
        parts.append(
            f"{self.open_alerts} open alert{'s' * (self.open_alerts != 1)}"
            if self.open_alerts
            else "no alerts"
        )
        parts.append(
            "no data yet" if self.data_age is None else f"data {age_text(self.data_age)} old"
        )
        return ", ".join(parts)


_KEYS = {
    "solar_today": ("Most solar today", lambda r: r.solar_today_kwh, "kWh"),
    "solar_now": ("Most solar now", lambda r: r.pv_w, "kW"),
    "battery": ("Fullest battery", lambda r: r.soc_pct, "%"),
    "load": ("Highest load now", lambda r: r.load_w, "kW"),
    "alerts": ("Most open alerts", lambda r: r.open_alerts, ""),
}


def _shown(value: float, unit: str) -> str:
    if unit == "kW":
        return f"{value / 1000:.2f} kW"
    if unit == "kWh":
        return f"{round(value, 1) + 0.0:.1f} kWh"
    if unit == "%":
        return f"{value:.0f} %"
    return f"{value:g}"


def _headline(rows: list[SiteRow], ranking: str) -> str:
    if ranking in _KEYS:
        title, key, unit = _KEYS[ranking]
        known = [(key(r), r) for r in rows if key(r) is not None]
        if not known:
            return f"{title}: no site has a reading for that yet."
        known.sort(key=lambda kv: -kv[0])
        best_value, best = known[0]
        others = ", ".join(f"{r.title} {_shown(v, unit)}" for v, r in known[1:])
        tie = len(known) > 1 and known[1][0] == best_value
        lead = f"{title}: {best.title}, {_shown(best_value, unit)}" + (" (a tie)" if tie else "")
        return lead + (f" (then {others})." if others else ".")
    attention = [r for r in rows if r.open_alerts or r.stale]
    n = len(rows)
    if not attention:
        return f"{n} site{'s' * (n != 1)}: all reporting, no open alerts."
    why = []
    for r in attention:
        bits = []
        if r.open_alerts:
            bits.append(f"{r.open_alerts} open alert{'s' * (r.open_alerts != 1)}")
        if r.stale:
            bits.append("no data yet" if r.data_age is None else "stale data")
        why.append(f"{r.title} ({', '.join(bits)})")
    return (
        f"{n} site{'s' * (n != 1)}, {len(attention)} need{'s' * (len(attention) == 1)} a look: "
        + "; ".join(why)
        + "."
    )


def fleet_text(rows: list[SiteRow], ranking: str = "status", refused: Sequence[str] = ()) -> str:
    """The first line answers ``ranking``; then one line per site; then any refusals."""
    lines = [_headline(rows, ranking)] if rows else []
    lines += [f"{r.title}: {r.cells()}." for r in rows]
    lines += list(refused)
    return "\n".join(lines)


def fleet_why(rows: list[SiteRow], ranking: str = "status") -> str:
    """The reasons behind a sites-side-by-side answer (pure): the ranking and each site's
    data age."""
    if ranking in _KEYS:
        title, _key, _unit = _KEYS[ranking]
        how = f"ranked by {title.lower()}, highest first"
    else:
        how = (
            "a site needs a look when it has open alerts or its newest reading is older "
            f"than {age_text(STALE_AFTER)}"
        )
    lines = [f"Ranking: {how}."]
    for r in rows:
        age = (
            "no reading yet" if r.data_age is None else f"newest reading {age_text(r.data_age)} old"
        )
        solar = (
            "; solar today from the hourly rollups since local midnight"
            if r.solar_today_kwh is not None
            else ""
        )
        lines.append(
            f"{r.title}: live readings ({age}), {r.open_alerts} open alert(s)"
            + (f", {r.critical_alerts} critical" if r.critical_alerts else "")
            + solar
            + "."
        )
    return "Why: " + "\n".join(lines)


def fleet_card(rows: list[SiteRow]) -> Card:
    tone = (
        "critical"
        if any(r.critical_alerts for r in rows)
        else "warning"
        if any(r.open_alerts or r.stale for r in rows)
        else "good"
    )
    return Card(
        kind="status",
        title="Sites side by side",
        fields=[(r.title, r.cells()) for r in rows],
        tone=tone,  # type: ignore[arg-type]
    )
