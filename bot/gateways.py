"""Chat gateways (Slack, Discord) and the long-running processes that use them.

- ``worker``: drivers, telemetry, alerts, scheduler, and the chat gateways that
  need no public URL (Slack Socket Mode, Discord).
- ``web``: health endpoints, plus Slack's HTTP endpoints when Slack runs in
  HTTP mode (a signing secret and no app-level token).
- ``run``: both in one process, for small installs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from bot.app import App, open_app
from bot.chat.base import ChatAdapter
from bot.chat.console import ConsoleAdapter
from bot.gc_tuning import tune_worker_gc
from bot.settings import Settings
from bot.web import build_web_app, site_brokers, warn_if_open
from tools.clock import Clock, SimClock

log = logging.getLogger(__name__)


def _secret(value: Any) -> str | None:
    return value.get_secret_value() if value is not None else None


@dataclass(slots=True)
class Gateways:
    """What was started for the chat platforms, to stop it again."""

    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    routes: list[web.RouteDef] = field(default_factory=list)
    inflight: Any = None  # Slack answers still being worked on

    async def stop(self) -> None:
        if self.inflight is not None and not await self.inflight.drain(timeout_s=20):
            await self.inflight.cancel()
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


def slack_mode(settings: Settings) -> str | None:
    """'socket' with an app-level token, 'http' with only a signing secret, else None."""
    if settings.slack_bot_token is None:
        return None
    if settings.slack_app_token is not None:
        return "socket"
    return "http"


def chat_adapters(settings: Settings, *, console: bool = True) -> tuple[list[ChatAdapter], Any]:
    """The adapters that exist before the app (Slack's client); returns (adapters, slack client)."""
    adapters: list[ChatAdapter] = [ConsoleAdapter()] if console else []
    slack = None
    token = _secret(settings.slack_bot_token)
    if token:
        from bot.chat.slack import SlackAdapter, slack_client

        slack = slack_client(token, base_url=settings.slack_api_url)
        adapters.append(SlackAdapter(slack))
    return adapters, slack


async def start_gateways(
    cc: App, settings: Settings, slack_client: Any, *, socket: bool = True, http: bool = False
) -> Gateways:
    """Connect Slack (Socket Mode or HTTP routes) and Discord to the running app."""
    gateways = Gateways()
    mode = slack_mode(settings)
    if slack_client is not None and mode is not None:
        from bot.chat.slack import InFlight, build_slack_app, run_socket_mode, slack_routes

        gateways.inflight = InFlight()
        slack_app = build_slack_app(
            inflight=gateways.inflight,
            chat=cc.chat,
            signing_secret=_secret(settings.slack_signing_secret),
            token=_secret(settings.slack_bot_token) or "",
            client=slack_client,
            socket_mode=mode == "socket",
        )
        slack_groups = [g.group_id for g in cc.site_file.groups if g.platform == "slack"]
        if slack_groups:  # payloads carry no groups: look the mapped ones up (cached)
            from bot.chat.slack_groups import SlackGroups

            cc.chat.group_lookup = SlackGroups(slack_client, slack_groups).lookup
        if mode == "socket" and socket:
            app_token = _secret(settings.slack_app_token) or ""
            gateways.tasks.append(asyncio.create_task(run_socket_mode(slack_app, app_token)))
        elif mode == "http" and http:
            gateways.routes.extend(slack_routes(slack_app))
    discord_token = _secret(settings.discord_bot_token)
    if discord_token and socket:
        from bot.chat.discord_bot import DiscordAdapter, build_discord_client, run_discord

        client = build_discord_client(chat=cc.chat, guild_id=settings.discord_guild_id)
        cc.adapters.add(DiscordAdapter(client))
        gateways.tasks.append(asyncio.create_task(run_discord(client, discord_token)))
    return gateways


def _clock(settings: Settings) -> Clock | None:
    """An accelerated clock from 19:00 at the first site with ``COMMANDCENTER_SIM_SPEED``."""
    if settings.sim_speed is None:
        return None
    from bot.app import load_sites
    from bot.console_demo import evening_start

    first = load_sites(settings).sites[0]
    start = evening_start(first, now=datetime.now(UTC), hour=19)
    return SimClock(start=start, speed=settings.sim_speed)


async def _serve_http(cc: App, settings: Settings, routes: Iterable[web.RouteDef]) -> web.AppRunner:
    token = _secret(settings.metrics_token)
    runner = web.AppRunner(
        build_web_app(
            cc.engine,
            routes=routes,
            metrics=cc.metrics,
            brokers=site_brokers(cc.site_file),
            metrics_token=token,
        )
    )
    await runner.setup()
    await web.TCPSite(runner, settings.http_host, settings.http_port).start()
    log.info("listening on http://%s:%d", settings.http_host, settings.http_port)
    warn_if_open(settings.http_host, settings.http_port, token)
    return runner


async def run_worker(settings: Settings, *, serve_http: bool = False) -> None:
    """The worker (and, with ``serve_http``, the web face too: ``commandcenter run``)."""
    adapters, slack = chat_adapters(settings)
    async with open_app(settings, adapter=adapters, clock=_clock(settings)) as cc:
        gateways = await start_gateways(cc, settings, slack, socket=True, http=serve_http)
        runner = await _serve_http(cc, settings, gateways.routes) if serve_http else None
        await cc.chat.recover_interrupted()  # requests a crash left "executing"
        await cc.monitor.poll_once()
        jobs = cc.jobs(poll_interval_s=settings.poll_interval_s)
        jobs.start()
        extras = await start_worker_extras(cc, settings)
        gc_settings = tune_worker_gc()  # start-up done: its objects are never scanned again
        log.info(
            "garbage collector: %d start-up objects frozen, thresholds %s",
            gc_settings.frozen_objects,
            gc_settings.thresholds,
        )
        log.info(
            "worker %s running site(s) %s of %d; chat: %s",
            cc.cluster.worker_id,
            ", ".join(cc.cluster.sites) or "none",
            len(cc.sites),
            ", ".join(a.platform for a in cc.adapters),
        )
        try:
            await asyncio.Event().wait()
        finally:
            await extras.stop()
            await jobs.stop()
            await gateways.stop()
            if runner is not None:
                await runner.cleanup()


@dataclass(slots=True)
class WorkerExtras:
    """The worker's optional faces: Home Assistant sensors and its own /metrics port."""

    ha: Any = None
    metrics: web.AppRunner | None = None

    async def stop(self) -> None:
        if self.ha is not None:
            await self.ha.stop()
        if self.metrics is not None:
            await self.metrics.cleanup()


async def start_worker_extras(cc: App, settings: Settings) -> WorkerExtras:
    """Start what ``COMMANDCENTER_HA_MQTT_URL`` and ``COMMANDCENTER_METRICS_PORT`` ask for."""
    extras = WorkerExtras()
    from bot.site_metrics import site_file_stale_after

    cc.metrics.device_stale_after_s = site_file_stale_after(cc.sites)
    if settings.metrics_port is not None:
        from bot.web import serve_metrics

        extras.metrics = await serve_metrics(
            cc.metrics,
            host=settings.http_host,
            port=settings.metrics_port,
            engine=cc.engine,
            brokers=site_brokers(cc.site_file),
            token=_secret(settings.metrics_token),
        )
    url = _secret(settings.ha_mqtt_url)
    if url:
        from bot.homeassistant import Topics, start_bridge
        from bot.version import version

        extras.ha = await start_bridge(
            url=url,
            sessionmaker=cc.sessionmaker,
            sites=cc.sites,
            served=cc.cluster.sites,
            state=cc.pipeline.latest,
            forecasts=cc.forecasts,
            clock=cc.clock,
            topics=Topics(
                settings.ha_discovery_prefix, settings.ha_state_prefix, worker=settings.worker_id
            ),
            version=version(),
            interval_s=settings.ha_refresh_s,
        )
    return extras


async def run_web(settings: Settings) -> None:
    """Health endpoints, and Slack's HTTP endpoints when Slack runs in HTTP mode."""
    if slack_mode(settings) != "http":
        from bot.web import serve

        await serve(settings)
        return
    adapters, slack = chat_adapters(settings, console=False)
    # Approvals clicked here are executed by the worker that runs the site.
    # It polls no device either: it answers from the readings the workers stored.
    async with open_app(settings, adapter=adapters, executes=False, polls=False) as cc:
        gateways = await start_gateways(cc, settings, slack, socket=False, http=True)
        runner = await _serve_http(cc, settings, gateways.routes)
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()
            await gateways.stop()
