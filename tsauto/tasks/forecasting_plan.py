"""How the forecasting search is planned on the data at hand, before any trial runs.

Which learners fit the data at all: a trial of a method made for another kind of series is
budget spent for nothing (an intermittent-demand method on data without zeros, a seasonal
method on yearly data).  The search skips them, with the reason, in the list the leaderboard,
the progress display and ``skipped.json`` show; naming a learner in ``allowed_models`` tries
it anyway.

Measured, not declared, cost: before the search, the statistical family is timed on a few of
the actual series (length, frequency and count change its cost tenfold), and the budget is
planned from what it measured:

- a learner whose measured trial would take more than half the budget is skipped, with the
  measured figure as the reason (``candidate_learners``); the others keep their declared cost;
- with ``n_cross_validations='auto'``, the validation windows are cut (down to one) until the
  core of the family (AutoTheta, AutoETS, AutoCES) can be validated on every window and refitted
  in half the budget: at a budget close to what the family costs once, three windows leave no
  time to run it at all, and one window that runs it beats three that never do;
- a costly learner that would be skipped so (AutoARIMA on long monthly panels) is spent once
  instead, when that fits (``reused_forms``): every learner is validated on the last window,
  AutoARIMA with its approximate order search, and its refit reuses the orders it chose; the
  costliest core members make room for it when that is what it takes (``lean_core``);
- otherwise, where the family cannot run on every window, a duel on the last window weighs
  LightGBM beside AutoTheta, and a clear gain gives LightGBM every window (``global_plan``).

The probe spends at most ``PROBE_SHARE`` of the budget (besides the import of statsforecast,
which the trials' fork server does once for all); it runs in a worker, one process, on series
spread over the range of lengths (chosen by rank, not by chance).  A trial's learner runs its
series in a pool of its worker's cores (all of them for one worker alone, see
search/executor.py): the plan counts the probe's one-process seconds in a trial's, divided by
the pool's measured speed-up (``trial_speedup``).
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from tsauto.data.dataset import TimeSeriesDataset

if TYPE_CHECKING:
    from tsauto.tasks.forecasting import ForecastContext


# -- learners that fit the data --------------------------------------------------------------
# A series is intermittent when at least this share of its values is zero (Syntetos-Boylan's
# ADI > 1.32 cut-off is ~24% zeros; a little above it keeps a few stray zeros out)...
INTERMITTENT_ZEROS = 0.3
# ...and intermittent-demand methods are worth a trial when at least this share of the series is.
INTERMITTENT_SERIES = 0.1


def intermittent_share(dataset: TimeSeriesDataset) -> float:
    """Share of the series whose values are zero at least ``INTERMITTENT_ZEROS`` of the time."""
    grouped = dataset.grouped()
    codes = np.repeat(np.arange(dataset.n_series), dataset.lengths)
    zeros = np.bincount(codes, weights=grouped.values == 0, minlength=dataset.n_series)
    return float(np.mean(zeros >= INTERMITTENT_ZEROS * np.maximum(dataset.lengths, 1)))


def unsuited_learners(dataset: TimeSeriesDataset, registry, horizon: int = 0) -> dict[str, str]:
    """Learner name -> why it does not fit this data, for the learners of ``registry`` that
    declare what they need (``Capabilities.intermittent``, ``Capabilities.seasonal``), and
    seasonal naive where no series holds a season plus one period before the last validation
    window (``horizon`` periods from the end)."""
    out: dict[str, str] = {}
    intermittent = None  # computed once, when some learner asks
    season = dataset.season_length
    cycles = int(dataset.lengths.max(initial=0)) // max(season, 1)
    for name in registry.names():
        caps = registry.get(name).capabilities
        if caps.intermittent:
            if intermittent is None:
                intermittent = intermittent_share(dataset)
            if intermittent < INTERMITTENT_SERIES:
                out[name] = (f"not intermittent data: {intermittent:.0%} of the series have "
                             f"{INTERMITTENT_ZEROS:.0%} or more zero values (intermittent-demand "
                             f"methods are tried from {INTERMITTENT_SERIES:.0%})")
        elif caps.seasonal and season <= 1:
            out[name] = f"no season to model: the data's frequency ({dataset.freq}) has none"
        elif caps.seasonal and cycles < 2:
            out[name] = (f"no series holds two seasons of {season} periods (the longest has "
                         f"{int(dataset.lengths.max(initial=0))})")
    longest = int(dataset.lengths.max(initial=0)) - horizon
    if season > 1 and longest < season + 1 and "seasonal_naive" in registry.names():
        # every series would be forecast by its fallback (naive), and the trial fail
        out["seasonal_naive"] = (f"no series holds a season plus one period ({season} + 1) "
                                 f"before the validation windows (the longest {longest}): naive "
                                 f"is the first baseline instead")
    return out


# -- measured cost and the validation depth it affords --------------------------------------
PROBED = ("auto_theta", "auto_ets", "auto_ces", "auto_arima")  # in this order: cheap first
CORE = ("auto_theta", "auto_ets", "auto_ces")
# The family member every plan keeps: cheap at every frequency, and what the duel weighs
# LightGBM beside.
ANCHOR = "auto_theta"
PROBE_SERIES = 4
PROBE_SHARE = 0.05   # of the time budget the probes may spend
CORE_SHARE = 0.5     # of the time budget the core's validation and refit may take


def probe_sample(dataset: TimeSeriesDataset, n: int = PROBE_SERIES) -> TimeSeriesDataset:
    """``n`` series spread over the range of lengths (the shortest, the longest, between)."""
    order = np.argsort(dataset.lengths, kind="stable")
    picks = order[np.unique(np.linspace(0, len(order) - 1, min(n, len(order))).round().astype(int))]
    keep = np.zeros(dataset.n_series, dtype=bool)
    keep[picks] = True
    return dataset.only(keep)


def _probe_job(job: tuple, sample: TimeSeriesDataset, context: ForecastContext) -> dict:
    """In a worker: seconds per series of each learner in ``names`` on ``sample``, until
    ``seconds`` are spent; a learner that fails on the sample is left out."""
    from tsauto.learners import registry
    from tsauto.search.trial import TrialSpec, build_learner

    names, seconds = job
    out: dict[str, float] = {}
    spent = 0.0
    for name in names:
        if spent > seconds:
            break
        start = time.perf_counter()
        try:
            learner = build_learner(TrialSpec(-1, name, {}, registry.get(name)), context).fit(sample)
            learner.predict(context.horizon)
        except Exception:  # noqa: BLE001 - its trial will fail and say why; the probe need not
            continue
        spent += time.perf_counter() - start
        out[name] = (time.perf_counter() - start) / sample.n_series
    return out


def probe_costs(dataset: TimeSeriesDataset, context: ForecastContext, budget: float,
                names=PROBED, preload: tuple[str, ...] = ()) -> dict[str, float]:
    """Measured seconds per series per fold (one process) of each learner in ``names``, until
    the probes have spent ``PROBE_SHARE`` of ``budget``; a learner that fails on the sample is
    left out (it keeps its declared cost).  The probe runs in a worker of the same fork server
    as the trials (which imports ``preload`` once, for both), so that it times the learners and
    not the import of their libraries; a probe that does not end in a quarter of the budget
    measures nothing."""
    if not names:
        return {}
    return in_worker(_probe_job, (probe_sample(dataset), context), (tuple(names),
                      PROBE_SHARE * budget), budget / 4, preload, cores=1) or {}


def in_worker(job, shared: tuple, extra, timeout: float | None, preload: tuple[str, ...] = (),
              cores: int | None = None):
    """``job(extra, *shared)`` in a worker of the trials' fork server (its learners held to
    ``cores``, or given a trial's), or None when it fails or passes ``timeout`` seconds."""
    import tempfile
    from pathlib import Path

    from tsauto.search.executor import Executor

    with tempfile.TemporaryDirectory(prefix="tsauto-job-") as work:
        # The trials' module too: the search that follows then finds its fork server ready.
        executor = Executor(Path(work), job, shared, 1, (*preload, "tsauto.tasks.forecasting"),
                            cores=cores)
        try:
            executor.submit(0, extra, timeout)
            done = executor.wait_any()
        finally:
            executor.shutdown()
    return done[0][2] if done and done[0][1] == "ok" else None


# A per-series learner's pool turns this share of each extra core into speed.  Measured in a
# trial worker on 60 us_employment series, AutoARIMA (approximate): statsforecast's two chunks
# took 28.8 and 23.3 CPU-s, so a pool of 2 on idle cores ends after the larger, 1.81x sooner
# than one process (benchmarks/results/accuracy.md, branch i13c); AutoTheta 1.72x and AutoETS
# 1.68x wall-clock on a quiet machine (docs/learners.md).  Below 1: uneven chunks, the pool's
# start.  On a loaded machine a pool gains less (other work takes the second core).
POOL_EFFICIENCY = 0.8


def trial_speedup(workers: int, n_series: int) -> float:
    """How much faster a trial's per-series learner runs than the probe's one process: a pool
    of its worker's cores (all of them for one worker, its share beside others; never more
    processes than series)."""
    from tsauto.learners._stat_common import cpu_count

    cores = min(max(1, cpu_count() // max(workers, 1)), max(n_series, 1))
    return 1.0 + POOL_EFFICIENCY * (cores - 1)


def planned_windows(windows: int, probed: dict[str, float], n_series: int, budget: float,
                    workers: int) -> int:
    """Validation windows that let the probed core family (seconds per series per fold of a
    trial) run on each and be refitted within ``CORE_SHARE`` of the budget, ``workers`` trials
    side by side (one at least, ``windows`` at most)."""
    core = sum(probed.get(name, 0.0) for name in CORE) * n_series / max(workers, 1)
    if core <= 0:
        return windows
    affordable = int(CORE_SHARE * budget / core) - 1  # one window's fits each, then the refit
    return int(max(1, min(windows, affordable)))


# -- a costly learner spent once -----------------------------------------------------------
# AutoARIMA's order search costs ~10x the core on long monthly panels (us_employment: ~90% of
# the statistical ensemble's own wall time, 484 s of 531 s on 2 cores).  Validated on every
# window and refitted, it fits no budget close to what the family costs once, so the search
# skipped it, although it carries the ensemble on trending series (us_employment: AutoARIMA
# alone 0.472 holdout MASE, the family without it 0.614).  The budget is spent as an expert
# would, when ARIMA's normal validation would be skipped but one cheaper fit of it is affordable:
# - every learner is validated on the last window only, so that all trials (and the
#   ensembles and combination over them) are still compared on the same rows;
# - AutoARIMA searches its orders approximately (conditional sums of squares during the search,
#   maximum likelihood for the chosen model, as R's auto.arima does on long series): 2.5x
#   cheaper on us_employment (193 s against 484 s), the ensemble's holdout MASE 0.529 against
#   0.525 with the exact search;
# - its refit reuses the forms that fit chose (orders and coefficients, the state filtered
#   through all the data: statsforecast ``forward``) instead of searching again on 18 more
#   months, so ARIMA costs one search in all.
# Reusing forms is chosen over admitting ARIMA unvalidated at refit (same cost, one search, but
# no score: an unscored member cannot be weighed) and over validating ARIMA on fewer windows
# than the rest (scores on different rows are not comparable).
# With several workers ARIMA's one fit runs in one while the core is validated and the rest
# searched in the others (max_concurrent_trials="auto"); with one worker (its pool on every
# core) the core runs before it.
REUSABLE = {"auto_arima": {"approximation": True}}  # learner -> parameters of its one trial
APPROXIMATE = 0.4   # the approximate search's cost against the exact one's (measured above)
REUSE_SHARE = 0.75  # of the budget its one fit (and, with one worker, the core's) may take


class SearchPlan(NamedTuple):
    windows: int                    # validation windows
    measured: dict[str, float]      # seconds per series per fold of a trial, by learner
    planned: dict[str, dict]        # learner -> parameters of the one trial it is afforded
    first: tuple[str, ...] = ()     # baselines run right after seasonal naive, in this order
    skipped: dict[str, str] = {}    # learner -> why the plan leaves it out (global_plan)
    note: str = ""                  # the plan's choice, for the validation's description

    @classmethod
    def restored(cls, stored: dict) -> SearchPlan:
        """The plan as ``_asdict()`` stored it with an experiment (JSON: ``first`` a list);
        an experiment stored before plans were kept gives its trials' windows alone."""
        return cls(**{"measured": {}, "planned": {}, **stored,
                      "first": tuple(stored.get("first", ()))})


def reused_forms(windows: int, probed: dict[str, float], n_series: int, budget: float,
                 workers: int) -> dict[str, dict]:
    """The costly learners (``REUSABLE``) that ``candidate_learners`` would skip on
    ``windows`` windows and whose one approximate fit takes at most ``REUSE_SHARE`` of the
    budget in one of ``workers`` trial workers (with one worker, after the core's fit on one
    window and its refit), with their trial's parameters.  ``probed``: seconds per series per
    fold of a trial."""
    core = sum(probed.get(name, 0.0) for name in CORE) * n_series  # one trial, one window
    out = {}
    for name, params in REUSABLE.items():
        if name not in probed:
            continue
        one = probed[name] * n_series  # one window, one trial: candidate_learners' units
        if one * windows <= budget / 2:
            continue  # validated like every learner
        if APPROXIMATE * one + (2 * core if workers < 2 else 0.0) <= REUSE_SHARE * budget:
            out[name] = dict(params)
    return out


def lean_core(windows: int, probed: dict[str, float], n_series: int, budget: float,
              workers: int) -> tuple[dict[str, dict], dict[str, str]]:
    """The costly learners ``reused_forms`` affords once the costliest core members are left
    out (never ``ANCHOR``), and those members with why; ({}, {}) when leaving them out does
    not make room either.  On us_employment at equal time on a quiet machine (108 s) AutoARIMA's
    one approximate fit (46 s) and the whole core's fit and refit (63 s) did not fit 75% of the
    budget, so ARIMA, which carries that collection (alone 0.472 holdout MASE, the family
    without it 0.614), was skipped; AutoTheta's fit and refit (8 s) left room for it."""
    # (global_economy at 27 s: AutoETS was the cheapest there, AutoTheta was left out with
    # AutoCES, AutoARIMA did not finish and seasonal naive shipped)
    costliest = sorted((n for n in CORE if n in probed and n != ANCHOR), key=probed.get,
                       reverse=True)
    for k in range(1, len(costliest) + 1):
        kept = {n: v for n, v in probed.items() if n not in costliest[:k]}
        planned = reused_forms(windows, kept, n_series, budget, workers)
        if planned:
            why = (f"the budget goes to {', '.join(planned)} spent once: its one approximate fit "
                   f"and this member's validation and refit do not fit "
                   f"{REUSE_SHARE:.0%} of the time budget together")
            return planned, {n: why for n in costliest[:k]}
    return {}, {}


# -- the global learners against the family -------------------------------------------------
# Cutting the windows so that the family runs can cost more than it buys: on aus_retail at the
# demo's 120 s (152 monthly series of ~120 points) AutoETS and AutoCES take ~20 s a window each in
# one process, the plan cut validation to one window, the family then used the whole budget and no
# LightGBM trial ran (holdout MASE 0.641); with AutoETS/AutoCES left out, LightGBM tuned with
# AutoTheta on three windows gave 0.605.  What LightGBM is worth is the data's: as a member beside
# AutoTheta it gains 5.6% on that window, but loses 11% on prison and 10% on global_economy's yearly
# GDP, where the family wins (and gains 1.7% on tourism).  So when the family cannot be validated on
# the windows asked, the plan measures that worth (a "duel" on the last window, the one every plan
# validates on): AutoTheta (the family's cheapest member) and LightGBM, each fitted on up to
# ``DUEL_SERIES`` series, and the MASE of their equal-weight mean against AutoTheta's alone.  An
# expected gain of ``GLOBAL_GAIN`` or more buys the global plan (``global_plan``): every window, the
# family members those afford (cheapest first) and LightGBM right after them, and the costly members
# left out with the reason; less keeps the family first on fewer windows.
GLOBAL = "lightgbm"      # the global learner the plan weighs against the family
# The duel's series: its verdict moves with the sample (aus_retail: 5.6% on all 152 series,
# 3.5% on 100 of them; tourism 1.7% on all 304, 2.8% on 100), so all of them up to this many
DUEL_SERIES = 200
# Share of AutoTheta's MASE the mean with LightGBM must gain: between what tourism (the family
# wins there) and aus_retail (LightGBM carries it) measured; a threshold read off those two
GLOBAL_GAIN = 0.03
DUEL_SHARE = 0.15        # of the budget the duel may take (stopped past it: no global plan)
# The family members' share of the budget in the global plan (validation and refit): the rest
# goes to LightGBM and its tuned trials
GLOBAL_FAMILY_SHARE = 0.25


def _duel_job(_: tuple, sample: TimeSeriesDataset, context: ForecastContext) -> dict:
    """In a worker: AutoTheta's and LightGBM's MASE on ``sample``'s last window, their
    equal-weight mean's, and their seconds per series for that fold (fit and forecast; with
    the context's quantiles, LightGBM's conformal fits counted as one fit each)."""
    from tsauto.evaluation.scoring import score_forecast
    from tsauto.evaluation.splits import rolling_origin
    from tsauto.learners import registry
    from tsauto.search.trial import TrialSpec, build_learner
    from tsauto.tasks.forecasting import score_fold

    fold = rolling_origin(sample, context.horizon, 1, context.horizon)[0]
    # Point forecasts only: LightGBM's quantiles cost a fit per conformal window besides its
    # own (PivotedForecaster._calibrate), counted in its cost rather than run here
    point = replace(context, quantiles=())
    out, forecasts = {}, {}
    for name in (ANCHOR, GLOBAL):
        start = time.perf_counter()
        learner = build_learner(TrialSpec(-1, name, {}, registry.get(name)), point)
        metrics, forecasts[name] = score_fold(learner, fold, context.horizon,
                                              context.season_length, ())
        fits = 1 + (getattr(learner, "conformal_windows", 0) if context.quantiles else 0)
        out[name] = (metrics["mase"], fits * (time.perf_counter() - start) / sample.n_series)
    mean = forecasts[ANCHOR].assign(
        forecast=(forecasts[ANCHOR]["forecast"].to_numpy()
                  + forecasts[GLOBAL]["forecast"].to_numpy()) / 2)
    out["mean"] = score_forecast(mean, fold.train.frame, sample.target_column,
                                 context.season_length, ())["mase"]
    return out


def duel(dataset: TimeSeriesDataset, context: ForecastContext, budget: float,
         preload: tuple[str, ...] = ()) -> tuple[float, float] | None:
    """(the gain of AutoTheta and LightGBM's mean over AutoTheta alone, as a share of its MASE
    on the last window; LightGBM's seconds per series per fold) on up to ``DUEL_SERIES`` series
    spread over the lengths; None when the duel fails or passes ``DUEL_SHARE`` of the budget."""
    sample = probe_sample(dataset, DUEL_SERIES)
    # In a trial's conditions (every core), so that LightGBM's cost is a trial's.  LightGBM is
    # not preloaded: a new preload would restart the fork server the probe and the trials
    # share, and import statsforecast again.
    done = in_worker(_duel_job, (sample, context), (), DUEL_SHARE * budget, preload)
    if not done or not np.isfinite(done[ANCHOR][0]) or done[ANCHOR][0] <= 0:
        return None
    return 1.0 - done["mean"] / done[ANCHOR][0], done[GLOBAL][1]


def global_plan(windows: int, probed: dict[str, float], gain: float, global_cost: float,
                n_series: int, budget: float, workers: int) -> tuple[tuple[str, ...],
                                                                   dict[str, str]] | None:
    """The baselines of the global plan, the family members validated on all ``windows``
    (cheapest first, within ``GLOBAL_FAMILY_SHARE`` of the budget with their refits, counted as
    ``planned_windows`` does; AutoTheta always, since the gain was measured beside it) then
    ``GLOBAL``, and the costly members left out with why; None when LightGBM's measured
    ``gain`` beside AutoTheta is under ``GLOBAL_GAIN`` or its own validation and refit would
    take over half the budget (``global_cost``: its seconds per series per fold in a trial, as
    the duel measured it)."""
    if gain < GLOBAL_GAIN or global_cost * n_series * (windows + 1) > budget / 2:
        return None
    kept, skipped, spent = [], {}, 0.0
    for name in sorted((n for n in CORE if n in probed), key=probed.get):
        seconds = probed[name] * n_series / max(workers, 1) * (windows + 1)
        # (AutoTheta is kept whatever it costs: what LightGBM gained was its mean with AutoTheta;
        # under load its probe could price it out of the share, and LightGBM then ran alone)
        if name == ANCHOR or spent + seconds <= GLOBAL_FAMILY_SHARE * budget:
            kept.append(name)
            spent += seconds
        else:
            skipped[name] = (f"the budget goes to LightGBM on {windows} windows: beside "
                             f"AutoTheta it gained {gain:.0%} on the last window, and {name} "
                             f"validated on {windows} windows and refitted would take "
                             f"~{seconds:.0f}s, more than the family's share of the budget "
                             f"({GLOBAL_FAMILY_SHARE * budget:.0f}s) leaves")
    return (*kept, GLOBAL), skipped


def plan_search(dataset: TimeSeriesDataset, context: ForecastContext, settings, windows: int
                ) -> SearchPlan:
    """Validation windows, measured seconds per series per fold of a trial by learner, and
    the costly learners spent once, for a search of ``dataset`` under ``settings``; nothing is
    probed without a time budget."""
    from tsauto.search.executor import concurrent_jobs

    budget = settings.time_budget
    if budget is None:
        return SearchPlan(windows, {}, {})
    workers = concurrent_jobs(settings.max_concurrent_trials)
    from tsauto.learners import registry
    from tsauto.search.engine import preloads

    usable = set(settings.allowed_models or registry.names()) - set(settings.blocked_models)
    names = [n for n in PROBED if n in usable]
    speedup = trial_speedup(workers, dataset.n_series)
    probed = {name: seconds / speedup for name, seconds in
              probe_costs(dataset, context, budget, names, preloads(registry, names)).items()}
    planned = {}
    if settings.n_cross_validations == "auto":
        cut = planned_windows(windows, probed, dataset.n_series, budget, workers)
        planned = reused_forms(cut, probed, dataset.n_series, budget, workers)
        if not planned:
            planned, skipped = lean_core(cut, probed, dataset.n_series, budget, workers)
            if planned:
                return SearchPlan(1, probed, planned, (), skipped,
                                  f"{', '.join(skipped)} left out to make room for "
                                  f"{', '.join(planned)} (see the skipped learners)")
        # the family cannot run on every window: is the budget worth more to LightGBM?
        if cut < windows and not planned and {ANCHOR, GLOBAL} <= usable:
            measured = duel(dataset, context, budget, preloads(registry, [ANCHOR, GLOBAL]))
            plan = measured and global_plan(windows, probed, *measured, dataset.n_series,
                                             budget, workers)
            if plan:
                first, skipped = plan
                return SearchPlan(windows, {**probed, GLOBAL: measured[1]}, {}, first, skipped,
                                  f"the global plan: AutoTheta's mean with LightGBM gained "
                                  f"{measured[0]:.0%} over AutoTheta alone on the last window, "
                                  f"so LightGBM is validated on every window rather than the "
                                  f"family on fewer" + (f" ({', '.join(skipped)} left out: see "
                                                        f"the skipped learners)" if skipped
                                                        else ""))
        windows = cut
    elif windows == 1:  # one window given: its forms can stand for the refit's as well
        planned = reused_forms(1, probed, dataset.n_series, budget, workers)
    return SearchPlan(1 if planned else windows, probed, planned)


def recorded_windows(trials) -> int | None:
    """The validation windows a stored experiment's completed trials were scored on (None when
    none is recorded): what a resume or a load keeps of an experiment stored before its plan
    was (``SearchPlan.restored``), since planning again would measure the learners again and
    could choose other windows than its trials had."""
    counts = {len(t.fold_metrics) for t in trials if t.status == "completed" and t.fold_metrics}
    return max(counts) if counts else None
