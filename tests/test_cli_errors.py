"""Bad inputs through the CLI, as a user runs it: each ends in one line on stderr naming the thing
at fault, exit status 2, and no traceback; the outputs that work land where --out says."""

import json
import pickle

import pandas as pd
import pytest

from tests.test_cli import tsauto
from tsauto.model import load_model

ROLES = ["--time", "date", "--target", "sales", "--grain", "store"]
CSV = "store,date,sales\ns0,2020-01-01,1.0\ns0,2020-02-01,2.0\n"


def one_line_error(result, *words):
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for word in words:
        assert word in lines[0], lines[0]


# (file name, content or a folder, what the error says besides the path)
BAD_DATA = [
    ("empty.csv", b"", "is empty (0 bytes)"),
    ("header.csv", b"store,date,sales\n", "has no rows, only the columns"),
    ("folder", None, "is a folder"),
    ("csv.parquet", CSV.encode(), "is not a Parquet file: its content looks like text"),
    ("data.xyz", CSV.encode(), "the extension '.xyz' is not a table format"),
    ("model.csv", pickle.dumps([1, 2]), "is a Python pickle, not a CSV"),
]


@pytest.mark.parametrize("name,content,words", BAD_DATA, ids=[b[0] for b in BAD_DATA])
def test_bad_data_file(tmp_path, name, content, words):
    path = tmp_path / name
    path.mkdir() if content is None else path.write_bytes(content)
    one_line_error(tsauto("inspect", path, *ROLES), f"'{path}'", words)


@pytest.mark.parametrize("name,content,words", [
    ("header.csv", b"a,b\n", "has no rows, only the columns 'a', 'b'"),
    ("empty.csv", b"", "is empty (0 bytes)"),
    ("folder", None, "is a folder"),
], ids=["header-only", "empty", "folder"])
def test_bad_rows_to_predict(tmp_path, saved_models, name, content, words):
    path = tmp_path / name
    path.mkdir() if content is None else path.write_bytes(content)
    one_line_error(tsauto("predict", saved_models["regression"], path, "--out",
                          tmp_path / "p.csv"), f"'{path}'", words)


@pytest.fixture
def rows(tmp_path, saved_models):
    path = tmp_path / "rows.csv"
    saved_models["rows"].head(5).to_csv(path, index=False)
    return path


@pytest.mark.parametrize("out,words", [
    ("p.xlsx", "cannot tell the format from the extension '.xlsx'; use .csv, .parquet or .json"),
    ("folder", "is a folder; give a file name"),
    ("afile/p.csv", "'afile' is a file, not a folder"),
], ids=["xlsx", "onto-folder", "under-a-file"])
def test_bad_out_path(tmp_path, saved_models, rows, out, words):
    (tmp_path / "folder").mkdir()
    (tmp_path / "afile").write_text("x")
    one_line_error(tsauto("predict", saved_models["regression"], rows, "--out", out,
                          cwd=tmp_path), f"--out '{out}'", words)


@pytest.mark.parametrize("out,read", [
    ("new/deeper/p.parquet", pd.read_parquet),
    ("p.json", lambda p: pd.DataFrame(json.loads(p.read_text()))),
    ("p.csv", pd.read_csv),
], ids=["parquet-in-missing-folder", "json", "csv"])
def test_out_format_follows_the_extension(tmp_path, saved_models, rows, out, read):
    result = tsauto("predict", saved_models["regression"], rows, "--out", tmp_path / out)
    assert result.returncode == 0, result.stderr
    written = read(tmp_path / out)
    assert len(written) == 5 and {"a", "b", "prediction"} <= set(written.columns)


def test_out_dash_writes_only_the_table_to_standard_output(tmp_path, saved_models, rows):
    from io import StringIO

    result = tsauto("predict", saved_models["regression"], rows, "--out", "-")
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(StringIO(result.stdout))
    assert len(table) == 5 and "prediction" in table.columns
    assert "5 predictions written to standard output" in result.stderr


def test_fit_out_onto_a_file(tmp_path):
    (tmp_path / "afile").write_text("x")
    one_line_error(tsauto("fit", "aus_accommodation", "--out", tmp_path / "afile"),
                   "--out", "is a file; a folder is written there")


def test_fit_unknown_country(tmp_path):
    one_line_error(tsauto("fit", "aus_accommodation", "--out", tmp_path / "run", "--country",
                          "XX"), "country_or_region='XX' is not a country the holidays package")


def test_forecast_future_with_dates_that_are_not_dates(tmp_path, saved_models):
    model = load_model(saved_models["forecast"])
    future = model.learner.schema_.future_frame(3).assign(price=1.0)
    future["date"] = future["date"].dt.strftime("%Y-%m-%d")
    future.loc[4, "date"] = "next month"
    path = tmp_path / "future.csv"
    future.drop(columns=["step"]).to_csv(path, index=False)
    one_line_error(tsauto("forecast", saved_models["forecast"], "--future", path, "--out",
                          tmp_path / "fc.csv"),
                   "future: time column 'date' has 1 values that are not dates",
                   "'next month' at rows 4")


@pytest.mark.parametrize("args,words", [
    (["--horizon", "0"], "horizon must be a positive integer"),
    (["--future", "missing.csv"], "--future file 'missing.csv' does not exist"),
    (["--out", "fc.xlsx"], "cannot tell the format from the extension '.xlsx'"),
], ids=["horizon-0", "missing-future", "xlsx"])
def test_forecast_bad_options(tmp_path, saved_models, args, words):
    out = [] if "--out" in args else ["--out", "fc.csv"]
    one_line_error(tsauto("forecast", saved_models["forecast"], *out, *args, cwd=tmp_path),
                   words)


def test_predict_with_a_forecasting_model(tmp_path, saved_models, rows):
    one_line_error(tsauto("predict", saved_models["forecast"], rows, "--out", tmp_path / "p.csv"),
                   "is a forecasting model: use 'tsauto forecast'")
