"""``fit_many``: one AutoML per partition, and ``ManyModels``, what it leaves behind.

The output folder::

    many.json            settings, partition columns, the last run's engine and time
    partitions.parquet   every partition: its key's columns and its folder's name
    index.parquet        one row per partition: status, best learner, metrics, trials, time,
                         error (rebuilt from the partitions' own records if a run was killed)
    partitions/<name>/   that partition's AutoML output folder (model.pkl, leaderboard, runs
                         database...) and partition.json, its record

Budget rule: ``time_budget`` (and every other budget) applies to each partition on its own, so
a partition's search is the same whatever the number of partitions or workers.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from tsauto.data.dataset import TimeSeriesDataset, read_table
from tsauto.data.io import check_output_dir
from tsauto.errors import DataError, SettingsError, preview
from tsauto.many.engines import check_engine, engine_name, run_partitions
from tsauto.many.partitions import (PARTITION, check_partition_by, key_of, plain,
                                    with_partitions)
from tsauto.many.worker import COLUMNS, PARTITIONS, read_status
from tsauto.progress import default_reporter
from tsauto.settings import settings_from_json, settings_to_json

MANIFEST, KEYS, INDEX = "many.json", "partitions.parquet", "index.parquet"
_TAIL = ["trials", "seconds", "series", "rows", "reused", "error", "worker"]


def fit_many(settings, data, partition_by, engine=None, output_dir=None,
             workers: int | None = None) -> ManyModels:
    """See ``AutoML.fit_many``."""
    if settings.task != "forecasting":
        raise SettingsError("fit_many is for forecasting; fit one classification or regression "
                            "model per table with AutoML.fit.")
    if output_dir is None:
        raise SettingsError("fit_many stores every partition's results on disk: give "
                            "output_dir (a folder every worker can reach).")
    if workers is not None and (not isinstance(workers, int) or isinstance(workers, bool)
                                or workers < 1):
        raise SettingsError(f"workers must be a positive integer (None: one per core), got "
                            f"{workers!r}.")
    check_engine(engine)
    folder = check_output_dir(output_dir, "output_dir")
    frame = read_table(data) if isinstance(data, (str, Path)) else data
    if not isinstance(frame, pd.DataFrame):
        raise SettingsError(f"fit_many expects a DataFrame or a CSV/Parquet path, got "
                            f"{type(frame).__name__}.")
    partition_by = check_partition_by(partition_by, frame, settings)
    folder.mkdir(parents=True, exist_ok=True)
    _check_manifest(folder, settings, partition_by)
    tagged, keys = with_partitions(frame, partition_by)
    reporter = default_reporter(settings.verbosity)
    done = sum(1 for name in keys[PARTITION] if (read_status(folder / PARTITIONS / name) or {})
               .get("status") == "completed")
    reporter.note(f"fit_many: {len(keys)} partitions by {', '.join(partition_by)} on "
                  f"{engine_name(engine)}" + (f"; {done} completed before (skipped if their "
                                             f"data are the same)" if done else ""))
    _write_parquet(keys, folder / KEYS)
    manifest = {"settings": settings_to_json(settings), "partition_by": partition_by}
    _write_json(folder / MANIFEST, manifest)
    started = time.monotonic()
    each = settings_to_json(common_frequency(settings, frame, partition_by))
    rows = run_partitions(tagged, {"settings": each, "output_dir": str(folder.resolve())},
                          engine, workers)
    elapsed = time.monotonic() - started
    index = _index(keys, rows, settings.primary_metric)
    _write_parquet(index, folder / INDEX)
    _write_json(folder / MANIFEST, {**manifest, "engine": engine_name(engine),
                                    "workers": workers, "elapsed": round(elapsed, 3)})
    many = ManyModels(folder, settings, partition_by, index)
    failed = int((index["status"] != "completed").sum())
    reporter.note(f"fit_many: {len(index) - failed} completed ({int(index['reused'].sum())} "
                  f"reused), {failed} failed, in {elapsed:.1f}s; results in {folder}")
    reporter.close()
    return many


def common_frequency(settings, frame: pd.DataFrame, partition_by: list[str]):
    """``settings`` with ``freq`` inferred once on all the data when it is not set: every
    partition is read on the same grid, and one of a single period (which could not infer a
    frequency on its own) is forecast by the fallback, as in one fit of all the series.  Data
    that give no one frequency (a partition's broken data, partitions of other frequencies)
    leave each partition to infer its own."""
    if settings.freq is not None:
        return settings
    grains = [*partition_by, *(g for g in settings.grain_columns if g not in partition_by)]
    roles = {**settings.dataset_roles(), "grain_columns": grains}
    try:
        freq = TimeSeriesDataset(frame, **roles).grid.freq
    except Exception:  # noqa: BLE001 - whatever it is, the partition it is in fails alone
        return settings
    return settings.model_copy(update={"freq": freq})


def _check_manifest(folder: Path, settings, partition_by: list[str]) -> None:
    """A rerun resumes only the fit it continues: the same settings and partition columns."""
    path = folder / MANIFEST
    if not path.is_file():
        return
    old = json.loads(path.read_text())
    ours, theirs = json.loads(settings_to_json(settings)), json.loads(old["settings"])
    for quiet in ("verbosity", "max_concurrent_trials"):  # change nothing a partition learns
        ours.pop(quiet, None), theirs.pop(quiet, None)
    changed = sorted(k for k in set(ours) | set(theirs) if ours.get(k) != theirs.get(k))
    if changed or old["partition_by"] != partition_by:
        what = (f"settings {preview(changed)}" if changed
                else f"partition_by {old['partition_by']}")
        raise SettingsError(f"output_dir '{folder}' holds a many-models fit with other "
                            f"{what}; rerun with the same ones to resume it, or use a new "
                            f"folder.")


def _index(keys: pd.DataFrame, rows: pd.DataFrame, metric: str) -> pd.DataFrame:
    """One row per partition: the key, status, best learner, its validation metrics (the
    primary one first), trials, seconds, series, rows, reused, error."""
    merged = keys.merge(rows, on=PARTITION, how="left")
    metrics = pd.DataFrame([json.loads(m) if isinstance(m, str) else {}
                            for m in merged["metrics"]], index=merged.index)
    names = [metric] + sorted(c for c in metrics.columns if c != metric)
    metrics = metrics.reindex(columns=names).astype(float)
    head = [c for c in keys.columns if c != PARTITION]
    out = pd.concat([merged[head + ["status", "best_learner"]], metrics,
                     merged[_TAIL + ["model", PARTITION]]], axis=1)
    out["status"] = out["status"].fillna("not run")
    return out


def _index_from_records(folder: Path, keys: pd.DataFrame, metric: str) -> pd.DataFrame:
    """The index of a run that was killed before writing it, from the partitions' records."""
    rows = [(read_status(folder / PARTITIONS / name) or {}).get("row")
            for name in keys[PARTITION]]
    return _index(keys, pd.DataFrame([r for r in rows if r], columns=COLUMNS), metric)


@dataclass
class ManyBacktest:
    """Backtests of every completed partition: ``by_partition`` (the key and every metric),
    ``by_series`` (the key and each series' errors) and ``backtests`` (key -> ``Backtest``)."""

    by_partition: pd.DataFrame
    by_series: pd.DataFrame
    backtests: dict = field(default_factory=dict)


class ManyModels:
    """One AutoML per partition, stored under ``folder``: ``leaderboard()``, ``models[key]``,
    ``forecast()``, ``backtest()``, ``failed``, ``save``/``load``.  A key is the partition
    column's value (``models["NSW"]``), a tuple of values, or a dict by column."""

    def __init__(self, folder: Path, settings, partition_by: list[str], index: pd.DataFrame):
        self.folder = Path(folder)
        self.settings = settings
        self.partition_by = list(partition_by)
        self._index = index.reset_index(drop=True)
        self._names = {tuple(plain(v) for v in row): name for row, name in zip(
            self._index[self.partition_by].itertuples(index=False, name=None),
            self._index[PARTITION])}
        self._loaded: dict = {}

    @classmethod
    def load(cls, folder: str | Path) -> ManyModels:
        """The many-models fit stored in ``folder`` (by ``fit_many`` or ``save``)."""
        folder = Path(folder)
        if not (folder / MANIFEST).is_file():
            raise DataError(f"'{folder}' holds no many-models fit (no {MANIFEST}); fit one with "
                            f"AutoML.fit_many or `tsauto fit --partition-by`.")
        manifest = json.loads((folder / MANIFEST).read_text())
        settings = settings_from_json(manifest["settings"], f"the many-models fit in '{folder}'")
        if (folder / INDEX).is_file():
            index = pd.read_parquet(folder / INDEX)
        else:  # killed before the end: what the partitions recorded
            index = _index_from_records(folder, pd.read_parquet(folder / KEYS),
                                        settings.primary_metric)
        return cls(folder, settings, manifest["partition_by"], index)

    def leaderboard(self) -> pd.DataFrame:
        """One row per partition: its key, status, best learner, validation metrics (mean over
        the validation windows of the best trial), trials, seconds, series, rows, whether it
        was reused from an earlier run, and the error of a failed one."""
        return self._index.drop(columns=[PARTITION, "model"]).copy()

    @property
    def failed(self) -> pd.DataFrame:
        """The partitions without a model, with why (key columns, status, error)."""
        bad = self._index[self._index["status"] != "completed"]
        return bad[self.partition_by + ["status", "error"]].reset_index(drop=True)

    @property
    def keys(self) -> list[tuple]:
        return list(self._names)

    @property
    def models(self) -> Mapping:
        """Partition key -> its ``ForecastModel`` (loaded on first use)."""
        return _Models(self)

    def folder_of(self, key) -> Path:
        """The AutoML output folder of one partition (``AutoML.load`` reads it as a ``Run``)."""
        wanted = tuple(plain(v) for v in key_of(key, self.partition_by))
        if wanted not in self._names:
            raise PartitionNotFoundError(f"no partition {wanted if len(wanted) > 1 else wanted[0]!r}; "
                            f"partitions: {preview(self.keys)}.")
        return self.folder / PARTITIONS / self._names[wanted]

    def model(self, key):
        from tsauto.model import load_model

        wanted = tuple(plain(v) for v in key_of(key, self.partition_by))
        folder = self.folder_of(wanted)
        if wanted not in self._loaded:
            row = self._index[self._index[PARTITION] == folder.name].iloc[0]
            if row["status"] != "completed":
                raise DataError(f"partition {wanted} has no model: {row['status']}"
                                + (f" ({row['error']})" if row["error"] else "") + ".")
            self._loaded[wanted] = load_model(folder / "model.pkl")
        return self._loaded[wanted]

    def _completed(self) -> list[tuple]:
        ok = self._index["status"].to_numpy() == "completed"
        return [k for k, good in zip(self._names, ok) if good]

    def forecast(self, horizon: int | None = None, future: pd.DataFrame | str | Path | None = None,
                 level: list[float] | None = None, quantiles: list[float] | None = None
                 ) -> pd.DataFrame:
        """Every completed partition's forecast as one long frame, the partition columns first.
        ``future`` (known covariates) holds every partition's rows, with the partition columns;
        each partition's model gets its own.  Failed partitions are left out (see ``failed``)."""
        groups = None
        if future is not None:
            future = read_table(future) if isinstance(future, (str, Path)) else future
            missing = [c for c in self.partition_by if c not in future.columns]
            if missing:
                raise DataError(f"future lacks the partition column(s) {missing}: each "
                                f"partition's model takes its own rows.")
            groups = {tuple(plain(v) for v in (k if isinstance(k, tuple) else (k,))): part
                      for k, part in future.groupby(self.partition_by, sort=False)}
        frames = []
        for key in self._completed():
            part = None if groups is None else groups.get(key, future.iloc[:0])
            try:
                frame = self.model(key).forecast(horizon, future=part, level=level,
                                                 quantiles=quantiles)
            except DataError as exc:
                raise type(exc)(f"partition {key}: {exc}") from None
            for column, value in zip(self.partition_by, key):
                if column not in frame.columns:
                    frame[column] = value
            frames.append(frame[self.partition_by + [c for c in frame.columns
                                                     if c not in self.partition_by]])
        if not frames:
            raise DataError(f"no partition has a model; failed: {preview(self.failed.to_dict('records'))}.")
        return pd.concat(frames, ignore_index=True)

    def backtest(self, data: pd.DataFrame | str | Path | None = None, n_windows: int = 3,
                 step: int | None = None, horizon: int | None = None) -> ManyBacktest:
        """Every completed partition's backtest.  Without ``data``: the best trial's
        out-of-fold forecasts of the search (no refit).  With ``data``: each partition's model
        refitted at ``n_windows`` cutoffs of its rows of ``data`` (see ForecastModel.backtest)."""
        from tsauto.automl import AutoML

        if data is not None:
            data = read_table(data) if isinstance(data, (str, Path)) else data
            check_partition_by(self.partition_by, data, self.settings)
            groups = {tuple(plain(v) for v in (k if isinstance(k, tuple) else (k,))): part
                      for k, part in data.groupby(self.partition_by, sort=False)}
        results, overall, series = {}, [], []
        for key in self._completed():
            if data is None:
                result = AutoML.load(self.folder_of(key)).backtest()
            elif key in groups:
                result = self.model(key).backtest(groups[key], n_windows, step, horizon)
            else:
                continue
            results[key] = result
            named = dict(zip(self.partition_by, key))
            overall.append({**named, **result.overall})
            series.append(result.by_series.assign(**named))
        by_series = pd.concat(series, ignore_index=True) if series else pd.DataFrame()
        if not by_series.empty:
            by_series = by_series[self.partition_by + [c for c in by_series.columns
                                                       if c not in self.partition_by]]
        return ManyBacktest(pd.DataFrame(overall), by_series, results)

    def save(self, path: str | Path) -> Path:
        """A copy of the whole fit (every partition's folder, the index) in ``path``, which
        ``ManyModels.load`` reads; returns the path."""
        target = check_output_dir(path, "path")
        if target.exists() and any(target.iterdir()):
            raise SettingsError(f"path '{target}' is not empty; save a many-models fit into a "
                                f"new or empty folder.")
        if not (self.folder / INDEX).is_file():
            _write_parquet(self._index, self.folder / INDEX)
        shutil.copytree(self.folder, target, dirs_exist_ok=True)
        return target

    def __len__(self) -> int:
        return len(self._index)

    def __repr__(self) -> str:
        counts = self._index["status"].value_counts().to_dict()
        return (f"ManyModels({len(self)} partitions by {', '.join(self.partition_by)}: "
                + ", ".join(f"{n} {s}" for s, n in counts.items()) + f"; {self.folder})")


class PartitionNotFoundError(DataError, KeyError):
    """A key that names no partition: a DataError, and a KeyError for ``models.get(key)``."""

    __str__ = Exception.__str__


class _Models(Mapping):
    def __init__(self, many: ManyModels) -> None:
        self._many = many

    def __getitem__(self, key):
        return self._many.model(key)

    def __iter__(self):
        return iter(self._many._completed())

    def __len__(self) -> int:
        return len(self._many._completed())

    def __contains__(self, key) -> bool:
        try:
            wanted = tuple(plain(v) for v in key_of(key, self._many.partition_by))
        except SettingsError:
            return False
        return wanted in self._many._completed()


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    frame.to_parquet(tmp, index=False)
    tmp.replace(path)


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=1))
    tmp.replace(path)
