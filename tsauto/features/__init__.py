"""Featurizers: leakage-free features for pivoted (regression) forecasting.

Each featurizer has ``fit``/``transform``, ``feature_names_out`` and ``onnx_exportable``;
``Featurizer`` composes them into designs and writes the featurization summary.
"""

from tsauto.data.grouped import History
from tsauto.features.base import TARGET, FeatureTransformer, Rows
from tsauto.features.calendar import CALENDAR_FEATURES, CalendarFeatures
from tsauto.features.covariates import CovariateFeatures
from tsauto.features.featurizer import Featurizer
from tsauto.features.holiday import HolidayFeatures, check_country
from tsauto.features.lags import Lags, auto_lags, autocorrelation
from tsauto.features.spec import FeaturizationConfig, FeaturizationSpec
from tsauto.features.target import TargetTransform
from tsauto.features.windows import RollingWindows, SeasonalRollingWindows

__all__ = [
           "CALENDAR_FEATURES",
           "TARGET",
           "CalendarFeatures",
           "CovariateFeatures",
           "FeatureTransformer",
           "FeaturizationConfig",
           "FeaturizationSpec",
           "Featurizer",
           "History",
           "HolidayFeatures",
           "Lags",
           "RollingWindows",
           "Rows",
           "SeasonalRollingWindows",
           "TargetTransform",
           "auto_lags",
           "autocorrelation",
           "check_country",
]
