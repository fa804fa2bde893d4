"""Two periods side by side, and this month's bill projected to its end (pure apart from
the two ``async`` entry points, which read the hourly stats through :class:`ReportService`).

Periods are named in words people use: ``today``, ``this_month``, ``january``,
``summer`` ... (:data:`PERIOD_WORDS`), resolved in the site's zone. Seasons are
meteorological (three whole months) and follow the site's hemisphere: ``summer`` is
June–August north of the equator and December–February south of it.

Honesty rules for the comparison:

- a period still in progress against the one before it of the same kind is compared
  with the same elapsed time of that one ("this month so far (12 days) vs the same
  12 days of November");
- periods of different lengths, or with gaps in their data, are compared per day of
  data rather than in totals;
- a change against almost nothing is "up from almost nothing", never "+1257 %";
  no figure is ever shown as "-0.0".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal, get_args
from zoneinfo import ZoneInfo

from tools.reports.analytics import PeriodAnalytics, analyse
from tools.reports.periods import (
    Period,
    PeriodError,
    custom_period,
    named_period,
    previous_period,
)
from tools.reports.service import ReportService
from tools.site import Site

__all__ = [
    "PERIOD_WORDS",
    "CostProjection",
    "Figure",
    "PeriodComparison",
    "PeriodWord",
    "change_text",
    "compare_periods",
    "comparison_text",
    "comparison_why",
    "cost_projection",
    "pair_periods",
    "project_costs",
    "projection_text",
    "projection_why",
    "resolve_period",
    "season_months",
    "tariff_configured",
]

PeriodWord = Literal[
    "today",
    "yesterday",
    "this_week",
    "last_week",
    "this_month",
    "last_month",
    "this_year",
    "last_year",
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "spring",
    "summer",
    "autumn",
    "winter",
]
PERIOD_WORDS: tuple[str, ...] = get_args(PeriodWord)
MONTHS: tuple[str, ...] = PERIOD_WORDS[8:20]
SEASONS: tuple[str, ...] = ("winter", "spring", "summer", "autumn")
MIN_SEASON_DAYS = 7
"""A season that began fewer days ago than this is too young to compare: the one before."""
COVERAGE = 0.9
"""A period with data in fewer of its elapsed hours than this share is compared per day."""
NEAR_ZERO_SHARE = 0.05
"""A base below this share of the new figure is "almost nothing" (no percentage)."""
SAME_PCT = 0.5
_EPSILON = {"kWh": 0.05, "L": 0.05, "money": 0.005}
_BEFORE = {
    "today": "yesterday",
    "this_week": "last_week",
    "this_month": "last_month",
    "this_year": "last_year",
}


def season_months(season: str, latitude: float) -> tuple[int, int, int]:
    """The three calendar months of ``season`` at ``latitude`` (meteorological seasons)."""
    north = {"winter": (12, 1, 2), "spring": (3, 4, 5), "summer": (6, 7, 8), "autumn": (9, 10, 11)}
    if latitude < 0:
        season = {"winter": "summer", "summer": "winter", "spring": "autumn", "autumn": "spring"}[
            season
        ]
    return north[season]


def _month_last(year: int, month: int) -> date:
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    return nxt - timedelta(days=1)


def _season_period(season: str, *, now: datetime, tz: ZoneInfo, latitude: float) -> Period:
    first_month = season_months(season, latitude)[0]
    today = now.astimezone(tz).date()
    year = today.year if (today.month, today.day) >= (first_month, 1) else today.year - 1
    first = date(year, first_month, 1)
    if (today - first).days < MIN_SEASON_DAYS:  # just begun: the one a year before
        first = date(year - 1, first_month, 1)
    end_month = (first_month + 1) % 12 + 1
    last = _month_last(first.year + (end_month < first_month), end_month)
    period = custom_period(first, last, now=now, tz=tz)
    span = f"{first.year}" if first.year == last.year else f"{first.year}–{last:%y}"
    label = f"{season} {span}" + (" (so far)" if period.in_progress else "")
    return _relabel(period, label)


def _relabel(period: Period, label: str, *, kind: str | None = None) -> Period:
    return Period(
        kind=kind or period.kind,  # type: ignore[arg-type]
        first=period.first,
        last=period.last,
        start=period.start,
        end=period.end,
        until=period.until,
        label=label,
    )


def resolve_period(word: str, *, now: datetime, tz: ZoneInfo, latitude: float) -> Period:
    """The period ``word`` names (one of :data:`PERIOD_WORDS`), in the site's zone.

    A month name is the most recent such month that has begun (this year's, or last
    year's when it is still to come); a season the most recent one that began at least
    :data:`MIN_SEASON_DAYS` ago."""
    word = word.strip().lower()
    if word in ("today", "yesterday", "this_week", "last_week", "this_month", "last_month"):
        return named_period(word, now=now, tz=tz)
    today = now.astimezone(tz).date()
    if word in ("this_year", "last_year"):
        year = today.year - (word == "last_year")
        period = custom_period(date(year, 1, 1), date(year, 12, 31), now=now, tz=tz)
        return _relabel(period, f"{year}" + (" (so far)" if period.in_progress else ""))
    if word in MONTHS:
        month = MONTHS.index(word) + 1
        year = today.year if month <= today.month else today.year - 1
        period = custom_period(date(year, month, 1), _month_last(year, month), now=now, tz=tz)
        label = f"{date(year, month, 1):%B %Y}" + (" (so far)" if period.in_progress else "")
        return _relabel(period, label, kind="month")
    if word in SEASONS:
        return _season_period(word, now=now, tz=tz, latitude=latitude)
    raise PeriodError(f"Unknown period {word!r}; use one of {', '.join(PERIOD_WORDS)}.")


def _same_elapsed(current: Period, before: Period) -> Period:
    """``before`` cut to the time ``current`` has run so far."""
    until = min(before.end, before.start + (current.until - current.start))
    if current.kind == "day":
        hours = (current.until - current.start) / timedelta(hours=1)
        label = f"the same {hours:.0f} h of {before.label}"
    else:
        name = before.label if before.kind != "month" else f"{before.first:%B %Y}"
        label = f"the same {_days((until - before.start) / timedelta(days=1))} of {name}"
    return Period(
        kind=before.kind,
        first=before.first,
        last=before.last,
        start=before.start,
        end=before.end,
        until=until,
        label=label,
    )


def pair_periods(
    first: str, second: str | None, *, now: datetime, tz: ZoneInfo, latitude: float
) -> tuple[Period, Period]:
    """The two periods to compare, in the order asked (changes are of the first against
    the second); ``second`` None means the period before ``first``. A day, week or month
    in progress against an earlier one of the same kind is matched with the same elapsed
    time of that one (see the module notes)."""
    a = resolve_period(first, now=now, tz=tz, latitude=latitude)
    second = second or _BEFORE.get(first)
    if second is None:  # "how did last month do?": against the period just before it
        b = previous_period(a, tz=tz)
        if a.kind == "month":
            b = _relabel(b, f"{b.first:%B %Y}")
    else:
        b = resolve_period(second, now=now, tz=tz, latitude=latitude)
    later, earlier = (a, b) if a.first >= b.first else (b, a)
    if (
        later.in_progress
        and not earlier.in_progress
        and earlier.end <= later.start
        and later.kind == earlier.kind
        and later.kind in ("day", "week", "month")
    ):
        cut = _same_elapsed(later, earlier)
        return (a, cut) if earlier is b else (cut, b)
    return a, b


# --- figures --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Figure:
    """One quantity in both periods (totals, or per day of data when ``per_day``)."""

    name: str
    unit: str  # kWh, L, or the currency
    now: float
    before: float
    money: bool = False


def _fig(value: float, digits: int = 1) -> str:
    """Rounded for display, never "-0.0"."""
    return f"{round(value, digits) + 0.0:,.{digits}f}"


def change_text(now: float, before: float, *, unit: str = "kWh") -> str:
    """The change from ``before`` to ``now`` in words: a percentage, or "up from none" /
    "up from almost nothing" when the base is nil or tiny, "about the same", "none in
    either"."""
    eps = _EPSILON.get(unit, _EPSILON["money"])
    if abs(now) < eps and abs(before) < eps:
        return "none in either"
    if abs(before) < eps:
        return "up from none"
    if abs(now) < eps:
        return "down to none"
    if abs(before) < NEAR_ZERO_SHARE * abs(now):
        return "up from almost nothing"
    if abs(now) < NEAR_ZERO_SHARE * abs(before):
        return "down to almost nothing"
    pct = (now / before - 1.0) * 100.0
    if abs(pct) < SAME_PCT:
        return "about the same"
    return f"{round(pct) + 0:+d} %"


@dataclass(frozen=True, slots=True, kw_only=True)
class PeriodComparison:
    site: Site
    current: Period  # the period asked about (changes are of it against ``before``)
    before: Period  # the one it is compared with
    current_hours: int  # hours with data
    before_hours: int
    per_day: bool  # figures are per day of data (lengths or coverage differ)
    figures: list[Figure]
    currency: str

    @property
    def current_days(self) -> float:
        return self.current_hours / 24.0

    @property
    def before_days(self) -> float:
        return self.before_hours / 24.0


def _elapsed_h(period: Period) -> float:
    return (period.until - period.start) / timedelta(hours=1)


def build_comparison(
    site: Site,
    current: Period,
    before: Period,
    now_a: PeriodAnalytics,
    before_a: PeriodAnalytics,
    *,
    costs: bool,
) -> PeriodComparison:
    """The figures of both periods, per day of data when their lengths or coverage differ."""
    hours_a, hours_b = now_a.flows.hours, before_a.flows.hours
    same_length = abs(_elapsed_h(current) - _elapsed_h(before)) <= 1.0  # a DST hour
    covered = hours_a >= COVERAGE * _elapsed_h(current) and hours_b >= COVERAGE * _elapsed_h(before)
    per_day = not (same_length and covered)
    scale_a = 24.0 / hours_a if per_day and hours_a else 1.0
    scale_b = 24.0 / hours_b if per_day and hours_b else 1.0
    fa, fb = now_a.flows, before_a.flows
    rows: list[tuple[str, str, float, float, bool]] = [
        ("solar", "kWh", fa.solar_kwh, fb.solar_kwh, False),
        ("load", "kWh", fa.load_kwh, fb.load_kwh, False),
    ]
    if site.grid.present or fa.grid_import_kwh or fb.grid_import_kwh:
        rows += [
            ("grid import", "kWh", fa.grid_import_kwh, fb.grid_import_kwh, False),
            ("grid export", "kWh", fa.grid_export_kwh, fb.grid_export_kwh, False),
        ]
    if site.generator is not None or fa.generator_kwh or fb.generator_kwh:
        rows += [
            ("generator", "kWh", fa.generator_kwh, fb.generator_kwh, False),
            ("fuel", "L", fa.fuel_l, fb.fuel_l, False),
        ]
    currency = now_a.costs.currency
    priced = any(x.grid_import_kwh or x.grid_export_kwh or x.fuel_l for x in (fa, fb))
    if costs and priced:  # no grid or fuel readings in either: no cost row (not "0.00")
        rows.append(("cost", currency, now_a.costs.total, before_a.costs.total, True))
    figures = [
        Figure(name=n, unit=u, now=a * scale_a, before=b * scale_b, money=m)
        for n, u, a, b, m in rows
        if m or n in ("solar", "load") or a or b  # no meter, no row (a grid without a meter)
    ]
    return PeriodComparison(
        site=site,
        current=current,
        before=before,
        current_hours=hours_a,
        before_hours=hours_b,
        per_day=per_day,
        figures=figures,
        currency=currency,
    )


async def compare_periods(
    reports: ReportService,
    site: Site,
    first: str,
    second: str | None = None,
    *,
    costs: bool,
) -> PeriodComparison:
    """Read both periods' hourly stats once and compare them."""
    now = reports.now()
    a, b = pair_periods(first, second, now=now, tz=site.tz, latitude=site.location.latitude)
    start, end = min(a.start, b.start), max(a.until, b.until)
    stats = await reports.stats(site, start, end)
    now_a = analyse(stats, site, start=a.start, end=a.until)
    before_a = analyse(stats, site, start=b.start, end=b.until)
    return build_comparison(site, a, b, now_a, before_a, costs=costs)


def _value(figure: Figure, value: float) -> str:
    if figure.money:
        return f"{figure.unit} {round(value, 2) + 0.0:,.2f}"
    return f"{_fig(value)} {figure.unit}"


def _pair(figure: Figure) -> str:
    change = change_text(figure.now, figure.before, unit="money" if figure.money else figure.unit)
    return (
        f"{figure.name} {_value(figure, figure.now)} vs {_value(figure, figure.before)} ({change})"
    )


def _days(days: float) -> str:
    whole = round(days)
    if abs(days - whole) < 0.05:
        return f"{whole} day{'s' * (whole != 1)}"
    return f"{days:.1f} days"


def _so_far(period: Period) -> str:
    """The label, with how far a period in progress has got: "May 2026 so far (12 days)"."""
    if not (period.in_progress and "(so far)" in period.label):
        return period.label
    hours = _elapsed_h(period)
    elapsed = f"{hours:.0f} h" if period.kind == "day" else _days(hours / 24)
    return period.label.replace("(so far)", f"so far ({elapsed})").strip()


def comparison_text(cmp: PeriodComparison) -> str:
    """The answer: which periods, then solar and load on the first line; the rest after."""
    a, b = cmp.current, cmp.before
    site = cmp.site.display_name
    if _elapsed_h(a) < 1 or _elapsed_h(b) < 1:
        young = a if _elapsed_h(a) < 1 else b
        return (
            f"{site}: {young.label.replace(' (so far)', '')} has only just begun, so there is "
            "nothing to compare yet; ask about the period before it (e.g. yesterday vs the "
            "day before)."
        )
    if not cmp.current_hours and not cmp.before_hours:
        return f"{site}: no stored readings for {a.label} or {b.label}, so nothing to compare."
    missing = [p.label for p, h in ((a, cmp.current_hours), (b, cmp.before_hours)) if not h]
    if missing:
        return (
            f"{site}: no stored readings for {missing[0]}, so I cannot compare it with "
            f"{b.label if missing[0] == a.label else a.label}."
        )
    head = f"{site}, {_so_far(a)} vs {_so_far(b)}"
    if cmp.per_day:
        head += ", per day of data"
    figures = cmp.figures
    first = [f for f in figures if f.name in ("solar", "load")]
    rest = [f for f in figures if f.name not in ("solar", "load")]
    lines = [f"{head}: " + "; ".join(_pair(f) for f in first) + "."]
    if rest:
        lines.append("; ".join(_pair(f)[0].upper() + _pair(f)[1:] for f in rest) + ".")
    if cmp.per_day:
        why = []
        if abs(_elapsed_h(a) - _elapsed_h(b)) > 1.0:
            why.append("the periods differ in length")
        for p, h in ((a, cmp.current_hours), (b, cmp.before_hours)):
            if h < COVERAGE * _elapsed_h(p):
                why.append(
                    f"{p.label} has data for only {_days(h / 24)} of {_days(_elapsed_h(p) / 24)}"
                )
        lines.append(
            f"Per-day averages ({_days(cmp.current_days)} vs {_days(cmp.before_days)} of data)"
            + (": " + "; ".join(why) if why else "")
            + "."
        )
    return "\n".join(lines)


def _span(period: Period, tz: ZoneInfo) -> str:
    start, until = period.start.astimezone(tz), period.until.astimezone(tz)
    return f"{start:%d %b %H:%M}–{until:%d %b %H:%M}"


def comparison_why(cmp: PeriodComparison) -> str:
    """The reasons behind a comparison (pure): the two windows and their hours of data,
    why totals or per-day figures, how changes are worded, and the prices used."""
    a, b, tz = cmp.current, cmp.before, cmp.site.tz
    lines = [
        f"Periods: {_so_far(a)} = {_span(a, tz)} with {cmp.current_hours} h of readings of "
        f"{_elapsed_h(a):.0f} h; {_so_far(b)} = {_span(b, tz)} with {cmp.before_hours} h of "
        f"{_elapsed_h(b):.0f} h (local time, {cmp.site.timezone}), from the hourly rollups."
    ]
    if b.label.startswith("the same ") or a.label.startswith("the same "):
        lines.append(
            "A period still in progress is compared with the same elapsed time of the one "
            "before it, not with all of it."
        )
    if cmp.per_day:
        lines.append(
            f"Per day of data: the lengths differ or a period has readings for less than "
            f"{COVERAGE * 100:.0f} % of its hours, so totals would not compare."
        )
    else:
        lines.append(
            f"Totals: same length and both with readings for at least {COVERAGE * 100:.0f} % "
            "of their hours."
        )
    lines.append(
        "Changes are of the first against the second; against less than "
        f"{NEAR_ZERO_SHARE * 100:.0f} % of it they read 'up from almost nothing' rather "
        f"than a percentage, and within {SAME_PCT:g} % 'about the same'."
    )
    if any(f.money for f in cmp.figures):
        site = cmp.site
        fuel = (
            f"diesel {site.costs.currency} {site.costs.fuel_price_per_l:.2f}/L"
            + ("" if _fuel_price_configured(site) else " (the default: none configured)")
            if site.generator is not None
            else ""
        )
        grid = _tariff_words(site) if site.grid.present else ""
        if site.grid.present and not tariff_configured(site):
            grid += " (the default: no tariff configured)"
        lines.append("Cost: " + ", ".join(x for x in (grid, fuel) if x) + " (site file).")
    return "Why: " + "\n".join(lines)


# --- cost projection -------------------------------------------------------------------------


def tariff_configured(site: Site) -> bool:
    """Whether the site file sets a grid price (a flat price or time-of-use periods)."""
    costs = site.costs
    return bool(costs.grid_periods) or "grid_price_per_kwh" in costs.model_fields_set


def _fuel_price_configured(site: Site) -> bool:
    return "fuel_price_per_l" in site.costs.model_fields_set


@dataclass(frozen=True, slots=True, kw_only=True)
class CostProjection:
    site: Site
    period: Period
    elapsed_days: float
    data_days: float
    remaining_days: float
    so_far: float
    grid_cost: float
    export_credit: float
    fuel_cost: float
    import_kwh: float
    fuel_l: float
    currency: str

    @property
    def per_day(self) -> float:
        return self.so_far / self.data_days if self.data_days > 0 else 0.0

    @property
    def projected(self) -> float:
        return self.so_far + self.per_day * self.remaining_days

    @property
    def budget(self) -> float | None:
        return self.site.costs.monthly_budget


def project_costs(site: Site, period: Period, analytics: PeriodAnalytics) -> CostProjection:
    """Month to date and the month-end figure at the per-day rate of the days with data."""
    flows, costs = analytics.flows, analytics.costs
    return CostProjection(
        site=site,
        period=period,
        elapsed_days=_elapsed_h(period) / 24.0,
        data_days=flows.hours / 24.0,
        remaining_days=(period.end - period.until) / timedelta(days=1),
        so_far=costs.total,
        grid_cost=costs.grid_cost,
        export_credit=costs.export_credit,
        fuel_cost=costs.fuel_cost,
        import_kwh=flows.grid_import_kwh,
        fuel_l=flows.fuel_l,
        currency=costs.currency,
    )


async def cost_projection(reports: ReportService, site: Site) -> CostProjection:
    period = named_period("this_month", now=reports.now(), tz=site.tz)
    stats = await reports.stats(site, period.start, period.until)
    return project_costs(site, period, analyse(stats, site, start=period.start, end=period.until))


def _money(currency: str, value: float) -> str:
    return f"{currency} {round(value, 2) + 0.0:,.2f}"


def _tariff_words(site: Site) -> str:
    c = site.costs
    if c.grid_periods:
        prices = sorted({p.price_per_kwh for p in c.grid_periods} | {c.grid_price_per_kwh})
        return (
            f"time-of-use grid tariff {c.currency} {prices[0]:.3f}–{prices[-1]:.3f}/kWh "
            f"({len(c.grid_periods)} period(s), {c.grid_price_per_kwh:.3f} otherwise)"
        )
    return f"grid {c.currency} {c.grid_price_per_kwh:.3f}/kWh flat"


def projection_why(p: CostProjection) -> str:
    """The reasons behind the month's cost projection (pure): prices, days so far and with
    data, and the projection method."""
    site, cur = p.site, p.currency
    month = f"{p.period.first:%B %Y}"
    lines = []
    if site.grid.present:
        lines.append(
            "Grid price: "
            + _tariff_words(site)
            + (
                " (site file)"
                if tariff_configured(site)
                else " (the default: no tariff in the site file)"
            )
            + "."
        )
    if site.generator is not None:
        lines.append(
            f"Diesel: {cur} {site.costs.fuel_price_per_l:.2f}/L"
            + (
                " (site file)"
                if _fuel_price_configured(site)
                else " (the default: no fuel price in the site file)"
            )
            + "."
        )
    lines.append(
        f"So far: {_days(p.elapsed_days)} of {month} elapsed, {_days(p.data_days)} of them "
        f"with readings in the hourly rollups; {_fig(p.import_kwh)} kWh imported, "
        f"{_fig(p.fuel_l)} L of fuel → {_money(cur, p.so_far)}."
    )
    if p.remaining_days > 0 and p.data_days > 0:
        lines.append(
            f"Projection: {_money(cur, p.so_far)} / {_days(p.data_days)} of data = "
            f"{_money(cur, p.per_day)}/day, times the {_days(p.remaining_days)} left, added "
            f"to what is spent: {_money(cur, p.projected)}. Straight-line: it assumes the "
            "rest of the month uses energy as the days so far did."
        )
    if p.budget is not None:
        lines.append(f"Budget: {_money(cur, p.budget)} (costs.monthly_budget in the site file).")
    return "Why: " + "\n".join(lines)


def projection_text(p: CostProjection) -> str:
    site, cur = p.site, p.currency
    month = f"{p.period.first:%B %Y}"
    if p.data_days <= 0:
        return (
            f"{site.display_name}: no stored readings for {month} yet, so there is no cost "
            "to project."
        )
    if not (p.import_kwh or p.fuel_l or p.export_credit):
        return (
            f"{site.display_name}, {month}: no grid import or fuel use recorded so far "
            f"({_days(p.elapsed_days)}), so nothing has cost money yet and "
            f"{_money(cur, 0.0)} is projected for the month."
        )
    head = (
        f"{site.display_name}, {month}: {_money(cur, p.so_far)} so far "
        f"({_days(p.elapsed_days)}); about {_money(cur, p.projected)} by the month's end "
        f"at {_money(cur, p.per_day)}/day."
    )
    if p.remaining_days <= 0:
        head = f"{site.display_name}, {month}: {_money(cur, p.so_far)} for the whole month."
    lines = [head]
    if p.budget is not None:
        diff = p.projected - p.budget
        if diff > 0.005:
            lines.append(f"Budget {_money(cur, p.budget)}: heading {_money(cur, diff)} over it.")
        else:
            lines.append(
                f"Budget {_money(cur, p.budget)}: on track, {_money(cur, -diff)} under it."
            )
    parts = []
    if site.grid.present or p.import_kwh:
        parts.append(f"grid {_money(cur, p.grid_cost)} for {_fig(p.import_kwh)} kWh")
    if p.export_credit:
        parts.append(f"export credit −{_money(cur, p.export_credit)}")
    if site.generator is not None or p.fuel_l:
        parts.append(
            f"fuel {_money(cur, p.fuel_cost)} for {_fig(p.fuel_l)} L at "
            f"{cur} {site.costs.fuel_price_per_l:.2f}/L"
        )
    prices = [_tariff_words(site)] if site.grid.present else []
    if parts:
        lines.append(
            "So far: " + "; ".join(parts) + ". Prices: " + ", ".join(prices or ["-"]) + "."
        )
    notes = []
    if site.grid.present and not tariff_configured(site):
        notes.append(
            f"No tariff is configured for this site: grid energy is priced at the default "
            f"{cur} {site.costs.grid_price_per_kwh:.2f}/kWh (set costs.grid_price_per_kwh or "
            "costs.grid_periods in the site file)"
        )
    if site.generator is not None and not _fuel_price_configured(site):
        notes.append(
            f"no fuel price is configured: diesel at the default {cur} "
            f"{site.costs.fuel_price_per_l:.2f}/L"
        )
    if p.data_days < COVERAGE * p.elapsed_days:
        notes.append(
            f"readings cover only {_days(p.data_days)} of the {_days(p.elapsed_days)}, so "
            "the rate is per day of data"
        )
    if p.elapsed_days < 3 and p.remaining_days > 0:
        notes.append("early in the month, so the projection is rough")
    if notes:
        text = "; ".join(notes)
        lines.append(text[0].upper() + text[1:] + ".")
    return "\n".join(lines)
