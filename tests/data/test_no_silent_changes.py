"""No silent change to the data: every reading of the times, every fill and every merge that
could move or invent values is either stated in the guardrail report or refused with an error
that names the series, rows or columns at fault (issue 12, 'No silent change to the data')."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from tests.conftest import make_panel
from tsauto import TimeSeriesDataset, datasets, run_guardrails
from tsauto.data import SERIES_ID
from tsauto.data.frequency import infer_grid
from tsauto.data.tabular import TabularDataset
from tsauto.data.tabular_guardrails import run_tabular_guardrails
from tsauto.errors import DataError, DuplicateTimestampsError, SettingsError
from tsauto.learners.base import align_future
from tsauto.settings import ForecastSettings

MONTHS = pd.date_range("2020-01-01", periods=36, freq="MS")


def single(times, values=None, **kw):
    values = np.arange(float(len(times))) if values is None else values
    return TimeSeriesDataset(pd.DataFrame({"t": times, "y": values}), time_column="t",
                             target_column="y", **kw)


# -- time zones --------------------------------------------------------------------------------
@pytest.mark.parametrize("aware", [
    MONTHS.strftime("%Y-%m-%dT00:00:00+02:00").tolist(),
    [t.to_pydatetime().replace(tzinfo=dt.timezone(dt.timedelta(hours=2))) for t in MONTHS],
], ids=["text", "datetime objects"])
def test_aware_and_naive_times_mixed_is_an_error_naming_the_series(aware):
    frame = pd.concat([
        pd.DataFrame({"g": "naive", "t": list(MONTHS.strftime("%Y-%m-%d")) if isinstance(
            aware[0], str) else list(MONTHS.to_pydatetime()), "y": np.arange(36.0)}),
        pd.DataFrame({"g": "aware", "t": aware, "y": np.arange(36.0)})])
    with pytest.raises(DataError) as info:
        TimeSeriesDataset(frame, time_column="t", target_column="y", grain_columns="g")
    message = str(info.value)
    assert "mixes times with a time zone" in message
    assert "series 'aware'" in message and "series 'naive'" in message


def test_dates_in_several_offsets_keep_their_local_date():
    # Europe/Berlin month starts written with their own offsets: +01:00 in winter, +02:00 in
    # summer; converting them to UTC would move every one to the previous month.
    local = pd.date_range("2020-01-01", periods=24, freq="MS", tz="Europe/Berlin")
    ds = single([t.isoformat() for t in local])
    assert ds.freq == "MS" and ds.fixes[0].check == "time_parsing"
    assert "+01:00" in ds.fixes[0].message and "+02:00" in ds.fixes[0].message
    assert list(ds.frame["t"]) == list(local.tz_localize(None))
    _, report = run_guardrails(ds, horizon=3)
    assert report["time_parsing"].status == "fixed" and "offsets" in report["time_parsing"].fix
    assert report["frequency"].status == "passed" and report["missing_periods"].status == "passed"


def test_times_in_several_zones_are_converted_to_utc_and_say_so():
    hours = pd.date_range("2021-06-01", periods=48, freq="h", tz="UTC")
    text = [t.tz_convert("Europe/Berlin" if i % 2 else "America/New_York").isoformat()
            for i, t in enumerate(hours)]
    ds = single(text)
    assert ds.freq == "h" and str(ds.tz) == "UTC" and ds.frame["t"].iloc[0] == hours[0]
    assert "converted to UTC" in ds.fixes[0].message
    assert run_guardrails(ds, horizon=3)[1]["frequency"].status == "passed"


# -- day-first and ambiguous dates -------------------------------------------------------------
@pytest.mark.parametrize("times,freq", [
    (pd.date_range("2020-01-31", periods=36, freq="ME"), "ME"),   # every first field > 12
    (pd.date_range("2020-01-01", periods=40, freq="D"), "D"),     # '01/02/2020' comes first
    (MONTHS, "MS"),                                               # every field 12 or less
], ids=["month ends", "daily", "month starts"])
def test_day_first_dates_are_read_day_first_and_reported(times, freq):
    ds = single(list(times.strftime("%d/%m/%Y")))
    assert ds.freq == freq and list(ds.frame["t"]) == list(times)
    assert ds.date_format == "%d/%m/%Y" and ds.summary()["date_format"] == "%d/%m/%Y"
    result = run_guardrails(ds, horizon=3)[1]["time_parsing"]
    assert result.status == "fixed" and "day" in result.fix and "%d/%m/%Y" in result.message


def test_month_first_text_stays_month_first():
    ds = single(list(MONTHS.strftime("%m/%d/%Y")))
    assert ds.freq == "MS" and list(ds.frame["t"]) == list(MONTHS)


@pytest.mark.parametrize("text,message", [
    (["31/01/2020", "01/31/2020", "29/02/2020"], "mixes day-first dates"),
    (list(MONTHS[:12].strftime("%d/%m/%Y")), "read as well day-first as month-first"),
], ids=["both orders", "both readings regular"])
def test_ambiguous_dates_ask_for_date_format(text, message):
    with pytest.raises(DataError, match=message) as info:
        single(text)
    assert "date_format=" in str(info.value)


def test_date_format_decides_and_is_checked():
    text = list(MONTHS[:12].strftime("%d/%m/%Y"))
    assert single(text, date_format="%d/%m/%Y").freq == "MS"
    assert single(text, date_format="%m/%d/%Y").freq == "D"
    with pytest.raises(DataError, match="not dates \\(date_format='%Y-%m-%d'\\)"):
        single(text, date_format="%Y-%m-%d")
    with pytest.raises(SettingsError, match="date_format='dd/mm/yyyy' is not valid"):
        single(text, date_format="dd/mm/yyyy")


@pytest.mark.parametrize("value,valid", [("%d/%m/%Y", True), ("ISO8601", True),
                                         ("dd/mm/yyyy", False), ("%Q", False)])
def test_date_format_setting_is_validated(value, valid):
    roles = dict(time_column="t", target_column="y", horizon=3)
    if valid:
        assert ForecastSettings(**roles, date_format=value).dataset_roles()["date_format"] == value
    else:
        with pytest.raises(SettingsError, match="date_format"):
            ForecastSettings(**roles, date_format=value)
    with pytest.raises(SettingsError, match="max_filled_share"):
        ForecastSettings(**roles, max_filled_share=1.5)


def test_future_times_are_read_like_the_training_times():
    ds = single(list(MONTHS.strftime("%d/%m/%Y")))
    future = pd.DataFrame({"series_id": ds.series_ids[0], "t": ["01/02/2023", "01/03/2023"]})
    times = ds.schema().on_grid(future, "future")["t"]
    assert list(times) == [pd.Timestamp("2023-02-01"), pd.Timestamp("2023-03-01")]


@pytest.mark.parametrize("zone", ["Asia/Kolkata", "UTC", "America/New_York"])
def test_future_times_in_any_zone_are_read_on_the_models_clock(zone):
    """Local midnights in Kolkata given in another zone (in UTC: 18:30 the day before) are the
    same periods: they are matched as instants, not floored on the other zone's clock."""
    times = pd.date_range("2021-01-01", periods=30, freq="D", tz="Asia/Kolkata")
    ds = TimeSeriesDataset(pd.DataFrame({"store": "s0", "date": times, "sales": 1.0}),
                           time_column="date", target_column="sales", grain_columns="store",
                           known_covariates=[])
    periods = ds.future_frame(3)
    future = periods.drop(columns="step").assign(date=periods["date"].dt.tz_convert(zone))
    future[SERIES_ID] = future[SERIES_ID].astype(str)
    read = ds.schema().on_grid(future, "future: time column")["date"]
    assert read.tolist() == periods["date"].tolist()


# -- fills beyond a small share are errors -----------------------------------------------------
@pytest.mark.parametrize("times,kw", [
    # already parsed month-first: Jan 1..12 of every year, so daily with 95% of days missing
    (pd.to_datetime(MONTHS.strftime("%m/%d/%Y").str.replace(
        r"^(\d\d)/(\d\d)", r"\2/\1", regex=True), format="%m/%d/%Y"), {}),
    (MONTHS, {"freq": "D"}),                   # a wrong frequency given
    (MONTHS[:5].append(pd.DatetimeIndex(["2020-03-20"])).sort_values(), {"freq": "5D"}),
], ids=["misread dates", "wrong freq", "stray date on a 5-day grid"])
def test_filling_more_than_a_small_share_is_an_error(times, kw):
    ds = single(list(times), **kw)
    with pytest.raises(DataError, match="max_filled_share") as info:
        run_guardrails(ds, horizon=1)
    message = str(info.value)
    assert "series 'all'" in message and f"'{ds.freq}'" in message
    assert "freq=" in message and "date_format=" in message
    run_guardrails(ds, horizon=1, max_filled_share=1.0)  # the user can accept real gaps


def test_a_new_history_is_filled_as_far_as_the_fit_allowed():
    """forecast(data=) and backtest fill gaps up to the model's own max_filled_share, and past
    it say what to check (not freq= or date_format=, which forecast does not take)."""
    from tsauto.learners import registry
    from tsauto.model import ForecastModel, history_of

    panel = make_panel(n_series=2, length=48)
    gappy = panel[np.arange(len(panel)) % 6 != 3]  # one month in six missing: 17%
    ds = TimeSeriesDataset(gappy, time_column="date", target_column="sales", grain_columns="store")
    ds, _ = run_guardrails(ds, horizon=3, max_filled_share=0.3)
    learner = registry.create("naive", quantiles=(0.1, 0.9)).fit(ds)
    model = ForecastModel(learner, ds.schema(), history_of(ds), 3, (0.1, 0.9),
                          settings={"max_filled_share": 0.3})
    assert len(model.forecast(data=gappy)) == 6
    assert len(model.backtest(gappy, n_windows=1).forecasts) == 6
    sparse = panel[np.arange(len(panel)) % 2 == 0]  # every other month: 50%
    with pytest.raises(DataError, match="data: on the model's frequency 'MS' so many periods are "
                                        "missing; check the dates of these rows, or fill the "
                                        "gaps yourself \\(the model was fitted with "
                                        "max_filled_share=0.3\\)"):
        model.forecast(data=sparse)


def test_one_gappy_series_is_an_alert_not_a_quiet_fix():
    panel = make_panel(n_series=6, length=48)
    gappy = panel.drop(index=panel.index[(panel.store == "s0") & (np.arange(len(panel)) % 3 == 1)])
    ds = TimeSeriesDataset(gappy, time_column="date", target_column="sales",
                           grain_columns="store")
    result = run_guardrails(ds, horizon=3)[1]["missing_target"]
    assert result.status == "alert" and "'s0'" in result.message


@pytest.mark.parametrize("share", [-0.1, 2, "10%", True])
def test_max_filled_share_is_validated(panel, share):
    ds = TimeSeriesDataset(panel, time_column="date", target_column="sales", grain_columns="store")
    with pytest.raises(SettingsError, match="max_filled_share"):
        run_guardrails(ds, horizon=3, max_filled_share=share)


def test_monthly_dates_with_a_stray_date_stay_monthly():
    mid = pd.date_range("2020-01-01", periods=5, freq="MS") + pd.Timedelta(days=14)
    stray = mid.delete(2).append(pd.DatetimeIndex(["2020-03-20"])).sort_values()
    ds = single(list(stray))
    assert ds.freq == "MS" and len(ds) == 5 and ds.fixes[0].check == "frequency"
    with pytest.raises(DuplicateTimestampsError, match="both in the 'MS' period of 2020-03-01"):
        single(list(mid.append(pd.DatetimeIndex(["2020-03-20"])).sort_values()))
    # the class with most steps wins: 31, 29, 5, 26 and 30 days are 3 months against 2 others
    days = np.cumsum([0, 31, 29, 5, 26, 30]) * 86_400 * 10**9
    grid = infer_grid(days + pd.Timestamp("2020-01-15").value, np.zeros(6, dtype=np.int64),
                      np.array(["all"]))
    assert grid.freq == "MS"


# -- series that collide -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def retail():
    return datasets.load_frame("aus_retail")


def test_colliding_rows_suggest_column_combinations(retail):
    with pytest.raises(DuplicateTimestampsError, match=r"candidates: \['State', 'Industry'\]"):
        TimeSeriesDataset(retail, time_column="Month", target_column="Turnover")
    with pytest.raises(DuplicateTimestampsError, match=r"add grain_columns= \(candidates: "
                                                       r"\['Industry'\]"):
        TimeSeriesDataset(retail, time_column="Month", target_column="Turnover",
                          grain_columns="State")


@pytest.mark.parametrize("grains,series", [([], 1), (["State"], 8)])
def test_aggregation_over_distinct_series_is_an_alert(retail, grains, series):
    ds = TimeSeriesDataset(retail, time_column="Month", target_column="Turnover",
                           grain_columns=grains, target_aggregation="sum")
    assert ds.n_series == series
    result = run_guardrails(ds, horizon=12)[1]["candidate_grains"]
    assert result.status == "alert" and "merged with 'sum'" in result.message
    assert "(152 series)" in result.message and "'Industry'" in result.message


# -- infinite and absurd values ----------------------------------------------------------------
@pytest.mark.parametrize("column", ["sales", "price"])
def test_infinite_values_are_missing_and_reported(panel, column):
    frame = panel.assign(price=1.0 + np.arange(len(panel)) % 5)
    frame.loc[[50, 60], column] = [np.inf, -np.inf]
    ds = TimeSeriesDataset(frame, time_column="date", target_column="sales",
                           grain_columns="store", known_covariates="price")
    assert np.isfinite(ds.frame[column].dropna()).all()
    fixed, report = run_guardrails(ds, horizon=3)
    result = report["non_finite"]
    assert result.status == "fixed" and result.rows == 2 and result.series == ["s1"]
    assert f"'{column}': 2 at rows 50, 60" in result.fix
    follow = "missing_target" if column == "sales" else "missing_features"
    assert report[follow].status != "passed"


@pytest.mark.parametrize("column,value", [("sales", 1e300), ("sales", -1e120), ("price", 1e300)])
def test_absurd_magnitudes_are_an_error(panel, column, value):
    frame = panel.assign(price=1.0)
    frame.loc[100, column] = value
    with pytest.raises(DataError, match=f"column '{column}' has 1 values beyond") as info:
        TimeSeriesDataset(frame, time_column="date", target_column="sales",
                          grain_columns="store", known_covariates="price")
    assert "row 100 (series 's2'" in str(info.value)


# -- values a column cannot read, at prediction time --------------------------------------------
@pytest.fixture
def table():
    rng = np.random.default_rng(0)
    n = 40
    return pd.DataFrame({"a": rng.normal(size=n), "flag": rng.choice(["yes", "no"], n),
                         "day": pd.date_range("2021-01-01", periods=n).strftime("%Y-%m-%d"),
                         "y": rng.normal(size=n)})


@pytest.mark.parametrize("column,value,reads", [
    ("a", "zzz", "a finite number"), ("a", np.inf, "a finite number"),
    ("flag", "maybe", "one of the two values"), ("day", "soon", "a date"),
])
def test_predict_refuses_unreadable_values_naming_row_and_column(table, column, value, reads):
    schema = TabularDataset(table, "y", "regression").schema()
    rows = table.drop(columns="y").astype(object).set_axis([f"r{i}" for i in range(40)])
    rows.loc["r7", column] = value
    with pytest.raises(DataError, match=f"column '{column}' was") as info:
        schema.validate(rows, "the frame to predict")
    assert "row 'r7'" in str(info.value) and repr(value if value != np.inf else float(value)) \
        in str(info.value) and reads in str(info.value)
    rows.loc["r7", column] = None  # missing values are still imputed
    schema.validate(rows)


def test_training_values_a_column_cannot_read_are_reported(table):
    frame = table.astype({"a": object})
    frame.loc[3, "a"] = "zzz"    # 1 of 40: the column still reads as numeric
    frame.loc[1, "y"] = np.nan   # dropped: rows keep the numbers the user gave them
    result = run_tabular_guardrails(TabularDataset(frame, "y", "regression"))["missing_values"]
    assert result.status == "alert" and "'a': 1, e.g. 'zzz' at row 3" in result.message


def test_forecast_future_refuses_unreadable_values_naming_row_and_column(panel):
    frame = panel.assign(price=1.0 + np.arange(len(panel)) % 5)
    ds = TimeSeriesDataset(frame, time_column="date", target_column="sales",
                           grain_columns="store", known_covariates="price")
    periods = ds.future_frame(2)
    future = periods.drop(columns="step").assign(price=2.0).astype({"price": object})
    future[SERIES_ID] = future[SERIES_ID].astype(str)
    align_future(periods, future, ds.schema())
    future.loc[3, "price"] = "zzz"
    with pytest.raises(DataError, match="future: column 'price' was numeric in training, but "
                                        "row 3 holds 'zzz'"):
        align_future(periods, future, ds.schema())


# -- the command line ---------------------------------------------------------------------------
def test_cli_asks_for_date_format_and_takes_it(tmp_path):
    from tests.test_cli import tsauto

    path = tmp_path / "dayfirst.csv"
    pd.DataFrame({"t": MONTHS[:12].strftime("%d/%m/%Y"), "y": np.arange(12.0)}).to_csv(
        path, index=False)
    args = ["inspect", path, "--time", "t", "--target", "y", "--horizon", "2", "--json"]
    refused = tsauto(*args)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "date_format=" in refused.stderr
    read = tsauto(*args, "--date-format", "%d/%m/%Y", "--max-filled-share", "0.5")
    assert read.returncode == 0, read.stderr
    assert '"freq": "MS"' in read.stdout and '"date_format": "%d/%m/%Y"' in read.stdout
