"""The declarative featurization of the pivoted learners, in one serialisable place.

``FeaturizationSpec`` says what a ``Featurizer`` builds (target lags, rolling windows,
calendar and holiday features, covariate lags, target transform, categorical encoding), as
mlforecast's ``lags``/``lag_transforms``/``date_features``/``target_transforms`` do.  The
settings, a trial's tuned hyper-parameters and a pivoted learner's keywords all map onto it;
the fitted learner keeps it (``featurization_spec``) so that an exporter can read what its
features are from ``to_dict()`` without the code that built them.

``FeaturizationConfig`` is its column-level part (the ``featurization`` setting): columns to
drop, roles and types forced, imputation, lags and windows per column, and one switch per
featurizer.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from tsauto.errors import SettingsError, closest_hint, preview


@dataclass
class FeaturizationConfig:
    """A custom featurization.  Column-keyed settings name raw columns; the target's column
    name keys its lags/windows in ``lags``/``windows``."""

    drop_columns: list[str] = field(default_factory=list)
    column_roles: dict[str, str] = field(default_factory=dict)    # known | past | static
    column_types: dict[str, str] = field(default_factory=dict)    # numeric | categorical
    imputation: dict[str, str | float] = field(default_factory=dict)  # mean|median|zero|ffill|number
    lags: dict[str, str | list[int]] = field(default_factory=dict)
    windows: dict[str, str | list[int]] = field(default_factory=dict)
    calendar: bool | list[str] = True
    holidays: bool = True
    rolling: bool = True
    seasonal_rolling: bool = True
    series_id: bool = True
    target_transform: bool = True

    @classmethod
    def parse(cls, value) -> FeaturizationConfig:
        if isinstance(value, FeaturizationConfig):
            return value
        if value is None or value == "auto":
            return cls()
        if value == "off":
            return cls(calendar=False, holidays=False, rolling=False, seasonal_rolling=False,
                       series_id=False, target_transform=False)
        if isinstance(value, dict):
            known = [f.name for f in fields(cls)]
            bad = [k for k in value if k not in known]
            if bad:
                raise SettingsError(f"featurization has unknown key(s) {preview(bad)}."
                                    f"{closest_hint(bad[0], known)} Valid keys: "
                                    f"{', '.join(known)}.")
            return cls(**value)
        raise SettingsError(f"featurization={value!r} is not valid; use 'auto', 'off', or a "
                            f"dict / FeaturizationConfig with keys "
                            f"{', '.join(f.name for f in fields(cls))}.")


@dataclass(frozen=True, kw_only=True)
class FeaturizationSpec:
    """What the pivoted design holds; values as the ``Featurizer`` documents them.

    ``featurization`` ('auto', 'off', a dict or a ``FeaturizationConfig``) is parsed when the
    featurizer is fitted, so that a bad value fails the trial that uses it, not the search.
    """

    target_lags: Any = "auto"                       # 'auto', a list of lags, or None
    target_rolling_window_size: Any = "auto"        # 'auto', None, an int or a list
    rolling_stats: tuple[str, ...] = ("mean", "std", "min", "max")
    seasonal_window_size: Any = "auto"              # 'auto', a number of seasons, or None
    feature_lags: Any = "auto"                      # past-only covariates: 'auto', list, None
    country_or_region: str | None = None            # holidays
    subdivision: str | None = None
    holiday_window: int = 7
    featurization: Any = "auto"                     # 'auto', 'off', dict, FeaturizationConfig
    target_scaler: str = "standard"                 # per-series target transform
    target_difference: Any = None
    target_power: str | None = None
    categorical_encoding: str = "onehot"            # onehot | ordinal | native
    max_onehot: int = 10

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    def updated(self, values: dict[str, Any]) -> tuple[FeaturizationSpec, dict[str, Any]]:
        """This spec with the fields named in ``values`` replaced, and the values it does not
        name (a learner's other options and hyper-parameters)."""
        names = self.field_names()
        ours = {k: v for k, v in values.items() if k in names}
        return (replace(self, **ours) if ours else self,
                {k: v for k, v in values.items() if k not in names})

    def to_params(self) -> dict[str, Any]:
        """The fields as keyword arguments (values as given: a learner's ``params``)."""
        return {name: getattr(self, name) for name in self.field_names()}

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (a ``FeaturizationConfig`` as its dict of fields)."""
        out = self.to_params()
        for name, value in out.items():
            if isinstance(value, FeaturizationConfig):
                value = asdict(value)
            elif isinstance(value, tuple):
                value = list(value)
            out[name] = value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeaturizationSpec:
        bad = [k for k in data if k not in cls.field_names()]
        if bad:
            raise SettingsError(f"featurization spec has unknown key(s) {preview(bad)}."
                                f"{closest_hint(bad[0], cls.field_names())} Valid keys: "
                                f"{', '.join(cls.field_names())}.")
        values = dict(data)
        if isinstance(values.get("featurization"), dict):
            values["featurization"] = FeaturizationConfig.parse(values["featurization"])
        if isinstance(values.get("rolling_stats"), list):
            values["rolling_stats"] = tuple(values["rolling_stats"])
        return cls(**values)
