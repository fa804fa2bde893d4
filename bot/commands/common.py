"""Small pieces the command modules share: a one-line error exit, and JSON-safe values."""

from __future__ import annotations

import math
from typing import Any

import typer

EXIT_USAGE = 2


def fail(message: str) -> typer.Exit:
    """Print ``error: message`` on stderr; the exit (code 2) for the caller to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(EXIT_USAGE)


def plain(value: Any) -> Any:
    """``value`` with NaN floats as None, through dicts and lists (for ``json.dumps``)."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value
