"""tsauto: forecasting-first AutoML."""

from tsauto.data import TimeSeriesDataset, run_guardrails
from tsauto.errors import DataError, SettingsError, TsautoError

__version__ = "0.1.0"
__all__ = ["TimeSeriesDataset", "run_guardrails", "TsautoError", "DataError", "SettingsError",
           "__version__"]
