"""The tabular featurizer (on top of the shared column-type detection) and the scalers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_iris
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline

from tsauto.data.column_types import detect_column_types
from tsauto.errors import ColumnNotFoundError, SettingsError
from tsauto.features.tabular import SCALERS, TabularFeaturizer, make_scaler

WORDS = ("great", "poor", "fast", "slow", "cheap", "pricey", "friendly", "rude", "clean",
         "noisy", "would", "buy", "again", "never", "value", "quality")


def make_table(n: int = 300, seed: int = 0) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """Seeded frame with every column kind and ~10% missing values, plus a 3-class string
    target (imbalanced) and a numeric target."""
    rng = np.random.default_rng(seed)
    age = rng.normal(40, 12, n)
    income = rng.lognormal(10, 0.5, n)
    colour = rng.choice(["red", "green", "blue", "black"], n, p=[0.4, 0.3, 0.2, 0.1])
    city = np.array([f"city{i:03d}" for i in rng.integers(0, 80, n)])
    grade = np.array([f"g{i:02d}" for i in rng.integers(0, 20, n)])
    member = rng.choice(["yes", "no"], n)
    created = pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 900, n), unit="D")
    review = [" ".join(rng.choice(WORDS, rng.integers(4, 9))) for _ in range(n)]
    frame = pd.DataFrame({
        "row_id": np.arange(1, n + 1), "age": age, "income": income, "colour": colour,
        "city": city, "grade": grade, "member": member, "created": created,
        "review": review, "source": "web"})
    for col in ("age", "income", "colour", "city", "member", "created", "review"):
        frame.loc[rng.random(n) < 0.1, col] = np.nan
    score = (0.05 * np.nan_to_num(age, nan=40) + (colour == "red") * 1.5 + (member == "yes")
             + np.char.count(np.array(review, dtype=str), "great") + rng.normal(0, 0.5, n))
    label = pd.Series(np.where(score > 4.5, "high", np.where(score > 3.0, "mid", "low")))
    label[rng.choice(n, 8, replace=False)] = "rare"   # an imbalanced fourth class
    return frame, label, pd.Series(score * 10.0)


@pytest.fixture(scope="module")
def table():
    return make_table()


def test_detects_every_kind(table):
    X, _, _ = table
    kinds = {c: i.kind for c, i in detect_column_types(X).items()}
    assert kinds == {"row_id": "id", "age": "numeric", "income": "numeric",
                     "colour": "categorical", "city": "categorical", "grade": "categorical",
                     "member": "boolean", "created": "datetime", "review": "text",
                     "source": "constant"}
    info = detect_column_types(X)["colour"]
    assert info.cardinality == 4 and 0.03 < info.missing_share < 0.2


def test_date_strings_are_read_with_one_format():
    dates = pd.date_range("2020-01-01", periods=40, freq="5D")
    frame = pd.DataFrame({"when": dates.strftime("%d/%m/%Y"), "x": np.arange(40) * 0.5})
    featurizer = TabularFeaturizer().fit(frame)
    out = pd.DataFrame(featurizer.transform(frame), columns=featurizer.feature_names_)
    # 01/02/2020 is the first of February here, as 13/02/2020 proves.
    assert np.array_equal(out["when.month"], dates.month)
    assert np.array_equal(out["when.day"], dates.day)


def test_summary_explains_every_column(table):
    X, y, _ = table
    featurizer = TabularFeaturizer(max_onehot=10, max_ordinal=50, text_max_features=40)
    featurizer.fit(X, y)
    summary = featurizer.summary().set_index("column")
    assert list(summary.index) == list(X.columns)
    assert summary.loc["row_id", "action"] == "dropped"
    assert "identifier" in summary.loc["row_id", "reason"] or "counter" in summary.loc[
        "row_id", "reason"]
    assert summary.loc["source", "action"] == "dropped"
    assert summary.loc["age", "action"] == "median imputation + missing indicator"
    assert summary.loc["colour", "action"] == "one-hot (4 levels)"
    assert summary.loc["grade", "action"] == "ordinal (20 levels)"
    assert summary.loc["city", "action"].startswith("target encoding")
    assert summary.loc["review", "action"].startswith("TF-IDF")
    assert summary["n_features"].sum() == len(featurizer.get_feature_names_out())


def test_output_is_dense_finite_with_readable_names(table):
    X, y, _ = table
    featurizer = TabularFeaturizer(text_max_features=40)
    out = featurizer.fit_transform(X, y)
    names = list(featurizer.get_feature_names_out())
    assert out.dtype == np.float64 and out.shape == (len(X), len(names))
    assert np.isfinite(out).all()
    for name in ("age", "missingindicator_age", "colour=red", "colour=missing", "member",
                 "created.month", "review: great", "city (target enc. high)"):
        assert name in names
    assert "created.hour" not in names      # all midnight
    assert featurizer.feature_to_column_["missingindicator_age"] == "age"
    assert featurizer.feature_to_column_["review: great"] == "review"
    assert set(featurizer.feature_to_column_) == set(names)
    # Refitting gives the same names and values.
    again = TabularFeaturizer(text_max_features=40)
    assert np.array_equal(again.fit_transform(X, y), out)
    assert list(again.get_feature_names_out()) == names


def test_unseen_values_and_extra_columns_do_not_crash(table):
    X, y, _ = table
    featurizer = TabularFeaturizer(text_max_features=40).fit(X, y)
    new = X.head(5).copy()
    new["colour"] = "purple"
    new["city"] = "atlantis"
    new["grade"] = "g99"
    new["member"] = "maybe"
    for col in ("age", "created", "review"):
        new[col] = np.nan
    new["unseen"] = 1.0
    out = featurizer.transform(new.drop(columns=["row_id", "source"]))
    assert out.shape == (5, len(featurizer.feature_names_)) and np.isfinite(out).all()
    names = list(featurizer.feature_names_)
    colour = [i for i, n in enumerate(names) if n.startswith("colour=")]
    assert (out[:, colour] == 0).all()                       # unknown level: all zeros
    assert (out[:, names.index("grade")] == -1).all()        # unknown ordinal: -1
    assert (out[:, names.index("missingindicator_age")] == 1).all()


def test_missing_column_is_named(table):
    X, y, _ = table
    featurizer = TabularFeaturizer(text_max_features=40).fit(X, y)
    with pytest.raises(ColumnNotFoundError, match="income"):
        featurizer.transform(X.drop(columns=["income"]))


def test_target_encoding_is_cross_fitted(table):
    X, _, score = table
    featurizer = TabularFeaturizer(text_max_features=40, target_type="continuous")
    train = featurizer.fit_transform(X, score)
    names = list(featurizer.feature_names_)
    col = names.index("city (target enc.)")
    assert not np.allclose(train[:, col], featurizer.transform(X)[:, col])
    # A row's training encoding does not move when only its own target changes.
    changed = score.copy()
    changed.iloc[7] += 1000.0
    again = TabularFeaturizer(text_max_features=40, target_type="continuous")
    assert again.fit_transform(X, changed)[7, col] == pytest.approx(train[7, col])


def test_without_target_high_cardinality_falls_back_to_ordinal(table):
    X, _, _ = table
    featurizer = TabularFeaturizer(text_max_features=40).fit(X)
    summary = featurizer.summary().set_index("column")
    assert summary.loc["city", "action"].startswith("ordinal (")
    assert "city" in featurizer.feature_names_


@pytest.mark.parametrize("name", sorted(SCALERS))
def test_every_scaler_runs_in_a_pipeline(name):
    X, y = load_iris(return_X_y=True, as_frame=True)
    width = TabularFeaturizer().fit_transform(X).shape[1]
    pipe = Pipeline([("featurize", TabularFeaturizer()),
                     ("scale", make_scaler(name, n_features_hint=width)), ("model", Ridge())])
    pred = pipe.fit(X, y).predict(X)
    assert pred.shape == (len(X),) and np.isfinite(pred).all()


def test_unknown_scaler_names_the_valid_ones():
    with pytest.raises(SettingsError, match="standard") as err:
        make_scaler("zscore")
    assert all(name in str(err.value) for name in SCALERS)
