"""The stack ensemble's weights scaled to sum to one (as shipped) against free weights (before),
on the same trials: fit a collection of benchmarks/panel.py at a budget (or load the run stored
in OUT), build the stack over its trials both ways, and score each on validation
(cross-fitted, as the search does) and on the holdout (the members refitted once on the
training part, without calibration windows, blended with each stack's weights).

    python benchmarks/stacking_benchmark.py tourism 126 /tmp/tourism126
"""
import os
import sys
import time

import panel

import tsauto.tasks.forecasting as F
from tsauto import AutoML, ForecastSettings
from tsauto.search.engine import SearchResult
from tsauto.search.refit import refit_each

ENSEMBLES = ("voting_ensemble", "stack_ensemble", "statistical_combination")


def stacks(run, settings) -> dict:
    """The stack over the run's single trials, with weights summing to one and free."""
    prepared = run._refit_each.args[1]
    singles = [t for t in run.result.trials if t.learner not in ENSEMBLES]
    ds = prepared.dataset

    def build(next_id):
        made = F.ensembles(singles, prepared.folds, prepared.context, settings.primary_metric,
                           next_id, voting=False, stacking=True, target=ds.target_column,
                           time_column=ds.time_column)
        return made[0] if made else None

    out = {"sum to one": build(1000)}
    weights, cross_fitted = F.stack_weights, F.cross_fitted
    F.stack_weights = lambda P, y, seed=0, sum_to_one=False: weights(P, y, seed)
    F.cross_fitted = lambda P, y, g, seed=0, sum_to_one=False: cross_fitted(P, y, g, seed)
    try:
        out["free"] = build(1001)
    finally:
        F.stack_weights, F.cross_fitted = weights, cross_fitted
    return out


def main(name: str, budget: float, folder: str) -> None:
    c = panel.load(name)
    train, test = panel.split(c.frame, c.h)
    settings = ForecastSettings(time_column="ds", target_column="y", grain_columns=["unique_id"],
                                horizon=c.h, time_budget=budget, seed=0, verbosity=0,
                                known_covariates=list(c.covariates))
    start = time.perf_counter()
    run = (AutoML.load(folder) if os.path.exists(f"{folder}/model.pkl")
           else AutoML(settings).fit(train, output_dir=folder))
    chosen = run.best_model.forecast().rename(columns={"forecast": "yhat"})
    print(f"{name}: chose {run.best_model.description[:120]}; holdout MASE "
          f"{panel.score(chosen, test, train, c.season)['mase']:.4f} "
          f"({time.perf_counter() - start:.0f} s)", flush=True)
    built = stacks(run, settings)
    by_id = {t.trial_id: t for t in run.result.trials}
    ids = sorted({i for st in built.values() if st for i in st.params["members"]})
    # the members refitted once each, without the model's calibration windows (point only)
    F.calibrate = lambda trial, learner, dataset, folds, context, step, seconds: \
        F.fit_calibration(trial.oof, folds, context, dataset)
    result = SearchResult([by_id[i] for i in ids], settings.primary_metric, "", 0.0)
    forecasts = {trial.trial_id: model.forecast().set_index(["unique_id", "ds"])["forecast"]
                 for trial, model, _ in refit_each(result, run._refit_each.args[1], settings)}
    for kind, st in built.items():
        if st is None:
            print(f"  {kind}: not built")
            continue
        weights = dict(zip(st.params["members"], st.params["weights"]))
        blend = sum(w * forecasts[i] for i, w in weights.items()).rename("yhat").reset_index()
        members = ", ".join(f"{by_id[i].learner} {w:.3f}" for i, w in weights.items())
        print(f"  {kind}: validation MASE {st.metrics[settings.primary_metric]:.4f}, holdout "
              f"{panel.score(blend, test, train, c.season)['mase']:.4f}, weights sum "
              f"{sum(weights.values()):.3f} ({members})", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]), sys.argv[3])
