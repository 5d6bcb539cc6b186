"""Holiday features from the ``holidays`` package, for any country (and subdivision) it knows.

For daily and finer data: a holiday flag for the target period's date, the holiday's identity
(encoded), and the days to the next and since the last holiday, capped at ``window``.  For
weekly and coarser data: the number of holidays that fall inside the period (a month holding
Easter differs from one that does not) and a flag when there is any.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from tsauto.data.grouped import History
from tsauto.errors import SettingsError, check_int, closest_hint, preview
from tsauto.features.base import (
    FeatureTransformer,
    Rows,
    encoded_names,
    one_hot_or_codes,
)

_NS_DAY = 86_400 * 10**9
_SUFFIX = re.compile(r"\s*\((observed|estimated|substituted)[^)]*\)\s*$", re.IGNORECASE)


def check_country(country_or_region: str, subdivision: str | None = None) -> None:
    """Raise SettingsError unless ``holidays`` knows the country (and the subdivision)."""
    import holidays

    supported = holidays.list_supported_countries()
    code = str(country_or_region).upper()
    if code not in supported:
        raise SettingsError(
            f"country_or_region={country_or_region!r} is not a country the holidays package "
            f"knows.{_country_hint(country_or_region, supported)} Use an ISO 3166 code such as "
            f"'US', 'GB', 'AU' or 'DE'; the valid codes are the keys of "
            f"holidays.list_supported_countries().")
    if subdivision is not None:
        subdivs = [str(s) for s in supported[code]]
        try:
            holidays.country_holidays(code, subdiv=subdivision, years=2020)
        except (NotImplementedError, KeyError, ValueError):
            raise SettingsError(
                f"subdivision={subdivision!r} is not a subdivision of {code} the holidays "
                f"package knows.{closest_hint(str(subdivision), subdivs)} Valid: "
                f"{preview(subdivs, 40) or 'none (use subdivision=None)'} "
                f"(holidays.list_supported_countries()[{code!r}]).") from None


def _country_hint(given, supported) -> str:
    """' Did you mean ...?' for a close code, or for a country's name ('Australia' -> 'AU')."""
    import difflib

    import holidays

    # The package's registry: module name -> (class name, alpha-2, alpha-3, ...).
    names = {key.replace("_", " "): entry[1]
             for key, entry in getattr(holidays.registry, "COUNTRIES", {}).items()}
    match = difflib.get_close_matches(str(given).strip().lower(), names, n=1, cutoff=0.75)
    if match:
        return f" Did you mean '{names[match[0]]}' ({match[0].title()})?"
    return closest_hint(str(given).upper(), supported)


def _clean_name(name: str) -> str:
    first = str(name).split(";")[0].strip()
    return _SUFFIX.sub("", first)


class HolidayFeatures(FeatureTransformer):
    """Holiday features of each row's target period.

    ``encoding`` is how the holiday identity is encoded ('onehot', 'ordinal' or 'native');
    ``window`` caps days to / since the nearest holiday.
    """

    onnx_exportable = False  # needs the holidays package's calendar for unseen years

    def __init__(self, country_or_region: str, subdivision: str | None = None, window: int = 7,
                 encoding: str = "onehot", max_onehot: int = 40) -> None:
        self.country_or_region = country_or_region
        self.subdivision = subdivision
        self.window = window
        self.encoding = encoding
        self.max_onehot = max_onehot

    def fit(self, ds, context: dict | None = None) -> HolidayFeatures:
        check_country(self.country_or_region, self.subdivision)
        check_int(self.window, "holiday window (days)")
        self.country_ = str(self.country_or_region).upper()
        self.grid_ = ds.grid
        self.tz_, self.tz_mode_ = ds.tz, ds._tz_mode
        grid = ds.grid
        self.daily_ = grid.kind == "business" or (grid.kind == "fixed" and grid.step <= _NS_DAY)
        times = ds._naive_times()
        _, names = self._calendar(self._local_dates(times))
        self.levels_ = sorted(set(names)) if self.daily_ else []
        if self.daily_:
            id_names, id_cat = encoded_names("holiday_id", self.levels_, self.encoding,
                                             self.max_onehot)
            self.feature_names_ = ["holiday", *id_names, "days_to_holiday", "days_since_holiday"]
            self.categorical_ = id_cat
        else:
            self.feature_names_ = ["holiday", "holiday_count"]
            self.categorical_ = []
        return self

    def _local_dates(self, times: np.ndarray) -> np.ndarray:
        """Calendar dates (datetime64[D]) of naive grid times, on the user's local clock."""
        t = np.asarray(times, dtype="datetime64[ns]")
        if self.tz_ is not None and self.tz_mode_ == "utc":
            local = pd.DatetimeIndex(t).tz_localize("UTC").tz_convert(self.tz_).tz_localize(None)
            t = local.to_numpy(dtype="datetime64[ns]")
        return t.astype("datetime64[D]")

    def _calendar(self, dates: np.ndarray) -> tuple[np.ndarray, list[str]]:
        """Sorted holiday dates covering ``dates`` (with a year's margin) and their names."""
        import holidays

        years = dates.astype("datetime64[Y]").astype(int) + 1970
        span = range(int(years.min()) - 1, int(years.max()) + 2)
        cal = holidays.country_holidays(self.country_, subdiv=self.subdivision, years=span)
        items = sorted(cal.items())
        hdates = np.array([d for d, _ in items], dtype="datetime64[D]")
        return hdates, [_clean_name(n) for _, n in items]

    def transform(self, history: History | None, rows: Rows | np.ndarray) -> dict[str, np.ndarray]:
        times = rows.time if isinstance(rows, Rows) else rows
        codes, uniques = pd.factorize(np.asarray(times, dtype="datetime64[ns]"))
        feats = self._features(np.asarray(uniques, dtype="datetime64[ns]"))
        return {k: v[codes] for k, v in feats.items()}

    def _features(self, times: np.ndarray) -> dict[str, np.ndarray]:
        dates = self._local_dates(times)
        hdates, names = self._calendar(dates)
        if not self.daily_:
            start, end = self._period_bounds(times)
            count = (np.searchsorted(hdates, end, "left")
                     - np.searchsorted(hdates, start, "left")).astype(np.float64)
            return {"holiday": (count > 0).astype(np.float64), "holiday_count": count}
        i = np.searchsorted(hdates, dates, "left")
        found = i < len(hdates)
        is_hol = np.zeros(len(dates), dtype=bool)
        is_hol[found] = hdates[i[found]] == dates[found]
        level_of = {name: k for k, name in enumerate(self.levels_)}
        name_codes = np.array([level_of.get(n, -1) for n in names] + [-1])
        ids = np.where(is_hol, name_codes[np.minimum(i, len(names))], -1)
        # First holiday on or after the date, and last one on or before it.
        nxt = np.where(found, hdates[np.minimum(i, len(hdates) - 1)], np.datetime64("NaT"))
        j = np.searchsorted(hdates, dates, "right") - 1
        prv = np.where(j >= 0, hdates[np.maximum(j, 0)], np.datetime64("NaT"))
        cap = self.window + 1
        to = (nxt - dates).astype("timedelta64[D]").astype(np.float64)
        since = (dates - prv).astype("timedelta64[D]").astype(np.float64)
        out = {"holiday": is_hol.astype(np.float64)}
        encoded, _ = one_hot_or_codes("holiday_id", ids, self.levels_, self.encoding,
                                      self.max_onehot)
        out.update(encoded)
        out["days_to_holiday"] = np.minimum(np.nan_to_num(to, nan=cap), cap)
        out["days_since_holiday"] = np.minimum(np.nan_to_num(since, nan=cap), cap)
        return out

    def _period_bounds(self, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """[start, end) dates of the periods labelled by ``times`` (coarser than a day)."""
        grid = self.grid_
        index = grid.index(times)
        if grid.kind == "month" and grid.month_end:
            start = grid.times(index - 1).astype("datetime64[D]") + 1
            end = np.asarray(times, dtype="datetime64[ns]").astype("datetime64[D]") + 1
        else:
            start = np.asarray(times, dtype="datetime64[ns]").astype("datetime64[D]")
            end = grid.times(index + 1).astype("datetime64[D]")
        return start, end

    def describe(self) -> dict[str, dict]:
        where = self.country_ + (f"/{self.subdivision}" if self.subdivision else "")
        kind = ("flag, identity, days to/since (window "
                f"{self.window})" if self.daily_ else "holidays counted per period")
        return {"__time__": {"transformations": [f"holidays {where}: {kind}"],
                             "features": self.feature_names_out}}
