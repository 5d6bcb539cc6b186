"""max_concurrent_trials='auto': one trial per core, each worker's learner held to its share."""

import os

from tsauto.learners._stat_common import cpu_count
from tsauto.search.executor import CORES_ENV, Executor, concurrent_jobs
from tsauto.settings import ForecastSettings


def cores_seen(extra):
    """In a worker: the cores its learner may use."""
    return cpu_count(), os.environ.get("LOKY_MAX_CPU_COUNT")


def test_auto_runs_one_trial_per_core_and_shares_the_cores_among_them(tmp_path, monkeypatch):
    s = ForecastSettings(time_column="d", target_column="y", horizon=2,
                         max_concurrent_trials="auto")
    assert concurrent_jobs(s.max_concurrent_trials) == cpu_count()
    assert concurrent_jobs(3) == 3
    monkeypatch.setenv(CORES_ENV, "4")  # as a worker's process sees it
    assert cpu_count() == 4 and concurrent_jobs("auto") == 4
    monkeypatch.delenv(CORES_ENV)
    executor = Executor(tmp_path, cores_seen, (), 2)
    try:
        executor.submit(0, None, 60)
        (_, status, payload, _), = executor.wait_any()
    finally:
        executor.shutdown()
    assert status == "ok"
    share = max(1, cpu_count() // 2)  # two workers: each learner gets half the cores
    assert payload == (share, str(share))
