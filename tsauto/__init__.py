"""tsauto: forecasting-first AutoML (and classification / regression on the same engine).

The public names are imported on first use, so that ``import tsauto`` (and the CLI) starts fast.
"""

from importlib import import_module

__version__ = "0.1.0"

_EXPORTS = {
    "AutoML": "tsauto.automl", "Run": "tsauto.automl", "ForecastSettings": "tsauto.settings",
    "ClassificationSettings": "tsauto.settings", "RegressionSettings": "tsauto.settings",
    "ForecastModel": "tsauto.model", "TabularModel": "tsauto.model", "load_model": "tsauto.model",
    "TabularDataset": "tsauto.data.tabular",
    "TimeSeriesDataset": "tsauto.data", "run_guardrails": "tsauto.data",
    "TsautoError": "tsauto.errors", "DataError": "tsauto.errors", "SettingsError": "tsauto.errors",
    "datasets": "tsauto.datasets", "learners": "tsauto.learners",
    "ManyModels": "tsauto.many",
}
__all__ = [*_EXPORTS, "__version__"]


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'tsauto' has no attribute {name!r}")
    module = import_module(_EXPORTS[name])
    value = module if module.__name__ == f"tsauto.{name}" else getattr(module, name)
    globals()[name] = value
    return value
