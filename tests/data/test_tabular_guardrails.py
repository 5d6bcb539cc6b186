"""Tabular guardrails on the bundled titanic set and on seeded synthetic frames."""

import json

import numpy as np
import pandas as pd
import pytest

from tsauto import datasets
from tsauto.data.tabular import TabularDataset
from tsauto.data.tabular_guardrails import (
    TabularGuardrailReport,
    apply_fixes,
    run_tabular_guardrails,
)
from tsauto.errors import DataError, SettingsError
from tsauto.features.tabular import TabularFeaturizer

CHECKS = ["missing_target", "too_few_rows", "class_imbalance", "missing_values",
          "constant_columns", "high_cardinality", "target_leakage"]


def synthetic(n=300, seed=0):
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    y = np.where(x1 + 0.8 * x2 + rng.normal(scale=1.0, size=n) > 0, "yes", "no")
    return pd.DataFrame({"x1": x1, "x2": x2, "colour": rng.choice(["red", "green", "blue"], n),
                         "label": y})


def test_clean_data_passes_every_check():
    report = run_tabular_guardrails(TabularDataset(synthetic(), "label", "classification"))
    assert [r.check for r in report.results] == CHECKS
    assert {r.status for r in report.results} == {"passed"}
    report.raise_if_failed()


def test_bundled_titanic_report():
    report = run_tabular_guardrails(datasets.load("titanic"))
    status = {r.check: r.status for r in report.results}
    assert status == {"missing_target": "passed", "too_few_rows": "passed",
                      "class_imbalance": "passed", "missing_values": "alert",
                      "constant_columns": "passed", "high_cardinality": "alert",
                      "target_leakage": "passed"}
    assert report["missing_values"].columns == ["PClass", "Age"]
    assert "'Age': 557 (42.4%)" in report["missing_values"].message
    assert report["missing_values"].rows == 557   # the passenger of unknown class has no age
    card = report["high_cardinality"]
    assert card.columns == ["Name"] and "free text" in card.message


def test_planted_leak_is_flagged_by_name():
    frame = synthetic()
    rng = np.random.default_rng(1)
    # A copy of the label written differently, and a noisy numeric code of it.
    frame["status_code"] = np.where(frame["label"] == "yes", "APPROVED", "DECLINED")
    frame["score"] = (frame["label"] == "yes") * 10 + rng.normal(scale=0.5, size=len(frame))
    report = run_tabular_guardrails(TabularDataset(frame, "label", "classification"))
    leak = report["target_leakage"]
    assert leak.status == "alert" and leak.columns == ["status_code", "score"]
    assert "'status_code' (balanced accuracy 1.000)" in leak.message
    assert "x1" not in leak.message and "drop_columns" in leak.message


def test_planted_leak_in_regression():
    rng = np.random.default_rng(2)
    n = 400
    x = rng.normal(size=n)
    y = 3 * x + rng.normal(size=n)
    frame = pd.DataFrame({"x": x, "y": y, "y_times_two": 2 * y + rng.normal(scale=0.01, size=n),
                          "noise": rng.normal(size=n)})
    leak = run_tabular_guardrails(TabularDataset(frame, "y", "regression"))["target_leakage"]
    assert leak.columns == ["y_times_two"] and "R2" in leak.message


def test_constant_columns_reported_and_dropped():
    frame = synthetic().assign(site="A", empty=np.nan)
    ds = TabularDataset(frame, "label", "classification")
    report = run_tabular_guardrails(ds)
    const = report["constant_columns"]
    assert const.status == "fixed" and const.columns == ["site", "empty"]
    assert "'site'" in const.message and "dropped" in const.fix
    fixed = apply_fixes(ds, report)
    assert list(fixed.X.columns) == ["x1", "x2", "colour"] and "site" in ds.X.columns
    assert report["target_leakage"].status == "passed"


def test_imbalance_alerts_and_single_row_class_fails():
    frame = synthetic(n=200)
    frame["label"] = np.where(np.arange(200) < 12, "rare", "common")
    report = run_tabular_guardrails(TabularDataset(frame, "label", "classification"))
    result = report["class_imbalance"]
    assert result.status == "alert" and result.columns == ["rare"]
    assert "'rare': 12" in result.message and "'common': 188" in result.message
    assert "class weights are offered to learners" in result.message

    frame.loc[0, "label"] = "single"
    report = run_tabular_guardrails(TabularDataset(frame, "label", "classification"))
    result = report["class_imbalance"]
    assert result.status == "failed" and result.columns == ["single"]
    with pytest.raises(DataError, match="'single'"):
        report.raise_if_failed()


def test_missing_target_and_values_and_cardinality():
    frame = synthetic(n=120)
    frame.loc[[1, 5], "label"] = None
    frame.loc[[2, 3, 4], "x1"] = np.nan
    frame["customer"] = [f"c{i:05d}" for i in range(len(frame))]
    frame["zip"] = [f"z{10_000 + i % 60}" for i in range(len(frame))]
    report = run_tabular_guardrails(TabularDataset(frame, "label", "classification"))
    missing = report["missing_target"]
    assert missing.status == "fixed" and missing.rows == 2 and "1, 5" in missing.message
    values = report["missing_values"]
    assert values.status == "alert" and values.columns == ["x1"] and values.rows == 3
    card = report["high_cardinality"]
    assert card.status == "alert" and card.columns == ["customer", "zip"]
    assert "identifier-like" in card.message and "'customer'" in card.message
    assert "target-encoded" in card.message and "'zip' (60 values" in card.message


def test_too_few_rows_fails():
    frame = synthetic(n=9)
    frame["label"] = ["a", "b"] * 4 + ["a"]
    ds = TabularDataset(frame, "label", "classification")
    report = run_tabular_guardrails(ds, n_folds=5)
    result = report["too_few_rows"]
    assert result.status == "failed" and "fewer than the 10 (2 * n_folds)" in result.message
    assert run_tabular_guardrails(ds, n_folds=3)["too_few_rows"].status == "passed"
    with pytest.raises(SettingsError, match="n_folds must be an integer >= 2, got 1"):
        run_tabular_guardrails(ds, n_folds=1)


def test_report_json_round_trip_and_table():
    frame = synthetic().assign(site="A")
    frame.loc[0, "label"] = None
    report = run_tabular_guardrails(TabularDataset(frame, "label", "classification"))
    data = json.loads(report.to_json())
    assert data["status"] == "passed"
    first = data["results"][0]
    assert set(first) == {"check", "status", "message", "series", "rows", "fix",
                          "affected_series", "columns"}
    back = TabularGuardrailReport.from_dict(data)
    assert back.to_dict() == report.to_dict()
    assert back["constant_columns"].columns == ["site"]
    table = report.to_frame()
    assert list(table.columns) == ["check", "status", "columns", "rows", "message", "fix"]
    assert "constant_columns" in str(report)


def test_guardrails_and_featurizer_agree_on_dropped_columns():
    frame = synthetic(n=120)
    frame["row"] = np.arange(len(frame))[::-1]               # a row counter
    frame["customer"] = [f"c{i:05d}" for i in range(len(frame))]
    frame["site"] = ["A"] * (len(frame) - 1) + [None]        # constant, missing values aside
    frame["blank"] = None
    frame["zip"] = [str(10_000 + i % 60) for i in range(len(frame))]   # numbers as text
    ds = TabularDataset(frame, "label", "classification")
    report = run_tabular_guardrails(ds)
    constant, card = report["constant_columns"], report["high_cardinality"]
    assert constant.status == "fixed" and constant.columns == ["site", "blank"]
    assert card.columns == ["row", "customer"] and "dropped by featurization" in card.message
    assert report["target_leakage"].status == "passed"

    summary = TabularFeaturizer().fit(ds.X, ds.y).summary().set_index("column")
    dropped = summary.index[summary["action"] == "dropped"].tolist()
    assert dropped == ["row", "customer", "site", "blank"]
    assert summary["kind"].to_dict() == ds.column_kinds()
    assert summary.loc["zip", "kind"] == "numeric"   # read as numbers by both: not flagged
    assert list(apply_fixes(ds, report).X.columns) == ["x1", "x2", "colour", "row", "customer",
                                                       "zip"]
