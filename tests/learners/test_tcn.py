"""ForecastTCN: training, determinism, covariates, short series, pickling."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import tsauto
from tests.learners.learner_checks import check_forecast, roundtrip, series_frame
from tsauto.errors import DataError, MissingFutureError, SettingsError, ShortSeriesError
from tsauto.learners import create

QUANTILES = (0.1, 0.5, 0.9)
# Small enough to train in a second or two on a busy 2-core machine.
FAST = {"channels": 8, "num_layers": 2, "max_epochs": 3, "batches_per_epoch": 8,
        "batch_size": 32}


@pytest.fixture(scope="module")
def fitted(accommodation):
    train, _, _ = accommodation
    return create("tcn", quantiles=QUANTILES, seed=3, **FAST).fit(train)


def test_forecasts_with_covariates_and_survives_pickle(fitted, accommodation, tmp_path):
    train, _, future = accommodation
    frame = fitted.predict(8, future)
    check_forecast(frame, train, 8, QUANTILES)
    np.testing.assert_allclose(frame["q0.5"], frame["forecast"])
    # Known covariate CPI and past-only Occupancy are channels of the network.
    assert fitted.net_config_["future_channels"] == 2 * len(fitted.periods_) + 1
    assert fitted.net_config_["past_channels"] == 2 + 2 * len(fitted.periods_) + 2
    loaded = roundtrip(fitted, tmp_path)
    pd.testing.assert_frame_equal(loaded.predict(8, future), frame)


def test_the_fitted_learner_holds_no_torch_objects(fitted):
    import pickle

    import torch

    state = pickle.dumps(fitted)
    assert b"torch" not in state
    assert all(isinstance(v, np.ndarray) for v in fitted.weights_.values())
    assert not isinstance(getattr(fitted, "net_", None), torch.nn.Module)


def test_same_seed_same_forecast_on_cpu(accommodation_plain):
    train, _ = accommodation_plain
    first = create("tcn", quantiles=QUANTILES, seed=7, device="cpu", **FAST).fit(train).predict(8)
    again = create("tcn", quantiles=QUANTILES, seed=7, device="cpu", **FAST).fit(train).predict(8)
    other = create("tcn", quantiles=QUANTILES, seed=8, device="cpu", **FAST).fit(train).predict(8)
    pd.testing.assert_frame_equal(first, again)
    assert not np.allclose(first["forecast"], other["forecast"])


def test_training_loss_falls_on_a_learnable_pattern():
    # The target follows a known covariate: nothing in its own past (nor the seasonal-naive
    # baseline the network corrects) predicts it; the future covariate channel does.
    rng = np.random.default_rng(0)
    frames = []
    for i in range(6):
        x = rng.normal(0, 1, 120)
        frame = series_frame({f"s{i}": 20 + 3 * i + 4 * x + rng.normal(0, 0.2, 120)})
        frames.append(frame.assign(x=x))
    ds = tsauto.TimeSeriesDataset(pd.concat(frames), time_column="time", target_column="y",
                                  grain_columns="id", known_covariates="x", freq="MS")
    train, test = ds.split_last(12)
    learner = create("tcn", quantiles=(0.1, 0.9), horizon=12, channels=16, num_layers=2,
                     max_epochs=10, batches_per_epoch=16, patience=10, learning_rate=1e-2,
                     dropout=0.0, seed=0).fit(train)
    train_loss = [h["train_loss"] for h in learner.history_]
    val_loss = [h["val_loss"] for h in learner.history_]
    assert train_loss[-1] < 0.5 * train_loss[0]
    assert min(val_loss) < 0.5 * val_loss[0]
    # And it forecasts from the covariate: far better than the series' own spread of 4.
    out = learner.predict(12, test.to_frame())
    error = np.abs(out["forecast"].to_numpy() - test.frame["y"].to_numpy()).mean()
    assert error < 1.5


def test_short_series_are_forecast_and_listed(awkward):
    learner = create("tcn", quantiles=QUANTILES, horizon=6, **FAST).fit(awkward)
    frame = learner.predict(6)
    check_forecast(frame, awkward, 6, QUANTILES)
    assert set(learner.short_series_) == {"one", "short"}
    assert "no training window" in learner.short_series_["one"]


def test_all_series_too_short_is_a_short_series_error():
    frame = series_frame({"a": [1.0, 2.0, 3.0], "b": [4.0, 5.0]})
    ds = tsauto.TimeSeriesDataset(frame, time_column="time", target_column="y",
                                  grain_columns="id", freq="MS")
    with pytest.raises(ShortSeriesError, match="horizon 12"):
        create("tcn", horizon=12, **FAST).fit(ds)


def test_gaps_are_a_data_error_naming_the_series(gappy):
    with pytest.raises(DataError, match="holey"):
        create("tcn", **FAST).fit(gappy)


def test_longer_horizons_roll_forward(fitted, accommodation):
    train, _, future = accommodation
    # Extend the known covariate for 20 quarters: the trained horizon is 8.
    extra = train.schema().future_frame(20)[["series_id", "Date"]]
    extra["CPI"] = 110.0
    frame = fitted.predict(20, extra)
    check_forecast(frame, train, 20, QUANTILES)
    head = fitted.predict(8, extra[extra.groupby("series_id", observed=True).cumcount() < 8])
    np.testing.assert_allclose(frame.groupby("series_id", observed=True).head(8)["forecast"],
                               head["forecast"])


def test_missing_future_covariates_raise(fitted, accommodation):
    _, _, future = accommodation
    with pytest.raises(MissingFutureError, match="CPI"):
        fitted.predict(8, future.drop(columns="CPI"))


@pytest.mark.parametrize("params, message", [
    ({"channels": 0}, "channels"), ({"dropout": 1.5}, "dropout"),
    ({"learning_rate": 0}, "learning_rate"), ({"horizon": 0}, "horizon"),
    ({"device": "tpu"}, "device"), ({"kernel_size": 1}, "kernel_size"),
])
def test_bad_parameters_are_settings_errors(params, message, accommodation_plain):
    train, _ = accommodation_plain
    with pytest.raises(SettingsError, match=message):
        create("tcn", **{**FAST, **params}).fit(train)


def test_torch_global_state_is_left_alone(accommodation_plain):
    import torch

    train, _ = accommodation_plain
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    threads = torch.get_num_threads()
    create("tcn", **FAST).fit(train)
    assert torch.equal(torch.rand(3), expected)
    assert torch.get_num_threads() == threads
