"""Calibrated intervals: split-conformal quantiles per horizon step, from the out-of-fold
forecasts of the search's rolling-origin windows.

Why conformal and not a recalibration of each learner's own quantiles: the residuals of the
validation windows exist for every learner and every ensemble alike (an ensemble is calibrated
on its own blended out-of-fold forecast, never as an average of its members' quantiles), and
they give any quantile a user asks at forecast time, also of learners whose quantiles are
fixed at fit time (quantile regressions, TCN heads).

The non-conformity score of an out-of-fold row is its signed error divided by a per-row
normaliser, so that residuals of series of any size pool into one distribution per horizon
step (a few windows of one series would give a handful of residuals per step; hundreds of
series pooled give thousands).  Two normalisers are tried and the one with the lower
cross-fitted weighted quantile loss is kept:

- ``scale``: the series' MASE scale (mean absolute seasonal difference of its training part,
  ``naive_scale``): every series gets intervals of the same width in its own units of
  volatility;
- ``spread``: the width of the learner's own outer interval on that row: the learner's shape
  (wider for noisier series, growing with the step) is kept and only its width is corrected.

Each is scored on the windows cross-fitted (each window's intervals calibrated on the other
windows; with one window, on the other half of the series).  Where the learner's own quantiles
score a lower weighted quantile loss than both, they are kept (``replaces`` is False): a
calibration never makes the intervals worse on the windows than they were.  They are kept too
where the windows hold fewer than ``MIN_PATHS`` forecast paths (series x windows): one series
with three windows gives three draws of its errors, whatever the number of steps.

A step with fewer than ``MIN_POOL`` residuals borrows those of its neighbouring steps.  Signed
scores give asymmetric intervals (skewed errors, bias); the quantile at q is read at the
conformal rank (ceil((n + 1) q) of n for an upper quantile, floor((n + 1) q) for a lower one),
so that coverage holds on fresh data, not just on the windows.  The point forecast is never
changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from tsauto.data.dataset import SERIES_ID
from tsauto.data.forecast_columns import POINT, STEP, central_intervals, interval_level, \
    quantile_column
from tsauto.evaluation.metrics import evaluate, naive_scale
from tsauto.evaluation.scoring import mean_metrics, with_steps

MIN_POOL = 50       # fewest residuals one step's quantiles are read from
# Fewest forecast paths (series x validation windows) to calibrate on: the errors of one path
# move together across its steps, so a few long paths are a few draws, not many.
MIN_PATHS = 20
# Fewest paths the shipped quantiles are read from (the newest windows that hold them, see
# ``_recent_rows``): with fewer, a 2.5% tail rests on two or three paths' errors.
MIN_QUANTILE_PATHS = 100
_GRID = np.linspace(0.0, 1.0, 401)  # the stored quantiles of each step's scores
NORMALISERS = ("scale", "spread")


@dataclass
class IntervalCalibration:
    """Per horizon step, the distribution of the normalised out-of-fold errors (as quantiles
    on ``_GRID``, from ``counts`` residuals), the normaliser, and how the intervals scored on
    the validation windows (``validation``: one row per central interval)."""

    normaliser: str                  # scale | spread, or learner: its own quantiles are kept
    grid: np.ndarray                 # steps x len(_GRID)
    counts: np.ndarray               # residuals behind each step
    season_length: int
    target: str
    spread_pair: tuple[float, float] | None = None  # the fitted quantiles whose gap normalises
    note: str = ""                                   # why the learner's own were kept
    validation: pd.DataFrame = field(default_factory=pd.DataFrame)
    scores: dict = field(default_factory=dict)       # wql/width: learner's own and calibrated
    # What it was calibrated on: windows (of which ``added`` after the search, in ``seconds``)
    # and forecast paths (series x windows), and the newest windows its quantiles are read
    # from (``quantile_windows``).  Models saved before these existed show 0.
    quantile_windows: int = 0
    windows: int = 0
    paths: int = 0
    added: int = 0
    seconds: float = 0.0

    def offsets(self, step: np.ndarray, quantiles) -> np.ndarray:
        """rows x quantiles: each row's normalised quantile offsets from its point forecast
        (steps past the calibrated horizon use the last step)."""
        idx = np.clip(np.asarray(step, dtype="int64"), 1, len(self.grid)) - 1
        out = np.empty((len(idx), len(quantiles)))
        for h in np.unique(idx):
            rows = idx == h
            ranks = conformal_ranks(np.asarray(quantiles, dtype="float64"), int(self.counts[h]))
            out[rows] = np.interp(ranks, _GRID, self.grid[h])[None, :]
        return out

    @property
    def replaces(self) -> bool:
        """Whether the learner's own quantiles are replaced (False: they scored better)."""
        return self.normaliser != "learner"

    def apply(self, frame: pd.DataFrame, history: pd.DataFrame, quantiles) -> pd.DataFrame:
        """``frame`` (a learner's forecast with its fitted quantile columns) with calibrated
        columns for ``quantiles`` in place of its own; ``history`` (series_id, target) gives
        the series' scales.  A row without a normaliser (a series whose history is all zeros)
        gets intervals of zero width."""
        norm = self._normaliser(frame, history)
        qs = list(quantiles)
        values = frame[POINT].to_numpy(dtype="float64")[:, None] + \
            np.nan_to_num(norm)[:, None] * self.offsets(frame[STEP].to_numpy(), qs)
        own = [c for c in frame.columns if _is_quantile_column(c)]
        at = list(frame.columns).index(POINT) + 1
        out = frame.drop(columns=own)
        columns = [quantile_column(q) for q in qs]
        for k, col in enumerate(columns):
            out.insert(at + k, col, values[:, k])
        out.attrs = dict(frame.attrs)
        return out

    def _normaliser(self, frame: pd.DataFrame, history: pd.DataFrame) -> np.ndarray:
        if self.normaliser == "spread":
            low, high = self.spread_pair
            return _spread(frame, low, high)
        scale = naive_scale(history, self.target, self.season_length)
        return scale.reindex(frame[SERIES_ID].to_numpy()).to_numpy(dtype="float64")

    def summary(self) -> dict:
        """What ``model.explain()`` shows: the method and the validation coverage."""
        method = (f"the learner's own quantiles: {self.note}" if not self.replaces
                  else f"conformal per horizon step, errors normalised by the "
                  f"{'series scale' if self.normaliser == 'scale' else 'learner interval'} "
                  f"({int(self.counts.min())}-{int(self.counts.max())} residuals per step)")
        return {"method": method, "windows": self.windows, "added_windows": self.added,
                "quantile_windows": self.quantile_windows,
                "added_seconds": round(self.seconds, 3), "paths": self.paths,
                "validation_coverage": self.validation.to_dict(orient="records"),
                **self.scores}


def _is_quantile_column(name) -> bool:
    if not (isinstance(name, str) and name.startswith("q")):
        return False
    try:
        return 0 < float(name[1:]) < 1
    except ValueError:
        return False


def conformal_ranks(quantiles: np.ndarray, n: int) -> np.ndarray:
    """The position (0..1, as ``np.quantile`` reads it) at which each quantile is read from n
    sorted scores: the ceil((n + 1) q)-th score for an upper quantile, the floor((n + 1) q)-th
    for a lower one (clipped to the extremes), the plain quantile for the median."""
    if n < 2:
        return np.clip(quantiles, 0.0, 1.0)
    upper = np.clip(np.ceil((n + 1) * quantiles), 1, n)
    lower = np.clip(np.floor((n + 1) * quantiles), 1, n)
    rank = np.where(quantiles > 0.5, upper, np.where(quantiles < 0.5, lower, np.nan))
    return np.where(np.isnan(rank), quantiles, (rank - 1) / (n - 1))


def _spread(frame: pd.DataFrame, low: float, high: float) -> np.ndarray:
    gap = (frame[quantile_column(high)].to_numpy(dtype="float64")
           - frame[quantile_column(low)].to_numpy(dtype="float64"))
    return np.where(gap > 0, gap, np.nan)


def _pools(step: np.ndarray, scores: np.ndarray, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """Per step 1..horizon: the quantiles of its scores on ``_GRID`` and how many there were;
    a step with fewer than ``MIN_POOL`` takes its neighbours' too, nearest first."""
    ok = np.isfinite(scores)
    step, scores = step[ok], scores[ok]
    grid = np.zeros((horizon, len(_GRID)))
    counts = np.zeros(horizon, dtype="int64")
    if len(scores) == 0:
        return grid, counts
    order = np.argsort(step, kind="stable")
    step, scores = step[order], scores[order]
    starts = np.searchsorted(step, np.arange(1, horizon + 2))  # rows of step h: starts[h-1]..
    for h in range(1, horizon + 1):
        reach = 0
        while True:
            lo = starts[max(h - reach, 1) - 1]
            hi = starts[min(h + reach, horizon)]
            if hi - lo >= MIN_POOL or (h - reach <= 1 and h + reach >= horizon):
                break
            reach += 1
        pool = scores[lo:hi]
        if len(pool) == 0:  # no residual at any step (cannot happen with finite scores)
            continue
        grid[h - 1] = np.quantile(pool, _GRID)
        counts[h - 1] = len(pool)
    return grid, counts


def _scores(frame: pd.DataFrame, norm: np.ndarray) -> np.ndarray:
    return (frame["actual"].to_numpy(dtype="float64")
            - frame[POINT].to_numpy(dtype="float64")) / norm


def _row_scales(frame: pd.DataFrame, folds: list, target: str, season_length: int) -> np.ndarray:
    """Each out-of-fold row's MASE scale, from its own fold's training part."""
    out = np.full(len(frame), np.nan)
    fold_ids = frame["fold"].to_numpy()
    sids = frame[SERIES_ID].to_numpy()
    for fold in folds:
        rows = fold_ids == fold.index
        if rows.any():
            scale = naive_scale(fold.train.frame, target, season_length)
            out[rows] = scale.reindex(sids[rows]).to_numpy(dtype="float64")
    return out


def _groups(frame: pd.DataFrame, folds: list, seed: int) -> np.ndarray:
    """Cross-fitting groups: the validation windows, or with one window two seeded halves of
    the series (as the ensembles do)."""
    if len(folds) > 1:
        return frame["fold"].to_numpy()
    codes = pd.factorize(frame[SERIES_ID].to_numpy())[0]
    return (np.random.default_rng(seed).permutation(codes.max() + 1) % 2)[codes]


def fit_calibration(oof: pd.DataFrame | None, folds: list, context, dataset, added: int = 0,
                    seconds: float = 0.0) -> IntervalCalibration | None:
    """The calibration of a trial's out-of-fold forecasts (``oof``: fold, series_id, time,
    forecast, the quantile columns, actual) on the search's validation ``folds`` (and the
    ``added`` calibration windows among them, made in ``seconds``), for the quantiles, horizon
    and seed of the trials' ``context`` and the season of ``dataset``.  None when there is
    nothing to calibrate on (no out-of-fold row with a finite error)."""
    if oof is None or not len(oof) or not len(folds):
        return None
    quantiles, horizon, seed = context.quantiles, context.horizon, context.seed
    season_length, target = dataset.season_length, dataset.target_column
    frame = with_steps(oof, dataset.time_column).reset_index(drop=True)
    frame = frame[np.isfinite(frame["actual"].to_numpy(dtype="float64"))
                  & np.isfinite(frame[POINT].to_numpy(dtype="float64"))].reset_index(drop=True)
    if not len(frame):
        return None
    step = frame[STEP].to_numpy(dtype="int64")
    quantiles = tuple(sorted(quantiles))
    pairs = central_intervals(quantiles)
    norms = {"scale": _row_scales(frame, folds, target, season_length)}
    spread_pair = pairs[0] if pairs else None
    if spread_pair and all(quantile_column(q) in frame for q in spread_pair):
        norms["spread"] = _spread(frame, *spread_pair)
    groups = _groups(frame, folds, seed)
    best = None
    for name, norm in norms.items():
        scores = _scores(frame, norm)
        if not np.isfinite(scores).any():
            continue
        # Each group's rows get intervals calibrated on the other groups: an honest score.
        crossed = frame.assign(**{quantile_column(q): np.nan for q in quantiles
                                  if quantile_column(q) not in frame})
        for g in np.unique(groups):
            rows = groups == g
            grid, counts = _pools(step[~rows], scores[~rows], horizon)
            if not counts.any():
                crossed = None
                break
            part = IntervalCalibration(name, grid, counts, season_length, target, spread_pair)
            crossed.loc[rows, [quantile_column(q) for q in quantiles]] = \
                frame[POINT].to_numpy()[rows, None] + np.nan_to_num(norm[rows])[:, None] \
                * part.offsets(step[rows], quantiles)
        if crossed is None:
            continue
        per_window = _fold_metrics(crossed, folds, quantiles, target, season_length)
        metrics = _mean(per_window)
        if best is None or metrics.get("wql", np.inf) < best[2].get("wql", np.inf):
            best = (name, scores, metrics, per_window)
    if best is None:
        return None
    name, scores, calibrated, per_window = best
    recent = _recent_rows(frame, folds, added)
    grid, counts = _pools(step[recent], scores[recent], horizon)
    own = _mean(_fold_metrics(frame, folds, quantiles, target, season_length)) if all(
        quantile_column(q) in frame for q in quantiles) else {}
    paths = len(frame[["fold", SERIES_ID]].drop_duplicates())
    note = ""
    if "wql" in own and own["wql"] <= calibrated.get("wql", np.inf):
        note = ("they scored a lower weighted quantile loss on the validation windows than the "
                "calibrated ones")
    elif "wql" in own and paths < MIN_PATHS:
        note = (f"the validation windows hold {paths} forecast path(s) (series x windows), "
                f"too few to calibrate on (at least {MIN_PATHS})")
    if note:
        name = "learner"  # its own quantiles are kept
    # The spread of the calibrated coverage across windows (each calibrated on the others):
    # every series of a window shares its period's shocks, so this, not the mean, says how far
    # one new period's coverage may stray.  With one window there is one period: no spread.
    def spread(key: str, pick) -> float:
        values = [m.get(key, np.nan) for m in per_window]
        return float(pick(values)) if len(per_window) > 1 and np.isfinite(values).any() \
            else np.nan
    validation = pd.DataFrame([
        {"interval": f"{quantile_column(lo)}-{quantile_column(hi)}",
         "nominal": round(hi - lo, 10),
         "learner": own.get(key := f"coverage_{interval_level(lo, hi)}", np.nan),
         "calibrated": calibrated.get(key, np.nan),
         "calibrated_min": spread(key, np.nanmin), "calibrated_max": spread(key, np.nanmax)}
        for lo, hi in pairs],
        columns=["interval", "nominal", "learner", "calibrated", "calibrated_min",
                 "calibrated_max"])
    scores_out = {f"{k}_{kind}": float(m.get(k, np.nan)) for kind, m in
                  (("learner", own), ("calibrated", calibrated)) for k in ("wql", "width")}
    return IntervalCalibration(name, grid, counts, season_length, target,
                               spread_pair if name == "spread" else None, note, validation,
                               scores_out, len(np.unique(frame["fold"][recent])),
                               len(np.unique(frame["fold"])), paths, added, seconds)


def _recent_rows(frame: pd.DataFrame, folds: list, added: int) -> np.ndarray:
    """The rows the shipped quantiles are read from: the search's windows (``folds`` after
    the ``added`` calibration windows, which come first), and added windows nearest first
    while they hold fewer than ``MIN_QUANTILE_PATHS`` forecast paths.  All windows judge the intervals
    (normaliser, own or calibrated); the newest errors, nearest the forecast origin, are the
    most like the next ones under drift (benchmarks/results/intervals.md: quantiles read from
    older windows too moved the holdout's coverage and WQL away on three collections of five,
    while judging on them kept global_economy's far better own intervals)."""
    paths = frame.groupby("fold")[SERIES_ID].nunique()  # series per window
    start = added
    while start > 0 and paths.reindex([f.index for f in folds[start:]]).sum() < \
            MIN_QUANTILE_PATHS:
        start -= 1
    return np.isin(frame["fold"].to_numpy(), [f.index for f in folds[start:]])


def _fold_metrics(frame: pd.DataFrame, folds: list, quantiles, target: str,
                  season_length: int) -> list[dict]:
    """Every metric of the out-of-fold quantiles, one dict per fold that has rows (their mean
    over folds is a trial's metrics)."""
    fold_ids = frame["fold"].to_numpy()
    return [evaluate(frame.loc[rows, "actual"].to_numpy(), frame[rows],
                     frame.loc[rows, SERIES_ID].to_numpy(), fold.train.frame, target,
                     season_length, quantiles)
            for fold in folds if (rows := fold_ids == fold.index).any()]


def _mean(per_fold: list[dict]) -> dict:
    return mean_metrics(per_fold) if per_fold else {}
