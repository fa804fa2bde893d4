"""What the generator really burns: litres per kWh by load band, learned from history (pure).

The configured fuel curve is a table from a data sheet (or, without one, a
typical diesel table); a real generator, its altitude and its fuel burn what they
burn. From the site's hourly history of generator output [W] and fuel rate
[L/h] (or litres used per hour), :func:`learn_fuel_rate` finds the litres per
kWh in each load band (share of the rating while running) and says whether
there was enough running to trust it; :func:`days_of_fuel_left` turns the tank
level and the expected daily generator energy into days.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import pandas as pd

from tools.devices.simulator import fuel_rate_lph
from tools.site import Generator

__all__ = [
    "LOAD_BANDS",
    "MIN_BAND_HOURS",
    "LearnedFuel",
    "days_of_fuel_left",
    "learn_fuel_rate",
]

LOAD_BANDS: tuple[float, ...] = (0.0, 0.4, 0.7, 1.01)
"""Edges of the load bands (share of the rating while running): light, medium, heavy."""
MIN_BAND_HOURS = 6
"""Running hours a band needs before its own L/kWh is used."""
MIN_TOTAL_HOURS = 10
"""Running hours needed before anything is learned (else the configured curve)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LearnedFuel:
    """L/kWh per load band [L/kWh] and where each figure came from."""

    litres_per_kwh: tuple[float, ...]
    """One value per band of :data:`LOAD_BANDS`."""
    hours: tuple[int, ...]
    """Running hours behind each band's value (0: the configured curve's value)."""
    source: tuple[str, ...]
    """``"history"`` or ``"curve"`` per band."""
    overall_l_per_kwh: float
    """All running hours together [L/kWh] (history when learned, else the curve at 75 %)."""
    learned: bool
    note: str

    def at(self, load_fraction: float) -> float:
        """L/kWh at a load fraction of the rating."""
        band = int(np.clip(np.searchsorted(LOAD_BANDS, load_fraction, side="right") - 1, 0, 2))
        return self.litres_per_kwh[band]


def _curve_l_per_kwh(gen: Generator, fraction: float) -> float:
    return fuel_rate_lph(gen.curve, fraction) / (fraction * gen.rated_kw)


def learn_fuel_rate(gen: Generator, generator_w: pd.Series, fuel_lph: pd.Series) -> LearnedFuel:
    """L/kWh by load band from hourly means of generator output [W] and fuel rate [L/h]
    (on the same hour starts). Hours with the generator off (under 5 % of its rating)
    or without both readings are left out. A band with fewer than
    :data:`MIN_BAND_HOURS` running hours takes the configured curve at its middle."""
    frame = pd.concat([generator_w.rename("w"), fuel_lph.rename("lph")], axis=1).dropna()
    frame = frame[(frame["w"] > 0.05 * gen.rated_kw * 1000.0) & (frame["lph"] > 0)]
    fraction = frame["w"].to_numpy() / (gen.rated_kw * 1000.0)
    values: list[float] = []
    hours: list[int] = []
    sources: list[str] = []
    total = len(frame)
    for lo, hi in pairwise(LOAD_BANDS):
        sel = (fraction >= lo) & (fraction < hi)
        n = int(sel.sum())
        if total >= MIN_TOTAL_HOURS and n >= MIN_BAND_HOURS:
            kwh = float(frame["w"].to_numpy()[sel].sum()) / 1000.0
            values.append(float(frame["lph"].to_numpy()[sel].sum()) / kwh)
            hours.append(n)
            sources.append("history")
        else:
            values.append(_curve_l_per_kwh(gen, max(0.1, (lo + min(hi, 1.0)) / 2.0)))
            hours.append(0)
            sources.append("curve")
    learned = "history" in sources
    if learned:
        overall = float(frame["lph"].sum()) / (float(frame["w"].sum()) / 1000.0)
        curve = _curve_l_per_kwh(gen, 0.75)
        note = (
            f"fuel from the site's own history: {overall:.2f} L/kWh over {total} running "
            f"hours (the {'configured' if gen.fuel_curve else 'synthetic'} curve says "
            f"{curve:.2f} L/kWh at 75 % load)"
        )
    else:
        overall = _curve_l_per_kwh(gen, 0.75)
        note = (
            f"fuel from the {'configured' if gen.fuel_curve else 'synthetic'} curve "
            f"({overall:.2f} L/kWh at 75 % load): {total} running hours in the history, "
            f"{MIN_TOTAL_HOURS} needed to learn the generator's own"
        )
    return LearnedFuel(
        litres_per_kwh=tuple(values),
        hours=tuple(hours),
        source=tuple(sources),
        overall_l_per_kwh=overall,
        learned=learned,
        note=note,
    )


def days_of_fuel_left(
    fuel_now_l: float, energy_kwh_per_day: float, l_per_kwh: float
) -> float | None:
    """Days until the tank is empty at ``energy_kwh_per_day`` of generator energy; None
    when the generator is not expected to run."""
    if fuel_now_l < 0:
        raise ValueError(f"fuel_now_l must not be negative (got {fuel_now_l})")
    burn = energy_kwh_per_day * l_per_kwh
    return None if burn <= 0 else fuel_now_l / burn
