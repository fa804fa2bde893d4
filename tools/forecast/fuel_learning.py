"""What the generator really burns: litres per kWh by load band, learned from history (pure).

The configured fuel curve is a table from a data sheet (or, without one, a
typical diesel table); a real generator, its altitude and its fuel burn what they
burn. Two ways to learn it from the site's hourly history:

- :func:`learn_fuel_rate`: hourly means of generator output [W] and of a fuel
  flow meter [L/h]; each running hour is one sample.
- :func:`learn_fuel_from_level`: hourly means of output and of the tank level
  [L] when no flow is measured. Each *run* is one sample: the level in the hour
  before it starts minus the level in the hour after it stops (both hours with
  the generator off, so the level is flat there). Hourly level drops would put
  half of each run's last hour into the following, stopped, hour. A run during
  which the level rises (a refill while running) or with no level on either side
  is left out; refills between runs do not matter.

A band (share of the rating while running) with at least :data:`MIN_BAND_HOURS`
running hours gets its own L/kWh once there are :data:`MIN_TOTAL_HOURS` in all;
the other bands keep the configured curve's shape, scaled by what the generator
burned against the curve in the learned hours (a generator burning 50 % more
than its data sheet at full load is unlikely to match it at half load).
:func:`days_of_fuel_left` turns the tank level and a daily burn into days.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import pandas as pd

from tools.devices.simulator import fuel_rate_lph
from tools.site import Generator

__all__ = [
    "BAND_NAMES",
    "LOAD_BANDS",
    "MIN_BAND_HOURS",
    "MIN_TOTAL_HOURS",
    "RUNNING_SHARE",
    "FuelSample",
    "LearnedFuel",
    "days_of_fuel_left",
    "learn_from_samples",
    "learn_fuel_from_level",
    "learn_fuel_rate",
]

LOAD_BANDS: tuple[float, ...] = (0.0, 0.4, 0.7, 1.01)
"""Edges of the load bands (share of the rating while running): light, medium, heavy."""
BAND_NAMES: tuple[str, ...] = ("light (<40 %)", "medium (40-70 %)", "heavy (>70 %)")
MIN_BAND_HOURS = 6
"""Running hours a band needs before its own L/kWh is used."""
MIN_TOTAL_HOURS = 10
"""Running hours needed before anything is learned (else the configured curve)."""
RUNNING_SHARE = 0.05
"""An hour counts as running when its mean output is above this share of the rating."""
LEVEL_RISE_TOLERANCE_L = 1.0
"""A run whose hourly level rises by more than this [L] was refilled while running."""


@dataclass(frozen=True, slots=True, kw_only=True)
class FuelSample:
    """One stretch of running: ``hours`` [h] at ``fraction`` of the rating on average
    while running, ``energy_kwh`` out, ``fuel_l`` burned, and ``curve_l`` that the
    configured curve says it should have burned."""

    hours: float
    fraction: float
    energy_kwh: float
    fuel_l: float
    curve_l: float
    start: pd.Timestamp | None = None
    """When the run (or hour) started (UTC)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LearnedFuel:
    """L/kWh per load band [L/kWh] and where each figure came from."""

    litres_per_kwh: tuple[float, ...]
    """One value per band of :data:`LOAD_BANDS`."""
    hours: tuple[int, ...]
    """Running hours behind each band's value (0: from the configured curve)."""
    source: tuple[str, ...]
    """``"history"``, ``"scaled curve"`` (curve × the learned ratio) or ``"curve"``."""
    factors: tuple[float, ...]
    """Fuel burned over what the curve says, per band (1.0 where nothing was learned)."""
    overall_l_per_kwh: float
    """All running hours together [L/kWh] (history when learned, else the curve at 75 %)."""
    curve_l_per_kwh: float
    """The configured (or synthetic) curve at 75 % load [L/kWh]."""
    run_hours: float
    """Running hours with fuel data behind the figures [h]."""
    learned: bool
    synthetic_curve: bool
    note: str

    def at(self, load_fraction: float) -> float:
        """L/kWh at a load fraction of the rating."""
        return self.litres_per_kwh[_band(load_fraction)]

    def curve(self, gen: Generator) -> list[tuple[float, float]]:
        """The generator's fuel curve [L/h by load fraction] with each point scaled by its
        band's factor: what the plans and fuel forecast read when something was learned."""
        return [(f, round(lph * self.factors[_band(f)], 4)) for f, lph in gen.curve]

    @property
    def label(self) -> str:
        """One line saying which rate is used: learned, or the curve and why."""
        if self.learned:
            return f"{self.overall_l_per_kwh:.2f} L/kWh learned from {self.run_hours:.0f} run hours"
        kind = "synthetic curve" if self.synthetic_curve else "configured curve"
        return (
            f"{kind} {self.curve_l_per_kwh:.2f} L/kWh; not enough history "
            f"({self.run_hours:.0f} h of running with fuel data, {MIN_TOTAL_HOURS} h needed)"
        )


def _band(load_fraction: float) -> int:
    return int(np.clip(np.searchsorted(LOAD_BANDS, load_fraction, side="right") - 1, 0, 2))


def _curve_l_per_kwh(gen: Generator, fraction: float) -> float:
    return fuel_rate_lph(gen.curve, fraction) / (fraction * gen.rated_kw)


def learn_from_samples(gen: Generator, samples: Sequence[FuelSample]) -> LearnedFuel:
    """Per-band L/kWh from running samples (see the module docstring for the rules)."""
    total_h = float(sum(s.hours for s in samples))
    band_of = [_band(s.fraction) for s in samples]
    values: list[float] = []
    hours: list[int] = []
    sources: list[str] = []
    factors: list[float] = []
    learned_fuel = learned_curve = 0.0
    for band in range(len(LOAD_BANDS) - 1):
        mine = [s for s, b in zip(samples, band_of, strict=True) if b == band]
        h = float(sum(s.hours for s in mine))
        kwh = float(sum(s.energy_kwh for s in mine))
        if total_h >= MIN_TOTAL_HOURS and h >= MIN_BAND_HOURS and kwh > 0:
            fuel = float(sum(s.fuel_l for s in mine))
            curve = float(sum(s.curve_l for s in mine))
            values.append(fuel / kwh)
            hours.append(round(h))
            sources.append("history")
            factors.append(fuel / curve if curve > 0 else 1.0)
            learned_fuel += fuel
            learned_curve += curve
        else:
            values.append(np.nan)
            hours.append(0)
            sources.append("curve")
            factors.append(1.0)
    learned = "history" in sources
    scale = learned_fuel / learned_curve if learned and learned_curve > 0 else 1.0
    for band, (lo, hi) in enumerate(pairwise(LOAD_BANDS)):
        if sources[band] == "curve":
            values[band] = _curve_l_per_kwh(gen, max(0.1, (lo + min(hi, 1.0)) / 2.0)) * scale
            if learned:
                sources[band] = "scaled curve"
                factors[band] = scale
    curve_75 = _curve_l_per_kwh(gen, 0.75)
    synthetic = gen.fuel_curve is None
    kind = "synthetic" if synthetic else "configured"
    if learned:
        overall = float(sum(s.fuel_l for s in samples)) / float(sum(s.energy_kwh for s in samples))
        note = (
            f"fuel from the site's own history: {overall:.2f} L/kWh over {total_h:.0f} running "
            f"hours (the {kind} curve says {curve_75:.2f} L/kWh at 75 % load)"
        )
    else:
        overall = curve_75
        note = (
            f"fuel from the {kind} curve ({overall:.2f} L/kWh at 75 % load): {total_h:.0f} "
            f"running hours in the history, {MIN_TOTAL_HOURS} needed to learn the generator's own"
        )
    return LearnedFuel(
        litres_per_kwh=tuple(float(v) for v in values),
        hours=tuple(hours),
        source=tuple(sources),
        factors=tuple(factors),
        overall_l_per_kwh=overall,
        curve_l_per_kwh=curve_75,
        run_hours=total_h,
        learned=learned,
        synthetic_curve=synthetic,
        note=note,
    )


def _running(
    gen: Generator, generator_w: pd.Series, running_share: pd.Series | None
) -> pd.DataFrame:
    """Hourly output [W] and the share of each hour the generator ran (1.0 without a
    ``generator_running`` series), for the hours it ran."""
    frame = generator_w.rename("w").dropna().to_frame()
    share = (
        running_share.reindex(frame.index).clip(0.0, 1.0)
        if running_share is not None
        else pd.Series(np.nan, index=frame.index)
    )
    frame["share"] = share.where(share > 0).fillna(1.0)
    return frame[frame["w"] > RUNNING_SHARE * gen.rated_kw * 1000.0]


def learn_fuel_rate(
    gen: Generator,
    generator_w: pd.Series,
    fuel_lph: pd.Series,
    running_share: pd.Series | None = None,
) -> LearnedFuel:
    """L/kWh by load band from hourly means of generator output [W] and a fuel flow
    meter [L/h] (on the same hour starts). Hours with the generator off (under
    :data:`RUNNING_SHARE` of its rating) or without both readings are left out.
    ``running_share`` (hourly mean of ``generator_running``) makes the load fraction
    that of the running part of an hour."""
    frame = _running(gen, generator_w, running_share).join(fuel_lph.rename("lph"), how="inner")
    frame = frame[frame["lph"] > 0].dropna()
    samples = []
    for w, share, lph in frame[["w", "share", "lph"]].itertuples(index=False):
        fraction = min(w / share / (gen.rated_kw * 1000.0), 1.0)
        samples.append(
            FuelSample(
                hours=share,
                fraction=fraction,
                energy_kwh=w / 1000.0,
                fuel_l=lph,
                curve_l=fuel_rate_lph(gen.curve, fraction) * share,
            )
        )
    return learn_from_samples(gen, samples)


def level_run_samples(
    gen: Generator,
    generator_w: pd.Series,
    level_l: pd.Series,
    running_share: pd.Series | None = None,
) -> list[FuelSample]:
    """One sample per run (consecutive running hours) from the tank level's hourly means:
    the level in the hour before the run minus the level in the hour after it."""
    runs = _running(gen, generator_w, running_share)
    level = level_l.dropna().sort_index()
    if runs.empty or level.empty:
        return []
    hour = pd.Timedelta(hours=1)
    starts = runs.index[(runs.index.to_series().diff() != hour).to_numpy()]
    samples: list[FuelSample] = []
    for start in starts:
        block = [start]
        while block[-1] + hour in runs.index:
            block.append(block[-1] + hour)
        before, after = start - hour, block[-1] + hour
        if before not in level.index or after not in level.index:
            continue  # no level on one side: cannot tell what the run burned
        inside = level[(level.index >= before) & (level.index <= after)]
        if float(inside.diff().max()) > LEVEL_RISE_TOLERANCE_L:
            continue  # refilled while running
        fuel = float(level[before] - level[after])
        if fuel <= 0:
            continue
        rows = runs.loc[block]
        run_h = float(rows["share"].sum())
        kwh = float(rows["w"].sum()) / 1000.0
        fractions = (rows["w"] / rows["share"] / (gen.rated_kw * 1000.0)).clip(upper=1.0)
        curve_l = float(
            sum(
                fuel_rate_lph(gen.curve, f) * s
                for f, s in zip(fractions, rows["share"], strict=True)
            )
        )
        samples.append(
            FuelSample(
                hours=run_h,
                fraction=kwh / run_h / gen.rated_kw,
                energy_kwh=kwh,
                fuel_l=fuel,
                curve_l=curve_l,
                start=start,
            )
        )
    return samples


def learn_fuel_from_level(
    gen: Generator,
    generator_w: pd.Series,
    level_l: pd.Series,
    running_share: pd.Series | None = None,
) -> LearnedFuel:
    """L/kWh by load band from the tank level's drop over each run (no flow meter)."""
    return learn_from_samples(gen, level_run_samples(gen, generator_w, level_l, running_share))


def days_of_fuel_left(
    fuel_now_l: float, energy_kwh_per_day: float, l_per_kwh: float
) -> float | None:
    """Days until the tank is empty at ``energy_kwh_per_day`` of generator energy; None
    when the generator is not expected to run."""
    if fuel_now_l < 0:
        raise ValueError(f"fuel_now_l must not be negative (got {fuel_now_l})")
    burn = energy_kwh_per_day * l_per_kwh
    return None if burn <= 0 else fuel_now_l / burn
