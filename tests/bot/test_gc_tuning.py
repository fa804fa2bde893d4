"""The worker's garbage-collector settings: frozen start-up objects, a higher young threshold."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from bot.gc_tuning import WORKER_GEN0_THRESHOLD, restore_gc, tune_worker_gc


@pytest.fixture
def clean_gc() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def test_tune_freezes_start_up_objects_and_raises_the_young_threshold(clean_gc: None) -> None:
    long_lived = [{"site": i} for i in range(1000)]  # what start-up leaves behind
    before = gc.get_threshold()
    settings = tune_worker_gc()
    assert settings.thresholds_before == before
    assert gc.get_threshold() == (WORKER_GEN0_THRESHOLD, before[1], before[2])
    assert settings.thresholds == gc.get_threshold()
    assert settings.frozen_objects == gc.get_freeze_count() >= len(long_lived)
    # Frozen objects are in no generation a collection scans.
    tracked = {id(o) for generation in range(3) for o in gc.get_objects(generation)}
    assert id(long_lived[0]) not in tracked
    restore_gc(settings)
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_cycles_made_after_tuning_are_still_collected(clean_gc: None) -> None:
    settings = tune_worker_gc(gen0_threshold=100)

    class Node:
        def __init__(self) -> None:
            self.me = self

    collected: list[int] = []

    import weakref

    refs = [weakref.ref(Node(), lambda r: collected.append(1)) for _ in range(50)]
    gc.collect()
    assert all(r() is None for r in refs)
    assert len(collected) == 50
    restore_gc(settings)


def test_threshold_must_be_positive(clean_gc: None) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        tune_worker_gc(gen0_threshold=0)
