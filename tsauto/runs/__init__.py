"""Runs: the experiment store (SQLite) with its trials and artifacts."""

from tsauto.runs.store import RunStore

__all__ = ["RunStore"]
