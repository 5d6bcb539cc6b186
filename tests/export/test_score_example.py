"""examples/score_onnx.py scores an exported model with onnxruntime and numpy alone: run in a
subprocess where importing tsauto fails, it prints tsauto's own forecast."""

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import make_panel
from tsauto.data.dataset import SERIES_ID, TimeSeriesDataset
from tsauto.ensemble.weighted import WeightedEnsemble
from tsauto.learners import registry
from tsauto.model import ForecastModel, history_of

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "score_onnx.py"
Q = (0.1, 0.5, 0.9)


@pytest.mark.parametrize("names,freq", [(("elastic_net", "seasonal_naive"), "MS"),
                                        (("auto_ets",), "MS"), (("elastic_net",), "B")])
def test_example_scores_without_tsauto(tmp_path, names, freq):
    """Months of 28 to 31 days, or business days across weekends and a year end: each row is
    placed at its period (the sidecar's grid), a row absent and a value missing are filled as
    forecast(data=) fills them, and the calendar features come from the origin."""
    panel = make_panel(n_series=3, length=40, freq=freq,
                       start="2021-11-22" if freq == "B" else "2020-01-01")
    ds = TimeSeriesDataset(panel, time_column="date", target_column="sales",
                           grain_columns=["store"])
    params = {"elastic_net": {"horizon": 4}, "auto_ets": {"model": "AZZ"}}  # AZZ: exports
    members = [registry.create(n, quantiles=Q, **params.get(n, {})).fit(ds) for n in names]
    for member in members:
        member.prepare(4)
    learner = (WeightedEnsemble.of_fitted(members, [0.5, 0.5]) if len(members) > 1
               else members[0])
    model = ForecastModel(learner, ds.schema(), history_of(ds), 4, Q)
    model.to_onnx(tmp_path / "model.onnx")
    # a gap: one row absent, one value empty; filled as forecast(data=) fills them
    history = ds.frame[[SERIES_ID, "date", "sales"]].copy()
    history.loc[history.index[-3], "sales"] = np.nan
    history = history.drop(index=history.index[-6])
    history.to_csv(tmp_path / "history.csv", index=False)

    blocked = tmp_path / "blocked" / "tsauto"
    blocked.mkdir(parents=True)
    (blocked / "__init__.py").write_text("raise ImportError('tsauto is not importable here')\n")
    env = {**os.environ, "PYTHONPATH": str(blocked.parent)}
    check = subprocess.run([sys.executable, "-c", "import tsauto"], env=env,
                           capture_output=True, text=True, cwd=tmp_path)
    assert "not importable" in check.stderr
    done = subprocess.run([sys.executable, str(EXAMPLE), str(tmp_path / "model.onnx"),
                           str(tmp_path / "history.csv")], env=env, capture_output=True,
                          text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    printed = list(csv.DictReader(io.StringIO(done.stdout)))
    expected = model.forecast(data=history.rename(columns={SERIES_ID: "store"}))
    assert not np.allclose(expected["forecast"], model.forecast()["forecast"])
    assert [r["series_id"] for r in printed] == expected[SERIES_ID].astype(str).tolist()
    for column in ["forecast", "q0.1", "q0.5", "q0.9"]:
        np.testing.assert_allclose([float(r[column]) for r in printed],
                                   expected[column].to_numpy(), rtol=1e-9)
    if freq == "B":  # a Saturday beside its Friday: one period, two values, as tsauto refuses
        friday = history[history["date"].dt.dayofweek == 4].iloc[0]
        saturday = friday.copy()
        saturday["date"] += np.timedelta64(1, "D")
        history = history.copy()
        history.loc[len(history) + 100] = saturday
        history.to_csv(tmp_path / "history.csv", index=False)
        done = subprocess.run([sys.executable, str(EXAMPLE), str(tmp_path / "model.onnx"),
                               str(tmp_path / "history.csv")], env=env, capture_output=True,
                              text=True, cwd=tmp_path)
        assert done.returncode != 0 and "are in one period of the model's grid" in done.stderr
