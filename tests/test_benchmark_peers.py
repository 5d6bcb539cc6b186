"""The AutoGluon benchmark peer runs in another interpreter: its half that tsauto's interpreter
loads must import and behave without AutoGluon installed (the suite never needs it)."""

import importlib.util
import sys
from pathlib import Path

import pandas as pd

PEER = Path(__file__).resolve().parents[1] / "benchmarks" / "peers" / "autogluon_peer.py"


def load_peer():
    spec = importlib.util.spec_from_file_location("autogluon_peer", PEER)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its module up there
    spec.loader.exec_module(module)
    return module


def test_prediction_becomes_the_referee_frame():
    peer = load_peer()
    index = pd.MultiIndex.from_product([["a", "b"], pd.date_range("2020-01-01", periods=2,
                                                                   freq="MS")],
                                       names=["item_id", "timestamp"])
    pred = pd.DataFrame({"mean": [1.0, 2.0, 3.0, 4.0], "0.1": 0.0}, index=index)
    out = peer.to_forecast_frame(pred)
    assert list(out.columns) == ["unique_id", "ds", "yhat"]
    assert out["unique_id"].tolist() == ["a", "a", "b", "b"]
    assert out["yhat"].tolist() == [1.0, 2.0, 3.0, 4.0]


def test_missing_interpreter_is_a_failed_run_not_a_crash(tmp_path):
    peer = load_peer()
    train = pd.DataFrame({"unique_id": "a", "ds": pd.date_range("2020-01-01", periods=4),
                          "y": [1.0, 2.0, 3.0, 4.0]})
    run = peer.forecast(str(tmp_path / "no-python"), train, 2, "D", "fast_training", 5.0)
    assert run.forecast is None
    assert "no-python" in run.error
