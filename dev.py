#!/usr/bin/env python3
"""The two commands of the quick start, for a fresh clone with only Python >= 3.11.

    python3 dev.py demo     # start the bot on embedded defaults (simulated site, SQLite, console)
    python3 dev.py test     # run the test suite

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


def ensure_env() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py may be run by any python3
        sys.exit(f"CommandCenter needs Python 3.11 or newer; this is {sys.version.split()[0]}.")
    if not PYTHON.exists():
        print(f"Creating a virtual environment in {VENV} ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    if STAMP.exists() and STAMP.read_text() == _fingerprint():
        return
    print("Installing CommandCenter and its dependencies (the first run takes a minute) ...")
    pip = [str(PYTHON), "-m", "pip", "--disable-pip-version-check"]
    subprocess.run([*pip, "install", "--quiet", "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "install", "--quiet", "-e", f"{ROOT}[dev]"], check=True)
    STAMP.write_text(_fingerprint())


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("demo", "test", "run", "setup"):
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
    ensure_env()
    if command == "setup":
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
