"""ONNX scorers of the pivoted learners: featurization, regressor, target transform and the
recursive loop in one graph; onnxruntime's output equals ``model.forecast()``.  Linear models
compute in float64 (1e-9 relative); tree ensembles sum their leaves in float32, as their
converters write them (1e-5 relative, the bound docs/onnx.md states)."""

import numpy as np
import onnx
import onnxruntime as ort
import pandas as pd
import pytest

from tests.conftest import make_panel
from tests.export.test_onnx_statistical import history_matrix
from tsauto.data.dataset import TimeSeriesDataset
from tsauto.ensemble.weighted import WeightedEnsemble
from tsauto.errors import ExportError
from tsauto.evaluation.calibration import IntervalCalibration
from tsauto.export.calendar import origin_values
from tsauto.learners import registry
from tsauto.model import ForecastModel, history_of

ROLES = {"time_column": "date", "target_column": "sales", "grain_columns": ["store"]}
Q = (0.1, 0.5, 0.9)
H = 6


def fitted(ds, name, quantiles=Q, **params):
    learner = registry.create(name, quantiles=quantiles, horizon=H, **params).fit(ds)
    return ForecastModel(learner, ds.schema(), history_of(ds), H, quantiles)


def feeds_for(sidecar, ds, future=None):
    names = [i["name"] for i in sidecar["inputs"]]
    feeds = {"history": history_matrix(ds, sidecar["history_length"])}
    if "series_index" in names:
        feeds["series_index"] = np.arange(ds.n_series, dtype=np.int64)
    if "origin" in names:
        feeds["origin"] = origin_values(ds.grid, ds.schema().last_index)
        assert feeds["origin"].tolist() == sidecar["last_origin"]
    if "covariates" in names:
        cols = sidecar["known_covariates"]
        feeds["covariates"] = future[cols].to_numpy(dtype=np.float64).reshape(
            ds.n_series, sidecar["horizon"], len(cols))
    return feeds


def check_parity(model, ds, tmp_path, rtol, future=None):
    path = tmp_path / "model.onnx"
    sidecar = model.to_onnx(path)
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    outputs = session.run(None, feeds_for(sidecar, ds, future))
    frame = model.forecast(future=future)
    n = ds.n_series
    np.testing.assert_allclose(outputs[0], frame["forecast"].to_numpy().reshape(n, H), rtol=rtol)
    if not model.quantiles:
        assert len(outputs) == 1
        return sidecar
    quantiles = outputs[1]
    cols = [f"q{q:g}" for q in model.quantiles]
    np.testing.assert_allclose(quantiles, frame[cols].to_numpy().reshape(n, H, len(cols)),
                               rtol=rtol)
    return sidecar


@pytest.fixture(scope="module")
def monthly():
    return TimeSeriesDataset(make_panel(n_series=4, length=48), **ROLES)


@pytest.mark.parametrize("name,params,rtol", [
    ("lightgbm", {"n_estimators": 40}, 1e-9),                               # recursive, conformal
    ("lightgbm", {"n_estimators": 40, "strategy": "direct"}, 1e-9),         # native quantiles
    ("elastic_net", {"strategy": "direct_per_step", "target_power": "boxcox"}, 1e-9),
    ("elastic_net", {"target_scaler": "robust",
                     "rolling_stats": ("mean", "std", "median", "q25", "min", "max")}, 1e-9),
    ("random_forest", {"n_estimators": 10, "target_power": "log1p"}, 1e-5),
    ("extra_trees", {"n_estimators": 10, "strategy": "direct", "target_scaler": "mean"}, 1e-5),
])
def test_pivoted_learners_match_forecast(monthly, tmp_path, name, params, rtol):
    model = fitted(monthly, name, **params)
    sidecar = check_parity(model, monthly, tmp_path, rtol)
    assert sidecar["learners"][0]["features"] == model.learner.featurizer_.feature_names_
    assert (sidecar["float32_parts"] == [name]) == (rtol > 1e-9)
    assert sidecar["origin_unit"] == "months since 1970-01"
    # a recursive linear model is one dot product per step: no converter's graph is called
    folded = name == "elastic_net" and "strategy" not in params
    assert (not onnx.load(str(tmp_path / "model.onnx")).functions) == folded


def test_a_grid_of_two_months_keeps_its_calendar(tmp_path):
    """Every other month from February: the month feature (February, April...) is read from
    the origin's months as on one-month grids."""
    ds = TimeSeriesDataset(make_panel(n_series=3, length=40, freq="2MS", start="2012-02-01"),
                           **ROLES)
    model = fitted(ds, "lightgbm", n_estimators=40)
    assert "cal_month" in model.learner.featurizer_.feature_names_
    sidecar = check_parity(model, ds, tmp_path, 1e-9)
    assert sidecar["grid"]["step"] == 2


def test_business_days_keep_their_calendar(tmp_path):
    """Business days across weekends and a year end: the graph turns the origin (business days
    since Monday 1970-01-05) into dates for every daily calendar feature."""
    ds = TimeSeriesDataset(make_panel(n_series=3, length=60, freq="B", start="2021-10-04"),
                           **ROLES)
    model = fitted(ds, "lightgbm", n_estimators=40, featurization={"calendar": [
        "day_of_week", "day_of_month", "day_of_year", "week_of_year", "month", "year",
        "month_start", "month_end", "quarter_start", "quarter_end"]})
    sidecar = check_parity(model, ds, tmp_path, 1e-9)
    assert sidecar["origin_unit"] == "business days since 1970-01-05"
    assert sidecar["grid"] == {"unit": "business days since 1970-01-05",
                               "first": sidecar["grid"]["first"], "step": 1}


@pytest.mark.parametrize("freq", ["MS", "QS-JAN", "QE-DEC", "2MS-FEB", "6ME-JUN", "YS-JAN"])
def test_the_sidecar_grid_places_every_period(freq):
    """Period k is at first + k * step months since 1970-01, on the grid's own months (its
    first period is in year 0, which nanosecond times cannot hold)."""
    from tsauto.data.frequency import grid_from_freq
    from tsauto.export.calendar import grid_sidecar

    grid = grid_from_freq(freq)
    side = grid_sidecar(grid)
    index = np.arange(24_000 // grid.step, 24_000 // grid.step + 12)
    months = grid.times(index).astype("datetime64[M]").view("i8")
    np.testing.assert_array_equal(months, side["first"] + index * side["step"])


@pytest.mark.parametrize("normaliser", ["scale", "spread"])
def test_calibrated_quantiles_match_forecast(monthly, tmp_path, normaliser):
    """The model's conformal calibration inside the graph, for quantiles other than the
    learner's own, past the calibrated steps (the last step's offsets) too."""
    rng = np.random.default_rng(3)
    cal = IntervalCalibration(normaliser, np.sort(rng.normal(size=(H - 2, 401)), axis=1),
                              np.full(H - 2, 120), monthly.grid.season_length, "sales",
                              spread_pair=(0.1, 0.9))
    learner = fitted(monthly, "elastic_net").learner
    model = ForecastModel(learner, monthly.schema(), history_of(monthly), H, (0.05, 0.5, 0.95),
                          calibration=cal)
    sidecar = check_parity(model, monthly, tmp_path, 1e-9)
    # the learner gives 0.1/0.5/0.9 only: these quantiles exist through the calibration alone
    assert sidecar["quantiles"] == [0.05, 0.5, 0.95] and sidecar["calibration"] == normaliser


def test_daily_calendar_and_covariates(tmp_path):
    """Every daily calendar feature (ISO week, month ends...) across a year end, a numeric
    known covariate with gaps (imputed, with its missing indicator) and a static feature."""
    rng = np.random.default_rng(1)
    frame = make_panel(n_series=3, length=420, freq="D", start="2021-11-20", season=7)
    frame["price"] = rng.normal(size=len(frame)).round(2)
    frame.loc[(frame.index % 17 == 0) & (frame.date < "2022-12-29"), "price"] = np.nan
    frame["region"] = frame["store"].map({"s0": "north", "s1": "south", "s2": "north"})
    ds = TimeSeriesDataset(frame[frame.date < "2022-12-29"], **ROLES, known_covariates=["price"],
                           static_features=["region"])
    future = frame[(frame.date >= "2022-12-29") & (frame.date < "2023-01-04")]
    # no quantiles: their calibration cannot forecast held-out windows with covariate gaps
    model = fitted(ds, "elastic_net", quantiles=(), featurization={
        "calendar": ["minute", "hour", "day_of_week", "is_weekend", "day_of_month",
                     "day_of_year", "week_of_year", "month", "quarter", "year", "month_start",
                     "month_end", "quarter_start", "quarter_end"]})
    assert "price__missing" in model.learner.featurizer_.feature_names_
    sidecar = check_parity(model, ds, tmp_path, 1e-9, future=future.reset_index(drop=True))
    assert sidecar["known_covariates"] == ["price"]
    assert sidecar["origin_unit"] == "seconds since 1970-01-01T00:00"


def test_short_series_in_the_recursion(tmp_path):
    """A series shorter than the history the features read (NaN-padded): its windows over the
    padding take the regressor's fill value, in the folded linear loop as in forecast()."""
    frame = make_panel(n_series=3, length=48)
    frame = frame[(frame.store != "s1") | (frame.date >= frame.date.unique()[30])]
    ds = TimeSeriesDataset(frame.reset_index(drop=True), **ROLES)
    model = fitted(ds, "elastic_net", quantiles=())
    assert ds.indptr[2] - ds.indptr[1] < model.learner.featurizer_.tail_len_
    check_parity(model, ds, tmp_path, 1e-9)


def test_ensemble_of_pivoted_and_statistical(monthly, tmp_path):
    members = [fitted(monthly, "elastic_net").learner,
               fitted(monthly, "lightgbm", n_estimators=20).learner,
               fitted(monthly, "random_forest", n_estimators=5).learner,
               registry.create("seasonal_naive", quantiles=Q).fit(monthly)]
    ensemble = WeightedEnsemble.of_fitted(members, [0.4, 0.2, 0.2, 0.2])
    model = ForecastModel(ensemble, monthly.schema(), history_of(monthly), H, Q)
    sidecar = check_parity(model, monthly, tmp_path, 1e-5)
    assert [p["name"] for p in sidecar["learners"]] == ["elastic_net", "lightgbm",
                                                        "random_forest", "seasonal_naive"]


@pytest.mark.parametrize("params,part", [
    ({"country_or_region": "AU"}, "HolidayFeatures"),
    ({"target_difference": "first"}, "target_difference"),
])
def test_unexportable_featurization_names_the_part(monthly, tmp_path, params, part):
    model = fitted(monthly, "elastic_net", quantiles=(), **params)
    with pytest.raises(ExportError, match=part):
        model.to_onnx(tmp_path / "m.onnx")


def test_unexportable_regressor_names_it(monthly, tmp_path):
    model = fitted(monthly, "knn", quantiles=())
    with pytest.raises(ExportError, match="KNeighborsRegressor"):
        model.to_onnx(tmp_path / "m.onnx")


def test_past_covariates_name_the_column(tmp_path):
    frame = make_panel(n_series=2, length=40).assign(
        visits=lambda f: np.arange(len(f), dtype=float) % 7)
    ds = TimeSeriesDataset(frame, **ROLES, past_covariates=["visits"])
    model = fitted(ds, "elastic_net", quantiles=())
    with pytest.raises(ExportError, match="visits"):
        model.to_onnx(tmp_path / "m.onnx")


def test_the_same_scorer_serves_a_subset_of_series(monthly, tmp_path):
    """Rows are independent: scoring series 2 alone gives its row of the batch."""
    model = fitted(monthly, "elastic_net", quantiles=())
    sidecar = model.to_onnx(tmp_path / "m.onnx")
    session = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    feeds = feeds_for(sidecar, monthly)
    batch = session.run(None, feeds)[0]
    one = session.run(None, {k: v[2:3] for k, v in feeds.items()})[0]
    np.testing.assert_allclose(one[0], batch[2], rtol=1e-12)
    assert pd.Series(sidecar["series_ids"]).tolist() == list(monthly.series_ids)
