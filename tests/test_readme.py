"""The README stays true: its metric table is the vocabulary the code uses."""

from __future__ import annotations

import re
from pathlib import Path

from tools.devices.config import DRIVER_NAMES
from tools.domain import METRICS

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_metric_table_matches_the_vocabulary() -> None:
    text = README.read_text(encoding="utf-8")
    rows = re.findall(r"^\| `([a-z_]+)` \| ([^|]+) \| ([^|]+) \|$", text, flags=re.MULTILINE)
    documented = {name: (unit.strip(), meaning.strip()) for name, unit, meaning in rows}
    for spec in METRICS.values():
        assert documented.get(spec.name) == (spec.unit, spec.description), spec.name


def test_readme_names_every_driver() -> None:
    text = README.read_text(encoding="utf-8")
    for driver in DRIVER_NAMES:
        assert f"| `{driver}` |" in text, driver
