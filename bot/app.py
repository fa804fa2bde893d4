"""The composition root: the only place that reads settings and builds clients."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from langchain_core.language_models import BaseChatModel
from langgraph.graph.state import CompiledStateGraph
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.chat.base import Adapters, ChatAdapter
from bot.chat.service import ChatService
from bot.metrics import Metrics
from bot.monitoring import Monitoring
from bot.notifier import ChannelLimiter, Notifier
from bot.runtime import Jobs, Maintenance, Monitor, standard_jobs
from bot.settings import Settings
from graphs.assistant.graph import build_graph
from graphs.checkpoint import open_checkpointer
from storage import repositories as repo
from storage.engine import (
    create_engine,
    create_sessionmaker,
    is_postgres,
    psycopg_url,
    sqlite_path,
    upgrade_database,
)
from tools.actions.service import ActionService
from tools.agent_tools import Toolbox
from tools.alerts.engine import AlertEngine, AlertEvent
from tools.alerts.registry import all_rules
from tools.cards import Card
from tools.clock import Clock, SystemClock
from tools.delivery import Deliverer
from tools.devices.base import Driver
from tools.devices.mqtt import MqttHubs
from tools.devices.registry import DriverDeps, build_driver
from tools.forecast.service import ForecastService
from tools.forecast.weather import OpenMeteoClient
from tools.preferences import PreferenceStore
from tools.site import Site, SiteFile, demo_site_file, load_site_file
from tools.telemetry import TelemetryPipeline

log = logging.getLogger(__name__)


@dataclass(slots=True)
class App:
    settings: Settings
    site_file: SiteFile
    sites: dict[str, Site]
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    clock: Clock
    drivers: Mapping[str, Driver]
    pipeline: TelemetryPipeline
    alerts: AlertEngine
    actions: ActionService
    toolbox: Toolbox
    graph: CompiledStateGraph[Any, Any, Any, Any]
    notifier: Notifier
    chat: ChatService
    monitor: Monitor
    maintenance: Maintenance
    monitoring: Monitoring
    preferences: PreferenceStore
    deliverer: Deliverer
    metrics: Metrics
    adapters: Adapters
    forecasts: ForecastService

    @property
    def default_site(self) -> str:
        return self.site_file.sites[0].name

    def jobs(self, *, poll_interval_s: float) -> Jobs:
        """The scheduled jobs of a running bot (not started)."""
        return standard_jobs(
            monitor=self.monitor,
            expire=self.chat.expire_due,
            maintenance=self.maintenance,
            alert_periodic=self.monitoring.periodic,
            alert_lifecycle=self.monitoring.lifecycle,
            deliveries=self.deliverer.run_due,
            metrics=self.metrics.refresh,
            forecast_snapshots=self.store_forecast_snapshots,
            poll_interval_s=poll_interval_s,
        )

    async def store_forecast_snapshots(self) -> int:
        """Store each site's day-ahead forecast once per local day (for the scorecard)."""
        return await self.forecasts.store_due_snapshots(list(self.sites.values()))


def load_sites(settings: Settings) -> SiteFile:
    """The configured site file, or the built-in demo site."""
    if settings.site_file is None:
        return demo_site_file()
    return load_site_file(settings.site_file)


def build_drivers(site_file: SiteFile, deps: DriverDeps) -> dict[str, Driver]:
    """One driver per site that has devices (the simulator, or its real devices)."""
    drivers: dict[str, Driver] = {}
    for site in site_file.sites:
        driver = build_driver(site, deps)
        if driver is not None:
            drivers[site.name] = driver
    return drivers


def build_model(settings: Settings) -> BaseChatModel | None:
    if settings.openai_api_key is None:
        return None
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(
        model=settings.openai_model,
        api_key=settings.openai_api_key,
        base_url=settings.openai_base_url,
        timeout=settings.openai_timeout_s,
        max_retries=2,
    )


async def _sync_reference_data(
    sessionmaker: async_sessionmaker[AsyncSession], site_file: SiteFile, *, now: datetime
) -> None:
    async with sessionmaker() as session, session.begin():
        for site in site_file.sites:
            await repo.upsert_site(
                session, name=site.name, title=site.title, timezone=site.timezone, now=now
            )
        for person in site_file.people:
            await repo.upsert_identity(
                session,
                platform=person.platform,
                user_id=person.user_id,
                role=person.role,
                display_name=person.name,
                now=now,
            )


@asynccontextmanager
async def open_app(
    settings: Settings,
    *,
    adapter: ChatAdapter | Sequence[ChatAdapter],
    clock: Clock | None = None,
    site_file: SiteFile | None = None,
    drivers: Mapping[str, Driver] | None = None,
    model: BaseChatModel | None = None,
) -> AsyncIterator[App]:
    """Build every service, apply migrations, and close everything on exit.

    ``adapter`` is the chat platform (or platforms) the bot answers and posts on.
    """
    adapters = Adapters([adapter] if not isinstance(adapter, Sequence) else adapter)
    for name in settings.not_yet_supported():
        log.warning("%s is set, but this release does not connect to that service yet", name)
    clock = clock or SystemClock()
    site_file = site_file or load_sites(settings)
    sites = {s.name: s for s in site_file.sites}
    db_url = settings.effective_database_url
    engine = create_engine(db_url)
    http = httpx.AsyncClient(timeout=httpx.Timeout(10.0), follow_redirects=False)
    hubs = MqttHubs()
    try:
        await upgrade_database(engine)
        sessionmaker = create_sessionmaker(engine)
        await _sync_reference_data(sessionmaker, site_file, now=clock.now())
        if drivers is None:
            drivers = build_drivers(site_file, DriverDeps(http=http, mqtt=hubs, start=clock.now()))
        model = model if model is not None else build_model(settings)
        preferences = PreferenceStore(sessionmaker=sessionmaker, sites=sites)
        await preferences.load()
        alerts = AlertEngine(
            sessionmaker=sessionmaker,
            sites=sites,
            clock=clock,
            rules=all_rules(),
            thresholds=preferences.thresholds,
        )
        pipeline = TelemetryPipeline(sessionmaker=sessionmaker)
        actions = ActionService(
            sessionmaker=sessionmaker,
            sites=sites,
            drivers=drivers,
            clock=clock,
            state=pipeline.latest,
            on_readings=pipeline.ingest,
        )
        deliverer = Deliverer(sessionmaker=sessionmaker, http=http, clock=clock)

        async def deliver(event: AlertEvent, card: Card) -> None:
            config = sites[event.alert.site].delivery
            if config is None:
                return
            await deliverer.enqueue(
                card=card,
                site=event.alert.site,
                site_title=sites[event.alert.site].display_name,
                alert_id=event.alert.id,
                event=event.kind,
                severity=event.alert.severity,
                config=config,
            )

        notifier = Notifier(
            on_deliver=deliver,
            adapters=adapters,
            sites=sites,
            alerts=alerts,
            actions=actions,
            clock=clock,
            prefs=preferences.channel_prefs,
            limiter=ChannelLimiter(settings.channel_min_interval_s),
        )
        monitoring = Monitoring(
            engine=engine,
            sessionmaker=sessionmaker,
            alerts=alerts,
            notifier=notifier,
            pipeline=pipeline,
            sites=sites,
            clock=clock,
        )
        pipeline.set_batch_handler(monitoring.on_batch)

        async def set_role(platform: str, user_id: str, role: str, by: str) -> None:
            now = clock.now()
            async with sessionmaker() as session, session.begin():
                await repo.upsert_identity(
                    session, platform=platform, user_id=user_id, role=role, now=now
                )
                await repo.append_audit(
                    session,
                    time=now,
                    actor=by,
                    event="role_changed",
                    details={"platform": platform, "user_id": user_id, "role": role},
                )

        forecasts = ForecastService(
            sessionmaker=sessionmaker,
            clock=clock,
            weather=OpenMeteoClient(http) if settings.weather == "open-meteo" else None,
        )
        toolbox = Toolbox(
            sites=sites,
            state=pipeline.latest,
            alerts=alerts,
            actions=actions,
            clock=clock,
            preferences=preferences,
            on_alert_event=notifier.on_alert_event,
            deliveries=deliverer.stats,
            set_role=set_role,
            forecasts=forecasts,
        )
        if is_postgres(db_url):
            checkpointer_cm = open_checkpointer(postgres_url=psycopg_url(db_url))
        else:
            checkpointer_cm = open_checkpointer(sqlite_path=checkpoint_path(settings))
        async with checkpointer_cm as checkpointer:
            graph = build_graph(checkpointer=checkpointer)
            metrics = Metrics(pipeline=pipeline, sessionmaker=sessionmaker)
            chat = ChatService(
                observe=metrics.observe_chat,
                adapters=adapters,
                graph=graph,
                toolbox=toolbox,
                sites=sites,
                sessionmaker=sessionmaker,
                alerts=alerts,
                actions=actions,
                notifier=notifier,
                model=model,
                default_site=site_file.sites[0].name,
                groups=site_file.groups,
                people=site_file.people,
                rate_per_min=settings.chat_rate_per_min,
            )
            monitor = Monitor(
                drivers=drivers,
                pipeline=pipeline,
                clock=clock,
                sites=sites,
                on_tick=monitoring.on_tick,
            )
            try:
                yield App(
                    settings=settings,
                    site_file=site_file,
                    sites=sites,
                    engine=engine,
                    sessionmaker=sessionmaker,
                    clock=clock,
                    drivers=drivers,
                    pipeline=pipeline,
                    alerts=alerts,
                    actions=actions,
                    toolbox=toolbox,
                    graph=graph,
                    notifier=notifier,
                    chat=chat,
                    monitor=monitor,
                    maintenance=Maintenance(
                        sessionmaker=sessionmaker,
                        clock=clock,
                        raw_retention_days=settings.raw_retention_days,
                    ),
                    monitoring=monitoring,
                    preferences=preferences,
                    deliverer=deliverer,
                    metrics=metrics,
                    adapters=adapters,
                    forecasts=forecasts,
                )
            finally:
                await pipeline.flush()
                for driver in drivers.values():
                    await driver.close()
    finally:
        await hubs.close()
        await http.aclose()
        await engine.dispose()


def checkpoint_path(settings: Settings) -> Path:
    """Checkpoints beside the SQLite database (or in the data folder)."""
    path = sqlite_path(settings.effective_database_url)
    if path is None:
        return settings.data_dir / "checkpoints.sqlite"
    return path.with_name(path.stem + "-checkpoints.sqlite")
