"""Small pieces the command modules share: a one-line error exit, JSON-safe values, and
a standard output kept for the command's own answer."""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
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


@contextmanager
def native_output_to_stderr() -> Iterator[None]:
    """Within the block, whatever native code writes on file descriptor 1 goes to stderr.

    HiGHS (the MILP solver under ``scipy.optimize.milp``) prints debug lines such as
    ``HighsMipSolverData::transformNewIntegerFeasibleSolution`` straight onto descriptor 1,
    where Python's redirections cannot see them; in a ``--json`` command they would come
    before the JSON and break every reader. Python's own ``sys.stdout`` is flushed on the
    way in and out so nothing it buffered changes side. Where descriptor 1 cannot be
    duplicated (closed, or not a real descriptor) the block runs unchanged.
    """
    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, ValueError):
        yield
        return
    try:
        os.dup2(2, 1)
        yield
    finally:
        with suppress(OSError, ValueError):
            sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
