"""Forecasts: weather, PV, load and the plans built on them (pure math, no I/O)."""
