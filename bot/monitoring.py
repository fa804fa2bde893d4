"""Alert evaluation wiring: on every telemetry batch, on every poll, and on a schedule."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.chat.base import Adapters
from bot.cluster import Cluster
from bot.notifier import Notifier
from tools.alerts.engine import AlertEngine, AlertEvent
from tools.alerts.history import load_history
from tools.clock import Clock
from tools.devices.mqtt import MqttHubs
from tools.domain import Reading
from tools.ingest_health import IngestAlert, IngestGuard, IngestSnapshot
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

    async def on_batch(
        self, site: str, state: SiteState, _batch: list[Reading], read_at: datetime | None
    ) -> None:
        """Event-driven: the batch rules on the latest state, as readings arrive.

        A polled batch reaches here once it is written, which the poll does not wait
        for, so the clock may have moved on meanwhile (a slow commit, an accelerated
        clock): it is judged as of its poll (``read_at``), not as of now. Judged as of
        now, a device that answered that poll looked silent for as long as the write
        took, and went offline when that was longer than its stale time. Silence that
        time alone makes is the tick's business (:meth:`on_tick`).
        """
        await self._notify(await self._alerts.evaluate(site, state, now=read_at))

    async def on_tick(self, site: str, state: SiteState) -> None:
        """Every poll: the batch rules when time alone may have changed them (a silent
        device, a pending alert due; see :meth:`AlertEngine.evaluate_due`) and due
        alert groups."""
        await self._notify(await self._alerts.evaluate_due(site, state))
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


class IngestWatch:
    """The worker's own overload alert: after every poll, the hubs' and the pipeline's
    counters go to an :class:`IngestGuard`; when its alert fires or resolves, it is
    logged and, with an ops channel configured, posted there on the first chat adapter."""

    def __init__(
        self,
        *,
        hubs: MqttHubs,
        pipeline: TelemetryPipeline,
        guard: IngestGuard | None = None,
        adapters: Adapters | None = None,
        channel: str | None = None,
        clock_s: Callable[[], float] = time.monotonic,
    ) -> None:
        self.hubs = hubs
        self.pipeline = pipeline
        self.guard = guard or IngestGuard()
        self._adapters = adapters
        self._channel = channel
        self._clock_s = clock_s
        self.alerts: list[IngestAlert] = []  # every change, oldest first

    def snapshot(self) -> IngestSnapshot:
        hubs = self.hubs.all()
        return IngestSnapshot(
            arrived=sum(h.arrived for h in hubs),
            delayed=sum(h.delayed for h in hubs),
            shed=sum(h.shed for h in hubs),
            dropped=self.pipeline.stats.dropped,
            backlog=sum(h.backlog for h in hubs),
            backlog_age_s=max((h.backlog_age_s for h in hubs), default=0.0),
        )

    async def check(self) -> IngestAlert | None:
        alert = self.guard.observe(self.snapshot(), self._clock_s())
        if alert is None:
            return None
        self.alerts.append(alert)
        if alert.firing:
            log.warning("%s", alert.text)
        else:
            log.info("%s", alert.text)
        if self._channel and self._adapters is not None:
            adapter = next(iter(self._adapters), None)
            if adapter is not None:
                try:
                    await adapter.post(self._channel, text=alert.text)
                except Exception:  # the alert is logged and on /metrics either way
                    log.exception("could not post the ingest alert to %s", self._channel)
        return alert
