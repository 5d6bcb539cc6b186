"""What every trial of an experiment is given besides its own parameters, one type per task.

A learner family says which of these fields its constructor takes (``context_fields`` and
``from_context`` on the learner bases); a trial's tuned parameters override them.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from tsauto.features.spec import FeaturizationSpec


@dataclass(frozen=True)
class ForecastContext:
    horizon: int
    quantiles: tuple[float, ...]
    season_length: int
    featurization: FeaturizationSpec     # the pivoted learners' design, from the settings
    seed: int

    # Holidays are the featurization's; Prophet takes them too.
    @property
    def country_or_region(self) -> str | None:
        return self.featurization.country_or_region

    @property
    def subdivision(self) -> str | None:
        return self.featurization.subdivision


@dataclass(frozen=True)
class TabularContext:
    task: str                            # classification | regression
    classes: list | None                 # None for regression
    data: tuple[pd.DataFrame, pd.Series]  # (X, y): every row the folds index into
    seed: int
