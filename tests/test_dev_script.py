"""dev.py installs only what a command needs: the demo the product, the tests the tools."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _dev(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[ModuleType, list[list[str]]]:
    spec = importlib.util.spec_from_file_location("dev_script", ROOT / "dev.py")
    assert spec is not None and spec.loader is not None
    dev = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(dev)
    python = tmp_path / "bin" / "python"
    python.parent.mkdir()
    python.write_text("")
    monkeypatch.setattr(dev, "PYTHON", python)
    monkeypatch.setattr(dev, "STAMP", tmp_path / "stamp")
    calls: list[list[str]] = []

    def run(args: list[str], **_kw: Any) -> None:
        calls.append(args)

    monkeypatch.setattr(dev.subprocess, "run", run)
    return dev, calls


def installs(calls: list[list[str]]) -> list[str]:
    return [c[-1] for c in calls if "-e" in c]


def test_demo_installs_the_product_and_test_adds_the_dev_tools(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dev, calls = _dev(tmp_path, monkeypatch)
    dev.ensure_env(set())  # dev.py demo
    assert installs(calls) == [str(ROOT)]
    dev.ensure_env(set())  # nothing changed: nothing installed
    assert len(installs(calls)) == 1
    dev.ensure_env({"dev"})  # dev.py test / check
    assert installs(calls)[-1] == f"{ROOT}[dev]"
    dev.ensure_env(set())  # the demo after the tests: dev tools already there
    assert len(installs(calls)) == 2
    (tmp_path / "stamp").write_text("another pyproject\ndev")
    dev.ensure_env(set())  # pyproject.toml changed: reinstall (what was installed, again)
    assert installs(calls)[-1] == str(ROOT)
