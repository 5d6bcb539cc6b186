"""The ``tsauto`` command line.

Every command prints tsauto errors as one clear line on stderr and exits with status 2, never a
traceback; progress goes to stderr so that ``--json`` output on stdout stays machine-readable.
Ctrl-C (SIGINT) or SIGTERM stops a command with one line (for a fit: how to resume it) and the
shell's status for the signal, 130 or 143.
"""

from __future__ import annotations

import os
import signal
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from tsauto.console import (RichReporter, experiments_frame, leaderboard_table,
                            read_settings_file, with_settings_options)
from tsauto.data.io import json_records
from tsauto.errors import NoModelError, SettingsError, TsautoError, check_int, preview

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


def _roles(data: str, given: dict):
    """The frame and its column roles: a bundled dataset's defaults, overridden by the
    settings given (options, --settings file)."""
    frame, roles = _read(data)
    roles.pop("task", None)
    keys = {"time_column", "target_column", "grain_columns", "known_covariates",
            "past_covariates", "static_features", "freq", "target_aggregation", "date_format"}
    roles.update({k: v for k, v in given.items() if k in keys})
    for option, key in (("--time-column (--time)", "time_column"),
                        ("--target-column (--target)", "target_column")):
        if not roles.get(key):
            raise SettingsError(f"{option} is required for a data file: name the {key.replace('_', ' ')}"
                              f" (columns: {', '.join(map(str, frame.columns[:20]))}).")
    return frame, roles


def _bundled(data: str) -> dict:
    """A bundled data set's facts and defaults (horizon, country...); {} for a file."""
    from tsauto import datasets

    return datasets.info(data) if data in datasets.names() and not Path(data).exists() else {}


def _tabular_roles(data: str, target: str | None):
    """The frame and target column of a classification or regression table."""
    frame, roles = _read(data)
    target = target or roles.get("target_column")
    if not target:
        raise SettingsError(f"--target-column (--target) is required for a data file: name the "
                            f"column to "
                            f"predict "
                            f"(columns: {', '.join(map(str, frame.columns[:20]))}).")
    return frame, target


DataArg = Annotated[str, typer.Argument(help="CSV/TSV/Parquet/JSON file or bundled dataset name.")]
TaskOpt = Annotated[Optional[str], typer.Option(
    "--task", help="forecasting|classification|regression (default: the bundled set's, else "
                   "forecasting).")]
# metavar "": a flag takes no value, and its help must not suggest one
JsonOpt = Annotated[bool, typer.Option("--json", metavar="",
                                       help="Print JSON on stdout, for machines.")]
_OUT_HELP = ("File to write, format by extension: .csv, .parquet or .json; '-' writes CSV to "
             "standard output. Missing folders are created.")
# The settings inspect applies: the data's roles and fit's guardrail rules.
INSPECT_SETTINGS = ["time_column", "target_column", "grain_columns", "known_covariates",
                    "past_covariates", "static_features", "freq", "target_aggregation",
                    "date_format", "max_filled_share", "horizon", "n_cross_validations",
                    "short_series_handling"]


def _typed(given: dict) -> dict:
    """Option values checked and typed as their settings (for commands that build no
    settings object); a wrong one names its option."""
    from pydantic import TypeAdapter, ValidationError

    from tsauto.settings import ForecastSettings

    typed = {}
    for name, value in given.items():
        field = ForecastSettings.model_fields[name]
        try:
            typed[name] = TypeAdapter(field.annotation).validate_python(value)
        except ValidationError as exc:
            raise SettingsError(f"--{name.replace('_', '-')} {value!r} is not valid: "
                                f"{exc.errors()[0]['msg']}.") from None
    if typed.get("horizon") is not None and typed["horizon"] < 1:
        raise SettingsError(f"horizon must be a positive integer, got {typed['horizon']}.")
    return typed


@app.command()
@with_settings_options(INSPECT_SETTINGS)
def inspect(data: DataArg, as_json: JsonOpt = False, task: TaskOpt = None, *,
            given: dict) -> None:
    """Load DATA, print the dataset summary and the guardrail report: the same checks, windows
    and short-series rules as fit."""
    from tsauto.data import TimeSeriesDataset, run_guardrails

    task = _task_of(data, task)
    if task != "forecasting":
        return _inspect_table(data, given.get("target_column"), task, as_json)
    given = _typed(given)
    with progress("Reading data"):
        frame, roles = _roles(data, given)
    with progress(f"Building the dataset ({len(frame):,} rows)"):
        dataset = TimeSeriesDataset(frame, **roles)
    with progress("Running guardrails"):
        horizon = given.get("horizon") or _bundled(data).get("horizon")
        fixed, report = run_guardrails(
            dataset, horizon=horizon,
            n_cross_validations=given.get("n_cross_validations", "auto"),
            short_series_handling=given.get("short_series_handling", "auto"),
            max_filled_share=given.get("max_filled_share", 0.1))
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
@with_settings_options()
def fit(
    data: DataArg,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the model and reports.")],
    settings_file: Annotated[Optional[Path], typer.Option(
        "--settings", help="JSON or TOML file of settings under the API's names (e.g. a "
                           "settings.json written by fit); options given here win.")] = None,
    task: TaskOpt = None,
    validation_data: Annotated[Optional[Path], typer.Option(
        "--validation-data", help="Classification/regression: your own validation rows.")] = None,
    as_json: JsonOpt = False,
    partition_by: Annotated[Optional[list[str]], typer.Option(
        "--partition-by", help="Many models: one AutoML per value of these columns (repeat the "
                               "option or separate by commas), fitted in parallel; see "
                               "docs/many_models.md.")] = None,
    engine: Annotated[Optional[str], typer.Option(
        help="With --partition-by: local (default), dask, ray or spark.")] = None,
    workers: Annotated[Optional[int], typer.Option(
        help="With --partition-by: partitions fitted at once (default: one per core).")] = None,
    *,
    given: dict,
) -> None:
    """Search for the best model within a budget; write model, leaderboard and reports.

    Forecasting by default; --task classification|regression learns from a plain table.
    Every setting of the API is an option of the same name; a bundled dataset fills in its
    columns, horizon and holiday calendar.  With --partition-by, one model per partition."""
    from tsauto.data.io import check_output_dir, read_table

    check_output_dir(out_dir)  # before the heavy imports, the data and the search
    from tsauto.automl import AutoML
    from tsauto.settings import SETTINGS

    chosen = read_settings_file(settings_file) if settings_file else {}
    task = _task_of(data, task or chosen.pop("task", None))
    chosen.pop("task", None)
    chosen.update(given)
    if task != "forecasting":
        if partition_by or engine is not None or workers is not None:
            raise SettingsError(f"--partition-by, --engine and --workers are for forecasting "
                                f"(many models); a {task} fit learns one model per table: "
                                f"leave them out, or split the table yourself.")
        frame, target = _tabular_roles(data, chosen.pop("target_column", None))
        settings = SETTINGS[task](target_column=target, **chosen)
        valid = read_table(validation_data, "--validation-data file") if validation_data else None
        run = AutoML(settings).fit(frame, output_dir=out_dir, validation_data=valid,
                                   reporter=_reporter(settings))
        return _write_outputs(run, out_dir, as_json)
    frame, roles = _roles(data, chosen)
    defaults = _bundled(data)
    bundled = {"horizon": defaults.get("horizon"), "country_or_region": defaults.get("country"),
               "subdivision": defaults.get("subdivision")}
    if "country_or_region" in chosen:  # another country: the bundled subdivision is not its
        bundled.pop("subdivision")
    settings_given = {**{k: v for k, v in bundled.items() if v}, **chosen, **roles}
    if not settings_given.get("horizon"):
        raise SettingsError("--horizon is required: the number of periods to forecast.")
    settings = SETTINGS[task](**settings_given)
    if partition_by:
        return _fit_many(settings, frame, partition_by, engine, workers, out_dir, as_json)
    if engine is not None or workers is not None:
        raise SettingsError("--engine and --workers are for many models: add --partition-by.")
    run = AutoML(settings).fit(frame, output_dir=out_dir, reporter=_reporter(settings))
    _write_outputs(run, out_dir, as_json)


def _fit_many(settings, frame, partition_by: list[str], engine, workers, out_dir: Path,
              as_json: bool) -> None:
    """tsauto fit --partition-by: one AutoML per partition; prints the partitions' board."""
    import json

    from tsauto.automl import AutoML

    columns = [c.strip() for part in partition_by for c in part.split(",") if c.strip()]
    many = AutoML(settings).fit_many(frame, partition_by=columns, engine=engine,
                                     output_dir=out_dir, workers=workers)
    board = many.leaderboard()
    if as_json:
        out.print_json(json.dumps({"output_dir": str(out_dir), "partition_by": columns,
                                   "leaderboard": json.loads(json_records(board))},
                                  default=str))
        return
    metric = settings.primary_metric
    shown = [*columns, "status", "best_learner", metric, "trials", "seconds", "error"]
    _print_frame(board[shown].head(20), f"{len(board)} partitions (first 20)")
    failed = len(many.failed)
    if failed == len(board):  # as a plain fit without a model: an error, not a success
        raise NoModelError(f"no partition has a model: all {failed} failed (their errors are "
                           f"in the table above and in {out_dir}/index.parquet).")
    out.print(f"{len(board) - failed} partitions have a model, {failed} failed; written to "
              f"{out_dir}/ (index.parquet, partitions/<name>/). Forecast them all: tsauto "
              f"forecast {out_dir} --out forecast.csv", soft_wrap=False)


def _reporter(settings):
    """The live display on a terminal, plain lines elsewhere, nothing at verbosity 0."""
    from tsauto.progress import Reporter

    return RichReporter(err, settings.verbosity) if settings.verbosity >= 1 else Reporter()


def _write_outputs(run, out_dir: Path, as_json: bool = False) -> None:
    """Print what the run wrote: its own experiment folder, and whether the top of ``out_dir``
    holds copies of it (the latest experiment) or of a later one."""
    import json

    from tsauto.progress import skipped_learners

    board = run.leaderboard()
    skipped = skipped_learners(run.result)
    if as_json:
        out.print_json(json.dumps({
            "best": run.best_model.description, "experiment": run.experiment,
            "output_dir": str(run.outputs), "latest_experiment": run.published,
            "stopped_because": run.result.stopped_because, "elapsed_seconds": run.elapsed,
            "skipped": skipped, "leaderboard": json.loads(json_records(board))},
            default=str))
        return
    _print_board(board.head(10), run.settings.primary_metric, skipped)
    files = "model.pkl, leaderboard.csv/json, skipped.json, guardrails.json, settings.json"
    # The top of out_dir shows the latest experiment; a later fit into it may replace it.
    if run.published == run.experiment:
        where = f"copied to {out_dir}/ as the latest experiment for now ({out_dir}/latest.json)"
    else:
        where = (f"{out_dir}/ keeps showing experiment {run.published}, a later one "
                 f"({out_dir}/latest.json)")
    out.print(f"Best: {run.best_model.description}. Experiment {run.experiment} written to "
              f"{run.outputs}/ ({files}); {where}.", soft_wrap=False)


@app.command()
def resume(folder: Annotated[Path, typer.Argument(help="The --out folder of an interrupted fit.")],
           experiment: Annotated[Optional[int], typer.Option(
               help="Experiment id (default: latest).")] = None,
           as_json: JsonOpt = False) -> None:
    """Continue an interrupted experiment: recorded trials are replayed, not redone; a completed
    experiment gives back its stored model."""
    from tsauto.automl import AutoML

    _write_outputs(AutoML.resume(folder, experiment, reporter=RichReporter(err)), folder, as_json)


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
def runs_list(folder: Annotated[Path, typer.Argument(help="An output folder of tsauto fit.")],
              as_json: JsonOpt = False) -> None:
    """One line per experiment."""
    from tsauto.runs import RunStore

    _require_store(folder)
    experiments = RunStore(folder).experiments()
    if as_json:
        out.print_json(json_records(experiments))
        return
    _print_frame(experiments_frame(experiments), "Experiments")


@runs_app.command("show")
def runs_show(
    folder: Annotated[Path, typer.Argument(help="An output folder of tsauto fit.")],
    experiment: Annotated[Optional[int], typer.Option(help="Experiment id (default: latest).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Every trial (child run) of an experiment."""
    from tsauto.progress import human_duration, params_summary
    from tsauto.runs import RunStore

    _require_store(folder)
    store = RunStore(folder)
    row = store.experiment(experiment)
    trials = store.trials(int(row["id"]))
    if as_json:
        out.print_json(json_records(trials))
        return
    columns = [c for c in ["trial_id", "learner", "status", "duration", "params", "error"]
               if c in trials.columns and (c != "error" or trials[c].fillna("").any())]
    shown = trials[columns].copy()
    if "duration" in shown:
        shown["duration"] = [human_duration(v) if v == v else "" for v in shown["duration"]]
    if "params" in shown:
        shown["params"] = [params_summary(p) if isinstance(p, str) else "" for p in shown["params"]]
    out.print(f"Experiment {row['id']} ({row['name']}): {row['status']}, "
              f"{human_duration(row['elapsed'] or 0.0)}, {row['stopped_because'] or ''}")
    _print_frame(shown.fillna(""), "Trials")


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
    from tsauto.data.io import check_output_path

    _require_store(folder)
    check_output_path(out_file, "--out", "report.html")
    check_int(max_series, "--max-series")
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
    model_path: Annotated[Path, typer.Argument(help="A model.pkl written by tsauto fit, or the "
                                                    "--out folder of fit --partition-by.")],
    out_file: Annotated[Path, typer.Option("--out", help=_OUT_HELP)],
    horizon: Annotated[Optional[int], typer.Option(help="Periods (default: the model's).")] = None,
    future: Annotated[Optional[Path], typer.Option(help="Future known covariates file.")] = None,
    data: Annotated[Optional[Path], typer.Option(
        "--data", help="Recent history (CSV/Parquet, the training columns) to forecast from "
                       "instead of the training data, without refitting.")] = None,
    level: Annotated[Optional[list[float]], typer.Option(
        "--level", help="Interval level(s), e.g. --level 80 --level 95 (calibrated: any level).")
    ] = None,
    calibrated: Annotated[bool, typer.Option(
        "--calibrated/--own-intervals", help="Intervals calibrated on the validation windows "
                                             "(default), or the learner's own.")] = True,
) -> None:
    """Forecast with a saved model."""
    from tsauto.data.io import check_output_file, read_table
    from tsauto.model import ForecastModel, load_model

    check_output_file(out_file)  # before the model is loaded and run
    if model_path.is_dir():  # many models: every partition's forecast, partition columns first
        from tsauto.many import ManyModels

        if data is not None:
            raise SettingsError("--data is for one model; a many-models folder forecasts each "
                                "partition from its own training data.")
        many = ManyModels.load(model_path)
        frame = many.forecast(horizon=horizon, level=level or None,
                              future=read_table(future, "--future file") if future else None)
        _write_frame(frame, out_file, "forecast rows")
        if len(many.failed):
            _notes(out_file).print(f"{len(many.failed)} partition(s) failed at fit and have no "
                                   f"forecast: {preview(many.failed.to_dict('records'))}.")
        return
    model = load_model(model_path)
    if not isinstance(model, ForecastModel):
        raise SettingsError(f"'{model_path}' is a {model.task} model: use 'tsauto predict'.")
    frame = model.forecast(horizon=horizon,
                           future=read_table(future, "--future file") if future else None,
                           data=read_table(data, "--data file") if data else None,
                           level=level or None, calibrated=calibrated)
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
    proba: Annotated[bool, typer.Option("--proba", metavar="", help="Add one probability column per "
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


@app.command()
def export(
    model_path: Annotated[Path, typer.Argument(help="A model.pkl written by tsauto fit.")],
    onnx: Annotated[Path, typer.Option("--onnx", help="The ONNX file to write (a sidecar "
                                       "FILE.json is written next to it).")],
) -> None:
    """Export a forecasting or tabular model as one ONNX graph (docs/onnx.md)."""
    from tsauto.export import sidecar_path
    from tsauto.model import load_model

    sidecar = load_model(model_path).to_onnx(onnx)
    inputs = ", ".join(f"{i['name']} {i['shape']}" for i in sidecar["inputs"])
    shape = (f"; history length {sidecar['history_length']}, horizon {sidecar['horizon']}"
             if "horizon" in sidecar else "")
    out.print(Text(f"wrote {onnx} and {sidecar_path(onnx)}; inputs: {inputs}{shape}."),
              highlight=False)


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
def leaderboard(folder: Annotated[Path, typer.Argument(help="An output folder of tsauto fit.")],
                as_json: JsonOpt = False) -> None:
    """Print the leaderboard of a finished experiment, and the learners skipped and why."""
    import json

    from tsauto.data.io import read_table
    from tsauto.runs.store import read_stored

    folder = _board_folder(folder)
    board = read_table(folder / "leaderboard.csv", "leaderboard").fillna({"error": ""})
    skipped_path = folder / "skipped.json"
    skipped = read_stored(skipped_path) if skipped_path.exists() else {}
    if as_json:
        out.print_json(json.dumps({"leaderboard": json.loads(json_records(board)),
                                   "skipped": skipped}))
        return
    # the metric as written: validating the settings would need the learners they name
    # registered, which a user's own are not in this process
    _print_board(board, read_stored(folder / "settings.json")["primary_metric"], skipped)


def _board_folder(folder: Path) -> Path:
    """The folder of the leaderboard to print: the top of an output folder (the latest
    experiment with a model) or, when no experiment has a model yet (every trial failed), the
    latest experiment's own folder, said on stderr."""
    from tsauto.runs.store import DB_NAME, RunStore

    names = ("leaderboard.csv", "settings.json")
    if (folder / DB_NAME).is_file() and not (folder / names[0]).is_file():
        store = RunStore(folder, create=False)
        row = store.experiment()
        own = store.artifacts(row["id"])
        if not all((own / name).is_file() for name in names):
            raise SettingsError(f"experiment {row['id']} in '{folder}' ({row['status']}) has no "
                                f"leaderboard yet; 'tsauto runs show {folder}' lists its trials.")
        err.print(f"No experiment in {folder} has a model yet: the leaderboard of experiment "
                  f"{row['id']} ({row['status']}), from {own}/.", highlight=False)
        return own
    for name in names:
        if not (folder / name).is_file():
            raise SettingsError(f"'{folder / name}' does not exist: pass the --out folder of "
                                f"'tsauto fit'.")
    return folder


def _print_board(board, metric: str, skipped: dict) -> None:
    from tsauto.progress import skipped_lines

    out.print(leaderboard_table(board, metric, out.width))
    for line in skipped_lines(skipped):
        out.print(Text(line), highlight=False, soft_wrap=False)


@app.command()
def datasets(as_json: JsonOpt = False) -> None:
    """List the bundled datasets."""
    import json

    from tsauto import datasets as bundled

    if as_json:
        out.print_json(json.dumps([bundled.info(name) for name in bundled.names()], default=str))
        return
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


class _Stopped(BaseException):
    """Raised by the CLI's handler of SIGINT and SIGTERM.  Not a KeyboardInterrupt, which Typer
    turns into a silent exit, nor an Exception, which a trial run in-process would record as
    its failure: it reaches main(), and the fit on its way records the experiment as
    interrupted (AutoML._execute)."""


def _stop_on_signals() -> None:
    """SIGINT and SIGTERM raise _Stopped in this process; a second one stops it at once."""
    main_pid = os.getpid()

    def stop(signum, frame):
        for each in (signal.SIGINT, signal.SIGTERM):
            signal.signal(each, signal.SIG_DFL)
        if os.getpid() != main_pid:  # a child forked from this process: the default action
            os.kill(os.getpid(), signum)
            return
        raise _Stopped(signum)

    for each in (signal.SIGINT, signal.SIGTERM):
        signal.signal(each, stop)


def main() -> None:
    # Typer handles usage errors itself (exit 2); our own errors become one line, no traceback.
    _stop_on_signals()
    try:
        app()
    except TsautoError as exc:
        err.print(Text("error: ", style="bold red") + Text(str(exc)), highlight=False)
        sys.exit(2)
    except _Stopped as stop:
        signum = stop.args[0]
        # the notes of what was running, e.g. the fit: which experiment, how to resume it
        notes = "; ".join(getattr(stop, "__notes__", []))
        err.print(Text(f"interrupted ({signal.Signals(signum).name})" +
                       (f": {notes}." if notes else ".")), highlight=False)
        sys.exit(128 + signum)


if __name__ == "__main__":
    main()
