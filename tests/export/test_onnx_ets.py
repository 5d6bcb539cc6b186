"""ONNX scorer of exponential smoothing (auto_ets): the state recursion as a Scan over the
history; onnxruntime's forecast and quantiles equal ``model.forecast()`` (float64, 1e-9
relative), on the fitted history and on a history extended by new observations."""

import numpy as np
import pandas as pd
import pytest

from tests.export.test_onnx_statistical import H, Q, ROLES, assert_parity, fitted, score
from tsauto.data.dataset import TimeSeriesDataset
from tsauto.errors import ExportError
from tsauto.learners import registry


def panel(length: int) -> pd.DataFrame:
    """Series that choose different additive forms: trend and season, trend alone, level
    alone (seeded); the third starts later, so its history is NaN-padded."""
    rng = np.random.default_rng(3)
    t = np.arange(length)
    times = pd.date_range("2018-01-01", periods=length, freq="MS")
    shapes = [100 + 1.5 * t + 12 * np.sin(2 * np.pi * t / 12),
              80 + 2.0 * t + 0.02 * t ** 2,
              60 + np.zeros(length)]
    frames = [pd.DataFrame({"store": f"s{i}", "date": times,
                            "sales": y + rng.normal(0, 2, length)})
              for i, y in enumerate(shapes)]
    frames[2] = frames[2].iloc[10:]
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def model():
    ds = TimeSeriesDataset(panel(60).query("date < '2022-01-01'"), **ROLES)
    return fitted(ds, registry.create("auto_ets", quantiles=Q, model="AZZ")), ds


def test_ets_forms_match_forecast(model, tmp_path):
    model, ds = model
    forms = {f.model_["components"][:4] for f in model.learner.forms_}
    assert len(forms) > 1  # one graph holds several forms
    outputs, sidecar = score(model, tmp_path, {"__dataset__": ds,
                                               "series_index": np.arange(ds.n_series)})
    assert_parity(model, outputs)
    assert sidecar["inputs"][0]["shape"] == ["n_series", "history_length"]


def test_a_series_index_out_of_range_is_refused_and_an_empty_history_gives_nan(model, tmp_path):
    """-1 would read the last series' parameters (Gather counts from the end): refused, as an
    index past the end is; a history row without a value has no forecast, not a default."""
    import onnxruntime as ort

    from tests.export.test_onnx_statistical import history_matrix

    model, ds = model
    model.to_onnx(tmp_path / "m.onnx")
    session = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    history = history_matrix(ds, 48)
    for index in ([0, 1, -1], [0, 1, 3]):
        with pytest.raises(Exception, match="out of (data )?bounds|outside"):
            session.run(None, {"history": history, "series_index": np.array(index)})
    history[1] = np.nan
    point, quant = session.run(None, {"history": history, "series_index": np.arange(3)})
    assert np.isnan(point[1]).all() and np.isnan(quant[1]).all()
    assert np.isfinite(point[[0, 2]]).all() and np.isfinite(quant[[0, 2]]).all()


def test_ets_scorer_reads_extended_history(model, tmp_path):
    """New observations appended: the recursion runs on through them, as forecast(data=)."""
    model, _ = model
    newer = panel(60)
    ds = TimeSeriesDataset(newer, **ROLES)
    path = tmp_path / "m.onnx"
    model.to_onnx(path)
    import onnxruntime as ort

    from tests.export.test_onnx_statistical import history_matrix

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    # rows in another order: each row reads its own series' parameters
    order = np.array([2, 0, 1])
    feeds = {"history": history_matrix(ds, 60)[order], "series_index": order}
    point, quant = session.run(None, feeds)
    frame = model.forecast(data=newer)
    np.testing.assert_allclose(point, frame["forecast"].to_numpy().reshape(3, H)[order],
                               rtol=1e-9)
    cols = [f"q{q:g}" for q in Q]
    np.testing.assert_allclose(quant, frame[cols].to_numpy().reshape(3, H, 3)[order],
                               rtol=1e-9)


def test_calibrated_scale_from_extended_history(model, tmp_path):
    """A calibration normalised by the series' MASE scale: the graph computes the scale from
    the whole history it is given (a series NaN-padded too), as forecast(data=) does."""
    import onnxruntime as ort

    from tests.export.test_onnx_statistical import history_matrix
    from tsauto.evaluation.calibration import IntervalCalibration
    from tsauto.model import ForecastModel

    model, ds = model
    rng = np.random.default_rng(5)
    cal = IntervalCalibration("scale", np.sort(rng.normal(size=(H, 401)), axis=1),
                              np.full(H, 80), 12, "sales")
    model = ForecastModel(model.learner, ds.schema(), model.history, H, Q, calibration=cal)
    newer = panel(60)
    path = tmp_path / "m.onnx"
    sidecar = model.to_onnx(path)
    assert sidecar["calibration"] == "scale"
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feeds = {"history": history_matrix(TimeSeriesDataset(newer, **ROLES), 60),
             "series_index": np.arange(3)}
    _, quant = session.run(None, feeds)
    frame = model.forecast(data=newer)
    cols = [f"q{q:g}" for q in Q]
    np.testing.assert_allclose(quant, frame[cols].to_numpy().reshape(3, H, 3), rtol=1e-9)


def test_multiplicative_form_names_it(tmp_path):
    ds = TimeSeriesDataset(panel(48), **ROLES)
    model = fitted(ds, registry.create("auto_ets", quantiles=Q, model="MNM"))
    with pytest.raises(ExportError, match=r"series 's0' chose the form ETS\(M,N,M\)"):
        model.to_onnx(tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


@pytest.mark.parametrize("spec,damped", [("AAA", True), ("ANA", None), ("AAN", True)])
def test_ets_seasonal_and_damped_forms(spec, damped, tmp_path):
    """Each remaining additive form (its variance formula too), and a constant new history
    (statsforecast refits a level model on it: its value, intervals within ~1e-6 of it)."""
    ds = TimeSeriesDataset(panel(48).query("store != 's2'"), **ROLES)
    model = fitted(ds, registry.create("auto_ets", quantiles=Q, model=spec, damped=damped))
    want = spec[0] + "," + spec[1] + ("d" if damped else "") + "," + spec[2]
    assert {f.model_["components"][:4] for f in model.learner.forms_} == {
        spec + ("D" if damped else "N")}, want
    outputs, _ = score(model, tmp_path, {"__dataset__": ds, "series_index": np.arange(2)})
    assert_parity(model, outputs)
    flat = panel(48).query("store != 's2'").assign(sales=lambda f: f.sales.where(
        f.store == "s0", 42.0))
    import onnxruntime as ort

    from tests.export.test_onnx_statistical import history_matrix

    session = ort.InferenceSession(str(tmp_path / "model.onnx"),
                                   providers=["CPUExecutionProvider"])
    point, quant = session.run(None, {"history": history_matrix(
        TimeSeriesDataset(flat, **ROLES), 48), "series_index": np.arange(2)})
    frame = model.forecast(data=flat)
    np.testing.assert_allclose(point, frame["forecast"].to_numpy().reshape(2, H), rtol=1e-9)
    cols = [f"q{q:g}" for q in Q]
    np.testing.assert_allclose(quant, frame[cols].to_numpy().reshape(2, H, 3), rtol=1e-5)
    assert (point[1] == 42.0).all()


def test_ets_in_a_weighted_ensemble(model, tmp_path):
    """Beside a fixed-width member the history has the fixed width L (the longest series)."""
    from tsauto.ensemble.weighted import WeightedEnsemble
    from tsauto.model import ForecastModel, history_of

    ets, ds = model
    naive = registry.create("seasonal_naive", quantiles=Q)
    naive.fit(ds)
    naive.prepare(H)
    ensemble = WeightedEnsemble.of_fitted([ets.learner, naive], [0.6, 0.4])
    both = ForecastModel(ensemble, ds.schema(), history_of(ds), H, Q)
    outputs, sidecar = score(both, tmp_path, {"__dataset__": ds,
                                              "series_index": np.arange(ds.n_series)})
    assert_parity(both, outputs)
    assert sidecar["inputs"][0]["shape"] == ["n_series", sidecar["history_length"]]
