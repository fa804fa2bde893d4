"""Per-site and per-device metrics for a worker's ``/metrics``, and the standard
process, Python and build collectors.

Read from the telemetry pipeline's in-memory state when scraped: nothing on the
hot path. Series:

- ``commandcenter_site_readings_total{site,outcome}``: readings accepted or
  rejected per site (ingest per site; the lag per site is
  ``commandcenter_ingest_lag_seconds{site}``)
- ``commandcenter_device_up{site,device}``: 1 when the device delivered readings
  within its ``stale_after`` (the site file's, as the offline rule uses; 300 s when
  unknown) and its last poll worked, else 0
- ``commandcenter_device_last_seen_timestamp_seconds{site,device}``
- ``commandcenter_site_soc_percent{site}`` and
  ``commandcenter_site_power_watts{site,source}`` (pv, load, grid, battery,
  generator): the latest reading of each
- ``commandcenter_build_info{version,python}`` = 1, and the ``process_*`` and
  ``python_*`` series of prometheus-client
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, GCCollector, PlatformCollector, ProcessCollector
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from tools.telemetry import SiteState

POWER_SOURCES = {
    "pv": "pv_power_w",
    "load": "load_power_w",
    "grid": "grid_power_w",
    "battery": "battery_power_w",
    "generator": "generator_power_w",
}
DEFAULT_STALE_AFTER_S = 300.0


def site_file_stale_after(sites: Mapping[str, Any]) -> Callable[[str, str], float | None]:
    """Each device's ``stale_after`` from the sites (``None`` for unknown devices)."""

    def stale_after(site: str, device: str) -> float | None:
        config = sites.get(site)
        found = config.device(device) if config is not None else None
        return found.stale_after if found is not None else None

    return stale_after


class SiteCollector(Collector):
    def __init__(
        self,
        states: Callable[[], Mapping[str, SiteState]],
        *,
        stale_after_s: Callable[[str, str], float | None] | None = None,
        now: Callable[[], float] = time.time,
    ) -> None:
        self._states = states
        self._stale_after_s = stale_after_s or (lambda _site, _device: None)
        self._now = now

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        readings = CounterMetricFamily(
            "commandcenter_site_readings",
            "Readings per site by outcome of validation",
            labels=["site", "outcome"],
        )
        up = GaugeMetricFamily(
            "commandcenter_device_up",
            "1 when the device delivered readings recently and its last poll worked",
            labels=["site", "device"],
        )
        seen = GaugeMetricFamily(
            "commandcenter_device_last_seen_timestamp_seconds",
            "When the device last delivered readings (unix time)",
            labels=["site", "device"],
        )
        soc = GaugeMetricFamily(
            "commandcenter_site_soc_percent", "Latest battery state of charge", labels=["site"]
        )
        power = GaugeMetricFamily(
            "commandcenter_site_power_watts",
            "Latest power per source (grid: positive = import; battery: positive = charging)",
            labels=["site", "source"],
        )
        now = self._now()
        for site, state in sorted(self._states().items()):
            readings.add_metric([site, "accepted"], state.accepted)
            readings.add_metric([site, "rejected"], sum(state.rejected.values()))
            for device in sorted(set(state.seen) | set(state.device_errors)):
                limit = self._stale_after_s(site, device) or DEFAULT_STALE_AFTER_S
                when = state.seen.get(device)
                fresh = when is not None and now - when.timestamp() <= limit
                ok = not state.device_errors.get(device)
                up.add_metric([site, device], 1.0 if fresh and ok else 0.0)
                if when is not None:
                    seen.add_metric([site, device], when.timestamp())
            value = state.get("battery_soc_pct")
            if value is not None:
                soc.add_metric([site], value)
            for source, metric in POWER_SOURCES.items():
                value = state.get(metric)
                if value is not None:
                    power.add_metric([site, source], value)
        yield from (readings, up, seen, soc, power)


def build_info(version: str) -> GaugeMetricFamily:
    info = GaugeMetricFamily(
        "commandcenter_build_info", "The running version", labels=["version", "python"]
    )
    info.add_metric([version, platform.python_version()], 1.0)
    return info


class _BuildInfo(Collector):
    def __init__(self, version: str) -> None:
        self._family = build_info(version)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield self._family


def register_worker_collectors(
    registry: CollectorRegistry,
    states: Callable[[], Mapping[str, SiteState]] | None,
    *,
    version: str,
    stale_after_s: Callable[[str, str], float | None] | None = None,
) -> None:
    """Process, Python and build info on ``registry``; with ``states`` (a worker's
    pipeline) also the per-site and per-device series."""
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    registry.register(_BuildInfo(version))
    if states is not None:
        registry.register(SiteCollector(states, stale_after_s=stale_after_s))
