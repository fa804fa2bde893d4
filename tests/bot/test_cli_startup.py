"""`commandcenter --help` starts without the heavy libraries; `--version` prints it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bot.version import version

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("sqlalchemy", "pandas", "numpy", "pvlib", "langchain_core", "langgraph", "tools.site")


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "bot", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def imported(stderr: str) -> set[str]:
    return {
        line.rsplit("|", 1)[1].strip()
        for line in stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }


def test_help_imports_none_of_the_heavy_libraries() -> None:
    result = _run("--help")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Usage" in result.stdout and "bench" in result.stdout
    modules = imported(result.stderr)
    assert "bot.cli" in modules
    loaded = sorted(m for m in modules if m.split(".")[0] in HEAVY or m in HEAVY)
    assert not loaded, f"--help imported {loaded}"


def test_version() -> None:
    result = _run("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"commandcenter {version()}"
    assert "sqlalchemy" not in imported(result.stderr)


def test_the_bot_without_a_model_does_not_load_the_openai_client() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import bot.app, graphs.assistant.graph"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    modules = imported(result.stderr)
    assert "graphs.assistant.graph" in modules
    assert not {m for m in modules if m == "openai" or m.startswith("openai.")}
