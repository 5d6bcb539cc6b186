"""Forecasting from new data without refitting, intervals chosen at forecast time, and
predicting as a read-only act (one model, many threads)."""

import os
import pickle
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest

from tests.serve.conftest import fitted_model
from tsauto.errors import DataError, SettingsError

@pytest.fixture(scope="module")
def lightgbm(panel):
    return fitted_model(panel, "lightgbm", n_estimators=30)


def recent(panel, start="2021-01-01", end="2024-01-01"):
    return panel[(panel.date >= start) & (panel.date < end)]


def test_statistical_model_forecasts_after_the_new_history(statistical, panel, monkeypatch):
    def no_search(*args, **kwargs):
        raise AssertionError("forecasting from new data must not search again")

    for name in ("forecast_grouped", "fit_grouped"):
        monkeypatch.setattr(f"tsauto.learners.statistical.{name}", no_search)
    frame = statistical.forecast(data=recent(panel))
    assert frame.date.min() == pd.Timestamp("2024-01-01") and len(frame) == 3 * 6
    assert list(frame.columns[:2]) == ["series_id", "store"]
    assert frame.attrs["unseen_series"] == [] and not frame.isna().any().any()
    # Its kept per-series models run over the training history give the refit's forecast:
    # the form and parameters are reused, not searched again.
    train = panel[panel.date < "2023-07-01"]
    again = statistical.forecast(data=train)
    pd.testing.assert_frame_equal(again, statistical.forecast(), check_like=True, rtol=1e-9)


def test_unseen_series_fall_back_on_statistical_and_are_modelled_by_global(statistical,
                                                                           lightgbm, panel):
    new = recent(panel).copy()
    new.loc[new.store == "s2", "store"] = "new"
    frame = statistical.forecast(data=new)
    assert frame.attrs["unseen_series"] == ["new"]
    assert frame.attrs["fallbacks"]["new"].startswith("not seen at training")
    assert set(frame.store) == {"s0", "s1", "new"}
    glob = lightgbm.forecast(data=new)
    assert glob.attrs["unseen_series"] == ["new"] and not glob.isna().any().any()
    assert "new" not in glob.attrs.get("fallbacks", {})


def test_global_model_reads_its_lags_from_the_new_history(lightgbm, panel):
    train = panel[panel.date < "2023-07-01"]
    pd.testing.assert_frame_equal(lightgbm.forecast(data=train), lightgbm.forecast())
    # From a history ending earlier: the next periods, close to what happened then.
    early = lightgbm.forecast(data=recent(panel, end="2022-07-01"))
    assert early.date.min() == pd.Timestamp("2022-07-01")
    actual = panel.merge(early, on=["store", "date"])
    assert len(actual) == 18
    assert np.abs(actual.sales - actual.forecast).mean() < 5  # levels 60-100, noise sd 1


def test_levels_where_the_learner_can_and_an_error_naming_fitted_quantiles(statistical,
                                                                           lightgbm, panel):
    frame = statistical.forecast(data=recent(panel), level=[80, 95])
    cols = ["q0.025", "q0.1", "q0.5", "q0.9", "q0.975"]
    assert [c for c in frame.columns if c.startswith("q")] == cols
    assert (np.diff(frame[cols].to_numpy(), axis=1) >= 0).all()
    with pytest.raises(SettingsError, match=r"fitted for quantiles \[0.1, 0.5, 0.9\]"):
        lightgbm.forecast(level=[95])
    assert "q0.9" in lightgbm.forecast(quantiles=[0.1, 0.9]).columns  # fitted ones: fine
    # the 80% level is the fitted 0.1 and 0.9, although 0.5 - 80 / 200 != 0.1 in floating point
    pd.testing.assert_frame_equal(lightgbm.forecast(level=[80]), lightgbm.forecast())
    with pytest.raises(SettingsError, match="got the text '80'"):
        statistical.forecast(level="80")
    with pytest.raises(SettingsError, match="between 0 and 100"):
        statistical.forecast(level=[120])
    with pytest.raises(SettingsError, match="not both"):
        statistical.forecast(level=[80], quantiles=[0.1])


def test_bad_new_data_is_a_data_error_naming_the_column(statistical, panel):
    with pytest.raises(DataError, match="sales"):
        statistical.forecast(data=recent(panel).drop(columns="sales"))
    with pytest.raises(DataError, match="no rows"):
        statistical.forecast(data=recent(panel).iloc[:0])


@pytest.mark.parametrize("which", ["statistical", "lightgbm"])
def test_predicting_is_read_only_and_thread_safe(which, request, panel):
    model = request.getfixturevalue(which)
    before = pickle.dumps(model.learner)
    calls = [{}, {"data": recent(panel)}, {"horizon": 9}, {"data": recent(panel, "2022-01-01")}]
    sequential = [model.forecast(**kw) for kw in calls]
    with ThreadPoolExecutor(4) as pool:
        parallel = list(pool.map(lambda kw: model.forecast(**kw), calls * 3))
    for i, frame in enumerate(parallel):
        pd.testing.assert_frame_equal(frame, sequential[i % len(calls)])
    assert pickle.dumps(model.learner) == before


def test_cli_forecast_from_new_data(statistical, panel, tmp_path):
    path = statistical.save(tmp_path / "model.pkl")
    new = recent(panel).replace({"store": {"s2": "new"}})
    new.to_csv(tmp_path / "new.csv", index=False)
    result = subprocess.run([sys.executable, "-m", "tsauto.cli", "forecast", str(path), "--data",
                             str(tmp_path / "new.csv"), "--level", "90", "--out",
                             str(tmp_path / "f.csv")], capture_output=True, text=True,
                            timeout=120, env={**os.environ, "COLUMNS": "200"})
    assert result.returncode == 0, result.stderr
    assert "1 series not seen at training: 'new'" in result.stdout
    frame = pd.read_csv(tmp_path / "f.csv")
    assert len(frame) == 18 and {"q0.05", "q0.95"} <= set(frame.columns)
    assert frame.date.min() == "2024-01-01"


def test_a_history_too_short_for_the_kept_model_falls_back_and_says_why(statistical, panel):
    frame = statistical.forecast(data=recent(panel, "2023-09-01"), level=[80])  # 4 months
    assert not frame.isna().any().any() and len(frame) == 18
    assert set(frame.attrs["fallbacks"]) == {"s0", "s1", "s2"}
    assert all("fitted auto_ets model failed" in r for r in frame.attrs["fallbacks"].values())
