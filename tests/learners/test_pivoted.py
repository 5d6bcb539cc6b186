"""Pivoted regression learners: LightGBM and the scikit-learn regressors over featurized
windows, global across series."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import tsauto
from tests.learners.learner_checks import check_forecast, roundtrip
from tsauto.data.forecast_columns import quantile_column
from tsauto.errors import MissingFutureError, SettingsError
from tsauto.learners import create, get, names
from tsauto.learners.pivoted import FAMILY_OWNED, PivotedForecaster
from tsauto.learners.space import Choice, FloatRange, IntRange

PIVOTED = ["lightgbm", "elastic_net", "extra_trees", "random_forest", "hist_gradient_boosting",
           "knn"]
SMALL = {"lightgbm": {"n_estimators": 60}, "extra_trees": {"n_estimators": 30},
         "random_forest": {"n_estimators": 30}, "hist_gradient_boosting": {"max_iter": 60},
         "elastic_net": {}, "knn": {}}
QS = (0.1, 0.5, 0.9)


def _panel(n_series=5, length=150, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(length)
    frames = []
    for i in range(n_series):
        y = 30 + 5 * i + 0.05 * t + 4 * np.sin(2 * np.pi * t / 7) + rng.normal(0, 1, length)
        frames.append(pd.DataFrame({"id": f"s{i}", "date": pd.date_range("2022-01-03",
                                                                          periods=length),
                                    "y": y}))
    return tsauto.TimeSeriesDataset(pd.concat(frames), time_column="date", target_column="y",
                                    grain_columns="id")


@pytest.fixture(scope="module")
def panel():
    return _panel().split_last(10)


def test_all_pivoted_learners_are_registered_with_valid_search_spaces():
    assert set(PIVOTED) <= set(names())
    for name in PIVOTED:
        cls = get(name)
        assert issubclass(cls, PivotedForecaster) and cls.capabilities.global_model
        assert cls.capabilities.known_covariates and cls.capabilities.past_covariates
        space = cls.search_space()
        assert space["strategy"].options == ("recursive", "direct", "direct_per_step")
        for value in space.values():
            assert isinstance(value, (IntRange, FloatRange, Choice))
        params = {k: (v.low if not isinstance(v, Choice) else v.options[0])
                  for k, v in space.items()}
        assert not [k for k in vars(create(name, **params)) if k.endswith("_")]


@pytest.mark.parametrize("name", PIVOTED)
def test_fit_forecast_quantiles_and_pickle(name, panel, tmp_path):
    train, test = panel
    model = create(name, quantiles=QS, horizon=10, strategy="direct", **SMALL[name]).fit(train)
    fc = model.predict(10)
    check_forecast(fc, train, 10, QS)
    assert (fc[quantile_column(0.1)] < fc[quantile_column(0.9)]).all()
    mae = np.abs(fc["forecast"].to_numpy() - test.frame["y"].to_numpy()).mean()
    assert mae < 3.0, mae  # noise sd 1, seasonal amplitude 4: the models learn the pattern
    again = roundtrip(model, tmp_path).predict(10)
    pd.testing.assert_frame_equal(fc, again)


@pytest.mark.parametrize("name", PIVOTED)
def test_short_panel_fits_with_conformal_quantiles(name):
    """Three monthly series of five years: the conformal windows' training parts are too short
    for the seasonal windows, whose features then hold no value at all (scikit-learn 1.9's
    histogram binning failed on such a feature)."""
    rng = np.random.default_rng(0)
    frame = pd.concat(pd.DataFrame({"id": f"s{i}", "date": pd.date_range("2020-01-01",
                                                                         periods=60, freq="MS"),
                                    "y": 10 + np.sin(np.arange(60)) + rng.normal(size=60)})
                      for i in range(3))
    train = tsauto.TimeSeriesDataset(frame, time_column="date", target_column="y",
                                     grain_columns="id")
    model = create(name, quantiles=QS, horizon=6, **SMALL[name]).fit(train)
    check_forecast(model.predict(6), train, 6, QS)


@pytest.mark.parametrize("strategy", ["recursive", "direct", "direct_per_step"])
def test_lightgbm_strategies_and_determinism(strategy, panel):
    train, test = panel
    params = {"quantiles": QS, "strategy": strategy, "horizon": 10, "n_estimators": 80, "seed": 3}
    fc = create("lightgbm", **params).fit(train).predict(10)
    check_forecast(fc, train, 10, QS)
    pd.testing.assert_frame_equal(fc, create("lightgbm", **params).fit(train).predict(10))
    assert np.abs(fc["forecast"].to_numpy() - test.frame["y"].to_numpy()).mean() < 2.5


def test_native_and_conformal_quantiles(panel):
    train, test = panel
    native = create("lightgbm", quantiles=QS, strategy="direct", horizon=10, n_estimators=80)
    native.fit(train)
    assert native.quantile_models_ and native.calibration_ is None
    conformal = create("lightgbm", quantiles=QS, strategy="recursive", horizon=10,
                       n_estimators=80, conformal_windows=2).fit(train)
    assert not conformal.quantile_models_ and conformal.calibration_ == "out-of-sample"
    fc = conformal.predict(15)  # past the calibrated horizon the spread keeps growing
    width = (fc[quantile_column(0.9)] - fc[quantile_column(0.1)]).to_numpy().reshape(5, 15)
    assert (width[:, -1] > width[:, 9]).all()
    for model in (native, conformal):
        out = model.predict(10)
        y = test.frame["y"].to_numpy()
        inside = ((y >= out[quantile_column(0.1)]) & (y <= out[quantile_column(0.9)])).mean()
        assert inside >= 0.5, (model.calibration_, inside)


def test_differenced_targets(panel):
    train, test = panel
    # first differences: direct rows learn the change since the origin, so native quantiles
    # of it are quantiles of the level
    first = create("lightgbm", quantiles=(0.2, 0.8), target_difference="first",
                   target_power="log1p", strategy="direct", horizon=10, n_estimators=60)
    fc = first.fit(train).predict(10)
    assert first.quantile_models_ and first.calibration_ is None
    check_forecast(fc, train, 10, (0.2, 0.8))
    assert np.abs(fc["forecast"].to_numpy() - test.frame["y"].to_numpy()).mean() < 3.0
    # seasonal differences do not add up over steps: conformal, and 'native' is refused
    seasonal = create("lightgbm", quantiles=(0.2, 0.8), target_difference="seasonal",
                      strategy="direct", horizon=10, n_estimators=60)
    check_forecast(seasonal.fit(train).predict(10), train, 10, (0.2, 0.8))
    assert seasonal.calibration_ == "out-of-sample"
    with pytest.raises(SettingsError, match="quantile_method='native'"):
        create("lightgbm", quantiles=(0.5,), quantile_method="native",
               target_difference="seasonal").fit(train)


def test_covariates_and_missing_future(accommodation):
    train, _, future = accommodation
    model = create("lightgbm", quantiles=QS, strategy="direct", horizon=8, n_estimators=60,
                   country_or_region="AU").fit(train)
    assert "CPI" in model.featurizer_.feature_names_out
    assert "Occupancy" not in model.featurizer_.feature_names_out
    assert "Occupancy_lag1" in model.featurizer_.feature_names_out
    fc = model.predict(8, future)
    check_forecast(fc, train, 8, QS)
    with pytest.raises(MissingFutureError, match="CPI"):
        model.predict(8, future.drop(columns="CPI"))
    with pytest.raises(MissingFutureError, match="CPI"):
        model.predict(8)
    # a future row without its value is imputed as in training (the fill, here the mean);
    # a period without a row is an error naming its series
    gap = future.copy()
    gap.loc[gap.index[:2], "CPI"] = np.nan
    filled = future.copy()
    filled.loc[filled.index[:2], "CPI"] = model.featurizer_.covariates_.plans_["CPI"].fill
    cols = ["forecast", *[quantile_column(q) for q in QS]]
    pd.testing.assert_frame_equal(model.predict(8, gap)[cols], model.predict(8, filled)[cols])
    first = future.iloc[0]
    with pytest.raises(MissingFutureError, match=f"no row for 1 periods.*{first['State']}"):
        model.predict(8, future.iloc[1:])
    summary = model.featurization_summary().set_index("column")
    assert summary.loc["Occupancy", "role"] == "past"


def test_direct_models_cover_only_their_horizon(panel):
    train, _ = panel
    model = create("lightgbm", strategy="direct", horizon=5, n_estimators=30).fit(train)
    with pytest.raises(SettingsError, match="horizon=5"):
        model.predict(6)


def test_recursive_with_past_covariates_needs_the_fitted_horizon(accommodation):
    train, _, future = accommodation
    model = create("elastic_net", horizon=4, strategy="recursive").fit(train)
    check_forecast(model.predict(4, future), train, 4, ())
    with pytest.raises(SettingsError, match="past-only covariates"):
        model.predict(6, future)


def test_unknown_country_is_a_settings_error(panel):
    train, _ = panel
    with pytest.raises(SettingsError, match="list_supported_countries"):
        create("lightgbm", country_or_region="Atlantis").fit(train)


@pytest.mark.parametrize("params, match", [
    ({"strategy": "sideways"}, "strategy"),
    ({"quantile_method": "magic"}, "quantile_method"),
    ({"horizon": 0}, "horizon"),
    ({"conformal_windows": 0}, "conformal_windows"),
    ({"target_lags": [0]}, "target_lags"),
])
def test_bad_parameters_fail_at_fit_naming_them(panel, params, match):
    train, _ = panel
    with pytest.raises(SettingsError, match=match):
        create("lightgbm", **params).fit(train)


def test_real_monthly_series_beat_seasonal_naive(retail):
    train, test = retail
    fc = create("lightgbm", horizon=12, target_power="log1p", target_difference="first",
                n_estimators=150).fit(train).predict(12)
    y = test.frame["Turnover"].to_numpy()
    snaive = train.frame.groupby("series_id", observed=True).tail(12)["Turnover"].to_numpy()
    assert np.abs(fc["forecast"].to_numpy() - y).mean() < np.abs(snaive - y).mean()


def test_short_and_awkward_series_still_forecast(awkward):
    model = create("lightgbm", quantiles=QS, horizon=6, n_estimators=30).fit(awkward)
    check_forecast(model.predict(6), awkward, 6, QS)


def test_too_short_to_hold_out_falls_back_to_in_sample_residuals():
    short = _panel(n_series=3, length=25)
    model = create("elastic_net", quantiles=QS, horizon=10).fit(short)
    assert model.calibration_ == "in-sample"
    fc = model.predict(10)
    check_forecast(fc, short, 10, QS)
    width = (fc[quantile_column(0.9)] - fc[quantile_column(0.1)]).to_numpy().reshape(3, 10)
    assert (width > 0).all() and (width[:, -1] > width[:, 0]).all()


@pytest.mark.parametrize("name", ["lightgbm", "elastic_net", "extra_trees", "knn"])
def test_explain_reports_importances_per_feature_and_column(name, panel):
    train, _ = panel
    model = create(name, horizon=5, country_or_region="US", **SMALL[name]).fit(train)
    info = model.explain()
    assert info["learner"] == name and info["strategy"] == "recursive"
    if name == "knn":
        assert "feature_importance" not in info
        return
    assert set(info["feature_importance"]) == set(model.featurizer_.feature_names_out)
    assert abs(sum(info["feature_importance"].values()) - 1) < 1e-9
    assert {"y", "date"} <= set(info["column_importance"])


def test_pivoted_learner_takes_its_featurization_whole_and_keeps_it(panel):
    from tsauto.features import FeaturizationSpec
    from tsauto.tasks.forecasting import ForecastContext

    spec = FeaturizationSpec(featurization="off", target_lags=[1, 7], country_or_region="AU")
    context = ForecastContext(5, QS, 7, spec, 3)
    # the trial's tuned featurization fields land on the context's spec; the rest is the
    # regressor's
    learner = get("lightgbm").from_context(context, {"target_scaler": "robust",
                                                     "strategy": "direct", "n_estimators": 20})
    assert learner.featurization_spec == FeaturizationSpec(
        featurization="off", target_lags=[1, 7], country_or_region="AU", target_scaler="robust",
        categorical_encoding=get("lightgbm").categorical_encoding)
    assert learner.hyper_parameters == {"n_estimators": 20}
    assert (learner.horizon, learner.seed, learner.quantiles) == (5, 3, QS)
    train, _ = panel
    learner.fit(train)
    assert learner.featurizer_.spec is learner.featurization_spec
    assert learner.featurizer_.target_lags_ == [1, 7]
    # keywords one by one build the same learner as the spec whole
    same = get("lightgbm")(quantiles=QS, horizon=5, seed=3, n_estimators=20, strategy="direct",
                           **{**{k: v for k, v in spec.to_params().items()
                                 if k not in FAMILY_OWNED}, "target_scaler": "robust"})
    assert same.featurization_spec == learner.featurization_spec
    assert same.params == learner.params
