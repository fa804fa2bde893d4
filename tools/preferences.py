"""Preferences people set in chat that the rest of the bot obeys, cached in memory.

- channel ``alerts``: ``{"critical_only": bool, "quiet_hours": ["22:00", "07:00"]}``
- site ``thresholds``: overrides of the site file's alert thresholds, e.g.
  ``{"soc_warning_pct": 45}``
"""

from __future__ import annotations

from collections.abc import Mapping
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


class PreferenceStore:
    def __init__(
        self, *, sessionmaker: async_sessionmaker[AsyncSession], sites: Mapping[str, Site]
    ) -> None:
        self._sessionmaker = sessionmaker
        self._sites = sites
        self._values: dict[tuple[str, str, str], dict[str, Any]] = {}

    async def load(self) -> None:
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
        """The site file's thresholds with the site's overrides applied."""
        base = self._sites[site].alerts
        overrides = self.get("site", site, "thresholds")
        if not overrides:
            return base
        try:
            return AlertThresholds.model_validate(base.model_dump() | overrides)
        except ValidationError:
            return base

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
