"""The console face: options generated from the settings, durations, presets, progress through
a reporter, output without a terminal, the 80-column leaderboard and human run listings."""

import io
import json
import os
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import typer
from rich.console import Console
from typer.testing import CliRunner

from tests.conftest import make_panel
from tsauto.automl import AutoML
from tsauto.cli import app
from tsauto.console import (ALIASES, RichReporter, experiments_frame, leaderboard_table,
                            option_names, setting_fields)
from tsauto.errors import SettingsError
from tsauto.progress import PlainReporter, Reporter, human_duration, params_summary
from tsauto.settings import (PRESETS, ClassificationSettings, ForecastSettings,
                             parse_duration)

COMMANDS = typer.main.get_command(app).commands


def options_of(command: str) -> dict[str, object]:
    """Every option name of a command -> its click parameter."""
    return {name: p for p in COMMANDS[command].params for name in [*p.opts, *p.secondary_opts]}


def test_every_setting_is_a_fit_option_with_its_own_description():
    options = options_of("fit")
    for name, (field, _) in setting_fields().items():
        for option in option_names(name):
            assert option in options, f"{option} (setting {name}) is not an option of fit"
        param = options[option_names(name)[0]]
        assert param.name == name
        assert field.description and field.description in param.help
    # every setting of every task is there, and nothing the API lacks
    every = set(ForecastSettings.model_fields) | set(ClassificationSettings.model_fields)
    assert set(setting_fields()) == every
    # besides the settings: the data, where results go, and many-models' partitioning
    settings_params = {p.name for p in COMMANDS["fit"].params} - {
        "data", "out_dir", "settings_file", "task", "validation_data", "as_json",
        "partition_by", "engine", "workers"}
    assert settings_params == every


def test_old_names_are_aliases_of_the_api_names():
    runner = CliRunner()
    for setting, aliases in ALIASES.items():
        assert setting in setting_fields()
        for alias in aliases:
            assert options_of("fit")[alias].name == setting
    assert runner.invoke(app, ["fit", "--help"]).exit_code == 0


def test_flags_take_no_value_in_help():
    runs = COMMANDS["runs"].commands
    for params in [*(COMMANDS[c].params for c in ("fit", "inspect", "leaderboard", "resume",
                                                 "datasets")),
                   runs["list"].params, runs["show"].params]:
        json_flag = next(p for p in params if "--json" in p.opts)
        assert json_flag.is_flag
    help_text = CliRunner().invoke(app, ["fit", "--help"], env={"COLUMNS": "120"}).output
    line = next(l for l in help_text.splitlines() if "--json" in l)
    assert "<bool>" not in line and "BOOLEAN" not in line
    assert "--enable-voting-ensemble" in help_text and "--no-enable-voting-ensemble" in help_text


@pytest.mark.parametrize("text,seconds", [("1h30m", 5400), ("90s", 90), ("1.5h", 5400),
                                          ("10m", 600), ("10min", 600), ("90", 90), (90, 90),
                                          ("2 days", 172800)])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds
    s = ForecastSettings(time_column="t", target_column="y", horizon=1, time_budget=text)
    assert s.time_budget == seconds


@pytest.mark.parametrize("text", ["soon", "1h30x", "0s", "-5m"])
def test_a_bad_duration_error_quotes_the_users_text(text):
    with pytest.raises(SettingsError, match=f"time_budget={text!r}.*{text!r}"):
        ForecastSettings(time_column="t", target_column="y", horizon=1, time_budget=text)


def test_one_default_budget_everywhere():
    default = ForecastSettings.model_fields["time_budget"].default
    assert default == 600 == PRESETS["forecasting"]["medium"]["time_budget"]
    assert ForecastSettings(time_column="t", target_column="y", horizon=1).time_budget == default
    assert "`600` (s)" in open("docs/automl.md").read()


def test_presets_choose_and_user_settings_win():
    base = dict(time_column="t", target_column="y", horizon=1)
    fast = ForecastSettings(**base, preset="fast")
    assert (fast.time_budget, fast.n_cross_validations) == (120, 1)
    assert "prophet" in fast.blocked_models
    best = ForecastSettings(**base, preset="best")
    assert (best.time_budget, best.n_cross_validations) == (3600, 5)
    mine = ForecastSettings(**base, preset="fast", time_budget="5m", allowed_models=["prophet"])
    assert mine.time_budget == 300 and mine.blocked_models == [] and mine.n_cross_validations == 1
    assert ClassificationSettings(target_column="y", preset="fast").n_folds == 3
    with pytest.raises(SettingsError, match="preset='quick'"):
        ForecastSettings(**base, preset="quick")


def test_human_durations_and_summaries():
    assert [human_duration(s) for s in (0.44, 44.1, 114.028, 5400)] == \
        ["0.4s", "44.1s", "1m54s", "1h30m"]
    assert params_summary('{"alpha": 0.123456, "lags": [1, 2]}') == "alpha=0.123, lags=[1, 2]"
    frame = experiments_frame(pd.DataFrame({"id": [1], "created": [1795718401.56],
                                            "elapsed": [114.02831490900002]}))
    assert frame.loc[0, "elapsed"] == "1m54s" and len(frame.loc[0, "created"]) == 16
    assert "1795718401" not in frame.to_string()


def board_of_every_kind() -> pd.DataFrame:
    return pd.DataFrame([
        {"trial": 12, "learner": "stack_ensemble", "status": "completed", "mase": 0.81,
         "smape": 9.1, "seconds": 30.2, "params": json.dumps({"members": [0, 3], "weights":
                                                             [0.7, 0.3]}),
         "members": "auto_theta 0.7 + hist_gradient_boosting 0.3", "error": ""},
        {"trial": 3, "learner": "hist_gradient_boosting", "status": "completed", "mase": 0.9,
         "smape": 9.5, "seconds": 114.02831490900002,
         "params": json.dumps({"learning_rate": 0.0123456, "max_depth": 7, "l2": 0.5,
                               "min_samples_leaf": 20, "max_iter": 300}), "members": "",
         "error": ""},
        {"trial": 5, "learner": "prophet", "status": "failed", "mase": np.nan, "smape": np.nan,
         "seconds": 1.0, "params": "{}", "members": "",
         "error": "ValueError: something long went wrong in a very verbose way indeed"},
    ])


def test_leaderboard_fits_80_columns():
    out = io.StringIO()
    Console(file=out, width=80).print(leaderboard_table(board_of_every_kind(), "mase", 80))
    lines = out.getvalue().splitlines()
    assert max(len(line) for line in lines) <= 80
    text = out.getvalue()
    assert "stack_ensemble" in text and "hist_gradient_boosting" in text  # names never cut
    assert "auto_theta 0.7" in text and "[0, 3]" not in text            # members by name
    assert "1m54s" in text and "114.028" not in text
    assert "error: ValueError" in text and "failed" in text
    header = lines[1]
    assert "error" not in header and "status" not in header  # statuses stand in for scores


class Recorder(Reporter):
    def __init__(self):
        self.events = []

    def __getattribute__(self, name):
        if name in ("guardrails", "validation", "search_started", "trial_started",
                    "trial_finished", "ensembles", "refit", "done", "close"):
            return lambda *args: object.__getattribute__(self, "events").append(name)
        return object.__getattribute__(self, name)


def quick(**kw):
    return ForecastSettings(**{**dict(time_column="date", target_column="sales",
                                      grain_columns=["store"], horizon=6, max_trials=2,
                                      allowed_models=["naive", "seasonal_naive"], time_budget=60),
                               **kw})


def test_progress_goes_through_the_reporter_and_automl_prints_nothing_itself(capsys):
    recorder = Recorder()
    AutoML(quick()).fit(make_panel(n_series=2, length=36), reporter=recorder)
    events = recorder.events
    assert events[:3] == ["guardrails", "validation", "search_started"]
    assert events.count("trial_started") == 2 and events.count("trial_finished") == 2
    assert events[-3:] == ["refit", "done", "close"] and "ensembles" in events
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""


def test_the_default_reporter_prints_plain_lines_at_verbosity_1(capsys):
    run = AutoML(quick(verbosity=1)).fit(make_panel(n_series=2, length=36))
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("Guardrails: ")
    assert sum(line.startswith("trial ") for line in err) == 2
    assert any(line.startswith(f"{len(run.result.trials)} trials in ") for line in err)
    # silence is the reporter's doing, whatever the path: one unbudgeted trial is enough
    AutoML(quick(verbosity=0, time_budget=None, max_trials=1)).fit(make_panel(n_series=2,
                                                                             length=36))
    assert capsys.readouterr() == ("", "")


def test_rich_reporter_lives_on_a_terminal_and_prints_lines_elsewhere():
    from tsauto.search.trial import TrialResult

    trial = TrialResult(0, "auto_theta", {}, "completed", {"mase": 0.9}, duration=44.1)
    plain = io.StringIO()
    reporter = RichReporter(Console(file=plain, width=80))  # a file: no terminal
    reporter.search_started(["auto_theta"], {}, "mase", 600.0, 0.0)
    reporter.trial_started(0, "auto_theta", {})
    reporter.trial_finished(trial)
    reporter.close()
    assert reporter.live is None
    assert "trial 0 auto_theta mase=0.9000 in 44.1s; best mase 0.9000 (auto_theta)" in \
        plain.getvalue()
    screen = io.StringIO()
    live = RichReporter(Console(file=screen, width=80, force_terminal=True))
    assert live.live is not None
    live.metric = "mase"
    live.trial_started(4, "auto_theta", {})
    shown = io.StringIO()
    Console(file=shown, width=80).print(live)
    assert "running auto_theta (trial 4)" in shown.getvalue()
    assert "0 trials done" in shown.getvalue()


def tsauto(*args, columns=80):
    return subprocess.run([sys.executable, "-m", "tsauto.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "COLUMNS": str(columns)})


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """One small fit through the CLI, by API option names and a settings file, piped (no
    terminal)."""
    folder = tmp_path_factory.mktemp("console")
    csv = folder / "sales.csv"
    make_panel(n_series=2, length=36).to_csv(csv, index=False)
    settings = folder / "settings.toml"
    settings.write_text('time_budget = "1m"\nmax_trials = 3\nhorizon = 6\n'
                        'quantiles = [0.1, 0.9]\n')
    out = folder / "run"
    result = tsauto("fit", csv, "--out", out, "--settings", settings, "--time-column", "date",
                    "--target", "sales", "--grain-columns", "store", "--allowed-models",
                    "seasonal_naive,naive", "--n-cross-validations", "2",
                    "--short-series-handling", "auto", "--country-or-region", "US",
                    "--primary-metric", "smape", "--no-enable-stack-ensemble")
    return out, result


def test_fit_without_a_terminal_prints_one_line_per_trial(fitted):
    out, result = fitted
    assert result.returncode == 0, result.stderr
    err = result.stderr.splitlines()
    assert err[0].startswith("Guardrails: ") and "Validation: 2 rolling-origin" in err[1]
    trials = [line for line in err if line.startswith("trial ")]
    board = pd.read_csv(out / "leaderboard.csv")
    searched = (~board["learner"].str.endswith("_ensemble")).sum()
    assert len(trials) == searched == 2  # two learners without parameters: space exhausted
    assert all("smape=" in line and "left" in line for line in trials)
    assert "voting_ensemble of " in result.stderr and "stack_ensemble" not in result.stderr
    saved = json.loads((out / "settings.json").read_text())
    assert saved["time_budget"] == 60 and saved["quantiles"] == [0.1, 0.9]
    assert saved["country_or_region"] == "US" and not saved["enable_stack_ensemble"]
    assert max(len(line) for line in result.stdout.splitlines()) <= 80


def test_leaderboard_command_at_80_columns_and_json(fitted):
    out, _ = fitted
    result = tsauto("leaderboard", out)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "voting_ensemble" in result.stdout and "seasonal_naive" in result.stdout
    data = json.loads(tsauto("leaderboard", out, "--json").stdout)
    assert {"leaderboard", "skipped"} <= set(data)
    assert all(json.loads(row["params"]) is not None for row in data["leaderboard"])
    listed = tsauto("runs", "list", out, columns=120)
    assert listed.returncode == 0, listed.stderr
    assert not re.search(r"\b1\d{9}\b|\d\.\d{3,}", listed.stdout)  # no epoch, no raw float
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", listed.stdout)


def test_skipped_learners_are_shown():
    from tsauto.progress import skipped_learners, skipped_lines
    from tsauto.search.engine import SearchResult
    from tsauto.search.trial import TrialResult

    result = SearchResult([TrialResult(0, "prophet", {}, "failed", error="ImportError: x\ny"),
                           TrialResult(1, "naive", {}, "completed", {"mase": 1.0})], "mase",
                          "done", 1.0, {"tcn": "expected ~900s per trial, over half the budget"})
    skipped = skipped_learners(result)
    assert skipped == {"tcn": "expected ~900s per trial, over half the budget",
                       "prophet": "every trial failed (1): ImportError: x"}
    assert skipped_lines(skipped)[0] == "Skipped learners and why:"


def test_settings_file_errors_are_one_line(tmp_path):
    bad = tmp_path / "s.json"
    bad.write_text("{not json")
    result = tsauto("fit", "aus_accommodation", "--out", tmp_path / "x", "--settings", bad)
    assert result.returncode == 2 and "is not valid JSON" in result.stderr
    assert "Traceback" not in result.stderr
    result = tsauto("fit", "aus_accommodation", "--out", tmp_path / "x", "--n-folds", "3")
    assert result.returncode == 2 and "unknown setting 'n_folds'" in result.stderr


def test_plain_reporter_notes_are_text_and_trials_are_counted():
    from tsauto.search.trial import TrialResult

    lines = []
    reporter = PlainReporter(lines.append, verbosity=1)
    reporter.search_started(["naive"], {}, "mase", None, 0.0)
    reporter.note("Warning: the data could not be stored")
    reporter.trial_finished(TrialResult(0, "naive", {}, "completed", {"mase": 1.5}))
    assert "Warning: the data could not be stored" in lines
    assert reporter.done_trials == 1 and reporter.best.metrics["mase"] == 1.5
    reporter.ensembles([TrialResult(1, "voting_ensemble", {}, "failed",
                                    error="DataError: no shared row\nTraceback...")], {})
    assert lines[-1] == "voting_ensemble failed: DataError: no shared row"  # no empty members
