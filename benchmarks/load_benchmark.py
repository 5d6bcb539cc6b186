"""Load benchmark: build, validate and regularise 10,000 series x 1,000 points.

    .venv/bin/python benchmarks/load_benchmark.py [--series 10000] [--length 1000]

Synthetic daily data with 1% of rows removed (gaps to fill) and 1% missing targets, read from
Parquet, built into a TimeSeriesDataset (parse, sort, infer frequency, regularise) and run
through the guardrails (interpolation included).  Writes benchmarks/results/load.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import tsauto
from tsauto import TimeSeriesDataset, run_guardrails
from tsauto.data import read_table


def synthetic(n_series: int, length: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    times = np.tile(pd.date_range("2020-01-01", periods=length, freq="D").to_numpy(), n_series)
    ids = np.repeat(np.char.add("item_", np.arange(n_series).astype(str)), length)
    y = rng.gamma(2.0, 10.0, n_series * length)
    frame = pd.DataFrame({"item": ids, "date": times, "sales": y})
    frame.loc[rng.random(len(frame)) < 0.01, "sales"] = np.nan
    keep = rng.random(len(frame)) >= 0.01
    keep[:: length] = True  # keep each series' first row so lengths stay comparable
    return frame[keep].sample(frac=1.0, random_state=seed)  # unsorted, as files often are


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--series", type=int, default=10_000)
    parser.add_argument("--length", type=int, default=1_000)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "load.md"))
    args = parser.parse_args()

    frame = synthetic(args.series, args.length)
    timings = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.parquet"
        frame.to_parquet(path)
        start = time.perf_counter()
        loaded = read_table(path)
        timings["read parquet"] = time.perf_counter() - start
    start = time.perf_counter()
    ds = TimeSeriesDataset(loaded, time_column="date", target_column="sales", grain_columns="item")
    timings["build dataset (parse, sort, infer freq, regularise)"] = time.perf_counter() - start
    start = time.perf_counter()
    ready, report = run_guardrails(ds, horizon=14, n_cross_validations=3)
    timings["guardrails (all checks + fixes)"] = time.perf_counter() - start
    timings["total"] = sum(timings.values())

    command = "python " + " ".join(["benchmarks/load_benchmark.py", *sys.argv[1:]])
    lines = [
        "# Load benchmark", "",
        f"- date: {dt.date.today()}", f"- command: `{command}`",
        f"- data: synthetic daily, {args.series:,} series x {args.length:,} points, 1% rows "
        f"removed, 1% targets missing, shuffled; {len(frame):,} input rows",
        f"- result: {ds.n_series:,} series, {len(ds):,} rows after regularising "
        f"({int(ds.summary()['filled_periods']):,} periods filled), "
        f"{report['missing_target'].rows:,} targets interpolated",
        f"- versions: tsauto {tsauto.__version__}, pandas {pd.__version__}, numpy {np.__version__}, "
        f"Python {platform.python_version()}, {platform.machine()}", "",
        "| step | seconds |", "|---|---|",
        *[f"| {k} | {v:.2f} |" for k, v in timings.items()], "",
    ]
    Path(args.out).write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
