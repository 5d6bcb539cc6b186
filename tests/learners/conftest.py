"""Small real and synthetic datasets for the learner tests.

HOME, XDG_CACHE_HOME and MPLCONFIGDIR already point at a temporary folder (tests/conftest.py),
so Prophet/CmdStan and torch write no caches into the real home.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import tsauto
from tests.learners.learner_checks import series_frame
from tsauto import datasets

STATES = ["New South Wales", "Victoria", "Queensland", "Tasmania"]


def _subset(ds: tsauto.TimeSeriesDataset, keep, **roles) -> tsauto.TimeSeriesDataset:
    frame = ds.to_frame()
    frame = frame[keep(frame)].drop(columns="series_id")
    return tsauto.TimeSeriesDataset(frame, time_column=ds.time_column,
                                    target_column=ds.target_column,
                                    grain_columns=ds.grain_columns, freq=ds.freq, **roles)


@pytest.fixture(scope="session")
def accommodation():
    """Four states of aus_accommodation (quarterly takings; CPI known, occupancy past-only),
    the last 8 quarters held out: (train, test, future covariates frame)."""
    full = datasets.load("aus_accommodation")
    ds = _subset(full, lambda f: f["State"].isin(STATES), known_covariates=["CPI"],
                 past_covariates=["Occupancy"])
    train, test = ds.split_last(8)
    future = test.to_frame()[["State", ds.time_column, "CPI"]]
    return train, test, future


@pytest.fixture(scope="session")
def accommodation_plain(accommodation):
    """The same four states without covariates (for the learners that take none)."""
    train, test, _ = accommodation
    frame = pd.concat([train.to_frame(), test.to_frame()])[["State", "Date", "Takings"]]
    ds = tsauto.TimeSeriesDataset(frame, time_column="Date", target_column="Takings",
                                  grain_columns="State")
    return ds.split_last(8)


@pytest.fixture(scope="session")
def retail():
    """Three aus_retail series (monthly), the last 8 years, last 12 months held out."""
    full = datasets.load("aus_retail")
    keep = [("Victoria", "Food retailing"), ("Tasmania", "Takeaway food services"),
            ("Queensland", "Department stores")]

    def pick(frame):
        pairs = pd.MultiIndex.from_frame(frame[["State", "Industry"]])
        return pairs.isin(keep) & (frame["Month"] >= "2011-01-01")

    return _subset(full, pick).split_last(12)


@pytest.fixture(scope="session")
def awkward():
    """Monthly series that trip models up: one point, three points, constant, all zeros,
    intermittent, next to a normal seasonal one."""
    rng = np.random.default_rng(0)
    t = np.arange(60)
    frame = series_frame({
        "normal": 100 + 10 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 1, 60),
        "one": [4.0],
        "short": [5.0, 6.0, 7.0],
        "constant": np.full(40, 3.0),
        "zeros": np.zeros(30),
        "intermittent": (rng.random(48) < 0.3) * rng.integers(1, 5, 48),
    })
    return tsauto.TimeSeriesDataset(frame, time_column="time", target_column="y",
                                    grain_columns="id", freq="MS")


@pytest.fixture(scope="session")
def gappy():
    """Two monthly series; 'holey' misses two months, which the dataset fills with NaN rows."""
    frame = series_frame({"whole": np.arange(36.0), "holey": np.arange(36.0) + 5})
    frame = frame.drop(index=frame.index[(frame["id"] == "holey")][[10, 11]])
    return tsauto.TimeSeriesDataset(frame, time_column="time", target_column="y",
                                    grain_columns="id", freq="MS")
