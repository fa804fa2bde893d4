"""CLI command groups beyond the core commands."""
