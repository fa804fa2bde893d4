"""Measured data for the alert-rule tests: loaders, the sites behind them, and a replay
that builds the :class:`History` and :class:`SiteState` a rule would see at any time.

Data (``shared/data``, see each file's ``.source.txt``):

- ``pv/snow_data.csv``, ``pv/snow_snowfall.csv``, ``pv/ac_power_inv_2173_stale_data.csv``,
  ``pv/serf_east_15min_ac_power.csv``, ``pv/serf_east_psm3_data.csv``: from
  pvlib/pvanalytics (MIT; NREL PVDAQ / DuraMAT DataHub / Sandia, open data);
- ``load/emhass_long_train_data_2024-2025_30min.csv``: from davidusb-geek/emhass (MIT).

Files are found with :func:`tests.conftest.shared_data`, which skips when the shared
folder is missing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd

from tests.conftest import shared_data
from tools.alerts.context import History, RuleContext, Severity, Verdict
from tools.domain import Reading
from tools.site import AlertThresholds, Location, PvArray, Site
from tools.telemetry import SiteState

Key = tuple[str, str]

# --- sites -------------------------------------------------------------------------------


def snow_site() -> Site:
    """The 60 kW (AC) utility system of ``snow_data.csv``.

    The owner withheld its location; the file carries pvlib solar-position columns
    instead. Fitting those columns gives a fixed array at tilt 35°, azimuth 225°,
    timestamps at UTC-5 and a latitude near 42.6°N; the site below uses a coarse
    position (whole degrees) with the same sun geometry to within about half a
    degree, not the plant's location. Capacity: Solectria PVI 60TL (60 kW AC,
    source); DC ≈ 72.8 kWp = 3 combiner boxes (AC power ≈ 2.9 × the CB2 DC power
    in the data) × 4 strings × 18 modules × 337 W (the module's SAPM Impo × Vmpo in
    pvanalytics' snow example).
    """
    return Site(
        name="snow-site",
        timezone="America/New_York",
        location=Location(latitude=43.0, longitude=-73.0),
        pv_arrays=[PvArray(name="inv1", kwp=72.8, tilt_deg=35, azimuth_deg=225, inverter_kw=60.0)],
    )


def serf_site() -> Site:
    """NREL SERF East, Golden CO (PVDAQ system 50): ~6 kW DC, tilt 45°, azimuth 158°.

    Altitude 1828 m as in the demo site (the same building); no inverter limit stated.
    """
    return Site(
        name="serf-east",
        timezone="America/Denver",
        location=Location(latitude=39.7406, longitude=-105.1727, altitude_m=1828),
        pv_arrays=[PvArray(name="east", kwp=6.0, tilt_deg=45, azimuth_deg=158)],
    )


def emhass_site() -> Site:
    """The EMHASS author's house (France, Europe/Paris); PV not needed for load rules."""
    return Site(
        name="emhass-house",
        timezone="Europe/Paris",
        location=Location(latitude=48.83, longitude=6.86),
    )


# --- readers -----------------------------------------------------------------------------


def read_snow_pv() -> pd.Series:
    """AC power of INV1 [W], UTC; night rows (NaN) dropped. Naive times are UTC-5."""
    df = pd.read_csv(shared_data("pv/snow_data.csv"))
    index = pd.DatetimeIndex(pd.to_datetime(df["Timestamp"], format="%m/%d/%Y %H:%M"))
    power = pd.Series(
        df["INV1 AC Power [kW]"].to_numpy() * 1000.0,
        index=index.tz_localize("Etc/GMT+5").tz_convert("UTC"),
        name="pv_power_w",
    )
    return power.dropna().clip(lower=0.0)


def read_snowfall() -> pd.Series:
    """Daily snowfall [mm, probably] by date (measured at 07:00 for the prior 24 h)."""
    df = pd.read_csv(shared_data("pv/snow_snowfall.csv"), parse_dates=["DATE"])
    return pd.Series(df["SNOW"].to_numpy(), index=df["DATE"].dt.date, name="snow")


def read_serf_pv() -> pd.Series:
    """SERF East AC power [W], UTC; the small negative night tare clipped to 0."""
    df = pd.read_csv(shared_data("pv/serf_east_15min_ac_power.csv"))
    index = pd.DatetimeIndex(pd.to_datetime(df["measured_on"], utc=True))
    return pd.Series(df["ac_power"].to_numpy(), index=index, name="pv_power_w").clip(lower=0.0)


def serf_clear_days(min_clearness: float = 0.95) -> list[date]:
    """Local days whose satellite GHI (NSRDB PSM3) is at least ``min_clearness`` of clear-sky."""
    df = pd.read_csv(shared_data("pv/serf_east_psm3_data.csv"))
    index = pd.DatetimeIndex(pd.to_datetime(df["measured_on"], utc=True)).tz_convert(
        "America/Denver"
    )
    daily = df[["ghi", "ghi_clear"]].set_axis(index).resample("D").sum()
    daily = daily[daily["ghi_clear"] > 1000]
    clear = daily[daily["ghi"] >= min_clearness * daily["ghi_clear"]]
    return [stamp.date() for stamp in clear.index]


STALE_SCALE_W = 10_000.0
"""The stale-data file is min-max normalised; readings are scaled to a notional 10 kW."""


def read_stale() -> pd.DataFrame:
    """Columns ``pv_power_w`` (normalised × :data:`STALE_SCALE_W`) and ``stale`` (label), UTC;
    rows without a value dropped."""
    df = pd.read_csv(shared_data("pv/ac_power_inv_2173_stale_data.csv"))
    index = pd.DatetimeIndex(pd.to_datetime(df["timestamp"], utc=True))
    out = pd.DataFrame(
        {
            "pv_power_w": df["value_normalized"].to_numpy() * STALE_SCALE_W,
            "stale": df["stale_data_mask"].astype(bool).to_numpy(),
        },
        index=index,
    )
    return out.dropna(subset=["pv_power_w"])


def read_emhass_load() -> pd.Series:
    """Household load [W] (excluding EMHASS's deferrable loads), 30-min means labelled by
    period start, UTC; the missing start (0.0/NaN) dropped."""
    df = pd.read_csv(shared_data("load/emhass_long_train_data_2024-2025_30min.csv"))
    index = pd.DatetimeIndex(pd.to_datetime(df["timestamp_utc"], utc=True))
    load = pd.Series(
        df["sensor.power_load_no_var_loads"].to_numpy(), index=index, name="load_power_w"
    )
    load = load.dropna()
    first = int(np.argmax(load.to_numpy() > 0.0))
    return load.iloc[first:].clip(lower=0.0)


# --- replay ------------------------------------------------------------------------------


def _utc(when: datetime | pd.Timestamp) -> pd.Timestamp:
    stamp = pd.Timestamp(when)
    return stamp.tz_localize("UTC") if stamp.tz is None else stamp.tz_convert("UTC")


@dataclass
class Replay:
    """Recorded series per ``(metric, device)``; :meth:`history` and :meth:`state` show what
    the engine would hand a rule at ``now``: raw readings of the last ``raw_window``,
    hourly means (by hour start, complete hours only) of the last ``hourly_window``."""

    series: Mapping[Key, pd.Series]
    raw_window: timedelta = timedelta(hours=6)
    hourly_window: timedelta = timedelta(days=60)
    hourly: dict[Key, pd.Series] = field(init=False)

    def __post_init__(self) -> None:
        self.series = {k: s.dropna().sort_index() for k, s in self.series.items()}
        self.hourly = {k: s.resample("1h").mean().dropna() for k, s in self.series.items()}

    @staticmethod
    def _slice(s: pd.Series, start: pd.Timestamp, end: pd.Timestamp, *, right: bool) -> pd.Series:
        index = s.index
        lo = index.searchsorted(start, side="right")
        hi = index.searchsorted(end, side="right" if right else "left")
        return s.iloc[lo:hi]

    def history(self, now: datetime | pd.Timestamp) -> History:
        t = _utc(now)
        raw = {
            k: self._slice(s, t - self.raw_window, t, right=True) for k, s in self.series.items()
        }
        # an hour is complete when its start is at least an hour before now
        hourly = {
            k: self._slice(s, t - self.hourly_window, t - timedelta(hours=1), right=True)
            for k, s in self.hourly.items()
        }
        return History(hourly=hourly, raw=raw)

    def state(self, site: str, now: datetime | pd.Timestamp) -> SiteState:
        t = _utc(now)
        state = SiteState(site)
        for (metric, device), s in self.series.items():
            i = s.index.searchsorted(t, side="right")
            if i:
                when = s.index[i - 1].to_pydatetime().astimezone(UTC)
                state.update(
                    Reading(
                        site=site,
                        metric=metric,
                        time=when,
                        value=float(s.iloc[i - 1]),
                        device=device,
                    )
                )
        return state


@dataclass(frozen=True, slots=True)
class Step:
    time: pd.Timestamp
    verdicts: list[Verdict]
    open_after: dict[str, Severity]


def replay_rule(
    rule: Callable[[RuleContext], list[Verdict]],
    *,
    site: Site,
    replay: Replay,
    times: Iterable[pd.Timestamp],
    thresholds: AlertThresholds | None = None,
    with_history: bool = True,
) -> list[Step]:
    """Evaluate ``rule`` at each time, carrying open alerts forward as the engine does
    (an active verdict opens or updates its alert, an inactive one resolves it)."""
    open_alerts: dict[str, Severity] = {}
    steps: list[Step] = []
    for now in times:
        t = _utc(now)
        ctx = RuleContext(
            site=site,
            state=replay.state(site.name, t),
            now=t.to_pydatetime(),
            thresholds=thresholds or site.alerts,
            open_alerts=dict(open_alerts),
            history=replay.history(t) if with_history else None,
        )
        verdicts = rule(ctx)
        for v in verdicts:
            if v.active:
                open_alerts[v.rule] = v.severity
            else:
                open_alerts.pop(v.rule, None)
        steps.append(Step(time=t, verdicts=verdicts, open_after=dict(open_alerts)))
    return steps


def every(start: pd.Timestamp, end: pd.Timestamp, step: str = "30min") -> pd.DatetimeIndex:
    return pd.date_range(_utc(start), _utc(end), freq=step)
