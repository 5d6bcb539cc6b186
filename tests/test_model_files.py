"""Model files are archives with a manifest that is checked before anything is unpickled:
foreign, empty, truncated or altered files are refused with one clear error (API and CLI)."""

import hashlib
import json
import os
import pickle
import subprocess
import sys
import zipfile

import pandas as pd
import pytest

from tests.conftest import make_panel
from tests.search.learners_for_tests import WindowMean
from tsauto import TimeSeriesDataset, __version__
from tsauto.errors import DataError, SettingsError
from tsauto.learners.persistence import ARCHIVE_VERSION
from tsauto.model import ForecastModel, history_of, load_model


@pytest.fixture(scope="module")
def model():
    ds = TimeSeriesDataset(make_panel(n_series=2, length=30), time_column="date",
                           target_column="sales", grain_columns=["store"])
    return ForecastModel(WindowMean(quantiles=(0.1, 0.9)).fit(ds), ds.schema(), history_of(ds),
                         4, (0.1, 0.9), description="test_window_mean {}")


@pytest.fixture
def saved(model, tmp_path):
    return model.save(tmp_path / "model.pkl")


def test_save_writes_a_checked_archive_that_loads_back(model, saved):
    with zipfile.ZipFile(saved) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        payload = archive.read(manifest["payload"])
    assert manifest["format"] == "tsauto-artifact"
    assert manifest["format_version"] == ARCHIVE_VERSION
    assert manifest["tsauto_version"] == __version__
    assert manifest["task"] == "forecasting"
    assert manifest["class"] == "tsauto.model.ForecastModel"
    assert manifest["payload_sha256"] == hashlib.sha256(payload).hexdigest()
    pd.testing.assert_frame_equal(load_model(saved).forecast(), model.forecast())
    assert not [p for p in saved.parent.iterdir() if p.name.endswith(".tmp")]


class Crafted:
    """Unpickling this writes a file: what a malicious model file could do."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def _rewrite(saved, manifest=None, payload=None):
    with zipfile.ZipFile(saved) as archive:
        old_manifest = json.loads(archive.read("manifest.json"))
        old_payload = archive.read("payload.pkl")
    with zipfile.ZipFile(saved, "w") as archive:
        archive.writestr("manifest.json", json.dumps({**old_manifest, **(manifest or {})}))
        archive.writestr("payload.pkl", old_payload if payload is None else payload)


FOREIGN = {
    "raw pickle": (lambda p, s, m: p.write_bytes(pickle.dumps({"a": 1})), "a raw pickle"),
    "crafted pickle": (lambda p, s, m: p.write_bytes(pickle.dumps(Crafted(m))), "a raw pickle"),
    "text": (lambda p, s, m: p.write_text("hello, I am not a model\n"), "a text file"),
    "csv": (lambda p, s, m: p.write_text("store,date,sales\ns0,2020-01-01,3\n"), "CSV"),
    "empty": (lambda p, s, m: p.write_bytes(b""), "empty"),
    "truncated": (lambda p, s, m: p.write_bytes(s.read_bytes()[: len(s.read_bytes()) // 2]),
                  "truncated"),
    "zip without manifest": (lambda p, s, m: zipfile.ZipFile(p, "w").writestr("x.txt", "x"),
                             "without manifest.json"),
}


@pytest.mark.parametrize("kind", FOREIGN)
def test_foreign_files_are_refused_before_anything_is_unpickled(kind, saved, tmp_path):
    path, marker = tmp_path / "suspect.pkl", tmp_path / "pwned"
    make, message = FOREIGN[kind]
    make(path, saved, marker)
    with pytest.raises(DataError, match=message):
        load_model(path)
    assert not marker.exists()


@pytest.mark.parametrize("change, message", [
    ({"manifest": {"format_version": ARCHIVE_VERSION + 1}}, "upgrade tsauto"),
    ({"manifest": {"format": "something-else"}}, "not a tsauto manifest"),
    ({"manifest": {"class": "builtins.dict"}}, "holds a 'builtins.dict'"),
    ({"payload": b"\x80\x04K\x01."}, "does not match the SHA-256"),
])
def test_altered_archives_are_refused(change, message, saved):
    _rewrite(saved, **change)
    with pytest.raises(DataError, match=message):
        load_model(saved)


def test_a_directory_a_learner_file_and_a_missing_file(model, saved, tmp_path):
    with pytest.raises(DataError, match=f"is a directory.*did you mean '{saved}'"):
        load_model(tmp_path)
    learner_file = model.learner.save(tmp_path / "learner.pkl")
    with pytest.raises(DataError, match="tsauto learner.*not a tsauto model"):
        load_model(learner_file)
    assert isinstance(WindowMean.load(learner_file), WindowMean)
    from tsauto.learners.statistical import SeasonalNaive

    with pytest.raises(DataError, match="holds a '.*WindowMean' \\(tsauto learner\\), not a "
                                        "tsauto learner of class SeasonalNaive"):
        SeasonalNaive.load(learner_file)
    with pytest.raises(SettingsError, match="does not exist"):
        load_model(tmp_path / "nope.pkl")
    with pytest.raises(SettingsError, match="'.*learner.pkl' is a file, not a folder"):
        model.save(learner_file / "model.pkl")


def tsauto(*args):
    return subprocess.run([sys.executable, "-c", "import tests.search.learners_for_tests; "
                           "from tsauto.cli import main; main()", *map(str, args)],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": os.getcwd()})


@pytest.mark.parametrize("kind", ["crafted pickle", "csv", "truncated", "directory"])
def test_forecast_and_predict_refuse_foreign_model_files(kind, saved, tmp_path):
    if kind == "directory":
        path = tmp_path
    else:
        path = tmp_path / "suspect.pkl"
        FOREIGN[kind][0](path, saved, tmp_path / "pwned")
    rows = tmp_path / "rows.csv"
    rows.write_text("a,b\n1,2\n")
    for args in (["forecast", path, "--out", tmp_path / "f.csv"],
                 ["predict", path, rows, "--out", tmp_path / "p.csv"]):
        result = tsauto(*args)
        assert result.returncode == 2, result.stderr
        assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
        assert str(path) in result.stderr
    assert not (tmp_path / "pwned").exists()


def test_forecast_through_the_cli_from_a_saved_model(model, saved, tmp_path):
    result = tsauto("forecast", saved, "--out", tmp_path / "f.csv")
    assert result.returncode == 0, result.stderr
    assert len(pd.read_csv(tmp_path / "f.csv")) == 2 * 4
