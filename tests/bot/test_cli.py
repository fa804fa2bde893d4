"""The command line, invoked in-process on a fresh data folder (SQLite, the demo site)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner, Result

from bot.cli import app
from storage import repositories as repo
from tools.agent import TOOL_SPECS
from tools.site import demo_site_file

# Variables that would point the CLI at something other than the test's data folder.
CLEARED = (
    "DATABASE_URL",
    "COMMANDCENTER_SITE_FILE",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "SLACK_BOT_TOKEN",
    "SLACK_APP_TOKEN",
    "DISCORD_BOT_TOKEN",
    "PINECONE_API_KEY",
    "MQTT_URL",
)


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.chdir(tmp_path)  # no stray .env file is read
    for name in CLEARED:
        monkeypatch.delenv(name, raising=False)
    data = tmp_path / "data"
    data.mkdir()
    return CliRunner(
        env={
            "COMMANDCENTER_DATA_DIR": str(data),
            "DATABASE_URL": None,
            "COMMANDCENTER_SITE_FILE": str(quiet_demo_site_file(tmp_path)),
        }
    )


def quiet_demo_site_file(folder: Path) -> Path:
    """The demo site with thresholds no fresh simulation reaches, at any time of day.

    The CLI runs on the wall clock: at night the demo battery discharges fast
    enough to raise an alert (and its own proposal) on the first poll, which
    would make these tests depend on when they run.
    """
    data = demo_site_file().model_dump(mode="json")
    data["sites"][0]["alerts"] = {
        "soc_critical_pct": 5,
        "soc_warning_pct": 10,
        "discharge_warning_kw": 50,
    }
    path = folder / "quiet-demo.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def run(cli: CliRunner, *args: str, code: int = 0) -> Result:
    result = cli.invoke(app, list(args))
    assert result.exit_code == code, (
        f"exit {result.exit_code}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}\n"
        f"{result.exception!r}"
    )
    return result


def ask_json(cli: CliRunner, text: str) -> dict[str, Any]:
    out = json.loads(run(cli, "ask", text, "--json").stdout)
    assert isinstance(out, dict)
    return out


def test_tools_json_lists_every_tool(cli: CliRunner) -> None:
    rows = json.loads(run(cli, "tools", "--json").stdout)
    assert [r["name"] for r in rows] == [s.name for s in TOOL_SPECS]
    by_name = {r["name"]: r for r in rows}
    for spec in TOOL_SPECS:
        assert by_name[spec.name]["description"] == spec.description
        assert spec.description.strip()
        assert by_name[spec.name]["kind"] in ("read", "change", "action")
        assert by_name[spec.name]["permission"] == spec.permission.value
        assert by_name[spec.name]["needs_approval"] == (spec.kind == "action")


def test_tools_plain_lists_every_tool(cli: CliRunner) -> None:
    out = run(cli, "tools").stdout
    for spec in TOOL_SPECS:
        assert spec.name in out


def test_tools_plain_shows_each_tools_parameters(cli: CliRunner) -> None:
    """As the README says: every tool with its parameters (type, default, meaning)."""
    out = run(cli, "tools").stdout
    blocks: dict[str, list[str]] = {}
    current = ""
    for line in out.splitlines():
        if line.startswith("    "):
            blocks[current].append(line.strip())
        elif line.strip():
            current = line.split()[0]
            blocks[current] = []
    assert list(blocks) == [s.name for s in TOOL_SPECS]
    for spec in TOOL_SPECS:
        fields = spec.args.model_fields
        shown = [p.split(" ")[0] for p in blocks[spec.name] if p != "(no parameters)"]
        assert shown == list(fields), spec.name
    report = blocks["energy_report"]
    assert any(
        p.startswith(
            "period (yesterday|today|last_week|this_week|last_month|this_month, "
            "default yesterday): Which local period"
        )
        for p in report
    ), report
    assert "site (string, optional): Site name" in blocks["battery_status"][0]


def test_ask_battery_json(cli: CliRunner, tmp_path: Path) -> None:
    out = ask_json(cli, "how is the battery?")
    assert {"answer", "tools", "cards", "actions"} <= set(out)
    assert out["tools"] == ["battery_status"]
    assert out["actions"] == []
    assert isinstance(out["answer"], str) and "%" in out["answer"]
    assert [c["kind"] for c in out["cards"]] == ["battery"]
    # the default SQLite database went into the data folder
    assert (tmp_path / "data" / "commandcenter.sqlite").exists()


def test_ask_stop_the_miners_creates_one_pending_action(cli: CliRunner, tmp_path: Path) -> None:
    out = ask_json(cli, "stop the miners")
    assert len(out["actions"]) == 1
    action = out["actions"][0]
    assert action["kind"] == "stop_miners" and action["status"] == "pending"
    assert out["tools"] == ["stop_miners"]
    assert [b["action"] for c in out["cards"] for b in c["buttons"]] == ["approve", "reject"]
    with sqlite3.connect(tmp_path / "data" / "commandcenter.sqlite") as db:
        asked = db.execute("SELECT id, kind, status, requested_by FROM action_requests").fetchall()
    assert asked == [(action["id"], "stop_miners", "pending", "console:you")]
    listed = json.loads(run(cli, "actions", "list", "--json").stdout)
    assert [r["status"] for r in listed if r["id"] == action["id"]] == ["pending"]


def test_ask_unknown_site_exits_2(cli: CliRunner) -> None:
    result = run(cli, "ask", "status", "--site", "nope", code=2)
    assert "Unknown site 'nope'" in result.stderr
    assert "Configured sites: demo" in result.stderr
    assert "Traceback" not in result.output


def test_db_upgrade_prints_revision(cli: CliRunner, tmp_path: Path) -> None:
    result = run(cli, "db", "upgrade")
    assert "commandcenter.sqlite is at revision " in result.stdout
    revision = result.stdout.strip().rsplit(" ", 1)[-1]
    assert revision and revision != "None"
    # running it again is harmless and reports the same revision
    assert run(cli, "db", "upgrade").stdout == result.stdout


def test_approve_unknown_id_exits_2(cli: CliRunner) -> None:
    result = run(cli, "actions", "approve", "0badc0de", code=2)
    assert "No action request with id '0badc0de'" in result.stderr
    assert result.stdout == ""
    garbage = run(cli, "actions", "approve", "no-such-request", code=2)
    assert "'no-such-request' is not a request id" in garbage.stderr


def test_malformed_site_file_exits_2(cli: CliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "broken-sites.yaml"
    bad.write_text(
        "sites:\n"
        "  - name: barn\n"
        "    location: {latitude: 40, longitude: -105}\n"
        "    battery: {capacity_kwh: 10, min_soc_pct: 150}\n",
        encoding="utf-8",
    )
    result = run(cli, "ask", "status", "--site-file", str(bad), code=2)
    assert "broken-sites.yaml" in result.stderr
    assert "sites[0].battery.min_soc_pct" in result.stderr
    assert "less than or equal to 100" in result.stderr


def test_site_file_option_is_used(cli: CliRunner, tmp_path: Path) -> None:
    good = tmp_path / "sites.toml"
    good.write_text(
        '[[sites]]\nname = "barn"\n[sites.location]\nlatitude = 40\nlongitude = -105\n'
        "[sites.battery]\ncapacity_kwh = 10\n",
        encoding="utf-8",
    )
    result = run(cli, "ask", "status", "--site", "demo", "--site-file", str(good), code=2)
    assert "Configured sites: barn" in result.stderr


def test_ask_then_approve_in_a_second_invocation(cli: CliRunner) -> None:
    action = ask_json(cli, "stop the miners")["actions"][0]
    # A separate invocation builds everything again from the database, like a new process.
    result = run(cli, "actions", "approve", action["id"])
    assert "Done and verified" in result.stdout
    listed = json.loads(run(cli, "actions", "list", "--json").stdout)
    mine = [(r["status"], r["decided_by"]) for r in listed if r["id"] == action["id"]]
    assert mine == [("succeeded", "You")]
    again = run(cli, "actions", "approve", action["id"])
    assert "Already succeeded" in again.stdout
    assert "Done and verified" not in again.stdout


def two_site_file(folder: Path, tiers: dict[str, Any] | None = None) -> Path:
    """The quiet demo plus a copy called barn; Hank may use demo only, Bea barn only."""
    data = yaml.safe_load(quiet_demo_site_file(folder).read_text(encoding="utf-8"))
    demo = data["sites"][0]
    barn = {**demo, "name": "barn", "title": "Barn", "channels": {"console": "#barn"}}
    if tiers is not None:
        demo["actions"] = {"tiers": tiers}
    data["sites"] = [demo, barn]
    data["people"] = [
        {"platform": "console", "user_id": "hank", "role": "operator", "sites": ["demo"]},
        {"platform": "console", "user_id": "bea", "role": "operator", "sites": ["barn"]},
    ]
    path = folder / "two-sites.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_cli_decisions_are_held_to_the_persons_sites(cli: CliRunner, tmp_path: Path) -> None:
    sites = str(two_site_file(tmp_path))
    asked = json.loads(
        run(
            cli,
            "ask",
            "stop the miners",
            "--site",
            "barn",
            "--user",
            "bea",
            "--json",
            "--site-file",
            sites,
        ).stdout
    )
    action_id = asked["actions"][0]["id"]
    refused = run(
        cli, "actions", "approve", action_id, "--user", "hank", "--site-file", sites, code=1
    )
    assert "do not have access to the site 'barn'" in refused.stdout
    assert "you may use demo" in refused.stdout
    listed = json.loads(run(cli, "actions", "list", "--json", "--site-file", sites).stdout)
    assert [r["status"] for r in listed] == ["pending"]
    # Asking about barn as Hank is refused too, and creates nothing.
    other = run(
        cli,
        "ask",
        "stop the miners",
        "--site",
        "barn",
        "--user",
        "hank",
        "--json",
        "--site-file",
        sites,
    )
    assert json.loads(other.stdout)["actions"] == []
    approved = run(cli, "actions", "approve", action_id, "--user", "bea", "--site-file", sites)
    assert "Done and verified" in approved.stdout


def test_cli_short_ids_shared_across_sites(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A short id two sites' requests share means, for a person limited to one site,
    the one at their site, as in chat; the other site's id is never printed."""
    ids = ["0badc0de" + "1" * 24, "0badc0de" + "2" * 24]
    monkeypatch.setattr(repo, "new_action_id", lambda: ids.pop(0))
    sites = str(two_site_file(tmp_path))
    for site, user in (("demo", "hank"), ("barn", "bea")):
        run(
            cli,
            "ask",
            "turn on grid charging",
            "--site",
            site,
            "--user",
            user,
            "--site-file",
            sites,
        )
    hank = ("--user", "hank", "--site-file", sites)
    refused = run(cli, "actions", "reject", "0badc0de2", *hank, code=1)
    assert "do not have access to the site 'barn'" in refused.stdout
    done = run(cli, "actions", "reject", "0badc0de", *hank)
    assert done.stdout.startswith("Rejected by hank") and "2222" not in done.stdout
    listed = json.loads(run(cli, "actions", "list", "--json", "--site-file", sites).stdout)
    assert {r["site"]: r["status"] for r in listed} == {"demo": "rejected", "barn": "pending"}


def test_sites_check_prints_the_merged_tiers(cli: CliRunner, tmp_path: Path) -> None:
    sites = str(two_site_file(tmp_path, tiers={"stop_miners": {"approvals": 2}}))
    out = json.loads(run(cli, "sites", "check", sites, "--json").stdout)
    demo = out["sites"]["demo"]
    assert demo["stop_miners"]["approvals"] == 2
    assert demo["generator_start"] == {
        "roles": ["admin", "manager", "operator"],
        "approvals": 2,
        "self_approve": False,
        "needs": "2 approvals from admin or manager or operator, not the requester",
    }
    text = run(cli, "sites", "check", sites).stdout
    assert "generator_start  2 approvals" in text
    bad = tmp_path / "bad.yaml"
    data = yaml.safe_load(Path(sites).read_text(encoding="utf-8"))
    data["sites"][0]["actions"] = {"tiers": {"stop_miners": {"roles": ["viewer"]}}}
    bad.write_text(yaml.safe_dump(data), encoding="utf-8")
    refused = run(cli, "sites", "check", str(bad), code=2)
    assert "may not approve actions" in refused.stderr


def test_one_person_with_two_console_accounts_is_one_approver(
    cli: CliRunner, tmp_path: Path
) -> None:
    path = two_site_file(tmp_path)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["people"] = [
        {**data["people"][0], "person": "hank"},
        {"platform": "console", "user_id": "hank-laptop", "role": "operator", "sites": ["demo"],
         "person": "Hank"},
        {"platform": "console", "user_id": "otto", "role": "operator"},
    ]  # fmt: skip
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    sites = str(path)
    checked = run(cli, "sites", "check", sites).stdout
    assert "console:hank-laptop    operator  sites: demo  person: hank" in checked, checked
    people = json.loads(run(cli, "sites", "check", sites, "--json").stdout)["people"]
    assert [p["person"] for p in people] == ["hank", "hank", None]
    asked = run(
        cli, "ask", "start the generator", "--site", "demo", "--user", "otto", "--json",
        "--site-file", sites,
    )  # fmt: skip
    [action] = json.loads(asked.stdout)["actions"]
    first = run(cli, "actions", "approve", action["id"], "--user", "hank", "--site-file", sites)
    assert first.stdout.startswith("Approval 1 of 2 recorded (hank on the console)"), first.stdout
    again = run(
        cli, "actions", "approve", action["id"], "--user", "hank-laptop", "--site-file", sites,
        code=1,
    )  # fmt: skip
    assert "you already approved this on the console as hank, and one person" in again.stdout
    listed = json.loads(run(cli, "actions", "list", "--json", "--site-file", sites).stdout)
    assert [r["status"] for r in listed] == ["pending"]
    # Entries of one person that disagree on the sites are refused, naming both.
    data["people"][1]["sites"] = ["demo", "barn"]
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    refused = run(cli, "sites", "check", sites, code=2)
    assert "people[1]: person 'hank'" in refused.stderr
    assert "is operator at barn, demo, but people[0]" in refused.stderr


_ABSORBS_ONE_CANCEL = """
import asyncio, sys
from bot.cli import _run

async def close_like_aiosqlite() -> None:
    try:
        await asyncio.Future()  # the driver's close, cancelled once ...
    finally:
        await asyncio.Future()  # ... then waits for a stop that never comes

async def command() -> str:
    asyncio.get_running_loop().create_task(close_like_aiosqlite())
    await asyncio.sleep(0)
    return "done"

print(_run(command))
"""


def test_a_command_ends_even_when_a_leftover_task_absorbs_one_cancellation() -> None:
    """asyncio.run alone would wait for that task forever (a stopped demo did)."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", _ABSORBS_ONE_CANCEL],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "done"
