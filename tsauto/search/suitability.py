"""Which forecasting learners fit the data at all: a trial of a method made for another kind of
series is budget spent for nothing (an intermittent-demand method on data without zeros, a
seasonal method on yearly data).  The search skips them, with the reason, in the list the
leaderboard, the progress display and ``skipped.json`` show; naming a learner in
``allowed_models`` tries it anyway.
"""

from __future__ import annotations

import numpy as np

from tsauto.data.dataset import TimeSeriesDataset

# A series is intermittent when at least this share of its values is zero (Syntetos-Boylan's
# ADI > 1.32 cut-off is ~24% zeros; a little above it keeps a few stray zeros out)...
INTERMITTENT_ZEROS = 0.3
# ...and intermittent-demand methods are worth a trial when at least this share of the series is.
INTERMITTENT_SERIES = 0.1


def intermittent_share(dataset: TimeSeriesDataset) -> float:
    """Share of the series whose values are zero at least ``INTERMITTENT_ZEROS`` of the time."""
    grouped = dataset.grouped()
    codes = np.repeat(np.arange(dataset.n_series), dataset.lengths)
    zeros = np.bincount(codes, weights=grouped.values == 0, minlength=dataset.n_series)
    return float(np.mean(zeros >= INTERMITTENT_ZEROS * np.maximum(dataset.lengths, 1)))


def unsuited_learners(dataset: TimeSeriesDataset, registry) -> dict[str, str]:
    """Learner name -> why it does not fit this data, for the learners of ``registry`` that
    declare what they need (``Capabilities.intermittent``, ``Capabilities.seasonal``)."""
    out: dict[str, str] = {}
    intermittent = None  # computed once, when some learner asks
    season = dataset.season_length
    cycles = int(dataset.lengths.max(initial=0)) // max(season, 1)
    for name in registry.names():
        caps = registry.get(name).capabilities
        if caps.intermittent:
            if intermittent is None:
                intermittent = intermittent_share(dataset)
            if intermittent < INTERMITTENT_SERIES:
                out[name] = (f"not intermittent data: {intermittent:.0%} of the series have "
                             f"{INTERMITTENT_ZEROS:.0%} or more zero values (intermittent-demand "
                             f"methods are tried from {INTERMITTENT_SERIES:.0%})")
        elif caps.seasonal and season <= 1:
            out[name] = f"no season to model: the data's frequency ({dataset.freq}) has none"
        elif caps.seasonal and cycles < 2:
            out[name] = (f"no series holds two seasons of {season} periods (the longest has "
                         f"{int(dataset.lengths.max(initial=0))})")
    return out
