"""Check a CSV before forecasting: frequency, gaps, duplicates, short series... and what
tsauto would fix.  Writes the guardrail report as JSON next to the data.

    .venv/bin/python examples/inspect_your_data.py sales.csv date sales store
"""

import sys
from pathlib import Path

from tsauto import TimeSeriesDataset, TsautoError, run_guardrails

USAGE = ("usage: python examples/inspect_your_data.py DATA.csv TIME_COLUMN TARGET_COLUMN "
         "[GRAIN_COLUMN ...]\n  e.g. python examples/inspect_your_data.py sales.csv date sales "
         "store")

if __name__ == "__main__":
    if len(sys.argv) < 4:
        sys.exit(USAGE)
    path, time_column, target_column, *grains = sys.argv[1:]
    try:
        dataset = TimeSeriesDataset.from_path(path, time_column=time_column,
                                              target_column=target_column, grain_columns=grains)
        ready, report = run_guardrails(dataset, horizon=dataset.season_length)
    except TsautoError as error:  # a clear message naming the column, series or row at fault
        sys.exit(f"error: {error}")
    print(dataset.summary())
    print(report)
    Path(path).with_suffix(".guardrails.json").write_text(report.to_json(indent=1))
