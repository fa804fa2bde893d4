"""Alert evaluation wiring: on every telemetry batch, on every poll, and on a schedule."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.cluster import Cluster
from bot.notifier import Notifier
from tools.alerts.engine import AlertEngine, AlertEvent
from tools.alerts.history import load_history
from tools.clock import Clock
from tools.domain import Reading
from tools.site import Site
from tools.telemetry import SiteState, TelemetryPipeline

log = logging.getLogger(__name__)


class Monitoring:
    def __init__(
        self,
        *,
        engine: AsyncEngine,
        sessionmaker: async_sessionmaker[AsyncSession],
        alerts: AlertEngine,
        notifier: Notifier,
        pipeline: TelemetryPipeline,
        sites: Mapping[str, Site],
        clock: Clock,
        cluster: Cluster,
    ) -> None:
        self._engine = engine
        self._sessionmaker = sessionmaker
        self._alerts = alerts
        self._notifier = notifier
        self._pipeline = pipeline
        self._sites = sites
        self._clock = clock
        self._cluster = cluster
        self.periodic_runs = 0

    async def _notify(self, events: list[AlertEvent]) -> None:
        for event in events:
            await self._notifier.on_alert_event(event)

    async def on_batch(self, site: str, state: SiteState, _batch: list[Reading]) -> None:
        """Event-driven: the batch rules on the latest state, as readings arrive."""
        await self._notify(await self._alerts.evaluate(site, state))

    async def on_tick(self, site: str, state: SiteState) -> None:
        """Every poll: time-based batch rules (a silent device) and due alert groups."""
        await self._notify(await self._alerts.evaluate(site, state))
        await self._notifier.flush_due()

    async def periodic(self, interval_s: float = 60.0) -> int:
        """Every rule, with history, for this worker's sites; each site once per interval
        across workers (a ``job_runs`` claim under a PostgreSQL advisory lock)."""
        done = 0
        for site in self._cluster.sites:

            async def evaluate(site: str = site) -> None:
                history = await load_history(self._sessionmaker, site=site, now=self._clock.now())
                state = self._pipeline.latest(site)
                await self._notify(await self._alerts.evaluate(site, state, history=history))

            if await self._cluster.once(f"alerts_periodic:{site}", interval_s, evaluate):
                done += 1
        if done:
            self.periodic_runs += 1
        return done

    async def lifecycle(self, interval_s: float = 15.0) -> None:
        """Snoozes and silences that ended, reminders and escalations, once across workers;
        then this worker's own grouped cards that are due."""

        async def tick() -> None:
            await self._notify(await self._alerts.tick())

        await self._cluster.once("alerts_lifecycle", interval_s, tick)
        await self._notifier.flush_due()
