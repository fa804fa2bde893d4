"""Scheduled digests: the daily digest and the weekly and monthly reports, posted once
per period.

Every minute the job looks, per site, for the most recent digest that is due in the
site's local time (``reports:`` in the site file). It claims the digest in the
database (unique per site, kind and period start) before building and posting it,
so two workers — or one worker after a restart — never post the same digest twice;
the PostgreSQL advisory lock keeps the other workers from even trying. A digest that
fails before anything went out is released and tried again the next minute.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.chat.base import Adapters
from bot.locks import leader
from bot.notifier import ChannelLimiter
from storage import repositories as repo
from tools.clock import Clock
from tools.delivery import Deliverer
from tools.offload import Offload
from tools.reports.periods import due_period
from tools.reports.render import digest_card
from tools.reports.service import ReportService
from tools.site import DigestSchedule, MonthlySchedule, Site

log = logging.getLogger(__name__)

DigestKind = Literal["daily", "weekly", "monthly"]
DIGEST_KINDS: tuple[DigestKind, ...] = ("daily", "weekly", "monthly")


class DigestJob:
    def __init__(
        self,
        *,
        engine: AsyncEngine,
        sessionmaker: async_sessionmaker[AsyncSession],
        reports: ReportService,
        adapters: Adapters,
        sites: Mapping[str, Site],
        clock: Clock,
        deliverer: Deliverer | None = None,
        limiter: ChannelLimiter | None = None,
        offload: Offload | None = None,
    ) -> None:
        self._offload = offload or Offload()
        self._engine = engine
        self._sessionmaker = sessionmaker
        self._reports = reports
        self._adapters = adapters
        self._sites = sites
        self._clock = clock
        self._deliverer = deliverer
        self._limiter = limiter or ChannelLimiter(0.0)

    async def run_due(self) -> int:
        """Post every digest that is due and not yet sent; returns how many went out."""
        async with leader(self._engine, "reports:digests") as mine:
            if not mine:
                return 0
            sent = 0
            for site in self._sites.values():
                for kind in DIGEST_KINDS:
                    try:
                        sent += await self._one(site, kind)
                    except Exception:  # one site's trouble must not stop the others
                        log.exception("%s digest for %s failed", kind, site.name)
            return sent

    async def _one(self, site: Site, kind: DigestKind) -> int:
        schedule: DigestSchedule | MonthlySchedule = getattr(site.reports, kind)
        if not schedule.enabled:
            return 0
        period = due_period(kind, schedule, now=self._clock.now(), tz=site.tz)
        async with self._sessionmaker() as session, session.begin():
            if await repo.digest_claimed(
                session, site=site.name, kind=kind, period_start=period.start
            ):
                return 0
        report = await self._reports.report(site, period)
        if not report.has_data:
            return 0  # nothing stored for the period (a new install): say nothing
        async with self._sessionmaker() as session, session.begin():
            digest_id = await repo.claim_digest(
                session,
                site=site.name,
                kind=kind,
                period_start=period.start,
                period_end=period.end,
                now=self._clock.now(),
            )
        if digest_id is None:
            return 0
        try:
            card = await self._offload.run(digest_card, report, kind=kind)
            posted = await self._post(site, card, schedule.channels, kind)
        except Exception:
            async with self._sessionmaker() as session, session.begin():
                await repo.release_digest(session, digest_id=digest_id)
            raise
        async with self._sessionmaker() as session, session.begin():
            await repo.mark_digest_sent(
                session, digest_id=digest_id, message=posted, now=self._clock.now()
            )
        log.info("posted the %s digest of %s for %s", kind, site.name, period.label)
        return 1

    def _chat_targets(self, site: Site, channels: list[str]) -> list[tuple[Any, str]]:
        targets: list[tuple[Any, str]] = []
        for adapter in self._adapters:
            for entry in channels:
                if entry in ("email", "webhook"):
                    continue
                if entry == "chat":
                    channel = getattr(site.channels, adapter.platform, None)
                    if adapter.platform == "console":
                        channel = channel or site.channels.console
                    if channel:
                        targets.append((adapter, str(channel)))
                else:
                    targets.append((adapter, entry))
        return targets

    async def _post(self, site: Site, card: Any, channels: list[str], kind: str) -> dict[str, Any]:
        refs: list[dict[str, Any]] = []
        for adapter, channel in self._chat_targets(site, channels):
            await self._limiter.wait(f"{adapter.platform}:{channel}")
            try:
                refs.append(dict(await adapter.post(channel, card=card)))
            except Exception:  # one platform's outage must not stop the others
                log.exception("posting the digest to %s %s failed", adapter.platform, channel)
        queued = 0
        wants_outbox = any(c in ("email", "webhook") for c in channels)
        if wants_outbox and self._deliverer is not None and site.delivery is not None:
            config = site.delivery
            if "email" not in channels:
                config = config.model_copy(update={"email": None})
            if "webhook" not in channels:
                config = config.model_copy(update={"webhooks": []})
            queued = await self._deliverer.enqueue(
                card=card,
                site=site.name,
                site_title=site.display_name,
                alert_id=None,
                event=f"digest_{kind}",
                severity=config.min_severity,  # a digest is not an alert: never filtered out
                config=config,
            )
        if not refs and not queued:
            raise RuntimeError(f"the {kind} digest of {site.name} reached no channel")
        return {"posts": refs, "deliveries": queued}
