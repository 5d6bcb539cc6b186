"""enable_onnx_compatible_models: the search tries only exportable learners and values, the
leaderboard says which trials export, and the best model exports."""

import numpy as np
import onnxruntime as ort

from tests.conftest import make_panel
from tests.export.test_onnx_pivoted import feeds_for
from tsauto.automl import AutoML
from tsauto.data.dataset import TimeSeriesDataset
from tsauto.learners import registry
from tsauto.progress import skipped_learners
from tsauto.settings import ForecastSettings

ROLES = {"time_column": "date", "target_column": "sales", "grain_columns": ["store"]}


def test_onnx_only_search_exports_its_best_model(tmp_path):
    panel = make_panel(n_series=3, length=48)
    settings = ForecastSettings(**ROLES, horizon=4, max_trials=4, n_cross_validations=1,
                                allowed_models=["naive", "auto_ets", "window_average",
                                                "seasonal_naive", "auto_theta"],
                                enable_onnx_compatible_models=True, verbosity=0,
                                time_budget=120, enable_stack_ensemble=False)
    run = AutoML(settings).fit(panel)
    board = run.leaderboard()
    assert "auto_theta" not in set(board["learner"])
    assert "does not export to ONNX" in skipped_learners(run.result)["auto_theta"]
    # auto_ets runs in its additive-error forms only (its baseline too)
    ets = [t for t in run.result.trials if t.learner == "auto_ets"]
    assert ets and all(t.params["model"] in ("AZZ", "AAZ") for t in ets)
    assert board["onnx"].all()
    model = run.best_model
    sidecar = model.to_onnx(tmp_path / "best.onnx")
    ds = TimeSeriesDataset(panel, **ROLES)
    session = ort.InferenceSession(str(tmp_path / "best.onnx"),
                                   providers=["CPUExecutionProvider"])
    outputs = session.run(None, feeds_for(sidecar, ds))
    frame = model.forecast()
    np.testing.assert_allclose(outputs[0].ravel(), frame["forecast"].to_numpy(), rtol=1e-5)
    # its quantiles as forecast() gives them (calibrated where the model's calibration replaces)
    cols = [f"q{q:g}" for q in sidecar["quantiles"]]
    np.testing.assert_allclose(outputs[1].reshape(-1, len(cols)), frame[cols].to_numpy(),
                               rtol=1e-5)


def test_exportability_of_a_trial():
    class Settings:
        country_or_region = None
        past_covariates = []

    pivoted = registry.get("elastic_net")
    assert pivoted.exports_onnx({}, Settings())
    assert not pivoted.exports_onnx({"target_difference": "first"}, Settings())
    Settings.country_or_region = "AU"
    assert not pivoted.exports_onnx({}, Settings())
    Settings.country_or_region, Settings.past_covariates = None, ["visits"]
    assert not pivoted.exports_onnx({}, Settings())
    assert pivoted.exports_onnx({"feature_lags": None}, Settings())
    ets = registry.get("auto_ets")
    assert not ets.exports_onnx({}) and not ets.exports_onnx({"model": "MNM"})
    assert ets.exports_onnx({"model": "AZZ"}) and ets.exports_onnx({"model": "ANN"})
    assert not registry.get("knn").exports_onnx({})
    assert registry.get("lightgbm").onnx_search_space()["target_difference"].options == (None,)
