"""Many models: one AutoML per partition of a public panel (aus_retail), on the local engine
and on a Dask LocalCluster; a broken partition fails alone; a killed run resumes."""

import json
import os
import signal
import subprocess
import sys
import textwrap

import pandas as pd
import pytest

from tests.test_cli import tsauto
from tests.test_cli_errors import one_line_error
from tsauto import AutoML, ForecastSettings, ManyModels, datasets
from tsauto.errors import DataError, SettingsError

PARTITION_BY = ["State", "Industry"]
VARIABLE = ["seconds", "reused", "worker"]  # what may differ between two fits of the same partitions


def panel(n_industries=3):
    """2 states x ``n_industries`` industries of aus_retail since 2012: one partition per pair
    (six by default: enough to spread over two workers, few enough to fit quickly)."""
    df = datasets.load_frame("aus_retail")
    keep = sorted(df["Industry"].unique())[:n_industries]
    return df[(df["Month"] >= "2012-01-01") & df["Industry"].isin(keep)
              & df["State"].isin(["Victoria", "Queensland"])].reset_index(drop=True)


def settings(**over):
    return ForecastSettings(**{
        "time_column": "Month", "target_column": "Turnover", "grain_columns": PARTITION_BY,
        "horizon": 6, "allowed_models": ["naive", "seasonal_naive", "window_average"],
        "max_trials": 3, "time_budget": None, "early_stopping_trials": None,
        "n_cross_validations": 2, "enable_stack_ensemble": False, "verbosity": 0, "seed": 3,
        **over})


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    folder = tmp_path_factory.mktemp("local")
    return AutoML(settings()).fit_many(panel(), PARTITION_BY, output_dir=folder, workers=1)


def test_local_fit_has_one_model_per_partition(local):
    board = local.leaderboard()
    assert len(board) == 6 and (board["status"] == "completed").all()
    assert board.columns[:5].tolist() == [*PARTITION_BY, "status", "best_learner", "mase"]
    assert board["mase"].notna().all() and (board["trials"] >= 3).all()
    assert local.failed.empty
    model = local.models[("Victoria", "Clothing retailing")]
    assert model.forecast()["State"].eq("Victoria").all()
    assert len(local.models) == 6 and ("Victoria", "Clothing retailing") in local.models
    frame = local.forecast()
    assert frame.columns[:2].tolist() == PARTITION_BY
    assert len(frame) == 6 * 6 and frame["forecast"].notna().all()
    # Each partition's model is the one stored in its folder: the frame is theirs, side by side.
    mine = frame[(frame["State"] == "Victoria") & (frame["Industry"] == "Clothing retailing")]
    own = model.forecast()[frame.columns].astype({"series_id": object})
    pd.testing.assert_frame_equal(mine.reset_index(drop=True), own)


def test_dask_local_cluster_gives_the_same_leaderboard_and_forecasts(local, tmp_path):
    many = AutoML(settings()).fit_many(panel(), PARTITION_BY, engine="dask", workers=2,
                                       output_dir=tmp_path)
    pd.testing.assert_frame_equal(many.leaderboard().drop(columns=VARIABLE),
                                  local.leaderboard().drop(columns=VARIABLE))
    pd.testing.assert_frame_equal(many.forecast(), local.forecast())
    assert json.loads((tmp_path / "many.json").read_text())["engine"] == "dask"


def test_a_partition_with_broken_data_fails_alone(tmp_path):
    df = panel(n_industries=2)
    bad = (df["State"] == "Victoria") & (df["Industry"] == df["Industry"].iloc[0])
    df["Month"] = df["Month"].astype(str).where(~bad, "not a month")
    many = AutoML(settings()).fit_many(df, PARTITION_BY, output_dir=tmp_path, workers=1)
    failed = many.failed
    assert failed[PARTITION_BY].values.tolist() == [["Victoria", df["Industry"].iloc[0]]]
    assert "Month" in failed["error"].iloc[0]  # the error names the column at fault
    assert (many.leaderboard()["status"] == "completed").sum() == 3
    assert len(many.forecast()) == 3 * 6
    with pytest.raises(DataError, match="has no model"):
        many.models[("Victoria", df["Industry"].iloc[0])]
    with pytest.raises(KeyError, match="no partition"):
        many.models[("Tasmania", "x")]


def test_a_partition_of_one_period_is_forecast_by_the_fallback(tmp_path):
    """Alone it could not infer a frequency; inferred once on all the data, every partition
    is read on the same grid and this one gets the fallback, as in one fit of all series."""
    df = panel(n_industries=1)
    new = df.tail(1).assign(State="Tasmania", Turnover=12.5)
    many = AutoML(settings()).fit_many(pd.concat([df, new]), PARTITION_BY,
                                       output_dir=tmp_path, workers=1)
    board = many.leaderboard().set_index("State")
    assert (board["status"] == "completed").all() and board.loc["Tasmania", "best_learner"] == \
        "fallback"
    forecast = many.forecast()
    assert (forecast.loc[forecast["State"] == "Tasmania", "forecast"] == 12.5).all()


RESUMED = textwrap.dedent("""
    import sys
    from tests.many.test_many_models import PARTITION_BY, panel, settings
    from tsauto import AutoML
    AutoML(settings()).fit_many(panel(n_industries=2), PARTITION_BY, output_dir=sys.argv[1],
                                workers=1)
""")


def test_a_killed_run_resumes_without_refitting_finished_partitions(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.getcwd(), "TSAUTO_TEST_KILL_AT": "many:2"}
    killed = subprocess.run([sys.executable, "-c", RESUMED, str(tmp_path)], env=env,
                            capture_output=True, text=True, timeout=300)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert not (tmp_path / "index.parquet").exists()
    stopped = ManyModels.load(tmp_path).leaderboard()  # from the partitions' own records
    assert stopped["status"].value_counts().to_dict() == {"completed": 2, "not run": 2}
    done = stopped.loc[stopped["status"] == "completed", "Industry"].tolist()
    models = {p: p.stat().st_mtime_ns for p in tmp_path.glob("partitions/*/model.pkl")}

    many = AutoML(settings()).fit_many(panel(n_industries=2), PARTITION_BY,
                                       output_dir=tmp_path, workers=1)
    board = many.leaderboard()
    assert (board["status"] == "completed").all()
    assert board.loc[board["reused"], "Industry"].tolist() == done
    assert all(p.stat().st_mtime_ns == t for p, t in models.items())  # not refitted
    # A rerun of a finished fit does nothing new.
    again = AutoML(settings()).fit_many(panel(n_industries=2), PARTITION_BY,
                                        output_dir=tmp_path, workers=1)
    assert again.leaderboard()["reused"].all()


def test_save_load_and_backtest(local, tmp_path):
    copy = local.save(tmp_path / "copy")
    loaded = ManyModels.load(copy)
    pd.testing.assert_frame_equal(loaded.forecast(), local.forecast())
    pd.testing.assert_frame_equal(loaded.leaderboard(), local.leaderboard())
    result = loaded.backtest()
    assert len(result.by_partition) == 6 and result.by_partition.columns[:2].tolist() == PARTITION_BY
    assert set(result.by_series["State"]) == {"Victoria", "Queensland"}


def test_wrong_arguments_name_what_is_wrong(local, tmp_path):
    automl = AutoML(settings())
    with pytest.raises(SettingsError, match="'Stat'.*State"):
        automl.fit_many(panel(), ["Stat"], output_dir=tmp_path)
    with pytest.raises(SettingsError, match="engine 'daks'.*dask"):
        automl.fit_many(panel(), PARTITION_BY, engine="daks", output_dir=tmp_path / "x")
    with pytest.raises(SettingsError, match="output_dir"):
        automl.fit_many(panel(), PARTITION_BY)
    with pytest.raises(SettingsError, match="other settings.*horizon"):  # no silent mix
        AutoML(settings(horizon=3)).fit_many(panel(), PARTITION_BY, output_dir=local.folder)
    df = panel()
    df.loc[3, "State"] = None
    with pytest.raises(DataError, match="missing in 1 row"):
        automl.fit_many(df, PARTITION_BY, output_dir=tmp_path / "y")


def test_cli_fit_partition_by_then_forecast_the_folder(tmp_path):
    data = tmp_path / "retail.csv"
    panel(n_industries=1).to_csv(data, index=False)
    common = ["--time", "Month", "--target", "Turnover", "--grain", "State,Industry",
              "--horizon", "6", "--allowed-models", "naive,seasonal_naive", "--max-trials", "2",
              "--n-cross-validations", "1", "--verbosity", "0"]
    fitted = tsauto("fit", data, *common, "--partition-by", "State", "--workers", "1",
                    "--out", tmp_path / "many")
    assert fitted.returncode == 0, fitted.stderr
    assert "2 partitions have a model, 0 failed" in fitted.stdout
    result = tsauto("forecast", tmp_path / "many", "--out", tmp_path / "f.csv")
    assert result.returncode == 0, result.stderr
    frame = pd.read_csv(tmp_path / "f.csv")
    assert sorted(frame["State"].unique()) == ["Queensland", "Victoria"] and len(frame) == 12

    wrong = tsauto("fit", data, *common, "--partition-by", "State", "--engine", "daks",
                   "--out", tmp_path / "x")
    one_line_error(wrong, "engine 'daks'", "dask")


def test_cli_partition_options_are_refused_for_tables_and_a_board_of_failures_is_an_error(
        tmp_path):
    from typer.testing import CliRunner

    from tsauto.cli import app
    from tsauto.errors import NoModelError

    refused = CliRunner().invoke(app, ["fit", "titanic", "--task", "classification",
                                       "--partition-by", "Sex", "--out", str(tmp_path / "t")])
    assert isinstance(refused.exception, SettingsError)
    assert "a classification fit learns one model per table" in str(refused.exception)
    data = tmp_path / "dup.csv"  # every partition repeats its timestamps: each fails
    frame = panel(n_industries=1)
    pd.concat([frame, frame]).to_csv(data, index=False)
    failed = CliRunner().invoke(app, [
        "fit", str(data), "--time", "Month", "--target", "Turnover", "--grain", "State,Industry",
        "--horizon", "6", "--allowed-models", "naive", "--max-trials", "1", "--verbosity", "0",
        "--partition-by", "State", "--workers", "1", "--out", str(tmp_path / "many")])
    assert isinstance(failed.exception, NoModelError)
    assert "no partition has a model: all 2 failed" in str(failed.exception)
