"""What runs inside a worker: one partition's AutoML, from its rows to its stored results.

``fit_partitions`` is the Fugue transformer every engine runs (pandas in, pandas out), so the
same code fits a partition on local processes, Dask, Ray or Spark.  It never raises for a
partition: a partition whose data is bad or whose fit fails becomes a ``failed`` row with the
error, and the other partitions go on.  A partition already completed on the same data (its
``partition.json`` says so, with the same data fingerprint) is not fitted again.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import time
import traceback
from contextlib import nullcontext
from pathlib import Path

import pandas as pd

from tsauto.many.partitions import PARTITION
from tsauto.progress import Reporter

STATUS = "partition.json"   # each partition folder's record, written when its fit ends
PARTITIONS = "partitions"   # the folder of the partitions' folders under output_dir

# One row per partition, as every engine returns it (a Fugue schema).
RESULT_SCHEMA = (f"{PARTITION}:str,status:str,best_learner:str,model:str,metrics:str,"
                 "trials:long,seconds:double,series:long,rows:long,error:str,reused:bool,worker:str")
COLUMNS = [part.split(":")[0] for part in RESULT_SCHEMA.split(",")]


def fit_partitions(df: pd.DataFrame, job: str) -> pd.DataFrame:
    """Fit every partition in ``df`` (an engine hands one at a time; a frame holding several
    is fitted partition by partition).  ``job``: JSON with the settings, output_dir and the
    cores one partition may use."""
    spec = json.loads(job)
    rows = [fit_partition(part.drop(columns=PARTITION), str(name), spec)
            for name, part in df.groupby(PARTITION, sort=True)]
    return as_schema(pd.DataFrame(rows, columns=COLUMNS))


_TYPES = {"str": object, "long": "int64", "double": "float64", "bool": "bool"}


def as_schema(frame: pd.DataFrame) -> pd.DataFrame:
    """The result rows with the schema's plain numpy types: an empty frame keeps them (Spark
    and Dask check), and what an engine brings back (its string or nullable types) is made
    plain again, so that every engine's index is the same."""
    types = dict(part.split(":") for part in RESULT_SCHEMA.split(","))
    return frame[COLUMNS].astype({c: _TYPES[kind] for c, kind in types.items()})


def fit_partition(data: pd.DataFrame, name: str, spec: dict) -> dict:
    """One partition's AutoML in ``output_dir/partitions/<name>/``; returns its result row."""
    from tsauto.automl import AutoML, _crash_point, fingerprint
    from tsauto.search.executor import concurrent_jobs, jobs_in_process
    from tsauto.settings import settings_from_json

    settings = settings_from_json(spec["settings"])
    settings.verbosity = 0  # a thousand partitions' progress lines would drown the driver's
    if spec.get("cores"):  # trials never use more processes than the worker has cores
        wanted = concurrent_jobs(settings.max_concurrent_trials)
        settings.max_concurrent_trials = max(1, min(wanted, int(spec["cores"])))
    folder = Path(spec["output_dir"]) / PARTITIONS / name
    data = plain_types(data)
    # Engines deliver a partition's rows in any order: sorted, the fit and its fingerprint are
    # the same on all of them.
    order = [c for c in [*settings.grain_columns, settings.time_column] if c in data.columns]
    data = data.sort_values(order, kind="mergesort").reset_index(drop=True) if order else data
    digest = fingerprint(data)
    stored = read_status(folder)
    if stored and stored["status"] == "completed" and stored.get("fingerprint") == digest:
        return {**stored["row"], "reused": True}
    if folder.exists():  # an unfinished or failed attempt: start it afresh
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    started = time.monotonic()
    row = {PARTITION: name, "best_learner": "", "model": "", "metrics": "{}", "trials": 0,
           "series": 0, "rows": len(data), "error": "", "reused": False,
           "worker": f"{socket.gethostname()}:{os.getpid()}"}  # where it ran: host:process
    detail = ""
    # One trial at a time: in this process, no pool inside the worker (see search/executor.py).
    alone = jobs_in_process() if settings.max_concurrent_trials == 1 else nullcontext()
    try:
        with alone:
            run = AutoML(settings).fit(data, output_dir=folder, reporter=Reporter())
        shipped = getattr(run.best_model, "trial_id", None)  # the trial the model is (refit_note)
        best = next((t for t in run.result.trials if t.trial_id == shipped), None) \
            if shipped is not None else run.result.best()
        row.update(status="completed", best_learner=best.learner if best else "fallback",
                   model=run.best_model.description,
                   metrics=json.dumps(best.metrics if best else {}, default=float),
                   trials=len(run.result.trials), series=int(run.dataset.n_series))
    except Exception as exc:  # noqa: BLE001 - a partition's failure is recorded, not raised
        text = str(exc).strip().splitlines()
        row.update(status="failed", error=f"{type(exc).__name__}: {text[0] if text else ''}")
        detail = traceback.format_exc(limit=-4)
    row["seconds"] = round(time.monotonic() - started, 3)
    write_status(folder, {"status": row["status"], "row": row, "fingerprint": digest, "traceback": detail})
    _crash_point("many")  # test seam: a kill after this partition was recorded
    return row


def plain_types(data: pd.DataFrame) -> pd.DataFrame:
    """Text columns as plain objects, whatever string type the engine made of them (Dask and
    Spark hand over pyarrow strings): every engine fits the same frame."""
    text = [c for c, dtype in data.dtypes.items() if isinstance(dtype, pd.StringDtype)]
    return data.astype({c: object for c in text}) if text else data


def read_status(folder: Path) -> dict | None:
    path = Path(folder) / STATUS
    try:
        return json.loads(path.read_text()) if path.is_file() else None
    except (OSError, ValueError):  # half-written by a killed worker: the partition runs again
        return None


def write_status(folder: Path, record: dict) -> None:
    tmp = folder / f".{STATUS}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(record, indent=1, default=str))
    os.replace(tmp, folder / STATUS)
