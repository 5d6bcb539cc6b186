"""The ``tsauto`` command line.

Every command prints tsauto errors as one clear line on stderr and exits with status 2, never a
traceback; progress goes to stderr so that ``--json`` output on stdout stays machine-readable.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from tsauto.errors import SettingsError, TsautoError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="tsauto: forecasting-first AutoML.")
out = Console(soft_wrap=True)
err = Console(stderr=True)

_STATUS_STYLE = {"passed": "green", "fixed": "yellow", "alert": "magenta", "failed": "bold red"}


@contextmanager
def progress(message: str):
    """A spinner on stderr for long steps (shown only on a terminal)."""
    with err.status(message, spinner="dots"):
        yield


def _roles(data: str, time: str | None, target: str | None, grain: list[str] | None,
           known: list[str] | None, past: list[str] | None, static: list[str] | None,
           freq: str | None, aggregation: str | None):
    """The frame and its column roles: from a bundled dataset's defaults or the options."""
    from tsauto import datasets
    from tsauto.data.dataset import read_table

    path = Path(data)
    if not path.exists() and data in datasets.names():
        frame, roles = datasets.load_frame(data), datasets.roles(data)
    else:
        if not path.exists():
            raise SettingsError(f"DATA '{data}' is neither a file nor a bundled dataset (bundled: "
                              f"{', '.join(datasets.names())}).")
        frame, roles = read_table(path), {}
    given = {"time_column": time, "target_column": target, "grain_columns": grain,
             "known_covariates": known, "past_covariates": past, "static_features": static,
             "freq": freq, "target_aggregation": aggregation}
    roles.update({k: v for k, v in given.items() if v})
    for option, key in (("--time", "time_column"), ("--target", "target_column")):
        if not roles.get(key):
            raise SettingsError(f"{option} is required for a data file: name the {key.replace('_', ' ')}"
                              f" (columns: {', '.join(map(str, frame.columns[:20]))}).")
    return frame, roles


@app.command()
def inspect(
    data: Annotated[str, typer.Argument(help="CSV/Parquet file or bundled dataset name.")],
    time: Annotated[Optional[str], typer.Option("--time", help="Time column.")] = None,
    target: Annotated[Optional[str], typer.Option("--target", help="Target column.")] = None,
    grain: Annotated[Optional[list[str]], typer.Option("--grain", help="Series id column(s).")] = None,
    known: Annotated[Optional[list[str]], typer.Option("--known", help="Known-future covariate(s).")] = None,
    past: Annotated[Optional[list[str]], typer.Option("--past", help="Past-only covariate(s).")] = None,
    static: Annotated[Optional[list[str]], typer.Option("--static", help="Static feature(s).")] = None,
    freq: Annotated[Optional[str], typer.Option(help="Frequency, inferred when omitted.")] = None,
    aggregation: Annotated[Optional[str], typer.Option(help="sum|mean|min|max for duplicate times.")] = None,
    horizon: Annotated[Optional[int], typer.Option(help="Forecast horizon (default: one season).")] = None,
    cv: Annotated[int, typer.Option("--cv", help="Number of cross-validation windows.")] = 1,
    short_series: Annotated[str, typer.Option(help="auto|pad|drop|fail.")] = "auto",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for machines.")] = False,
) -> None:
    """Load DATA, print the dataset summary and the guardrail report."""
    import json

    from tsauto.data import TimeSeriesDataset, run_guardrails

    with progress("Reading data"):
        frame, roles = _roles(data, time, target, grain, known, past, static, freq, aggregation)
    with progress(f"Building the dataset ({len(frame):,} rows)"):
        dataset = TimeSeriesDataset(frame, **roles)
    with progress("Running guardrails"):
        fixed, report = run_guardrails(dataset, horizon=horizon, n_cross_validations=cv,
                                       short_series_handling=short_series)
    summary = dataset.summary()
    if as_json:
        out.print_json(json.dumps({"summary": summary, "after_guardrails": fixed.summary(),
                                   "guardrails": report.to_dict()}, default=str))
        return
    table = Table(title=f"Dataset: {data}", show_header=False)
    for key, value in summary.items():
        table.add_row(key, Text(str(value)))
    out.print(table)
    checks = Table(title="Guardrails")
    for column in ("check", "status", "series", "rows", "message"):
        checks.add_column(column)
    for r in report.results:
        style = _STATUS_STYLE[r.status]
        text = Text(r.message)
        if r.fix and r.fix != r.message:
            text.append(f"\nfix: {r.fix}", style="dim")
        checks.add_row(r.check, Text(r.status, style=style), str(len(r.series)), str(r.rows), text)
    out.print(checks)
    out.print(f"After guardrails: {fixed.n_series} series, {len(fixed):,} rows.")


@app.command()
def datasets() -> None:
    """List the bundled datasets."""
    from tsauto import datasets as bundled

    table = Table(title="Bundled datasets")
    for column in ("name", "frequency", "description"):
        table.add_column(column)
    for name in bundled.names():
        info = bundled.info(name)
        table.add_row(name, Text(str(info.get("frequency", ""))),
                      Text(str(info.get("description", ""))))
    out.print(table)


def main() -> None:
    # Typer handles usage errors itself (exit 2); our own errors become one line, no traceback.
    try:
        app()
    except TsautoError as exc:
        err.print(Text("error: ", style="bold red") + Text(str(exc)), highlight=False)
        sys.exit(2)


if __name__ == "__main__":
    main()
