"""tsauto: forecasting-first AutoML."""

from tsauto.automl import AutoML, Run
from tsauto.data import TimeSeriesDataset, run_guardrails
from tsauto.errors import DataError, SettingsError, TsautoError
from tsauto.model import ForecastModel, load_model
from tsauto.settings import ForecastSettings

__version__ = "0.1.0"
__all__ = ["AutoML", "ForecastSettings", "Run", "ForecastModel", "load_model", "TimeSeriesDataset",
           "run_guardrails", "TsautoError", "DataError", "SettingsError", "__version__"]
