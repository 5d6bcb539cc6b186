"""Ensembles over out-of-fold predictions, for every task: greedy (voting) selection, stacking,
the array arithmetic around them (``oof``) and the weighted ensembles the models hold."""

from tsauto.ensemble.greedy import cross_fitted_voting, greedy_selection, shrunk_to_equal
from tsauto.ensemble.stacking import convex_weights, cross_fitted, fit_stacker

__all__ = ["greedy_selection", "cross_fitted_voting", "shrunk_to_equal", "convex_weights",
           "fit_stacker", "cross_fitted"]
