"""Experiment settings: validated at construction, with defaults a newcomer can trust.

A wrong setting fails at once with a ``SettingsError`` naming the setting, the value given and
what would be valid.  ``ForecastSettings.describe()`` documents every setting.
"""

from __future__ import annotations

import json
import math
import re
from typing import Annotated, Any, ClassVar, Literal

import pandas as pd
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from tsauto.errors import SettingsError, is_number

_NUMBER = re.compile(r"^\s*\d+(?:\.\d+)?\s*$")


def parse_duration(value: Any) -> float | None:
    """Seconds from 90, '90', '90s', '10m', '10min', '1.5h', '1h30m' (any text
    ``pandas.Timedelta`` reads; a bare number is seconds); None stays None.  The error quotes
    the text as given."""
    if value is None:
        return None
    if is_number(value):
        seconds = float(value)
    elif isinstance(value, str) and _NUMBER.match(value):
        seconds = float(value)
    else:
        try:
            seconds = pd.Timedelta(str(value).strip()).total_seconds()
        except ValueError:
            raise ValueError(f"{value!r} is not a duration; use seconds (90) or text "
                             f"such as '90s', '10m', '1.5h', '1h30m'") from None
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"{value!r} must be a positive, finite duration (None: no limit)")
    return seconds


# What each preset chooses: the budget, the candidates and the validation depth.  Settings
# the user gives win; the candidates apply only when the user names neither allowed_models nor
# blocked_models.  'costly' blocks every learner whose declared cost is not low.  'medium' is
# the defaults.
PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "forecasting": {
        "fast": {"time_budget": 120.0, "n_cross_validations": 1, "early_stopping_trials": 10,
                 "blocked_models": "costly"},
        "medium": {"time_budget": 600.0, "n_cross_validations": "auto",
                   "early_stopping_trials": 20},
        "best": {"time_budget": 3600.0, "n_cross_validations": 5, "early_stopping_trials": 50},
    },
    "tabular": {
        "fast": {"time_budget": 60.0, "n_folds": 3, "early_stopping_trials": 10,
                 "blocked_models": "costly"},
        "medium": {"time_budget": 600.0, "n_folds": 5, "early_stopping_trials": 20},
        "best": {"time_budget": 3600.0, "n_folds": 10, "early_stopping_trials": 50},
    },
}


def _not_bool(value: Any) -> Any:
    # pydantic reads True as 1; horizon=True is a mistake, not one period.
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        raise ValueError("a bool is not a number here")
    return value


# Numbers that refuse bools (floats also refuse NaN and infinity, see model_config).
Int = Annotated[int, BeforeValidator(_not_bool)]
Float = Annotated[float, BeforeValidator(_not_bool)]


def _count_or_auto(value, what: str, auto: str = ""):
    """A count setting that may also be 'auto': 1 or more."""
    if isinstance(value, int) and value < 1:
        raise ValueError(f"use 1 or more {what}, or 'auto'{auto}")
    return value


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False,
                              allow_inf_nan=False)

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise SettingsError(_explain(exc, type(self))) from None

    @classmethod
    def describe(cls) -> pd.DataFrame:
        """Every setting with its type, default and meaning."""
        rows = []
        # the task's own settings first, then the search settings every task shares
        shared = [n for n in _SearchSettings.model_fields if n in cls.model_fields]
        ordered = [n for n in cls.model_fields if n not in shared] + shared
        for name, field in ((n, cls.model_fields[n]) for n in ordered):
            default = ("(required)" if field.is_required()
                       else repr(field.get_default(call_default_factory=True)))
            rows.append({"setting": name, "default": default,
                         "type": str(field.annotation).replace("typing.", ""),
                         "description": field.description or ""})
        return pd.DataFrame(rows)


def _explain(exc: ValidationError, cls: type) -> str:
    parts: list = []
    # One entry per setting: a union setting gets an error from each of its branches.
    by_setting: dict[str, dict] = {}
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
        if not error["loc"]:  # a check across several settings names them itself
            parts.append(message)
            continue
        name, *rest = error["loc"]
        items = "".join(f"[{p}]" for p in rest if isinstance(p, int))  # not union branch tags
        if name not in by_setting:
            by_setting[name] = {"name": name, "messages": []}
            parts.append(by_setting[name])
        entry = by_setting[name]
        if items:
            entry["messages"].append(f"item {items}={error.get('input')!r}: {message}")
        else:
            entry.setdefault("input", error.get("input"))
            entry["messages"].append(message)
    text = "; ".join(
        p if isinstance(p, str) else
        f"{p['name']}{'=' + repr(p['input']) if 'input' in p else ''} is not valid: "
        + "; or ".join(sorted(p["messages"], key=lambda m: not m.startswith("item ")))
        for p in parts)
    return text + ("" if text.endswith((".", "?")) else ".") + f" See {cls.__name__}.describe()."


class _SearchSettings(_Settings):
    """Settings every task shares: the search, its budgets and ensembles."""

    task: ClassVar[str]
    primary_metric: str

    # -- search ----------------------------------------------------------------------------
    allowed_models: list[str] | None = Field(None, description="Learners to try (None: all).")
    blocked_models: list[str] = Field(default_factory=list, description="Learners never tried.")
    preset: Literal["fast", "medium", "best"] = Field(
        "medium", description="fast, medium or best: chooses time_budget, the candidate learners "
                              "and the validation depth; settings you give win.")
    time_budget: float | None = Field(600.0, description="Total time, refit included: seconds "
                                                         "(600) or '90s', '10m', '1h30m'.")
    max_trials: Int | None = Field(None, gt=0, description="Most trials to run.")
    trial_timeout: float | None = Field(None, description="Time one trial may take: seconds or "
                                                          "'90s', '5m'.")
    exit_score: Float | None = Field(None, description="Stop once the primary metric reaches "
                                                       "this.")
    early_stopping_trials: Int | None = Field(
        20, gt=0, description="Stop after this many trials without improvement (None: never).")
    max_concurrent_trials: Int | Literal["auto"] = Field(
        1, description="Trials run at once in workers; 'auto': one per core, each trial's "
                       "learner limited to its share of the cores.")
    enable_voting_ensemble: bool = Field(True, description="Add a greedy-selection ensemble.")
    enable_stack_ensemble: bool = Field(True, description="Add a stacked (ElasticNet) ensemble.")
    seed: Int = Field(0, ge=0, lt=2**32, description="Seed of every random choice.")
    verbosity: Int = Field(
        1, ge=0, le=2, description="0 silent; 1 progress (one line per trial, or a live display "
                                   "in the CLI on a terminal); 2 also each trial's line there.")

    @model_validator(mode="before")
    @classmethod
    def _preset(cls, data):
        """The preset's values for the settings not given."""
        if not isinstance(data, dict):
            return data
        family = PRESETS["forecasting" if cls.task == "forecasting" else "tabular"]
        chosen = dict(family.get(data.get("preset", "medium"), {}))  # unknown: named below
        if {"allowed_models", "blocked_models"} & set(data):
            chosen.pop("blocked_models", None)
        if chosen.get("blocked_models") == "costly":
            chosen["blocked_models"] = cls.costly_learners()
        return {**{k: v for k, v in chosen.items() if k not in data}, **data}

    @field_validator("max_concurrent_trials")
    @classmethod
    def _concurrent(cls, value):
        return _count_or_auto(value, "trials at once", " (one per core)")

    @field_validator("time_budget", "trial_timeout", mode="before")
    @classmethod
    def _duration(cls, value):
        return parse_duration(value)

    @field_validator("primary_metric", check_fields=False)
    @classmethod
    def _metric(cls, value):
        from tsauto.evaluation.metrics import METRICS, metrics_for

        valid = sorted(name for name in metrics_for(cls.task) if METRICS[name].optimisable)
        if value not in valid:
            raise ValueError(f"unknown or non-optimisable {cls.task} metric; valid: "
                             f"{', '.join(valid)}")
        return value

    @model_validator(mode="after")
    def _models(self):
        known = set(self.learner_names())
        for name in [*(self.allowed_models or []), *self.blocked_models]:
            if name not in known:
                from tsauto.errors import closest_hint

                raise ValueError(f"allowed_models/blocked_models: unknown learner {name!r}."
                                 f"{closest_hint(name, known)} Known {self.task} learners: "
                                 f"{', '.join(sorted(known))}")
        left = set(self.allowed_models or known) - set(self.blocked_models)
        if not left:
            raise ValueError(no_learner_left(self, known))
        return self

    @classmethod
    def learner_names(cls) -> list[str]:
        from tsauto.learners import registry

        return registry.names()

    @classmethod
    def costly_learners(cls) -> list[str]:
        """Learners whose declared cost is above 'low' (the 'fast' preset leaves them out)."""
        from tsauto.learners import registry

        return [n for n in cls.learner_names()
                if registry.get(n).capabilities.cost not in ("trivial", "low")]


class ForecastSettings(_SearchSettings):
    """What to forecast and how to search."""

    task: ClassVar[str] = "forecasting"

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
    date_format: str | None = Field(
        None, description="strftime format of text times, e.g. '%d/%m/%Y' (None: inferred; "
                          "ambiguous day/month order is an error asking for it).")
    max_filled_share: float = Field(
        0.1, ge=0, le=1, description="Largest share of target rows the guardrails may fill in "
                                     "(missing periods and values); more is an error.")
    target_aggregation: Literal["sum", "mean", "min", "max"] | None = Field(
        None, description="How to merge rows sharing a series and period.")
    short_series_handling: Literal["auto", "pad", "drop", "fail"] = Field(
        "auto", description="Series too short for the horizon and validation: auto (every series "
        "forecast: fewer windows or a naive fallback), pad, drop or fail.")

    # -- the forecast ----------------------------------------------------------------------
    horizon: Int = Field(gt=0, description="Periods to forecast.")
    quantiles: list[Float] = Field(default_factory=lambda: [0.1, 0.5, 0.9],
                                   description="Quantiles to forecast, each in (0, 1).")
    country_or_region: str | None = Field(None, description="Holiday calendar, e.g. 'US', 'AU'.")
    subdivision: str | None = Field(None, description="Holiday subdivision, e.g. 'VIC'.")

    # -- featurization ---------------------------------------------------------------------
    target_lags: Literal["auto"] | list[Int] | None = Field(
        "auto", description="Target lags for pivoted learners: 'auto', a list, or None.")
    target_rolling_window_size: Int | None = Field(
        None, ge=2, description="Rolling-window length for pivoted learners (None: auto).")
    feature_lags: Literal["auto"] | list[Int] | None = Field(
        "auto", description="Lags of past-only covariates.")
    featurization: Literal["auto", "off"] | dict = Field(
        "auto", description="'auto', 'off', or a custom featurization config.")
    enable_onnx_compatible_models: bool = Field(
        False, description="Search only learners and featurizations that export to ONNX "
                           "(model.to_onnx, docs/onnx.md): no holidays, target differencing or "
                           "lagged past-only covariates.")

    # -- validation ------------------------------------------------------------------------
    n_cross_validations: Int | Literal["auto"] = Field(
        "auto", description="Rolling-origin validation windows ('auto': 3, fewer if short).")
    cv_step_size: Int | None = Field(None, gt=0, description="Periods between windows "
                                                             "(None: the horizon).")
    primary_metric: str = Field("mase", description="Metric the search optimises.")

    @field_validator("grain_columns", "known_covariates", "past_covariates", "static_features",
                     mode="before")
    @classmethod
    def _listify(cls, value):
        return [value] if isinstance(value, str) else value

    @field_validator("date_format")
    @classmethod
    def _date_format(cls, value):
        from tsauto.data.times import date_format_problem

        problem = date_format_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("quantiles")
    @classmethod
    def _quantiles(cls, value):
        from tsauto.data.forecast_columns import check_quantiles

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
        return _count_or_auto(value, "windows")

    @model_validator(mode="after")
    def _holidays(self):
        # The holidays package's own list decides, here rather than at the first trial.
        if self.country_or_region is not None:
            from tsauto.features.holiday import check_country

            check_country(self.country_or_region, self.subdivision)
        elif self.subdivision is not None:
            raise ValueError(f"subdivision={self.subdivision!r} needs country_or_region (e.g. "
                             f"country_or_region='AU', subdivision='VIC').")
        return self

    def dataset_roles(self) -> dict:
        """Keyword arguments for TimeSeriesDataset."""
        return {"time_column": self.time_column, "target_column": self.target_column,
                "grain_columns": self.grain_columns, "known_covariates": self.known_covariates,
                "past_covariates": self.past_covariates, "static_features": self.static_features,
                "freq": self.freq, "target_aggregation": self.target_aggregation,
                "date_format": self.date_format}


class _TabularSettings(_SearchSettings):
    """Settings shared by classification and regression on a plain table."""

    target_column: str = Field(description="Column with the values to predict.")
    drop_columns: list[str] = Field(default_factory=list,
                                    description="Columns never used as features (ids, leaks).")
    validation: Literal["auto", "kfold", "holdout"] = Field(
        "auto", description="'kfold', 'holdout', or 'auto' (k-fold up to 20,000 rows, else a "
                            "holdout); a validation frame given to fit() is used instead.")
    n_folds: Int = Field(5, ge=2, le=20, description="Folds of k-fold cross-validation.")
    holdout_fraction: Float = Field(0.2, gt=0, le=0.5,
                                    description="Share of rows held out by 'holdout'.")
    featurization: Literal["auto", "off"] = Field(
        "auto", description="'auto': types detected, imputed, encoded; 'off': numeric columns "
                            "only, imputed.")
    enable_onnx_compatible_models: bool = Field(
        False, description="Search only learners whose models export to ONNX (model.to_onnx, "
                           "docs/onnx.md); text and datetime columns still do not export.")

    @field_validator("drop_columns", mode="before")
    @classmethod
    def _listify(cls, value):
        return [value] if isinstance(value, str) else value

    @classmethod
    def learner_names(cls) -> list[str]:
        from tsauto.learners.tabular import registry

        return registry.names(cls.task)

    @classmethod
    def costly_learners(cls) -> list[str]:
        from tsauto.learners.tabular import registry

        return [n for n in cls.learner_names() if registry.get(n).capabilities.cost != "low"]

    def validation_scheme(self, n_rows: int) -> str:
        if self.validation != "auto":
            return self.validation
        return "kfold" if n_rows <= 20_000 else "holdout"


class ClassificationSettings(_TabularSettings):
    """What to classify and how to search."""

    task: ClassVar[str] = "classification"
    primary_metric: str = Field("accuracy", description="Metric the search optimises.")


class RegressionSettings(_TabularSettings):
    """What to predict (a number) and how to search."""

    task: ClassVar[str] = "regression"
    primary_metric: str = Field("rmse", description="Metric the search optimises.")


SETTINGS = {cls.task: cls for cls in (ForecastSettings, ClassificationSettings,
                                      RegressionSettings)}


def no_learner_left(settings: _SearchSettings, known) -> str:
    """Why allowed_models/blocked_models leave nothing to try, with the valid names."""
    return (f"allowed_models={settings.allowed_models!r} minus blocked_models="
            f"{settings.blocked_models!r} leaves no learner to try; valid {settings.task} "
            f"learners: {', '.join(sorted(known))}")


def settings_to_json(settings: _SearchSettings) -> str:
    """Settings with their task, so that a stored experiment comes back as the right class."""
    return json.dumps({"task": settings.task, **settings.model_dump(mode="json")})


def settings_from_json(text: str, where: str = "the stored settings") -> _SearchSettings:
    """Settings written by ``settings_to_json``; a SettingsError naming ``where`` when they no
    longer validate (e.g. a learner registered by code this process has not imported)."""
    data = json.loads(text)
    try:
        return SETTINGS[data.pop("task", "forecasting")](**data)
    except SettingsError as exc:
        raise SettingsError(f"{where}: {exc}") from None
