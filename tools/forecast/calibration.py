"""P10/P90 bands calibrated on a site's own recent forecast errors (pure, no I/O).

A model's own band is only as good as its assumptions: tuned on one site it
is too narrow on the next (a real weather forecast errs more than satellite
irradiance, another household switches its loads at other times). This module
replaces it with a split-conformal band built from the forecasts the site
really received and what was then measured:

1. Each past forecast hour gives a *normalised residual*
   ``z = (actual - p50) / scale``. ``scale`` puts hours of different size on
   one footing: clear-sky power for PV (a cloudy hour and a sunny one at noon
   share it; dawn has a small one), the forecast itself for load (a 3 kW
   evening and a 300 W night).
2. Residuals are grouped by local hour of day (pooled with the neighbouring
   hours) and by a bucket of the forecast (for PV the forecast clear-sky index:
   overcast, broken, bright, clear). The 10 % and 90 % empirical quantiles of
   a group's residuals from the last :data:`WINDOW_DAYS` days (only days
   before the forecast: no look-ahead) give
   ``P10 = p50 + q10 * scale`` and ``P90 = p50 + q90 * scale``.
   A group with fewer than :data:`MIN_GROUP_POINTS` residuals falls back to
   the same hours in any bucket (dawn and dusk err differently from noon),
   then to the bucket over all hours, then to all residuals.
3. With fewer than :data:`MIN_DAYS` days of forecast errors the band is left
   as the model made it and the result says so (``calibrated`` False and a
   ``note`` with the days there are and the days needed).

The quantile levels are widened a little for small samples (the split-conformal
correction ``ceil((n + 1) q) / n``), so a band from 60 residuals is not
narrower than the data justify.

Units: power [W]; ``scale`` in the unit of power; times tz-aware UTC.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = [
    "MIN_DAYS",
    "PV_CSI_BUCKETS",
    "WINDOW_DAYS",
    "CalibratedBand",
    "IssuedBand",
    "ResidualHistory",
    "adaptive_band",
    "conformal_band",
    "live_band",
    "load_scale_w",
    "pv_bucket",
    "pv_scale_w",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

WINDOW_DAYS = 28
"""Days of past forecast errors behind a band."""
MIN_DAYS = 14
"""Days of past forecast errors needed before the band is calibrated."""
MIN_GROUP_POINTS = 40
"""Residuals a group needs before its own quantiles are used."""
HOUR_POOL = 1
"""Hours on either side pooled into an hour's group."""
PV_CSI_BUCKETS: tuple[float, ...] = (0.35, 0.7, 0.9)
"""Upper edges of the forecast clear-sky-index buckets for PV (4 buckets)."""
QUANTILES = (0.1, 0.9)


def pv_bucket(p50_w: FloatArray, clear_w: FloatArray) -> IntArray:
    """Bucket 0..3 of the forecast clear-sky index ``p50 / clear sky`` (see
    :data:`PV_CSI_BUCKETS`); 3 (clear) where clear sky is zero."""
    with np.errstate(divide="ignore", invalid="ignore"):
        csi = np.where(clear_w > 0, p50_w / clear_w, 1.0)
    return np.asarray(np.searchsorted(PV_CSI_BUCKETS, np.nan_to_num(csi, nan=1.0)), np.int64)


@dataclass(frozen=True, slots=True, kw_only=True)
class ResidualHistory:
    """Past forecast hours: when (UTC hour start), local hour, bucket, forecast, actual, scale."""

    times: pd.DatetimeIndex
    hour: IntArray
    bucket: IntArray
    p50_w: FloatArray
    p10_w: FloatArray
    p90_w: FloatArray
    actual_w: FloatArray
    scale_w: FloatArray

    @staticmethod
    def empty() -> ResidualHistory:
        none = np.zeros(0)
        return ResidualHistory(
            times=pd.DatetimeIndex([], tz="UTC"),
            hour=none.astype(np.int64),
            bucket=none.astype(np.int64),
            p50_w=none,
            p10_w=none,
            p90_w=none,
            actual_w=none,
            scale_w=none,
        )

    @staticmethod
    def build(
        times: pd.DatetimeIndex,
        *,
        tz: str,
        p50_w: Sequence[float] | FloatArray,
        p10_w: Sequence[float] | FloatArray,
        p90_w: Sequence[float] | FloatArray,
        actual_w: Sequence[float] | FloatArray,
        scale_w: Sequence[float] | FloatArray,
        bucket: Sequence[int] | IntArray | None = None,
    ) -> ResidualHistory:
        """Keep the hours where forecast, actual and a positive scale all exist."""
        p50 = np.asarray(p50_w, dtype=np.float64)
        p10 = np.asarray(p10_w, dtype=np.float64)
        p90 = np.asarray(p90_w, dtype=np.float64)
        actual = np.asarray(actual_w, dtype=np.float64)
        scale = np.asarray(scale_w, dtype=np.float64)
        buckets = (
            np.zeros(len(p50), np.int64) if bucket is None else np.asarray(bucket, dtype=np.int64)
        )
        ok = np.isfinite(p50) & np.isfinite(actual) & np.isfinite(scale) & (scale > 0)
        ok &= np.isfinite(p10) & np.isfinite(p90)
        utc = pd.DatetimeIndex(times).tz_convert("UTC")
        return ResidualHistory(
            times=utc[ok],
            hour=np.asarray(utc[ok].tz_convert(tz).hour, dtype=np.int64),
            bucket=buckets[ok],
            p50_w=p50[ok],
            p10_w=p10[ok],
            p90_w=p90[ok],
            actual_w=actual[ok],
            scale_w=scale[ok],
        )

    def extend(self, other: ResidualHistory) -> ResidualHistory:
        return ResidualHistory(
            times=self.times.append(other.times),
            hour=np.concatenate([self.hour, other.hour]),
            bucket=np.concatenate([self.bucket, other.bucket]),
            p50_w=np.concatenate([self.p50_w, other.p50_w]),
            p10_w=np.concatenate([self.p10_w, other.p10_w]),
            p90_w=np.concatenate([self.p90_w, other.p90_w]),
            actual_w=np.concatenate([self.actual_w, other.actual_w]),
            scale_w=np.concatenate([self.scale_w, other.scale_w]),
        )

    def since(self, start: pd.Timestamp) -> ResidualHistory:
        keep = self.times >= start
        return ResidualHistory(
            times=self.times[keep],
            hour=self.hour[keep],
            bucket=self.bucket[keep],
            p50_w=self.p50_w[keep],
            p10_w=self.p10_w[keep],
            p90_w=self.p90_w[keep],
            actual_w=self.actual_w[keep],
            scale_w=self.scale_w[keep],
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class CalibratedBand:
    """P10/P90 [W] for the target hours and whether they come from the site's own errors."""

    p10_w: FloatArray
    p90_w: FloatArray
    calibrated: bool
    history_days: int
    """Distinct days of past forecast errors inside the window."""
    residuals: int
    note: str


def _level(q: float, n: int) -> float:
    """Split-conformal level for ``n`` residuals: widened towards the tail."""
    if n <= 0:
        return q
    if q >= 0.5:
        return min(1.0, math.ceil((n + 1) * q) / n)
    return max(0.0, 1.0 - math.ceil((n + 1) * (1.0 - q)) / n)


def _quantiles(scores: FloatArray, alpha: tuple[float, float]) -> tuple[float, float]:
    """(lower, upper) corrections: the ``1 - alpha`` quantiles of the two tails'
    conformity scores (rows of ``scores``: lower miss, upper miss)."""
    n = scores.shape[1]
    lo = float(np.quantile(scores[0], _level(1.0 - alpha[0], n), method="inverted_cdf"))
    hi = float(np.quantile(scores[1], _level(1.0 - alpha[1], n), method="inverted_cdf"))
    return lo, hi


def conformal_band(
    history: ResidualHistory,
    *,
    before: pd.Timestamp,
    times: pd.DatetimeIndex,
    tz: str,
    p50_w: FloatArray,
    scale_w: FloatArray,
    model_p10_w: FloatArray,
    model_p90_w: FloatArray,
    bucket: IntArray | None = None,
    cap_w: float | FloatArray | None = None,
    window_days: int = WINDOW_DAYS,
    min_days: int = MIN_DAYS,
    circular_hours: bool = True,
    alpha: tuple[float, float] = (QUANTILES[0], 1.0 - QUANTILES[1]),
) -> CalibratedBand:
    """The calibrated band for forecast hours ``times`` (see the module doc).

    Only residuals from ``[before - window_days, before)`` are used. ``model_p10_w``
    / ``model_p90_w`` are returned unchanged when there are fewer than
    ``min_days`` days of residuals. The band never crosses ``p50_w``; P10 is at
    least 0 and P90 at most ``cap_w`` (when given). ``circular_hours``: hour 23
    pools with hour 0 (load); False for PV, whose night hours carry no residuals.
    """
    p50 = np.asarray(p50_w, dtype=np.float64)
    scale = np.asarray(scale_w, dtype=np.float64)
    window = history.since(before - pd.Timedelta(days=window_days))
    keep = window.times < before
    days = len(set(window.times[keep].tz_convert(tz).date))
    n_res = int(keep.sum())
    if days < min_days:
        return CalibratedBand(
            p10_w=np.asarray(model_p10_w, dtype=np.float64),
            p90_w=np.asarray(model_p90_w, dtype=np.float64),
            calibrated=False,
            history_days=days,
            residuals=n_res,
            note=(
                f"band from the model only: {days} days of the site's own forecast errors, "
                f"{min_days} needed to calibrate it"
            ),
        )
    scale_past = window.scale_w[keep]
    actual_past = window.actual_w[keep]
    z = np.vstack(
        [
            (window.p10_w[keep] - actual_past) / scale_past,  # > 0: the actual fell below P10
            (actual_past - window.p90_w[keep]) / scale_past,  # > 0: the actual rose above P90
        ]
    )
    hours_past = window.hour[keep]
    buckets_past = window.bucket[keep]
    target_hours = np.asarray(pd.DatetimeIndex(times).tz_convert(tz).hour, dtype=np.int64)
    target_buckets = np.zeros(len(p50), np.int64) if bucket is None else np.asarray(bucket)
    cache: dict[tuple[int, int], tuple[float, float]] = {}
    all_q = _quantiles(z, alpha)
    bucket_q: dict[int, tuple[float, float]] = {}
    lo = np.empty(len(p50))
    hi = np.empty(len(p50))
    for i, (h, b) in enumerate(zip(target_hours, target_buckets, strict=True)):
        key = (int(h), int(b))
        if key not in cache:
            diff = np.abs(hours_past - h)
            if circular_hours:
                diff = np.minimum(diff, 24 - diff)
            near = diff <= HOUR_POOL
            group = z[:, near & (buckets_past == b)]
            hour_group = z[:, near]
            if group.shape[1] >= MIN_GROUP_POINTS:
                cache[key] = _quantiles(group, alpha)
            elif hour_group.shape[1] >= MIN_GROUP_POINTS:
                cache[key] = _quantiles(hour_group, alpha)
            else:
                if int(b) not in bucket_q:
                    same = z[:, buckets_past == b]
                    enough = same.shape[1] >= MIN_GROUP_POINTS
                    bucket_q[int(b)] = _quantiles(same, alpha) if enough else all_q
                cache[key] = bucket_q[int(b)]
        lo[i], hi[i] = cache[key]
    model_lo = np.asarray(model_p10_w, dtype=np.float64)
    model_hi = np.asarray(model_p90_w, dtype=np.float64)
    p10 = np.clip(model_lo - lo * scale, 0.0, None)
    p90 = model_hi + hi * scale
    if cap_w is not None:
        p90 = np.minimum(p90, cap_w)
    p10 = np.minimum(p10, p50)
    p90 = np.maximum(p90, p50)
    bad = ~np.isfinite(p50) | ~np.isfinite(scale) | (scale <= 0)
    p10 = np.where(bad, model_lo, p10)
    p90 = np.where(bad, model_hi, p90)
    return CalibratedBand(
        p10_w=p10,
        p90_w=p90,
        calibrated=True,
        history_days=days,
        residuals=n_res,
        note=f"band calibrated on {days} days of the site's own forecast errors",
    )


REPLAY_DAYS = 28
"""Days replayed to adapt the tail levels (see :func:`adaptive_band`)."""
GAMMA = 0.005
"""Step of the adaptive tail level per scored hour (adaptive conformal inference)."""
ALPHA_LIMITS = (0.01, 0.3)


def _midnight_utc(day: object, tz: str) -> pd.Timestamp:
    stamp = pd.Timestamp(str(day)).tz_localize(tz, nonexistent="shift_forward", ambiguous=True)
    return stamp.tz_convert("UTC")


def adaptive_alpha(
    history: ResidualHistory,
    *,
    before: pd.Timestamp,
    tz: str,
    cap_w: float | FloatArray | None = None,
    window_days: int = WINDOW_DAYS,
    min_days: int = MIN_DAYS,
    circular_hours: bool = True,
    replay_days: int = REPLAY_DAYS,
    gamma: float | None = None,
) -> tuple[float, float]:
    """Tail levels (lower, upper) adapted to how the band really did lately.

    Adaptive conformal inference (Gibbs and Candès, 2021): replaying the last
    ``replay_days`` days, each day gets the band :func:`conformal_band` would
    have issued at its midnight; every hour below its P10 (above its P90) makes
    that tail's level smaller (the band wider) by ``gamma * 0.9``, every hour
    inside larger by ``gamma * 0.1``. Residuals that are not exchangeable (a
    stormy month after a calm one) then still give about 10 % misses per tail
    in the long run. Stateless: the same history gives the same levels.
    """
    gamma = GAMMA if gamma is None else gamma
    target = (QUANTILES[0], 1.0 - QUANTILES[1])
    alpha = [target[0], target[1]]
    recent = history.since(before - pd.Timedelta(days=replay_days))
    in_range = recent.times < before
    if not in_range.any():
        return target
    local_days = recent.times.tz_convert(tz).date
    for day in sorted(set(local_days[in_range])):
        sel = in_range & (local_days == day)
        band = conformal_band(
            history,
            before=_midnight_utc(day, tz),
            times=recent.times[sel],
            tz=tz,
            p50_w=recent.p50_w[sel],
            scale_w=recent.scale_w[sel],
            model_p10_w=recent.p10_w[sel],
            model_p90_w=recent.p90_w[sel],
            bucket=recent.bucket[sel],
            cap_w=cap_w,
            window_days=window_days,
            min_days=min_days,
            circular_hours=circular_hours,
            alpha=(alpha[0], alpha[1]),
        )
        if not band.calibrated:
            continue
        actual = recent.actual_w[sel]
        for tail, missed in enumerate((actual < band.p10_w, actual > band.p90_w)):
            step = gamma * float(np.sum(target[tail] - missed.astype(np.float64)))
            alpha[tail] = float(np.clip(alpha[tail] + step, *ALPHA_LIMITS))
    return alpha[0], alpha[1]


def adaptive_band(
    history: ResidualHistory,
    *,
    before: pd.Timestamp,
    times: pd.DatetimeIndex,
    tz: str,
    p50_w: FloatArray,
    scale_w: FloatArray,
    model_p10_w: FloatArray,
    model_p90_w: FloatArray,
    bucket: IntArray | None = None,
    cap_w: float | FloatArray | None = None,
    circular_hours: bool = True,
    min_days: int = MIN_DAYS,
) -> CalibratedBand:
    """:func:`conformal_band` at the tail levels of :func:`adaptive_alpha`."""
    alpha = adaptive_alpha(
        history,
        before=before,
        tz=tz,
        cap_w=cap_w,
        circular_hours=circular_hours,
        min_days=min_days,
    )
    return conformal_band(
        history,
        before=before,
        times=times,
        tz=tz,
        p50_w=p50_w,
        scale_w=scale_w,
        model_p10_w=model_p10_w,
        model_p90_w=model_p90_w,
        bucket=bucket,
        cap_w=cap_w,
        circular_hours=circular_hours,
        min_days=min_days,
        alpha=alpha,
    )


LOAD_SCALE_FLOOR_W = 20.0
"""Smallest scale of a load residual [W] (a forecast of ~0 W would blow residuals up)."""
PV_SCALE_MIN_FRACTION = 0.01
"""PV hours whose clear-sky power is below this share of capacity keep the model band."""


def pv_scale_w(clear_w: FloatArray, capacity_w: float) -> FloatArray:
    """Scale of PV residuals: clear-sky power, NaN where it is under 1 % of capacity."""
    clear = np.asarray(clear_w, dtype=np.float64)
    return np.where(clear > PV_SCALE_MIN_FRACTION * capacity_w, clear, np.nan)


def load_scale_w(p50_w: FloatArray) -> FloatArray:
    """Scale of load residuals: the forecast itself, at least :data:`LOAD_SCALE_FLOOR_W`."""
    return np.maximum(np.asarray(p50_w, dtype=np.float64), LOAD_SCALE_FLOOR_W)


@dataclass(frozen=True, slots=True, kw_only=True)
class IssuedBand:
    """One quantity's forecast as issued (hourly, UTC hour starts): P50 and the model band."""

    p50_w: pd.Series
    model_p10_w: pd.Series
    model_p90_w: pd.Series


def live_band(
    issued: IssuedBand,
    actual_w: pd.Series,
    *,
    now: pd.Timestamp,
    tz: str,
    times: pd.DatetimeIndex,
    p50_w: FloatArray,
    model_p10_w: FloatArray,
    model_p90_w: FloatArray,
    past_scale_w: FloatArray,
    scale_w: FloatArray,
    pv: bool,
    cap_w: float | None = None,
) -> CalibratedBand:
    """The band for a live forecast from the forecasts the site was issued before ``now``
    and what was then measured (``actual_w``, hourly means on the same hour starts).

    ``past_scale_w`` / ``scale_w``: the residual scale on ``issued``'s hours and on
    ``times`` (:func:`pv_scale_w` or :func:`load_scale_w`). ``pv``: bucket by the
    forecast clear-sky index and do not pool hour 23 with hour 0.
    """
    hours = pd.DatetimeIndex(issued.p50_w.index)
    past_p50 = issued.p50_w.to_numpy(dtype=np.float64)
    past_scale = np.asarray(past_scale_w, dtype=np.float64)
    history = ResidualHistory.build(
        hours,
        tz=tz,
        p50_w=past_p50,
        p10_w=issued.model_p10_w.to_numpy(dtype=np.float64),
        p90_w=issued.model_p90_w.to_numpy(dtype=np.float64),
        actual_w=actual_w.reindex(hours).to_numpy(dtype=np.float64),
        scale_w=past_scale,
        bucket=pv_bucket(past_p50, np.nan_to_num(past_scale)) if pv else None,
    )
    p50 = np.asarray(p50_w, dtype=np.float64)
    scale = np.asarray(scale_w, dtype=np.float64)
    return adaptive_band(
        history,
        before=now,
        times=times,
        tz=tz,
        p50_w=p50,
        scale_w=scale,
        model_p10_w=np.asarray(model_p10_w, dtype=np.float64),
        model_p90_w=np.asarray(model_p90_w, dtype=np.float64),
        bucket=pv_bucket(p50, np.nan_to_num(scale)) if pv else None,
        cap_w=cap_w,
        circular_hours=not pv,
    )
