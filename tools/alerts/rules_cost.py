"""Cost rules: energy cost so far this local day and this local month against a budget.

Cost = grid import energy x the tariff of its hour - export energy x the export
price + fuel burned x the fuel price, from the history's hourly means (periodic
rules). Each hour's grid energy is its mean ``grid_power_w`` (positive = import)
times the hour (only the part before ``now`` for the current hour), priced by
:meth:`tools.site.Costs.grid_price_at` at the hour's local start; an hour that
both imported and exported is netted by the mean. Fuel is
:func:`tools.alerts.rules_generator.hourly_fuel_burned_l`. ``currency`` is only
a label.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from typing import Literal

import pandas as pd

from tools.alerts.context import History, RuleContext, RuleSpec, Verdict
from tools.alerts.rules_generator import hour_weights, hourly_fuel_burned_l, local_midnight
from tools.site import Site

__all__ = [
    "COST_HYSTERESIS_SHARE",
    "RULES",
    "CostBreakdown",
    "daily_cost_high",
    "local_month_start",
    "monthly_cost_high",
    "period_cost",
]

COST_HYSTERESIS_SHARE = 0.05
"""An open cost alert clears only below the budget minus this share of it."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CostBreakdown:
    """Energy and money over ``[start, end)``; costs in the site's currency.

    ``import_by_price`` maps a tariff [per kWh] to the kWh imported at it.
    ``grid_hours`` / ``fuel_hours`` count the hours with data.
    """

    start: datetime
    end: datetime
    import_kwh: float = 0.0
    import_cost: float = 0.0
    export_kwh: float = 0.0
    export_credit: float = 0.0
    fuel_l: float = 0.0
    fuel_cost: float = 0.0
    grid_hours: int = 0
    fuel_hours: int = 0
    import_by_price: dict[float, float] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return self.import_cost - self.export_credit + self.fuel_cost


def local_month_start(now: datetime, site: Site) -> datetime:
    """The start (UTC) of the local calendar month containing ``now``."""
    local = now.astimezone(site.tz)
    first = local.date().replace(day=1)
    return datetime.combine(first, time(0), tzinfo=site.tz).astimezone(UTC)


def _window(series: pd.Series, start: datetime, end: datetime) -> pd.Series:
    return series[(series.index >= start) & (series.index < end)].dropna()


def period_cost(history: History, site: Site, *, start: datetime, end: datetime) -> CostBreakdown:
    """The cost of the hours labelled in ``[start, end)`` (UTC) from ``history``."""
    costs = site.costs
    tz = site.tz
    grid = _window(history.hourly_mean("grid_power_w"), start, end) if site.grid.present else None
    import_kwh = import_cost = export_kwh = 0.0
    by_price: dict[float, float] = defaultdict(float)
    if grid is not None:
        weights = hour_weights(grid.index, end)
        for hour, power_w in grid.items():
            energy_kwh = float(power_w) / 1000.0 * float(weights[hour])
            if energy_kwh >= 0:
                local = pd.Timestamp(hour).tz_convert(tz)
                price = costs.grid_price_at(local.hour * 60 + local.minute)
                import_kwh += energy_kwh
                import_cost += energy_kwh * price
                by_price[price] += energy_kwh
            else:
                export_kwh -= energy_kwh
    fuel = (
        _window(hourly_fuel_burned_l(history, site, now=end), start, end)
        if site.generator is not None
        else pd.Series(dtype="float64")
    )
    fuel_l = float(fuel.sum())
    return CostBreakdown(
        start=start,
        end=end,
        import_kwh=import_kwh,
        import_cost=import_cost,
        export_kwh=export_kwh,
        export_credit=export_kwh * costs.export_price_per_kwh,
        fuel_l=fuel_l,
        fuel_cost=fuel_l * costs.fuel_price_per_l,
        grid_hours=0 if grid is None else len(grid),
        fuel_hours=len(fuel),
        import_by_price=dict(sorted(by_price.items())),
    )


def _has_cost_data(history: History, site: Site) -> bool:
    if site.grid.present and not history.hourly_mean("grid_power_w").dropna().empty:
        return True
    return site.generator is not None and not hourly_fuel_burned_l(history, site).empty


def _cost_rule(
    ctx: RuleContext, *, period: Literal["day", "month"], limit: float | None
) -> list[Verdict]:
    site, history = ctx.site, ctx.history
    if limit is None or history is None or not _has_cost_data(history, site):
        return []
    start = (
        local_midnight(ctx.now, site.tz) if period == "day" else local_month_start(ctx.now, site)
    )
    cost = period_cost(history, site, start=start, end=ctx.now)
    rule = "daily_cost_high" if period == "day" else "monthly_cost_high"
    clear_below = limit * (1.0 - COST_HYSTERESIS_SHARE) if ctx.current(rule) else limit
    if cost.total <= clear_below:
        return [Verdict(rule=rule, active=False, value=cost.total, category="cost")]
    cur = site.costs.currency
    when = "today" if period == "day" else f"in {start.astimezone(site.tz):%B %Y}"
    parts = []
    if site.grid.present:
        bands = ", ".join(
            f"{kwh:.1f} kWh at {price:g}" for price, kwh in cost.import_by_price.items()
        )
        parts.append(
            f"grid import {cost.import_kwh:.1f} kWh = {cur} {cost.import_cost:.2f}"
            + (f" ({bands})" if len(cost.import_by_price) > 1 else "")
        )
        if cost.export_kwh > 0:
            parts.append(f"export {cost.export_kwh:.1f} kWh = -{cur} {cost.export_credit:.2f}")
    if site.generator is not None:
        parts.append(f"fuel {cost.fuel_l:.1f} L = {cur} {cost.fuel_cost:.2f}")
    summary = (
        f"Energy cost {when} so far is {cur} {cost.total:.2f}, over the "
        f"{'daily' if period == 'day' else 'monthly'} budget of {cur} {limit:g}: "
        f"{'; '.join(parts)}."
    )
    evidence: list[tuple[str, str]] = [("Total", f"{cur} {cost.total:.2f}")]
    if site.grid.present:
        evidence += [
            ("Grid import", f"{cost.import_kwh:.1f} kWh, {cur} {cost.import_cost:.2f}"),
            ("Export", f"{cost.export_kwh:.1f} kWh, -{cur} {cost.export_credit:.2f}"),
        ]
    if site.generator is not None:
        evidence.append(("Fuel", f"{cost.fuel_l:.1f} L, {cur} {cost.fuel_cost:.2f}"))
    evidence.append(("Budget", f"{cur} {limit:g}"))
    return [
        Verdict(
            rule=rule,
            active=True,
            severity="warning",
            title=f"{'Daily' if period == 'day' else 'Monthly'} energy cost over budget at "
            f"{site.display_name}",
            summary=summary,
            value=cost.total,
            category="cost",
            evidence=tuple(evidence),
        )
    ]


def daily_cost_high(ctx: RuleContext) -> list[Verdict]:
    """Warning when the cost so far this local day exceeds ``daily_cost_max``.

    No verdict when the budget is None, without history, or when the history has no
    grid power (on a site with a grid) and no fuel data. ``value`` is the cost so far.
    """
    return _cost_rule(ctx, period="day", limit=ctx.thresholds.daily_cost_max)


def monthly_cost_high(ctx: RuleContext) -> list[Verdict]:
    """Warning when the cost so far this local month exceeds ``monthly_cost_max``."""
    return _cost_rule(ctx, period="month", limit=ctx.thresholds.monthly_cost_max)


RULES: tuple[RuleSpec, ...] = (
    RuleSpec(name="daily_cost_high", category="cost", fn=daily_cost_high, schedule="periodic"),
    RuleSpec(name="monthly_cost_high", category="cost", fn=monthly_cost_high, schedule="periodic"),
)
