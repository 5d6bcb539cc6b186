"""``WeightedEnsemble``: a forecaster that blends fitted members with fixed weights.

Voting ensembles (weights summing to 1) and stacking (non-negative meta-model coefficients)
both end as one: the point forecast and every quantile are the same weighted sum of the
members' forecasts.
"""

from __future__ import annotations

import numpy as np

from tsauto.learners.base import POINT, Capabilities, Forecaster, quantile_column


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

    def predict(self, horizon, future=None):
        columns = [POINT, *[quantile_column(q) for q in self.quantiles_]]
        frames = [m.predict(horizon, future=future) for m in self.members]
        out = frames[0].copy()
        out[columns] = sum(w * f[columns].to_numpy(dtype="float64")
                           for w, f in zip(self.weights, frames))
        return out

    def explain(self) -> dict:
        return {"learner": f"{self.kind}", "weights": self.weights.tolist(),
                "members": [m.explain() for m in self.members]}
