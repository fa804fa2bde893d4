"""Generator fuel forecast from a daily energy deficit (pure math, no I/O).

:func:`fuel_forecast` turns the energy the generator must supply each day [Wh]
into hours of running and litres, reading the generator's fuel curve
(load fraction -> L/h) at one loading. A site without its own curve uses the
synthetic one of :func:`tools.site.default_fuel_curve`, and the forecast says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd

from tools.devices.simulator import fuel_rate_lph
from tools.site import Site

__all__ = ["DEFAULT_LOADING_FRACTION", "FuelForecast", "fuel_forecast"]

DEFAULT_LOADING_FRACTION = 0.75
"""The generator is assumed to run at this share of its rating while it runs [0..1].

Diesels are most economical per kWh near full load; three quarters leaves
headroom for load steps and keeps them clear of light-load wet stacking.
"""

FloatArray: TypeAlias = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True, kw_only=True)
class FuelForecast:
    """Fuel needed to cover a daily deficit.

    ``litres_per_day`` [L] and ``run_hours_per_day`` [h] have one value per day
    (a Series when the deficit was one); ``days_of_tank_left`` is the number of
    days (fractional) until the fuel now in the tank is used up, ``None`` when it
    lasts beyond the forecast. ``curve_synthetic`` is True when the site has no
    fuel curve of its own: the litres are then an estimate from a typical
    diesel table, and ``curve_label`` says so in words.
    """

    litres_per_day: pd.Series
    run_hours_per_day: pd.Series
    total_l: float
    total_energy_kwh: float
    loading_fraction: float
    fuel_rate_lph: float
    litres_per_kwh: float
    fuel_now_l: float
    days_of_tank_left: float | None
    cost: float
    currency: str
    curve_synthetic: bool
    curve_label: str


def fuel_forecast(
    site: Site,
    *,
    deficit_wh_per_day: pd.Series | Sequence[float] | FloatArray,
    loading_fraction: float = DEFAULT_LOADING_FRACTION,
    fuel_now_l: float | None = None,
) -> FuelForecast:
    """Litres per day and in total to supply ``deficit_wh_per_day`` [Wh] with the generator.

    The generator is assumed to run at ``loading_fraction`` of its rating while
    on, so a day needs ``deficit / (fraction * rated)`` hours at the curve's
    rate for that fraction. ``fuel_now_l`` defaults to the site's
    ``initial_fuel_l``, else a full tank. Negative deficits count as zero.
    """
    gen = site.generator
    if gen is None:
        raise ValueError(f"site {site.name} has no generator to forecast fuel for")
    if not 0.0 < loading_fraction <= 1.0:
        raise ValueError(f"loading_fraction must be within (0, 1] (got {loading_fraction})")
    if isinstance(deficit_wh_per_day, pd.Series):
        deficit = deficit_wh_per_day.clip(lower=0.0).astype(np.float64)
    else:
        deficit = pd.Series(np.maximum(np.asarray(deficit_wh_per_day, dtype=np.float64), 0.0))
    if not np.all(np.isfinite(deficit.to_numpy())):
        raise ValueError("deficit_wh_per_day contains NaN or infinite values")
    rate_lph = fuel_rate_lph(gen.curve, loading_fraction)
    output_kw = loading_fraction * gen.rated_kw
    hours = (deficit / 1000.0 / output_kw).rename("run_hours")
    litres = (hours * rate_lph).rename("fuel_l")
    total_l = float(litres.sum())
    fuel_now = (
        fuel_now_l
        if fuel_now_l is not None
        else (gen.initial_fuel_l if gen.initial_fuel_l is not None else gen.tank_l)
    )
    days_left: float | None = None
    cumulative = litres.cumsum().to_numpy()
    if len(cumulative) and cumulative[-1] > fuel_now:
        day = int(np.argmax(cumulative > fuel_now))
        before = cumulative[day - 1] if day > 0 else 0.0
        days_left = day + (fuel_now - before) / float(litres.iloc[day])
    synthetic = gen.fuel_curve is None
    label = (
        "synthetic fuel curve (typical diesel table scaled to "
        f"{gen.rated_kw:g} kW; enter the generator's own table in the site file)"
        if synthetic
        else f"{gen.name}'s fuel curve from the site file"
    )
    return FuelForecast(
        litres_per_day=litres,
        run_hours_per_day=hours,
        total_l=total_l,
        total_energy_kwh=float(deficit.sum() / 1000.0),
        loading_fraction=loading_fraction,
        fuel_rate_lph=rate_lph,
        litres_per_kwh=rate_lph / output_kw,
        fuel_now_l=fuel_now,
        days_of_tank_left=days_left,
        cost=total_l * site.costs.fuel_price_per_l,
        currency=site.costs.currency,
        curve_synthetic=synthetic,
        curve_label=label,
    )
