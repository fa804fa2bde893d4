"""``commandcenter kb ingest/search/list`` through typer's CliRunner, on a real database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from tests.knowledge.helpers import write_pdf

CLEARED = (
    "DATABASE_URL",
    "COMMANDCENTER_SITE_FILE",
    "OPENAI_API_KEY",
    "PINECONE_API_KEY",
    "PINECONE_HOST",
)


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.chdir(tmp_path)  # no stray .env file is read
    for name in CLEARED:
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "data").mkdir()
    return CliRunner(env={"COMMANDCENTER_DATA_DIR": str(tmp_path / "data")})


def test_ingest_a_folder_then_search_and_list(cli: CliRunner, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "pump.md").write_text("# Pump\n\n## Priming\n\nOpen the bleed valve first.\n")
    write_pdf(docs / "manual.pdf", ["Battery fuses: 200 A class T on each cable."])
    (docs / "photo.jpg").write_bytes(b"\xff\xd8")

    out = cli.invoke(app, ["kb", "ingest", str(docs), "--site", "demo"])
    assert out.exit_code == 2, out.output  # one file failed, the others went in
    assert "added     manual.pdf (1 chunk)" in out.output
    assert "added     pump.md (1 chunk)" in out.output
    assert "FAILED    photo.jpg" in out.output and "unsupported file type '.jpg'" in out.output
    assert "site demo: 2 added, 0 replaced, 0 unchanged, 1 failed" in out.output

    (docs / "photo.jpg").unlink()
    again = cli.invoke(app, ["kb", "ingest", str(docs), "--site", "demo"])
    assert again.exit_code == 0, again.output
    assert "site demo: 0 added, 0 replaced, 2 unchanged, 0 failed" in again.output

    (docs / "pump.md").write_text("# Pump\n\n## Priming\n\nClose the outlet, then prime.\n")
    changed = cli.invoke(app, ["kb", "ingest", str(docs / "pump.md"), "--site", "demo"])
    assert "replaced  pump.md (1 chunk)" in changed.output

    found = cli.invoke(app, ["kb", "search", "class T battery fuse", "--json"])
    assert found.exit_code == 0, found.output
    rows = json.loads(found.output)
    assert rows[0]["citation"] == "(manual.pdf § page 1)"
    assert rows[0]["namespace"] == "demo" and rows[0]["page"] == 1

    text = cli.invoke(app, ["kb", "search", "prime the pump", "--site", "demo", "--top", "1"])
    assert text.output.startswith("1. (pump.md § Priming)")
    assert "Close the outlet" in text.output

    listed = json.loads(cli.invoke(app, ["kb", "list", "--json"]).output)
    spaces = {(r["namespace"], r["source"]) for r in listed}
    assert {("demo", "pump.md"), ("demo", "manual.pdf"), ("_shared", "alerts.md")} <= spaces


def test_remove_a_document(cli: CliRunner, tmp_path: Path) -> None:
    doc = tmp_path / "pump.md"
    doc.write_text("# Pump\n\n## Priming\n\nOpen the bleed valve first.\n")
    assert cli.invoke(app, ["kb", "ingest", str(doc), "--site", "demo"]).exit_code == 0
    gone = cli.invoke(app, ["kb", "remove", "pump.md", "--site", "demo"])
    assert gone.exit_code == 0, gone.output
    assert "site demo: removed pump.md (1 chunk)" in gone.output
    listed = json.loads(cli.invoke(app, ["kb", "list", "--json"]).output)
    assert ("demo", "pump.md") not in {(r["namespace"], r["source"]) for r in listed}
    found = json.loads(cli.invoke(app, ["kb", "search", "bleed valve", "--json"]).output)
    assert all(r["source"] != "pump.md" for r in found)
    again = cli.invoke(app, ["kb", "remove", "pump.md", "--site", "demo"])
    assert again.exit_code == 2 and "is not in the site demo knowledge base" in again.output
    shipped = cli.invoke(app, ["kb", "remove", "alerts.md"])
    assert shipped.exit_code == 2 and "shipped with CommandCenter" in shipped.output


def test_builtin_runbooks_and_errors(cli: CliRunner, tmp_path: Path) -> None:
    builtin = cli.invoke(app, ["kb", "ingest", "--builtin"])
    assert builtin.exit_code == 0, builtin.output
    assert "shared: 6 added" in builtin.output
    assert (
        "shared: 0 added, 0 replaced, 6 unchanged"
        in cli.invoke(app, ["kb", "ingest", "--builtin"]).output
    )

    missing = cli.invoke(app, ["kb", "ingest", str(tmp_path / "nope")])
    assert missing.exit_code == 2 and "no such file or folder" in missing.output
    barn = cli.invoke(app, ["kb", "search", "fuel", "--site", "barn"])
    assert barn.exit_code == 2
    assert "Unknown site 'barn'. Configured sites: demo." in barn.output
    neither = cli.invoke(app, ["kb", "ingest"])
    assert neither.exit_code == 2 and "give a PATH" in neither.output
    nothing = cli.invoke(app, ["kb", "search", "zzzqqq"])
    assert nothing.exit_code == 0 and "Nothing found" in nothing.output
