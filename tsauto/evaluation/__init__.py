"""Evaluation: metrics (and, with the engine, splitters and backtests)."""
