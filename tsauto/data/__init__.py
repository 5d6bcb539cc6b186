"""Data: the time-series dataset, frequency grids and guardrails."""

from tsauto.data.dataset import FILLED, SERIES_ID, TimeSeriesDataset, read_table
from tsauto.data.frequency import TimeGrid
from tsauto.data.grouped import GroupedArray
from tsauto.data.guardrails import GuardrailReport, run_guardrails

__all__ = ["TimeSeriesDataset", "GroupedArray", "TimeGrid", "GuardrailReport", "run_guardrails",
           "read_table", "SERIES_ID", "FILLED"]
