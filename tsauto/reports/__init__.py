"""Reports: one self-contained HTML file per run or backtest, and matplotlib figures.

This layer reads data objects only (runs, backtests, leaderboards, guardrail reports,
explanations) and draws them; every number comes from the evaluation modules.
"""

from tsauto.reports.report import backtest_report, run_report

__all__ = ["backtest_report", "run_report"]
