"""The one table reader and writer: every path kind a user can hand over gets a clear error
naming the path and what was expected; every format written reads back the same."""

import gzip
import json
import pickle

import numpy as np
import pandas as pd
import pytest

from tsauto.data.io import as_frame, check_output_dir, read_table, write_table
from tsauto.errors import DataError, SettingsError

TABLE = pd.DataFrame({"store": ["a", "b"], "date": ["2020-01-01", "2020-02-01"],
                      "sales": [1.5, 2.0]})


def _write(path, content: bytes):
    path.write_bytes(content)
    return path


CSV = TABLE.to_csv(index=False).encode()

# (file name, how to make it, words the error must hold besides the path)
BAD_FILES = [
    ("empty.csv", lambda p: _write(p, b""), "is empty (0 bytes)"),
    ("header.csv", lambda p: _write(p, b"store,date,sales\n"), "has no rows, only the columns"),
    ("blank.csv", lambda p: _write(p, b"\n\n"), "has no columns"),
    ("folder.csv", lambda p: p.mkdir(), "is a folder"),
    ("text.parquet", lambda p: _write(p, CSV), "is not a Parquet file: its content looks like "
                                               "text (CSV?)"),
    ("empty.parquet", lambda p: _write(p, b""), "is empty (0 bytes)"),
    ("table.xyz", lambda p: _write(p, CSV), "extension '.xyz' is not a table format"),
    ("noext", lambda p: _write(p, CSV), "extension '(none)'"),
    ("book.xlsx", lambda p: _write(p, b"PK\x03\x04rest"),
     "its content is a zip archive (an Excel"),
    ("model.csv", lambda p: _write(p, pickle.dumps({"a": 1})), "is a Python pickle"),
    ("table.csv", lambda p: TABLE.to_parquet(p), "is a Parquet file, not a CSV"),
    ("utf16.csv", lambda p: _write(p, "café,x\n1,2\n".encode("utf-16")), "not UTF-8 text"),
    ("broken.csv.gz", lambda p: _write(p, CSV), "as CSV: Not a gzipped file"),
    ("broken.json", lambda p: _write(p, b"[{\"a\": 1"), "as JSON"),
    ("missing.csv", lambda p: None, "does not exist"),
    # pandas alone makes the two extra fields an index and shifts every column left
    ("ragged.csv", lambda p: _write(p, b"x,cat\n1.5,a,EXTRA\n0.3,b,EXTRA\n"),
     "some rows have more fields than the header"),
]


@pytest.mark.parametrize("name,make,words", BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_a_bad_file_is_a_data_error_naming_it(tmp_path, name, make, words):
    path = tmp_path / name
    make(path)
    with pytest.raises(DataError) as info:
        read_table(path, "data file")
    message = str(info.value)
    assert f"'{path}'" in message and words in message
    assert "\n" not in message


@pytest.mark.parametrize("name", ["t.csv", "t.txt", "t.csv.gz", "t.tsv", "t.parquet", "t.pq",
                                  "t.json"])
def test_every_format_reads_back_what_was_written(tmp_path, name):
    path = tmp_path / name
    if name.endswith(".tsv"):
        TABLE.to_csv(path, sep="\t", index=False)
    elif name.endswith(".csv.gz"):
        with gzip.open(path, "wt") as fh:
            TABLE.to_csv(fh, index=False)
    else:
        write_table(TABLE, path)
    pd.testing.assert_frame_equal(read_table(path), TABLE)


@pytest.mark.parametrize("name,kind", [("f.csv", "csv"), ("f.parquet", "parquet"),
                                       ("f.json", "json")])
def test_the_writer_chooses_the_format_by_extension(tmp_path, name, kind):
    path = tmp_path / "new" / "deeper" / name  # missing folders are created
    frame = TABLE.assign(date=pd.to_datetime(TABLE["date"]))
    write_table(frame, path)
    head = path.read_bytes()[:4]
    assert (head == b"PAR1") == (kind == "parquet")
    assert head.startswith(b"[") == (kind == "json")
    back = read_table(path)
    assert back["sales"].tolist() == [1.5, 2.0]
    assert pd.to_datetime(back["date"]).tolist() == frame["date"].tolist()


def test_dash_writes_csv_to_standard_output(capsys):
    write_table(TABLE, "-")
    assert capsys.readouterr().out == TABLE.to_csv(index=False)


@pytest.mark.parametrize("target,words", [
    ("fc.xlsx", "cannot tell the format from the extension '.xlsx'; use .csv, .parquet or "
                ".json"),
    ("fc", "extension '(none)'"),
    ("fc.tsv", "extension '.tsv'"),
    ("folder", "is a folder; give a file name"),
    ("afile/fc.csv", "is a file, not a folder"),
])
def test_a_bad_output_path_is_a_settings_error(tmp_path, target, words):
    (tmp_path / "folder").mkdir()
    (tmp_path / "afile").write_text("x")
    with pytest.raises(SettingsError) as info:
        write_table(TABLE, tmp_path / target, "--out")
    assert "--out" in str(info.value) and words in str(info.value)


def test_an_output_folder_must_not_be_a_file(tmp_path):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(SettingsError, match="is a file; a folder is written there"):
        check_output_dir(tmp_path / "afile", "output_dir")
    assert check_output_dir(tmp_path / "new" / "run") == tmp_path / "new" / "run"


def test_separators_ending_every_row_are_read_as_nothing(tmp_path):
    path = _write(tmp_path / "excel.csv", b"x,cat\n1.5,a,\n0.3,b,\n")
    assert read_table(path).to_dict("list") == {"x": [1.5, 0.3], "cat": ["a", "b"]}


def test_as_frame_reads_paths_and_names_other_types(tmp_path):
    path = write_table(TABLE, tmp_path / "t.csv") or tmp_path / "t.csv"
    assert as_frame(str(path), "future").equals(read_table(path))
    assert as_frame(TABLE, "future") is TABLE
    with pytest.raises(SettingsError, match="future must be a pandas DataFrame or the path"):
        as_frame(np.zeros(3), "future")
    with pytest.raises(DataError, match="future file '.*nope.csv' does not exist"):
        as_frame(tmp_path / "nope.csv", "future")


def test_json_is_as_exact_as_csv_and_keeps_each_times_zone(tmp_path):
    """pandas' to_json kept 10 decimals (1.2413e-07 came back 1.241e-07) and moved zoned
    times to UTC ('2021-04-30T18:30:00Z' for local midnight in Kolkata)."""
    from tsauto.data.io import json_records

    frame = pd.DataFrame({"t": pd.date_range("2021-05-01", periods=2, tz="Asia/Kolkata"),
                          "y": [1.2413e-07, 0.0722725869998447], "n": [np.nan, 3.0]})
    records = json.loads(json_records(frame))
    assert records[0] == {"t": "2021-05-01T00:00:00+05:30", "y": 1.2413e-07, "n": None}
    assert records[1]["y"] == 0.0722725869998447
    assert json.loads(json_records(pd.DataFrame({"y": [np.inf, -np.inf]}))) == [{"y": None}] * 2
    write_table(frame, tmp_path / "f.json")
    back = read_table(tmp_path / "f.json")
    assert back["y"].tolist() == frame["y"].tolist()
    assert pd.to_datetime(back["t"]).tolist() == frame["t"].tolist()
