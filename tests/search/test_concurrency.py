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
    share = max(1, cpu_count() // 2)  # two workers: each learner gets half the cores
    assert one_job(tmp_path, cores_seen, 2) == (share, str(share))


def one_job(folder, func, workers):
    """What ``func`` returns in a worker of an executor of ``workers`` workers."""
    executor = Executor(folder, func, (), workers)
    try:
        executor.submit(0, None, 60)
        (_, status, payload, _), = executor.wait_any()
    finally:
        executor.shutdown()
    assert status == "ok", payload
    return payload


def may_start_pool(extra):
    """In a worker: whether it is daemonic, and the processes a statistical learner would use."""
    import multiprocessing as mp

    from tsauto.learners._stat_common import resolve_jobs

    return mp.current_process().daemon, resolve_jobs(-1, 100, 60.0), mp.get_start_method()


def test_a_lone_trial_worker_lets_its_learner_use_every_core(tmp_path):
    import multiprocessing as mp

    # not daemonic: a pool of all the cores is allowed; it starts the platform's way (on Linux
    # fork, sharing the worker's imports), not through a fork server of its own
    assert one_job(tmp_path, may_start_pool, 1) == (False, cpu_count(),
                                                    mp.get_all_start_methods()[0])


def pool_that_hangs(pid_file):
    """In a worker: start two sleeping children (as a learner's process pool would), say their
    pids, and hang."""
    import multiprocessing as mp
    import time

    ctx = mp.get_context("fork")
    children = [ctx.Process(target=time.sleep, args=(3600,)) for _ in range(2)]
    for child in children:
        child.start()
    with open(pid_file + ".tmp", "w") as fh:
        fh.write(" ".join(str(c.pid) for c in children))
    os.replace(pid_file + ".tmp", pid_file)
    time.sleep(3600)


def _alive(pid: int) -> bool:
    """Running, and not a zombie (an orphan's zombie waits for its reaper, not for us)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _pids_when_written(path, executor, key):
    import time

    for _ in range(600):
        if path.exists():
            return [int(p) for p in path.read_text().split()]
        assert key in executor.running, "the job ended before starting its children"
        time.sleep(0.1)
    raise AssertionError("the job never started its children")


def _gone(pids) -> bool:
    import time

    for _ in range(100):  # SIGKILL is asynchronous: give the kernel a moment
        if not any(_alive(p) for p in pids):
            return True
        time.sleep(0.05)
    return False


def test_a_killed_trial_leaves_no_process_behind(tmp_path):
    import time

    executor = Executor(tmp_path, pool_that_hangs, (), 2)  # "auto"-style: several workers
    try:
        for key in (0, 1):
            executor.submit(key, str(tmp_path / f"pids-{key}"), None)
        workers = {key: executor.running[key].process.pid for key in (0, 1)}
        first = _pids_when_written(tmp_path / "pids-0", executor, 0)
        second = _pids_when_written(tmp_path / "pids-1", executor, 1)
        executor.kill(0)  # the engine stopping one trial (its budget share spent)
        assert _gone([workers[0], *first])
        assert all(_alive(p) for p in [workers[1], *second])  # the other trial runs on
        done = executor.poll(deadline=time.monotonic() - 1)  # the time budget passed
        assert [(key, status) for key, status, *_ in done] == [(1, "timeout")]
        assert _gone([workers[1], *second])
    finally:
        executor.shutdown()


_EXITS_WITH_A_TRIAL_RUNNING = """
import sys, time
from pathlib import Path
from tsauto.search.executor import Executor
executor = Executor(Path(sys.argv[1]), time.sleep, (), 1)
executor.submit(0, 3600, None)  # a trial that would hang the exit, never shut down
while not executor.running[0].process.is_alive():
    time.sleep(0.05)
print(executor.running[0].process.pid, flush=True)
"""


def test_the_interpreter_exits_with_a_trial_still_running(tmp_path):
    # multiprocessing joins non-daemonic children at exit: the executor kills its own first.
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", _EXITS_WITH_A_TRIAL_RUNNING, str(tmp_path)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert _gone([int(done.stdout.split()[0])])
