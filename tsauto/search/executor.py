"""Runs jobs (trials, the final refit) in worker processes with a hard timeout.

Each job runs in its own process forked from a clean fork server, so a job that hangs can be
killed without harming the others, and no OpenMP state of the parent (LightGBM, torch) leaks
into a child.  Inputs are written once to the work folder; each job writes its result file
atomically and the parent polls.

A worker is not daemonic: its learner may start a process pool of its own (statsforecast's
``n_jobs``), so that one trial alone uses every core where the user's own script would (a
daemonic worker may not have children: AutoARIMA on 2 cores ran ~2x slower in a trial than in
the statistical ensemble it is measured against).  Each worker leads its own process group, and
a timeout, a budget or ``shutdown`` kills the group: the pool's children die with it.  Several
workers at once (``max_concurrent_trials`` > 1) each get their share of the cores
(``TSAUTO_CORES``).  Every executor still running at interpreter exit is shut down first:
multiprocessing's exit handler joins non-daemonic children, and would wait for a hung trial.

A daemonic process (a Dask worker) may not start processes, and a many-models worker that runs
one trial at a time gains nothing from them: there (``in_process()``) jobs run one at a time in
the calling process instead, and a job past its timeout is recorded as timed out when it ends
(it cannot be killed midway).
"""

from __future__ import annotations

import atexit
import multiprocessing as mp
import multiprocessing.util  # noqa: F401 - registers its exit handler now, before ours (below)
import os
import pickle
import signal
import sys
import time
import warnings
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from weakref import WeakSet

_PRELOAD = ["numpy", "pandas", "tsauto.search.trial"]
# The cores one worker's learner may use when several workers share the machine (tsauto's own
# cpu_count and joblib's read it): trials x threads stay within the cores.
CORES_ENV = "TSAUTO_CORES"


def concurrent_jobs(setting: int | str) -> int:
    """Jobs at once for a ``max_concurrent_trials`` setting: 'auto' is one per core (each
    worker's learner then gets one core; one worker alone gets them all)."""
    if setting == "auto":
        from tsauto.learners._stat_common import cpu_count

        return cpu_count()
    return int(setting)


def _child(func: Callable, args_path: str, extra: Any, result_path: str,
           cores: int | None = None) -> None:
    # Its own process group first, before any child: killing the group (``_kill``) then stops
    # the pool a learner starts as well.
    try:
        os.setsid()
    except OSError:  # already a group leader: nothing to detach from
        pass
    # A fork server's child inherits "forkserver" as its default start method: a learner's pool
    # would start a fork server of its own, and each pool process would import statsforecast
    # again (5-30 s each, every trial).  The platform's default (fork on Linux) shares what this
    # worker already imported, as in the user's own script.
    mp.set_start_method(None, force=True)
    # Library warnings from inside a trial (convergence, fallbacks to one thread) would flood
    # the user's console once per trial; what matters is recorded in the trial's result.
    warnings.simplefilter("ignore")
    if cores is None:
        result = _run_job(func, args_path, extra)
    else:
        # several workers at once: each learner's threads (OpenMP, BLAS, joblib) get this
        # worker's share of the cores, not all of them each
        from threadpoolctl import threadpool_limits

        os.environ[CORES_ENV] = os.environ["LOKY_MAX_CPU_COUNT"] = str(cores)
        with threadpool_limits(limits=cores):
            result = _run_job(func, args_path, extra)
    tmp = result_path + ".tmp"
    with open(tmp, "wb") as fh:
        pickle.dump(result, fh, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, result_path)


def _run_job(func: Callable, args_path: str, extra: Any) -> Any:
    # The shared arguments are read afresh for every job, in a worker or in-process alike: a job
    # never sees what an earlier one did to them.
    with open(args_path, "rb") as fh:
        shared = pickle.load(fh)
    return func(extra, *shared)


_IN_PROCESS = [False]


@contextmanager
def jobs_in_process():
    """Every Executor runs its jobs in this process meanwhile: a many-models worker with one
    core starts no pool of its own, and what a learner compiles (numba) stays warm from one
    partition to the next."""
    old, _IN_PROCESS[0] = _IN_PROCESS[0], True
    try:
        yield
    finally:
        _IN_PROCESS[0] = old


def in_process() -> bool:
    """True where jobs run in the calling process: a daemonic process may not have children."""
    return _IN_PROCESS[0] or mp.current_process().daemon


@contextmanager
def _main_not_reimported():
    """Workers would re-run a user's script that lacks an ``if __name__ == "__main__"`` guard
    (multiprocessing imports the main file in each child).  Hiding its path for the start keeps
    ``AutoML(...).fit(df)`` safe in plain scripts; learners must then live in importable modules."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if path is not None and getattr(main, "__spec__", None) is None:
        del main.__file__
    try:
        yield
    finally:
        if path is not None and not hasattr(main, "__file__"):
            main.__file__ = path


# The modules the fork server was last told to preload, in order.
_SERVED: list[str] = []


def _serve(ctx, modules: list[str]) -> None:
    """Have the fork server preload ``modules`` as well as what it served before.  A fork server
    starts once per process and only preloads the list it was started with: a later fit of
    another family (statistical after tabular, say) would import its libraries in every worker,
    5-30 s a trial.  One already running without some of ``modules`` is stopped (restarted on
    the next job with the union) when none of this process's children is alive: a running
    worker's exit status comes back through the server."""
    from multiprocessing import forkserver

    server = forkserver._forkserver
    wanted = [m for m in modules if m not in _SERVED]
    if not wanted:
        return
    if getattr(server, "_forkserver_pid", None) is not None:
        if mp.active_children() or not hasattr(server, "_stop"):
            return  # keep the running server; the workers import what it lacks
        server._stop()
    _SERVED.extend(wanted)
    ctx.set_forkserver_preload(list(_SERVED))


def _reap_group(pid: int) -> None:
    """Kill every process in a worker's group: what a finished worker left of it (a pool's
    children, if it crashed), or the pool of one being stopped."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass  # no group (yet, or any more): the worker alone


def _kill(process) -> None:
    """Stop a worker and every process in its group (a learner's pool), and reap it."""
    _reap_group(process.pid)
    if process.exitcode is None:
        process.kill()
    process.join()


# Executors with workers that may be running, shut down at exit before multiprocessing's own
# handler joins (and would wait for) their non-daemonic workers: atexit runs the handlers
# registered last first, and multiprocessing.util registered its own on import, above.
_LIVE: WeakSet = WeakSet()


@atexit.register
def _shutdown_all() -> None:
    for executor in list(_LIVE):
        executor.shutdown()


@dataclass
class Job:
    key: Any
    process: Any
    result_path: Path
    started: float
    timeout: float | None
    outcome: tuple[str, Any, float] | None = None   # an in-process job's (status, payload, s)


class Executor:
    """Up to ``max_workers`` jobs at once; ``shared`` arguments are pickled once for all jobs."""

    def __init__(self, workdir: Path, func: Callable, shared: tuple, max_workers: int = 1,
                 preload: tuple[str, ...] = (), cores: int | None = None):
        """``cores``: the cores each job's learner may use (default: all of them for one worker,
        an equal share for several)."""
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.func = func
        self.in_process = in_process()
        self.max_workers = 1 if self.in_process else concurrent_jobs(max_workers)
        self.args_path = self.workdir / "shared.pkl"
        with open(self.args_path, "wb") as fh:
            pickle.dump(shared, fh, protocol=pickle.HIGHEST_PROTOCOL)
        self.ctx = mp.get_context("forkserver")
        # The job's own module (and what it imports: scikit-learn, LightGBM...) and the learners'
        # heavy libraries (``preload``: statsforecast takes 5-30 s to import) are imported once
        # in the fork server rather than in every worker.
        if not self.in_process:
            _serve(self.ctx, [*_PRELOAD, *preload, func.__module__])
        self.running: dict[Any, Job] = {}
        if cores is None and self.max_workers > 1:
            from tsauto.learners._stat_common import cpu_count

            cores = max(1, cpu_count() // self.max_workers)
        self.cores = cores
        _LIVE.add(self)

    @property
    def free(self) -> int:
        return self.max_workers - len(self.running)

    def submit(self, key: Any, extra: Any, timeout: float | None) -> None:
        result_path = self.workdir / f"result-{key}.pkl"
        result_path.unlink(missing_ok=True)
        if self.in_process:
            self.running[key] = self._run_here(key, extra, timeout, result_path)
            return
        process = self.ctx.Process(target=_child, args=(self.func, str(self.args_path), extra,
                                                        str(result_path), self.cores),
                                   daemon=False)
        with _main_not_reimported():
            process.start()
        self.running[key] = Job(key, process, result_path, time.monotonic(), timeout)

    def _run_here(self, key: Any, extra: Any, timeout: float | None, result_path: Path) -> Job:
        """Run the job now, in this process; poll() hands its outcome over like a worker's."""
        started = time.monotonic()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                outcome = ("ok", _run_job(self.func, str(self.args_path), extra))
        except Exception as exc:  # noqa: BLE001 - what a worker's crash would report
            outcome = ("failed", f"{type(exc).__name__}: {exc}")
        elapsed = time.monotonic() - started
        if timeout is not None and elapsed > timeout:
            outcome = ("timeout", f"stopped after {elapsed:.1f}s: its time limit (trial_timeout "
                                  f"or the budget left) passed; run in-process, it could not be "
                                  f"stopped sooner")
        return Job(key, None, result_path, started, timeout, (*outcome, elapsed))

    def poll(self, deadline: float | None = None) -> list[tuple[Any, str, Any, float]]:
        """Finished jobs as (key, status, result or error text, seconds); kills jobs past their
        timeout or past ``deadline`` (a monotonic time)."""
        done = []
        now = time.monotonic()
        for key, job in list(self.running.items()):
            elapsed = now - job.started
            if job.outcome is not None:
                done.append((key, *job.outcome))
            elif not job.process.is_alive():
                job.process.join()
                _reap_group(job.process.pid)
                if job.result_path.exists():
                    with open(job.result_path, "rb") as fh:
                        done.append((key, "ok", pickle.load(fh), elapsed))
                    job.result_path.unlink()
                else:
                    done.append((key, "failed", f"worker exited with code {job.process.exitcode} "
                                 f"(killed or out of memory?)", elapsed))
            elif (job.timeout is not None and elapsed > job.timeout) or (
                    deadline is not None and now > deadline):
                _kill(job.process)
                reason = (f"stopped after {elapsed:.1f}s: " + ("trial_timeout" if job.timeout
                          is not None and elapsed > job.timeout else "time budget") + " reached")
                done.append((key, "timeout", reason, elapsed))
            else:
                continue
            del self.running[key]
        return done

    def wait_any(self, deadline: float | None = None, max_wait: float | None = None,
                 interval: float = 0.02):
        """Finished jobs, as soon as there is one (or [] after ``max_wait`` seconds)."""
        until = None if max_wait is None else time.monotonic() + max_wait
        while self.running:
            done = self.poll(deadline)
            if done or (until is not None and time.monotonic() > until):
                return done
            time.sleep(interval)
        return []

    def kill(self, key) -> float:
        """Stop one job now; returns how long it ran."""
        job = self.running.pop(key)
        if job.process is not None:
            _kill(job.process)
        return time.monotonic() - job.started

    def shutdown(self) -> None:
        for job in self.running.values():
            if job.process is not None:
                _kill(job.process)
        self.running.clear()
        _LIVE.discard(self)
