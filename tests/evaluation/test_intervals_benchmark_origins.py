"""The interval benchmark's forecast origins (benchmarks/intervals_benchmark.py --origins):
disjoint held-out periods, the newest first, and scores pooled over the origins' rows."""

import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import intervals_benchmark as ib  # noqa: E402
import panel  # noqa: E402


def _collection() -> panel.Collection:
    rng = np.random.default_rng(0)
    parts = [pd.DataFrame({"unique_id": uid, "ds": pd.date_range("2000-01-01", periods=n,
                                                                  freq="MS"),
                           "y": rng.normal(10, 1, n)}) for uid, n in (("a", 30), ("b", 30),
                                                                        ("c", 20))]
    return panel.Collection("toy", pd.concat(parts, ignore_index=True), 4, 12, "MS")


def test_origins_step_back_one_horizon_with_disjoint_holdouts():
    c = _collection()
    cuts = ib.origins(c, 3)
    held = []
    for i, cut in enumerate(cuts):
        train, test = panel.split(cut.frame, c.h)
        end = c.frame.groupby("unique_id")["ds"].max()
        # origin i holds out the i-th horizon from each series' end
        assert (test.groupby("unique_id")["ds"].max()
                == end[test["unique_id"].unique()] - pd.DateOffset(months=4 * i)).all()
        assert (train.groupby("unique_id")["ds"].max().reindex(test["unique_id"].unique())
                < test.groupby("unique_id")["ds"].min()).all()
        held.append(set(zip(test["unique_id"], test["ds"])))
    assert not (held[0] & held[1]) and not (held[1] & held[2]) and not (held[0] & held[2])
    # the floor is three horizons (12 points) of training: series c (20 points) has 16 at
    # origin 0 and 12 at origin 1, too few (8) at origin 2
    assert [sorted(cut.frame["unique_id"].unique()) for cut in cuts] == [
        ["a", "b", "c"], ["a", "b", "c"], ["a", "b"]]


def test_pooled_scores_the_rows_of_every_origin_together():
    c = _collection()
    per_origin, rows = [], []
    for cut in ib.origins(c, 2):
        test = panel.split(cut.frame, c.h)[1]
        pred = test[["unique_id", "ds"]].copy()
        for q in ib.QUANTILES:  # a constant forecast per quantile: coverage differs by origin
            pred[ib._q(q)] = 10 + (q - 0.5) * 2 * (1 + len(per_origin))
        per_origin.append(({"m": pred}, test))
        rows.append({"method": "m", **ib.interval_scores(pred, test), "mase": 1.0,
                     "seconds": 2.0})
    (row,) = ib.pooled("toy", per_origin, rows)
    expected = ib.interval_scores(pd.concat([p["m"] for p, _ in per_origin]),
                                  pd.concat([t for _, t in per_origin]))
    assert row["cov80"] == expected["cov80"] and row["wql"] == expected["wql"]
    assert row["cov80_min"] == min(r["cov80"] for r in rows) < row["cov80_max"]
    assert row["origins"] == 2 and row["seconds"] == 4.0
