"""Jobs in the calling process (a daemonic worker, a one-core many-models worker): same answers
as a worker process would give, failures and timeouts included, and no process started."""

import multiprocessing as mp
import time

from tsauto.search.executor import Executor, in_process, jobs_in_process


def job(extra, base):
    if extra == "boom":
        raise ValueError("bad job")
    if extra == "slow":
        time.sleep(0.3)
    return (base, extra, mp.current_process().name)


def test_jobs_run_here_with_the_outcomes_a_worker_gives(tmp_path):
    assert not in_process()
    with jobs_in_process():
        assert in_process()
        executor = Executor(tmp_path, job, ("shared",), max_workers=4)
        assert executor.max_workers == 1  # one at a time: no pool inside the worker
        done = {}
        for key, extra, timeout in [(1, "a", None), (2, "boom", None), (3, "slow", 0.1)]:
            executor.submit(key, extra, timeout)
            for k, status, payload, _ in executor.wait_any():
                done[k] = (status, payload)
    assert not in_process()
    assert done[1] == ("ok", ("shared", "a", mp.current_process().name))  # this very process
    assert done[2] == ("failed", "ValueError: bad job")
    assert done[3][0] == "timeout" and "could not be stopped sooner" in done[3][1]
