import numpy as np
import pandas as pd
import pytest

from tests.conftest import make_panel
from tsauto import TimeSeriesDataset
from tsauto.data import FILLED, SERIES_ID
from tsauto.errors import DataError


def build(frame, **kw):
    roles = dict(time_column="date", target_column="sales", grain_columns=["store"])
    roles.update(kw)
    return TimeSeriesDataset(frame, **roles)


def test_keys_sorted_and_grouped(panel):
    shuffled = panel.sample(frac=1.0, random_state=1)
    ds = build(shuffled)
    assert ds.n_series == 3 and len(ds) == len(panel)
    assert list(ds.series_ids) == ["s0", "s1", "s2"]
    frame = ds.frame
    assert frame.groupby(SERIES_ID, observed=True)["date"].apply(
        lambda s: s.is_monotonic_increasing).all()
    grouped = ds.grouped()
    assert list(grouped.lengths) == [48, 48, 48]
    expected = panel[panel.store == "s1"].sort_values("date")["sales"].to_numpy()
    np.testing.assert_allclose(grouped.values[grouped.indptr[1]:grouped.indptr[2]], expected)


@pytest.mark.parametrize("freq,expected", [
    ("MS", "MS"), ("ME", "ME"), ("D", "D"), ("h", "h"), ("30min", "30min"), ("W-SUN", "W-SUN"),
    ("W-WED", "W-WED"), ("QS-JAN", "QS-JAN"), ("QE-DEC", "QE-DEC"), ("YS-JAN", "YS-JAN"),
    ("YE-DEC", "YE-DEC"), ("B", "B"), ("QS-FEB", "QS-FEB"),
    # every 2, 4 or 6 months: steps of 59..62 days are two months, not a fixed '61D'
    ("2MS", "2MS-JAN"), ("4MS", "4MS-JAN"), ("6ME", "6ME-JAN"),
])
def test_frequency_inference(freq, expected):
    start = "2021-01-04" if freq == "B" else "2020-02-01" if freq == "QS-FEB" else "2020-01-01"
    frame = make_panel(n_series=2, length=30, freq=freq, start=start)
    ds = build(frame)
    assert ds.freq == expected
    assert ds.fixes == []
    # future periods continue the grid exactly as pandas would
    future = ds.future_frame(3)
    last = frame["date"].max()
    expected_times = pd.date_range(last, periods=4, freq=ds.grid.offset)[1:]
    got = future[future[SERIES_ID] == "s0"]["date"]
    assert list(got) == list(expected_times)
    # the same grid when the frequency is given
    assert build(frame, freq=freq).grid == ds.grid


@pytest.mark.parametrize("freq,name,season", [("2MS", "2MS-FEB", 6), ("4MS", "4MS-FEB", 3),
                                              ("6MS", "6MS-FEB", 2), ("2QS-FEB", "6MS-FEB", 2)])
def test_grids_of_several_months_through_any_month(freq, name, season):
    """A grid of every k months is anchored on the data's months (February, April... for a
    two-month grid starting in February), not on January, its name says which, and its
    season is 12 / k periods."""
    frame = make_panel(n_series=2, length=30, freq=freq, start="2015-02-01")
    ds = build(frame)
    assert ds.freq == name and ds.fixes == [] and ds.grid.season_length == season
    assert build(frame, freq=freq).grid == ds.grid
    # the name alone gives the grid: a later history starting off the grid is read on it
    off = frame.assign(date=frame["date"] + pd.DateOffset(months=1))  # a month off the grid
    later = build(pd.concat([off.iloc[:1], frame.iloc[1:]]), freq=name, target_aggregation="sum")
    assert later.grid == ds.grid and [f.check for f in later.fixes] == ["frequency"]
    assert later.frame["date"].iloc[0] == frame["date"].iloc[0]  # moved back to its period
    # one stray month among the k-month steps does not make the data monthly
    stray = build(pd.concat([frame, off.iloc[3:4]]), target_aggregation="sum")
    assert stray.freq == name and [f.check for f in stray.fixes] == ["frequency", "duplicates"]


@pytest.mark.parametrize("freq", ["60D", "30D", "182D", "365D"])
def test_a_fixed_step_of_days_is_not_read_as_months(freq):
    """Every 60 days drifts through the months: two rows would share one '2MS' period."""
    frame = make_panel(n_series=2, length=40, freq=freq, start="2015-01-01")
    ds = build(frame)
    assert ds.freq == freq and ds.fixes == []


def test_gaps_are_filled_and_marked(panel):
    gappy = panel.drop(index=[5, 6, 60])
    ds = build(gappy)
    assert len(ds) == len(panel)
    assert ds.frame[FILLED].sum() == 3
    filled = ds.frame[ds.frame[FILLED]]
    assert filled["sales"].isna().all()
    assert set(filled[SERIES_ID].astype(str)) == {"s0", "s1"}
    assert [f.check for f in ds.fixes] == ["missing_periods"]


def test_off_grid_rows_snapped_and_reported(panel):
    moved = panel.copy()
    moved.loc[3, "date"] = moved.loc[3, "date"] + pd.Timedelta(days=9)
    ds = build(moved)
    assert ds.freq == "MS"
    assert len(ds) == len(panel)
    assert ds.fixes[0].check == "frequency" and ds.fixes[0].rows == 1


def test_duplicates_aggregated_when_asked(panel):
    doubled = pd.concat([panel, panel.iloc[:2]], ignore_index=True)
    ds = build(doubled, target_aggregation="sum")
    first = ds.frame[ds.frame[SERIES_ID] == "s0"]["sales"].iloc[0]
    assert first == pytest.approx(2 * panel["sales"].iloc[0])
    assert ds.fixes[0].check == "duplicates" and ds.fixes[0].rows == 2


def test_multiple_grains_and_round_trip(panel):
    frame = panel.assign(region=np.where(panel.store == "s0", "north", "south"))
    ds = build(frame, grain_columns=["region", "store"])
    assert list(ds.series_ids) == ["north|s0", "south|s1", "south|s2"]
    back = ds.to_frame()
    assert {"region", "store"} <= set(back.columns)
    assert (back.groupby(SERIES_ID, observed=True)["region"].nunique() == 1).all()


def test_split_last_and_split_at(panel):
    ds = build(panel)
    train, test = ds.split_last(6)
    assert list(train.lengths) == [42] * 3 and list(test.lengths) == [6] * 3
    assert train.frame["date"].max() < test.frame["date"].min()
    cutoff = pd.Timestamp("2022-06-01")
    before, after = ds.split_at(cutoff)
    assert (before.frame["date"] <= cutoff).all() and (after.frame["date"] > cutoff).all()
    assert len(before) + len(after) == len(ds)


def test_timezone_aware_times_stay_in_their_zone():
    times = pd.date_range("2021-03-25", periods=10, freq="D", tz="Europe/Berlin")  # spans DST
    frame = pd.DataFrame({"date": times, "sales": np.arange(10.0)})
    ds = TimeSeriesDataset(frame, time_column="date", target_column="sales")
    assert ds.freq == "D" and ds.fixes == []
    future = ds.future_frame(2)["date"]
    assert str(future.dt.tz) == "Europe/Berlin"
    assert list(future.dt.hour) == [0, 0]

    hourly = pd.date_range("2021-03-27 20:00", periods=12, freq="h", tz="Europe/Berlin")
    ds = TimeSeriesDataset(pd.DataFrame({"date": hourly, "sales": np.arange(12.0)}),
                           time_column="date", target_column="sales")
    assert ds.freq == "h" and ds.fixes == []


def test_string_times_and_quarters():
    frame = pd.DataFrame({"q": ["1998 Q1", "1998 Q2", "1998 Q3", "1998 Q4"], "y": [1, 2, 3, 4]})
    ds = TimeSeriesDataset(frame, time_column="q", target_column="y")
    assert ds.freq == "QS-JAN"
    assert ds.frame["q"].iloc[-1] == pd.Timestamp("1998-10-01")


def test_static_features_broadcast(panel):
    frame = panel.assign(size=panel.store.map({"s0": 1.0, "s1": 2.0, "s2": 3.0}))
    ds = build(frame.drop(index=[4]), static_features=["size"])  # the gap row gets its static
    assert ds.frame["size"].notna().all()


def test_summary(panel):
    s = build(panel).summary()
    assert s["series"] == 3 and s["freq"] == "MS" and s["season_length"] == 12
    assert s["length_min"] == 48


def test_regularise_many_series_vectorised():
    rng = np.random.default_rng(0)
    n, length = 500, 60
    times = np.tile(pd.date_range("2020-01-01", periods=length, freq="D").to_numpy(), n)
    frame = pd.DataFrame({"id": np.repeat(np.arange(n), length), "t": times,
                          "y": rng.normal(size=n * length)})
    drop = rng.choice(len(frame), 1000, replace=False)
    keep = ~np.isin(np.arange(len(frame)), drop)
    first_or_last = (np.arange(len(frame)) % length == 0) | (np.arange(len(frame)) % length == length - 1)
    keep |= first_or_last
    ds = TimeSeriesDataset(frame[keep], time_column="t", target_column="y", grain_columns="id")
    assert len(ds) == n * length
    assert ds.frame[FILLED].sum() == (~keep).sum()


def test_grain_values_that_join_into_one_id_are_an_error_naming_them():
    times = list(pd.date_range("2020-01-01", periods=30, freq="MS")) * 2
    frame = pd.DataFrame({"a": ["x|y"] * 30 + ["x"] * 30, "b": ["z"] * 30 + ["y|z"] * 30,
                          "d": times, "v": np.arange(60.0)})
    with pytest.raises(DataError, match=r"\('x', 'y\|z'\) and \('x\|y', 'z'\).*'x\|y\|z'.*"
                                        r"replace '\|' in the values of 'a', 'b'"):
        TimeSeriesDataset(frame, time_column="d", target_column="v", grain_columns=["a", "b"])
    # 1 and '1' in one column read alike too.
    mixed = frame.assign(a=[1] * 30 + ["1"] * 30, b="z")
    with pytest.raises(DataError, match="same series id '1|z'.*one type"):
        TimeSeriesDataset(mixed, time_column="d", target_column="v", grain_columns=["a", "b"])
    # Without a clash the ids are the values joined by '|', as saved models hold them.
    ds = TimeSeriesDataset(frame.assign(b=["z"] * 30 + ["w"] * 30), time_column="d",
                           target_column="v", grain_columns=["a", "b"])
    assert list(ds.series_ids) == ["x|w", "x|y|z"]


def test_series_id_column_as_the_grain():
    frame = make_panel(n_series=2, length=12).assign(series_id=lambda f: f.store.map(
        {"s0": 7, "s1": 8})).drop(columns="store")
    ds = build(frame, grain_columns=["series_id"])
    assert list(ds.series_ids) == ["7", "8"] and list(ds.series.columns) == [SERIES_ID]


def test_duplicate_column_names_are_an_error_naming_them():
    base = pd.DataFrame({"d": pd.date_range("2020-01-01", periods=30, freq="D"),
                         "y": np.arange(30.0)})
    with pytest.raises(DataError, match="duplicate column names: 'y'"):
        TimeSeriesDataset(pd.concat([base, base[["y"]]], axis=1), time_column="d",
                          target_column="y")


@pytest.fixture(scope="module")
def int_store_model():
    """A seasonal naive model of two series whose grain is an int store number (1, 2)."""
    from tsauto.learners import registry
    from tsauto.model import ForecastModel, history_of

    panel = make_panel(n_series=2, length=36).assign(store=lambda f: f.store.map(
        {"s0": 1, "s1": 2}))
    train, holdout = panel[panel.date < "2022-07-01"], panel[panel.date >= "2022-07-01"]
    ds = build(train)
    learner = registry.create("seasonal_naive", quantiles=(0.1, 0.9)).fit(ds)
    learner.prepare(6)
    return ForecastModel(learner, ds.schema(), history_of(ds), 6, (0.1, 0.9)), train, holdout


@pytest.mark.parametrize("kind", [str, float, "int32"])
def test_grain_values_match_training_in_any_type(int_store_model, kind):
    model, train, holdout = int_store_model
    given = holdout.astype({"store": kind})
    assert model.evaluate(given) == model.evaluate(holdout)
    frame = model.forecast(data=train.astype({"store": kind}))
    pd.testing.assert_frame_equal(frame, model.forecast(data=train))
    assert frame.attrs["unseen_series"] == [] and list(frame.store.unique()) == [1, 2]
    schema = model.schema
    ids = schema.with_series_id(given, "the holdout")[SERIES_ID]
    assert ids.tolist() == schema.with_series_id(holdout)[SERIES_ID].tolist()


def test_unknown_grain_values_stay_unknown(int_store_model):
    model, train, _ = int_store_model
    other = train.assign(store=train.store.map({1: "1.5", 2: "2"}))
    frame = model.forecast(data=other)
    assert frame.attrs["unseen_series"] == ["1.5"] and set(frame[SERIES_ID]) == {"1.5", "2"}
    ids = model.schema.with_series_id(train.assign(store=train.store * 10))[SERIES_ID]
    assert set(ids) == {"10", "20"} and not set(ids) & set(model.schema.series_ids)
