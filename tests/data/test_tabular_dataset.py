"""TabularDataset: early, named errors; missing targets dropped and counted; a picklable schema."""

import pickle

import numpy as np
import pandas as pd
import pytest

from tsauto import datasets
from tsauto.data.column_types import detect_column_types
from tsauto.data.tabular import TabularDataset, TabularSchema
from tsauto.errors import ColumnNotFoundError, DataError, SettingsError


@pytest.fixture
def frame():
    rng = np.random.default_rng(0)
    n = 40
    return pd.DataFrame({
        "age": rng.integers(18, 80, n).astype(float),
        "city": rng.choice(["Oslo", "Lima", "Pune"], n),
        "note": [f"customer {i} asked about plan {i % 7}" for i in range(n)],
        "price": rng.normal(100, 10, n),
        "churn": rng.choice(["no", "yes"], n),
    })


def test_classification_dataset(frame):
    ds = TabularDataset(frame, "churn", "classification")
    assert ds.task == "classification" and ds.target_column == "churn"
    assert ds.classes == ["no", "yes"] and ds.n_rows == len(frame) == len(ds)
    assert list(ds.X.columns) == ["age", "city", "note", "price"]
    assert ds.y.equals(frame["churn"]) and ds.dropped_target_rows == 0
    assert ds.column_kinds() == {"age": "numeric", "city": "categorical", "note": "text",
                                 "price": "numeric"}
    summary = ds.summary()
    assert summary["classes"] == frame["churn"].value_counts().sort_index().to_dict()
    assert summary["column_kinds"]["text"] == ["note"]


def test_regression_dataset_and_drop_columns(frame):
    ds = TabularDataset(frame, "price", "regression", drop_columns=["note"])
    assert ds.classes is None and ds.y.dtype == "float64"
    assert list(ds.X.columns) == ["age", "city", "churn"]
    assert set(ds.summary()["target"]) == {"mean", "std", "min", "max"}


def test_reads_csv_and_parquet_paths(frame, tmp_path):
    frame.to_csv(tmp_path / "d.csv", index=False)
    frame.to_parquet(tmp_path / "d.parquet")
    for path in (tmp_path / "d.csv", str(tmp_path / "d.parquet")):
        ds = TabularDataset(path, "churn", "classification")
        assert ds.n_rows == len(frame) and ds.classes == ["no", "yes"]
    with pytest.raises(DataError, match="does not exist"):
        TabularDataset(tmp_path / "missing.csv", "churn", "classification")


def test_missing_target_column_suggests_a_name(frame):
    with pytest.raises(ColumnNotFoundError, match="target_column: column 'chrun'.*Did you mean "
                                                  "'churn'"):
        TabularDataset(frame, "chrun", "classification")
    with pytest.raises(ColumnNotFoundError, match="drop_columns: column 'notes'.*'note'"):
        TabularDataset(frame, "churn", "classification", drop_columns=["notes"])


def test_settings_errors(frame):
    with pytest.raises(SettingsError, match="task='forecasting'.*classification, regression"):
        TabularDataset(frame, "churn", "forecasting")
    with pytest.raises(SettingsError, match="drop_columns names the target"):
        TabularDataset(frame, "churn", "classification", drop_columns=["churn"])
    with pytest.raises(DataError, match="no feature columns"):
        TabularDataset(frame[["churn"]], "churn", "classification")


def test_single_class_names_it(frame):
    with pytest.raises(DataError, match="single class \\('no'\\).*at least two"):
        TabularDataset(frame.assign(churn="no"), "churn", "classification")


def test_non_numeric_regression_target_names_a_value(frame):
    with pytest.raises(DataError, match="holds 'no'.*task='classification'"):
        TabularDataset(frame, "churn", "regression")
    with pytest.raises(DataError, match="True/False.*task='classification'"):
        TabularDataset(frame.assign(flag=frame["churn"] == "yes"), "flag", "regression")
    text_numbers = frame.assign(price=frame["price"].round(1).astype(str))
    with pytest.raises(DataError, match="numbers stored as.*pd.to_numeric"):
        TabularDataset(text_numbers, "price", "regression")


@pytest.mark.parametrize("values,rows", [({3: np.inf}, "rows 3"),
                                         ({0: -np.inf, 7: np.inf}, "rows 0, 7")])
def test_infinite_regression_target_names_its_rows(frame, values, rows):
    bad = frame.copy()
    bad.loc[1, "price"] = np.nan  # dropped first: the rows named are the user's own
    for row, value in values.items():
        bad.loc[row, "price"] = value
    with pytest.raises(DataError) as info:
        TabularDataset(bad, "price", "regression")
    assert (f"target column 'price' holds {len(values)} infinite values, at {rows}; regression "
            f"needs finite numbers") in str(info.value)


def test_rows_without_target_are_dropped_and_counted(frame):
    gappy = frame.copy()
    gappy.loc[[3, 7, 8], "churn"] = None
    ds = TabularDataset(gappy, "churn", "classification")
    assert ds.dropped_target_rows == 3 and ds.n_rows == len(frame) - 3
    assert ds.dropped_target_positions.tolist() == [3, 7, 8]
    assert list(ds.X.index) == list(range(ds.n_rows)) and ds.y.index.equals(ds.X.index)
    assert ds.X["age"].tolist() == frame.drop(index=[3, 7, 8])["age"].tolist()
    assert ds.summary()["dropped_target_rows"] == 3
    with pytest.raises(DataError, match="every one of the 40 rows"):
        TabularDataset(frame.assign(churn=None), "churn", "classification")


def test_schema_is_picklable_and_checks_prediction_frames(frame):
    ds = TabularDataset(frame, "churn", "classification")
    schema = pickle.loads(pickle.dumps(ds.schema()))
    assert isinstance(schema, TabularSchema) and schema == ds.schema()
    assert schema.columns == ("age", "city", "note", "price")
    assert dict(schema.dtypes)["age"] == "float64" and schema.classes == ("no", "yes")
    new = frame.drop(columns=["churn"]).iloc[:5][["price", "note", "city", "age"]]
    assert list(schema.validate(new).columns) == list(schema.columns)
    with pytest.raises(ColumnNotFoundError, match="lacks the feature column.*'city'.*Did you "
                                                  "mean 'City'"):
        schema.validate(new.rename(columns={"city": "City"}))


def test_column_kinds_use_the_shared_rules(frame):
    frame = frame.assign(row=np.arange(len(frame)), site="A", blank=None)
    ds = TabularDataset(frame, "churn", "classification")
    assert ds.column_types() == detect_column_types(ds.X)
    assert ds.column_kinds() == {"age": "numeric", "city": "categorical", "note": "text",
                                 "price": "numeric", "row": "id", "site": "constant",
                                 "blank": "empty"}
    assert ds.summary()["column_kinds"] == {"numeric": ["age", "price"], "categorical": ["city"],
                                            "text": ["note"], "id": ["row"],
                                            "constant": ["site"], "empty": ["blank"]}


def test_bundled_titanic_set():
    ds = datasets.load("titanic")
    assert isinstance(ds, TabularDataset)
    assert (ds.task, ds.target_column, ds.classes, ds.n_rows) == ("classification", "Survived",
                                                                  [0, 1], 1313)
    assert ds.column_kinds() == {"Name": "text", "PClass": "categorical", "Age": "numeric",
                                 "Sex": "categorical"}
    assert ds.X.isna().sum().to_dict() == {"Name": 0, "PClass": 1, "Age": 557, "Sex": 0}


def test_duplicate_column_names_are_an_error_naming_them(frame):
    with pytest.raises(DataError, match="duplicate column names: 'price'"):
        TabularDataset(pd.concat([frame, frame[["price"]]], axis=1), "churn", "classification")
    schema = TabularDataset(frame, "churn", "classification").schema()
    rows = frame.drop(columns=["churn"])
    with pytest.raises(DataError, match="the frame has duplicate column names: 'age'"):
        schema.validate(pd.concat([rows, rows[["age"]]], axis=1))
    # A repeated column the model does not use is ignored, like any extra column.
    assert list(schema.validate(rows.assign(extra=0).pipe(
        lambda f: pd.concat([f, f[["extra"]]], axis=1))).columns) == list(schema.columns)
