"""Calibrated intervals (tsauto/evaluation/calibration.py) on seeded series with known noise."""

import numpy as np
import pandas as pd
import pytest

from tsauto import AutoML, ForecastSettings, load_model
from tsauto.evaluation.calibration import conformal_ranks

N_SERIES, LENGTH, HORIZON = 400, 36, 4


def noisy_panel(seed: int) -> pd.DataFrame:
    """Levels of every size plus Gaussian noise of 2-10% of the level: the naive learner's
    random-walk intervals (growing with the step) are far too wide for it."""
    rng = np.random.default_rng(seed)
    n = LENGTH + HORIZON
    level = rng.uniform(20, 500, N_SERIES)[:, None]
    y = level + level * rng.uniform(0.02, 0.1, N_SERIES)[:, None] * rng.standard_normal((N_SERIES, n))
    return pd.DataFrame({"sid": np.repeat([f"s{i}" for i in range(N_SERIES)], n),
                         "date": np.tile(pd.date_range("2015-01-01", periods=n, freq="MS"), N_SERIES),
                         "y": y.ravel()})


@pytest.fixture(scope="module")
def fitted():
    full = noisy_panel(3)
    last = full.groupby("sid").cumcount(ascending=False) < HORIZON
    run = AutoML(ForecastSettings(
        time_column="date", target_column="y", grain_columns=["sid"], horizon=HORIZON,
        allowed_models=["naive"], max_trials=1, enable_voting_ensemble=False,
        enable_stack_ensemble=False, verbosity=0, time_budget=120)).fit(full[~last])
    return run, full[last]


def inside(forecast: pd.DataFrame, fresh: pd.DataFrame, low: str, high: str) -> float:
    joined = forecast.merge(fresh, on=["sid", "date"])
    assert len(joined) == N_SERIES * HORIZON
    return float(((joined["y"] >= joined[low]) & (joined["y"] <= joined[high])).mean())


def test_calibrated_80_interval_covers_80_percent_of_fresh_data(fitted):
    run, fresh = fitted
    model = run.best_model
    assert model.calibration is not None and model.calibration.replaces
    own = inside(model.forecast(calibrated=False), fresh, "q0.1", "q0.9")
    calibrated = inside(model.forecast(), fresh, "q0.1", "q0.9")
    assert own > 0.9                          # the learner's own intervals are too wide
    assert abs(calibrated - 0.8) <= 0.03
    # any level can be asked, also one the search never forecast
    wide = model.forecast(level=[95])
    assert abs(inside(wide, fresh, "q0.025", "q0.975") - 0.95) <= 0.03


def test_calibration_never_changes_the_point_forecast(fitted):
    model = fitted[0].best_model
    calibrated, own = model.forecast(level=[50, 95]), model.forecast(calibrated=False)
    np.testing.assert_array_equal(calibrated["forecast"], own["forecast"])
    bands = calibrated[["q0.025", "q0.25", "q0.5", "q0.75", "q0.975"]].to_numpy()
    assert (np.diff(bands, axis=1) >= 0).all()                # monotone in the quantile
    assert list(calibrated.columns[:5]) == ["series_id", "sid", "date", "step", "forecast"]


def test_save_load_keeps_the_calibration_and_old_files_load(fitted, tmp_path):
    model = fitted[0].best_model
    model.save(tmp_path / "m.pkl")
    pd.testing.assert_frame_equal(load_model(tmp_path / "m.pkl").forecast(), model.forecast())
    # a model saved before calibrations existed has no attribute: its own quantiles
    kept = model.__dict__.pop("calibration")
    try:
        model.save(tmp_path / "old.pkl")
        old = load_model(tmp_path / "old.pkl")
        assert old.calibration is None and "intervals" not in old.explain()
        pd.testing.assert_frame_equal(old.forecast(), model.forecast(calibrated=False))
    finally:
        model.calibration = kept


def test_leaderboard_and_explain_show_interval_quality(fitted):
    run = fitted[0]
    row = run.leaderboard().iloc[0]
    assert {"coverage", "coverage_80", "width", "wql"} <= set(row.index)
    assert row["coverage_80"] > 0.9 and row["width"] > 0
    intervals = run.best_model.explain()["intervals"]
    table = pd.DataFrame(intervals["validation_coverage"])
    assert list(table["nominal"]) == [pytest.approx(0.8)]
    assert table["learner"].iloc[0] == pytest.approx(row["coverage_80"])
    assert abs(table["calibrated"].iloc[0] - 0.8) < 0.05  # cross-fitted: an honest figure
    assert intervals["wql_calibrated"] < intervals["wql_learner"]


def test_conformal_ranks_read_outward():
    # 9 scores: the 0.9 quantile is the ceil(10 * 0.9) = 9th, the 0.1 the floor(1) = 1st
    np.testing.assert_allclose(conformal_ranks(np.array([0.1, 0.5, 0.9]), 9), [0.0, 0.5, 1.0])
    # past the extremes: clipped to the smallest and largest score
    np.testing.assert_allclose(conformal_ranks(np.array([0.01, 0.99]), 9), [0.0, 1.0])


def test_one_series_keeps_its_learner_intervals():
    """Three windows of one series are three draws of its errors, however many steps: too few
    to calibrate on, so the learner's own quantiles are kept and explain() says why."""
    one = noisy_panel(5).query("sid == 's0'")
    model = AutoML(ForecastSettings(
        time_column="date", target_column="y", horizon=HORIZON, allowed_models=["naive"],
        max_trials=1, enable_voting_ensemble=False, enable_stack_ensemble=False, verbosity=0,
        time_budget=120)).fit(one.drop(columns="sid")).best_model
    assert not model.calibration.replaces
    intervals = model.explain()["intervals"]
    # one series: every window, the added calibration windows too, is one more path
    assert intervals["paths"] == intervals["windows"] < 20
    assert f"{intervals['paths']} forecast path(s)" in intervals["method"]
    pd.testing.assert_frame_equal(model.forecast(), model.forecast(calibrated=False))


def test_primary_metric_wql_ranks_trials_and_builds_ensembles():
    small = noisy_panel(6).query("sid in @ids", local_dict={"ids": [f"s{i}" for i in range(20)]})
    run = AutoML(ForecastSettings(
        time_column="date", target_column="y", grain_columns=["sid"], horizon=HORIZON,
        allowed_models=["historic_average", "window_average"], primary_metric="wql", max_trials=2,
        enable_stack_ensemble=False, verbosity=0, time_budget=120)).fit(small)
    board = run.leaderboard()
    assert list(board["status"]) == ["completed"] * 3  # the voting ensemble too
    assert board["wql"].is_monotonic_increasing


def test_backtest_quantiles_are_the_forecasts_calibration(fitted):
    """A backtest scores the intervals forecast() gives: the calibrated ones, read from each
    cutoff's history, unless calibrated=False."""
    run, _ = fitted
    model, data = run.best_model, noisy_panel(3)
    data = data[data.groupby("sid").cumcount(ascending=False) >= HORIZON]  # what it was fit on
    bt = model.backtest(data, n_windows=1)
    # the naive forecast from the cutoff's history is the refitted one's: so are the bands
    expected = model.forecast(data=data[data.groupby("sid").cumcount(ascending=False)
                                        >= HORIZON])
    columns = ["forecast", "q0.1", "q0.9"]
    np.testing.assert_allclose(bt.forecasts[columns].to_numpy(), expected[columns].to_numpy())
    own = model.backtest(data, n_windows=1, calibrated=False).forecasts
    np.testing.assert_array_equal(own["forecast"], bt.forecasts["forecast"])
    assert (own["q0.9"] - own["q0.1"]).mean() > (bt.forecasts["q0.9"] - bt.forecasts["q0.1"]).mean()
    assert bt.coverage["observed"].iloc[0] < own["actual"].between(own["q0.1"], own["q0.9"]).mean()


def test_calibration_windows_calibrate_what_the_search_windows_cannot():
    """16 series and one validation window are 16 forecast paths, too few to calibrate on; the
    winner refitted at more origins before that window gives enough (the newest 7 windows are
    read for the quantiles, all 13 judge them), and its 80% interval
    covers 80% of fresh data (many simulated futures of each series) within 3 points.  The
    noise is heavy-tailed (Student t, 3 degrees of freedom): the learner's normal intervals
    cover far more than 80%."""
    rng = np.random.default_rng(11)
    n_series, n, h = 16, 100, HORIZON
    level = rng.uniform(20, 500, n_series)[:, None]
    sigma = level * rng.uniform(0.02, 0.1, n_series)[:, None]
    y = level + sigma * rng.standard_t(3, (n_series, n))
    frame = pd.DataFrame({"sid": np.repeat([f"s{i:02d}" for i in range(n_series)], n),
                          "date": np.tile(pd.date_range("2010-01-01", periods=n, freq="MS"),
                                          n_series),
                          "y": y.ravel()})
    model = AutoML(ForecastSettings(
        time_column="date", target_column="y", grain_columns=["sid"], horizon=h,
        allowed_models=["historic_average"], max_trials=1, n_cross_validations=1,
        enable_voting_ensemble=False, enable_stack_ensemble=False, verbosity=0,
        time_budget=None)).fit(frame).best_model
    intervals = model.explain()["intervals"]
    assert intervals["added_windows"] == 12 and intervals["windows"] == 13
    assert intervals["paths"] == 13 * n_series and model.calibration.replaces
    # its quantiles are read from the newest windows that hold 100 paths: 7 of 16 series
    assert intervals["quantile_windows"] == 7
    futures = level[:, None, :] + sigma[:, None, :] * rng.standard_t(3, (n_series, 500, h))

    def covered(frame):
        low = frame["q0.1"].to_numpy().reshape(n_series, 1, h)
        high = frame["q0.9"].to_numpy().reshape(n_series, 1, h)
        return ((futures >= low) & (futures <= high)).mean()

    assert covered(model.forecast(calibrated=False)) > 0.85
    assert abs(covered(model.forecast()) - 0.8) <= 0.03


def test_windows_before_lie_before_the_search_windows():
    from tsauto.data.dataset import TimeSeriesDataset
    from tsauto.evaluation.splits import windows_before

    frame = noisy_panel(7).query("sid in ['s0', 's1']")
    frame = frame[~((frame["sid"] == "s1") & (frame["date"] < "2017-01-01"))]  # s1: 16 periods
    ds = TimeSeriesDataset(frame, time_column="date", target_column="y", grain_columns="sid")
    # windows of 4 ending 6 periods before each end, 2 apart, at least 5 periods to train on
    folds = windows_before(ds, 4, 6, 10, 2, min_train=5, first_index=3)
    assert [f.index for f in folds] == list(range(3, 3 + len(folds)))
    ends = ds.frame.groupby("series_id", observed=True)["date"].max()
    last = folds[-1].valid.frame.groupby("series_id", observed=True)["date"].max()
    assert (last == ends - pd.DateOffset(months=6)).all()  # the latest, 6 before each end
    starts = [f.valid.frame["date"].min() for f in folds]
    assert all((b - a).days in range(58, 63) for a, b in zip(starts, starts[1:]))  # 2 apart
    for fold in folds:
        assert fold.train.lengths.min() >= 5
    # s0 (40 periods) fills (40 - 6 - 5 - 4) // 2 + 1 = 13 windows, capped at 10; s1 only 1
    assert len(folds) == 10
    assert sum("s1" in f.valid.series_ids for f in folds) == 1
    assert windows_before(ds, 4, 40, 3, 2) == []  # nothing left before


def test_calibration_windows_stop_when_the_time_is_up():
    """The winner refitted at the windows before the search's takes a minute there: the
    calibration is stopped when the budget's time is up (a few seconds), and the model
    calibrates on the search's window alone."""
    import tests.search.learners_for_tests  # noqa: F401 - registers the test learners

    frame = noisy_panel(9).query("sid in ['s0', 's1', 's2']")
    run = AutoML(ForecastSettings(
        time_column="date", target_column="y", grain_columns=["sid"], horizon=HORIZON,
        allowed_models=["test_slow_before_the_search_windows"], max_trials=1,
        n_cross_validations=1, enable_voting_ensemble=False, enable_stack_ensemble=False,
        verbosity=0, time_budget=10)).fit(frame)
    intervals = run.best_model.explain()["intervals"]
    assert intervals["added_windows"] == 0 and intervals["windows"] == 1


def test_one_long_series_takes_enough_windows_to_calibrate():
    """One series: each window is one forecast path, and 13 windows (what many series get) are
    too few to calibrate on; a long one takes windows up to 40 paths, and its calibrated 80%
    interval covers fresh futures closer to 80% than the learner's normal one (Student t
    noise, 3 degrees of freedom: the normal interval is too wide)."""
    rng = np.random.default_rng(12)
    n, h, level, sigma = 400, HORIZON, 100.0, 5.0
    frame = pd.DataFrame({"date": pd.date_range("2020-01-01", periods=n, freq="D"),
                          "y": level + sigma * rng.standard_t(3, n)})
    model = AutoML(ForecastSettings(
        time_column="date", target_column="y", horizon=h, allowed_models=["historic_average"],
        max_trials=1, n_cross_validations=1, enable_voting_ensemble=False,
        enable_stack_ensemble=False, verbosity=0, time_budget=None)).fit(frame).best_model
    intervals = model.explain()["intervals"]
    assert intervals["windows"] == intervals["paths"] == 40 and model.calibration.replaces
    futures = level + sigma * rng.standard_t(3, (4000, h))

    def covered(forecast):
        return ((futures >= forecast["q0.1"].to_numpy()) &
                (futures <= forecast["q0.9"].to_numpy())).mean()

    own, calibrated = covered(model.forecast(calibrated=False)), covered(model.forecast())
    assert abs(calibrated - 0.8) < abs(own - 0.8) and abs(calibrated - 0.8) <= 0.05


@pytest.mark.parametrize("windows", [1, 3])
def test_validation_coverage_reports_its_spread_across_windows(windows):
    """Every series of a window shares its period's shocks: the lowest and highest coverage
    of one window (each calibrated on the others) say how far a new period's may stray; one
    window is one period, so there is no spread to report."""
    from tsauto import TimeSeriesDataset
    from tsauto.evaluation.calibration import fit_calibration
    from tsauto.evaluation.splits import rolling_origin
    from tsauto.features.spec import FeaturizationSpec
    from tsauto.learners import registry
    from tsauto.search.trial import TrialSpec
    from tsauto.tasks.forecasting import ForecastContext, run_trial

    panel = noisy_panel(7)
    ds = TimeSeriesDataset(panel[panel["sid"].isin([f"s{i}" for i in range(60)])],
                           time_column="date", target_column="y", grain_columns=["sid"])
    folds = rolling_origin(ds, HORIZON, windows, HORIZON)
    context = ForecastContext(HORIZON, (0.1, 0.9), 12, FeaturizationSpec(), 0)
    trial = run_trial(TrialSpec(0, "naive", {}, registry.get("naive")), folds, context)
    row = fit_calibration(trial.oof, folds, context, ds).summary()["validation_coverage"][0]
    if windows == 1:
        assert np.isnan(row["calibrated_min"]) and np.isnan(row["calibrated_max"])
    else:  # the mean over windows lies between them, and the windows differ
        assert row["calibrated_min"] <= row["calibrated"] <= row["calibrated_max"]
        assert row["calibrated_min"] < row["calibrated_max"]
