"""Learners: one forecaster protocol (base.py) and a registry of the families."""

from tsauto.data.forecast_columns import POINT, STEP, quantile_column
from tsauto.learners.base import Capabilities, Forecaster
from tsauto.learners.registry import create, get, names, register

__all__ = ["Forecaster", "Capabilities", "POINT", "STEP", "quantile_column", "create", "get",
           "names", "register"]
