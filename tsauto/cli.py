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

from tsauto.errors import SettingsError, TsautoError, preview

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


def _task_of(data: str, task: str | None) -> str:
    """The task asked for, else a bundled data set's own, else forecasting."""
    from tsauto import datasets
    from tsauto.evaluation.metrics import TASKS

    if task is not None:
        if task not in TASKS:
            raise SettingsError(f"--task {task!r} is not valid; use one of {', '.join(TASKS)}.")
        return task
    if not Path(data).exists() and data in datasets.names():
        return datasets.roles(data).get("task", "forecasting")
    return "forecasting"


def _read(data: str):
    """The frame of a file or a bundled data set, and the bundled set's roles ({} for a file)."""
    from tsauto import datasets
    from tsauto.data.dataset import read_table

    path = Path(data)
    if not path.exists() and data in datasets.names():
        return datasets.load_frame(data), datasets.roles(data)
    if not path.exists():
        raise SettingsError(f"DATA '{data}' is neither a file nor a bundled dataset (bundled: "
                            f"{', '.join(datasets.names())}).")
    return read_table(path), {}


def _roles(data: str, time: str | None, target: str | None, grain: list[str] | None,
           known: list[str] | None, past: list[str] | None, static: list[str] | None,
           freq: str | None, aggregation: str | None, date_format: str | None = None):
    """The frame and its column roles: from a bundled dataset's defaults or the options."""
    frame, roles = _read(data)
    roles.pop("task", None)
    given = {"time_column": time, "target_column": target, "grain_columns": grain,
             "known_covariates": known, "past_covariates": past, "static_features": static,
             "freq": freq, "target_aggregation": aggregation, "date_format": date_format}
    roles.update({k: v for k, v in given.items() if v})
    for option, key in (("--time", "time_column"), ("--target", "target_column")):
        if not roles.get(key):
            raise SettingsError(f"{option} is required for a data file: name the {key.replace('_', ' ')}"
                              f" (columns: {', '.join(map(str, frame.columns[:20]))}).")
    return frame, roles


def _bundled(data: str) -> dict:
    """A bundled data set's facts and defaults (horizon, country...); {} for a file."""
    from tsauto import datasets

    return datasets.info(data) if data in datasets.names() and not Path(data).exists() else {}


def _count(text: str, option: str, valid: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise SettingsError(f"{option} {text!r} is not valid; use {valid}.")
    return value


def _tabular_roles(data: str, target: str | None):
    """The frame and target column of a classification or regression table."""
    frame, roles = _read(data)
    target = target or roles.get("target_column")
    if not target:
        raise SettingsError(f"--target is required for a data file: name the column to predict "
                            f"(columns: {', '.join(map(str, frame.columns[:20]))}).")
    return frame, target


# Column-role options shared by inspect and fit.
DataArg = Annotated[str, typer.Argument(help="CSV/TSV/Parquet/JSON file or bundled dataset name.")]
TimeOpt = Annotated[Optional[str], typer.Option("--time", help="Time column.")]
TargetOpt = Annotated[Optional[str], typer.Option("--target", help="Target column.")]
GrainOpt = Annotated[Optional[list[str]], typer.Option("--grain", help="Series id column(s).")]
KnownOpt = Annotated[Optional[list[str]], typer.Option("--known", help="Known-future covariate(s).")]
PastOpt = Annotated[Optional[list[str]], typer.Option("--past", help="Past-only covariate(s).")]
StaticOpt = Annotated[Optional[list[str]], typer.Option("--static", help="Static feature(s).")]
FreqOpt = Annotated[Optional[str], typer.Option(help="Frequency, inferred when omitted.")]
AggregationOpt = Annotated[Optional[str], typer.Option(help="sum|mean|min|max for duplicate times.")]
DateFormatOpt = Annotated[Optional[str], typer.Option(
    "--date-format", help="strftime format of text times, e.g. '%d/%m/%Y' (default: inferred).")]
FilledShareOpt = Annotated[float, typer.Option(
    "--max-filled-share", help="Largest share of target rows the guardrails may fill in.")]
TaskOpt = Annotated[Optional[str], typer.Option(
    "--task", help="forecasting|classification|regression (default: the bundled set's, else "
                   "forecasting).")]
_OUT_HELP = ("File to write, format by extension: .csv, .parquet or .json; '-' writes CSV to "
             "standard output. Missing folders are created.")


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
    date_format: DateFormatOpt = None,
    max_filled_share: FilledShareOpt = 0.1,
    horizon: Annotated[Optional[int], typer.Option(
        help="Forecast horizon (default: a bundled set's own, else one season).")] = None,
    cv: Annotated[str, typer.Option("--cv", help="Cross-validation windows: a number, or auto "
                                                 "(as fit: 3, fewer if the series are short).")
                  ] = "auto",
    short_series: Annotated[str, typer.Option(help="auto|pad|drop|fail.")] = "auto",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for machines.")] = False,
    task: TaskOpt = None,
) -> None:
    """Load DATA, print the dataset summary and the guardrail report: the same checks, windows
    and short-series rules as fit."""
    from tsauto.data import TimeSeriesDataset, run_guardrails

    task = _task_of(data, task)
    if task != "forecasting":
        return _inspect_table(data, target, task, as_json)
    windows = cv if cv == "auto" else _count(cv, "--cv", "a positive number of windows or auto")
    with progress("Reading data"):
        frame, roles = _roles(data, time, target, grain, known, past, static, freq, aggregation,
                              date_format)
    with progress(f"Building the dataset ({len(frame):,} rows)"):
        dataset = TimeSeriesDataset(frame, **roles)
    with progress("Running guardrails"):
        if horizon is None:
            horizon = _bundled(data).get("horizon")
        fixed, report = run_guardrails(dataset, horizon=horizon, n_cross_validations=windows,
                                       short_series_handling=short_series,
                                       max_filled_share=max_filled_share)
    _print_inspection(data, dataset.summary(), report, as_json,
                      {"after_guardrails": fixed.summary()}, "series")
    if not as_json:
        out.print(f"After guardrails: {fixed.n_series} series, {len(fixed):,} rows.")


def _inspect_table(data: str, target: str | None, task: str, as_json: bool) -> None:
    from tsauto.data.tabular import TabularDataset
    from tsauto.data.tabular_guardrails import run_tabular_guardrails

    with progress("Reading data"):
        frame, target = _tabular_roles(data, target)
        dataset = TabularDataset(frame, target, task)
    with progress("Running guardrails"):
        report = run_tabular_guardrails(dataset)
    _print_inspection(data, dataset.summary(), report, as_json, {}, "columns")


def _print_inspection(data: str, summary: dict, report, as_json: bool, extra: dict,
                      about: str) -> None:
    import json

    if as_json:
        out.print_json(json.dumps({"summary": summary, **extra, "guardrails": report.to_dict()},
                                  default=str))
        return
    table = Table(title=f"Dataset: {data}", show_header=False)
    for key, value in summary.items():
        table.add_row(key, Text(str(value)))
    out.print(table)
    checks = Table(title="Guardrails")
    for column in ("check", "status", about, "rows", "message"):
        checks.add_column(column)
    for r in report.results:
        style = _STATUS_STYLE[r.status]
        text = Text(r.message)
        if r.fix and r.fix != r.message:
            text.append(f"\nfix: {r.fix}", style="dim")
        checks.add_row(r.check, Text(r.status, style=style), str(len(getattr(r, about))),
                       str(r.rows), text)
    out.print(checks)


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
    date_format: DateFormatOpt = None,
    max_filled_share: FilledShareOpt = 0.1,
    budget: Annotated[str, typer.Option(help="Time budget, e.g. 90s, 10m, 1h.")] = "5m",
    metric: Annotated[Optional[str], typer.Option(
        help="Primary metric (default: mase; accuracy for classification, rmse for "
             "regression).")] = None,
    country: Annotated[Optional[str], typer.Option(help="Holiday country, e.g. US.")] = None,
    max_trials: Annotated[Optional[int], typer.Option(help="Most trials.")] = None,
    models: Annotated[Optional[list[str]], typer.Option("--model", help="Allowed learner(s).")] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    task: TaskOpt = None,
    validation_data: Annotated[Optional[Path], typer.Option(
        "--validation-data", help="Classification/regression: your own validation rows.")] = None,
    drop: Annotated[Optional[list[str]], typer.Option(
        "--drop", help="Classification/regression: column(s) never used as features.")] = None,
) -> None:
    """Search for the best model within a budget; write model, leaderboard and reports.

    Forecasting by default; --task classification|regression learns from a plain table."""
    from tsauto.data.io import check_output_dir, read_table

    check_output_dir(out_dir)  # before the heavy imports, the data and the search
    from tsauto.automl import AutoML
    from tsauto.settings import SETTINGS, ForecastSettings

    task = _task_of(data, task)
    chosen = {"time_budget": _budget(budget), "max_trials": max_trials,
              "allowed_models": models or None, "seed": seed,
              **({"primary_metric": metric} if metric else {})}
    if task != "forecasting":
        frame, target = _tabular_roles(data, target)
        settings = SETTINGS[task](target_column=target, drop_columns=drop or [], **chosen)
        valid = read_table(validation_data, "--validation-data file") if validation_data else None
        _write_outputs(AutoML(settings).fit(frame, output_dir=out_dir, validation_data=valid),
                       out_dir)
        return
    frame, roles = _roles(data, time, target, grain, known, past, static, freq, aggregation,
                          date_format)
    defaults = _bundled(data)
    horizon = horizon or defaults.get("horizon")
    if not horizon:
        raise SettingsError("--horizon is required: the number of periods to forecast.")
    settings = ForecastSettings(
        **roles, horizon=horizon, max_filled_share=max_filled_share,
        country_or_region=country or defaults.get("country"),
        subdivision=defaults.get("subdivision") if not country else None, **chosen)
    _write_outputs(AutoML(settings).fit(frame, output_dir=out_dir), out_dir)


def _write_outputs(run, out_dir: Path) -> None:
    """Print what the run wrote: its own experiment folder, and whether the top of ``out_dir``
    holds copies of it (the latest experiment) or of a later one."""
    if run.best_model is None:
        raise TsautoError(f"no trial completed; see the leaderboard for the errors "
                          f"({run.outputs}/leaderboard.csv).")
    _print_board(run.leaderboard().head(10), run.settings.primary_metric)
    files = "model.pkl, leaderboard.csv/json, guardrails.json, settings.json"
    # The top of out_dir shows the latest experiment; a later fit into it may replace it.
    if run.published == run.experiment:
        where = f"copied to {out_dir}/ as the latest experiment for now ({out_dir}/latest.json)"
    else:
        where = (f"{out_dir}/ keeps showing experiment {run.published}, a later one "
                 f"({out_dir}/latest.json)")
    out.print(f"Best: {run.best_model.description}. Experiment {run.experiment} written to "
              f"{run.outputs}/ ({files}); {where}.")


@app.command()
def resume(folder: Annotated[Path, typer.Argument(help="The --out folder of an interrupted fit.")]
           ) -> None:
    """Continue an interrupted experiment: recorded trials are replayed, not redone; a completed
    experiment gives back its stored model."""
    from tsauto.automl import AutoML

    _write_outputs(AutoML.resume(folder), folder)


@app.command()
def cancel(
    folder: Annotated[Path, typer.Argument(help="The --out folder of a running fit.")],
    trial: Annotated[Optional[int], typer.Option(help="Cancel only this running trial.")] = None,
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


@app.command()
def report(
    folder: Annotated[Path, typer.Argument(help="The --out folder of tsauto fit.")],
    out_file: Annotated[Path, typer.Option("--out", help="HTML file to write.")] = Path(
        "report.html"),
    experiment: Annotated[Optional[int], typer.Option(help="Experiment id (default: latest).")] = None,
    max_series: Annotated[int, typer.Option(help="Series plotted in the backtest.")] = 12,
) -> None:
    """Write one self-contained HTML report of a stored experiment (opens offline)."""
    from tsauto.automl import AutoML

    _require_store(folder)
    with progress("Writing the report"):
        path = AutoML.load(folder, experiment).report(out_file, max_series=max_series)
    out.print(f"Report written to {path} ({path.stat().st_size / 1e6:.1f} MB).")


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
    out_file: Annotated[Path, typer.Option("--out", help=_OUT_HELP)],
    horizon: Annotated[Optional[int], typer.Option(help="Periods (default: the model's).")] = None,
    future: Annotated[Optional[Path], typer.Option(help="Future known covariates file.")] = None,
    data: Annotated[Optional[Path], typer.Option(
        "--data", help="Recent history (CSV/Parquet, the training columns) to forecast from "
                       "instead of the training data, without refitting.")] = None,
    level: Annotated[Optional[list[float]], typer.Option(
        "--level", help="Interval level(s), e.g. --level 80 --level 95 (learners that can).")
    ] = None,
) -> None:
    """Forecast with a saved model."""
    from tsauto.data.io import check_output_file, read_table
    from tsauto.model import ForecastModel, load_model

    check_output_file(out_file)  # before the model is loaded and run
    model = load_model(model_path)
    if not isinstance(model, ForecastModel):
        raise SettingsError(f"'{model_path}' is a {model.task} model: use 'tsauto predict'.")
    frame = model.forecast(horizon=horizon,
                           future=read_table(future, "--future file") if future else None,
                           data=read_table(data, "--data file") if data else None,
                           level=level or None)
    _write_frame(frame, out_file, "forecast rows")
    notes = _notes(out_file)
    unseen = frame.attrs.get("unseen_series", [])
    if unseen:
        notes.print(f"{len(unseen)} series not seen at training: {preview(unseen)}.")
    fallbacks = frame.attrs.get("fallbacks", {})
    if fallbacks:
        notes.print(f"{len(fallbacks)} series forecast by a fallback: {preview(list(fallbacks))}.")


@app.command()
def predict(
    model_path: Annotated[Path, typer.Argument(help="A model.pkl of a classification or "
                                                    "regression fit.")],
    data: Annotated[Path, typer.Argument(help="CSV/TSV/Parquet/JSON file of rows to "
                                                "predict.")],
    out_file: Annotated[Path, typer.Option("--out", help=_OUT_HELP)],
    proba: Annotated[bool, typer.Option("--proba", help="Add one probability column per "
                                                        "class.")] = False,
) -> None:
    """Predict rows with a saved classification or regression model."""
    from tsauto.data.io import check_output_file, read_table
    from tsauto.model import TabularModel, load_model

    check_output_file(out_file)  # before the model is loaded and run
    model = load_model(model_path)
    if not isinstance(model, TabularModel):
        raise SettingsError(f"'{model_path}' is a forecasting model: use 'tsauto forecast'.")
    frame = read_table(data)
    result = frame.copy()
    result["prediction"] = model.predict(frame)
    if proba:
        probabilities = model.predict_proba(frame)
        for label in probabilities.columns:
            result[f"proba_{label}"] = probabilities[label].to_numpy()
    _write_frame(result, out_file, "predictions")


def _notes(path: Path) -> Console:
    """Where notes go: stdout, or stderr when the table itself is written to stdout ('-')."""
    from tsauto.data.io import STDOUT

    return err if str(path) == STDOUT else out


def _write_frame(frame, path: Path, rows: str) -> None:
    from tsauto.data.io import write_table

    write_table(frame, path)
    _notes(path).print(f"{len(frame):,} {rows} written to "
                       f"{'standard output' if str(path) == '-' else path}.")


@app.command()
def leaderboard(folder: Annotated[Path, typer.Argument(help="An output folder of tsauto fit.")]) -> None:
    """Print the leaderboard of a finished experiment."""
    from tsauto.data.io import read_table
    from tsauto.settings import settings_from_json

    for name in ("leaderboard.csv", "settings.json"):
        if not (folder / name).is_file():
            raise SettingsError(f"'{folder / name}' does not exist: pass the --out folder of "
                                f"'tsauto fit'.")
    board = read_table(folder / "leaderboard.csv", "leaderboard").fillna({"error": ""})
    settings = settings_from_json((folder / "settings.json").read_text())
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
    for column in ("name", "task", "frequency", "description"):
        table.add_column(column)
    for name in bundled.names():
        info = bundled.info(name)
        table.add_row(name, info["task"], Text(str(info.get("frequency", ""))),
                      Text(str(info.get("description", ""))))
    out.print(table)


@app.command()
def serve(
    model_path: Annotated[Path, typer.Argument(help="A model.pkl written by tsauto fit.")],
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes (each loads the model).")] = 1,
    token_file: Annotated[Optional[Path], typer.Option(
        "--token-file", help="File holding the bearer token (else the TSAUTO_TOKEN "
                             "environment variable).")] = None,
    no_auth: Annotated[bool, typer.Option(
        "--no-auth", help="No token: allowed on a loopback host only.")] = False,
    max_body_bytes: Annotated[int, typer.Option(help="Largest request body.")] = 10 * 1024 * 1024,
    max_rows: Annotated[int, typer.Option(help="Most rows per request.")] = 200_000,
    max_series: Annotated[int, typer.Option(help="Most series per request.")] = 10_000,
    max_horizon: Annotated[int, typer.Option(help="Longest horizon per request.")] = 1_000,
    timeout: Annotated[float, typer.Option(help="Seconds a request may compute.")] = 30.0,
    threads: Annotated[int, typer.Option(help="Requests computed at once per worker.")] = 4,
) -> None:
    """Serve a saved model over HTTP (FastAPI): /health, /model, /forecast, /predict, /docs."""
    from tsauto.serve.server import serve as run_service

    run_service(model_path, host=host, port=port, workers=workers, token_file=token_file,
                no_auth=no_auth, max_body_bytes=max_body_bytes, max_rows=max_rows,
                max_series=max_series, max_horizon=max_horizon, timeout_s=timeout,
                threads=threads)


def main() -> None:
    # Typer handles usage errors itself (exit 2); our own errors become one line, no traceback.
    try:
        app()
    except TsautoError as exc:
        err.print(Text("error: ", style="bold red") + Text(str(exc)), highlight=False)
        sys.exit(2)


if __name__ == "__main__":
    main()
