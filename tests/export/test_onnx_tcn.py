"""The TCN's scorer: history scaling, calendar channels from the origin, the torch network
(float32, via torch.onnx) and the roll-out past the network's horizon equal model.forecast()
to 1e-5 relative."""

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from tests.conftest import make_panel
from tests.export.test_onnx_pivoted import feeds_for
from tsauto.data.dataset import TimeSeriesDataset
from tsauto.errors import ExportError
from tsauto.learners import registry
from tsauto.model import ForecastModel, history_of

ROLES = {"time_column": "date", "target_column": "sales", "grain_columns": ["store"]}
FAST = {"channels": 8, "num_layers": 2, "max_epochs": 2, "batches_per_epoch": 4,
        "batch_size": 32, "seed": 0, "device": "cpu"}


@pytest.mark.parametrize("horizon,net_horizon,quantiles", [(6, 6, (0.1, 0.9)),
                                                            (7, 3, ())])
def test_tcn_scorer_equals_forecast(horizon, net_horizon, quantiles, tmp_path):
    panel = make_panel(n_series=3, length=60)
    # uneven lengths: one series' context is NaN-padded on the left
    panel = panel[~((panel.store == "s1") & (panel.date < "2023-06-01"))]
    ds = TimeSeriesDataset(panel, **ROLES)
    learner = registry.create("tcn", quantiles=quantiles, horizon=net_horizon, lookback=40,
                              **FAST).fit(ds)
    learner.prepare(horizon)
    model = ForecastModel(learner, ds.schema(), history_of(ds), horizon, quantiles)
    path = tmp_path / "tcn.onnx"
    sidecar = model.to_onnx(path)
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    assert sidecar["float32_parts"] == ["tcn"] and sidecar["history_length"] == 40
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    outputs = session.run(None, feeds_for(sidecar, ds))
    frame = model.forecast()
    n = ds.n_series
    # the network computes in float32 (torch and onnxruntime alike): 1e-5 relative
    np.testing.assert_allclose(outputs[0], frame["forecast"].to_numpy().reshape(n, horizon),
                               rtol=1e-5)
    for j, q in enumerate(quantiles):
        np.testing.assert_allclose(outputs[1][:, :, j],
                                   frame[f"q{q:g}"].to_numpy().reshape(n, horizon), rtol=1e-5)


def test_tcn_with_covariates_does_not_export(tmp_path):
    panel = make_panel(n_series=2, length=48)
    panel["promo"] = np.arange(len(panel)) % 3
    ds = TimeSeriesDataset(panel, **ROLES, known_covariates=["promo"])
    learner = registry.create("tcn", horizon=4, **FAST).fit(ds)
    model = ForecastModel(learner, ds.schema(), history_of(ds), 4, ())
    with pytest.raises(ExportError, match="tcn: a TCN that reads covariates"):
        model.to_onnx(tmp_path / "tcn.onnx")

    class Settings:
        known_covariates, past_covariates = ["promo"], []

    assert not registry.get("tcn").exports_onnx({}, Settings())
    Settings.known_covariates = []
    assert registry.get("tcn").exports_onnx({}, Settings())
