"""Ensembles over out-of-fold forecasts: greedy (voting) selection and stacking."""

from tsauto.ensemble.greedy import greedy_selection
from tsauto.ensemble.stacking import cross_fitted, fit_stacker

__all__ = ["greedy_selection", "fit_stacker", "cross_fitted"]
