"""New data shaped like the data a model learned from: the recent history a fitted model
forecasts from (``ForecastModel.forecast(data=...)``) or is backtested on."""

from __future__ import annotations

import pandas as pd

from tsauto.data.dataset import DatasetSchema, TimeSeriesDataset
from tsauto.data.io import as_frame
from tsauto.errors import DataError, DuplicateTimestampsError, preview


def dataset_like(schema: DatasetSchema, data: pd.DataFrame | TimeSeriesDataset | str,
                 name: str = "data") -> TimeSeriesDataset:
    """``data`` (a long frame or the path of a table file) as a dataset with the schema's
    columns, roles, frequency and date format."""
    if isinstance(data, TimeSeriesDataset):
        return data
    data = as_frame(data, name)
    if data.empty:
        raise DataError(f"{name} has no rows; give each series' recent history.")
    s = schema
    try:
        # Grain values read as the training's (a store 1 given as '1' or 1.0 is series '1').
        return TimeSeriesDataset(s.match_grains(data), time_column=s.time_column,
                                 target_column=s.target_column, grain_columns=s.grain_columns,
                                 known_covariates=s.known_covariates,
                                 past_covariates=s.past_covariates,
                                 static_features=s.static_features, freq=s.grid.freq,
                                 date_format=s.date_format)
    except DuplicateTimestampsError as exc:  # its advice (target_aggregation=) is for a fit
        raise DuplicateTimestampsError(
            f"{name}: {exc.rows} The model's frequency is '{s.grid.freq}': give one row per period "
            f"of each series (aggregate the data to it first).") from None


def recent_history(schema: DatasetSchema, data: pd.DataFrame | TimeSeriesDataset,
                   name: str = "data", drop_empty: bool = False,
                   max_filled_share: float | None = None) -> TimeSeriesDataset:
    """The history to forecast from: ``dataset_like``, with missing target values filled the
    way the guardrails fill them for training (interpolated inside a series, carried forward
    at its end, leading ones dropped), up to the fit's ``max_filled_share`` of the rows.  A
    series without a target value is a DataError naming it (a forecast would leave it out
    without a word), or with ``drop_empty`` dropped, as the fit's guardrails drop it."""
    from tsauto.data.guardrails import MAX_FILLED_SHARE, _missing_target

    share = MAX_FILLED_SHARE if max_filled_share is None else max_filled_share
    ds, result = _missing_target(
        dataset_like(schema, data, name), share,
        f"{name}: on the model's frequency '{schema.grid.freq}' so many periods are missing; "
        f"check the dates of these rows, or fill the gaps yourself (the model was fitted with "
        f"max_filled_share={share:g}).")
    if len(ds.frame) == 0 or ds.n_series == 0:
        raise DataError(f"{name} has no target value to forecast from.")
    if result.dropped_series and not drop_empty:
        raise DataError(f"{name}: series {preview(list(result.dropped_series))} have no value of "
                        f"'{schema.target_column}' to forecast from; give them history or "
                        f"leave them out.")
    return ds
