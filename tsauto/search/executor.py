"""Runs jobs (trials, the final refit) in worker processes with a hard timeout.

Each job runs in its own process forked from a clean fork server, so a job that hangs can be
killed without harming the others, and no OpenMP state of the parent (LightGBM, torch) leaks
into a child.  Inputs are written once to the work folder; each job writes its result file
atomically and the parent polls.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import pickle
import sys
import time
import warnings
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_PRELOAD = ["numpy", "pandas", "tsauto.search.trial"]


def _child(func: Callable, args_path: str, extra: Any, result_path: str) -> None:
    # Library warnings from inside a trial (convergence, fallbacks to one thread) would flood
    # the user's console once per trial; what matters is recorded in the trial's result.
    warnings.simplefilter("ignore")
    with open(args_path, "rb") as fh:
        shared = pickle.load(fh)
    result = func(extra, *shared)
    tmp = result_path + ".tmp"
    with open(tmp, "wb") as fh:
        pickle.dump(result, fh, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, result_path)


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


@dataclass
class Job:
    key: Any
    process: Any
    result_path: Path
    started: float
    timeout: float | None


class Executor:
    """Up to ``max_workers`` jobs at once; ``shared`` arguments are pickled once for all jobs."""

    def __init__(self, workdir: Path, func: Callable, shared: tuple, max_workers: int = 1,
                 preload: tuple[str, ...] = ()):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.func = func
        self.max_workers = max_workers
        self.args_path = self.workdir / "shared.pkl"
        with open(self.args_path, "wb") as fh:
            pickle.dump(shared, fh, protocol=pickle.HIGHEST_PROTOCOL)
        self.ctx = mp.get_context("forkserver")
        # The job's own module (and what it imports: scikit-learn, LightGBM...) and the learners'
        # heavy libraries (``preload``: statsforecast takes 5-30 s to import) are imported once
        # in the fork server rather than in every worker.  The fork server is started once per
        # process: the first executor's list is the one that counts.
        self.ctx.set_forkserver_preload([*_PRELOAD, *preload, func.__module__])
        self.running: dict[Any, Job] = {}

    @property
    def free(self) -> int:
        return self.max_workers - len(self.running)

    def submit(self, key: Any, extra: Any, timeout: float | None) -> None:
        result_path = self.workdir / f"result-{key}.pkl"
        result_path.unlink(missing_ok=True)
        process = self.ctx.Process(target=_child, args=(self.func, str(self.args_path), extra,
                                                        str(result_path)), daemon=True)
        with _main_not_reimported():
            process.start()
        self.running[key] = Job(key, process, result_path, time.monotonic(), timeout)

    def poll(self, deadline: float | None = None) -> list[tuple[Any, str, Any, float]]:
        """Finished jobs as (key, status, result or error text, seconds); kills jobs past their
        timeout or past ``deadline`` (a monotonic time)."""
        done = []
        now = time.monotonic()
        for key, job in list(self.running.items()):
            elapsed = now - job.started
            if not job.process.is_alive():
                job.process.join()
                if job.result_path.exists():
                    with open(job.result_path, "rb") as fh:
                        done.append((key, "ok", pickle.load(fh), elapsed))
                    job.result_path.unlink()
                else:
                    done.append((key, "failed", f"worker exited with code {job.process.exitcode} "
                                 f"(killed or out of memory?)", elapsed))
            elif (job.timeout is not None and elapsed > job.timeout) or (
                    deadline is not None and now > deadline):
                job.process.kill()
                job.process.join()
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
        job.process.kill()
        job.process.join()
        return time.monotonic() - job.started

    def shutdown(self) -> None:
        for job in self.running.values():
            job.process.kill()
            job.process.join()
        self.running.clear()
