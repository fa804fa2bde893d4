"""Preferences people set in chat that the rest of the bot obeys, cached in memory.

- channel ``alerts``: ``{"critical_only": bool, "quiet_hours": ["22:00", "07:00"]}``
- site ``thresholds``: overrides of the site file's alert thresholds, e.g.
  ``{"soc_warning_pct": 45}``
- site ``battery``: ``{"min_soc_pct": 45}``, the floor people asked for ("keep the
  battery above 45 %"); it can only raise the site file's floor. Plans, forecasts,
  the action policy and the SOC warning all use it (through :class:`EffectiveSites`).
- person ``display``: ``{"power_unit": "kW" | "W", "temperature_unit": "C" | "F"}``
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import repositories as repo
from storage.models import PreferenceRow
from tools.errors import ToolsError
from tools.site import AlertThresholds, Site


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelPrefs:
    """What a channel wants to hear (stored as the channel's ``alerts`` preference)."""

    critical_only: bool = False
    quiet_hours: tuple[str, str] | None = None  # local "HH:MM" start and end

    def mutes(self, severity: str, local: datetime) -> str | None:
        """Why a notification of ``severity`` at local time ``local`` is held back, or None."""
        if severity == "critical":
            return None
        if self.critical_only:
            return "this channel asked for critical alerts only"
        if self.quiet_hours is not None:
            start, end = (_minutes(t) for t in self.quiet_hours)
            now = local.hour * 60 + local.minute
            inside = start <= now < end if start < end else (now >= start or now < end)
            if inside:
                return f"quiet hours {self.quiet_hours[0]}–{self.quiet_hours[1]}"
        return None


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


class PreferenceError(ToolsError):
    """A preference value that cannot be used."""


MAX_FLOOR_PCT = 90.0


class PreferenceStore:
    def __init__(
        self, *, sessionmaker: async_sessionmaker[AsyncSession], sites: Mapping[str, Site]
    ) -> None:
        self._sessionmaker = sessionmaker
        self._sites = sites
        self._values: dict[tuple[str, str, str], dict[str, Any]] = {}

    async def load(self) -> None:
        """(Re)read every preference: at start, and every 30 s as a job, so that what is
        set in chat through one process reaches the others."""
        from sqlalchemy import select

        async with self._sessionmaker() as session, session.begin():
            rows = (await session.scalars(select(PreferenceRow))).all()
        self._values = {(r.scope, r.scope_id, r.key): dict(r.value) for r in rows}

    async def set(
        self, *, scope: str, scope_id: str, key: str, value: dict[str, Any], now: datetime
    ) -> None:
        async with self._sessionmaker() as session, session.begin():
            await repo.set_preference(
                session, scope=scope, scope_id=scope_id, key=key, value=value, now=now
            )
        self._values[(scope, scope_id, key)] = dict(value)

    def get(self, scope: str, scope_id: str, key: str) -> dict[str, Any]:
        return dict(self._values.get((scope, scope_id, key), {}))

    async def channel_prefs(self, channel: str) -> ChannelPrefs:
        value = self.get("channel", channel, "alerts")
        quiet = value.get("quiet_hours")
        return ChannelPrefs(
            critical_only=bool(value.get("critical_only", False)),
            quiet_hours=(str(quiet[0]), str(quiet[1])) if quiet else None,
        )

    def thresholds(self, site: str) -> AlertThresholds:
        """The site file's thresholds with the site's overrides applied; a battery floor
        set in chat lifts the SOC warning to at least that floor."""
        base = self._sites[site].alerts
        overrides = self.get("site", site, "thresholds")
        floor = self.battery_floor(site)
        if floor is not None and floor > float(
            overrides.get("soc_warning_pct", base.soc_warning_pct)
        ):
            overrides = overrides | {"soc_warning_pct": floor}
        if not overrides:
            return base
        try:
            return AlertThresholds.model_validate(base.model_dump() | overrides)
        except ValidationError:
            return base

    def battery_floor(self, site: str) -> float | None:
        """The minimum SOC people set in chat for ``site`` (None: the site file's)."""
        value = self.get("site", site, "battery").get("min_soc_pct")
        return float(value) if value is not None else None

    def check_battery_floor(self, site: str, min_soc_pct: float) -> float:
        """Validate a requested floor; the error says why it is refused."""
        battery = self._sites[site].battery
        if battery is None:
            raise PreferenceError(f"the site {site!r} has no battery")
        if min_soc_pct < battery.min_soc_pct:
            raise PreferenceError(
                f"{min_soc_pct:g} % is below the site's hard floor of {battery.min_soc_pct:g} % "
                "(set in the site file for the battery's safety); a preference can only raise it"
            )
        if min_soc_pct > MAX_FLOOR_PCT:
            raise PreferenceError(
                f"{min_soc_pct:g} % would leave no room to use the battery "
                f"(the highest floor allowed is {MAX_FLOOR_PCT:g} %)"
            )
        return min_soc_pct

    def display(self, person: str) -> dict[str, str]:
        """A person's display units: ``power_unit`` (kW, W), ``temperature_unit`` (C, F)."""
        value = self.get("person", person, "display")
        return {
            "power_unit": str(value.get("power_unit", "kW")),
            "temperature_unit": str(value.get("temperature_unit", "C")),
        }

    def lines_for(self, person: str, site: str, channel: str) -> list[str]:
        """What the assistant should know of the preferences that apply to this turn."""
        lines: list[str] = []
        display = self.get("person", person, "display")
        if display:
            units = self.display(person)
            lines.append(
                f"show power in {units['power_unit']} and temperatures in "
                f"°{units['temperature_unit']}"
            )
        floor = self.battery_floor(site) if site in self._sites else None
        if floor is not None:
            lines.append(f"keep the battery of {site} above {floor:g} % (plans use this floor)")
        alerts = self.get("channel", channel, "alerts") if channel else {}
        if alerts.get("critical_only"):
            lines.append("this channel wants critical alerts only")
        if alerts.get("quiet_hours"):
            start, end = alerts["quiet_hours"]
            lines.append(f"this channel has quiet hours {start}–{end}")
        return lines

    def check_thresholds(self, site: str, overrides: dict[str, Any]) -> AlertThresholds:
        """Validate overrides before storing them; a clear error names what is wrong."""
        base = self._sites[site].alerts
        unknown = sorted(set(overrides) - set(AlertThresholds.model_fields))
        if unknown:
            raise PreferenceError(f"unknown threshold(s): {', '.join(unknown)}")
        try:
            return AlertThresholds.model_validate(
                base.model_dump() | self.get("site", site, "thresholds") | overrides
            )
        except ValidationError as err:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors()
            )
            raise PreferenceError(problems) from err


class EffectiveSites(Mapping[str, Site]):
    """The site file's sites with the preferences set in chat applied: today the
    battery floor, so that plans, forecasts, policy and rules all obey it."""

    def __init__(self, base: Mapping[str, Site], preferences: PreferenceStore) -> None:
        self._base = base
        self._preferences = preferences
        self._copies: dict[tuple[str, float], Site] = {}

    def __getitem__(self, name: str) -> Site:
        site = self._base[name]
        floor = self._preferences.battery_floor(name)
        if floor is None or site.battery is None or floor == site.battery.min_soc_pct:
            return site
        key = (name, floor)
        copy = self._copies.get(key)
        if copy is None:
            battery = site.battery.model_copy(update={"min_soc_pct": floor})
            copy = self._copies[key] = site.model_copy(update={"battery": battery})
        return copy

    def __iter__(self) -> Iterator[str]:
        return iter(self._base)

    def __len__(self) -> int:
        return len(self._base)
