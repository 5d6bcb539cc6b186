import json

import numpy as np
import pandas as pd
import pytest

from tests.conftest import make_panel
from tsauto import TimeSeriesDataset, run_guardrails
from tsauto.data import FILLED, SERIES_ID
from tsauto.data.guardrails import required_length, validation_windows, windows_filled

ROLES = dict(time_column="date", target_column="sales", grain_columns=["store"])
CHECKS = ["time_parsing", "frequency", "duplicates", "missing_periods", "non_finite",
          "missing_target", "short_series", "early_end", "missing_features", "constant_series",
          "high_cardinality", "candidate_grains", "memory"]


def build(frame, **kw):
    return TimeSeriesDataset(frame, **{**ROLES, **kw})


def test_clean_data_passes_every_check(panel):
    ds, report = run_guardrails(build(panel), horizon=6)
    assert [r.check for r in report.results] == CHECKS
    assert {r.status for r in report.results} == {"passed"}
    assert len(ds) == len(panel)


def test_report_is_json_and_table(panel):
    _, report = run_guardrails(build(panel.drop(index=[3])), horizon=6)
    data = json.loads(report.to_json())
    assert data["status"] == "passed"
    first = {r["check"]: r for r in data["results"]}["missing_periods"]
    assert first["status"] == "fixed" and first["affected_series"] == 1 and first["rows"] == 1
    table = report.to_frame()
    assert list(table.columns) == ["check", "status", "series", "rows", "message", "fix"]
    assert "missing_periods" in str(report)


def test_missing_target_interpolated_exactly(panel):
    gappy = panel.copy()
    gappy.loc[[10, 11], "sales"] = np.nan            # inside: interpolated
    gappy = gappy.drop(index=[20])                   # missing period: inserted then interpolated
    gappy.loc[47, "sales"] = np.nan                  # last value of s0: carried forward
    gappy.loc[[48, 49], "sales"] = np.nan            # first values of s1: dropped
    ds, report = run_guardrails(build(gappy), horizon=3)
    result = report["missing_target"]
    assert result.status == "fixed" and result.rows == 6
    assert "2 leading rows" in result.fix
    y = ds.frame[ds.frame[SERIES_ID] == "s0"]["sales"].to_numpy()
    original = panel["sales"].to_numpy()
    np.testing.assert_allclose(y[10:12], original[9] + (original[12] - original[9]) * np.array([1, 2]) / 3)
    np.testing.assert_allclose(y[20], (original[19] + original[21]) / 2)
    assert y[47] == original[46]
    assert ds.lengths[1] == 46
    assert not ds.frame["sales"].isna().any()


def short_panel():
    return pd.concat([make_panel(n_series=2, length=40), make_panel(n_series=1, length=10)
                      .assign(store="short"), make_panel(n_series=1, length=5).assign(store="tiny")])


def test_short_series_auto_keeps_every_series():
    # horizon 6, 2 windows: 'short' (10) fills the last window only, 'tiny' (5) none
    ds = build(short_panel())
    kept, report = run_guardrails(ds, horizon=6, n_cross_validations=2)
    result = report["short_series"]
    assert list(kept.series_ids) == list(ds.series_ids) and len(kept) == len(ds)
    assert result.status == "fixed" and result.series == ["short", "tiny"]
    assert "1 are validated on the windows they can fill (1 to 2 of 2)" in result.message
    assert "sit out the search: 'tiny'" in result.message
    assert "fallback" in result.fix and not report.failed


def test_short_series_validated_on_fewer_windows_is_an_alert():
    ds = build(short_panel().query("store != 'tiny'"))
    _, report = run_guardrails(ds, horizon=6, n_cross_validations=2)
    assert report["short_series"].status == "alert" and report["short_series"].series == ["short"]


def test_every_series_too_short_is_reported_not_padded():
    ds = build(make_panel(n_series=2, length=8))
    kept, report = run_guardrails(ds, horizon=6)
    assert report["short_series"].status == "fixed" and len(kept) == len(ds)
    assert "every series is forecast by the fallback" in report["short_series"].message


def test_windows_filled_matches_the_folds():
    from tsauto.evaluation.splits import rolling_origin

    ds = build(short_panel())
    filled = windows_filled(ds.lengths, 6, 3, 4)
    assert list(filled) == [3, 3, 1, 0]
    folds = rolling_origin(ds, 6, 3, 4)
    taking_part = [set(ds.series_ids) - set(f.skipped_series) for f in folds]
    for sid, n in zip(ds.series_ids, filled):
        assert sum(sid in part for part in taking_part) == n
        assert all(sid in part for part in taking_part[3 - n:])  # the latest windows


def test_short_series_drop_pad_fail():
    frame = pd.concat([make_panel(n_series=2, length=40), make_panel(n_series=1, length=10)
                       .assign(store="short")])
    need = required_length(6, 2)
    assert need == 18
    ds = build(frame)
    dropped, report = run_guardrails(ds, horizon=6, n_cross_validations=2,
                                     short_series_handling="drop")
    assert report["short_series"].status == "fixed" and report["short_series"].series == ["short"]
    assert list(dropped.series_ids) == ["s0", "s1"]

    padded, report = run_guardrails(ds, horizon=6, n_cross_validations=2,
                                    short_series_handling="pad")
    short = padded.frame[padded.frame[SERIES_ID] == "short"]
    assert len(short) == need and short[FILLED].sum() == need - 10
    assert (short["sales"].iloc[: need - 10] == 0).all()
    assert short["date"].is_monotonic_increasing
    assert short["date"].iloc[need - 10] == pd.Timestamp("2020-01-01")

    _, report = run_guardrails(ds, horizon=6, n_cross_validations=2, short_series_handling="fail")
    assert report["short_series"].status == "failed" and report.failed


def test_auto_windows_are_resolved_as_fit_resolves_them():
    ds = build(short_panel())  # median length 25: 3 windows of 8 would need 16 + 16
    assert validation_windows(ds, 8) == (2, 8)
    _, auto = run_guardrails(ds, horizon=8)
    _, two = run_guardrails(ds, horizon=8, n_cross_validations=2)
    _, one = run_guardrails(ds, horizon=8, n_cross_validations=1)
    assert auto["short_series"].message == two["short_series"].message
    assert auto["short_series"].message != one["short_series"].message


def test_series_ending_early_are_reported_with_their_last_period():
    frame = pd.concat([make_panel(n_series=2, length=40),
                       make_panel(n_series=2, length=30, seed=1).assign(
                           store=lambda f: f.store.map({"s0": "qld_a", "s1": "qld_b"}))])
    _, report = run_guardrails(build(frame), horizon=6)
    result = report["early_end"]
    assert result.status == "alert" and result.series == ["qld_a", "qld_b"]
    assert "'qld_a', 'qld_b' end 2022-06-01" in result.message
    assert "latest period 2023-04-01" in result.message and result.rows == 60
    _, clean = run_guardrails(build(make_panel()), horizon=6)
    assert clean["early_end"].status == "passed"


def test_constant_series_alert(panel):
    frame = panel.copy()
    frame.loc[frame.store == "s2", "sales"] = 7.0
    _, report = run_guardrails(build(frame), horizon=3)
    assert report["constant_series"].status == "alert"
    assert report["constant_series"].series == ["s2"]


def test_missing_features_and_high_cardinality(panel):
    frame = panel.assign(price=np.where(np.arange(len(panel)) % 10 == 0, np.nan, 1.0),
                         code=[f"c{i}" for i in range(len(panel))])
    _, report = run_guardrails(build(frame, known_covariates=["price", "code"]), horizon=3)
    assert report["missing_features"].status == "alert"
    assert "'price': 15" in report["missing_features"].message
    assert report["high_cardinality"].status == "alert"
    assert "'code' (144 values)" in report["high_cardinality"].message


def test_candidate_grains_reported_when_aggregating(panel):
    ds = TimeSeriesDataset(panel, time_column="date", target_column="sales", target_aggregation="sum")
    assert ds.n_series == 1
    _, report = run_guardrails(ds, horizon=3)
    assert report["candidate_grains"].status == "alert"
    assert "'store'" in report["candidate_grains"].message


def test_memory_estimate(panel):
    _, report = run_guardrails(build(panel), horizon=3)
    assert "MiB" in report["memory"].message and "available" in report["memory"].message


@pytest.mark.parametrize("cv,step,expected", [(1, None, 12), (3, None, 24), (3, 1, 14)])
def test_required_length(cv, step, expected):
    assert required_length(6, cv, step) == expected


def test_series_without_any_target_value_is_named_as_dropped():
    from tsauto import datasets

    frame = datasets.load_frame("aus_accommodation")
    frame.loc[frame.State == "Tasmania", "Takings"] = np.nan
    # Leading gaps of a series that has data drop rows, not the series.
    frame.loc[frame.index[frame.State == "Victoria"][:3], "Takings"] = np.nan
    ds = TimeSeriesDataset(frame, time_column="Date", target_column="Takings",
                           grain_columns=["State"])
    out, report = run_guardrails(ds, horizon=4)
    result = report["missing_target"]
    assert result.dropped_series == ("Tasmania",) and "Tasmania" in result.series
    assert "no target value at all in series 'Tasmania': dropped" in result.message
    assert "1 series with no target value dropped whole (74 of those rows)" in result.fix
    assert json.loads(report.to_json())["results"][5]["dropped_series"] == ["Tasmania"]
    assert "Tasmania" not in out.series_ids and out.n_series == ds.n_series - 1
    assert len(out) == len(ds) - int((frame.State == "Tasmania").sum()) - 3
    _, report = run_guardrails(ds.only(ds.series_ids != "Tasmania"), horizon=4)
    assert report["missing_target"].dropped_series == ()
    assert "no target value" not in report["missing_target"].message


def test_dropped_short_series_are_named_as_dropped():
    _, report = run_guardrails(build(short_panel()), horizon=6,
                               short_series_handling="drop")
    assert report["short_series"].dropped_series == ("short", "tiny")
