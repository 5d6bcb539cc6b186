"""Data guardrails: checks that tell the user what is wrong with their data and what was fixed.

``run_guardrails(dataset, horizon=...)`` returns the model-ready dataset and a
``GuardrailReport``.  Each check has a status:

- ``passed``: nothing to report;
- ``fixed``: the data had a problem and a safe fix was applied (the fix is described);
- ``alert``: worth knowing, nothing changed (e.g. constant series);
- ``failed``: the data cannot be used as asked (e.g. short series with handling 'fail').

The report is a table for people (``to_frame``, ``str``) and JSON for machines (``to_json``).
A fix that would invent much of the data is not a fix: filling in more than
``max_filled_share`` of the target rows raises a ``DataError`` (the frequency or the dates were
most likely misread).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from tsauto.data.dataset import FILLED, SERIES_ID, TimeSeriesDataset
from tsauto.data.grouped import offsets, position_in_series
from tsauto.data.times import when
from tsauto.errors import (
    DataError,
    SettingsError,
    ShortSeriesError,
    check_int,
    is_number,
    preview,
)

Status = Literal["passed", "fixed", "alert", "failed"]
SHORT_SERIES_HANDLING = ("auto", "pad", "drop", "fail")
# A categorical covariate with more distinct values than this is flagged.
HIGH_CARDINALITY = 100
# Rough number of engineered columns per raw column, for the memory estimate.
_FEATURES_PER_COLUMN = 12
_SERIES_SHOWN = 100
# Fewest training periods a series needs before a validation window to take part in it.
MIN_TRAIN = 3
# What forecasts a series that no validation window could score (or that the chosen model
# cannot fit): the ``seasonal_naive`` learner, which is naive where a series is shorter than a
# season plus one point.
FALLBACK_CHAIN = "seasonal naive (naive when shorter than a season plus one period)"
# Filling (inserting and interpolating) more than this share of the target rows is an error.
MAX_FILLED_SHARE = 0.1


@dataclass
class GuardrailResult:
    check: str
    status: Status
    message: str
    series: list[str] = field(default_factory=list)
    rows: int = 0
    fix: str | None = None
    # Series the fix removed whole: they get no forecast.  A tuple with a class default, so
    # that reports pickled before this field existed read it as empty.
    dropped_series: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        out = asdict(self)
        out["affected_series"] = len(self.series)
        out["series"] = self.series[:_SERIES_SHOWN]
        out["dropped_series"] = list(self.dropped_series)[:_SERIES_SHOWN]
        return out


@dataclass
class GuardrailReport:
    results: list[GuardrailResult]

    @property
    def failed(self) -> list[GuardrailResult]:
        return [r for r in self.results if r.status == "failed"]

    def __getitem__(self, check: str) -> GuardrailResult:
        for r in self.results:
            if r.check == check:
                return r
        raise KeyError(check)

    def raise_if_failed(self) -> None:
        """Raise the first failure as an error (the engine calls this before searching)."""
        if self.failed:
            first = self.failed[0]
            error = ShortSeriesError if first.check == "short_series" else SettingsError
            raise error(first.message)

    def to_frame(self) -> pd.DataFrame:
        rows = [{"check": r.check, "status": r.status, "series": len(r.series), "rows": r.rows,
                 "message": r.message, "fix": r.fix or ""} for r in self.results]
        return pd.DataFrame(rows)

    def to_dict(self) -> dict:
        return {"results": [r.to_dict() for r in self.results],
                "status": "failed" if self.failed else "passed"}

    def to_json(self, **kwargs) -> str:
        return json.dumps(self.to_dict(), default=str, **kwargs)

    def __str__(self) -> str:
        return self.to_frame().to_string(index=False)


def required_length(horizon: int, n_cross_validations: int = 1, cv_step_size: int | None = None) -> int:
    """Fewest periods a series needs: a training part of at least ``max(horizon, 3)`` periods
    before the earliest validation window, then ``n_cross_validations`` windows of ``horizon``
    periods moved by ``cv_step_size`` (default ``horizon``)."""
    step = horizon if cv_step_size is None else cv_step_size
    return max(horizon, 3) + horizon + (n_cross_validations - 1) * step


def windows_filled(lengths: np.ndarray, horizon: int, n_windows: int, step: int | None = None,
                   min_train: int = MIN_TRAIN) -> np.ndarray:
    """How many of the ``n_windows`` rolling-origin validation windows each series can fill:
    window k (0 earliest) holds back ``horizon + (n_windows - 1 - k) * step`` periods and needs
    ``min_train`` periods before them.  0 means the series cannot be validated at all."""
    step = horizon if step is None else step
    return np.clip((np.asarray(lengths) - min_train - horizon) // step + 1, 0, n_windows)


def auto_n_windows(lengths: np.ndarray, horizon: int, step: int | None = None,
                   most: int = 3) -> int:
    """Up to ``most`` windows, fewer when the median series cannot hold them."""
    step = horizon if step is None else step
    median = float(np.median(lengths))
    fits = int((median - required_length(horizon, 1, step)) // step) + 1
    return max(1, min(most, fits))


def validation_windows(dataset: TimeSeriesDataset, horizon: int,
                       n_cross_validations: int | str = "auto",
                       cv_step_size: int | None = None) -> tuple[int, int]:
    """(windows, step) of the rolling-origin validation: ``fit`` and ``tsauto inspect`` both
    resolve ``n_cross_validations='auto'`` here, so they judge the same series short."""
    step = int(cv_step_size or horizon)
    if n_cross_validations == "auto":
        return auto_n_windows(dataset.lengths, horizon, step), step
    return int(n_cross_validations), step


def run_guardrails(
    dataset: TimeSeriesDataset,
    *,
    horizon: int | None = None,
    n_cross_validations: int | str = "auto",
    cv_step_size: int | None = None,
    short_series_handling: str = "auto",
    max_filled_share: float = MAX_FILLED_SHARE,
) -> tuple[TimeSeriesDataset, GuardrailReport]:
    """Check the dataset, apply the safe fixes, and report everything.  ``n_cross_validations``
    'auto' is resolved as ``fit`` resolves it (``validation_windows``).

    Raises ``DataError`` when filling the missing target values would invent more than
    ``max_filled_share`` of the rows: then the frequency or the dates were most likely misread,
    and a forecast of mostly invented values is not one to return quietly."""
    if short_series_handling not in SHORT_SERIES_HANDLING:
        raise SettingsError(f"short_series_handling={short_series_handling!r} is not valid; use "
                            f"one of {', '.join(SHORT_SERIES_HANDLING)}.")
    for name, value in (("horizon", horizon), ("n_cross_validations", n_cross_validations),
                        ("cv_step_size", cv_step_size)):
        if value is not None and not (name == "n_cross_validations" and value == "auto"):
            check_int(value, name)
    max_filled_share = check_share(max_filled_share, "max_filled_share")
    horizon = int(horizon or max(dataset.season_length, 1))
    n_cross_validations, cv_step_size = validation_windows(dataset, horizon, n_cross_validations,
                                                           cv_step_size)
    results = [_time_parsing(dataset), _frequency(dataset),
               _fixes(dataset, "duplicates", "no duplicate timestamps"),
               _fixes(dataset, "missing_periods", "no missing periods"),
               _fixes(dataset, "non_finite", "no infinite values")]
    dataset, result = _missing_target(dataset, max_filled_share)
    results.append(result)
    need = required_length(horizon, n_cross_validations, cv_step_size)
    dataset, result = _short_series(dataset, need, horizon, n_cross_validations, cv_step_size,
                                    short_series_handling)
    results += [result, _early_end(dataset), _missing_features(dataset), _constant_series(dataset),
                _high_cardinality(dataset), _candidate_grains(dataset), _memory(dataset)]
    return dataset, GuardrailReport(results)


def check_share(value, name: str) -> float:
    """A share in [0, 1], else a SettingsError naming the setting."""
    if not (is_number(value) and 0 <= float(value) <= 1):
        raise SettingsError(f"{name}={value!r} is not valid; use a share between 0 and 1, "
                            f"e.g. 0.1 for 10%.")
    return float(value)


# -- checks ------------------------------------------------------------------------------------
def _time_parsing(ds: TimeSeriesDataset) -> GuardrailResult:
    zone = f"time zone {ds.tz}" if ds.tz is not None else "no time zone"
    how = f"read with '{ds.date_format}'" if ds.date_format else "read as given"
    result = _fixes(ds, "time_parsing", f"times {how}, {zone}")
    result.message = f"times {how}, {zone}"
    return result


def _frequency(ds: TimeSeriesDataset) -> GuardrailResult:
    base = f"frequency '{ds.freq}' (season length {ds.season_length})"
    for fix in ds.fixes:
        if fix.check == "frequency":
            return GuardrailResult("frequency", "fixed", f"{base}; {fix.rows} rows were off the "
                                   f"grid", list(fix.series), fix.rows, fix.message)
    return GuardrailResult("frequency", "passed", f"{base}; every row is on the grid")


def _fixes(ds: TimeSeriesDataset, check: str, clean: str) -> GuardrailResult:
    for fix in ds.fixes:
        if fix.check == check:
            return GuardrailResult(check, "fixed", fix.message, list(fix.series), fix.rows,
                                   fix.message)
    return GuardrailResult(check, "passed", clean)


def _missing_target(ds: TimeSeriesDataset, max_filled_share: float,
                    advice: str | None = None) -> tuple[TimeSeriesDataset, GuardrailResult]:
    """Fill missing targets inside a series by linear interpolation, carry the last value
    forward at its end, and drop leading missing rows (there is nothing to fill them from).
    Filling more than ``max_filled_share`` of the rows is an error (ending with ``advice``,
    by default the fit's: the frequency or dates may be misread); series above that share on
    their own make the result an alert."""
    frame = ds.frame
    y = frame[ds.target_column].to_numpy(dtype="float64")
    missing = np.isnan(y)
    if not missing.any():
        return ds, GuardrailResult("missing_target", "passed", "no missing target values")
    codes = frame[SERIES_ID].cat.codes.to_numpy()
    idx = np.arange(len(y))
    prev = np.maximum.accumulate(np.where(missing, -1, idx))
    nxt = np.minimum.accumulate(np.where(missing, len(y), idx)[::-1])[::-1]
    has_prev = (prev >= 0) & (codes[np.clip(prev, 0, None)] == codes)
    has_next = (nxt < len(y)) & (codes[np.clip(nxt, None, len(y) - 1)] == codes)
    p, n = np.clip(prev, 0, None), np.clip(nxt, None, len(y) - 1)
    inside = missing & has_prev & has_next
    weight = (idx - p) / np.where(n > p, n - p, 1)
    filled = y.copy()
    filled[inside] = (y[p] + (y[n] - y[p]) * weight)[inside]
    tail = missing & has_prev & ~has_next
    filled[tail] = y[p][tail]
    leading = missing & ~has_prev
    # A series without a single target value is all leading rows: it goes whole.
    empty = np.bincount(codes[~missing], minlength=ds.n_series) == 0
    dropped = tuple(str(i) for i in ds.series_ids[empty])
    filled_rows = inside | tail
    per_series = np.bincount(codes[filled_rows], minlength=ds.n_series)
    share = per_series / np.maximum(ds.lengths, 1)
    _check_filled_share(ds, int(filled_rows.sum()), len(y), per_series, max_filled_share, advice)
    series = sorted(frame.loc[missing, SERIES_ID].unique())
    new = frame.assign(**{ds.target_column: filled})[~leading]
    parts = [f"{int(inside.sum())} interpolated linearly"]
    if tail.any():
        parts.append(f"{int(tail.sum())} at series ends carried forward")
    if leading.any():
        parts.append(f"{int(leading.sum())} leading rows with nothing before them dropped")
    if dropped:
        parts.append(f"{len(dropped)} series with no target value dropped whole "
                     f"({int(ds.lengths[empty].sum())} of those rows)")
    fix = "missing target values: " + ", ".join(parts)
    message = (f"{int(missing.sum())} missing target values ({int(frame[FILLED].sum())} from "
               f"inserted periods) in {len(series)} series")
    if dropped:
        message += (f"; no target value at all in series {preview(list(dropped))}: dropped, "
                    f"no forecast for them (give them history to forecast them)")
    heavy = ds.series_ids[share > max_filled_share].tolist()
    if heavy:
        message += (f"; more than {max_filled_share:.0%} of the values of series "
                    f"{preview(heavy)} are filled in: check their dates")
    return ds._replace(new), GuardrailResult("missing_target", "alert" if heavy else "fixed",
                                             message, series, int(missing.sum()), fix, dropped)


def _check_filled_share(ds: TimeSeriesDataset, filled: int, rows: int, per_series: np.ndarray,
                        max_share: float, advice: str | None = None) -> None:
    if filled <= max_share * rows:
        return
    worst = int(np.argmax(per_series))
    grid = f"the {'inferred' if ds.freq_inferred else 'given'} frequency '{ds.freq}'"
    raise DataError(
        f"filling the gaps would invent {filled} of {rows} target values ({filled / rows:.0%}, "
        f"more than max_filled_share={max_share:g}) on {grid}; most in series "
        f"'{ds.series_ids[worst]}' ({int(per_series[worst])} of {int(ds.lengths[worst])}). " +
        (advice or "The frequency or the dates are probably misread: pass freq= (e.g. "
                   "freq='MS'), or date_format= for text dates (e.g. date_format='%d/%m/%Y'). "
                   "If the gaps are real, fill them yourself or raise max_filled_share."))


def _short_series(ds, need: int, horizon: int, n_windows: int, step: int, handling: str):
    lengths = ds.lengths
    short = lengths < need
    if not short.any():
        return ds, GuardrailResult("short_series", "passed",
                                   f"every series has at least {need} periods (horizon {horizon} "
                                   f"and the validation windows need {need})")
    ids = ds.series_ids[short].tolist()
    detail = (f"{len(ids)} of {ds.n_series} series are shorter than the {need} periods that "
              f"horizon {horizon} and the validation windows need: {preview(ids)} (shortest: "
              f"{int(lengths.min())} periods)")
    rows = int(lengths[short].sum())
    if handling == "auto":
        return ds, _kept_short(ds, short, detail, ids, rows, horizon, n_windows, step)
    if handling == "fail":
        return ds, GuardrailResult("short_series", "failed", detail + ". Use "
                                   "short_series_handling='auto' (fewer windows or a fallback "
                                   "forecast for them), 'drop' or 'pad', a shorter horizon or "
                                   "fewer cross-validations.", ids, rows)
    if handling == "drop":
        if short.all():
            return ds, GuardrailResult("short_series", "failed", detail + "; dropping would leave "
                                       "no series. Use short_series_handling='auto' or 'pad', or "
                                       "a shorter horizon.", ids, rows)
        return ds.only(~short), GuardrailResult(
            "short_series", "fixed", detail, ids, rows,
            f"dropped {len(ids)} short series ({rows} rows)", tuple(str(i) for i in ids))
    return _pad(ds, need, short, detail, ids)


def _kept_short(ds, short, detail, ids, rows, horizon, n_windows, step) -> GuardrailResult:
    """'auto': every series is kept and forecast.  A short series is validated on the windows
    it can fill; one that fills none sits out the search and is forecast by the fallback."""
    filled = windows_filled(ds.lengths, horizon, n_windows, step)
    unvalidated = ds.series_ids[filled == 0].tolist()
    some = short & (filled > 0)
    parts = []
    if some.any():
        parts.append(f"{int(some.sum())} are validated on the windows they can fill "
                     f"({int(filled[some].min())} to {n_windows} of {n_windows})")
    if not unvalidated:
        return GuardrailResult("short_series", "alert", f"{detail}; {parts[0]}", ids, rows)
    need_one = MIN_TRAIN + horizon
    if len(unvalidated) == ds.n_series:
        parts.append(f"no series has the {need_one} periods one validation window needs "
                     f"({MIN_TRAIN} to train on and horizon {horizon}): there is nothing to "
                     f"search on, and every series is forecast by the fallback")
    else:
        parts.append(f"{len(unvalidated)} have fewer than the {need_one} periods one validation "
                     f"window needs ({MIN_TRAIN} to train on and horizon {horizon}) and sit out "
                     f"the search: {preview(unvalidated)}")
    fix = (f"{len(unvalidated)} series forecast from their own history by the fallback, "
           f"{FALLBACK_CHAIN}; the model lists them in fallback_series")
    return GuardrailResult("short_series", "fixed", f"{detail}; " + "; ".join(parts), ids, rows,
                           fix)


def _pad(ds, need, short, detail, ids):
    """Pad short series at the front with zero targets (marked as filled) up to ``need``."""
    lengths = ds.lengths
    pad = np.where(short, need - lengths, 0)
    first = ds.grid.index(ds._naive_times()[ds.indptr[:-1]])
    index = np.repeat(first, pad) - (pad.repeat(pad) - position_in_series(offsets(pad)))
    extra = pd.DataFrame({
        SERIES_ID: pd.Categorical(np.repeat(ds.series_ids, pad), categories=ds.series_ids),
        ds.time_column: ds._to_user_times(ds.grid.times(index)),
        ds.target_column: 0.0,
        FILLED: True,
    })
    static = ds.frame.groupby(SERIES_ID, observed=True)[ds.static_features].first()
    for col in ds.static_features:
        extra[col] = static[col].reindex(extra[SERIES_ID]).to_numpy()
    # Padding precedes each series' rows, so a stable sort by series keeps time order.
    frame = pd.concat([extra, ds.frame], ignore_index=True)
    order = np.argsort(frame[SERIES_ID].cat.codes.to_numpy(), kind="stable")
    rows = int(pad.sum())
    return ds._replace(frame.iloc[order]), GuardrailResult(
        "short_series", "fixed", detail, ids, rows,
        f"padded {len(ids)} series at the front with {rows} zero-valued periods (marked in "
        f"'{FILLED}')")


def _early_end(ds: TimeSeriesDataset) -> GuardrailResult:
    """Series whose last observation comes before the latest one of the data: each series is
    forecast from its own last observation, so their forecasts cover earlier periods."""
    ends = ds.end_times()
    latest = ends.max()
    early = ends[ends < latest]
    if early.empty:
        return GuardrailResult("early_end", "passed", f"every series ends at {when(latest)}")
    groups = early.groupby(early.to_numpy()).groups  # last timestamp -> series ids
    shown = [f"{preview([str(i) for i in ids], 3)} end {when(end)}"
             for end, ids in sorted(groups.items())]
    return GuardrailResult(
        "early_end", "alert",
        f"{len(early)} series end before the latest period {when(latest)}: "
        f"{'; '.join(shown[:5])}"
        + (f"; and {len(shown) - 5} more end dates" if len(shown) > 5 else "") + ". Each series "
        "is forecast from its own last observation, so their forecasts start earlier; check "
        "whether they stopped or their latest data is missing",
        [str(i) for i in early.index], int(ds.lengths[np.isin(ds.series_ids, early.index)].sum()))


def _missing_features(ds: TimeSeriesDataset) -> GuardrailResult:
    cols = ds.covariates
    if not cols:
        return GuardrailResult("missing_features", "passed", "no covariates")
    missing = ds.frame[cols].isna()
    counts = missing.sum()
    if not counts.any():
        return GuardrailResult("missing_features", "passed", "no missing covariate values")
    bad = counts[counts > 0]
    series = sorted(ds.frame.loc[missing.any(axis=1), SERIES_ID].unique())
    detail = ", ".join(f"'{c}': {n}" for c, n in bad.items())
    return GuardrailResult("missing_features", "alert",
                           f"missing covariate values ({detail}); the pivoted learners impute "
                           f"them and add a missing-value indicator; the other learners that "
                           f"read covariates (ARIMA, Prophet, TCN) refuse them", series, int(missing.any(axis=1).sum()))


def constant_series(ds: TimeSeriesDataset) -> np.ndarray:
    """One bool per series (in the dataset's order): its target never changes."""
    y = ds.frame.groupby(SERIES_ID, observed=True, sort=False)[ds.target_column]
    spread = (y.max() - y.min()).reindex(ds.series_ids)
    return (spread == 0).to_numpy()


def _constant_series(ds: TimeSeriesDataset) -> GuardrailResult:
    constant = constant_series(ds)
    if not constant.any():
        return GuardrailResult("constant_series", "passed", "no constant series")
    ids = ds.series_ids[constant].tolist()
    return GuardrailResult("constant_series", "alert",
                           f"{len(ids)} series have a constant target ({preview(ids)}): they are "
                           f"forecast as that constant by the fallback (unless every series is "
                           f"constant); MASE scales their errors by their mean absolute level "
                           f"(left out where that is 0)", ids,
                           int(ds.lengths[constant].sum()))


def _high_cardinality(ds: TimeSeriesDataset) -> GuardrailResult:
    flagged = {}
    for col in ds.covariates:
        values = ds.frame[col]
        if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            continue
        n = int(values.nunique())
        if n > HIGH_CARDINALITY:
            flagged[col] = n
    if not flagged:
        return GuardrailResult("high_cardinality", "passed",
                               "no categorical covariate has more than "
                               f"{HIGH_CARDINALITY} distinct values")
    detail = ", ".join(f"'{c}' ({n} values)" for c, n in flagged.items())
    return GuardrailResult("high_cardinality", "alert",
                           f"high-cardinality categorical columns: {detail}; they are encoded "
                           f"ordinally instead of one-hot, consider dropping id-like columns")


def _candidate_grains(ds: TimeSeriesDataset) -> GuardrailResult:
    """When duplicate timestamps were aggregated, say what the aggregation merged: the columns
    that tell the merged rows apart and how many series they would give."""
    merged = next((f for f in ds.fixes if f.check == "duplicates"), None)
    grains = f"grain columns {ds.grain_columns}" if ds.grain_columns else "no grain columns"
    if merged is None:
        return GuardrailResult("candidate_grains", "passed",
                               "series are identified by " + (f"{ds.grain_columns}"
                                                              if ds.grain_columns else
                                                              "a single series") +
                               "; no timestamp repeats within a series")
    head = (f"with {grains}, {merged.rows} rows repeated a period of their series and were "
            f"merged with '{ds.target_aggregation}' into {ds.n_series} series")
    if not ds.grain_candidates:
        return GuardrailResult("candidate_grains", "alert",
                               head + "; no set of up to 3 other columns tells those rows apart",
                               list(merged.series), merged.rows)
    options = "; ".join(f"{list(c)} ({n} series)" for c, n in ds.grain_candidates.items())
    verb = "add" if ds.grain_columns else "pass"
    return GuardrailResult("candidate_grains", "alert",
                           f"{head}, but the columns {options} tell them apart: the forecast is "
                           f"of their {ds.target_aggregation}, not of each. To forecast them "
                           f"separately, {verb} grain_columns=...",
                           list(merged.series), merged.rows)


def _memory(ds: TimeSeriesDataset) -> GuardrailResult:
    used = int(ds.frame.memory_usage(deep=True).sum())
    columns = 1 + len(ds.covariates)
    featurized = len(ds.frame) * columns * _FEATURES_PER_COLUMN * 8
    available = _available_memory()
    need = used + featurized
    message = (f"data uses {used / 2**20:.1f} MiB; featurization needs about "
               f"{featurized / 2**20:.1f} MiB more; {available / 2**30:.1f} GiB available")
    status: Status = "alert" if need > available / 2 else "passed"
    if status == "alert":
        message += "; consider fewer series per model (many-models) or a shorter history"
    return GuardrailResult("memory", status, message)


def _available_memory() -> int:
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
