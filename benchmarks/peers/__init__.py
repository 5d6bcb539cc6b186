"""Benchmark peers that run outside tsauto's interpreter (benchmark extras, never dependencies)."""
