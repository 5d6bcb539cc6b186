"""ONNX scorers of the statistical learners, weighted ensembles, the CLI and the errors: the
onnxruntime output equals ``model.forecast()`` (float64 throughout, so to 1e-9 relative)."""

import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from tests.conftest import make_panel
from tsauto.data.dataset import TimeSeriesDataset
from tsauto.ensemble.weighted import WeightedEnsemble
from tsauto.errors import ExportError
from tsauto.learners import registry
from tsauto.model import ForecastModel, history_of

ROLES = {"time_column": "date", "target_column": "sales", "grain_columns": ["store"]}
Q = (0.1, 0.5, 0.9)
H = 6


@pytest.fixture(scope="module")
def dataset():
    # uneven lengths: the naive pair reads NaN-padded histories
    panel = make_panel(n_series=3, length=48)
    panel = panel[~((panel.store == "s1") & (panel.date < "2020-06-01"))]
    return TimeSeriesDataset(panel, **ROLES)


def fitted(ds, learner, quantiles=Q):
    learner.fit(ds)
    learner.prepare(H)
    return ForecastModel(learner, ds.schema(), history_of(ds), H, quantiles)


def history_matrix(ds, length):
    """Each series' last ``length`` values, right-aligned and NaN-padded: the scorer's input."""
    out = np.full((ds.n_series, length), np.nan)
    values, indptr = ds.grouped().values, ds.indptr
    for i in range(ds.n_series):
        v = values[indptr[i]:indptr[i + 1]][-length:]
        out[i, length - len(v):] = v
    return out


def score(model, tmp_path, feeds=None):
    path = tmp_path / "model.onnx"
    sidecar = model.to_onnx(path)
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    assert json.loads((tmp_path / "model.onnx.json").read_text()) == sidecar
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feeds = dict(feeds or {})
    ds_history = feeds.pop("__dataset__")
    feeds["history"] = history_matrix(ds_history, sidecar["history_length"])
    outputs = dict(zip([o.name for o in session.get_outputs()], session.run(None, feeds)))
    return outputs, sidecar


def assert_parity(model, outputs, rtol=1e-9):
    frame = model.forecast()
    n = len(model.schema.series_ids)
    np.testing.assert_allclose(outputs["forecast"], frame["forecast"].to_numpy().reshape(n, -1),
                               rtol=rtol)
    cols = [f"q{q:g}" for q in model.quantiles]
    expected = frame[cols].to_numpy().reshape(n, H, len(cols))
    np.testing.assert_allclose(outputs["quantiles"], expected, rtol=rtol)


@pytest.mark.parametrize("name,params", [
    ("naive", {}), ("seasonal_naive", {}), ("window_average", {"window_size": 3}),
    ("seasonal_window_average", {"window_size": 2, "conformal_windows": 2})])
def test_statistical_learners_match_forecast(dataset, tmp_path, name, params):
    model = fitted(dataset, registry.create(name, quantiles=Q, **params))
    outputs, sidecar = score(model, tmp_path, {"__dataset__": dataset})
    assert_parity(model, outputs)
    assert sidecar["quantiles"] == list(Q) and sidecar["horizon"] == H
    assert [i["name"] for i in sidecar["inputs"]] == ["history"]


def test_scorer_reads_new_history(dataset, tmp_path):
    """The graph is a function of the history: fed newer data it forecasts as
    ``forecast(data=...)`` does."""
    model = fitted(dataset, registry.create("seasonal_naive", quantiles=Q))
    newer = make_panel(n_series=3, length=60, seed=5)
    new_ds = TimeSeriesDataset(newer, **ROLES)
    outputs, _ = score(model, tmp_path, {"__dataset__": new_ds})
    frame = model.forecast(data=newer)
    np.testing.assert_allclose(outputs["forecast"].ravel(), frame["forecast"].to_numpy(),
                               rtol=1e-9)


def test_weighted_ensemble_matches_forecast(dataset, tmp_path):
    members = [registry.create(n, quantiles=Q) for n in ("naive", "seasonal_naive")]
    for m in members:
        m.fit(dataset)
        m.prepare(H)
    ensemble = WeightedEnsemble.of_fitted(members, [0.3, 0.7])
    model = ForecastModel(ensemble, dataset.schema(), history_of(dataset), H, Q)
    outputs, sidecar = score(model, tmp_path, {"__dataset__": dataset})
    assert_parity(model, outputs)
    assert [p["weight"] for p in sidecar["learners"]] == [0.3, 0.7]


def test_unexportable_learner_names_it(dataset, tmp_path):
    model = fitted(dataset, registry.create("historic_average", quantiles=Q))
    with pytest.raises(ExportError, match="historic_average"):
        model.to_onnx(tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


def test_conformal_windows_must_agree(tmp_path):
    panel = make_panel(n_series=2, length=60)
    panel = panel[~((panel.store == "s1") & (panel.date < "2023-01-01"))]
    ds = TimeSeriesDataset(panel, **ROLES)
    model = fitted(ds, registry.create("window_average", quantiles=Q, window_size=4))
    with pytest.raises(ExportError, match="window_average: its conformal quantiles use"):
        model.to_onnx(tmp_path / "m.onnx")


def test_cli_export_and_its_errors(dataset, tmp_path):
    from typer.testing import CliRunner

    from tsauto.cli import app

    good = fitted(dataset, registry.create("naive", quantiles=Q))
    good.save(tmp_path / "good.pkl")
    fitted(dataset, registry.create("historic_average", quantiles=Q)).save(tmp_path / "bad.pkl")
    runner = CliRunner()
    done = runner.invoke(app, ["export", str(tmp_path / "good.pkl"), "--onnx",
                               str(tmp_path / "out.onnx")])
    assert done.exit_code == 0, done.output
    assert (tmp_path / "out.onnx").exists() and (tmp_path / "out.onnx.json").exists()
    import subprocess
    import sys

    failed = subprocess.run([sys.executable, "-m", "tsauto.cli", "export",
                             str(tmp_path / "bad.pkl"), "--onnx", str(tmp_path / "bad.onnx")],
                            capture_output=True, text=True)
    assert failed.returncode == 2
    assert "historic_average" in failed.stderr and "Traceback" not in failed.stderr
    assert len(failed.stderr.strip().splitlines()) == 1
