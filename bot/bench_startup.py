"""``commandcenter bench startup``: how long the command line takes to start.

Median wall time of whole processes: ``python -c pass`` (the interpreter alone),
``commandcenter --help`` and ``commandcenter ask "status" --json`` (on the demo site
in a scratch data folder, after one warm-up run that creates its database).
Standard library only, so importing it costs nothing.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from typing import Annotated

import typer


def _time_run(argv: Sequence[str], env: Mapping[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(list(argv), env=dict(env), capture_output=True, timeout=300)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(argv)} exited with {done.returncode}: {done.stderr.decode()[-500:]}"
        )
    return elapsed


def median_s(argv: Sequence[str], env: Mapping[str, str], runs: int) -> float:
    return statistics.median(_time_run(argv, env) for _ in range(runs))


def bench_startup(*, runs: int = 5, python: str = sys.executable) -> dict[str, float | int]:
    """Median seconds of each command over ``runs`` runs (after one warm-up each)."""
    with tempfile.TemporaryDirectory(prefix="cc-bench-startup-") as data_dir:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("COMMANDCENTER_", "DATABASE_URL", "OPENAI_", "SLACK_"))
        }
        env.update({"COMMANDCENTER_DATA_DIR": data_dir, "COMMANDCENTER_LOG_LEVEL": "WARNING"})
        commands = {
            "python": [python, "-c", "pass"],
            "help": [python, "-m", "bot", "--help"],
            "ask_status": [python, "-m", "bot", "ask", "status", "--json"],
        }
        result: dict[str, float | int] = {"runs": runs}
        for name, argv in commands.items():
            _time_run(argv, env)  # warm-up: file caches, the scratch database
            result[f"{name}_s"] = round(median_s(argv, env, runs), 3)
    for name in ("help", "ask_status"):
        result[f"{name}_over_python_s"] = round(
            float(result[f"{name}_s"]) - float(result["python_s"]), 3
        )
    return result


def bench_startup_cmd(
    runs: Annotated[int, typer.Option(min=1, help="Runs per command (median)")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
) -> None:
    """Start-up time of the command line: median whole-process seconds of `--help` and
    `ask "status" --json` against `python -c pass`."""
    result = bench_startup(runs=runs)
    if as_json:
        typer.echo(json.dumps(result))
        return
    for key, value in result.items():
        typer.echo(f"{key:>22}: {value}")


if __name__ == "__main__":  # python -m bot.bench_startup [--runs N] [--json]
    typer.run(bench_startup_cmd)
