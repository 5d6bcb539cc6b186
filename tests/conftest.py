import os
import tempfile

import numpy as np
import pandas as pd
import pytest

# onnxruntime and matplotlib write caches under $HOME on import: keep them out of the real one.
_home = tempfile.mkdtemp(prefix="tsauto-home-")
for var in ("HOME", "XDG_CACHE_HOME", "MPLCONFIGDIR"):
    os.environ[var] = _home


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def make_panel(n_series=3, length=48, freq="MS", start="2020-01-01", seed=0, season=12):
    """Seeded synthetic long frame: level + trend + seasonality + noise per series."""
    rng = np.random.default_rng(seed)
    times = pd.date_range(start, periods=length, freq=freq)
    frames = []
    for i in range(n_series):
        t = np.arange(length)
        y = 50 + 10 * i + 0.5 * t + 5 * np.sin(2 * np.pi * t / season) + rng.normal(0, 1, length)
        frames.append(pd.DataFrame({"store": f"s{i}", "date": times, "sales": y}))
    return pd.concat(frames, ignore_index=True)


@pytest.fixture
def panel():
    return make_panel()
