"""Search: the trial record, the worker executor, the AutoML loop and the final refit."""

from tsauto.search.engine import SearchResult, search
from tsauto.search.trial import TrialResult, TrialSpec, build_learner

__all__ = ["search", "SearchResult", "TrialResult", "TrialSpec", "build_learner"]
