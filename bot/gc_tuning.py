"""The garbage collector's settings for a long-running worker.

On the ingest path the cyclic collector costs about a third of the worker's CPU
per message (``bot.bench.fleet_replay``: most allocations trigger a young
collection every 700 objects, and every tenth of those rescans the middle
generation, full of the start-up's long-lived objects: sites, drivers, rules,
SQLAlchemy and asyncpg machinery). Readings are freed by reference counting
(they hold no cycles), so collecting less often changes little besides the CPU.

:func:`tune_worker_gc` is called once, in the worker's entry point after start-up
(never at import): it collects what start-up left, moves every surviving object
to the permanent generation (``gc.freeze()``, so no later collection scans it
again) and raises the young generation's threshold.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass

#: Objects allocated (net of frees) before a young collection; CPython's default is 700.
WORKER_GEN0_THRESHOLD = 50_000


@dataclass(frozen=True, slots=True)
class GcSettings:
    """What :func:`tune_worker_gc` changed: enough to put it back."""

    thresholds_before: tuple[int, int, int]
    thresholds: tuple[int, int, int]
    frozen_objects: int


def tune_worker_gc(*, gen0_threshold: int = WORKER_GEN0_THRESHOLD) -> GcSettings:
    """Collect, freeze the survivors of start-up and raise the young threshold."""
    if gen0_threshold < 1:
        raise ValueError("gen0_threshold must be at least 1")
    before = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(gen0_threshold, before[1], before[2])
    return GcSettings(
        thresholds_before=before,
        thresholds=gc.get_threshold(),
        frozen_objects=gc.get_freeze_count(),
    )


def restore_gc(settings: GcSettings) -> None:
    """Undo :func:`tune_worker_gc` (tests, and a process that goes on after its worker)."""
    gc.unfreeze()
    gc.set_threshold(*settings.thresholds_before)
