"""``WeightedEnsemble`` (forecasters) and ``WeightedTabularEnsemble`` (tabular learners): fitted
members blended with fixed weights.

Voting ensembles (weights summing to 1) and stacking (non-negative meta-model coefficients)
both end as one: the point forecast and every quantile are the same weighted sum of the
members' forecasts.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd

from tsauto.data.forecast_columns import POINT, quantile_column
from tsauto.learners.base import Capabilities, Forecaster


class WeightedEnsemble(Forecaster):
    name = "weighted_ensemble"
    capabilities = Capabilities(known_covariates=True, past_covariates=True, static_features=True)

    def __init__(self, members: list[Forecaster], weights, kind: str = "voting", quantiles=()):
        super().__init__(quantiles, kind=kind, weights=[float(w) for w in weights])
        self.members = members
        self.weights = np.asarray(weights, dtype="float64")
        self.kind = kind

    def fit(self, train):  # members arrive fitted; fitting re-fits each of them
        for member in self.members:
            member.fit(train)
        return self._adopt(self.members[0])

    def _adopt(self, member: Forecaster) -> WeightedEnsemble:
        self.schema_ = member.schema_
        self.quantiles_ = member.quantiles_
        return self

    @classmethod
    def of_fitted(cls, members, weights, kind="voting") -> WeightedEnsemble:
        ensemble = cls(members, weights, kind, members[0].quantiles_)
        return ensemble._adopt(members[0])

    @property
    def free_quantiles(self) -> bool:
        return all(m.free_quantiles for m in self.members)

    def predict(self, horizon, future=None, quantiles=None):
        qs = self.quantiles_ if quantiles is None else self.with_quantiles(quantiles).quantiles_
        columns = [POINT, *[quantile_column(q) for q in qs]]
        frames = [m.predict(horizon, future=future, quantiles=quantiles) for m in self.members]
        out = frames[0].copy()
        out[columns] = sum(w * f[columns].to_numpy(dtype="float64")
                           for w, f in zip(self.weights, frames))
        # A series is listed when any member fell back on it.
        out.attrs = {"fallbacks": {k: v for f in frames
                                   for k, v in f.attrs.get("fallbacks", {}).items()}}
        return out

    def prepare(self, horizon):
        for member in self.members:
            member.prepare(horizon)

    def with_history(self, history):
        other = copy.copy(self)
        other.members = [m.with_history(history) for m in self.members]
        return other._adopt(other.members[0])

    def explain(self) -> dict:
        return {"learner": f"{self.kind}", "weights": self.weights.tolist(),
                "members": [m.explain() for m in self.members]}


class WeightedTabularEnsemble:
    """Fitted tabular learners blended with fixed weights: class probabilities (then the most
    probable class) or regression predictions are the weighted sum of the members'."""

    def __init__(self, members: list, weights, kind: str = "voting") -> None:
        self.members = members
        self.weights = np.asarray(weights, dtype="float64")
        self.kind = kind
        self.task = members[0].task
        self.classes_ = getattr(members[0], "classes_", None)

    def predict_proba(self, X) -> pd.DataFrame:
        classes = list(self.classes_)
        blend = sum(w * m.predict_proba(X).reindex(columns=classes, fill_value=0.0).to_numpy()
                    for w, m in zip(self.weights, self.members))
        return pd.DataFrame(blend / self.weights.sum(), columns=classes, index=X.index)

    def predict(self, X) -> np.ndarray:
        if self.task == "classification":
            return np.asarray(self.classes_)[self.predict_proba(X).to_numpy().argmax(axis=1)]
        return sum(w * np.asarray(m.predict(X), dtype="float64")
                   for w, m in zip(self.weights, self.members))

    def featurization_summary(self) -> pd.DataFrame:
        return self.members[0].featurization_summary()

    def explain(self) -> dict:
        return {"learner": self.kind, "weights": self.weights.tolist(),
                "members": [m.explain() for m in self.members]}
