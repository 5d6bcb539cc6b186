"""Report benchmark: time and file size of the HTML reports for 1,000 series.

    .venv/bin/python benchmarks/report_benchmark.py [--series 1000]

Real monthly series (120-month windows of aus_retail, as in the AutoML scale benchmark) are
fitted once with a small search (seasonal naive, AutoTheta, LightGBM; 3 trials, 2 validation
windows) into an output folder; then timed: reading the run back from the store
(``AutoML.load``), writing its report (``run.report``), and backtesting the best model at two
cutoffs and writing that report (``backtest.to_html``).  Writes benchmarks/results/report.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from automl_benchmark import retail_windows  # noqa: E402

import tsauto  # noqa: E402
from tsauto import AutoML, ForecastSettings  # noqa: E402


def timed(func):
    start = time.perf_counter()
    value = func()
    return value, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=1000)
    parser.add_argument("--out", default="benchmarks/results/report.md")
    parser.add_argument("--run-dir", help="Keep the fitted run here (reused when it exists).")
    args = parser.parse_args()
    data = retail_windows(args.series, 120)
    settings = ForecastSettings(time_column="ds", target_column="y", grain_columns="unique_id",
                                horizon=12, n_cross_validations=2, max_trials=3,
                                time_budget=900, verbosity=0,
                                allowed_models=["seasonal_naive", "auto_theta", "lightgbm"])
    rows = []
    with tempfile.TemporaryDirectory(prefix="tsauto-report-") as tmp:
        folder = Path(args.run_dir or Path(tmp) / "run")
        fit_seconds = float("nan")
        if not (folder / "experiments.sqlite").exists():
            _, fit_seconds = timed(lambda: AutoML(settings).fit(data, output_dir=folder))
        run, load_seconds = timed(lambda: AutoML.load(folder))
        path, report_seconds = timed(lambda: run.report(Path(tmp) / "run.html"))
        rows.append(("run.report (run read back by AutoML.load)",
                     f"{load_seconds:.1f} + {report_seconds:.1f}", path.stat().st_size))
        bt, backtest_seconds = timed(lambda: run.best_model.backtest(data, n_windows=2))
        path, html_seconds = timed(lambda: bt.to_html(Path(tmp) / "backtest.html"))
        rows.append(("model.backtest(n_windows=2).to_html (backtest not timed here)",
                     f"{html_seconds:.1f}", path.stat().st_size))
        best = run.best_model.description
    command = "python " + " ".join(["benchmarks/report_benchmark.py", *sys.argv[1:]])
    lines = ["# Report benchmark", "", f"- date: {dt.date.today()}", f"- command: `{command}`",
             f"- data: {args.series:,} monthly series x 120 points (windows of aus_retail), "
             f"{len(data):,} rows; horizon 12", f"- fit (not part of the figures): 3 trials, "
             f"2 validation windows, "
             f"{'a kept run' if fit_seconds != fit_seconds else f'{fit_seconds:.0f} s'}; best: "
             f"{best}",
             f"- backtest of the best model at 2 cutoffs (refits, not part of the figures): "
             f"{backtest_seconds:.0f} s",
             f"- versions: tsauto {tsauto.__version__}, "
             f"matplotlib {metadata.version('matplotlib')}, pandas {pd.__version__}, Python {platform.python_version()}; 2-core machine "
             f"shared with other work", "",
             "| report | seconds | size |", "|---|---|---|"]
    lines += [f"| {name} | {seconds} | {size / 1e6:.2f} MB |" for name, seconds, size in rows]
    text = "\n".join(lines) + "\n"
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
