"""Helpers shared by the learner tests (a module of its own: conftest files are not imported
by name)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tsauto.data.forecast_columns import POINT, quantile_column


def series_frame(series: dict[str, np.ndarray | list], freq: str = "MS",
                 start: str = "2015-01-01") -> pd.DataFrame:
    rows = []
    for name, values in series.items():
        times = pd.date_range(start, periods=len(values), freq=freq)
        rows.append(pd.DataFrame({"id": name, "time": times, "y": np.asarray(values, float)}))
    return pd.concat(rows, ignore_index=True)


def check_forecast(frame: pd.DataFrame, train, horizon: int, quantiles) -> None:
    """The protocol's promises about a forecast frame."""
    cols = [quantile_column(q) for q in sorted(quantiles)]
    assert len(frame) == train.n_series * horizon
    assert list(frame["series_id"].astype(str).unique()) == [str(s) for s in train.series_ids]
    assert (frame["step"].to_numpy() == np.tile(np.arange(1, horizon + 1), train.n_series)).all()
    values = frame[[POINT, *cols]].to_numpy(dtype=float)
    assert np.isfinite(values).all()
    if len(cols) > 1:
        assert (np.diff(frame[cols].to_numpy(dtype=float), axis=1) >= 0).all()
    expected = train.schema().future_frame(horizon)[train.time_column]
    assert (frame[train.time_column].to_numpy() == expected.to_numpy()).all()


def roundtrip(learner, tmp_path):
    path = tmp_path / f"{learner.name}.pkl"
    learner.save(path)
    return type(learner).load(path)
