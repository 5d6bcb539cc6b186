"""``TimeSeriesDataset``: a long frame keyed by (series, time) on one regular time grid.

Construction does the structural work once, vectorised over all series: it checks the columns,
turns infinite values into missing ones, reads the times (``tsauto.data.times``: never a silent
guess about day/month order or time zones) and sorts them, infers the frequency, moves
misaligned rows onto the grid, aggregates duplicate timestamps when asked, and inserts missing
periods as explicit rows marked in ``FILLED``.  Every such change is recorded in ``fixes`` so that the guardrail report can tell
the user what was done to their data.  Nothing is dropped silently.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from tsauto.data.forecast_columns import POINT, STEP
from tsauto.data.frequency import TimeGrid, grid_from_freq, infer_grid
from tsauto.data.grouped import GroupedArray, offsets, position_in_series, series_codes
from tsauto.data.io import read_table  # noqa: F401 - re-exported: the one table reader
from tsauto.data.times import check_date_format, localize, parse_times, when
from tsauto.errors import (
    ColumnNotFoundError,
    DataError,
    DuplicateTimestampsError,
    SettingsError,
    check_int,
    closest_hint,
    preview,
)

SERIES_ID = "series_id"
FILLED = "_filled"
RESERVED = {FILLED: "the mark of filled periods", STEP: "the forecast's horizon step",
            POINT: "the point forecast"}
AGGREGATIONS = ("sum", "mean", "min", "max")
SINGLE_SERIES = "all"
# Values beyond this magnitude are an error: their squares and sums overflow float64.
MAX_ABS_VALUE = 1e100

Aggregation = Literal["sum", "mean", "min", "max"]


@dataclass(frozen=True)
class Fix:
    """One change made to the data while building the dataset, for the guardrail report."""

    check: str
    message: str
    series: tuple[str, ...]
    rows: int


def _as_list(value: str | Sequence[str] | None, name: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not all(isinstance(v, str) for v in value):
        raise SettingsError(f"{name} must be a column name or a list of column names, got {value!r}.")
    return list(value)


class TimeSeriesDataset:
    """Many time series in one long frame, regular on one time grid.

    Parameters name the columns' roles: ``time_column`` and ``target_column``;
    ``grain_columns`` (zero or more) identify a series; ``known_covariates`` are known into the
    future (price, promotion), ``past_covariates`` are only observed up to now, and
    ``static_features`` are constant per series.  ``freq`` is inferred when not given.
    ``target_aggregation`` (sum/mean/min/max) merges rows that share a series and a period;
    without it such rows are an error.  ``date_format`` (e.g. ``'%d/%m/%Y'``) reads text times;
    without it the format is inferred (``tsauto.data.times`` says how, and when it refuses to
    guess).
    """

    def __init__(
        self,
        data: pd.DataFrame,
        *,
        time_column: str,
        target_column: str,
        grain_columns: str | Sequence[str] | None = None,
        known_covariates: str | Sequence[str] | None = None,
        past_covariates: str | Sequence[str] | None = None,
        static_features: str | Sequence[str] | None = None,
        freq: str | None = None,
        target_aggregation: Aggregation | None = None,
        date_format: str | None = None,
    ) -> None:
        if not isinstance(data, pd.DataFrame):
            raise DataError(f"data must be a pandas DataFrame, got {type(data).__name__}.")
        if data.shape[0] == 0:
            raise DataError("the data has no rows: a dataset needs at least one series with two "
                            "or more time points.")
        if target_aggregation is not None and target_aggregation not in AGGREGATIONS:
            raise SettingsError(f"target_aggregation={target_aggregation!r} is not valid; use one "
                                f"of {', '.join(AGGREGATIONS)} or None.")
        self.time_column = time_column
        self.target_column = target_column
        self.grain_columns = _as_list(grain_columns, "grain_columns")
        self.known_covariates = _as_list(known_covariates, "known_covariates")
        self.past_covariates = _as_list(past_covariates, "past_covariates")
        self.static_features = _as_list(static_features, "static_features")
        self.target_aggregation = target_aggregation
        self.fixes: list[Fix] = []
        # Column sets that would split the series further: {columns: distinct series}.
        self.grain_candidates: dict[tuple[str, ...], int] = {}
        self.freq_inferred = freq is None
        self._check_columns(data)

        # Grain columns live once per series in self.series, not on every row.
        codes, self.series = self._series_codes(data)
        labels = self.series[SERIES_ID].to_numpy()
        frame = data[[time_column, target_column, *self.covariates]].copy()
        target = self._finite(frame, self._numeric_target(frame[target_column]), codes, labels)
        parsed = parse_times(frame[time_column], time_column, check_date_format(date_format),
                             lambda rows: labels[codes[rows]])
        times, self.tz, self._tz_mode = parsed.values, parsed.tz, parsed.mode
        self.date_format = parsed.date_format
        if parsed.notes:
            self.fixes.append(Fix("time_parsing", "; ".join(parsed.notes), (), len(frame)))
        keys = (times.view("i8"), codes)
        ordered = np.all((keys[1][1:] > keys[1][:-1]) | ((keys[1][1:] == keys[1][:-1])
                                                          & (keys[0][1:] >= keys[0][:-1])))
        order = np.arange(len(frame)) if ordered else np.lexsort(keys)
        frame = frame.iloc[order].reset_index(drop=True) if not ordered else frame.reset_index(drop=True)
        frame[target_column] = target.to_numpy()[order]
        codes, times = codes[order], times[order]

        self.grid = (grid_from_freq(freq, int(times.view("i8").min())) if freq
                     else infer_grid(times.view("i8"), codes, labels))
        index = self.grid.index(times)
        off = ~self.grid.on_grid(times)
        if off.any():
            self.fixes.append(Fix("frequency", f"{int(off.sum())} rows were off the "
                                  f"'{self.grid.freq}' grid and were moved to the start of their "
                                  f"period", tuple(np.unique(labels[codes[off]])), int(off.sum())))
        frame, codes, index = self._merge_duplicates(frame, codes, index, labels, data)
        self.frame = self._regularise(frame, codes, index, labels)
        self._check_static()

    # -- construction helpers ------------------------------------------------------------------
    @property
    def covariates(self) -> list[str]:
        return [*self.known_covariates, *self.past_covariates, *self.static_features]

    def _check_columns(self, data: pd.DataFrame) -> None:
        roles = {"time_column": [self.time_column], "target_column": [self.target_column],
                 "grain_columns": self.grain_columns, "known_covariates": self.known_covariates,
                 "past_covariates": self.past_covariates, "static_features": self.static_features}
        columns = [str(c) for c in data.columns]
        repeated = pd.Index(columns)[pd.Index(columns).duplicated()].unique().tolist()
        if repeated:  # data[name] would be a frame of both columns, not one column
            raise DataError(f"the data has duplicate column names: {preview(repeated)}; rename "
                            f"or drop the copies so that each column name is used once.")
        seen: dict[str, str] = {}
        for role, names in roles.items():
            for name in names:
                if name not in data.columns:
                    raise ColumnNotFoundError(
                        f"{role}: column '{name}' is not in the data.{closest_hint(name, columns)} "
                        f"Columns are: {preview(columns, 20)}.")
                if name in seen:
                    raise SettingsError(f"column '{name}' is given two roles, {seen[name]} and "
                                        f"{role}; each column can have one role.")
                seen[name] = role
        if SERIES_ID in data.columns and self.grain_columns != [SERIES_ID] and SERIES_ID in seen:
            raise SettingsError(f"column name '{SERIES_ID}' is reserved for the series id; rename "
                                f"it or use it as the only grain column.")
        # the columns tsauto adds to its frames: a user's column of that name would be lost
        taken = sorted(RESERVED.keys() & seen.keys())
        if taken:
            name = taken[0]
            raise SettingsError(f"{seen[name]}: column name '{name}' is reserved for "
                                f"{RESERVED[name]}; rename the column.")

    def _numeric_target(self, target: pd.Series) -> pd.Series:
        name = self.target_column
        if pd.api.types.is_bool_dtype(target):
            target = target.astype("float64")
        if not pd.api.types.is_numeric_dtype(target):
            converted = pd.to_numeric(target, errors="coerce")
            bad = converted.isna() & target.notna()
            if bad.any():
                rows = np.flatnonzero(bad.to_numpy())
                raise DataError(
                    f"target column '{name}' must be numeric, but {int(bad.sum())} values are not "
                    f"numbers, e.g. {preview(target.iloc[rows[:3]].tolist(), 3)} at rows "
                    f"{preview(rows.tolist())}.")
            target = converted
        target = target.astype("float64")
        if target.isna().all():
            raise DataError(f"target column '{name}' has no values: all {len(target)} rows are "
                            f"missing (NaN).")
        return target

    def _finite(self, frame: pd.DataFrame, target: pd.Series, codes: np.ndarray,
                labels: np.ndarray) -> pd.Series:
        """The target with infinite values as missing (covariates likewise, in ``frame``),
        recorded as a fix; magnitudes beyond ``MAX_ABS_VALUE`` are an error: squared errors
        and sums of them overflow float arithmetic, so no trial could score them."""
        columns = {self.target_column: target}
        columns.update({c: frame[c] for c in self.covariates
                        if pd.api.types.is_numeric_dtype(frame[c])
                        and not pd.api.types.is_bool_dtype(frame[c])})
        found, rows_hit, series_hit = [], np.zeros(len(frame), dtype=bool), set()
        for col, values in columns.items():
            x = values.to_numpy(dtype="float64", na_value=np.nan)
            huge = np.isfinite(x) & (np.abs(x) > MAX_ABS_VALUE)
            if huge.any():
                rows = np.flatnonzero(huge)
                raise DataError(
                    f"column '{col}' has {len(rows)} values beyond ±{MAX_ABS_VALUE:.0e}, e.g. "
                    f"{x[rows[0]]:g} at row {rows[0]} (series '{labels[codes[rows[0]]]}'; rows "
                    f"{preview(rows.tolist())}); no error metric can be computed on them: fix "
                    f"the values or rescale the column.")
            infinite = np.isinf(x)
            if infinite.any():
                rows = np.flatnonzero(infinite)
                found.append(f"'{col}': {len(rows)} at rows {preview(rows.tolist())}")
                rows_hit |= infinite
                series_hit.update(labels[np.unique(codes[rows])].tolist())
                cleaned = pd.Series(np.where(infinite, np.nan, x), index=values.index)
                if col == self.target_column:
                    target = cleaned
                else:
                    frame[col] = cleaned
        if found:
            self.fixes.append(Fix("non_finite", f"infinite values treated as missing: "
                                  f"{'; '.join(found)}", tuple(sorted(series_hit)),
                                  int(rows_hit.sum())))
        return target

    def _series_codes(self, frame: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
        if not self.grain_columns:
            series = pd.DataFrame({SERIES_ID: [SINGLE_SERIES]})
            return np.zeros(len(frame), dtype=np.int64), series
        # Factorize each grain column once (fast hashing), then combine the integer codes.
        codes = np.zeros(len(frame), dtype=np.int64)
        for col in self.grain_columns:
            col_codes, col_uniques = pd.factorize(frame[col], sort=True)
            if (col_codes < 0).any():
                bad = np.flatnonzero(col_codes < 0)
                raise DataError(f"grain column '{col}' has missing values in {len(bad)} rows, e.g. "
                                f"rows {preview(bad.tolist())}; every row needs a series id.")
            if codes.max() >= 2**62 // max(len(col_uniques), 1):  # keep the product in int64
                codes = _dense_codes(codes)[0]
            codes = codes * len(col_uniques) + col_codes
        codes, first_rows = _dense_codes(codes)
        series = pd.DataFrame({col: frame[col].to_numpy()[first_rows] for col in self.grain_columns})
        labels = series_labels(series[self.grain_columns])
        _check_unique_labels(series[self.grain_columns], labels)
        if self.grain_columns == [SERIES_ID]:  # the user's ids, as text like every series id
            series[SERIES_ID] = labels
        else:
            series.insert(0, SERIES_ID, labels)
        return codes, series

    def _merge_duplicates(self, frame, codes, index, labels, raw):
        dup = np.zeros(len(frame), dtype=bool)
        dup[1:] = (codes[1:] == codes[:-1]) & (index[1:] == index[:-1])
        if not dup.any():
            return frame, codes, index
        where = np.flatnonzero(dup)
        series = tuple(np.unique(labels[codes[where]]))
        others = [*self.known_covariates, *self.past_covariates, self.target_column]
        self.grain_candidates = candidate_grains(raw.drop(columns=others), self.time_column,
                                                 self.grain_columns)
        if self.target_aggregation is None:
            hint = ""
            if self.grain_candidates:
                verb = "add" if self.grain_columns else "name the series with"
                hint = (f", or {verb} grain_columns= (candidates: "
                        f"{preview([list(c) for c in self.grain_candidates])})")
            times = frame[self.time_column]
            first, again = times.iloc[where[0] - 1], times.iloc[where[0]]
            example = (f"time {again}" if first == again else f"times {first} and {again}, "
                       f"both in the '{self.grid.freq}' period of "
                       f"{pd.Timestamp(self.grid.times(index[where[:1]])[0])}")
            rows = (f"{len(where)} rows repeat a period of their series (series "
                    f"{preview(series)}; e.g. {example} in series '{labels[codes[where[0]]]}').")
            raise DuplicateTimestampsError(
                f"{rows} Pass target_aggregation= one of {', '.join(AGGREGATIONS)} to aggregate "
                f"them{hint}.", rows)
        key = [pd.Series(codes, name="_c"), pd.Series(index, name="_i")]
        groups = frame.reset_index(drop=True).groupby(key, sort=True)
        # min_count=1: a period whose rows are all missing stays missing instead of summing to 0.
        merged = getattr(groups[self.target_column], self.target_aggregation)(
            **({"min_count": 1} if self.target_aggregation == "sum" else {})).to_frame()
        for col in self.covariates:
            numeric = pd.api.types.is_numeric_dtype(frame[col])
            merged[col] = groups[col].mean() if numeric else groups[col].first()
        codes_new = merged.index.get_level_values(0).to_numpy()
        index_new = merged.index.get_level_values(1).to_numpy()
        merged = merged.reset_index(drop=True)
        self.fixes.append(Fix("duplicates", f"{len(where)} rows that repeated a period of their "
                              f"series were aggregated with '{self.target_aggregation}'",
                              series, len(where)))
        return merged, codes_new, index_new

    def _regularise(self, frame, codes, index, labels) -> pd.DataFrame:
        n = len(self.series)
        # Rows are sorted by (series, period): each series' first and last rows bound it.
        ends = np.cumsum(np.bincount(codes, minlength=n))
        first = index[ends - np.bincount(codes, minlength=n)]
        last = index[ends - 1]
        lengths = last - first + 1
        indptr = offsets(lengths)
        total = int(indptr[-1])
        position = indptr[codes] + (index - first[codes])
        full_codes = series_codes(indptr)
        full_index = position_in_series(indptr) + np.repeat(first, lengths)
        present = np.zeros(total, dtype=bool)
        present[position] = True
        source = np.full(total, -1)
        source[position] = np.arange(len(frame))
        columns = frame[[self.target_column, *self.covariates]].reset_index(drop=True)
        out = {col: columns[col].reindex(source).to_numpy() if columns[col].dtype.kind == "b"
               else columns[col].reindex(source) for col in columns}
        gaps = ~present
        if gaps.any():
            affected = tuple(labels[np.unique(full_codes[gaps])])
            self.fixes.append(Fix("missing_periods", f"{int(gaps.sum())} missing periods were "
                                  f"inserted as rows with a missing target (marked in "
                                  f"'{FILLED}')", affected, int(gaps.sum())))
        result = pd.DataFrame(out).reset_index(drop=True)
        result.insert(0, self.time_column, self._to_user_times(self.grid.times(full_index)))
        result.insert(0, SERIES_ID, pd.Categorical.from_codes(
            full_codes, categories=pd.Index(labels)))
        result[FILLED] = gaps
        return result

    def _check_static(self) -> None:
        for col in self.static_features:
            values = self.frame.groupby(SERIES_ID, observed=True)[col]
            varying = values.nunique(dropna=True) > 1
            if varying.any():
                raise DataError(f"static feature '{col}' varies within series "
                                f"{preview(varying.index[varying].tolist())}; static features "
                                f"must be constant per series (use known_covariates instead).")
            self.frame[col] = values.transform("first")

    def _to_user_times(self, times: np.ndarray) -> pd.DatetimeIndex:
        return localize(times, self.tz, self._tz_mode)

    def _naive_times(self) -> np.ndarray:
        """Times as naive datetime64[ns] on the grid's clock."""
        times = self.frame[self.time_column]
        if self._tz_mode == "utc":
            times = times.dt.tz_convert("UTC")
        if self.tz is not None:
            times = times.dt.tz_localize(None)
        return times.to_numpy(dtype="datetime64[ns]")

    # -- alternative constructors --------------------------------------------------------------
    @classmethod
    def from_path(cls, path: str | Path, **roles) -> TimeSeriesDataset:
        """Read a CSV or Parquet file and build the dataset from it."""
        return cls(read_table(path), **roles)

    def _replace(self, frame: pd.DataFrame) -> TimeSeriesDataset:
        """A dataset sharing this one's roles and grid over an already regular frame."""
        new = copy.copy(self)
        frame = frame.reset_index(drop=True)
        used = frame[SERIES_ID].cat.remove_unused_categories()
        frame[SERIES_ID] = used
        new.frame = frame
        new.series = self.series[self.series[SERIES_ID].isin(used.cat.categories)].reset_index(
            drop=True)
        new.fixes = list(self.fixes)
        return new

    def only(self, keep: np.ndarray) -> TimeSeriesDataset:
        """The series where ``keep`` (one bool per series) is true; this dataset when all are."""
        return self if keep.all() else self._replace(self.frame[np.repeat(keep, self.lengths)])

    # -- views ---------------------------------------------------------------------------------
    @property
    def freq(self) -> str:
        return self.grid.freq

    @property
    def season_length(self) -> int:
        return self.grid.season_length

    @property
    def n_series(self) -> int:
        return len(self.series)

    @property
    def series_ids(self) -> np.ndarray:
        return self.series[SERIES_ID].to_numpy()

    @property
    def indptr(self) -> np.ndarray:
        counts = np.bincount(self.frame[SERIES_ID].cat.codes.to_numpy(), minlength=self.n_series)
        return offsets(counts)

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.indptr)

    def grouped(self, column: str | None = None) -> GroupedArray:
        """The column (target by default) as a grouped array: values + per-series offsets."""
        col = column or self.target_column
        return GroupedArray(self.frame[col].to_numpy(dtype="float64", na_value=np.nan),
                            self.indptr, self.series_ids)

    def end_times(self) -> pd.Series:
        """Last timestamp of each series, indexed by series id."""
        last = self.indptr[1:] - 1
        return pd.Series(self.frame[self.time_column].to_numpy()[last], index=self.series_ids)

    def to_frame(self) -> pd.DataFrame:
        """The long frame with the user's grain columns restored."""
        out = self.frame.drop(columns=[FILLED])
        if self.grain_columns and self.grain_columns != [SERIES_ID]:
            grains = self.series.set_index(SERIES_ID)[self.grain_columns]
            for col in self.grain_columns:
                out.insert(1, col, grains[col].reindex(out[SERIES_ID]).to_numpy())
        return out

    # -- splits and the future -----------------------------------------------------------------
    def split_at(self, cutoff) -> tuple[TimeSeriesDataset, TimeSeriesDataset]:
        """(rows at or before ``cutoff``, rows after it); series absent from a side are left out."""
        cutoff = pd.Timestamp(cutoff)
        times = self.frame[self.time_column]
        if self.tz is not None and cutoff.tzinfo is None:
            cutoff = cutoff.tz_localize(self.tz)
        mask = (times <= cutoff).to_numpy()
        return self._replace(self.frame[mask]), self._replace(self.frame[~mask])

    def split_last(self, n: int) -> tuple[TimeSeriesDataset, TimeSeriesDataset]:
        """(all but the last ``n`` periods of each series, the last ``n`` periods)."""
        n = check_int(n, "n")
        indptr = self.indptr
        lengths = np.diff(indptr)
        remaining = np.repeat(lengths, lengths) - position_in_series(indptr)
        mask = remaining > n
        return self._replace(self.frame[mask]), self._replace(self.frame[~mask])

    def future_frame(self, horizon: int) -> pd.DataFrame:
        """The ``horizon`` timestamps after each series' end: columns series_id, time, step."""
        return self.schema().future_frame(horizon)

    def schema(self) -> DatasetSchema:
        """Column roles, grid and series ends: what a fitted model keeps to lay out the future."""
        last = self.grid.index(self._naive_times()[self.indptr[1:] - 1])
        return DatasetSchema(self.time_column, self.target_column, list(self.grain_columns),
                             list(self.known_covariates), list(self.past_covariates),
                             list(self.static_features), self.grid, self.tz, self._tz_mode,
                             self.series.copy(), last, self.date_format,
                             tuple((c, "numeric", None) for c in self.known_covariates
                                   if pd.api.types.is_numeric_dtype(self.frame[c])
                                   and not pd.api.types.is_bool_dtype(self.frame[c])))

    def summary(self) -> dict:
        """Facts about the dataset, for people and machines."""
        lengths = self.lengths
        times = self.frame[self.time_column]
        target = self.frame[self.target_column]
        return {
            "series": self.n_series,
            "rows": len(self.frame),
            "freq": self.freq,
            "season_length": self.season_length,
            "start": str(times.min()),
            "end": str(times.max()),
            "length_min": int(lengths.min()),
            "length_median": float(np.median(lengths)),
            "length_max": int(lengths.max()),
            "time_column": self.time_column,
            "target_column": self.target_column,
            "grain_columns": self.grain_columns,
            "known_covariates": self.known_covariates,
            "past_covariates": self.past_covariates,
            "static_features": self.static_features,
            "filled_periods": int(self.frame[FILLED].sum()),
            "missing_target": int(target.isna().sum()),
            "timezone": str(self.tz) if self.tz is not None else None,
            "date_format": self.date_format,
        }

    def __len__(self) -> int:
        return len(self.frame)

    def __repr__(self) -> str:
        return (f"TimeSeriesDataset({self.n_series} series, {len(self.frame)} rows, "
                f"freq='{self.freq}', target='{self.target_column}')")


@dataclass
class DatasetSchema:
    """The shape of a dataset without its rows."""

    time_column: str
    target_column: str
    grain_columns: list[str]
    known_covariates: list[str]
    past_covariates: list[str]
    static_features: list[str]
    grid: TimeGrid
    tz: object
    tz_mode: str
    series: pd.DataFrame    # series_id + grain columns, one row per series
    last_index: np.ndarray  # grid period number of each series' last row
    date_format: str | None = None  # how text times were read (None: inferred)
    # (column, kind, date_format) of the numeric known covariates: what ``future`` must hold.
    known_kinds: tuple[tuple[str, str, str | None], ...] = ()

    def on_grid(self, frame: pd.DataFrame, where: str) -> pd.DataFrame:
        """``frame`` (with ``series_id``) with its times read as the training times were (with
        their text format: a day-first 01/02/2021 is 1 February here too) and moved to the
        start of their period, as the training data's and ``forecast(data=)``'s are (a
        monthly model's 2020-01-15 is 2020-01-01); two different times of one series in one
        period are a DataError naming them."""
        parsed = parse_times(frame[self.time_column], self.time_column, self.date_format,
                             where=where)
        naive = parsed.values
        if self.tz is not None and parsed.tz is not None:  # the same instants, on our clock
            ours = localize(naive, parsed.tz, parsed.mode).tz_convert(
                "UTC" if self.tz_mode == "utc" else self.tz)
            naive = ours.tz_localize(None).to_numpy(dtype="datetime64[ns]")
        period = self.grid.index(naive)
        rows = pd.DataFrame({"series": frame[SERIES_ID].to_numpy(), "period": period,
                             "time": naive}).drop_duplicates()
        clash = rows[rows.duplicated(["series", "period"], keep=False)]
        if len(clash):
            first = clash[clash["period"] == clash["period"].iloc[0]]
            first = first[first["series"] == first["series"].iloc[0]]
            raise DataError(
                f"{where}: series '{first['series'].iloc[0]}' has {len(first)} different times "
                f"in one period of the model's frequency '{self.grid.freq}', "
                f"{preview([when(t) for t in first['time']])}; give one row per period.")
        times = localize(self.grid.times(period), self.tz, self.tz_mode)
        return frame.assign(**{self.time_column: pd.Series(times, index=frame.index)})

    @property
    def series_ids(self) -> np.ndarray:
        return self.series[SERIES_ID].to_numpy()

    def with_series_id(self, frame: pd.DataFrame, name: str = "the frame",
                       error: type[DataError] = DataError) -> pd.DataFrame:
        """A copy of a user's frame with ``series_id`` (as text) taken from it or mapped from
        its grain columns; ``error`` names what is missing."""
        frame = frame.copy()
        grains = [c for c in self.grain_columns if c != SERIES_ID]
        keys = [SERIES_ID] if SERIES_ID in frame.columns else grains
        absent = [c for c in keys if c not in frame.columns]
        if absent:
            raise error(f"{name} needs '{SERIES_ID}' or the grain column(s) "
                        f"{preview(grains)}; missing {preview(absent)}.")
        for col in keys:  # a missing id would read as a series named 'nan'
            rows = np.flatnonzero(frame[col].isna().to_numpy())
            if len(rows):
                raise DataError(f"{name}: '{col}' is missing in {len(rows)} row(s), e.g. rows "
                                f"{preview(rows.tolist())}; every row needs its series.")
        if SERIES_ID in frame.columns:
            frame[SERIES_ID] = _match_values(frame[SERIES_ID], self.series[SERIES_ID]).astype(str)
            return frame
        if not grains:
            return frame.assign(**{SERIES_ID: self.series_ids[0]})
        # Unknown grain values keep their own text: an id no training series has.
        frame[SERIES_ID] = series_labels(self.match_grains(frame)[grains])
        return frame

    def match_grains(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` with each grain value replaced by the training value it equals in another
        type (1, '1' and 1.0 for a training 1), so that it gets that series' id wherever a
        frame is matched to the training series; values no training series has stay as
        given."""
        grains = [c for c in self.grain_columns if c in frame.columns]
        if not grains:
            return frame
        frame = frame.copy()
        for col in grains:
            frame[col] = _match_values(frame[col], self.series[col])
        return frame

    def future_frame(self, horizon: int) -> pd.DataFrame:
        """The ``horizon`` periods after each series' end: series_id, time, step (1..horizon)."""
        horizon = check_int(horizon, "horizon")
        ids = self.series_ids
        steps = np.tile(np.arange(1, horizon + 1), len(ids))
        index = np.repeat(self.last_index, horizon) + steps
        return pd.DataFrame({
            SERIES_ID: pd.Categorical(np.repeat(ids, horizon), categories=ids),
            self.time_column: localize(self.grid.times(index), self.tz, self.tz_mode),
            STEP: steps,
        })


# -- module helpers ----------------------------------------------------------------------------
def series_labels(grains: pd.DataFrame) -> np.ndarray:
    """The series id of each row of ``grains`` (the grain columns, in order): their values as
    text joined by '|'.  Saved models hold these ids, so the text must stay as it is."""
    label = grains.iloc[:, 0].astype(str)
    for i in range(1, grains.shape[1]):
        label = label + "|" + grains.iloc[:, i].astype(str)
    return label.to_numpy(dtype=object)


def _check_unique_labels(series: pd.DataFrame, labels: np.ndarray) -> None:
    """Distinct grain combinations (one per row of ``series``) must not share an id: joined
    as text, ('x|y', 'z') and ('x', 'y|z') both read 'x|y|z', and 1 and '1' both read '1'."""
    clash = pd.Index(labels).duplicated(keep=False)
    if not clash.any():
        return
    first = labels[clash][0]
    rows = series[labels == first]
    combos = [tuple(r) for r in rows.itertuples(index=False)]
    shown = " and ".join(repr(c[0] if len(c) == 1 else c) for c in combos[:3])
    text = series.apply(lambda col: col.astype(str).str.contains("|", regex=False).any())
    piped = text.index[text.to_numpy()].tolist()
    advice = (f"replace '|' in the values of {preview(piped)} (e.g. with '/')" if piped else
              "give each grain column one type (e.g. all text or all numbers)")
    raise DataError(
        f"grain values {shown} of columns {preview(list(series.columns))} would get the same "
        f"series id '{first}' ({int(clash.sum())} series clash in all): a series id is the "
        f"grain values as text joined by '|'. To keep the series apart, {advice}.")


def _match_values(values: pd.Series, known: pd.Series) -> pd.Series:
    """``values`` with each one whose text, whole-number text or float text is the text of a
    ``known`` (training) value replaced by that value: '1' and 1.0 become a training 1,
    '2.5' and 2.5 a training 2.5.  Others (unknown, missing) are left as they are."""
    known = pd.Series(pd.unique(known.to_numpy()))
    known_text = pd.Index(known.astype(str))
    keep = ~known_text.duplicated()  # one text, one series id: any of them will do
    known, known_text = known[keep].reset_index(drop=True), known_text[keep]
    codes, uniques = pd.factorize(values)  # match each distinct value once
    uniques = pd.Series(np.asarray(uniques))
    pos = known_text.get_indexer(uniques.astype(str))
    if (pos < 0).any() and uniques.dtype.kind in "iufO":
        number = pd.to_numeric(uniques, errors="coerce").astype("float64")
        whole = number.notna() & (number % 1 == 0) & (number.abs() < 2**63)
        as_int = known_text.get_indexer(number.where(whole, 0).astype(np.int64).astype(str))
        as_float = known_text.get_indexer(number.astype(str))
        pos = np.where(pos >= 0, pos, np.where(whole & (as_int >= 0), as_int,
                                               np.where(number.notna(), as_float, -1)))
    if (pos < 0).all():
        return values
    hit = pos >= 0
    if hit.all() and (codes >= 0).all():  # every value known: the training dtype
        return pd.Series(known.iloc[pos[codes]].to_numpy(), index=values.index,
                         name=values.name)
    out = values.to_numpy(dtype=object).copy()
    rows = (codes >= 0) & hit[np.clip(codes, 0, None)]
    # As objects: numpy would turn datetime64[ns] values into integers here.
    out[rows] = known.astype(object).to_numpy()[pos[codes[rows]]]
    return pd.Series(out, index=values.index, name=values.name)


def _dense_codes(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Renumber sortable integer codes as 0..n-1 in sorted order, with a row of each code."""
    uniques, first_rows, dense = np.unique(codes, return_index=True, return_inverse=True)
    return dense.astype(np.int64), first_rows


def candidate_grains(frame: pd.DataFrame, time_column: str, grains: Sequence[str] = (),
                     limit: int = 5, max_columns: int = 3) -> dict[tuple[str, ...], int]:
    """Smallest sets of up to ``max_columns`` columns that, added to ``grains``, make
    (series, time) unique: the likely series ids when timestamps repeat.  Maps each set to the
    number of series it would give.  Columns with one value, with more distinct values than half
    the rows, or with non-whole floats are not ids; the 12 with the fewest values are tried."""
    rows = len(frame)
    base = _dense_codes(_combine([pd.factorize(frame[c], use_na_sentinel=False)[0]
                                  for c in grains]))[0] if grains else np.zeros(rows, np.int64)
    time = pd.factorize(frame[time_column], use_na_sentinel=False)[0]
    per_time = int(np.bincount(_dense_codes(_combine([base, time]))[0]).max())
    columns = []
    for col in frame.columns:
        if col == time_column or col in grains:
            continue
        values = frame[col]
        n_unique = values.nunique(dropna=False)
        if n_unique < 2 or n_unique > rows / 2:
            continue
        if pd.api.types.is_float_dtype(values) and not (values.dropna() % 1 == 0).all():
            continue
        columns.append((n_unique, str(col), pd.factorize(values, use_na_sentinel=False)[0]))
    columns = sorted(columns, key=lambda c: c[0])[:12]
    found: dict[tuple[str, ...], int] = {}
    for size in range(1, max_columns + 1):
        for combo in combinations(columns, size):
            names = tuple(name for _, name, _ in combo)
            # Minimal sets only, and only sets with enough values to separate the rows of a time.
            if any(set(f) <= set(names) for f in found) or \
                    np.prod([n for n, _, _ in combo], dtype=float) < per_time:
                continue
            series = _dense_codes(_combine([base, *(c for _, _, c in combo)]))[0]
            keys = _combine([series, time])
            if len(np.unique(keys)) == rows:
                found[names] = int(series.max()) + 1
                if len(found) >= limit:
                    return found
    return found


def _combine(codes: Sequence[np.ndarray]) -> np.ndarray:
    """One int64 code per row from several non-negative integer codes (dense, so no overflow)."""
    out = np.zeros(len(codes[0]), dtype=np.int64)
    for c in codes:
        out = _dense_codes(out)[0] * (int(c.max()) + 1) + c
    return out
