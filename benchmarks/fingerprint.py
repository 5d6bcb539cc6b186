"""Behaviour fingerprint, for refactors that must not change behaviour: leaderboards and
forecasts/predictions of fixed, seeded experiments (no time budget, one worker, so nothing
depends on timing): forecasting on aus_accommodation (statistical, LightGBM, elastic-net learners
and ensembles), iris classification, diabetes regression.  About 1.5 minutes on 2 idle cores.

    python benchmarks/fingerprint.py write benchmarks/results/fingerprint.json   # before
    python benchmarks/fingerprint.py check benchmarks/results/fingerprint.json   # after: exit 1
                                                                                 # on a difference
"""
import json
import sys

import numpy as np
from sklearn.datasets import load_diabetes, load_iris

from tsauto import AutoML, ClassificationSettings, ForecastSettings, RegressionSettings, datasets

COMMON = dict(time_budget=None, max_concurrent_trials=1, seed=3, verbosity=0)


def board(run):
    b = run.leaderboard()
    keep = [c for c in b.columns if c not in ("seconds", "error", "members")]
    return json.loads(b[keep].to_json(orient="records", double_precision=10))


def forecasting():
    df = datasets.load_frame("aus_accommodation")
    roles = datasets.roles("aus_accommodation")
    roles.pop("task", None)
    s = ForecastSettings(**roles, horizon=8, max_trials=9, quantiles=[0.1, 0.5, 0.9],
                         allowed_models=["seasonal_naive", "auto_ets", "auto_theta", "naive",
                                         "lightgbm", "elastic_net", "window_average"], **COMMON)
    run = AutoML(s).fit(df)
    fc = run.best_model.forecast()
    num = fc.select_dtypes("number")
    return {"board": board(run), "best": run.best_model.description,
            "forecast": np.round(num.to_numpy(), 8).tolist(), "columns": list(fc.columns)}


def tabular():
    out = {}
    X, y = load_iris(return_X_y=True, as_frame=True)
    iris = X.assign(species=y.astype(str))
    run = AutoML(ClassificationSettings(target_column="species", max_trials=6, **COMMON)).fit(iris)
    out["iris_board"] = board(run)
    out["iris_proba"] = np.round(run.best_model.predict_proba(iris.head(20)).to_numpy(), 8).tolist()
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    diab = X.assign(target=y)
    run = AutoML(RegressionSettings(target_column="target", max_trials=6, **COMMON)).fit(diab)
    out["diabetes_board"] = board(run)
    out["diabetes_pred"] = np.round(run.best_model.predict(diab.head(20)), 6).tolist()
    return out


def compare(a, b, path="$"):
    if isinstance(a, dict) and isinstance(b, dict):
        bad = []
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                bad.append(f"{path}.{k}: only in {'old' if k in a else 'new'}")
            else:
                bad += compare(a[k], b[k], f"{path}.{k}")
        return bad
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: length {len(a)} != {len(b)}"]
        return [m for i, (x, y) in enumerate(zip(a, b)) for m in compare(x, y, f"{path}[{i}]")]
    if isinstance(a, float) and isinstance(b, float):
        if np.isnan(a) and np.isnan(b) or np.isclose(a, b, rtol=1e-7, atol=1e-9):
            return []
    if a != b:
        return [f"{path}: {a!r} != {b!r}"]
    return []


if __name__ == "__main__":
    mode, path = sys.argv[1], sys.argv[2]
    result = {"forecasting": forecasting(), "tabular": tabular()}
    if mode == "write":
        json.dump(result, open(path, "w"), indent=1)
        print("written", path)
    else:
        diffs = compare(json.load(open(path)), json.loads(json.dumps(result)))
        print("\n".join(diffs[:40]) or "identical")
        sys.exit(1 if diffs else 0)
