"""The one protocol every forecaster honours.

    learner = SomeForecaster(quantiles=(0.1, 0.5, 0.9), **hyper_parameters)
    learner.fit(train)                       # train: a TimeSeriesDataset, no missing target
    frame = learner.predict(horizon, future) # long frame, see FORECAST COLUMNS below

The forecast frame has one row per series and future step: ``series_id``, the dataset's time
column, ``step`` (1..horizon), ``forecast`` (the point forecast) and one column per requested
quantile named by ``quantile_column`` (``q0.1``, ``q0.5``, ...), monotone in the quantile.
Learners are plain picklable objects: parameters in ``__init__`` (no work there), learned state
in attributes ending in ``_``; they never read settings.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import pickle
import threading
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from tsauto.data.column_types import check_readable
from tsauto.data.dataset import SERIES_ID, STEP, DatasetSchema, TimeSeriesDataset
from tsauto.errors import DataError, MissingFutureError, NotFittedError, SettingsError, preview

POINT = "forecast"


def quantile_column(q: float) -> str:
    """Name of the column holding quantile ``q``: 0.1 -> 'q0.1'."""
    return f"q{float(q):g}"


def check_quantiles(quantiles: Sequence[float] | None) -> tuple[float, ...]:
    """Sorted, unique quantiles strictly between 0 and 1."""
    qs = tuple(sorted({float(q) for q in (quantiles or ())}))
    bad = [q for q in qs if not 0.0 < q < 1.0]
    if bad:
        raise SettingsError(f"quantiles must lie strictly between 0 and 1, got {preview(bad)}.")
    return qs


def asked_quantiles(level: Sequence[float] | None = None,
                    quantiles: Sequence[float] | None = None) -> tuple[float, ...] | None:
    """Quantiles asked at forecast time: central interval levels (80 -> 0.1 and 0.9, the
    median added) or quantiles; None when neither is given."""
    if level is not None and quantiles is not None:
        raise SettingsError("give level= (interval levels, e.g. [80, 95]) or quantiles= (e.g. "
                            "[0.1, 0.9]), not both.")
    if level is not None:
        levels = [level] if isinstance(level, (int, float)) else list(level)
        bad = [lv for lv in levels if isinstance(lv, bool) or not isinstance(lv, (int, float))
               or not 0 < lv < 100]
        if bad:
            raise SettingsError(f"level must hold interval levels strictly between 0 and 100 "
                                f"(e.g. [80, 95]), got {preview(bad)}.")
        return check_quantiles([0.5] + [q for lv in levels
                                        for q in (0.5 - lv / 200, 0.5 + lv / 200)])
    if quantiles is not None:
        return check_quantiles(quantiles)
    return None


# -- search spaces: plain descriptions the search turns into optimiser calls ------------------
@dataclass(frozen=True)
class IntRange:
    low: int
    high: int
    log: bool = False


@dataclass(frozen=True)
class FloatRange:
    low: float
    high: float
    log: bool = False


@dataclass(frozen=True)
class Choice:
    options: tuple


@dataclass(frozen=True)
class Capabilities:
    """What a learner can do; the search and the settings check read these."""

    quantiles: bool = True
    known_covariates: bool = False
    past_covariates: bool = False
    static_features: bool = False
    global_model: bool = False      # one model across all series
    onnx: bool = False
    needs_gpu: bool = False
    min_history: int = 2            # fewest points a series needs to be fitted as itself
    cost: str = "low"               # low | medium | high: the search spends budget by it


# A saved learner or model is a zip archive: a small JSON manifest, read and checked before
# anything is unpickled, and the pickled object whose SHA-256 the manifest records.
ARCHIVE_FORMAT = "tsauto-artifact"
ARCHIVE_VERSION = 1
_MANIFEST, _PAYLOAD = "manifest.json", "payload.pkl"


class Pickled:
    """``save(path)`` / ``load(path)``: learners and models are plain objects, pickled inside a
    zip archive with a manifest (format version, tsauto version, class, task, SHA-256 of the
    pickle).  ``load`` refuses any file whose manifest is missing or does not match before it
    unpickles anything.  Unpickling runs code: load only files from a trusted source."""

    kind_name: ClassVar[str] = "tsauto learner"  # what ``load`` expects, in words

    def save(self, path: str | Path) -> Path:
        from tsauto import __version__

        path = Path(path)
        if path.is_dir():
            raise SettingsError(f"cannot save to '{path}': it is a directory; name a file, "
                                f"e.g. '{path / 'model.pkl'}'.")
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL)
        kind = type(self)
        manifest = {"format": ARCHIVE_FORMAT, "format_version": ARCHIVE_VERSION,
                    "tsauto_version": __version__, "class": f"{kind.__module__}.{kind.__qualname__}",
                    "task": getattr(self, "task", None), "payload": _PAYLOAD,
                    "payload_bytes": len(payload),
                    "payload_sha256": hashlib.sha256(payload).hexdigest()}
        # Written aside, then renamed: a reader never sees half a file, and two writers of one
        # path leave one whole archive.
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as archive:
                archive.writestr(_MANIFEST, json.dumps(manifest, indent=1))
                archive.writestr(_PAYLOAD, payload)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        return path

    @classmethod
    def load(cls, path: str | Path):
        path = Path(path)
        manifest, payload = read_archive(path, cls)
        try:
            obj = pickle.loads(payload)
        except Exception as exc:  # a class renamed or removed since the file was written
            raise DataError(f"'{path}' could not be loaded: {type(exc).__name__}: {exc} (written "
                            f"by tsauto {manifest.get('tsauto_version')}).") from None
        if not isinstance(obj, cls):
            raise DataError(f"'{path}' holds a {type(obj).__name__}, not a {cls.kind_name}.")
        return obj


def read_archive(path: Path, cls: type) -> tuple[dict, bytes]:
    """The manifest and payload of a saved ``cls`` (or subclass), checked: what the file is,
    its format version, its class and its SHA-256.  Nothing is unpickled here."""
    from tsauto import __version__

    if not path.exists():
        raise SettingsError(f"model file '{path}' does not exist.")
    if path.is_dir():
        inside = path / "model.pkl"
        raise DataError(f"'{path}' is a directory, not a model file" + (
            f"; did you mean '{inside}'?" if inside.is_file() else
            "; pass the model file written by save or tsauto fit."))
    with open(path, "rb") as fh:
        head = fh.read(512)
    foreign = (f"'{path}' is not a tsauto model file ({{}}); a model file is a zip archive with "
               f"a manifest, written by model.save or tsauto fit. Nothing in it was loaded.")
    if not head:
        raise DataError(foreign.format("it is empty: 0 bytes"))
    if not zipfile.is_zipfile(path):
        if head.startswith(b"PK\x03\x04"):
            raise DataError(f"'{path}' is truncated or corrupt: it starts as a tsauto model "
                            f"archive but is not a complete one; save the model again.")
        raise DataError(foreign.format(_sniff(head)))
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if _MANIFEST not in names:
                raise DataError(foreign.format(f"a zip archive without {_MANIFEST}"))
            manifest = json.loads(archive.read(_MANIFEST))
            if not isinstance(manifest, dict) or manifest.get("format") != ARCHIVE_FORMAT:
                raise DataError(foreign.format(f"its {_MANIFEST} is not a tsauto manifest"))
            version = manifest.get("format_version")
            if not isinstance(version, int) or version > ARCHIVE_VERSION:
                raise DataError(f"'{path}' was written by tsauto {manifest.get('tsauto_version')} "
                                f"in model format {version!r}; this tsauto ({__version__}) reads "
                                f"format {ARCHIVE_VERSION} and older: upgrade tsauto.")
            kind = manifest.get("class")
            known = {f"{c.__module__}.{c.__qualname__}": c for c in _subclasses(Pickled)}
            if kind not in known or not issubclass(known[kind], cls):
                raise DataError(f"'{path}' holds a {kind!r}" + (
                    f" ({known[kind].kind_name})" if kind in known else
                    " (if it is a class of your own, import its module first)")
                    + f", not a {cls.kind_name}.")
            if manifest.get("payload") not in names:
                raise DataError(f"'{path}' is corrupt: its payload is missing.")
            payload = archive.read(manifest["payload"])
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, UnicodeDecodeError,
            json.JSONDecodeError) as exc:
        raise DataError(f"'{path}' is truncated or corrupt ({type(exc).__name__}: {exc}); "
                        f"save the model again.") from None
    if len(payload) != manifest.get("payload_bytes") or \
            hashlib.sha256(payload).hexdigest() != manifest.get("payload_sha256"):
        raise DataError(f"'{path}' is corrupt: its payload does not match the SHA-256 in its "
                        f"manifest (damaged or altered); nothing was unpickled.")
    return manifest, payload


def _subclasses(cls: type) -> list[type]:
    found, todo = [cls], [cls]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in found:
                found.append(sub)
                todo.append(sub)
    return found


def _sniff(head: bytes) -> str:
    """What a foreign file looks like, in words, from its first bytes."""
    if head[:1] == b"\x80":
        return "a raw pickle: tsauto unpickles nothing without its manifest, since a pickle can " \
               "run any code"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return "an unknown binary file"
    lines = text.splitlines()[:2]
    for sep in (",", "\t", ";"):  # a table: its first lines split alike
        if len(lines) == 2 and lines[0].count(sep) == lines[1].count(sep) > 0:
            return "a CSV/text table: pass it as data, not as a model"
    return "a text file"


class Forecaster(Pickled):
    """Base class: subclasses set ``name``/``capabilities`` and implement ``_fit``/``_predict``."""

    name: ClassVar[str] = "forecaster"
    capabilities: ClassVar[Capabilities] = Capabilities()
    # True where any quantile can be asked at predict time (the intervals are computed then);
    # False where the fitted quantiles are all there is (quantile regressions, TCN heads).
    free_quantiles: ClassVar[bool] = False
    # The fields of the trial context (tsauto.search.context.ForecastContext) the constructor
    # takes, by the same names.
    context_fields: ClassVar[tuple[str, ...]] = ("quantiles",)

    def __init__(self, quantiles: Sequence[float] = (), **params: Any) -> None:
        self.quantiles = quantiles
        self.params = params

    @classmethod
    def from_context(cls, context, params: dict) -> Forecaster:
        """The learner a trial fits: the context fields it declares, overridden by the trial's
        own ``params``."""
        return cls(**{**{name: getattr(context, name) for name in cls.context_fields},
                      **params})

    # -- the protocol --------------------------------------------------------------------------
    def fit(self, train: TimeSeriesDataset) -> Forecaster:
        if not isinstance(train, TimeSeriesDataset):
            raise DataError(f"{self.name}.fit expects a TimeSeriesDataset, got "
                            f"{type(train).__name__}.")
        missing = train.frame[train.target_column].isna()
        if missing.any():
            series = train.frame.loc[missing, SERIES_ID].astype(str).unique().tolist()
            raise DataError(f"{self.name}: the target '{train.target_column}' has "
                            f"{int(missing.sum())} missing values (series {preview(series)}); run "
                            f"the guardrails first, they fill gaps and report it.")
        self.quantiles_ = check_quantiles(self.quantiles)
        self.schema_ = train.schema()
        self._fit(train)
        return self

    def predict(self, horizon: int, future: pd.DataFrame | None = None,
                quantiles: Sequence[float] | None = None) -> pd.DataFrame:
        """Forecasts ``horizon`` periods past the data the learner holds.  ``quantiles``
        replaces the fitted ones where the learner can (``free_quantiles``).  Predicting never
        changes the learner: one fitted learner may serve many threads.  Notes about single
        series (fallbacks) come back in the frame's ``attrs``."""
        if not hasattr(self, "schema_"):
            raise NotFittedError(f"{self.name} must be fitted before predict.")
        learner = self if quantiles is None else self.with_quantiles(quantiles)
        frame = learner.schema_.future_frame(horizon)
        if learner.capabilities.known_covariates and learner.schema_.known_covariates:
            frame = align_future(frame, future, learner.schema_)
        out = learner._predict(horizon, frame)
        attrs = dict(out.attrs)
        out = finish_forecast(out, learner.quantiles_)
        out.attrs = attrs
        return out

    def with_quantiles(self, quantiles: Sequence[float]) -> Forecaster:
        """A shallow copy predicting ``quantiles`` instead of the fitted ones; a SettingsError
        naming the fitted quantiles where the learner cannot."""
        qs = check_quantiles(quantiles)
        if not self.free_quantiles and not set(qs) <= set(self.quantiles_):
            raise SettingsError(
                f"{self.name} was fitted for quantiles {list(self.quantiles_) or 'none'} and "
                f"cannot give {preview(sorted(set(qs) - set(self.quantiles_)))}; ask for "
                f"fitted ones, or refit with quantiles= including them.")
        other = copy.copy(self)
        other.quantiles_ = qs
        return other

    def with_history(self, history: TimeSeriesDataset) -> Forecaster:
        """A copy that forecasts from ``history`` (new data of the same columns and frequency)
        instead of the training data, without refitting; ``self`` is left unchanged.  Each
        family says what it keeps and what it recomputes (docs/serving.md)."""
        raise SettingsError(f"{self.name} cannot forecast from new data; refit it on them.")

    def prepare(self, horizon: int) -> None:
        """Work done once after the final fit, so that forecasts are served fast (statistical
        learners keep their fitted per-series models and the forecast of ``horizon``).  The one
        step besides ``fit`` that may change the learner; nothing calls it while serving."""

    def _fit(self, train: TimeSeriesDataset) -> None:
        raise NotImplementedError

    def _predict(self, horizon: int, future: pd.DataFrame) -> pd.DataFrame:
        """``future`` is the frame of the periods to forecast (series_id, time, step and the
        known covariates); return it with ``forecast`` and the quantile columns added."""
        raise NotImplementedError

    def explain(self) -> dict:
        """What the fitted learner learned, for people: its parameters by default; families add
        feature importances or fitted model parameters."""
        return {"learner": self.name, "params": dict(self.params)}

    @classmethod
    def search_space(cls) -> dict[str, IntRange | FloatRange | Choice]:
        """Hyper-parameters the search may tune, with their ranges."""
        return {}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}({args})"


def training_positions(schema: DatasetSchema, history: TimeSeriesDataset) -> np.ndarray:
    """For each series of ``history``, its position among the series a learner was fitted on
    (``schema``), -1 for a series not seen at training."""
    known = pd.Index(schema.series_ids.astype(str))
    return known.get_indexer(history.series_ids.astype(str))


def align_future(frame: pd.DataFrame, future: pd.DataFrame | None, meta: DatasetSchema) -> pd.DataFrame:
    """Join the user's future known covariates onto the periods to forecast.

    ``future`` is a long frame with ``series_id`` (or the grain columns), the time column and
    every known covariate.  Raises ``MissingFutureError`` naming the missing columns or the
    series and periods without values.
    """
    needed = meta.known_covariates
    if future is None:
        raise MissingFutureError(f"this model uses known covariates {preview(needed)}: pass "
                                 f"future= a frame with their values for every series and each of "
                                 f"the {int(frame[STEP].max())} periods to forecast.")
    missing_cols = [c for c in [meta.time_column, *needed] if c not in future.columns]
    if missing_cols:
        raise MissingFutureError(f"future is missing column(s) {preview(missing_cols)}; it needs "
                                 f"the time column '{meta.time_column}' and {preview(needed)}.")
    check_readable(future, meta.known_kinds, "future", imputed=False)
    future = meta.with_series_id(future, "future", MissingFutureError)
    future[meta.time_column] = meta.parse_times(future[meta.time_column],
                                                "future: time column")
    keys = [SERIES_ID, meta.time_column]
    future = future.drop_duplicates(keys, keep="last")[keys + needed]
    left = frame.assign(**{SERIES_ID: frame[SERIES_ID].astype(str)})
    merged = left.merge(future, on=keys, how="left")
    gaps = merged[needed].isna().any(axis=1)
    if gaps.any():
        bad = merged.loc[gaps, keys]
        cols = [c for c in needed if merged[c].isna().any()]
        raise MissingFutureError(
            f"future has no values of {preview(cols)} for {int(gaps.sum())} periods to forecast, "
            f"e.g. series {preview(bad[SERIES_ID].unique().tolist())} at "
            f"{bad[meta.time_column].iloc[0]}; give every series all {int(frame[STEP].max())} "
            f"future periods.")
    merged[SERIES_ID] = frame[SERIES_ID].to_numpy()
    return merged


def finish_forecast(frame: pd.DataFrame, quantiles: Sequence[float]) -> pd.DataFrame:
    """Check a learner's output and make quantiles monotone (sorting fixes crossings)."""
    cols = [quantile_column(q) for q in quantiles]
    missing = [c for c in [POINT, *cols] if c not in frame.columns]
    if missing:
        raise RuntimeError(f"learner output lacks columns {missing}")
    if cols:
        frame[cols] = np.sort(frame[cols].to_numpy(dtype="float64"), axis=1)
    return frame.reset_index(drop=True)
