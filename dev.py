#!/usr/bin/env python3
"""The two commands of the quick start, for a fresh clone with only Python >= 3.11.

    python3 dev.py demo     # start the bot on embedded defaults (simulated site, SQLite, console)
    python3 dev.py test     # run the test suite
    python3 dev.py check    # ruff check, ruff format --check and mypy (what CI runs first)

Each creates ``.venv`` on first use and (re)installs the project when
``pyproject.toml`` changes. Extra arguments go to ``commandcenter`` or pytest:
``python3 dev.py demo --speed 120``, ``python3 dev.py test -k storage``,
``python3 dev.py run ask "how is the battery?"``.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".commandcenter-installed"


def _fingerprint() -> str:
    return hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()


def _installed() -> set[str] | None:
    """The extras installed for the current ``pyproject.toml`` (None: reinstall)."""
    if not STAMP.exists():
        return None
    fingerprint, _, extras = STAMP.read_text().partition("\n")
    if fingerprint != _fingerprint():
        return None
    return {e for e in extras.split(",") if e}


def ensure_env(extras: set[str] | None = None) -> None:
    """Create ``.venv`` and install the project with ``extras`` (the demo needs none; the
    tests need ``dev``, which brings pytest, ruff and mypy)."""
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py may be run by any python3
        sys.exit(f"CommandCenter needs Python 3.11 or newer; this is {sys.version.split()[0]}.")
    extras = extras or set()
    if not PYTHON.exists():
        print(f"Creating a virtual environment in {VENV} ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    installed = _installed()
    if installed is not None and extras <= installed:
        return
    wanted = extras | (installed or set())
    what = "CommandCenter" + (f" with {', '.join(sorted(wanted))}" if wanted else "")
    print(f"Installing {what} and its dependencies (the first run takes a minute) ...")
    pip = [str(PYTHON), "-m", "pip", "--disable-pip-version-check"]
    subprocess.run([*pip, "install", "--quiet", "--upgrade", "pip"], check=True)
    spec = f"{ROOT}[{','.join(sorted(wanted))}]" if wanted else str(ROOT)
    subprocess.run([*pip, "install", "--quiet", "-e", spec], check=True)
    STAMP.write_text(_fingerprint() + "\n" + ",".join(sorted(wanted)))


def precompile() -> None:
    """Byte-compile the project's modules (quick when they already are): a module first
    imported while a process stops (after SIGTERM) is then not compiled at that moment,
    which CPython 3.11 before 3.11.8 can fail with "AST constructor recursion depth
    mismatch" when a signal lands mid-compile."""
    packages = [str(ROOT / p) for p in ("bot", "graphs", "tools", "knowledge", "storage")]
    subprocess.run([str(PYTHON), "-m", "compileall", "-q", *packages], check=False)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("demo", "test", "check", "run", "setup"):
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
    ensure_env({"dev"} if command in ("test", "check") else set())
    precompile()
    if command == "setup":
        return 0
    if command == "check":
        for step in (["ruff", "check", "."], ["ruff", "format", "--check", "."], ["mypy"]):
            print("$", " ".join(step), flush=True)
            code = subprocess.call([str(PYTHON), "-m", *step, *rest], cwd=ROOT)
            if code:
                return code
        return 0
    if command == "test":
        args = [str(PYTHON), "-m", "pytest", *rest]
    elif command == "demo":
        args = [str(PYTHON), "-m", "bot", "demo", *rest]
    else:
        args = [str(PYTHON), "-m", "bot", *rest]
    try:
        return subprocess.call(args, cwd=ROOT)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
