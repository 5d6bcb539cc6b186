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
err = Console(stderr=True, soft_wrap=True)

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


# Column-role options shared by inspect and fit.
DataArg = Annotated[str, typer.Argument(help="CSV/Parquet file or bundled dataset name.")]
TimeOpt = Annotated[Optional[str], typer.Option("--time", help="Time column.")]
TargetOpt = Annotated[Optional[str], typer.Option("--target", help="Target column.")]
GrainOpt = Annotated[Optional[list[str]], typer.Option("--grain", help="Series id column(s).")]
KnownOpt = Annotated[Optional[list[str]], typer.Option("--known", help="Known-future covariate(s).")]
PastOpt = Annotated[Optional[list[str]], typer.Option("--past", help="Past-only covariate(s).")]
StaticOpt = Annotated[Optional[list[str]], typer.Option("--static", help="Static feature(s).")]
FreqOpt = Annotated[Optional[str], typer.Option(help="Frequency, inferred when omitted.")]
AggregationOpt = Annotated[Optional[str], typer.Option(help="sum|mean|min|max for duplicate times.")]


@app.command()
def inspect(
    data: DataArg,
    time: TimeOpt = None,
    target: TargetOpt = None,
    grain: GrainOpt = None,
    known: KnownOpt = None,
    past: PastOpt = None,
    static: StaticOpt = None,
    freq: FreqOpt = None,
    aggregation: AggregationOpt = None,
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
def fit(
    data: DataArg,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the model and reports.")],
    time: TimeOpt = None,
    target: TargetOpt = None,
    horizon: Annotated[Optional[int], typer.Option(help="Periods to forecast.")] = None,
    grain: GrainOpt = None,
    known: KnownOpt = None,
    past: PastOpt = None,
    static: StaticOpt = None,
    freq: FreqOpt = None,
    aggregation: AggregationOpt = None,
    budget: Annotated[str, typer.Option(help="Time budget, e.g. 90s, 10m, 1h.")] = "5m",
    metric: Annotated[str, typer.Option(help="Primary metric.")] = "mase",
    country: Annotated[Optional[str], typer.Option(help="Holiday country, e.g. US.")] = None,
    max_trials: Annotated[Optional[int], typer.Option(help="Most trials.")] = None,
    models: Annotated[Optional[list[str]], typer.Option("--model", help="Allowed learner(s).")] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
) -> None:
    """Search for the best forecaster within a budget; write model, leaderboard and reports."""
    from tsauto import datasets as bundled
    from tsauto.automl import AutoML
    from tsauto.settings import ForecastSettings

    frame, roles = _roles(data, time, target, grain, known, past, static, freq, aggregation)
    defaults = bundled.info(data) if data in bundled.names() and not Path(data).exists() else {}
    horizon = horizon or defaults.get("horizon")
    if not horizon:
        raise SettingsError("--horizon is required: the number of periods to forecast.")
    settings = ForecastSettings(
        **roles, horizon=horizon, time_budget=_budget(budget), primary_metric=metric,
        country_or_region=country or defaults.get("country"),
        subdivision=defaults.get("subdivision") if not country else None,
        max_trials=max_trials, allowed_models=models or None, seed=seed)
    _write_outputs(AutoML(settings).fit(frame, output_dir=out_dir), out_dir)


def _write_outputs(run, out_dir: Path) -> None:
    import json

    if run.best_model is None:
        raise TsautoError("no trial completed; see the leaderboard for the errors.")
    settings = run.settings
    run.best_model.save(out_dir / "model.pkl")
    board = run.leaderboard()
    board.to_csv(out_dir / "leaderboard.csv", index=False)
    board.to_json(out_dir / "leaderboard.json", orient="records", indent=1)
    (out_dir / "guardrails.json").write_text(run.guardrails.to_json(indent=1))
    (out_dir / "settings.json").write_text(settings.model_dump_json(indent=1))
    featurization = getattr(run.best_model.learner, "featurization_summary", None)
    if callable(featurization):  # pivoted learners report what they did to every column
        summary = featurization()
        text = (summary.to_json(orient="records", indent=1, default_handler=str)
                if hasattr(summary, "to_json") else json.dumps(summary, default=str, indent=1))
        (out_dir / "featurization.json").write_text(text)
    _print_board(board.head(10), settings.primary_metric)
    out.print(f"Best: {run.best_model.description}. Written to {out_dir}/ (model.pkl, "
              f"leaderboard.csv/json, guardrails.json, settings.json).")


@app.command()
def resume(folder: Annotated[Path, typer.Argument(help="The --out folder of an interrupted fit.")]
           ) -> None:
    """Continue an interrupted experiment without redoing finished trials."""
    from tsauto.automl import AutoML

    _write_outputs(AutoML.resume(folder), folder)


@app.command()
def cancel(
    folder: Annotated[Path, typer.Argument(help="The --out folder of a running fit.")],
    trial: Annotated[Optional[int], typer.Option(help="Cancel only this trial.")] = None,
) -> None:
    """Stop a running experiment (from another shell), or one of its trials."""
    from tsauto.automl import AutoML

    _require_store(folder)
    AutoML.cancel(folder, trial=trial)
    out.print("Cancel requested" + (f" for trial {trial}." if trial is not None else
                                    "; the experiment stops and keeps its best model."))


runs_app = typer.Typer(no_args_is_help=True, help="Experiments stored in an output folder.")
app.add_typer(runs_app, name="runs")


@runs_app.command("list")
def runs_list(folder: Annotated[Path, typer.Argument(help="An output folder of tsauto fit.")]) -> None:
    """One line per experiment."""
    from tsauto.runs import RunStore

    _require_store(folder)
    _print_frame(RunStore(folder).experiments(), "Experiments")


@runs_app.command("show")
def runs_show(
    folder: Annotated[Path, typer.Argument(help="An output folder of tsauto fit.")],
    experiment: Annotated[Optional[int], typer.Option(help="Experiment id (default: latest).")] = None,
) -> None:
    """Every trial (child run) of an experiment."""
    from tsauto.runs import RunStore

    _require_store(folder)
    store = RunStore(folder)
    row = store.experiment(experiment)
    trials = store.trials(int(row["id"]))
    columns = [c for c in ["trial_id", "learner", "status", "duration", "params", "error"]
               if c in trials.columns]
    out.print(f"Experiment {row['id']} ({row['name']}): {row['status']}, "
              f"{row['elapsed']:.1f}s, {row['stopped_because'] or ''}")
    _print_frame(trials[columns].fillna(""), "Trials")


def _require_store(folder: Path) -> None:
    from tsauto.runs.store import DB_NAME

    if not (folder / DB_NAME).exists():
        raise SettingsError(f"'{folder}' holds no experiment database ({DB_NAME}); pass the --out "
                            f"folder of 'tsauto fit'.")


def _print_frame(frame, title: str) -> None:
    table = Table(title=title)
    for column in frame.columns:
        table.add_column(str(column))
    for _, row in frame.iterrows():
        table.add_row(*[Text(str(v)) for v in row])
    out.print(table)


@app.command()
def forecast(
    model_path: Annotated[Path, typer.Argument(help="A model.pkl written by tsauto fit.")],
    out_file: Annotated[Path, typer.Option("--out", help="CSV or Parquet file to write.")],
    horizon: Annotated[Optional[int], typer.Option(help="Periods (default: the model's).")] = None,
    future: Annotated[Optional[Path], typer.Option(help="Future known covariates file.")] = None,
) -> None:
    """Forecast with a saved model."""
    from tsauto.data.dataset import read_table
    from tsauto.model import load_model

    model = load_model(model_path)
    frame = model.forecast(horizon=horizon, future=read_table(future) if future else None)
    if out_file.suffix.lower() in (".parquet", ".pq"):
        frame.to_parquet(out_file, index=False)
    else:
        frame.to_csv(out_file, index=False)
    out.print(f"{len(frame):,} forecast rows written to {out_file}.")


@app.command()
def leaderboard(folder: Annotated[Path, typer.Argument(help="An output folder of tsauto fit.")]) -> None:
    """Print the leaderboard of a finished experiment."""
    import pandas as pd

    path = folder / "leaderboard.csv"
    if not path.exists():
        raise SettingsError(f"'{path}' does not exist: pass the --out folder of 'tsauto fit'.")
    from tsauto.settings import ForecastSettings

    board = pd.read_csv(path).fillna({"error": ""})
    settings = ForecastSettings.model_validate_json((folder / "settings.json").read_text())
    _print_board(board, settings.primary_metric)


def _budget(text: str) -> float:
    from tsauto.settings import parse_duration

    try:
        return parse_duration(text.replace("m", "min") if text.endswith("m") else text, "budget")
    except ValueError as exc:
        raise SettingsError(f"--budget: {exc}.") from None


def _print_board(board, metric: str) -> None:
    table = Table(title="Leaderboard")
    columns = [c for c in ["trial", "learner", "status", metric, "smape", "seconds", "params",
                           "error"] if c in board.columns]
    for column in columns:
        table.add_column(column)
    for _, row in board.iterrows():
        table.add_row(*[Text(f"{row[c]:.4f}" if isinstance(row[c], float) and c not in
                             ("seconds",) else str(row[c])) for c in columns])
    out.print(table)


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
