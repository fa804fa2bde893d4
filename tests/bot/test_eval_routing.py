"""``commandcenter eval routing``: every line routed through the assistant, nothing executed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from bot.cli import app

LINES = [
    {"q": "battery and solar?", "tools": ["battery_status", "solar_now"]},
    {"q": "stop the miners", "tools": ["stop_miners"], "actions": ["stop_miners"]},
    # the same request again: lines are independent, so it is a new request, not a duplicate
    {"q": "kill the miners", "tools": ["stop_miners"], "actions": ["stop_miners"]},
    {"q": "start the genset at barn", "tools": ["start_generator"], "actions": ["start_generator"]},
    {"q": "start the miners every morning at 8", "tools": []},  # a schedule: refused
    # the generator is stopped: understood, and no request is needed
    {"q": "stop the generator", "tools": ["stop_generator"], "actions": ["stop_generator"]},
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
    assert routed["start the miners every morning at 8"]["tools"] == []
    assert "I can't schedule commands" in routed["start the miners every morning at 8"]["answer"]
    stop = routed["stop the generator"]
    assert stop["actions"] == [] and stop["already_in_place"] == ["stop_generator"]
    assert stop["correct"] is True
    assert routed["how is the barn?"]["tools"] == ["site_status"]
    assert routed["how is the barn?"]["correct"] is False
    assert routed["thanks"]["correct"] is None
    assert out["summary"] == {
        "lines": 8,
        "scored": 7,
        "correct": 6,
        "score_pct": 85.7,
        "strict_correct": 5,
        "strict_score_pct": 71.4,
        "actions_created": 3,
        "already_in_place": 1,
        "actions_executed": 0,
    }

    text = CliRunner().invoke(app, ["eval", "routing", str(path)])
    assert text.exit_code == 0, text.output
    assert "✗ 'how is the barn?' -> site_status  (expected: active_alerts)" in text.stdout
    assert "score 6/7 = 85.7 % (strict, a request for every change asked: 5/7 = 71.4 %)" in (
        text.stdout
    )
    assert "actions created 3, executed 0, already in place 1" in text.stdout


def test_a_bad_line_is_a_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"q": "battery?"}\n{"question": "solar?"}\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["eval", "routing", str(path)])
    assert result.exit_code == 2
    assert f'{path}:2: each line needs {{"q": "..."}}' in result.output


def test_a_line_asking_for_help_is_right_only_when_the_reply_is_the_help(tmp_path: Path) -> None:
    # "help" is no tool: the reply lists what the bot can do. Older sets wrote such lines
    # with no tools at all, which still holds.
    lines = [
        {"q": "what are you able to do for me?", "tools": ["help"]},
        {"q": "help", "tools": []},
        {"q": "how full is the battery", "tools": ["help"]},
        {"q": "good evening to you", "tools": ["help"]},
    ]
    path = tmp_path / "help.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["eval", "routing", str(path), "--json"])
    assert result.exit_code == 0, result.output
    routed = {line["q"]: line["correct"] for line in json.loads(result.stdout)["lines"]}
    assert routed == {
        "what are you able to do for me?": True,
        "help": True,
        "how full is the battery": False,
        "good evening to you": False,
    }


def test_native_output_on_descriptor_1_stays_out_of_the_json() -> None:
    """HiGHS prints debug lines from C++ straight onto descriptor 1; ``--json`` readers
    must still get the JSON alone. A child process writes on descriptor 1 inside the
    guard (as the solver does) and prints its answer after it."""
    child = (
        "import json, os\n"
        "from bot.commands.common import native_output_to_stderr\n"
        "print('before', flush=True)\n"
        "with native_output_to_stderr():\n"
        "    os.write(1, b'HighsMipSolverData::transformNewIntegerFeasibleSolution\\n')\n"
        "    print('buffered inside')\n"
        "print(json.dumps({'ok': True}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", child], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.splitlines() == ["before", '{"ok": true}']
    assert "HighsMipSolverData" in done.stderr and "buffered inside" in done.stderr
