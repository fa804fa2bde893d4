"""``commandcenter eval routing``: every line routed through the assistant, nothing executed."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from bot.cli import app

LINES = [
    {"q": "battery and solar?", "tools": ["battery_status", "solar_now"]},
    {"q": "stop the miners", "tools": ["stop_miners"], "actions": ["stop_miners"]},
    # the same request again: lines are independent, so it is a new request, not a duplicate
    {"q": "kill the miners", "tools": ["stop_miners"], "actions": ["stop_miners"]},
    {"q": "start the genset at barn", "tools": ["start_generator"], "actions": ["start_generator"]},
    {"q": "alert me if the panel voltage drops below 12 V", "tools": []},
    {"q": "how is the barn?", "tools": ["active_alerts"]},  # a wrong expectation: scored wrong
    {"q": "thanks"},  # no expectation: routed, not scored
]


def test_routes_every_line_scores_and_executes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "lines.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in LINES) + "\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["eval", "routing", str(path), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    routed = {line["q"]: line for line in out["lines"]}
    assert routed["battery and solar?"]["tools"] == ["battery_status", "solar_now"]
    assert routed["stop the miners"]["actions"] == ["stop_miners"]
    assert routed["start the genset at barn"]["actions"] == ["generator_start"]
    assert routed["alert me if the panel voltage drops below 12 V"]["tools"] == []
    assert "no alert was set" in routed["alert me if the panel voltage drops below 12 V"]["answer"]
    assert routed["how is the barn?"]["tools"] == ["site_status"]
    assert routed["how is the barn?"]["correct"] is False
    assert routed["thanks"]["correct"] is None
    assert out["summary"] == {
        "lines": 7,
        "scored": 6,
        "correct": 5,
        "score_pct": 83.3,
        "actions_created": 3,
        "actions_executed": 0,
    }

    text = CliRunner().invoke(app, ["eval", "routing", str(path)])
    assert text.exit_code == 0, text.output
    assert "✗ 'how is the barn?' -> site_status  (expected: active_alerts)" in text.stdout
    assert "score 5/6 = 83.3 %; actions created 3, executed 0" in text.stdout


def test_a_bad_line_is_a_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"q": "battery?"}\n{"question": "solar?"}\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["eval", "routing", str(path)])
    assert result.exit_code == 2
    assert f'{path}:2: each line needs {{"q": "..."}}' in result.output
