"""Data for the featurizer tests: seeded synthetic panels with every covariate role, and the
daily Victoria electricity demand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import tsauto
from tsauto import datasets


def make_covariate_panel(n_series: int = 4, length: int = 120, freq: str = "D", seed: int = 0,
                         missing: bool = True) -> pd.DataFrame:
    """Daily series with a known numeric (price) and categorical (promo) covariate, a past-only
    numeric (visits) and categorical (weather) covariate and a static categorical (region)."""
    rng = np.random.default_rng(seed)
    times = pd.date_range("2021-01-04", periods=length, freq=freq)
    frames = []
    for i in range(n_series):
        t = np.arange(length)
        price = 10 + rng.normal(0, 1, length)
        promo = rng.choice(["none", "flyer", "tv"], length)
        visits = 100 + 20 * np.sin(2 * np.pi * t / 7) + rng.normal(0, 5, length)
        y = (50 + 10 * i + 0.2 * t + 8 * np.sin(2 * np.pi * t / 7) - 2 * price
             + 5 * (promo == "tv") + rng.normal(0, 1, length))
        frame = pd.DataFrame({"store": f"s{i}", "date": times, "sales": y, "price": price,
                              "promo": promo, "visits": visits,
                              "weather": rng.choice(["sun", "rain"], length),
                              "region": "north" if i % 2 else "south"})
        if missing:
            frame.loc[rng.choice(length, 5, replace=False), "visits"] = np.nan
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def covariate_dataset(**kwargs) -> tsauto.TimeSeriesDataset:
    return tsauto.TimeSeriesDataset(
        make_covariate_panel(**kwargs), time_column="date", target_column="sales",
        grain_columns="store", known_covariates=["price", "promo"],
        past_covariates=["visits", "weather"], static_features=["region"])


@pytest.fixture
def cov_ds():
    return covariate_dataset()


@pytest.fixture(scope="session")
def vic_daily():
    """Daily Victoria electricity demand 2012-2014 (one series), without its covariates."""
    ds = datasets.load("vic_elec_daily")
    frame = ds.to_frame()[["Date", "Demand"]]
    return tsauto.TimeSeriesDataset(frame, time_column="Date", target_column="Demand", freq="D")
