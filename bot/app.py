"""The composition root: the only place that reads settings and builds clients."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from langchain_core.language_models import BaseChatModel
from langgraph.graph.state import CompiledStateGraph
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.chat.base import Adapters, ChatAdapter
from bot.chat.service import ChatService
from bot.cluster import Cluster, served_sites
from bot.digests import DigestJob
from bot.locks import lock_key
from bot.metrics import Metrics
from bot.monitoring import IngestWatch, Monitoring
from bot.notifier import ChannelLimiter, Notifier
from bot.runtime import Jobs, Maintenance, Monitor, standard_jobs
from bot.settings import Settings, log_deprecated_env
from graphs.assistant.briefing import BriefingSource, knowledge_lookup
from graphs.assistant.budget import Budget
from graphs.assistant.graph import build_graph
from graphs.assistant.pricing import price_for
from graphs.checkpoint import open_checkpointer
from knowledge.errors import IndexBackendError, KnowledgeError
from knowledge.local import LocalIndex
from knowledge.pinecone_index import Embedder, PineconeIndex
from knowledge.service import KnowledgeBase
from storage import repositories as repo
from storage.engine import (
    DbTimeouts,
    create_engine,
    create_sessionmaker,
    is_postgres,
    psycopg_url,
    sqlite_path,
    upgrade_database,
)
from tools.actions.service import ActionService, ActionView
from tools.agent import Toolbox
from tools.alerts.engine import AlertEngine, AlertEvent
from tools.alerts.registry import all_rules
from tools.alerts.user_rules import UserRuleStore
from tools.cards import Card
from tools.clock import Clock, SystemClock
from tools.delivery import Deliverer
from tools.devices.base import Driver
from tools.devices.mqtt import MqttHubs
from tools.devices.registry import DriverDeps, build_driver
from tools.forecast.fuel_service import FuelService
from tools.forecast.service import ForecastService
from tools.forecast.weather import OpenMeteoClient
from tools.offload import Offload
from tools.people import Directory
from tools.preferences import EffectiveSites, PreferenceStore
from tools.reports.service import ReportService
from tools.site import Site, SiteFile, demo_site_file, load_site_file
from tools.telemetry import TelemetryPipeline

if TYPE_CHECKING:
    from pinecone import AsyncIndex

log = logging.getLogger(__name__)


@dataclass(slots=True)
class App:
    settings: Settings
    site_file: SiteFile
    sites: Mapping[str, Site]
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
    ingest: IngestWatch
    preferences: PreferenceStore
    alert_rules: UserRuleStore
    deliverer: Deliverer
    metrics: Metrics
    adapters: Adapters
    reports: ReportService
    digests: DigestJob
    cluster: Cluster
    knowledge: KnowledgeBase
    forecasts: ForecastService

    @property
    def default_site(self) -> str:
        return self.site_file.sites[0].name

    def jobs(self, *, poll_interval_s: float) -> Jobs:
        """The scheduled jobs of a running bot (not started)."""
        intervals = self.settings.job_intervals
        periodic_s = intervals.get("alerts_periodic", 60.0)
        lifecycle_s = intervals.get("alerts_lifecycle", 15.0)
        return standard_jobs(
            monitor=self.monitor,
            expire=self.chat.expire_due,
            maintenance=self.maintenance,
            alert_periodic=lambda: self.monitoring.periodic(periodic_s),
            alert_lifecycle=lambda: self.monitoring.lifecycle(lifecycle_s),
            deliveries=self.deliverer.run_due,
            metrics=self.metrics.refresh,
            execute_approved=self.chat.execute_approved,
            forecast_snapshots=self.store_forecast_snapshots,
            preferences=self.reload_chat_settings,
            poll_interval_s=poll_interval_s,
            digests=self.digests.run_due,
            claim=self.cluster.claim,
            intervals=intervals,
            timeout_s=self.settings.job_timeout_s,
            grace_s=self.settings.shutdown_grace_s,
        )

    async def reload_chat_settings(self) -> None:
        """Re-read what people set in chat through any process: preferences and the
        alert rules the engine evaluates."""
        await self.preferences.load()
        await self.alert_rules.load()

    async def store_forecast_snapshots(self) -> int:
        """Store each site's day-ahead forecast once per local day (for the scorecard)."""
        return await self.forecasts.store_due_snapshots(list(self.sites.values()))


def db_timeouts(settings: Settings) -> DbTimeouts:
    return DbTimeouts(
        connect_s=settings.db_connect_timeout_s,
        command_s=settings.db_command_timeout_s,
        pool_s=settings.db_pool_timeout_s,
    )


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


async def build_knowledge(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    fallback: bool = True,
    clock: Clock | None = None,
) -> KnowledgeBase:
    """The knowledge base on Pinecone (with OpenAI embeddings) or on the local BM25 index.

    With ``fallback`` (the running bot), a Pinecone index that cannot be opened is
    logged and the local index is used instead; without it (``kb`` commands) the
    error is raised so the person sees it.
    """
    now = clock.now if clock is not None else None
    if settings.pinecone_api_key is not None and settings.openai_api_key is None:
        log.warning(
            "PINECONE_API_KEY is set but OPENAI_API_KEY is not: Pinecone needs embeddings, "
            "so the knowledge base uses the local index"
        )
    if settings.knowledge_backend == "pinecone":
        try:
            index = await open_pinecone_index(settings)
        except KnowledgeError as err:
            if not fallback:
                raise
            log.error("%s; the knowledge base uses the local index instead", err)
        else:
            return KnowledgeBase(
                PineconeIndex(
                    sessionmaker=sessionmaker, index=index, embedder=build_embedder(settings)
                ),
                clock=now,
                on_close=index.close,
            )
    return KnowledgeBase(LocalIndex(sessionmaker=sessionmaker), clock=now)


def build_embedder(settings: Settings) -> Embedder:
    from langchain_openai import OpenAIEmbeddings

    return OpenAIEmbeddings(
        model=settings.embedding_model,
        api_key=settings.openai_api_key,
        base_url=settings.openai_base_url,
        dimensions=settings.embedding_dimension
        if settings.embedding_model.startswith("text-embedding-3")
        else None,
        timeout=settings.openai_timeout_s,
        max_retries=2,
    )


async def open_pinecone_index(settings: Settings) -> AsyncIndex:
    """The data-plane client of the configured index; a serverless index is created when
    missing (dense, cosine, the embedding model's dimension)."""
    try:
        from pinecone import AsyncIndex, AsyncPinecone
        from pinecone.errors.exceptions import PineconeError
    except ImportError as err:
        raise IndexBackendError(
            "PINECONE_API_KEY is set but the Pinecone client is not installed: "
            "pip install 'commandcenter[pinecone]'"
        ) from err

    assert settings.pinecone_api_key is not None
    key = settings.pinecone_api_key.get_secret_value()
    name = settings.pinecone_index
    try:
        if settings.pinecone_host:
            return AsyncIndex(host=settings.pinecone_host, api_key=key)
        async with AsyncPinecone(api_key=key) as pc:
            if not await pc.indexes.exists(name):
                log.info("creating the Pinecone index %r", name)
                await pc.indexes.create(
                    name=name,
                    schema={
                        "fields": {
                            "_values": {
                                "type": "dense_vector",
                                "dimension": settings.embedding_dimension,
                                "metric": "cosine",
                            }
                        }
                    },
                    deployment={
                        "deployment_type": "managed",
                        "cloud": settings.pinecone_cloud,
                        "region": settings.pinecone_region,
                    },
                    timeout=300,
                )
            return await pc.index(name=name)
    except (PineconeError, httpx.HTTPError, OSError) as err:
        raise IndexBackendError(
            f"the Pinecone index {name!r} could not be opened: {err} "
            "(check PINECONE_API_KEY, PINECONE_INDEX and PINECONE_HOST)"
        ) from err


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
    sessionmaker: async_sessionmaker[AsyncSession],
    site_file: SiteFile,
    directory: Directory,
    *,
    now: datetime,
) -> None:
    async with sessionmaker() as session, session.begin():
        connection = await session.connection()
        if connection.dialect.name == "postgresql":  # workers starting together take turns
            key = lock_key("startup:reference-data")
            await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})
        for site in site_file.sites:
            await repo.upsert_site(
                session, name=site.name, title=site.title, timezone=site.timezone, now=now
            )
        await directory.sync(session, now=now)


@asynccontextmanager
async def open_app(
    settings: Settings,
    *,
    adapter: ChatAdapter | Sequence[ChatAdapter],
    clock: Clock | None = None,
    site_file: SiteFile | None = None,
    drivers: Mapping[str, Driver] | None = None,
    model: BaseChatModel | None = None,
    executes: bool = True,
    polls: bool = True,
) -> AsyncIterator[App]:
    """Build every service, apply migrations, and close everything on exit.

    ``adapter`` is the chat platform (or platforms) the bot answers and posts on.
    The process runs the drivers of its sites (all, or ``WORKER_SITES`` / ``SHARD``);
    with ``executes=False`` (the web face) approvals are recorded and left to a worker.
    With ``polls=False`` (a process that never polls its devices) the latest state of
    every site is loaded from the stored readings, and reloaded in the background every
    ``COMMANDCENTER_STATE_REFRESH_S``, so answers and action policy use what the workers
    stored (and say how old it is).
    """
    adapters = Adapters([adapter] if not isinstance(adapter, Sequence) else adapter)
    log_deprecated_env(log)
    for name in settings.not_yet_supported():
        log.warning("%s is set, but this release does not connect to that service yet", name)
    clock = clock or SystemClock()
    site_file = site_file or load_sites(settings)
    site_file_sites = {s.name: s for s in site_file.sites}
    served = served_sites(
        list(site_file_sites), worker_sites=settings.worker_sites, shard=settings.shard
    )
    if not served:
        log.warning(
            "this process runs no site (WORKER_SITES=%s, SHARD=%s)",
            settings.worker_sites,
            settings.shard,
        )
    db_url = settings.effective_database_url
    engine = create_engine(db_url, timeouts=db_timeouts(settings))
    http = httpx.AsyncClient(timeout=httpx.Timeout(10.0), follow_redirects=False)
    hubs = MqttHubs()
    try:
        await upgrade_database(engine)
        sessionmaker = create_sessionmaker(engine)
        directory = Directory(
            sessionmaker=sessionmaker,
            clock=clock,
            people=site_file.people,
            groups=site_file.groups,
        )
        await _sync_reference_data(sessionmaker, site_file, directory, now=clock.now())
        cluster = Cluster(
            engine=engine, sessionmaker=sessionmaker, sites=served, worker_id=settings.worker_id
        )
        given = drivers
        if drivers is None:
            mine = site_file.model_copy(update={"sites": [site_file_sites[n] for n in served]})
            drivers = build_drivers(mine, DriverDeps(http=http, mqtt=hubs, start=clock.now()))
        else:
            drivers = {name: d for name, d in drivers.items() if name in served}
        model = model if model is not None else build_model(settings)
        preferences = PreferenceStore(sessionmaker=sessionmaker, sites=site_file_sites)
        await preferences.load()
        # What everything but the devices sees: the site file plus preferences set in chat.
        sites = EffectiveSites(site_file_sites, preferences)

        async def preference_lines(person: str, site: str, channel: str) -> list[str]:
            return preferences.lines_for(person, site, channel)

        alert_rules = UserRuleStore(sessionmaker=sessionmaker)
        await alert_rules.load()
        alerts = AlertEngine(
            sessionmaker=sessionmaker,
            sites=sites,
            clock=clock,
            rules=all_rules(),
            thresholds=preferences.thresholds,
            user_rules=alert_rules.for_site,
        )
        await alerts.preload(served)
        pipeline = TelemetryPipeline(
            sessionmaker=sessionmaker, write_timeout_s=settings.db_command_timeout_s
        )
        actions = ActionService(
            sessionmaker=sessionmaker,
            sites=sites,
            drivers=drivers,
            clock=clock,
            state=pipeline.latest,
            on_readings=pipeline.ingest,
            executes=served if executes else (),
            worker=cluster.worker_id,
            humans=site_file.humans(),
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

        limiter = ChannelLimiter(settings.channel_min_interval_s)
        notifier = Notifier(
            on_deliver=deliver,
            adapters=adapters,
            sites=sites,
            alerts=alerts,
            actions=actions,
            clock=clock,
            prefs=preferences.channel_prefs,
            limiter=limiter,
        )
        monitoring = Monitoring(
            engine=engine,
            sessionmaker=sessionmaker,
            alerts=alerts,
            notifier=notifier,
            pipeline=pipeline,
            sites=sites,
            clock=clock,
            cluster=cluster,
        )
        pipeline.set_batch_handler(monitoring.on_batch)

        offload = Offload()  # optimisers, forecast models and rendering run off the loop
        forecasts = ForecastService(
            sessionmaker=sessionmaker,
            clock=clock,
            offload=offload,
            weather=(
                OpenMeteoClient(http, base_url=settings.open_meteo_url)
                if settings.weather == "open-meteo"
                else None
            ),
        )
        reports = ReportService(
            sessionmaker=sessionmaker, sites=sites, clock=clock, forecasts=forecasts
        )
        knowledge = await build_knowledge(settings, sessionmaker, clock=clock)
        chat_ref: list[ChatService] = []

        async def on_action_decided(action: ActionView, running_thread: str) -> None:
            """A decision typed in chat: the same card update and resume as a button."""
            if chat_ref:
                await chat_ref[0].on_action_final(action, running_thread=running_thread)

        toolbox = Toolbox(
            on_action_decided=on_action_decided,
            offload=offload,
            knowledge=knowledge,
            sites=sites,
            state=pipeline.latest,
            alerts=alerts,
            actions=actions,
            clock=clock,
            preferences=preferences,
            alert_rules=alert_rules,
            on_alert_event=notifier.on_alert_event,
            deliveries=deliverer.stats,
            directory=directory,
            forecasts=forecasts,
            reports=reports,
            fuel=FuelService(sessionmaker=sessionmaker, clock=clock, offload=offload),
        )
        if is_postgres(db_url):
            timeouts = db_timeouts(settings)
            checkpointer_cm = open_checkpointer(
                postgres_url=psycopg_url(db_url, timeouts=timeouts), pool_wait_s=timeouts.pool_s
            )
        else:
            checkpointer_cm = open_checkpointer(sqlite_path=checkpoint_path(settings))
        async with checkpointer_cm as checkpointer:
            graph = build_graph(checkpointer=checkpointer)
            ingest = IngestWatch(
                hubs=hubs, pipeline=pipeline, adapters=adapters, channel=settings.ops_channel
            )
            metrics = Metrics(pipeline=pipeline, sessionmaker=sessionmaker, ingest=ingest)
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
                directory=directory,
                rate_per_min=settings.chat_rate_per_min,
                model_name=settings.openai_model if model is not None else "offline",
                model_rate_per_min=settings.model_rate_per_min,
                briefing=BriefingSource(
                    toolbox=toolbox,
                    preferences=preference_lines,
                    knowledge=knowledge_lookup(knowledge.search),
                ),
                budget=Budget(total_tokens=settings.context_budget_tokens),
                price=price_for(
                    settings.openai_model,
                    input_override=settings.model_price_input_per_mtok,
                    output_override=settings.model_price_output_per_mtok,
                ),
            )
            chat_ref.append(chat)
            # Sites this process does not poll (all of them in the web face; another
            # shard's sites in a worker) are answered from what their workers stored.
            unpolled = [n for n in site_file_sites if not polls or n not in drivers]
            refresher: asyncio.Task[None] | None = None
            if unpolled:
                await pipeline.load_stored(unpolled, now=clock.now())
                refresher = asyncio.create_task(
                    _keep_loading_stored(pipeline, unpolled, clock, settings.state_refresh_s),
                    name="stored-state",
                )
            monitor = Monitor(
                drivers=drivers,
                pipeline=pipeline,
                clock=clock,
                sites=sites,
                on_tick=monitoring.on_tick,
                max_concurrent=settings.poll_concurrency,
                site_deadline_s=settings.site_poll_deadline_s,
                after_poll=ingest.check,
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
                    ingest=ingest,
                    preferences=preferences,
                    alert_rules=alert_rules,
                    deliverer=deliverer,
                    metrics=metrics,
                    adapters=adapters,
                    reports=reports,
                    digests=DigestJob(
                        engine=engine,
                        sessionmaker=sessionmaker,
                        reports=reports,
                        adapters=adapters,
                        sites=sites,
                        clock=clock,
                        deliverer=deliverer,
                        limiter=limiter,
                        offload=offload,
                    ),
                    cluster=cluster,
                    knowledge=knowledge,
                    forecasts=forecasts,
                )
            finally:
                if refresher is not None:
                    refresher.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await refresher
                await actions.drain()  # no request is left "executing"
                offload.close()
                await knowledge.aclose()
                # Batches of the last polls still being written, then whatever is left.
                await _bounded(_settle(monitor), settings.shutdown_grace_s, "storing readings")
                await _bounded(pipeline.flush(), settings.shutdown_grace_s, "storing readings")
                if pipeline.buffered:
                    log.error(
                        "stopping with %d readings not stored: the database did not answer",
                        pipeline.buffered,
                    )
                await _bounded(
                    pipeline.close(), settings.shutdown_grace_s, "closing the ingest link"
                )
                for driver in (given or drivers).values():
                    await driver.close()
    finally:
        await hubs.close()
        await http.aclose()
        await _bounded(engine.dispose(), settings.shutdown_grace_s, "closing database connections")


async def _settle(monitor: Monitor) -> None:
    """Wait for the monitor's writes in flight; a failed alert hand-off is logged, not raised."""
    try:
        await monitor.settle()
    except Exception:
        log.exception("stopping: handing the last readings to the alert engine failed")


async def _bounded(work: Awaitable[object], limit_s: float, what: str) -> None:
    """Shutdown work that must not hold the process: given up (and logged) after ``limit_s``."""
    try:
        async with asyncio.timeout(limit_s):
            await work
    except TimeoutError:
        log.warning("stopping: gave up %s after %g s", what, limit_s)


async def _keep_loading_stored(
    pipeline: TelemetryPipeline, sites: list[str], clock: Clock, interval_s: float
) -> None:
    """Reload the newest stored readings every ``interval_s`` (a process that does not poll)."""
    while True:
        await asyncio.sleep(interval_s)
        try:
            async with asyncio.timeout(max(interval_s, 10.0) * 3):
                await pipeline.load_stored(sites, now=clock.now())
        except (SQLAlchemyError, OSError) as err:  # TimeoutError is an OSError
            log.warning("could not load the stored readings: %s", type(err).__name__)


def checkpoint_path(settings: Settings) -> Path:
    """Checkpoints beside the SQLite database (or in the data folder)."""
    path = sqlite_path(settings.effective_database_url)
    if path is None:
        return settings.data_dir / "checkpoints.sqlite"
    return path.with_name(path.stem + "-checkpoints.sqlite")
