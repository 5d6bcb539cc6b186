"""Score an exported tsauto forecaster with onnxruntime and numpy alone (no tsauto, no pandas).

    tsauto export out/retail/model.pkl --onnx model.onnx      # writes model.onnx(.json)
    python examples/score_onnx.py model.onnx history.csv [future.csv] > forecast.csv

``history.csv`` is a long table with a ``series_id`` column, the time column and the target
(names as in the sidecar): each series' recent values, at least ``history_length`` of them where
the model's learners need a full history; for exponential smoothing (a history input of free
width) each series' whole history, from its first value.  A missing period (a row absent, or an
empty value) is filled as ``forecast(data=...)`` fills it: interpolated linearly inside a
series, the last value carried forward at its end.  ``future.csv`` holds the known covariates of the
forecast periods (``series_id``, time, one column per covariate) when the model uses them.
Prints ``series_id,step,forecast,q...`` as CSV.  docs/onnx.md describes the inputs.
"""

from __future__ import annotations

import csv
import json
import sys
from datetime import datetime, timezone

import numpy as np
import onnxruntime as ort


def read_rows(path: str) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.strip()).replace(tzinfo=None)


def origin_of(last: datetime, unit: str) -> int:
    """The ``origin`` input: the period of a series' last value in the sidecar's unit."""
    if unit == "months since 1970-01":
        return (last.year - 1970) * 12 + last.month - 1
    if unit == "business days since 1970-01-05":  # a weekend day is the Friday before it
        day = np.datetime64(last.date(), "D")
        return int(np.busday_count(np.datetime64("1970-01-05"), day + 1)) - 1
    return int(last.replace(tzinfo=timezone.utc).timestamp())  # seconds since 1970-01-01T00:00


def on_grid(sid: str, rows: list[tuple[datetime, float]], grid: dict | None) -> np.ndarray:
    """One series' values at consecutive periods, oldest first: each row at its period of the
    sidecar's ``grid`` (a period without a row is NaN), then the gaps filled as tsauto's
    ``forecast(data=...)`` fills them (interpolated inside, the last value carried forward at
    the end).  Two rows in one period (a Saturday beside its Friday on business days) are an
    error, as in ``forecast(data=...)``."""
    if grid is None:  # steps below a second: the rows' order is the grid
        values = np.array([v for _, v in rows])
    else:
        period = np.array([(origin_of(t, grid["unit"]) - grid["first"]) // grid["step"]
                           for t, _ in rows])
        again = np.flatnonzero(np.diff(period) == 0)  # rows are sorted by time
        if len(again):
            first, second = rows[again[0]][0], rows[again[0] + 1][0]
            sys.exit(f"series {sid!r}: {first} and {second} are in one period of the model's "
                     f"grid; give one row per period")
        values = np.full(period.max() - period.min() + 1, np.nan)
        values[period - period.min()] = [v for _, v in rows]
    known = np.flatnonzero(~np.isnan(values))
    if len(known) == 0:  # no value at all: the graph forecasts NaN
        return values
    values = values[known[0]:]  # nothing to fill leading gaps from
    known -= known[0]
    return np.interp(np.arange(len(values)), known, values[known])


def main(model_path: str, history_path: str, future_path: str | None = None) -> None:
    with open(model_path + ".json") as f:
        sidecar = json.load(f)
    time_col, target = sidecar["time_column"], sidecar["target_column"]
    length, horizon = sidecar["history_length"], sidecar["horizon"]

    by_series: dict[str, list[tuple[datetime, float]]] = {}
    for row in read_rows(history_path):
        value = float(row[target]) if row[target] != "" else np.nan
        by_series.setdefault(row["series_id"], []).append((parse_time(row[time_col]), value))
    ids = list(by_series)
    series = {sid: on_grid(sid, sorted(rows), sidecar["grid"])
              for sid, rows in by_series.items()}
    # a history of free width (exponential smoothing): each series' whole history
    if isinstance(sidecar["inputs"][0]["shape"][1], str):
        length = max(length, *(len(v) for v in series.values()))
    history = np.full((len(ids), length), np.nan)  # right-aligned, NaN-padded on the left
    for i, sid in enumerate(ids):
        values = series[sid][-length:]
        history[i, length - len(values):] = values

    feeds = {"history": history}
    names = {i["name"] for i in sidecar["inputs"]}
    if "series_index" in names:
        known = {sid: k for k, sid in enumerate(sidecar["series_ids"])}
        unknown = [sid for sid in ids if sid not in known]
        if unknown:
            sys.exit(f"series {unknown[:5]} were not in the model's training data")
        feeds["series_index"] = np.array([known[sid] for sid in ids], dtype=np.int64)
    if "origin" in names:
        feeds["origin"] = np.array([origin_of(max(t for t, _ in by_series[sid]),
                                              sidecar["origin_unit"]) for sid in ids],
                                   dtype=np.int64)
    if "covariates" in names:
        if future_path is None:
            sys.exit(f"this model needs future values of {sidecar['known_covariates']}: pass "
                     f"future.csv")
        cols = sidecar["known_covariates"]
        future: dict[str, list] = {}
        for row in read_rows(future_path):
            future.setdefault(row["series_id"], []).append(
                (parse_time(row[time_col]), [float(row[c]) if row[c] != "" else np.nan
                                             for c in cols]))
        feeds["covariates"] = np.array([[v for _, v in sorted(future[sid])[:horizon]]
                                        for sid in ids], dtype=np.float64)

    options = ort.SessionOptions()
    for name, value in sidecar.get("session_options", {}).items():  # the exporter's advice
        setattr(options, name, value)
    session = ort.InferenceSession(model_path, options, providers=["CPUExecutionProvider"])
    outputs = dict(zip([o.name for o in session.get_outputs()], session.run(None, feeds)))
    quantiles = sidecar["quantiles"] if "quantiles" in outputs else []
    out = csv.writer(sys.stdout)
    out.writerow(["series_id", "step", "forecast", *[f"q{q:g}" for q in quantiles]])
    for i, sid in enumerate(ids):
        for h in range(horizon):
            qs = [repr(float(outputs["quantiles"][i, h, j])) for j in range(len(quantiles))]
            out.writerow([sid, h + 1, repr(float(outputs["forecast"][i, h])), *qs])


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    main(*sys.argv[1:])
