"""Site CSVs (``time,pv_w,load_w``) for the plan backtest, built from the shared public data.

- :func:`emhass_site_frame`: the EMHASS household (France, 4.72 kWp): its measured
  PV (NaN → 0 only while the sun is below 5°, else left missing) and its load
  (zeros are gaps), 30-min steps.
- :func:`serf_openmv_frame`: a second, composite site from two public data sets
  nobody tuned the plans on: the NREL SERF east array's measured AC power
  (Golden CO, 15 min, 2016-07-01..) as PV, and the OpenMV home's hourly load
  (Ontario, 2011-11-25..) as load, the load moved 240 weeks later (same weekday)
  and re-read as Denver wall-clock time, so day *k* of one meets day *k* of the
  other at the same local hour. The seasons differ (summer sun, winter load);
  it is a stress case for the plans, not one real house.

``python -m tools.forecast.plan_data OUT_DIR`` writes ``emhass_site.csv``,
``serf_openmv_site.csv`` and ``serf_openmv_site_1.5kwp.csv`` (the SERF power x 0.25:
the same weather on a 1.5 kWp array, so that a generator has work to do) from
``/work/shared/data`` (or ``--data DIR``). Pure pandas apart from :func:`main`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
import pvlib

__all__ = ["emhass_site_frame", "serf_openmv_frame"]

EMHASS_LAT, EMHASS_LON = 48.83, 6.86
SERF_LAT, SERF_LON = 39.742, -105.179
OPENMV_SHIFT = pd.Timedelta(weeks=240)
"""2011-11-25 (a Friday) + 240 weeks = 2016-07-01 (a Friday)."""


def _sun_elevation_deg(times: pd.DatetimeIndex, lat: float, lon: float) -> np.ndarray:
    pos = pvlib.solarposition.get_solarposition(times + pd.Timedelta(minutes=15), lat, lon)
    return np.asarray(pos["apparent_elevation"].to_numpy(), dtype=np.float64)


def emhass_site_frame(csv_path: Path) -> pd.DataFrame:
    """``pv_w`` and ``load_w`` [W] of the EMHASS CSV on a UTC 30-min index."""
    raw = pd.read_csv(csv_path)
    times = pd.DatetimeIndex(pd.to_datetime(raw["timestamp_utc"], utc=True))
    pv = raw["sensor.power_photovoltaics"].to_numpy(dtype=np.float64)
    load = raw["sensor.power_load_no_var_loads"].to_numpy(dtype=np.float64)
    dark = _sun_elevation_deg(times, EMHASS_LAT, EMHASS_LON) < 5.0
    pv = np.where(np.isnan(pv) & dark, 0.0, pv)
    load = np.where(load <= 0.0, np.nan, load)
    return pd.DataFrame({"pv_w": pv, "load_w": load}, index=times)


def serf_openmv_frame(pv_csv: Path, load_csv: Path) -> pd.DataFrame:
    """SERF PV (15 min → 30 min means) and OpenMV load (hourly, held over both halves)."""
    pv_raw = pd.read_csv(pv_csv)
    pv_times = pd.DatetimeIndex(pd.to_datetime(pv_raw["measured_on"], utc=True))
    pv = pd.Series(pv_raw["ac_power"].to_numpy(dtype=np.float64), index=pv_times).clip(lower=0.0)
    pv = pv.resample("30min").mean()
    load_raw = pd.read_csv(load_csv)
    local = pd.DatetimeIndex(pd.to_datetime(load_raw["time"], utc=True)).tz_convert(
        "America/Toronto"
    )
    wall = local.tz_localize(None) + OPENMV_SHIFT
    moved = wall.tz_localize("America/Denver", nonexistent="NaT", ambiguous="NaT")
    load = pd.Series(load_raw["load_w"].to_numpy(dtype=np.float64), index=moved)
    load = load[load.index.notna()]
    load = load[~load.index.duplicated()].tz_convert("UTC").sort_index()
    load = load.resample("30min").ffill(limit=1)
    start = max(pv.index[0], load.index[0])
    end = min(pv.index[-1], load.index[-1])
    index = pd.date_range(start, end, freq="30min")
    return pd.DataFrame({"pv_w": pv.reindex(index), "load_w": load.reindex(index)}, index=index)


def _write(frame: pd.DataFrame, path: Path) -> None:
    out = frame.copy()
    out.index = out.index.strftime("%Y-%m-%dT%H:%M:%SZ")
    out.to_csv(path, index_label="time", float_format="%.1f")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--data", type=Path, default=Path("/work/shared/data"))
    args = parser.parse_args(argv)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    data: Path = args.data
    _write(
        emhass_site_frame(data / "load" / "emhass_long_train_data_2024-2025_30min.csv"),
        args.out_dir / "emhass_site.csv",
    )
    composite = serf_openmv_frame(
        data / "pv" / "serf_east_15min_ac_power.csv",
        Path(__file__).resolve().parents[2]
        / "tests/fixtures/load/openmv_electricity_usage_hourly.csv",
    )
    _write(composite, args.out_dir / "serf_openmv_site.csv")
    # the same site with a quarter of the array (1.5 kWp): the generator has work to do
    small = composite.assign(pv_w=composite["pv_w"] * 0.25)
    _write(small, args.out_dir / "serf_openmv_site_1.5kwp.csv")


if __name__ == "__main__":
    main()
