"""Ensembles over out-of-fold predictions, for every task: greedy (voting) selection, stacking,
the array arithmetic around them (``oof``) and the weighted ensembles the models hold."""

from tsauto.ensemble.greedy import cross_fitted_voting, greedy_selection, shrunk_to_equal
from tsauto.ensemble.stacking import cross_fitted, fit_stacker, stack_weights

__all__ = ["greedy_selection", "cross_fitted_voting", "shrunk_to_equal", "fit_stacker",
           "stack_weights", "cross_fitted"]
