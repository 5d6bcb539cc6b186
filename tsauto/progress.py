"""How a fit reports its progress: a ``Reporter`` the face (CLI, notebook, service) owns.

``AutoML(settings).fit(data, reporter=...)`` calls its methods as the experiment goes; ``AutoML``
itself prints nothing.  The default, ``PlainReporter``, writes one plain line per event (one per
finished trial) to stderr, which suits logs, CI and notebooks; the CLI hands a rich, live one
(``tsauto.console.RichReporter``).  Every method is optional: subclass ``Reporter`` and override
what you need.
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Callable

import numpy as np

from tsauto.evaluation.metrics import is_better


class Reporter:
    """The events of a fit, in order; each does nothing here."""

    def note(self, text: str) -> None:
        """A notice outside the steps: a warning, or why nothing had to be done."""

    def guardrails(self, report) -> None:
        """The data was checked (and safely fixed): a ``GuardrailReport``."""

    def validation(self, scheme: str) -> None:
        """The validation scheme, in words."""

    def search_started(self, learners: list[str], skipped: dict[str, str], metric: str,
                       budget: float | None, started: float) -> None:
        """The candidates, the learners left out and why, the primary metric, the time budget
        (seconds) and the experiment's ``time.monotonic()`` start."""

    def trial_started(self, trial_id: int, learner: str, params: dict) -> None:
        """A trial was handed to a worker."""

    def trial_finished(self, trial) -> None:
        """A trial ended (completed, failed, timeout or canceled): a ``TrialResult``."""

    def trial_replayed(self, trial) -> None:
        """A trial of the interrupted run this one resumes, taken as it was (not run again)."""

    def ensembles(self, trials: list, by_id: dict) -> None:
        """The ensemble trials were built; ``by_id`` maps every trial id to its result."""

    def refit(self, description: str) -> None:
        """The winner is being refitted on all the data."""

    def done(self, run) -> None:
        """The fit ended with a model: the ``Run``."""

    def close(self) -> None:
        """The fit ended, with a model or an error; always called last."""


def human_duration(seconds: float | None) -> str:
    """'0.4s', '44.1s', '5m12s', '1h30m': what a person reads at a glance."""
    if seconds is None or not math.isfinite(seconds):
        return ""
    if seconds < 60:
        return f"{seconds:.1f}s"
    seconds = round(seconds)
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def members_summary(params: dict, learner_of: dict[int, str]) -> str:
    """An ensemble's members by learner name with their weights: 'auto_ets 0.6 + theta 0.4'."""
    weights = np.asarray(params.get("weights", []), dtype=float)
    if not len(weights):
        return ""
    shares = weights / weights.sum() if weights.sum() > 0 else weights
    return " + ".join(f"{learner_of.get(int(i), f'trial {i}')} {w:.2g}"
                      for i, w in zip(params["members"], shares))


def params_summary(params: dict | str) -> str:
    """Parameters as short 'key=value' pairs (the full JSON stays in the CSV and --json)."""
    if isinstance(params, str):
        params = json.loads(params) if params.strip() else {}
    if not params:
        return "defaults"
    def short(value) -> str:
        if isinstance(value, float):
            return f"{value:.3g}"
        return json.dumps(value, default=str) if isinstance(value, (list, dict)) else str(value)
    return ", ".join(f"{k}={short(v)}" for k, v in params.items())


def guardrail_lines(report) -> list[str]:
    """The guardrail summary: counts by status, then every check that did not simply pass,
    with the fix it made."""
    counts: dict[str, int] = {}
    for r in report.results:
        counts[r.status] = counts.get(r.status, 0) + 1
    lines = ["Guardrails: " + ", ".join(f"{n} {status}" for status, n in counts.items())]
    for r in report.results:
        if r.status != "passed":
            lines.append(f"  {r.status} {r.check}: {r.message}"
                         + (f" (fix: {r.fix})" if r.fix and r.fix != r.message else ""))
    return lines


def skipped_learners(result) -> dict[str, str]:
    """Learners tried and skipped, and why (learner -> why): those left out before the search
    (``result.skipped_learners``: cost, GPU) and those whose every trial failed or timed out
    (with the first error)."""
    out = dict(result.skipped_learners)
    by_learner: dict[str, list] = {}
    for t in result.trials:
        by_learner.setdefault(t.learner, []).append(t)
    for name, trials in by_learner.items():
        if all(t.status in ("failed", "timeout") for t in trials):
            first = next((t.error for t in trials if t.error), "") or trials[0].status
            out[name] = (f"every trial {trials[0].status} ({len(trials)}): "
                         f"{first.splitlines()[0]}")
    return out


def skipped_lines(skipped: dict[str, str]) -> list[str]:
    if not skipped:
        return []
    return ["Skipped learners and why:", *(f"  {name}: {why}" for name, why in skipped.items())]


def summary_lines(run) -> list[str]:
    """The end of a fit: trials, time, why it stopped, the best model, what fell back, what
    was skipped."""
    result, model = run.result, run.best_model
    lines = [f"{len(result.trials)} trials in {human_duration(run.elapsed)} "
             f"({result.stopped_because}); best: {model.description}"
             + (f"; {result.ranking_note}" if result.ranking_note else "")
             + (f"; {run.refit_note}" if getattr(run, "refit_note", "") else "")]
    fallback = getattr(model, "fallback_series", {})
    if fallback:
        from tsauto.data.guardrails import FALLBACK_CHAIN

        lines.append(f"{len(fallback)} series forecast by the fallback, {FALLBACK_CHAIN}: "
                     + "; ".join(f"{k!r} ({v['method']}: {v['reason']})"
                                 for k, v in list(fallback.items())[:5])
                     + (f"; and {len(fallback) - 5} more (model.fallback_series)"
                        if len(fallback) > 5 else ""))
    return lines + skipped_lines(skipped_learners(result))


class PlainReporter(Reporter):
    """One plain line per event, one per finished trial: for logs, CI and notebooks.

    It also keeps the state a live display needs (trials done, best so far, time left)."""

    def __init__(self, write: Callable[[str], None] | None = None, verbosity: int = 1) -> None:
        # stderr looked up at each write, so that a redirected or captured stderr is honoured
        self.write = write or (lambda line: print(line, file=sys.stderr, flush=True))
        self.verbosity = verbosity
        self.metric = ""
        self.budget: float | None = None
        self.started = time.monotonic()
        self.done_trials = 0
        self.best = None
        self.running: dict[int, tuple[str, float]] = {}  # trial id -> (learner, its start)

    def time_left(self) -> float | None:
        if self.budget is None:
            return None
        return max(0.0, self.budget - (time.monotonic() - self.started))

    def note(self, text: str) -> None:
        self.write(text)

    def guardrails(self, report) -> None:
        for line in guardrail_lines(report):
            self.write(line)

    def validation(self, scheme: str) -> None:
        self.write(f"Validation: {scheme}")

    def search_started(self, learners, skipped, metric, budget, started) -> None:
        self.metric, self.budget, self.started = metric, budget, started
        self.write(f"Searching {len(learners)} learners on {metric}"
                   + (f" for {human_duration(budget)}" if budget else "")
                   + (f"; skipped {len(skipped)}: {', '.join(skipped)}" if skipped else ""))

    def trial_started(self, trial_id, learner, params) -> None:
        self.running[trial_id] = (learner, time.monotonic())

    def trial_finished(self, trial) -> None:
        self.count(trial)
        self.write(self.trial_line(trial))

    def trial_replayed(self, trial) -> None:
        self.count(trial)  # printed by the run it came from; the best so far includes it

    def count(self, trial) -> None:
        """Count a finished trial and keep the best so far."""
        self.running.pop(trial.trial_id, None)
        self.done_trials += 1
        score = trial.metrics.get(self.metric, np.nan) if trial.status == "completed" else np.nan
        if np.isfinite(score) and (self.best is None or
                                   is_better(self.metric, score, self.best.metrics[self.metric])):
            self.best = trial

    def trial_line(self, trial) -> str:
        score = trial.metrics.get(self.metric, np.nan)
        outcome = (f"{self.metric}={score:.4f}" if trial.status == "completed"
                   else trial.status + (f": {trial.error.splitlines()[0]}" if trial.error else ""))
        left = self.time_left()
        return (f"trial {trial.trial_id} {trial.learner} {outcome} "
                f"in {human_duration(trial.duration)}; {self.best_text()}"
                + ("" if left is None else f"; {human_duration(left)} left"))

    def best_text(self) -> str:
        if self.best is None:
            return "no best yet"
        return f"best {self.metric} {self.best.metrics[self.metric]:.4f} ({self.best.learner})"

    def ensembles(self, trials, by_id) -> None:
        learner_of = {i: t.learner for i, t in by_id.items()}
        for t in trials:
            if t.status != "completed":  # no members, no score: say why instead
                self.write(f"{t.learner} {t.status}: "
                           f"{(t.error or 'no reason recorded').splitlines()[0]}")
                continue
            self.write(f"{t.learner} of {members_summary(t.params, learner_of)}: "
                       f"{self.metric}={t.metrics.get(self.metric, np.nan):.4f}")

    def refit(self, description: str) -> None:
        self.write(f"Refitting {description} on the full history")

    def done(self, run) -> None:
        for line in summary_lines(run):
            self.write(line)


def default_reporter(verbosity: int) -> Reporter:
    """The API's own: plain lines at verbosity 1 and 2, silence at 0."""
    return PlainReporter(verbosity=verbosity) if verbosity >= 1 else Reporter()
