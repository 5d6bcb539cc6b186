"""The console face of tsauto: the settings as command-line options, a live progress display
and tables a person reads at 80 columns.  The CLI (``tsauto.cli``) is built from these parts;
nothing here computes a result.

Options are generated from the settings' own pydantic fields: every setting is ``--its-name``
(``time_budget`` -> ``--time-budget``) with its description as help, so the CLI cannot drift
from the API.  Earlier short names stay as aliases (``--budget``, ``--model``...).
"""

from __future__ import annotations

import functools
import inspect
import json
import time
import types
import typing
from datetime import datetime
from typing import Annotated, Any, Optional

import pandas as pd
import typer
from rich import box
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from tsauto.errors import SettingsError
from tsauto.progress import PlainReporter, human_duration, params_summary
from tsauto.settings import ClassificationSettings, ForecastSettings, _SearchSettings

# Names the CLI had before it mirrored the API, kept so that existing scripts keep working.
ALIASES = {"time_column": ["--time"], "target_column": ["--target"], "grain_columns": ["--grain"],
           "known_covariates": ["--known"], "past_covariates": ["--past"],
           "static_features": ["--static"], "target_aggregation": ["--aggregation"],
           "time_budget": ["--budget"], "allowed_models": ["--model"],
           "primary_metric": ["--metric"], "country_or_region": ["--country"],
           "n_cross_validations": ["--cv"], "short_series_handling": ["--short-series"],
           "drop_columns": ["--drop"], "verbosity": ["-v"]}

_PANELS = {"forecasting": "Forecasting settings", "search": "Search settings",
           "tabular": "Classification and regression settings"}


def setting_fields() -> dict[str, tuple[Any, str]]:
    """Every setting of every task, name -> (pydantic field, help panel): the forecasting
    ones, then those every task shares, then the classification/regression ones."""
    shared = set(_SearchSettings.model_fields)
    fields = {name: (f, _PANELS["search" if name in shared else "forecasting"])
              for name, f in ForecastSettings.model_fields.items()}
    for name, f in ClassificationSettings.model_fields.items():
        fields.setdefault(name, (f, _PANELS["tabular"]))
    return fields


def option_names(name: str) -> list[str]:
    """The option's names: ``--the-setting-name`` first, then its aliases."""
    return [f"--{name.replace('_', '-')}", *ALIASES.get(name, [])]


def _kinds(annotation) -> set:
    """The plain types an annotation allows (``list[int] | None`` -> {list, NoneType})."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return set().union(*(_kinds(a) for a in typing.get_args(annotation)))
    if origin is typing.Literal:
        return {type(a) for a in typing.get_args(annotation)}
    return {origin or annotation}


def _option(name: str, field, panel: str):
    """The typer annotation of one setting's option."""
    kinds = _kinds(field.annotation)
    # in parentheses: rich help would read square brackets as markup
    default = ("" if field.is_required()
               else f" (default: {field.get_default(call_default_factory=True)})")
    help_text = (field.description or "") + default
    if kinds == {bool}:
        decls = [f"{option_names(name)[0]}/--no-{name.replace('_', '-')}"]
        return Annotated[Optional[bool], typer.Option(*decls, help=help_text, metavar="",
                                                      rich_help_panel=panel, show_default=False)]
    if kinds <= {list, type(None)}:
        return Annotated[Optional[list[str]], typer.Option(
            *option_names(name), help=help_text, rich_help_panel=panel, show_default=False,
            metavar="A,B")]
    return Annotated[Optional[str], typer.Option(*option_names(name), help=help_text,
                                                 rich_help_panel=panel, show_default=False,
                                                 metavar=_metavar(field.annotation))]


def _metavar(annotation) -> str:
    """'auto|N' for ``int | Literal['auto']``: the choices, then the kinds of value."""
    if typing.get_origin(annotation) is typing.Literal:
        return "|".join(map(str, typing.get_args(annotation)))
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    literal = [a for a in args if typing.get_origin(a) is typing.Literal]
    choices = [str(c) for lit in literal for c in typing.get_args(lit)]
    plain = [a for a in (args or [annotation]) if typing.get_origin(a) is not typing.Literal]
    names = {int: "N", float: "X", str: "TEXT", list: "LIST", dict: "JSON"}
    parts = choices + [names.get(typing.get_origin(a) or a, "VALUE") for a in plain]
    return "|".join(dict.fromkeys(parts)) or "VALUE"


def cli_value(name: str, value, field) -> Any:
    """A setting's value from its option's text; pydantic checks it when the settings are
    built.  'none' clears an optional setting; JSON is read as JSON; commas split lists."""
    kinds = _kinds(field.annotation)
    if isinstance(value, list):  # a repeatable option
        items = [part.strip() for v in value for part in str(v).split(",") if part.strip()]
        return None if items in (["none"], ["None"]) and type(None) in kinds else items
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.lower() in ("none", "null") and type(None) in kinds:
        return None
    if text[:1] in "{[" and (dict in kinds or list in kinds):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise SettingsError(f"{option_names(name)[0]} {value!r} is not valid JSON: {exc}.") \
                from None
    if "," in text and list in kinds:
        return [part.strip() for part in text.split(",") if part.strip()]
    return text


def with_settings_options(names: list[str] | None = None):
    """Adds one option per setting (all of them, or ``names``) to a typer command; the command
    receives those the user gave as ``given`` (setting -> value, ready for the settings)."""
    fields = setting_fields()
    chosen = list(fields) if names is None else names

    def decorate(func):
        signature = inspect.signature(func, eval_str=True)
        own = [p for p in signature.parameters.values() if p.name != "given"]
        added = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None,
                                   annotation=_option(name, *fields[name])) for name in chosen]

        @functools.wraps(func)
        def command(**kwargs):
            values = {name: kwargs.pop(name, None) for name in chosen}
            given = {name: cli_value(name, value, fields[name][0])
                     for name, value in values.items() if value is not None}
            return func(**kwargs, given=given)

        command.__signature__ = signature.replace(parameters=own + added)
        command.__annotations__ = {p.name: p.annotation for p in own + added}
        del command.__wrapped__  # typer must read the generated signature, not the function's
        return command

    return decorate


def read_settings_file(path) -> dict:
    """Settings from a JSON or TOML file (the API's names; a 'task' key is allowed, as in the
    settings.json that fit writes)."""
    import tomllib
    from pathlib import Path

    path = Path(path)
    if not path.exists():
        raise SettingsError(f"--settings '{path}' does not exist.")
    try:
        if path.suffix.lower() == ".toml":
            data = tomllib.loads(path.read_text())
        else:
            data = json.loads(path.read_text())
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(f"--settings '{path}' is not valid "
                            f"{'TOML' if path.suffix.lower() == '.toml' else 'JSON'}: {exc}.") \
            from None
    if not isinstance(data, dict):
        raise SettingsError(f"--settings '{path}' must hold an object of settings, "
                            f"e.g. {{\"time_budget\": \"10m\"}}.")
    return data


class RichReporter(PlainReporter):
    """A live display on a terminal: the learners running and for how long, trials done, the
    best so far and the time left.  Elsewhere (CI, a pipe) it prints the plain lines, one per
    finished trial."""

    def __init__(self, console: Console, verbosity: int = 1) -> None:
        super().__init__(lambda line: console.print(Text(line), highlight=False), verbosity)
        self.live = (Live(self, console=console, refresh_per_second=4, transient=True)
                     if console.is_terminal else None)
        self.phase = "Searching"

    def search_started(self, learners, skipped, metric, budget, started) -> None:
        super().search_started(learners, skipped, metric, budget, started)
        if self.live is not None:
            self.live.start()

    def trial_finished(self, trial) -> None:
        if self.live is None or self.verbosity >= 2:
            return super().trial_finished(trial)
        self.count(trial)

    def refit(self, description: str) -> None:
        if self.live is None:
            return super().refit(description)
        self.phase = f"Refitting {description}"

    def done(self, run) -> None:
        self.close()
        super().done(run)

    def close(self) -> None:
        if self.live is not None:
            self.live.stop()

    def __rich__(self):
        now = time.monotonic()
        lines = [Text.assemble(("  running ", "cyan"), f"{learner} (trial {i}) ",
                               (human_duration(now - since), "bold"))
                 for i, (learner, since) in sorted(self.running.items())]
        left = self.time_left()
        status = (f"{self.phase}: {self.done_trials} trials done, {self.best_text()}"
                  + ("" if left is None else f", {human_duration(left)} left"))
        return Group(*lines, Text(status, style="bold"))


def leaderboard_table(board: pd.DataFrame, metric: str, width: int = 80,
                      title: str = "Leaderboard") -> Table:
    """The leaderboard for a person, within ``width`` characters: one line per trial, learner
    names whole, parameters summarised and cut to fit (ensembles by their members' learner
    names, failed trials by their error), times in words; a trial that did not complete shows
    its status in place of its score, and smape stands beside the primary metric only where
    it leaves the parameters room."""
    status = board["status"] if "status" in board else pd.Series("completed", board.index)

    def number(name: str) -> list[str]:
        return [("" if pd.isna(v) else f"{v:.4f}") if s == "completed" else str(s)
                for v, s in zip(board[name], status)]

    errors = board["error"].fillna("") if "error" in board else pd.Series("", board.index)
    members = board["members"].fillna("") if "members" in board else pd.Series("", board.index)
    columns = {"trial": [str(v) for v in board["trial"]],
               "learner": [str(v) for v in board["learner"]]}
    columns[metric] = number(metric) if metric in board else list(map(str, status))
    if metric != "smape" and "smape" in board:
        columns["smape"] = number("smape")
    columns["time"] = [human_duration(float(v)) for v in board["seconds"]]
    about = [f"error: {e}" if e else m or params_summary(p or "{}")
             for e, m, p in zip(errors, members, board.get("params", [""] * len(board)))]
    widths = {h: max([len(h)] + [len(c) for c in cells]) for h, cells in columns.items()}

    def room() -> int:  # what the parameters get: 3 characters between columns
        return width - sum(w + 3 for w in widths.values())

    if room() < 30 and "smape" in columns and metric != "smape":
        del columns["smape"], widths["smape"]
    table = Table(title=title, box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for header in columns:
        table.add_column(header, width=widths[header], no_wrap=True,
                         justify="left" if header == "learner" else "right")
    table.add_column("params", no_wrap=True, overflow="ellipsis", width=max(8, room()))
    for i, text in enumerate(about):
        table.add_row(*(cells[i] for cells in columns.values()),
                      Text(text, style="red" if text.startswith("error: ") else ""))
    return table


def experiments_frame(experiments: pd.DataFrame) -> pd.DataFrame:
    """``runs list`` for a person: times as dates and durations in words."""
    frame = experiments.copy()
    if "created" in frame:
        frame["created"] = [datetime.fromtimestamp(v).strftime("%Y-%m-%d %H:%M")
                            if pd.notna(v) else "" for v in frame["created"]]
    if "elapsed" in frame:
        frame["elapsed"] = [human_duration(v) if pd.notna(v) else "" for v in frame["elapsed"]]
    return frame.fillna("")
