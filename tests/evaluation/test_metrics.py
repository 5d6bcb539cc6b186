"""The metric registry's array forms against utilsforecast.losses on seeded data."""

import numpy as np
import pandas as pd
import pytest
from utilsforecast import losses

from tsauto.evaluation.metrics import METRICS, Scoring, evaluate

N_SERIES, TRAIN, HORIZON, SEASON = 5, 30, 8, 4
QUANTILES = (0.1, 0.5, 0.9)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    ids = [f"s{i}" for i in range(N_SERIES)]
    t = np.arange(TRAIN + HORIZON)
    y = np.concatenate([20 + 3 * i + np.sin(2 * np.pi * t / SEASON) * (i + 1)
                        + rng.normal(0, 1, len(t)) for i in range(N_SERIES)])
    frame = pd.DataFrame({"unique_id": np.repeat(ids, len(t)), "ds": np.tile(t, N_SERIES), "y": y})
    train = frame[frame["ds"] < TRAIN].reset_index(drop=True)
    test = frame[frame["ds"] >= TRAIN].reset_index(drop=True)
    test["forecast"] = test["y"] + rng.normal(0.5, 2, len(test))
    for q in QUANTILES:
        test[f"q{q}"] = test["forecast"] + (q - 0.5) * 6 + rng.normal(0, 0.5, len(test))
    scoring = Scoring.of(test["y"], test, test["unique_id"],
                         train.rename(columns={"unique_id": "series_id"}), "y", SEASON, QUANTILES)
    return train, test, scoring


def per_series(frame: pd.DataFrame, column: str) -> np.ndarray:
    return frame.sort_values("unique_id")[column].to_numpy()


def test_point_metrics_match_utilsforecast(data):
    train, test, s = data
    mase = losses.mase(test, ["forecast"], SEASON, train)
    np.testing.assert_allclose(METRICS["mase"].per_series(s), per_series(mase, "forecast"),
                               rtol=1e-10)
    assert METRICS["mase"].value(s) == pytest.approx(mase["forecast"].mean(), rel=1e-10)
    for name, loss, factor in [("mae", losses.mae, 1), ("rmse", losses.rmse, 1),
                               ("smape", losses.smape, 200)]:
        theirs = per_series(loss(test, ["forecast"]), "forecast") * factor
        np.testing.assert_allclose(METRICS[name].per_series(s), theirs, rtol=1e-10)
    # Series of equal length: the mean over rows is the mean of the series' means.
    assert METRICS["mae"].value(s) == pytest.approx(losses.mae(test, ["forecast"])["forecast"].mean())
    assert METRICS["smape"].value(s) == pytest.approx(
        200 * losses.smape(test, ["forecast"])["forecast"].mean())


def test_pinball_matches_utilsforecast(data):
    _, test, s = data
    theirs = [losses.quantile_loss(test, {"forecast": f"q{q}"}, q=q)["forecast"].mean()
              for q in QUANTILES]
    assert METRICS["pinball"].value(s) == pytest.approx(np.mean(theirs), rel=1e-10)


def test_evaluate_is_the_registry(data):
    train, test, s = data
    scores = evaluate(test["y"], test, test["unique_id"],
                      train.rename(columns={"unique_id": "series_id"}), "y", SEASON, QUANTILES)
    registered = {name: v for name, v in scores.items() if name in METRICS}
    assert registered == {name: METRICS[name].value(s) for name in registered}
    assert {"pinball", "wql", "coverage", "width"} <= set(scores)
    assert set(scores) - set(registered) == {"coverage_80"}  # one per central interval


def test_interval_coverage_per_level_and_width():
    """Hand-checked: two series, scales 1 and 2 (one-step naive), four rows."""
    train = pd.DataFrame({"series_id": ["a", "a", "b", "b"], "y": [0.0, 1.0, 0.0, 2.0]})
    actual = np.array([0.0, 5.0, 1.0, -3.0])
    forecast = pd.DataFrame({"forecast": [0.0] * 4, "q0.1": [-2.0] * 4, "q0.25": [-1.0] * 4,
                             "q0.75": [1.0] * 4, "q0.9": [2.0] * 4})
    s = Scoring.of(actual, forecast, ["a", "a", "b", "b"], train, "y", 1,
                   (0.1, 0.25, 0.75, 0.9))
    scores = evaluate(actual, forecast, ["a", "a", "b", "b"], train, "y", 1,
                      (0.1, 0.25, 0.75, 0.9))
    assert scores["coverage_80"] == scores["coverage"] == pytest.approx(0.5)  # 0 and 1 inside
    assert scores["coverage_50"] == pytest.approx(0.5)
    # width 4 in units of scale 1 (series a) and of scale 2 (series b), mean over series
    assert scores["width"] == pytest.approx((4 / 1 + 4 / 2) / 2)
    np.testing.assert_allclose(METRICS["width"].per_series(s), [4.0, 2.0])
