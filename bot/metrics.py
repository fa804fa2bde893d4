"""Prometheus metrics for the web face's ``/metrics``.

Nothing on the hot paths is instrumented: the collector reads the pipeline's
counters when scraped, and a job refreshes a snapshot of database counts
(alerts by state, action requests by status, deliveries) every few seconds.
Chat latency is observed by the chat service through a callback.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import ActionRequestRow, AlertRow, DeliveryRow
from storage.usage import UsageTotals, usage_totals
from tools.telemetry import TelemetryPipeline

if TYPE_CHECKING:
    from bot.monitoring import IngestWatch

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@dataclass(slots=True)
class Snapshot:
    alerts: dict[str, int] = field(default_factory=dict)
    actions: dict[str, int] = field(default_factory=dict)
    deliveries: dict[str, int] = field(default_factory=dict)
    model_usage: dict[str, UsageTotals] = field(default_factory=dict)
    taken_at: float = 0.0


class _Collector(Collector):
    def __init__(self, metrics: Metrics) -> None:
        self._m = metrics

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        yield from self._telemetry()
        yield from self._ingest()
        snap = self._m.snapshot
        for name, help_text, values in (
            ("commandcenter_alerts", "Alerts by state", snap.alerts),
            ("commandcenter_action_requests", "Action requests by status", snap.actions),
            ("commandcenter_deliveries", "E-mail/webhook deliveries by status", snap.deliveries),
        ):
            family = GaugeMetricFamily(name, help_text, labels=["status"])
            for status, count in sorted(values.items()):
                family.add_metric([status], count)
            yield family
        yield from self._model_usage(snap.model_usage)

    @staticmethod
    def _model_usage(usage: dict[str, UsageTotals]) -> Iterator[CounterMetricFamily]:
        """Assistant turns, model calls, tokens and estimated cost, per model (from the
        database, so every process shows the totals of all)."""
        turns = CounterMetricFamily(
            "commandcenter_model_turns", "Assistant turns by model", labels=["model"]
        )
        calls = CounterMetricFamily(
            "commandcenter_model_calls", "Language-model calls by model", labels=["model"]
        )
        tokens = CounterMetricFamily(
            "commandcenter_model_tokens", "Model tokens by model and kind", labels=["model", "kind"]
        )
        cost = CounterMetricFamily(
            "commandcenter_model_cost_usd", "Estimated model cost in USD", labels=["model"]
        )
        for model, totals in sorted(usage.items()):
            turns.add_metric([model], totals.turns)
            calls.add_metric([model], totals.model_calls)
            tokens.add_metric([model, "prompt"], totals.prompt_tokens)
            tokens.add_metric([model, "completion"], totals.completion_tokens)
            cost.add_metric([model], totals.cost_usd)
        yield from (turns, calls, tokens, cost)

    def _telemetry(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        if self._m.pipeline is None:  # a web process without the worker's pipeline
            return
        stats = self._m.pipeline.stats
        readings = CounterMetricFamily(
            "commandcenter_readings", "Readings by outcome", labels=["outcome"]
        )
        readings.add_metric(["accepted"], stats.accepted)
        readings.add_metric(["rejected"], stats.rejected)
        readings.add_metric(["written"], stats.written)
        readings.add_metric(["dropped"], stats.dropped)
        yield readings
        yield CounterMetricFamily(
            "commandcenter_write_failures",
            "Batches the database refused",
            value=stats.write_failures,
        )
        yield GaugeMetricFamily(
            "commandcenter_ingest_buffered",
            "Readings waiting to be written",
            value=self._m.pipeline.buffered,
        )
        refused = CounterMetricFamily(
            "commandcenter_device_payloads_rejected",
            "Values a driver refused before they became readings (oversized, malformed, ...)",
            labels=["site", "device", "reason"],
        )
        for site, state in sorted(self._m.pipeline.states().items()):
            for device, reasons in sorted(state.payloads_rejected.items()):
                for reason, count in sorted(reasons.items()):
                    refused.add_metric([site, device, reason], count)
        yield refused
        lag = GaugeMetricFamily(
            "commandcenter_ingest_lag_seconds",
            "Age of the newest reading per site",
            labels=["site"],
        )
        now = time.time()
        for site, state in self._m.pipeline.states().items():
            if state.time is not None:
                lag.add_metric([site], max(0.0, now - state.time.timestamp()))
        yield lag

    def _ingest(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        """The worker's MQTT backlog, what it shed or delayed, gaps per device, and its
        overload alert (a worker process only)."""
        watch = self._m.ingest
        if watch is None:
            return
        snap = watch.snapshot()
        yield CounterMetricFamily(
            "commandcenter_ingest_messages",
            "MQTT messages received for a driver",
            value=snap.arrived,
        )
        yield GaugeMetricFamily(
            "commandcenter_ingest_backlog_messages",
            "MQTT messages waiting for the event loop",
            value=snap.backlog,
        )
        yield GaugeMetricFamily(
            "commandcenter_ingest_backlog_age_seconds",
            "How long the oldest waiting MQTT message has waited",
            value=snap.backlog_age_s,
        )
        shed = CounterMetricFamily(
            "commandcenter_ingest_shed",
            "MQTT messages dropped under overload, by reason (superseded first, then oldest)",
            labels=["reason"],
        )
        hubs = watch.hubs.all()
        shed.add_metric(["superseded"], sum(h.shed_superseded for h in hubs))
        shed.add_metric(["oldest"], sum(h.shed_oldest for h in hubs))
        yield shed
        yield CounterMetricFamily(
            "commandcenter_ingest_delayed",
            "MQTT messages handed on after waiting longer than the delay limit",
            value=snap.delayed,
        )
        _arrived, lost_per_s, delayed_per_s = watch.guard.rates()
        yield GaugeMetricFamily(
            "commandcenter_ingest_overloaded",
            "1 while the worker's ingest overload alert fires",
            value=1.0 if watch.guard.firing else 0.0,
        )
        rate = GaugeMetricFamily(
            "commandcenter_ingest_overload_readings_per_second",
            "Readings dropped or delayed per second over the guard's window",
            labels=["kind"],
        )
        rate.add_metric(["dropped"], lost_per_s)
        rate.add_metric(["delayed"], delayed_per_s)
        yield rate
        gaps = CounterMetricFamily(
            "commandcenter_ingest_device_gaps",
            "Gaps longer than the gap limit between a device's readings (devices with gaps)",
            labels=["site", "device"],
        )
        last_gap = GaugeMetricFamily(
            "commandcenter_ingest_device_last_gap_seconds",
            "The last such gap of a device",
            labels=["site", "device"],
        )
        stats = watch.pipeline.stats
        for (site, device), count in sorted(stats.gaps.items()):
            gaps.add_metric([site, device], count)
            last_gap.add_metric([site, device], stats.last_gap_s.get((site, device), 0.0))
        yield gaps
        yield last_gap


class Metrics:
    def __init__(
        self,
        *,
        pipeline: TelemetryPipeline | None,
        sessionmaker: async_sessionmaker[AsyncSession],
        ingest: IngestWatch | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.ingest = ingest
        self._sessionmaker = sessionmaker
        self.snapshot = Snapshot()
        self.registry = CollectorRegistry()
        self.registry.register(_Collector(self))
        from bot.site_metrics import register_worker_collectors
        from bot.version import version

        # each device's silence limit (set by the worker from the site file)
        self.device_stale_after_s: Callable[[str, str], float | None] | None = None
        register_worker_collectors(
            self.registry,
            pipeline.states if pipeline is not None else None,
            version=version(),
            stale_after_s=lambda site, device: (
                self.device_stale_after_s(site, device) if self.device_stale_after_s else None
            ),
        )
        self.chat_seconds = Histogram(
            "commandcenter_chat_seconds",
            "Time to answer a chat message",
            ["platform", "kind"],
            registry=self.registry,
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
        )

    def observe_chat(self, platform: str, kind: str, seconds: float) -> None:
        self.chat_seconds.labels(platform=platform, kind=kind).observe(seconds)

    async def refresh(self) -> None:
        """Count alerts, requests and deliveries by status (a scheduled job)."""
        async with self._sessionmaker() as session, session.begin():
            self.snapshot = Snapshot(
                alerts=await _counts(session, AlertRow.status),
                actions=await _counts(session, ActionRequestRow.status),
                deliveries=await _counts(session, DeliveryRow.status),
                model_usage=await usage_totals(session),
                taken_at=time.time(),
            )

    def render(self) -> bytes:
        return generate_latest(self.registry)


async def _counts(session: AsyncSession, column: object) -> dict[str, int]:
    rows = (await session.execute(select(column, func.count()).group_by(column))).all()  # type: ignore[call-overload]
    return {str(status): int(count) for status, count in rows}
