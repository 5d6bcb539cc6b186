"""Where the partitions are fitted: local processes, Dask, Ray or Spark, all through Fugue.

Every engine runs the same transformer (``worker.fit_partitions``) with ``fugue.transform``,
partitioned by the partition column.  The engines:

- ``None`` / ``"local"``: this machine.  One worker: Fugue's native (pandas) engine in this
  process.  N workers: N local processes, each running the native engine on one partition at a
  time (Fugue has no local multi-process engine; a process pool of our own keeps the default
  free of a scheduler).
- ``"dask"``, ``"ray"``, ``"spark"``: a local cluster of that engine with ``workers`` workers of
  one core each, started here and closed at the end.
- A ``dask.distributed.Client``, a ``SparkSession`` or anything Fugue takes as an engine: the
  user's cluster, left running.

Cores: a partition's trials never use more processes than its worker has cores (local: this
machine's cores shared by the workers; a cluster started here: one; the user's cluster:
``max_concurrent_trials`` as set).  Dask runs its workers as daemonic processes, which may not
start processes: there the trials run in the worker's own process (see search/executor.py).
"""

from __future__ import annotations

import json
import multiprocessing as mp
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack

import pandas as pd

from tsauto.errors import SettingsError, closest_hint
from tsauto.learners._stat_common import cpu_count
from tsauto.many.partitions import PARTITION
from tsauto.many.worker import RESULT_SCHEMA, as_schema, fit_partitions

ENGINES = ("local", "dask", "ray", "spark")


def engine_name(engine) -> str:
    """The engine in words, for the index and the logs."""
    if engine is None or isinstance(engine, str):
        return engine or "local"
    return type(engine).__module__.split(".")[0] + "." + type(engine).__name__


def check_engine(engine) -> None:
    if isinstance(engine, str) and engine not in ENGINES:
        raise SettingsError(f"engine {engine!r} is not known; valid: {', '.join(ENGINES)}, "
                            f"None (local) or a Dask client / Spark session."
                            + closest_hint(engine, ENGINES))


def run_partitions(frame: pd.DataFrame, job: dict, engine, workers: int | None
                   ) -> pd.DataFrame:
    """Fit every partition of ``frame`` (rows tagged with ``PARTITION``) on ``engine``; one
    result row per partition."""
    check_engine(engine)
    workers = workers or cpu_count()
    if engine in (None, "local"):
        job = {**job, "cores": max(1, cpu_count() // workers)}
        return _local(frame, json.dumps(job), workers)
    with ExitStack() as stack:
        if isinstance(engine, str):
            engine = _start(engine, workers, stack)
            job = {**job, "cores": 1}
        return _transform(frame, json.dumps(job), engine)


def _transform(frame: pd.DataFrame, job: str, engine=None) -> pd.DataFrame:
    import fugue

    out = fugue.transform(frame, fit_partitions, schema=RESULT_SCHEMA,
                          partition={"by": [PARTITION]}, params={"job": job}, engine=engine,
                          as_local=True)
    if not isinstance(out, pd.DataFrame):  # a Fugue or engine frame, brought home
        out = fugue.api.as_pandas(out)
    return as_schema(out).reset_index(drop=True)


def _local(frame: pd.DataFrame, job: str, workers: int) -> pd.DataFrame:
    groups = [part for _, part in frame.groupby(PARTITION, sort=True)]
    if workers == 1 or len(groups) <= 1:
        return _transform(frame, job)
    from tsauto.search.executor import _main_not_reimported

    # The largest partitions first, so that a long one does not start last.
    groups.sort(key=len, reverse=True)
    # Not daemonic (unlike a multiprocessing Pool's): each worker may run trials in processes.
    with _main_not_reimported(), ProcessPoolExecutor(
            max_workers=min(workers, len(groups)), mp_context=mp.get_context("forkserver")) as pool:
        parts = list(pool.map(_transform, groups, [job] * len(groups)))
    return pd.concat(parts, ignore_index=True)


def _start(engine: str, workers: int, stack: ExitStack):
    """A local cluster of ``engine`` with ``workers`` one-core workers, closed by ``stack``."""
    try:
        if engine == "dask":
            from dask.distributed import Client, LocalCluster

            from tsauto.search.executor import _main_not_reimported

            # Dask spawns its workers: a user's script without a __main__ guard would run again.
            with _main_not_reimported():
                cluster = stack.enter_context(LocalCluster(
                    n_workers=workers, threads_per_worker=1, processes=True,
                    dashboard_address=None))
            return stack.enter_context(Client(cluster))
        if engine == "ray":
            import ray

            if not ray.is_initialized():
                ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
                stack.callback(ray.shutdown)
            import fugue_ray  # noqa: F401 - registers the "ray" engine with Fugue

            return "ray"
        from pyspark.sql import SparkSession

        # Partitions are tiny frames but long tasks: Spark's adaptive plan would coalesce
        # them all into one task, run by one core.
        session = (SparkSession.builder.master(f"local[{workers}]").appName("tsauto-many")
                   .config("spark.sql.adaptive.enabled", "false")
                   .config("spark.sql.shuffle.partitions", str(4 * workers)).getOrCreate())
        stack.callback(session.stop)
        return session
    except ImportError as exc:
        raise SettingsError(f"engine {engine!r} needs {exc.name}: pip install "
                            f"'tsauto[distributed]' (Ray and Spark; Spark also needs Java 17)."
                            ) from None
