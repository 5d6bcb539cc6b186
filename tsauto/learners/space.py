"""Search spaces: plain descriptions of the hyper-parameters a learner may tune, which the search
turns into optimiser calls.  Forecasters and tabular learners declare them alike."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class IntRange:
    low: int
    high: int
    log: bool = False


@dataclass(frozen=True)
class FloatRange:
    low: float
    high: float
    log: bool = False


@dataclass(frozen=True)
class Choice:
    options: tuple
