"""Column-type detection: the one set of rules for the tabular dataset, guardrails, featurizer."""

import numpy as np
import pandas as pd
import pytest

from tsauto.data.column_types import (
    DROPPED,
    KINDS,
    detect_column_types,
    parse_binary,
    parse_dates,
    parse_numbers,
)
from tsauto.errors import DataError


def kinds(frame: pd.DataFrame, target=None) -> dict:
    return {c: i.kind for c, i in detect_column_types(frame, target=target).items()}


def test_detection_rules_on_small_cases():
    n = 40
    frame = pd.DataFrame({
        "flag": [True, False] * (n // 2),
        "zero_one": [0, 1] * (n // 2),
        "code": [f"c{i}" for i in range(n)],
        "when": pd.date_range("2020-01-01", periods=n).astype(str),
        "as_text": [str(i * 1.5) for i in range(n)],
        "empty": [np.nan] * n,
        "label": ["a", "b"] * (n // 2)})
    assert kinds(frame, target="label") == {
        "flag": "boolean", "zero_one": "boolean", "code": "id", "when": "datetime",
        "as_text": "numeric", "empty": "empty"}


def test_more_rules():
    n = 30
    frame = pd.DataFrame({
        "ident": [f"id{i:04d}" for i in range(n)],
        "ab": ["a", "b"] * 15,
        "yes_no": ["Yes", "no"] * 15,
        "stamp": pd.date_range("2020", periods=n),
        "words": [f"a b {i}" for i in range(n)],
        "none": pd.Series([None] * n, dtype=object),
        "site": ["A"] * (n - 1) + [None],              # constant, missing values aside
        "counter": np.random.default_rng(0).permutation(n) + 100,   # a row counter, shuffled
        "gappy": np.arange(n) * 2,                      # distinct integers, not consecutive
        "level": pd.Categorical([f"l{i}" for i in range(n)]),
    })
    assert kinds(frame) == {
        "ident": "id", "ab": "categorical", "yes_no": "boolean", "stamp": "datetime",
        "words": "text", "none": "empty", "site": "constant", "counter": "id",
        "gappy": "numeric", "level": "id"}
    assert set(DROPPED) < set(KINDS)
    # Under 20 rows, distinct values say nothing about an identifier.
    assert kinds(frame.head(10))["ident"] == "categorical"
    assert kinds(frame.head(10))["counter"] == "numeric"


def test_column_info_fields():
    frame = pd.DataFrame({"colour": ["red", "blue", None, "red"] * 10,
                          "when": pd.date_range("2020-01-01", periods=40).strftime("%d/%m/%Y")})
    info = detect_column_types(frame)
    assert (info["colour"].cardinality, info["colour"].missing_share) == (2, 0.25)
    assert info["colour"].reason == "2 levels" and info["colour"].date_format is None
    # One format for the whole column, found once: day first, as 13/01/2020 proves.
    assert info["when"].kind == "datetime" and info["when"].date_format == "%d/%m/%Y"
    with pytest.raises(DataError, match="expects a pandas DataFrame"):
        detect_column_types(frame["colour"])


def test_parsers():
    assert parse_binary(pd.Series([" Yes", "no", None, "maybe"])).tolist()[:2] == [1.0, 0.0]
    assert parse_binary(pd.Series([True, False])).tolist() == [1.0, 0.0]
    assert parse_numbers(pd.Series(["1.5", "x", None])).tolist()[0] == 1.5
    assert parse_numbers(pd.Series(["1.5", "x", None])).isna().tolist() == [False, True, True]
    dates = parse_dates(pd.Series(["01/02/2020", "13/02/2020", "junk"]), "%d/%m/%Y")
    assert dates.dt.month.tolist()[:2] == [2, 2] and dates.isna().tolist()[2]
    aware = pd.Series(pd.date_range("2020-01-01 12:00", periods=2, tz="Europe/Oslo"))
    assert parse_dates(aware).dt.tz is None and parse_dates(aware).dt.hour.tolist() == [11, 11]
