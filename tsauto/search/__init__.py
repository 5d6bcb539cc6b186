"""Search: trials, the worker executor and the AutoML loop."""

from tsauto.search.engine import SearchResult, search
from tsauto.search.trial import TrialResult, TrialSpec, build_learner, run_trial

__all__ = ["search", "SearchResult", "TrialResult", "TrialSpec", "build_learner", "run_trial"]
