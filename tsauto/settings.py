"""Experiment settings: validated at construction, with defaults a newcomer can trust.

A wrong setting fails at once with a ``SettingsError`` naming the setting, the value given and
what would be valid.  ``ForecastSettings.describe()`` documents every setting.
"""

from __future__ import annotations

import re
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from tsauto.errors import SettingsError

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|secs|seconds?|m|min|mins|minutes?|h|hours?)?\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600}


def parse_duration(value: Any, name: str) -> float | None:
    """Seconds from 90, '90s', '10min', '1.5h'; None stays None."""
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ValueError(f"{value!r} is not a duration; use seconds (90) or '90s', '10min', '1h'")
        unit = (match.group(2) or "s")[0]
        seconds = float(match.group(1)) * _UNIT_SECONDS[unit]
    if seconds <= 0:
        raise ValueError(f"{value!r} must be a positive duration")
    return seconds


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise SettingsError(_explain(exc, type(self))) from None

    @classmethod
    def describe(cls) -> pd.DataFrame:
        """Every setting with its type, default and meaning."""
        rows = []
        for name, field in cls.model_fields.items():
            default = "(required)" if field.is_required() else repr(field.default)
            rows.append({"setting": name, "default": default,
                         "type": str(field.annotation).replace("typing.", ""),
                         "description": field.description or ""})
        return pd.DataFrame(rows)


def _explain(exc: ValidationError, cls: type) -> str:
    parts = []
    for error in exc.errors():
        loc = ".".join(str(p) for p in error["loc"]) or "settings"
        if error["type"] == "extra_forbidden":
            from tsauto.errors import closest_hint

            parts.append(f"unknown setting '{loc}'.{closest_hint(loc, cls.model_fields)}")
            continue
        if error["type"] == "missing":
            parts.append(f"{loc} is required")
            continue
        message = error["msg"].removeprefix("Value error, ")
        if error["loc"]:
            parts.append(f"{loc}={error.get('input')!r} is not valid: {message}")
        else:  # a check across several settings names them itself
            parts.append(message)
    text = "; ".join(parts)
    return text + ("" if text.endswith((".", "?")) else ".") + f" See {cls.__name__}.describe()."


class ForecastSettings(_Settings):
    """What to forecast and how to search."""

    # -- the data --------------------------------------------------------------------------
    time_column: str = Field(description="Column with the timestamps.")
    target_column: str = Field(description="Column with the values to forecast.")
    grain_columns: list[str] = Field(default_factory=list,
                                     description="Columns identifying a series (none: one series).")
    known_covariates: list[str] = Field(default_factory=list,
                                        description="Columns known into the future (price, promo).")
    past_covariates: list[str] = Field(default_factory=list,
                                       description="Columns observed only up to now; used lagged.")
    static_features: list[str] = Field(default_factory=list,
                                       description="Columns constant per series.")
    freq: str | None = Field(None, description="Pandas frequency; inferred when None.")
    target_aggregation: Literal["sum", "mean", "min", "max"] | None = Field(
        None, description="How to merge rows sharing a series and period.")
    short_series_handling: Literal["auto", "pad", "drop", "fail"] = Field(
        "auto", description="What to do with series too short for the horizon and validation.")

    # -- the forecast ----------------------------------------------------------------------
    horizon: int = Field(gt=0, description="Periods to forecast.")
    quantiles: list[float] = Field(default_factory=lambda: [0.1, 0.5, 0.9],
                                   description="Quantiles to forecast, each in (0, 1).")
    country_or_region: str | None = Field(None, description="Holiday calendar, e.g. 'US', 'AU'.")
    subdivision: str | None = Field(None, description="Holiday subdivision, e.g. 'VIC'.")

    # -- featurization ---------------------------------------------------------------------
    target_lags: Literal["auto"] | list[int] | None = Field(
        "auto", description="Target lags for pivoted learners: 'auto', a list, or None.")
    target_rolling_window_size: int | None = Field(
        None, ge=2, description="Rolling-window length for pivoted learners (None: auto).")
    feature_lags: Literal["auto"] | list[int] | None = Field(
        "auto", description="Lags of past-only covariates.")
    featurization: Literal["auto", "off"] | dict = Field(
        "auto", description="'auto', 'off', or a custom featurization config.")

    # -- validation ------------------------------------------------------------------------
    n_cross_validations: int | Literal["auto"] = Field(
        "auto", description="Rolling-origin validation windows ('auto': 3, fewer if short).")
    cv_step_size: int | None = Field(None, gt=0, description="Periods between windows "
                                                             "(None: the horizon).")
    primary_metric: str = Field("mase", description="Metric the search optimises.")

    # -- search ----------------------------------------------------------------------------
    allowed_models: list[str] | None = Field(None, description="Learners to try (None: all).")
    blocked_models: list[str] = Field(default_factory=list, description="Learners never tried.")
    time_budget: float | None = Field(600.0, description="Total seconds (or '10min'), refit "
                                                         "included.")
    max_trials: int | None = Field(None, gt=0, description="Most trials to run.")
    trial_timeout: float | None = Field(None, description="Seconds one trial may take.")
    exit_score: float | None = Field(None, description="Stop once the primary metric reaches "
                                                       "this.")
    early_stopping_trials: int | None = Field(
        20, gt=0, description="Stop after this many trials without improvement (None: never).")
    max_concurrent_trials: int = Field(1, gt=0, description="Trials run at once in workers.")
    enable_voting_ensemble: bool = Field(True, description="Add a greedy-selection ensemble.")
    enable_stack_ensemble: bool = Field(True, description="Add a stacked (ElasticNet) ensemble.")
    seed: int = Field(0, description="Seed of every random choice.")
    verbosity: int = Field(1, ge=0, le=2, description="0 silent, 1 progress, 2 every trial.")

    @field_validator("time_budget", "trial_timeout", mode="before")
    @classmethod
    def _duration(cls, value, info):
        return parse_duration(value, info.field_name)

    @field_validator("grain_columns", "known_covariates", "past_covariates", "static_features",
                     mode="before")
    @classmethod
    def _listify(cls, value):
        return [value] if isinstance(value, str) else value

    @field_validator("quantiles")
    @classmethod
    def _quantiles(cls, value):
        from tsauto.learners.base import check_quantiles

        return list(check_quantiles(value))

    @field_validator("target_lags", "feature_lags")
    @classmethod
    def _lags(cls, value):
        if isinstance(value, list) and any(lag < 1 for lag in value):
            raise ValueError("lags must be 1 or more")
        return value

    @field_validator("n_cross_validations")
    @classmethod
    def _n_cv(cls, value):
        if isinstance(value, int) and value < 1:
            raise ValueError("use 1 or more windows, or 'auto'")
        return value

    @field_validator("primary_metric")
    @classmethod
    def _metric(cls, value):
        from tsauto.evaluation.metrics import METRICS

        valid = sorted(name for name, metric in METRICS.items() if metric.optimisable)
        if value not in valid:
            raise ValueError(f"unknown or non-optimisable metric; valid: {', '.join(valid)}")
        return value

    @model_validator(mode="after")
    def _models(self):
        from tsauto.learners import registry

        known = set(registry.names())
        for name in [*(self.allowed_models or []), *self.blocked_models]:
            if name not in known:
                raise ValueError(f"allowed_models/blocked_models: unknown learner {name!r}; "
                                 f"known: {', '.join(sorted(known))}")
        if self.allowed_models is not None and not set(self.allowed_models) - set(self.blocked_models):
            raise ValueError("allowed_models minus blocked_models leaves no learner to try")
        return self

    def dataset_roles(self) -> dict:
        """Keyword arguments for TimeSeriesDataset."""
        return {"time_column": self.time_column, "target_column": self.target_column,
                "grain_columns": self.grain_columns, "known_covariates": self.known_covariates,
                "past_covariates": self.past_covariates, "static_features": self.static_features,
                "freq": self.freq, "target_aggregation": self.target_aggregation}
